"""`offerwatch check|sync|backfill --account` read a real Dovecot into the database, read-only and incrementally.

These are the command-level tests: a generated config with ``password_env``, the demo
mailbox (and fresh copies of it) loaded into a fresh Dovecot user, the commands run
in-process through click's CliRunner (a recorder sees every IMAP line sent) or as
subprocesses where a real process is the point (the writer lock).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from dovecot import DovecotServer, DovecotUser
from imapclient import IMAPClient
from test_imap_source import CommandRecorder

from offerwatch.daemon.cli import cli
from offerwatch.daemon.commands import demo_mailbox
from offerwatch.daemon.health import lock_holder
from offerwatch.models.store import Store

pytestmark = pytest.mark.integration

ACCOUNT = "work-mail"
OWNER = "sam.okafor@example.net"
PASSWORD_ENV = "OFFERWATCH_TEST_IMAP_PASSWORD"
REPO = Path(__file__).resolve().parents[1]

# -- mail -------------------------------------------------------------------------------------

_ID_HEADERS = re.compile(rb"^(message-id|in-reply-to|references):", re.IGNORECASE)
_MSGID = re.compile(rb"<([^<>@\s]+)@")


def fresh_ids(data: bytes, tag: str) -> bytes:
    """``data`` with every id in Message-ID, In-Reply-To and References prefixed by ``tag``,
    so a copy of a thread is a new thread (addresses elsewhere are left alone)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    out, rewriting = [], False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            pass  # a folded continuation keeps the state of its header
        else:
            rewriting = bool(_ID_HEADERS.match(line))
        if rewriting:
            line = _MSGID.sub(lambda m: b"<" + tag.encode() + b"." + m.group(1) + b"@", line)
        out.append(line)
    return b"\r\n".join(out) + sep + body


@dataclass(frozen=True)
class DemoMail:
    name: str
    data: bytes
    outgoing: bool
    date: Any


def demo_messages(copies: int = 1) -> list[DemoMail]:
    """The demo mailbox, ``copies`` times (copy 0 as is, later ones with fresh ids)."""
    out = []
    for i in range(copies):
        for eml in sorted(demo_mailbox().glob("*.eml")):
            data = eml.read_bytes()
            if i:
                data = fresh_ids(data, f"c{i}")
            headers = BytesHeaderParser().parsebytes(data)
            outgoing = OWNER in (headers.get("From") or "").lower()
            out.append(DemoMail(f"{eml.stem}.{i}", data, outgoing, parsedate_to_datetime(headers["Date"])))
    return out


def load_demo(user: DovecotUser, copies: int = 1) -> dict[str, int]:
    """APPEND the demo mail into INBOX (incoming) and Sent (outgoing) over one connection,
    INTERNALDATE set from the Date header. Returns ``{folder: count}``."""
    counts = {"INBOX": 0, "Sent": 0}
    with user.client() as c:
        for m in demo_messages(copies):
            folder = "Sent" if m.outgoing else "INBOX"
            flags = (b"\\Seen",) if m.outgoing else ()
            c.append(folder, m.data, flags=flags, msg_time=m.date)
            counts[folder] += 1
    return counts


# -- config and commands -----------------------------------------------------------------------


def write_config(path: Path, server: DovecotServer, user: DovecotUser, *, port: int | None = None,
                 ca_file: Path | None | bool = True, tls: str = "implicit", folders: Sequence[str] = (),
                 db: Path | None = None, extra: str = "") -> Path:
    """A config for one account on the test server, the password from ``PASSWORD_ENV``."""
    ca = server.ca_file if ca_file is True else (ca_file or "")
    folder_list = ", ".join(f'"{f}"' for f in folders)
    path.write_text(
        f"""[storage]
database = "{db or path.with_suffix('.db')}"

[identity]
addresses = ["{OWNER}"]

[[accounts]]
name = "{ACCOUNT}"
host = "{server.host}"
port = {port or (server.imaps_port if tls == 'implicit' else server.imap_port)}
tls = "{tls}"
ca_file = "{ca}"
username = "{user.name}"
password_env = "{PASSWORD_ENV}"
folders = [{folder_list}]
timeout_seconds = 10
{extra}"""
    )
    return path


