"""Business days, holidays, local dates, and the few date phrases the timeline needs.

Everything here works on *local* calendar dates of the mailbox owner: a message sent at
23:30 in Chicago on a Friday is a Friday message, even though it is Saturday in UTC. The
zone is an IANA name (``"America/Chicago"``); ``None`` means the machine's own zone.

Business days are Monday to Friday minus the holidays given. :func:`holidays_from_config`
builds them from calendar codes of the `holidays` package (any country, optionally a region:
``"US"``, ``"DE-BY"``, ``"GB-SCT"``) and explicit dates from the configuration.

Two small text readers live here too, because they are about days, not about signals:

* :func:`interview_times` finds a confirmed interview date/time in a confirmation
  ("When: Monday, July 20, 2026, 11:00 AM - 11:30 AM PDT", "Tuesday 15 September, 15:00 CEST");
* :func:`past_conversation_dates` finds a conversation that already happened
  ("great talking with you this morning", "thank you for yesterday's conversation",
  "loved the session on Thursday");
* :func:`named_date` finds the date a recruiter promised news by ("by the end of next week",
  "the team is meeting on Monday", "the week of the 19th").

They return nothing rather than guess when the text is ambiguous ("last week").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

# -- zones and local dates -------------------------------------------------------------------


def zone(name: str | None) -> tzinfo:
    """The IANA zone ``name``; ``None`` or ``""`` is the machine's local zone.

    Raises ``ValueError`` naming the zone when it is unknown.
    """
    if not name:
        return local_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'America/Chicago'") from err


def local_zone() -> tzinfo:
    """The machine's time zone, DST-aware (``TZ``, ``/etc/localtime``, ``/etc/timezone``, as
    tzlocal reads them), the one place offerwatch asks.

    Not ``datetime.now().astimezone().tzinfo``: that is today's fixed offset, so a timeline
    day in July computed in January was an hour off in every zone with summer time. UTC when
    the machine names no zone tzlocal can read.
    """
    import tzlocal

    try:
        return tzlocal.get_localzone()
    except Exception as err:  # noqa: BLE001 - tzlocal raises its own errors for broken setups
        log.warning("the machine's time zone could not be read (%s); using UTC", err)
        return timezone.utc


def local_date(dt: datetime, tz: tzinfo) -> date:
    """The calendar date of ``dt`` where the owner lives (naive datetimes are taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(tz).date()


def stored_time(value: object) -> datetime | None:
    """A timestamp as the database stores it (ISO 8601; naive means UTC), or None when absent or unreadable.

    >>> stored_time("2026-10-06T14:10:31+00:00").day
    6
    >>> stored_time("not a date") is None
    True
    """
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


# -- holidays --------------------------------------------------------------------------------


def parse_holiday_calendar(code: str) -> tuple[str, str | None]:
    """``"DE-BY"`` -> ``("DE", "BY")``, ``"US"`` -> ``("US", None)``, after checking both parts.

    Codes are ISO 3166-1 countries with an optional ISO 3166-2 subdivision, as the
    `holidays` package knows them (``"GB-SCT"``, ``"CA-QC"``, ``"AU-NSW"``). Raises
    ``ValueError`` with a message a user can act on when the country or subdivision is unknown.

    >>> parse_holiday_calendar("gb-sct")
    ('GB', 'SCT')
    """
    import holidays

    country, _, subdiv = code.strip().upper().partition("-")
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"unknown holiday calendar {code!r}: use a country code such as 'US', 'DE' or 'GB', "
                         "optionally with a region: 'DE-BY', 'GB-SCT'")
    if not subdiv:
        return country, None
    regions = [r for r in supported[country] if r.upper() == subdiv]
    if not regions:
        known = ", ".join(f"{country}-{r}" for r in supported[country] if r.isupper() or r.isdigit())
        raise ValueError(f"unknown holiday calendar {code!r}: {country} has "
                         + (f"the regions {known}" if known else "no regions; use plain " + repr(country)))
    return country, regions[0]


