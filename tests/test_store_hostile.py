"""One message never blocks a folder: every number and text a mail puts into the store is made
storable (clamped, replaced or dropped), a message that still cannot be stored is recorded as
unreadable and passed, and the folder's high-water mark moves on."""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offerwatch.models.domain import Address, Analysis, CalendarEvent, Direction, Location, Salary, Signal
from offerwatch.models.linking import link_message
from offerwatch.models.store import Store, iso, storable

HUGE = 99999999999999999999999  # issue 15: SEQUENCE:99999999999999999999999


def _job(mid: str, **kw: object) -> Analysis:
    base: dict[str, object] = dict(
        message_id=f"<{mid}@acme.example>", subject="Interview at Acme", sender=Address("Jo", "jo@acme.example"),
        to=(Address("", "sam@example.net"),), cc=(), date=datetime(2026, 10, 1, 9, tzinfo=timezone.utc), in_reply_to=None,
        references=(), direction=Direction.IN, is_job=True, job_reason="test", text="We would like to meet you.",
        signature="Jo", content_hash=f"hash-{mid}", fingerprint=f"fp-{mid}",
    )
    base.update(kw)
    return Analysis(**base)  # type: ignore[arg-type]


def _loc(uid: int) -> Location:
    return Location("acc", "INBOX", 1, uid, str(uid))


def test_a_calendar_sequence_too_large_for_sqlite_no_longer_blocks_the_folder(store: Store) -> None:
    invite = CalendarEvent("evt-1", "REQUEST", "Onsite", datetime(2026, 10, 5, 15, tzinfo=timezone.utc), None,
                           Address("Jo", "jo@acme.example"), (), HUGE)
    items = [(_loc(1), _job("before")), (_loc(2), _job("invite", events=(invite,))), (_loc(3), _job("after"))]
    store.write_batch("acc", "INBOX", 1, items, last_uid=3, linker=link_message)
    state = store.folder_state("acc", "INBOX")
    assert state is not None and state.last_uid == 3 and state.last_error is None
    assert store.counts()["messages"] == 3
    assert store.rows("SELECT sequence FROM events") == [{"sequence": 2**31 - 1}]


@pytest.mark.parametrize("hostile", [
    pytest.param(dict(subject="Interview \ud800 at Acme"), id="lone surrogate in the subject"),
    pytest.param(dict(sender=Address("Jo \udcff", "jo@acme.example")), id="lone surrogate in a name"),
    pytest.param(dict(text="We would like \udc80 to meet you."), id="lone surrogate in the text"),
    pytest.param(dict(headers={"x-gm-thrid": "\ud83d" * 3}), id="lone surrogate in a header the linker reads"),
    pytest.param(dict(date=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))), id="a date before year 1 in UTC"),
    pytest.param(dict(date=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))), id="a date after 9999 in UTC"),
    pytest.param(dict(signals=(Signal("offer", "offer", HUGE, -HUGE, "r", "l", float("nan")),)), id="offsets and strength"),
    pytest.param(dict(signals=(Signal("offer", "offer", 0, 5, "r", "l", 1.0, {"n": HUGE, "x": float("inf")}),)),
                 id="entities with huge numbers"),
    pytest.param(dict(salaries=(Salary(float("nan"), float("inf"), "USD", "year", "$NaN"),)), id="salary not a number"),
    pytest.param(dict(events=(CalendarEvent("u\ud800", "REQUEST", "s", datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
                                            None, None, (), -HUGE),)), id="event at the edge of the calendar"),
])
def test_every_number_and_text_from_mail_is_storable(store: Store, hostile: dict[str, object]) -> None:
    store.write_batch("acc", "INBOX", 1, [(_loc(1), _job("h", **hostile)), (_loc(2), _job("ok"))], last_uid=2,
                      linker=link_message)
    rows = store.rows("SELECT key, is_job, parse_failed FROM messages ORDER BY key")
    assert [(r["is_job"], r["parse_failed"]) for r in rows] == [(1, 0), (1, 0)], "both stored as job mail, none lost"
    assert store.folder_state("acc", "INBOX").last_uid == 2  # type: ignore[union-attr]


def test_location_numbers_out_of_range_are_clamped(store: Store) -> None:
    loc = Location("acc", "INBOX", HUGE, HUGE, "k")
    store.write_batch("acc", "INBOX", HUGE, [(loc, _job("big"))], last_uid=HUGE)
    state = store.folder_state("acc", "INBOX")
    assert state is not None and state.last_uid == 2**63 - 1


def test_a_message_that_cannot_be_stored_is_recorded_as_unreadable_and_passed(store: Store) -> None:
    def linker(s: Store, a: Analysis) -> int | None:
        if "poison" in a.message_id:
            raise IndexError("a linker bug this message's content triggers")
        return link_message(s, a)

    items = [(_loc(1), _job("good-1")), (_loc(2), _job("poison")), (_loc(3), _job("good-2"))]
    store.write_batch("acc", "INBOX", 1, items, last_uid=3, linker=linker)
    rows = {r["uid"]: r for r in store.rows("SELECT * FROM messages")}
    assert rows[1]["is_job"] == rows[3]["is_job"] == 1 and rows[1]["application_id"] is not None
    assert rows[2]["parse_failed"] == 1 and rows[2]["is_job"] == 0 and "IndexError" in rows[2]["job_reason"]
    assert rows[2]["subject"] is None and rows[2]["text"] is None  # nothing half-written survives the rollback
    assert store.rows("SELECT count(*) AS n FROM signals WHERE message_key = ?", [rows[2]["key"]])[0]["n"] == 0
    assert store.rows("SELECT count(*) AS n FROM locations")[0]["n"] == 3
    assert store.folder_state("acc", "INBOX").last_uid == 3  # type: ignore[union-attr]
    # read again (a backfill): idempotent, nothing duplicated
    store.write_batch("acc", "INBOX", 1, items, last_uid=3, linker=linker)
    assert store.counts()["messages"] == 3


