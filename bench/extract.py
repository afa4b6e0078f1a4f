"""Throughput of signal extraction next to the bare spaCy tokenizer, on the same texts.

Builds a large corpus by sampling paragraphs of a labelled corpus's messages (cleaned the
way the pipeline cleans them) into new messages, then times, in one run:

1. the spaCy tokenizer alone (``nlp.tokenizer.pipe``),
2. the rules' extraction step alone (:func:`offerwatch.extractors.signals.extract_many` with
   the learned layer switched off),
3. the full extraction step, the rules plus the learned layer, which is what the pipeline
   runs on job mail,

and prints messages/s, words/s, their ratio and the peak memory of the process.

Both steps get the same texts, both batched the same way (``batch_size`` 256), after a
warm-up pass (the tokenizer's cache filled, the pattern tables loaded). Each step is timed
``--rounds`` times, alternating, and the best round counts; times are the process's CPU
time (``time.process_time``), so other busy processes on the machine skew the ratio less.
Peak memory is the resident-set high-water mark (``VmHWM``), not tracemalloc.

Usage::

    python bench/extract.py [CORPUS_DIR] [--messages 20000] [--seed 7] [--rounds 3]

The goal is extraction at >= 0.5x the tokenizer-only rate and a peak RSS under 250 MB.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "dev"


def load_paragraphs(corpus: Path) -> list[str]:
    from offerwatch.extractors.clean import clean_reply
    from offerwatch.extractors.parse import parse_mail

    paragraphs: list[str] = []
    for path in sorted(corpus.glob("*.eml")):
        parsed = parse_mail(path.read_bytes())
        text = clean_reply(parsed.text).text
        paragraphs.extend(p.strip() for p in text.split("\n\n") if p.strip())
    if not paragraphs:
        raise SystemExit(f"no message text found in {corpus}")
    return paragraphs


def make_corpus(paragraphs: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["\n\n".join(rng.sample(paragraphs, k=rng.randint(2, 6))) for _ in range(n)]


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / (1024 * 1024)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per step; the best one counts")
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args(argv)

    import logging

    logging.disable(logging.WARNING)  # the parser's per-message notes are not the point here
    from offerwatch.extractors.nlp import get_nlp
    from offerwatch.extractors.signals import ExtractInput, extract_many

    texts = make_corpus(load_paragraphs(args.corpus), args.messages, args.seed)
    words = sum(len(t.split()) for t in texts)
    chars = sum(len(t) for t in texts)
    nlp = get_nlp()
    bs = args.batch_size
    list(extract_many(ExtractInput(t) for t in texts[:50]))  # warm-up: load tables, compile patterns, the classifier
    n_tokens = sum(len(doc) for doc in nlp.tokenizer.pipe(texts, batch_size=bs))  # warm-up: tokenizer cache

    def tokenizer_only() -> int:
        return sum(len(doc) for doc in nlp.tokenizer.pipe(texts, batch_size=bs))

    from offerwatch.extractors import learned

    def extraction() -> int:
        learned.set_enabled(False)
        try:
            return sum(len(ex.signals) for ex in extract_many((ExtractInput(t) for t in texts), batch_size=bs))
        finally:
            learned.set_enabled(True)

    def with_learned() -> int:
        return sum(len(ex.signals) for ex in extract_many((ExtractInput(t) for t in texts), batch_size=bs))

    tok_s = ext_s = both_s = float("inf")
    n_signals = n_both = 0
    for _ in range(max(1, args.rounds)):
        t0 = time.process_time()
        tokenizer_only()
        tok_s = min(tok_s, time.process_time() - t0)
        t0 = time.process_time()
        n_signals = extraction()
        ext_s = min(ext_s, time.process_time() - t0)
        t0 = time.process_time()
        n_both = with_learned()
        both_s = min(both_s, time.process_time() - t0)

    n = len(texts)
    print(f"corpus: {n} messages sampled from {args.corpus} ({words:,} words, {chars / 1e6:.1f} M chars, {n_tokens:,} tokens)")
    print(f"best of {max(1, args.rounds)} rounds, CPU time, batch size {bs}")
    print(f"{'step':<24}{'seconds':>10}{'messages/s':>14}{'words/s':>14}")
    print(f"{'tokenizer only':<24}{tok_s:>10.2f}{n / tok_s:>14,.0f}{words / tok_s:>14,.0f}")
    print(f"{'rules extraction':<24}{ext_s:>10.2f}{n / ext_s:>14,.0f}{words / ext_s:>14,.0f}")
    print(f"{'rules + learned layer':<24}{both_s:>10.2f}{n / both_s:>14,.0f}{words / both_s:>14,.0f}")
    print(f"ratio extraction/tokenizer: rules {tok_s / ext_s:.2f}x, with the learned layer {tok_s / both_s:.2f}x   (goal >= 0.5x)")
    print(f"signals found: {n_signals:,} by the rules, {n_both:,} with the learned layer")
    print(f"peak memory (max RSS): {peak_rss_mb():.0f} MB   (goal < 250 MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
