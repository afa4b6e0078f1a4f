"""`offerwatch apps` lists and corrects applications; `offerwatch app ID` prints the timeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers_apps import at, msg, put
from offerwatch.daemon.cli import cli
from offerwatch.models.domain import Salary
from offerwatch.models.store import Store
from offerwatch.models.timeline import AssessConfig, assess


@pytest.fixture
def db(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    path = tmp_path / "apps.db"
    with Store.open(path) as s:
        put(s,
            msg("a1", sender="Acme Careers <acme@myworkday.com>", subject="Thank you for applying to Acme - Data Engineer",
                date=at("2026-09-01 10:00"), signals=("application_received",)),
            msg("a2", sender="Jo <jo@acme.io>", subject="Acme – Data Engineer", date=at("2026-09-03 10:00"),
                signals=("interview_request",)),
            msg("a3", out=True, to="Jo <jo@acme.io>", subject="Re: Acme – Data Engineer", irt="a2", date=at("2026-09-03 12:00"),
                salaries=(Salary(150000, 160000, "USD", "year", "$150-160k"),)),
            msg("b1", sender="Bo <bo@beta-co.com>", subject="Beta Co – Analytics Engineer", date=at("2026-09-04 10:00"),
                signals=("interview_request",)))
        assess(s, now=at("2026-09-05 10:00"), config=AssessConfig(timezone="America/Chicago"))
    return path


def run(db: Path, *args: str):
    res = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    return res


def rows(db: Path, sql: str) -> list[dict]:
    with Store.open(db) as s:
        return s.rows(sql)


def test_apps_lists_and_json(db: Path) -> None:
    res = run(db, "apps")
    assert res.exit_code == 0, res.output
    assert "Acme" in res.output and "Beta" in res.output
    res = run(db, "apps", "--json")
    got = [json.loads(line) for line in res.output.splitlines()]
    assert {g["company"] for g in got} == {"Acme", "Beta Co"} and all("stage" in g for g in got)


def test_app_shows_the_timeline_and_salary(db: Path) -> None:
    res = run(db, "app", "1")
    assert res.exit_code == 0, res.output
    assert "Thank you for applying" in res.output and "interview_request" in res.output
    assert "$150-160k" in res.output
    data = json.loads(run(db, "app", "1", "--json").output)
    assert [e["index"] for e in data["timeline"] if e["kind"] == "message"] == [1, 2, 3]
    res = run(db, "app", "99")
    assert res.exit_code != 0 and "offerwatch apps" in res.output


def test_corrections_through_the_cli(db: Path) -> None:
    assert run(db, "apps", "merge", "1", "2").exit_code == 0
    assert [r["id"] for r in rows(db, "SELECT id FROM applications")] == [1]
    res = run(db, "apps", "split", "1", "4", "--company", "Beta Co", "--role", "Analytics Engineer")
    assert res.exit_code == 0, res.output
    new = rows(db, "SELECT * FROM applications WHERE id != 1")[0]
    assert (new["company"], new["role"]) == ("Beta Co", "Analytics Engineer")
    assert run(db, "apps", "rename", "1", "--company", "Acme Corp").exit_code == 0
    assert run(db, "apps", "close", str(new["id"]), "--stage", "rejected").exit_code == 0
    assert rows(db, f"SELECT stage FROM applications WHERE id = {new['id']}")[0]["stage"] == "rejected"
    assert run(db, "apps", "close", str(new["id"]), "--reopen").exit_code == 0
    assert rows(db, f"SELECT closed FROM applications WHERE id = {new['id']}")[0]["closed"] == 0
    res = run(db, "apps", "split", "1", "77")
    assert res.exit_code != 0 and "offerwatch app 1" in res.output
    res = run(db, "apps", "merge", "1", "1")
    assert res.exit_code != 0 and "two different ids" in res.output
    assert [r["kind"] for r in rows(db, "SELECT kind FROM corrections ORDER BY id")] == ["merge", "split", "rename", "close", "reopen"]


def test_apps_lists_active_by_default_and_filters(db: Path) -> None:
    from offerwatch.daemon.apps_cli import STAGE_NAMES
    from offerwatch.models.timeline import STAGES

    assert STAGE_NAMES == STAGES
    with Store.open(db) as s:
        s.db.execute("UPDATE applications SET stage = 'rejected' WHERE company LIKE 'Beta%'")
    default = run(db, "apps", "--json").output
    assert "Acme" in default and "Beta" not in default
    assert "1 closed" in run(db, "apps").output and "--all" in run(db, "apps").output
    assert "Beta" in run(db, "apps", "--all", "--json").output
    only = [json.loads(x) for x in run(db, "apps", "--stage", "rejected", "--json").output.splitlines()]
    assert only and all(r["stage"] == "rejected" for r in only) and all("Beta" in r["company"] for r in only)
    assert run(db, "apps", "--since", "2026-09-04", "--all", "--json").output.count("\n") == 1  # Beta's contact only
    assert run(db, "apps", "--since", "2030-01-01", "--json").output == ""
    bad = run(db, "apps", "--since", "5 Sept")
    assert bad.exit_code == 2 and "--since" in bad.output
    assert run(db, "apps", "--stage", "sleeping").exit_code == 2


def test_notes_are_kept_shown_by_app_and_in_the_digest(db: Path) -> None:
    from helpers_apps import CHI

    from offerwatch.daemon.digest.build import build_digest
    from offerwatch.daemon.digest.render import render_html, render_text

    with Store.open(db) as s:
        acme = int(s.rows("SELECT id FROM applications WHERE company LIKE 'Acme%'")[0]["id"])
    assert run(db, "apps", "note", str(acme), "Recruiter Jo [bold]prefers[/] phone <b>after 4pm</b>").exit_code == 0
    assert "prefers" in run(db, "apps", "note", str(acme)).output
    shown = run(db, "app", str(acme)).output
    assert "your note: Recruiter Jo [bold]prefers[/] phone" in shown  # printed as written, no markup
    with Store.open(db) as s:
        d = build_digest(s, now=at("2026-09-05 12:00"), tz=CHI)
    notes = [a.app.note for a in d.actions] + [g.app.note for g in d.new_signals]
    assert any("prefers" in n for n in notes)
    assert "Your note: Recruiter Jo" in render_text(d)
    assert "&lt;b&gt;after 4pm&lt;/b&gt;" in render_html(d)  # escaped in HTML
    assert run(db, "apps", "note", str(acme), "--clear").exit_code == 0
    assert f"No note on #{acme}" in run(db, "apps", "note", str(acme)).output


def test_note_bad_input_is_a_clear_error_and_changes_nothing(db: Path) -> None:
    missing = run(db, "apps", "note", "999", "hello")
    assert missing.exit_code == 1 and "there is no application #999" in missing.output
    with Store.open(db) as s:
        acme = int(s.rows("SELECT id FROM applications WHERE company LIKE 'Acme%'")[0]["id"])
    for args in (["   "], ["x" * 1001], ["text", "--clear"]):
        res = run(db, "apps", "note", str(acme), *args)
        assert res.exit_code == 2, res.output
    with Store.open(db) as s:
        assert s.rows("SELECT notes FROM applications WHERE id = ?", [acme])[0]["notes"] is None
