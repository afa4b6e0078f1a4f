"""`offerwatch signals dismiss ID [--undo]`: a wrong signal leaves the digest, outlook and stage,
and stays dismissed when its message is processed again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers_apps import CHI, at, msg, put
from offerwatch.daemon.cli import cli
from offerwatch.daemon.digest.build import build_digest
from offerwatch.models.store import Store
from offerwatch.models.timeline import AssessConfig, assess

NOW = at("2026-09-06 10:00")
CFG = AssessConfig(timezone="America/Chicago")
REJECTION = msg("r1", sender="Jo <jo@acme.io>", subject="Acme – Data Engineer", date=at("2026-09-05 10:00"),
                text="We have decided to move forward with other candidates.", signals=("rejection",))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    path = tmp_path / "dismiss.db"
    with Store.open(path) as s:
        put(s, msg("a1", sender="Jo <jo@acme.io>", subject="Acme – Data Engineer", date=at("2026-09-03 10:00"),
                   signals=("interview_request",)), REJECTION)
        assess(s, now=NOW, config=CFG)
    return path


def run(db: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), *args])


def rejection_id(db: Path) -> int:
    with Store.open(db) as s:
        return int(s.rows("SELECT id FROM signals WHERE type = 'rejection'")[0]["id"])


def stage(db: Path) -> str:
    with Store.open(db) as s:
        return str(s.rows("SELECT stage FROM applications")[0]["stage"])


def digest_types(db: Path) -> set[str]:
    with Store.open(db) as s:
        return {sig.type for app in build_digest(s, now=NOW, tz=CHI).new_signals for sig in app.signals}


def test_dismiss_takes_the_signal_out_of_stage_listing_and_digest_and_undo_brings_it_back(db: Path) -> None:
    sid = rejection_id(db)
    assert stage(db) == "rejected"
    assert "rejection" in digest_types(db)
    res = run(db, "signals", "dismiss", str(sid))
    assert res.exit_code == 0, res.output
    assert f"signal #{sid} (rejection) dismissed" in res.output and "--undo" in res.output
    assert stage(db) != "rejected"
    listed = run(db, "signals", "--json").output
    assert "rejection" not in listed
    assert json.loads(run(db, "signals", "--dismissed", "--json").output.splitlines()[0])["id"] == sid
    assert "rejection" not in digest_types(db)

    assert run(db, "signals", "dismiss", str(sid), "--undo").exit_code == 0
    assert stage(db) == "rejected"
    assert "rejection" in run(db, "signals", "--json").output


def test_a_dismissal_survives_processing_the_message_again(db: Path) -> None:
    sid = rejection_id(db)
    assert run(db, "signals", "dismiss", str(sid)).exit_code == 0
    with Store.open(db) as s:
        put(s, REJECTION)  # the same message read again (a re-sync, `offerwatch reprocess`)
        assess(s, now=NOW, config=CFG)
        rows = s.rows("SELECT dismissed FROM signals WHERE type = 'rejection'")
    assert rows and all(r["dismissed"] == 1 for r in rows)
    assert stage(db) != "rejected"


def test_an_unknown_id_is_a_clear_error_and_changes_nothing(db: Path) -> None:
    res = run(db, "signals", "dismiss", "9999")
    assert res.exit_code == 1
    assert "there is no signal #9999" in res.output and "offerwatch signals" in res.output
    with Store.open(db) as s:
        assert s.rows("SELECT count(*) AS n FROM signals WHERE dismissed = 1")[0]["n"] == 0
        assert s.rows("SELECT count(*) AS n FROM dismissals")[0]["n"] == 0
    assert run(db, "signals", "dismiss", "not-a-number").exit_code == 2


def test_the_listing_shows_ids_and_json_nests_entities(db: Path) -> None:
    table = run(db, "signals").output
    assert str(rejection_id(db)) in table
    with Store.open(db) as s:
        s.db.execute("UPDATE signals SET entities = ? WHERE type = 'rejection'", [json.dumps({"salary": {"min": 1}})])
    row = next(json.loads(x) for x in run(db, "signals", "--json").output.splitlines() if '"rejection"' in x)
    assert row["entities"] == {"salary": {"min": 1}}
