"""Deliver a digest exactly once per local day: SMTP, IMAP APPEND, or a file.

The ``digests`` table is the ledger. :func:`deliver` writes the day's row with the new
Message-ID and status ``pending`` *before* anything leaves the machine, sends, and only
then marks it ``sent``. So after a crash at any instant the row tells what may have
happened:

* ``pending`` without an error: the outcome is unknown (crash between send and record).
  Where the channel can look (IMAP: the target folder; SMTP: the user's own mailbox
  through a read-only *verifier*; file: the file), the Message-ID is searched first and
  a found digest is just marked sent. Otherwise the digest is sent again **with the same
  Message-ID**, so a mail client shows one message.
* ``pending`` with an error: the last attempt failed in a way that may pass (server down,
  timeout, 4xx): retried at the next run, never lost.
* ``created_at`` is when the last attempt started (an unknown outcome younger than
  ``arrival_grace`` is looked for again at the next run before anything is re-sent).
* ``failed``: a permanent error (wrong password, TLS certificate not trusted, 5xx):
  recorded with what to do and not retried automatically, so a wrong password causes no
  retry storm and no account lock-out. ``deliver(..., force=True)`` (``digest --send``)
  tries again.

Secrets come from a callable (see :mod:`offerwatch.daemon.secrets`) and never appear in
an error text: every message goes through :func:`~offerwatch.daemon.secrets.redact`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, ContextManager, Protocol

from offerwatch.daemon.secrets import SecretError, redact
from offerwatch.models.store import Store

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A digest could not be delivered. ``transient``: retrying later can help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(redact(message))
        self.transient = transient


class Channel(Protocol):
    name: str

    def send(self, msg: EmailMessage) -> None:
        """Deliver ``msg`` or raise :class:`DeliveryError`."""
        ...

    def already_delivered(self, message_id: str) -> bool | None:
        """Whether a message with this Message-ID has arrived; ``None`` when it cannot tell."""
        ...

    def describe(self) -> str:
        """Where digests go, for messages (``smtp.example.com:465 -> me@example.com``)."""
        ...


# -- SMTP -------------------------------------------------------------------------------------

def _ssl_context(ca_file: str | None, allow_insecure: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_file:
        try:
            ctx.load_verify_locations(cafile=os.path.expanduser(ca_file))
        except (OSError, ssl.SSLError) as err:
            raise DeliveryError(f"digest.smtp.ca_file {ca_file!r} could not be loaded: {err}", transient=False) from None
    if allow_insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SmtpChannel:
    """Submission over SMTP: implicit TLS (465) or STARTTLS (587), AUTH when a username is set.

    ``secret`` is called at each send (passwords change, commands may prompt a keyring);
    ``verifier`` optionally looks the Message-ID up in the recipient's mailbox (read-only)
    so that a crash between send and record does not send twice.
    """

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        tls: str = "implicit",
        username: str = "",
        secret: Callable[[], str] | None = None,
        sender: str,
        to: str,
        ca_file: str | None = None,
        allow_insecure: bool = False,
        timeout: float = 30.0,
        verifier: Callable[[str], bool | None] | None = None,
    ) -> None:
        if tls not in ("implicit", "starttls", "none"):
            raise DeliveryError(f'digest.smtp.tls = {tls!r} is not one of "implicit", "starttls", "none"', transient=False)
        self.host, self.tls, self.username = host, tls, username
        self.port = port or (465 if tls == "implicit" else 587)
        self.secret, self.sender, self.to = secret, sender or to, to
        self.ca_file, self.allow_insecure, self.timeout = ca_file, allow_insecure, timeout
        self.verifier = verifier

    def describe(self) -> str:
        return f"SMTP {self.host}:{self.port} -> {self.to}"

    def already_delivered(self, message_id: str) -> bool | None:
        return self.verifier(message_id) if self.verifier else None

    def _err(self, text: str, transient: bool) -> DeliveryError:
        return DeliveryError(f"digest via SMTP {self.host}:{self.port}: {text}", transient=transient)

    def send(self, msg: EmailMessage) -> None:
        ctx = _ssl_context(self.ca_file, self.allow_insecure) if self.tls != "none" else None
        password: str | None = None
        conn: smtplib.SMTP | None = None
        try:
            if self.tls == "implicit":
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ctx)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if self.tls == "starttls":
                if not conn.has_extn("starttls"):
                    raise self._err('the server does not offer STARTTLS; use tls = "implicit" on port 465 '
                                    "(offerwatch never sends a password unencrypted)", False)
                conn.starttls(context=ctx)
                conn.ehlo()
            if self.username:
                if self.secret is None:
                    raise self._err("a username is set but no password source", False)
                password = self.secret()
                conn.login(self.username, password)
            refused = conn.send_message(msg, from_addr=_addr(self.sender), to_addrs=[_addr(self.to)])
            if refused:
                raise self._err(f"the server refused the recipient {self.to!r}: {refused}", False)
        except DeliveryError:
            raise
        except SecretError as err:
            raise self._err(f"no password: {err}", False) from None
        except smtplib.SMTPAuthenticationError as err:
            raise self._err(
                f"the server refused the login as {self.username!r} ({err.smtp_code} {_text(err.smtp_error)}). "
                "What to do: check the password (many providers need an app password for SMTP), store it again "
                "(digest.smtp password_command / password_env / keyring), then run `offerwatch digest --send`. "
                "Not retried automatically.", False) from None
        except smtplib.SMTPNotSupportedError as err:
            raise self._err(f"the server does not support a step offerwatch needs ({err}); check tls and port", False) from None
        except ssl.SSLCertVerificationError as err:
            raise self._err(
                f"the server certificate is not trusted ({err.verify_message}); if it uses a private CA, set "
                "digest.smtp.ca_file to it", False) from None
        except ssl.SSLError as err:
            raise self._err(f"TLS failed ({err.reason or err}); check digest.smtp.tls and port "
                            "(465 is implicit TLS, 587 is STARTTLS)", False) from None
        except smtplib.SMTPResponseException as err:
            transient = 400 <= err.smtp_code < 500
            raise self._err(f"the server answered {err.smtp_code} {_text(err.smtp_error)}"
                            + ("; will retry at the next run" if transient else ""), transient) from None
        except smtplib.SMTPRecipientsRefused as err:
            codes = [c for c, _ in err.recipients.values()]
            transient = all(400 <= c < 500 for c in codes)
            raise self._err(f"the server refused the recipient {self.to!r} ({codes})", transient) from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, socket.timeout, TimeoutError, OSError) as err:
            raise self._err(f"cannot reach the server ({_text(err) or type(err).__name__}); will retry at the next run",
                            True) from None
        finally:
            if conn is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    conn.quit()
            del password


def _addr(value: str) -> str:
    from email.utils import parseaddr

    return parseaddr(value)[1] or value


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return redact(str(value)).strip()


# -- IMAP -------------------------------------------------------------------------------------

#: Opens a logged-in IMAPClient and closes it afterwards (see :func:`imap_session`).
Session = Callable[[], ContextManager[Any]]


class ImapChannel:
    """APPEND the digest into a folder of the user's account: the one write offerwatch makes,
    and only when the user chose this channel. The folder is created when missing."""

    name = "imap"

    def __init__(self, session: Session, folder: str, *, account: str = "") -> None:
        self.session, self.folder, self.account = session, folder, account

    def describe(self) -> str:
        return f"IMAP account {self.account!r}, folder {self.folder!r}"

    def send(self, msg: EmailMessage) -> None:
        with _imap_errors(f"appending the digest to {self.folder!r}"), self.session() as client:
            if not client.folder_exists(self.folder):
                log.info("creating IMAP folder %r for the digest", self.folder)
                client.create_folder(self.folder)
            client.append(self.folder, msg.as_bytes(policy=policy.SMTP), flags=(), msg_time=_msg_date(msg))

    def already_delivered(self, message_id: str) -> bool | None:
        try:
            return search_message_id(self.session, [self.folder], message_id)
        except DeliveryError as err:
            log.warning("could not check for an earlier digest (%s); will send again with the same Message-ID", err)
            return None


def search_message_id(session: Session, folders: list[str], message_id: str) -> bool:
    """Whether any of ``folders`` holds a message with this Message-ID (read-only: EXAMINE).

    A name starting with a backslash is a special-use flag (``"\\Sent"``), resolved on the
    server, so Gmail's "[Gmail]/Sent Mail" is found as well as Dovecot's "Sent".
    """
    with _imap_errors("looking for an earlier digest"), session() as client:
        for name in folders:
            folder: str | None = name
            if name.startswith("\\"):
                folder = client.find_special_folder(name.encode())
            if not folder or not client.folder_exists(folder):
                continue
            client.select_folder(folder, readonly=True)
            if client.search(["HEADER", "Message-ID", message_id.strip()]):
                return True
    return False


def imap_verifier(session: Session, folders: list[str]) -> Callable[[str], bool | None]:
    """For SMTP: look for a sent digest in the user's own mailbox (e.g. INBOX and Sent)."""

    def check(message_id: str) -> bool | None:
        try:
            return search_message_id(session, folders, message_id)
        except DeliveryError as err:
            log.warning("could not look for an earlier digest in the mailbox (%s)", err)
            return None

    return check


