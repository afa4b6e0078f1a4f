"""The sync engine: any MailSource -> pipeline -> store, in crash-safe batches.

Written once for every source. Per folder it reads the stored UIDVALIDITY and high-water
mark, asks the source for newer messages, analyses them in batches and writes each batch
together with the new high-water mark in one transaction. A crash loses at most the batch
in flight, and re-reading it is idempotent (messages are keyed by Message-ID, signals are
replaced). One bad message is recorded and skipped; one bad folder is recorded and the
next folder goes on.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from collections import deque
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Protocol, TypeVar

from offerwatch.daemon.sources.base import FolderInfo, MailSource, SourceError, UnorderedMailSource
from offerwatch.extractors.fingerprint import content_fingerprint
from offerwatch.extractors.pipeline import Owner, Prepared, analyze_many, prepare_many
from offerwatch.models.domain import Analysis, Direction, RawMessage
from offerwatch.models.linking import link_message
from offerwatch.models.store import Store

log = logging.getLogger(__name__)

DEFAULT_BATCH = 50
#: Batches parsed ahead by the worker pool while one is written.
PREFETCH = 2

_T = TypeVar("_T")


@dataclass
class FolderReport:
    account: str
    folder: str
    read: int = 0
    skipped_known: int = 0
    job: int = 0
    signals: int = 0
    unparseable: int = 0
    error: str | None = None


@dataclass
class SyncReport:
    folders: list[FolderReport] = field(default_factory=list)
    applications: set[int] = field(default_factory=set)
    newest: datetime | None = None
    stopped: bool = False

    @property
    def read(self) -> int:
        return sum(f.read for f in self.folders)

    @property
    def failed(self) -> bool:
        return any(f.error for f in self.folders)


Progress = Callable[[int], None]


class RetryLike(Protocol):
    """What the engine needs of a retry policy (``sources.imap.RetryPolicy`` fits)."""

    attempts: int

    def delay(self, attempt: int) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SyncEngine:
    """Moves mail from a source into the store. One engine per store and owner."""

    def __init__(self, store: Store, owner: Owner, *, batch_size: int = DEFAULT_BATCH, retry: RetryLike | None = None,
                 pool: Executor | None = None) -> None:
        self.store = store
        self.owner = owner
        self.batch_size = batch_size
        self.retry = retry
        #: worker processes that parse and classify (backfill); results are written here, in order
        self.pool = pool
        self.stop_requested = False  # set from a signal handler; checked between batches
        #: With a pool, spaCy is built in a thread while this one fetches and feeds the workers
        #: (see :func:`warm_extraction`); joined before the first extraction.
        self._warming: threading.Thread | None = None
        if pool is not None:
            self._warming = threading.Thread(target=warm_extraction, name="offerwatch-warm-up", daemon=True)
            self._warming.start()

    def run(
        self,
        source: MailSource,
        *,
        since: date | None = None,
        until: date | None = None,
        folder_names: Sequence[str] | None = None,
        backfill: bool = False,
        on_total: Callable[[int], None] | None = None,
        on_progress: Progress | None = None,
    ) -> SyncReport:
        """Read every folder of ``source``; ``backfill`` reads from the start, skipping known mail."""
        report = SyncReport()
        folders = self._retrying(source, "listing folders", source.folders)
        # after the listing: a source that cannot be opened (a missing maildir) changes nothing
        self.store.ensure_account(source.account, type(source).__name__)
        if folder_names:
            wanted = set(folder_names)
            folders = [f for f in folders if f.name in wanted]
            missing = wanted - {f.name for f in folders}
            if missing:
                raise SourceError(f"account {source.account}: no folder named {', '.join(sorted(missing))}")
        plans = [(f, self._start_uid(source.account, f, backfill)) for f in folders]
        if on_total is not None:
            total = 0
            try:
                for f, after in plans:
                    if isinstance(source, UnorderedMailSource):
                        n: int | None = source.count_unread(f, self._seen(source, f))
                    else:
                        n = source.count(f, after, since, until)
                    total += n or 0
            except SourceError as err:  # only the progress bar's total: each folder retries on its own
                log.info("account %s: could not count the messages to read (%s); progress without a total",
                         source.account, err)
            else:
                on_total(total)
        for folder, after_uid in plans:
            if self.stop_requested:
                report.stopped = True
                break
            fr = FolderReport(source.account, folder.name)
            report.folders.append(fr)
            self._sync_folder_with_retry(source, folder, after_uid, since, until, backfill, fr, report, on_progress)
        return report

    def _sync_folder_with_retry(self, source: MailSource, folder: FolderInfo, after_uid: int, since: date | None,
                                until: date | None, backfill: bool, fr: FolderReport, report: SyncReport,
                                on_progress: Progress | None) -> None:
        """Sync one folder; on a transient fault (connection lost, server restarted) drop the
        connection, back off and resume from the stored state, which every committed batch
        advanced."""
        attempt = 1
        while True:
            try:
                self._sync_folder(source, folder, after_uid, since, until, backfill, fr, report, on_progress)
                if not report.stopped:
                    self.store.mark_folder_synced(source.account, folder.name)
                return
            except SourceError as first:
                err: SourceError = first
            # Back off and refresh the folder list (a new UIDVALIDITY?), then resume from the
            # stored state. A refresh that fails transiently too (the server is still down)
            # costs an attempt, not the folder.
            while True:
                if not self._may_retry(err, attempt):
                    self._record(source, folder, fr, err)
                    return
                self._back_off(source, f"folder {folder.name}", err, attempt)
                attempt += 1
                try:
                    fresh = {f.name: f for f in source.folders()}
                except SourceError as again:
                    err = again
                    continue
                break
            if folder.name not in fresh:
                self._record(source, folder, fr, err)
                return
            folder = fresh[folder.name]
            after_uid = self._start_uid(source.account, folder, backfill)

    def _may_retry(self, err: SourceError, attempt: int) -> bool:
        return (bool(getattr(err, "transient", False)) and self.retry is not None
                and attempt < self.retry.attempts and not self.stop_requested)

    def _back_off(self, source: MailSource, what: str, err: SourceError, attempt: int) -> None:
        assert self.retry is not None
        wait = self.retry.delay(attempt)
        log.warning("account %s, %s: %s; retrying in %.1fs (attempt %d of %d)",
                    source.account, what, err, wait, attempt + 1, self.retry.attempts)
        source.close()
        self.retry.sleep(wait)

    def _retrying(self, source: MailSource, what: str, fn: Callable[[], _T]) -> _T:
        """``fn()``, retried with the engine's policy on transient source errors."""
        attempt = 1
        while True:
            try:
                return fn()
            except SourceError as err:
                if not self._may_retry(err, attempt):
                    raise
                self._back_off(source, what, err, attempt)
                attempt += 1

    def _record(self, source: MailSource, folder: FolderInfo, fr: FolderReport, err: SourceError) -> None:
        fr.error = str(err)
        log.error("account %s, folder %s: %s", source.account, folder.name, err)
        self.store.record_folder_error(source.account, folder.name, str(err))

    def _start_uid(self, account: str, folder: FolderInfo, backfill: bool) -> int:
        state = self.store.folder_state(account, folder.name)
        if state is None:
            return 0
        if state.uidvalidity and state.uidvalidity != folder.uidvalidity:
            log.warning(
                "account %s, folder %s: UIDVALIDITY changed from %d to %d; rescanning the folder "
                "(messages already stored are recognised by Message-ID, not duplicated)",
                account, folder.name, state.uidvalidity, folder.uidvalidity,
            )
            self.store.reset_folder(account, folder.name, folder.uidvalidity)
            return 0
        return 0 if backfill else state.last_uid

    def _sync_folder(
        self,
        source: MailSource,
        folder: FolderInfo,
        after_uid: int,
        since: date | None,
        until: date | None,
        backfill: bool,
        fr: FolderReport,
        report: SyncReport,
        on_progress: Progress | None,
    ) -> None:
        if isinstance(source, UnorderedMailSource):
            # No high-water mark (a maildir): in a sync as in a backfill, what was read is the
            # set of stored locations, and the source opens only the files not in it.
            since = self._unordered_floor(source, folder, since, backfill)
            stream = source.unread(folder, self._seen(source, folder), since, until)
            seen: set[str] = set()
        else:
            stream = source.messages(folder, after_uid, since, until)
            seen = self._seen(source, folder) if backfill else set()
        batch: list[RawMessage] = []
        # With a pool, the next batches are parsed and classified in worker processes while
        # this one is written; batches are still written one by one, in order, here.
        ahead: deque[tuple[list[RawMessage], Future[list[Prepared]]]] = deque()

        def flush(limit: int) -> None:
            while len(ahead) > limit:
                done, future = ahead.popleft()
                self._write(folder, done, fr, report, on_progress, future)

        for raw in stream:
            if raw.location.identity in seen:
                fr.skipped_known += 1
                if on_progress:
                    on_progress(1)
                continue
            batch.append(raw)
            if len(batch) >= self.batch_size:
                if self.pool is not None:
                    readable = [r.data for r in batch if r.error is None]
                    ahead.append((batch, self.pool.submit(prepare_many, readable, self.owner, folder.role)))
                    flush(PREFETCH)
                else:
                    self._write(folder, batch, fr, report, on_progress)
                batch = []
                if self.stop_requested:
                    flush(0)
                    report.stopped = True
                    return
        flush(0)
        if batch:
            self._write(folder, batch, fr, report, on_progress)

    def _unordered_floor(self, source: MailSource, folder: FolderInfo, since: date | None, backfill: bool) -> date | None:
        """The ``--since`` of the last backfill, kept for the syncs after it.

        After ``backfill --since D`` an IMAP sync goes on after the highest UID read, so the
        history before D stays unread. A source without ordered UIDs has no such mark: the day
        is kept instead, or the next sync would read the whole history the user left out.
        """
        key = f"unordered_since\x1f{source.account}\x1f{folder.name}"
        if backfill:
            self.store.set_meta(key, since.isoformat() if since else "")
            return since
        kept = self.store.meta(key)
        return date.fromisoformat(kept) if kept else since

    def _seen(self, source: MailSource, folder: FolderInfo) -> set[str]:
        return self.store.seen_identities(source.account, folder.name, folder.uidvalidity)

    def _write(
        self, folder: FolderInfo, batch: list[RawMessage], fr: FolderReport, report: SyncReport, on_progress: Progress | None,
        prepared: Future[list[Prepared]] | None = None,
    ) -> None:
        # A message the source could not read is recorded as unreadable, never analysed.
        analysed = iter(self._analyze(folder, [r for r in batch if r.error is None], prepared))
        analyses = [_unreadable(r, r.error) if r.error is not None else next(analysed) for r in batch]
        items = list(zip((r.location for r in batch), analyses, strict=True))
        last_uid = max(r.location.uid for r in batch)
        touched = self.store.write_batch(
            batch[0].location.account, folder.name, folder.uidvalidity, items, last_uid=last_uid, linker=link_message
        )
        report.applications.update(touched)
        for a in analyses:
            fr.read += 1
            fr.job += a.is_job
            fr.signals += len(a.signals)
            fr.unparseable += a.parse_failed
            if a.date and a.date <= datetime.now(timezone.utc) and (report.newest is None or a.date > report.newest):
                report.newest = a.date
        if on_progress:
            on_progress(len(batch))

    def _analyze(self, folder: FolderInfo, batch: list[RawMessage], prepared: Future[list[Prepared]] | None = None) -> list[Analysis]:
        if self._warming is not None:
            self._warming.join()  # the pipeline is whole before this thread extracts
            self._warming = None
        try:
            ready = prepared.result() if prepared is not None else None
            return list(analyze_many([r.data for r in batch], owner=self.owner, folder_role=folder.role,
                                     thread_is_job=self.store.is_job_thread, contact_is_job=self.store.is_job_contact,
                                     role_of=self.store.known_role, prepared=ready))
        except Exception:  # noqa: BLE001 - a pipeline bug must not stall the folder; isolate the message
            log.exception("batch analysis failed in folder %s; analysing its messages one by one", folder.name)
        out: list[Analysis] = []
        for raw in batch:
            try:
                out.extend(analyze_many([raw.data], owner=self.owner, folder_role=folder.role,
                                        thread_is_job=self.store.is_job_thread, contact_is_job=self.store.is_job_contact,
                                        role_of=self.store.known_role))
            except Exception as err:  # noqa: BLE001 - recorded as unparseable so the folder moves on
                log.exception("message %s could not be analysed; recorded as unparseable", raw.location.key)
                out.append(_unreadable(raw, f"internal error while analysing: {type(err).__name__}"))
        return out


