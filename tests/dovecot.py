"""A real Dovecot IMAP server on loopback for integration tests (pytest plugin).

Why a real server: the IMAP source's promises (EXAMINE only, BODY.PEEK only, UIDVALIDITY,
``UID n:*`` semantics, TLS verification, login errors) are properties of a conversation
with a server; a fake would only echo our own assumptions back at us.

The server is started once per test session from a config generated into a directory
under ``/tmp`` (never ``/etc/dovecot``, never systemd):

* ``127.0.0.1`` on two free high ports, plain IMAP and IMAPS, with a throw-away CA and a
  server certificate made by ``openssl`` (``server.ca_file`` lets a client trust it);
* passwd-file users (one file each, so a new user works at once), maildir storage,
  a ``Sent`` folder with SPECIAL-USE ``\\Sent``; no auth penalty or failure delay, so
  tests of wrong passwords do not slow down the tests after them;
* run as root it drops to unprivileged users (``dovenull``/``dovecot`` for its own
  processes, ``nobody`` for mail), so its directories are made reachable by them;
* started in the foreground (``-F``) in its own session with stdio detached, so no
  inherited pipe keeps pytest waiting, and stopped (SIGTERM, then SIGKILL) and reaped on
  teardown so no zombie master lingers.

Tests get isolation by creating a fresh user each (cheap), not a fresh server::

    def test_x(dovecot):
        user = dovecot.create_user()
        uid = user.append("INBOX", b"Subject: hi\\r\\n\\r\\nbody\\r\\n")

When ``dovecot`` is not installed the fixture skips with the reason locally and fails
with the same message in CI (``CI`` set to a true value), where it must run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import itertools
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from imapclient import IMAPClient

logger = logging.getLogger(__name__)

#: How long the server may take to accept its first successful LOGIN.
START_TIMEOUT = 20.0

_user_counter = itertools.count(1)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def _free_port() -> int:
    """A currently unused TCP port on 127.0.0.1 (racy by nature, good enough on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: Sequence[str], cwd: Path | None = None) -> None:
    """Run a helper command (openssl, doveadm), raising with its output when it fails."""
    proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """Create a CA and a server certificate for 127.0.0.1/localhost signed by it.

    Returns ``(ca_cert, server_cert, server_key)``. A CA rather than one self-signed
    certificate because that is what a client's ``ca_file`` option is for.
    """
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "server.ext"
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
          "-out", str(ca_crt), "-days", "2", "-subj", "/CN=offerwatch test CA",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
          "-out", str(csr), "-subj", "/CN=localhost"])
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    )
    _run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
          "-CAcreateserial", "-out", str(crt), "-days", "2", "-extfile", str(ext)])
    return ca_crt, crt, key


