"""Memory of a process and all its descendants, sampled while it runs (Linux /proc).

``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the wrong number for a benchmark that
starts offerwatch as a subprocess: the child's high-water mark includes the pages it shared
with the benchmark before ``exec`` (a benchmark holding a 300 MB mailbox in memory reported
357 MB for every backfill), and it never sees the worker processes of a pool. This sampler
walks the process tree every ``interval`` seconds and keeps

* the peak of the tree's summed PSS (proportional set size: a page shared by the forkserver's
  workers counts once in total, not once per worker), the number to hold against a memory
  budget, and
* the largest high-water mark (``VmHWM``) any single process of the tree reached.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a measured ``offerwatch`` child: this one, plus ``extra``, and
    bytecode written and read as an installed copy has it (pip compiles it at install). With
    PYTHONDONTWRITEBYTECODE set, an editable checkout compiles every module of the project
    again at each start: 0.5-0.8 s of a benchmark's wall time that no user pays."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue  # the task ended between listing and reading
    return out


def tree(pid: int) -> list[int]:
    """``pid`` and every descendant alive now."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(_children(p))
    return seen


def _kb(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0  # the process ended while being read
    return 0


class TreeMemory:
    """Sample a process tree's memory in a background thread: ``with TreeMemory(pid) as m: ...``."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_pss_mb = 0.0
        self.peak_process_mb = 0.0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        pids = tree(self.pid)
        pss = sum(_kb(Path(f"/proc/{p}/smaps_rollup"), "Pss:") for p in pids)
        hwm = max((_kb(Path(f"/proc/{p}/status"), "VmHWM:") for p in pids), default=0)
        self.peak_pss_mb = max(self.peak_pss_mb, pss / 1024)
        self.peak_process_mb = max(self.peak_process_mb, hwm / 1024)
        self.peak_processes = max(self.peak_processes, len(pids))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        return (f"peak memory of the process tree: {self.peak_pss_mb:.0f} MB PSS summed over up to "
                f"{self.peak_processes} processes; largest single process {self.peak_process_mb:.0f} MB RSS")
