"""Signals in one message's newest text: what the recruiter's words say about the process.

:func:`extract` (and :func:`extract_many`, batched through ``nlp.pipe``) runs the spaCy
pipeline of :mod:`offerwatch.extractors.nlp` on the cleaned text, then decides at message
level: the sender's role from the signature, calendar invites, and precedence between
signals (an offer's "when can we talk?" is not an interview request, a rejection is not a
keep-warm update).

Sentence level happens inside the pipeline, in :func:`combine` (the ``offerwatch_signals``
component): each sentence's matched cues become signals unless they are negated ("the role
isn't on hold"), hedged ("if you need to reschedule"), retrospective ("thanks for meeting
our panel"), or template boilerplate ("Need to reschedule? Use this link").

Importing this module does not import spaCy.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import operator
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from offerwatch.extractors import entities, listed
from offerwatch.extractors import nlp as _nlp  # no spaCy import until get_nlp()
from offerwatch.extractors.tokenguard import break_runs
from offerwatch.models.domain import Address, CalendarEvent, Direction, Salary, Signal

log = logging.getLogger(__name__)

#: Characters of text analysed at most per message; the rest is ignored (and logged).
MAX_CHARS = 100_000


@dataclass(frozen=True)
class Extraction:
    signals: tuple[Signal, ...]
    salaries: tuple[Salary, ...]
    sender_role: str | None  # "recruiter" | "coordinator" | "hiring_manager" | "leader" | None
    sender_title: str | None


@dataclass(frozen=True)
class ExtractInput:
    text: str
    signature: str = ""
    subject: str = ""
    sender: Address | None = None
    direction: Direction = Direction.IN
    events: Sequence[CalendarEvent] = field(default_factory=tuple)
    #: (title, role) the sender gave in earlier mail, for a message signed with a first name only
    known_role: tuple[str | None, str | None] | None = None


# ----------------------------------------------------------------------------- normalisation

_DROP = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u180e\u034f")
_DROP_RE = re.compile("[" + "".join(sorted(_DROP)) + "]")
_TRANSLATE = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
        "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u2002": " ", "\u2003": " ",
        "\uff1f": "?", "\uff01": "!", "\uff0c": ",", "\u3002": ".", "\r": "\n", "\t": " ",
    }
)

_TRANSLATE_RE = re.compile("[" + re.escape("".join(map(chr, _TRANSLATE))) + "]")


def normalize(text: str) -> tuple[str, list[int] | None]:
    """Text for matching and a map from its indices back to ``text`` (None: identity).

    Curly quotes and odd spaces become ASCII one for one; line breaks of hard-wrapped prose
    become spaces (see :func:`unwrap`); zero-width and bidi controls are removed (they hide
    phrases from the rules) and texting shorthand is written out ("u" -> "you", see
    :data:`_TEXTING`), which shifts offsets, hence the map.

    >>> normalize("submitted u to corvane w/ Tasha, thx")[0]
    'submitted you to corvane with Tasha, thanks'
    >>> normalize("U.S. citizens: you are u-turning at Unit 4")[1] is None
    True
    >>> normalize("Interviews: w/c 9 March")[0]
    'Interviews: w/c 9 March'
    """
    m = _TRANSLATE_RE.search(text)
    if m is not None:  # translate() looks up every character: only from the first one it changes
        text = text[: m.start()] + text[m.start() :].translate(_TRANSLATE)
    text = unwrap(text)
    texting = _TEXTING.search(text)
    if texting is None and not _DROP_RE.search(text):
        return text, None
    out: list[str] = []
    index: list[int] = []
    pos = 0
    for m in _TEXTING.finditer(text, texting.start()) if texting is not None else ():
        if m.group(1) == "w/" and _WEEK_OF.match(text, m.end()):
            continue  # "w/c 9 March" (week commencing), "w/e": no "with"
        _copy_kept(text, pos, m.start(), out, index)
        full = _TEXTING_FULL[m.group(1)]
        if full == "with " and text[m.end() : m.end() + 1].isspace():
            full = "with"  # "w/ her": the space is there already
        out.append(full)
        index.extend([m.start()] * len(full))
        pos = m.end()
    _copy_kept(text, pos, len(text), out, index)
    index.append(len(text))
    return "".join(out), index


#: Texting shorthand of mail written on a phone ("submitted u to corvane", "w/ her + Marcus
#: Bell (VP Sales)", "what does next wk look like for u?"), written out so that the rules'
#: phrases match it. Lower case only: "U.S." or an upper-case "UR" is something else.
_TEXTING_FULL = {"u": "you", "ur": "your", "w/": "with ", "pls": "please", "plz": "please", "thx": "thanks",
                 "yday": "yesterday", "tmrw": "tomorrow", "tmw": "tomorrow", "wk": "week", "wks": "weeks"}
# Each word is written as its first letter, a look back at the character before it, then the rest:
# a pattern that starts with letters lets the regex engine skip to them, twice as fast as one that
# starts with "\b" or a look-behind.
_TEXTING = re.compile(
    "(" + "|".join(f"{w[0]}(?<![\\w'@./&-]{re.escape(w[0])}){re.escape(w[1:])}" for w in sorted(_TEXTING_FULL, key=len, reverse=True))
    + ")(?:(?<=/)|(?![\\w'/&@-]|\\.\\w))")


_WEEK_OF = re.compile(r"[ceCE]\b")


def _copy_kept(text: str, a: int, z: int, out: list[str], index: list[int]) -> None:
    """Append ``text[a:z]`` to ``out`` without the characters of :data:`_DROP`, and each kept
    character's position in ``text`` to ``index``."""
    chunk = text[a:z]
    if not _DROP_RE.search(chunk):
        out.append(chunk)
        index.extend(range(a, z))
        return
    for i in range(a, z):
        if text[i] not in _DROP:
            out.append(text[i])
            index.append(i)


#: A line this long is wrapped by the mail client when the next line goes on the sentence (starts
#: in lower case or with a digit); from :data:`WRAP_ANY` characters on, whatever the next line's
#: first letter, unless the line ends a sentence or the next one starts a list item.
WRAP_LOWER, WRAP_ANY = 45, 60
_ENDS_SENTENCE = frozenset(".!?:;")
_ITEM_START = re.compile(r"[-*•>#\d]\s|[-*•>]|\d+[.)]|[A-Za-z][.)]\s")


def unwrap(text: str) -> str:
    r"""Replace the line breaks of hard-wrapped prose (72-column mail) with spaces, one for one.

    "I'm very pleased to\noffer you the post" must match "pleased to offer" and stay one clause;
    short lines (addresses, "Date:" blocks, signatures, lists) keep their breaks.

    >>> unwrap("We are pleased to confirm that we will not be progressing your application\nfurther at this time.\nThanks")
    'We are pleased to confirm that we will not be progressing your application further at this time.\nThanks'
    """
    if "\n" not in text:
        return text
    lines = text.split("\n")
    if max(map(len, lines)) < WRAP_LOWER:
        return text
    out = [lines[0]]
    for prev, nxt in zip(lines, lines[1:], strict=False):
        sep = "\n"
        if len(prev) >= WRAP_LOWER and nxt and prev[-1] not in _ENDS_SENTENCE and not _ITEM_START.match(nxt):
            c = nxt[0]
            if c.islower() or c.isdigit() or (len(prev) >= WRAP_ANY and not c.isspace()):
                sep = " "
        out.append(sep)
        out.append(nxt)
    return "".join(out)


def _orig(index: list[int] | None, i: int) -> int:
    if index is None:
        return i
    return index[min(i, len(index) - 1)]


# ----------------------------------------------------------------------------- sentence level

_BOUNDARY = frozenset({",", ";", ":", "—", "–", "(", ")", "!", "?", ".", "but", "however", "although", "though",
                       "whereas", "because", "so", "and", "while", "unfortunately", "instead"})
_DIRECT_TYPES = frozenset(
    {"application_received", "interview_request", "interview_scheduled", "salary_reconfirm", "hiring_manager_direct",
     "offer", "rejection", "role_on_hold", "postponed", "keep_warm", "expedite", "other_process_inquiry",
     "panel_invite", "senior_leader_interview"}
)
#: Sentence-level findings that are not signals by themselves: a panel or a senior leader
#: named in a forward-looking sentence counts when the message as a whole invites to an
#: interview (the invitation and the interview plan are often sentences apart).
PANEL_MENTION, LEADER_MENTION = "panel_mention", "leader_mention"
#: A senior leader named in a sentence with no meeting of its own, and a meeting with "her",
#: "him" or "them" in a later one: "Karen Voss, our Regional Director, has to travel ...
#: Would Tuesday work for you to meet her?" (see _finish).
LEADER_NAMED, MEET_THEM = "leader_named", "meet_them"
#: A re-confirmation asked without a figure ("Is this still correct?"): with a figure or salary
#: words in the sentence before, a salary reconfirmation.
STILL_ASKED = "still_asked"
#: Rule suffix of an availability ask that only confirms attendance of a slot already set.
CONFIRM_ONLY = "confirm.attend"
_MENTIONS = frozenset({PANEL_MENTION, LEADER_MENTION, STILL_ASKED, LEADER_NAMED, MEET_THEM})
#: Signals that make a message an invitation to an interview.
_INVITATIONS = frozenset({"interview_request", "interview_scheduled", "panel_invite", "expedite"})

#: keep_warm cues that say their process is still running (not a promise to write).
_PROCESS_RUNNING = frozenset({"kw.still_deciding", "kw.process_running"})

