"""`offerwatch status` shows per-folder sync health, the digest and counts, and exits non-zero
when the last sync of a folder failed (a health check)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from datetime import datetime
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from offerwatch.daemon.cli import cli
from offerwatch.daemon.digest.deliver import record_skipped
from offerwatch.daemon.service import mark_folder_synced
from offerwatch.models.store import Store


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "config.toml"
    db = tmp_path / "ow.db"
    config.write_text(
        f'[storage]\ndatabase = "{db}"\n'
        '[[accounts]]\nname = "personal"\nhost = "imap.example.com"\nusername = "me@example.com"\n'
        '[[accounts]]\nname = "work"\nhost = "imap.example.org"\nusername = "me@example.org"\n'
        '[digest]\ntime = "07:30"\ntimezone = "Europe/Berlin"\nchannel = "file"\n'
    )
    return config, db


def test_healthy_status_exits_0_and_names_never_synced_accounts(tmp_path: Path) -> None:
    config, db = _setup(tmp_path)
    with Store.open(db) as store:
        mark_folder_synced(store, "personal", "INBOX", "2026-11-02T07:00:00+00:00")
        # Today's digest is done, so the next one is tomorrow's at 07:30 whatever the time
        # of day the test runs (after 07:30 with none sent, "next" would be now).
        record_skipped(store, datetime.now(ZoneInfo("Europe/Berlin")).date(), "file")
    res = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert res.exit_code == 0, res.output
    assert "personal / INBOX" in res.output and "ok" in res.output
    assert "never synced" in res.output and "work" in res.output
    assert "service not running" in res.output
    assert "next:" in res.output and "07:30" in res.output


def test_failed_sync_exits_1_and_shows_the_error(tmp_path: Path) -> None:
    config, db = _setup(tmp_path)
    with Store.open(db) as store:
        mark_folder_synced(store, "personal", "INBOX", "2026-11-02T07:00:00+00:00")
        store.record_folder_error("work", "INBOX", "login as 'me@example.org' refused: check the app password")
        store.db.execute("INSERT INTO digests(for_date, channel, status, created_at, sent_at) VALUES "
                         "('2026-11-02', 'file', 'sent', '2026-11-02T06:30:00+00:00', '2026-11-02T06:30:01+00:00')")
    res = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert res.exit_code == 1, res.output
    text = " ".join(res.output.split())
    assert "FAILING work / INBOX" in text and "check the app password" in text
    assert re.search(r"last: Mon 2 Nov( 2026)? sent via file", text)  # the digest's style (issue 11); --json: ISO
    data = json.loads(CliRunner().invoke(cli, ["--config", str(config), "status", "--json"]).output)
    assert data["healthy"] is False
    failing = [f for f in data["folders"] if f["failing"]]
    assert [(f["account"], f["folder"]) for f in failing] == [("work", "INBOX")]
    assert data["digest"]["last"]["status"] == "sent" and data["counts"]["applications"] == 0


def test_a_successful_pass_clears_the_failure(tmp_path: Path) -> None:
    config, db = _setup(tmp_path)
    with Store.open(db) as store:
        store.record_folder_error("personal", "INBOX", "connection refused")
        mark_folder_synced(store, "personal", "INBOX", "2026-11-02T07:10:00+00:00")
    assert CliRunner().invoke(cli, ["--config", str(config), "status"]).exit_code == 0


def test_max_age_fails_when_syncs_are_stale(tmp_path: Path) -> None:
    config, db = _setup(tmp_path)
    with Store.open(db) as store:
        mark_folder_synced(store, "personal", "INBOX", "2020-01-01T00:00:00+00:00")
    res = CliRunner().invoke(cli, ["--config", str(config), "status", "--max-age", "60"])
    assert res.exit_code == 1 and "no successful sync within 60 min" in res.output


def test_no_database_says_what_to_do(tmp_path: Path) -> None:
    config, _ = _setup(tmp_path)
    res = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert res.exit_code == 1 and "offerwatch init" in res.output
