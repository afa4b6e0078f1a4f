"""Does a learned text classifier add anything to the rules? Measured on a corpus it never saw.

Trains the shipped learned layer's classifier (:mod:`offerwatch.extractors.train_learned`: a
spaCy ``textcat_multilabel``, bag of words and word pairs, no vectors, nothing downloaded) on
every labelled corpus except the held-out one, then scores on the held-out corpus:

* ``rules``   the shipped pipeline alone (what ``offerwatch eval`` reports),
* ``clf``     the classifier alone (types with probability >= threshold),
* ``union``   rules plus the classifier's types at >= threshold (recall),
* ``veto``    rules minus types the classifier gives below (1 - threshold) / 5 (precision).

The classifier reads what the rules read: subject, the cleaned newest text, calendar
summaries, and the start of the signature. Incoming messages only; a type counts for
``union`` only where the pipeline already decided the message is job mail.

Usage::

    python bench/learned_layer.py HELDOUT_DIR [TRAIN_DIR ...] [--epochs 12]

Without TRAIN_DIR it trains on ../shared/corpus/* and the project's own corpora, minus the
held-out one. Deterministic for a given seed (spaCy's ``fix_random_seed``). Takes about a
minute on 2 cores. (The shipped union also applies the rules' precedence, so ``offerwatch eval``
vs ``offerwatch eval --rules-only`` on a corpus outside the training set is the product's number.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from offerwatch.extractors import learned
from offerwatch.extractors.train_learned import DEFAULT_CORPORA, load, train


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("heldout", type=Path)
    ap.add_argument("train", type=Path, nargs="*")
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
    component = train(train_rows, types, args.epochs, args.seed)
    took = time.perf_counter() - t0
    learned.set_enabled(False)  # the rules alone, as the baseline every mode is compared with
    report = evaluate(held)
    rules = {p["file"]: (set(p["signals"]), p["job"]) for p in report["predictions"]}
    from offerwatch.extractors.nlp import get_nlp

    docs = component.pipe(get_nlp().make_doc(r["text"]) for r in test_rows)
    probs = {r["file"]: (doc.cats if r["incoming"] else {}) for r, doc in zip(test_rows, docs, strict=True)}

    print(f"held out: {held} ({len(test_rows)} messages); trained on {len(train_rows)} messages of "
          f"{len(train_dirs)} corpora, {args.epochs} epochs, {took:.0f} s")
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