#: Rule ids of cues that count only when the message says nothing else.
WEAK_RULES = frozenset({"app.thanks_weak", "kw.update_weak", "kw.update_note"})


#: ``doc.user_data`` key of the text a doc was made from, when :func:`_run_batch` made it:
#: spaCy keeps no text (``doc.text`` and ``span.text`` join the tokens' texts each time), and
#: its tokenizer loses nothing, so a span's text is this text cut at the span's characters.
DOC_TEXT = "offerwatch_text"


@dataclass(frozen=True, slots=True)
class Hit:
    """A signal found in one sentence: token span of the sentence and of the cue."""

    type: str
    rule: str
    sent_start: int
    sent_end: int
    cue_start: int
    cue_end: int


@dataclass(slots=True)
class _Cue:
    label: str
    id: str
    start: int
    end: int
    flags: frozenset[str]


#: Clock times and numeric dates: "3pm", "10:30", "9/22", "14h" (the TIME cues cover words).
_CLOCK = re.compile(r"(?i)\b\d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.|h|uhr)\b|\b\d{1,2}:\d{2}\b|\b\d{1,2}/\d{1,2}\b")
#: A letter to whoever applied ("Dear Applicant", "Dear Sir/Madam"): a form, even when a
#: director signs it, not a hiring manager writing to the candidate.
_FORM_GREETING = re.compile(r"^\s*(?:dear|hello|hi)\s+(?:applicants?|candidates?|sir\s*/\s*madam|sir\s+or\s+madam|job\s*seekers?)\b",
                            re.I | re.M)
#: An acknowledgement that invites in the same sentence opens a later stage (DESIGN.md).
_INVITES_IN_THE_ACK = re.compile(r"\b(?:(?:would|'d)\s+(?:like|love)|want)\s+to\s+(?:meet|invite|interview|speak|talk|schedule|set\s+up|arrange)"
                                 r"|\binvite you\b", re.I)
#: A money figure: "$135k", "160k", "€95.000" (the SALARY_REF cues cover words and symbols).
_MONEY = re.compile(r"(?i)[$€£]\s?\d|\b\d{2,3}\s?k\b")


class _Sentence:
    """The cues of one sentence and the checks the rules need."""

    def __init__(self, doc: Any, tt: Any, start: int, end: int, cues: list[_Cue]) -> None:
        self.doc, self.tt, self.start, self.end = doc, tt, start, end
        self.by: dict[str, list[_Cue]] = defaultdict(list)
        for c in cues:
            self.by[c.label].append(c)
        q = tt.questions
        i = bisect.bisect_left(q, start)
        self.has_question = i < len(q) and q[i] < end
        self._text: str | None = None

    def text(self) -> str:
        if self._text is None:
            full = self.doc.user_data.get(DOC_TEXT)
            if full is not None and self.start < self.end:
                a, z = _char_span(self.doc, self.start, self.end)
                self._text = full[a:z]  # what doc[start:end].text joins from the tokens, 50x cheaper
            else:
                self._text = self.doc[self.start : self.end].text
        return self._text

    def clause_start(self, i: int) -> int:
        boundary = self.tt.boundary
        j = i - 1
        lo = max(self.start, i - 14)
        while j >= lo:
            if boundary[j]:
                return j + 1
            j -= 1
        return lo

    def clause_end(self, i: int) -> int:
        """The token after the clause that holds token ``i`` (at most 14 tokens on)."""
        boundary = self.tt.boundary
        hi = min(self.end, i + 14)
        j = i
        while j < hi:
            if boundary[j]:
                return j
            j += 1
        return hi

    def told_as_past(self, cue: _Cue) -> bool:
        """A state told in the past: "while this role was on hold", "after the search had been
        paused" (a past-tense verb of being just before the cue, and a time clause before it)."""
        h = _word_hashes(self.doc)
        lower = self.tt.lower
        lo = max(self.start, cue.start - 3)
        if not any(lower[i] in h["was"] for i in range(lo, cue.start)):
            return False
        # "while this role was on hold", "you may remember that the post was put on hold in March"
        return any(lower[i] in h["sub_time"] or lower[i] in h["recall"] for i in range(self.start, cue.start))

    def away(self, cue: _Cue) -> bool:
        """ "Mr. Hansen, our Head of Logistics, is unfortunately not available in the next weeks", "Ines, our
        Director of Product, signs off on every hire, but she won't be part of the interviews":
        the leader named is away, someone else meets the candidate."""
        return any(0 <= c.start - cue.end <= _AWAY_WINDOW for c in self.by.get("UNAVAILABLE", ()))

    def hr_title(self, cue: _Cue) -> bool:
        """ "HR director", "talent director": a recruiting title, not a senior leader."""
        return any(c.start <= cue.start < c.end for c in self.by.get("HR_PREFIX", ()))

    def about_elsewhere(self, cue: _Cue) -> bool:
        """Does the sentence ask about other processes ("are you in final stages elsewhere?")
        through a cue other than this one?"""
        return any(not (c.start < cue.end and cue.start < c.end) for c in self.by.get("OTHER_PROC", ()))

    def stage_state(self, cue: _Cue) -> bool:
        """ "as we move towards the final stage", "one of our panel members", "I'll update the
        panel": where the process stands or the panel as a body, not an invitation."""
        if any(c.end == cue.start or c.end == cue.start - 1 for c in self.by.get("STAGE_STATE", ())):
            return True
        return any(c.start <= cue.start < c.end for c in self.by.get("PANEL_BODY", ()))

    def before_in_sentence(self, label: str, cue: _Cue) -> bool:
        """Is there a ``label`` cue anywhere earlier in the sentence?"""
        return any(c.start < cue.start for c in self.by.get(label, ()))

    def crosses_clause(self, a: _Cue, b: _Cue) -> bool:
        """Is there a clause boundary between two cues (``a`` first)?"""
        boundary = self.tt.boundary
        return any(boundary[i] for i in range(a.end, b.start))

    def _before(self, label: str, cue: _Cue, window: int, ids: tuple[str, ...] = ()) -> bool:
        cands = self.by.get(label)
        if not cands:
            return False
        cs = self.clause_start(cue.start)
        for c in cands:
            if ids and c.id not in ids:
                continue
            if cs <= c.start < cue.start and cue.start - c.end <= window:
                return True
        return False

    def negated(self, cue: _Cue) -> bool:
        return "no_neg" not in cue.flags and self._before("NEG", cue, 6)

    def hedged(self, cue: _Cue) -> bool:
        if self.outcome_hedged(cue):
            return True
        if "no_hedge" in cue.flags or not self._before("HEDGE", cue, 10):
            return False
        asks = self.by.get("ASK_IF")
        if not asks:
            return True
        # "She asked if she could call you" is a request, not a condition: an "if" that only
        # reports a question does not hedge what follows it.
        cs = self.clause_start(cue.start)
        return any(cs <= h.start < cue.start and cue.start - h.end <= 10
                   and not any(a.start < h.start < a.end for a in asks) for h in self.by["HEDGE"])

    def hold_hypothetical(self, cue: _Cue) -> bool:
        """A hold on a condition anywhere before it in the sentence ("if the budget is cut, the role
        will be put on hold"), but not one bounded by "until" ("until the money is in the bank we're
        holding off on all new hires", "on hold until April")."""
        if self.outcome_hedged(cue):
            return True
        return any(c.start < cue.start and self.doc[c.start].lower_ not in ("until", "till", "til")
                   for c in self.by.get("HEDGE", ()))

    def outcome_hedged(self, cue: _Cue) -> bool:
        """A step promised only if the candidate gets through ("If you're shortlisted, you'll be
        invited to record a video interview", "if the technical interview goes well, we will
        invite you to meet our CTO"): the process described, whatever the cue's own flags. The
        condition is a clause of its own, so it is looked for in the sentence before the cue,
        not only in the cue's clause."""
        hedges = [c for c in self.by.get("HEDGE", ()) if c.start < cue.start]
        for c in hedges:
            if c.id == "hedge.outcome":
                return True
            if c.id == "hedge.goes_well" and any(h.id == "hedge.conditional" and h.start < c.start for h in hedges):
                return True
        return False

    def self_future(self, cue: _Cue) -> bool:
        return "not_self_future" in cue.flags and self._before("SELF_FUTURE", cue, 4)

    def thanked(self, cue: _Cue) -> bool:
        return self._before("PAST", cue, 12, ("past.thanks",))

    def retro(self, cue: _Cue) -> bool:
        """Is the cue about what already happened ("thanks for meeting our panel", "panel feedback")?"""
        invites = self.by.get("INVITE", ())
        for p in self.by.get("PAST", ()):
            if p.end <= cue.start:
                if not any(p.end <= i.start < cue.start for i in invites):
                    return True
            elif 0 <= p.start - cue.end <= 2:
                return True
        return False

    def linked(self, a: _Cue, b: _Cue) -> bool:
        """Are two cues in one clause, or joined by commas only ("Marcus Hale, our VP of Data")?"""
        lo, hi = (a, b) if a.start <= b.start else (b, a)
        h = _word_hashes(self.doc)
        lower = self.tt.lower
        for i in range(lo.end, hi.start):
            t = lower[i]
            if t in h["stop"]:
                return False
            if t == h["and"] and i > 0 and lower[i - 1] == h[","]:
                return False
        return True

    def after_other(self, cue: _Cue) -> bool:
        """ "your other final rounds": someone else's process."""
        other = _word_hashes(self.doc)["other"]
        return any(self.tt.lower[i] == other for i in range(max(self.start, cue.start - 2), cue.start))

    def own_meeting(self, meet: _Cue) -> bool:
        """Is this meeting cue the employer's own business: a board or client meeting, or the
        interviews of a process still running with others ("still interviewing the last two")?"""
        inside = (c for label in ("OTHER_MEETING", "keep_warm") for c in self.by.get(label, ()))
        return any(c.start <= meet.start < c.end and (c.label == "OTHER_MEETING" or c.id in _PROCESS_RUNNING)
                   for c in inside)

    def still_running_before(self, cue: _Cue) -> bool:
        """ "we still have two candidates finishing their onsites", "still waiting on his feedback
        before we set up the last stage": the stage is what their running process leads to,
        not an invitation yet."""
        return any(c.end <= cue.start and c.id in _PROCESS_RUNNING for c in self.by.get("keep_warm", ()))

    def has(self, label: str) -> bool:
        return bool(self.by.get(label))

    def first(self, label: str) -> _Cue | None:
        xs = self.by.get(label)
        return xs[0] if xs else None

    def asks(self) -> bool:
        return self.has_question or self.has("INQUIRY")


