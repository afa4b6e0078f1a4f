"""Account secrets: where they come from, and how they are kept out of logs and errors.

A secret is never in the config file by default. It comes, in this order of precedence,
from a ``token_command`` (OAuth2 access token for ``auth = "xoauth2"``), a
``password_command`` (like mbsync's ``PassCmd``: the first line of its output), an
environment variable (``password_env``), or the system keyring (service ``offerwatch``,
key = the account name), which is what ``offerwatch init`` writes.

Every secret obtained here is registered for redaction: :func:`redact` replaces it with
``***`` in any text, and :class:`RedactingFilter` does the same for log records (message,
arguments and formatted tracebacks), so that a secret echoed back by a server, a library
debug line or an exception cannot reach a log file. Error messages of this module name
the *source* of a secret (which variable, which command, which keyring entry) and what
to do, never its value nor the command's output.

Example::

    provider = SecretProvider("personal", password_command="pass show mail/fastmail")
    password = provider()        # runs the command each time it is called
    provider.description         # 'password_command (pass ...)'
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

#: Keyring service name under which account passwords are stored.
KEYRING_SERVICE = "offerwatch"

#: What a redacted secret looks like in text.
REDACTED = "***"

#: Secrets shorter than this are not registered: replacing every "a" in a log would only
#: destroy the log, and such a secret is not worth protecting by obscurity anyway.
MIN_REDACT_LENGTH = 3

_lock = threading.Lock()
_secrets: set[str] = set()


class SecretError(Exception):
    """A secret could not be obtained; the message says from where and what to do."""


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that :func:`redact` and :class:`RedactingFilter` hide it."""
    if not value or len(value) < MIN_REDACT_LENGTH:
        return
    with _lock:
        _secrets.add(value)
        # The same secret as bytes repr or with quotes escaped is how imaplib and
        # exception texts tend to show it.
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        if escaped != value:
            _secrets.add(escaped)


def forget_secrets() -> None:
    """Drop every registered secret (for tests that check registration itself)."""
    with _lock:
        _secrets.clear()


