"""``offerwatch eval``: score the pipeline on a labeled corpus, exactly as EVAL.md defines.

It runs the same :func:`~offerwatch.extractors.pipeline.analyze_many` the daemon runs, so
the numbers describe what users get. Labels and predictions are compared as
(message, type) pairs; every file appears in ``predictions`` so other scorers can reuse
the output.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offerwatch.extractors.parse import parse_mail
from offerwatch.extractors.pipeline import Owner, analyze_many, infer_owner
from offerwatch.models.domain import MESSAGE_SIGNAL_TYPES


class CorpusError(Exception):
    """The corpus folder or its labels.jsonl is unusable; says which line and why."""


@dataclass(frozen=True)
class Label:
    file: str
    job: bool
    direction: str
    signals: frozenset[str]


def read_labels(folder: Path) -> list[Label]:
    path = folder / "labels.jsonl"
    if not folder.is_dir():
        raise CorpusError(f"{folder} is not a folder: give the corpus folder that holds labels.jsonl")
    if not path.is_file():
        raise CorpusError(f"{path} not found: a corpus folder holds labels.jsonl and the .eml files (see EVAL.md)")
    labels = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                labels.append(Label(str(d["file"]), bool(d["job"]), str(d.get("direction", "in")), frozenset(d.get("signals", []))))
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise CorpusError(f"{path}, line {n}: not a label object ({err})") from err
    return labels


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0 if not fn else 0.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}


def evaluate(folder: Path, *, owner: Iterable[str] = ()) -> dict[str, Any]:
    """Run the pipeline on every labeled file and return the EVAL.md report as a dict."""
    labels = read_labels(folder)
    raws: list[bytes] = []
    for label in labels:
        path = folder / label.file
        try:
            raws.append(path.read_bytes())
        except OSError as err:
            raise CorpusError(f"{path}: cannot read ({err.strerror}); labels.jsonl names a missing file") from err
    owner_addresses = tuple(owner)
    parsed = [parse_mail(r) for r in raws]
    mailbox_owner = Owner.of(owner_addresses) if owner_addresses else infer_owner(parsed)
    # Read in date order, as a mailbox is synced, so thread context (a reply to a known
    # job message is job mail) comes from the messages "already read", as in the daemon.
    never = datetime.max.replace(tzinfo=timezone.utc)
    order = sorted(range(len(raws)), key=lambda i: (parsed[i].date or never, labels[i].file))
    in_date_order = list(analyze_many([raws[i] for i in order], owner=mailbox_owner))
    by_index = dict(zip(order, in_date_order, strict=True))
    analyses = [by_index[i] for i in range(len(raws))]

    job_tp = job_fp = job_fn = 0
    counts = {t: [0, 0, 0] for t in sorted(MESSAGE_SIGNAL_TYPES)}
    predictions = []
    confusion = []
    for label, a in zip(labels, analyses, strict=True):
        predicted = {s.type for s in a.signals} & MESSAGE_SIGNAL_TYPES
        evidence: dict[str, str] = {}
        for s in a.signals:
            evidence.setdefault(s.type, s.evidence)
        predictions.append({
            "file": label.file, "job": a.is_job, "direction": a.direction.value, "signals": sorted(predicted),
            "evidence": evidence, "job_reason": a.job_reason,
        })
        job_tp += a.is_job and label.job
        job_fp += a.is_job and not label.job
        job_fn += (not a.is_job) and label.job
        for t in sorted(predicted | label.signals):  # sorted: the error list is the same every run
            if t not in counts:
                continue
            if t in predicted and t in label.signals:
                counts[t][0] += 1
            elif t in predicted:
                counts[t][1] += 1
                confusion.append({"file": label.file, "type": t, "kind": "false_alarm", "evidence": evidence.get(t, "")})
            else:
                counts[t][2] += 1
                confusion.append({"file": label.file, "type": t, "kind": "miss", "evidence": ""})
    signals = {}
    for t, (tp, fp, fn) in counts.items():
        if tp + fp + fn:
            signals[t] = {**_prf(tp, fp, fn), "tp": tp, "fp": fp, "fn": fn}
    tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
    job = _prf(job_tp, job_fp, job_fn)
    return {
        "corpus": str(folder),
        "messages": len(labels),
        "job": {"precision": job["precision"], "recall": job["recall"], "tp": job_tp, "fp": job_fp, "fn": job_fn},
        "signals": signals,
        "micro": _prf(tp, fp, fn),
        "confusion": confusion,
        "predictions": predictions,
    }
