"""Secrets come from keyring, env var or a command, and never reach logs or error messages."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import keyring
import keyring.backend
import keyring.errors
import pytest
from dovecot import DovecotServer

from offerwatch.daemon.secrets import (
    REDACTED,
    RedactingFilter,
    SecretError,
    SecretProvider,
    forget_secrets,
    install_log_redaction,
    redact,
    register_secret,
    store_in_keyring,
)
from offerwatch.daemon.sources.imap import ImapCredentialError, ImapSource


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend (the library's own interface) that keeps entries in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("the collection is locked")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def test_env_var_is_read_and_registered_for_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OW_TEST_PASSWORD", "env-secret-123")
    provider = SecretProvider("personal", password_env="OW_TEST_PASSWORD")
    assert provider() == "env-secret-123"
    assert provider.description == "environment variable OW_TEST_PASSWORD"
    assert redact("login with env-secret-123 failed") == f"login with {REDACTED} failed"


def test_missing_env_var_says_which_and_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OW_TEST_MISSING", raising=False)
    with pytest.raises(SecretError, match=r"account 'personal': environment variable OW_TEST_MISSING is not set"):
        SecretProvider("personal", password_env="OW_TEST_MISSING")()


def test_password_command_uses_the_first_line_like_passcmd() -> None:
    provider = SecretProvider("work", password_command="printf 'cmd-secret-1\\nurl: imap.example\\n'")
    assert provider() == "cmd-secret-1"
    assert provider.description == "password_command (printf ...)"
    assert "cmd-secret-1" not in provider.description
    assert redact("x cmd-secret-1 y") == f"x {REDACTED} y"


def test_failing_command_error_shows_neither_output_nor_stderr() -> None:
    command = "echo half-secret-out; echo stderr-secret-text >&2; exit 3"
    with pytest.raises(SecretError) as info:
        SecretProvider("work", password_command=command)()
    text = str(info.value)
    assert "account 'work'" in text and "exit status 3" in text and "run it in a terminal" in text
    assert "half-secret-out" not in text and "stderr-secret-text" not in text
    assert info.value.__cause__ is None


def test_missing_program_and_timeout_and_empty_output_are_explained() -> None:
    with pytest.raises(SecretError, match="command not found"):
        SecretProvider("a", password_command="offerwatch-no-such-helper --x")()
    with pytest.raises(SecretError, match="did not finish within"):
        SecretProvider("a", password_command="sleep 5", timeout=0.3)()
    with pytest.raises(SecretError, match="printed nothing"):
        SecretProvider("a", password_command="true")()


def test_token_command_is_used_for_xoauth2() -> None:
    provider = SecretProvider("gmail", token_command="echo ya29.token-value")
    assert provider.source == "token_command" and provider() == "ya29.token-value"


def test_two_sources_at_once_is_a_config_error() -> None:
    with pytest.raises(SecretError, match="set only one of password_command, password_env"):
        SecretProvider("a", password_command="echo x", password_env="X")()


def test_keyring_is_the_default(memory_keyring: MemoryKeyring) -> None:
    provider = SecretProvider("personal")
    with pytest.raises(SecretError, match="offerwatch init"):
        provider()
    store_in_keyring("personal", "ring-secret-9")
    assert memory_keyring.entries == {("offerwatch", "personal"): "ring-secret-9"}
    assert provider() == "ring-secret-9"
    assert provider.description == "system keyring (service 'offerwatch', key 'personal')"


def test_unusable_keyring_suggests_the_alternatives() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        with pytest.raises(SecretError, match="password_command or password_env"):
            SecretProvider("personal")()
    finally:
        keyring.set_keyring(previous)


def test_redact_hides_longest_first_and_ignores_tiny_values() -> None:
    register_secret("abcdef")
    register_secret("abc")
    register_secret("ab")  # too short to be worth destroying every log line for
    assert redact("xx abcdefgh ab") == f"xx {REDACTED}gh ab"
    assert redact("key q abc", extra=["key q"]) == f"{REDACTED} {REDACTED}"


def test_logging_filter_redacts_message_args_and_traceback() -> None:
    secret = 'p@ss "word"'
    register_secret(secret)
    stream = io.StringIO()
    log = logging.getLogger("offerwatch.test.redaction")
    log.propagate = False
    handler = logging.StreamHandler(stream)
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        flt = install_log_redaction(log)
        assert install_log_redaction(log) is flt and handler.filters == [flt]  # idempotent
        log.debug("login with %s", secret)
        try:
            escaped = secret.replace('"', '\\"')  # as a server or imaplib would quote it
            raise RuntimeError(f'server said LOGIN "{escaped}" bad')
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert "p@ss" not in out and out.count(REDACTED) >= 2 and "RuntimeError" in out
    assert isinstance(flt, RedactingFilter)


@pytest.mark.integration
def test_imap_source_logs_in_with_a_provider_and_reports_a_missing_secret(
    dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = dovecot.create_user()
    monkeypatch.setenv("OW_TEST_IMAP_PASSWORD", user.password)
    provider = SecretProvider("acct", password_env="OW_TEST_IMAP_PASSWORD")
    with ImapSource("acct", dovecot.host, dovecot.imaps_port, ca_file=dovecot.ca_file, username=user.name,
                    secret=provider) as src:
        assert [f.name for f in src.folders()] == ["INBOX", "Sent"]
    monkeypatch.delenv("OW_TEST_IMAP_PASSWORD")
    src = ImapSource("acct", dovecot.host, dovecot.imaps_port, ca_file=dovecot.ca_file, username=user.name,
                     secret=provider)
    with pytest.raises(ImapCredentialError, match="account 'acct'.*OW_TEST_IMAP_PASSWORD is not set"):
        src.connect()
    assert not src.connected
