"""The outlook score: how well an application is going, 0-100, with its explanation.

Deterministic: the same signals, dates, ``now`` and settings always give the same score.

Formula
-------
Every signal of the application that is not dismissed contributes

    points = weight[type] x strength x decay,    decay = 0.5 ** (age_days / half_life_days)

where ``age_days`` is the time from the signal's message to ``now`` (never negative), so a
signal loses half its weight every ``half_life_days`` (default 14). A signal whose message
has no usable date (no Date header, or a date in the future) gets ``decay = 0.5``. The derived
``silence`` signal is about the present, so it does not decay; its strength grows with the
length of the silence (business days silent / threshold, at most 3). A type counts once per
message (the strongest span).

    raw     = sum of points
    outlook = round(50 + 50 x tanh(raw / 5))

so no signal at all is 50, +5 points is about 88 and -5 is about 12. The stage then bounds it:
``rejected`` and ``withdrawn`` are 0, ``ghosted`` at most 15, ``on_hold`` at most 30, and an
``offer`` at least 90.

Default weights (``[detection.weights]`` in the config overrides any of them): see
:data:`DEFAULT_WEIGHTS`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Points per signal type at full strength and age 0. Positive types follow DESIGN.md's
#: polarity (+, ++, +++); structural events weigh a little: being in process is a good sign.
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "offer": 6.0,
    "salary_reconfirm": 3.0,
    "next_round_fast": 2.5,
    "expedite": 2.5,
    "hiring_manager_direct": 2.5,
    "senior_leader_interview": 2.0,
    "other_process_inquiry": 2.0,
    "panel_invite": 1.5,
    "keep_warm": 1.0,
    "interview_scheduled": 0.5,
    "interview_request": 0.5,
    "application_received": 0.0,
    "postponed": -1.5,
    "silence": -2.0,
    "role_on_hold": -4.0,
    "rejection": -8.0,
}

#: Bounds the stage puts on the score: (lowest, highest).
STAGE_BOUNDS: Mapping[str, tuple[int, int]] = {
    "rejected": (0, 0),
    "withdrawn": (0, 0),
    "ghosted": (0, 15),
    "on_hold": (0, 30),
    "offer": (90, 100),
}

UNDATED_DECAY = 0.5
SCALE = 5.0


@dataclass(frozen=True)
class Contribution:
    """One signal's share of the score, as shown in ``outlook_explanation``."""

    type: str
    at: datetime | None
    weight: float
    strength: float
    decay: float
    points: float
    message_key: str | None
    evidence: str
    derived: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "at": self.at.isoformat(timespec="seconds") if self.at else None,
            "weight": self.weight,
            "strength": round(self.strength, 3),
            "decay": round(self.decay, 3),
            "points": round(self.points, 2),
            "message_key": self.message_key,
            "evidence": self.evidence[:160],
            "derived": self.derived,
        }


@dataclass(frozen=True)
class ScoredSignal:
    """What the score needs to know of a signal."""

    type: str
    at: datetime | None  # None: the message has no usable date
    strength: float
    message_key: str | None
    evidence: str
    derived: bool = False
    ongoing: bool = False  # silence: about now, no decay


def decay(age_days: float, half_life_days: float) -> float:
    if half_life_days <= 0:
        return 1.0
    return 0.5 ** (max(0.0, age_days) / half_life_days)


def score(
    signals: Iterable[ScoredSignal],
    *,
    stage: str,
    now: datetime,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    half_life_days: float = 14.0,
) -> tuple[int, list[dict[str, Any]]]:
    """The outlook (0-100) and its explanation: contributing signals, largest first, then the
    stage bound when it changed the score."""
    best: dict[tuple[str | None, str, bool], ScoredSignal] = {}
    for s in signals:
        k = (s.message_key, s.type, s.derived) if s.message_key else (s.evidence, s.type, s.derived)
        if k not in best or s.strength > best[k].strength:
            best[k] = s
    parts: list[Contribution] = []
    for s in best.values():
        w = float(weights.get(s.type, DEFAULT_WEIGHTS.get(s.type, 0.0)))
        if w == 0.0:
            continue
        if s.ongoing:
            d = 1.0
        elif s.at is None:
            d = UNDATED_DECAY
        else:
            d = decay((now - s.at).total_seconds() / 86400.0, half_life_days)
        parts.append(Contribution(s.type, s.at, w, s.strength, d, w * s.strength * d, s.message_key, s.evidence, s.derived))
    raw = sum(p.points for p in parts)
    value = int(round(50 + 50 * math.tanh(raw / SCALE)))
    explanation = [p.as_dict() for p in sorted(parts, key=lambda p: (-abs(p.points), p.type))]
    lo, hi = STAGE_BOUNDS.get(stage, (0, 100))
    bounded = min(hi, max(lo, value))
    if bounded != value:
        explanation.append({"type": "stage", "stage": stage, "points": None, "rule": f"{stage}: outlook kept within {lo}-{hi}",
                            "unbounded": value})
    return max(0, min(100, bounded)), explanation
