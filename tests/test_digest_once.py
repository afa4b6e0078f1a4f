""""Sent once per day" holds under any overlap: real offerwatch processes (three `digest --send`
at once; `run` sending while a manual `digest --send` runs) against a real aiosmtpd server that
takes its time, and exactly one digest arrives."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_digest_smtp import PASSWORD, PASSWORD_ENV, TO, USER, Recorder, SmtpServer, certs, start_server  # noqa: F401 - certs is a fixture

from digest_data import sample_store
from offerwatch.daemon.lock import DigestLock, LockedError
from offerwatch.models.store import Store

pytestmark = pytest.mark.integration


@dataclass
class SlowRecorder(Recorder):
    """An SMTP server that takes ``delay`` seconds to accept a message: every sender is still
    in the middle of sending when the others start."""

    delay: float = 2.5

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_server(certs) -> Iterator[SmtpServer]:
    server = start_server(certs, "starttls", recorder=SlowRecorder())
    yield server
    server.controller.stop()


def _digest_section(server: SmtpServer) -> str:
    return f"""
[digest]
time = "00:00"
timezone = "UTC"
channel = "smtp"

[digest.smtp]
host = "127.0.0.1"
port = {server.port}
tls = "starttls"
ca_file = "{server.ca_file}"
username = "{USER}"
password_env = "{PASSWORD_ENV}"
to = "{TO}"
from = "offerwatch <{TO}>"
"""


def _start(config: Path, db: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), "--db", str(db), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, PASSWORD_ENV: PASSWORD, **(env or {})})


def _finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        out.append((p.returncode, stdout + stderr))
    return out


def _ledger(db: Path) -> list[dict[str, Any]]:
    with Store.open(db) as s:
        return s.rows("SELECT for_date, status, message_id FROM digests")


def test_three_concurrent_digest_sends_deliver_one_digest(tmp_path: Path, slow_server: SmtpServer) -> None:
    db = tmp_path / "o.db"
    sample_store(db)[0].close()
    config = tmp_path / "config.toml"
    config.write_text(f'[identity]\naddresses = ["{TO}"]\n' + _digest_section(slow_server))
    results = _finish([_start(config, db, "digest", "--send") for _ in range(3)])
    assert all(code == 0 for code, _ in results), results
    assert len(slow_server.recorder.messages) == 1, "one digest a day, whatever overlaps"
    outputs = [text for _, text in results]
    assert sum("sent via smtp" in t for t in outputs) == 1
    assert sum("already sent" in t for t in outputs) == 2
    (row,) = _ledger(db)
    assert row["status"] == "sent" and row["message_id"] == slow_server.recorder.parsed()[0]["Message-ID"]


def test_the_service_sending_while_a_manual_send_runs_delivers_one_digest(tmp_path: Path, slow_server: SmtpServer,
                                                                        dovecot, dovecot_user) -> None:
    """`offerwatch run --once` polls a real (empty) Dovecot account and then sends the day's digest,
    which is due (00:00 UTC has passed), while `digest --send` is sending it too."""
    db = tmp_path / "o.db"
    sample_store(db)[0].close()
    from test_imap_sync import PASSWORD_ENV as IMAP_PASSWORD_ENV
    from test_imap_sync import write_config

    config = write_config(tmp_path / "config.toml", dovecot, dovecot_user, db=db, extra=_digest_section(slow_server))
    manual = _start(config, db, "digest", "--send")
    service = _start(config, db, "run", "--once", env={IMAP_PASSWORD_ENV: dovecot_user.password})
    (manual_code, manual_out), (service_code, service_out) = _finish([manual, service])
    assert manual_code == 0, manual_out
    assert service_code == 0, service_out
    assert len(slow_server.recorder.messages) == 1, (manual_out, service_out)
    assert [r["status"] for r in _ledger(db)] == ["sent"]


def test_a_second_sender_waits_for_the_first_and_gives_up_clearly(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    Store.open(db).close()
    holder = DigestLock(db).acquire()
    try:
        started = time.monotonic()
        with pytest.raises(LockedError, match=rf"PID {os.getpid()}\) is sending the digest of"):
            DigestLock(db).acquire(wait=0.3)
        assert time.monotonic() - started >= 0.3
    finally:
        holder.release()
    DigestLock(db).acquire(wait=0).release()  # free again once released