@contextlib.contextmanager
def _imap_errors(doing: str) -> Iterator[None]:
    import imaplib

    from imapclient import exceptions as imap_exc

    try:
        yield
    except DeliveryError:
        raise
    except Exception as err:  # noqa: BLE001 - classified here, once
        transient = getattr(err, "transient", None)
        if transient is None:
            transient = isinstance(err, (OSError, imaplib.IMAP4.abort, EOFError, socket.timeout)) and not isinstance(
                err, ssl.SSLCertVerificationError)
        if isinstance(err, imap_exc.LoginError):
            transient = False
        raise DeliveryError(f"IMAP, {doing}: {_text(err) or type(err).__name__}", transient=bool(transient)) from None


def _msg_date(msg: EmailMessage) -> datetime | None:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
    except (TypeError, ValueError):
        return None


# -- file -------------------------------------------------------------------------------------

#: What a digest file holds, by the suffix of its name.
DIGEST_FILE_KINDS = {".html": "the HTML part", ".htm": "the HTML part", ".txt": "the text part", ".eml": "the whole message"}


def digest_file_bytes(msg: EmailMessage, path: Path) -> bytes:
    """The bytes a digest file named ``path`` holds: the HTML part (.html, .htm), the text part
    (.txt) or the whole message (.eml). Another suffix is refused, not guessed."""
    suffix = path.suffix.lower()
    if suffix not in DIGEST_FILE_KINDS:
        raise DeliveryError(f"{path}: offerwatch writes a digest as .html, .txt or .eml, not {suffix or 'a name without a suffix'!r}; "
                            "give one of those", transient=False)
    if suffix == ".eml":
        return msg.as_bytes(policy=policy.SMTP)
    body = msg.get_body(("html",) if suffix in (".html", ".htm") else ("plain",))
    return str(body.get_content() if body is not None else "").encode("utf-8")


