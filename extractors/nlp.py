"""The spaCy pipeline of the extractor, built once per process from the pattern files.

``spacy.blank("en")`` + ``offerwatch_lemmatizer`` (the lookup table of spacy-lookups-data,
applied to lower-cased forms, vectorised) + ``offerwatch_sentences`` (punctuation and blank
lines, vectorised) + ``offerwatch_cues`` (PhraseMatchers over LOWER, LEMMA and SHAPE fed by
``patterns/*.jsonl``, plus head-then-tail proximity rules) + ``offerwatch_signals`` (the
sentence-level combination: negation, hedging, retrospect; see ``signals.combine``).

Speed is a design goal: the whole pipeline should run at more than half the speed of the
bare tokenizer. So fixed phrases go to PhraseMatchers (their cost hardly grows with the
number of phrases), flexible rules are phrase pairs ("skip" ... "take-home" within 4 tokens)
instead of wildcard token patterns, and the per-token components work on whole arrays.
Token patterns (Matcher) are still accepted for the rare rule that needs them.

Nothing here runs at import time: spaCy is imported by :func:`get_nlp`. Patterns are
validated when they load; a broken one fails with :class:`PatternError` naming the file,
the line and the pattern id.

Pattern file format: one JSON object per line, ``#`` lines and blank lines ignored::

    {"label": "offer", "id": "offer.pleased", "description": "says they are pleased to offer",
     "pattern": "(pleased|delighted|happy) to (offer|extend) [you]"}
    {"label": "expedite", "id": "exp.skip_step", "attr": "LEMMA", "pattern": "skip",
     "then": ["take-home", "(technical|second|final) round"], "within": 4, "not_between": ["formality"]}

* ``label``: a signal type (the cue alone is evidence) or an upper-case cue class the
  combining component uses (see :data:`CUE_LABELS`).
* ``pattern``: a phrase. ``(a|b c)`` is a choice, ``[a|b]`` an optional choice; phrases are
  matched on ``attr`` (LOWER by default; LEMMA matches every inflection of the words written
  in base form; SHAPE matches token shapes such as ``d:dd``). A list of token dicts is a
  Matcher pattern (LOWER, LEMMA, IN, OP, REGEX, FUZZY; no POS/DEP on a blank pipeline).
* ``then``/``within``: the cue is the head followed, within ``within`` tokens in the same
  sentence, by one of the ``then`` phrases (same ``attr``); ``not_between`` lists words that
  must not stand between; ``not_then`` lists phrases that cancel the cue when they follow it
  directly ("head of" + "people").
* ``flags``: ``no_neg`` (a preceding negation does not cancel it; it carries its own),
  ``no_hedge`` ("if"/"once" do not cancel it), ``not_self_future`` (cancelled when someone
  says they *will* do it: "I'll send times"), ``after_number`` (counts only after a number:
  "10 am").
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offerwatch.models.domain import MESSAGE_SIGNAL_TYPES

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

log = logging.getLogger(__name__)

PATTERN_DIR = Path(__file__).with_name("patterns")

#: Cue classes the combining component understands, besides the signal types themselves.
CUE_LABELS: frozenset[str] = frozenset(
    {
        "NEG",  # negators: not, never, no, isn't ...
        "HEDGE",  # conditionals that suspend a cue: if, once, in case, until ...
        "SELF_FUTURE",  # someone will do it: I'll, we will ...
        "PAST",  # retrospective context: thanks for, feedback, after your ...
        "PANEL",  # panel / onsite / final round / campus visit ...
        "INVITE",  # forward-looking invitation context
        "LEADER",  # senior titles: VP, Director, Head of, C-level, founder ...
        "MEET",  # an interview/meeting context: meet, conversation with, interview ...
        "OTHER_PROC",  # other interviews, offers, deadlines, timeline
        "INQUIRY",  # asking without a question mark: let me know if, aware of ...
        "SALARY_REF",  # salary, compensation, expectations, base, a figure ...
        "STILL",  # re-confirmation: still, remain, reconfirm, as you mentioned ...
        "HM",  # the hiring manager (as a person in the text)
        "CALL_WANT",  # wants to call/speak/talk with you
        "TIME",  # days, dates, clock times
        "SLOT_Q",  # "work for you", "suit you", "are you free" ...
        "BOILERPLATE",  # template lines: "Need to reschedule?", "Reschedule:" links
        "ROLE_NOUN",  # the role, position, search, requisition ...
        "HOLD",  # paused, on hold, on ice, frozen (needs a ROLE_NOUN)
    }
)
FLAGS: frozenset[str] = frozenset({"no_neg", "no_hedge", "not_self_future", "after_number"})
ATTRS: frozenset[str] = frozenset({"LOWER", "LEMMA", "SHAPE"})
_KEYS = frozenset({"label", "id", "pattern", "description", "flags", "attr", "then", "within", "not_between", "not_then"})
MAX_EXPANSIONS = 5000


class PatternError(ValueError):
    """A pattern file is broken; the message names the file, line and pattern id."""


@dataclass(frozen=True)
class PatternInfo:
    id: str
    label: str
    description: str
    flags: frozenset[str]
    file: str


@dataclass(frozen=True)
class Rule:
    """One validated pattern line, phrases expanded."""

    id: str
    label: str
    attr: str
    phrases: tuple[str, ...]  # empty for token patterns
    tokens: list[dict[str, Any]] | None
    then: tuple[str, ...]
    within: int
    not_between: frozenset[str]
    not_then: tuple[str, ...]
    where: str


@dataclass(frozen=True)
class PatternSet:
    rules: tuple[Rule, ...]
    info: dict[str, PatternInfo]

    @property
    def patterns(self) -> tuple[dict[str, Any], ...]:
        """Label / pattern / id triples (one per expanded phrase), for inspection and tests."""
        out: list[dict[str, Any]] = []
        for r in self.rules:
            out.extend({"label": r.label, "pattern": p, "id": r.id} for p in r.phrases)
            if r.tokens is not None:
                out.append({"label": r.label, "pattern": r.tokens, "id": r.id})
        return tuple(out)


_SEGMENT = re.compile(r"\(([^()\[\]]*)\)|\[([^()\[\]]*)\]|([^\s()\[\]]+)")


def expand(phrase: str) -> list[str]:
    """Expand ``(a|b)`` choices and ``[a|b]`` optional choices into plain phrases.

    >>> expand("(pleased|happy) to offer [you]")
    ['pleased to offer', 'pleased to offer you', 'happy to offer', 'happy to offer you']
    """
    pos = 0
    parts: list[list[str]] = []
    for m in _SEGMENT.finditer(phrase):
        if phrase[pos : m.start()].strip():
            raise ValueError(f"unbalanced brackets near {phrase[pos:m.start()]!r}")
        pos = m.end()
        if m.group(1) is not None:
            parts.append([a.strip() for a in m.group(1).split("|")])
        elif m.group(2) is not None:
            parts.append([""] + [a.strip() for a in m.group(2).split("|")])
        else:
            parts.append([m.group(3)])
    if phrase[pos:].strip():
        raise ValueError(f"unbalanced brackets near {phrase[pos:]!r}")
    total = 1
    for p in parts:
        total *= len(p)
    if total > MAX_EXPANSIONS:
        raise ValueError(f"expands to {total} phrases (limit {MAX_EXPANSIONS})")
    out = []
    for combo in itertools.product(*parts):
        s = " ".join(w for w in combo if w).strip()
        if s:
            out.append(s)
    return out


def load_patterns(directory: Path = PATTERN_DIR) -> PatternSet:
    """Read and validate every ``*.jsonl`` under ``directory``; raise :class:`PatternError`."""
    from spacy.schemas import validate_token_pattern

    rules: list[Rule] = []
    info: dict[str, PatternInfo] = {}
    problems: list[str] = []
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise PatternError(f"no pattern files (*.jsonl) in {directory}")
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            where = f"{path.name}:{lineno}"
            try:
                obj = json.loads(stripped)
            except json.JSONDecodeError as err:
                problems.append(f"{where}: not valid JSON ({err.msg})")
                continue
            if not isinstance(obj, dict):
                problems.append(f"{where}: expected a JSON object")
                continue
            pid = obj.get("id")
            where = f"{where} (id {pid!r})"
            label, pattern = obj.get("label"), obj.get("pattern")
            unknown = set(obj) - _KEYS
            if unknown:
                problems.append(f"{where}: unknown keys {sorted(unknown)}")
            if not isinstance(pid, str) or not pid:
                problems.append(f"{where}: 'id' must be a non-empty string")
                continue
            if label not in MESSAGE_SIGNAL_TYPES and label not in CUE_LABELS:
                problems.append(f"{where}: unknown label {label!r}")
                continue
            flags = obj.get("flags", [])
            if not isinstance(flags, list) or not set(flags) <= FLAGS:
                problems.append(f"{where}: 'flags' must be a list of {sorted(FLAGS)}")
                continue
            attr = obj.get("attr", "LOWER")
            if attr not in ATTRS:
                problems.append(f"{where}: 'attr' must be one of {sorted(ATTRS)}")
                continue
            then = obj.get("then", [])
            not_then = obj.get("not_then", [])
            not_between = obj.get("not_between", [])
            within = obj.get("within", 4)
            if not all(isinstance(x, list) and all(isinstance(s, str) and s.strip() for s in x) for x in (then, not_then, not_between)):
                problems.append(f"{where}: 'then', 'not_then' and 'not_between' must be lists of phrases")
                continue
            if not isinstance(within, int) or not 0 <= within <= 20:
                problems.append(f"{where}: 'within' must be an integer from 0 to 20")
                continue
            phrases: list[str] = []
            tokens: list[dict[str, Any]] | None = None
            try:
                if isinstance(pattern, str):
                    if not pattern.strip():
                        raise ValueError("empty phrase")
                    if attr != "SHAPE" and pattern != pattern.lower():
                        raise ValueError("phrases match lower-cased text; write them in lower case")
                    phrases = expand(pattern)
                    then_x = [p for t in then for p in expand(t)]
                    not_then_x = [p for t in not_then for p in expand(t)]
                elif isinstance(pattern, list) and pattern:
                    errors = validate_token_pattern(pattern)
                    if errors:
                        raise ValueError(f"invalid token pattern: {'; '.join(map(str, errors))}")
                    bad = [k for tok in pattern for k in tok if k.upper() in {"POS", "TAG", "DEP", "MORPH", "ENT_TYPE"}]
                    if bad:
                        raise ValueError(f"{bad[0]} never matches on a blank pipeline (no tagger/parser)")
                    if then or not_then:
                        raise ValueError("'then'/'not_then' go with phrase patterns only")
                    tokens, then_x, not_then_x = pattern, [], []
                else:
                    raise ValueError("'pattern' must be a phrase string or a list of token dicts")
            except ValueError as err:
                problems.append(f"{where}: {err}")
                continue
            prev = info.get(pid)
            if prev is not None and prev.label != label:
                problems.append(f"{where}: id already used with label {prev.label!r} in {prev.file}")
                continue
            description = obj.get("description") or (prev.description if prev else "") or pid
            info[pid] = PatternInfo(pid, label, str(description), frozenset(flags) | (prev.flags if prev else frozenset()), path.name)
            rules.append(
                Rule(pid, label, attr, tuple(phrases), tokens, tuple(then_x), within,
                     frozenset(w.lower() for w in not_between), tuple(not_then_x), where)
            )
    if problems:
        raise PatternError("invalid pattern file(s):\n  " + "\n  ".join(problems))
    return PatternSet(tuple(rules), info)


_lock = threading.Lock()
_nlp: Language | None = None
_patterns: PatternSet | None = None
_info: dict[str, PatternInfo] = {}


def current_info() -> dict[str, PatternInfo]:
    """Pattern metadata (flags, descriptions) of the pipeline built last."""
    return _info


def get_patterns() -> PatternSet:
    get_nlp()
    assert _patterns is not None
    return _patterns


def get_nlp() -> Language:
    """The process-wide pipeline, built on first use (thread-safe)."""
    global _nlp, _patterns
    if _nlp is None:
        with _lock:
            if _nlp is None:
                patterns = load_patterns()
                _nlp = build_nlp(patterns)
                _patterns = patterns
    return _nlp


def build_nlp(patterns: PatternSet) -> Language:
    import spacy

    global _info
    _info = dict(patterns.info)
    _register_components()
    nlp = spacy.blank("en")
    nlp.max_length = 2_000_000  # the text is capped before; never trip spaCy's own limit
    nlp.add_pipe("offerwatch_lemmatizer")
    nlp.add_pipe("offerwatch_sentences")
    cues = nlp.add_pipe("offerwatch_cues")
    nlp.add_pipe("offerwatch_signals")
    cues.add_rules(nlp, patterns.rules)  # type: ignore[attr-defined]
    return nlp


_registered = False


def _register_components() -> None:
    global _registered
    if _registered:
        return
    from spacy.language import Language

    from offerwatch.extractors import signals

    @Language.factory("offerwatch_lemmatizer")
    def _lemmatizer(nlp: Language, name: str) -> LookupLemmatizer:
        return LookupLemmatizer(nlp)

    @Language.component("offerwatch_sentences")
    def _sentences(doc: Any) -> Any:
        return mark_sentences(doc)

    @Language.factory("offerwatch_cues")
    def _cues(nlp: Language, name: str) -> CueMatcher:
        return CueMatcher(nlp)

    @Language.component("offerwatch_signals")
    def _signals(doc: Any) -> Any:
        return signals.combine(doc)

    _registered = True


class LookupLemmatizer:
    """Lookup lemmas (spacy-lookups-data's English ``lemma_lookup`` table) of lower-cased forms.

    The same table spaCy's ``Lemmatizer(mode="lookup")`` uses, applied to LOWER so that
    "Interviewing" and "interviewing" get the same lemma, and vectorised over the doc with a
    cache of forms seen before: a per-token Python loop would cost more than the tokenizer.
    """

    def __init__(self, nlp: Language) -> None:
        from spacy.lookups import load_lookups

        self.table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
        self.strings = nlp.vocab.strings
        self.cache: dict[int, int] = {}

    def lemma_of(self, lower: int) -> int:
        got = self.cache.get(lower)
        if got is None:
            form = self.strings[lower]
            lemma = self.table.get(form, form)
            got = self.strings.add(lemma)
            if len(self.cache) < 500_000:
                self.cache[lower] = got
        return got

    def __call__(self, doc: Any) -> Any:
        import numpy as np
        from spacy.attrs import LEMMA, LOWER

        if not len(doc):
            return doc
        lowers = doc.to_array(LOWER)
        doc.user_data["_ow_lower"] = lowers
        cache = self.cache
        lemmas = [cache.get(h) or self.lemma_of(h) for h in lowers.tolist()]
        doc.from_array([LEMMA], np.array(lemmas, dtype=np.uint64).reshape(-1, 1))
        return doc


_SENT_END: frozenset[str] = frozenset({".", "!", "?", "...", "…", "。", "！", "？", "?!", "!!", "!!!", "??", "???"})
MAX_SENT_TOKENS = 300


def mark_sentences(doc: Any) -> Any:
    """Sentence starts after ``. ! ?`` and after blank lines, at most 300 tokens apart.

    Mail has paragraphs and list items without a full stop, so a blank line ends a sentence;
    the cap keeps a 50,000-character "sentence" from making per-sentence rules expensive.
    Also leaves a small per-token table in ``doc.user_data["_ow"]`` (lower-case hashes,
    sentence ids, clause boundaries, question marks) that the rules read instead of creating
    Token objects.
    """
    import numpy as np
    from spacy.attrs import IS_SPACE, LOWER, ORTH, SENT_START, SPACY

    n = len(doc)
    if not n:
        doc.user_data["_ow"] = TokenTable([], [], [], [], [0])
        return doc
    arr = doc.to_array([ORTH, SPACY, IS_SPACE])
    lowers = doc.user_data.pop("_ow_lower", None)
    if lowers is None:
        lowers = doc.to_array(LOWER)
    h = _hashes(doc.vocab.strings)
    ends, bset, dash, q = h["ends_set"], h["boundary_set"], h["dash"], h["q"]
    strings = doc.vocab.strings
    lower_l = lowers.tolist()
    starts = [-1] * n
    starts[0] = 1
    sent_id = [0] * n
    boundary = [False] * n
    questions: list[int] = []
    sent_starts = [0]
    sid = 0
    run = 0
    new_sent = False
    for i, (orth, trailing, space) in enumerate(arr.tolist()):
        low = lower_l[i]
        if i and (new_sent or run >= MAX_SENT_TOKENS):
            starts[i] = 1
            sid += 1
            sent_starts.append(i)
            run = 0
        run += 1
        sent_id[i] = sid
        new_sent = orth in ends
        if low in bset:
            boundary[i] = True
        elif low == dash and trailing:
            boundary[i] = True
        if orth == q:
            questions.append(i)
        if space:
            got = _space_cache.get(orth)
            if got is None:
                text = strings[orth]
                got = (text.count("\n") >= 1, text.count("\n") >= 2)
                _space_cache[orth] = got
            if got[0]:
                boundary[i] = True
            if got[1]:
                new_sent = True
    doc.from_array([SENT_START], np.array(starts, dtype=np.int64).astype(np.uint64).reshape(-1, 1))
    doc.user_data["_ow"] = TokenTable(lower_l, sent_id, boundary, questions, sent_starts)
    return doc


@dataclass
class TokenTable:
    """Per-token facts the rules need, as plain lists (fast to index from Python)."""

    lower: list[int]
    sent_id: list[int]
    boundary: list[bool]
    questions: list[int]  # token indices of "?"
    sent_starts: list[int]


#: Words and marks that end a clause for negation and hedging scope.
CLAUSE_BOUNDARIES: frozenset[str] = frozenset(
    {",", ";", ":", "—", "–", "(", ")", "!", "?", ".", "but", "however", "although", "though", "whereas",
     "because", "so", "and", "while", "unfortunately", "instead"}
)
_hash_cache: dict[int, dict[str, Any]] = {}
_space_cache: dict[int, tuple[bool, bool]] = {}


def _hashes(strings: Any) -> dict[str, Any]:
    import numpy as np

    key = id(strings)
    got = _hash_cache.get(key)
    if got is None:
        got = {
            "ends_set": frozenset(strings.add(x) for x in _SENT_END),
            "boundary_set": frozenset(strings.add(x) for x in CLAUSE_BOUNDARIES),
            "dash": strings.add("-"),
            "q": strings.add("?"),
        }
        _hash_cache[key] = got
    return got


def token_table(doc: Any) -> TokenTable:
    tt = doc.user_data.get("_ow")
    if tt is None:
        mark_sentences(doc)
        tt = doc.user_data["_ow"]
    return tt


class CueMatcher:
    """Finds the cues of every rule: PhraseMatchers per attribute, a Matcher for token
    patterns, and head-then-tail pairing. Writes ``doc.spans["cues"]`` (label = cue class or
    signal type, span id = rule id)."""

    def __init__(self, nlp: Language) -> None:
        from spacy.matcher import Matcher, PhraseMatcher

        self.vocab = nlp.vocab
        self.phrase = {a: PhraseMatcher(nlp.vocab, attr=a) for a in ATTRS}
        self.matcher = Matcher(nlp.vocab, validate=True)
        self.rules: dict[str, Rule] = {}  # key -> rule
        self.not_between: dict[str, frozenset[int]] = {}
        self.after_number: set[str] = set()
        self.n_token_rules = 0

    def add_rules(self, nlp: Language, rules: tuple[Rule, ...]) -> None:
        lemmatizer = nlp.get_pipe("offerwatch_lemmatizer")
        for n, rule in enumerate(rules):
            key = f"{n}"
            self.rules[key] = rule
            if rule.not_between:
                self.not_between[key] = frozenset(nlp.vocab.strings.add(w) for w in rule.not_between)
            if "after_number" in _info.get(rule.id, _EMPTY).flags:
                self.after_number.add(rule.id)
            if rule.tokens is not None:
                self.matcher.add(f"H{key}", [rule.tokens])
                self.n_token_rules += 1
                continue
            for role, phrases in (("H", rule.phrases), ("T", rule.then), ("X", rule.not_then)):
                if not phrases:
                    continue
                docs = list(nlp.tokenizer.pipe(phrases))
                if rule.attr == "LEMMA":
                    docs = [lemmatizer(d) for d in docs]
                self.phrase[rule.attr].add(f"{role}{key}", docs)

    def __call__(self, doc: Any) -> Any:
        strings = self.vocab.strings
        tt = token_table(doc)
        heads: list[tuple[str, int, int]] = []
        tails: dict[str, list[tuple[int, int]]] = {}
        cancels: dict[str, list[int]] = {}
        matches = []
        for pm in self.phrase.values():
            if len(pm):
                matches.extend(pm(doc))
        if self.n_token_rules:
            matches.extend(self.matcher(doc))
        for mid, start, end in matches:
            name = strings[mid]
            role, key = name[0], name[1:]
            if role == "H":
                heads.append((key, start, end))
            elif role == "T":
                tails.setdefault(key, []).append((start, end))
            else:
                cancels.setdefault(key, []).append(start)
        # a fixed order for cues at the same place: the order of the rules in the pattern files
        heads.sort(key=lambda h: (h[1], h[2], int(h[0])))
        cues: list[tuple[str, str, int, int]] = []
        seen: set[tuple[str, int, int]] = set()
        sent_id, lower = tt.sent_id, tt.lower
        last = len(sent_id) - 1
        for key, start, end in heads:
            rule = self.rules[key]
            if key in cancels and any(end <= c <= end + 1 for c in cancels[key]):
                continue
            if rule.id in self.after_number and not (start > 0 and doc[start - 1].like_num):
                continue
            if rule.then:
                best = None
                sid = sent_id[start]
                nb = self.not_between.get(key)
                for ts, te in tails.get(key, ()):
                    if end <= ts <= end + rule.within and (best is None or ts < best[0]) and sent_id[min(ts, last)] == sid:
                        if nb and any(lower[i] in nb for i in range(end, ts)):
                            continue
                        best = (ts, te)
                if best is None:
                    continue
                end = best[1]
            k = (rule.id, start, end)
            if k in seen:
                continue
            seen.add(k)
            cues.append((rule.label, rule.id, start, end))
        doc.user_data["cues"] = cues
        return doc


def cue_spans(doc: Any) -> list[Any]:
    """The cues of a processed doc as spaCy Spans (label = cue class, id = rule id), for debugging."""
    from spacy.tokens import Span

    return [Span(doc, s, e, label=label, span_id=rid) for label, rid, s, e in doc.user_data.get("cues", ())]


@dataclass(frozen=True)
class _Empty:
    flags: frozenset[str] = frozenset()


_EMPTY = _Empty()


def describe(rule_id: str) -> str:
    """The human-readable label of a pattern id (for ``offerwatch scan``)."""
    info = _info or get_patterns().info
    pi = info.get(rule_id)
    return pi.description if pi else rule_id
