"""The process gives big freed buffers back to the system (daemon/memory.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = r"""
import sys
if sys.argv[1] == "fixed":
    from offerwatch.daemon.memory import return_big_buffers_to_os
    assert return_big_buffers_to_os()
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) // 1024
big = bytearray(8_000_000); del big          # one large message: glibc raises its mmap threshold to 8 MB
base = rss()
blocks, pins = [], []
for i in range(150):                           # megabyte buffers with small live objects between them,
    blocks.append(bytearray(1_000_000))        # as a batch of big messages leaves behind
    pins.append(bytearray(100_000))             # (malloc heap, not pymalloc arenas)
blocks = None
print(rss() - base)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_megabyte_buffers_are_returned_after_a_large_message() -> None:
    def grown(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
        return int(out.stdout.strip())

    # 150 MB of blocks freed, 15 MB of pins kept in both cases
    assert grown("fixed") < 30          # the blocks are given back
    assert grown("default") > 100       # without it the heap keeps them (the problem this fixes)