@contextmanager
def _logging_restored() -> Iterator[None]:
    """The CLI replaces the root logger's handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    filters = {name: (lg.level, lg.filters[:]) for name, lg in logging.Logger.manager.loggerDict.items()
               if isinstance(lg, logging.Logger)}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, (lvl, flt) in filters.items():
            lg = logging.getLogger(name)
            lg.setLevel(lvl)
            lg.filters[:] = flt


@dataclass
class Cli:
    """Runs ``offerwatch --config C --db D ...`` in-process; every IMAP client it makes
    is recorded (``recorder``) and may be built by ``client_factory`` instead."""

    config: Path
    db: Path
    password: str
    recorder: CommandRecorder
    client_factory: Callable[..., Any] | None = None
    connects: int = 0

    def __call__(self, *args: str, password: str | None = None, verbose: int = 0) -> Result:
        from offerwatch.daemon import imap_cli

        original = imap_cli.account_source
        recorder, factory = self.recorder, self.client_factory or IMAPClient

        def connect(*a: Any, **k: Any) -> Any:
            self.connects += 1  # attempts, including those that fail in the TLS handshake
            client = factory(*a, **k)
            _record_into(recorder, client)
            return client

        def recorded(acct: Any, **kw: Any) -> Any:
            source = original(acct, **kw)
            source._client_factory = connect
            return source

        argv = ["--config", str(self.config), "--db", str(self.db)] + (["-" + "v" * verbose] if verbose else []) + list(args)
        imap_cli.account_source = recorded
        try:
            with _logging_restored():
                return CliRunner().invoke(cli, argv, env={PASSWORD_ENV: password if password is not None else self.password})
        finally:
            imap_cli.account_source = original


def _record_into(recorder: CommandRecorder, client: Any) -> None:
    recorder.clients += 1
    imap = client._imap
    original_send = imap.send

    def send(data: bytes) -> None:
        recorder.lines.append(bytes(data))
        original_send(data)

    imap.send = send


def subprocess_cli(config: Path, db: Path, *args: str, password: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, PASSWORD_ENV: password}
    return subprocess.run([sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), "--db", str(db), *args],
                          capture_output=True, text=True, env=env, timeout=120, **kw)


def snapshot(db: Path) -> dict[str, list[dict[str, Any]]]:
    """What a run leaves in the database, without processing timestamps or row ids that
    depend only on insertion order."""
    with Store.open(db) as s:
        return {
            "messages": s.rows(
                "SELECT key, message_id, account, folder, uidvalidity, uid, direction, date, is_job, job_reason, "
                "content_hash, subject, text, application_id FROM messages ORDER BY key"
            ),
            "locations": s.rows("SELECT identity, message_key FROM locations ORDER BY identity"),
            "signals": s.rows(
                'SELECT message_key, application_id, type, polarity, rule, start, "end", evidence, entities, derived, at '
                "FROM signals WHERE derived = 0 ORDER BY message_key, type, rule, start"
            ),
            "folders": s.rows("SELECT account, name, uidvalidity, last_uid, last_error FROM folders ORDER BY account, name"),
            "applications": s.rows("SELECT id, company, role FROM applications ORDER BY id"),
        }


def count_rows(db: Path, table: str = "messages") -> int:
    """Rows in ``table`` as another process sees them (read-only, never blocks the writer)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # schema not there yet
        return 0
    finally:
        conn.close()


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def user(dovecot_user: DovecotUser) -> DovecotUser:
    return dovecot_user


@pytest.fixture
def recorder() -> CommandRecorder:
    return CommandRecorder()


@pytest.fixture
def run(tmp_path: Path, dovecot: DovecotServer, user: DovecotUser, recorder: CommandRecorder) -> Cli:
    config = write_config(tmp_path / "config.toml", dovecot, user)
    return Cli(config, tmp_path / "offerwatch.db", user.password, recorder)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}:\n{result.output}\n{result.exception!r}"
    return result


# -- tests ------------------------------------------------------------------------------------


