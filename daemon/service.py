"""The long-running service behind ``offerwatch run``: poll, assess, send the digest, for months.

One process per database (:class:`~offerwatch.daemon.lock.DatabaseLock`, held for the
process's lifetime). An APScheduler 3.x :class:`BlockingScheduler` with an in-memory job
store runs three jobs:

* ``sync`` every poll interval (``[schedule] poll_minutes``, with ``jitter_seconds``): one
  incremental pass over every account, then the timeline assessment, then the digest if
  one is due (so a digest that could not be delivered is retried at the next poll);
* ``digest`` at the configured local time (a cron trigger in the digest's time zone);
* ``heartbeat`` every 30 s: compares the wall clock with the monotonic clock. A laptop that
  slept does not advance the monotonic clock, so a jump means "we just woke up": one
  sync now, and the digest's catch-up (:func:`offerwatch.daemon.digest.job.run_due_digest`
  decides, from the ``digests`` ledger, whether today's or a missed day's digest is due).

Every job has ``coalesce=True``, ``max_instances=1`` and a long ``misfire_grace_time``
(APScheduler's default of 1 s silently drops a run that starts a little late). ``sync``
and ``digest`` share one worker thread, so they never interleave on the database; the
heartbeat has its own so it is never stuck behind a long sync.

Signals: SIGTERM and SIGINT ask the sync engine to stop after the batch in progress (which
is committed), and the process exits 0 within :data:`STOP_DEADLINE` seconds. SIGHUP
reloads the config; an invalid file is logged and the running config kept.

One failing account (wrong password, server down) is logged and recorded in ``folders``
(``offerwatch status`` shows it) and the other accounts go on. One :class:`RetryPolicy`
lives as long as the process, so refused logins are capped across polls (no lockout).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offerwatch.daemon.config import AccountConfig, Config, ConfigError, load_config

if TYPE_CHECKING:
    from apscheduler.schedulers.blocking import BlockingScheduler

    from offerwatch.daemon.sync import SyncEngine
    from offerwatch.models.store import Store

log = logging.getLogger(__name__)

#: APScheduler job options for every job: one run when several were missed (sleep), never two
#: at once, and a run that starts up to an hour late still runs (the default of 1 s drops it).
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}

#: Seconds between two heartbeats (the sleep/wake detector).
HEARTBEAT_SECONDS = 30.0

#: A wall clock that moved this much more (or less) than the monotonic clock between two
#: heartbeats means the machine slept or the clock was set.
JUMP_THRESHOLD_SECONDS = 60.0

#: After SIGTERM/SIGINT, the batch in progress has this long to commit before the process exits.
STOP_DEADLINE = 8.0

#: Jitter is at most this fraction of the poll interval (a 30 s jitter on a 1 s poll is silly).
MAX_JITTER_FRACTION = 0.1


# -- clock ----------------------------------------------------------------------------------------

class Clock:
    """The service's wall clock: the system's, optionally shifted by a number of seconds read
    from ``offset_file`` (a test hook that simulates a sleep without sleeping).

    Example: a file holding ``86400`` makes :meth:`now` one day ahead of the system clock.
    """

    def __init__(self, offset_file: str | os.PathLike[str] | None = None) -> None:
        self.offset_file = Path(offset_file) if offset_file else None

    def offset(self) -> float:
        if self.offset_file is None:
            return 0.0
        try:
            return float(self.offset_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0.0

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset())


# -- logging --------------------------------------------------------------------------------------

class _JournalFormatter(logging.Formatter):
    """``<N>logger: message``: journald reads the ``<N>`` syslog priority and adds its own time."""

    PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prio = self.PRIORITY.get(record.levelno, 6)
        # every line of a traceback gets the prefix, or journald shows them as INFO
        return "\n".join(f"<{prio}>{line}" for line in text.splitlines())


class _DemoteBusyWarnings(logging.Filter):
    """APScheduler warns at every tick a job is still running (max_instances=1): that is
    how coalescing works with a long sync, not a problem; keep it for -vv."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances reached" in record.getMessage():
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_service_logging(level: int, log_file: str | os.PathLike[str] | None = None, *,
                              max_bytes: int = 5 * 1024 * 1024, backups: int = 5) -> None:
    """stderr in a journald-friendly form (under systemd) or timestamped lines; plus a rotating
    ``log_file``. Secrets are redacted from every handler."""
    from offerwatch.daemon.secrets import install_log_redaction

    root = logging.getLogger()
    stderr = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):  # systemd connected stderr to the journal
        stderr.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        stderr.setFormatter(logging.Formatter(FILE_FORMAT, "%Y-%m-%dT%H:%M:%S%z"))
    handlers: list[logging.Handler] = [stderr]
    if log_file:
        path = Path(log_file).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        rotating.setFormatter(logging.Formatter(FILE_FORMAT, "%Y-%m-%dT%H:%M:%S%z"))
        handlers.append(rotating)
        try:
            os.chmod(path, 0o600)
        except OSError:
            pass
    root.handlers[:] = handlers
    root.setLevel(level)
    sched_log = logging.getLogger("apscheduler")
    sched_log.setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    # IMAPClient's DEBUG lines are the IMAP conversation itself, mail text included: never in the
    # service's log (the CLI shows them only at -vvv), and with them off imaplib formats nothing
    # for them (see sources.imap.quiet_imaplib)
    logging.getLogger("imapclient").setLevel(logging.ERROR)
    for name in ("apscheduler.scheduler", "apscheduler.executors.default"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, _DemoteBusyWarnings) for f in lg.filters):
            lg.addFilter(_DemoteBusyWarnings())
    install_log_redaction()


