"""`offerwatch demo` runs the whole pipeline on the bundled mailbox and prints applications,
signals with evidence and next steps; backfill is idempotent and resumable."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from offerwatch.daemon.cli import cli
from offerwatch.daemon.commands import demo_mailbox
from offerwatch.models.store import Store

REPO = Path(__file__).resolve().parents[1]


def _snapshot(db: Path) -> dict[str, list]:
    """The database's meaningful content, without timestamps of processing."""
    with Store.open(db) as s:
        return {
            "messages": s.rows("SELECT key, account, folder, uid, direction, is_job, application_id FROM messages ORDER BY key"),
            "signals": s.rows("SELECT message_key, type, rule, start, evidence, derived FROM signals ORDER BY message_key, type, rule, start"),
            "applications": s.rows("SELECT id, company, role, stage FROM applications ORDER BY id"),
            "folders": s.rows("SELECT account, name, last_uid, uidvalidity FROM folders"),
        }


def test_demo_prints_applications_signals_and_next_steps(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    res = CliRunner().invoke(cli, ["--db", str(db), "demo"])
    assert res.exit_code == 0, res.output
    labels = [json.loads(line) for line in (demo_mailbox() / "labels.jsonl").read_text().splitlines() if line.strip()]
    assert f"Read {len(labels)} messages" in res.output
    assert "What to do" in res.output
    assert "“" in res.output  # quoted evidence
    with Store.open(db) as s:
        types = {r["type"] for r in s.signals()}
        stages = {r["stage"] for r in s.applications()}
    # Every signal type the sample mailbox labels is found by the pipeline.
    labeled = {t for line in labels for t in line["signals"]}
    assert labeled <= types, f"not detected in the demo: {sorted(labeled - types)}"
    assert {"offer", "rejected"} <= stages


def test_demo_without_db_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    res = CliRunner().invoke(cli, ["demo"])
    assert res.exit_code == 0, res.output
    assert list(tmp_path.iterdir()) == []


def test_backfill_twice_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    runner = CliRunner()
    first = runner.invoke(cli, ["--db", str(db), "backfill", "--source", str(demo_mailbox()), "--no-progress"])
    assert first.exit_code == 0, first.output
    before = _snapshot(db)
    second = runner.invoke(cli, ["--db", str(db), "backfill", "--source", str(demo_mailbox()), "--no-progress"])
    assert second.exit_code == 0, second.output
    assert "already known" in second.output
    assert _snapshot(db) == before


def _big_mbox(path: Path, copies: int) -> int:
    """An mbox of the demo mailbox repeated with fresh Message-IDs: slow enough to kill mid-way."""
    import mailbox
    import re

    box = mailbox.mbox(str(path))
    n = 0
    for i in range(copies):
        for eml in sorted(demo_mailbox().glob("*.eml")):
            data = eml.read_bytes()
            data = re.sub(rb"<([^<>@\s]+)@", lambda m, i=i: b"<c%d." % i + m.group(1) + b"@", data)
            box.add(data)
            n += 1
    box.flush()
    box.close()
    return n


def _no_orphan_workers(parent: int, wait: float = 10.0) -> None:
    """The backfill's worker processes end with it (they read from pipes the dead parent held)."""
    import os

    def children() -> list[str]:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text().split()
                    cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"offerwatch" in cmd or b"multiprocessing" in cmd:
                    found.append(f"{entry} ppid {stat[3]}: {cmd[:80]!r}")
        return [f for f in found if f"ppid {parent}:" in f or ("ppid 1:" in f and "multiprocessing" in f)]

    deadline = time.monotonic() + wait
    while children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert children() == []


@pytest.mark.parametrize("kill_after", [50, 300])
def test_backfill_killed_midway_then_rerun_equals_clean_run(tmp_path: Path, kill_after: int) -> None:
    source = tmp_path / "big.mbox"
    total = _big_mbox(source, 16)
    clean_db, crash_db = tmp_path / "clean.db", tmp_path / "crash.db"
    exe = [sys.executable, "-m", "offerwatch.daemon.cli"]
    cmd = ["backfill", "--source", str(source), "--no-progress"]
    subprocess.run([*exe, "--db", str(clean_db), *cmd], check=True, capture_output=True, timeout=300)
    proc = subprocess.Popen([*exe, "--db", str(crash_db), *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    partial = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if crash_db.exists():
            conn = sqlite3.connect(f"file:{crash_db}?mode=ro", uri=True, timeout=5)
            try:
                partial = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
            except sqlite3.OperationalError:  # schema not created yet
                partial = 0
            finally:
                conn.close()
            if partial >= kill_after:
                break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert kill_after <= partial < total, "the kill must land mid-backfill for this test to mean anything"
    _no_orphan_workers(proc.pid)
    subprocess.run([*exe, "--db", str(crash_db), *cmd], check=True, capture_output=True, timeout=300)
    clean, crashed = _snapshot(clean_db), _snapshot(crash_db)
    assert crashed["messages"] == clean["messages"]
    assert crashed["signals"] == clean["signals"]
    assert crashed["folders"] == clean["folders"]
    assert len(clean["messages"]) == total


def test_second_writer_is_refused(tmp_path: Path) -> None:
    from offerwatch.daemon.lock import DatabaseLock

    db = tmp_path / "o.db"
    with DatabaseLock(db):
        res = CliRunner().invoke(cli, ["--db", str(db), "backfill", "--source", str(demo_mailbox()), "--no-progress"])
    assert res.exit_code == 1
    assert "another offerwatch process" in res.output