def warm_extraction() -> None:
    """Build the extraction pipeline (importing spaCy, the rules, the learned layer: about
    1.5 s of CPU) now.

    Run in a thread as a backfill starts. Built in the main thread before or at the first batch,
    it stalled the pool: nothing was fetched for the workers meanwhile, and they sat idle for
    most of that time (``bench/imap_backfill.py``). A failure is logged, not raised: the first
    extraction builds the pipeline again and reports it where a failure belongs.
    """
    try:
        from offerwatch.extractors.learned import classifier
        from offerwatch.extractors.nlp import get_nlp

        get_nlp()
        classifier()
    except Exception:  # noqa: BLE001 - a thread's exception would be lost; the caller retries in place
        log.exception("building the extraction pipeline ahead of time failed; it is built at the first message")


def _unreadable(raw: RawMessage, why: str) -> Analysis:
    return Analysis(
        message_id="", subject="", sender=None, to=(), cc=(), date=None, in_reply_to=None, references=(),
        direction=Direction.IN, is_job=False, job_reason=why, text="", signature="", problems=(why,),
        parse_failed=True, fingerprint=content_fingerprint(raw.data),
        # a file that could not be read has no content to tell it from another one: its place does
        content_hash=hashlib.sha256(raw.location.identity.encode("utf-8", "surrogatepass") if raw.error else raw.data).hexdigest(),
    )


def assess_applications(
    store: Store,
    changed: Iterable[int] | None,
    *,
    now: datetime | None,
    config: object | None = None,
    full: bool = False,
) -> None:
    """Recompute derived signals, stage and outlook (models.timeline) where it can have moved.

    ``changed`` are the applications that got mail in this pass (None: unknown, all of them).
    Silence and ghosting move with the calendar, not with mail, so once a day (the first pass
    of a new day, in the digest's time zone) and whenever ``full`` is asked (before a digest
    is built) every application is assessed. A poll with nothing new costs nothing.
    """
    from offerwatch.models import timeline
    from offerwatch.models.calendar_days import zone

    kwargs: dict[str, object] = {"now": now}
    if config is not None:
        kwargs["config"] = config
    tz = zone(getattr(config, "timezone", None)) if config is not None else timezone.utc
    today = (now or datetime.now(timezone.utc)).astimezone(tz).date().isoformat()
    if full or changed is None or store.meta("assessed_all_on") != today:
        timeline.assess(store, None, **kwargs)  # type: ignore[arg-type]
        store.set_meta("assessed_all_on", today)
        return
    ids = sorted(set(changed))
    if ids:
        timeline.assess(store, ids, **kwargs)  # type: ignore[arg-type]
