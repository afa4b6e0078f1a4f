"""Urgent signals alert within the poll that read them: a desktop notification (a recorded
notify-send on PATH) and a short mail over real SMTP (aiosmtpd on loopback), each signal once,
batched, held through quiet hours, never for history or a dismissed signal; a failing channel
(notify-send failing, no display, SMTP down) never stops the poll and is retried at the next."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import socket
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from mailfactory import OWNER, message
from smtp_recorder import SmtpRecorder, digest_smtp_toml
from offerwatch.daemon.alerts import DesktopNotifier, in_quiet_hours
from offerwatch.daemon.cli import cli
from offerwatch.daemon.config import parse_config
from offerwatch.daemon.service import Clock, Service
from offerwatch.daemon.sources.local import EmlFolderSource
from offerwatch.models.store import Store

OFFER = ("Hi Sam,\n\nWe are pleased to offer you the position of Data Engineer at Acme, with a base salary of "
         "$150,000. Please let us know by Friday 11 December.\n\nBest,\nJo Recruiter\nTalent Partner, Acme")
INTERVIEW = ("Hi Sam,\n\nThanks for applying to the Data Engineer role at Globex. Could you share your availability "
             "for a 30-minute call next week?\n\nBest,\nKim\nRecruiter, Globex")
OTHERS = ("Hi Sam,\n\nQuick question before we move on: are you interviewing with other companies at the moment? "
          "Any other offers on the table?\n\nBest,\nLee\nRecruiter, Initech")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Notify:
    """A recorded ``notify-send``: every call's arguments, one JSON line; fails while ``fail`` exists."""

    record: Path
    fail: Path

    def calls(self) -> list[list[str]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture
def notify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Notify:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    n = Notify(tmp_path / "notify-send.calls", tmp_path / "notify-send.fail")
    script = bin_dir / "notify-send"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"if os.path.exists({str(n.fail)!r}):\n"
        "    sys.stderr.write('GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown: no notification server\\n')\n"
        "    sys.exit(1)\n"
        f"with open({str(n.record)!r}, 'a') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("DISPLAY", ":0")
    return n


class AlertRecorder(SmtpRecorder):
    def alerts(self) -> list[email.message.EmailMessage]:
        parsed = [email.message_from_bytes(m, policy=email.policy.default) for m in self.messages]
        return [m for m in parsed if m["X-Offerwatch-Alert"]]  # type: ignore[misc]


def start_smtp(port: int) -> tuple[Controller, AlertRecorder]:
    rec = AlertRecorder()
    controller = Controller(rec, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, rec


@dataclass
class Setup:
    tmp: Path
    mail: Path
    store: Store
    now: datetime
    count: int = 0

    def arrive(self, body: str, *, subject: str, sender: str, age: timedelta = timedelta(minutes=30)) -> None:
        """A message lands in the mailbox (the next poll reads it)."""
        self.count += 1
        (self.mail / f"{self.count:03d}.eml").write_bytes(
            message(body, subject=subject, sender=sender, date=self.now - age))

    def service(self, toml: str = "", clock: Clock | None = None) -> Service:
        config = parse_config(_config_data(self.tmp, toml), "test")
        return Service(config, self.store, source_factory=lambda acct: EmlFolderSource(self.mail, account=acct.name),
                       clock=clock)

    def alerts(self) -> list[dict[str, Any]]:
        return self.store.rows("SELECT * FROM alerts ORDER BY message_key, type, channel")


def _config_data(tmp: Path, extra: str) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(f"""
[identity]
addresses = ["{OWNER}"]
[[accounts]]
name = "local"
host = "127.0.0.1"
username = "{OWNER}"
[digest]
timezone = "UTC"
channel = "file"
[digest.file]
path = "{tmp / 'digest-{date}.html'}"
{extra}
""")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    mail = tmp_path / "mail"
    mail.mkdir()
    store = Store.open(tmp_path / "offerwatch.db")
    yield Setup(tmp_path, mail, store, datetime.now(timezone.utc))
    store.close()


def arrive_offer(s: Setup, **kw: Any) -> None:
    s.arrive(OFFER, subject="Offer: Data Engineer at Acme", sender="Jo Recruiter <jo@acme.example>", **kw)


def arrive_three(s: Setup) -> None:
    arrive_offer(s)
    s.arrive(INTERVIEW, subject="Data Engineer at Globex: next steps", sender="Kim <kim@globex.example>")
    s.arrive(OTHERS, subject="Initech - Data Engineer", sender="Lee <lee@initech.example>")


# -- desktop ------------------------------------------------------------------------------------

def test_an_offer_alerts_on_the_desktop_within_the_poll_and_only_once(setup: Setup, notify: Notify) -> None:
    svc = setup.service()
    arrive_offer(setup)
    result = svc.run_once()
    assert result is not None and result.read == 1
    [call] = notify.calls()
    assert call[:3] == ["--app-name=offerwatch", "--urgency=normal", "--"]
    title, body = call[3:]
    assert title == "offerwatch: Offer — Acme (Data Engineer)"
    assert "pleased to offer you the position" in body
    [row] = setup.alerts()
    assert (row["type"], row["channel"], row["status"]) == ("offer", "desktop", "sent") and row["sent_at"]

    svc.run_once()  # nothing new
    # the folder read again from the start (a UIDVALIDITY change does this): signals are rewritten
    setup.store.reset_folder("local", "INBOX", 0)
    assert svc.run_once() is not None
    assert len(notify.calls()) == 1
    assert len(setup.alerts()) == 1


def test_many_signals_at_once_are_one_notification(setup: Setup, notify: Notify) -> None:
    arrive_three(setup)
    setup.service().run_once()
    [call] = notify.calls()
    title, body = call[3:]
    assert title == "offerwatch: 3 urgent updates (1 offer)"
    lines = body.splitlines()
    assert len(lines) == 3
    assert any(line.startswith("Offer — Acme") for line in lines)
    assert any(line.startswith("Interview request — Globex") for line in lines)
    assert any(line.startswith("Asked about other processes — Initech") for line in lines)


def test_a_type_turned_off_does_not_alert(setup: Setup, notify: Notify) -> None:
    arrive_three(setup)
    setup.service("[alerts.types]\ninterview_request = false\nother_process_inquiry = false").run_once()
    [call] = notify.calls()
    assert call[3] == "offerwatch: Offer — Acme (Data Engineer)"


def test_old_mail_and_a_backfill_never_alert(setup: Setup, notify: Notify, tmp_path: Path) -> None:
    """Mail older than max_age_hours (the first sync of an old mailbox) is history; and what a
    backfill read is history even when recent."""
    arrive_offer(setup, age=timedelta(hours=30))
    setup.service().run_once()
    assert setup.store.rows("SELECT count(*) AS n FROM signals WHERE type = 'offer'")[0]["n"] == 1
    assert notify.calls() == [] and setup.alerts() == []

    backfilled = tmp_path / "history"
    backfilled.mkdir()
    (backfilled / "001.eml").write_bytes(message(INTERVIEW, subject="Globex: next steps", sender="Kim <kim@globex.example>",
                                                 date=setup.now - timedelta(hours=1)))
    setup.store.close()
    config = tmp_path / "config.toml"
    config.write_text(f'[identity]\naddresses = ["{OWNER}"]\n')
    config.chmod(0o600)
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", str(tmp_path / "offerwatch.db"),
                                       "backfill", "--source", str(backfilled)])
    assert result.exit_code == 0, result.output
    setup.store = Store.open(tmp_path / "offerwatch.db")
    assert setup.store.rows("SELECT count(*) AS n FROM signals WHERE type = 'interview_request'")[0]["n"] == 1
    setup.service().run_once()
    assert notify.calls() == [] and setup.alerts() == []


