"""The digest job as the service and the CLI run it: config in, one delivery out.

* :func:`run_due_digest` is what the service calls after every poll and at the digest
  time (and after a wake-up): it sends the day's digest if, and only if, it is due.
* :func:`send_digest_now` is ``offerwatch digest --send``: today's digest now, retrying a
  day that failed permanently (the user fixed the password), never a second one.
* :func:`compose` builds the digest and a message factory without sending (``--out``,
  ``--preview``, ``demo``).

Config read (``offerwatch.daemon.config.Config``): ``digest.time``, ``digest.timezone``,
``digest.channel``, ``digest.skip_when_empty``, ``digest.smtp.*`` (host, port, tls,
allow_insecure, ca_file, username, password_command, password_env, to, from),
``digest.imap.account`` / ``digest.imap.folder``, ``digest.file.path``, the accounts
(for IMAP APPEND, for the read-only check that a digest sent by SMTP arrived, and for
Gmail-style links), ``identity.addresses``, ``digest.cold_business_days``, and
``detection.silence_business_days`` / ``detection.salary_jump_percent`` / ``detection.holidays``.

What a delivered digest showed as "going quiet" is recorded when the ledger marks it sent
(:func:`~offerwatch.daemon.digest.build.record_quiet_shown`, for every channel), so the next
digests do not repeat it; ``--out`` and ``--preview`` record nothing.

The SMTP password comes from ``password_command`` or ``password_env`` when set, else from
the keyring (service ``offerwatch``, key ``digest.smtp``), else from the keyring entry of
the IMAP account with the same username (one app password for both is common).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timezone, tzinfo
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offerwatch.daemon.digest.build import Digest, build_digest, record_quiet_shown
from offerwatch.daemon.digest.deliver import (
    Channel,
    DeliveryError,
    DeliveryResult,
    FileChannel,
    ImapChannel,
    Session,
    SmtpChannel,
    deliver,
    digest_row,
    imap_verifier,
    record_skipped,
)
from offerwatch.daemon.digest.render import build_message
from offerwatch.daemon.digest.schedule import Due, due_digest, next_digest_at
from offerwatch.daemon.lock import DigestLock, LockedError
from offerwatch.models.store import Store

if TYPE_CHECKING:
    from offerwatch.daemon.config import AccountConfig, Config

log = logging.getLogger(__name__)

#: Keyring key of the SMTP password (service ``offerwatch``).
SMTP_KEYRING_KEY = "digest.smtp"
GMAIL_HOSTS = ("imap.gmail.com", "imap.googlemail.com")


def system_zone() -> tzinfo:
    """The system's time zone as a DST-aware zone (see :func:`offerwatch.models.calendar_days.local_zone`)."""
    from offerwatch.models.calendar_days import local_zone

    return local_zone()


@dataclass(frozen=True)
class DigestSettings:
    at: time
    tz: tzinfo
    channel: str
    skip_when_empty: bool
    sender: str
    to: str
    link_style: str  # auto | gmail | mid
    silence_business_days: int = 7
    salary_jump_percent: float = 10.0
    cold_business_days: int = 30
    holidays: frozenset[date] = frozenset()


def settings_from_config(config: Config) -> DigestSettings:
    dig = config.digest
    owner = config.owner_addresses[0] if config.owner_addresses else ""
    to = dig.smtp.to or owner
    gmail = any(a.host.lower() in GMAIL_HOSTS for a in config.accounts)
    return DigestSettings(
        at=dig.time,
        tz=dig.zone or system_zone(),
        channel=dig.channel,
        skip_when_empty=dig.skip_when_empty,
        sender=dig.smtp.sender or dig.smtp.username or to or "offerwatch@localhost",
        to=to or "offerwatch@localhost",
        link_style="gmail" if gmail else "auto",
        silence_business_days=config.detection.silence_business_days,
        salary_jump_percent=config.detection.salary_jump_percent,
        cold_business_days=dig.cold_business_days,
        holidays=_holidays(config),
    )


def _holidays(config: Config) -> frozenset[date]:
    """``detection.holidays`` as the timeline reads them: business days count the same everywhere."""
    from offerwatch.daemon.commands import assess_config_from

    return assess_config_from(config).holidays


# -- channels from the config -----------------------------------------------------------------

