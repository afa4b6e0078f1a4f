"""The spaCy pipeline of the extractor, built once per process from the pattern files.

``spacy.blank("en")`` + lookup lemmatizer (spacy-lookups-data) + a case fix for lemmas of
capitalised words + sentencizer + paragraph breaks + a ``span_ruler`` fed by
``patterns/*.jsonl`` + ``offerwatch_signals``, the component that combines the matched cues
of each sentence into signals (negation, hedging, "is it about the past?").

Nothing here runs at import time: spaCy is imported by :func:`get_nlp`, so importing the CLI
stays fast. Patterns are validated when they load; a broken one fails with
:class:`PatternError` naming the file, the line and the pattern id.

Pattern file format (one JSON object per line, ``#`` lines and blank lines ignored)::

    {"label": "offer", "id": "offer.pleased_to_offer", "pattern": "pleased to offer you",
     "description": "says they are pleased to offer"}
    {"label": "NEG", "id": "neg.not", "pattern": [{"LOWER": {"IN": ["not", "n't", "never"]}}]}

``label`` is a signal type (the cue alone is evidence) or an upper-case cue class that the
combining component uses (``PANEL``, ``LEADER``, ``NEG``, ...; see :data:`CUE_LABELS`).
A string ``pattern`` is a phrase (matched on lower-cased text by a PhraseMatcher), a list
is a token pattern (Matcher: LOWER, LEMMA, IN, OP, REGEX, FUZZY; no POS/DEP on a blank
pipeline). Optional ``flags``: ``"no_neg"`` (the cue is not cancelled by a preceding
negation; it carries its own), ``"no_hedge"`` (not cancelled by "if"/"once"),
``"not_self_future"`` (cancelled when the writer says they will do it: "I'll send times").
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
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
        "HEDGE",  # conditionals that suspend a cue: if, once, in case, should you ...
        "SELF_FUTURE",  # the writer will do it: I'll, we will ...
        "PAST",  # retrospective context: thanks for, feedback, after your ...
        "PANEL",  # panel / onsite / final round / campus visit ...
        "INVITE",  # forward-looking invitation context
        "LEADER",  # senior titles: VP, Director, Head of, Chief, founder ...
        "MEET",  # an interview/meeting context: meet, conversation with, interview ...
        "OTHER_PROC",  # other interviews, offers, deadlines, timeline
        "INQUIRY",  # asking without a question mark: let me know if, aware of ...
        "SALARY_REF",  # salary, compensation, expectations, base, number ...
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
FLAGS: frozenset[str] = frozenset({"no_neg", "no_hedge", "not_self_future"})


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
class PatternSet:
    patterns: tuple[dict[str, Any], ...]  # label / pattern / id, as span_ruler takes them
    info: dict[str, PatternInfo]


def load_patterns(directory: Path = PATTERN_DIR) -> PatternSet:
    """Read and validate every ``*.jsonl`` under ``directory``; raise :class:`PatternError`."""
    from spacy.schemas import validate_token_pattern

    patterns: list[dict[str, Any]] = []
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
            unknown = set(obj) - {"label", "id", "pattern", "description", "flags"}
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
            if isinstance(pattern, str):
                if not pattern.strip():
                    problems.append(f"{where}: empty phrase")
                    continue
                if pattern != pattern.lower():
                    problems.append(f"{where}: phrases match lower-cased text; write them in lower case")
                    continue
            elif isinstance(pattern, list) and pattern:
                errors = validate_token_pattern(pattern)
                if errors:
                    problems.append(f"{where}: invalid token pattern: {'; '.join(map(str, errors))}")
                    continue
                bad = [k for tok in pattern for k in tok if k.upper() in {"POS", "TAG", "DEP", "MORPH", "ENT_TYPE"}]
                if bad:
                    problems.append(f"{where}: {bad[0]} never matches on a blank pipeline (no tagger/parser)")
                    continue
            else:
                problems.append(f"{where}: 'pattern' must be a phrase string or a list of token dicts")
                continue
            prev = info.get(pid)
            if prev is not None and prev.label != label:
                problems.append(f"{where}: id already used with label {prev.label!r} in {prev.file}")
                continue
            description = obj.get("description") or (prev.description if prev else "") or pid
            info[pid] = PatternInfo(pid, label, str(description), frozenset(flags), path.name)
            patterns.append({"label": label, "pattern": pattern, "id": pid})
    if problems:
        raise PatternError("invalid pattern file(s):\n  " + "\n  ".join(problems))
    return PatternSet(tuple(patterns), info)


_lock = threading.Lock()
_nlp: Language | None = None
_patterns: PatternSet | None = None


def get_patterns() -> PatternSet:
    get_nlp()
    assert _patterns is not None
    return _patterns


_info: dict[str, PatternInfo] = {}


def current_info() -> dict[str, PatternInfo]:
    """Pattern metadata (flags, descriptions) of the pipeline built last."""
    return _info


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
    # Long single "sentences" (50k chars without punctuation) must not trip spaCy's limit.
    nlp.max_length = 2_000_000
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.add_pipe("offerwatch_lemma_case")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("offerwatch_paragraphs")
    ruler = nlp.add_pipe(
        "span_ruler",
        config={"spans_key": "cues", "phrase_matcher_attr": "LOWER", "validate": True, "overwrite": True},
    )
    nlp.add_pipe("offerwatch_signals")
    nlp.initialize()
    # phrase patterns need only the tokenizer: keep the other components out of it
    with nlp.select_pipes(enable=["span_ruler"]):
        ruler.add_patterns(list(patterns.patterns))  # type: ignore[attr-defined]
    return nlp


_registered = False


def _register_components() -> None:
    global _registered
    if _registered:
        return
    from spacy.language import Language

    from offerwatch.extractors import signals

    @Language.factory("offerwatch_lemma_case")
    def _lemma_case(nlp: Language, name: str) -> Any:
        return LemmaCase(nlp)

    @Language.component("offerwatch_paragraphs")
    def _paragraphs(doc: Any) -> Any:
        return mark_paragraphs(doc)

    @Language.component("offerwatch_signals")
    def _signals(doc: Any) -> Any:
        return signals.combine(doc)

    _registered = True


class LemmaCase:
    """The lookup table is case-sensitive: give "Interviewing" the lemma of "interviewing"."""

    def __init__(self, nlp: Language) -> None:
        self._table: Any = None
        self._nlp = nlp

    def _lookup(self) -> Any:
        if self._table is None:
            lemmatizer = self._nlp.get_pipe("lemmatizer")
            self._table = lemmatizer.lookups.get_table("lemma_lookup")  # type: ignore[attr-defined]
        return self._table

    def __call__(self, doc: Any) -> Any:
        table = self._lookup()
        for tok in doc:
            text = tok.text
            if text[:1].isupper():
                low = tok.lower_
                tok.lemma_ = table.get(low, low)
        return doc


def mark_paragraphs(doc: Any) -> Any:
    """Start a sentence after a blank line, and cap sentence length at 300 tokens.

    The sentencizer only knows punctuation; mail has paragraphs without a full stop. The
    cap keeps a 50,000-character "sentence" from making per-sentence rules expensive.
    """
    run = 0
    for i in range(1, len(doc)):
        tok = doc[i]
        prev = doc[i - 1]
        if prev.is_space and prev.text.count("\n") >= 2 and not tok.is_space:
            tok.is_sent_start = True
            run = 0
        elif tok.is_sent_start:
            run = 0
        else:
            run += 1
            if run >= 300:
                tok.is_sent_start = True
                run = 0
    return doc


def describe(rule_id: str) -> str:
    """The human-readable label of a pattern id (for ``offerwatch scan``)."""
    pats = get_patterns()
    info = pats.info.get(rule_id)
    return info.description if info else rule_id


def pipe(texts: Iterable[str], batch_size: int = 64) -> Iterable[Any]:
    return get_nlp().pipe(texts, batch_size=batch_size)