def calendar_holidays(code: str, years: Iterable[int]) -> frozenset[date]:
    """The public holidays (as observed) of one calendar code (see :func:`parse_holiday_calendar`).

    >>> date(2026, 9, 7) in calendar_holidays("US", [2026])   # Labor Day
    True
    >>> date(2020, 6, 19) in calendar_holidays("US", [2020])  # Juneteenth is federal from 2021
    False
    """
    import holidays

    country, subdiv = parse_holiday_calendar(code)
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=list(years)))


def holidays_from_config(names: Iterable[str], extra: Iterable[date | str] = (), years: Iterable[int] = ()) -> frozenset[date]:
    """Build a holiday set from calendar codes (``"US"``, ``"DE-BY"``) plus explicit dates.

    ``years`` defaults to the 30 years before today through next year: a backfill reads old
    mail, and business days in it should skip the holidays of its year too (a set of all of them
    costs a few milliseconds and keeps business-day counting a set lookup). Raises
    ``ValueError`` naming an unknown calendar or an unreadable date.
    """
    today = date.today().year
    ys = list(years) or list(range(today - 30, today + 2))
    out: set[date] = set()
    for name in names:
        out |= calendar_holidays(name, ys)
    for d in extra:
        out.add(d if isinstance(d, date) else parse_holiday_date(d))
    return frozenset(out)


def parse_holiday_date(text: str) -> date:
    """``"2026-12-24"`` -> a date; ``ValueError`` saying what is wrong otherwise ("2026-13-01")."""
    value = str(text).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"holiday {text!r} is not a date: write it as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise ValueError(f"holiday {text!r} is not a date in the calendar ({err})") from None


# -- business days ---------------------------------------------------------------------------


def is_business_day(d: date, holidays: frozenset[date] = frozenset()) -> bool:
    return d.weekday() < 5 and d not in holidays


def business_days_between(start: date, end: date, holidays: frozenset[date] = frozenset()) -> int:
    """Business days ``d`` with ``start < d <= end`` (0 when ``end <= start``).

    Thursday -> Monday is 2 (Friday, Monday); Friday -> Monday is 1; the same day is 0.
    """
    if end <= start:
        return 0
    n = 0
    d = start + timedelta(days=1)
    # Whole weeks first: five business days each, minus the holidays inside them.
    weeks = (end - d).days // 7
    if weeks:
        span_end = d + timedelta(weeks=weeks)
        n += 5 * weeks - sum(1 for h in holidays if d <= h < span_end and h.weekday() < 5)
        d = span_end
    while d <= end:
        if is_business_day(d, holidays):
            n += 1
        d += timedelta(days=1)
    return n


def add_business_days(start: date, n: int, holidays: frozenset[date] = frozenset()) -> date:
    """The date ``n`` business days after ``start`` (``n >= 0``; 0 returns ``start``)."""
    d = start
    left = max(0, n)
    while left:
        d += timedelta(days=1)
        if is_business_day(d, holidays):
            left -= 1
    return d


# -- reading dates in text -------------------------------------------------------------------

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")]
    )
    for m in names
}
_WEEKDAYS = {
    w: i
    for i, names in enumerate(
        [("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"), ("thursday", "thu", "thurs"),
         ("friday", "fri"), ("saturday", "sat"), ("sunday", "sun")]
    )
    for w in names
}
#: Zone abbreviations recruiters write after a time. Ambiguous ones (IST, CST in China) take
#: their most common reading in recruiter mail.
_TZ_ABBR = {
    "pt": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pst": "America/Los_Angeles",
    "mt": "America/Denver", "mdt": "America/Denver", "mst": "America/Denver",
    "ct": "America/Chicago", "cdt": "America/Chicago", "cst": "America/Chicago",
    "et": "America/New_York", "edt": "America/New_York", "est": "America/New_York",
    "cet": "Europe/Berlin", "cest": "Europe/Berlin", "bst": "Europe/London", "gmt": "Europe/London",
    "utc": "UTC", "ist": "Asia/Kolkata", "aest": "Australia/Sydney", "aedt": "Australia/Sydney",
}
_MONTH_RE = r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_WEEKDAY_RE = r"(?P<weekday>mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs(?:day)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?"
# "July 20, 2026" / "Aug 18" / "20 July 2026" / "15 September" / "9/10" (US month/day)
_DATE_MDY = re.compile(r"\b" + _MONTH_RE + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<year>20\d\d))?\b", re.I)
_DATE_DMY = re.compile(r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH_RE + r"(?:,?\s+(?P<year>20\d\d))?\b", re.I)
_DATE_NUM = re.compile(r"(?<![\d/.])(?P<month>1[0-2]|0?[1-9])/(?P<day>3[01]|[12]\d|0?[1-9])(?:/(?P<year>20\d\d))?(?![\d/])")
_TIME = re.compile(
    r"\b(?P<hour>[01]?\d|2[0-3])(?::(?P<minute>[0-5]\d))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?(?=[\s,.;:)–-]|$)"
    r"(?:\s*[-–]\s*\d{1,2}(?::\d\d)?\s*(?P<ampm2>a\.?m\.?|p\.?m\.?)?)?"
    r"(?:\s*\(?(?P<tz>[PMCE][SD]?T|CES?T|BST|GMT|UTC|IST|AE[SD]T)\b)?",
    re.I,
)
_TZ_WORDS = (
    (re.compile(r"\bpacific\b", re.I), "America/Los_Angeles"),
    (re.compile(r"\bmountain\b", re.I), "America/Denver"),
    (re.compile(r"\bcentral time\b|\bamerica/chicago\b", re.I), "America/Chicago"),
    (re.compile(r"\beastern\b", re.I), "America/New_York"),
)