def _secret_provider(name: str, **kw: str) -> Callable[[], str]:
    from offerwatch.daemon.secrets import SecretProvider

    return SecretProvider(name, **{k: v for k, v in kw.items() if v} or {})  # type: ignore[arg-type]


def smtp_secret(config: Config) -> Callable[[], str]:
    """The SMTP password source (see the module docstring for the order)."""
    from offerwatch.daemon.secrets import SecretError

    smtp = config.digest.smtp
    if smtp.password_command or smtp.password_env:
        return _secret_provider(SMTP_KEYRING_KEY, password_command=smtp.password_command, password_env=smtp.password_env)
    own = _secret_provider(SMTP_KEYRING_KEY)
    same = next((a for a in config.accounts if smtp.username and a.username.lower() == smtp.username.lower()), None)

    def get() -> str:
        try:
            return own()
        except SecretError:
            if same is None:
                raise
            return account_secret(same)()

    get.description = getattr(own, "description", "keyring")  # type: ignore[attr-defined]
    return get


def account_secret(acc: AccountConfig) -> Callable[[], str]:
    return _secret_provider(acc.name, password_command=acc.password_command, password_env=acc.password_env,
                            token_command=acc.token_command)


def imap_session(acc: AccountConfig) -> Session:
    """A logged-in IMAPClient for an account, through the IMAP source's connect (TLS, auth, errors)."""
    from offerwatch.daemon.sources.imap import ImapSource

    @contextlib.contextmanager
    def session() -> Iterator[Any]:
        source = ImapSource(
            acc.name, acc.host, acc.port, tls=acc.tls, allow_insecure=acc.allow_insecure,  # type: ignore[arg-type]
            ca_file=acc.ca_file or None, username=acc.username, auth=acc.auth,  # type: ignore[arg-type]
            secret=account_secret(acc), timeout=acc.timeout_seconds,
        )
        source.connect()
        try:
            yield source._client  # noqa: SLF001 - the source owns login, TLS and error wording
        finally:
            source.close()

    return session


def make_channel(config: Config) -> Channel:
    """The configured channel. Raises :class:`DeliveryError` (permanent) when it cannot work."""
    dig = config.digest
    settings = settings_from_config(config)
    if dig.channel == "smtp":
        smtp = dig.smtp
        if not smtp.host or not smtp.to:
            raise DeliveryError("digest.smtp.host and digest.smtp.to are required with channel = \"smtp\"", transient=False)
        verifier = None
        to = smtp.to.lower()
        for acc in config.accounts:
            if to in {acc.username.lower(), *(a.lower() for a in acc.addresses)}:
                verifier = imap_verifier(imap_session(acc), ["INBOX", "\\Sent"])
                break
        return SmtpChannel(
            smtp.host, smtp.port, tls=smtp.tls, username=smtp.username,
            secret=smtp_secret(config) if smtp.username else None,
            sender=settings.sender, to=smtp.to, ca_file=smtp.ca_file or None, allow_insecure=smtp.allow_insecure,
            verifier=verifier,
        )
    if dig.channel == "imap":
        try:
            acc = config.account(dig.imap_account)
        except Exception as err:  # noqa: BLE001 - ConfigError, worded for the user
            raise DeliveryError(str(err), transient=False) from None
        return ImapChannel(imap_session(acc), dig.imap_folder, account=acc.name)
    path = dig.file_path or str(Path(config.database).expanduser().parent / "digests" / "offerwatch-{date}.html")
    return FileChannel(path)


# -- composing and running --------------------------------------------------------------------

def compose(
    store: Store,
    settings: DigestSettings,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
) -> tuple[Digest, Callable[[str | None], EmailMessage]]:
    """The digest for ``now`` and a factory of its message (given a Message-ID to reuse or None)."""
    now = now or datetime.now(timezone.utc)
    digest = build_digest(
        store, now=now, tz=settings.tz, since=since, link_style=settings.link_style,  # type: ignore[arg-type]
        silence_business_days=settings.silence_business_days, salary_jump_percent=settings.salary_jump_percent,
        cold_business_days=settings.cold_business_days, holidays=settings.holidays,
    )

    def make(message_id: str | None) -> EmailMessage:
        return build_message(digest, sender=settings.sender, to=settings.to, message_id=message_id)

    return digest, make


