"""Marking an application, a sender or a domain as not job-related takes its mail out of the
data, keeps it out when mail is read again, and undo brings it back at the next read."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers_apps import at, msg, put
from offerwatch.daemon.cli import cli
from offerwatch.models.store import Store

DEMO = Path(__file__).resolve().parents[1] / "daemon" / "demo_mailbox"
REPLY = (b"From: Hannah Lindgren <hannah.lindgren@orchardledger.example>\r\nTo: Sam Okafor <sam.okafor@example.net>\r\n"
         b"Subject: Re: Your application to Orchard Ledger\r\nDate: Tue, 29 Sep 2026 10:00:00 -0500\r\n"
         b"Message-ID: <reply-1@orchardledger.example>\r\n"
         b"In-Reply-To: <3284e75d5822c1df91a4a6a687e3489e@orchardledger.example>\r\n"
         b"References: <3284e75d5822c1df91a4a6a687e3489e@orchardledger.example>\r\n\r\n"
         b"Hi Sam, we would like to schedule a final round interview with our VP next week.\r\n")


def run(db: Path, *args: str):
    res = CliRunner().invoke(cli, ["--db", str(db), *args])
    res.text = " ".join(res.output.split())  # rich wraps lines at the terminal's width
    return res


def orchard(db: Path) -> list[dict]:
    with Store.open(db) as s:
        return s.rows("SELECT id, (SELECT count(*) FROM messages m WHERE m.application_id = a.id) AS n "
                      "FROM applications a WHERE company LIKE 'Orchard%'")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    box = tmp_path / "box"
    box.mkdir()
    for f in DEMO.glob("*.eml"):
        (box / f.name).write_bytes(f.read_bytes())
    path = tmp_path / "nj.db"
    res = run(path, "backfill", "--source", str(box), "--no-progress")
    assert res.exit_code == 0, res.output
    return path, box


def test_an_application_marked_not_job_leaves_the_data_stays_out_and_comes_back_on_undo(db: tuple[Path, Path]) -> None:
    path, box = db
    (app,) = orchard(path)
    res = run(path, "apps", "notjob", str(app["id"]))
    assert res.exit_code == 0, res.output
    assert f"application #{app['id']} marked not job-related: 2 message(s) taken out" in res.text
    assert orchard(path) == []
    with Store.open(path) as s:
        rows = s.rows("SELECT is_job, subject, text, sender_email FROM messages WHERE not_job_rule IS NOT NULL")
        assert len(rows) == 2 and all(r["is_job"] == 0 and r["subject"] is None and r["text"] is None for r in rows)
        assert not s.rows("SELECT 1 FROM signals s JOIN messages m ON m.key = s.message_key WHERE m.not_job_rule IS NOT NULL")
    assert "Orchard" not in run(path, "digest", "--preview").output
    assert run(path, "search", "Orchard", "--json").output.strip() == ""

    (box / "d999.eml").write_bytes(REPLY)  # a later reply in its thread, read by the next pass
    assert run(path, "backfill", "--source", str(box), "--no-progress").exit_code == 0
    assert orchard(path) == []
    with Store.open(path) as s:
        assert s.rows("SELECT is_job FROM messages WHERE message_id = '<reply-1@orchardledger.example>'") == [{"is_job": 0}]

    res = run(path, "apps", "notjob", str(app["id"]), "--undo")
    assert res.exit_code == 0 and "3 message(s) will be read again at the next" in res.text
    assert run(path, "backfill", "--source", str(box), "--no-progress").exit_code == 0
    assert [r["n"] for r in orchard(path)] == [3]


def test_sender_and_domain_marks_match_incoming_and_outgoing_mail_and_undo_rewinds_the_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    path = tmp_path / "s.db"
    with Store.open(path) as s:
        put(s, msg("a1", sender="Jo <jo@news.acme.io>", date=at("2026-09-03 10:00"), signals=("interview_request",)),
            msg("b1", sender="Li <li@beta.io>", subject="Beta | SRE", date=at("2026-09-03 11:00")))
    assert run(path, "notjob", "--domain", "acme.io", "--sender", "Li <LI@beta.io>").exit_code == 0
    with Store.open(path) as s:
        assert s.rows("SELECT count(*) AS n FROM applications")[0]["n"] == 0
        assert s.rows("SELECT count(*) AS n FROM signals")[0]["n"] == 0
        put(s, msg("a2", sender="Kim <kim@acme.io>", date=at("2026-09-04 10:00"), signals=("offer",)),
            msg("a3", to="Kim <kim@acme.io>", out=True, date=at("2026-09-04 12:00")),
            msg("c1", sender="Al <al@gamma.io>", subject="Gamma | Dev", date=at("2026-09-04 13:00")))
        assert [r["company"] for r in s.rows("SELECT company FROM applications")] == ["Gamma"]
        last_uid = s.rows("SELECT last_uid FROM folders")[0]["last_uid"]
    listed = run(path, "notjob").output
    assert "acme.io" in listed and "li@beta.io" in listed
    res = run(path, "notjob", "--domain", "acme.io", "--undo")
    assert res.exit_code == 0 and "3 message(s) will be read again" in res.text
    with Store.open(path) as s:
        assert s.rows("SELECT last_uid FROM folders")[0]["last_uid"] < last_uid  # the next sync reads them again
        assert not s.rows("SELECT 1 FROM messages WHERE not_job_rule IS NOT NULL AND key LIKE '%acme%'")


def test_bad_input_is_one_clear_error_and_changes_nothing(db: tuple[Path, Path]) -> None:
    path, _ = db
    with Store.open(path) as s:
        before = s.rows("SELECT count(*) AS n FROM messages WHERE is_job = 1")
    for args, code, text in [
        (("apps", "notjob", "999"), 1, "there is no application #999"),
        (("apps", "notjob", "999", "--undo"), 1, "is not marked as not job-related"),
        (("notjob", "--sender", "nobody"), 2, "not one mail address"),
        (("notjob", "--domain", "gmail.com"), 2, "mark the address instead"),
        (("notjob", "--domain", "bad domain"), 2, "is not a domain"),
        (("notjob", "--sender", "x@y.io", "--undo"), 1, "not marked as not job-related"),
        (("notjob", "--undo"), 2, "--undo needs"),
    ]:
        res = run(path, *args)
        assert res.exit_code == code and text in res.text, (args, res.output)
    with Store.open(path) as s:
        assert s.rows("SELECT count(*) AS n FROM messages WHERE is_job = 1") == before
        assert s.rows("SELECT count(*) AS n FROM not_job")[0]["n"] == 0
