"""The date by which an offer must be answered, read from the offer mail.

Why a module of its own: the deadline is about the calendar, not about what kind of mail this
is, so it stays out of detection (nlp/signals/patterns). It reads the few ways recruiters write
a reply-by date and resolves them against the day the mail was sent, in the owner's zone:

* "let us know by Friday 20 Nov", "please respond by November 20, 2026", "by 2026-11-20";
* "the offer is valid until 20 November", "offer expires on 2026-11-20", "deadline: Nov 20";
* "by Friday" / "by end of day Friday" (the first such weekday after the send date);
* "within 5 business days" / "within 3 working days" / "within a week" / "within 48 hours".

A phrase counts only in a clause that asks for an answer (respond, reply, let us know,
accept, sign, decision, deadline, expires, valid...), so "your start date is 4 January" is not
a deadline, and not in one where the company promises to send something ("the letter will be
released within two working days"). Plain-text mail wrapped at 72 columns is unwrapped first. Nothing is guessed: no phrase, no deadline (``None``). Only dates on or after the
send date and within 120 days of it count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from offerwatch.models.calendar_days import add_business_days, local_date

_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
           "nov": 11, "dec": 12}
_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_MONTH = r"(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_WEEKDAY = r"(?P<weekday>mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>20\d\d))?"
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10,
            "fourteen": 14}

#: What introduces a deadline date.
_LEAD = (r"(?:by|before|no\s+later\s+than|until|till|on\s+or\s+before|deadline(?:\s+is|:)?|expires?(?:\s+on)?|"
         r"valid\s+(?:until|through|till)|open\s+until)\s+(?:(?:the\s+)?end\s+of\s+(?:the\s+)?(?:business\s+)?day\s+(?:on\s+)?|"
         r"(?:close\s+of\s+business|cob|eod)\s+(?:on\s+)?)?")
_PHRASES = [
    ("iso", re.compile(r"\b" + _LEAD + r"(?:" + _WEEKDAY + r"\s+)?(?P<iso>20\d\d-\d\d-\d\d)\b", re.I)),
    ("dmy", re.compile(r"\b" + _LEAD + r"(?:" + _WEEKDAY + r"\s+)?(?:the\s+)?" + _DAY + r"\s+(?:of\s+)?" + _MONTH + _YEAR + r"\b", re.I)),
    ("mdy", re.compile(r"\b" + _LEAD + r"(?:" + _WEEKDAY + r"\s+)?" + _MONTH + r"\s+" + _DAY + _YEAR + r"\b", re.I)),
    ("weekday", re.compile(r"\b" + _LEAD + r"(?P<next>next\s+|this\s+)?" + r"(?P<weekday>mon|tue|wed|thu|fri|sat|sun)[a-z]*\b", re.I)),
    ("within", re.compile(r"\bwithin\s+(?:the\s+next\s+)?(?P<n>\d{1,3}|" + "|".join(_NUMBERS) + r")\s+"
                          r"(?P<unit>business\s+days?|working\s+days?|days?|weeks?|hours?)\b", re.I)),
]
#: A sentence that asks for an answer to the offer.
_ASK = re.compile(r"\b(?:respon[ds]|reply|let\s+(?:us|me)\s+know|get\s+back|hear\s+(?:back\s+)?from\s+you|accept|"
                  r"sign|decision|decide|deadline|expire|valid|confirm|countersign|return)", re.I)
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]|\n|$)")
#: A line break inside a paragraph (plain-text mail is wrapped at ~72 columns), not before a list item.
_SOFT_BREAK = re.compile(r"(?<!\n)[ \t]*\n(?![ \t]*(?:\n|[-*\u2022]|\d+[.)]\s))[ \t]*")
#: A clause where the company promises to send something within a time: not a reply-by day
#: ("the offer letter will be released within two working days; kindly accept it online").
_PROMISE = re.compile(r"\b(?:will|'ll|shall)\s+(?:be\s+)?(?:sen[dt]|releas|issu|com(?:e|ing)|follow|arriv|receiv|reach|get\b|hear\b)",
                      re.I)


@dataclass(frozen=True)
class Deadline:
    """A reply-by day and the words it was read from."""

    day: date
    evidence: str


def _calendar(m: re.Match[str], kind: str, ref: date) -> date | None:
    if kind == "iso":
        try:
            return date.fromisoformat(m.group("iso"))
        except ValueError:
            return None
    month = _MONTHS[m.group("month").lower()[:3]]
    day = int(m.group("day"))
    try:
        if m.group("year"):
            return date(int(m.group("year")), month, day)
        d = date(ref.year, month, day)
        # "20 Jan" written in November is next year's
        return d if d >= ref - timedelta(days=7) else date(ref.year + 1, month, day)
    except ValueError:
        return None


def _resolve(m: re.Match[str], kind: str, ref: date, holidays: frozenset[date]) -> date | None:
    if kind in ("iso", "dmy", "mdy"):
        return _calendar(m, kind, ref)
    if kind == "weekday":
        wd = _WEEKDAYS[m.group("weekday").lower()[:3]]
        delta = (wd - ref.weekday()) % 7 or 7  # "by Friday" sent on a Friday is next Friday
        if (m.group("next") or "").strip().lower() == "next" and delta < 7 and ref.weekday() < wd:
            delta += 7
        return ref + timedelta(days=delta)
    n_s = m.group("n").lower()
    n = int(n_s) if n_s.isdigit() else _NUMBERS[n_s]
    unit = m.group("unit").lower()
    if unit.startswith("hour"):
        return ref + timedelta(days=-(-n // 24))  # "within 48 hours": the second day after
    if unit.startswith(("business", "working")):
        return add_business_days(ref, n, holidays)
    return ref + timedelta(days=7 * n if unit.startswith("week") else n)


def read_deadline(text: str, sent: datetime, tz: tzinfo, holidays: frozenset[date] = frozenset()) -> Deadline | None:
    """The reply-by day an offer mail names, or ``None`` when it names none.

    ``sent`` is the mail's date; days are local to ``tz`` (the owner's zone). With several
    candidates the earliest wins: missing the first date is the costly mistake.
    """
    ref = local_date(sent, tz)
    found: list[Deadline] = []
    for s in _SENTENCE.finditer(_SOFT_BREAK.sub(" ", text or "")):
        sentence = s.group(0)
        for clause in sentence.split(";"):
            if not _ASK.search(clause) or _PROMISE.search(clause):
                continue
            taken: list[tuple[int, int]] = []
            for kind, rx in _PHRASES:
                for m in rx.finditer(clause):
                    if any(a < m.end() and m.start() < b for a, b in taken):
                        continue
                    d = _resolve(m, kind, ref, holidays)
                    if d is None or not ref <= d <= ref + timedelta(days=120):
                        continue
                    taken.append((m.start(), m.end()))
                    found.append(Deadline(d, " ".join(sentence.split())[:200]))
    return min(found, key=lambda x: x.day) if found else None
