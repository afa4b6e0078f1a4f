"""IMAP sync survives every fault a real mailbox throws at it: no loss, no duplicate, no secret leaked.

Each test breaks one thing against the real Dovecot (a killed process, a cut connection,
a restarted server, a recreated folder, a message deleted mid-read, an incomplete FETCH
response, an untrusted certificate, a wrong password) and checks that the database ends up
exactly as a clean run leaves it, or that the user gets one clear error.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dovecot import DovecotServer, DovecotUser
from imapclient import IMAPClient
from tcpproxy import TcpProxy
from test_imap_source import CommandRecorder
from test_imap_sync import (
    ACCOUNT,
    PASSWORD_ENV,
    Cli,
    count_rows,
    load_demo,
    ok,
    snapshot,
    subprocess_cli,
    write_config,
)

from offerwatch.models.store import Store

pytestmark = pytest.mark.integration


def full_snapshot(db: Path) -> dict[str, Any]:
    """:func:`snapshot` plus what ``assess`` derives (without its timestamps)."""
    snap = snapshot(db)
    with Store.open(db) as s:
        snap["derived"] = s.rows(
            "SELECT application_id, type, rule, message_key FROM signals WHERE derived = 1 ORDER BY application_id, type, rule"
        )
        snap["stages"] = s.rows("SELECT id, stage FROM applications ORDER BY id")
    return snap


def without_uids(snap: dict[str, Any]) -> dict[str, Any]:
    """A snapshot with the server's numbering left out: what must survive a UIDVALIDITY change."""
    return {
        "messages": [{k: v for k, v in m.items() if k not in ("uid", "uidvalidity")} for m in snap["messages"]],
        "signals": snap["signals"],
        "applications": snap["applications"],
    }


@pytest.fixture
def user(dovecot_user: DovecotUser) -> DovecotUser:
    return dovecot_user


def make_cli(tmp_path: Path, server: DovecotServer, user: DovecotUser, name: str = "config", **config: Any) -> Cli:
    path = write_config(tmp_path / f"{name}.toml", server, user, db=tmp_path / f"{name}.db", **config)
    return Cli(path, tmp_path / f"{name}.db", user.password, CommandRecorder())


# -- kill -9 of a backfill ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_mailbox(dovecot: DovecotServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[DovecotUser, Path, Path, int]:
    """3 copies of the demo mailbox (108 in INBOX, 39 in Sent) and the database a clean,
    uninterrupted ``offerwatch backfill --account`` makes of it."""
    user = dovecot.create_user()
    counts = load_demo(user, copies=3)
    assert counts == {"INBOX": 108, "Sent": 39}
    directory = tmp_path_factory.mktemp("killed")
    config = write_config(directory / "config.toml", dovecot, user)
    clean = directory / "clean.db"
    res = subprocess_cli(config, clean, "backfill", "--account", ACCOUNT, "--no-progress", password=user.password)
    assert res.returncode == 0, res.stderr
    return user, config, clean, counts["INBOX"] + counts["Sent"]


def _inbox_done(db: Path, inbox: int) -> bool:
    """INBOX is committed to its last UID (so the backfill is in Sent, or past it)."""
    if not db.exists():
        return False
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT last_uid FROM folders WHERE name = 'INBOX'").fetchone()
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()
    return bool(row) and row[0] >= inbox


#: Where the kill lands, as a condition on the crash database (INBOX holds 108 messages).
KILL_POINTS: dict[str, Callable[[Path], bool]] = {
    # the database exists, nothing is committed yet: connected, counting, first batch in flight
    "before the first batch": lambda db: db.exists(),
    # one batch of 50 committed, the next in flight
    "in the middle of INBOX": lambda db: count_rows(db) >= 50,
    # INBOX committed to its end, Sent not yet
    "between INBOX and Sent": lambda db: _inbox_done(db, 108),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_backfill_killed_then_rerun_equals_a_clean_run(
    big_mailbox: tuple[DovecotUser, Path, Path, int], tmp_path: Path, point: str
) -> None:
    user, config, clean_db, total = big_mailbox
    crash_db = tmp_path / "crash.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), "--db", str(crash_db),
         "backfill", "--account", ACCOUNT, "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, PASSWORD_ENV: user.password},
    )
    reached = KILL_POINTS[point]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not reached(crash_db):
        time.sleep(0.005)
    assert proc.poll() is None, f"the backfill ended before the kill point ({point}): the test proves nothing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    partial = count_rows(crash_db)
    assert partial < total, "the kill must land before the end"
    rerun = subprocess_cli(config, crash_db, "backfill", "--account", ACCOUNT, "--no-progress", password=user.password)
    assert rerun.returncode == 0, rerun.stderr
    if partial:
        assert f"{partial} already known" in rerun.stdout or "already known" in rerun.stdout
    clean, crashed = full_snapshot(clean_db), full_snapshot(crash_db)
    assert len(clean["messages"]) == total
    for table in ("messages", "locations", "signals", "folders", "applications", "derived", "stages"):
        assert crashed[table] == clean[table], f"{table} differs after kill -9 {point} and a rerun"


