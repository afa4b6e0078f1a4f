"""Train the learned layer's classifier (:mod:`offerwatch.extractors.learned`) from labelled corpora.

Reproducible: the same corpora, seed and spaCy version give the same model file. It reads
exactly what the classifier reads at run time, the rules' tokens of each incoming message's
cleaned newest reply, with the corpus labels as targets. About 10 seconds on 2 cores.

Usage, from a checkout (the corpora are not part of the package)::

    python -m offerwatch.extractors.train_learned              # default corpora, writes the package file
    python -m offerwatch.extractors.train_learned DIR ... --out model.bin
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Every labelled corpus of the project and of ../shared/corpus (EVAL.md format).
DEFAULT_CORPORA = [
    ROOT.parent / "shared" / "corpus" / "dev",
    ROOT.parent / "shared" / "corpus" / "train-corporate",
    ROOT.parent / "shared" / "corpus" / "train-public",
    ROOT.parent / "shared" / "corpus" / "train-mixed-inbox",
    ROOT / "tests" / "data" / "heldout",
    ROOT / "daemon" / "demo_mailbox",
]
EPOCHS = 12
SEED = 0


def load(folder: Path) -> list[dict[str, Any]]:
    """One row per labelled message: the text the rules' pipeline reads, direction, gold
    types, file name."""
    from offerwatch.extractors.parse import parse_mail
    from offerwatch.extractors.pipeline import _extract_input, _prepare, infer_owner
    from offerwatch.extractors.signals import _prepare as rules_text

    labels = [json.loads(x) for x in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    raws = [(folder / lab["file"]).read_bytes() for lab in labels]
    owner = infer_owner([parse_mail(r) for r in raws])
    rows = []
    for lab, raw in zip(labels, raws, strict=True):
        p = _prepare(raw, owner, None)
        rows.append({"file": lab["file"], "text": rules_text(_extract_input(p))[0], "incoming": p.direction.value == "in",
                     "signals": set(lab.get("signals", []))})
    return rows


def train(rows: Sequence[dict[str, Any]], labels: Sequence[str], epochs: int = EPOCHS, seed: int = SEED) -> Any:
    """A classifier component trained on the incoming ``rows`` (deterministic for a given
    ``seed``), on the tokens the rules' pipeline makes of them."""
    import spacy
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch

    from offerwatch.extractors.learned import add_classifier
    from offerwatch.extractors.nlp import get_nlp

    fix_random_seed(seed)
    nlp = spacy.blank("en")
    tc = add_classifier(nlp, list(labels))
    tokens = get_nlp()
    docs = [(tokens.make_doc(r["text"]), r) for r in rows if r["incoming"]]
    examples = [Example.from_dict(doc, {"cats": {t: float(t in r["signals"]) for t in labels}})
                for doc, r in docs if len(doc)]  # an empty text teaches nothing (and breaks batched ngrams)
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in minibatch(examples, size=16):
            nlp.update(batch, sgd=optimizer, drop=0.2)
    return tc


def main(argv: list[str] | None = None) -> int:
    from offerwatch.extractors.learned import MODEL_FILE, save
    from offerwatch.models.domain import MESSAGE_SIGNAL_TYPES

    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("corpora", type=Path, nargs="*", help="labelled corpus folders (default: all of the project's)")
    ap.add_argument("--out", type=Path, default=MODEL_FILE, help=f"model file to write (default: {MODEL_FILE})")
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    folders = args.corpora or DEFAULT_CORPORA
    missing = [str(f) for f in folders if not (f / "labels.jsonl").is_file()]
    if missing:
        print(f"error: not a labelled corpus (no labels.jsonl): {', '.join(missing)}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows = [r for f in folders for r in load(f)]
    component = train(rows, sorted(MESSAGE_SIGNAL_TYPES), args.epochs, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save(component, args.out)
    print(f"trained on {sum(r['incoming'] for r in rows)} incoming messages of {len(folders)} corpora in "
          f"{time.perf_counter() - t0:.0f} s; wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