# -- the state file -------------------------------------------------------------------------------

def state_path(database: Path) -> Path:
    """``<database>.service.json``: what the running service last did, for ``offerwatch status``."""
    return Path(str(database) + ".service.json")


def read_state(database: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(state_path(database).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_state(database: Path | None, state: dict[str, Any]) -> None:
    if database is None:
        return
    path = state_path(database)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1, default=str)
        os.replace(tmp, path)
    except OSError as err:
        log.debug("could not write %s: %s", path, err)


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


# -- scheduling -----------------------------------------------------------------------------------

def poll_interval(config: Config, poll_seconds: float | None = None) -> tuple[float, float]:
    """``(interval, jitter)`` in seconds. ``poll_seconds`` (tests, soak) means no jitter."""
    if poll_seconds is not None:
        return float(poll_seconds), 0.0
    interval = config.schedule.poll_minutes * 60.0
    return interval, min(config.schedule.jitter_seconds, interval * MAX_JITTER_FRACTION)


def digest_zone(config: Config) -> tzinfo:
    from offerwatch.daemon.digest.job import settings_from_config

    return settings_from_config(config).tz


def sync_trigger(config: Config, poll_seconds: float | None = None):
    from apscheduler.triggers.interval import IntervalTrigger

    interval, jitter = poll_interval(config, poll_seconds)
    return IntervalTrigger(seconds=interval, jitter=jitter or None, timezone=timezone.utc)


def digest_trigger(config: Config):
    """Daily at ``[digest] time`` in ``[digest] timezone`` (the system's when empty), DST-aware."""
    from apscheduler.triggers.cron import CronTrigger

    at = config.digest.time
    return CronTrigger(hour=at.hour, minute=at.minute, second=0, timezone=digest_zone(config))


def build_scheduler(service: Service, *, heartbeat: float = HEARTBEAT_SECONDS,
                    first_sync: datetime | None = None, scheduler_class: type | None = None) -> BlockingScheduler:
    """The scheduler with its three jobs (not started). ``scheduler_class`` lets tests use a
    BackgroundScheduler, whose ``start()`` does not block."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = (scheduler_class or BlockingScheduler)(
        jobstores={"default": MemoryJobStore()},
        # one worker for the jobs that touch the database: they never interleave
        executors={"default": ThreadPoolExecutor(1), "heartbeat": ThreadPoolExecutor(1)},
        job_defaults=dict(JOB_DEFAULTS),
        timezone=timezone.utc,
    )
    scheduler.add_job(service.sync_job, sync_trigger(service.config, service.poll_seconds), id="sync", name="sync",
                      next_run_time=first_sync or datetime.now(timezone.utc))
    scheduler.add_job(service.digest_job, digest_trigger(service.config), id="digest", name="digest")
    scheduler.add_job(service.heartbeat_job, IntervalTrigger(seconds=heartbeat, timezone=timezone.utc),
                      id="heartbeat", name="heartbeat", executor="heartbeat", misfire_grace_time=None)
    return scheduler


# -- the service ----------------------------------------------------------------------------------

@dataclass
class PollResult:
    accounts: int = 0
    read: int = 0
    signals: int = 0
    failed: list[str] = field(default_factory=list)
    stopped: bool = False


class Service:
    """Everything ``offerwatch run`` does, minus argument parsing.

    ``config_loader`` re-reads the config on SIGHUP (``None``: reload is not possible);
    ``source_factory`` builds a source for an account (tests may pass another one).
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        config_loader: Callable[[], Config] | None = None,
        poll_seconds: float | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        clock: Clock | None = None,
        source_factory: Callable[[AccountConfig], Any] | None = None,
        retry_base_delay: float = 1.0,
    ) -> None:
        from offerwatch.daemon.sources.imap import RetryPolicy

        self.config = config
        self.store = store
        self.database: Path | None = store.path
        self.config_loader = config_loader
        self.poll_seconds = poll_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.clock = clock or Clock()
        self.source_factory = source_factory or _imap_source
        self.stop_event = threading.Event()
        # waits on stop_event: a retry back-off ends at once on SIGTERM
        self.retry = RetryPolicy(base_delay=retry_base_delay, sleep=self._sleep)
        self.work_lock = threading.Lock()  # held by sync and digest while they touch the store
        self.engine: SyncEngine | None = None
        self.scheduler: BlockingScheduler | None = None
        self._last_wall = self.clock.now().timestamp()
        self._last_mono = time.monotonic()
        self.started_at = datetime.now(timezone.utc)
        self.polls = 0
        self.state: dict[str, Any] = {"pid": os.getpid(), "started_at": _iso(self.started_at), "config": config.source}
        from offerwatch.daemon.alerts import Alerter

        self.alerter = Alerter()  # lives as long as the process: says "no notifier" once
        self._fault: str | None = None  # the storage fault logged last (disk full, corrupt database)
        self._fault_this_poll = False
        self._idle_stop = threading.Event()  # ends this generation of IDLE watchers (stop, reload)
        self.idle_watchers: list[Any] = []

    def _sleep(self, seconds: float) -> None:
        self.stop_event.wait(seconds)

    # -- jobs ---------------------------------------------------------------------------------

    def sync_job(self) -> PollResult | None:
        """One pass over every account, then assessment and the digest if due."""
        if self.stop_event.is_set():
            return None
        with self.work_lock:
            if self.stop_event.is_set():
                return None
            started = datetime.now(timezone.utc)
            self._save_state(last_poll_started=_iso(started))
            self._fault_this_poll = False
            result = self.poll()
            self.polls += 1
            finished = datetime.now(timezone.utc)
            log.info("poll %d: %d account(s), %d new message(s), %d signal(s)%s in %.1f s", self.polls,
                     result.accounts, result.read, result.signals,
                     f", failed: {', '.join(result.failed)}" if result.failed else "",
                     (finished - started).total_seconds())
            self._save_state(last_poll_finished=_iso(finished), last_poll_ok=not result.failed,
                             last_poll_failed_accounts=result.failed, polls=self.polls, next_poll=self._next_run("sync"))
            if not self.stop_event.is_set():
                self._digest_if_due()
            if self._fault is not None and not self._fault_this_poll:
                log.info("the database works again (%s is over)", self._fault)
                self._fault = None
                self._save_state(storage_fault=None)
            return result

    def digest_job(self) -> None:
        """At the digest time: send today's digest if it is due (the ledger prevents a second one)."""
        if self.stop_event.is_set():
            return
        with self.work_lock:
            self._digest_if_due()

    def heartbeat_job(self) -> bool:
        """Detect a wall-clock jump (sleep/wake); on one, sync now (the digest check follows it)."""
        wall, mono = self.clock.now().timestamp(), time.monotonic()
        drift = (wall - self._last_wall) - (mono - self._last_mono)
        self._last_wall, self._last_mono = wall, mono
        if abs(drift) < JUMP_THRESHOLD_SECONDS:
            return False
        log.info("the wall clock jumped %+.0f s against the monotonic clock (the computer slept, or the clock was "
                 "set): syncing now and catching up on the digest", drift)
        self.wake()
        return True

    def wake(self) -> None:
        """Run the sync job now (it checks the digest after it); without a scheduler, inline."""
        if self.scheduler is not None and self.scheduler.running:
            try:
                self.scheduler.modify_job("sync", next_run_time=datetime.now(timezone.utc))
            except Exception as err:  # noqa: BLE001 - JobLookupError while shutting down
                log.debug("could not schedule the wake-up sync: %s", err)
        else:
            self.sync_job()

    # -- the work -----------------------------------------------------------------------------

    def poll(self) -> PollResult:
        from offerwatch.daemon.commands import _assess_config
        from offerwatch.daemon.sync import assess_applications
        from offerwatch.extractors.pipeline import Owner

        config = self.config
        result = PollResult()
        owner = Owner.of(config.owner_addresses)
        if not config.accounts:
            log.warning("nothing to poll: %s", config.no_accounts())
        changed: set[int] = set()
        for acct in config.accounts:
            if self.stop_event.is_set():
                result.stopped = True
                break
            result.accounts += 1
            report = self._sync_account(acct, owner)
            if report is None:
                result.failed.append(acct.name)
                continue
            result.read += report.read
            result.signals += sum(f.signals for f in report.folders)
            changed |= report.applications
            if report.failed:
                result.failed.append(acct.name)
            result.stopped = result.stopped or report.stopped
        # the applications that got mail; the first poll, and the first of each day, assess all
        try:
            assess_applications(self.store, None if self.polls == 0 else changed, now=self.clock.now(),
                                config=_assess_config(config))
        except Exception as err:  # noqa: BLE001 - a bug in assessment must not stop the service
            if not self._storage_fault(err):
                log.exception("assessing the applications failed; the mail read is saved, the next poll tries again")
        self._alerts()
        return result

    def _alerts(self) -> None:
        """This poll's urgent signals, at once (see daemon.alerts). A failing channel is logged
        there and retried at the next poll; nothing here stops the poll. While stopping, the
        alerts are only queued (a slow SMTP server must not hold up the exit)."""
        try:
            self.alerter.run(self.store, self.config, self.clock.now(), deliver=not self.stop_event.is_set())
        except Exception as err:  # noqa: BLE001 - an alerts bug must not stop the service
            if not self._storage_fault(err):
                log.exception("alerts failed; the mail read is saved, the next poll tries again")

    def _storage_fault(self, err: BaseException) -> bool:
        """Whether ``err`` is a fault of the database or its disk. Such a fault is the same at
        every poll until the user acts: it is logged once, as one line saying what to do (and
        written to the state file for ``offerwatch status``), then only at debug level."""
        from offerwatch.models.store import storage_fault

        fault = storage_fault(err, self.database)
        if fault is None:
            return False
        self._fault_this_poll = True
        if self._fault != fault.kind:
            log.error("%s; the service keeps polling and resumes by itself once it can write again", fault)
            self._fault = fault.kind
            self._save_state(storage_fault=str(fault))
        else:
            log.debug("still: %s", fault)
        return True

    def _sync_account(self, acct: AccountConfig, owner: Any):
        """Sync one account; failures are logged and recorded, never raised."""
        from offerwatch.daemon.sources.base import SourceError
        from offerwatch.daemon.sync import SyncEngine

        engine = SyncEngine(self.store, owner, retry=self.retry)
        self.engine = engine
        if self.stop_event.is_set():
            engine.stop_requested = True
        source = None
        try:
            source = self.source_factory(acct)
            connect = getattr(source, "connect", None)
            if connect is not None:
                self.retry.call(connect, account=acct.name)
            report = engine.run(source)
        except SourceError as err:
            self._record_account_error(acct, str(err))
            return None
        except Exception as err:  # noqa: BLE001 - one account's bug must not stop the others
            if self._storage_fault(err):
                return None  # nothing can be recorded in the database now; logged once
            log.exception("account %s: unexpected error while syncing", acct.name)
            self._record_account_error(acct, f"internal error: {type(err).__name__}: {err}")
            return None
        finally:
            self.engine = None
            if source is not None:
                try:
                    source.close()
                except Exception as err:  # noqa: BLE001 - closing a dead connection
                    log.debug("account %s: close failed: %s", acct.name, err)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            for fr in report.folders:
                if fr.error is None and not report.stopped:
                    mark_folder_synced(self.store, fr.account, fr.folder, now)
        except Exception as err:  # noqa: BLE001 - classified: a storage fault is logged once, anything else raised
            if not self._storage_fault(err):
                raise
            return None
        return report

    def _record_account_error(self, acct: AccountConfig, error: str) -> None:
        from offerwatch.daemon.secrets import redact

        error = redact(error)
        log.error("account %s: %s", acct.name, error)
        try:
            known = [s.name for s in self.store.folder_states() if s.account == acct.name]
        except Exception as err:  # noqa: BLE001 - classified: a storage fault is logged once, anything else raised
            if not self._storage_fault(err):
                raise
            return
        folders = known or list(acct.folders) or ["INBOX"]
        for folder in folders:
            try:
                self.store.record_folder_error(acct.name, folder, error)
            except Exception as err:  # noqa: BLE001 - the database itself failing: logged (once), the service goes on
                if not self._storage_fault(err):
                    log.exception("could not record the error of account %s", acct.name)
                return

    def _digest_if_due(self) -> None:
        from offerwatch.daemon.digest.job import run_due_digest

        try:
            result = run_due_digest(self.store, self.config, now=self.clock.now())
        except Exception as err:  # noqa: BLE001 - a digest bug must not stop the polling
            if not self._storage_fault(err):
                log.exception("the digest failed; the next poll tries again")
            return
        if result is not None:
            level = logging.INFO if result.ok else logging.WARNING
            log.log(level, "digest for %s: %s%s", result.for_date, result.status, f" ({result.error})" if result.error else "")
            self._save_state(last_digest=str(result.for_date), last_digest_status=result.status)

    # -- state, signals, reload ----------------------------------------------------------------

    def _next_run(self, job_id: str) -> str | None:
        if self.scheduler is None:
            return None
        job = self.scheduler.get_job(job_id)
        return _iso(job.next_run_time) if job is not None and job.next_run_time else None

    def _save_state(self, **changes: Any) -> None:
        self.state.update(changes)
        _write_state(self.database, self.state)

    def request_stop(self, reason: str = "stop requested") -> None:
        """Finish the batch in progress, then stop (safe from a signal handler)."""
        if self.stop_event.is_set():
            return
        log.info("%s: finishing the batch in progress, then exiting", reason)
        self.stop_event.set()
        self._idle_stop.set()
        engine = self.engine
        if engine is not None:
            engine.stop_requested = True
        scheduler = self.scheduler
        if scheduler is not None:
            # not from the signal handler itself: the main thread may hold the scheduler's locks
            threading.Thread(target=_shutdown, args=(scheduler,), name="offerwatch-stop", daemon=True).start()

    def reload(self) -> bool:
        """Re-read the config; keep the old one if the new one is invalid. Returns whether it changed."""
        if self.config_loader is None:
            log.warning("reload requested but the config cannot be re-read (no file); keeping it")
            return False
        try:
            new = self.config_loader()
        except ConfigError as err:
            log.error("reload: the new configuration is invalid, keeping the running one.\n%s", err)
            return False
        except Exception as err:  # noqa: BLE001 - e.g. a permissions error
            log.error("reload: could not read the configuration (%s); keeping the running one", err)
            return False
        old, self.config = self.config, new
        if self.database is not None and Path(new.database).expanduser() != Path(old.database).expanduser():
            log.warning("reload: [storage] database changed; restart the service to use the new database")
        if self.scheduler is not None and self.scheduler.running:
            if new.schedule != old.schedule:
                self.scheduler.reschedule_job("sync", trigger=sync_trigger(new, self.poll_seconds))
            if (new.digest.time, new.digest.timezone) != (old.digest.time, old.digest.timezone):
                self.scheduler.reschedule_job("digest", trigger=digest_trigger(new))
        if self.idle_watchers or any(a.idle for a in new.accounts):
            if [a for a in new.accounts if a.idle] != [a for a in old.accounts if a.idle]:
                self._stop_idle()
                self._start_idle()
        self.retry.reset()  # the user may have fixed a password
        log.info("reloaded the configuration from %s: %d account(s), poll every %.0f s, digest at %s",
                 new.source, len(new.accounts), poll_interval(new, self.poll_seconds)[0], new.digest.time.strftime("%H:%M"))
        self._save_state(config=new.source, reloaded_at=_iso(datetime.now(timezone.utc)))
        return True

    def install_signal_handlers(self) -> None:
        def on_stop(signum: int, frame: Any) -> None:
            self.request_stop(f"received {signal.Signals(signum).name}")

        def on_hup(signum: int, frame: Any) -> None:
            threading.Thread(target=self.reload, name="offerwatch-reload", daemon=True).start()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, on_hup)

    # -- running ------------------------------------------------------------------------------

    def poll_now(self) -> dict[str, Any]:
        """Answer ``offerwatch sync`` (over the poll-now socket): poll at once, after any poll in
        progress (``sync_job`` takes the work lock), and report what it found."""
        log.info("poll requested by 'offerwatch sync'")
        result = self.sync_job()
        if result is None:
            raise RuntimeError("the service is stopping")
        return {"accounts": result.accounts, "read": result.read, "signals": result.signals,
                "failed": result.failed}

    def on_new_mail(self, account: str) -> None:
        """An IDLE watcher saw new mail: poll at once (after any poll in progress), in its thread."""
        self.sync_job()

    def _start_idle(self) -> None:
        """One IMAP IDLE watcher per account with ``idle = true`` (see daemon.idle)."""
        from offerwatch.daemon.idle import IdleWatcher

        self._idle_stop = threading.Event()
        if self.stop_event.is_set():
            return
        self.idle_watchers = [IdleWatcher(acct, self.source_factory, self.on_new_mail, self._idle_stop)
                              for acct in self.config.accounts if acct.idle]
        for watcher in self.idle_watchers:
            watcher.start()

    def _stop_idle(self) -> None:
        self._idle_stop.set()
        for watcher in self.idle_watchers:
            watcher.join(timeout=STOP_DEADLINE)
        self.idle_watchers = []

    def run_once(self) -> PollResult | None:
        return self.sync_job()

    def run_forever(self) -> bool:
        """Block until SIGTERM/SIGINT. Returns True when the work in progress finished in time."""
        self.scheduler = build_scheduler(self, heartbeat=self.heartbeat_seconds)
        interval, jitter = poll_interval(self.config, self.poll_seconds)
        log.info("offerwatch service started (PID %d): %d account(s), poll every %.0f s%s, digest at %s %s, database %s",
                 os.getpid(), len(self.config.accounts), interval, f" (+ up to {jitter:.0f} s jitter)" if jitter else "",
                 self.config.digest.time.strftime("%H:%M"), digest_zone(self.config), self.database)
        self._save_state(poll_seconds=interval)
        if self.stop_event.is_set():
            return True
        from offerwatch.daemon.pollnow import PollNowServer

        pollnow = PollNowServer(self.database, self.poll_now) if self.database is not None else None
        if pollnow is not None:
            pollnow.start()
        self._start_idle()
        try:
            self.scheduler.start()  # blocks until request_stop() shuts it down
        finally:
            self._idle_stop.set()
            if pollnow is not None:
                pollnow.stop()
        finished = self.work_lock.acquire(timeout=STOP_DEADLINE)
        if finished:
            self.work_lock.release()
        else:
            log.warning("the sync in progress did not finish within %.0f s; exiting anyway (its uncommitted batch "
                        "will be read again at the next start)", STOP_DEADLINE)
        self._save_state(stopped_at=_iso(datetime.now(timezone.utc)), next_poll=None)
        return finished


def _shutdown(scheduler: BlockingScheduler) -> None:
    from apscheduler.schedulers import SchedulerNotRunningError

    try:
        scheduler.shutdown(wait=False)
    except SchedulerNotRunningError:
        pass


def _imap_source(acct: AccountConfig) -> Any:
    from offerwatch.daemon.imap_cli import account_source

    return account_source(acct)


def mark_folder_synced(store: Store, account: str, folder: str, when: str) -> None:
    """A quiet poll succeeded: see :meth:`Store.mark_folder_synced`."""
    store.mark_folder_synced(account, folder, when)


def load_for_reload(path: str | None) -> Callable[[], Config]:
    return lambda: load_config(path, required=bool(path))
