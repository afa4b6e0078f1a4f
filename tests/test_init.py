"""`offerwatch init` driven through a pseudo-terminal against Dovecot: it recognises the provider,
keeps the password out of the config (keyring, or a command when there is no keyring), tests
the login, lists folders, writes a 0600 config that validates, and runs the first backfill."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import stat
import sys
import time
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from dovecot import DovecotServer
from offerwatch.daemon.cli import cli
from offerwatch.daemon.config import load_config
from offerwatch.daemon.firstrun import preset_for

TESTS = Path(__file__).resolve().parent
DEMO = TESTS.parent / "daemon" / "demo_mailbox"


class Terminal:
    """A child process on a pseudo-terminal, with pexpect-style expect/send (stdlib only)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # child: the pty is its controlling terminal, so getpass hides input
            os.execve(argv[0], argv, env)
        self.pid, self.fd, self.buffer = pid, fd, ""
        self.transcript = ""  # everything shown, never trimmed

    def expect(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            m = regex.search(self.buffer)
            if m:
                self.buffer = self.buffer[m.end():]
                return m.group(0)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; screen so far:\n{self.buffer[-3000:]}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:  # EIO: the child closed the terminal
                    data = b""
                if not data:
                    if regex.search(self.buffer):
                        continue
                    raise AssertionError(f"the program ended before {pattern!r}:\n{self.buffer[-3000:]}")
                text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", data.decode(errors="replace")).replace("\r", "")
                self.buffer += text
                self.transcript += text

    def send(self, line: str) -> None:
        os.write(self.fd, (line + "\r").encode())

    def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:  # drain so the child never blocks on a full terminal
                if select.select([self.fd], [], [], 0.1)[0]:
                    text = os.read(self.fd, 65536).decode(errors="replace")
                    self.buffer += text
                    self.transcript += text
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, 9)
        raise AssertionError(f"init did not exit:\n{self.buffer[-3000:]}")


def _env(tmp_path: Path, keyring_file: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFERWATCH_")}
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "home" / ".config"),
               XDG_DATA_HOME=str(tmp_path / "home" / ".local" / "share"), TERM="dumb", COLUMNS="200",
               PYTHONPATH=os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]))
    if keyring_file is not None:
        env["PYTHON_KEYRING_BACKEND"] = "fake_keyring.FileKeyring"
        env["OFFERWATCH_TEST_KEYRING"] = str(keyring_file)
    else:
        env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return env


@pytest.mark.integration
def test_interactive_init_without_keyring_uses_a_command_and_backfills(dovecot: DovecotServer, tmp_path: Path) -> None:
    user = dovecot.create_user()
    user.append("INBOX", (DEMO / "d015.eml").read_bytes())
    config, db = tmp_path / "config.toml", tmp_path / "ow.db"
    t = Terminal([sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), "--db", str(db), "init",
                  "--ca-file", str(dovecot.ca_file)], _env(tmp_path))
    t.expect(r"Your email address:")
    t.send("sam.okafor@example.net")
    t.expect(r"IMAP server \[imap\.example\.net\]:")
    t.send("127.0.0.1")
    t.expect(r"Encryption \(implicit, starttls, none\) \[implicit\]:")
    t.send("")
    t.expect(r"IMAP port \[993\]:")
    t.send(str(dovecot.imaps_port))
    t.expect(r"Login name \[sam\.okafor@example\.net\]:")
    t.send(user.name)
    t.expect(r"A short name for this account \[example\]:")
    t.send("personal")
    t.expect(r"Sign-in method \(password, xoauth2\) \[password\]:")
    t.send("")
    t.expect(r"no system keyring is available")
    t.expect(r"Where should the password come from \(keyring, command, env\) \[command\]:")
    t.send("")
    t.expect(r"Command that prints the password:")
    t.send(f"echo {user.password}")
    t.expect(r"login OK")
    t.expect(r"folders on the server: INBOX.*Sent")
    t.expect(r"Folders to read.*:")
    t.send("")
    t.expect(r"Daily digest time \(HH:MM\) \[07:30\]:")
    t.send("08:15")
    t.expect(r"Time zone \[.*\]:")
    t.send("Europe/Berlin")
    t.expect(r"Deliver the digest by .*\[smtp\]:")
    t.send("file")
    t.expect(r"wrote .*config\.toml")
    t.expect(r"Read the last 90 days of mail now .*\[Y/n\]:")
    t.send("y")
    t.expect(r"next: `offerwatch check`", timeout=90)
    assert t.wait() == 0, t.buffer

    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text()
    assert user.password not in text.replace(f"echo {user.password}", "")  # only inside the command
    cfg = load_config(config, required=True)
    acct = cfg.account("personal")
    assert (acct.host, acct.port, acct.username, acct.password_command) == ("127.0.0.1", dovecot.imaps_port, user.name,
                                                                           f"echo {user.password}")
    assert cfg.digest.timezone == "Europe/Berlin" and cfg.digest.time.strftime("%H:%M") == "08:15"
    assert cfg.database == db
    import sqlite3

    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM signals WHERE type = 'other_process_inquiry'").fetchone()[0] == 1
    con.close()


