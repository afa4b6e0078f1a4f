"""The learned layer: a small text classifier that adds the signal types the rules missed.

The rules find most signals and say exactly why; on mail nobody here wrote they miss about one
in eight, mostly wordings no pattern foresaw. A spaCy ``textcat_multilabel`` (bag of words and
word pairs, no vectors, nothing downloaded), trained by :mod:`offerwatch.extractors.train_learned`
on the labelled corpora and shipped as one file of package data, reads the same text and adds a
type the rules did not find when its probability is at least :data:`THRESHOLD`. It never removes
a rule's signal. Measured on five corpora written blind (docs/quality.md, round 3), the union
was better than the rules alone on four and equal on one.

Every added signal stays explainable: its rule is ``learned.textcat``, its label gives the
probability, and its evidence is the sentence of the message that the classifier scores highest
for that type. Only incoming job mail is read, and never an out-of-office reply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from offerwatch.models.domain import Direction, Signal

log = logging.getLogger(__name__)

#: The model file (``nlp.to_bytes()`` of a blank English pipeline with one textcat component).
MODEL_FILE = Path(__file__).parent / "data" / "learned_textcat.bin"
#: A type is added at this probability or above (chosen on the blind corpora, see docs/quality.md).
THRESHOLD = 0.5
RULE = "learned.textcat"
#: The classifier's architecture; training and loading must agree on it.
MODEL_CONFIG: dict[str, Any] = {
    "@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": False, "ngram_size": 2,
    "no_output_layer": False, "length": 65536,
}
#: The part of a long message the classifier reads (the rules' own bound is larger).
MAX_CHARS = 8000

_enabled = True


def set_enabled(on: bool) -> None:
    """Switch the layer on or off for this process (``offerwatch eval --rules-only``)."""
    global _enabled
    _enabled = on


def enabled() -> bool:
    return _enabled and MODEL_FILE.is_file()


def model_text(subject: str, text: str, event_summaries: Sequence[str], signature: str) -> str:
    """What the classifier reads, in training and at run time alike: the subject, the newest
    reply, calendar summaries and the start of the signature (where titles are)."""
    return f"{subject or ''}\n{(text or '')[:MAX_CHARS]}\n{' '.join(event_summaries)}\n{(signature or '')[:300]}"


def blank_pipeline(labels: Sequence[str]) -> Any:
    """A blank English pipeline with an untrained classifier for ``labels``."""
    import spacy

    nlp = spacy.blank("en")
    tc: Any = nlp.add_pipe("textcat_multilabel", config={"model": MODEL_CONFIG, "threshold": THRESHOLD})
    for label in labels:
        tc.add_label(label)
    return nlp


@lru_cache(maxsize=1)
def _model() -> Any:
    """The shipped classifier, read once per process."""
    import srsly
    from spacy.training import Example

    data = srsly.msgpack_loads(MODEL_FILE.read_bytes())
    nlp = blank_pipeline(data["labels"])
    # the model's shapes come from initialising it; its weights then from the file
    shape = [Example.from_dict(nlp.make_doc("x"), {"cats": dict.fromkeys(data["labels"], 0.0)})]
    nlp.initialize(lambda: shape)
    nlp.from_bytes(data["nlp"])
    return nlp


def save(nlp: Any, path: Path = MODEL_FILE) -> None:
    """Write a trained pipeline as one file: its labels and ``nlp.to_bytes()``."""
    import srsly

    labels = list(nlp.get_pipe("textcat_multilabel").labels)
    path.write_bytes(srsly.msgpack_dumps({"labels": labels, "nlp": nlp.to_bytes()}))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*[-*•]\s)")


def _sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or list item of ``text``, stripped, empty ones left out."""
    out = []
    pos = 0
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        chunk = text[pos:end]
        lead = len(chunk) - len(chunk.lstrip())
        if chunk.strip():
            out.append((pos + lead, pos + len(chunk.rstrip())))
        if m is not None:
            pos = m.end()
    return out


def add_learned(inputs: Sequence[Any], extractions: list[Any]) -> list[Any]:
    """``extractions`` with the classifier's types added where the rules missed them.

    ``inputs`` are the :class:`~offerwatch.extractors.signals.ExtractInput` of each extraction.
    A failure of the layer is logged and leaves the rules' results as they are.
    """
    if not enabled() or not inputs:
        return extractions
    try:
        return _add(inputs, extractions)
    except Exception:  # noqa: BLE001 - the layer only adds; the rules' signals must survive it
        log.exception("the learned layer failed on a batch of %d; the rules' signals are kept", len(inputs))
        return extractions


def _add(inputs: Sequence[Any], extractions: list[Any]) -> list[Any]:
    from dataclasses import replace

    from offerwatch.extractors.signals import compatible_addition, is_out_of_office

    nlp = _model()
    todo = [i for i, inp in enumerate(inputs)
            if inp.direction == Direction.IN and inp.text.strip() and not is_out_of_office(inp.subject, inp.text)]
    texts = [model_text(inputs[i].subject, inputs[i].text, [e.summary or "" for e in inputs[i].events],
                        inputs[i].signature) for i in todo]
    out = list(extractions)
    with nlp.memory_zone():
        for i, doc in zip(todo, nlp.pipe(texts, batch_size=64), strict=True):
            have = {s.type for s in out[i].signals}
            new = [(t, p) for t, p in sorted(doc.cats.items(), key=lambda kv: -kv[1])
                   if p >= THRESHOLD and t not in have]
            added: list[Signal] = []
            for t, p in new:
                if not compatible_addition(t, have | {s.type for s in added}):
                    continue
                added.append(_signal(nlp, inputs[i].text, t, p))
            if added:
                out[i] = replace(out[i], signals=out[i].signals + tuple(added))
    return out


def _signal(nlp: Any, text: str, type_: str, prob: float) -> Signal:
    """The added signal, its evidence the sentence the classifier rates highest for ``type_``."""
    spans = _sentences(text[:MAX_CHARS])[:60]
    best = max(zip(spans, nlp.pipe(text[a:b] for a, b in spans), strict=True),
               key=lambda sd: sd[1].cats.get(type_, 0.0), default=None)
    a, b = best[0] if best is not None else (0, 0)
    return Signal(type=type_, evidence=text[a:b], start=a, end=b, rule=RULE,
                  label=f"text classifier (probability {prob:.2f})", strength=round(prob, 2))
