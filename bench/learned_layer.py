"""Does a learned text classifier add anything to the rules? Measured on a corpus it never saw.

Trains a spaCy ``textcat_multilabel`` (bag-of-words n-grams, or a small CNN ensemble with
subword hash embeddings; no pretrained vectors, nothing downloaded) on every labelled corpus
except the held-out one, then scores on the held-out corpus:

* ``rules``   the shipped pipeline alone (what ``offerwatch eval`` reports),
* ``clf``     the classifier alone (types with probability >= threshold),
* ``union``   rules plus the classifier's types at >= threshold (recall),
* ``veto``    rules minus types the classifier gives below (1 - threshold) / 5 (precision).

The classifier reads what the rules read: subject, the cleaned newest text, calendar
summaries, and the start of the signature. Incoming messages only; a type counts for
``union`` only where the pipeline already decided the message is job mail.

Usage::

    python bench/learned_layer.py HELDOUT_DIR [TRAIN_DIR ...] [--arch bow|ens] [--epochs 12]

Without TRAIN_DIR it trains on ../shared/corpus/* and the project's own corpora, minus the
held-out one. Deterministic for a given seed (spaCy's ``fix_random_seed``). Takes about a
minute for the bag-of-words model on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPORA = [
    ROOT.parent / "shared" / "corpus" / "dev",
    ROOT.parent / "shared" / "corpus" / "train-corporate",
    ROOT.parent / "shared" / "corpus" / "train-public",
    ROOT.parent / "shared" / "corpus" / "train-mixed-inbox",
    ROOT / "tests" / "data" / "heldout",
    ROOT / "daemon" / "demo_mailbox",
]


def load(folder: Path) -> list[dict[str, Any]]:
    """One row per labelled message: the text the rules read, the gold types, the file name."""
    from offerwatch.extractors.parse import parse_mail
    from offerwatch.extractors.pipeline import _prepare, infer_owner

    labels = [json.loads(x) for x in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    raws = [(folder / lab["file"]).read_bytes() for lab in labels]
    owner = infer_owner([parse_mail(r) for r in raws])
    rows = []
    for lab, raw in zip(labels, raws, strict=True):
        p = _prepare(raw, owner, None)
        events = " ".join(e.summary or "" for e in p.parsed.events)
        text = f"{p.parsed.subject or ''}\n{p.text}\n{events}\n{p.signature[:300]}"
        rows.append({"file": lab["file"], "text": text, "incoming": p.direction.value == "in",
                     "signals": set(lab.get("signals", []))})
    return rows


def train(rows: list[dict[str, Any]], types: list[str], arch: str, epochs: int, seed: int) -> Any:
    import spacy
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch

    fix_random_seed(seed)
    nlp = spacy.blank("en")
    bow = {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": False, "ngram_size": 2,
           "no_output_layer": False, "length": 262144}
    if arch == "bow":
        model = bow
    else:
        model = {"@architectures": "spacy.TextCatEnsemble.v2", "linear_model": bow,
                 "tok2vec": {"@architectures": "spacy.HashEmbedCNN.v2", "pretrained_vectors": None, "width": 64,
                             "depth": 2, "embed_size": 2000, "window_size": 1, "maxout_pieces": 3,
                             "subword_features": True}}
    tc = nlp.add_pipe("textcat_multilabel", config={"model": model, "threshold": 0.5})
    for t in types:
        tc.add_label(t)
    examples = [Example.from_dict(nlp.make_doc(r["text"]), {"cats": {t: float(t in r["signals"]) for t in types}})
                for r in rows if r["incoming"]]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in minibatch(examples, size=16):
            nlp.update(batch, sgd=optimizer, drop=0.2)
    return nlp


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("heldout", type=Path)
    ap.add_argument("train", type=Path, nargs="*")
    ap.add_argument("--arch", choices=("bow", "ens"), default="bow")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from offerwatch.daemon.evaluate import evaluate
    from offerwatch.models.domain import MESSAGE_SIGNAL_TYPES

    types = sorted(MESSAGE_SIGNAL_TYPES)
    held = args.heldout.resolve()
    train_dirs = [d for d in (args.train or DEFAULT_CORPORA) if d.resolve() != held and (d / "labels.jsonl").is_file()]
    t0 = time.perf_counter()
    train_rows = [r for d in train_dirs for r in load(d)]
    test_rows = load(held)
    nlp = train(train_rows, types, args.arch, args.epochs, args.seed)
    took = time.perf_counter() - t0
    report = evaluate(held)
    rules = {p["file"]: (set(p["signals"]), p["job"]) for p in report["predictions"]}
    probs = {r["file"]: (doc.cats if r["incoming"] else {}) for r, doc in zip(test_rows, nlp.pipe(r["text"] for r in test_rows), strict=True)}

    print(f"held out: {held} ({len(test_rows)} messages); trained on {len(train_rows)} messages of "
          f"{len(train_dirs)} corpora, {args.arch}, {args.epochs} epochs, {took:.0f} s")
    print(f"{'mode':8s} {'threshold':>9s} {'P':>6s} {'R':>6s} {'F1':>6s}")
    for mode in ("rules", "clf", "union", "veto"):
        for th in ((0.5,) if mode == "rules" else (0.5, 0.7, 0.85)):
            tp = fp = fn = 0
            for r in test_rows:
                gold = r["signals"]
                found, job = rules[r["file"]]
                cats = probs[r["file"]]
                high = {t for t, v in cats.items() if v >= th}
                if mode == "rules":
                    pred = found
                elif mode == "clf":
                    pred = high
                elif mode == "union":
                    pred = found | (high if job else set())
                else:
                    pred = {t for t in found if cats.get(t, 1.0) >= (1 - th) / 5}
                tp += len(pred & gold)
                fp += len(pred - gold)
                fn += len(gold - pred)
            p, rec, f1 = prf(tp, fp, fn)
            print(f"{mode:8s} {th if mode != 'rules' else '-':>9} {p:6.3f} {rec:6.3f} {f1:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