@pytest.mark.integration
def test_interactive_init_stores_the_password_in_the_keyring_after_a_retry(dovecot: DovecotServer, tmp_path: Path) -> None:
    user = dovecot.create_user()
    config, keyring_file = tmp_path / "config.toml", tmp_path / "keyring.json"
    t = Terminal([sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), "init",
                  "--address", "maya@fastmail.com", "--host", "127.0.0.1", "--port", str(dovecot.imaps_port),
                  "--ca-file", str(dovecot.ca_file), "--tls", "implicit", "--username", user.name, "--name", "fm", "--no-backfill",
                  "--digest-time", "07:30", "--timezone", "UTC"], _env(tmp_path, keyring_file))
    t.expect(r"provider: Fastmail")
    t.expect(r"app password")
    t.expect(r"Sign-in method \(password, xoauth2\) \[password\]:")
    t.send("")
    t.expect(r"Where should the password come from \(keyring, command, env\) \[keyring\]:")
    t.send("")
    t.expect(r"Password \(or app password; not shown\):")
    t.send("wrong-password")
    t.expect(r"login failed:.*refused")
    t.expect(r"Password again \(not shown\):")
    t.send(user.password)
    t.expect(r"login OK")
    t.expect(r"Folders to read.*:")
    t.send("INBOX")
    t.expect(r"stored the password in the system keyring")
    t.expect(r"Deliver the digest by .*\[smtp\]:")
    t.send("")
    t.expect(r"SMTP server \[smtp\.fastmail\.com\]:")
    t.send("")
    t.expect(r"SMTP encryption .*\[implicit\]:")
    t.send("")
    t.expect(r"SMTP port \[465\]:")
    t.send("")
    t.expect(r"next: `offerwatch check`")
    assert t.wait() == 0, t.buffer
    assert "wrong-password" not in t.transcript and user.password not in t.transcript  # hidden input
    assert json.loads(keyring_file.read_text()) == {"offerwatch/fm": user.password}
    text = config.read_text()
    assert user.password not in text
    data = tomllib.loads(text)
    assert data["accounts"][0]["folders"] == ["INBOX"] and "password_command" not in data["accounts"][0]
    assert data["digest"]["smtp"]["host"] == "smtp.fastmail.com"


def test_presets_recognise_the_big_providers() -> None:
    assert preset_for("a@gmail.com").host == "imap.gmail.com"
    assert preset_for("a@hotmail.com").auth == "xoauth2"
    assert preset_for("a@outlook.com").host == "outlook.office365.com"
    assert preset_for("a@fastmail.fm").key == "fastmail"
    assert preset_for("a@me.com").host == "imap.mail.me.com"
    assert preset_for("a@yahoo.co.jp").key == "yahoo"
    assert preset_for("a@corp.example").key == "generic"


