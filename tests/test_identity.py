"""A Message-ID names a message only together with its content: the same id and content is one
message (wherever and however often it is read), the same id with another content is two; the
result does not depend on arrival order, leaves no signal or salary orphaned, and a database of
schema 5 is upgraded in place."""

from __future__ import annotations

import itertools
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from helpers_apps import msg
from offerwatch.extractors.fingerprint import content_fingerprint
from offerwatch.models.domain import Analysis, Location, Salary
from offerwatch.models.linking import link_message
from offerwatch.models.store import SCHEMA_VERSION, Store
from offerwatch.models.timeline import assess

NOW = datetime(2026, 10, 20, 12, tzinfo=timezone.utc)
OFFER_DATE = datetime(2026, 10, 14, 15, tzinfo=timezone.utc)


def _with(a: Analysis, fingerprint: str, **kw: Any) -> Analysis:
    from dataclasses import replace

    return replace(a, fingerprint=fingerprint, content_hash="raw-" + fingerprint, **kw)


def offer() -> Analysis:
    return _with(msg("offer", sender="Dana <dana@lumenfield.io>", subject="Your offer from Lumenfield", date=OFFER_DATE,
                     text="We are thrilled to offer you the position.", signals=("offer",),
                     salaries=(Salary(150000, 160000, "USD", "year", "$150k-$160k"),)), "fp-offer")


def newsletter_reusing_the_id() -> Analysis:
    return _with(msg("offer", sender="News <news@weekly.example>", subject="This week in tech", date=OFFER_DATE,
                     text="Ten links.", is_job=False), "fp-newsletter")


def rejection_reusing_the_id() -> Analysis:
    return _with(msg("offer", sender="Dana <dana@lumenfield.io>", subject="Your application at Lumenfield",
                     date=datetime(2026, 10, 15, 9, tzinfo=timezone.utc),
                     text="Unfortunately we decided to move forward with other candidates.", signals=("rejection",)),
                 "fp-rejection")


def write(store: Store, analyses: list[Analysis], folder: str = "INBOX") -> None:
    for uid, a in enumerate(analyses, start=1):
        store.write_batch("t", folder, 1, [(Location("t", folder, 1, uid, f"{folder}-{uid}"), a)], last_uid=uid,
                          linker=link_message)
    assess(store, None, now=NOW)


def state(store: Store) -> dict[str, Any]:
    """What a user sees, with the keys left out (the only thing arrival order may change)."""
    messages = sorted(
        (r["message_id"], r["fingerprint"], r["is_job"], r["subject"], r["text"])
        for r in store.rows("SELECT * FROM messages"))
    signals = sorted(
        (r["fingerprint"], r["type"], r["company"])
        for r in store.rows("SELECT m.fingerprint, s.type, a.company FROM signals s JOIN messages m ON m.key = s.message_key "
                            "LEFT JOIN applications a ON a.id = s.application_id WHERE s.derived = 0"))
    apps = sorted((r["company"], r["stage"], r["outlook"]) for r in store.applications())
    return {"messages": messages, "signals": signals, "apps": apps}


def assert_no_orphans(store: Store) -> None:
    for table in ("signals", "salaries", "events"):
        bad = store.rows(
            f"SELECT t.message_key FROM {table} t JOIN messages m ON m.key = t.message_key "
            "WHERE t.message_key IS NOT NULL AND (m.is_job = 0 OR coalesce(m.application_id, -1) != coalesce(t.application_id, -1))")
        assert bad == [], f"{table} rows whose message is not (or no longer) the job mail they came from: {bad}"


def test_same_id_different_content_is_two_messages_and_the_offer_survives(store: Store) -> None:
    write(store, [offer(), rejection_reusing_the_id()])
    rows = store.rows("SELECT key, fingerprint, subject FROM messages ORDER BY rowid")
    assert [r["fingerprint"] for r in rows] == ["fp-offer", "fp-rejection"]
    assert rows[0]["key"] == "<offer@test>" and rows[1]["key"].startswith("<offer@test>#")
    assert {s["type"] for s in store.signals()} >= {"offer", "rejection"}
    assert store.rows("SELECT count(*) AS n FROM salaries")[0]["n"] == 1
    assert_no_orphans(store)


