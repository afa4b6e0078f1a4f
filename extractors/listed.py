"""Questions asked as a list: a lead-in that asks to reconfirm, then the items it asks about.

"Before we finalise, kindly reconfirm: (a) that you are still interested; (b) that your
expected salary of KES 310,000 still holds" asks to reconfirm the salary, but the rules read
sentence by sentence, and neither the lead-in (no salary) nor the item (no ask) holds both
halves. Recruiters, agencies and HR teams in every corpus write such lists, numbered, lettered
or bulleted. This module finds them in the text itself (list markers are not sentences the
tokenizer agrees on) and says which items ask about pay or about other processes.

Pure ``re``, linear in the text: each lead-in is a line, each list at most :data:`MAX_ITEMS`
lines of at most :data:`MAX_LIST_CHARS` characters in all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A lead-in asks for things to be (re)confirmed and ends with ":" or "?" (looked for only in
#: lines that end so, and at most :data:`MAX_LEAD_CHARS` long).
_LEAD_VERB = re.compile(r"\b(?:re-?confirm|double[- ]check|confirm|check|verify)\b", re.I)
MAX_LEAD_CHARS = 500
#: Words that make the lead-in itself a reconfirmation; with a plain "confirm" or "check" the
#: list must say "still" ("that you are still keen", "is that still right?").
_RE_ASK = re.compile(r"re-?confirm|double[- ]check", re.I)
_STILL = re.compile(r"\bstill\b", re.I)
#: A list item: "1.", "2)", "(a)", "a)", "-", "*", "•" at the start of a line.
_ITEM = re.compile(r"^[ \t]*(?:[-*•]|\(?[0-9a-z]{1,2}[.)])[ \t]+\S[^\n]*$", re.I | re.M)
_SALARY = re.compile(
    r"\b(?:salary|salaries|base|package|compensation|remuneration|ctc|pay|rate|expectations?)\b"
    r"|[$€£¥₩]\s?\d|\b(?:usd|eur|gbp|jpy|krw|hkd|sgd|myr|inr|kes|zar|ngn|chf|sek|dkk|aed|php|vnd|twd)\s?\d"
    r"|\b\d[\d,.]*\s?(?:k|m|million|lakh|lakhs|crore)\b",
    re.I,
)
_OTHER_PROCESS = re.compile(
    r"\bother (?:process(?:es)?|offers?|interviews?|companies|banks|firms|schools|employers|opportunities|applications)\b"
    r"|\bany other (?:offer|process|recruitment)|\belsewhere\b|\bcounter-?offers?\b|\bholding (?:any )?(?:other )?offers?\b"
    r"|\bin (?:any )?other process",
    re.I,
)
MAX_ITEMS = 8
MAX_LIST_CHARS = 1500


@dataclass(frozen=True)
class ListedAsk:
    """A signal type asked about in a list item, with the item's place in the text."""

    type: str
    start: int
    end: int


def listed_asks(text: str) -> list[ListedAsk]:
    """The salary reconfirmations and other-process questions asked as items of a list.

    >>> t = "Before we finalise, kindly reconfirm:\\n\\n(a) that you are still keen;\\n(b) that your salary of KES 310,000 still holds."
    >>> [(a.type, t[a.start:a.end]) for a in listed_asks(t)]
    [('salary_reconfirm', '(b) that your salary of KES 310,000 still holds.')]
    >>> listed_asks("Could you confirm the following?\\n- your salary expectations\\n- your notice period")
    []
    """
    out: list[ListedAsk] = []
    seen: set[str] = set()
    for lead, end in _leads(text):
        items = _items_after(text, end)
        if not items:
            continue
        block = " ".join(text[a:z] for a, z in items)
        reconfirm = bool(_RE_ASK.search(lead)) or bool(_STILL.search(block))
        for a, z in items:
            item = text[a:z]
            if reconfirm and "salary_reconfirm" not in seen and _SALARY.search(item):
                seen.add("salary_reconfirm")
                out.append(ListedAsk("salary_reconfirm", a, z))
            if "other_process_inquiry" not in seen and _OTHER_PROCESS.search(item):
                seen.add("other_process_inquiry")
                out.append(ListedAsk("other_process_inquiry", a, z))
    return out


def _leads(text: str) -> list[tuple[str, int]]:
    """Each lead-in line (its text, and where it ends)."""
    out: list[tuple[str, int]] = []
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        stripped = line.rstrip()
        if stripped.endswith((":", "?")) and len(stripped) <= MAX_LEAD_CHARS and _LEAD_VERB.search(stripped):
            out.append((stripped, end))
        pos = end + 1
    return out


def _items_after(text: str, pos: int) -> list[tuple[int, int]]:
    """(start, end) of the list items that follow ``pos`` (blank lines between them allowed;
    an item's wrapped continuation lines belong to it)."""
    items: list[tuple[int, int]] = []
    limit = min(len(text), pos + MAX_LIST_CHARS)
    i = pos
    while i < limit and len(items) < MAX_ITEMS:
        while i < limit and text[i] in "\r\n":
            i += 1
        m = _ITEM.match(text, i, limit)
        if m is None:
            if items and i < limit and text[i] in " \t" and text[items[-1][1] - 1 : items[-1][1]] not in ".;":
                end = text.find("\n", i, limit)
                end = limit if end < 0 else end
                items[-1] = (items[-1][0], end)  # a wrapped line of the item before
                i = end
                continue
            break
        start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
        items.append((start, m.end()))
        i = m.end()
    return items
