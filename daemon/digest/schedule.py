"""When is a digest due? A pure function of the clock, the configured time and the ``digests`` rows.

One digest per local day, at the configured wall-clock time in the user's time zone:

* the most recent slot counts: today's once its time has passed, otherwise yesterday's;
* a slot missed while the laptop slept goes out once on wake (``reason="catch-up"``),
  unless today's slot is less than ``catch_up_gap`` away (then today's digest covers it);
  older missed days are never sent: the next digest covers the period since the last one
  sent, so nothing is lost;
* a fresh install has no missed days: yesterday's slot is only caught up when some digest
  row exists, and never when a later day's row exists (today's digest sent early by hand
  covered the period);
* a ``pending`` row is due again: ``"resume"`` when its outcome is unknown (crash between
  sending and recording), ``"retry"`` when the last attempt failed with a transient error;
* ``sent``, ``skipped`` (nothing to say and ``skip_when_empty``) and ``failed`` (a
  permanent error such as a wrong password: no retry storm) rows are not due again.

Comparison is on wall-clock time, so DST changes neither skip nor double a day: on the
autumn night that repeats 02:30, the row written the first time blocks the second.

Example::

    due_digest(now, ZoneInfo("Europe/Berlin"), time(7, 30), store.rows("SELECT * FROM digests"))
    # Due(for_date=date(2026, 12, 1), reason='scheduled')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

#: Statuses after which a day's digest is done.
DONE = frozenset({"sent", "skipped", "failed"})


@dataclass(frozen=True)
class Due:
    for_date: date
    reason: str  # scheduled | catch-up | retry | resume


def slot(day: date, at: time, tz: tzinfo) -> datetime:
    """The aware instant of ``day`` at wall-clock ``at`` in ``tz`` (a DST gap moves it forward)."""
    aware = datetime.combine(day, at).replace(tzinfo=tz)
    # normalise through UTC: a non-existent wall time (spring forward) lands after the gap
    return aware.astimezone(timezone.utc).astimezone(tz)


def due_digest(
    now: datetime,
    tz: tzinfo,
    at: time,
    rows: Iterable[Mapping[str, Any]],
    *,
    catch_up_gap: timedelta = timedelta(hours=3),
) -> Due | None:
    """The local day whose digest should go out now, with why, or ``None``."""
    by_date = {str(r["for_date"]): r for r in rows}
    local = now.astimezone(tz)
    today = local.date()
    reached = local.time() >= at
    candidate = today if reached else today - timedelta(days=1)
    row = by_date.get(candidate.isoformat())
    if row is not None:
        status = str(row.get("status") or "pending")
        if status in DONE:
            return None
        return Due(candidate, "retry" if row.get("error") else "resume")
    if candidate == today:
        return Due(today, "scheduled")
    # yesterday's slot passed without a row: the machine was asleep or off
    if not by_date:
        return None  # fresh install: nothing was missed
    if max(by_date) > candidate.isoformat():
        return None  # a later day's digest went out already (`digest --send` early): it covered the period
    if slot(today, at, tz) - local < catch_up_gap:
        return None  # today's digest is close: it will cover the period
    return Due(candidate, "catch-up")


def next_digest_at(now: datetime, tz: tzinfo, at: time, rows: Iterable[Mapping[str, Any]]) -> datetime:
    """When the next digest will go out (``now`` when one is due), for ``offerwatch status``."""
    rows = list(rows)
    if due_digest(now, tz, at, rows) is not None:
        return now.astimezone(tz)
    local = now.astimezone(tz)
    today_slot = slot(local.date(), at, tz)
    done_today = any(str(r["for_date"]) == local.date().isoformat() and str(r.get("status")) in DONE for r in rows)
    if local < today_slot and not done_today:
        return today_slot
    return slot(local.date() + timedelta(days=1), at, tz)