def write_private_file(path: Path, data: bytes, *, make_parent: bool = False, what: str = "the digest",
                       temp_prefix: str = ".offerwatch-digest-") -> None:
    """Write ``data`` to ``path`` as a new file only its owner can read (0600: it holds recruiter mail).

    Never through a link: a symbolic link at ``path`` is refused (a planted link must not make
    offerwatch overwrite what it points to), and the data goes to a temporary file created with
    O_EXCL in the same folder, then renamed over ``path`` (a rename replaces a name, it never
    follows one). A missing folder is an error unless ``make_parent`` (the configured file
    channel's own folder). Raises :class:`DeliveryError` (permanent) saying what to do;
    ``what`` names the content in that message ("the digest", "the CSV export").
    """
    import errno

    parent = path.parent
    if path.is_symlink():
        raise DeliveryError(f"{path} is a symbolic link; offerwatch does not write through links. Remove it or give "
                            "another file name", transient=False)
    if path.is_dir():
        raise DeliveryError(f"{path} is a folder; give a file name" + (" ending in .html, .txt or .eml" if what == "the digest" else ""),
                            transient=False)
    if not parent.is_dir():
        if not make_parent:
            raise DeliveryError(f"the folder {parent} does not exist; create it (mkdir -p {parent}) or give another path",
                                transient=False)
        try:
            parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as err:
            raise DeliveryError(f"cannot create the folder {parent}: {err.strerror}; check its permissions", transient=False) from None
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix, dir=parent)  # O_CREAT | O_EXCL, mode 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        hint = ("free some space and try again" if err.errno in (errno.ENOSPC, errno.EDQUOT)
                else "check the folder's permissions")
        raise DeliveryError(f"cannot write {what} to {path}: {err.strerror}; {hint}", transient=False) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