_word_cache: dict[int, dict[str, Any]] = {}


def _word_hashes(doc: Any) -> dict[str, Any]:
    strings = doc.vocab.strings
    got = _word_cache.get(id(strings))
    if got is None:
        got = {
            "stop": frozenset(strings.add(w) for w in (";", "but", "so", "because", "while", "whereas", "although", "though", "however")),
            "and": strings.add("and"), ",": strings.add(","), "other": strings.add("other"),
            "was": frozenset(strings.add(w) for w in ("was", "were", "had", "been")),
            "sub_time": frozenset(strings.add(w) for w in ("while", "whilst", "when", "during", "after", "since",
                                                            "before", "throughout")),
            "recall": frozenset(strings.add(w) for w in ("remember", "recall", "recalled", "remembered")),
        }
        _word_cache[id(strings)] = got
    return got


def combine(doc: Any) -> Any:
    """The ``offerwatch_signals`` component: cues of each sentence -> ``doc.user_data["hits"]``.

    Only sentences with a cue that can start a signal (:data:`_TRIGGERS`) are looked at;
    :func:`signal_spans` shows the result the spaCy way.
    """
    cues_raw = doc.user_data.get("cues", ())
    hits: list[Hit] = []
    triggers = _triggers()
    if cues_raw and any(c[0] in triggers for c in cues_raw):
        info = _nlp.current_info()
        tt = _nlp.token_table(doc)
        starts = tt.sent_starts or [0]
        bounds = starts + [len(doc)]
        buckets: dict[int, list[tuple[str, str, int, int]]] = {}
        si, nxt = 0, bounds[1]
        for c in cues_raw:  # in start order (CueMatcher sorts its heads)
            while c[2] >= nxt:
                si += 1
                nxt = bounds[si + 1]
            buckets.setdefault(si, []).append(c)
        for si, raw in sorted(buckets.items()):
            if not any(c[0] in triggers for c in raw):
                continue
            cues = []
            for label, rid, start, end in raw:
                pi = info.get(rid)
                cues.append(_Cue(label, rid, start, end, pi.flags if pi else frozenset()))
            hits.extend(_sentence_hits(_Sentence(doc, tt, bounds[si], bounds[si + 1], cues)))
    doc.user_data["hits"] = hits
    return doc


def signal_spans(doc: Any) -> list[Any]:
    """The hits of a processed doc as sentence Spans (label = signal type, id = rule id), for debugging."""
    from spacy.tokens import Span

    return [Span(doc, h.sent_start, h.sent_end, label=h.type, span_id=h.rule) for h in doc.user_data.get("hits", ())]


_START_END = operator.itemgetter(2, 3)
#: Cue labels that can start a signal in :func:`_sentence_hits` (each of its rules needs one
#: of them in the sentence); sentences without any are skipped. A rule that starts from a
#: new label must add it here (tests/test_signals_speed.py checks the others fire nothing).
_TRIGGERS = _DIRECT_TYPES | {"SLOT_Q", "PANEL", "LEADER", "OTHER_PROC", "STILL", "HM", "HOLD"}
_trigger_cache: dict[int, frozenset[str]] = {}


def _triggers() -> frozenset[str]:
    """:data:`_TRIGGERS` and the first class of every combo (combos.toml lists its most
    specific class first), cached per pattern set."""
    combos = _nlp.current_combos()
    got = _trigger_cache.get(id(combos))
    if got is None:
        _trigger_cache.clear()
        got = _trigger_cache[id(combos)] = _TRIGGERS | {c.all[0] for c in combos}
    return got


def _sentence_hits(s: _Sentence) -> Iterator[Hit]:
    if s.has("BOILERPLATE"):
        return
    fired: dict[str, Hit] = {}

    def hit(type_: str, rule: str, cue: _Cue) -> None:
        # the first cue of a type wins, except that a weak cue ("quick update") gives way to a
        # strong one in the same sentence ("quick update: they are still finishing interviews")
        had = fired.get(type_)
        if had is None or (had.rule in WEAK_RULES and rule not in WEAK_RULES):
            fired[type_] = Hit(type_, rule, s.start, s.end, cue.start, cue.end)

    postponed_here = False
    for label in list(s.by):
        if label not in _DIRECT_TYPES:
            continue
        for cue in s.by[label]:
            if label in fired and fired[label].rule not in WEAK_RULES:
                break  # one signal of a type per sentence: the first cue that holds is its evidence
            if label in fired and cue.id in WEAK_RULES:
                continue  # a weak cue is kept only until a strong cue of its type holds
            if s.negated(cue) or s.hedged(cue) or s.self_future(cue):
                continue
            if label == "interview_request" and (s.thanked(cue) or (cue.id == "ireq.video" and s.retro(cue))):
                continue  # "thanks for your time", "the team liked your video interview": done, not asked
            if label in _UNLESS_BEFORE and any(s.before_in_sentence(c, cue) for c in _UNLESS_BEFORE[label]):
                continue
            if label == "interview_scheduled" and any(c.start < cue.start <= c.end for c in s.by.get("NOT_A_MEETING", ())):
                continue  # "the new budget has been confirmed": something else is
            if label == "rejection" and (s.has_question or s.has("YOU_AGENT")):
                continue  # "Have you decided not to proceed?" asks; "you've decided not to" is theirs
            if label == "offer" and (s.thanked(cue) or s.about_elsewhere(cue)):
                continue  # "thank you for accepting your offer"; "is an offer likely soon (elsewhere)?"
            if label == "role_on_hold" and s.has("REOPENED"):
                continue  # "the hiring freeze was lifted": the hold is over
            if label in ("postponed",):
                postponed_here = True
            if label == "interview_request" and s.has("CONFIRM_ATTEND"):
                # "please confirm your availability": an ask only where no slot is set (see _finish)
                hit(label, f"{cue.id}+{CONFIRM_ONLY}", cue)
                continue
            hit(label, cue.id, cue)
    # interview_request from a "does Tuesday 3pm work?" question
    if "interview_request" not in fired and s.has("SLOT_Q") and s.asks() and not postponed_here and (s.has("TIME") or _CLOCK.search(s.text())):
        cue = s.by["SLOT_Q"][0]
        if not s.negated(cue) and not s.thanked(cue):
            hit("interview_request", f"{cue.id}+time.expr", cue)
    # panel_invite: panel / onsite / final round, with an invitation, not in retrospect
    panels = [c for c in s.by.get("PANEL", ()) if not s.negated(c) and not s.hedged(c) and not s.retro(c)
              and not s.after_other(c) and not s.stage_state(c) and not s.about_elsewhere(c) and not s.still_running_before(c)]
    if panels and (s.has("INVITE") or s.has("SLOT_Q") or "interview_request" in fired) and not postponed_here:
        inv = s.first("INVITE") or s.first("SLOT_Q")
        hit("panel_invite", f"{panels[0].id}+{inv.id if inv else 'interview_request'}", panels[0])
    elif panels:
        hit(PANEL_MENTION, panels[0].id, panels[0])  # counts if the message invites (see _finish)
    # senior_leader_interview: a senior title next to a meeting with them
    if s.has("LEADER") and s.has("MEET"):
        done = False
        for cue in s.by["LEADER"]:
            if done or s.negated(cue) or s.retro(cue) or s.hr_title(cue) or s.outcome_hedged(cue) or s.away(cue):
                continue
            for meet in s.by["MEET"]:
                if s.own_meeting(meet):
                    continue  # "the CMO has a board meeting", "the MD is still interviewing the last two"
                if s.linked(cue, meet) and not (s.retro(meet) and meet.start < cue.start and not s.has("INVITE")):
                    hit("senior_leader_interview", f"{cue.id}+{meet.id}", cue)
                    done = True
                    break
    if "senior_leader_interview" not in fired and s.has("LEADER") and (s.has("MEET") or panels or _CLOCK.search(s.text())):
        for cue in s.by["LEADER"]:
            if (not s.negated(cue) and not s.retro(cue) and not s.after_other(cue) and not s.hr_title(cue)
                    and not s.outcome_hedged(cue) and not s.away(cue)):
                hit(LEADER_MENTION, cue.id, cue)  # a leader in an interview plan: counts if the message invites
                break
    elif "senior_leader_interview" not in fired and s.has("LEADER"):
        for cue in s.by["LEADER"]:
            if not s.negated(cue) and not s.retro(cue) and not s.after_other(cue) and not s.hr_title(cue):
                hit(LEADER_NAMED, cue.id, cue)
                break
    if s.has("MEET") and _MEET_THEM.search(s.text()):
        meet = s.by["MEET"][0]
        if not s.negated(meet) and not s.retro(meet) and not s.own_meeting(meet):
            hit(MEET_THEM, meet.id, meet)
    # other_process_inquiry: other interviews/offers/deadlines, asked about
    if s.has("OTHER_PROC") and s.asks():
        for cue in s.by["OTHER_PROC"]:
            if not s.negated(cue) and not s.retro(cue):
                hit("other_process_inquiry", f"{cue.id}+question", cue)
                break
    # salary_reconfirm: "still" + a salary figure or words, asked
    if s.has("STILL") and (s.has("SALARY_REF") or _MONEY.search(s.text())) and (s.asks() or "confirm" in s.text().lower()):
        cue = s.by["STILL"][0]
        if not s.negated(cue):
            hit("salary_reconfirm", f"{cue.id}+salary.ref", cue)
    elif s.has("STILL") and s.asks() and not s.negated(s.by["STILL"][0]):
        # "you told me 70k€ fixed per year. Is this still correct for you?": the figure is in
        # the sentence before (see _finish)
        hit(STILL_ASKED, s.by["STILL"][0].id, s.by["STILL"][0])
    # hiring_manager_direct: the hiring manager wants to call
    if s.has("HM") and s.has("CALL_WANT"):
        cue = s.by["CALL_WANT"][0]
        if not s.negated(cue) and not s.hedged(cue):
            hit("hiring_manager_direct", "hm.person+callwant.call", cue)
    # role_on_hold: paused / on ice / frozen + the role or the search
    if s.has("HOLD") and s.has("POSITION"):
        for cue in s.by["HOLD"]:
            if not s.negated(cue) and not s.hold_hypothetical(cue) and not s.told_as_past(cue) and not s.has("REOPENED"):
                hit("role_on_hold", "hold.word+role.noun", cue)
                break
    _combo_hits(s, fired, hit)
    yield from fired.values()


