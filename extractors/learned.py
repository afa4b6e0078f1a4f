"""The learned layer: a small text classifier that adds the signal types the rules missed.

The rules find most signals and say exactly why; on mail nobody here wrote they miss about one
in eight, mostly wordings no pattern foresaw. A spaCy ``textcat_multilabel`` (bag of words and
word pairs, no vectors, nothing downloaded), trained by :mod:`offerwatch.extractors.train_learned`
on the labelled corpora and shipped as one file of package data, reads the doc the rules' own
pipeline made of each incoming job message: the same tokens, not tokenized again, so it costs
little more than its own arithmetic. Where its probability for
a type is at least :data:`THRESHOLD` and the rules did not find that type, the type is added
if it survives the rules' precedence and displaces none of their signals
(:func:`offerwatch.extractors.signals._with_learned`): an added keep_warm still yields to a
rejection, and an added offer never removes the rules' rejection.

Every added signal stays explainable: its rule is ``learned.textcat``, its label gives the
probability, and its evidence is the sentence the classifier scores highest for that type.
Measured on five corpora written blind (docs/quality.md, round 3), the rules plus this layer
were better than the rules alone on every one. At 0.5 the gains were larger (up to +0.015)
but the classifier also read near misses as signals ("thanks for meeting our VP yesterday"):
0.7 keeps those out.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The model file: the labels and the classifier component's ``to_bytes()``.
MODEL_FILE = Path(__file__).parent / "data" / "learned_textcat.bin"
#: A type is added at this probability or above (chosen on the blind corpora and the near-miss
#: tests, see docs/quality.md).
THRESHOLD = 0.7
RULE = "learned.textcat"
COMPONENT = "textcat_multilabel"
#: The classifier's architecture; training and loading must agree on it.
MODEL_CONFIG: dict[str, Any] = {
    "@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": False, "ngram_size": 2,
    "no_output_layer": False, "length": 65536,
}

_enabled = True


def active() -> bool:
    """Is the layer switched on and its model readable?"""
    return _enabled and classifier() is not None


def set_enabled(on: bool) -> None:
    """Switch the layer on or off for this process (``offerwatch eval --rules-only``)."""
    global _enabled
    _enabled = on


def add_classifier(nlp: Any, labels: list[str] | None = None, model: bytes | None = None) -> Any:
    """Add the classifier as ``nlp``'s last component: untrained with ``labels``, or the
    trained one of ``model`` (a :func:`save` file's content). Returns the component."""
    from spacy.training import Example

    if model is not None:
        import srsly

        data = srsly.msgpack_loads(model)
        labels = list(data["labels"])
    tc: Any = nlp.add_pipe(COMPONENT, config={"model": MODEL_CONFIG, "threshold": THRESHOLD})
    for label in labels or []:
        tc.add_label(label)
    if model is not None:
        # the model's shapes come from initialising it, its weights then from the file
        shape = [Example.from_dict(nlp.make_doc("x"), {"cats": dict.fromkeys(labels or [], 0.0)})]
        tc.initialize(lambda: shape, nlp=nlp)
        tc.from_bytes(data["component"], exclude=["vocab"])
    return tc


@lru_cache(maxsize=1)
def classifier() -> Any:
    """The shipped classifier component, read once per process; None when its file is
    missing or damaged (logged, never fatal: detection then runs on the rules alone)."""
    if not MODEL_FILE.is_file():
        log.warning("no learned layer (%s is missing): detection runs on the rules alone", MODEL_FILE)
        return None
    import spacy

    try:
        return add_classifier(spacy.blank("en"), model=MODEL_FILE.read_bytes())
    except Exception:  # noqa: BLE001 - a damaged model must not stop detection
        log.exception("the learned layer's model %s could not be read: detection runs on the rules alone", MODEL_FILE)
        return None


def scores(doc: Any) -> dict[str, float]:
    """The classifier's probability per type for a doc of the rules' pipeline (its tokens are
    read as they are: the bag-of-words features are hashes of the words, whatever the vocab)."""
    return scores_many([doc])[0]


def scores_many(docs: Sequence[Any]) -> list[dict[str, float]]:
    """:func:`scores` for many docs in one call of the model: most of the cost of a call is
    its fixed overhead, and each doc's probabilities are computed on its own (the same numbers
    as one call per doc). Empty docs get ``{}`` and stay out of the call: spaCy's batched
    ngram extraction fails on an empty doc in a batch."""
    tc = classifier() if _enabled else None
    out: list[dict[str, float]] = [{} for _ in docs]
    todo = [i for i, doc in enumerate(docs) if len(doc)]
    if tc is None or not todo:
        return out
    probs = tc.model.ops.to_numpy(tc.predict([docs[i] for i in todo])).tolist()
    labels = tc.labels
    for i, row in zip(todo, probs, strict=True):
        out[i] = dict(zip(labels, row, strict=True))
    return out


def save(component: Any, path: Path = MODEL_FILE) -> None:
    """Write a trained classifier component as one file: its labels and its bytes."""
    import srsly

    path.write_bytes(srsly.msgpack_dumps({"labels": list(component.labels),
                                          "component": component.to_bytes(exclude=["vocab"])}))


def additions(doc: Any, present: set[str], probs: dict[str, float] | None = None) -> list[tuple[str, float]]:
    """The (type, probability) the classifier adds to the rules' ``present`` types, most
    probable first; ``probs`` is the doc's :func:`scores` when they were computed already."""
    got = scores(doc) if probs is None else probs
    return [(t, p) for t, p in sorted(got.items(), key=lambda kv: -kv[1]) if p >= THRESHOLD and t not in present]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*[-*•]\s)")