@dataclass(frozen=True)
class FoundTime:
    """A date (and maybe a time) read from text; ``at`` is aware when a time was found."""

    day: date
    at: datetime | None
    text: str


def _year_for(month: int, day: int, ref: date, explicit: str | None) -> date | None:
    """Resolve a date without a year to the occurrence nearest after ``ref`` (or just before it)."""
    try:
        if explicit:
            return date(int(explicit), month, day)
        d = date(ref.year, month, day)
    except ValueError:
        return None
    if d < ref - timedelta(days=60):  # "January 5" written in December
        try:
            d = date(ref.year + 1, month, day)
        except ValueError:
            return None
    return d


def _dates_in(text: str, ref: date) -> list[tuple[int, int, date]]:
    """Every explicit date in ``text`` as (start offset, end offset, date), in text order."""
    found: list[tuple[int, int, date]] = []
    taken: list[tuple[int, int]] = []
    for rx in (_DATE_MDY, _DATE_DMY, _DATE_NUM):
        for m in rx.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            month_s = m.group("month")
            month = int(month_s) if month_s.isdigit() else _MONTHS.get(month_s.lower().rstrip("."))
            if month is None:
                continue
            # "may" is a word far more often than a month: require a digit right after it.
            if month_s.lower() == "may" and rx is _DATE_DMY:
                continue
            d = _year_for(month, int(m.group("day")), ref, m.group("year"))
            if d is not None:
                found.append((m.start(), m.end(), d))
                taken.append((m.start(), m.end()))
    return sorted(found)


def _weekday_on_or_after(ref: date, weekday: int, *, strictly_after: bool = False) -> date:
    delta = (weekday - ref.weekday()) % 7
    if delta == 0 and strictly_after:
        delta = 7
    return ref + timedelta(days=delta)


def _weekday_before(ref: date, weekday: int) -> date:
    delta = (ref.weekday() - weekday) % 7 or 7
    return ref - timedelta(days=delta)


def _time_after(text: str, start: int, day: date, default_tz: tzinfo) -> datetime | None:
    """The first clock time within 80 characters after ``start`` (or just before it)."""
    window = text[start:start + 80]
    for m in _TIME.finditer(window):
        hour, minute = int(m.group("hour")), int(m.group("minute") or 0)
        ampm = (m.group("ampm") or m.group("ampm2") or "").lower()
        if not ampm and m.group("minute") is None:
            continue  # a bare number is not a time
        if ampm.startswith("p") and hour < 12:
            hour += 12
        elif ampm.startswith("a") and hour == 12:
            hour = 0
        tz: tzinfo = default_tz
        abbr = (m.group("tz") or "").lower()
        if abbr in _TZ_ABBR:
            tz = ZoneInfo(_TZ_ABBR[abbr])
        else:
            for rx, name in _TZ_WORDS:
                if rx.search(text[start:start + 160]):
                    tz = ZoneInfo(name)
                    break
        return datetime.combine(day, time(hour, minute), tz)
    return None