def test_a_newsletter_reusing_a_job_mails_id_leaves_the_job_mail_whole(store: Store) -> None:
    write(store, [offer()])
    before = store.applications()[0]
    write(store, [newsletter_reusing_the_id()], folder="Newsletters")
    job = store.rows("SELECT * FROM messages WHERE fingerprint = 'fp-offer'")[0]
    assert job["is_job"] == 1 and job["subject"] == "Your offer from Lumenfield" and job["text"]
    news = store.rows("SELECT * FROM messages WHERE fingerprint = 'fp-newsletter'")[0]
    assert news["is_job"] == 0 and news["subject"] is None and news["application_id"] is None
    after = store.applications()[0]
    assert (after["stage"], after["outlook"]) == (before["stage"], before["outlook"]) == ("offer", before["outlook"])
    assert before["outlook"] >= 90
    assert_no_orphans(store)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))), ids=lambda o: "-".join(map(str, o)))
def test_the_result_does_not_depend_on_arrival_order(tmp_path: Path, order: tuple[int, ...]) -> None:
    mails = [offer(), newsletter_reusing_the_id(), rejection_reusing_the_id()]
    with Store.open(None) as reference:
        write(reference, mails)
        expected = state(reference)
    with Store.open(None) as s:
        write(s, [mails[i] for i in order])
        assert state(s) == expected
        assert_no_orphans(s)


def test_the_same_mail_in_two_folders_is_one_message_with_two_locations(store: Store) -> None:
    write(store, [offer()])
    write(store, [offer()], folder="All Mail")
    assert store.counts()["messages"] == 1
    assert store.rows("SELECT count(*) AS n FROM locations")[0]["n"] == 2
    assert len([s for s in store.signals() if s["type"] == "offer"]) == 1


def test_job_mail_read_again_where_it_looks_private_keeps_what_it_knew(store: Store) -> None:
    from dataclasses import replace

    write(store, [offer()])
    write(store, [replace(offer(), is_job=False, job_reason="private mail (no context)", signals=(), salaries=())],
          folder="Archive")
    row = store.rows("SELECT * FROM messages")[0]
    assert row["is_job"] == 1 and row["subject"] == "Your offer from Lumenfield"
    assert [s["type"] for s in store.signals() if not s["derived"]] == ["offer"]
    assert store.rows("SELECT count(*) AS n FROM salaries")[0]["n"] == 1
    assert store.rows("SELECT count(*) AS n FROM locations")[0]["n"] == 2


# -- the fingerprint ------------------------------------------------------------------------------

RAW = (b"Return-Path: <dana@lumenfield.io>\r\nReceived: from mx1 by mx2; Wed, 14 Oct 2026 15:00:01 +0000\r\n"
       b"From: Dana <dana@lumenfield.io>\r\nTo: maya@example.com\r\nSubject: Your offer\r\n from Lumenfield\r\n"
       b"Date: Wed, 14 Oct 2026 15:00:00 +0000\r\nMessage-ID: <offer@lumenfield.io>\r\n\r\n"
       b"We are thrilled to offer you the position.  \r\nFrom the whole team,\r\nDana\r\n")


def test_transport_does_not_change_the_fingerprint() -> None:
    takeout = (b"X-GM-THRID: 1780000000000000000\nX-Gmail-Labels: Inbox,Important\n"
               + RAW.replace(b"\r\n", b"\n").replace(b"Received: from mx1 by mx2; Wed, 14 Oct 2026 15:00:01 +0000\n", b"")
               .replace(b"\nFrom the whole", b"\n>From the whole").replace(b"position.  \n", b"position.\n") + b"\n\n")
    delivered = b"Delivered-To: maya@example.com\r\n" + RAW
    assert content_fingerprint(RAW) == content_fingerprint(takeout) == content_fingerprint(delivered)


