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

#: The headers an author writes; everything else in a header block may differ between copies.
AUTHOR_HEADERS = (b"from", b"to", b"cc", b"date", b"subject")


def content_fingerprint(raw: bytes) -> str:
    """SHA-256 (hex) of the author's headers and the body of ``raw``, normalised as above."""
    crlf, lf = raw.find(b"\r\n\r\n"), raw.find(b"\n\n")
    cuts = [(i, n) for i, n in ((crlf, 4), (lf, 2)) if i >= 0]
    if cuts:
        at, width = min(cuts)
        head, body = raw[:at], raw[at + width:]
    else:
        head, body = raw, b""
    h = hashlib.sha256()
    fields: list[tuple[bytes, list[bytes]]] = []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:  # a folded continuation of the previous header
            fields[-1][1].append(line)
            continue
        name, colon, value = line.partition(b":")
        fields.append((name.strip().lower() if colon else b"", [value]))
    for name, parts in fields:
        if name in AUTHOR_HEADERS:
            h.update(name + b":" + b" ".join(b" ".join(parts).split()) + b"\n")
    h.update(b"\n")
    lines = body.replace(b"\r\n", b"\n").split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    for line in lines:
        line = line.rstrip()
        if line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
            line = line[1:]  # mboxrd/mboxo quoting of a "From " line
        h.update(line + b"\n")
    return h.hexdigest()