def interview_times(text: str, sent: datetime, default_tz: tzinfo) -> list[FoundTime]:
    """Explicit interview dates (with times when written) in a confirmation's text.

    Only dates on or after the day the message was sent count: a confirmation names a future
    slot. Dates are resolved against the send date when the year is missing.

    >>> from zoneinfo import ZoneInfo
    >>> t = interview_times("When: Monday, July 20, 2026, 11:00 AM - 11:30 AM PDT",
    ...                     datetime(2026, 7, 17, 16, tzinfo=timezone.utc), ZoneInfo("UTC"))
    >>> t[0].at.isoformat()
    '2026-07-20T11:00:00-07:00'
    """
    ref = local_date(sent, default_tz)
    out: list[FoundTime] = []
    for start, end, d in _dates_in(text, ref):
        if d < ref or d > ref + timedelta(days=120):
            continue
        at = _time_after(text, end, d, default_tz)
        if at is None:
            # "12:00pm - 12:30pm, Thursday, July 30": the time can come first.
            before = max(0, start - 60)
            at = _time_after(text, before, d, default_tz) if _TIME.search(text[before:start]) else None
        out.append(FoundTime(d, at, text[start:end]))
    # "this Thursday" / "on Thursday at 2 PM" without a date.
    if not out:
        for m in re.finditer(r"\b(?:this|next|on)\s+" + _WEEKDAY_RE + r"\b", text, re.I):
            wd = _WEEKDAYS[m.group("weekday").lower().rstrip(".")]
            d = _weekday_on_or_after(ref, wd, strictly_after=True)
            if m.group(0).lower().startswith("next"):
                d = _weekday_on_or_after(ref + timedelta(days=7 - ref.weekday()), wd)
            at = _time_after(text, m.end(), d, default_tz)
            if at is not None:
                out.append(FoundTime(d, at, m.group(0)))
    return out