#: Cue classes that cancel a direct cue of a type anywhere earlier in its sentence
#: ("If you have not heard from us by then, please assume you have not been shortlisted").
_UNLESS_BEFORE: dict[str, tuple[str, ...]] = {"rejection": ("ASSUME",), "offer": ("ASSUME", "OFFER_IF", "DISCLAIMER"),
                                               "interview_request": ("OFFER_IF", "BOOKED"), "postponed": ("DEADLINE_REF",)}

#: At most this many cues of one class take part in the combinations of one sentence.
_MAX_PER_CLASS = 6


def _combo_hits(s: _Sentence, fired: dict[str, Hit], hit: Any) -> None:
    """Signals from cue families found together (``patterns/combos.toml``, see :class:`nlp.Combo`).

    A combo fires once per sentence and type, for the first arrangement of its cues that fits
    the window, the clause and the scope conditions.
    """
    combos = _nlp.current_combos()
    if not _combo_firsts(combos) & s.by.keys():
        return
    for combo in combos:
        if combo.type in fired:
            continue
        lists = [s.by.get(c) for c in combo.all]
        if not all(lists):
            continue
        if combo.mood == "statement" and s.has_question:
            continue
        if combo.mood == "question" and not s.asks():
            continue
        for cues in itertools.product(*(xs[:_MAX_PER_CLASS] for xs in lists if xs)):
            if len({(c.start, c.end) for c in cues}) < len(cues):
                continue
            ordered = sorted(cues, key=_CUE_POS)
            if combo.ordered and list(cues) != ordered:
                continue
            lo, hi = ordered[0].start, max(c.end for c in cues)
            if hi - lo > combo.window:
                continue
            if combo.scope == "clause" and any(s.crosses_clause(a, b) for a, b in itertools.pairwise(ordered)):
                continue
            if _cancelled(s, combo, cues, lo, hi):
                continue
            hit(combo.type, combo.id, _Cue(combo.type, combo.id, lo, hi, frozenset()))
            break


_CUE_POS = operator.attrgetter("start", "end")
_firsts_cache: dict[int, frozenset[str]] = {}


def _combo_firsts(combos: tuple[Any, ...]) -> frozenset[str]:
    got = _firsts_cache.get(id(combos))
    if got is None:
        _firsts_cache.clear()
        got = _firsts_cache[id(combos)] = frozenset(c.all[0] for c in combos)
    return got


def _cancelled(s: _Sentence, combo: Any, cues: tuple[_Cue, ...], lo: int, hi: int) -> bool:
    own = {(c.start, c.end) for c in cues}
    if combo.unless:
        zone_lo = s.start if combo.scope == "sentence" else s.clause_start(lo)
        zone_hi = s.clause_end(hi)
        for label in combo.unless:
            for c in s.by.get(label, ()):
                if zone_lo <= c.start < zone_hi and (c.start, c.end) not in own:
                    return True
    for label in combo.unless_before:
        for c in s.by.get(label, ()):
            if c.start < lo and (c.start, c.end) not in own:
                return True
    return False


# ----------------------------------------------------------------------------- message level

#: Signals that say more than "we received your application" (an interview request may
#: come with the acknowledgement).
_DECISIONS = frozenset({"rejection", "offer", "role_on_hold", "interview_scheduled", "panel_invite", "postponed",
                        "salary_reconfirm", "other_process_inquiry", "expedite", "senior_leader_interview"})
#: Asks that leave a "quick update" standing: an update that then asks about other offers or
#: pay is still an update (the asks do not replace it); politeness ("thanks for your patience")
#: still yields to them.
_ASKS_BESIDE_AN_UPDATE = frozenset({"other_process_inquiry", "salary_reconfirm"})
#: Decisions that end or pause a process: beside them, even an agency's submission is old news.
_OUTCOMES = frozenset({"rejection", "offer", "role_on_hold"})
#: keep_warm is a status update while they decide: a message that also invites, schedules,
#: decides, holds or postpones is that, not an update (no corpus labels keep_warm beside them).
_KEEP_WARM_OVERRULED_BY = frozenset({"offer", "rejection", "role_on_hold", "postponed", "application_received",
                                     "interview_request", "interview_scheduled", "panel_invite",
                                     "senior_leader_interview"})
_OUT_OF_OFFICE = re.compile(r"^\s*(?:automatic reply|auto(?:matic)?[- ]?reply|out of (?:the )?office|ooo\b|abwesenheitsnotiz|"
                            r"autosvar|réponse automatique|respuesta automática|away from (?:the )?office)", re.I)
_OUT_OF_OFFICE_TEXT = re.compile(r"\b(?:i am|i'm|i will be) (?:currently )?(?:out of (?:the )?office|on (?:annual )?leave|away)\b"
                                 r"[^.]{0,80}\b(?:limited|no) access to (?:e-?mail|my e-?mail)", re.I)
_GREETING = re.compile(r"^\s*(hi|hello|hey|dear|good\s+(morning|afternoon|evening)|greetings|hola|hallo|bonjour)\b", re.I)
#: An updated invitation's own words that its time changed ("has been rebooked", "This event has
#: been changed ... Before: Thu 18 June"): with SEQUENCE > 0 the event moved, not just its link.
_MOVED_TEXT = re.compile(r"(?i)\b(?:re-?booked|re-?scheduled|has been (?:changed|moved)|(?:new|updated) (?:date|time)s?\b|"
                         r"(?:bisher|previously|before|was|old time)\s*:)")
#: An updated invitation whose text says the time stays ("the link had to be regenerated ...
#: there is no need to reschedule: your panel interview remains Thursday at 2:00 PM"): no move.
_UNCHANGED_TEXT = re.compile(r"(?i)\b(?:no need to re-?schedule|(?:time|date|slot|interview|meeting|it|everything else)\s+"
                             r"(?:remains|stays|is unchanged|is the same|has not changed|hasn't changed|is not changing)|"
                             r"(?:date|time|slot)s? (?:and (?:date|time) )?(?:are|is) unchanged)")
#: A reply this short is a note in its thread, not a new piece of business.
_TERSE = 400
#: Dates that are not meetings: a start date, a first day, an offer's deadline.
_NOT_A_MEETING = re.compile(r"(?i)\b(?:start(?:ing)? date|first day|start on|onboarding|induction|orientation|deadline|"
                            r"respond by|reply by|let us know by|expires?)\b")
_UPDATED_SUBJECT = re.compile(r"^\s*(updated\s+invitation|updated|rescheduled|moved|new\s+time|time\s+changed)\b", re.I)


def describe(rule: str) -> str:
    """Human-readable label of a rule id (combined rules are joined with "+")."""
    info = _nlp.current_info()
    if _describe_info[0] is not info:  # the pipeline was rebuilt (patterns reloaded)
        _describe_cache.clear()
        _describe_info[0] = info
    got = _describe_cache.get(rule)
    if got is None:
        got = " + ".join(_CALENDAR_RULES.get(p) or _SENDER_RULES.get(p) or _nlp.describe(p) for p in rule.split("+"))
        if info and len(_describe_cache) < 10_000:
            _describe_cache[rule] = got
    return got


_describe_cache: dict[str, str] = {}
_describe_info: list[Any] = [None]