def in_quiet_hours_now(setup: Setup, tmp_path: Path) -> tuple[Service, Path, str]:
    """A service whose quiet hours are now (one hour either side) and the file that moves its
    clock (see service.Clock); returns the service, that file and the end of the quiet hours."""
    start = (setup.now - timedelta(hours=1)).strftime("%H:%M")
    end = (setup.now + timedelta(hours=1)).strftime("%H:%M")
    offset = tmp_path / "clock-offset"
    offset.write_text("0")
    return setup.service(f'[alerts]\nquiet_hours = "{start}-{end}"', clock=Clock(offset)), offset, end


def test_quiet_hours_hold_alerts_until_they_end(setup: Setup, notify: Notify, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    svc, offset, end = in_quiet_hours_now(setup, tmp_path)
    arrive_offer(setup)
    with caplog.at_level(logging.INFO, logger="offerwatch.daemon.alerts"):
        svc.run_once()
    assert notify.calls() == []
    assert [r["status"] for r in setup.alerts()] == ["pending"]
    assert f"1 alert(s) held: quiet hours until {end}" in caplog.text

    offset.write_text(str(2 * 3600 + 60))  # the night is over
    svc.run_once()
    [call] = notify.calls()
    assert call[3] == "offerwatch: Offer — Acme (Data Engineer)"
    assert [r["status"] for r in setup.alerts()] == ["sent"]


def test_quiet_hours_span_midnight_in_the_users_zone() -> None:
    from datetime import time
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    quiet = (time(22, 0), time(7, 30))
    # 21:30 UTC in December is 22:30 in Berlin: quiet; 06:45 UTC is 07:45 there: not
    assert in_quiet_hours(datetime(2026, 12, 1, 21, 30, tzinfo=timezone.utc), quiet, berlin)
    assert not in_quiet_hours(datetime(2026, 12, 2, 6, 45, tzinfo=timezone.utc), quiet, berlin)
    assert not in_quiet_hours(datetime(2026, 12, 2, 6, 45, tzinfo=timezone.utc), None, berlin)


def test_a_signal_dismissed_before_delivery_never_alerts(setup: Setup, notify: Notify, tmp_path: Path) -> None:
    svc, offset, _ = in_quiet_hours_now(setup, tmp_path)
    arrive_offer(setup)
    svc.run_once()
    [sig] = setup.store.signals(types=["offer"])
    setup.store.dismiss_signal(int(sig["id"]))
    offset.write_text(str(2 * 3600 + 60))
    svc.run_once()
    assert notify.calls() == []
    [row] = setup.alerts()
    assert (row["status"], row["error"]) == ("dropped", "dismissed")


def test_without_notify_send_the_desktop_is_skipped_with_one_log_line(
        setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    svc = setup.service()
    arrive_offer(setup)
    with caplog.at_level(logging.INFO):
        first = svc.run_once()
        arrive_three(setup)
        second = svc.run_once()
    assert first is not None and first.read == 1 and not first.failed
    assert second is not None and second.read == 3
    lines = [r.getMessage() for r in caplog.records if "desktop alerts skipped" in r.getMessage()]
    assert lines == ["desktop alerts skipped: notify-send was not found on PATH (Debian/Ubuntu: apt install libnotify-bin)"]
    assert setup.alerts() == []  # nothing piles up for a notifier that does not exist


def test_a_failing_notify_send_never_stops_the_poll_and_is_retried(setup: Setup, notify: Notify,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    notify.fail.write_text("")
    svc = setup.service()
    arrive_offer(setup)
    with caplog.at_level(logging.WARNING):
        result = svc.run_once()
    assert result is not None and result.read == 1 and not result.failed
    assert notify.calls() == []
    [row] = setup.alerts()
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "notify-send exited with 1 (GDBus.Error" in row["error"]
    assert "1 desktop alert(s) not delivered, kept for the next poll" in caplog.text

    notify.fail.unlink()
    arrive_three(setup)  # more news meanwhile: the retry carries all of it, once
    svc.run_once()
    [call] = notify.calls()
    assert call[3] == "offerwatch: 4 urgent updates (2 offers)"
    assert {r["status"] for r in setup.alerts()} == {"sent"}


def test_no_display_session_waits_for_one(setup: Setup, notify: Notify, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(var, raising=False)
    svc = setup.service()
    arrive_offer(setup)
    svc.run_once()
    [row] = setup.alerts()
    assert row["status"] == "pending" and "no desktop session" in row["error"]
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    svc.run_once()
    assert len(notify.calls()) == 1 and setup.alerts()[0]["status"] == "sent"


def test_osascript_gets_the_texts_as_arguments_not_as_script() -> None:
    n = DesktopNotifier(platform="darwin", env={}, which=lambda name: f"/usr/bin/{name}")
    argv = n.argv('Offer "now"', 'say "hi" & end run')
    assert argv[:2] == ["/usr/bin/osascript", "-e"]
    assert argv[-2:] == ['Offer "now"', 'say "hi" & end run']
    assert DesktopNotifier(platform="darwin", env={}, which=lambda name: None).missing() == "osascript was not found on PATH"


# -- mail ---------------------------------------------------------------------------------------

def test_alerts_arrive_as_one_short_mail(setup: Setup, notify: Notify) -> None:
    port = free_port()
    controller, rec = start_smtp(port)
    try:
        svc = setup.service()
        svc.config = _smtp_config(setup, port, '["mail"]')
        arrive_three(setup)
        svc.run_once()
        svc.run_once()
    finally:
        controller.stop()
    [msg] = rec.alerts()
    assert msg["Subject"] == "offerwatch: 3 urgent updates (1 offer)"
    assert msg["To"] == OWNER and msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_content()
    assert "Offer — Acme (Data Engineer)" in text and "pleased to offer you the position" in text
    assert "in “Offer: Data Engineer at Acme” from Jo Recruiter" in text
    assert "offerwatch app " in text
    assert notify.calls() == []  # the desktop was not chosen


def _smtp_config(setup: Setup, port: int, channels: str = '["desktop", "mail"]'):
    data = _config_data(setup.tmp, "")
    data["digest"] = {"timezone": "UTC", "channel": "smtp",
                      "smtp": {"host": "127.0.0.1", "port": port, "tls": "none", "allow_insecure": True, "to": OWNER}}
    data["alerts"] = {"channels": json.loads(channels)}
    return parse_config(data, "test")


def test_smtp_down_never_stops_the_poll_and_the_mail_goes_at_the_next(setup: Setup, notify: Notify,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there yet
    svc = setup.service()
    svc.config = _smtp_config(setup, port)
    arrive_offer(setup)
    with caplog.at_level(logging.WARNING):
        result = svc.run_once()
    assert result is not None and result.read == 1 and not result.failed
    assert len(notify.calls()) == 1  # the desktop channel is not held up by the mail channel
    rows = {r["channel"]: r for r in setup.alerts()}
    assert rows["desktop"]["status"] == "sent"
    assert rows["mail"]["status"] == "pending" and "cannot reach the server" in rows["mail"]["error"]
    assert "1 mail alert(s) not delivered, kept for the next poll" in caplog.text
    minimal = setup.tmp / "status.toml"
    minimal.write_text('[alerts]\nchannels = ["desktop"]\n')
    minimal.chmod(0o600)
    status = CliRunner().invoke(cli, ["--config", str(minimal), "--db", str(setup.tmp / "offerwatch.db"), "status"])
    assert "1 waiting for mail: alert mail via SMTP 127.0.0.1" in status.output.replace("\n", " ")

    controller, rec = start_smtp(port)
    try:
        svc.run_once()
    finally:
        controller.stop()
    [msg] = rec.alerts()
    assert msg["Subject"] == "offerwatch: Offer — Acme (Data Engineer)"
    assert len(notify.calls()) == 1  # the desktop alert is not repeated
    assert {r["status"] for r in setup.alerts()} == {"sent"}


# -- config -------------------------------------------------------------------------------------

def test_config_check_lists_every_alerts_problem(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("""
[alerts]
channels = ["desktop", "mail", "sms"]
quiet_hours = "22-7"
max_age_hours = 0
[alerts.types]
ofer = true
offer = "yes"
""")
    path.chmod(0o600)
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 1
    out = result.output
    assert "alerts.channels: unknown channel 'sms'" in out
    assert 'alerts.channels: "mail" sends through the digest\'s channel, which is "file"' in out
    assert 'alerts.quiet_hours: expected "HH:MM-HH:MM" such as "22:00-07:30"' in out
    assert "alerts.max_age_hours: expected a positive number, got 0" in out
    assert "alerts.types.ofer: unknown signal type (did you mean 'offer'?)" in out
    assert "alerts.types.offer: expected true or false, got 'yes'" in out

    path.write_text('[alerts]\nchannels = ["desktop"]\nquiet_hours = "22:00-07:30"\n[alerts.types]\npostponed = false\n')
    good = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert good.exit_code == 0, good.output
    assert ("alerts via desktop on offer, hiring_manager_direct, interview_request, other_process_inquiry, "
            "quiet 22:00-07:30") in good.output.replace("\n", " ")


def test_alerts_off_queue_nothing(setup: Setup, notify: Notify) -> None:
    arrive_offer(setup)
    setup.service("[alerts]\nchannels = []").run_once()
    assert notify.calls() == [] and setup.alerts() == []
    # turned on later: what was read while off is not replayed
    svc = setup.service()
    svc.run_once()
    assert notify.calls() == []


def test_a_refused_login_rests_instead_of_retrying_each_poll(setup: Setup, notify: Notify,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A permanent mail error (the server refuses the login) is not retried at every poll: that
    could lock the account. It rests for an hour; the alert stays pending."""
    from aiosmtpd.smtp import AuthResult

    logins: list[bytes] = []

    def refuse(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        logins.append(auth_data.login)
        return AuthResult(success=False, handled=False)

    port = free_port()
    controller = Controller(SmtpRecorder(), hostname="127.0.0.1", port=port, authenticator=refuse,
                            auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    monkeypatch.setenv("OFFERWATCH_TEST_ALERT_SMTP", "wrong-password")
    try:
        arrive_offer(setup)
        svc = setup.service()
        data = _config_data(setup.tmp, "")
        data["digest"] = {"timezone": "UTC", "channel": "smtp",
                          "smtp": {"host": "127.0.0.1", "port": port, "tls": "none", "allow_insecure": True, "to": OWNER,
                                   "username": "sam", "password_env": "OFFERWATCH_TEST_ALERT_SMTP"}}
        data["alerts"] = {"channels": ["mail"]}
        svc.config = parse_config(data, "test")
        svc.run_once()  # the alert, and the day's digest (refused too: it is not retried either)
        assert logins and len(logins) <= 2
        tried = len(logins)
        svc.run_once()
        svc.run_once()
    finally:
        controller.stop()
    assert len(logins) == tried
    [row] = setup.alerts()
    assert row["status"] == "pending" and "refused the login" in row["error"]
    assert setup.store.meta("alerts_mail_rest_until")


# -- end to end: real IMAP (Dovecot), real SMTP (aiosmtpd), the recorded notify-send ----------

IMAP_PASSWORD_ENV = "OFFERWATCH_TEST_ALERT_IMAP"


def imap_config(path: Path, dovecot: Any, user: Any, smtp_port: int) -> Path:
    path.write_text(f"""
[identity]
addresses = ["{OWNER}"]
{user.account_toml("work", IMAP_PASSWORD_ENV)}
[digest]
timezone = "UTC"
channel = "smtp"
{digest_smtp_toml(smtp_port, OWNER)}
[alerts]
channels = ["desktop", "mail"]
""")
    path.chmod(0o600)
    return path


@pytest.mark.integration
def test_the_service_alerts_on_an_offer_arriving_over_imap(tmp_path: Path, dovecot: Any, dovecot_user: Any,
                                                           notify: Notify, monkeypatch: pytest.MonkeyPatch) -> None:
    from offerwatch.daemon.config import load_config

    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot_user.password)
    port = free_port()
    controller, rec = start_smtp(port)
    try:
        config = load_config(imap_config(tmp_path / "config.toml", dovecot, dovecot_user, port))
        with Store.open(tmp_path / "offerwatch.db") as store:
            svc = Service(config, store)
            assert svc.run_once() is not None  # an empty INBOX
            now = datetime.now(timezone.utc)
            dovecot_user.append("INBOX", message(OFFER, subject="Offer: Data Engineer at Acme",
                                                 sender="Jo Recruiter <jo@acme.example>", date=now - timedelta(minutes=2)))
            result = svc.run_once()
            assert result is not None and result.read == 1 and not result.failed
            assert svc.run_once() is not None  # nothing new: nothing sent again
    finally:
        controller.stop()
    [msg] = rec.alerts()
    assert msg["Subject"] == "offerwatch: Offer — Acme (Data Engineer)"
    [call] = notify.calls()
    assert call[3] == "offerwatch: Offer — Acme (Data Engineer)"


@pytest.mark.integration
def test_offerwatch_sync_alerts_too(tmp_path: Path, dovecot: Any, dovecot_user: Any, notify: Notify,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IMAP_PASSWORD_ENV, dovecot_user.password)
    port = free_port()
    controller, rec = start_smtp(port)
    config = imap_config(tmp_path / "config.toml", dovecot, dovecot_user, port)
    argv = ["--config", str(config), "--db", str(tmp_path / "offerwatch.db"), "sync", "--no-progress"]
    try:
        dovecot_user.append("INBOX", message(INTERVIEW, subject="Data Engineer at Globex: next steps",
                                             sender="Kim <kim@globex.example>",
                                             date=datetime.now(timezone.utc) - timedelta(minutes=5)))
        first = CliRunner().invoke(cli, argv)
        second = CliRunner().invoke(cli, argv)
    finally:
        controller.stop()
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    [msg] = rec.alerts()
    assert msg["Subject"] == "offerwatch: Interview request — Globex (Data Engineer)"
    assert len(notify.calls()) == 1
