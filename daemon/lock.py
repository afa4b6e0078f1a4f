"""One writer per database: the daemon, a backfill and a sync share this lock.

An ``flock`` on ``<database>.lock`` is released by the kernel when its holder dies, so a
crashed process never leaves a stale lock behind; the PID written inside is only for the
message that tells a second writer who holds it.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType


class LockedError(Exception):
    """Another offerwatch process is writing to the same database."""


class DatabaseLock:
    def __init__(self, database: Path | None) -> None:
        self.path = Path(str(database) + ".lock") if database else None
        self._fd: int | None = None

    def acquire(self) -> DatabaseLock:
        if self.path is None:  # in-memory database: nobody else can see it
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            if err.errno in (errno.EAGAIN, errno.EACCES):
                raise LockedError(
                    f"another offerwatch process (PID {holder}) is using {str(self.path)[:-5]}; "
                    "wait for it to finish or stop it (`offerwatch service status`), then try again"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        os.fsync(fd)
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
