"""One digest per local day at the configured time: a day missed while asleep goes out once on
wake, a pending one is resumed, a failed one waits for the user, and DST neither skips nor doubles."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from offerwatch.daemon.digest.schedule import Due, due_digest, next_digest_at

BERLIN = ZoneInfo("Europe/Berlin")
AT = time(7, 30)


def local(y: int, m: int, d: int, hh: int, mm: int = 0, tz: ZoneInfo = BERLIN, fold: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz, fold=fold)


def row(day: str, status: str, error: str | None = None) -> dict[str, object]:
    return {"for_date": day, "status": status, "error": error}


HISTORY = [row("2026-11-30", "sent")]


def test_before_the_time_nothing_is_due_and_after_it_today_is() -> None:
    assert due_digest(local(2026, 12, 1, 7, 29), BERLIN, AT, HISTORY) is None
    assert due_digest(local(2026, 12, 1, 7, 30), BERLIN, AT, HISTORY) == Due(date(2026, 12, 1), "scheduled")
    assert due_digest(local(2026, 12, 1, 23, 59), BERLIN, AT, HISTORY) == Due(date(2026, 12, 1), "scheduled")


def test_once_sent_skipped_or_failed_the_day_is_done() -> None:
    for status in ("sent", "skipped", "failed"):
        rows = HISTORY + [row("2026-12-01", status, "535 bad password" if status == "failed" else None)]
        assert due_digest(local(2026, 12, 1, 9), BERLIN, AT, rows) is None, status


def test_pending_rows_are_resumed_or_retried() -> None:
    assert due_digest(local(2026, 12, 1, 9), BERLIN, AT, HISTORY + [row("2026-12-01", "pending")]) == Due(
        date(2026, 12, 1), "resume")
    assert due_digest(local(2026, 12, 1, 9), BERLIN, AT, HISTORY + [row("2026-12-01", "pending", "connection refused")]) == Due(
        date(2026, 12, 1), "retry")


def test_a_digest_missed_while_asleep_goes_out_once_on_wake() -> None:
    # asleep from Sunday evening to Tuesday 05:00: Monday's slot was missed
    rows = [row("2026-11-29", "sent")]
    assert due_digest(local(2026, 12, 1, 4, 0), BERLIN, AT, rows) == Due(date(2026, 11, 30), "catch-up")
    rows.append(row("2026-11-30", "sent"))
    assert due_digest(local(2026, 12, 1, 4, 5), BERLIN, AT, rows) is None
    # ...and Tuesday's at its time
    assert due_digest(local(2026, 12, 1, 7, 30), BERLIN, AT, rows) == Due(date(2026, 12, 1), "scheduled")


def test_no_catch_up_once_a_later_days_digest_is_done() -> None:
    # Tuesday 00:24: Monday's slot has no row, but Tuesday's digest went out early by hand (or
    # was skipped as empty): it covered the period, so Monday's is not caught up after it, and
    # the next one is Wednesday's. Between midnight and the slot, status said "next: now".
    for status in ("sent", "skipped", "pending"):
        rows = [row("2026-11-29", "sent"), row("2026-12-01", status)]
        assert due_digest(local(2026, 12, 1, 0, 24), BERLIN, AT, rows) is None, status
    rows = [row("2026-11-29", "sent"), row("2026-12-01", "skipped")]
    assert next_digest_at(local(2026, 12, 1, 0, 24), BERLIN, AT, rows) == local(2026, 12, 2, 7, 30)


def test_waking_close_to_the_next_slot_waits_for_it() -> None:
    rows = [row("2026-11-29", "sent")]
    assert due_digest(local(2026, 12, 1, 6, 0), BERLIN, AT, rows) is None  # 1.5 h before today's


def test_waking_after_several_days_sends_one_digest() -> None:
    rows = [row("2026-11-20", "sent")]
    assert due_digest(local(2026, 12, 1, 10, 0), BERLIN, AT, rows) == Due(date(2026, 12, 1), "scheduled")
    assert due_digest(local(2026, 12, 1, 2, 0), BERLIN, AT, rows) == Due(date(2026, 11, 30), "catch-up")


def test_a_fresh_install_has_missed_nothing() -> None:
    assert due_digest(local(2026, 12, 1, 6, 0), BERLIN, AT, []) is None
    assert due_digest(local(2026, 12, 1, 22, 0), BERLIN, AT, []) == Due(date(2026, 12, 1), "scheduled")


def test_the_local_day_follows_the_time_zone() -> None:
    # 23:30 UTC on 30 Nov is already 1 Dec 08:30 in Tokyo and still 30 Nov 18:30 in New York
    now = datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc)
    assert due_digest(now, ZoneInfo("Asia/Tokyo"), AT, HISTORY) == Due(date(2026, 12, 1), "scheduled")
    assert due_digest(now, ZoneInfo("America/New_York"), AT, HISTORY) is None  # 30 Nov is sent


def test_daylight_saving_changes_neither_skip_nor_double() -> None:
    at = time(2, 30)
    # spring forward (29 Mar 2026, 02:00 -> 03:00 in Berlin): 02:30 never happens, 03:05 is after it
    assert due_digest(local(2026, 3, 29, 3, 5), BERLIN, at, [row("2026-03-28", "sent")]) == Due(date(2026, 3, 29), "scheduled")
    # fall back (25 Oct 2026, 03:00 -> 02:00): 02:30 happens twice; sent the first time, not the second
    first = local(2026, 10, 25, 2, 35, fold=0)
    second = local(2026, 10, 25, 2, 35, fold=1)
    assert second.astimezone(timezone.utc) - first.astimezone(timezone.utc) == timedelta(hours=1)
    assert due_digest(first, BERLIN, at, [row("2026-10-24", "sent")]) == Due(date(2026, 10, 25), "scheduled")
    assert due_digest(second, BERLIN, at, [row("2026-10-24", "sent"), row("2026-10-25", "sent")]) is None


def test_next_digest_time_for_status() -> None:
    assert next_digest_at(local(2026, 12, 1, 6, 0), BERLIN, AT, HISTORY) == local(2026, 12, 1, 7, 30)
    done = HISTORY + [row("2026-12-01", "sent")]
    assert next_digest_at(local(2026, 12, 1, 9, 0), BERLIN, AT, done) == local(2026, 12, 2, 7, 30)
    now = local(2026, 12, 1, 9, 0)
    assert next_digest_at(now, BERLIN, AT, HISTORY) == now  # due now
