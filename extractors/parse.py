"""Raw bytes -> a parsed mail: headers, readable text, attachments' metadata, calendar events.

The stdlib ``email`` package does the MIME work (its lenient compat32 parser); this module
reads what offerwatch needs from it and makes every failure a recorded *problem* instead of
an exception: a daemon reading a real inbox meets malformed MIME, unknown charsets,
5,000-deep multiparts, broken encoded words and header injection, and must never stop on
them. Each field degrades on its own: a From header that cannot be parsed leaves the
subject, the body and the calendar part intact.

Work per message is bounded and linear: only text parts (and calendar parts) are decoded,
attachments keep their name, type and size without their bodies being decoded, HTML is
converted at most once, and every header is cut before it is decoded.
"""

from __future__ import annotations

import codecs
import email.utils
import functools
import hashlib
import logging
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.feedparser import BytesFeedParser
from email.message import Message
from typing import Any, TypeVar

from offerwatch.extractors.elide import ELIDED_HEADER, elide_attachment_bodies, elided_chars
from offerwatch.extractors.htmltext import html_to_text
from offerwatch.models.domain import Address, Attendee, CalendarEvent

log = logging.getLogger(__name__)

#: Bytes handed to the MIME parser at most. Sources cap bodies already; this is the last
#: line of defence for files and stdin, so a 30 MB attachment is never decoded.
MAX_PARSE_BYTES = 2 * 1024 * 1024
#: A calendar part larger than this is not an interview invite.
MAX_CALENDAR_BYTES = 256 * 1024
#: Calendar events kept per message (an invitation has one; each is read like a short mail).
MAX_EVENTS = 20
#: Characters of an event's DESCRIPTION kept (join links and dial-ins follow the words).
MAX_DESCRIPTION_CHARS = 4000
#: MIME parts looked at per message, and how deep multiparts may nest; beyond is skipped.
#: The stdlib parser checks every line against every open boundary, so its time is lines
#: times depth: 2 MB of short lines 16 levels deep take a second. Real mail nests a few
#: levels (mixed > alternative > related, a forward or two as attachments).
MAX_PARTS = 500
MAX_DEPTH = 16
#: Characters of an address header read at most, and addresses kept from it.
MAX_ADDRESS_CHARS = 64 * 1024
MAX_ADDRESSES = 500
#: An encoded word is at least 8 characters for one decoded character; a raw header value
#: is cut at this many times the wanted length before it is decoded, so a Subject of 40,000
#: encoded words costs what its first thousand characters cost.
RAW_PER_DECODED = 8

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_SPACES = re.compile(r"\s+")
_LINESEP = re.compile(r"\n|\r\n?")
_MSGID = re.compile(r"<[^<>\s]+>")
_ADDR_FALLBACK = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,10}")
_B64_NOISE = bytes(range(33)) + b"="  # whitespace, controls and padding: not data

T = TypeVar("T")