# -- the connection cut, the server restarted ---------------------------------------------------


@pytest.mark.parametrize(
    "how",
    ["plain: cut mid-FETCH of bodies, twice", "plain: cut mid-FETCH of sizes and dates", "tls: reset mid-stream"],
)
def test_connection_cut_mid_fetch_is_retried_without_loss_or_duplicates(
    tmp_path: Path, dovecot: DovecotServer, user: DovecotUser, how: str
) -> None:
    load_demo(user, copies=2)
    clean = make_cli(tmp_path, dovecot, user, "clean")
    ok(clean("sync", "--no-progress"))
    tls = how.startswith("tls")
    target = dovecot.imaps_port if tls else dovecot.imap_port
    with TcpProxy(dovecot.host, target) as proxy:
        # Plaintext on loopback so the proxy can see which command is running; over TLS it
        # can only count bytes (30 KB is past the login and in the first FETCH of bodies).
        extra = "" if tls else "allow_insecure = true\n"
        cut = make_cli(tmp_path, dovecot, user, "cut", port=proxy.port, tls="implicit" if tls else "none", extra=extra)
        if how.startswith("plain: cut mid-FETCH of bodies"):
            proxy.cut_after(20_000, after_request=b"BODY.PEEK[]", times=2)
        elif "sizes and dates" in how:
            proxy.cut_after(2_000, after_request=b"RFC822.SIZE")
        else:
            proxy.cut_after(60_000, reset=True)
        res = ok(cut("-v", "sync", "--no-progress"))
        assert proxy.cuts == (2 if "twice" in how else 1)
        assert proxy.connections == proxy.cuts + 1
    assert "retrying in" in res.stderr and "error" not in res.stdout.lower()
    assert snapshot(cut.db) == snapshot(clean.db)
    cut.recorder.assert_read_only()


def test_server_unreachable_at_the_start_of_a_sync_then_back(
    tmp_path: Path, dovecot: DovecotServer, user: DovecotUser
) -> None:
    """Connection refused at the first connect (laptop just woke up, server restarting): the
    sync backs off and starts once the server answers; `check` says what failed."""
    load_demo(user)
    clean = make_cli(tmp_path, dovecot, user, "clean")
    ok(clean("sync", "--no-progress"))
    with TcpProxy(dovecot.host, dovecot.imaps_port) as proxy:
        run = make_cli(tmp_path, dovecot, user, "late", port=proxy.port)
        proxy.refuse()
        res = run("check")
        assert res.exit_code == 1
        assert "Connection refused" in res.output and f"account '{ACCOUNT}'" in " ".join(res.output.split())
        back = threading.Timer(1.5, proxy.accept)
        back.start()
        try:
            res = ok(run("-v", "sync", "--no-progress"))
        finally:
            back.cancel()
        assert "listing folders: " in res.stderr and "Connection refused; retrying in" in res.stderr
    assert snapshot(run.db) == snapshot(clean.db)


