"""Give big freed buffers back to the operating system, so a long run's memory stays flat.

glibc's malloc serves requests above a threshold (128 KB at first) with their own ``mmap``,
returned to the system on ``free``; but each time such a block is freed the threshold rises
to its size (up to 32 MB). After one large message, every later megabyte-sized buffer (a
message's bytes, its decoded text, a batch of rows) comes from the heap instead, and a heap
with live objects above the freed space cannot shrink: the process keeps its peak. Measured
with ``bench/fuzz.py --store`` (seed 3, 150 s, about 7,500 hostile messages): peak RSS 335 MB
with the default, 270 MB with the threshold fixed at 256 KB (the same effect as starting with
``MALLOC_MMAP_THRESHOLD_=262144``). Setting it also stops the threshold from moving.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

#: glibc's mallopt parameter number for the mmap threshold (malloc.h: M_MMAP_THRESHOLD).
_M_MMAP_THRESHOLD = -3
#: Requests of this size or more get their own mapping, returned to the system when freed.
MMAP_THRESHOLD = 256 * 1024


def return_big_buffers_to_os() -> bool:
    """Fix glibc's mmap threshold for this process; False where there is no glibc (macOS,
    musl) or it refuses, which only means memory is handled by the platform's defaults."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this Python runs on
    except (OSError, AttributeError):
        log.debug("no mallopt in this C library: memory stays with its defaults")
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
