"""The database is explorable: every lookup the code makes uses an index, job mail and signal
evidence are full-text searchable (kept in sync by triggers), views join what a person wants,
references are foreign keys, and a version-4 file is upgraded in place."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from offerwatch.daemon.cli import cli
from offerwatch.models.domain import Address, Analysis, Direction, Location, Signal
from offerwatch.models.store import MIGRATIONS, SCHEMA_VERSION, Store


def _analysis(n: int, text: str, *, job: bool = True, signals: tuple[Signal, ...] = ()) -> Analysis:
    return Analysis(
        message_id=f"<m{n}@acme.example>", subject=f"Interview {n} at Acme", sender=Address("Jo", "jo@acme.example"),
        to=(Address("", "sam@example.net"),), cc=(), date=datetime(2026, 10, n, 9, tzinfo=timezone.utc), in_reply_to=None,
        references=(), direction=Direction.IN, is_job=job, job_reason="test", text=text if job else "", signature="Jo",
        signals=signals,
    )


def _store_with_mail(path: Path | None = None) -> Store:
    store = Store.open(path)
    store.ensure_account("local", "mbox")
    items = [
        (Location("local", "INBOX", 1, 1, "1"), _analysis(1, "Could you confirm your salary expectations?",
                                                      signals=(Signal("salary_reconfirm", "Could you confirm your salary expectations?", 0, 44, "r", "r"),))),
        (Location("local", "INBOX", 1, 2, "2"), _analysis(2, "We are interviewing other candidates this week.")),
        (Location("local", "INBOX", 1, 3, "3"), _analysis(3, "private words about salary", job=False)),
    ]
    store.write_batch("local", "INBOX", 1, items, last_uid=3)
    return store


#: The lookups the code makes, in their own words (store, linking, timeline, digest).
LOOKUPS = [
    ("signals", "SELECT * FROM signals WHERE message_key = ?", ["k"]),
    ("signals", "SELECT * FROM signals WHERE type = ?", ["offer"]),
    ("signals", "SELECT * FROM signals WHERE application_id = ? AND dismissed = 0", [1]),
    ("messages", "SELECT * FROM messages WHERE date >= ?", ["2026-01-01"]),
    ("messages", "SELECT * FROM messages WHERE is_job = 1 ORDER BY date", []),
    ("messages", "SELECT * FROM messages WHERE application_id = ?", [1]),
    ("messages", "SELECT * FROM messages WHERE message_id IN (?, ?)", ["a", "b"]),
    ("messages", "SELECT * FROM messages WHERE counterpart = ? AND is_job = 1 LIMIT 1", ["x@y"]),
    ("messages", "SELECT * FROM messages WHERE counterpart_domain = ? AND is_job = 1 LIMIT 1", ["y"]),
    ("messages", "SELECT * FROM messages WHERE sender_email = ? AND is_job = 1", ["x@y"]),
    ("messages", "SELECT * FROM messages WHERE thread_hint = ? AND application_id IS NOT NULL", ["t"]),
    ("messages", "SELECT * FROM messages WHERE in_reply_to = ?", ["<a@b>"]),
    # linking's per-application seeks (models.linking._apps_where, _apps_by_contact_name, _latest)
    ("messages", ("SELECT min(application_id) FROM messages WHERE counterpart = ?1 AND subject_key = ?2 "
                  "AND application_id > ?3"), ["x@y", "next steps", 1]),
    ("messages", ("SELECT min(sender_name) FROM messages WHERE direction = 'in' AND application_id IS NOT NULL "
                  "AND sender_name > ?"), ["Jo Doe"]),
    ("messages", ("SELECT min(application_id) FROM messages WHERE sender_name = ?1 AND direction = 'in' "
                  "AND application_id > ?2"), ["Jo Doe", 1]),
    ("messages", "SELECT min(counterpart_domain) FROM messages WHERE application_id IS NOT NULL AND counterpart_domain > ?",
     ["acme.example"]),
    ("messages", "SELECT max(date) FROM messages WHERE application_id = ?", [1]),
    ("events", "SELECT * FROM events WHERE application_id = ?", [1]),
    ("salaries", "SELECT * FROM salaries WHERE application_id = ? AND direction = 'out' ORDER BY date", [1]),
    ("locations", "SELECT * FROM locations WHERE account = ? AND folder = ? AND uidvalidity = ?", ["a", "b", 1]),
    ("locations", "SELECT * FROM locations WHERE message_key = ?", ["k"]),
    ("corrections", "SELECT * FROM corrections WHERE kind = ? ORDER BY id", ["merge"]),
    ("thread_refs", "SELECT * FROM thread_refs WHERE message_key = ?", ["k"]),
    ("digests", "SELECT * FROM digests WHERE status = 'sent' AND sent_at IS NOT NULL ORDER BY sent_at DESC LIMIT 1", []),
]


@pytest.mark.parametrize("table,sql,params", LOOKUPS)
def test_every_lookup_uses_an_index(table: str, sql: str, params: list[object]) -> None:
    store = Store.open(None)
    plan = " | ".join(str(r[3]) for r in store.db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())
    assert f"SCAN {table}" not in plan, plan
    assert "USING" in plan or "SEARCH" in plan, plan


def test_search_finds_job_mail_and_evidence_with_stemming_but_no_private_mail() -> None:
    store = _store_with_mail()
    kinds = {(r["kind"], r["message_key"] is not None) for r in store.search("salary")}
    assert ("message", True) in kinds and ("signal", True) in kinds
    assert all("private" not in (r["snippet"] or "") for r in store.search("salary"))
    assert [r["subject"] for r in store.search("interview candidates")] == ["Interview 2 at Acme"]  # "interviewing"
    # user text is words, never query syntax: punctuation and operators raise nothing
    assert store.search('AND OR NOT "(') == []
    assert {r["kind"] for r in store.search('salary: "expectations')} == {"message", "signal"}


def test_full_text_index_follows_updates_and_deletes() -> None:
    store = _store_with_mail()
    key = store.rows("SELECT key FROM messages WHERE subject = 'Interview 2 at Acme'")[0]["key"]
    store.db.execute("UPDATE messages SET text = 'a brand new onsite schedule' WHERE key = ?", [key])
    assert [r["message_key"] for r in store.search("onsite")] == [key]
    assert store.search("candidates") == []
    store.db.execute("DELETE FROM locations WHERE message_key = ?", [key])  # references are enforced
    store.db.execute("DELETE FROM messages WHERE key = ?", [key])
    assert store.search("onsite") == []


def test_views_join_what_a_person_wants() -> None:
    store = _store_with_mail()
    sig = store.rows("SELECT type, subject, sender_email, evidence FROM signals_view")
    assert sig == [{"type": "salary_reconfirm", "subject": "Interview 1 at Acme", "sender_email": "jo@acme.example",
                    "evidence": "Could you confirm your salary expectations?"}]
    assert store.rows("SELECT count(*) AS n FROM applications_view")[0]["n"] == store.rows(
        "SELECT count(*) AS n FROM applications")[0]["n"]


def test_every_reference_is_a_foreign_key_and_enforced() -> None:
    store = Store.open(None)
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    for table in store.db.table_names():
        if table.endswith(("_fts", "_data", "_idx", "_docsize", "_config")):
            continue
        fks = {fk.column for fk in store.db[table].foreign_keys}
        for column in store.db[table].columns_dict:
            if column in ("message_key", "application_id"):
                assert column in fks, f"{table}.{column} is not a foreign key"


def test_a_version_4_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:4]:
        assert isinstance(script, str)
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO applications(id, company, created_at, updated_at) VALUES (1, 'Acme', 'x', 'x')")
    conn.execute("INSERT INTO messages(key, account, folder, uidvalidity, uid, direction, is_job, subject, text, "
                 "application_id, processed_at) VALUES ('k1', 'a', 'INBOX', 1, 1, 'in', 1, 'Offer', "
                 "'We are delighted to offer you the role', 1, 'x')")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.version == SCHEMA_VERSION >= 5
        assert [r["message_key"] for r in store.search("delighted")] == ["k1"]
        assert store.rows("SELECT company, messages FROM applications_view") == [{"company": "Acme", "messages": 1}]


def test_a_version_11_database_gets_subject_keys_and_full_text_triggers_that_fire_only_for_text(tmp_path: Path) -> None:
    from old_schema import database_at

    path = tmp_path / "v11.db"
    db = database_at(path, 11)
    for key, subject, job in (("k1", "RE: Fwd:  Next Steps with ACME", 1), ("k2", None, 0)):
        db.execute("INSERT INTO messages(key, account, folder, uidvalidity, uid, direction, is_job, subject, text, processed_at) "
                   "VALUES (?, 'a', 'INBOX', 1, 1, 'in', ?, ?, 'We would like to schedule a call', 'x')", [key, job, subject])
    db.conn.commit()
    db.close()
    with Store.open(path) as store:
        assert store.version == SCHEMA_VERSION >= 12
        assert dict(store.db.execute("SELECT key, subject_key FROM messages").fetchall()) == {
            "k1": "next steps with acme", "k2": None}
        assert sorted(r["message_key"] for r in store.search("schedule")) == ["k1", "k2"]
        # linking updates a message's bookkeeping columns three times: none of that rewrites the
        # full-text index (changes made by triggers count in total_changes)
        before = store.db.conn.total_changes
        store.db.execute("UPDATE messages SET link_reason = 'x', counterpart = 'jo@acme.example' WHERE key = 'k1'")
        store.db.execute("UPDATE signals SET dismissed = 1")
        assert store.db.conn.total_changes - before == 1
        store.db.execute("UPDATE messages SET text = 'a brand new onsite schedule' WHERE key = 'k1'")
        assert [r["message_key"] for r in store.search("onsite")] == ["k1"]


def test_search_command(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    _store_with_mail(db).close()
    runner = CliRunner()
    out = runner.invoke(cli, ["--db", str(db), "search", "salary", "--json"])
    assert out.exit_code == 0, out.output
    assert '"kind": "signal"' in out.output and "[salary]" in out.output
    empty = runner.invoke(cli, ["--db", str(db), "search", "   "])
    assert empty.exit_code == 2 and "at least one word" in empty.output


def test_datasette_metadata_describes_tables_that_exist() -> None:
    import json

    meta = json.loads((Path(__file__).parent.parent / "docs" / "datasette" / "metadata.json").read_text(encoding="utf-8"))
    described = set(meta["databases"]["offerwatch"]["tables"])
    store = Store.open(None)
    existing = set(store.db.table_names()) | set(store.db.view_names())
    assert described <= existing, described - existing
    assert {"applications_view", "signals_view", "messages", "signals", "applications"} <= described


def test_assessment_is_incremental_with_a_full_pass_each_day(monkeypatch: pytest.MonkeyPatch) -> None:
    from offerwatch.daemon.sync import assess_applications
    from offerwatch.models import timeline

    calls: list[object] = []
    monkeypatch.setattr(timeline, "assess", lambda store, ids, **kw: calls.append(None if ids is None else list(ids)))
    store = Store.open(None)
    day1 = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    assess_applications(store, {3}, now=day1)  # the first pass of a day: everything
    assess_applications(store, {3, 1}, now=day1.replace(hour=10))  # then only what got mail
    assess_applications(store, set(), now=day1.replace(hour=11))  # nothing new: nothing to do
    assess_applications(store, {2}, now=day1.replace(day=2))  # a new day: everything again
    assess_applications(store, {2}, now=day1.replace(day=2, hour=12), full=True)  # before a digest
    assert calls == [None, [1, 3], None, None]


def test_backfill_with_a_worker_pool_stores_exactly_what_a_serial_run_does(tmp_path: Path) -> None:
    from offerwatch.daemon.sources.local import open_local_source
    from offerwatch.daemon.sync import SyncEngine
    from offerwatch.extractors.pipeline import Owner, worker_pool

    corpus = Path(__file__).parent.parent.parent / "shared" / "corpus" / "dev"
    if not corpus.is_dir():
        pytest.skip("no dev corpus at ../shared/corpus/dev")
    owner = Owner.of(["maya.lindqvist@gmail.com"])
    pool = worker_pool(2)
    assert pool is not None
    snapshots = []
    try:
        for p in (None, pool):
            with Store.open(tmp_path / f"{'pool' if p else 'serial'}.db") as store:
                SyncEngine(store, owner, pool=p, batch_size=16).run(open_local_source(corpus), backfill=True)
                snapshots.append((
                    store.rows("SELECT key, is_job, job_reason, application_id FROM messages ORDER BY key"),
                    store.rows("SELECT message_key, type, rule, evidence FROM signals ORDER BY message_key, type"),
                    store.rows("SELECT account, name, last_uid FROM folders"),
                ))
    finally:
        pool.shutdown()
    assert snapshots[0] == snapshots[1]
    assert len(snapshots[0][1]) > 100


def test_what_pool_workers_log_reaches_this_process_handlers_at_its_level() -> None:
    """Workers start without logging set up (forkserver): `-v` did not reach them and a parser
    bug's traceback went past the format and the redaction. Their records come here now."""
    import logging
    import os

    from offerwatch.extractors.pipeline import prepare_many, worker_pool

    long_mail = (b"From: jo@acme.example\r\nTo: sam@example.net\r\nSubject: long\r\nMessage-ID: <long@acme.example>\r\n\r\n"
                 + b"We would like to schedule an interview. " * 3000)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler, level = Keep(), root.level
    root.addHandler(handler)
    try:
        for wanted, expect in ((logging.INFO, True), (logging.WARNING, False)):
            root.setLevel(wanted)
            records.clear()
            pool = worker_pool(2)
            assert pool is not None
            try:
                (prepared, _), = pool.submit(prepare_many, [long_mail]).result()
            finally:
                pool.shutdown()
            assert "text longer than the analysis cap; only its start was analysed" in prepared.problems
            cut = [r for r in records if "text cut to the analysis cap" in r.getMessage()]
            assert bool(cut) is expect, (wanted, [r.getMessage() for r in records])
            assert all(r.process != os.getpid() and r.name == "offerwatch.extractors.pipeline" for r in cut)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
