"""CPU time of a call, best of a few runs: what a linear-growth assertion compares (wall time on a
shared machine is noise)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_cpu_seconds(fn: Callable[..., Any], *args: Any, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        fn(*args)
        best = min(best, time.process_time() - started)
    return best
