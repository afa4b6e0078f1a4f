"""Whether storing and linking a message gets slower as an application's history grows.

Analyses the demo mailbox once, then writes it again and again under new Message-IDs into a
fresh store (``Store.write_batch`` with the linker, batches of 50): a few companies that
accumulate thousands of messages, as a long job search does. Prints the time per message for
each thousand written, and the number of applications (it stays at the demo's).

Usage::

    .venv/bin/python bench/store_growth.py [--messages 10000]

Goal (issue 13: "polls that stay flat"): the time per message does not grow with the history.
Per message at 1,000 / 6,000 / 20,000 messages: 0.78 / - / - ms and 4.45 ms at 10,000 before
linking read applications by index seeks; 0.74 / 1.94 / - after; 0.54 / 0.71 / 0.80 with schema
12 (same subject and correspondent, contact names and company domains read by index skips, and
full-text triggers that fire only for the indexed columns). What still grows is SQLite's own
B-tree and full-text index upkeep (the same few texts written thousands of times).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=10_000)
    args = ap.parse_args(argv)

    from offerwatch.extractors.pipeline import Owner, analyze_many
    from offerwatch.models.domain import Location
    from offerwatch.models.linking import link_message
    from offerwatch.models.store import Store

    demo = sorted((REPO / "daemon" / "demo_mailbox").glob("*.eml"))
    base = list(analyze_many([f.read_bytes() for f in demo], owner=Owner.of(("sam.okafor@example.net",))))
    print(f"demo mailbox: {len(base)} messages, {sum(a.is_job for a in base)} job mail; writing {args.messages:,}")
    with tempfile.TemporaryDirectory(prefix="ow-growth-") as tmp:
        store = Store.open(Path(tmp) / "growth.db")
        uid = written = 0
        print(f"{'messages':>9}  {'ms/message':>10}  applications")
        while written < args.messages:
            items = []
            for a in base:
                uid += 1
                items.append((Location("bench", "INBOX", 1, uid, str(uid)),
                              dataclasses.replace(a, message_id=f"<g{uid}@growth.example>")))
            started = time.perf_counter()
            for i in range(0, len(items), 50):
                chunk = items[i:i + 50]
                store.write_batch("bench", "INBOX", 1, chunk, last_uid=chunk[-1][0].uid, linker=link_message)
            elapsed = time.perf_counter() - started
            before, written = written, written + len(items)
            if written // 1000 != before // 1000:
                apps = store.db.execute("SELECT count(*) FROM applications").fetchone()[0]
                print(f"{written:>9,}  {1000 * elapsed / len(items):>10.2f}  {apps}", flush=True)
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
