"""The digest arrives over real SMTP (aiosmtpd on loopback, STARTTLS or implicit TLS, AUTH) and
parses back; it is sent once per day even across a crash between sending and recording; a
server that is down is retried later, a wrong password fails clearly once and is not retried."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from digest_data import DEV_NOW, DEV_OWNER, NOW, dev_corpus_store, quiet_shown, sample_store
from dovecot import make_certificates
from offerwatch.daemon.config import Config, DigestConfig, SmtpConfig
from offerwatch.daemon.digest.deliver import DeliveryError, SmtpChannel, deliver, digest_row, imap_verifier
from offerwatch.daemon.digest.job import compose, run_due_digest, send_digest_now, settings_from_config
from offerwatch.models.store import Store

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
USER, PASSWORD = "maya", "s3cret-app-password"
TO = "maya.lindqvist@gmail.com"
PASSWORD_ENV = "OFFERWATCH_TEST_SMTP_PASSWORD"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Recorder:
    """The SMTP server's side: what it received, and how many logins were tried."""

    messages: list[bytes] = field(default_factory=list)
    logins: int = 0
    forward: Callable[[bytes], Any] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        self.messages.append(data)
        if self.forward:
            self.forward(data)  # e.g. into the user's Dovecot INBOX, as a real MTA would
        return "250 2.0.0 OK"

    def authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        self.logins += 1
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    def parsed(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(m, policy=email.policy.default) for m in self.messages]  # type: ignore[misc]


@dataclass
class SmtpServer:
    port: int
    tls: str
    ca_file: Path
    recorder: Recorder
    controller: Controller


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_certificates(tmp_path_factory.mktemp("smtp-certs"))