def test_server_stopped_and_restarted_during_a_sync(tmp_path: Path, dovecot: DovecotServer, user: DovecotUser) -> None:
    load_demo(user, copies=2)
    clean = make_cli(tmp_path, dovecot, user, "clean")
    ok(clean("sync", "--no-progress"))
    restarted = threading.Event()
    starter: list[threading.Thread] = []

    class RestartingClient(IMAPClient):
        """Stops the server at the second body FETCH and brings it back 2 s later.

        Dovecot's imap processes outlive a stopped master and keep serving the sessions
        they have; a server that restarts (or crashes) drops them, so they are killed too
        (they are in the process group of the master this session started).
        """

        fetches = 0

        def fetch(self, messages: Any, data: Any, modifiers: Any = None) -> Any:
            if "BODY.PEEK[]" in data:
                RestartingClient.fetches += 1
                if RestartingClient.fetches == 2 and not restarted.is_set():
                    restarted.set()
                    assert dovecot.process is not None
                    group = dovecot.process.pid
                    dovecot.stop()
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(group, signal.SIGKILL)

                    def later() -> None:
                        time.sleep(2.0)
                        dovecot.start()

                    t = threading.Thread(target=later)
                    t.start()
                    starter.append(t)
            return super().fetch(messages, data, modifiers)

    run = make_cli(tmp_path, dovecot, user, "restarted")
    run.client_factory = RestartingClient
    try:
        res = run("-v", "sync", "--no-progress")
    finally:
        for t in starter:
            t.join(timeout=30)
        dovecot.start()  # whatever happened, the session's server runs on
    assert restarted.is_set()
    ok(res)
    assert "retrying in" in res.stderr
    assert snapshot(run.db) == snapshot(clean.db)
    run.recorder.assert_read_only()


# -- the mailbox changes under the reader -------------------------------------------------------


def test_uidvalidity_change_rescans_without_duplicate_messages_or_signals(
    tmp_path: Path, dovecot: DovecotServer, user: DovecotUser
) -> None:
    counts = load_demo(user)
    run = make_cli(tmp_path, dovecot, user)
    ok(run("backfill", "--account", ACCOUNT, "--no-progress"))
    before = snapshot(run.db)
    new_inbox, new_sent = user.recreate_folder("INBOX"), user.recreate_folder("Sent")
    res = ok(run("-v", "sync", "--no-progress"))
    assert "UIDVALIDITY changed" in res.stderr
    assert f"INBOX: {counts['INBOX']} read" in res.output  # rescanned...
    after = snapshot(run.db)
    assert without_uids(after) == without_uids(before)  # ...and nothing doubled
    folders = {f["name"]: f for f in after["folders"]}
    assert (folders["INBOX"]["uidvalidity"], folders["Sent"]["uidvalidity"]) == (new_inbox, new_sent)
    assert folders["INBOX"]["last_uid"] == max(user.uids("INBOX"))
    again = ok(run("sync", "--no-progress"))
    assert "INBOX: 0 read" in again.output and snapshot(run.db) == after


def test_uidvalidity_change_in_the_middle_of_a_sync(tmp_path: Path, dovecot: DovecotServer, user: DovecotUser) -> None:
    """The folder is recreated after its status was read: EXAMINE notices, the engine starts it over."""
    load_demo(user)
    clean = make_cli(tmp_path, dovecot, user, "clean")
    ok(clean("sync", "--no-progress"))
    done = threading.Event()

    class RecreatingClient(IMAPClient):
        def select_folder(self, folder: str, readonly: bool = False) -> Any:
            if folder == "INBOX" and not done.is_set():
                done.set()
                user.recreate_folder("INBOX")
            return super().select_folder(folder, readonly)

    run = make_cli(tmp_path, dovecot, user, "moved")
    run.client_factory = RecreatingClient
    res = ok(run("-v", "sync", "--no-progress"))
    assert done.is_set() and "UIDVALIDITY changed" in res.stderr
    assert without_uids(snapshot(run.db)) == without_uids(snapshot(clean.db))


def test_message_deleted_between_search_and_fetch(
    tmp_path: Path, dovecot: DovecotServer, user: DovecotUser
) -> None:
    load_demo(user)
    uids = user.uids("INBOX")
    victims = [uids[10], uids[-1]]  # one in the middle, and the last (the high-water mark)
    deleted = threading.Event()

    class DeletingClient(IMAPClient):
        def fetch(self, messages: Any, data: Any, modifiers: Any = None) -> Any:
            if self._selected_inbox and not deleted.is_set():  # after SEARCH, before the first FETCH
                deleted.set()
                for uid in victims:
                    user.delete_message("INBOX", uid)
            return super().fetch(messages, data, modifiers)

        def select_folder(self, folder: str, readonly: bool = False) -> Any:
            self._selected_inbox = folder == "INBOX"
            return super().select_folder(folder, readonly)

    run = make_cli(tmp_path, dovecot, user)
    run.client_factory = DeletingClient
    res = ok(run("-v", "sync", "--no-progress"))
    assert deleted.is_set()
    for uid in victims:
        assert f"UID {uid} vanished" in res.stderr
    snap = snapshot(run.db)
    stored = sorted(m["uid"] for m in snap["messages"] if m["folder"] == "INBOX")
    assert stored == [u for u in uids if u not in victims]
    again = ok(run("sync", "--no-progress"))
    assert "INBOX: 0 read" in again.output and "error" not in again.output.lower()
    run.recorder.assert_read_only()


