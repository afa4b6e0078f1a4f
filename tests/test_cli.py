"""The command line as a user meets it: options after the command, -q, clear one-line errors, scan's explanations."""

from __future__ import annotations

import dataclasses
import json
import mailbox
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from offerwatch.daemon.cli import cli
from offerwatch.models.store import Store

DEMO = Path(__file__).resolve().parents[1] / "daemon" / "demo_mailbox"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No config file anywhere: the user has not run `offerwatch init`."""
    home = tmp_path / "home"
    home.mkdir()
    for var, sub in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                     ("XDG_STATE_HOME", ".local/state")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.delenv("OFFERWATCH_CONFIG", raising=False)
    monkeypatch.delenv("OFFERWATCH_DB", raising=False)
    return home


def _mbox(path: Path, names: list[str]) -> Path:
    box = mailbox.mbox(str(path))
    for name in names:
        box.add((DEMO / name).read_bytes())
    box.flush()
    box.close()
    return path


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "offerwatch.daemon.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


# -- global options after the command; -q -------------------------------------------------------


def test_db_and_config_work_after_the_command(home: Path, tmp_path: Path) -> None:
    """Regression: `offerwatch demo --db x.db` exited 2 (no such option)."""
    config = tmp_path / "c.toml"
    config.write_text('[identity]\naddresses = ["maya.lindqvist@example.com"]\n', encoding="utf-8")
    box = _mbox(tmp_path / "small.mbox", ["d001.eml", "d002.eml"])
    db = tmp_path / "after.db"
    res = CliRunner().invoke(cli, ["backfill", "--source", str(box), "--db", str(db), "--config", str(config), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert db.exists() and not (home / ".local/share/offerwatch/offerwatch.db").exists()
    res = CliRunner().invoke(cli, ["signals", "--json", "--db", str(db)])
    assert res.exit_code == 0, res.output
    # A group's subcommands take them too, and so does the group itself.
    assert CliRunner().invoke(cli, ["apps", "--db", str(db)]).exit_code == 0
    assert CliRunner().invoke(cli, ["config", "check", "--config", str(config)]).exit_code == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[nonsense]\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["config", "check", "--config", str(bad)])
    assert res.exit_code == 1 and "nonsense: unknown key" in res.output


@pytest.mark.slow
def test_quiet_means_errors_only_and_no_progress_bar(home: Path, tmp_path: Path) -> None:
    box = _mbox(tmp_path / "small.mbox", ["d001.eml", "d002.eml", "d003.eml"])
    env = dict(os.environ)
    loud = _run("-v", "backfill", "--source", str(box), "--db", str(tmp_path / "a.db"), env=env)
    assert loud.returncode == 0, loud.stderr
    assert "reading mail" in loud.stderr and " INFO " in loud.stderr  # what -q must silence
    quiet = _run("-v", "backfill", "--source", str(box), "--db", str(tmp_path / "b.db"), "-q", env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert "3 read" in quiet.stdout  # the result itself is still printed


# -- one-line errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["a file as folder", "proc"])
def test_an_unwritable_database_path_is_a_one_line_error(home: Path, tmp_path: Path, where: str) -> None:
    """Regression: `backfill --db /read-only/x.db` ended in a traceback from the lock file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    db = blocker / "x.db" if where == "a file as folder" else Path("/proc/offerwatch-test/x.db")
    if where == "proc" and not Path("/proc/self").exists():
        pytest.skip("no /proc on this system")
    box = _mbox(tmp_path / "small.mbox", ["d001.eml"])
    for args in (["backfill", "--source", str(box), "--no-progress"], ["signals"], ["apps"], ["demo"]):
        res = CliRunner().invoke(cli, [*args, "--db", str(db)])
        assert res.exit_code == 1, (args, res.output)
        assert isinstance(res.exception, SystemExit), (args, res.exception)
        (line,) = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
        assert f"cannot use {db} as the database" in line and "give --db" in line, line


