"""The store is private (0600), migrates old files forward, refuses non-SQLite files and is idempotent."""

from __future__ import annotations

import sqlite3
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from offerwatch.models.domain import Address, Analysis, Direction, Location, Salary, Signal
from offerwatch.models.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError


def _analysis(key: str = "<m1@x.example>", *, job: bool = True, signals: tuple[Signal, ...] = ()) -> Analysis:
    return Analysis(
        message_id=key, subject="Interview at Acme", sender=Address("Jo", "jo@acme.example"), to=(Address("", "sam@example.net"),),
        cc=(), date=datetime(2026, 10, 1, 9, tzinfo=timezone.utc), in_reply_to=None, references=(), direction=Direction.IN,
        is_job=job, job_reason="test", text="We would like to move forward." if job else "private words", signature="Jo",
        signals=signals, salaries=(Salary(150000, 160000, "USD", "year", "$150-160k"),) if job else (),
    )


def _sig(t: str = "interview_request") -> Signal:
    return Signal(t, "We would like to move forward.", 0, 30, "test.rule", "a test rule")


def test_new_database_is_private_wal_and_current(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "o.db"
    with Store.open(path) as s:
        assert s.version == SCHEMA_VERSION
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_v1_database_is_migrated_forward(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO accounts(name, kind, created_at) VALUES ('personal', 'imap', '2026-01-01')")
    conn.commit()
    conn.close()
    with Store.open(path) as s:
        assert s.version == SCHEMA_VERSION
        assert s.rows("SELECT name FROM accounts") == [{"name": "personal"}]
        assert "events" in s.db.table_names() and "salaries" in s.db.table_names()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="upgrade offerwatch"):
        Store.open(path)


def test_non_sqlite_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    content = b"my precious notes, not a database\n" * 10
    path.write_bytes(content)
    with pytest.raises(StoreError) as err:
        Store.open(path)
    assert str(path) in str(err.value) and "not an offerwatch database" in str(err.value)
    assert path.read_bytes() == content


def test_batch_is_idempotent(store: Store) -> None:
    loc = Location("acc", "INBOX", 7, 1, "1")
    a = _analysis(signals=(_sig(), _sig("panel_invite")))
    for _ in range(3):
        store.write_batch("acc", "INBOX", 7, [(loc, a)], last_uid=1)
    assert store.counts()["messages"] == 1
    assert len(store.signals()) == 2
    assert store.rows("SELECT count(*) AS n FROM salaries")[0]["n"] == 1
    state = store.folder_state("acc", "INBOX")
    assert state is not None and state.last_uid == 1 and state.uidvalidity == 7


def test_a_signal_read_again_keeps_when_it_was_first_stored(store: Store) -> None:
    """The digest shows a signal as new by its created_at: mail read again (a UIDVALIDITY
    rescan, a second backfill) must not make its signals news a second time."""
    first, later = datetime(2026, 10, 1, 10, tzinfo=timezone.utc), datetime(2026, 10, 9, 10, tzinfo=timezone.utc)
    store.clock = lambda: first
    store.write_batch("acc", "INBOX", 7, [(Location("acc", "INBOX", 7, 1, "1"), _analysis(signals=(_sig(),)))], last_uid=1)
    store.clock = lambda: later
    again = _analysis(signals=(_sig(), _sig("panel_invite")))  # read again, now with one more signal
    store.write_batch("acc", "INBOX", 8, [(Location("acc", "INBOX", 8, 1, "1"), again)], last_uid=1)
    created = {r["type"]: r["created_at"] for r in store.rows("SELECT type, created_at FROM signals")}
    assert created == {"interview_request": first.isoformat(timespec="seconds"),
                       "panel_invite": later.isoformat(timespec="seconds")}


def test_same_message_in_two_folders_is_one_message(store: Store) -> None:
    a = _analysis(signals=(_sig(),))
    store.write_batch("acc", "INBOX", 1, [(Location("acc", "INBOX", 1, 5, "5"), a)], last_uid=5)
    store.write_batch("acc", "All Mail", 9, [(Location("acc", "All Mail", 9, 77, "77"), a)], last_uid=77)
    assert store.counts()["messages"] == 1
    assert len(store.signals()) == 1
    assert store.rows("SELECT count(*) AS n FROM locations")[0]["n"] == 2


def test_private_mail_keeps_no_content(store: Store) -> None:
    store.write_batch("acc", "INBOX", 1, [(Location("acc", "INBOX", 1, 1, "1"), _analysis("<p@x>", job=False))], last_uid=1)
    row = store.rows("SELECT * FROM messages")[0]
    assert row["is_job"] == 0
    assert row["text"] is None and row["subject"] is None and row["sender_email"] is None
    assert "private words" not in str(row)


def test_high_water_mark_never_moves_back(store: Store) -> None:
    a = _analysis()
    store.write_batch("acc", "INBOX", 1, [(Location("acc", "INBOX", 1, 9, "9"), a)], last_uid=9)
    store.write_batch("acc", "INBOX", 1, [(Location("acc", "INBOX", 1, 3, "3"), a)], last_uid=3)
    state = store.folder_state("acc", "INBOX")
    assert state is not None and state.last_uid == 9


def test_failed_batch_leaves_no_partial_state(store: Store) -> None:
    """A fault of the database itself (here a real SQLITE_FULL: the file may not grow) in the
    middle of a batch rolls all of it back, high-water mark included."""
    good, second = _analysis("<good@x>"), _analysis("<second@x>")

    def filling_linker(s: Store, a: Analysis) -> int | None:
        if a.message_id == "<second@x>":
            pages = s.db.execute("PRAGMA page_count").fetchone()[0]
            s.db.execute(f"PRAGMA max_page_count = {pages}")
            s.db.execute("INSERT INTO corrections(kind, payload, created_at) VALUES ('x', ?, 'now')", ["x" * 200_000])
        return None

    items = [(Location("acc", "INBOX", 1, 1, "1"), good), (Location("acc", "INBOX", 1, 2, "2"), second)]
    with pytest.raises(sqlite3.OperationalError, match="full"):
        store.write_batch("acc", "INBOX", 1, items, last_uid=2, linker=filling_linker)
    store.db.execute("PRAGMA max_page_count = 1073741823")
    assert store.counts()["messages"] == 0
    assert store.folder_state("acc", "INBOX") is None