def test_non_interactive_gmail_with_a_password_command(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    args = ["--config", str(config), "init", "-y", "--address", "me@gmail.com", "--password-command", "pass show gmail",
            "--skip-login-test", "--no-backfill", "--timezone", "UTC"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "apppasswords" in " ".join(res.output.split())
    cfg = load_config(config, required=True)
    assert cfg.accounts[0].host == "imap.gmail.com" and cfg.accounts[0].password_command == "pass show gmail"
    assert cfg.digest.channel == "smtp" and cfg.digest.smtp.host == "smtp.gmail.com"
    # a second run does not overwrite without --force
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "--force" in again.output
    assert CliRunner().invoke(cli, [*args, "--force"]).exit_code == 0


def test_non_interactive_outlook_needs_a_token_command(tmp_path: Path) -> None:
    base = ["--config", str(tmp_path / "c.toml"), "init", "-y", "--address", "me@outlook.com", "--skip-login-test",
            "--no-backfill", "--timezone", "UTC"]
    res = CliRunner().invoke(cli, base)
    assert res.exit_code == 2 and "--token-command" in res.output
    res = CliRunner().invoke(cli, [*base, "--token-command", "oama access me@outlook.com"])
    assert res.exit_code == 0, res.output
    cfg = load_config(tmp_path / "c.toml", required=True)
    assert cfg.accounts[0].auth == "xoauth2" and cfg.digest.channel == "file"


def test_keyring_requested_without_a_keyring_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    res = CliRunner().invoke(cli, ["--config", str(tmp_path / "c.toml"), "init", "-y", "--address", "me@corp.example",
                                   "--secret-store", "keyring", "--skip-login-test", "--no-backfill"])
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert "no system keyring is available" in text and "--secret-store command" in text
    assert not (tmp_path / "c.toml").exists()


NASTY = ["pass show \x7f", 'quote " and \\ backslash', "tab\tand\nnewline", "\x00\x01\x1f\u2028\u2029", "ümlaut ✓ 𝄞",
         "'single' '''triple'''", '"""', "# not a comment", "[not.a.table]", "key = value"]


@pytest.mark.parametrize("value", NASTY)
def test_any_answer_gives_a_valid_config_that_reads_back(value: str) -> None:
    """Regression: the config was written with json.dumps, which leaves \\x7f raw: an invalid TOML file."""
    from offerwatch.daemon.config import parse_config
    from offerwatch.daemon.firstrun import Answers, render_config

    for store, extra in (("command", {"password_command": value}), ("env", {"password_env": value})):
        a = Answers(address="me@corp.example", name=value, host=value, ca_file=value, username=value, secret_store=store,
                    folders=[value, "INBOX"], database=value, timezone="UTC", channel="smtp", smtp_host=value, **extra)
        data = tomllib.loads(render_config(a))
        acct = data["accounts"][0]
        assert acct["name"] == acct["host"] == acct["username"] == acct["ca_file"] == value
        assert acct["folders"] == [value, "INBOX"] and data["storage"]["database"] == value
        assert acct.get("password_command", acct.get("password_env")) == value
        assert data["digest"]["smtp"]["host"] == value
    # a digest file's name must end in what it holds (.html, .txt, .eml): the odd part is before it
    a = Answers(address="me@corp.example", host="h", channel="file", digest_file=value + ".html", auth="xoauth2",
                token_command=value)
    data = tomllib.loads(render_config(a))
    assert data["digest"]["file"]["path"] == value + ".html" and data["accounts"][0]["token_command"] == value
    parse_config(data)  # the types are what the config reader expects


def test_non_interactive_init_with_a_delete_character_in_an_answer(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    res = CliRunner().invoke(cli, ["--config", str(config), "init", "-y", "--address", "me@corp.example", "--host", "mail.corp.example",
                                   "--password-command", "pass show mail\x7f", "--skip-login-test", "--no-backfill",
                                   "--timezone", "UTC"])
    assert res.exit_code == 0, res.output
    assert load_config(config, required=True).accounts[0].password_command == "pass show mail\x7f"


@pytest.mark.integration
def test_untrusted_certificate_asks_for_the_ca_file_and_keeps_every_answer(dovecot: DovecotServer, tmp_path: Path) -> None:
    """Regression: an untrusted certificate ended init with "nothing was written", every answer lost."""
    user = dovecot.create_user()
    config = tmp_path / "config.toml"
    t = Terminal([sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), "init", "--no-backfill"],
                 _env(tmp_path))
    t.expect(r"Your email address:")
    t.send("sam@localhost")  # an address without a dot in the domain is an address
    t.expect(r"IMAP server \[localhost\]:")
    t.send("127.0.0.1")
    t.expect(r"Encryption \(implicit, starttls, none\) \[implicit\]:")
    t.send("")
    t.expect(r"IMAP port \[993\]:")
    t.send(str(dovecot.imaps_port))
    t.expect(r"Login name \[sam@localhost\]:")
    t.send(user.name)
    t.expect(r"A short name for this account \[localhost\]:")
    t.send("lab")
    t.expect(r"Sign-in method \(password, xoauth2\) \[password\]:")
    t.send("")
    t.expect(r"Where should the password come from \(keyring, command, env\) \[command\]:")
    t.send("")
    t.expect(r"Command that prints the password:")
    t.send(f"echo {user.password}")
    t.expect(r"certificate is not\s+trusted")
    t.expect(r"CA certificate file that signed the server's certificate \(empty to stop\):")
    t.send(str(tmp_path / "missing.pem"))
    t.expect(r"is not a readable file")
    t.expect(r"CA certificate file .*:")
    t.send(str(dovecot.ca_file))
    t.expect(r"login OK")
    t.expect(r"Folders to read.*:")
    t.send("")
    t.expect(r"Daily digest time \(HH:MM\) \[07:30\]:")
    t.send("")
    t.expect(r"Time zone \[.*\]:")
    t.send("UTC")
    prompt = t.expect(r"Deliver the digest by [^\n]*\[smtp\]:")
    # Each choice is named once, with what it does: no second "(smtp, imap, file)" list.
    assert prompt == "Deliver the digest by smtp (mail it to you), imap (put it in a folder) or file [smtp]:"
    t.send("file")
    t.expect(r"next: `offerwatch check`")
    assert t.wait() == 0, t.buffer
    cfg = load_config(config, required=True)
    acct = cfg.account("lab")
    assert (acct.host, acct.port, acct.username, acct.ca_file) == ("127.0.0.1", dovecot.imaps_port, user.name,
                                                                   str(dovecot.ca_file.resolve()))
    assert cfg.identity_addresses == ("sam@localhost",)


def test_non_interactive_init_accepts_an_address_at_localhost(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    res = CliRunner().invoke(cli, ["--config", str(config), "init", "-y", "--address", "me@localhost", "--password-command",
                                   "cat pw", "--skip-login-test", "--no-backfill", "--timezone", "UTC"])
    assert res.exit_code == 0, res.output
    cfg = load_config(config, required=True)
    assert cfg.accounts[0].host == "localhost" and cfg.digest.smtp.host == "localhost"
    for bad in ("me", "me@", "@localhost", "me@@x", "me@x..y", "me@.x", "me @x"):
        res = CliRunner().invoke(cli, ["--config", str(tmp_path / "d.toml"), "init", "-y", "--address", bad,
                                       "--skip-login-test", "--no-backfill"])
        assert res.exit_code == 2 and "is not an email address" in res.output, (bad, res.output)