def test_backfill_reads_inbox_and_sent_with_signals(run: Cli, user: DovecotUser) -> None:
    counts = load_demo(user)
    res = ok(run("backfill", "--account", ACCOUNT, "--no-progress"))
    assert f"{ACCOUNT} INBOX: {counts['INBOX']} read" in res.output
    assert f"{ACCOUNT} Sent: {counts['Sent']} read" in res.output
    snap = snapshot(run.db)
    assert len(snap["messages"]) == counts["INBOX"] + counts["Sent"]
    assert {m["direction"] for m in snap["messages"] if m["folder"] == "Sent"} == {"out"}
    types = {s["type"] for s in snap["signals"]}
    assert {"offer", "rejection", "salary_reconfirm", "other_process_inquiry"} <= types
    folders = {f["name"]: f for f in snap["folders"]}
    assert folders["INBOX"]["last_uid"] == counts["INBOX"] and folders["INBOX"]["uidvalidity"] == user.uidvalidity("INBOX")
    assert folders["Sent"]["last_uid"] == counts["Sent"]


def test_backfill_twice_is_idempotent_and_sync_reads_only_new_mail(run: Cli, user: DovecotUser) -> None:
    load_demo(user)
    ok(run("backfill", "--account", ACCOUNT, "--no-progress"))
    before = snapshot(run.db)
    again = ok(run("backfill", "--account", ACCOUNT, "--no-progress"))
    assert "already known" in again.output
    assert snapshot(run.db) == before
    nothing = ok(run("sync", "--no-progress"))
    assert f"{ACCOUNT} INBOX: 0 read" in nothing.output
    assert snapshot(run.db) == before
    new = demo_messages(2)[len(demo_messages()) + 41]  # copy of d042 (an offer) with fresh ids
    uid = user.append("INBOX", new.data, date=new.date)
    res = ok(run("sync", "--no-progress"))
    assert f"{ACCOUNT} INBOX: 1 read" in res.output and f"{ACCOUNT} Sent: 0 read" in res.output
    after = snapshot(run.db)
    assert len(after["messages"]) == len(before["messages"]) + 1
    added = [m for m in after["messages"] if m not in before["messages"]]
    assert [(m["folder"], m["uid"], m["is_job"]) for m in added] == [("INBOX", uid, 1)]
    assert any(s["type"] == "offer" and s["message_key"] == added[0]["key"] for s in after["signals"])


def test_backfill_since_until_and_folder_select_what_is_read(run: Cli, user: DovecotUser) -> None:
    load_demo(user)
    demo = demo_messages()
    want = [m for m in demo if not m.outgoing and "2026-10-01" <= m.date.date().isoformat() < "2026-10-15"]
    assert 3 <= len(want) < len(demo)
    res = ok(run("backfill", "--account", ACCOUNT, "--since", "2026-10-01", "--until", "2026-10-15",
                 "--folder", "INBOX", "--no-progress"))
    assert "Sent" not in res.output
    snap = snapshot(run.db)
    assert {m["folder"] for m in snap["messages"]} == {"INBOX"}
    assert len(snap["messages"]) == len(want)


def test_incremental_sync_with_nothing_new_sends_no_fetch(run: Cli, user: DovecotUser) -> None:
    load_demo(user)
    ok(run("backfill", "--account", ACCOUNT, "--no-progress"))
    run.recorder.lines.clear()
    ok(run("sync", "--no-progress"))
    commands = run.recorder.commands()
    names = [name for name, _ in commands]
    assert names.count("STATUS") == 2, commands  # UIDVALIDITY and UIDNEXT of INBOX and Sent...
    assert "FETCH" not in names, commands
    assert "SEARCH" not in names and "EXAMINE" not in names, commands  # ...say there is nothing new
    # One new message: the folder is opened, searched from the last UID, and only it is fetched.
    uid = user.append("INBOX", demo_messages(2)[60].data)
    run.recorder.lines.clear()
    ok(run("sync", "--no-progress"))
    commands = run.recorder.commands()
    assert [rest for name, rest in commands if name == "SEARCH"] == [f"UID {uid}:*"] or any(
        name == "SEARCH" and f"{uid}:*" in rest for name, rest in commands), commands
    fetched = [rest for name, rest in commands if name == "FETCH"]
    assert fetched and all(rest.startswith(f"{uid} ") for rest in fetched), fetched
    assert [name for name, _ in commands].count("EXAMINE") >= 1


