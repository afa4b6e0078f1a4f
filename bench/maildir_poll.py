"""What a poll of a maildir account costs: the first pass and a pass with nothing new.

A maildir has no high-water mark: every poll lists ``new/`` and ``cur/`` and compares each
file's key with the set of keys already stored (see ``MaildirSource``). This times the
source alone (no parsing, no database) on ``--messages`` small files made by
``mailbox.Maildir`` in a temporary folder: the first pass (list and read every file) and a
pass where every key is known (list only), each the best of ``--rounds``.

Usage::

    .venv/bin/python -P bench/maildir_poll.py --messages 20000

(``-P``: bench/mailbox.py must not shadow the standard library's ``mailbox``.)
"""

from __future__ import annotations

import argparse
import mailbox
import tempfile
import time
from pathlib import Path

from offerwatch.daemon.sources.local import MaildirSource

MESSAGE = (b"From: jo@acme.example\nTo: sam@example.com\nSubject: Your application\n"
           b"Date: Mon, 2 Nov 2026 10:00:00 +0000\nMessage-ID: <%d@bench.example>\n\nHello Sam,\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "work"
        box = mailbox.Maildir(str(root), create=True)
        for i in range(args.messages):
            box.add(MESSAGE % i)
        source = MaildirSource.for_account("bench", str(root))
        inbox = source.folders()[0]
        first, known = float("inf"), float("inf")
        seen: set[str] = set()
        for _ in range(args.rounds):
            start = time.perf_counter()
            seen = {raw.location.identity for raw in source.unread(inbox, set(), None, None)}
            first = min(first, time.perf_counter() - start)
            start = time.perf_counter()
            left = sum(1 for _ in source.unread(inbox, seen, None, None))
            known = min(known, time.perf_counter() - start)
            assert left == 0 and len(seen) == args.messages
        print(f"{args.messages} messages: first pass {first:.2f} s ({args.messages / first:.0f} files/s), "
              f"pass with nothing new {known * 1000:.0f} ms")


if __name__ == "__main__":
    main()
