"""A subject line read as a conversation's name: reply and forward prefixes taken off.

Its own module because both the store (which keeps the normalised subject of every job message
in ``messages.subject_key``, indexed, so the linker finds "the same subject with the same
correspondent" with a seek) and the linker (which normalises the incoming message's subject)
need the one definition. Changing :func:`normalize_subject` changes what stored keys mean: it
needs a schema migration that computes ``subject_key`` again.
"""

from __future__ import annotations

import re

#: Reply and forward prefixes, in the languages mail clients write them ("Re:", "AW:", "Fwd[2]:"),
#: repeated ("Re: Fwd: Re:").
SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|tr|rv|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.I
)


def normalize_subject(subject: str | None) -> str:
    """The subject without reply/forward prefixes, whitespace collapsed, lower-cased.

    >>> normalize_subject("RE: Fwd:  Next steps  with Acme")
    'next steps with acme'
    """
    s = SUBJECT_PREFIX.sub("", subject or "")
    return re.sub(r"\s+", " ", s).strip().lower()
