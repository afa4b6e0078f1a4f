"""A year of a real inbox, read three ways side by side: the parse floor, offerwatch's parse,
and ``offerwatch backfill`` end to end.

Generates a realistic mixed mailbox of N messages as one mbox file (deterministic for a seed):
about 4% job mail (recruiter mail and the owner's replies, copied from the demo mailbox with
fresh Message-IDs), HTML newsletters and promotions, receipts with a PDF, personal mail (some
with photos or documents, some quoting earlier mail), job-board alerts, and calendar
invitations that are not about a job (a dentist, a team lunch). Then, in one run:

1. the stdlib floor: ``email`` parses each message and reads its text part (``get_body``);
2. ``offerwatch.extractors.parse.parse_mail`` on each message;
3. ``offerwatch backfill --source MBOX`` as a subprocess into a fresh database (wall time,
   and the child's peak RSS).

Prints messages per second for each, the ratios to the floor, and the composition.

Usage::

    .venv/bin/python bench/mailbox.py [--messages 5000] [--seed 7] [--keep DIR]

Goals (issue 13): backfill >= 500 msg/s on 5,000 messages, peak RSS < 300 MB.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the stdlib module it uses: read the stdlib's, not this one.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import mailbox  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from email import policy  # noqa: E402
from email.message import EmailMessage  # noqa: E402
from email.parser import BytesParser  # noqa: E402



def _sibling(name: str):  # noqa: ANN202 - a module object
    """Load bench/NAME.py (this folder is off sys.path, see above)."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_ib = _sibling("imap_backfill")
_proctree = _sibling("proctree")
TreeMemory, child_env = _proctree.TreeMemory, _proctree.child_env
OWNER, Generated, MailFactory, paragraph, words, fresh_ids = (
    _ib.OWNER, _ib.Generated, _ib.MailFactory, _ib.paragraph, _ib.words, _ib.fresh_ids)

REPO = HERE.parent


class InboxFactory(MailFactory):  # type: ignore[misc,valid-type]
    """The composition of a year of a person's inbox while they look for a job."""

    def __call__(self, i: int) -> Generated:
        rng = self.rng
        date = self.start + timedelta(minutes=105 * i + rng.randint(0, 100))
        r = rng.random()
        if r < 0.04:
            data, outgoing = rng.choice(self.demo)
            return Generated(fresh_ids(data, f"m{i}"), "Sent" if outgoing else "INBOX", date, "job mail")
        if r < 0.34:
            return Generated(self._newsletter(date), "INBOX", date, "newsletter")
        if r < 0.48:
            return Generated(self._promo(date), "INBOX", date, "promotion (HTML only)")
        if r < 0.58:
            return Generated(self._receipt(date), "INBOX", date, "receipt with PDF")
        if r < 0.66:
            return Generated(self._job_alert(date), "INBOX", date, "job alert")
        if r < 0.72:
            return Generated(self._with_attachment(date), "INBOX", date, "personal with attachment")
        if r < 0.75:
            return Generated(self._invite(date), "INBOX", date, "non-job invitation")
        outgoing = rng.random() < 0.15
        return Generated(self._personal(date, outgoing), "Sent" if outgoing else "INBOX", date, "personal")

    def _promo(self, date: datetime) -> bytes:
        rng = self.rng
        brand = rng.choice(["shoply", "megastore", "fashionhub", "gadgetzone"])
        m = self._base(date, f"{brand.title()} <deals@{brand}.example>", f"Sam Okafor <{OWNER}>",
                       f"{rng.randint(10, 70)}% off {words(rng, 3)} - today only")
        m["List-Unsubscribe"] = f"<https://{brand}.example/u>"
        cells = "".join(
            f'<td style="padding:8px"><img src="https://cdn.{brand}.example/p/{rng.randint(1, 10**6)}.jpg" width="180">'
            f"<div style=\"font:14px Arial\">{words(rng, 6)}</div><b>${rng.randint(5, 300)}.99</b></td>"
            for _ in range(rng.randint(6, 24))
        )
        m.set_content(f"<html><body><table><tr>{cells}</tr></table><p>{paragraph(rng)}</p></body></html>", subtype="html")
        return bytes(m)

    def _receipt(self, date: datetime) -> bytes:
        rng = self.rng
        shop = rng.choice(["foodbox", "citybikes", "bookshelf", "streamly"])
        m = self._base(date, f"{shop.title()} <receipts@{shop}.example>", f"Sam Okafor <{OWNER}>",
                       f"Your receipt #{rng.randint(10**5, 10**6)}")
        m.set_content(f"Thanks for your order!\n\nTotal: ${rng.randint(5, 200)}.{rng.randint(10, 99)}\n\n{paragraph(rng)}")
        m.add_attachment(b"%PDF-1.4\n" + rng.randbytes(rng.randint(20_000, 120_000)), maintype="application",
                         subtype="pdf", filename="receipt.pdf")
        return bytes(m)

    def _invite(self, date: datetime) -> bytes:
        rng = self.rng
        what = rng.choice(["Dentist check-up", "Team lunch", "Book club", "Parent-teacher evening"])
        name, addr = self._person()  # calendars send an invitation from its organiser's address
        m = self._base(date, f"{name} <{addr}>", f"Sam Okafor <{OWNER}>", f"Invitation: {what}")
        m.set_content(f"You have been invited to {what}.\n\n{paragraph(rng)}")
        start = date.strftime("%Y%m%dT%H%M%SZ")
        ics = (f"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:{rng.randint(1, 10**9)}@calendar.example\r\n"
               f"DTSTART:{start}\r\nDURATION:PT1H\r\nSUMMARY:{what}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
        m.add_attachment(ics.encode(), maintype="text", subtype="calendar", filename="invite.ics",
                         params={"method": "REQUEST"})
        return bytes(m)


def build(path: Path, n: int, seed: int) -> Counter[str]:
    factory = InboxFactory(seed)
    box = mailbox.mbox(str(path), create=True)
    kinds: Counter[str] = Counter()
    box.lock()
    try:
        for i in range(n):
            g = factory(i)
            kinds[g.kind] += 1
            box.add(mailbox.mboxMessage(g.data))
    finally:
        box.flush()
        box.unlock()
        box.close()
    return kinds


def read_raw(path: Path) -> list[bytes]:
    box = mailbox.mbox(str(path), create=False)
    try:
        return [box.get_bytes(k) for k in box.iterkeys()]
    finally:
        box.close()


def stdlib_floor(raws: list[bytes]) -> float:
    parser = BytesParser(policy=policy.default)
    t = time.perf_counter()
    for raw in raws:
        msg = parser.parsebytes(raw)
        assert isinstance(msg, EmailMessage)
        body = msg.get_body(preferencelist=("plain", "html"))
        if body is not None:
            try:
                body.get_content()
            except (LookupError, ValueError):
                pass  # an unknown charset: the floor reads what it can, like a mail client
    return time.perf_counter() - t


def offerwatch_parse(raws: list[bytes]) -> float:
    from offerwatch.extractors.parse import parse_mail

    t = time.perf_counter()
    for raw in raws:
        parse_mail(raw)
    return time.perf_counter() - t


def backfill(mbox: Path, db: Path) -> tuple[float, TreeMemory]:
    """Wall time of ``offerwatch backfill`` as a subprocess, and its process tree's memory
    (the parent and the pool's workers, sampled while it runs: see bench/proctree.py)."""
    exe = REPO / ".venv" / "bin" / "offerwatch"
    cmd = [str(exe if exe.exists() else "offerwatch"), "--db", str(db), "backfill", "--source", str(mbox),
           "--owner", OWNER, "--no-progress"]
    t = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=child_env(OFFERWATCH_CONFIG=os.devnull))
    with TreeMemory(child.pid) as memory:
        if child.wait() != 0:
            raise SystemExit(f"backfill failed with exit code {child.returncode}")
    return time.perf_counter() - t, memory


