"""Locks between offerwatch processes on one database.

* :class:`DatabaseLock` (``<database>.lock``): one writer per database; the daemon, a backfill
  and a sync share it.
* :class:`DigestLock` (``<database>.digest.lock``): one digest delivery at a time. The daemon and
  a manual ``offerwatch digest --send`` both take it around "read the ledger, send, record", so
  "sent once per day" holds however they overlap: the second one waits, then finds the day sent.

An ``flock`` is released by the kernel when its holder dies, so a crashed process never leaves
a stale lock behind; the PID written inside is only for the message that tells a second process
who holds it.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import time
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)


class LockedError(Exception):
    """Another offerwatch process holds the lock (is writing to the same database)."""


class DatabaseLock:
    """``flock`` on ``<database>`` + :attr:`SUFFIX`; ``None`` (an in-memory database) locks nothing.
    :meth:`acquire` raises ``LockedError`` when another process holds it and ``StoreError`` (one
    line, what to do) when the folder is not writable."""

    SUFFIX = ".lock"
    #: What the holder is doing, for the message a second process gets.
    DOING = "using"

    def __init__(self, database: Path | None) -> None:
        self.path = Path(str(database) + self.SUFFIX) if database else None
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> DatabaseLock:
        """Take the lock, waiting up to ``wait`` seconds for its holder; :class:`LockedError` after."""
        if self.path is None:  # in-memory database: nobody else can see it
            return self
        database = str(self.path)[: -len(self.SUFFIX)]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as err:  # the lock sits beside the database: the same place must be writable
            from offerwatch.models.store import StoreError, storage_fault, unwritable_database

            fault = storage_fault(err, database)  # a full disk says so
            raise (fault or StoreError(unwritable_database(Path(database), err))) from err
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise LockedError(
                    f"another offerwatch process (PID {holder}) is {self.DOING} {database}; "
                    "wait for it to finish or stop it (`offerwatch service status`), then try again"
                ) from None
        try:  # the PID only names the holder in a second process's message: best effort (a full disk)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            os.fsync(fd)
        except OSError as err:
            log.debug("could not write the PID into %s: %s", self.path, err.strerror)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DatabaseLock:
        return self.acquire()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


class DigestLock(DatabaseLock):
    """One digest delivery at a time per database (see the module docstring)."""

    SUFFIX = ".digest.lock"
    DOING = "sending the digest of"
