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