def due(store: Store, settings: DigestSettings, now: datetime | None = None) -> Due | None:
    now = now or datetime.now(timezone.utc)
    return due_digest(now, settings.tz, settings.at, store.rows("SELECT * FROM digests"))


def next_digest(store: Store, config: Config, now: datetime | None = None) -> datetime:
    """When the next digest goes out, in the digest's time zone (for ``offerwatch status``)."""
    s = settings_from_config(config)
    return next_digest_at(now or datetime.now(timezone.utc), s.tz, s.at, store.rows("SELECT * FROM digests"))


#: How long a digest delivery waits for another one in progress (an SMTP send with its
#: timeouts, the look for an earlier copy) before it gives up until the next run.
DIGEST_LOCK_WAIT = 180.0


def _send(
    store: Store,
    settings: DigestSettings,
    channel: Channel,
    for_date: date,
    now: datetime,
    *,
    force: bool,
    since: datetime | None = None,
    lock_wait: float = DIGEST_LOCK_WAIT,
) -> DeliveryResult:
    """Read the ledger, build, send and record, all under the :class:`DigestLock`: two processes
    (the service and ``digest --send``, or two of either) never both find the day unsent."""
    try:
        lock = DigestLock(store.path).acquire(wait=lock_wait)
    except LockedError as err:
        log.warning("digest %s: %s", for_date, err)
        return DeliveryResult(for_date, "deferred", None, channel.name, str(err))
    try:
        row = digest_row(store, for_date)
        digest, make = compose(store, settings, now=now, since=since)
        if settings.skip_when_empty and digest.empty and row is None and not force:
            log.info("digest %s: nothing new, skipped (skip_when_empty)", for_date)
            return record_skipped(store, for_date, channel.name)
        return deliver(store, for_date, channel, make, force=force, now=now,
                       on_sent=lambda: record_quiet_shown(store, digest))
    finally:
        lock.release()


def assess_all(store: Store, config: Config, now: datetime) -> None:
    """Bring every application's stage, outlook and silence up to ``now`` before a digest is
    built: polls only re-assess applications that got mail (see sync.assess_applications)."""
    from offerwatch.daemon.commands import _assess_config
    from offerwatch.daemon.sync import assess_applications

    assess_applications(store, None, now=now, config=_assess_config(config), full=True)


def run_due_digest(
    store: Store,
    config: Config,
    *,
    now: datetime | None = None,
    channel: Channel | None = None,
) -> DeliveryResult | None:
    """Send the digest if one is due now (see :mod:`.schedule`); ``None`` when none is.

    Never raises for delivery problems: they are recorded in ``digests`` and returned.
    """
    now = now or datetime.now(timezone.utc)
    settings = settings_from_config(config)
    job = due(store, settings, now)
    if job is None:
        return None
    log.info("digest for %s is due (%s)", job.for_date, job.reason)
    try:
        channel = channel or make_channel(config)
    except DeliveryError as err:
        return _record_failure(store, job.for_date, config.digest.channel, err)
    assess_all(store, config, now)
    return _send(store, settings, channel, job.for_date, now, force=False)


def send_digest_now(
    store: Store,
    config: Config,
    *,
    now: datetime | None = None,
    channel: Channel | None = None,
    since: datetime | None = None,
) -> DeliveryResult:
    """Today's digest now (``digest --send``): retries a failed or pending day, never sends a day twice."""
    now = now or datetime.now(timezone.utc)
    settings = settings_from_config(config)
    today = now.astimezone(settings.tz).date()
    channel = channel or make_channel(config)
    assess_all(store, config, now)
    return _send(store, settings, channel, today, now, force=True, since=since)


def _record_failure(store: Store, for_date: date, channel: str, err: DeliveryError) -> DeliveryResult:
    with store.atomic():
        store.db.execute(
            "INSERT INTO digests(for_date, channel, status, created_at, error) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(for_date) DO UPDATE SET status = excluded.status, error = excluded.error",
            [for_date.isoformat(), channel, "pending" if err.transient else "failed",
             datetime.now(timezone.utc).isoformat(timespec="seconds"), str(err)[:1000]],
        )
    return DeliveryResult(for_date, "retry_later" if err.transient else "failed", None, channel, str(err))