def _server_ctx(certs: tuple[Path, Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(certs[1]), str(certs[2]))
    return ctx


def start_server(certs: tuple[Path, Path, Path], tls: str, port: int | None = None, recorder: Recorder | None = None) -> SmtpServer:
    rec = recorder or Recorder()
    port = port or free_port()
    kw: dict[str, Any] = {"authenticator": rec.authenticator, "auth_exclude_mechanism": ["LOGIN"]}
    if tls == "starttls":
        kw.update(tls_context=_server_ctx(certs), require_starttls=True, auth_require_tls=True)
    elif tls == "implicit":
        kw.update(ssl_context=_server_ctx(certs), auth_require_tls=False)
    else:
        kw.update(auth_require_tls=False)
    controller = Controller(rec, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    return SmtpServer(port, tls, certs[0], rec, controller)


@pytest.fixture
def starttls_server(certs) -> Iterator[SmtpServer]:
    server = start_server(certs, "starttls")
    yield server
    server.controller.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store, _ = sample_store(tmp_path / "digest.db")
    yield store
    store.close()


def channel_for(server: SmtpServer, password: str = PASSWORD, **kw: Any) -> SmtpChannel:
    return SmtpChannel("127.0.0.1", server.port, tls=server.tls, username=USER, secret=lambda: password,
                       sender=f"offerwatch <{TO}>", to=TO, ca_file=str(server.ca_file), timeout=10, **kw)


def config_for(server: SmtpServer, **smtp: Any) -> Config:
    settings = dict(host="127.0.0.1", port=server.port, tls=server.tls, ca_file=str(server.ca_file), username=USER,
                    password_env=PASSWORD_ENV, to=TO, sender=f"offerwatch <{TO}>")
    settings.update(smtp)
    return Config(
        identity_addresses=(TO,),
        digest=DigestConfig(time=time(7, 30), timezone="Europe/Berlin", channel="smtp", smtp=SmtpConfig(**settings)),
    )


def send_once(store: Store, channel: Any, now: datetime = NOW) -> Any:
    settings = settings_from_config(Config(identity_addresses=(TO,), digest=DigestConfig(timezone="Europe/Berlin")))
    _, make = compose(store, settings, now=now)
    return deliver(store, now.date(), channel, make, now=now)


# -- arrival ----------------------------------------------------------------------------------

def test_digest_arrives_over_starttls_with_auth_and_parses_back(store: Store, starttls_server: SmtpServer) -> None:
    result = send_once(store, channel_for(starttls_server))
    assert result.status == "sent"
    [msg] = starttls_server.recorder.parsed()
    assert msg["Subject"] == "offerwatch: 3 to act on, 1 going quiet — Tue 1 Dec"
    assert msg.get_content_type() == "multipart/alternative"
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert "You stated <b>$160k–$170k a year</b> on Tue 10 Nov" in html
    assert "What to do: Stay consistent" in text
    row = digest_row(store, NOW.date())
    assert row is not None and row["status"] == "sent" and row["sent_at"] and row["message_id"] == msg["Message-ID"]
    assert starttls_server.recorder.logins == 1


def test_a_digest_of_the_dev_corpus_arrives(tmp_path: Path, dev_corpus: Path, starttls_server: SmtpServer) -> None:
    """The whole pipeline on ../shared/corpus/dev, then the digest the morning after its last mail."""
    store = dev_corpus_store(dev_corpus, tmp_path)
    try:
        config = Config(identity_addresses=(DEV_OWNER,),
                        digest=DigestConfig(timezone="America/Chicago", time=time(7, 30)))
        _, make = compose(store, settings_from_config(config), now=DEV_NOW)
        result = deliver(store, DEV_NOW.date(), channel_for(starttls_server), make, now=DEV_NOW)
        assert result.status == "sent"
    finally:
        store.close()
    [msg] = starttls_server.recorder.parsed()
    assert re.fullmatch(r"offerwatch: (\d+ offers?, )?\d+ to act on(, \d+ going quiet)? — Fri 13 Nov", msg["Subject"]), msg["Subject"]
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    for section in ("Needs your attention", "New signals", "Going quiet", "Pipeline"):
        assert section in html and section.upper() in text
    # the dev corpus's last week: an offer from Ridgeback Health; Northwind's offer in the pipeline
    assert "Ridgeback Health" in html and "Offer on the table" in html
    assert "Northwind Analytics" in html
    # links go back to the messages by Message-ID (the owner is a Gmail user)
    links = re.findall(r'href="([^"]+)"', html)
    assert links and all(link.startswith("https://mail.google.com/mail/u/0/#search/rfc822msgid%3A") for link in links)
    (ARTIFACTS / "digest-dev.eml").parent.mkdir(exist_ok=True)
    (ARTIFACTS / "digest-dev.eml").write_bytes(starttls_server.recorder.messages[0])


def test_digest_arrives_over_implicit_tls(store: Store, certs) -> None:
    server = start_server(certs, "implicit")
    try:
        assert send_once(store, channel_for(server)).status == "sent"
        assert len(server.recorder.messages) == 1
    finally:
        server.controller.stop()


def test_the_service_job_sends_once_per_day_at_its_time(store: Store, starttls_server: SmtpServer, monkeypatch) -> None:
    """Through the config, as `offerwatch run` does: password from the environment, CA from ca_file."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    config = config_for(starttls_server)
    assert run_due_digest(store, config, now=NOW - timedelta(minutes=1)) is None  # 07:29: not yet
    result = run_due_digest(store, config, now=NOW + timedelta(minutes=1))
    assert result is not None and result.status == "sent"
    assert quiet_shown(store) == ["Meridian Freight"]  # told once: recorded with the delivery (issue 11)
    assert run_due_digest(store, config, now=NOW + timedelta(hours=3)) is None
    assert send_digest_now(store, config, now=NOW + timedelta(hours=4)).status == "already_sent"
    assert len(starttls_server.recorder.messages) == 1


# -- failures ---------------------------------------------------------------------------------

def test_server_down_is_recorded_and_retried_at_the_next_run(store: Store, certs, monkeypatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    port = free_port()  # nothing listens yet
    recorder = Recorder()
    dummy = SmtpServer(port, "starttls", certs[0], recorder, None)  # type: ignore[arg-type]
    config = config_for(dummy)
    result = run_due_digest(store, config, now=NOW + timedelta(minutes=1))
    assert result is not None and result.status == "retry_later"
    assert "cannot reach the server" in (result.error or "") and "retry" in (result.error or "")
    row = digest_row(store, NOW.date())
    assert row is not None and row["status"] == "pending" and row["error"]
    first_id = row["message_id"]
    server = start_server(certs, "starttls", port=port, recorder=recorder)
    try:
        result = run_due_digest(store, config, now=NOW + timedelta(minutes=11))
        assert result is not None and result.status == "sent"
        assert run_due_digest(store, config, now=NOW + timedelta(minutes=21)) is None
    finally:
        server.controller.stop()
    [msg] = recorder.parsed()
    assert msg["Message-ID"] == first_id  # the day's Message-ID is kept across retries


def test_wrong_password_fails_clearly_once_and_is_not_retried(store: Store, starttls_server: SmtpServer, monkeypatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong-password-123")
    config = config_for(starttls_server)
    result = run_due_digest(store, config, now=NOW + timedelta(minutes=1))
    assert result is not None and result.status == "failed"
    error = result.error or ""
    assert "refused the login as 'maya'" in error and "app password" in error and "offerwatch digest --send" in error
    assert "wrong-password-123" not in error
    row = digest_row(store, NOW.date())
    assert row is not None and row["status"] == "failed" and "wrong-password-123" not in row["error"]
    # the service's next runs that day do not try again: no retry storm, no lock-out
    for minutes in (11, 21, 31, 600):
        assert run_due_digest(store, config, now=NOW + timedelta(minutes=minutes)) is None
    assert starttls_server.recorder.logins == 1 and starttls_server.recorder.messages == []
    assert quiet_shown(store) == []  # nothing was told: nothing recorded
    # the user fixes the password and sends by hand
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert send_digest_now(store, config, now=NOW + timedelta(hours=2)).status == "sent"
    assert quiet_shown(store) == ["Meridian Freight"]
    assert len(starttls_server.recorder.messages) == 1


def test_untrusted_certificate_is_refused_with_advice(store: Store, starttls_server: SmtpServer) -> None:
    channel = SmtpChannel("127.0.0.1", starttls_server.port, tls="starttls", username=USER, secret=lambda: PASSWORD,
                          sender=TO, to=TO, timeout=10)  # no ca_file: the test CA is not trusted
    result = send_once(store, channel)
    assert result.status == "failed" and "not trusted" in (result.error or "") and "ca_file" in (result.error or "")
    assert starttls_server.recorder.logins == 0  # the password never left


def test_no_starttls_offered_means_no_login(store: Store, certs) -> None:
    server = start_server(certs, "none")
    try:
        channel = SmtpChannel("127.0.0.1", server.port, tls="starttls", username=USER, secret=lambda: PASSWORD,
                              sender=TO, to=TO, ca_file=str(certs[0]), timeout=10)
        result = send_once(store, channel)
        assert result.status == "failed" and "does not offer STARTTLS" in (result.error or "")
        assert server.recorder.logins == 0
    finally:
        server.controller.stop()


# -- exactly once across a crash --------------------------------------------------------------

class Crash(BaseException):
    """The process dies right after the server accepted the message, before it is recorded."""


class CrashAfterSend:
    def __init__(self, inner: SmtpChannel) -> None:
        self.inner, self.name = inner, inner.name

    def send(self, msg: Any) -> None:
        self.inner.send(msg)
        raise Crash()

    def already_delivered(self, message_id: str) -> bool | None:
        return self.inner.already_delivered(message_id)

    def describe(self) -> str:
        return self.inner.describe()


def test_crash_between_send_and_record_sends_exactly_once(tmp_path: Path, starttls_server: SmtpServer, dovecot_user) -> None:
    """The server delivers into the user's (Dovecot) INBOX; after the crash, offerwatch finds the
    digest there by Message-ID (read-only) and marks it sent instead of sending it again."""
    starttls_server.recorder.forward = lambda data: dovecot_user.append("INBOX", data)
    verifier = imap_verifier(dovecot_user.client, ["\\Sent", "INBOX"])  # as make_channel does
    path = tmp_path / "crash.db"
    store, _ = sample_store(path)
    with pytest.raises(Crash):
        send_once(store, CrashAfterSend(channel_for(starttls_server, verifier=verifier)))
    row = digest_row(store, NOW.date())
    assert row is not None and row["status"] == "pending" and not row["error"]
    store.close()

    with Store.open(path) as restarted:  # a new process
        result = send_once(restarted, channel_for(starttls_server, verifier=verifier), now=NOW + timedelta(minutes=10))
        assert result.status == "recovered" and result.message_id == row["message_id"]
        assert digest_row(restarted, NOW.date())["status"] == "sent"
        assert send_once(restarted, channel_for(starttls_server, verifier=verifier)).status == "already_sent"
    assert len(starttls_server.recorder.messages) == 1
    with dovecot_user.client() as c:
        c.select_folder("INBOX", readonly=True)
        assert len(c.search(["HEADER", "Message-ID", row["message_id"]])) == 1


def test_crash_without_a_way_to_look_resends_with_the_same_message_id(tmp_path: Path, starttls_server: SmtpServer) -> None:
    """No mailbox to check: the digest is sent again, as the same message (one in any mail client)."""
    path = tmp_path / "crash.db"
    store, _ = sample_store(path)
    with pytest.raises(Crash):
        send_once(store, CrashAfterSend(channel_for(starttls_server)))
    store.close()
    with Store.open(path) as restarted:
        assert send_once(restarted, channel_for(starttls_server), now=NOW + timedelta(minutes=10)).status == "sent"
    first, second = starttls_server.recorder.parsed()
    assert first["Message-ID"] == second["Message-ID"]


def test_an_unknown_outcome_moments_ago_is_looked_for_again_before_resending(tmp_path: Path, starttls_server: SmtpServer) -> None:
    path = tmp_path / "crash.db"
    store, _ = sample_store(path)
    with pytest.raises(Crash):
        send_once(store, CrashAfterSend(channel_for(starttls_server, verifier=lambda mid: False)))
    # a restart one minute later: not in the mailbox yet, maybe still on its way
    result = send_once(store, channel_for(starttls_server, verifier=lambda mid: False), now=NOW + timedelta(minutes=1))
    assert result.status == "deferred" and len(starttls_server.recorder.messages) == 1
    store.close()


def test_delivery_error_text_never_holds_the_password() -> None:
    err = DeliveryError("x", transient=False)
    assert str(err) == "x"
    from offerwatch.daemon.secrets import register_secret

    register_secret("hunter2-secret")
    assert "hunter2-secret" not in str(DeliveryError("login hunter2-secret refused", transient=False))