_CALENDAR_RULES = {
    "calendar.request": "calendar invitation (METHOD:REQUEST) for an interview",
    "calendar.updated": "updated calendar invitation that moves the interview",
    "calendar.cancel": "calendar cancellation (METHOD:CANCEL) of an interview",
    "calendar.panel": "calendar invitation for a panel / onsite / final round",
    "calendar.leader": "calendar invitation with a senior leader",
    "time.expr": "a day, date or time",
    "invitation": "in a message that invites to an interview",
    "salary.before": "about the figure in the sentence before",
    "isch.slot": "a date and a time set for the meeting",
    "list.salary_reconfirm": "an item of a list the candidate is asked to reconfirm names pay",
    "list.other_process_inquiry": "an item of a list of questions asks about other processes or offers",
    "ireq.slots": "times proposed for the candidate to choose",
    "ireq.booking_link": "a booking page's link (Calendly, Cal.com, HubSpot meetings, Microsoft Bookings ...) to pick a time",
    CONFIRM_ONLY: "asks to confirm attendance",
    "question": "asked as a question",
    "interview_request": "an interview request",
}
_SENDER_RULES = {
    "sender.hiring_manager": "the sender is the hiring manager (signature title or self-introduction)",
    "sender.leader": "the sender is a senior leader (VP, Director, Head of, C-level, founder)",
    "sender.leader_interview": "the senior leader writing asks to meet",
}


def _has_request(events: Sequence[CalendarEvent]) -> bool:
    """Does the mail carry a calendar invitation (METHOD:REQUEST)?"""
    return any((e.method or "").upper() == "REQUEST" for e in events)


def _has_cue(doc: Any, label: str) -> bool:
    return any(c[0] == label for c in doc.user_data.get("cues", ()))


def _char_span(doc: Any, start: int, end: int) -> tuple[int, int]:
    """``doc[start:end].start_char, .end_char`` without making a Span (``start < end``)."""
    last = doc[end - 1]
    return doc[start].idx, last.idx + len(last)