_CONVERSATION = r"(?:conversation|chat|call|interview|session|meeting|panel|talk|screen|round|discussion|visit|demo)"
_PAST_TRIGGER = re.compile(
    r"\b(?:thanks?|thank\s+you|enjoyed|loved|appreciated|wrapped\s+up|after|since|following)\b",
    re.I,
)
_PAST_TALK = re.compile(
    r"\b(?:great|nice|good|lovely|wonderful)\s+(?:talking|speaking|chatting|meeting|to\s+(?:talk|speak|meet|chat))\b", re.I
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def past_conversation_dates(text: str, sent: datetime, default_tz: tzinfo) -> list[FoundTime]:
    """Days on which the text says a conversation with them already took place.

    "Great talking with you this morning" / "today's panel" -> the send date; "yesterday's
    conversation" -> the day before; "the session on Thursday" / "Tuesday's technical round"
    -> the last such weekday before the send date; "thank you for a great first conversation"
    (a thank-you with no day) -> the send date, since thank-you notes follow the conversation
    the same day. Vague references ("last week", "so far") give nothing.
    """
    ref = local_date(sent, default_tz)
    out: list[FoundTime] = []
    for sm in _SENTENCE.finditer(text):
        s = sm.group(0)
        low = s.lower()
        talked = bool(_PAST_TALK.search(low))
        if not talked and (not re.search(r"\b" + _CONVERSATION + r"s?\b", low) or not _PAST_TRIGGER.search(low)):
            continue
        if re.search(r"\b(?:will|would|could|can|let's|shall|looking\s+forward|look\s+forward|happy\s+to|glad\s+to|invite|schedule|next\s+step|reaching\s+out)\b", low):
            continue  # a future or proposed conversation, not a past one
        if re.search(r"\blast\s+week\b|\bso\s+far\b|\bearlier\s+this\s+(?:week|month)\b|\bon\s+our\s+first\s+call\b|\bfirst\s+call\b", low):
            continue
        d: date | None = None
        if re.search(r"\b(?:this\s+(?:morning|afternoon)|earlier\s+today|today'?s?|just\s+now)\b", low):
            d = ref
        elif re.search(r"\byesterday'?s?\b", low):
            d = ref - timedelta(days=1)
        else:
            m = re.search(r"\b(?P<last>last\s+)?(?:on\s+)?" + _WEEKDAY_RE + r"(?:'s)?\b", s, re.I)
            if m:
                wd = _WEEKDAYS[m.group("weekday").lower().rstrip(".")]
                d = _weekday_before(ref, wd)
                if m.group("last") and d >= ref - timedelta(days=ref.weekday()):
                    d -= timedelta(days=7)  # "last Tuesday" said on a Wednesday: the week before
            elif (talked or re.match(r"\s*(?:thanks?|thank\s+you)\b", low)) and not _dates_in(s, ref):
                d = ref
        if d is not None and d <= ref:
            out.append(FoundTime(d, None, s.strip()))
    return out


def _end_of_week(d: date) -> date:
    return d + timedelta(days=(4 - d.weekday()) % 7) if d.weekday() <= 4 else d


def named_date(text: str, sent: datetime, default_tz: tzinfo) -> FoundTime | None:
    """The latest date the sender promises news by, or None.

    Handles "by Wednesday", "on Friday", "by the end of (this|next) week", "early next week",
    "next week", "the week of the 19th", "until the 19th", "by October 15", "in two weeks",
    "meeting on Monday ... right after that". Only dates after the send date count.
    """
    ref = local_date(sent, default_tz)
    low = text.lower()
    found: list[tuple[date, str]] = []
    next_monday = ref + timedelta(days=7 - ref.weekday())
    for m in re.finditer(r"\b(?:by\s+)?(?:the\s+)?end\s+of\s+(this|next)\s+week\b", low):
        found.append((_end_of_week(ref if m.group(1) == "this" else next_monday), m.group(0)))
    for m in re.finditer(r"\bearly\s+next\s+week\b", low):
        found.append((next_monday + timedelta(days=1), m.group(0)))
    for m in re.finditer(r"\b(?<!early\s)(?<!of\s)next\s+week\b", low):
        found.append((next_monday + timedelta(days=4), m.group(0)))
    for m in re.finditer(r"\bin\s+(a|one|two|2|a\s+couple\s+of|a\s+few|three|3)\s+weeks?\b", low):
        n = {"a": 1, "one": 1, "two": 2, "2": 2, "three": 3, "3": 3}.get(m.group(1), 2)
        found.append((ref + timedelta(weeks=n), m.group(0)))
    for m in re.finditer(r"\b(?:by|on|until|before|after|the\s+week\s+of)\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b", low):
        day = int(m.group(1))
        d = None
        for k in range(3):
            month = (ref.month - 1 + k) % 12 + 1
            year = ref.year + (ref.month - 1 + k) // 12
            try:
                cand = date(year, month, day)
            except ValueError:
                continue
            if cand > ref:
                d = cand
                break
        if d:
            if "week of" in m.group(0):
                d = _end_of_week(d)
            found.append((d, m.group(0)))
    for m in re.finditer(r"\b(by|on|until|before|after|the\s+week\s+of|back\s+on|out\s+until)\s+(?:next\s+)?(?:the\s+)?" + _MONTH_RE + r"\s+\d", low):
        for _start, _end, d in _dates_in(low[m.start():m.end() + 8], ref):
            if d > ref:
                if "week of" in m.group(0):
                    d = _end_of_week(d)
                found.append((d, m.group(0)))
            break
    for m in re.finditer(r"\b(by|on|until|before|after|meeting\s+on|meets\s+on|back\s+on)\s+(next\s+)?" + _WEEKDAY_RE + r"(?:'s)?\b", low):
        wd = _WEEKDAYS[m.group("weekday").rstrip(".")]
        d = _weekday_on_or_after(ref, wd, strictly_after=True)
        if m.group(2):
            d = _weekday_on_or_after(next_monday, wd)
        found.append((d, m.group(0)))
    for m in re.finditer(r"\btomorrow\b", low):
        found.append((ref + timedelta(days=1), m.group(0)))
    found = [(d, t) for d, t in found if ref < d <= ref + timedelta(days=120)]
    if not found:
        return None
    d, t = max(found)
    return FoundTime(d, None, t)
