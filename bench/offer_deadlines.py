"""How the offer deadline reader does on the labelled corpora: every mail labelled ``offer``
(and, as a false-positive check, every other incoming job mail) through
:func:`offerwatch.extractors.deadline.read_deadline`, printing what it read and from which words.

    .venv/bin/python bench/offer_deadlines.py ../shared/corpus/dev ../shared/corpus/train-public

Prints one line per offer mail (file, deadline or "-", evidence) and the count of non-offer
mails where a deadline was read (those only matter if such a mail is ever linked as an offer).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from offerwatch.extractors.clean import clean_reply
from offerwatch.extractors.deadline import read_deadline
from offerwatch.extractors.parse import parse_mail


def main(folders: list[str]) -> None:
    tz = ZoneInfo("UTC")
    offers = found = others = other_hits = 0
    for folder in map(Path, folders):
        for line in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            label = json.loads(line)
            if label.get("direction") == "out" or not label.get("job"):
                continue
            mail = parse_mail((folder / label["file"]).read_bytes())
            if mail.date is None:
                continue
            text = clean_reply(mail.text).text
            d = read_deadline(text, mail.date, tz)
            if "offer" in label.get("signals", []):
                offers += 1
                found += d is not None
                print(f"{folder.name}/{label['file']}: {d.day if d else '-'}  {d.evidence if d else ''}")
            else:
                others += 1
                other_hits += d is not None
    print(f"offer mails: {offers}, with a deadline read: {found}; other incoming job mail: {others}, "
          f"with a deadline read: {other_hits}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["../shared/corpus/dev"])