@pytest.mark.parametrize("change", [
    (b"thrilled to offer you", b"sorry to tell you"),
    (b"From: Dana <dana@lumenfield.io>", b"From: Dana <dana@lumenfie1d.io>"),
    (b"Subject: Your offer", b"Subject: Your rejection"),
    (b"Date: Wed, 14 Oct", b"Date: Thu, 15 Oct"),
])
def test_what_the_author_wrote_changes_the_fingerprint(change: tuple[bytes, bytes]) -> None:
    assert content_fingerprint(RAW) != content_fingerprint(RAW.replace(*change))


def test_the_fingerprint_costs_linear_time() -> None:
    """No quadratic corner: many folded header lines and a long body of short lines."""
    from cpu_time import best_cpu_seconds

    def cost(n: int) -> float:
        return best_cpu_seconds(content_fingerprint, b"Subject: x\r\n" + b" y\r\n" * n + b"\r\n" + b"a \r\n" * n)

    small, large = cost(100_000), cost(400_000)
    assert large < small * 4 * 3 + 0.05


def test_fingerprints_stored_before_stay_the_same() -> None:
    """Stored fingerprints identify messages across upgrades: these are the values the
    whole-message implementation (before it read a chunk at a time) gave."""
    mail = (b"Received: by mx1\r\nFrom: Jo <jo@acme.example>\r\nSubject: Offer\r\n  for you\r\nTo: sam@example.net\r\n\r\n"
            b"Hi Sam,\r\n\r\n>From the team:   \r\nan offer.\r\n\r\n\r\n")
    assert content_fingerprint(mail) == "08df786e79341ae96d1c96cbc06a429373eff306bb5347c12508cb3850c203ea"
    big = b"From: a@x\r\nSubject: big\r\n\r\n" + b"<p>" * 1_000_000 + b"\r\nend\r\n" + b"\r\n" * 100_000 + b"x\n\n"
    assert content_fingerprint(big) == "3b126202ee584a3456c4cd150909ba4ff9d1c39606db5d86c334dbc35a75284b"


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_chunk_boundaries_do_not_change_the_fingerprint(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    from offerwatch.extractors import fingerprint

    samples = [RAW, RAW.replace(b"\r\n", b"\n"), b"", b"\n", b"\r\n\r\n", b"a\r", b"A: b\r\n\nx\r", b"\r\r\n\r\n\r\r\n",
               b" x: y\n z\n\nbody\n\n \t\n", b"From: a\r\n b\r\n\tc\r\nTo: x\r\r\n\r\n>From me\r\n>>From x\n  \r\n"]
    expected = [content_fingerprint(s) for s in samples]
    monkeypatch.setattr(fingerprint, "CHUNK", chunk)
    assert [content_fingerprint(s) for s in samples] == expected


def test_the_fingerprint_of_a_5_mb_message_holds_one_copy_of_its_longest_line() -> None:
    import tracemalloc

    raw = b"From: a@x\r\nSubject: big\r\n\r\n<p>hello\r\n" + b"<blockquote>" * 400_000 + b"\r\n" + b"\r\n" * 200_000 + b"end\r\n"
    tracemalloc.start()
    content_fingerprint(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 6_000_000  # 15 MB when the body was copied twice and split into a list at once


# -- schema 5 -> 6 --------------------------------------------------------------------------------

def _schema5_database(path: Path) -> None:
    """A database as main's schema 5 writes it (MIGRATIONS[:5] are main's steps, unchanged): keys
    are bare Message-IDs and there is no fingerprint column."""
    from old_schema import database_at

    db = database_at(path, 5)
    conn = db.conn
    conn.execute("DROP TABLE meta")  # schema 5 files written before meta joined it (2a8c584) lack it
    conn.execute("INSERT INTO accounts(name, kind, created_at) VALUES ('t', 'imap', 'x')")
    conn.execute("INSERT INTO applications(id, company, stage, outlook, created_at, updated_at) "
                 "VALUES (1, 'Lumenfield', 'offer', 92, 'x', 'x')")
    conn.execute("INSERT INTO messages(key, message_id, account, folder, uidvalidity, uid, direction, date, is_job, job_reason, "
                 "content_hash, subject, sender_email, text, application_id, processed_at) VALUES ('<offer@test>', "
                 "'<offer@test>', 't', 'INBOX', 1, 1, 'in', '2026-10-14T15:00:00+00:00', 1, 'job', 'raw-fp-offer', "
                 "'Your offer from Lumenfield', 'dana@lumenfield.io', 'We are thrilled to offer you the position.', 1, 'x')")
    conn.execute("INSERT INTO locations VALUES ('t\x1fINBOX\x1f1\x1fINBOX-1', '<offer@test>', 't', 'INBOX', 1, 1)")
    conn.execute("INSERT INTO signals(message_key, application_id, type, polarity, evidence, rule, at, created_at) "
                 "VALUES ('<offer@test>', 1, 'offer', 3, 'offer you the position', 'r', '2026-10-14T15:00:00+00:00', 'x')")
    conn.commit()
    conn.close()


def test_a_schema_5_database_is_upgraded_in_place_and_keeps_recognising_its_mail(tmp_path: Path) -> None:
    path = tmp_path / "v5.db"
    _schema5_database(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 5
    with Store.open(path) as s:
        assert s.version == SCHEMA_VERSION >= 6
        assert {"fingerprint", "sender_tie"} <= set(s.db["messages"].columns_dict)
        assert "meta" in s.db.table_names()
        assert [r["message_key"] for r in s.search("thrilled")] == ["<offer@test>"]
        # the same mail read again (same bytes): the same row, its fingerprint filled in
        write(s, [offer()])
        rows = s.rows("SELECT key, fingerprint FROM messages")
        assert rows == [{"key": "<offer@test>", "fingerprint": "fp-offer"}]
        # another mail with its id: a second row; the offer and its application are untouched
        write(s, [newsletter_reusing_the_id()], folder="Newsletters")
        assert s.counts()["messages"] == 2
        app = s.applications()[0]
        assert (app["company"], app["stage"]) == ("Lumenfield", "offer")
        assert_no_orphans(s)


# -- over IMAP ------------------------------------------------------------------------------------

@pytest.mark.integration
def test_over_imap_two_uids_with_one_id_but_different_content_stay_two_rows(tmp_path: Path, dovecot, dovecot_user) -> None:
    """Issue 15: "over IMAP two UIDs became one row". A real Dovecot INBOX holds the offer, a copy
    of it (same bytes, another UID) and a different mail reusing its Message-ID."""
    from test_imap_source import make_source

    from offerwatch.daemon.sync import SyncEngine
    from offerwatch.extractors.pipeline import Owner

    spoof = (RAW.replace(b"Subject: Your offer\r\n from Lumenfield", b"Subject: Your application at Lumenfield")
             .replace(b"We are thrilled to offer you the position.", b"Unfortunately we will not move forward."))
    uids = dovecot_user.append_many("INBOX", [RAW, RAW, spoof])
    source = make_source(dovecot, dovecot_user)
    try:
        with Store.open(tmp_path / "o.db") as s:
            SyncEngine(s, Owner.of(["maya@example.com"])).run(source)
            rows = s.rows("SELECT key, fingerprint FROM messages ORDER BY rowid")
            assert len(rows) == 2 and rows[0]["fingerprint"] != rows[1]["fingerprint"]
            where = s.rows("SELECT message_key, uid FROM locations ORDER BY uid")
            assert [w["uid"] for w in where] == uids
            assert [w["message_key"] for w in where] == [rows[0]["key"], rows[0]["key"], rows[1]["key"]]
            assert s.folder_state("work-mail", "INBOX").last_uid == max(uids)  # type: ignore[union-attr]
    finally:
        source.close()


def test_fingerprints_that_begin_alike_still_make_distinct_keys(store: Store) -> None:
    from dataclasses import replace

    base = msg("same", sender="Dana <dana@lumenfield.io>", subject="Hello")
    mails = [replace(base, fingerprint="0" * 20 + str(i), content_hash=f"raw{i}", text=f"text {i}") for i in range(4)]
    write(store, mails)
    keys = [r["key"] for r in store.rows("SELECT key FROM messages ORDER BY rowid")]
    assert len(set(keys)) == 4 and keys[0] == "<same@test>"
    assert keys[1] == "<same@test>#" + "0" * 16 and keys[2] == "<same@test>#" + "0" * 20 + "2"
