"""Raw bytes -> a parsed mail: headers, readable text, attachments' metadata, calendar events.

mail-parser does the MIME work; this module adds what offerwatch needs on top of it and
makes every failure a recorded *problem* instead of an exception: a daemon reading a real
inbox meets malformed MIME, unknown charsets, 5,000-deep multiparts and header injection,
and must never stop on them.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

from offerwatch.extractors.htmltext import html_to_text
from offerwatch.models.domain import Address, CalendarEvent

log = logging.getLogger(__name__)

#: Bytes handed to the MIME parser at most. Sources cap bodies already; this is the last
#: line of defence for files and stdin, so a 30 MB attachment is never decoded.
MAX_PARSE_BYTES = 2 * 1024 * 1024
#: A calendar part larger than this is not an interview invite.
MAX_CALENDAR_BYTES = 256 * 1024

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_MSGID = re.compile(r"<[^<>\s]+>")


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
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", value)).strip()


def decode_mime_header(value: Any) -> str:
    """Decode RFC 2047 words leniently; unknown charsets degrade to replacement characters."""
    if value is None:
        return ""
    text = str(value)
    try:
        return single_line(str(make_header(decode_header(text))))
    except (LookupError, UnicodeError, ValueError, TypeError, AssertionError):
        parts = []
        try:
            for chunk, charset in decode_header(text):
                if isinstance(chunk, bytes):
                    parts.append(chunk.decode("utf-8", "replace"))
                else:
                    parts.append(chunk)
        except (ValueError, TypeError, AssertionError):
            return single_line(text)
        return single_line("".join(parts))


def parse_addresses(value: str) -> tuple[Address, ...]:
    """``"A <a@x>, b@y"`` -> Address tuples, lower-cased e-mail, decoded display names."""
    if not value:
        return ()
    out = []
    for name, addr in email.utils.getaddresses([value]):
        addr = single_line(addr).lower()
        if "@" not in addr:
            continue
        out.append(Address(decode_mime_header(name), addr))
    return tuple(out)


def parse_date(value: str) -> datetime | None:
    """RFC 2822 date -> aware datetime (naive dates are taken as UTC); None when absent."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
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
    import mailparser  # lazy: only commands that read mail pay for it
    from mailparser.exceptions import MailParserError, MailParserRecursionError

    result = ParsedMail(content_hash=hashlib.sha256(raw).hexdigest())
    if not raw.strip():
        result.parse_failed = True
        result.problems.append("empty message")
        return result
    if len(raw) > max_bytes:
        result.problems.append(
            f"message of {len(raw)} bytes cut to {max_bytes} before parsing; later parts skipped"
        )
        log.info("message of %d bytes cut to %d bytes before parsing", len(raw), max_bytes)
        raw = raw[:max_bytes]
    try:
        mp = mailparser.parse_from_bytes(raw)
    except (RecursionError, MailParserRecursionError):
        return _failed(result, "MIME structure nested too deeply to parse")
    except MailParserError as err:
        return _failed(result, f"unparseable MIME: {err}")
    except (ValueError, TypeError, LookupError, AttributeError, IndexError, AssertionError) as err:
        # The stdlib email package raises these on some hostile structures.
        return _failed(result, f"unparseable MIME: {type(err).__name__}: {err}")

    message: Message | None = mp.message
    if message is None or (len(message.keys()) == 0 and not message.get_payload()):
        return _failed(result, "not a MIME message")
    _read_headers(message, result)
    try:
        _read_body(mp, message, result)
    except RecursionError:
        return _failed(result, "MIME structure nested too deeply to parse")
    except (ValueError, TypeError, LookupError, AttributeError, IndexError, AssertionError) as err:
        result.problems.append(f"body unreadable: {type(err).__name__}: {err}")
        log.info("message %s: body unreadable: %s", result.message_id or "(no id)", err)
    if len(message.keys()) == 0:
        result.problems.append("no headers: not an RFC 5322 message")
    if result.date is None:
        result.problems.append("no usable Date header")
    return result


def _failed(result: ParsedMail, why: str) -> ParsedMail:
    result.parse_failed = True
    result.problems.append(why)
    log.info("message recorded as unparseable: %s", why)
    return result


def _raw_header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, AttributeError):
        return ""
    return "" if value is None else str(value)


_KEPT_HEADERS = (
    "list-unsubscribe", "list-id", "precedence", "auto-submitted", "x-mailer", "reply-to",
    "x-gm-thrid", "x-auto-response-suppress", "feedback-id", "x-campaign", "x-mailgun-tag",
    "x-sg-eid", "x-ms-exchange-generated-message-source", "sender", "return-path",
    "delivered-to", "x-original-to", "thread-topic", "x-autoreply", "x-autorespond",
)


