"""SQLite storage through sqlite-utils: schema, migrations and the batch write.

One file per user, WAL mode, mode 0600. ``PRAGMA user_version`` holds the schema version and
:data:`MIGRATIONS` moves any older file forward. The sync engine writes a batch of messages,
their signals and the folder's new high-water mark in ONE transaction (:meth:`Store.write_batch`),
so a crash at any instant loses nothing and duplicates nothing.

Non-job mail keeps only what dedupe needs (identity, Message-ID, date, direction, the
classifier's reason): no body, subject or sender of private mail is stored.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import hashlib
import itertools
import json
import logging
import math
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from offerwatch.models.domain import POLARITY, Analysis, Location
from offerwatch.models.subjects import normalize_subject

if TYPE_CHECKING:
    from offerwatch.models.notjob import Rules

log = logging.getLogger(__name__)


class StoreError(Exception):
    """The database cannot be used; the message names the file and what to do."""


class StorageFault(StoreError):
    """The database file or its disk failed under a command (disk full, I/O error, corrupt
    file). Not the fault of any message: nothing of the operation in progress was written.

    ``kind`` is ``"full"``, ``"io"``, ``"corrupt"`` or ``"readonly"``; the message is one line that
    says what happened and what to do.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def storage_fault(err: BaseException, path: str | os.PathLike[str] | None = None) -> StorageFault | None:
    """The :class:`StorageFault` an exception stands for, or ``None`` when it is something else.

    SQLite reports these with result codes (``SQLITE_FULL``, ``SQLITE_IOERR``, ``SQLITE_CORRUPT``,
    ``SQLITE_NOTADB``, ``SQLITE_READONLY``); the operating system with ``ENOSPC``/``EDQUOT``/``EIO``
    (a digest file, the lock file). ``path`` names the database in the message when known.
    """
    import errno

    if isinstance(err, StorageFault):
        return err
    where = f"the database {path}" if path else "the database"
    code = getattr(err, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(err).lower()
    if isinstance(err, sqlite3.Error):
        io_error = primary == sqlite3.SQLITE_IOERR or "disk i/o error" in text
        if primary == sqlite3.SQLITE_FULL or "database or disk is full" in text or (io_error and _disk_full(path)):
            return StorageFault("full", f"the disk holding {where} is full: free some space and run the command "
                                        "again (what was being written was rolled back; nothing is lost)")
        if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
            return StorageFault("corrupt", f"{where} is damaged ({err}): restore it from a backup, or move it aside "
                                           "and rebuild it with `offerwatch backfill` (your mail is still on the server)")
        if io_error:
            return StorageFault("io", f"reading or writing {where} failed ({err}): check the disk (`dmesg`, free space) "
                                      "and run the command again")
        if primary == sqlite3.SQLITE_READONLY or "readonly database" in text:
            return StorageFault("readonly", f"{where} cannot be written ({err}): check the file's and the folder's "
                                            "permissions")
        return None
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        name = f" ({err.filename})" if err.filename else ""
        return StorageFault("full", f"no space left on the disk{name}: free some space and run the command again")
    if isinstance(err, OSError) and err.errno == errno.EIO:
        name = f" ({err.filename})" if err.filename else ""
        return StorageFault("io", f"input/output error{name}: check the disk (`dmesg`) and run the command again")
    return None


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


#: Local parts of machine mailboxes: their company domain says nothing about a person.
_MACHINE_MAILBOXES = ("noreply", "no-reply", "donotreply", "do-not-reply", "notification", "notify", "alert", "news",
                      "mailer", "bounce", "system", "billing", "support", "info", "marketing", "auto")


def _disk_full(path: str | os.PathLike[str] | None) -> bool:
    """Whether the file system holding ``path`` has (almost) no space left: SQLite reports a
    failed write to its WAL or shared-memory file as an I/O error, not as "full"."""
    if path is None:
        return False
    try:
        st = os.statvfs(Path(path).expanduser().parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 256 * 1024


def iso(dt: datetime | date | None) -> str | None:
    """A time as stored: UTC ISO 8601; a bare ``date`` stays a day. A time at the edge of the
    calendar (year 1 east of UTC, year 9999 west of it) cannot be one in UTC: ``None``."""
    if dt is None:
        return None
    if not isinstance(dt, datetime):
        return dt.isoformat()
    try:
        return dt.astimezone(timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, ValueError):
        return None


#: SQLite's INTEGER is a signed 64-bit number; Python's int is not bounded.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value: Any) -> Any:
    """``value`` made bindable by SQLite without changing what it means where possible.

    An integer outside SQLite's 64-bit range is clamped (a calendar SEQUENCE of 10^22 is "very
    late", not a reason to lose the message); a lone UTF-16 surrogate, which UTF-8 cannot hold,
    becomes U+FFFD; NaN becomes NULL (SQLite does that too, but say it here). Frozen
    dataclasses, tuples, lists and dicts are cleaned field by field, so every text and number a
    mail put into an :class:`~offerwatch.models.domain.Analysis` is covered, including fields
    added later.
    """
    if isinstance(value, str):
        if value.isascii():
            return value
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return min(max(value, _INT_MIN), _INT_MAX)
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (tuple, list)):
        items = [storable(v) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        pairs = [(storable(k), storable(v)) for k, v in value.items()]
        if all(k2 is k and v2 is v for (k2, v2), (k, v) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            if not f.init:
                continue
            old = getattr(value, f.name)
            new = storable(old)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


_V1 = """
CREATE TABLE accounts (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE folders (
    account TEXT NOT NULL REFERENCES accounts(name),
    name TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL DEFAULT 0,
    last_uid INTEGER NOT NULL DEFAULT 0,
    highestmodseq INTEGER,
    messages_seen INTEGER NOT NULL DEFAULT 0,
    last_sync TEXT,
    last_error TEXT,
    last_error_at TEXT,
    PRIMARY KEY (account, name)
);
CREATE TABLE applications (
    id INTEGER PRIMARY KEY,
    company TEXT NOT NULL,
    role TEXT,
    stage TEXT NOT NULL DEFAULT 'applied',
    outlook INTEGER NOT NULL DEFAULT 50,
    outlook_explanation TEXT,
    first_contact TEXT,
    last_contact TEXT,
    last_from TEXT,
    closed INTEGER NOT NULL DEFAULT 0,
    link_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE messages (
    key TEXT PRIMARY KEY,
    message_id TEXT,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    direction TEXT NOT NULL,
    date TEXT,
    is_job INTEGER NOT NULL,
    job_reason TEXT,
    parse_failed INTEGER NOT NULL DEFAULT 0,
    problems TEXT,
    content_hash TEXT,
    subject TEXT,
    sender_email TEXT,
    sender_name TEXT,
    recipients TEXT,
    in_reply_to TEXT,
    refs TEXT,
    text TEXT,
    signature TEXT,
    sender_role TEXT,
    sender_title TEXT,
    company TEXT,
    role TEXT,
    application_id INTEGER REFERENCES applications(id),
    processed_at TEXT NOT NULL
);
CREATE INDEX messages_message_id ON messages(message_id);
CREATE INDEX messages_application ON messages(application_id);
CREATE TABLE locations (
    identity TEXT PRIMARY KEY,
    message_key TEXT NOT NULL REFERENCES messages(key),
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL
);
CREATE INDEX locations_folder ON locations(account, folder, uidvalidity, uid);
CREATE TABLE signals (
    id INTEGER PRIMARY KEY,
    message_key TEXT REFERENCES messages(key),
    application_id INTEGER REFERENCES applications(id),
    type TEXT NOT NULL,
    polarity INTEGER NOT NULL,
    strength REAL NOT NULL DEFAULT 1.0,
    evidence TEXT NOT NULL,
    start INTEGER,
    "end" INTEGER,
    rule TEXT NOT NULL,
    label TEXT,
    entities TEXT,
    derived INTEGER NOT NULL DEFAULT 0,
    dismissed INTEGER NOT NULL DEFAULT 0,
    at TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX signals_unique ON signals(coalesce(message_key, ''), coalesce(application_id, 0), type, rule, coalesce(start, -1));
CREATE INDEX signals_application ON signals(application_id);
CREATE TABLE digests (
    for_date TEXT PRIMARY KEY,
    message_id TEXT,
    channel TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    created_at TEXT NOT NULL,
    sent_at TEXT,
    error TEXT
);
"""

_V2 = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    message_key TEXT REFERENCES messages(key),
    application_id INTEGER REFERENCES applications(id),
    uid TEXT,
    method TEXT NOT NULL,
    summary TEXT,
    start TEXT,
    "end" TEXT,
    organizer TEXT,
    attendees TEXT,
    sequence INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX events_unique ON events(message_key, coalesce(uid, ''), method, coalesce(start, ''));
CREATE TABLE salaries (
    id INTEGER PRIMARY KEY,
    message_key TEXT NOT NULL REFERENCES messages(key),
    application_id INTEGER REFERENCES applications(id),
    direction TEXT NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    currency TEXT,
    period TEXT NOT NULL,
    text TEXT NOT NULL,
    date TEXT
);
CREATE UNIQUE INDEX salaries_unique ON salaries(message_key, text);
CREATE TABLE corrections (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

#: Applications and their timeline (models.linking, models.timeline): how each message was
#: linked, the user's corrections, and what assess() derives for the digest.
_V3 = """
ALTER TABLE applications ADD COLUMN company_source TEXT;
ALTER TABLE applications ADD COLUMN name_locked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN stage_override TEXT;
ALTER TABLE applications ADD COLUMN stage_reason TEXT;
ALTER TABLE applications ADD COLUMN ball TEXT;
ALTER TABLE applications ADD COLUMN waiting_until TEXT;
ALTER TABLE applications ADD COLUMN agency TEXT;
ALTER TABLE messages ADD COLUMN link_reason TEXT;
ALTER TABLE messages ADD COLUMN thread_hint TEXT;
CREATE INDEX messages_sender_email ON messages(sender_email);
CREATE INDEX messages_thread_hint ON messages(thread_hint);
"""

#: Indexed lookups for the linker (models.linking fills them for each job message it links), so
#: linking stays fast on large mailboxes: who the user corresponds with, and thread references.
_V4 = """
ALTER TABLE messages ADD COLUMN counterpart TEXT;
ALTER TABLE messages ADD COLUMN counterpart_domain TEXT;
UPDATE messages SET counterpart = sender_email, counterpart_domain = lower(substr(sender_email, instr(sender_email, '@') + 1))
    WHERE direction = 'in' AND sender_email LIKE '%@%';
CREATE INDEX messages_counterpart ON messages(counterpart, application_id);
CREATE INDEX messages_counterpart_domain ON messages(counterpart_domain, application_id);
CREATE INDEX messages_in_reply_to ON messages(in_reply_to);
CREATE TABLE thread_refs (
    ref TEXT NOT NULL,
    message_key TEXT NOT NULL REFERENCES messages(key),
    PRIMARY KEY (ref, message_key)
);
"""

#: A database people can explore (Datasette, the sqlite3 shell, ``offerwatch search``): an
#: index for every lookup the code makes, views with the joins a person wants, and full-text
#: search over what job mail says (private mail keeps no text, so it is not searchable).
_V5_SQL = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE INDEX IF NOT EXISTS signals_message ON signals(message_key);
CREATE INDEX IF NOT EXISTS signals_type ON signals(type);
CREATE INDEX IF NOT EXISTS messages_date ON messages(date);
CREATE INDEX IF NOT EXISTS messages_job_date ON messages(is_job, date);
CREATE INDEX IF NOT EXISTS events_application ON events(application_id);
CREATE INDEX IF NOT EXISTS salaries_application ON salaries(application_id, direction);
CREATE INDEX IF NOT EXISTS locations_message ON locations(message_key);
CREATE INDEX IF NOT EXISTS thread_refs_message ON thread_refs(message_key);
CREATE INDEX IF NOT EXISTS corrections_kind ON corrections(kind);
CREATE INDEX IF NOT EXISTS digests_status ON digests(status, sent_at);
CREATE VIEW signals_view AS
SELECT s.id, coalesce(s.at, m.date) AS at, s.type, s.polarity, s.strength, s.evidence, s.label AS why, s.rule,
       s.derived, s.dismissed, s.application_id, a.company, a.role AS position, a.stage,
       m.subject, m.sender_name, m.sender_email, s.message_key
FROM signals s
LEFT JOIN messages m ON m.key = s.message_key
LEFT JOIN applications a ON a.id = s.application_id;
CREATE VIEW applications_view AS
SELECT a.id, a.company, a.role AS position, a.stage, a.outlook, a.first_contact, a.last_contact, a.agency, a.closed,
       (SELECT count(*) FROM messages m WHERE m.application_id = a.id) AS messages,
       (SELECT count(*) FROM signals s WHERE s.application_id = a.id AND s.dismissed = 0) AS signals,
       (SELECT group_concat(t, ', ') FROM (SELECT DISTINCT s.type AS t FROM signals s
            WHERE s.application_id = a.id AND s.dismissed = 0 ORDER BY s.type)) AS signal_types,
       (SELECT max(m.date) FROM messages m WHERE m.application_id = a.id AND m.direction = 'in') AS last_heard
FROM applications a;
"""


def _v5(db: sqlite_utils.Database) -> None:
    apply_migration(db, _V5_SQL)
    # Full-text search kept in sync by triggers (sqlite-utils writes them); porter stemming so
    # "interview" finds "interviewing"
    db.table("messages").enable_fts(["subject", "text"], create_triggers=True, tokenize="porter", replace=True)
    db.table("signals").enable_fts(["evidence"], create_triggers=True, tokenize="porter", replace=True)


#: Identity that a hostile mail cannot take over: a Message-ID names a message together with its
#: content (``fingerprint``; see :meth:`Store._identify`), and how the linker tied each job
#: message's sender to its application's company (``sender_tie``: ``thread``, ``domain``, ``ats``,
#: ``contact``, ``own`` or ``none``), so the digest can mark a sender it cannot tie.
#: Existing rows keep their keys; their fingerprint is filled in when they are read again.
#: ``meta`` joined schema 5 after files of schema 5 existed: those get it here.
_V6 = """
ALTER TABLE messages ADD COLUMN fingerprint TEXT;
ALTER TABLE messages ADD COLUMN sender_tie TEXT;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
"""

#: Offers the user must answer (models.offers): one row per application that received an offer,
#: its status (open, accepted, declined, expired) and the reply-by day, read from the offer mail
#: (``deadline_source = 'mail'``) or set by hand (``'user'``, which later mail does not overwrite).
_V7 = """
CREATE TABLE offers (
    application_id INTEGER PRIMARY KEY REFERENCES applications(id),
    status TEXT NOT NULL DEFAULT 'open',
    deadline TEXT,
    deadline_source TEXT,
    evidence TEXT,
    message_key TEXT REFERENCES messages(key),
    status_source TEXT,
    decided_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX offers_status ON offers(status, deadline);
"""

#: Signals the user dismissed as wrong, by identity (:data:`SIGNAL_IDENTITY`): signals are
#: deleted and written again whenever a message is processed again, and a dismissal must
#: outlive that. And the user's own note on an application (`offerwatch apps note`).
_V8 = """
CREATE TABLE dismissals (
    identity TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
ALTER TABLE applications ADD COLUMN notes TEXT;
"""
#: Alerts (daemon.alerts): one row per message signal and channel it alerts on, so a signal
#: alerts at most once per channel even when its message is processed again (signals are
#: replaced then; the pair message_key + type names the signal across that, as
#: :data:`SIGNAL_IDENTITY` does; the application is the message's, read at delivery, so a merge
#: needs no update here). ``pending`` rows wait for quiet hours to end or a failed
#: channel to work again; ``sent`` and ``dropped`` (dismissed, or its type turned off) are done.
_V9 = """
CREATE TABLE alerts (
    message_key TEXT NOT NULL REFERENCES messages(key) ON DELETE CASCADE,
    type TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    queued_at TEXT NOT NULL,
    sent_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    PRIMARY KEY (message_key, type, channel)
);
CREATE INDEX alerts_pending ON alerts(status, channel);
"""

#: What the user marked as not job-related (models.notjob): a sender address, a domain or an
#: application; ``not_job_refs`` holds the Message-IDs of a marked application's mail, so later
#: replies in its threads stay out too; ``messages.not_job_rule`` names the mark that took a
#: message out, so undoing it knows which mail to read again.
_V10 = """
CREATE TABLE not_job (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    label TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (kind, value)
);
CREATE TABLE not_job_refs (
    message_id TEXT NOT NULL,
    rule INTEGER NOT NULL REFERENCES not_job(id),
    PRIMARY KEY (message_id, rule)
);
CREATE INDEX not_job_refs_rule ON not_job_refs(rule);
ALTER TABLE messages ADD COLUMN not_job_rule INTEGER;
CREATE INDEX messages_not_job_rule ON messages(not_job_rule);
"""
#: What "going quiet" already told (daemon.digest): per application, its last contact (either
#: side) when a delivered digest showed it as going quiet, so the next digests leave it out
#: until new mail moves that contact and the silence crosses the threshold again. Written only
#: when a digest is delivered, never by a preview. ``applications.reopened_at``: when the user
#: brought back an application that had gone cold or was closed (`offerwatch apps reopen`);
#: cold and ghosted are counted from it when it is later than the last contact.
_V11 = """
CREATE TABLE quiet_shown (
    application_id INTEGER PRIMARY KEY REFERENCES applications(id) ON DELETE CASCADE,
    last_contact TEXT,
    for_date TEXT NOT NULL,
    shown_at TEXT NOT NULL
);
ALTER TABLE applications ADD COLUMN reopened_at TEXT;
"""
#: Lookups that stay seeks however long an application's history grows (issue 13: a backfill
#: slowed from 0.7 ms a message at 1,000 messages of a few companies to 1.9 ms at 6,000):
#: ``subject_key``, the normalised subject of a job message (:mod:`offerwatch.models.subjects`),
#: so "the same subject with the same correspondent" is an index seek instead of a read of every
#: message of that correspondent; the names of the people who wrote job mail, so a scheduler's
#: mail naming a contact is matched per distinct name instead of per message; each application's
#: messages by date, so its latest is one seek. The full-text index was written again (its
#: text deleted and inserted) by every UPDATE of a message or a signal, whatever column
#: changed: linking alone updates a message three times. Its triggers now fire only when the
#: indexed columns change.
_V12_SQL = """
ALTER TABLE messages ADD COLUMN subject_key TEXT;
CREATE INDEX messages_counterpart_subject ON messages(counterpart, subject_key, application_id);
CREATE INDEX messages_contact_name ON messages(sender_name, application_id)
    WHERE direction = 'in' AND application_id IS NOT NULL;
DROP INDEX messages_application;
CREATE INDEX messages_application_date ON messages(application_id, date);
DROP TRIGGER IF EXISTS messages_au;
CREATE TRIGGER "messages_au" AFTER UPDATE OF "subject", "text" ON "messages" BEGIN
  INSERT INTO "messages_fts" ("messages_fts", rowid, "subject", "text") VALUES('delete', old.rowid, old."subject", old."text");
  INSERT INTO "messages_fts" (rowid, "subject", "text") VALUES (new.rowid, new."subject", new."text");
END;
DROP TRIGGER IF EXISTS signals_au;
CREATE TRIGGER "signals_au" AFTER UPDATE OF "evidence" ON "signals" BEGIN
  INSERT INTO "signals_fts" ("signals_fts", rowid, "evidence") VALUES('delete', old.rowid, old."evidence");
  INSERT INTO "signals_fts" (rowid, "evidence") VALUES (new.rowid, new."evidence");
END;
"""


def _v12(db: sqlite_utils.Database) -> None:
    apply_migration(db, _V12_SQL)
    # After the triggers: filling the new column must not rewrite the full-text index.
    keys = [(normalize_subject(subject), rowid)
            for rowid, subject in db.execute("SELECT rowid, subject FROM messages WHERE subject IS NOT NULL")]
    db.conn.executemany("UPDATE messages SET subject_key = ? WHERE rowid = ?", keys)


#: Schema migrations; index i moves a database from version i to i + 1 (SQL, or a function of
#: the database for what SQL alone cannot say).
MIGRATIONS: list[str | Callable[[sqlite_utils.Database], None]] = [
    _V1, _V2, _V3, _V4, _v5, _V6, _V7, _V8, _V9, _V10, _V11, _v12]
#: What names a signal across re-processing: a message's signal by its message and type (the
#: rules give one signal of a type per message), a derived signal by its application, type and time.
SIGNAL_IDENTITY = (
    "CASE WHEN derived = 0 THEN 'm:' || coalesce(message_key, '') || ':' || type "
    "ELSE 'd:' || coalesce(application_id, 0) || ':' || type || ':' || coalesce(at, '') END"
)
SCHEMA_VERSION = len(MIGRATIONS)

#: Links a stored analysis to an application id inside the batch transaction.
Linker = Callable[["Store", Analysis], "int | None"]


@dataclass(frozen=True)
class FolderState:
    account: str
    name: str
    uidvalidity: int
    last_uid: int
    messages_seen: int
    last_sync: str | None
    last_error: str | None


class Store:
    """The offerwatch database. Open with :meth:`open`; close with :meth:`close`."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None) -> None:
        self.db = db
        self.path = path
        #: When things happen, for the stamps that say when mail was read (messages.processed_at,
        #: signals.created_at): the wall clock. The digest decides from them what is new since
        #: the last one, whose time is the ``now`` it was built for; a simulation that moves
        #: ``now`` moves this clock with it.
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        self._not_job: Rules | None = None  # loaded by write_batch

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str] | None) -> Store:
        """Open (creating if needed) and migrate. ``None`` or ``":memory:"`` is in-memory."""
        if path is None or str(path) == ":memory:":
            store = cls(sqlite_utils.Database(memory=True), None)
            store.db.execute("PRAGMA foreign_keys=ON")  # as for a file: references are enforced
            store._migrate()
            return store
        p = Path(path).expanduser()
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            if not p.exists():
                # Create the file with owner-only permissions before SQLite touches it: it holds
                # the user's recruiter mail.
                os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o600))
            elif p.is_dir():
                raise StoreError(f"{p} is a directory, not a database file: give a file path with --db")
            _check_sqlite_header(p)
            conn = sqlite3.connect(str(p), timeout=30, isolation_level=None, check_same_thread=False)
            db = sqlite_utils.Database(conn)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
        except sqlite3.DatabaseError as err:
            if (p.exists() and not os.access(p, os.W_OK)) or not os.access(p.parent, os.W_OK):
                raise StoreError(unwritable_database(p, PermissionError(errno.EACCES, "permission denied"))) from err
            fault = storage_fault(err, p)
            if fault is not None:
                raise fault from err
            raise StoreError(f"cannot open database {p}: {err}; check the path given with --db or [storage] database") from err
        except OSError as err:
            raise StoreError(unwritable_database(p, err)) from err
        store = cls(db, p)
        try:
            store._migrate()
        except sqlite3.DatabaseError as err:
            store.close()
            fault = storage_fault(err, p)
            if fault is not None:
                raise fault from err
            raise
        for suffix in ("", "-wal", "-shm"):
            f = Path(str(p) + suffix)
            if f.exists():
                os.chmod(f, 0o600)
        return store

    def close(self) -> None:
        self.db.close()

    def stamp(self) -> str:
        """:attr:`clock`'s time as stored (UTC, ISO 8601, seconds)."""
        return self.clock().astimezone(timezone.utc).isoformat(timespec="seconds")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.version
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"database {self.path} has schema version {current}, newer than this offerwatch "
                f"understands ({SCHEMA_VERSION}): upgrade offerwatch"
            )
        for version in range(current, SCHEMA_VERSION):
            log.info("migrating database %s from schema %d to %d", self.path, version, version + 1)
            with self.atomic():
                apply_migration(self.db, MIGRATIONS[version])
                self.db.execute(f"PRAGMA user_version = {version + 1}")

    @contextmanager
    def atomic(self) -> Iterator[Store]:
        """One write transaction (nested calls become savepoints).

        The outermost one starts with ``BEGIN IMMEDIATE``: it takes the write lock first, waiting
        up to the busy timeout for another process's writer. A plain ``BEGIN`` reads first and
        upgrades at its first write, and in WAL mode that upgrade fails at once ("database is
        locked", no waiting) when another process wrote in between: two processes assessing
        (the service's poll and a manual ``digest --send``) would fail one of them.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():  # a savepoint
                yield self
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if conn.in_transaction:  # an error such as SQLITE_FULL may have rolled it back already
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # -- sync state --------------------------------------------------------------------
    def ensure_account(self, name: str, kind: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO accounts(name, kind, created_at) VALUES (?, ?, ?)", storable([name, kind, utcnow()])
        )

    def folder_state(self, account: str, folder: str) -> FolderState | None:
        row = self.db.execute(
            "SELECT account, name, uidvalidity, last_uid, messages_seen, last_sync, last_error "
            "FROM folders WHERE account = ? AND name = ?",
            storable([account, folder]),
        ).fetchone()
        return FolderState(*row) if row else None

    def folder_states(self) -> list[FolderState]:
        rows = self.db.execute(
            "SELECT account, name, uidvalidity, last_uid, messages_seen, last_sync, last_error FROM folders ORDER BY account, name"
        ).fetchall()
        return [FolderState(*r) for r in rows]

    def reset_folder(self, account: str, folder: str, uidvalidity: int) -> None:
        """Start a folder over after a UIDVALIDITY change: its old UIDs mean nothing now."""
        with self.atomic():
            self.ensure_account(account, "source")
            self.db.execute(
                "INSERT INTO folders(account, name, uidvalidity, last_uid) VALUES (?, ?, ?, 0) "
                "ON CONFLICT(account, name) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = 0",
                storable([account, folder, uidvalidity]),
            )

    def record_folder_error(self, account: str, folder: str, error: str) -> None:
        with self.atomic():
            self.ensure_account(account, "source")
            self.db.execute(
                "INSERT INTO folders(account, name, last_error, last_error_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(account, name) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at",
                storable([account, folder, error[:500], utcnow()]),
            )

    def mark_folder_synced(self, account: str, folder: str, when: str | None = None) -> None:
        """A pass over ``folder`` succeeded, maybe with nothing new: ``last_sync`` set, error cleared.

        ``write_batch`` does the same when there is new mail; this covers quiet polls, so
        ``offerwatch status`` tells "healthy, nothing new" from "failing since yesterday".
        """
        with self.atomic():
            self.ensure_account(account, "source")
            self.db.execute(
                "INSERT INTO folders(account, name, last_sync) VALUES (?, ?, ?) ON CONFLICT(account, name) "
                "DO UPDATE SET last_sync = excluded.last_sync, last_error = NULL",
                storable([account, folder, when or utcnow()]),
            )

    def seen_identities(self, account: str, folder: str, uidvalidity: int) -> set[str]:
        rows = self.db.execute(
            "SELECT identity FROM locations WHERE account = ? AND folder = ? AND uidvalidity = ?",
            storable([account, folder, uidvalidity]),
        ).fetchall()
        return {r[0] for r in rows}

    def is_job_thread(self, message_ids: Sequence[str]) -> bool:
        """Whether any of these Message-IDs is a stored job message (thread context)."""
        ids = storable(list(message_ids)[:100])
        if not ids:
            return False
        sql = f"SELECT 1 FROM messages WHERE is_job = 1 AND message_id IN ({','.join('?' * len(ids))}) LIMIT 1"
        return self.db.execute(sql, ids).fetchone() is not None

    def is_job_contact(self, email: str) -> bool:
        """Whether this address, or its company's domain, is the counterpart of a stored job
        message (contact context for the classifier). Free-mail, ATS and scheduler domains
        count by the full address only."""
        from offerwatch.models.linking import is_company_domain, registrable_domain

        email = storable(email.strip().lower())
        if "@" not in email:
            return False
        if self.db.execute("SELECT 1 FROM messages WHERE counterpart = ? AND is_job = 1 LIMIT 1", [email]).fetchone():
            return True
        local = email.rpartition("@")[0]
        if not is_company_domain(email) or any(m in local for m in _MACHINE_MAILBOXES):
            return False
        row = self.db.execute("SELECT 1 FROM messages WHERE counterpart_domain = ? AND is_job = 1 LIMIT 1",
                              [registrable_domain(email)]).fetchone()
        return row is not None

    def known_role(self, email: str) -> tuple[str | None, str | None] | None:
        """The (title, role) this sender signed their latest job mail with, if any."""
        row = self.db.execute(
            "SELECT sender_title, sender_role FROM messages WHERE sender_email = ? AND is_job = 1 "
            "AND sender_role IS NOT NULL ORDER BY date DESC LIMIT 1", storable([email.strip().lower()]),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def meta(self, key: str) -> str | None:
        """A small piece of bookkeeping (e.g. the day of the last full assessment)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        [key, value])

    def search(self, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Job mail and signal evidence matching ``query`` (full-text, stemmed), best first.

        The query is quoted for FTS5, so "salary: 120k" or a stray quote is words, not syntax.
        Each row: ``kind`` ("message" | "signal"), ``date``, ``company``, ``subject``,
        ``snippet`` (the match with [brackets]), ``application_id``, ``message_key``, ``type``.
        """
        q = self.db.quote_fts(query)
        messages = self.rows(
            "SELECT 'message' AS kind, m.date, a.company, m.subject, m.sender_name, m.application_id, m.key AS message_key, "
            "NULL AS type, snippet(messages_fts, -1, '[', ']', '…', 12) AS snippet, bm25(messages_fts) AS score "
            "FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid "
            "LEFT JOIN applications a ON a.id = m.application_id WHERE messages_fts MATCH ? ORDER BY score LIMIT ?",
            [q, limit],
        )
        signals = self.rows(
            "SELECT 'signal' AS kind, coalesce(s.at, m.date) AS date, a.company, m.subject, m.sender_name, s.application_id, "
            "s.message_key, s.type, snippet(signals_fts, -1, '[', ']', '…', 12) AS snippet, bm25(signals_fts) AS score "
            "FROM signals_fts JOIN signals s ON s.rowid = signals_fts.rowid LEFT JOIN messages m ON m.key = s.message_key "
            "LEFT JOIN applications a ON a.id = s.application_id WHERE signals_fts MATCH ? AND s.dismissed = 0 "
            "ORDER BY score LIMIT ?",
            [q, limit],
        )
        rows = sorted(messages + signals, key=lambda r: r["score"])[:limit]
        for r in rows:
            r.pop("score", None)
        return rows

    def known_message(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM messages WHERE key = ?", [key]).fetchone() is not None

    # -- the batch write ---------------------------------------------------------------
    def write_batch(
        self,
        account: str,
        folder: str,
        uidvalidity: int,
        items: Sequence[tuple[Location, Analysis]],
        *,
        last_uid: int,
        linker: Linker | None = None,
    ) -> list[int]:
        """Store a batch and advance the folder's high-water mark, all in one transaction.

        Idempotent: a message seen again (same Message-ID and content) updates its row, and its
        signals are replaced, never duplicated. Each message is written in its own savepoint: one
        that cannot be stored (a value SQLite cannot hold, a linker bug on its content) is rolled
        back alone and recorded as unreadable, so it never blocks the folder. A fault of the
        database itself (disk full, corrupt file) aborts the whole batch: nothing advances.
        Returns the ids of the applications touched.
        """
        from offerwatch.models.notjob import load_rules

        touched: set[int] = set()
        now = self.stamp()
        with self.atomic():
            self.ensure_account(account, "source")
            self._not_job = load_rules(self)  # what the user marked as not job-related stays out
            for location, analysis in items:
                app_id = self._store_isolated(location, analysis, now, linker)
                if app_id is not None:
                    touched.add(app_id)
            self.db.execute(
                "INSERT INTO folders(account, name, uidvalidity, last_uid, messages_seen, last_sync, last_error) "
                "VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(account, name) DO UPDATE SET "
                "uidvalidity = excluded.uidvalidity, last_uid = max(folders.last_uid, excluded.last_uid), "
                "messages_seen = folders.messages_seen + excluded.messages_seen, last_sync = excluded.last_sync, last_error = NULL",
                storable([account, folder, uidvalidity, last_uid, len(items), now]),
            )
        return sorted(touched)

    def _store_isolated(self, location: Location, a: Analysis, now: str, linker: Linker | None) -> int | None:
        """:meth:`_store_message` in a savepoint; a message-specific failure stores it as unreadable."""
        try:
            with self.atomic():
                return self._store_message(location, a, now, linker)
        except Exception as err:  # noqa: BLE001 - classified: storage faults propagate, the rest is this message's
            if isinstance(err, (MemoryError, sqlite3.OperationalError, sqlite3.InternalError)) or storage_fault(err):
                raise
            log.warning("account %s, folder %s, message %s could not be stored (%s); recorded as unreadable",
                        location.account, location.folder, location.key, type(err).__name__)
            log.debug("why message %s could not be stored", location.key, exc_info=True)
            self._store_unreadable(location, a, f"could not be stored ({type(err).__name__}); recorded as unreadable", now)
            return None

    def _store_unreadable(self, location: Location, a: Analysis, why: str, now: str) -> None:
        """The least a message leaves: where it was and that it could not be read or stored."""
        digest = a.content_hash or hashlib.sha256(location.identity.encode("utf-8", "surrogatepass")).hexdigest()
        key = f"sha256:{digest}"
        with self.atomic():
            self.db.execute(
                "INSERT OR IGNORE INTO messages(key, message_id, account, folder, uidvalidity, uid, direction, is_job, "
                "job_reason, parse_failed, problems, content_hash, processed_at) VALUES (?, NULL, ?, ?, ?, ?, 'in', 0, ?, 1, ?, ?, ?)",
                storable([key, location.account, location.folder, location.uidvalidity, location.uid, why,
                          json.dumps([why]), a.content_hash or None, now]),
            )
            self.db.execute(
                "INSERT OR IGNORE INTO locations(identity, message_key, account, folder, uidvalidity, uid) VALUES (?, ?, ?, ?, ?, ?)",
                storable([location.identity, key, location.account, location.folder, location.uidvalidity, location.uid]),
            )

    def _identify(self, a: Analysis) -> tuple[str, dict[str, Any] | None]:
        """The key ``a`` is stored under and the row it updates (``None``: a new message).

        A Message-ID names one message only together with its content: the same id and the same
        fingerprint is the same mail seen again (another folder, another export, a re-read); the
        same id with another content is another mail (a sender reusing ids, a spoof), stored
        beside the first under ``<id>#<fingerprint>``. Rows written before fingerprints existed
        are compared by the SHA-256 of their bytes.
        """
        if not a.message_id:
            key = a.key
            rows = self.rows("SELECT key, is_job, application_id, fingerprint, not_job_rule FROM messages WHERE key = ?", [key])
            return key, rows[0] if rows else None
        rows = self.rows(
            "SELECT key, is_job, application_id, fingerprint, content_hash, not_job_rule FROM messages WHERE message_id = ? "
            "ORDER BY rowid",
            [a.message_id],
        )
        for r in rows:
            if _same_content(r, a):
                return str(r["key"]), r
        taken = {str(r["key"]) for r in rows}
        if a.message_id not in taken and not self.known_message(a.message_id):
            return a.message_id, None
        tag = a.fingerprint or a.content_hash or hashlib.sha256(repr(a).encode("utf-8", "surrogatepass")).hexdigest()
        # 16 hex digits of the fingerprint; more when another mail with this id begins alike
        candidates = itertools.chain(
            (f"{a.message_id}#{tag[:n]}" for n in [*range(16, len(tag), 8), len(tag)]),
            (f"{a.message_id}#{tag}-{i}" for i in itertools.count(2)),
        )
        return next(k for k in candidates if k not in taken and not self.known_message(k)), None

    def _store_message(self, location: Location, a: Analysis, now: str, linker: Linker | None) -> int | None:
        a = storable(a)
        key, existing = self._identify(a)
        if key != a.key:
            a = dataclasses.replace(a, stored_key=key)
        location_row = [location.identity, key, location.account, location.folder, location.uidvalidity, location.uid]
        not_job_rule = self._not_job_rule(a, existing)
        if not_job_rule is not None:
            from offerwatch.models import notjob

            a = dataclasses.replace(a, is_job=False, job_reason=notjob.reason(not_job_rule))
            if existing is not None and existing["is_job"]:
                notjob.strip_messages(self, [key], not_job_rule)
        elif existing is not None and existing["is_job"] and not a.is_job:
            # The same mail, read again where it looks like private mail (another folder, less
            # thread context): what job mail knew about it stays.
            self.db.execute(
                "INSERT OR IGNORE INTO locations(identity, message_key, account, folder, uidvalidity, uid) VALUES (?, ?, ?, ?, ?, ?)",
                storable(location_row),
            )
            if a.fingerprint and not existing.get("fingerprint"):
                self.db.execute("UPDATE messages SET fingerprint = ? WHERE key = ?", [a.fingerprint, key])
            return None
        job = a.is_job
        row: dict[str, Any] = {
            "key": key,
            "message_id": a.message_id or None,
            "account": location.account,
            "folder": location.folder,
            "uidvalidity": location.uidvalidity,
            "uid": location.uid,
            "direction": a.direction.value,
            "date": iso(a.date),
            "is_job": int(job),
            "job_reason": a.job_reason[:300],
            "parse_failed": int(a.parse_failed),
            "problems": json.dumps(list(a.problems)) if a.problems else None,
            "content_hash": a.content_hash,
            "fingerprint": a.fingerprint or (existing or {}).get("fingerprint"),
            # Private mail keeps no content: only what dedupe and threading need.
            "subject": a.subject if job else None,
            "subject_key": normalize_subject(a.subject) if job else None,
            "sender_email": a.sender.email if (job and a.sender) else None,
            "sender_name": a.sender.name if (job and a.sender) else None,
            "recipients": json.dumps([str(x) for x in a.to + a.cc]) if job else None,
            "in_reply_to": a.in_reply_to,
            "refs": json.dumps(list(a.references)) if a.references else None,
            "text": a.text if job else None,
            "signature": a.signature if job else None,
            "sender_role": a.sender_role if job else None,
            "sender_title": a.sender_title if job else None,
            "company": a.company if job else None,
            "role": a.role if job else None,
            "processed_at": now,
            "not_job_rule": not_job_rule,
        }
        app_id: int | None = existing["application_id"] if existing else None
        self._upsert("messages", storable(row), "key")
        self.db.execute(
            "INSERT OR IGNORE INTO locations(identity, message_key, account, folder, uidvalidity, uid) VALUES (?, ?, ?, ?, ?, ?)",
            storable(location_row),
        )
        if not job:
            return None
        if app_id is None and linker is not None:
            app_id = linker(self, a)
            if app_id is not None:
                self.db.execute("UPDATE messages SET application_id = ? WHERE key = ?", [app_id, key])
        self._replace_message_facts(key, app_id, a, now)
        return app_id

    def _not_job_rule(self, a: Analysis, existing: dict[str, Any] | None) -> int | None:
        """The user's not-job mark that keeps ``a`` out of the job data: the one that took this
        very message out before, or one that matches it now (:mod:`offerwatch.models.notjob`)."""
        if existing is not None and existing.get("not_job_rule") is not None:
            return int(existing["not_job_rule"])
        rules = self._not_job
        if not a.is_job or not rules:
            return None
        rule = rules.match(a)
        if rule is not None and a.message_id and rules.refs and rule in rules.refs.values():
            # a reply in a marked application's thread: its own replies follow it out
            self.db.execute("INSERT OR IGNORE INTO not_job_refs(message_id, rule) VALUES (?, ?)", [a.message_id, rule])
            rules.refs[a.message_id] = rule
        return rule

    def reapply_dismissals(self, where: str, params: Sequence[Any]) -> None:
        """Mark the signals selected by ``where`` dismissed when the user dismissed them before."""
        self.db.execute(
            f"UPDATE signals SET dismissed = 1 WHERE ({where}) AND dismissed = 0 "
            f"AND ({SIGNAL_IDENTITY}) IN (SELECT identity FROM dismissals)", list(params))

    def dismiss_signal(self, signal_id: int, *, undo: bool = False) -> dict[str, Any]:
        """Dismiss one signal as wrong (or take the dismissal back); it stays dismissed when its
        message is processed again. Returns the signal's row; :class:`KeyError` for an unknown id."""
        rows = self.rows(f"SELECT s.*, {SIGNAL_IDENTITY} AS identity FROM signals s WHERE s.id = ?", [signal_id])
        if not rows:
            raise KeyError(signal_id)
        row = rows[0]
        with self.atomic():
            if undo:
                self.db.execute("DELETE FROM dismissals WHERE identity = ?", [row["identity"]])
            else:
                self.db.execute("INSERT OR IGNORE INTO dismissals(identity, created_at) VALUES (?, ?)",
                                [row["identity"], utcnow()])
            self.db.execute("UPDATE signals SET dismissed = ? WHERE id = ?", [0 if undo else 1, signal_id])
        return {**row, "dismissed": 0 if undo else 1}

    def _upsert(self, table: str, row: dict[str, Any], pk: str) -> None:
        """``INSERT ... ON CONFLICT(pk) DO UPDATE`` of one row, written out here.

        Not ``sqlite_utils.Table.upsert``: it probes once per connection whether SQLite knows
        ``ON CONFLICT`` by creating a table, and when that probe fails (a full disk) it falls back
        for the connection's lifetime to ``INSERT OR IGNORE (pk)`` + ``UPDATE``, which silently
        writes nothing to a table with NOT NULL columns (sqlite-utils issues 538 and 610): after
        one full disk, every message would be lost.
        """
        self.db.execute(_upsert_sql(table, pk, tuple(row)), list(row.values()))

    def _replace_message_facts(self, key: str, app_id: int | None, a: Analysis, now: str) -> None:
        """Signals, events and salaries of one message, replaced as a whole (idempotent).

        A signal found again (same message and type: :data:`SIGNAL_IDENTITY`) keeps the
        ``created_at`` it was first stored with: the digest shows a signal as new by it, so mail
        read again (a UIDVALIDITY rescan, a second backfill, an undone "not a job") is not news.
        """
        first_seen = {r["type"]: r["created_at"] for r in self.rows(
            "SELECT type, min(created_at) AS created_at FROM signals WHERE message_key = ? AND derived = 0 GROUP BY type",
            [key])}
        self.db.execute("DELETE FROM signals WHERE message_key = ? AND derived = 0", [key])
        self.db.execute("DELETE FROM events WHERE message_key = ?", [key])
        self.db.execute("DELETE FROM salaries WHERE message_key = ?", [key])
        at = iso(a.date)
        for s in a.signals:
            strength = s.strength if isinstance(s.strength, (int, float)) and math.isfinite(s.strength) else 1.0
            self.db.execute(
                'INSERT OR IGNORE INTO signals(message_key, application_id, type, polarity, strength, evidence, start, "end", '
                "rule, label, entities, derived, at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                storable([key, app_id, s.type, POLARITY.get(s.type, 0), strength, s.evidence, s.start, s.end, s.rule, s.label,
                          json.dumps(s.entities, default=str) if s.entities else None, at, first_seen.get(s.type, now)]),
            )
        if a.signals:
            self.reapply_dismissals("message_key = ? AND derived = 0", [key])
        for e in a.events:
            self.db.execute(
                'INSERT OR IGNORE INTO events(message_key, application_id, uid, method, summary, start, "end", organizer, attendees, sequence) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                storable([key, app_id, e.uid, e.method, e.summary, iso(e.start), iso(e.end),
                          str(e.organizer) if e.organizer else None, json.dumps([str(x) for x in e.attendees]),
                          min(max(int(e.sequence or 0), 0), 2**31 - 1)]),
            )
        for sal in a.salaries:
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (sal.min, sal.max)):
                log.info("message %s: a salary figure that is not a finite number was dropped", key)
                continue
            self.db.execute(
                "INSERT OR IGNORE INTO salaries(message_key, application_id, direction, min, max, currency, period, text, date) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                storable([key, app_id, a.direction.value, sal.min, sal.max, sal.currency, sal.period, sal.text, at]),
            )

    # -- applications --------------------------------------------------------------------
    def create_application(self, company: str, role: str | None, reason: str) -> int:
        now = utcnow()
        cur = self.db.execute(
            "INSERT INTO applications(company, role, link_reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            [company, role, reason, now, now],
        )
        return int(cur.lastrowid or 0)

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Run a read query and return dict rows (for commands and the digest)."""
        return list(self.db.query(sql, params))

    def applications(self, include_closed: bool = True) -> list[dict[str, Any]]:
        where = "" if include_closed else "WHERE closed = 0"
        return self.rows(f"SELECT * FROM applications {where} ORDER BY outlook DESC, last_contact DESC")

    def signals(self, application_id: int | None = None, types: Iterable[str] | None = None, *,
                dismissed: bool = False) -> list[dict[str, Any]]:
        """Signals in time order; the dismissed ones only with ``dismissed=True`` (then only them)."""
        sql = (
            "SELECT s.*, m.subject, m.sender_email, m.sender_name, m.message_id, m.sender_tie, a.company, a.role AS app_role "
            "FROM signals s LEFT JOIN messages m ON m.key = s.message_key LEFT JOIN applications a ON a.id = s.application_id "
            f"WHERE s.dismissed = {1 if dismissed else 0}"
        )
        params: list[Any] = []
        if application_id is not None:
            sql += " AND s.application_id = ?"
            params.append(application_id)
        if types:
            t = list(types)
            sql += f" AND s.type IN ({','.join('?' * len(t))})"
            params += t
        return self.rows(sql + " ORDER BY s.at, s.id", params)

    def counts(self) -> dict[str, int]:
        out = {table: self.db.table(table).count for table in ("messages", "applications", "signals", "events", "digests")}
        out["job_messages"] = self.db.table("messages").count_where("is_job = 1")
        return out


def _same_content(row: dict[str, Any], a: Analysis) -> bool:
    """Whether a stored row with ``a``'s Message-ID is the same mail as ``a``: equal fingerprints;
    for a row stored before fingerprints (or an analysis without one), equal byte hashes; with
    nothing to compare, yes (what the id alone said before)."""
    if row.get("fingerprint") and a.fingerprint:
        return bool(row["fingerprint"] == a.fingerprint)
    if row.get("content_hash") and a.content_hash:
        return bool(row["content_hash"] == a.content_hash)
    return True


@functools.lru_cache(maxsize=16)
def _upsert_sql(table: str, pk: str, columns: tuple[str, ...]) -> str:
    """An insert-or-update of ``columns`` (other columns of an existing row are kept), as
    sqlite-utils' ``upsert`` does, written once per column set: ``upsert`` inspects the
    table on every call, which was 75% of the time a backfill spent storing messages."""
    names = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != pk)
    marks = ", ".join("?" * len(columns))
    return f'INSERT INTO "{table}" ({names}) VALUES ({marks}) ON CONFLICT("{pk}") DO UPDATE SET {updates}'


def apply_migration(db: sqlite_utils.Database, step: str | Callable[[sqlite_utils.Database], None]) -> None:
    """Run one of :data:`MIGRATIONS` (the caller holds the transaction and sets ``user_version``)."""
    if callable(step):
        step(db)
    else:
        for statement in _statements(step):
            db.execute(statement)


def _statements(script: str) -> list[str]:
    """The statements of a migration script, split where SQLite says one is complete (a ";"
    inside a string or a trigger body does not end a statement).

    >>> _statements("CREATE TABLE t (x TEXT DEFAULT 'a;b'); "
    ...             "CREATE TRIGGER g AFTER INSERT ON t BEGIN UPDATE t SET x = 'c'; END;")
    ["CREATE TABLE t (x TEXT DEFAULT 'a;b')", "CREATE TRIGGER g AFTER INSERT ON t BEGIN UPDATE t SET x = 'c'; END"]
    """
    out: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip().rstrip(";").strip())
            pending = ""
    if pending.strip(" \n;"):
        out.append(pending.strip().rstrip(";").strip())
    return out


def unwritable_database(path: Path, err: OSError) -> str:
    """One line saying why the database (or its lock) cannot be written at ``path``, and what to do.

    >>> unwritable_database(Path("/etc/passwd/x.db"), NotADirectoryError(20, "Not a directory"))
    'cannot use /etc/passwd/x.db as the database: /etc/passwd is not a folder; give --db or [storage] database a path in a folder you can write'
    """
    folder = next((f for f in path.parents if f.exists()), path.parent)
    if not folder.is_dir() or isinstance(err, (NotADirectoryError, FileExistsError)):
        why = f"{folder} is not a folder"
    elif err.errno == errno.EROFS:
        why = f"{folder} is on a read-only file system"
    elif isinstance(err, PermissionError):
        why = f"no permission to write in {folder}" if folder != path else f"no permission to write {path}"
    else:
        why = (err.strerror or str(err)).lower()
    return f"cannot use {path} as the database: {why}; give --db or [storage] database a path in a folder you can write"


def _check_sqlite_header(path: Path) -> None:
    """Refuse a file that exists, is not empty and is not SQLite, before anything writes to it."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as err:
        raise StoreError(f"cannot read database {path}: {err.strerror}") from err
    if head and head != b"SQLite format 3\x00":
        raise StoreError(
            f"{path} is not an offerwatch database (not an SQLite file); nothing was changed. "
            "Point --db or [storage] database at a new or existing offerwatch database."
        )
