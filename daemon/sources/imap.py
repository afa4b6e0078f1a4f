"""Read a mailbox over IMAP, strictly read-only, cheap first, with errors a user can act on.

Promises (each backed by a test against a real Dovecot):

* Read-only: folders are opened with EXAMINE (``select_folder(readonly=True)``) and bodies
  fetched with ``BODY.PEEK`` only, so no flag (``\\Seen``) ever changes. No STORE, COPY,
  MOVE, EXPUNGE, DELETE is ever sent.
* Incremental: :meth:`ImapSource.messages` yields messages with ``uid > after_uid`` in
  ascending UID order; ``UID n:*`` always returns the last message, so the filter is
  applied on the client. UIDVALIDITY is part of :class:`FolderInfo` and re-checked on
  every EXAMINE. A poll with nothing new costs LIST and one STATUS per folder: when the
  UIDNEXT of the :meth:`ImapSource.folders` pass says no UID was given out, the folder is
  not even opened.
* Cheap first: RFC822.SIZE and INTERNALDATE in batches, then whole bodies only for
  messages within the size cap; BODYSTRUCTURE is asked only of the larger ones. A larger message is rebuilt from its header,
  the MIME headers of every part and the text parts (partial fetch ``<0.N>``), so a 30 MB
  attachment is never downloaded; the result is marked ``truncated``.
* Errors are wrapped once into :class:`ImapError` subclasses that name the account, the
  server and the folder, say what to do, and never contain a secret.
  :class:`ImapConnectionError` is transient (retry with :func:`connect_with_retry` /
  :class:`RetryPolicy`); :class:`ImapAuthError` is not (no retry storm on a wrong password).

Example::

    source = ImapSource("personal", "imap.fastmail.com", 993, username="me@fastmail.com",
                        secret=SecretProvider("personal"))
    connect_with_retry(source)
    for folder in source.folders():      # [FolderInfo('INBOX', 1700000000, 'inbox'), ...]
        for raw in source.messages(folder, after_uid=0, since=None, until=None):
            ...
    source.close()
"""

from __future__ import annotations

import imaplib
import logging
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from imapclient import IMAPClient, SocketTimeout
from imapclient import exceptions as imap_exc
from imapclient.response_types import BodyData

from offerwatch.daemon.secrets import SecretError, redact
from offerwatch.daemon.sources.base import DEFAULT_MAX_MESSAGE_BYTES, FolderInfo, SourceError
from offerwatch.models.domain import Location, RawMessage

logger = logging.getLogger(__name__)

TlsMode = Literal["implicit", "starttls", "none"]
AuthMode = Literal["password", "xoauth2"]

#: Messages per metadata FETCH (SIZE, INTERNALDATE): one round trip each.
META_BATCH = 500
#: Upper bound of body bytes requested in one FETCH of whole small messages.
BODY_BATCH_BYTES = 8 * 1024 * 1024
#: And of messages in one such FETCH.
BODY_BATCH_COUNT = 200

#: MIME types whose content is read (up to the cap) when a message is too large to take
#: whole: what the parser, the signal rules and the calendar reader look at.
TEXT_TYPES = frozenset({"text/plain", "text/html", "text/calendar", "application/ics"})

#: Parts of one large message whose MIME headers are fetched at most.
MAX_PARTS = 300

#: Bytes of a large message's header block fetched at most (and at most an eighth of the
#: message cap): a 20 MB header must neither be downloaded nor push the body out.
HEADER_CAP = 256 * 1024
#: The MIME fields that say how to read the body, fetched apart so a cut header keeps them.
_MIME_FIELDS = "HEADER.FIELDS (CONTENT-TYPE CONTENT-TRANSFER-ENCODING MIME-VERSION)"

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


# -- errors ---------------------------------------------------------------------------------


class ImapError(SourceError):
    """An IMAP account could not be read. The text names account, server and folder.

    ``transient`` says whether retrying later can help (connection lost, server busy);
    callers decide by it rather than by class where they only need that.
    """

    transient: ClassVar[bool] = False

    def __init__(self, message: str, *, account: str = "", server: str = "", folder: str | None = None) -> None:
        where = f"account {account!r}" if account else "IMAP"
        if server:
            where += f" ({server})"
        if folder:
            where += f", folder {folder!r}"
        super().__init__(redact(f"{where}: {message}"))
        self.account = account
        self.server = server
        self.folder = folder


class ImapConfigError(ImapError):
    """The account's settings cannot work (plaintext not allowed, missing CA file...)."""


class ImapCredentialError(ImapConfigError):
    """The secret could not be obtained (keyring empty, command failed, variable unset)."""