def _read_headers(message: Message, result: ParsedMail) -> None:
    headers: dict[str, str] = {}
    for name in _KEPT_HEADERS:
        value = _raw_header(message, name)
        if value:
            headers[name] = decode_mime_header(value)[:2000]
    result.subject = decode_mime_header(_raw_header(message, "subject"))[:1000]
    headers["subject"] = result.subject
    froms = parse_addresses(decode_raw_addresses(_raw_header(message, "from")))
    result.sender = froms[0] if froms else None
    result.to = parse_addresses(decode_raw_addresses(_raw_header(message, "to")))
    result.cc = parse_addresses(decode_raw_addresses(_raw_header(message, "cc")))
    result.date = parse_date(_raw_header(message, "date"))
    ids = _message_ids(_raw_header(message, "message-id"))
    result.message_id = ids[0] if ids else ""
    irt = _message_ids(_raw_header(message, "in-reply-to"))
    result.in_reply_to = irt[0] if irt else None
    result.references = _message_ids(_raw_header(message, "references"))[:100]
    result.headers = headers


def decode_raw_addresses(value: str) -> str:
    """Keep the raw address header (encoded words decode per name in parse_addresses)."""
    return single_line(value)


def _read_body(mp: Any, message: Message, result: ParsedMail) -> None:
    plain = [t for t in (mp.text_plain or []) if isinstance(t, str)]
    html = [t for t in (mp.text_html or []) if isinstance(t, str)]
    text = "\n".join(p for p in plain if p.strip())
    if not text.strip() and html:
        text = html_to_text("\n".join(html))
        result.from_html = True
    if not text.strip() and not message.is_multipart():
        payload = message.get_payload(decode=True)
        if isinstance(payload, bytes) and message.get_content_maintype() == "text":
            text = payload.decode(message.get_content_charset() or "utf-8", "replace")
    if mp.defects_categories and "CharsetDecodeDefect" in mp.defects_categories:
        result.problems.append("a text part had an unknown or wrong charset; decoded leniently")
    result.text = text.replace("\r\n", "\n").replace("\r", "\n")
    for att in mp.attachments or []:
        result.attachments.append(
            {
                "filename": single_line(str(att.get("filename") or ""))[:200],
                "content_type": single_line(str(att.get("mail_content_type") or ""))[:100],
                "size": len(att.get("payload") or ""),
            }
        )
    _read_calendar(message, result)


def _read_calendar(message: Message, result: ParsedMail) -> None:
    """Collect text/calendar parts (inline or attached) as CalendarEvent objects."""
    for part in message.walk():
        if part.get_content_type() not in ("text/calendar", "application/ics"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload.strip():
            continue
        if len(payload) > MAX_CALENDAR_BYTES:
            result.problems.append(f"calendar part of {len(payload)} bytes skipped")
            continue
        method = str(part.get_param("method") or "").upper()
        events, problem = parse_calendar(payload, method_hint=method)
        result.events.extend(events)
        if problem:
            result.problems.append(problem)


def parse_calendar(data: bytes, *, method_hint: str = "") -> tuple[list[CalendarEvent], str | None]:
    """An iCalendar document -> its VEVENTs; a broken one yields ``([], reason)``."""
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(data)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError) as err:
        return [], f"calendar part unreadable: {type(err).__name__}"
    method = str(cal.get("METHOD") or method_hint or "PUBLISH").upper()
    events = []
    try:
        components = list(cal.walk("VEVENT"))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
        return [], f"calendar part unreadable: {type(err).__name__}"
    for comp in components[:20]:
        try:
            events.append(_event(comp, method))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
            log.info("calendar event skipped: %s", type(err).__name__)
    return events, None


def _ical_time(value: Any) -> datetime | None:
    if value is None:
        return None
    dt = getattr(value, "dt", value)
    if isinstance(dt, datetime):
        return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    try:  # an all-day date
        return datetime(dt.year, dt.month, dt.day, tzinfo=timezone.utc)
    except AttributeError:
        return None


def _ical_address(prop: Any) -> Address | None:
    if prop is None:
        return None
    value = str(prop)
    mail = value[7:] if value.lower().startswith("mailto:") else value
    name = ""
    params = getattr(prop, "params", None)
    if params is not None:
        name = single_line(str(params.get("CN", "")))
    return Address(name, single_line(mail).lower())


def _event(comp: Any, method: str) -> CalendarEvent:
    attendees = comp.get("ATTENDEE")
    if attendees is None:
        attendees = []
    elif not isinstance(attendees, list):
        attendees = [attendees]
    people = tuple(a for a in (_ical_address(x) for x in attendees[:50]) if a is not None)
    try:
        sequence = int(comp.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        sequence = 0
    return CalendarEvent(
        uid=single_line(str(comp.get("UID", "")))[:300],
        method=method,
        summary=single_line(str(comp.get("SUMMARY", "")))[:300],
        start=_ical_time(comp.get("DTSTART")),
        end=_ical_time(comp.get("DTEND")),
        organizer=_ical_address(comp.get("ORGANIZER")),
        attendees=people,
        sequence=sequence,
    )