def mailparser_parse(raws: list[bytes]) -> float | None:
    """mail-parser on the same messages, when it is installed (offerwatch no longer uses it:
    it is the peer the issue names)."""
    try:
        import mailparser  # type: ignore[import-not-found]
    except ImportError:
        return None
    import logging

    logging.getLogger("mailparser").setLevel(logging.CRITICAL)
    t = time.perf_counter()
    for raw in raws:
        try:
            mailparser.parse_from_bytes(raw)
        except Exception:  # noqa: BLE001, S112 - a peer's failure on one message is its own business
            continue
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="write the mbox and database here instead of a temporary folder")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ow-mailbox-") as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        mbox = where / "inbox.mbox"
        if mbox.exists():
            mbox.unlink()
        kinds = build(mbox, args.messages, args.seed)
        raws = read_raw(mbox)
        size = sum(map(len, raws))
        print(f"mailbox: {len(raws)} messages, {size / 1e6:.0f} MB ("
              + ", ".join(f"{k} {v / len(raws):.0%}" for k, v in kinds.most_common()) + ")")
        floor = stdlib_floor(raws)
        ours = offerwatch_parse(raws)
        db = where / "bench.db"
        for p in where.glob("bench.db*"):
            p.unlink()
        peer = mailparser_parse(raws)
        took, memory = backfill(mbox, db)
        n = len(raws)
        print(f"{'step':34s} {'seconds':>8s} {'msg/s':>8s} {'x floor':>8s}")
        steps = [("stdlib email parse (the floor)", floor), ("offerwatch parse", ours)]
        if peer is not None:
            steps.append(("mail-parser parse (peer)", peer))
        steps.append(("offerwatch backfill (end to end)", took))
        for name, sec in steps:
            print(f"{name:34s} {sec:8.2f} {n / sec:8.0f} {floor / sec:8.2f}")
        if peer is None:
            print("(mail-parser not installed: pip install mail-parser to time it next to these)")
        print(memory.summary() + "   (goal < 300 MB; backfill goal >= 500 msg/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