def test_iso_never_raises_at_the_edges_of_the_calendar() -> None:
    assert iso(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) is None
    assert iso(datetime(2026, 1, 1, 12, tzinfo=timezone.utc)) == "2026-01-01T12:00:00+00:00"


def test_storable_keeps_values_that_are_fine_as_they_are() -> None:
    a = _job("same")
    assert storable(a) is a
    assert storable(("\ud800", 2**70, float("nan"))) == ("\ufffd", 2**63 - 1, None)


_texts = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)
_ints = st.integers(min_value=-(10**30), max_value=10**30)
_floats = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=_texts, text=_texts, name=_texts, start=_ints, end=_ints, strength=_floats, seq=_ints, lo=_floats, hi=_floats,
       uid=st.integers(min_value=1, max_value=10**25), entity=st.one_of(_ints, _floats, _texts))
def test_no_message_content_makes_a_batch_fail(tmp_path: Path, subject: str, text: str, name: str, start: int, end: int,
                                               strength: float, seq: int, lo: float, hi: float, uid: int, entity: object) -> None:
    """Property: whatever numbers and texts a message carries, the batch commits, the folder's
    high-water mark moves to the batch's last UID, and every message is there (stored or unreadable)."""
    with Store.open(None) as s:
        hostile = _job("p", subject=subject, text=text, sender=Address(name, "jo@acme.example"),
                       signals=(Signal("offer", text or "x", start, end, "r", name, strength, {"v": entity}),),
                       events=(CalendarEvent(name, "REQUEST", subject, None, None, None, (), seq),),
                       salaries=(Salary(lo, hi, name, "year", subject),))
        s.write_batch("acc", "INBOX", 1, [(_loc(uid), hostile), (_loc(uid + 1), _job("fine"))], last_uid=uid + 1,
                      linker=link_message)
        assert s.folder_state("acc", "INBOX").last_uid == min(uid + 1, 2**63 - 1)  # type: ignore[union-attr]
        assert s.counts()["messages"] == 2
        for r in s.rows("SELECT min, max FROM salaries"):
            assert math.isfinite(r["min"]) and math.isfinite(r["max"])


RAW_HUGE_SEQUENCE = (
    "From: Jo Recruiter <jo@acme.example>\r\nTo: sam@example.net\r\nSubject: Onsite interview at Acme\r\n"
    "Date: Thu, 01 Oct 2026 09:00:00 +0000\r\nMessage-ID: <invite@acme.example>\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
    "We would like to invite you to an onsite interview on Monday.\r\n--b\r\n"
    "Content-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
    f"UID:evt-1\r\nSEQUENCE:{HUGE}\r\nDTSTART:20261005T150000Z\r\nDTEND:20261005T160000Z\r\nSUMMARY:Onsite interview\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n--b--\r\n"
)


def test_backfill_of_a_folder_with_the_issue_message_succeeds_and_resumes(tmp_path: Path) -> None:
    """The reproduction as a user meets it: `backfill --source` twice; the second run has nothing to do."""
    from offerwatch.daemon.cli import cli

    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "a.eml").write_text(RAW_HUGE_SEQUENCE, encoding="utf-8")
    (mail / "b.eml").write_text(RAW_HUGE_SEQUENCE.replace("invite@", "later@").replace("Monday", "Tuesday"), encoding="utf-8")
    db = tmp_path / "o.db"
    runner = CliRunner()
    args = ["--db", str(db), "backfill", "--source", str(mail), "--owner", "sam@example.net", "--no-progress"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    with Store.open(db) as s:
        (state,) = s.folder_states()
        assert state.last_uid == 2 and state.last_error is None
        assert s.counts()["messages"] == 2
        assert all(r["sequence"] <= 2**31 - 1 for r in s.rows("SELECT sequence FROM events"))
    again = runner.invoke(cli, args)
    assert again.exit_code == 0 and "2 already known" in again.output, again.output


def test_sqlite_itself_refuses_what_storable_fixes() -> None:
    """The premise, checked against the SQLite in use: these values do fail without the cleaning."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (v)")
    with pytest.raises(OverflowError):
        conn.execute("INSERT INTO t VALUES (?)", [HUGE])
    with pytest.raises(UnicodeEncodeError):
        conn.execute("INSERT INTO t VALUES (?)", ["\ud800"])


def test_the_lookups_the_pipeline_makes_with_mail_text_never_raise(store: Store) -> None:
    """Thread, contact and role context are asked with ids and addresses read from mail."""
    assert store.is_job_thread(["<a\ud800@x>", "<b@x>"]) is False
    assert store.is_job_contact("jo\udcff@acme.example") is False
    assert store.known_role("jo\udcff@acme.example") is None
    store.record_folder_error("acc", "Dossier \udce9", "boom")
    store.mark_folder_synced("acc", "Dossier \udce9")
    assert store.folder_state("acc", "Dossier \udce9") is not None