def test_fetch_response_missing_a_requested_item(tmp_path: Path, dovecot: DovecotServer, user: DovecotUser) -> None:
    """A server that leaves out an item it was asked for (a fault Dovecot cannot be made to
    produce, so only this client is faked): the message is logged and skipped, the rest is
    read, and the folder is not stuck."""
    load_demo(user)
    uids = user.uids("INBOX")
    no_body, no_size = uids[3], uids[7]

    class DroppingClient(IMAPClient):
        def fetch(self, messages: Any, data: Any, modifiers: Any = None) -> Any:
            response = super().fetch(messages, data, modifiers)
            if no_body in response:
                response[no_body].pop(b"BODY[]", None)
            if no_size in response:
                response[no_size].pop(b"RFC822.SIZE", None)
            return response

    run = make_cli(tmp_path, dovecot, user)
    run.client_factory = DroppingClient
    res = ok(run("sync", "--no-progress"))
    assert f"UID {no_body} skipped: the server's FETCH response has no BODY[]" in res.stderr
    assert f"UID {no_size} skipped: the server's FETCH response has no RFC822.SIZE" in res.stderr
    snap = snapshot(run.db)
    stored = sorted(m["uid"] for m in snap["messages"] if m["folder"] == "INBOX")
    assert stored == [u for u in uids if u not in (no_body, no_size)]
    assert {f["name"]: f["last_uid"] for f in snap["folders"]}["INBOX"] == uids[-1]
    again = ok(run("sync", "--no-progress"))
    assert "INBOX: 0 read" in again.output


# -- TLS, passwords -----------------------------------------------------------------------------


def test_self_signed_certificate_refused_without_ca_file_accepted_with_it(
    tmp_path: Path, dovecot: DovecotServer, user: DovecotUser
) -> None:
    load_demo(user)
    for tls in ("implicit", "starttls"):
        bare = make_cli(tmp_path, dovecot, user, f"bare-{tls}", ca_file=None, tls=tls)
        res = bare("check")
        assert res.exit_code == 1, res.output
        text = " ".join(res.output.split())  # the console wraps long lines
        assert f"account '{ACCOUNT}'" in text and "the server certificate is not trusted" in text, text
        assert "set ca_file to that CA" in text
        assert "Traceback" not in text
        assert bare.connects == 1  # a certificate problem is not retried
        assert "LOGIN" not in [name for name, _ in bare.recorder.commands()]  # no password sent
        sync = bare("sync", "--no-progress")
        assert sync.exit_code == 1 and "set ca_file to that CA" in " ".join(sync.output.split())
        trusted = make_cli(tmp_path, dovecot, user, f"ca-{tls}", tls=tls)
        res = ok(trusted("check"))
        assert "OK" in res.output and "INBOX (inbox)" in res.output


SECRET = 'Pa55 "quoted" back\\slash-\u00e9t\u00e9'  # quotes, backslash, non-ASCII: every encoding path


def _secret_forms(secret: str, username: str) -> list[bytes]:
    """Every way the secret could end up written: as is, escaped as LOGIN quotes it, in SASL PLAIN."""
    forms = {secret, secret.replace("\\", "\\\\").replace('"', '\\"'), "Pa55 ", "back\\slash", "back\\\\slash"}
    out = [f.encode() for f in forms]
    out.append(base64.b64encode(f"\0{username}\0{secret}".encode()))
    out.append(base64.b64encode(f"{username}\0{username}\0{secret}".encode()))
    out.append(secret.encode("unicode_escape"))
    return out


