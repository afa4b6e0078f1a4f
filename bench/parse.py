"""Throughput of the parse step on a generated mixed mailbox, next to the stdlib parse floor.

Generates N messages in the proportions of a real inbox (newsletters with HTML and plain
alternatives, HTML-only promotions, receipts with PDF attachments, personal mail with photo
attachments, job alerts, calendar invitations, recruiter mail), then times, in one run and
on the same bytes:

1. ``email.message_from_bytes`` alone (the floor: the MIME parse without reading anything),
2. :func:`offerwatch.extractors.parse.parse_mail` (headers, text, attachments' metadata,
   calendar events),

and prints messages/s for each, their ratio, and the peak RSS. Each step is timed
``--rounds`` times, alternating, and the best round counts (CPU time, so other busy
processes on a shared machine skew it less). To compare with another checkout, run the
same script with that checkout's package first on ``PYTHONPATH``.

Usage::

    python bench/parse.py [--messages 1000] [--seed 7] [--rounds 3]
"""

from __future__ import annotations

import argparse
import email
import logging
import random
import sys
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import peak_rss_mb  # noqa: E402

WORDS = ("team role interview offer schedule update news sale product weekly digest price order receipt thanks "
         "meeting project photo weekend family plan travel hiring engineer data platform customer account").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _paragraphs(rng: random.Random, k: int) -> list[str]:
    return [" ".join(_sentence(rng, rng.randint(6, 18)) for _ in range(rng.randint(2, 5))) for _ in range(k)]


def _base(rng: random.Random, i: int, subject: str, sender: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "Sam <sam@example.net>"
    m["Subject"] = subject
    m["Date"] = "Mon, 5 Oct 2026 09:%02d:00 +0000" % (i % 60)
    m["Message-ID"] = f"<m{i}@bench.example>"
    return m


def newsletter(rng: random.Random, i: int) -> bytes:
    m = _base(rng, i, "This week at Acme", "Acme News <news@acme.example>")
    m["List-Unsubscribe"] = "<mailto:unsub@acme.example>"
    paras = _paragraphs(rng, 8)
    m.set_content("\n\n".join(paras))
    cells = "".join(f'<tr><td style="padding:8px"><img src="https://cdn.example/{j}.png"></td><td><p>{p}</p></td></tr>'
                    for j, p in enumerate(paras))
    m.add_alternative(f"<html><head><style>{'td{color:#333}' * 200}</style></head><body><table>{cells}</table>"
                      f"<div style='display:none'>preheader</div></body></html>", subtype="html")
    return bytes(m)


def promo(rng: random.Random, i: int) -> bytes:
    m = _base(rng, i, "48 hours only", "Shop <deals@shop.example>")
    blocks = "".join(f"<div class='card'><h2>{_sentence(rng, 4)}</h2><p>{p}</p><a href='https://shop.example/{j}'>Buy</a></div>"
                     for j, p in enumerate(_paragraphs(rng, 12)))
    m.set_content(f"<html><body>{blocks * 3}</body></html>", subtype="html")
    return bytes(m)


def receipt(rng: random.Random, i: int) -> bytes:
    m = _base(rng, i, "Your receipt", "Billing <billing@store.example>")
    m.set_content("\n".join(_paragraphs(rng, 2)))
    m.add_attachment(rng.randbytes(rng.randint(60_000, 250_000)), maintype="application", subtype="pdf", filename="receipt.pdf")
    return bytes(m)


def personal(rng: random.Random, i: int) -> bytes:
    m = _base(rng, i, "Photos from the weekend", "Alex <alex@example.org>")
    m.set_content("\n\n".join(_paragraphs(rng, 2)))
    for j in range(rng.randint(1, 3)):
        m.add_attachment(rng.randbytes(rng.randint(200_000, 600_000)), maintype="image", subtype="jpeg", filename=f"IMG_{j}.jpg")
    return bytes(m)


def job_alert(rng: random.Random, i: int) -> bytes:
    m = _base(rng, i, "12 new jobs for you", "Jobs <alerts@jobboard.example>")
    m.set_content("\n\n".join(_paragraphs(rng, 6)))
    m.add_alternative("<html><body>" + "".join(f"<p>{p}</p>" for p in _paragraphs(rng, 6)) + "</body></html>", subtype="html")
    return bytes(m)


def invite(rng: random.Random, i: int) -> bytes:
    m = _base(rng, i, "Invitation: Interview", "Jo Recruiter <jo@acme.example>")
    m.set_content("You have been invited to an interview.")
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:u%d@acme.example\r\n"
           "DTSTART:20261012T150000Z\r\nDURATION:PT1H\r\nSUMMARY:Interview\r\nORGANIZER;CN=Jo:mailto:jo@acme.example\r\n"
           "ATTENDEE;CN=Priya Shah (VP Engineering);ROLE=REQ-PARTICIPANT:mailto:p@acme.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n") % i
    m.add_alternative(ics, subtype="calendar", params={"method": "REQUEST"})
    return bytes(m)


def recruiter(rng: random.Random, i: int) -> bytes:
    m = _base(rng, i, "Next steps", "Jo Recruiter <jo@acme.example>")
    m.set_content("Hi Sam,\n\nThanks for your time today. We'd like to invite you to the final round.\n\nBest,\nJo")
    return bytes(m)


#: (maker, weight): about the mix of a real inbox with 4% job mail.
MIX = [(newsletter, 30), (promo, 20), (receipt, 12), (personal, 10), (job_alert, 10), (invite, 4), (recruiter, 4),
       (lambda rng, i: _base(rng, i, "hi", "Pat <pat@example.org>").as_bytes() + b"See you soon!\n", 10)]


def mailbox(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    makers = [m for m, w in MIX for _ in range(w)]
    return [rng.choice(makers)(rng, i) for i in range(n)]


def _time(fn, msgs: list[bytes]) -> float:  # type: ignore[no-untyped-def]
    started = time.process_time()
    for raw in msgs:
        fn(raw)
    return time.process_time() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    import offerwatch.extractors.parse as parse_module

    msgs = mailbox(args.messages, args.seed)
    size = sum(map(len, msgs))
    steps = {"stdlib email.message_from_bytes": email.message_from_bytes, "offerwatch parse_mail": parse_module.parse_mail}
    best = {name: float("inf") for name in steps}
    for _ in range(args.rounds):
        for name, fn in steps.items():
            best[name] = min(best[name], _time(fn, msgs))
    print(f"parse module: {parse_module.__file__}")
    print(f"mailbox: {len(msgs)} messages, {size / 1e6:.1f} MB (seed {args.seed})")
    for name, secs in best.items():
        print(f"  {name:34s} {len(msgs) / secs:8.0f} msg/s")
    floor, ours = best["stdlib email.message_from_bytes"], best["offerwatch parse_mail"]
    print(f"  parse_mail / stdlib floor:          {floor / ours:.2f}x")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
