"""A damaged database or a full disk ends every command in one line that says what happened and
what to do (restore, or rebuild with `backfill`; free space), never a traceback; the service
logs it once, not an "internal error" per poll, and resumes by itself when it can write again."""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest_data import sample_store
from offerwatch.daemon.cli import cli
from offerwatch.daemon.config import AccountConfig, Config, DigestConfig
from offerwatch.daemon.service import Service
from offerwatch.models.store import Store, StorageFault, storage_fault

DEMO = Path(__file__).resolve().parents[1] / "daemon" / "demo_mailbox"


def _mail_folder(tmp_path: Path, n: int = 6) -> Path:
    folder = tmp_path / "mail"
    folder.mkdir(exist_ok=True)
    for eml in sorted(DEMO.glob("*.eml"))[:n]:
        shutil.copy(eml, folder / eml.name)
    return folder


def _corrupt(db: Path) -> None:
    """Overwrite every page but the first (the header and the schema) with junk, as a failing
    disk or a half-copied file leaves it."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=DELETE")  # folds the WAL in: the file alone holds the data
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    for offset in range(page, len(data), page):
        data[offset:offset + page] = b"\xa5" * page
    db.write_bytes(bytes(data))


def _said(output: str) -> list[str]:
    """What a command told the user: its output without log lines (another test may have left a
    logger verbose)."""
    log_line = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \w+ [\w.]+: ")
    return [line for line in output.splitlines() if line.strip() and not log_line.match(line)]


def _run(tmp_path: Path, db: Path, *args: str, config: Path | None = None):
    cfg = config or tmp_path / "config.toml"
    if config is None:
        cfg.write_text(f'[digest]\nchannel = "file"\n\n[digest.file]\npath = "{tmp_path}/digests/d-{{date}}.html"\n')
    return CliRunner().invoke(cli, ["--config", str(cfg), "--db", str(db), *args])


COMMANDS = [["apps"], ["app", "1"], ["signals"], ["search", "salary"], ["status"], ["digest"], ["digest", "--send"],
            ["digest", "--out", "{tmp}/d.html"], ["backfill", "--source", "{mail}", "--no-progress"]]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_damaged_database_is_one_line_with_what_to_do(tmp_path: Path, argv: list[str]) -> None:
    db = tmp_path / "o.db"
    sample_store(db)[0].close()
    _corrupt(db)
    mail = _mail_folder(tmp_path)
    out = _run(tmp_path, db, *[a.format(tmp=tmp_path, mail=mail) for a in argv])
    assert out.exit_code == 1, out.output
    assert "Traceback" not in out.output and out.exception is None or isinstance(out.exception, SystemExit)
    lines = _said(out.output)
    assert len(lines) == 1, out.output
    assert f"the database {db} is damaged" in lines[0]
    assert "restore it from a backup" in lines[0] and "offerwatch backfill" in lines[0]


def test_storage_fault_names_the_kind_and_what_to_do() -> None:
    full = storage_fault(sqlite3.OperationalError("database or disk is full"), "/x/o.db")
    assert isinstance(full, StorageFault) and full.kind == "full" and "free some space" in str(full)
    assert storage_fault(OSError(28, "No space left on device", "/x/d.html")).kind == "full"  # type: ignore[union-attr]
    assert storage_fault(sqlite3.OperationalError("no such table: x")) is None
    assert storage_fault(ValueError("x")) is None


# -- a full disk, for real: a small tmpfs -----------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs mounted for the test (needs root, as in the project's CI container)."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or done.returncode}): needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Fill the disk to the last byte with one file; deleting it frees the space again."""
    import os

    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_is_one_line_and_the_backfill_resumes_once_space_is_freed(tmp_path: Path, small_disk: Path) -> None:
    db = small_disk / "o.db"
    Store.open(db).close()
    filler = _fill(small_disk)
    mail = _mail_folder(tmp_path, 12)
    out = _run(tmp_path, db, "backfill", "--source", str(mail), "--no-progress")
    assert out.exit_code == 1, out.output
    lines = _said(out.output)
    assert len(lines) == 1 and f"the disk holding the database {db} is full" in lines[0], out.output
    assert "free some space" in lines[0]
    filler.unlink()
    again = _run(tmp_path, db, "backfill", "--source", str(mail), "--no-progress")
    assert again.exit_code == 0, again.output
    with Store.open(db) as s:
        assert s.counts()["messages"] == 12


def test_a_digest_to_a_full_disk_is_one_line(tmp_path: Path, small_disk: Path) -> None:
    db = tmp_path / "o.db"
    sample_store(db)[0].close()
    _fill(small_disk)
    out = _run(tmp_path, db, "digest", "--out", str(small_disk / "d.html"))
    assert out.exit_code == 1 and "No space left on device" in out.output and "free some space" in out.output
    assert len(_said(out.output)) == 1


# -- the service ----------------------------------------------------------------------------------

def mail_source(acct: AccountConfig, folder: Path):
    """The test's folder of .eml files as an account's source."""
    from offerwatch.daemon.sources.local import open_local_source

    source = open_local_source(folder)
    source.account = acct.name
    return source


def test_the_service_logs_a_full_database_once_and_resumes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    mail = _mail_folder(tmp_path, 10)
    store = Store.open(tmp_path / "o.db")
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")  # a real SQLITE_FULL: the file may not grow
    config = Config(accounts=(AccountConfig(name="mail", host="localhost", username="me"),),
                    digest=DigestConfig(channel="file"))
    service = Service(config, store, source_factory=lambda acct: mail_source(acct, mail))
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            service.sync_job()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "is full" in errors[0].getMessage() and "free some space" in errors[0].getMessage()
    assert not any(r.exc_info for r in caplog.records), "no traceback"
    assert not any("internal error" in r.getMessage() for r in caplog.records)
    assert service.state["storage_fault"]

    caplog.clear()
    store.db.execute("PRAGMA max_page_count = 1073741823")  # the user freed space
    with caplog.at_level(logging.INFO):
        service.sync_job()
    assert any("works again" in r.getMessage() for r in caplog.records)
    assert store.counts()["messages"] == 10
    assert service.state["storage_fault"] is None
    store.close()