class FileChannel:
    """Write the digest to a file: by its suffix, the HTML part (.html, .htm), the text part (.txt)
    or the whole message (.eml); see :func:`write_private_file` for how (0600, never through a link).

    ``{date}`` in the path becomes the digest's day (``~/digests/offerwatch-{date}.html``); the
    folder is created when missing. :attr:`last_path` is the file the last send wrote.
    """

    name = "file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.template = os.fspath(path)
        self.last_path: Path | None = None

    def path_for(self, msg: EmailMessage) -> Path:
        day = str(msg.get("X-Offerwatch-Digest") or date.today().isoformat())
        return Path(os.path.expanduser(self.template.replace("{date}", day)))

    def describe(self) -> str:
        return f"file {os.path.expanduser(self.template)}"

    def send(self, msg: EmailMessage) -> None:
        path = self.path_for(msg)
        try:
            write_private_file(path, digest_file_bytes(msg, path), make_parent=True)
        except DeliveryError as err:
            raise DeliveryError(f"{err} (digest.file.path)", transient=False) from None
        self.last_path = path

    def already_delivered(self, message_id: str) -> bool | None:
        # the file name depends on the message; the ledger's own path check is enough here
        return None


# -- the ledger -------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeliveryResult:
    for_date: date
    status: str  # sent | recovered | already_sent | skipped | deferred | retry_later | failed
    message_id: str | None
    channel: str
    error: str | None = None
    where: str | None = None  # what was written, when the channel says (the file channel's path)

    @property
    def ok(self) -> bool:
        return self.status in ("sent", "recovered", "already_sent", "skipped")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def digest_row(store: Store, for_date: date) -> dict[str, Any] | None:
    rows = store.rows("SELECT * FROM digests WHERE for_date = ?", [for_date.isoformat()])
    return rows[0] if rows else None


def record_skipped(store: Store, for_date: date, channel: str) -> DeliveryResult:
    """``skip_when_empty``: the day is done, nothing was sent (the period carries over)."""
    with store.atomic():
        store.db.execute(
            "INSERT INTO digests(for_date, channel, status, created_at) VALUES (?, ?, 'skipped', ?) "
            "ON CONFLICT(for_date) DO NOTHING",
            [for_date.isoformat(), channel, _now()],
        )
    return DeliveryResult(for_date, "skipped", None, channel)


