"""Alerts: the urgent news of a poll, at once, as a desktop notification and/or a short mail.

The digest says once a day where everything stands; an offer, a hiring manager writing
directly, an interview request, a question about other processes or a postponement should
not wait for it. After every poll (the service's, and ``offerwatch sync``) :func:`run_alerts`

1. **queues** each new message signal of an alerting type (``[alerts] types``) once per
   channel in the ``alerts`` table, keyed by message and type, so a signal alerts at most
   once even when its message is processed again. Only signals written since the last look
   (the ``alerts_seen_until`` mark in ``meta``) and from mail younger than ``max_age_hours``
   by its Date are queued: a backfill, the first sync of an old mailbox or a UIDVALIDITY
   rescan never alerts on history. A backfill also moves the mark (:func:`mark_history_seen`);
2. **delivers** what is pending, one batched notification or mail per channel, unless the
   local time is in ``quiet_hours`` (then it waits, it is not lost). A signal dismissed (or
   its type turned off) before delivery is dropped. A channel that fails (no display
   session, notify-send exiting non-zero, the SMTP server down) is logged and its alerts stay
   pending for the next poll; nothing here ever raises into the poll. A permanent mail error
   (wrong password) waits :data:`PERMANENT_RETRY` before the next try, so a poll every few
   minutes cannot lock the account.

Where no notifier exists (no ``notify-send`` on Linux, no ``osascript`` on macOS, or another
system) the desktop channel is skipped with one log line per process and queues nothing.
The mail goes through the digest's channel (``[digest] channel = "smtp"`` or ``"imap"``),
built by :func:`offerwatch.daemon.digest.job.make_channel`: one SMTP and IMAP code path.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any

from offerwatch.daemon.textsafe import clean_text

if TYPE_CHECKING:
    from offerwatch.daemon.config import Config
    from offerwatch.daemon.digest.deliver import Channel
    from offerwatch.models.store import Store

log = logging.getLogger(__name__)

#: How long a mail channel that failed permanently (wrong password, refused recipient) rests.
PERMANENT_RETRY = timedelta(hours=1)
#: Lines of a desktop notification before "and N more" (a notification is a glance).
NOTIFICATION_LINES = 5
#: Characters of evidence quoted per alert.
EVIDENCE_CHARS = 140
#: How long notify-send / osascript may take.
NOTIFIER_TIMEOUT = 15.0

LABELS = {
    "offer": "Offer",
    "hiring_manager_direct": "Hiring manager wrote",
    "interview_request": "Interview request",
    "other_process_inquiry": "Asked about other processes",
    "postponed": "Postponed",
}


class AlertError(Exception):
    """A channel could not deliver. ``transient``: the next poll may succeed."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Alert:
    """One pending alert as shown: which signal, of which application, with what evidence."""

    message_key: str
    type: str
    application_id: int | None
    company: str
    role: str
    evidence: str
    subject: str
    sender: str
    at: str | None

    @property
    def label(self) -> str:
        return LABELS.get(self.type, self.type.replace("_", " ").capitalize())

    def headline(self) -> str:
        """``Offer — Acme (Data Engineer)``."""
        who = self.company or "an employer"
        return f"{self.label} — {who}" + (f" ({self.role})" if self.role else "")

    def quote(self, limit: int = EVIDENCE_CHARS) -> str:
        text = self.evidence
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- desktop ------------------------------------------------------------------------------------

