"""`offerwatch eval`: scores a labeled corpus (EVAL.md's format) and prints the same bytes every run.

The demo mailbox ships with labels; its scores are a regression floor, not a quality claim
(docs/quality.md has the blind numbers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "daemon" / "demo_mailbox"


def _eval(corpus: Path, seed: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run([sys.executable, "-m", "offerwatch.daemon.cli", "eval", str(corpus), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_eval_scores_the_demo_mailbox() -> None:
    done = _eval(DEMO, "0", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"micro", "job", "signals", "confusion"} <= set(result)
    assert result["micro"]["f1"] >= 0.9 and result["job"]["recall"] == 1.0


def test_eval_json_is_the_same_bytes_whatever_the_hash_seed() -> None:
    """On a corpus with errors (the list of misses and false alarms is what varied)."""
    from conftest import SHARED, need_folder

    corpus = need_folder(SHARED / "corpus" / "train-public")
    first, second = _eval(corpus, "1", "--json"), _eval(corpus, "2", "--json")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert json.loads(first.stdout)["confusion"], "the corpus should have errors to order"
    assert first.stdout == second.stdout


def test_eval_of_a_folder_without_labels_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "offerwatch.daemon.cli", "eval", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "labels.jsonl" in done.stderr and "Traceback" not in done.stderr
