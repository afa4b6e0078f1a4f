"""What a message says, as one hash: the identity that a reused or spoofed Message-ID cannot take.

A Message-ID is chosen by the sender. Two different mails with the same id (a newsletter
reusing a job mail's id, a spoofed rejection) must stay two messages, and the same mail read
twice (INBOX and All Mail, an IMAP folder and a Takeout export, a re-read after a UIDVALIDITY
change) must stay one. :func:`content_fingerprint` hashes the headers an author writes (From, To,
Cc, Date, Subject) and the body, and leaves out what transport adds or changes on the way: trace
and delivery headers (Received, Delivered-To, Return-Path, X-Gmail-Labels, ...), line endings,
trailing spaces and mbox ``>From`` quoting.

It reads bytes only (no MIME parsing), in one linear pass, so it costs the same for every
message and never depends on how a version of the pipeline reads mail: a database keeps
recognising its messages across upgrades.

>>> a = b"From: a@x\\r\\nReceived: by mx1\\r\\nSubject: Hi\\r\\n\\r\\nHello  \\r\\n"
>>> b = b"Delivered-To: me@y\\nFrom: a@x\\nSubject: Hi\\n\\nHello\\n"
>>> content_fingerprint(a) == content_fingerprint(b)
True
>>> content_fingerprint(a) == content_fingerprint(a.replace(b"Hello", b"Bye"))
False
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

#: The headers an author writes; everything else in a header block may differ between copies.
AUTHOR_HEADERS = (b"from", b"to", b"cc", b"date", b"subject")


#: Bytes split into lines at a time (at the first LF after this many).
CHUNK = 64 * 1024


def _lines(raw: bytes, start: int, end: int) -> Iterator[bytes]:
    """The lines of ``raw[start:end]`` as ``raw[start:end].replace(b"\\r\\n", b"\\n").split(b"\\n")``
    gives them, split a chunk at a time: a 5 MB message is not copied twice and held as a
    list of lines besides (15 MB at once; a million blank lines, 11 MB). A chunk ends just
    after an LF, so no CRLF is cut in two and the lines are the same; a line longer than a
    chunk is copied once, as itself."""
    pos = start
    while True:
        nl = raw.rfind(b"\n", pos, pos + CHUNK) if end - pos > CHUNK else -1
        if nl < 0 and end - pos > CHUNK:  # a line longer than a chunk: copied once, not split
            nl = raw.find(b"\n", pos, end)
            if nl >= 0:
                yield raw[pos:nl - 1] if raw[nl - 1] == 13 else raw[pos:nl]
                pos = nl + 1
                continue
        if nl < 0:
            yield from raw[pos:end].replace(b"\r\n", b"\n").split(b"\n")
            return
        lines = raw[pos:nl + 1].replace(b"\r\n", b"\n").split(b"\n")
        lines.pop()  # the empty string after the chunk's last LF: the next chunk starts the next line
        yield from lines
        pos = nl + 1


def content_fingerprint(raw: bytes) -> str:
    """SHA-256 (hex) of the author's headers and the body of ``raw``, normalised as above.

    One pass over the lines in place: only the lines of the author's headers are kept, for
    as long as a header folds, and blank lines only until the next line shows they are not
    the trailing ones.
    """
    crlf, lf = raw.find(b"\r\n\r\n"), raw.find(b"\n\n")
    cuts = [(i, n) for i, n in ((crlf, 4), (lf, 2)) if i >= 0]
    if cuts:
        at, width = min(cuts)
        head_end, body_start = at, at + width
    else:
        head_end, body_start = len(raw), len(raw)
    h = hashlib.sha256()
    field: list[bytes] | None = None  # the parts of the author's header being read (it may fold)
    name = b""
    started = False
    for line in _lines(raw, 0, head_end):
        if line[:1] in (b" ", b"\t") and started:  # a folded continuation of the previous header
            if field is not None:
                field.append(line)
            continue
        if field is not None:
            h.update(name + b":" + b" ".join(b" ".join(field).split()) + b"\n")
        started = True
        name, colon, value = line.partition(b":")
        name = name.strip().lower() if colon else b""
        field = [value] if name in AUTHOR_HEADERS else None
    if field is not None:
        h.update(name + b":" + b" ".join(b" ".join(field).split()) + b"\n")
    h.update(b"\n")
    blank = 0  # blank lines seen and not hashed yet: trailing ones are left out
    for line in _lines(raw, body_start, len(raw)):
        line = line.rstrip()
        if not line:
            blank += 1
            continue
        if blank:
            h.update(b"\n" * blank)
            blank = 0
        if line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
            line = line[1:]  # mboxrd/mboxo quoting of a "From " line
        h.update(line)  # not line + LF: a 5 MB line is not copied once more
        h.update(b"\n")
    return h.hexdigest()
