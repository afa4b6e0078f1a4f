"""Poll now and IMAP IDLE against a real Dovecot and a real `offerwatch run` subprocess.

* ``offerwatch sync`` while the service holds the database asks it to poll at once (a 0600
  Unix socket beside the database) and prints the service's report; a service that does not
  answer (stopped with SIGSTOP) is a clear error within ``--timeout``; a stale socket file of
  a dead service does not stop a plain sync.
* ``idle = true``: mail appended to INBOX is read within seconds although the timed poll is an
  hour away; IDLE is renewed on schedule and comes back when the server drops the connection.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dovecot import DovecotServer, DovecotUser
from test_daemon_e2e import PASSWORD_ENV, Daemon, demo_message, start_daemon
from offerwatch.daemon.pollnow import socket_path

pytestmark = pytest.mark.integration

OWNER = "sam.okafor@example.net"
HOUR = "3600"  # the timed poll is this far away: only poll-now or IDLE can explain a fast read


def write_config(path: Path, server: DovecotServer, user: DovecotUser, db: Path, *, idle: bool) -> Path:
    path.write_text(f"""
[storage]
database = "{db}"
[identity]
addresses = ["{OWNER}"]
{user.account_toml("live", PASSWORD_ENV, f"idle = {'true' if idle else 'false'}")}
[digest]
timezone = "UTC"
channel = "file"
[digest.file]
path = "{path.parent / 'digest-{date}.html'}"
""")
    path.chmod(0o600)
    return path


def messages(daemon: Daemon) -> int:
    return int(daemon.query("SELECT count(*) FROM messages")[0][0])


def offerwatch(config: Path, password: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, PASSWORD_ENV: password}
    return subprocess.run([sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture
def service(dovecot: DovecotServer, tmp_path: Path) -> Iterator[tuple[Daemon, DovecotUser, Path]]:
    user = dovecot.create_user()
    db = tmp_path / "ow.db"
    config = write_config(tmp_path / "config.toml", dovecot, user, db, idle=False)
    user.append("INBOX", demo_message("d010.eml", "pollnow-first"))
    daemon = start_daemon(tmp_path, config, db, user.password, "--poll-seconds", HOUR)
    daemon.wait_for(lambda: daemon.polls() >= 1, 60, "the first poll")
    yield daemon, user, config
    if daemon.proc.poll() is None:
        os.kill(daemon.proc.pid, signal.SIGCONT)
        daemon.stop()


def test_sync_asks_the_running_service_to_poll_and_prints_its_report(service) -> None:
    daemon, user, config = service
    sock = socket_path(daemon.db)
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert messages(daemon) == 1
    user.append("INBOX", demo_message("d011.eml", "pollnow-second"))
    user.append("INBOX", demo_message("d012.eml", "pollnow-third"))

    done = offerwatch(config, user.password, "sync", "--no-progress")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "the running service polled 1 account(s): 2 new message(s)" in done.stdout
    assert messages(daemon) == 3  # read by the service, within the request, not at the hourly poll
    assert daemon.polls() == 2 and "poll requested by 'offerwatch sync'" in daemon.text()
    # the service polls every account: a narrower request is refused, not silently widened
    narrowed = offerwatch(config, user.password, "sync", "--account", "live")
    assert narrowed.returncode != 0 and "without --account" in narrowed.stderr
    assert daemon.polls() == 2


def test_a_service_that_does_not_answer_is_a_clear_error_within_the_timeout(service) -> None:
    daemon, user, config = service
    os.kill(daemon.proc.pid, signal.SIGSTOP)  # alive, socket open, never answers
    try:
        started = time.monotonic()
        done = offerwatch(config, user.password, "sync", "--timeout", "1")
        took = time.monotonic() - started
    finally:
        os.kill(daemon.proc.pid, signal.SIGCONT)
    assert done.returncode != 0
    assert "did not answer within 1 s" in done.stderr and "Traceback" not in done.stderr
    assert took < 20
    # once it runs again it answers, and the abandoned request left no trace but a log line
    again = offerwatch(config, user.password, "sync")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "the running service polled" in again.stdout
    assert "Traceback" not in daemon.text()


def test_the_socket_goes_with_the_service_and_a_stale_one_does_not_stop_sync(service) -> None:
    daemon, user, config = service
    sock = socket_path(daemon.db)
    code, _ = daemon.stop()
    assert code == 0 and not sock.exists()
    # a service killed hard leaves its socket file; nothing listens on it any more
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock))
    stale.close()
    user.append("INBOX", demo_message("d011.eml", "pollnow-after"))
    done = offerwatch(config, user.password, "sync", "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the running service" not in done.stdout
    assert messages(daemon) == 2


def test_idle_reads_new_mail_within_seconds(dovecot: DovecotServer, tmp_path: Path) -> None:
    user = dovecot.create_user()
    db = tmp_path / "ow.db"
    config = write_config(tmp_path / "config.toml", dovecot, user, db, idle=True)
    daemon = start_daemon(tmp_path, config, db, user.password, "--poll-seconds", HOUR)
    try:
        daemon.wait_for(lambda: daemon.polls() >= 1 and "(IMAP IDLE)" in daemon.text(), 60, "the first poll and IDLE")
        time.sleep(0.5)  # IDLE issued
        appended = time.monotonic()
        user.append("INBOX", demo_message("d010.eml", "idle-first"))
        daemon.wait_for(lambda: messages(daemon) == 1, 20, "the IDLE-triggered poll to store the message")
        assert time.monotonic() - appended < 20
        assert "new mail in INBOX (IMAP IDLE): polling now" in daemon.text()
        # and again: IDLE resumes after the poll it caused
        user.append("INBOX", demo_message("d011.eml", "idle-second"))
        daemon.wait_for(lambda: messages(daemon) == 2, 20, "the second IDLE-triggered poll")
    finally:
        code, took = daemon.stop()
    assert code == 0 and took < 10  # an IDLE connection does not hold up SIGTERM


def test_idle_renews_and_comes_back_after_the_server_drops_it(dovecot: DovecotServer,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    from offerwatch.daemon.config import AccountConfig
    from offerwatch.daemon.idle import IdleWatcher
    from offerwatch.daemon.imap_cli import account_source

    user = dovecot.create_user()
    os.environ[PASSWORD_ENV] = user.password
    acct = AccountConfig(name="live", host="127.0.0.1", username=user.name, port=dovecot.imaps_port,
                         tls="implicit", ca_file=str(dovecot.ca_file), password_env=PASSWORD_ENV,
                         timeout_seconds=5, idle=True)
    caplog.set_level(logging.INFO, logger="offerwatch.daemon.idle")
    woke: list[float] = []
    stop = threading.Event()
    watcher = IdleWatcher(acct, account_source, lambda name: woke.append(time.monotonic()), stop,
                          renew_seconds=0.7, first_backoff=0.3)
    watcher.start()
    try:
        deadline = time.monotonic() + 10
        while watcher.waits < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert watcher.waits >= 3 and not woke  # renewed IDLE, no mail, no false wake-up
        dovecot.doveadm("kick", user.name)  # the server drops the IDLE connection
        user.append("INBOX", demo_message("d010.eml", "idle-restart"))  # while no IDLE listens
        deadline = time.monotonic() + 30
        while not woke and time.monotonic() < deadline:
            time.sleep(0.1)
        # the reconnected watcher polls once for what arrived while it was away
        assert woke
        assert "IMAP IDLE stopped" in caplog.text and "connected again: polling" in caplog.text
    finally:
        stop.set()
        watcher.join(10)
        os.environ.pop(PASSWORD_ENV, None)


def test_idle_must_be_a_boolean(tmp_path: Path) -> None:
    import tomllib

    from offerwatch.daemon.config import ConfigError, parse_config

    data = tomllib.loads(f"""
[[accounts]]
name = "a"
host = "imap.example.com"
username = "{OWNER}"
idle = "yes"
""")
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.idle: expected"):
        parse_config(data, "test")
    data["accounts"][0]["idle"] = True
    assert parse_config(data, "test").accounts[0].idle is True