def redact(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every registered secret (and each of ``extra``) replaced by ``***``.

    Longest first, so a secret that contains another is hidden whole.
    """
    with _lock:
        values = set(_secrets)
    values.update(v for v in extra if v and len(v) >= MIN_REDACT_LENGTH)
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that removes registered secrets from every record it sees.

    Attach it to *handlers* (see :func:`install_log_redaction`): a filter on a logger
    only sees records logged on that very logger, not those of its children.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError) as exc:  # a malformed %-format in some library
            message = f"{record.msg!r} (unformattable arguments: {exc})"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction(logger_: logging.Logger | None = None) -> RedactingFilter:
    """Add one :class:`RedactingFilter` to every handler of ``logger_`` (root by default).

    Idempotent; call it after logging is configured (the CLI does, before any account
    is touched). Returns the filter so callers can attach it to handlers added later.
    """
    target = logger_ or logging.getLogger()
    existing = [f for h in target.handlers for f in h.filters if isinstance(f, RedactingFilter)]
    flt = existing[0] if existing else RedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt


def _program(command: str) -> str:
    """The program name of a shell command, for messages (the arguments may be private)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return f"{words[0]} ..." if words else "(empty)"


def run_secret_command(command: str, *, what: str, account: str, timeout: float = 30.0) -> str:
    """Run a shell ``command`` and return the first line of its standard output.

    The first line only, like mbsync's PassCmd, so that ``pass show entry`` (password on
    line one, notes below) works as is. Its standard error is discarded unread: it may
    echo the secret, and it is the user's own terminal that should show it (we say so).
    """
    if not command.strip():
        raise SecretError(f"account {account!r}: {what} is empty; set it to a command that prints the secret")
    try:
        proc = subprocess.run(
            command,
            shell=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SecretError(
            f"account {account!r}: {what} ({_program(command)}) did not finish within {timeout:.0f} s; "
            "is it waiting for a passphrase prompt? Run it in a terminal to check"
        ) from None
    except OSError as exc:
        raise SecretError(f"account {account!r}: could not run {what} ({_program(command)}): {exc.strerror}") from None
    if proc.returncode != 0:
        hint = " (command not found)" if proc.returncode == 127 else ""
        raise SecretError(
            f"account {account!r}: {what} ({_program(command)}) failed with exit status {proc.returncode}{hint}; "
            "run it in a terminal to see its error output, which is not logged because it may hold the secret"
        )
    try:
        output = proc.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"account {account!r}: {what} ({_program(command)}) printed something that is not UTF-8") from None
    lines = output.splitlines()
    first_line = lines[0].strip() if lines else ""
    if not first_line:
        raise SecretError(f"account {account!r}: {what} ({_program(command)}) printed nothing on its first line")
    register_secret(first_line)
    return first_line


@dataclass(frozen=True)
class SecretProvider:
    """Obtains one account's secret afresh on every call (tokens expire, passwords change).

    Exactly one source is used: ``token_command``, ``password_command``, ``password_env``
    or, when none is set, the keyring. Setting more than one is a configuration error,
    reported on the first call rather than silently picking one.
    """

    account: str
    password_env: str | None = None
    password_command: str | None = None
    token_command: str | None = None
    keyring_service: str = KEYRING_SERVICE
    timeout: float = 30.0

    @property
    def source(self) -> str:
        """``"token_command"``, ``"password_command"``, ``"password_env"`` or ``"keyring"``."""
        chosen = [n for n in ("token_command", "password_command", "password_env") if getattr(self, n)]
        if len(chosen) > 1:
            raise SecretError(
                f"account {self.account!r}: set only one of {', '.join(chosen)} (they are alternatives)"
            )
        return chosen[0] if chosen else "keyring"

    @property
    def description(self) -> str:
        """Where the secret comes from, for messages; never the secret itself."""
        source = self.source
        if source == "password_env":
            return f"environment variable {self.password_env}"
        if source == "keyring":
            return f"system keyring (service {self.keyring_service!r}, key {self.account!r})"
        command = self.token_command if source == "token_command" else self.password_command
        return f"{source} ({_program(command or '')})"

    def __call__(self) -> str:
        source = self.source
        if source == "token_command":
            return run_secret_command(self.token_command or "", what="token_command", account=self.account, timeout=self.timeout)
        if source == "password_command":
            return run_secret_command(
                self.password_command or "", what="password_command", account=self.account, timeout=self.timeout
            )
        if source == "password_env":
            value = os.environ.get(self.password_env or "")
            if not value:
                raise SecretError(
                    f"account {self.account!r}: environment variable {self.password_env} is not set or empty; "
                    "export it before starting offerwatch, or use the keyring (offerwatch init)"
                )
            register_secret(value)
            return value
        return self._from_keyring()

    def _from_keyring(self) -> str:
        import keyring
        import keyring.errors

        try:
            value = keyring.get_password(self.keyring_service, self.account)
        except keyring.errors.KeyringError as exc:
            raise SecretError(
                f"account {self.account!r}: the system keyring is not usable ({type(exc).__name__}); "
                "unlock or install a keyring backend, or set password_command or password_env in the config"
            ) from None
        if not value:
            raise SecretError(
                f"account {self.account!r}: no password in the system keyring (service {self.keyring_service!r}, "
                f"key {self.account!r}); run `offerwatch init` to store it, or set password_command or password_env"
            )
        register_secret(value)
        return value


def store_in_keyring(account: str, secret: str, service: str = KEYRING_SERVICE) -> None:
    """Save ``secret`` for ``account`` in the system keyring (what ``offerwatch init`` does)."""
    import keyring
    import keyring.errors

    register_secret(secret)
    try:
        keyring.set_password(service, account, secret)
    except keyring.errors.KeyringError as exc:
        raise SecretError(
            f"account {account!r}: could not store the password in the system keyring ({type(exc).__name__}); "
            "use password_command or password_env instead"
        ) from None
