"""The daily digest: what changed since the last one, what to do next, delivered once a day.

* :mod:`.build` reads the store and makes a :class:`~.build.Digest` (plain data, bounded);
* :mod:`.render` turns it into a multipart/alternative email (Jinja2, autoescaped HTML);
* :mod:`.terminal` prints the same digest with rich (``digest --preview``, ``demo``);
* :mod:`.schedule` decides which local day's digest is due (pure function);
* :mod:`.deliver` sends it over SMTP, IMAP APPEND or to a file, exactly once per day.
"""

from offerwatch.daemon.digest.build import Digest, build_digest

__all__ = ["Digest", "build_digest"]