def _span_text(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class _Builder:
    """Collects message-level signals with evidence mapped back to the original text."""

    def __init__(self, doc: Any, text: str, index: list[int] | None) -> None:
        self.doc, self.text, self.index = doc, text, index
        self.signals: dict[str, Signal] = {}
        self.weak: set[str] = set()

    def from_hit(self, h: Hit, entities_: dict[str, Any] | None = None) -> Signal:
        start_char, end_char = _char_span(self.doc, h.sent_start, h.sent_end)
        a, b = _orig(self.index, start_char), _orig(self.index, end_char)
        a, b = _span_text(self.text, a, b)
        return Signal(
            type=h.type, evidence=self.text[a:b], start=a, end=b, rule=h.rule, label=describe(h.rule),
            strength=0.5 if h.rule in WEAK_RULES else 1.0, entities=dict(entities_ or {}),
        )

    def add(self, sig: Signal, *, weak: bool = False) -> None:
        if sig.type in self.signals:
            if weak or sig.type not in self.weak:
                return
            self.weak.discard(sig.type)  # a strong cue replaces a weak one
        self.signals[sig.type] = sig
        if weak:
            self.weak.add(sig.type)

    def sentence_evidence(self, prefer: Signal | None = None) -> tuple[str, int, int]:
        if prefer is not None:
            return prefer.evidence, prefer.start, prefer.end
        from offerwatch.extractors.nlp import sentences

        for sent in sentences(self.doc):
            words = [t for t in sent if t.is_alpha]
            if len(words) >= 4 and not _GREETING.match(sent.text):
                a, b = _span_text(self.text, _orig(self.index, sent.start_char), _orig(self.index, sent.end_char))
                return self.text[a:b], a, b
        a, b = _span_text(self.text, 0, len(self.text))
        return self.text[a:b], a, b


@dataclass(frozen=True)
class _Slots:
    """Sentences that set a slot (a statement) or propose slots (options, or one slot asked)."""

    scheduled: tuple[str, int, int] | None = None
    proposed: tuple[str, int, int] | None = None


def _slot_sentences(doc: Any, normalized: str, text: str, index: list[int] | None, subject: str, *,
                    want_scheduled: bool = True, want_proposed: bool = True) -> _Slots:
    """Where the message sets one date and time for a meeting, and where it proposes times
    ("Would Tuesday 17th at 5.30pm or Wednesday 18th at 8.30am suit?"); see :mod:`slots`.

    Only sentences with a clock time, or questions naming a day, are read: the rest cannot
    hold a slot, and most mail has none.
    """
    from spacy.attrs import IDX

    from offerwatch.extractors import slots

    clocks = [m.start() for m in _SLOT_HINT.finditer(normalized)]  # offsets in the doc's text
    clocks += [m.start() for m in _SLOT_HINT_AT.finditer(normalized)]
    if "noon" in normalized or "midday" in normalized:
        clocks += [m.start() for m in _SLOT_HINT_WORD.finditer(normalized)]
    tt = _nlp.token_table(doc)
    asked_days = _questions_naming_a_day(doc, tt) if tt.questions else set()
    if not clocks and not asked_days:
        return _Slots()
    token_starts = doc.to_array(IDX).tolist() if clocks else []
    with_clock = {tt.sentence_of(max(0, bisect.bisect_right(token_starts, c) - 1)) for c in clocks}
    scheduled = proposed = None
    # "Your Virtual Onsite is confirmed: Tue 10:00 System Design, 11:15 Coding ...": an itinerary's
    # times are its sessions, not options to choose from
    confirmed_plan = _CONFIRMED_PLAN.search(text) is not None
    starts = tt.sent_starts + [len(doc)]
    for si in sorted(with_clock | asked_days):
        if not 0 <= si < len(tt.sent_starts) or starts[si] >= starts[si + 1]:
            continue
        a, z = _char_span(doc, starts[si], starts[si + 1])
        a, z = _span_text(text, _orig(index, a), _orig(index, z))
        sentence = text[a:z]
        # "They've proposed Tuesday 3/31 at 10am ET. Does that work?": a time put to the candidate
        asked = "?" in sentence or ("confirm" not in sentence.lower() and (
            _PROPOSED.search(sentence) is not None or _DOES_IT_WORK.match(text, z) is not None))
        reading = slots.read(sentence)
        if not (reading.slot or reading.options) and ("\n" in sentence or si > 0 and _FORM_TIME.match(sentence)):
            # a form: "Date : Sunday, 01 March 2026" on one line, "Time : 11:00 AM" on the next, in one
            # sentence or in two
            a0 = a
            if si > 0 and _FORM_TIME.match(sentence):
                a0 = _span_text(text, _orig(index, _char_span(doc, starts[si - 1], starts[si])[0]), z)[0]
            form = _form_date_time(text[a0:z])
            if form is not None:
                sentence, a, z = text[a0 + form[0] : a0 + form[1]], a0 + form[0], a0 + form[1]
                reading = slots.read(sentence)
        if proposed is None and ((reading.options and not confirmed_plan) or (asked and reading.slot)):
            proposed = (sentence, a, z)  # "Would Tuesday 17th at 5.30pm work?": the candidate decides
        elif scheduled is None and not asked and reading.slot:
            scheduled = (sentence, a, z)
        if (scheduled is not None or not want_scheduled) and (proposed is not None or not want_proposed):
            break
    if scheduled is None and proposed is None:
        return _Slots()
    named = [x[0] for x in (scheduled, proposed) if x is not None] + [subject or ""]
    from offerwatch.extractors.classify import REPLY_SUBJECT

    terse_reply = REPLY_SUBJECT.match(subject or "") is not None and len(text) <= _TERSE and not _NOT_A_MEETING.search(text)
    if not any(slots.MEETING.search(t) for t in named) and not slots.MEETING.search(text) and not terse_reply:
        # a date and time, but no meeting named anywhere; a short reply in a job thread
        # ("great, tue 3pm at the Colfax store") confirms the meeting the thread is about
        return _Slots()
    if slots.CANCELLED.search(text) or slots.CANCELLED.search(subject or ""):
        return _Slots()  # the slot named is the one called off
    return _Slots(scheduled, proposed)


#: A meeting with a named person other than the writer ("with Steve", not "with me").
_WITH_SOMEONE_ELSE = re.compile(r"\bwith (?!me\b|us\b|myself\b|you\b|our\b|the\b|a\b|an\b|my\b)(?-i:[A-Z][a-z]+)\b(?! (?:team|group|office|panel|board))")
#: Booking pages by host, with the start of the path where the host also serves other pages. Read
#: by a regex over the text: a token pattern would switch on spaCy's Matcher, and the lemmatizer
#: it needs, for every message.
_BOOKING_PAGES = {"calendly.com": "", "cal.com": "", "savvycal.com": "", "youcanbook.me": "", "zcal.co": "", "tidycal.com": "",
                  "meetings.hubspot.com": "", "calendar.app.google": "", "outlook.office365.com": "(?:owa|book)/",
                  "book.ms": "", "koalendar.com": "", "doodle.com": "(?:bp|mm)/"}
_BOOKING_LINK = re.compile(r"(?i)\b(?:" + "|".join(re.escape(h) + "/" + p for h, p in _BOOKING_PAGES.items()) + ")")
_BOOKING_HINTS = tuple(_BOOKING_PAGES)  # a substring test before the regex: 5x faster
_MANAGE_LINK = re.compile(r"(?i)(?:cancellations|reschedulings|cancel|reschedule|invitees)\b")
#: The lines of an interview form: "Date : Sunday, 01 March 2026" then "Time : 11:00 AM (KSA time)".
_FORM_TIME = re.compile(r"(?i)\s*[-*•]?\s*(?:time|timing|start time|hora|heure|zeit|uhrzeit)\s*:")
_FORM_DATE = re.compile(r"(?i)\s*[-*•]?\s*(?:date|day|interview date|fecha|datum|data)\s*:")
def _form_date_time(block: str) -> tuple[int, int] | None:
    """The "Date :" and "Time :" lines of a form block (start of the first, end of the second),
    read apart from its other lines ("Mode : Teams (link will be shared one day before)")."""
    date_at = time_end = None
    pos = 0
    for line in block.split("\n"):
        if date_at is None and _FORM_DATE.match(line):
            date_at = pos
        elif date_at is not None and _FORM_TIME.match(line):
            time_end = pos + len(line)
            break
        pos += len(line) + 1
    return (date_at, time_end) if date_at is not None and time_end is not None else None


#: A plan stated as settled: its several times are sessions, not a choice.
_CONFIRMED_PLAN = re.compile(r"(?i)\b(?:is|are|has been|have been) (?:now )?confirmed\b|\bitinerary\b")
#: What a reconfirmation asks about when it is not pay: "And your notice period (I think you said
#: 3 months?)" after a question about the current salary reconfirms the notice, not the figure.
_NOT_PAY = re.compile(r"(?i)\bnotice period\b|\bstart date\b|\brelocat|\bvisa\b|\bright to work\b|\bwork permit\b")
#: A slot put forward, not set: "they've proposed", "we propose", "Proposal is Wednesday 18.02. at 10:00".
_PROPOSED = re.compile(r"(?i)\bpropos(?:e|ed|es|ing|al)\b")
#: A short question right after a slot that asks whether it suits ("Does that work?", "Can you confirm you can make it?").
_DOES_IT_WORK = re.compile(r"(?i)\s*(?:(?:does|would|will|could|can|is)\s+(?:that|this|it|the time|this time|that time|that slot|"
                           r"this slot)\s+(?:work|suit|be\s+(?:ok|okay|alright|possible|convenient|good))\b|"
                           r"(?:can|could) you (?:confirm|let me know) (?:that|if|whether) (?:that|this|it) (?:works|suits)|"
                           r"(?:can|could) you (?:confirm|let me know) (?:that |if |whether )?you can (?:make it|attend|do it))[^.!?\n]{0,40}\?")


def _questions_naming_a_day(doc: Any, tt: Any) -> set[int]:
    """Sentences with a question mark and a day or date cue (TIME), by sentence index."""
    cues = doc.user_data.get("cues", ())
    bounds = tt.sent_starts + [len(doc)]
    out: set[int] = set()
    for si in {tt.sentence_of(q) for q in tt.questions}:
        i = bisect.bisect_left(cues, bounds[si], key=_CUE_START)
        while i < len(cues) and cues[i][2] < bounds[si + 1]:
            if cues[i][0] == "TIME":
                out.add(si)
                break
            i += 1
    return out


_CUE_START = operator.itemgetter(2)

#: A meeting with a person named before: "to meet her", "with him directly", "she'd like to see you herself".
_MEET_THEM = re.compile(r"(?i)\b(?:meet|see|with|to)\s+(?:her|him|them)\b|\b(?:her|him|them)sel(?:f|ves)\b")


def _sentences_apart(doc: Any, a: Hit, b: Hit) -> int:
    """How many sentence starts lie between two hits' sentences (0: the next sentence)."""
    tt = _nlp.token_table(doc)
    return tt.sentence_of(b.sent_start) - tt.sentence_of(a.sent_start) - 1


#: Cheap pre-check for :func:`_slot_sentences`: a clock time somewhere.
#: (split so that each pattern starts with a character class the regex engine can skip to)
_SLOT_HINT = re.compile(r"\d(?:[:.]\d\d|\s?[ap]\.?m|\s?(?:h|uhr)\b)", re.I)
_SLOT_HINT_AT = re.compile(r"at (?:1[0-2]|0?[1-9])\b", re.I)  # "at 10 CT" (apart: one alternation scans twice as slowly)
_SLOT_HINT_WORD = re.compile(r"\b(?:noon|midday)\b", re.I)


def _leader_entities(text: str, start: int, end: int) -> dict[str, Any]:
    m = re.search(
        r"(?i)\b(?:vp|svp|evp|vice[-\s]president|(?:managing\s+|executive\s+)?director|head\s+of|chief|c[etfoi]o|"
        r"co-?founder|founder|president|dean|provost)\b",
        text[start:end],
    )
    if not m:
        return {}
    a, b = start + m.start(), start + m.end()
    title = entities.title_at(text, a, b)
    person = entities.person_near(text, a, a + len(title))
    out: dict[str, Any] = {"title": title}
    if person:
        out["person"] = person
    return {"leader": out}


def _finish(
    doc: Any, inp: ExtractInput, text: str, index: list[int] | None, summary_docs: list[tuple[CalendarEvent, Any]],
    probs: dict[str, float] | None = None,
) -> Extraction:
    original = inp.text
    hits = doc.user_data.get("hits", ()) if doc is not None else ()
    listed_asks = listed.listed_asks(original[:MAX_CHARS]) if doc is not None and inp.direction != Direction.OUT else []
    # Figures the owner states feed the salary guard; in incoming mail only an offer's or a
    # reconfirmation's figures are read (the guard quotes them), so other mail skips the scan.
    if (inp.direction == Direction.OUT or any(h.type in ("salary_reconfirm", "offer") for h in hits)
            or any(a.type == "salary_reconfirm" for a in listed_asks)):
        salaries = tuple(entities.find_salaries(original[:MAX_CHARS]))
    else:
        salaries = ()
    title, role = entities.sender_role(original, inp.signature)
    if role is None and inp.known_role is not None:
        title, role = inp.known_role  # the title this person signed with in earlier mail
    if role in ("hiring_manager", "leader") and entities.AGENCY_VOICE.search(original):
        role = "recruiter"  # "Director | Hartwell Selection" writing about "the client": an agency consultant
    if inp.direction == Direction.OUT or doc is None:
        return Extraction((), salaries, None if inp.direction == Direction.OUT else role, title)

    b = _Builder(doc, original, index)
    mentions: dict[str, Hit] = {}
    for h in hits:
        if h.type in _MENTIONS:
            mentions.setdefault(h.type, h)
            continue
        ents: dict[str, Any] = {}
        if h.type in ("salary_reconfirm", "offer"):
            start_char, end_char = _char_span(doc, h.sent_start, h.sent_end)
            found = entities.find_salaries(original[_orig(index, start_char) : _orig(index, end_char)])
            if found:
                ents["salary"] = found[0].as_dict()
            elif h.type == "offer" and salaries:
                ents["salary"] = salaries[0].as_dict()
        elif h.type == "senior_leader_interview":
            start_char, end_char = _char_span(doc, h.sent_start, h.sent_end)
            ents = _leader_entities(original, _orig(index, start_char), _orig(index, end_char))
        b.add(b.from_hit(h, ents), weak=h.rule in WEAK_RULES)

    # calendar invitations
    cancelled_panel: Signal | None = None  # a panel's cancellation: a move of it if the text sets a new time
    for ev, sdoc in summary_docs:
        method = (ev.method or "").upper()
        summary = ev.summary or ""
        pos = original.find(summary) if summary else -1
        ev_start, ev_end = (pos, pos + len(summary)) if pos >= 0 else (0, 0)
        evidence = summary if pos >= 0 else f"calendar: {summary or ev.uid}"
        ents = {"interview": {"start": ev.start.isoformat() if ev.start else None, "summary": summary,
                              "organizer": str(ev.organizer) if ev.organizer else None}}
        if method == "REQUEST":
            moved = ev.sequence > 0 and (_UPDATED_SUBJECT.match(inp.subject or "") or "postponed" in b.signals
                                         or _MOVED_TEXT.search(original[:3000]) is not None)
            if moved and "postponed" not in b.signals and _UNCHANGED_TEXT.search(original[:3000]):
                moved = False
            if moved:
                b.add(Signal("postponed", evidence, ev_start, ev_end, "calendar.updated", describe("calendar.updated"), entities=ents))
            b.add(Signal("interview_scheduled", evidence, ev_start, ev_end, "calendar.request", describe("calendar.request"), entities=ents))
            hit_types = {h.type for h in sdoc.user_data.get("hits", ())} if sdoc is not None else set()
            cues = sdoc.user_data.get("cues", ()) if sdoc is not None else ()
            hr = [(c[2], c[3]) for c in cues if c[0] == "HR_PREFIX"]
            labels = {c[0] for c in cues if not (c[0] == "LEADER" and any(a <= c[2] < z for a, z in hr))}
            if hit_types & {"panel_invite", PANEL_MENTION}:
                b.add(Signal("panel_invite", evidence, ev_start, ev_end, "calendar.panel", describe("calendar.panel"), entities=ents))
            leader_att = [a for a in ev.attendees if a.name and entities.classify_title(a.name) == "leader"]
            if "LEADER" in labels or leader_att:
                b.add(Signal("senior_leader_interview", evidence, ev_start, ev_end, "calendar.leader",
                             describe("calendar.leader"), entities=ents))
        elif method == "CANCEL":
            b.add(Signal("postponed", evidence, ev_start, ev_end, "calendar.cancel", describe("calendar.cancel"), entities=ents))
            hit_types = {h.type for h in sdoc.user_data.get("hits", ())} if sdoc is not None else set()
            if hit_types & {"panel_invite", PANEL_MENTION} and cancelled_panel is None:
                cancelled_panel = Signal("panel_invite", evidence, ev_start, ev_end, "calendar.panel", describe("calendar.panel"),
                                         entities=ents)

    # a slot the employer set ("Confirmed: Wednesday 1/28 at 4:00pm with Laura"), or times proposed
    if "interview_scheduled" not in b.signals or "interview_request" not in b.signals:
        slots = _slot_sentences(doc, text, original, index, " ".join([inp.subject or "", *(ev.summary or "" for ev in inp.events)]),
                                want_scheduled="interview_scheduled" not in b.signals,
                                want_proposed="interview_request" not in b.signals)
        if slots.scheduled is not None and "interview_scheduled" not in b.signals:
            ev_text, a, z = slots.scheduled
            b.add(Signal("interview_scheduled", ev_text, a, z, "isch.slot", describe("isch.slot")))
            req = b.signals.get("interview_request")
            if req is not None and req.rule == "ireq.video" and a <= req.start < z:
                # "we have planned the video interview for Tuesday 12 May at 15:00": a video call
                # at a set time, not a recorded interview still to be done
                del b.signals["interview_request"]
        if slots.proposed is not None and "interview_request" not in b.signals:
            ev_text, a, z = slots.proposed
            b.add(Signal("interview_request", ev_text, a, z, "ireq.slots", describe("ireq.slots")))

    # a cancelled panel moved to a new time is the same panel again (a move repeats panel_invite);
    # "we will reschedule it after the holiday" postpones it only (four corpora written blind agree)
    if cancelled_panel is not None and {"interview_request", "interview_scheduled"} & b.signals.keys():
        b.add(cancelled_panel)

    # "Grab 30 min here: https://calendly.com/mira/30min": a booking page asks the candidate for a time
    # (a booked meeting's mail carries links to manage it: "Cancel or reschedule: calendly.com/...")
    if not {"interview_request", "interview_scheduled", "postponed"} & b.signals.keys() and inp.direction != Direction.OUT:
        low = original[:MAX_CHARS].lower()
        link = _BOOKING_LINK.search(original[:MAX_CHARS]) if any(d in low for d in _BOOKING_HINTS) else None
        if link is not None and not _MANAGE_LINK.match(original, link.end()):
            a = original.rfind("\n", 0, link.start()) + 1
            z = original.find("\n", link.end())
            a, z = _span_text(original, a, len(original) if z < 0 else z)
            b.add(Signal("interview_request", original[a:z], a, z, "ireq.booking_link", describe("ireq.booking_link")))

    # "you told me 70k€ fixed per year. Is this still correct for you?"
    # ("Are you still excited about Helio? You'd mentioned $95-100K base. Is that still accurate?":
    # each such question is read, not only the first)
    for asked in (h for h in hits if h.type == STILL_ASKED):
        if "salary_reconfirm" in b.signals:
            break
        tt = _nlp.token_table(doc)
        si = tt.sentence_of(asked.sent_start)
        prev = doc[tt.sent_starts[si - 1] : asked.sent_start] if si > 0 else None
        if prev is not None and not _NOT_PAY.search(doc[asked.sent_start : asked.sent_end].text) and (_MONEY.search(prev.text) or any(
                c[0] == "SALARY_REF" and prev.start <= c[2] < prev.end for c in doc.user_data.get("cues", ()))):
            b.add(b.from_hit(Hit("salary_reconfirm", f"{asked.rule}+salary.before", asked.sent_start, asked.sent_end,
                                 asked.cue_start, asked.cue_end)))

    # "kindly reconfirm: (a) ... (b) that your expected salary ... still holds": asked in a list
    for ask in listed_asks:
        if ask.type not in b.signals:
            a, z = _span_text(original, ask.start, ask.end)
            rule = f"list.{ask.type}"
            b.add(Signal(ask.type, original[a:z], a, z, rule, describe(rule)))

    # a panel or a leader in the interview plan of a message that invites
    if _INVITATIONS & b.signals.keys() or _has_request(inp.events):
        pm = mentions.get(PANEL_MENTION)
        if pm is not None and "panel_invite" not in b.signals:
            b.add(b.from_hit(Hit("panel_invite", f"{pm.rule}+invitation", pm.sent_start, pm.sent_end, pm.cue_start, pm.cue_end)))
        named, them = mentions.get(LEADER_NAMED), mentions.get(MEET_THEM)
        if (named is not None and them is not None and "senior_leader_interview" not in b.signals
                and named.sent_start < them.sent_start and _sentences_apart(doc, named, them) <= 2):
            start_char, end_char = _char_span(doc, named.sent_start, named.sent_end)
            ents = _leader_entities(original, _orig(index, start_char), _orig(index, end_char))
            b.add(b.from_hit(Hit("senior_leader_interview", f"{named.rule}+{them.rule}", them.sent_start, them.sent_end,
                                 them.cue_start, them.cue_end), ents))
        lm = mentions.get(LEADER_MENTION)
        if lm is not None and "senior_leader_interview" not in b.signals:
            start_char, end_char = _char_span(doc, lm.sent_start, lm.sent_end)
            ents = _leader_entities(original, _orig(index, start_char), _orig(index, end_char))
            b.add(b.from_hit(Hit("senior_leader_interview", f"{lm.rule}+invitation", lm.sent_start, lm.sent_end,
                                 lm.cue_start, lm.cue_end), ents))

    # the sender's own role, unless the mail is a form letter that only carries their name
    if role in ("hiring_manager", "leader") and any(t.is_alpha for t in doc) and not _FORM_GREETING.search(text[:300]):
        ev_text, a, z = b.sentence_evidence()
        b.add(Signal("hiring_manager_direct", ev_text, a, z, f"sender.{role}", describe(f"sender.{role}"),
                     entities={"title": title, "person": inp.sender.name if inp.sender else None}))
        # "I lead the team and I am the hiring manager" signed "Senior Director, Regulatory Affairs":
        # a senior leader asking to meet, whichever title the text gave first
        if role == "leader" or entities.find_title(inp.signature)[1] == "leader":
            req = b.signals.get("interview_request") or b.signals.get("interview_scheduled")
            # "can you do a ride along with Steve wednesday?": the leader arranges, someone else meets
            if req is not None and req.rule not in WEAK_RULES and not _WITH_SOMEONE_ELSE.search(req.evidence):
                b.add(Signal("senior_leader_interview", req.evidence, req.start, req.end, "sender.leader_interview",
                             describe("sender.leader_interview"),
                             entities={"leader": {"title": title, "person": inp.sender.name if inp.sender else None}}))

    sigs = _precedence(dict(b.signals), b.weak, doc, inp, original)
    sigs = _with_learned(sigs, b, doc, inp, original, probs)
    return Extraction(tuple(sigs.values()), salaries, role, title)


def is_out_of_office(subject: str | None, text: str) -> bool:
    """An out-of-office reply from the employer side: job mail that carries no signal."""
    if _OUT_OF_OFFICE.search(subject or ""):
        return True
    head = text[:600]
    # the text pattern needs "access to": a cheap test first (casefold maps every character
    # the case-insensitive pattern takes for one of these letters, such as "ſ", to that letter)
    return "access to" in head.casefold() and _OUT_OF_OFFICE_TEXT.search(head) is not None


def _precedence(sigs: dict[str, Signal], weak: set[str], doc: Any, inp: ExtractInput, original: str) -> dict[str, Signal]:
    """The signals of one message after the precedence between types (``sigs`` is changed and
    returned): a decision outranks an update, an offer an interview ask, and so on."""
    if "offer" in sigs:
        # "when can we walk through it?" in an offer is not an interview request
        sigs.pop("interview_request", None)
        sigs.pop("panel_invite", None)
        sched, offer = sigs.get("interview_scheduled"), sigs["offer"]
        if sched is not None and sched.start < offer.end and offer.start < sched.end:
            sigs.pop("interview_scheduled")  # "they have confirmed the offer ... at AU$175,000": no meeting
    ir = sigs.get("interview_request")
    if ir is not None and (ir.rule == "ireq.invite" or ir.rule.endswith(CONFIRM_ONLY)) and "interview_scheduled" in sigs:
        # "we're excited to invite you ..." / "kindly confirm your availability" with the time already set
        sigs.pop("interview_request")
    rej = sigs.get("rejection")
    if rej is not None and rej.rule == "rej.closed_for_good":
        # "it was on hold since June, and now it has been cancelled completely": closed for good
        sigs.pop("role_on_hold", None)
    if "offer" in sigs or "role_on_hold" in sigs:
        # an offer to the runner-up tells of the one appointed before; a hold is not a rejection
        # even when it says "unfortunately" or "we won't be going ahead with interviews"
        sigs.pop("rejection", None)
    if "rejection" in sigs and not _INVITATIONS & sigs.keys() - {"expedite", "panel_invite"}:
        # a rejection's "the panel was impressed" or "we moved quickly" is no invitation; an
        # agency's mail may turn one client down and book the candidate with another
        for t in ("postponed", "panel_invite", "expedite"):
            sigs.pop(t, None)
    if "role_on_hold" in sigs:
        sigs.pop("postponed", None)
        panel = sigs.get("panel_invite")
        if panel is not None and panel.rule == "calendar.panel" and not _has_request(inp.events):
            sigs.pop("panel_invite")  # the panel's invitation cancelled because the role is on hold: no move of it
        ir, hold = sigs.get("interview_request"), sigs["role_on_hold"]
        if ir is not None and ir.start < hold.end and hold.start < ir.end:
            sigs.pop("interview_request")  # "I was about to schedule a first call, but the role is on hold"
    ir = sigs.get("interview_request")
    if ir is not None and ir.rule == "ireq.slots" and _has_request(inp.events):
        sigs.pop("interview_request")  # an invitation's "New time: ... Previous time: ..." describes its event
    if "keep_warm" in sigs and _KEEP_WARM_OVERRULED_BY & sigs.keys():
        sigs.pop("keep_warm")
    if ("keep_warm" in sigs and sigs["keep_warm"].rule in WEAK_RULES
            and any(c[1] == "lex.later_stage_test" for c in doc.user_data.get("cues", ()))):
        sigs.pop("keep_warm")  # "Thanks for your patience. The next step is a short take-home test."
    if is_out_of_office(inp.subject, original):
        sigs.clear()  # an out-of-office reply from the employer side: job mail, no signal
    strong = [t for t in sigs if t not in weak and t != "hiring_manager_direct"]
    for t in list(weak):
        if t in sigs and strong and not (sigs[t].rule == "kw.update_note" and set(strong) <= _ASKS_BESIDE_AN_UPDATE):
            sigs.pop(t)
    ack = sigs.get("application_received")
    if ack is not None and ack.rule in WEAK_RULES and _has_cue(doc, "LATER_STAGE"):
        sigs.pop("application_received")  # "Thank you for your application. You have progressed to ..."
    ack = sigs.get("application_received")
    if ack is not None and (_DECISIONS & sigs.keys() if ack.rule != "app.agency_submitted" else _OUTCOMES & sigs.keys()):
        # "Thank you for your application. Unfortunately ...": a decision, not an acknowledgement.
        # An agency's "I've put your CV forward" stays beside its questions (other offers, pay).
        sigs.pop("application_received")
    ack = sigs.get("application_received")
    if ack is not None and _INVITES_IN_THE_ACK.search(ack.evidence) and {"interview_request", "interview_scheduled"} & sigs.keys():
        sigs.pop("application_received")  # "We have received your candidature and we would like to meet you."
    return sigs


def _with_learned(sigs: dict[str, Signal], b: _Builder, doc: Any, inp: ExtractInput, original: str,
                  probs: dict[str, float] | None = None) -> dict[str, Signal]:
    """``sigs`` plus the learned layer's types that the rules missed (:mod:`offerwatch.extractors.learned`),
    each with the sentence it scores highest. An added type must survive the precedence and
    must not displace any signal already there: the layer only adds. ``probs``: the doc's
    probabilities when the batch was scored already."""
    from offerwatch.extractors import learned

    add = learned.additions(doc, set(sigs), probs) if doc is not None else []
    if not add:
        return sigs
    where = learned.best_sentences(doc, [t for t, _ in add])
    labels = {c[0] for c in doc.user_data.get("cues", ())}
    for type_, prob in add:
        if type_ in labels:
            continue  # the rules saw this type's cue and refused it (negated, hedged, past, someone else's)
        if type_ == "interview_scheduled" and not (inp.events or _CLOCK.search(b.text)):
            continue  # a scheduled interview has a time (DESIGN.md): the classifier cannot see one that is not there
        if type_ == "interview_scheduled" and any((ev.method or "").upper() == "CANCEL" for ev in inp.events):
            continue  # the time of a calendar cancellation is the meeting called off
        if type_ == "senior_leader_interview" and not inp.events and not _leader_to_meet(doc):
            continue  # ... and a senior-leader interview names a senior leader (not an HR title, not one away)
        if type_ == "salary_reconfirm" and "SALARY_REF" not in labels and not _MONEY.search(b.text):
            continue  # ... and a salary reconfirmation speaks of pay
        a, z = where.get(type_, (0, 0))
        a, z = _span_text(b.text, _orig(b.index, a), _orig(b.index, z))
        sig = Signal(type=type_, evidence=b.text[a:z], start=a, end=z, rule=learned.RULE,
                     label=f"text classifier (probability {prob:.2f})", strength=round(prob, 2))
        trial = _precedence({**sigs, type_: sig}, b.weak, doc, inp, original)
        if trial.keys() == {*sigs, type_}:
            sigs = trial
    return sigs


#: A leader is away when an UNAVAILABLE cue starts within this many tokens after their title (the
#: rules' :meth:`_Sentence.away` and the learned layer's :func:`_leader_to_meet` read it alike).
_AWAY_WINDOW = 16


def _leader_to_meet(doc: Any) -> bool:
    """A senior title in the text that no rule set aside: not an HR or applied-for title (HR_PREFIX
    over it), not a leader who is away ("is now unable to join")."""
    cues = doc.user_data.get("cues", ())
    covers = [(c[2], c[3]) for c in cues if c[0] == "HR_PREFIX"]
    away = [c[2] for c in cues if c[0] == "UNAVAILABLE"]
    return any(c[0] == "LEADER" and not any(a <= c[2] < z for a, z in covers) and not any(0 <= u - c[3] <= _AWAY_WINDOW for u in away)
               for c in cues)


def _prepare(inp: ExtractInput) -> tuple[str, list[int] | None]:
    raw = inp.text or ""
    if len(raw) > MAX_CHARS:
        log.info("text of %d characters cut to %d for analysis", len(raw), MAX_CHARS)
        raw = raw[:MAX_CHARS]
    text, index = normalize(raw)
    # long punctuation runs make spaCy's tokenizer quadratic; one-for-one, so index holds
    return break_runs(text), index


def extract(
    text: str,
    *,
    signature: str = "",
    subject: str = "",
    sender: Address | None = None,
    direction: Direction = Direction.IN,
    events: Sequence[CalendarEvent] = (),
) -> Extraction:
    """Signals, salary figures and the sender's role in one message's newest text.

    ``text`` is the cleaned newest reply (signature removed); ``signature`` decides the
    sender's role. Outgoing mail yields no signals but its salary figures (the owner's
    stated expectation).
    """
    return next(extract_many([ExtractInput(text, signature, subject, sender, direction, tuple(events))]))


def extract_many(items: Iterable[ExtractInput], *, batch_size: int = 64) -> Iterator[Extraction]:
    """:func:`extract` for many messages, with ``nlp.pipe`` batching (same order out as in)."""
    from offerwatch.extractors.nlp import get_nlp

    nlp = get_nlp()
    batch: list[ExtractInput] = []
    for inp in items:
        batch.append(inp)
        if len(batch) >= batch_size:
            yield from _run_batch(nlp, batch)
            batch = []
    if batch:
        yield from _run_batch(nlp, batch)


def _calendar_text(ev: CalendarEvent) -> str:
    """What an invitation tells a reader: its title, its description and who takes part
    ("Final round", "Panel: Priya Shah (VP Engineering), ..."), bounded."""
    parts = [(ev.summary or "")[:500], (getattr(ev, "description", "") or "")[:2000]]
    people = [a.name for a in (ev.attendees or ())[:30] if a.name]
    if ev.organizer is not None and ev.organizer.name:
        people.append(ev.organizer.name)
    if people:
        parts.append("With: " + "; ".join(n[:120] for n in people))
    return "\n\n".join(x for x in parts if x.strip())


def _run_batch(nlp: Any, batch: list[ExtractInput]) -> Iterator[Extraction]:
    from offerwatch.extractors import learned

    prepared = [_prepare(inp) for inp in batch]
    texts = [prepared[i][0] for i, inp in enumerate(batch) if inp.direction != Direction.OUT]
    docs: list[Any] = []
    probs: list[dict[str, float] | None] = []
    stream: Iterator[Any] = iter(())
    held = bool(texts) and learned.active()
    if held:
        # the learned layer scores the batch's docs in one call (a call per doc cost more than
        # the arithmetic), so the docs are made first; they are let go as they are finished
        docs = list(nlp.pipe(_docs_of(nlp, texts), batch_size=len(texts)))
        probs = _learned_scores(learned, docs)
        docs.reverse()
        probs.reverse()
    else:
        # each doc is finished as it leaves nlp.pipe: keeping the whole batch of docs alive would
        # let the garbage collector promote their objects and run full collections (slow)
        stream = iter(nlp.pipe(_docs_of(nlp, texts), batch_size=len(texts) or 1))
    for i, inp in enumerate(batch):
        doc = None
        p: dict[str, float] | None = None
        summaries: list[tuple[CalendarEvent, Any]] = []
        if inp.direction != Direction.OUT:
            if held:
                doc, p = docs.pop(), probs.pop()
            else:
                doc = next(stream)
            for ev in inp.events:
                calendar_text = _calendar_text(ev)
                summaries.append((ev, nlp(break_runs(normalize(calendar_text)[0])) if calendar_text else None))
        try:
            yield _finish(doc, inp, prepared[i][0], prepared[i][1], summaries, p)
        except Exception:  # one bad message must not stop a backfill
            log.exception("signal extraction failed for one message; no signals recorded for it")
            yield Extraction((), (), None, None)
        del doc, summaries


def _docs_of(nlp: Any, texts: list[str]) -> Iterator[Any]:
    """Docs of ``texts``, tokenized and not yet processed, each with its text (:data:`DOC_TEXT`)."""
    for text in texts:
        doc = nlp.make_doc(text)
        doc.user_data[DOC_TEXT] = text
        yield doc


def _learned_scores(learned: Any, docs: list[Any]) -> list[dict[str, float] | None]:
    """The learned layer's probabilities for ``docs``; when the batched call fails, None for
    each (every message is then scored on its own, and a failure costs only that message's
    signals, as before)."""
    try:
        return list(learned.scores_many(docs))
    except Exception:  # noqa: BLE001 - fall back to scoring message by message
        log.exception("the learned layer failed on a batch of %d; scoring message by message", len(docs))
        return [None] * len(docs)
