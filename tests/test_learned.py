"""The learned layer: a shipped text classifier that only adds types the rules missed, each
with its sentence and probability, under the rules' precedence; reproducible training."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from offerwatch.extractors import learned
from offerwatch.extractors.signals import Extraction, ExtractInput
from offerwatch.extractors.train_learned import load, train
from offerwatch.models.domain import Direction, Signal

INVITE = ("Hi Sam,\n\nThanks for Tuesday. We would like to invite you to the final round, a panel interview "
          "with our CTO and two engineers. Which days next week work for you?\n\nBest,\nJo")
NONE = Extraction((), (), None, None)


def rule_signal(type_: str) -> Signal:
    return Signal(type_, "x", 0, 1, "rule.test")


def test_the_shipped_model_loads_offline_and_reads_an_invitation() -> None:
    assert learned.MODEL_FILE.is_file() and learned.MODEL_FILE.stat().st_size < 20_000_000
    cats = learned._model()(learned.model_text("Final round", INVITE, [], "")).cats
    assert cats["panel_invite"] >= learned.THRESHOLD and cats["interview_request"] >= learned.THRESHOLD
    assert cats["rejection"] < learned.THRESHOLD


def test_it_adds_what_the_rules_missed_with_sentence_rule_and_probability() -> None:
    inp = ExtractInput(text=INVITE, subject="Final round", direction=Direction.IN)
    (out,) = learned.add_learned([inp], [Extraction((rule_signal("interview_request"),), (), None, None)])
    added = [s for s in out.signals if s.rule == learned.RULE]
    assert "panel_invite" in {s.type for s in added}
    assert [s.type for s in out.signals].count("interview_request") == 1  # the rules' own signal is kept, not doubled
    for s in added:
        assert INVITE[s.start:s.end] == s.evidence and s.evidence.strip()
        assert s.label.startswith("text classifier (probability 0.") and learned.THRESHOLD <= s.strength <= 1


def test_it_reads_neither_the_owners_mail_nor_out_of_office_replies() -> None:
    mine = ExtractInput(text=INVITE, subject="Final round", direction=Direction.OUT)
    away = ExtractInput(text="I am currently out of the office with no access to email.\n\n" + INVITE,
                        subject="Automatic reply: Final round", direction=Direction.IN)
    assert learned.add_learned([mine, away], [NONE, NONE]) == [NONE, NONE]


def test_the_rules_precedence_holds_for_what_it_adds() -> None:
    inp = ExtractInput(text=INVITE, subject="Final round", direction=Direction.IN)
    (out,) = learned.add_learned([inp], [Extraction((rule_signal("rejection"),), (), None, None)])
    assert not {"panel_invite", "keep_warm", "offer"} & {s.type for s in out.signals}


def test_rules_only_switch_and_a_broken_model_keep_the_rules_signals(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    inp = ExtractInput(text=INVITE, subject="Final round", direction=Direction.IN)
    rules = [Extraction((rule_signal("interview_request"),), (), None, None)]
    learned.set_enabled(False)
    try:
        assert learned.add_learned([inp], rules) == rules
    finally:
        learned.set_enabled(True)
    broken = tmp_path / "broken.bin"
    broken.write_bytes(b"\x00not a model")
    monkeypatch.setattr(learned, "MODEL_FILE", broken)
    learned._model.cache_clear()
    try:
        with caplog.at_level(logging.ERROR):
            assert learned.add_learned([inp], rules) == rules
        assert "learned layer failed" in caplog.text
    finally:
        learned._model.cache_clear()


def test_training_is_reproducible(tmp_path: Path) -> None:
    rows = load(Path(__file__).resolve().parent.parent / "daemon" / "demo_mailbox")
    labels = ["interview_request", "rejection"]
    a, b = train(rows, labels, epochs=2), train(rows, labels, epochs=2)
    learned.save(a, tmp_path / "a.bin")
    learned.save(b, tmp_path / "b.bin")
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()
