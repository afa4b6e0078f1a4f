"""Hand-made messages for the linking and timeline tests: an Analysis in one call."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from offerwatch.models.domain import Address, Analysis, CalendarEvent, Direction, Location, Salary, Signal
from offerwatch.models.linking import link_message
from offerwatch.models.store import Store

OWNER = Address("Maya Lindqvist", "maya@example.com")
CHI = ZoneInfo("America/Chicago")
_uid = itertools.count(1)


def at(text: str, tz: ZoneInfo = CHI) -> datetime:
    """'2026-09-14 10:00' in Chicago (or the zone given)."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def msg(
    mid: str,
    *,
    sender: str = "Jo Recruiter <jo@acme.io>",
    to: str | None = None,
    subject: str = "Acme | Data Engineer",
    date: datetime | None = None,
    text: str = "Hello",
    signature: str = "",
    irt: str | None = None,
    refs: tuple[str, ...] = (),
    out: bool = False,
    signals: tuple[str, ...] = (),
    events: tuple[CalendarEvent, ...] = (),
    salaries: tuple[Salary, ...] = (),
    headers: dict[str, str] | None = None,
    is_job: bool = True,
) -> Analysis:
    def addr(s: str) -> Address:
        name, _, email = s.rpartition("<")
        return Address(name.strip(), email.rstrip(">").strip()) if email else Address("", s)

    who = addr(sender)
    return Analysis(
        message_id=f"<{mid}@test>" if mid else "",
        subject=subject,
        sender=OWNER if out else who,
        to=(addr(to) if to else who,) if out else (OWNER,),
        cc=(),
        date=date,
        in_reply_to=f"<{irt}@test>" if irt else None,
        references=tuple(f"<{r}@test>" for r in refs) or ((f"<{irt}@test>",) if irt else ()),
        direction=Direction.OUT if out else Direction.IN,
        is_job=is_job,
        job_reason="test",
        text=text,
        signature=signature,
        signals=tuple(Signal(t, f"evidence of {t}", 0, 5, f"test.{t}") for t in signals),
        events=events,
        salaries=salaries,
        headers=headers or {},
        content_hash=mid or "nomid",
    )


def put(store: Store, *analyses: Analysis) -> list[int | None]:
    """Write each message in its own batch (as mail arrives) and return their application ids."""
    out = []
    for a in analyses:
        uid = next(_uid)
        store.write_batch("t", "INBOX", 1, [(Location("t", "INBOX", 1, uid, str(uid)), a)], last_uid=uid, linker=link_message)
        row = store.db.execute("SELECT application_id FROM messages WHERE key = ?", [a.key]).fetchone()
        out.append(row[0] if row else None)
    return out
