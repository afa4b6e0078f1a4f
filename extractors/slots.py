"""A fixed slot: one date and a clock time the employer has set for a meeting.

Recruiters rarely write "your interview is confirmed"; they write the slot: "Wednesday 18
February at 8.30am", "Date: Tuesday 10 February 2026 / Time: 09:00", "on 28-Jan-2026, 3:00 PM".
A sentence (or a "Date: / Time:" block, which the pipeline keeps as one sentence) that names a
day and a clock time is a slot, unless it offers a choice of days ("Tuesday or Thursday at 10"),
sets a deadline ("reply by Friday 5pm"), tells the past ("thanks for coming in on Tuesday"),
or is about the first working day, a test or paperwork rather than a meeting.

Pure ``re``; the signal is decided in :mod:`offerwatch.extractors.signals`.

>>> bool(find_slot("Confirmed: Wednesday 1/28 at 4:00pm with Laura at Halberd."))
True
>>> find_slot("Would Tuesday 17th at 5.30pm or Wednesday 18th at 8.30am suit you?") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?"
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY_NUM = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
#: A calendar date: "18 February", "Feb 11", "4th February 2026", "1/28", "28-Jan-2026", "2026-02-11", "19.03.".
_DATE = re.compile(
    # (not a room, floor or unit number: "Room 2.07", "Suite 3/12")
    r"(?<!room )(?<!rm )(?<!rm. )(?<!suite )(?<!level )(?<!floor )(?<!unit )(?<!office )(?<!gate )(?<!no. )"
    rf"(?<![\w/.-])(?:{_DAY_NUM}(?:\s+of)?[\s-]+{_MONTH}(?:[\s,-]+20\d\d)?"
    rf"|{_MONTH}\s+{_DAY_NUM}(?:,?\s+20\d\d)?"
    rf"|(?:0?[1-9]|1[0-2])/(?:[12]\d|3[01]|0?[1-9])(?:/(?:20)?\d\d)?"
    rf"|(?:[12]\d|3[01]|0?[1-9])\.(?:1[0-2]|0?[1-9])\.(?:20\d\d)?"
    rf"|20\d\d-[01]\d-[0-3]\d)(?![\w/])",
    re.I,
)
#: A weekday with its day of the month: "Tue 17th", "Wednesday 18".
_WEEKDAY_DAY = re.compile(rf"\b{_WEEKDAY},?\s+{_DAY_NUM}(?![\w:./])", re.I)
_WEEKDAY_RE = re.compile(rf"\b{_WEEKDAY}(?![\w])|\b(?:tomorrow|today)\b", re.I)
#: Several days of one month offered: "5, 6 or 7 May", "26 or 28 May", "May 5 or 6".
_DAY_LIST = re.compile(
    rf"(?<![\w/.-]){_DAY_NUM}(?:\s*,\s*{_DAY_NUM})*\s*(?:,|or|and|/|&)\s*{_DAY_NUM}(?:\s+of)?[\s-]+{_MONTH}(?![\w])"
    rf"|\b{_MONTH}\s+{_DAY_NUM}(?:\s*,\s*{_DAY_NUM})*\s*(?:,|or|and|/|&)\s*{_DAY_NUM}(?![\w:./])",
    re.I,
)
#: A clock time: "4:00pm", "2pm", "13:15", "10:00 a.m.", "8.30am", "14h", "15 Uhr", "noon".
_CLOCK = re.compile(
    r"(?<![\w.:/-])(?:(?:[01]?\d|2[0-3]):[0-5]\d\s*(?:[ap]\.?m\.?(?![\w])|h\b|uhr\b|hrs\b)?"
    r"|(?:[01]?\d|2[0-3])\.[0-5]\d\s*(?:[ap]\.?m\.?(?![\w])|h\b|uhr\b|hrs\b)"
    r"|(?:1[0-2]|0?[1-9])\s*[ap]\.?m\.?(?![\w])"
    r"|(?:[01]?\d|2[0-3])\s*(?:h|uhr)\b|noon\b|midday\b"
    r"|(?<=\bat )(?:1[0-2]|0?[1-9])(?![\w:.,/-]|\s*(?:%|percent|per|people|minutes|mins|hours|days|weeks|years)))",
    re.I,
)
#: The time is a deadline, a past event, the first working day, a test or paperwork: words
#: (looked up in a set) and phrases (substrings of the lower-cased sentence), then the few
#: patterns that need a regex. Kept apart because one big alternation was the slowest part.
_NOT_A_MEETING_WORDS = frozenset(
    "if before until till complete alternatively alternative either cancel canceled cancelled cancellation suit "
    "suits suitable convenient won't cannot can't unable deadline closes expire expires due commence induction "
    "onboarding orientation enjoyed yesterday went aptitude psychometric exam medical webinar shift rota roster "
    "payroll submitted applied".split()
)
_NOT_A_MEETING_PHRASES = (
    "could offer", "can offer", "could also offer", "can also offer", "works for", "work for", "will not",
    "not able", "no later than", "closing date", "at the latest", "sign and return", "signed and return",
    "start date", "first day", "starting date", "report to", "your start", "you start", "thank you for coming",
    "thanks for coming", "thank you for meeting", "thanks for meeting", "thank you for taking", "thanks for taking",
    "thank you for joining", "thanks for joining", "thank you for your time", "thanks for your time", "last week",
    "last monday", "last tuesday", "last wednesday", "last thursday", "last friday", "was held", "took place",
    "online test", "online assessment", "drug test", "drug screen", "background check", "information session",
    "open day", "open evening", "career fair", "paid on",
)
_NOT_A_MEETING_RE = re.compile(
    r"\bby\s+(?:the\s+)?(?:end|close|cob|eod|noon|midday|mon|tue|wed|thu|fri|sat|sun|tomorrow|today|\d)|"
    r"\b(?:mon|tue|wed|thu|fri)\w*\s*(?:to|-|–|through|thru)\s*(?:thu|fri|sat|sun)|\bafter\s+\d"
)
_WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _not_a_meeting(sentence: str) -> bool:
    low = sentence.lower()
    words = _WORDS.findall(low.replace("due to ", "because "))  # "due" is a deadline; "due to" gives a reason
    if not _NOT_A_MEETING_WORDS.isdisjoint(words):
        return True
    return any(p in low for p in _NOT_A_MEETING_PHRASES) or bool(_NOT_A_MEETING_RE.search(low))


#: A meeting of some kind must be named in the sentence or the message.
MEETING = re.compile(
    r"\b(?:interview\w*|meet(?:ing)?|call|chat|conversation|panel|onsite|on-site|visit|coffee|lunch|zoom|teams|"
    r"webex|google meet|video|phone|round|session|discussion|assessment (?:centre|center|day)|superday|"
    r"presentation|demo lesson|job talk|see you|talk then|speak then|with (?:me|us)|you(?:'re| are) (?:now )?(?:confirmed|booked))\b",
    re.I,
)


@dataclass(frozen=True)
class Slot:
    """A date and time in ``text[start:end]``; ``precise`` when a calendar date (not only a weekday) is given."""

    start: int
    end: int
    precise: bool


#: The whole message cancels a slot (a scheduler's "The event below has been canceled").
CANCELLED = re.compile(r"\bcancel(?:l)?ed\b|\bcancellation\b", re.I)


def find_slot(sentence: str) -> Slot | None:
    """The one date-and-time slot a sentence sets, or None (see the module docstring)."""
    return read(sentence).slot


def offers_options(sentence: str) -> bool:
    """Does the sentence offer a choice of slots ("Tuesday 17th at 5.30pm or Wednesday 18th at
    8.30am", a list of times to pick from)? Deadlines and opening hours are no choice.

    >>> offers_options("She can do Tuesday 17th at 14:00 or Wednesday 18th at 09:30.")
    True
    """
    return read(sentence).options


@dataclass(frozen=True)
class Reading:
    """What one sentence says about time: a slot it sets, or a choice of slots it offers."""

    slot: Slot | None = None
    options: bool = False


_NOTHING = Reading()


#: A slot moved: "I've moved our call from Wednesday (at 10) to Thursday 19 March at 11:00": the
#: old time is no second option and "Wednesday to Thursday" no range of opening days.
_MOVED_FROM = re.compile(
    r"\b(?:mov|resched|shift|chang|push|brought|bring|switch|swap)\w*\b[^.?!]{0,60}?\b(from\s+[^,;.?!]{1,40}?)\s+to\s+",
    re.I,
)


#: The old time of a moved slot named before the move: "the interview earlier scheduled for
#: Tuesday 13th October has been rescheduled to Friday 16th October at 2.00 p.m.".
_SCHEDULED_BEFORE = re.compile(
    r"\b(?:earlier|originally|previously|initially|formerly)\s+(?:scheduled|planned|set|booked|arranged|slated|fixed)"
    r"\s+(?:for|on)\s+([^;?!]{1,40}?)(?=\s+(?:has|have|had|is|are|was|were|will|now|but)\b|,)",
    re.I,
)
_ARRIVAL_TIME = r"(?:[01]?\d|2[0-3])(?:[:.][0-5]\d)?\s*(?:[ap]\.?m\.?(?![\w])|h\b)?"
#: When to arrive for a slot, not a deadline: "Time: 08:00 - 16:00 (please arrive by 07:30)".
_ARRIVE_BY = re.compile(
    r"\b(?:arrive|arriving|arrival|be there|be here|get here|check in|checking in|sign in)\b[^.;?!()]{0,30}?"
    rf"(\bby\s+{_ARRIVAL_TIME})",
    re.I,
)
#: The same beside the slot's own time: "10:00 (entry closes at 09:40)", "arrive at 9:30 for
#: your 10:00 interview": blanked only when another time is left.
_ARRIVE_AT = re.compile(
    r"\b(?:arrive|arriving|arrival|be there|be here|check in|checking in|sign in|registration|entry|doors?|gates?)\b"
    rf"(?:\s+(?:closes?|opens?))?[^.;?!()]{{0,20}}?(\bat\s+{_ARRIVAL_TIME})",
    re.I,
)


def _blank(sentence: str, m: re.Match[str] | None) -> str:
    """``sentence`` with ``m``'s first group replaced by spaces (offsets kept)."""
    if m is None:
        return sentence
    return sentence[: m.start(1)] + " " * (m.end(1) - m.start(1)) + sentence[m.end(1):]


def read(sentence: str) -> Reading:
    """:func:`find_slot` and :func:`offers_options` in one pass over the sentence.

    >>> read("I've moved our call from Wednesday to Thursday 19 March at 11:00am.").slot is not None
    True
    >>> read("The panel earlier scheduled for Tuesday 13th October has been moved to Friday 16th October at 2.00 p.m.").options
    False
    >>> read("Date: Tuesday 20 October 2026. Time: 08:00 - 16:00 (please arrive by 07:30)").slot is not None
    True
    >>> read("- Interview: Tuesday 5 May, 10:00 (please check in at 09:45)")
    Reading(slot=Slot(start=0, end=60, precise=True), options=False)
    >>> read("Possible dates are 5, 6 or 7 May, always starting at 10:00.")
    Reading(slot=None, options=True)
    >>> read("Kindly share your availability for Mon 16th, Tue 17th or Wed 18th Feb, between 9am-4pm UAE time.").slot is None
    True
    >>> read("Due to a board meeting, the panel interview has been moved to Tuesday, 10th March 2026, same time (11:00am).").slot is not None
    True
    >>> read("Thursday 16 April: presentation at 10:00, followed by the panel interview at 10:30, Room 2.07.").options
    False
    """
    sentence = _blank(sentence, _MOVED_FROM.search(sentence))
    sentence = _blank(sentence, _SCHEDULED_BEFORE.search(sentence))
    sentence = _blank(sentence, _ARRIVE_BY.search(sentence))
    clocks = _clocks(sentence)
    if len(clocks) > 1:
        arrive_at = _ARRIVE_AT.search(sentence)
        if arrive_at is not None:
            sentence = _blank(sentence, arrive_at)
            clocks = _clocks(sentence)
    if not clocks and "?" not in sentence:
        return _NOTHING  # neither a slot nor a choice asked about
    dates = {m.group(0).lower() for m in _DATE.finditer(sentence)}
    days = dates or {m.group(0).lower()[:3] for m in _WEEKDAY_RE.finditer(sentence)}
    day_nums = {m.group(0).lower() for m in _WEEKDAY_DAY.finditer(sentence)}
    if len(day_nums) > len(days):
        days = day_nums  # "Mon 16th, Tue 17th or Wed 18th Feb": three days, only the last with its month
    if days and _DAY_LIST.search(sentence):
        days = days | {"a list of days"}  # "Possible dates are 5, 6 or 7 May, always at 10:00"
    if not days:
        return _NOTHING
    choice = bool(_CHOICE.search(sentence)) if len(days) > 1 or len(clocks) > 1 or "?" in sentence else False
    options = False
    if not _DEADLINE.search(sentence):
        options = (bool(clocks) or ("?" in sentence and choice)) if len(days) > 1 else (len(clocks) > 1 and choice)
    slot = None
    if clocks and len(days) == 1 and not (len(clocks) > 1 and choice) and not _not_a_meeting(sentence):
        slot = Slot(0, len(sentence), precise=bool(dates))
    return Reading(slot, options) if slot or options else _NOTHING


def _clocks(sentence: str) -> set[str]:
    clocks: set[str] = set()
    for m in _CLOCK.finditer(sentence):
        if clocks and _RANGE_END.search(sentence, max(0, m.start() - 8), m.start()):
            continue  # "09:30 – 12:30": the end of a range ("6-9pm" alone is one time)
        clocks.add(m.group(0).lower().replace(" ", ""))
    return clocks


#: "09:30 – 12:30", "from 10:45 to 14:15": the second time ends a range, it is no second slot.
_RANGE_END = re.compile(r"(?:[-–—]|\bto|\buntil|\btill)\s*$", re.I)


#: Words that offer a choice: "or", "pick", "one of the following".
_CHOICE = re.compile(r"\b(?:or|pick|choose|select|one of|options?|either|any of|alternatively)\b|^\s*[-*•]", re.I | re.M)
#: A deadline or opening hours, not a slot to choose.
_DEADLINE = re.compile(
    r"\bby\s+(?:the\s+)?(?:end|close|\d|mon|tue|wed|thu|fri|sat|sun|midnight|noon)|\bno later than\b|\bdeadline\b|"
    r"\b(?:mon|tue|wed|thu|fri)\w*\s*(?:to|-|–|through|thru)\s*(?:thu|fri|sat|sun)|\bcomplete\b|\bopen(?:ing)? hours\b",
    re.I,
)