@dataclass
class DovecotUser:
    """A mailbox on the test server, with helpers that act as *another* mail client.

    These helpers write (APPEND, STORE, EXPUNGE...) on their own connection; the code
    under test is never given it.
    """

    server: DovecotServer
    name: str
    password: str

    def account_toml(self, name: str, password_env: str, extra: str = "") -> str:
        """An ``[[accounts]]`` table of offerwatch's config that reads this user's INBOX over
        IMAPS, trusting the test CA, the password from ``password_env``; ``extra`` adds lines."""
        return (f'[[accounts]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {self.server.imaps_port}\n'
                f'tls = "implicit"\nca_file = "{self.server.ca_file}"\nusername = "{self.name}"\n'
                f'password_env = "{password_env}"\nfolders = ["INBOX"]\ntimeout_seconds = 5\n{extra}')

    @contextlib.contextmanager
    def client(self, tls: bool = False) -> Iterator[IMAPClient]:
        """A logged-in IMAPClient for this user (plain port unless ``tls``)."""
        with self.server.client(self.name, self.password, tls=tls) as c:
            yield c

    def append(
        self,
        folder: str,
        message: bytes,
        flags: Sequence[str | bytes] = (),
        date: dt.datetime | None = None,
    ) -> int:
        """APPEND a message and return its UID (from the UIDPLUS ``APPENDUID`` reply)."""
        with self.client() as c:
            return _appenduid(c.append(folder, message, flags=tuple(flags), msg_time=date))

    def append_many(
        self, folder: str, messages: Sequence[bytes], date: dt.datetime | None = None
    ) -> list[int]:
        """APPEND several messages over one connection (faster for bulk set-up)."""
        with self.client() as c:
            return [_appenduid(c.append(folder, m, msg_time=date)) for m in messages]

    def create_folder(self, folder: str) -> None:
        with self.client() as c:
            c.create_folder(folder)

    def uidvalidity(self, folder: str) -> int:
        with self.client() as c:
            return int(c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def uids(self, folder: str) -> list[int]:
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            return sorted(c.search("ALL"))

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        """Flags of every message in ``folder`` by UID (read with EXAMINE, changes nothing)."""
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            uids = c.search("ALL")
            return {uid: tuple(sorted(flags)) for uid, flags in c.get_flags(uids).items()} if uids else {}

    def delete_message(self, folder: str, uid: int) -> None:
        """Flag ``uid`` \\Deleted and expunge it, as another client deleting mail would."""
        with self.client() as c:
            c.select_folder(folder)
            c.add_flags([uid], [b"\\Deleted"], silent=True)
            c.uid_expunge([uid])

    def recreate_folder(self, folder: str) -> int:
        """Give ``folder`` a new UIDVALIDITY while keeping its messages; return the new value.

        Simulates a server that rebuilt or a user who deleted and restored the folder: the
        same mail comes back under new UIDs. INBOX cannot be deleted, so it is emptied and
        its UIDVALIDITY set with ``doveadm mailbox update``; other folders are really
        deleted and created again.
        """
        with self.client() as c:
            old = int(c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
            c.select_folder(folder)
            uids = c.search("ALL")
            saved = c.fetch(uids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"]) if uids else {}
            if folder.upper() == "INBOX":
                if uids:
                    c.add_flags(uids, [b"\\Deleted"], silent=True)
                    c.uid_expunge(uids)
                c.close_folder()
            else:
                c.close_folder()
                c.delete_folder(folder)
                c.create_folder(folder)
        if folder.upper() == "INBOX" or self.uidvalidity(folder) == old:
            self.server.doveadm("mailbox", "update", "-u", self.name, "--uid-validity", str(old + 1), folder)
        with self.client() as c:
            for uid in sorted(saved):
                d = saved[uid]
                flags = tuple(f for f in d[b"FLAGS"] if f != b"\\Recent")
                c.append(folder, d[b"BODY[]"], flags=flags, msg_time=d[b"INTERNALDATE"])
            new = int(c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
        assert new != old, "UIDVALIDITY did not change"
        return new


def _appenduid(response: bytes | str) -> int:
    text = response.decode() if isinstance(response, bytes) else response
    m = re.search(r"APPENDUID \d+ (\d+)", text)
    if not m:
        raise RuntimeError(f"server gave no APPENDUID: {text!r}")
    return int(m.group(1))


@dataclass
class DovecotServer:
    """A running Dovecot and everything a test needs to reach it."""

    root: Path
    host: str = "127.0.0.1"
    imap_port: int = 0
    imaps_port: int = 0
    ca_file: Path = Path()
    config: Path = Path()
    log_path: Path = Path()
    mail_uid: int = 0
    mail_gid: int = 0
    process: subprocess.Popen[bytes] | None = None
    users: dict[str, DovecotUser] = field(default_factory=dict)

    # -- life cycle -------------------------------------------------------------------

    @classmethod
    def create(cls) -> DovecotServer:
        """Generate certificates, users file and config in a fresh directory (not started)."""
        root = Path(tempfile.mkdtemp(prefix="offerwatch-dovecot-", dir="/tmp"))
        # Dovecot's unprivileged processes must traverse it: mkdtemp makes it 0700.
        root.chmod(0o755)
        server = cls(root=root, imap_port=_free_port(), imaps_port=_free_port())
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            server.mail_uid, server.mail_gid = nobody.pw_uid, nobody.pw_gid
        else:
            server.mail_uid, server.mail_gid = os.getuid(), os.getgid()
        (root / "ssl").mkdir()
        server.ca_file, crt, key = make_certificates(root / "ssl")
        (root / "home").mkdir()
        # One passwd-file per user: Dovecot re-reads a changed file at most once a
        # second, but opens a file it has not seen yet at once.
        (root / "users").mkdir()
        server.log_path = root / "dovecot.log"
        server.config = root / "dovecot.conf"
        server.config.write_text(server._config_text(crt, key))
        return server

    def _config_text(self, crt: Path, key: Path) -> str:
        root = self.root
        if os.geteuid() == 0:
            service_users = "default_login_user = dovenull\ndefault_internal_user = dovecot\n"
            chroot = ""
        else:
            me = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            service_users = (
                f"default_login_user = {me}\ndefault_internal_user = {me}\ndefault_internal_group = {group}\n"
            )
            # chroot needs root; run everything in place.
            chroot = "service imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n"
        dh = Path("/usr/share/dovecot/dh.pem")
        ssl_dh = f"ssl_dh = <{dh}\n" if dh.exists() else ""
        return f"""# generated by tests/dovecot.py for one test session
instance_name = offerwatch-test-{root.name}
base_dir = {root}/run
state_dir = {root}/state
protocols = imap
listen = 127.0.0.1
log_path = {self.log_path}
info_log_path = {self.log_path}
{service_users}first_valid_uid = 1
first_valid_gid = 1
ssl = yes
ssl_cert = <{crt}
ssl_key = <{key}
{ssl_dh}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 200
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
# No auth penalty: after the tests' deliberate wrong passwords anvil would delay every
# later login from 127.0.0.1 by up to 15 s. The auth process disables the penalty when
# it cannot connect to this socket, which mode 0 ensures for its unprivileged user.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{chroot}"""

    def start(self) -> None:
        """Start the master in the foreground and wait until a real LOGIN succeeds."""
        if self.process is not None and self.process.poll() is None:
            return
        if not self.users:
            self.create_user("probe", "probe-password")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [_dovecot_binary(), "-F", "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        probe = next(iter(self.users.values()))
        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with self.client(probe.name, probe.password, timeout=2):
                    return
            except (OSError, IMAPClient.Error) as exc:  # not up yet: port closed or auth not ready
                last = exc
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not accept a login within {START_TIMEOUT}s ({last}):\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM the master (its children follow), SIGKILL the group if it hangs, reap it."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            logger.warning("dovecot did not stop on SIGTERM; killing its process group %d", proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        # Children (imap, auth...) exit on their own once the master is gone; wait for the
        # listeners to close so a restart on the same ports does not race them.
        for port in (self.imap_port, self.imaps_port):
            _wait_port_closed(self.host, port, 10.0)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    # -- users and access -------------------------------------------------------------

    def create_user(self, name: str | None = None, password: str | None = None) -> DovecotUser:
        """Add a user (its own passwd-file, seen by Dovecot at once: no reload needed)."""
        name = name or f"user{next(_user_counter)}-{secrets.token_hex(3)}"
        if not re.fullmatch(r"[A-Za-z0-9._@-]+", name) or name in self.users:
            raise ValueError(f"bad or duplicate user name {name!r}")
        password = password or f"pw-{secrets.token_urlsafe(12)}"
        if ":" in name + password or "\n" in name + password:
            raise ValueError("passwd-file fields cannot contain ':' or newlines")
        home = self.root / "home" / name
        home.mkdir()
        if os.geteuid() == 0:
            os.chown(home, self.mail_uid, self.mail_gid)
        passwd = self.root / "users" / name
        passwd.write_text(f"{name}:{{PLAIN}}{password}:{self.mail_uid}:{self.mail_gid}::{home}::\n")
        passwd.chmod(0o644)  # read by the unprivileged auth process
        user = DovecotUser(self, name, password)
        self.users[name] = user
        return user

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts the test CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    @contextlib.contextmanager
    def client(self, username: str, password: str, tls: bool = False, timeout: float = 10) -> Iterator[IMAPClient]:
        """A logged-in IMAPClient (plain port unless ``tls``), logged out afterwards."""
        if tls:
            c = IMAPClient(self.host, self.imaps_port, ssl=True, ssl_context=self.ssl_context(), timeout=timeout)
        else:
            c = IMAPClient(self.host, self.imap_port, ssl=False, timeout=timeout)
        try:
            if password.isascii():
                c.login(username, password)
            else:  # LOGIN cannot carry non-ASCII; SASL PLAIN is UTF-8
                c.plain_login(username, password)
            yield c
        finally:
            try:
                c.logout()
            except (OSError, IMAPClient.Error) as exc:
                logger.debug("test client logout failed: %s", exc)
                c.shutdown()

    def doveadm(self, *args: str) -> str:
        """Run ``doveadm -c CONFIG ARGS`` against this instance and return its stdout."""
        proc = subprocess.run(
            ["doveadm", "-c", str(self.config), *args], capture_output=True, text=True, timeout=30
        )
        if proc.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout


def _dovecot_binary() -> str:
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/sbin")
    if not found:
        raise FileNotFoundError("dovecot")
    return found


def _wait_port_closed(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((host, port)) != 0:
                return
        time.sleep(0.05)
    logger.warning("port %d still open %.0fs after stopping dovecot", port, timeout)


def _missing_tools() -> list[str]:
    missing = []
    try:
        _dovecot_binary()
    except FileNotFoundError:
        missing.append("dovecot (apt-get install dovecot-imapd)")
    for tool in ("doveadm", "openssl"):
        if not shutil.which(tool):
            missing.append(tool)
    return missing


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """A started Dovecot for the whole session; create a user per test for isolation."""
    missing = _missing_tools()
    if missing:
        reason = "Dovecot integration tests need: " + ", ".join(missing)
        if _in_ci():
            pytest.fail(reason + " (CI must install them: see .ci/run)", pytrace=False)
        pytest.skip(reason)
    server = DovecotServer.create()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def dovecot_user(dovecot: DovecotServer) -> DovecotUser:
    """A fresh, empty mailbox (INBOX, Sent, Drafts, Trash) on the session's Dovecot."""
    return dovecot.create_user()