def sentences(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence or list item of ``text``, stripped; empty ones left out."""
    pos = 0
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        chunk = text[pos:end]
        if chunk.strip():
            yield pos + len(chunk) - len(chunk.lstrip()), pos + len(chunk.rstrip())
        if m is not None:
            pos = m.end()


def best_sentences(doc: Any, types: list[str], limit: int = 60) -> dict[str, tuple[int, int]]:
    """For each of ``types``, the (start, end) in ``doc.text`` of the sentence the classifier
    scores highest: the evidence of an added signal. The sentences are cut from the doc's own
    tokens and scored once for all the types."""
    spans = [doc.char_span(a, b, alignment_mode="expand") for a, b in itertools.islice(sentences(doc.text), limit)]
    parts = [s for s in spans if s is not None and len(s)]
    if not parts:
        return {}
    tc = classifier()
    if tc is None:
        return {}
    from spacy.attrs import ORTH

    # the features are hashes of the words (ORTH): a sentence is scored from its slice of the
    # doc's ORTH column, without copying it into a doc of its own (as_doc() was most of the
    # layer's cost), and one call scores them all (no empty sentence among them)
    orth = doc.to_array([ORTH])
    probs = tc.model.ops.to_numpy(tc.predict([_Words(orth[s.start : s.end]) for s in parts]))
    column = {label: i for i, label in enumerate(tc.labels)}
    out = {}
    for t in types:
        if t in column:
            best = parts[int(probs[:, column[t]].argmax())]
            out[t] = (best.start_char, best.end_char)
    return out


class _Words:
    """A sentence as the bag-of-words model reads it: its ORTH column and its length.

    The model's only access to a doc is ``doc.to_array([ORTH])`` (spaCy's ``extract_ngrams``,
    the first layer of ``TextCatBOW``), so a slice of the whole doc's column gives exactly the
    features (and the probabilities) of a doc made of the sentence's tokens;
    tests/test_learned.py checks that they are the same.
    """

    __slots__ = ("orth",)

    def __init__(self, orth: Any) -> None:
        self.orth = orth

    def __len__(self) -> int:
        return len(self.orth)

    def to_array(self, attrs: Any) -> Any:
        return self.orth
