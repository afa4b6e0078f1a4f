"""Dates as a person reads them: one style, one time zone (the digest's), everywhere.

Why one module: the digest said "Tue 6 Oct", ``offerwatch apps`` said "Tue 2026-10-06 14:05"
in the machine's zone and ``offerwatch signals`` the UTC day, so a message written at 23:59 in
Chicago showed as "Sat 00:59" beside "Fri". Every human view now formats through
:class:`HumanDates`, built with the digest's zone (``[digest] timezone``, else the system's):

>>> from zoneinfo import ZoneInfo
>>> hd = HumanDates(ZoneInfo("America/Chicago"), today=date(2026, 12, 5))
>>> late = datetime(2026, 12, 5, 5, 59, tzinfo=timezone.utc)   # Fri 23:59 in Chicago
>>> hd.day(late), hd.day_time(late)
('Fri 4 Dec', 'Fri 4 Dec 23:59')
>>> hd.day(date(2025, 10, 6))                                    # the year only when it is not this one
'Mon 6 Oct 2025'

Text that offerwatch writes into the database (a derived signal's evidence, a stage reason)
holds no rendering of a date: it holds a *token*, ``⟦2026-10-15⟧`` for a calendar day or
``⟦2026-11-18T17:12:00Z⟧`` for an instant (UTC), made by :func:`token`. A person's view
renders the tokens with :meth:`HumanDates.text`; JSON output with :func:`iso_text`, which
leaves plain ISO 8601 (an instant with its offset). So what is stored does not change when
the zone or the year does, and a view never shows another zone's day:

>>> stored = f"7 business days passed on {token(date(2026, 10, 15))}."
>>> stored
'7 business days passed on ⟦2026-10-15⟧.'
>>> hd.text(stored), iso_text(stored)
('7 business days passed on Thu 15 Oct.', '7 business days passed on 2026-10-15.')
>>> hd.text(f"asked on {token(late)}"), iso_text(f"asked on {token(late)}")
('asked on Fri 4 Dec 23:59', 'asked on 2026-12-05T05:59:00+00:00')

Names are English and fixed (not the locale's), as the digest has always written them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: A date token in stored text: a day, or an instant in UTC (an offset is read too).
TOKEN = re.compile(r"⟦(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2})?)(Z|[+-]\d{2}:?\d{2})?)?⟧")
#: What is left of a token cut by a length limit (an outlook explanation keeps 160 characters)
#: or by a search snippet's window, once the whole tokens are rendered.
_CUT = re.compile(r"⟦[^\s⟦⟧]{0,30}|[^\s⟦⟧]{0,30}⟧")


def day_text(d: date, today: date | None = None) -> str:
    """``Tue 6 Oct`` for a calendar day; ``Mon 6 Oct 2025`` when ``today`` is in another year.

    >>> day_text(date(2026, 10, 6)), day_text(date(2026, 10, 6), today=date(2027, 1, 2))
    ('Tue 6 Oct', 'Tue 6 Oct 2026')
    """
    year = "" if today is None or d.year == today.year else f" {d.year}"
    return f"{DAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]}{year}"


def token(value: date | datetime) -> str:
    """The stored form of a day (``⟦2026-10-15⟧``) or an instant (``⟦2026-11-18T17:12:00Z⟧``).

    A naive datetime is taken as UTC, as everywhere in the store.
    """
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return f"⟦{aware.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%S}Z⟧"
    return f"⟦{value.isoformat()}⟧"


def _parse_token(m: re.Match[str]) -> date | datetime | None:
    day, clock, offset = m.group(1), m.group(2), m.group(3)
    try:
        if clock is None:
            return date.fromisoformat(day)
        parsed = datetime.fromisoformat(f"{day}T{clock}{'+00:00' if offset in (None, 'Z') else offset}")
    except ValueError:
        return None
    return parsed


def iso_text(text: str) -> str:
    """Stored text for JSON and CSV: every token becomes plain ISO 8601 (instants with ``+00:00``)."""
    if not text or ("⟦" not in text and "⟧" not in text):
        return text

    def iso(m: re.Match[str]) -> str:
        v = _parse_token(m)
        if v is None:
            return m.group(0)
        return v.isoformat(timespec="seconds") if isinstance(v, datetime) else v.isoformat()

    return _CUT.sub("…", TOKEN.sub(iso, text))


def system_zone() -> tzinfo:
    """The machine's zone (see :func:`offerwatch.models.calendar_days.local_zone`)."""
    from offerwatch.models.calendar_days import local_zone

    return local_zone()


@dataclass(frozen=True)
class HumanDates:
    """Formats dates for people in one zone; ``today`` (in that zone) decides when a year is shown.

    ``today`` defaults to the wall clock; the digest passes its own day, so a digest built
    for a past day (a test, ``offerwatch demo``) reads the same whenever it is built.
    """

    tz: tzinfo
    today: date = field(default=None)  # type: ignore[assignment]  # set in __post_init__

    def __post_init__(self) -> None:
        if self.today is None:
            object.__setattr__(self, "today", datetime.now(self.tz).date())

    def local(self, value: datetime) -> datetime:
        """``value`` in this zone (a naive one is UTC)."""
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(self.tz)

    def _day(self, d: date) -> str:
        return day_text(d, self.today)

    def day(self, value: date | datetime | str | None, missing: str = "—") -> str:
        """``Tue 6 Oct`` (``Tue 6 Oct 2025`` in another year); an instant is placed in this zone first.

        A string is read as ISO 8601 (what the store holds); one that is not is shown as it is.
        """
        v = _coerce(value)
        if v is None:
            return missing if value in (None, "") else str(value)
        return self._day(self.local(v).date() if isinstance(v, datetime) else v)

    def day_time(self, value: date | datetime | str | None, missing: str = "—") -> str:
        """``Tue 6 Oct 14:05`` in this zone; a plain day (no time known) is shown as :meth:`day`."""
        v = _coerce(value)
        if v is None:
            return missing if value in (None, "") else str(value)
        if not isinstance(v, datetime):
            return self._day(v)
        loc = self.local(v)
        return f"{self._day(loc.date())} {loc:%H:%M}"

    def text(self, text: str | None) -> str:
        """Stored text with its date tokens rendered: days as :meth:`day`, instants as :meth:`day_time`."""
        if not text or ("⟦" not in text and "⟧" not in text):
            return text or ""

        def human(m: re.Match[str]) -> str:
            v = _parse_token(m)
            if v is None:
                return m.group(0)
            return self.day_time(v) if isinstance(v, datetime) else self._day(v)

        return _CUT.sub("…", TOKEN.sub(human, text))


def _coerce(value: date | datetime | str | None) -> date | datetime | None:
    if value is None or isinstance(value, (date, datetime)):
        return value
    s = str(value).strip()
    if not s:
        return None
    try:
        if len(s) == 10:
            return date.fromisoformat(s)
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