def test_password_never_in_logs_exceptions_or_database(
    tmp_path: Path, dovecot: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    user = dovecot.create_user(password=SECRET)
    load_demo(user)
    forms = _secret_forms(SECRET, user.name)
    texts: list[str] = []

    # In-process, everything at DEBUG (imapclient's protocol trace too): engine and errors.
    from offerwatch.daemon.config import AccountConfig
    from offerwatch.daemon.imap_cli import account_source
    from offerwatch.daemon.sources.imap import ImapAuthError
    from offerwatch.daemon.sync import SyncEngine
    from offerwatch.extractors.pipeline import Owner

    caplog.set_level(logging.DEBUG)
    for name in ("imapclient", "imaplib", "offerwatch"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    acct = AccountConfig(name=ACCOUNT, host=dovecot.host, port=dovecot.imaps_port, username=user.name,
                         ca_file=str(dovecot.ca_file), password_env=PASSWORD_ENV, timeout_seconds=10)
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSWORD_ENV, SECRET)
    db = tmp_path / "engine.db"
    try:
        with Store.open(db) as store:
            source = account_source(acct)
            report = SyncEngine(store, Owner.of(["sam.okafor@example.net"])).run(source)
            source.close()
        assert report.read > 40 and not report.failed
        for wrong in (SECRET + "x", "x" + SECRET):
            mp.setenv(PASSWORD_ENV, wrong)
            with pytest.raises(ImapAuthError) as info:
                account_source(acct).connect()
            texts += [str(info.value), repr(info.value), repr(info.value.args)]
            texts += [str(e) for e in (info.value.__cause__, info.value.__context__) if e is not None]
    finally:
        mp.undo()
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "LOGIN" in logged or "AUTHENTICATE" in logged, "the protocol trace was not captured"
    texts.append(logged)

    # As a user runs it: -vv / -vvv on stderr, good and wrong password, every command.
    config = write_config(tmp_path / "config.toml", dovecot, user, db=tmp_path / "cli.db")
    cli_db = tmp_path / "cli.db"
    runs = [
        subprocess_cli(config, cli_db, "-vvv", "backfill", "--account", ACCOUNT, "--no-progress", password=SECRET),
        subprocess_cli(config, cli_db, "-vv", "sync", "--no-progress", password=SECRET),
        subprocess_cli(config, cli_db, "-vvv", "check", password=SECRET),
        subprocess_cli(config, cli_db, "-vvv", "check", password=SECRET + "x"),
        subprocess_cli(config, cli_db, "-vv", "sync", "--no-progress", password="x" + SECRET),
    ]
    assert [r.returncode for r in runs] == [0, 0, 0, 1, 1], [r.stderr[-2000:] for r in runs]
    assert "refused" in runs[3].stdout + runs[3].stderr
    assert "AUTHENTICATE" in runs[0].stderr or "LOGIN" in runs[0].stderr, "-vvv shows no protocol trace"
    for r in runs:
        texts += [r.stdout, r.stderr]

    blobs = [t.encode("utf-8", "surrogateescape") for t in texts]
    for path in sorted(tmp_path.iterdir()):  # databases, their WAL/SHM, lock files, config
        if path.is_file():
            blobs.append(path.read_bytes())
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("engine.db*"))
    assert b"Lumenfield" in stored and b"sam.okafor@example.net" in stored  # the grep reads real content
    for blob in blobs:
        for form in forms:
            assert form not in blob, f"a form of the password ({form!r}) was written somewhere"


def test_wrong_password_is_one_clear_error_with_at_most_three_logins(
    tmp_path: Path, dovecot: DovecotServer, user: DovecotUser
) -> None:
    load_demo(user)
    run = make_cli(tmp_path, dovecot, user)
    log_before = dovecot.log_path.read_text(errors="replace")
    for args in (("check",), ("sync", "--no-progress"), ("backfill", "--account", ACCOUNT, "--no-progress")):
        run.recorder.lines.clear()
        res = run(*args, password="not-the-password")
        assert res.exit_code == 1, res.output
        text = " ".join(res.output.split())
        assert f"account '{ACCOUNT}'" in text and f"login as '{user.name}' refused" in text, text
        assert "check the username and the password" in text
        assert f"(secret from {PASSWORD_ENV}" in text or PASSWORD_ENV in text
        assert "Traceback" not in res.output and "not-the-password" not in res.output
        logins = [name for name, _ in run.recorder.commands() if name in ("LOGIN", "AUTHENTICATE")]
        assert 1 <= len(logins) <= 3, logins
    # As the server saw it: one refused login per command (Dovecot's log process writes
    # asynchronously, so give it a moment).
    pattern = re.compile(rf"auth failed, (\d+) attempts? in \d+ secs?\): user=<{re.escape(user.name)}>")
    deadline = time.monotonic() + 5
    while True:
        attempts = [int(n) for n in pattern.findall(dovecot.log_path.read_text(errors="replace")[len(log_before):])]
        if sum(attempts) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert attempts == [1, 1, 1], attempts
    assert not run.db.exists() or count_rows(run.db) == 0
