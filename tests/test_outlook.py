"""The outlook is 50 + 50·tanh(Σ weight·strength·decay / 5), bounded by the stage, and explains itself."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from offerwatch.models.outlook import DEFAULT_WEIGHTS, ScoredSignal, decay, score

NOW = datetime(2026, 11, 12, 12, tzinfo=timezone.utc)


def sig(t: str, days_ago: float | None = 0, strength: float = 1.0, key: str | None = None, **kw) -> ScoredSignal:
    at = None if days_ago is None else NOW - timedelta(days=days_ago)
    return ScoredSignal(t, at, strength, key or f"{t}-{days_ago}", f"evidence of {t}", **kw)


def test_no_signal_is_fifty_and_the_formula_holds() -> None:
    assert score([], stage="applied", now=NOW)[0] == 50
    value, expl = score([sig("salary_reconfirm"), sig("panel_invite", 14)], stage="final", now=NOW)
    raw = 3.0 + 1.5 * 0.5
    assert value == round(50 + 50 * math.tanh(raw / 5))
    assert [x["type"] for x in expl] == ["salary_reconfirm", "panel_invite"]
    assert expl[1]["decay"] == 0.5 and expl[1]["points"] == 0.75


def test_half_life_decay_and_undated_signals() -> None:
    assert decay(14, 14) == 0.5 and decay(28, 14) == 0.25 and decay(-3, 14) == 1.0
    _, expl = score([sig("keep_warm", None)], stage="screening", now=NOW)
    assert expl[0]["decay"] == 0.5 and expl[0]["at"] is None
    _, expl = score([sig("silence", 60, strength=3.0, ongoing=True)], stage="screening", now=NOW)
    assert expl[0]["decay"] == 1.0 and expl[0]["points"] == -6.0


def test_stage_bounds() -> None:
    good = [sig("offer"), sig("salary_reconfirm")]
    assert score(good, stage="rejected", now=NOW)[0] == 0
    assert score(good, stage="withdrawn", now=NOW)[0] == 0
    assert score(good, stage="on_hold", now=NOW)[0] == 30
    assert score(good, stage="ghosted", now=NOW)[0] == 15
    value, expl = score([sig("offer", 120)], stage="offer", now=NOW)
    assert value == 90 and expl[-1]["type"] == "stage" and expl[-1]["unbounded"] < 90


def test_weights_override_and_once_per_message() -> None:
    s = [sig("keep_warm", key="m1"), sig("keep_warm", key="m1", strength=0.5), sig("keep_warm", key="m2")]
    _, expl = score(s, stage="screening", now=NOW)
    assert len(expl) == 2
    heavy = dict(DEFAULT_WEIGHTS, keep_warm=10.0)
    assert score(s, stage="screening", now=NOW, weights=heavy)[0] > score(s, stage="screening", now=NOW)[0]
    assert score([sig("application_received")], stage="applied", now=NOW)[1] == []  # zero weight: not listed


def test_deterministic() -> None:
    s = [sig(t, d) for t, d in [("postponed", 3), ("postponed", 9), ("keep_warm", 1), ("rejection", 30)]]
    assert score(s, stage="screening", now=NOW) == score(list(reversed(s)), stage="screening", now=NOW)