def test_without_a_config_file_commands_say_create_one(home: Path) -> None:
    """Regression: "no accounts in (defaults)" told a new user nothing."""
    expected = f"no config file at {home / '.config' / 'offerwatch' / 'config.toml'} (create one with `offerwatch init`)"
    for args in (["sync"], ["check"], ["backfill", "--account", "personal"]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 1, res.output
        assert expected in " ".join(res.output.split()), res.output
        assert "(defaults)" not in res.output


def test_signals_for_an_unknown_application_say_so(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    Store.open(db).close()
    res = CliRunner().invoke(cli, ["--db", str(db), "signals", "--app", "999"])
    assert res.exit_code == 1 and "there is no application #999" in res.output


def test_status_counts_open_applications_without_rejected_or_closed_ones(tmp_path: Path) -> None:
    """Regression: "5 applications (5 open)" counted rejected and withdrawn ones as open."""
    from offerwatch.daemon.config import Config
    from offerwatch.daemon.health import collect_status

    with Store.open(tmp_path / "x.db") as store:
        for i, (stage, closed) in enumerate([("interviewing", 0), ("offer", 0), ("rejected", 0), ("withdrawn", 0),
                                             ("screening", 1)], start=1):
            store.db.execute("INSERT INTO applications (id, company, role, stage, closed, created_at, updated_at) "
                             "VALUES (?, ?, '', ?, ?, '2026-01-01', '2026-01-01')", [i, f"C{i}", stage, closed])
        status = collect_status(store, Config(), tmp_path / "x.db", now=datetime.now(timezone.utc))
    assert status["counts"]["applications"] == 5
    assert status["counts"]["open_applications"] == 2


# -- scan --------------------------------------------------------------------------------------------


def test_scan_of_an_mbox_says_what_it_holds_and_which_message_it_read(home: Path, tmp_path: Path) -> None:
    box = _mbox(tmp_path / "three.mbox", ["d001.eml", "d015.eml", "d002.eml"])
    res = CliRunner().invoke(cli, ["scan", str(box)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert f"{box} is an mbox of 3 messages: scanning the first; use --all for every one" in text
    assert text.count("direction in") == 1
    res = CliRunner().invoke(cli, ["scan", str(box), "--all"])
    text = " ".join(res.output.split())
    assert "scanning all of them" in text and "message 3 of 3" in text and text.count("direction in") == 3
    res = CliRunner().invoke(cli, ["scan", "-", "--all", "--json"], input=box.read_bytes())
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)) == 3


def test_scan_explains_in_words_and_hints_at_owner(home: Path) -> None:
    raw = (DEMO / "d015.eml").read_bytes()
    res = CliRunner().invoke(cli, ["scan", "-"], input=raw)
    text = " ".join(res.output.split())
    assert 'job mail — personal mail with job vocabulary ("recruiter", "hiring manager", "other offers")' in text
    assert "|" not in text.split("job mail —")[1].split("sender role")[0]  # no regex source
    assert "give --owner YOUR@ADDRESS" in text
    # The owner known, the hint is gone; the user's own mail reads as theirs.
    res = CliRunner().invoke(cli, ["scan", "-", "--owner", "dana.whitcombe@lumenfield.example"], input=raw)
    assert "direction out" in res.output and "--owner" not in res.output


def test_scan_shows_each_rule_once(home: Path) -> None:
    """A rule that fired on two sentences is one row: its name once, both sentences."""
    from rich.console import Console

    from offerwatch.daemon.report import print_analysis
    from offerwatch.extractors.pipeline import analyze

    a = analyze((DEMO / "d015.eml").read_bytes())
    (sig,) = [s for s in a.signals if s.type == "other_process_inquiry"]
    twice = dataclasses.replace(a, signals=(sig, dataclasses.replace(sig, evidence="Any other offers on the table?")))
    console = Console(record=True, width=200)
    print_analysis(twice, console)
    out = console.export_text()
    assert out.count(sig.label) == 1 and out.count(sig.rule) == 1
    assert "Any other offers on the table?" in out and "interviewing with other companies" in out