class DesktopNotifier:
    """notify-send (Linux, BSD) or osascript (macOS), run without a shell.

    :meth:`missing` says why there is no notifier at all (the channel is skipped);
    :meth:`send` raises :class:`AlertError` (transient) when there is no display session or
    the program fails, so the alerts wait for the next poll.
    """

    name = "desktop"

    def __init__(self, *, platform: str | None = None, env: Mapping[str, str] | None = None,
                 which: Callable[[str], str | None] = shutil.which, timeout: float = NOTIFIER_TIMEOUT) -> None:
        self.platform = platform or sys.platform
        self.env = os.environ if env is None else env
        self.program = which("osascript" if self.platform == "darwin" else "notify-send")
        self.timeout = timeout

    def missing(self) -> str | None:
        if self.program:
            return None
        if self.platform == "darwin":
            return "osascript was not found on PATH"
        return "notify-send was not found on PATH (Debian/Ubuntu: apt install libnotify-bin)"

    def _no_session(self) -> str | None:
        if self.platform == "darwin":
            return None
        if any(self.env.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")):
            return None
        runtime = self.env.get("XDG_RUNTIME_DIR")
        if runtime and os.path.exists(os.path.join(runtime, "bus")):
            return None
        return ("no desktop session to show it in (none of DISPLAY, WAYLAND_DISPLAY, DBUS_SESSION_BUS_ADDRESS is set; "
                "under systemd run `systemctl --user import-environment DISPLAY DBUS_SESSION_BUS_ADDRESS`)")

    def argv(self, title: str, body: str) -> list[str]:
        assert self.program
        if self.platform == "darwin":
            # the texts are arguments of the script, never part of its source
            return [self.program, "-e", "on run argv", "-e",
                    "display notification (item 2 of argv) with title (item 1 of argv)", "-e", "end run", title, body]
        # notification servers read a subset of HTML in the body; "--" ends the options
        body = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return [self.program, "--app-name=offerwatch", "--urgency=normal", "--", title, body]

    def send(self, title: str, body: str) -> None:
        why = self.missing() or self._no_session()
        if why:
            raise AlertError(f"desktop notification: {why}")
        try:
            done = subprocess.run(self.argv(title, body), capture_output=True, text=True, timeout=self.timeout,
                                  env=dict(self.env), check=False)
        except subprocess.TimeoutExpired:
            raise AlertError(f"desktop notification: {self.program} did not finish within {self.timeout:.0f} s") from None
        except OSError as err:
            raise AlertError(f"desktop notification: could not run {self.program}: {err.strerror}") from None
        if done.returncode != 0:
            detail = clean_text(done.stderr)[:200] or "no message"
            raise AlertError(f"desktop notification: {os.path.basename(self.program or '')} exited with {done.returncode} ({detail})")


# -- composing ----------------------------------------------------------------------------------

def title_of(alerts: Sequence[Alert]) -> str:
    if len(alerts) == 1:
        return f"offerwatch: {alerts[0].headline()}"
    offers = sum(a.type == "offer" for a in alerts)
    return f"offerwatch: {len(alerts)} urgent updates" + (f" ({offers} offer{'s' if offers > 1 else ''})" if offers else "")


def notification_body(alerts: Sequence[Alert]) -> str:
    if len(alerts) == 1:
        a = alerts[0]
        return f"“{a.quote()}”" + (f"\n{a.sender}" if a.sender else "")
    lines = [f"{a.headline()}: “{a.quote(80)}”" for a in alerts[:NOTIFICATION_LINES]]
    if len(alerts) > NOTIFICATION_LINES:
        lines.append(f"and {len(alerts) - NOTIFICATION_LINES} more")
    return "\n".join(lines)


def alert_message(alerts: Sequence[Alert], *, sender: str, to: str, now: datetime) -> EmailMessage:
    """A short plain-text mail: one paragraph per alert, what it says and where to look."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = title_of(alerts)
    msg["Date"] = format_datetime(now.astimezone(timezone.utc))
    msg["Message-ID"] = make_msgid(idstring="alert", domain="offerwatch.local")
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Offerwatch-Alert"] = str(len(alerts))
    parts = []
    for a in alerts:
        lines = [a.headline(), f"  “{a.quote(400)}”"]
        if a.subject or a.sender:
            lines.append(f"  in “{a.subject}”" + (f" from {a.sender}" if a.sender else ""))
        if a.application_id is not None:
            lines.append(f"  offerwatch app {a.application_id}")
        parts.append("\n".join(lines))
    msg.set_content("\n\n".join(parts) + "\n\n-- \nSent by offerwatch as it read your mail; "
                    "[alerts] in the config chooses what alerts.\n")
    return msg


# -- quiet hours --------------------------------------------------------------------------------

def in_quiet_hours(now: datetime, quiet: tuple[time, time] | None, tz: tzinfo) -> bool:
    """Whether ``now`` is in ``quiet`` (start inclusive, end exclusive; may span midnight).

    >>> from datetime import timezone
    >>> q = (time(22, 0), time(7, 30))
    >>> [in_quiet_hours(datetime(2026, 12, 1, h, m, tzinfo=timezone.utc), q, timezone.utc)
    ...  for h, m in ((21, 59), (22, 0), (3, 0), (7, 29), (7, 30))]
    [False, True, True, True, False]
    """
    if quiet is None:
        return False
    start, end = quiet
    local = now.astimezone(tz).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_zone(config: Config) -> tzinfo:
    """The user's zone: ``[digest] timezone``, else the system's (calendar_days.local_zone)."""
    from offerwatch.models.calendar_days import zone

    return zone(config.digest.timezone)


# -- the store side -----------------------------------------------------------------------------

SEEN_KEY = "alerts_seen_until"


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")


def mark_history_seen(store: Store) -> None:
    """After a backfill (or a poll with alerts off): what was read never alerts later.

    The mark goes one second past the newest signal: signals are stamped in whole seconds
    and looked for with ``>=``, so the second they were written in must be passed too.
    """
    latest = store.db.execute("SELECT max(created_at) FROM signals").fetchone()[0]
    if latest:
        after = datetime.fromisoformat(str(latest)) + timedelta(seconds=1)
        with store.atomic():
            store.set_meta(SEEN_KEY, _iso(after))


def queue_alerts(store: Store, config: Config, channels: Sequence[str], now: datetime) -> int:
    """Queue the new signals of alerting types for ``channels``; returns how many signals.

    One transaction: the queued rows and the moved mark go together (a crash queues again,
    and the primary key keeps that idempotent).
    """
    types = list(config.alerts.types)
    since = store.meta(SEEN_KEY) or ""
    cutoff = _iso(now - timedelta(hours=config.alerts.max_age_hours))
    if not types or not channels:
        mark_history_seen(store)
        return 0
    latest = store.db.execute("SELECT max(created_at) FROM signals").fetchone()[0]
    marks = ",".join("?" * len(types))
    rows = store.rows(
        "SELECT s.message_key, s.type FROM signals s "
        "JOIN messages m ON m.key = s.message_key "
        f"WHERE s.derived = 0 AND s.dismissed = 0 AND s.type IN ({marks}) AND s.created_at >= ? "
        "AND m.direction = 'in' AND coalesce(s.at, m.date) >= ? GROUP BY s.message_key, s.type",
        [*types, since, cutoff],
    )
    queued_at = _iso(now)
    with store.atomic():
        for r in rows:
            for ch in channels:
                store.db.execute(
                    "INSERT OR IGNORE INTO alerts(message_key, type, channel, queued_at) VALUES (?, ?, ?, ?)",
                    [r["message_key"], r["type"], ch, queued_at],
                )
        if latest:
            # ">=" above and signals stamped in whole seconds: the last second is looked at
            # again next time, and the primary key drops what was queued already
            store.set_meta(SEEN_KEY, str(latest))
    return len(rows)


def pending(store: Store, channel: str, types: Sequence[str]) -> list[Alert]:
    """The channel's pending alerts, oldest first; those whose signal was dismissed, is gone
    (the message was processed again without it) or whose type was turned off are dropped."""
    rows = store.rows(
        "SELECT al.message_key, al.type, m.application_id, "
        "  (SELECT min(s.dismissed) FROM signals s WHERE s.message_key = al.message_key AND s.type = al.type "
        "   AND s.derived = 0) AS dismissed, "
        "  (SELECT s.evidence FROM signals s WHERE s.message_key = al.message_key AND s.type = al.type "
        "   AND s.derived = 0 AND s.dismissed = 0 ORDER BY s.start LIMIT 1) AS evidence, "
        "  m.subject, m.sender_name, m.sender_email, m.date, a.company, a.role "
        "FROM alerts al LEFT JOIN messages m ON m.key = al.message_key "
        "LEFT JOIN applications a ON a.id = m.application_id "
        "WHERE al.channel = ? AND al.status = 'pending' ORDER BY m.date, al.queued_at, al.message_key, al.type",
        [channel],
    )
    out: list[Alert] = []
    drop: list[tuple[str, str, str]] = []
    for r in rows:
        if r["dismissed"] is None or r["dismissed"] or r["type"] not in types:
            why = ("dismissed" if r["dismissed"] else "type turned off" if r["type"] not in types
                   else "signal no longer found")
            drop.append((why, r["message_key"], r["type"]))
            continue
        sender = clean_text(r["sender_name"] or "") or clean_text(r["sender_email"] or "")
        out.append(Alert(
            message_key=str(r["message_key"]), type=str(r["type"]), application_id=r["application_id"],
            company=clean_text(r["company"]), role=clean_text(r["role"]), evidence=clean_text(r["evidence"]),
            subject=clean_text(r["subject"]), sender=sender, at=r["date"],
        ))
    if drop:
        with store.atomic():
            for why, key, type_ in drop:
                store.db.execute("UPDATE alerts SET status = 'dropped', error = ? WHERE message_key = ? AND type = ? "
                                 "AND channel = ? AND status = 'pending'", [why, key, type_, channel])
    return out


def _record(store: Store, channel: str, alerts: Sequence[Alert], now: datetime, error: str | None) -> None:
    with store.atomic():
        for a in alerts:
            if error is None:
                store.db.execute(
                    "UPDATE alerts SET status = 'sent', sent_at = ?, attempts = attempts + 1, error = NULL "
                    "WHERE message_key = ? AND type = ? AND channel = ?", [_iso(now), a.message_key, a.type, channel])
            else:
                store.db.execute(
                    "UPDATE alerts SET attempts = attempts + 1, error = ? WHERE message_key = ? AND type = ? AND channel = ?",
                    [error[:500], a.message_key, a.type, channel])


# -- running ------------------------------------------------------------------------------------

@dataclass
class AlertsResult:
    queued: int = 0
    sent: dict[str, int] | None = None
    held: int = 0  # pending through quiet hours
    failed: dict[str, str] | None = None


class Alerter:
    """Queues and delivers alerts for one process (it remembers what it logged already).

    ``notifier`` and ``mail_channel`` may be given (tests); by default they are built from
    the config at each run, so a reloaded config takes effect.
    """

    def __init__(self, *, notifier: DesktopNotifier | None = None, mail_channel: Channel | None = None) -> None:
        self.notifier = notifier
        self.mail_channel = mail_channel
        self._said: set[str] = set()  # log lines said once per process
        self._failing: dict[str, str] = {}  # channel -> the error logged last

    def _once(self, key: str, level: int, text: str, *args: Any) -> None:
        if key not in self._said:
            self._said.add(key)
            log.log(level, text, *args)

    def usable_channels(self, config: Config, notifier: DesktopNotifier) -> list[str]:
        out = []
        for ch in config.alerts.channels:
            if ch == "desktop":
                why = notifier.missing()
                if why:
                    self._once("no-notifier", logging.INFO, "desktop alerts skipped: %s", why)
                    continue
            out.append(ch)
        return out

    def run(self, store: Store, config: Config, now: datetime | None = None, *, deliver: bool = True) -> AlertsResult:
        """Queue the poll's new alerts, then deliver what is pending (unless ``deliver`` is
        False: the service is stopping). Never raises for a channel's failure."""
        now = now or datetime.now(timezone.utc)
        result = AlertsResult(sent={}, failed={})
        notifier = self.notifier or DesktopNotifier()
        channels = self.usable_channels(config, notifier) if config.alerts.enabled else []
        result.queued = queue_alerts(store, config, channels, now)
        if not channels or not deliver:
            return result
        if in_quiet_hours(now, config.alerts.quiet_hours, quiet_zone(config)):
            held = store.db.execute("SELECT count(*) FROM alerts WHERE status = 'pending'").fetchone()[0]
            if held:
                end = config.alerts.quiet_hours[1] if config.alerts.quiet_hours else None
                log.info("%d alert(s) held: quiet hours until %s", held, end.strftime("%H:%M") if end else "?")
            result.held = int(held)
            return result
        for ch in channels:
            alerts = pending(store, ch, config.alerts.types)
            if not alerts:
                continue
            if ch == "mail" and self._resting(store, now):
                continue
            try:
                if ch == "desktop":
                    notifier.send(title_of(alerts), notification_body(alerts))
                else:
                    self._mail(config, alerts, now)
            except AlertError as err:
                result.failed[ch] = str(err)  # type: ignore[index]
                _record(store, ch, alerts, now, str(err))
                self._failed(store, ch, err, len(alerts), now)
                continue
            _record(store, ch, alerts, now, None)
            result.sent[ch] = len(alerts)  # type: ignore[index]
            if self._failing.pop(ch, None) is not None:
                log.info("%s alerts work again", ch)
            if ch == "mail":
                store.set_meta("alerts_mail_rest_until", "")
            log.info("%d alert(s) delivered via %s: %s", len(alerts), ch, ", ".join(a.headline() for a in alerts[:3])
                     + (" …" if len(alerts) > 3 else ""))
        return result

    def _mail(self, config: Config, alerts: Sequence[Alert], now: datetime) -> None:
        from offerwatch.daemon.digest.deliver import DeliveryError
        from offerwatch.daemon.digest.job import make_channel, settings_from_config

        settings = settings_from_config(config)
        try:
            channel = self.mail_channel or make_channel(config)
            channel.send(alert_message(alerts, sender=settings.sender, to=settings.to, now=now))
        except DeliveryError as err:
            # the channel words its errors for the digest ("digest via SMTP host:port: ...")
            text = str(err)
            text = text[len("digest"):] if text.startswith("digest via ") else f": {text}"
            raise AlertError(f"alert mail{text}", transient=err.transient) from None

    def _resting(self, store: Store, now: datetime) -> bool:
        until = store.meta("alerts_mail_rest_until")
        if until and now < datetime.fromisoformat(until):
            log.debug("alert mail rests after a permanent error until %s", until)
            return True
        return False

    def _failed(self, store: Store, channel: str, err: AlertError, count: int, now: datetime) -> None:
        text = str(err)
        if not err.transient and channel == "mail":
            rest = now + PERMANENT_RETRY
            store.set_meta("alerts_mail_rest_until", _iso(rest))
            text += f"; fix it and they go out at the first poll after {rest.astimezone(timezone.utc):%H:%M} UTC"
        if self._failing.get(channel) != str(err):
            log.warning("%d %s alert(s) not delivered, kept for the next poll: %s", count, channel, text)
        else:
            log.info("%d %s alert(s) still waiting: %s", count, channel, text)
        self._failing[channel] = str(err)


def run_alerts(store: Store, config: Config, now: datetime | None = None) -> AlertsResult:
    """One-shot (``offerwatch sync``): queue and deliver with a fresh :class:`Alerter`."""
    return Alerter().run(store, config, now)