class ImapAuthError(ImapError):
    """The server refused the login. Not retried automatically: fix the credentials.

    ``server_text`` is the server's (redacted) answer, ``advice`` what to do about it.
    """

    def __init__(self, message: str, *, server_text: str = "", advice: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.server_text = redact(server_text)
        self.advice = advice


class ImapTlsError(ImapError):
    """TLS could not be established safely (certificate not trusted, no STARTTLS)."""


class ImapUntrustedCertificate(ImapTlsError):
    """The server's certificate does not verify: ``ca_file`` must name the CA that signed it."""


class ImapConnectionError(ImapError):
    """The connection failed or broke (refused, reset, timeout, server abort): retry later."""

    transient = True


class ImapFolderError(ImapError):
    """A folder could not be opened or read (missing, no permission)."""


class ImapUidValidityChanged(ImapError):
    """A folder's UIDVALIDITY changed since :meth:`ImapSource.folders` reported it.

    Stored UIDs of the old value mean nothing now; call ``folders()`` again and let the
    sync engine handle the new generation.
    """

    transient = True

    def __init__(self, message: str, *, old: int, new: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.old = old
        self.new = new


#: Server answers to a failed login that mean "this method of logging in is off", with
#: what to do about it. Matched case-insensitively against the server's text.
_USE_OAUTH = 'this server no longer accepts passwords: set auth = "xoauth2" and a token_command'
_APP_PASSWORD = "the provider requires an app password: create one in its security settings and store that instead"
_CHECK = "check the username and the password (with two-factor sign-in, an app password)"
_NEED_TLS = 'the server only accepts logins over TLS: use tls = "implicit" or "starttls"'
AUTH_ADVICE: tuple[tuple[str, str], ...] = (
    ("basic authentication is disabled", _USE_OAUTH),  # Microsoft 365
    ("basicauthblocked", _USE_OAUTH),
    ("application-specific password required", _APP_PASSWORD),  # Gmail, iCloud
    ("app password", _APP_PASSWORD),
    ("web browser", 'the provider blocked this sign-in; use an app password or auth = "xoauth2" with a token_command'),
    ("invalid credentials", _CHECK),
    ("authenticationfailed", _CHECK),
    ("authentication failed", _CHECK),
    ("privacyrequired", _NEED_TLS),
    ("logindisabled", _NEED_TLS),
)

#: Server answers to a login that mean "try again later", not "wrong password".
TRANSIENT_AUTH_CODES = (
    "[unavailable]",
    "temporary",
    "try again",
    "[inuse]",
    "[limit]",
    "too many simultaneous connections",
)


def auth_advice(server_text: str) -> str:
    """What to tell the user for a refused login, by the server's words."""
    low = server_text.lower()
    for needle, advice in AUTH_ADVICE:
        if needle in low:
            return advice
    return "check the username and the password"


def _announces_mail(responses: Sequence[Any]) -> bool:
    """Whether untagged IMAP responses include ``* n EXISTS`` (new mail in the selected folder)."""
    return any(isinstance(r, tuple) and len(r) >= 2 and r[1] == b"EXISTS" for r in responses)


def quiet_imaplib(client: IMAPClient) -> None:
    """Switch off imaplib's trace of every response unless someone reads it.

    IMAPClient sets imaplib's ``debug`` to 5 on each connection and sends imaplib's trace to
    the ``imapclient.imaplib`` logger at DEBUG, but imaplib formats each trace line before the
    logger can drop it: a ``repr()`` of every fetched body as it arrives, and of the whole
    batch again when the FETCH completes. In a backfill that was about 30% of the process's
    time (py-spy on ``bench/imap_backfill.py``). With that logger enabled for DEBUG the trace
    stays on (it then holds mail text: a debugging aid, never a default).
    """
    if logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        return
    imap = getattr(client, "_imap", None)  # IMAPClient's imaplib.IMAP4; a test double may have none
    if imap is not None:
        imap.debug = 0


def _text(value: object) -> str:
    """Server response fragments (bytes, lists of bytes, exceptions) as readable text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return " ".join(_text(v) for v in value)
    text = str(value)
    # imaplib puts bytes reprs into its messages: b'[AUTHENTICATIONFAILED] ...'
    if len(text) >= 3 and text[0] == "b" and text[1] in "'\"" and text[-1] == text[1]:
        text = text[2:-1]
    return text


# -- the source -----------------------------------------------------------------------------


@dataclass
class SourceStats:
    """Counts of what a source did, for progress lines and the benchmark."""

    messages: int = 0
    truncated: int = 0
    skipped: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class _Part:
    """One leaf of a BODYSTRUCTURE: ``section`` as IMAP numbers it (``"1.2"``; ``""`` for a
    single-part message), full MIME type, transfer encoding and encoded size."""

    section: str
    mime: str
    encoding: str
    size: int


@dataclass
class _Node:
    """A BODYSTRUCTURE tree node: a multipart (with its boundary and children) or a leaf."""

    section: str
    part: _Part | None = None
    boundary: str = ""
    children: list[_Node] = field(default_factory=list)


class ImapSource:
    """One IMAP account as a :class:`~offerwatch.daemon.sources.base.MailSource`.

    Plain parameters, so the config layer decides names and defaults. ``secret`` is a
    callable returning the password or the OAuth2 access token, called at each login
    (tokens expire). ``client_factory`` builds the connection with IMAPClient's
    signature; tests pass a subclass that records commands.

    Not thread-safe, and one :meth:`messages` iterator at a time per source: they share
    one connection (an iterator re-selects its folder if another call selected another).
    """

    def __init__(
        self,
        name: str,
        host: str,
        port: int | None = None,
        *,
        tls: TlsMode = "implicit",
        allow_insecure: bool = False,
        ca_file: str | os.PathLike[str] | None = None,
        username: str,
        auth: AuthMode = "password",
        secret: Callable[[], str],
        folders: Sequence[str] | None = None,
        timeout: float = 60.0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        client_factory: Callable[..., IMAPClient] = IMAPClient,
    ) -> None:
        self.account = name
        self.host = host
        self.tls: TlsMode = tls
        self.port = port or (993 if tls == "implicit" else 143)
        self.allow_insecure = allow_insecure
        self.ca_file = os.fspath(ca_file) if ca_file else None
        self.username = username
        self.auth: AuthMode = auth
        self._secret = secret
        self.configured_folders = list(folders) if folders else None
        self.timeout = timeout
        self.max_message_bytes = max_message_bytes
        self._client_factory = client_factory
        self._client: IMAPClient | None = None
        self._selected: str | None = None
        # UIDNEXT by folder from the STATUS of the last folders() call, used once by
        # messages() (and by count() before it) to skip EXAMINE when nothing is new.
        self._uidnext: dict[str, tuple[int, int]] = {}
        self._capabilities: frozenset[str] = frozenset()
        self._gmail = False
        self._gm_seen: set[int] = set()
        self._gm_all_folders: set[str] = set()
        self.problems: list[str] = []
        self.stats = SourceStats()
        self._check_settings()

    # -- settings and context -------------------------------------------------------------

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def _err(self, cls: type[ImapError], message: str, folder: str | None = None, **kw: Any) -> ImapError:
        return cls(message, account=self.account, server=self.server, folder=folder, **kw)

    def _check_settings(self) -> None:
        if self.tls not in ("implicit", "starttls", "none"):
            raise self._err(ImapConfigError, f'tls = {self.tls!r} is not one of "implicit", "starttls", "none"')
        if self.auth not in ("password", "xoauth2"):
            raise self._err(ImapConfigError, f'auth = {self.auth!r} is not one of "password", "xoauth2"')
        if self.tls == "none" and not self.allow_insecure:
            raise self._err(
                ImapConfigError,
                'tls = "none" would send the password and mail unencrypted; use tls = "implicit" '
                '(port 993) or "starttls" (port 143), or set allow_insecure = true if you really mean it',
            )
        if self.ca_file and not os.path.isfile(self.ca_file):
            raise self._err(ImapConfigError, f"ca_file {self.ca_file!r} does not exist or is not a file")
        if self.max_message_bytes < 1024:
            raise self._err(ImapConfigError, f"max_message_bytes = {self.max_message_bytes} is too small (at least 1024)")

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying context (system CAs plus ``ca_file``), or, only with
        ``allow_insecure``, one that accepts any certificate."""
        ctx = ssl.create_default_context()
        if self.ca_file:
            try:
                ctx.load_verify_locations(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise self._err(ImapConfigError, f"ca_file {self.ca_file!r} could not be loaded: {exc}") from exc
        if self.allow_insecure:
            logger.warning(
                "account %r: allow_insecure = true: the server certificate of %s is NOT verified", self.account, self.server
            )
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    # -- connection -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client is not None

    def connect(self) -> None:
        """Connect, secure and log in, unless already connected. Raises :class:`ImapError`."""
        if self._client is not None:
            return
        if self.tls == "none" and self.host not in _LOOPBACK:
            logger.warning("account %r: connecting to %s WITHOUT encryption (allow_insecure)", self.account, self.server)
        ctx = self.ssl_context() if self.tls != "none" else None
        started = time.monotonic()
        try:
            client = self._client_factory(
                self.host,
                self.port,
                ssl=self.tls == "implicit",
                ssl_context=ctx if self.tls == "implicit" else None,
                timeout=SocketTimeout(connect=self.timeout, read=self.timeout),
            )
        except Exception as exc:  # noqa: BLE001 - classified and re-raised by _wrap
            raise self._wrap(exc, "connecting") from exc
        try:
            client.normalise_times = False  # keep the server's offset: aware datetimes
            quiet_imaplib(client)
            if self.tls == "starttls":
                if not client.has_capability("STARTTLS"):
                    raise self._err(
                        ImapTlsError,
                        'the server does not offer STARTTLS; use tls = "implicit" on port 993 '
                        "(offerwatch never falls back to an unencrypted login)",
                    )
                client.starttls(ctx)
            self._login(client)
            self._capabilities = frozenset(_text(c).upper() for c in client.capabilities())
        except BaseException as exc:
            _discard(client)
            if isinstance(exc, ImapError):
                raise
            if isinstance(exc, Exception):
                raise self._wrap(exc, "securing the connection and logging in") from exc
            raise
        self._client = client
        self._selected = None
        self._gmail = "X-GM-EXT-1" in self._capabilities
        logger.info(
            "account %r: connected to %s (%s) in %.2f s%s",
            self.account,
            self.server,
            "TLS" if self.tls == "implicit" else "STARTTLS" if self.tls == "starttls" else "no TLS",
            time.monotonic() - started,
            ", Gmail extensions" if self._gmail else "",
        )

    def _login(self, client: IMAPClient) -> None:
        try:
            secret = self._secret()
        except SecretError as exc:
            message = str(exc).removeprefix(f"account {self.account!r}: ")
            raise self._err(ImapCredentialError, message) from None
        caps = {_text(c).upper() for c in client.capabilities()}
        try:
            if self.auth == "xoauth2":
                if "AUTH=XOAUTH2" in caps or "AUTH=OAUTHBEARER" not in caps:
                    client.oauth2_login(self.username, secret)
                else:
                    client.oauthbearer_login(self.username, secret)
            else:
                if "LOGINDISABLED" in caps:
                    raise self._err(
                        ImapTlsError,
                        "the server refuses passwords on an unencrypted connection (LOGINDISABLED); "
                        'use tls = "implicit" or "starttls"',
                    )
                if secret.isascii() or "AUTH=PLAIN" not in caps:
                    client.login(self.username, secret)
                else:  # LOGIN cannot carry non-ASCII; SASL PLAIN is UTF-8
                    client.plain_login(self.username, secret)
        except imap_exc.LoginError as exc:
            server_text = redact(_text(exc), extra=[secret])
            if any(code in server_text.lower() for code in TRANSIENT_AUTH_CODES):
                raise self._err(
                    ImapConnectionError, f"the server could not check the login right now: {server_text}"
                ) from None
            advice = auth_advice(server_text)
            source = getattr(self._secret, "description", None)
            where = f" (secret from {source})" if source else ""
            raise self._err(
                ImapAuthError,
                f"login as {self.username!r} refused: {server_text}. What to do: {advice}{where}",
                server_text=server_text,
                advice=advice,
            ) from None
        except UnicodeEncodeError:
            raise self._err(
                ImapConfigError,
                "the password has non-ASCII characters and the server offers no AUTH=PLAIN to send them",
            ) from None

    def _wrap(self, exc: BaseException, doing: str, folder: str | None = None) -> ImapError:
        """Classify a low-level failure into the one :class:`ImapError` that says what to do."""
        if isinstance(exc, ImapError):
            return exc
        detail = redact(_text(exc) or type(exc).__name__)
        if isinstance(exc, ssl.SSLCertVerificationError):
            advice = (
                f"set ca_file to the CA that signed it (ca_file = {self.ca_file!r} does not)"
                if self.ca_file
                else "if the server uses a self-signed or private CA certificate, set ca_file to that CA"
            )
            return self._err(ImapUntrustedCertificate, f"the server certificate is not trusted ({exc.verify_message}); {advice}", folder)
        if isinstance(exc, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(exc):
            return self._err(
                ImapTlsError,
                f'TLS handshake failed ({detail}): port {self.port} may not speak implicit TLS; '
                'use port 993, or tls = "starttls" for port 143',
                folder,
            )
        if isinstance(exc, socket.gaierror):
            return self._err(ImapConnectionError, f"cannot resolve host {self.host!r} while {doing} ({detail})", folder)
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return self._err(ImapConnectionError, f"timed out after {self.timeout:.0f} s while {doing}", folder)
        if isinstance(exc, (imaplib.IMAP4.abort, OSError, EOFError)):
            return self._err(ImapConnectionError, f"connection lost while {doing}: {detail}", folder)
        if isinstance(exc, imap_exc.ProtocolError):
            return self._err(ImapError, f"unexpected server response while {doing}: {detail}", folder)
        if isinstance(exc, imaplib.IMAP4.error):
            cls = ImapFolderError if folder else ImapError
            return self._err(cls, f"the server refused {doing}: {detail}", folder)
        return self._err(ImapError, f"{type(exc).__name__} while {doing}: {detail}", folder)

    def _call(self, doing: str, fn: Callable[[IMAPClient], Any], folder: str | None = None) -> Any:
        """Run one IMAP command on the live connection, wrapping failures once.

        A connection-level failure discards the client (its state is unknown); the next
        call reconnects.
        """
        self.connect()
        client = self._client
        assert client is not None
        try:
            return fn(client)
        except Exception as exc:  # noqa: BLE001 - classified by _wrap
            err = self._wrap(exc, doing, folder)
            if err.transient or isinstance(exc, (imaplib.IMAP4.abort, OSError)):
                self._drop()
            raise err from exc

    def _drop(self) -> None:
        client, self._client, self._selected = self._client, None, None
        if client is not None:
            _discard(client)

    def close(self) -> None:
        """Log out (best effort: a dead connection is simply closed)."""
        client, self._client, self._selected = self._client, None, None
        if client is None:
            return
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            logger.debug("account %r: logout failed (%s); closing the socket", self.account, exc)
            _discard(client)

    def __enter__(self) -> ImapSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def supports_idle(self) -> bool:
        """Whether the server offers IMAP IDLE (RFC 2177); connects if needed."""
        self.connect()
        return "IDLE" in self._capabilities

    def idle_wait(self, folder: str, seconds: float, stop: threading.Event, check_seconds: float = 1.0) -> bool:
        """Wait in IMAP IDLE on ``folder`` (opened read-only) for at most ``seconds``.

        True as soon as the server announces new mail (an ``EXISTS`` response), False when the
        time ran out or ``stop`` was set. IDLE is always ended (``DONE``) before returning, so
        the caller can poll on another connection and come back; RFC 2177 asks clients to
        re-issue IDLE at least every 29 minutes, which a caller does by passing a shorter
        ``seconds``. ``stop`` is looked at every ``check_seconds``. Raises :class:`ImapError`.
        """

        def idle(client: IMAPClient) -> bool:
            if self._selected != folder:
                client.select_folder(folder, readonly=True)
                self._selected = folder
            # mail that arrived while this connection was not idling (during the poll it woke)
            # is announced in answer to the next command: ask with NOOP before going idle
            if _announces_mail(client.noop()[1]):
                return True
            client.idle()
            woke = False
            try:
                deadline = time.monotonic() + seconds
                while not woke and not stop.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    woke = _announces_mail(client.idle_check(timeout=min(check_seconds, left)))
            finally:
                tail = client.idle_done()[1]  # updates sent just before DONE count too
            return woke or _announces_mail(tail)

        return bool(self._call(f"waiting for new mail (IDLE) in {folder}", idle, folder=folder))

    def capabilities(self) -> list[str]:
        """The server's capabilities after login, e.g. ``['IMAP4REV1', 'IDLE', 'SPECIAL-USE']``."""
        self.connect()
        return sorted(self._capabilities)

    @property
    def is_gmail(self) -> bool:
        self.connect()
        return self._gmail

    # -- folders --------------------------------------------------------------------------

    def folders(self) -> list[FolderInfo]:
        """INBOX and the ``\\Sent`` special-use folder, or the configured folders.

        Example: ``[FolderInfo('INBOX', 1700000000, 'inbox'), FolderInfo('Sent', 1700000001, 'sent')]``.
        A configured folder that does not exist is logged, listed in ``problems`` and
        skipped, so one typo does not stop the other folders. On Gmail, ``[Gmail]/All Mail``
        is read last and only for messages not already read from another folder.
        """
        listing: list[tuple[tuple[bytes, ...], bytes, str]] = self._call("listing folders", lambda c: c.list_folders())
        flags_by_name = {name: {_text(f).lower() for f in flags} for flags, _delim, name in listing}
        by_lower = {name.lower(): name for name in flags_by_name}
        sent = next((n for n, f in flags_by_name.items() if "\\sent" in f), None)
        self._gm_all_folders = {n for n, f in flags_by_name.items() if "\\all" in f} if self._gmail else set()
        self.problems = []

        if self.configured_folders is None:
            wanted = ["INBOX"]
            if sent is None:
                sent = self._call("finding the Sent folder", lambda c: c.find_special_folder(b"\\Sent"))
                if sent:
                    logger.info("account %r: no \\Sent special-use folder; using %r by its name", self.account, sent)
            if sent:
                wanted.append(sent)
            else:
                self._problem("no Sent folder found (no \\Sent special-use flag): set folders in the config")
        else:
            wanted = []
            for name in self.configured_folders:
                actual = "INBOX" if name.upper() == "INBOX" else (name if name in flags_by_name else by_lower.get(name.lower()))
                if actual is None:
                    shown = ", ".join(sorted(flags_by_name)[:30])
                    self._problem(f"folder {name!r} does not exist on the server (it has: {shown}); fix folders in the config")
                    continue
                if {"\\noselect", "\\nonexistent"} & flags_by_name.get(actual, set()):
                    self._problem(f"folder {name!r} is only a container (\\Noselect) and holds no messages; remove it")
                    continue
                if actual not in wanted:
                    wanted.append(actual)
            if self._gmail:
                # All Mail holds every message of INBOX and Sent: read it last and dedupe.
                wanted.sort(key=lambda n: n in self._gm_all_folders)
                if any(n in self._gm_all_folders for n in wanted) and len(wanted) > 1:
                    logger.info(
                        "account %r: Gmail: All Mail is read after the other folders, skipping what they held",
                        self.account,
                    )

        result = []
        self._uidnext = {}
        for name in wanted:
            try:
                status = self._call("reading the folder status", _status_of(name), folder=name)
            except ImapFolderError as exc:
                self._problem(str(exc))
                continue
            uidnext = status.get(b"UIDNEXT")
            if isinstance(uidnext, int):
                self._uidnext[name] = (int(status[b"UIDVALIDITY"]), uidnext)
            role = "inbox" if name.upper() == "INBOX" else "sent" if "\\sent" in flags_by_name.get(name, set()) else None
            result.append(FolderInfo(name=name, uidvalidity=int(status[b"UIDVALIDITY"]), role=role))
        return result

    def _problem(self, text: str) -> None:
        logger.error("account %r: %s", self.account, text)
        self.problems.append(text)

    def _examine(self, folder: FolderInfo) -> dict[bytes, Any]:
        """EXAMINE (read-only SELECT) ``folder`` and check its UIDVALIDITY is unchanged."""
        info: dict[bytes, Any] = self._call(
            "opening the folder read-only", lambda c: c.select_folder(folder.name, readonly=True), folder=folder.name
        )
        self._selected = folder.name
        uidvalidity = int(info.get(b"UIDVALIDITY", 0))
        if uidvalidity != folder.uidvalidity:
            logger.warning(
                "account %r, folder %r: UIDVALIDITY changed from %d to %d",
                self.account,
                folder.name,
                folder.uidvalidity,
                uidvalidity,
            )
            raise self._err(
                ImapUidValidityChanged,
                f"UIDVALIDITY changed from {folder.uidvalidity} to {uidvalidity}: the folder was recreated; "
                "its messages will be matched again by Message-ID",
                folder.name,
                old=folder.uidvalidity,
                new=uidvalidity,
            )
        return info

    def _search(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None,
                status: tuple[int, int] | None = None) -> list[int]:
        """UIDs to read; ``status`` is ``(UIDVALIDITY, UIDNEXT)`` from the folders() pass, if trusted."""
        if after_uid > 0 and status is not None and status[0] == folder.uidvalidity and status[1] <= after_uid + 1:
            # STATUS of this folders() pass says no UID was given out since after_uid: the
            # common poll costs no EXAMINE (which scales with the folder's size on the server).
            return []
        info = self._examine(folder)
        uidnext = info.get(b"UIDNEXT")
        if after_uid > 0 and isinstance(uidnext, int) and uidnext <= after_uid + 1:
            return []  # nothing new: no SEARCH round trip (the common poll)
        criteria: list[Any] = []
        if after_uid > 0:
            criteria += ["UID", f"{after_uid + 1}:*"]
        if since is not None:
            criteria += ["SINCE", since]
        if until is not None:
            criteria += ["BEFORE", until]
        found = self._call("searching", lambda c: c.search(criteria or ["ALL"]), folder=folder.name)
        # `UID n:*` always matches the last message, even when it is older than n.
        return sorted(uid for uid in found if uid > after_uid)

    def count(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> int | None:
        """How many messages :meth:`messages` would yield (one SEARCH)."""
        return len(self._search(folder, after_uid, since, until, self._uidnext.get(folder.name)))

    # -- messages -------------------------------------------------------------------------

    def messages(
        self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None
    ) -> Iterator[RawMessage]:
        """Messages with ``uid > after_uid`` (and INTERNALDATE in ``[since, until)``), UID order.

        ``since``/``until`` become SEARCH SINCE/BEFORE, which compare the server's
        INTERNALDATE (arrival) by calendar day. A message that vanished between SEARCH and
        FETCH, or whose FETCH lacks an item, is logged and skipped.
        """
        # The folders() STATUS is trusted for one messages() call only: a later call (the
        # folder may have been recreated meanwhile) opens the folder and checks UIDVALIDITY.
        uids = self._search(folder, after_uid, since, until, self._uidnext.pop(folder.name, None))
        logger.debug("account %r, folder %r: %d messages after UID %d", self.account, folder.name, len(uids), after_uid)
        for start in range(0, len(uids), META_BATCH):
            batch = uids[start : start + META_BATCH]
            meta = self._fetch_meta(folder, batch)
            # Consecutive small messages share one FETCH (bounded in bytes, so memory stays
            # flat); a large one is read on its own. Either way, UID order is kept.
            for group in _groups([(uid, meta[uid][0]) for uid in batch if uid in meta], self.max_message_bytes):
                if len(group) == 1 and meta[group[0]][0] > self.max_message_bytes:
                    uid = group[0]
                    built = self._fetch_large(folder, uid, meta[uid][0], meta[uid][1])
                    found = {uid: built} if built is not None else {}
                else:
                    found = self._fetch_small_bodies(folder, group)
                for uid in group:
                    data = found.get(uid)
                    if data is None:
                        continue  # skipped, and logged where it was noticed
                    size, _structure, internal_date, _gm = meta[uid]
                    truncated = size > self.max_message_bytes
                    self.stats.messages += 1
                    self.stats.truncated += truncated
                    self.stats.bytes += len(data)
                    yield RawMessage(
                        location=Location(self.account, folder.name, folder.uidvalidity, uid, str(uid)),
                        data=data,
                        size=size,
                        internal_date=internal_date,
                        truncated=truncated,
                    )

    def _ensure_selected(self, folder: FolderInfo) -> None:
        if self._selected != folder.name or self._client is None:
            self._examine(folder)

    def _skip(self, folder: FolderInfo, uid: int, why: str) -> None:
        self.stats.skipped += 1
        logger.warning("account %r, folder %r: UID %d skipped: %s", self.account, folder.name, uid, why)

    def _fetch_meta(
        self, folder: FolderInfo, uids: list[int]
    ) -> dict[int, tuple[int, BodyData | None, datetime | None, int | None]]:
        """``{uid: (size, bodystructure, internaldate, x-gm-msgid)}`` for the live ``uids``.

        Example: ``{4211: (5120, BodyData(...), datetime(2026, 6, 1, 9, 30, tzinfo=...), None)}``.
        """
        self._ensure_selected(folder)
        # BODYSTRUCTURE only for the messages over the cap, which are read part by part: the
        # client parses it in Python, and asking it of every message cost 15% of a backfill.
        items = ["RFC822.SIZE", "INTERNALDATE"]
        if self._gmail:
            items.append("X-GM-MSGID")
        response = self._fetch(folder, uids, items)
        out: dict[int, tuple[int, BodyData | None, datetime | None, int | None]] = {}
        for uid in uids:
            data = response.get(uid)
            if data is None:
                logger.info(
                    "account %r, folder %r: UID %d vanished between SEARCH and FETCH (deleted meanwhile); skipped",
                    self.account,
                    folder.name,
                    uid,
                )
                self.stats.skipped += 1
                continue
            size = data.get(b"RFC822.SIZE")
            if not isinstance(size, int):
                self._skip(folder, uid, "the server's FETCH response has no RFC822.SIZE")
                continue
            gm = data.get(b"X-GM-MSGID")
            gm_id = int(gm) if isinstance(gm, int) or (isinstance(gm, bytes) and gm.isdigit()) else None
            if self._gmail and gm_id is not None:
                if folder.name in self._gm_all_folders and gm_id in self._gm_seen:
                    logger.debug("account %r: Gmail message %d already read from another folder", self.account, gm_id)
                    continue
                self._gm_seen.add(gm_id)
            internal = data.get(b"INTERNALDATE")
            out[uid] = (size, None, internal if isinstance(internal, datetime) else None, gm_id)
        large = [uid for uid, (size, *_rest) in out.items() if size > self.max_message_bytes]
        structures = self._fetch(folder, large, ["BODYSTRUCTURE"]) if large else {}
        for uid in large:
            structure = structures.get(uid, {}).get(b"BODYSTRUCTURE")
            if structure is None:
                self._skip(folder, uid, f"{out[uid][0]} bytes and the server's FETCH response has no BODYSTRUCTURE")
                del out[uid]
                continue
            out[uid] = (out[uid][0], structure, *out[uid][2:])
        return out

    def _fetch(self, folder: FolderInfo, uids: list[int], items: list[str]) -> dict[int, dict[bytes, Any]]:
        """UID FETCH with one fallback: if the batch's response cannot be parsed, fetch the
        messages one by one so one malformed message does not block the others."""
        try:
            return dict(self._call("fetching", _fetch_of(uids, items), folder=folder.name))
        except ImapError as exc:
            if exc.transient or len(uids) == 1 or not isinstance(exc.__cause__, imap_exc.IMAPClientError):
                raise
            logger.warning(
                "account %r, folder %r: FETCH of %d messages failed (%s); retrying one by one",
                self.account,
                folder.name,
                len(uids),
                exc,
            )
        out: dict[int, dict[bytes, Any]] = {}
        for uid in uids:
            try:
                out.update(self._call("fetching", _fetch_of([uid], items), folder=folder.name))
            except ImapError as exc:
                if exc.transient:
                    raise
                self._skip(folder, uid, str(exc))
        return out

    def _fetch_small_bodies(self, folder: FolderInfo, uids: list[int]) -> dict[int, bytes]:
        """Whole bodies (``BODY.PEEK[]``) of messages within the cap, in one FETCH."""
        self._ensure_selected(folder)
        response = self._fetch(folder, uids, ["BODY.PEEK[]"])
        out: dict[int, bytes] = {}
        for uid in uids:
            body = response.get(uid, {}).get(b"BODY[]")
            if uid not in response:
                logger.info(
                    "account %r, folder %r: UID %d vanished before its body was read; skipped",
                    self.account,
                    folder.name,
                    uid,
                )
                self.stats.skipped += 1
            elif not isinstance(body, bytes):
                self._skip(folder, uid, "the server's FETCH response has no BODY[]")
            else:
                out[uid] = body
        return out

    def _cut_header(self, folder: FolderInfo, uid: int, header: bytes, response: dict[bytes, Any]) -> bytes:
        """A header block cut at the cap: whole lines only, with the MIME fields (fetched
        on their own) put first, so the parser still finds the body's structure.

        Example: 256 KiB of ``Received:`` lines, then ``Content-Type: multipart/mixed;
        boundary=...`` -> ``Content-Type: ...\r\nReceived: ...\r\n...\r\n\r\n``.
        """
        cut = header.rfind(b"\n")
        header = header[: cut + 1] if cut > 0 else b""
        fields = next((v for k, v in response.items() if k.startswith(b"BODY[HEADER.FIELDS")), b"")
        fields = fields.rstrip(b"\r\n") + b"\r\n" if isinstance(fields, bytes) and fields.strip() else b""
        logger.warning(
            "account %r, folder %r: UID %d has a header block larger than the %d bytes read of it; "
            "fields past that are ignored",
            self.account,
            folder.name,
            uid,
            len(header),
        )
        return fields + header + b"\r\n"

    def _fetch_large(self, folder: FolderInfo, uid: int, size: int, structure: BodyData | None) -> bytes | None:
        """Rebuild a too-large message from its header, MIME headers and capped text parts.

        The multipart skeleton (boundaries, part headers) is kept, so the parser sees the
        same structure and the attachments' names; non-text parts come back empty.
        """
        if structure is None:  # _fetch_meta skips these; kept for safety
            self._skip(folder, uid, "no BODYSTRUCTURE to read it part by part")
            return None
        tree = _parse_structure(structure)
        leaves = list(_leaves(tree))
        # The top level's MIME header is the message header. Parts past MAX_PARTS are left
        # out: their headers alone could overflow the server's command line limit.
        sections = [node.section for node in _walk(tree) if node.section][:MAX_PARTS]
        listed = set(sections)
        header_cap = min(HEADER_CAP, self.max_message_bytes // 8)
        items = [f"BODY.PEEK[HEADER]<0.{header_cap}>", f"BODY.PEEK[{_MIME_FIELDS}]<0.{header_cap}>"]
        items += [f"BODY.PEEK[{section}.MIME]" for section in sections]
        # room for the header block and the parts' MIME headers
        budget = max(self.max_message_bytes - header_cap - 64 * 1024, self.max_message_bytes // 2)
        wanted: dict[str, int] = {}
        for part in leaves:
            if part.section and part.section not in listed:
                continue
            if part.mime in TEXT_TYPES or (part.mime == "message/rfc822" and part.size <= budget):
                take = min(part.size, budget)
                if take <= 0:
                    break
                wanted[part.section] = take
                budget -= take
        for section, take in wanted.items():
            items.append(f"BODY.PEEK[{section or 'TEXT'}]<0.{take}>")
        self._ensure_selected(folder)
        response = self._fetch(folder, [uid], items).get(uid)
        if response is None:
            logger.info(
                "account %r, folder %r: UID %d vanished before its parts were read; skipped", self.account, folder.name, uid
            )
            self.stats.skipped += 1
            return None
        header = response.get(b"BODY[HEADER]<0>")
        if not isinstance(header, bytes):
            self._skip(folder, uid, "the server's FETCH response has no BODY[HEADER]")
            return None
        if len(header) >= header_cap:
            header = self._cut_header(folder, uid, header, response)

        def content(node: _Node) -> bytes:
            if node.part is None:  # multipart
                out = []
                for child in node.children:
                    if child.section not in listed:
                        continue
                    mime = response.get(f"BODY[{child.section}.MIME]".encode())
                    if not isinstance(mime, bytes):
                        mime = b"Content-Type: text/plain\r\n\r\n"
                    out.append(b"--" + node.boundary.encode() + b"\r\n" + mime + content(child) + b"\r\n")
                out.append(b"--" + node.boundary.encode() + b"--\r\n")
                return b"".join(out)
            if node.section not in wanted:
                return b""
            data = response.get(f"BODY[{node.section or 'TEXT'}]<0>".encode())
            if not isinstance(data, bytes):
                logger.warning(
                    "account %r, folder %r: UID %d: part %s missing from the FETCH response; left empty",
                    self.account,
                    folder.name,
                    uid,
                    node.section or "TEXT",
                )
                return b""
            if len(data) < node.part.size:
                # Cut at a line end: a half base64/quoted-printable line would not decode.
                cut = data.rfind(b"\n")
                data = data[: cut + 1] if cut > 0 else data
            return data

        logger.info(
            "account %r, folder %r: UID %d is %d bytes (cap %d): reading headers and text parts only",
            self.account,
            folder.name,
            uid,
            size,
            self.max_message_bytes,
        )
        return header + content(tree)


# -- BODYSTRUCTURE --------------------------------------------------------------------------


def _parse_structure(bs: Any, section: str = "") -> _Node:
    """A BODYSTRUCTURE (as imapclient parses it) as a tree of sections.

    Example input (multipart/mixed of text/plain and a PDF)::

        ([(b'text', b'plain', (b'charset', b'utf-8'), None, None, b'7bit', 12, 1, ...),
          (b'application', b'pdf', None, None, None, b'base64', 1372, None, ...)],
         b'mixed', (b'boundary', b'===...=='), None, None, None)
    """
    if isinstance(bs[0], list):  # multipart: ([children], subtype, params, ...)
        params = _params(bs[2] if len(bs) > 2 else None)
        node = _Node(section=section, boundary=params.get("boundary", ""))
        for i, child in enumerate(bs[0], start=1):
            node.children.append(_parse_structure(child, f"{section}.{i}" if section else str(i)))
        return node
    mime = f"{_text(bs[0]).lower()}/{_text(bs[1]).lower()}"
    encoding = _text(bs[5]).lower() if len(bs) > 5 and bs[5] else "7bit"
    size = int(bs[6]) if len(bs) > 6 and isinstance(bs[6], int) else 0
    # A single-part message's body is section "1" in IMAP, but its MIME header is the
    # message header: keep "" for the top level and fetch it as TEXT.
    return _Node(section=section, part=_Part(section=section, mime=mime, encoding=encoding, size=size))


def _params(raw: Any) -> dict[str, str]:
    if not isinstance(raw, (list, tuple)):
        return {}
    items = list(raw)
    return {_text(items[i]).lower(): _text(items[i + 1]) for i in range(0, len(items) - 1, 2)}


def _walk(node: _Node) -> Iterator[_Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _leaves(node: _Node) -> Iterator[_Part]:
    for n in _walk(node):
        if n.part is not None:
            yield n.part


def _groups(sizes: list[tuple[int, int]], cap: int) -> Iterator[list[int]]:
    """Split ``[(uid, size)]`` into FETCH groups: runs of messages within ``cap`` bounded by
    ``BODY_BATCH_BYTES``/``BODY_BATCH_COUNT``, and each message over ``cap`` alone.

    Example: ``_groups([(1, 10), (2, 10), (3, 9_000_000), (4, 10)], 2_000_000)`` yields
    ``[1, 2]``, ``[3]``, ``[4]``.
    """
    group: list[int] = []
    group_bytes = 0
    for uid, size in sizes:
        if size > cap:
            if group:
                yield group
                group, group_bytes = [], 0
            yield [uid]
            continue
        if group and (group_bytes + size > BODY_BATCH_BYTES or len(group) >= BODY_BATCH_COUNT):
            yield group
            group, group_bytes = [], 0
        group.append(uid)
        group_bytes += size
    if group:
        yield group


def _status_of(name: str) -> Callable[[IMAPClient], Any]:
    return lambda c: c.folder_status(name, [b"UIDVALIDITY", b"UIDNEXT"])


def _fetch_of(uids: list[int], items: list[str]) -> Callable[[IMAPClient], Any]:
    return lambda c: c.fetch(uids, items)


def _discard(client: IMAPClient) -> None:
    """Close a client's socket without talking to the server (it may be gone)."""
    try:
        client.shutdown()
    except (OSError, imaplib.IMAP4.error) as exc:
        logger.debug("closing a broken IMAP connection: %s", exc)


# -- retry ----------------------------------------------------------------------------------


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter for transient errors; no retry storm on auth errors.

    Keep one policy per process (the daemon does): it counts *consecutive* failed logins
    per account across calls, and after ``max_auth_failures`` it refuses to try that
    account again (so a wrong password is not hammered into a server lockout) until
    :meth:`reset` (e.g. after the user changed the password) or a success.
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_auth_failures: int = 3
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    auth_failures: dict[str, int] = field(default_factory=dict)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed ``attempt`` (1-based): half fixed, half random."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def reset(self, account: str | None = None) -> None:
        if account is None:
            self.auth_failures.clear()
        else:
            self.auth_failures.pop(account, None)

    def call(self, fn: Callable[[], Any], *, account: str, doing: str = "connecting") -> Any:
        """Run ``fn``, retrying transient :class:`ImapError` with backoff; others propagate."""
        failures = self.auth_failures.get(account, 0)
        if failures >= self.max_auth_failures:
            raise ImapAuthError(
                f"not trying again after {failures} refused logins in a row (to avoid a lockout); "
                "fix the password or auth settings, then run `offerwatch check`",
                account=account,
            )
        for attempt in range(1, self.attempts + 1):
            try:
                result = fn()
            except ImapAuthError:
                self.auth_failures[account] = self.auth_failures.get(account, 0) + 1
                raise
            except ImapError as exc:
                if not exc.transient or attempt == self.attempts:
                    raise
                wait = self.delay(attempt)
                logger.warning(
                    "account %r: %s failed (%s); retrying in %.1f s (attempt %d of %d)",
                    account,
                    doing,
                    exc,
                    wait,
                    attempt + 1,
                    self.attempts,
                )
                self.sleep(wait)
            else:
                self.auth_failures.pop(account, None)
                return result
        raise AssertionError("unreachable")  # pragma: no cover


def connect_with_retry(source: ImapSource, policy: RetryPolicy | None = None) -> None:
    """Connect ``source``, retrying transient failures; an auth error is raised at once."""
    (policy or RetryPolicy()).call(source.connect, account=source.account)