def deliver(
    store: Store,
    for_date: date,
    channel: Channel,
    make_message: Callable[[str | None], EmailMessage],
    *,
    force: bool = False,
    arrival_grace: timedelta = timedelta(minutes=10),
    now: datetime | None = None,
    on_sent: Callable[[], None] | None = None,
) -> DeliveryResult:
    """Send the digest of ``for_date`` once, following the ledger (see the module docstring).

    ``make_message(message_id)`` builds the message; it gets the recorded Message-ID when
    one exists (a resend), ``None`` for a first attempt. ``force`` retries a ``failed``
    day (the user fixed the password) but never re-sends a ``sent`` one.

    ``sent_at`` is ``now``, the time the digest was built for: the next digest's period starts
    there, so what arrived while this one was sending is in the next. ``on_sent`` runs in the
    transaction that marks the day sent (after a delivery or a recovered one, never otherwise):
    the job records there what the digest told (``quiet_shown``), so the record and the ledger
    never disagree.
    """
    now = now or datetime.now(timezone.utc)
    row = digest_row(store, for_date)
    status = str(row["status"]) if row else None
    if status == "sent":
        return DeliveryResult(for_date, "already_sent", row["message_id"] if row else None, channel.name)
    if status == "skipped" and not force:
        return DeliveryResult(for_date, "skipped", None, channel.name)
    if status == "failed" and not force:
        return DeliveryResult(for_date, "failed", row["message_id"] if row else None, channel.name, row.get("error") if row else None)

    mid: str | None = str(row["message_id"]) if row and row.get("message_id") else None
    if row and mid and status == "pending" and not row.get("error"):
        # unknown outcome: a crash came between sending and recording
        found = channel.already_delivered(mid)
        if found:
            _mark_sent(store, for_date, now, on_sent)
            log.info("digest %s was delivered before a restart (%s); marked sent", for_date, mid)
            return DeliveryResult(for_date, "recovered", mid, channel.name)
        created = _parse(row.get("created_at"))
        if found is False and created and now - created < arrival_grace:
            return DeliveryResult(for_date, "deferred", mid, channel.name,
                                  "an attempt moments ago may still be on its way; checking again at the next run")
        log.info("digest %s: outcome of the last attempt unknown; sending again with the same Message-ID %s", for_date, mid)

    msg = make_message(mid)
    mid = str(msg["Message-ID"])
    with store.atomic():
        store.db.execute(
            "INSERT INTO digests(for_date, message_id, channel, status, created_at) VALUES (?, ?, ?, 'pending', ?) "
            "ON CONFLICT(for_date) DO UPDATE SET message_id = excluded.message_id, channel = excluded.channel, "
            "status = 'pending', error = NULL, created_at = excluded.created_at",
            [for_date.isoformat(), mid, channel.name, now.isoformat(timespec="seconds")],
        )
    try:
        channel.send(msg)
    except DeliveryError as err:
        with store.atomic():
            store.db.execute(
                "UPDATE digests SET status = ?, error = ? WHERE for_date = ?",
                ["pending" if err.transient else "failed", str(err)[:1000], for_date.isoformat()],
            )
        (log.warning if err.transient else log.error)("digest %s not delivered: %s", for_date, err)
        return DeliveryResult(for_date, "retry_later" if err.transient else "failed", mid, channel.name, str(err))
    _mark_sent(store, for_date, now, on_sent)
    log.info("digest %s delivered via %s (%s)", for_date, channel.describe(), mid)
    written = getattr(channel, "last_path", None)
    return DeliveryResult(for_date, "sent", mid, channel.name, where=str(written) if written else None)


def _mark_sent(store: Store, for_date: date, when: datetime, on_sent: Callable[[], None] | None = None) -> None:
    with store.atomic():
        store.db.execute(
            "UPDATE digests SET status = 'sent', sent_at = ?, error = NULL WHERE for_date = ?",
            [when.astimezone(timezone.utc).isoformat(timespec="seconds"), for_date.isoformat()],
        )
        if on_sent is not None:
            try:
                with store.atomic():  # a savepoint: what fails here never costs the ledger its "sent"
                    on_sent()
            except Exception:  # noqa: BLE001 - the digest left: marking it sent is what must not fail
                log.exception("digest %s was delivered, but what it told could not be recorded; "
                              "its going-quiet items may be told again tomorrow", for_date)


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
