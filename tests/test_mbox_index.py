"""The mbox index finds the standard library's messages, at any chunk boundary, in one pass."""

from __future__ import annotations

import io
import mailbox
import random
import tracemalloc
from pathlib import Path

from offerwatch.daemon.sources.local import MboxSource
from offerwatch.daemon.sources.mboxindex import mbox_toc

#: Every shape a separator can take: a real one, one quoted (mboxrd), one without a blank line
#: before it, Windows line ends, "From" without the space, a file ending on blank lines.
PIECES = [b"From ", b"From a@b Mon Sep  1 10:00:00 2026\n", b"\n", b"\r\n", b"x", b"Hello there\n",
          b">From quoted\n", b"\n\n", b"From", b" ", b"F", b"\nFrom \n"]


def _stdlib_toc(path: Path) -> list[tuple[int, int]]:
    box = mailbox.mbox(str(path), create=False)
    try:
        list(box.iterkeys())
        toc = box._toc  # the table the standard library reads messages by
        return [toc[k] for k in sorted(toc)]
    finally:
        box.close()


def test_the_index_is_the_standard_librarys_for_every_separator_shape_and_chunk_size(tmp_path: Path) -> None:
    rng = random.Random(11)
    path = tmp_path / "shapes.mbox"
    for _ in range(300):
        data = b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40)))
        path.write_bytes(data)
        want = _stdlib_toc(path)
        for chunk in (1, 2, 5, 6, 7, 8, 64, 1 << 20):  # boundaries inside and around "\nFrom "
            assert mbox_toc(io.BytesIO(data), chunk=chunk) == want, (data, chunk)


def test_the_index_of_real_mail_matches_and_reads_the_same_messages(tmp_path: Path, dev_corpus: Path) -> None:
    corpus_messages = [f.read_bytes() for f in sorted(dev_corpus.glob("*.eml"))]
    path = tmp_path / "corpus.mbox"
    box = mailbox.mbox(str(path))
    for raw in corpus_messages[:200]:
        box.add(raw)
    box.flush()
    box.close()
    assert mbox_toc(open(path, "rb"), chunk=4096) == _stdlib_toc(path)
    src = MboxSource(path)
    ours = [m.data for m in src.messages(src.folders()[0], 0, None, None)]
    src.close()
    std = mailbox.mbox(str(path), create=False)
    theirs = [std.get_bytes(k) for k in std.iterkeys()]
    std.close()
    assert len(ours) == 200 and ours == theirs


def test_a_huge_message_costs_its_first_bytes_not_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.mbox"
    with open(path, "wb") as f:
        f.write(b"From a@b Mon Sep  1 10:00:00 2026\nSubject: big\n\n")
        for _ in range(40):
            f.write(b"y" * (1 << 20))
        f.write(b"\n\nFrom a@b Mon Sep  1 10:00:00 2026\nSubject: small\n\nhello\n")
    src = MboxSource(path, max_message_bytes=64 * 1024)
    tracemalloc.start()
    try:
        big, small = list(src.messages(src.folders()[0], 0, None, None))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        src.close()
    assert big.truncated and len(big.data) == 64 * 1024 and big.size > 40 * (1 << 20)
    assert not small.truncated and small.data.endswith(b"hello\n")
    assert peak < 8 * (1 << 20)  # chunks of the index and the message's cap, never the 40 MB