@dataclass
class ParsedMail:
    """What parsing yields; every field has a safe default so a failed parse still flows."""

    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names, single-line values
    message_id: str = ""
    subject: str = ""
    sender: Address | None = None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    date: datetime | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    text: str = ""
    from_html: bool = False
    attachments: list[dict[str, Any]] = field(default_factory=list)
    events: list[CalendarEvent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    parse_failed: bool = False
    content_hash: str = ""


def single_line(value: str) -> str:
    """Strip CR, LF and other control characters: a header must never inject a line."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()


def _cut_raw(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a space, so no encoded word is split."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit]


def decode_mime_header(value: Any, limit: int = 2000) -> str:
    """Decode RFC 2047 words leniently into one line of at most ``limit`` characters.

    The raw value is cut first (decoding is not linear in the stdlib), then decoded by the
    email package's modern header parser, which keeps a broken word as its raw text, decodes
    an unknown charset with replacement characters and reads raw UTF-8 bytes as UTF-8:

    >>> decode_mime_header("Offer =?utf-8?b?QUFBQ?= at =?utf-8?q?caf=C3=A9?=")
    'Offer QUFBQ at café'
    """
    if value is None:
        return ""
    from email import policy

    text = _LINESEP.sub("", _cut_raw(str(value), limit * RAW_PER_DECODED))  # unfold, as the email policy does
    if text.isascii() and "=?" not in text:
        # nothing to decode: the parser would give the same line (checked on 300,000 random
        # ASCII values and every header of the corpora), at 43 us a header
        return single_line(text)[:limit]
    try:
        decoded = str(policy.default.header_factory("subject", text))
    except Exception as err:  # noqa: BLE001 - hostile header text; the raw value is still useful
        log.info("header not decodable (%s); kept as written", type(err).__name__)
        decoded = _undo_surrogates(text)
    return single_line(decoded)[:limit]


def _undo_surrogates(text: str) -> str:
    """Raw 8-bit header bytes (kept as surrogate escapes by the parser) read as UTF-8."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return text.encode("utf-8", "replace").decode("utf-8", "replace")


def parse_addresses(value: str) -> tuple[Address, ...]:
    """``"A <a@x>, b@y"`` -> Address tuples, lower-cased e-mail, decoded display names.

    A header the stdlib cannot parse (1,000 nested comments overflow its recursion) still
    yields the addresses written in it, without names.
    """
    if not value:
        return ()
    value = _cut_raw(value, MAX_ADDRESS_CHARS)
    try:
        pairs = email.utils.getaddresses([value])
    except (RecursionError, ValueError, TypeError, IndexError) as err:
        log.info("address header not parseable (%s); reading the bare addresses in it", type(err).__name__)
        pairs = [("", m.group(0)) for m in _ADDR_FALLBACK.finditer(value)]
    out = []
    for name, addr in pairs[: MAX_ADDRESSES * 2]:
        addr = single_line(_undo_surrogates(addr)).lower()
        if "@" not in addr:
            continue
        out.append(Address(decode_mime_header(name, 300), addr[:320]))
        if len(out) >= MAX_ADDRESSES:
            break
    return tuple(out)


def parse_date(value: str) -> datetime | None:
    """RFC 2822 date -> aware datetime (naive dates are taken as UTC); None when absent."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value[:300])
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _message_ids(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_MSGID.findall(value or "")))


def parse_mail(raw: bytes, *, max_bytes: int = MAX_PARSE_BYTES) -> ParsedMail:
    """Parse one message. Never raises for bad input: problems are listed in the result.

    >>> parse_mail(b"Subject: hi\\r\\n\\r\\nhello").text
    'hello'
    """
    result = ParsedMail(content_hash=hashlib.sha256(raw).hexdigest())
    if not raw or raw.isspace():  # not raw.strip(): a copy of the whole message to test that
        result.parse_failed = True
        result.problems.append("empty message")
        return result
    if len(raw) > max_bytes:
        result.problems.append(
            f"message of {len(raw)} bytes cut to {max_bytes} before parsing; later parts skipped"
        )
        log.info("message of %d bytes cut to %d bytes before parsing", len(raw), max_bytes)
        raw = raw[:max_bytes]
    raw = cap_mime_fields(raw)
    raw, many = cap_parts(raw)
    if many:
        result.problems.append(f"more than {2 * MAX_PARTS} MIME parts: the message was cut before the rest")
        log.info("message cut after %d MIME part delimiters before parsing", 2 * MAX_PARTS)
    raw, blocks = cap_status_blocks(raw)
    if blocks:
        result.problems.append(f"delivery report of more than {2 * MAX_PARTS} blocks: the message was cut before the rest")
        log.info("message cut after %d blank lines of a delivery report before parsing", 2 * MAX_PARTS)
    raw, cut = cap_nesting(raw)
    if cut:
        result.problems.append(f"MIME structure nested too deeply: parts below {MAX_DEPTH} levels were cut")
        log.info("message cut where its MIME parts nest deeper than %d levels", MAX_DEPTH)
    raw = elide_attachment_bodies(raw)  # never decoded: the parser need not read them line by line
    try:
        message = _message_from_bytes(raw)
    except RecursionError:
        return _failed(result, "MIME structure nested too deeply to parse")
    except Exception as err:  # noqa: BLE001 - the stdlib parser meets every kind of garbage
        return _failed(result, f"unparseable MIME: {type(err).__name__}: {err}")

    if len(message.keys()) == 0 and not message.get_payload():
        return _failed(result, "not a MIME message")
    _read_headers(message, result)
    try:
        _read_body(message, result)
    except RecursionError:
        return _failed(result, "MIME structure nested too deeply to parse")
    except Exception as err:  # noqa: BLE001 - keep the headers already read
        result.problems.append(f"body unreadable: {type(err).__name__}: {err}")
        log.info("message %s: body unreadable: %s", result.message_id or "(no id)", type(err).__name__)
    if len(message.keys()) == 0:
        result.problems.append("no headers: not an RFC 5322 message")
    if result.date is None:
        result.problems.append("no usable Date header")
    return result


#: Bytes handed to the MIME parser at a time.
FEED_BYTES = 64 * 1024


def _message_from_bytes(raw: bytes) -> Message:
    """``email.message_from_bytes(raw)``, fed a chunk at a time.

    ``message_from_bytes`` decodes the whole message to one str and reads it through a
    StringIO: for a 2 MB message the parser peaked at 22 MB, fed 64 KB at a time at 11 MB.
    The parser is the same incremental one (``message_from_bytes`` feeds it 8 KB at a time),
    the decoding (ASCII with surrogate escapes) goes byte by byte, so the message is the same.
    """
    parser = BytesFeedParser()  # the compat32 policy, as message_from_bytes
    for start in range(0, len(raw), FEED_BYTES):
        parser.feed(raw[start:start + FEED_BYTES])
    return parser.close()


#: Bytes of one Content-Type or Content-Disposition field kept (a real one is under 1 KB).
MAX_MIME_FIELD_BYTES = 8 * 1024
_MIME_FIELD = re.compile(rb"content-(?:type|disposition)[ \t]*:")


def cap_mime_fields(raw: bytes) -> bytes:
    """Cut Content-Type/Content-Disposition fields longer than ``MAX_MIME_FIELD_BYTES``.

    The stdlib splits their parameters by copying the rest of the field once per ``;``:
    an 800 KB Content-Type took 3 s, 2 MB half a minute, and the parser reads every part's
    boundary while it parses. The cut is made at the last ``;`` that fits, so the
    parameters before it (boundary, charset, name) are kept whole.

    >>> cap_mime_fields(b"Content-Type: text/plain; charset=utf-8" + b"; a=b" * 3000 + b"\\r\\n\\r\\nhi")[:60]
    b'Content-Type: text/plain; charset=utf-8; a=b; a=b; a=b; a=b;'
    >>> len(cap_mime_fields(b"Content-Type: text/plain" + b"; a=b" * 3000 + b"\\r\\n\\r\\nhi")) < 8300
    True
    """
    low = raw.lower()
    out: list[bytes] = []
    pos = 0
    for start in _field_starts(low):
        if start < pos:
            continue  # inside a field already cut
        end = start
        while True:  # the field ends at a line break not followed by a fold
            nl = raw.find(b"\n", end)
            if nl < 0 or raw[nl + 1 : nl + 2] not in (b" ", b"\t"):
                end = len(raw) if nl < 0 else nl
                break
            end = nl + 1
        if end - start <= MAX_MIME_FIELD_BYTES:
            continue
        keep = raw.rfind(b";", start, start + MAX_MIME_FIELD_BYTES)
        keep = keep if keep > start + 13 else start + MAX_MIME_FIELD_BYTES
        out.append(raw[pos:keep])
        pos = end if raw[end - 1 : end] != b"\r" else end - 1
    if not out:
        return raw
    out.append(raw[pos:])
    return b"".join(out)


def _field_starts(low: bytes) -> Iterator[int]:
    """Where Content-Type/Content-Disposition fields start in the lower-cased message.

    ``bytes.find`` in a loop, not a case-insensitive regex: this runs over every byte of
    every message, attachments included, and the regex cost a millisecond per message.
    """
    pos = -1
    while True:
        pos = low.find(b"content-", pos + 1)
        if pos < 0:
            return
        if pos > 0 and low[pos - 1] != 0x0A:  # not at a line start
            continue
        if _MIME_FIELD.match(low, pos):
            yield pos


_STRUCTURE = re.compile(rb'boundary[ \t]*=[ \t]*"?([^";\s]{1,200})|^--([^\r\n]{1,200}?)(--)?[ \t]*\r?$', re.I | re.M)


def cap_nesting(raw: bytes, max_depth: int = MAX_DEPTH) -> tuple[bytes, bool]:
    """``raw`` cut where its multiparts would nest deeper than ``max_depth``, and whether.

    One pass: each ``boundary=`` opens a level, its closing ``--boundary--`` line closes it
    (and any left open inside it). A message with no more declarations than ``max_depth``
    cannot nest deeper and is returned as is.

    >>> deep = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\\r\\n\\r\\n--b%d\\r\\n' % (i, i) for i in range(40))
    >>> cut, was_cut = cap_nesting(b"Subject: x\\r\\n" + deep)
    >>> was_cut, cut.count(b"boundary=")
    (True, 16)
    """
    if raw.lower().count(b"boundary") <= max_depth:  # cannot nest deeper: no scan
        return raw, False
    stack: list[bytes] = []
    for m in _STRUCTURE.finditer(raw):
        if m.group(1) is not None:
            if len(stack) >= max_depth:
                return raw[: raw.rfind(b"\n", 0, m.start()) + 1], True
            stack.append(m.group(1))
        elif m.group(3) and m.group(2) in stack:
            del stack[len(stack) - 1 - stack[::-1].index(m.group(2)) :]
    return raw, False


_DELIMITER_LINE = re.compile(rb"^--[^\r\n]{1,200}\r?$", re.M)


def cap_parts(raw: bytes, max_delimiters: int = 2 * MAX_PARTS) -> tuple[bytes, bool]:
    """``raw`` cut before its ``max_delimiters``-th MIME delimiter line, and whether.

    The standard library's parser builds an object for every part before anything can skip
    them: 20,000 one-line parts (800 KB) took 24 MB. Only the first ``MAX_PARTS`` parts are
    read (:func:`_walk`), so twice as many delimiters keep all of those whatever the nesting.

    >>> parts = b"".join(b"--b\\r\\n\\r\\nhi\\r\\n" for _ in range(2000))
    >>> cut, was_cut = cap_parts(b'Content-Type: multipart/mixed; boundary="b"\\r\\n\\r\\n' + parts)
    >>> was_cut, cut.count(b"--b")
    (True, 1000)
    """
    if raw.count(b"\n--") < max_delimiters:  # cannot hold that many: no scan
        return raw, False
    for n, m in enumerate(_DELIMITER_LINE.finditer(raw), 1):
        if n > max_delimiters:
            return raw[: m.start()], True
    return raw, False


_STATUS_TYPE = re.compile(rb"(?:^|(?<=\r))content-type[ \t]*:[ \t\r\n]*\"?message/delivery-status", re.I | re.M)
#: A line end followed by another: a blank line (the parser ends lines at CRLF, CR or LF).
_BLANK_LINE = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?=[\r\n])")


def cap_status_blocks(raw: bytes, max_blocks: int = 2 * MAX_PARTS) -> tuple[bytes, bool]:
    """``raw`` cut at the ``max_blocks``-th blank line after a ``message/delivery-status``
    declaration, and whether.

    The standard library's parser makes a message object of every blank-line separated block
    of a delivery report, and of every blank line in a run of them: 200,000 blank lines (200 KB)
    took 70 MB. Each blank line ends at most one block, each block is a part, and only the
    first ``MAX_PARTS`` parts are read (:func:`_walk`): a report cut there keeps every part
    that is read. Blank lines of parts after the report count too; a real report has a
    handful, so only hostile mail is ever cut (as :func:`cap_parts` cuts it).

    >>> report = b"Content-Type: message/delivery-status\\r\\n\\r\\nStatus: 5.1.1\\r\\n" + b"\\r\\n" * 5000
    >>> cut, was_cut = cap_status_blocks(report)
    >>> was_cut, cut.count(b"\\r\\n\\r\\n") < 1000
    (True, True)
    """
    if raw.count(b"\n") + raw.count(b"\r") < max_blocks:  # cannot hold that many: no scan
        return raw, False
    if b"delivery-status" not in raw.lower():  # a copy, but 25x faster than the regex over attachments
        return raw, False
    declared = _STATUS_TYPE.search(raw)
    if declared is None:
        return raw, False
    for n, m in enumerate(_BLANK_LINE.finditer(raw, declared.end()), 1):
        if n > max_blocks:
            return raw[: m.start()], True
    return raw, False


def parse_headers_only(raw: bytes) -> ParsedMail:
    """Only the header block of ``raw`` parsed (owner inference samples hundreds of mails)."""
    end = raw.find(b"\n\r\n")
    end2 = raw.find(b"\n\n")
    cut = min(x for x in (end, end2, len(raw)) if x >= 0)
    return parse_mail(raw[: cut + 1][: 256 * 1024] + b"\r\n")


def _failed(result: ParsedMail, why: str) -> ParsedMail:
    result.parse_failed = True
    result.problems.append(why)
    log.info("message recorded as unparseable: %s", why)
    return result


_KEPT_HEADERS = (
    "list-unsubscribe", "list-id", "precedence", "auto-submitted", "x-mailer", "reply-to",
    "x-gm-thrid", "x-auto-response-suppress", "feedback-id", "x-campaign", "x-mailgun-tag",
    "x-sg-eid", "x-ms-exchange-generated-message-source", "sender", "return-path",
    "delivered-to", "x-original-to", "thread-topic", "x-autoreply", "x-autorespond", "x-offerwatch-digest",
)
_WANTED = frozenset(_KEPT_HEADERS) | {"subject", "from", "to", "cc", "date", "message-id", "in-reply-to", "references"}


def _field(result: ParsedMail, name: str, read: Callable[[], T], default: T) -> T:
    """One header field read on its own: a failure loses this field only, and is recorded."""
    try:
        return read()
    except Exception as err:  # noqa: BLE001 - degrade field by field
        result.problems.append(f"header {name} unreadable: {type(err).__name__}")
        log.info("message %s: header %s unreadable: %s", result.message_id or "(no id)", name, type(err).__name__)
        return default


def _raw_headers(message: Message) -> dict[str, str]:
    """The first raw value of each header offerwatch reads, in one pass over the block."""
    out: dict[str, str] = {}
    for name, value in message.raw_items():
        key = str(name).strip().lower()
        if key in _WANTED and key not in out:
            text = value if isinstance(value, str) else str(value)
            # raw 8-bit bytes arrive as surrogate escapes, which no database or terminal takes
            out[key] = _undo_surrogates(text) if _has_surrogates(text) else text
    return out


def _read_headers(message: Message, result: ParsedMail) -> None:
    no_ids: tuple[str, ...] = ()
    raw = _field(result, "block", lambda: _raw_headers(message), dict[str, str]())
    get = raw.get
    ids = _field(result, "Message-ID", lambda: _message_ids(_cut_raw(get("message-id", ""), 2000)), no_ids)
    result.message_id = ids[0] if ids else ""
    headers: dict[str, str] = {}
    for name in _KEPT_HEADERS:
        value = get(name)
        if value:
            headers[name] = _field(result, name, lambda v=value: decode_mime_header(v, 2000), "")  # type: ignore[misc]
    result.subject = _field(result, "Subject", lambda: decode_mime_header(get("subject", ""), 1000), "")
    headers["subject"] = result.subject
    no_addresses: tuple[Address, ...] = ()
    froms = _field(result, "From", lambda: parse_addresses(single_line(get("from", ""))), no_addresses)
    result.sender = froms[0] if froms else None
    result.to = _field(result, "To", lambda: parse_addresses(single_line(get("to", ""))), ())
    result.cc = _field(result, "Cc", lambda: parse_addresses(single_line(get("cc", ""))), ())
    result.date = _field(result, "Date", lambda: parse_date(get("date", "")), None)
    irt = _field(result, "In-Reply-To", lambda: _message_ids(_cut_raw(get("in-reply-to", ""), 2000)), no_ids)
    result.in_reply_to = irt[0] if irt else None
    refs = _field(result, "References", lambda: _message_ids(_cut_raw(get("references", ""), 64 * 1024)), no_ids)
    result.references = refs[:100]
    result.headers = headers


# -- body --------------------------------------------------------------------------------


def _walk(message: Message, result: ParsedMail) -> Iterator[tuple[Message, bool]]:
    """Every part, depth first, with whether it sits inside an attached container.

    Iterative and bounded (``MAX_PARTS``, ``MAX_DEPTH``), unlike ``Message.walk``. A part
    inside an attachment (a forwarded .eml, an attached multipart) is still read as
    mail-parser read it, but its named text parts count as attachments, not as body.
    """
    stack: list[tuple[Message, bool, int]] = [(message, False, 0)]
    seen = 0
    while stack:
        part, inside, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            result.problems.append(f"more than {MAX_PARTS} MIME parts; the rest skipped")
            return
        yield part, inside
        if not part.is_multipart():
            continue
        if depth >= MAX_DEPTH:
            result.problems.append(f"MIME parts nested deeper than {MAX_DEPTH}; the deeper ones skipped")
            continue
        children = part.get_payload()
        if not isinstance(children, list):
            continue
        disposition = (part.get_content_disposition() or "").lower()
        blocks = disposition not in ("", "inline") or (disposition != "inline" and bool(part.get_filename()))
        child_inside = inside or blocks
        stack.extend((c, child_inside, depth + 1) for c in reversed(children) if isinstance(c, Message))


def _utf8_view(part: Message) -> Message:
    """The part's Content-Type and Content-Disposition with raw 8-bit bytes read as UTF-8.

    The parser keeps such bytes as surrogate escapes and its accessors turn them into
    replacement characters; mail clients show a raw UTF-8 file name as written.
    """
    raw = [(k, v) for k, v in part.raw_items() if k.lower() in ("content-type", "content-disposition")]
    if not any(isinstance(v, str) and _has_surrogates(v) for _, v in raw):
        return part
    view = Message()
    for k, v in raw:
        view[k] = _undo_surrogates(_LINESEP.sub("", str(v)))
    return view


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _attachment_name(part: Message) -> str:
    """The name a mail client shows: the filename, else the Content-ID of an inline image."""
    name = _utf8_view(part).get_filename()
    if name:
        return decode_mime_header(name, 200)
    subtype = part.get_content_subtype()
    cid = str(part.get("content-id") or "")
    disposition = (part.get_content_disposition() or "").lower()
    if cid and subtype not in ("html", "plain"):
        return single_line(cid)[:200]
    if subtype == "rtf":
        return "(unnamed).rtf"
    if disposition == "attachment":
        return "(unnamed).txt"
    return ""


def _raw_payload(part: Message) -> Any:
    """The payload as parsed, neither transfer- nor charset-decoded.

    The stdlib has no public accessor for it: ``get_payload()`` applies the declared charset
    to 8-bit bodies (with ``charset=punycode`` that alone is quadratic), ``decode=True``
    undoes base64. mail-parser reads the same attribute.
    """
    return getattr(part, "_payload", None)


def _encoded_size(part: Message) -> int:
    """The decoded size of a part's body, estimated from its encoded form (not decoded)."""
    payload = _raw_payload(part)
    if isinstance(payload, list):
        return sum(_encoded_size(p) for p in payload[:MAX_PARTS] if isinstance(p, Message))
    if not isinstance(payload, str):
        return 0
    cte = str(part.get("content-transfer-encoding") or "").strip().lower()
    if cte == "base64":
        taken_out = elided_chars(part.get(ELIDED_HEADER))  # see extractors/elide.py
        return (len(payload.encode("ascii", "ignore").translate(None, _B64_NOISE)) + taken_out) * 3 // 4
    return len(payload)


#: Codecs written in Python whose decoding is quadratic (2 MB of punycode: minutes).
_SLOW_CODECS = frozenset({"punycode", "idna"})


def _text_codec(charset: str) -> str:
    """The codec to decode a body with: the declared one, unless it is unknown to Python
    (the caller falls back) or one of the quadratic ones (read as UTF-8 instead)."""
    try:
        name = codecs.lookup(charset).name
    except (LookupError, ValueError, TypeError):
        return charset
    return "utf-8" if name in _SLOW_CODECS else charset


def _decode_text(part: Message, result: ParsedMail) -> str:
    """A text part's body as str: transfer encoding undone, charset applied leniently.

    Pure ASCII 7bit/8bit bodies are taken as written, whatever charset they declare (a
    wrong ``utf-16`` label must not garble plain ASCII); otherwise the declared charset,
    then UTF-8, then UTF-8 with replacement characters.
    """
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload:
        return ""
    cte = str(part.get("content-transfer-encoding") or "").strip().lower()
    if cte in ("", "7bit", "8bit") and payload.isascii():
        return payload.decode("ascii")
    charset = _text_codec(part.get_content_charset("utf-8") or "utf-8")
    try:
        text = payload.decode(charset)
        text.encode("utf-8")  # some codecs make lone surrogates: not text
        return text
    except (LookupError, UnicodeError, ValueError, TypeError):
        if "a text part had an unknown or wrong charset; decoded leniently" not in result.problems:
            result.problems.append("a text part had an unknown or wrong charset; decoded leniently")
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("utf-8", "replace")


def _read_body(message: Message, result: ParsedMail) -> None:
    plain: list[str] = []
    html: list[str] = []
    calendars: list[Message] = []
    for index, (part, inside) in enumerate(_walk(message, result)):
        try:
            _read_part(part, inside, plain, html, calendars, result)
        except RecursionError:
            raise
        except Exception as err:  # noqa: BLE001 - one bad part must not cost the others
            result.problems.append(f"MIME part {index} unreadable: {type(err).__name__}")
            log.info("message %s: MIME part %d unreadable: %s", result.message_id or "(no id)", index,
                     type(err).__name__)
    text, from_html = choose_text(plain, html)
    if not text.strip() and not message.is_multipart() and message.get_content_maintype() == "text":
        text = _decode_text(message, result)
    result.text = text.replace("\r\n", "\n").replace("\r", "\n")
    result.from_html = from_html
    _read_calendars(calendars, result)


def _read_part(part: Message, inside: bool, plain: list[str], html: list[str], calendars: list[Message],
               result: ParsedMail) -> None:
    ctype = part.get_content_type()
    disposition = (part.get_content_disposition() or "").lower()
    if part.is_multipart() and disposition != "attachment":
        return
    if ctype in ("text/calendar", "application/ics") and not part.is_multipart():
        calendars.append(part)
    name = _attachment_name(part)
    if name:
        result.attachments.append(
            {"filename": name, "content_type": single_line(_undo_surrogates(ctype))[:100], "size": _encoded_size(part)}
        )
    inline_body = not inside and not part.is_multipart() and disposition == "inline" and ctype in ("text/plain", "text/html")
    if part.is_multipart() or (name and not inline_body):
        return
    subtype = part.get_content_subtype()
    if subtype not in ("plain", "html"):
        return  # images, PDFs, calendars: never decoded as text
    text = _decode_text(part, result)
    if text:
        (html if subtype == "html" else plain).append(text)


# -- which text a reader sees --------------------------------------------------------------

#: A text/plain alternative that only says "look at the HTML version".
_STUB = re.compile(
    r"(view|read|open|see|display)\w*\s+(this|the|our)\s+(e-?mail|message|newsletter|mail|content)\s+"
    r"(in|with|using|on)\s+(a|an|your)\s+(web\s+)?(browser|html|web|mail|e-?mail|client|viewer)"
    r"|(html|rich[\s-]text)[\s-](e-?mail|message|version|format|content|client|viewer)"
    r"|(client|program|reader|application|viewer)\s+(does\s*n[o']t|do\s+not|cannot|can'?t|is\s+unable\s+to)\s+"
    r"(support|display|show|render)"
    r"|(this|the)\s+(e-?mail|message)\s+(is|was)\s+(only\s+)?(available|sent|written|formatted)\s+(in|as)\s+html"
    r"|no\s+(plain[\s-])?text\s+(version|alternative)"
    r"|best\s+viewed\s+(in|with|on|using)|html[\s-](capable|compatible|enabled)"
    r"|(view|read|see|open)\s+(it|this|the\s+(e-?mail|message))?\s*(online|in\s+(a|your)\s+(web\s+)?browser)"
    r"|(web|online|browser)\s+version|trouble\s+(viewing|reading|seeing)\s+(this|the|it)"
    r"|(can'?t|cannot|unable\s+to)\s+(see|view|read)\s+(this|the)\s+(e-?mail|message)",
    re.I,
)
#: A plain alternative with fewer words than this and a stub phrase is a stub.
STUB_MAX_WORDS = 80
#: A plain alternative of fewer words than this loses to an HTML alternative with at least
#: ``SHORTER_RATIO`` times its words and ``SHORTER_MIN_EXTRA_WORDS`` more (ATS templates
#: whose plain part says "you have a new task, sign in" while the HTML has the offer). A
#: longer plain part is what its sender wrote; it is kept.
SHORT_PLAIN_WORDS = 100
SHORTER_RATIO = 3
SHORTER_MIN_EXTRA_WORDS = 40


def _words(text: str) -> int:
    return len(text.split())


def is_stub(plain: str) -> bool:
    """Is this text/plain part only a pointer to the HTML version?

    >>> is_stub("To view this email in your browser, open the HTML version.")
    True
    >>> is_stub("This message is best viewed in an HTML-capable email client. View it online: https://x.example/m/1")
    True
    >>> is_stub("Hi Sam, can we talk on Monday? Your HTML skills are great.")
    False
    """
    return _words(plain) < STUB_MAX_WORDS and bool(_STUB.search(plain))


def choose_text(plain_parts: list[str], html_parts: list[str]) -> tuple[str, bool]:
    """The text a reader sees, and whether it came from HTML: the plain alternative, or the
    HTML's text when the plain one is empty, a stub ("view this email in a browser") or a
    short notice much shorter than the HTML's text.

    The HTML is converted at most once, and only when the plain text could lose to it. Its
    text is never longer than its markup, so a plain part of 100 words or more, or at least
    a third of the markup's length, is kept without converting anything.
    """
    plain = "\n".join(p for p in plain_parts if p.strip())
    if not html_parts:
        return plain, False
    markup = "\n".join(html_parts)
    if not plain.strip():
        return html_to_text(markup), True
    plain_words = _words(plain)
    stub = is_stub(plain)
    short = plain_words < SHORT_PLAIN_WORDS and len(markup) >= SHORTER_RATIO * len(plain)
    if not (stub or short):
        return plain, False
    converted = html_to_text(markup)
    html_words = _words(converted)
    if stub and html_words > plain_words:
        return converted, True
    if short and html_words >= SHORTER_RATIO * plain_words and html_words - plain_words >= SHORTER_MIN_EXTRA_WORDS:
        return converted, True
    return plain, False


# -- calendar parts -------------------------------------------------------------------------


def _read_calendars(parts: list[Message], result: ParsedMail) -> None:
    """Collect text/calendar parts (inline or attached) as CalendarEvent objects."""
    for part in parts[:10]:
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload.strip():
            continue
        if len(payload) > MAX_CALENDAR_BYTES:
            result.problems.append(f"calendar part of {len(payload)} bytes skipped")
            continue
        method = str(part.get_param("method") or "").upper()
        events, problem = parse_calendar(payload, method_hint=method)
        room = MAX_EVENTS - len(result.events)
        if len(events) > room:
            result.problems.append(f"more than {MAX_EVENTS} calendar events; the rest skipped")
        result.events.extend(events[: max(room, 0)])
        if problem:
            result.problems.append(problem)


def parse_calendar(data: bytes, *, method_hint: str = "") -> tuple[list[CalendarEvent], str | None]:
    """An iCalendar document -> its VEVENTs; a broken one yields ``([], reason)``.

    icalendar meets hostile input here (a 300-character TZID becomes a file name and raises
    OSError), so any exception it raises is a recorded problem, never a crash.
    """
    import icalendar

    _quiet_tzid_guesses()
    try:
        cal = icalendar.Calendar.from_ical(data)
        method = single_line(str(cal.get("METHOD") or method_hint or "PUBLISH")).upper()[:20]
        components = list(cal.walk("VEVENT"))
    except Exception as err:  # noqa: BLE001 - third-party parser on hostile input
        log.info("calendar part unreadable: %s", type(err).__name__)
        return [], f"calendar part unreadable: {type(err).__name__}"
    events = []
    for comp in components[:20]:
        try:
            events.append(_event(comp, method))
        except Exception as err:  # noqa: BLE001 - one broken VEVENT must not hide the others
            log.info("calendar event skipped: %s", type(err).__name__)
    return events, None


def _quiet_tzid_guesses() -> None:
    """Silence icalendar's ``GloballyUniqueTZIDGuessed``.

    Thunderbird and other clients write time zones as globally unique ids
    ("/mozilla.org/20070129_1/America/New_York"); icalendar reads them as the zone after the
    vendor prefix, which is what the prefix means, and warns every time. Unsilenced, each such
    invitation printed a Python warning with a site-packages path over the progress bar.
    Checked at every calendar part, not once: ``warnings.catch_warnings`` anywhere around a call
    (a library's, a test runner's) puts the filters back as they were when it exits.
    """
    guessed = _tzid_guess_warning()
    if guessed is not None and not any(f[0] == "ignore" and f[2] is guessed for f in warnings.filters):
        warnings.filterwarnings("ignore", category=guessed)


@functools.cache
def _tzid_guess_warning() -> type[Warning] | None:
    from icalendar import error

    found = getattr(error, "GloballyUniqueTZIDGuessed", None)
    return found if isinstance(found, type) and issubclass(found, Warning) else None


def _aware(value: Any) -> datetime | date | None:
    """A DTSTART/DTEND value as offerwatch keeps it.

    A date-time is made aware (floating times are taken as UTC); an all-day DATE stays a
    ``date``: it is a day wherever the reader is, and midnight UTC would be the day before
    west of Greenwich.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return value
    return None


def _start_end(comp: Any) -> tuple[datetime | date | None, datetime | date | None]:
    """Start and end through icalendar's ``Event.start``/``Event.end`` (DURATION included).

    An event that breaks RFC 5545 (DTEND and DURATION both, an end before its start) keeps
    what its DTSTART and DTEND say.
    """
    from icalendar.error import IncompleteComponent, InvalidCalendar

    try:
        start: Any = comp.start
    except (IncompleteComponent, InvalidCalendar, ValueError, TypeError, AttributeError):
        start = _prop_dt(comp, "DTSTART")
    try:
        end: Any = comp.end
    except (IncompleteComponent, InvalidCalendar, ValueError, TypeError, AttributeError, OverflowError):
        end = _prop_dt(comp, "DTEND")
    return _aware(start), _aware(end)


def _prop_dt(comp: Any, name: str) -> Any:
    prop = comp.get(name)
    return getattr(prop, "dt", None) if prop is not None else None


def _text_prop(comp: Any, name: str, limit: int, *, lines: bool = False) -> str:
    """A text property (SUMMARY, DESCRIPTION) cut, control characters gone; ``lines`` keeps
    its line breaks (a DESCRIPTION is a small body: its sentences end at them)."""
    value = comp.get(name)
    if value is None:
        return ""
    if isinstance(value, list):  # a repeated property: its first value
        value = value[0] if value else ""
    text = str(value)[: limit * 2]
    if not lines:
        return single_line(text)[:limit]
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(re.sub(r"[ \t]+", " ", ln).strip() for ln in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()[:limit]


def _person(prop: Any) -> Attendee | None:
    """An ORGANIZER/ATTENDEE property: its address, display name (CN), ROLE and PARTSTAT."""
    if prop is None:
        return None
    value = str(prop)[:1000]
    mail = value[7:] if value.lower().startswith("mailto:") else value
    params = getattr(prop, "params", None) or {}

    def param(key: str, limit: int) -> str:
        got = params.get(key, "")
        if isinstance(got, (list, tuple)):  # icalendar splits CN="Fitzgerald, Moira" at the comma
            got = ",".join(str(x) for x in got)
        return single_line(str(got)[: limit * 2])[:limit]

    return Attendee(
        param("CN", 200), single_line(mail).lower()[:320], role=param("ROLE", 40).upper(),
        status=param("PARTSTAT", 40).upper(),
    )


def _event(comp: Any, method: str) -> CalendarEvent:
    attendees = comp.get("ATTENDEE")
    if attendees is None:
        attendees = []
    elif not isinstance(attendees, list):
        attendees = [attendees]
    people = tuple(p for p in (_person(x) for x in attendees[:50]) if p is not None)
    try:  # RFC 5545's INTEGER is 32-bit; a larger one is junk, not a newer revision
        sequence = min(max(int(str(comp.get("SEQUENCE", 0))[:30]), 0), 2**31 - 1)
    except (TypeError, ValueError):
        sequence = 0
    start, end = _start_end(comp)
    return CalendarEvent(
        uid=single_line(str(comp.get("UID", ""))[:600])[:300],
        method=method,
        summary=_text_prop(comp, "SUMMARY", 300),
        start=start,
        end=end,
        organizer=_person(comp.get("ORGANIZER")),
        attendees=people,
        sequence=sequence,
        description=_text_prop(comp, "DESCRIPTION", MAX_DESCRIPTION_CHARS, lines=True),
    )
