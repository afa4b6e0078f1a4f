"""The spaCy pipeline of the extractor, built once per process from the pattern files.

``spacy.blank("en")`` + ``offerwatch_cues`` (one PhraseMatcher pass over LOWER and NORM fed by
``patterns/*.jsonl`` that also finds the sentence and clause breaks, plus head-then-tail
proximity rules) + ``offerwatch_signals`` (the sentence-level combination: negation,
hedging, retrospect; see ``signals.combine``). The lexeme NORM is set to the lookup lemma
of the lower-case form (spacy-lookups-data), so LEMMA rules cost nothing per token.

Speed is a design goal: the whole pipeline should run at more than half the speed of the
bare tokenizer. So fixed phrases go to PhraseMatchers (their cost hardly grows with the
number of phrases), flexible rules are phrase pairs ("skip" ... "take-home" within 4 tokens)
instead of wildcard token patterns, and nothing loops over every token in Python: the
structure (sentence ends, blank lines, clause words) comes out of the same matcher pass.
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

import bisect
import gc
import itertools
import json
import logging
import re
import threading
import weakref
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
        "ASK_IF",  # a reported question ("asked if she could call you"): its "if" hedges nothing
        "SELF_FUTURE",  # someone will do it: I'll, we will ...
        "PAST",  # retrospective context: thanks for, feedback, after your ...
        "PANEL",  # panel / onsite / final round / campus visit ...
        "INVITE",  # forward-looking invitation context
        "LEADER",  # senior titles: VP, Director, Head of, C-level, founder ...
        "MEET",  # an interview/meeting context: meet, conversation with, interview ...
        "OTHER_MEETING",  # the employer's own meeting (board, client, investor): not one with the candidate
        "OTHER_PROC",  # other interviews, offers, deadlines, timeline
        "INQUIRY",  # asking without a question mark: let me know if, aware of ...
        "SALARY_REF",  # salary, compensation, expectations, base, a figure ...
        "STILL",  # re-confirmation: still, remain, reconfirm, as you mentioned ...
        "HM",  # the hiring manager (as a person in the text)
        "CALL_WANT",  # wants to call/speak/talk with you
        "TIME",  # days, dates, clock times
        "SLOT_Q",  # "work for you", "suit you", "are you free" ...
        "BOILERPLATE",  # template lines: "Need to reschedule?", "Reschedule:" links
        "HOLD",  # paused, on hold, on ice, frozen (needs a POSITION, see combos.toml)
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
class Combo:
    """A signal made of cue families found together in one clause (``patterns/combos.toml``).

    ``all`` lists two or three cue classes that must each have a cue in the same sentence,
    within ``window`` tokens from the first cue's start to the last one's end, in any order
    (``ordered``: in the listed order). ``scope = "clause"`` also wants no clause boundary
    (comma, "and", "but", a line break ...) between them. ``unless`` classes cancel the combo
    when one stands in its clause (from the clause start before the first cue to two tokens
    after the last); ``unless_before`` classes cancel it anywhere earlier in the sentence
    ("If you have not heard from us, please assume ..."). ``mood``: "statement" refuses
    questions, "question" wants one (a question mark or an INQUIRY cue), "any" takes both.
    """

    type: str
    id: str
    description: str
    all: tuple[str, ...]
    window: int
    scope: str
    ordered: bool
    unless: frozenset[str]
    unless_before: frozenset[str]
    mood: str
    where: str


@dataclass(frozen=True)
class PatternSet:
    rules: tuple[Rule, ...]
    info: dict[str, PatternInfo]
    combos: tuple[Combo, ...] = ()
    classes: dict[str, str] | None = None

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
        s = _CONTRACTION.sub(r"'\1", " ".join(w for w in combo if w).strip())
        if s:
            out.append(s)
    return out


#: "'ve" and "'m" written apart ("(we|they) ['ve]") are joined to the word before: the tokenizer
#: keeps "we've" as "we" + "'ve" but splits a lone "'ve" into "'" + "ve".
_CONTRACTION = re.compile(r" '(ve|m)\b")


_COMBO_KEYS = frozenset({"type", "id", "description", "all", "window", "scope", "ordered", "unless", "unless_before", "mood"})
_CLASS_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def load_combos(path: Path, problems: list[str]) -> tuple[tuple[Combo, ...], dict[str, str]]:
    """Read ``combos.toml``: ``[classes]`` (cue families: NAME = "what it means") and
    ``[[combo]]`` tables (see :class:`Combo`). Problems are appended, not raised."""
    import tomllib

    if not path.is_file():
        return (), {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        problems.append(f"{path.name}: not valid TOML ({err})")
        return (), {}
    classes: dict[str, str] = {}
    for name, desc in (raw.get("classes") or {}).items():
        if not _CLASS_NAME.match(name) or not isinstance(desc, str) or not desc.strip():
            problems.append(f"{path.name}: [classes] {name!r} needs an UPPER_CASE name and a description")
            continue
        if name in CUE_LABELS or name in MESSAGE_SIGNAL_TYPES:
            problems.append(f"{path.name}: [classes] {name!r} is already a built-in label")
            continue
        classes[name] = desc
    known = CUE_LABELS | MESSAGE_SIGNAL_TYPES | classes.keys()
    combos: list[Combo] = []
    seen: set[str] = set()
    for n, c in enumerate(raw.get("combo") or [], 1):
        where = f"{path.name}: combo #{n} (id {c.get('id')!r})"
        unknown = set(c) - _COMBO_KEYS
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
            continue
        cid, ctype = c.get("id"), c.get("type")
        if not isinstance(cid, str) or not cid or cid in seen:
            problems.append(f"{where}: 'id' must be a unique non-empty string")
            continue
        seen.add(cid)
        if ctype not in MESSAGE_SIGNAL_TYPES:
            problems.append(f"{where}: unknown signal type {ctype!r}")
            continue
        parts = c.get("all")
        if not isinstance(parts, list) or not 2 <= len(parts) <= 3 or not all(isinstance(x, str) for x in parts):
            problems.append(f"{where}: 'all' must list two or three cue classes")
            continue
        lists = {k: c.get(k, []) for k in ("unless", "unless_before")}
        if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in lists.values()):
            problems.append(f"{where}: 'unless' and 'unless_before' must be lists of cue classes")
            continue
        bad = [x for x in [*parts, *lists["unless"], *lists["unless_before"]] if x not in known]
        if bad:
            problems.append(f"{where}: unknown cue class {bad[0]!r} (declare it under [classes])")
            continue
        window, scope, mood = c.get("window", 8), c.get("scope", "clause"), c.get("mood", "any")
        if not isinstance(window, int) or not 1 <= window <= 40:
            problems.append(f"{where}: 'window' must be an integer from 1 to 40")
            continue
        if scope not in ("clause", "sentence") or mood not in ("any", "statement", "question"):
            problems.append(f"{where}: 'scope' is clause|sentence and 'mood' any|statement|question")
            continue
        combos.append(Combo(ctype, cid, str(c.get("description") or cid), tuple(parts), window, scope,
                            bool(c.get("ordered", False)), frozenset(lists["unless"]),
                            frozenset(lists["unless_before"]), mood, where))
    return tuple(combos), classes


def load_patterns(directory: Path = PATTERN_DIR) -> PatternSet:
    """Read and validate every ``*.jsonl`` (and ``combos.toml``) under ``directory``;
    raise :class:`PatternError`."""
    from spacy.schemas import validate_token_pattern

    rules: list[Rule] = []
    info: dict[str, PatternInfo] = {}
    problems: list[str] = []
    combos, classes = load_combos(directory / "combos.toml", problems)
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
            if not isinstance(label, str) or (
                    label not in MESSAGE_SIGNAL_TYPES and label not in CUE_LABELS and label not in classes):
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
                    if any(k.upper() == "NORM" for tok in pattern for k in tok):
                        raise ValueError("NORM is the lemma of the lower-case form in this pipeline; write LEMMA")
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
    used = {lab for r in rules for lab in [r.label]}
    for name in classes:
        if name not in used:
            problems.append(f"combos.toml: class {name!r} has no pattern (give it lines in a .jsonl file)")
    for combo in combos:
        if combo.id in info:
            problems.append(f"{combo.where}: id already used by a pattern in {info[combo.id].file}")
            continue
        info[combo.id] = PatternInfo(combo.id, combo.type, combo.description, frozenset(), "combos.toml")
    if problems:
        raise PatternError("invalid pattern file(s):\n  " + "\n  ".join(problems))
    return PatternSet(tuple(rules), info, combos, classes)


_lock = threading.Lock()
_nlp: Language | None = None
_patterns: PatternSet | None = None
_info: dict[str, PatternInfo] = {}
_combos: tuple[Combo, ...] = ()


def current_info() -> dict[str, PatternInfo]:
    """Pattern metadata (flags, descriptions) of the pipeline built last."""
    return _info


def current_combos() -> tuple[Combo, ...]:
    """The clause-level combinations (``combos.toml``) of the pipeline built last."""
    return _combos


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
                # The pipeline lives as long as the process: out of the collector's sight, its
                # hundreds of thousands of objects are not rescanned by every full collection.
                gc.freeze()
    return _nlp


def build_nlp(patterns: PatternSet) -> Language:
    import spacy

    global _info, _combos
    _info = dict(patterns.info)
    _combos = patterns.combos
    _register_components()
    nlp = spacy.blank("en")
    nlp.max_length = 2_000_000  # the text is capped before; never trip spaCy's own limit
    set_lexeme_norms(nlp)
    add_title_abbreviations(nlp)
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

    @Language.factory("offerwatch_cues")
    def _cues(nlp: Language, name: str) -> CueMatcher:
        return CueMatcher(nlp)

    @Language.component("offerwatch_signals")
    def _signals(doc: Any) -> Any:
        return signals.combine(doc)

    _registered = True


_lemma_tables: dict[str, dict[str, str]] = {}


def lemma_table() -> dict[str, str]:
    """English lookup lemmas of lower-case forms (loaded once per process).

    The lower-case entries of spacy-lookups-data's English ``lemma_lookup`` table, shipped in
    ``extractors/data`` (186 KB) instead of depending on that 103 MB package for one table; see
    ``extractors/data/LICENSE-lemma-lookup.txt`` and ``tests/data/make_lemma_data.py``. A form
    that is absent is its own lemma, so ``table.get(form, form)`` is the lemma.
    """
    table = _lemma_tables.get("en")
    if table is None:
        import gzip
        from importlib import resources

        data = resources.files("offerwatch.extractors").joinpath("data", "en_lemma_lookup.tsv.gz").read_bytes()
        table = dict(line.split("\t", 1) for line in gzip.decompress(data).decode("utf-8").splitlines())
        _lemma_tables["en"] = table
    return table


def set_lexeme_norms(nlp: Language) -> None:
    """Make NORM the lookup lemma of the lower-case form, and line breaks canonical.

    NORM is a lexeme attribute: it is computed once per distinct string when the vocabulary
    first sees it, not per token, so a PhraseMatcher on NORM matches lemmas ("receive" finds
    "received", "Receiving") at no cost per message. Whitespace tokens get the norm "\\n"
    (one line break) or "\\n\\n" (a blank line) so the same PhraseMatcher pass also finds
    clause and sentence breaks. The tokenizer's special cases lose their own NORM values
    ("n't" -> "not") so that every token's NORM is its lexeme's.
    """
    from spacy.attrs import NORM
    from spacy.tokenizer import Tokenizer

    table = lemma_table()

    def norm(text: str) -> str:
        if text.isspace():
            n = text.count("\n")
            return "\n\n" if n >= 2 else "\n" if n else text
        low = text.lower()
        return table.get(low, low)

    nlp.vocab.lex_attr_getters[NORM] = norm  # type: ignore[attr-defined]  # in spaCy's Vocab, missing from its stub
    for lex in nlp.vocab:
        lex.norm_ = norm(lex.orth_)
    tok = nlp.tokenizer
    assert isinstance(tok, Tokenizer)  # Language types it as any callable
    tok.rules = {k: [{a: v for a, v in t.items() if a not in (NORM, "NORM")} for t in toks] for k, toks in tok.rules.items()}


#: Titles written before a name that spaCy's English exceptions lack ("Eng. Khalid Al Suwaidi,
#: Head of SCADA"): split off, their full stop ended the sentence in the middle of a name.
TITLE_ABBREVIATIONS = ("Eng.", "Engr.", "Hon.", "Adv.", "Atty.", "Capt.", "Col.", "Dra.", "Sra.", "Ing.")


def add_title_abbreviations(nlp: Language) -> None:
    """Keep :data:`TITLE_ABBREVIATIONS` one token each, as spaCy keeps "Dr." and "Prof."."""
    from spacy.attrs import ORTH
    from spacy.tokenizer import Tokenizer

    tok = nlp.tokenizer
    assert isinstance(tok, Tokenizer)  # Language types it as any callable
    for abbr in TITLE_ABBREVIATIONS:
        tok.add_special_case(abbr, [{ORTH: abbr}])


class LookupLemmatizer:
    """Lookup lemmas (spacy-lookups-data's English ``lemma_lookup`` table) of lower-cased forms.

    Only needed for token patterns (Matcher) that use LEMMA: phrase rules match lemmas
    through the lexeme NORM (see :func:`set_lexeme_norms`), which costs nothing per token.
    """

    def __init__(self, nlp: Language) -> None:
        self.table = lemma_table()
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
        cache = self.cache
        lemmas = [cache.get(h) or self.lemma_of(h) for h in doc.to_array(LOWER).tolist()]
        doc.from_array([LEMMA], np.array(lemmas, dtype=np.uint64).reshape(-1, 1))
        return doc


_SENT_END: frozenset[str] = frozenset({".", "!", "?", "...", "…", "。", "！", "？", "?!", "!!", "!!!", "??", "???"})
MAX_SENT_TOKENS = 300

#: Words and marks that end a clause for negation and hedging scope.
CLAUSE_BOUNDARIES: frozenset[str] = frozenset(
    {",", ";", ":", "—", "–", "(", ")", "!", "?", ".", "but", "however", "although", "though", "whereas",
     "because", "so", "and", "while", "unfortunately", "instead"}
)

# Structure marks found by the same PhraseMatcher pass as the cues (bit flags).
_END, _BOUND, _DASH, _QMARK = 1, 2, 4, 8


def _structure_marks() -> tuple[dict[str, int], dict[str, int]]:
    """Token -> bits, for the LOWER matcher (punctuation, clause words) and the NORM one (line breaks).

    A sentence ends after ``. ! ?`` and after a blank line; a clause ends at the words and
    marks of :data:`CLAUSE_BOUNDARIES`, at a line break and at a dash followed by a space.
    """
    lower: dict[str, int] = {}
    for t in _SENT_END:
        lower[t] = lower.get(t, 0) | _END
    for t in CLAUSE_BOUNDARIES:
        lower[t] = lower.get(t, 0) | _BOUND
    lower["-"] = lower.get("-", 0) | _DASH
    lower["?"] = lower.get("?", 0) | _QMARK
    return lower, {"\n": _BOUND, "\n\n": _BOUND | _END}


class TokenTable:
    """What the rules need to know about a doc's tokens besides the cues: sentence starts,
    clause boundaries (indexable by token: truthy at a boundary), question marks, and lazily
    the lower-case hashes. Read instead of creating Token objects."""

    __slots__ = ("_doc", "sent_starts", "boundary", "questions", "_lower", "_sent_id")

    def __init__(self, doc: Any, sent_starts: list[int], boundary: bytearray, questions: list[int]) -> None:
        self._doc = weakref.ref(doc)  # no reference cycle through doc.user_data
        self.sent_starts = sent_starts
        self.boundary = boundary
        self.questions = questions  # token indices of "?"
        self._lower: list[int] | None = None
        self._sent_id: list[int] | None = None

    @property
    def lower(self) -> list[int]:
        if self._lower is None:
            from spacy.attrs import LOWER

            doc = self._doc()
            self._lower = doc.to_array(LOWER).tolist() if doc is not None and len(doc) else []
        return self._lower

    @property
    def sent_id(self) -> list[int]:
        if self._sent_id is None:
            ids: list[int] = []
            bounds = self.sent_starts + [len(self.boundary)]
            for i in range(len(self.sent_starts)):
                ids.extend([i] * (bounds[i + 1] - bounds[i]))
            self._sent_id = ids
        return self._sent_id

    def sentence_of(self, i: int) -> int:
        return bisect.bisect_right(self.sent_starts, i) - 1


def token_table(doc: Any) -> TokenTable:
    tt = doc.user_data.get("_ow")
    if tt is None:
        from offerwatch.extractors.nlp import get_nlp

        get_nlp().get_pipe("offerwatch_cues")(doc)
        tt = doc.user_data["_ow"]
    return tt


def sentence_starts(breaks: list[int], n: int) -> list[int]:
    """Sentence starts from the token indices after a sentence end, at most 300 tokens apart.

    The cap keeps a 50,000-character "sentence" from making per-sentence rules expensive.
    """
    starts = [0]
    if not n:
        return starts
    for b in breaks:
        if b >= n or b <= starts[-1]:
            continue
        while b - starts[-1] > MAX_SENT_TOKENS:
            starts.append(starts[-1] + MAX_SENT_TOKENS)
        starts.append(b)
    while n - starts[-1] > MAX_SENT_TOKENS:
        starts.append(starts[-1] + MAX_SENT_TOKENS)
    return starts


def sentences(doc: Any) -> list[Any]:
    """The sentences the rules use, as Spans (the pipeline does not set ``doc.sents``)."""
    starts = token_table(doc).sent_starts
    bounds = starts + [len(doc)]
    return [doc[bounds[i] : bounds[i + 1]] for i in range(len(starts)) if bounds[i] < bounds[i + 1]]


_HEAD, _TAIL, _CANCEL, _MARK = 0, 1, 2, 3


class PhraseKeys:
    """The attribute values a PhraseMatcher keys a phrase by, read word by word.

    The rules' choices expand to about 65,000 phrases made of a few thousand words. A Doc per
    phrase (what ``PhraseMatcher.add`` is usually given) cost 0.65 s and left 14 MB of freed,
    fragmented memory with the process for its whole life; the tokenizer splits every
    whitespace-separated word on its own, so tokenizing each distinct word once and joining
    their values gives the same keys (``tests/test_signals_speed.py`` compares them) in a
    third of the time.
    """

    def __init__(self, nlp: Language) -> None:
        from spacy.attrs import LOWER, NORM, SHAPE

        self.tokenizer = nlp.tokenizer
        self.attr_ids = {"LOWER": LOWER, "LEMMA": NORM, "SHAPE": SHAPE}
        self._words: dict[tuple[str, str], list[int]] = {}

    def of(self, phrase: str, attr: str) -> list[int]:
        """The key of ``phrase`` matched on ``attr`` (LOWER, LEMMA or SHAPE)."""
        out: list[int] = []
        for word in phrase.split():
            values = self._words.get((word, attr))
            if values is None:
                doc = self.tokenizer(word)
                values = self._words[word, attr] = [int(v) for v in doc.to_array([self.attr_ids[attr]])]
            out.extend(values)
        return out


class CueMatcher:
    """Finds the cues of every rule and the sentence/clause structure in one matching pass.

    PhraseMatchers on LOWER (with punctuation and clause words as structure marks), on NORM
    (lemma rules, and line breaks), on SHAPE (only if a rule uses it), a Matcher for token
    patterns (only if there are any), then head-then-tail pairing. Writes
    ``doc.user_data["cues"]`` (label, rule id, start, end) and ``doc.user_data["_ow"]``
    (:class:`TokenTable`).
    """

    def __init__(self, nlp: Language) -> None:
        from spacy.matcher import Matcher, PhraseMatcher

        self.vocab = nlp.vocab
        self.phrase = {"LOWER": PhraseMatcher(nlp.vocab, attr="LOWER"), "LEMMA": PhraseMatcher(nlp.vocab, attr="NORM"),
                       "SHAPE": PhraseMatcher(nlp.vocab, attr="SHAPE")}
        self.matcher = Matcher(nlp.vocab, validate=True)
        self.rules: list[Rule] = []
        self.kinds: dict[int, tuple[int, int]] = {}  # match id -> (_HEAD/_TAIL/_CANCEL, rule index) or (_MARK, bits)
        self.not_between: dict[int, frozenset[int]] = {}
        self.after_number: set[str] = set()
        self.n_token_rules = 0
        self.lemmatizer: LookupLemmatizer | None = None
        self.simple: list[bool] = []
        from spacy.tokens import Doc

        for pm, marks in zip((self.phrase["LOWER"], self.phrase["LEMMA"]), _structure_marks(), strict=True):
            by_bits: dict[int, list[str]] = {}
            for tok, bits in marks.items():
                by_bits.setdefault(bits, []).append(tok)
            for bits, toks in sorted(by_bits.items()):
                name = f"S{bits}"
                pm.add(name, [Doc(nlp.vocab, words=[t], spaces=[False]) for t in sorted(toks)])
                self.kinds[nlp.vocab.strings[name]] = (_MARK, bits)

    def add_rules(self, nlp: Language, rules: tuple[Rule, ...]) -> None:
        strings = nlp.vocab.strings
        keys = PhraseKeys(nlp)
        for n, rule in enumerate(rules):
            self.rules.append(rule)
            if rule.not_between:
                self.not_between[n] = frozenset(strings.add(w) for w in rule.not_between)
            if "after_number" in _info.get(rule.id, _EMPTY).flags:
                self.after_number.add(rule.id)
            if rule.tokens is not None:
                self.matcher.add(f"H{n}", [rule.tokens])
                self.kinds[strings[f"H{n}"]] = (_HEAD, n)
                self.n_token_rules += 1
                if any(k.upper() == "LEMMA" for tok in rule.tokens for k in tok) and self.lemmatizer is None:
                    self.lemmatizer = LookupLemmatizer(nlp)
                continue
            for role, kind, phrases in (("H", _HEAD, rule.phrases), ("T", _TAIL, rule.then), ("X", _CANCEL, rule.not_then)):
                if not phrases:
                    continue
                # PhraseMatcher.add takes a key (a sequence of attribute values) where its stub says Doc
                self.phrase[rule.attr].add(f"{role}{n}", [keys.of(phrase, rule.attr) for phrase in phrases])  # type: ignore[misc]
                self.kinds[strings[f"{role}{n}"]] = (kind, n)
        self.has_shape = len(self.phrase["SHAPE"]) > 0
        #: rules whose every match is a cue as it stands (no tail, no cancel, no number before it)
        self.simple = [not (r.then or r.not_then or r.id in self.after_number) for r in self.rules]

    def __call__(self, doc: Any) -> Any:
        n = len(doc)
        matches = self.phrase["LOWER"](doc)
        matches += self.phrase["LEMMA"](doc)
        if self.has_shape:
            matches += self.phrase["SHAPE"](doc)
        if self.n_token_rules:
            if self.lemmatizer is not None:
                self.lemmatizer(doc)
            matches += self.matcher(doc)
        kinds = self.kinds
        heads: list[tuple[int, int, int]] = []  # (start, end, rule index): sorts in the order wanted
        tails: dict[int, list[tuple[int, int]]] = {}
        cancels: dict[int, list[int]] = {}
        rest: list[tuple[int, int, int, int]] = []  # tails and cancels, sorted out if a head needs them
        breaks: list[int] = []
        bounds: list[int] = []
        questions: list[int] = []
        for mid, start, end in matches:
            kind, key = kinds[mid]
            if kind == _MARK:
                if key == _BOUND:  # the common case: a comma, "and", a line break
                    bounds.append(start)
                    continue
                if key & _END:
                    breaks.append(start + 1)
                if key & _BOUND:
                    bounds.append(start)
                elif key & _DASH and doc[start].whitespace_:
                    bounds.append(start)
                if key & _QMARK:
                    questions.append(start)
            elif kind == _HEAD:
                heads.append((start, end, key))
            else:
                rest.append((kind, key, start, end))
        breaks.sort()
        boundary = bytearray(n)
        for i in bounds:
            boundary[i] = 1
        questions.sort()
        tt = TokenTable(doc, sentence_starts(breaks, n), boundary, questions)
        doc.user_data["_ow"] = tt
        cues: list[tuple[str, str, int, int]] = []
        doc.user_data["cues"] = cues
        if not heads:
            return doc
        # a fixed order for cues at the same place: the order of the rules in the pattern files
        heads.sort()
        if rest:
            rules = self.rules
            need = {key for _, _, key in heads if rules[key].then or rules[key].not_then}
            for kind, key, start, end in rest:
                if key in need:
                    if kind == _TAIL:
                        tails.setdefault(key, []).append((start, end))
                    else:
                        cancels.setdefault(key, []).append(start)
        seen: set[tuple[str, int, int]] = set()
        simple = self.simple
        for start, end, key in heads:
            rule = self.rules[key]
            if simple[key]:  # the common case: a phrase that is a cue by itself
                k = (rule.id, start, end)
                if k not in seen:
                    seen.add(k)
                    cues.append((rule.label, rule.id, start, end))
                continue
            if key in cancels and any(end <= c <= end + 1 for c in cancels[key]):
                continue
            if rule.id in self.after_number and not (start > 0 and doc[start - 1].like_num):
                continue
            if rule.then:
                best = None
                sid = tt.sentence_of(start)
                nb = self.not_between.get(key)
                for ts, te in tails.get(key, ()):
                    if end <= ts <= end + rule.within and (best is None or ts < best[0]) and tt.sentence_of(min(ts, n - 1)) == sid:
                        if nb:
                            lower = tt.lower
                            if any(lower[i] in nb for i in range(end, ts)):
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