def test_commands_change_no_flag_and_send_only_read_only_commands(run: Cli, user: DovecotUser) -> None:
    load_demo(user)
    with user.client() as c:  # a mix of flags to keep: unread, read, flagged+answered
        c.select_folder("INBOX")
        c.add_flags([2, 3], [b"\\Seen"], silent=True)
        c.add_flags([5], [b"\\Flagged", b"\\Answered"], silent=True)
        c.close_folder()
    before = {f: user.flags(f) for f in ("INBOX", "Sent")}
    ok(run("check"))
    assert {f: user.flags(f) for f in ("INBOX", "Sent")} == before
    ok(run("backfill", "--account", ACCOUNT, "--no-progress"))
    assert {f: user.flags(f) for f in ("INBOX", "Sent")} == before
    user.append("INBOX", demo_messages(2)[50].data)
    before = {f: user.flags(f) for f in ("INBOX", "Sent")}
    ok(run("sync", "--no-progress"))
    assert {f: user.flags(f) for f in ("INBOX", "Sent")} == before
    assert before["INBOX"][1] == () and b"\\Seen" not in before["INBOX"][max(before["INBOX"])]
    run.recorder.assert_read_only()
    fetched = " ".join(rest for name, rest in run.recorder.commands() if name == "FETCH")
    assert "BODY.PEEK[]" in fetched  # the bodies really were read, through PEEK


def test_check_shows_capabilities_folders_and_counts(run: Cli, user: DovecotUser) -> None:
    counts = load_demo(user)
    res = ok(run("check"))
    assert "IMAP4REV1" in res.output and "OK" in res.output
    assert f"INBOX (inbox): {counts['INBOX']} messages" in res.output
    assert f"Sent (sent): {counts['Sent']} messages" in res.output
    assert not run.db.exists() or count_rows(run.db) == 0  # check writes nothing


def test_a_second_backfill_while_one_runs_gets_a_clear_message(
    tmp_path: Path, dovecot: DovecotServer, user: DovecotUser
) -> None:
    load_demo(user, copies=10)
    config = write_config(tmp_path / "config.toml", dovecot, user)
    db = tmp_path / "o.db"
    env = {**os.environ, PASSWORD_ENV: user.password}
    first = subprocess.Popen(
        [sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), "--db", str(db),
         "backfill", "--account", ACCOUNT, "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    try:
        # Freeze the first as soon as it holds the lock: with the pool a backfill of this mailbox
        # can finish between two commands (waiting for its first rows was already too late on CI),
        # and then the test would prove nothing.
        deadline = time.monotonic() + 60
        while lock_holder(db) != first.pid and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGSTOP)
        assert first.poll() is None, "the first backfill ended before the second could start"
        assert lock_holder(db) == first.pid, "the first backfill released its lock before it was frozen"
        second = subprocess_cli(config, db, "backfill", "--account", ACCOUNT, "--no-progress", password=user.password)
        assert first.poll() is None, "the first backfill ended while the second ran: the test proves nothing"
        assert second.returncode == 1
        assert f"another offerwatch process (PID {first.pid})" in second.stderr
        assert "wait for it to finish" in second.stderr
        assert "Traceback" not in second.stderr
        third = subprocess_cli(config, db, "sync", "--no-progress", password=user.password)
        assert first.poll() is None, "the first backfill ended while the third ran: the test proves nothing"
        assert third.returncode == 1 and "another offerwatch process" in third.stderr
    finally:
        first.kill()  # a stopped process dies of SIGKILL too; its data is not the point here (the
        # kill tests are in test_imap_faults)
        first.wait(timeout=30)
    after = subprocess_cli(config, db, "sync", "--no-progress", password=user.password)
    assert after.returncode == 0, after.stderr  # a dead holder leaves no stale lock behind
