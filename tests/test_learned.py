"""The learned layer: a shipped text classifier that only adds types the rules missed, each
with its sentence and probability, under the rules' precedence; reproducible training."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from offerwatch.extractors import learned
from offerwatch.extractors.signals import extract
from offerwatch.extractors.train_learned import load, train
from offerwatch.models.domain import Direction

INVITE = ("Hi Sam,\n\nThanks for Tuesday. We would like to invite you to the final round, a panel interview "
          "with our CTO and two engineers. Which days next week work for you?\n\nBest,\nJo")


@pytest.fixture
def rules_only():
    learned.set_enabled(False)
    yield
    learned.set_enabled(True)


def test_the_shipped_model_loads_offline_and_reads_an_invitation() -> None:
    from offerwatch.extractors.nlp import get_nlp

    assert learned.MODEL_FILE.is_file() and learned.MODEL_FILE.stat().st_size < 20_000_000
    cats = learned.scores(get_nlp().make_doc(INVITE))
    assert cats["panel_invite"] >= learned.THRESHOLD and cats["interview_request"] >= learned.THRESHOLD
    assert cats["rejection"] < learned.THRESHOLD
    assert learned.scores(get_nlp().make_doc("")) == {}  # an empty message: nothing to read


def test_what_it_adds_has_its_sentence_rule_and_probability(monkeypatch: pytest.MonkeyPatch) -> None:
    # the rules miss nothing in INVITE, so lower the bar to see the layer add what it reads
    monkeypatch.setattr(learned, "THRESHOLD", 0.05)
    rules_types = {s.type for s in extract(INVITE).signals if s.rule != learned.RULE}
    got = extract(INVITE).signals
    added = [s for s in got if s.rule == learned.RULE]
    assert added, "at a low threshold the classifier adds something"
    assert not {s.type for s in added} & rules_types - {s.type for s in added}
    assert len({s.type for s in got}) == len(got)  # one signal per type: the rules' own kept, none doubled
    for s in added:
        assert INVITE[s.start:s.end] == s.evidence and s.evidence.strip()
        assert s.label.startswith("text classifier (probability 0.") and 0.05 <= s.strength <= 1


def test_the_rules_precedence_holds_for_what_it_adds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learned, "THRESHOLD", 0.01)  # the classifier proposes every type
    got = {s.type for s in extract("Unfortunately we have decided not to move forward with your application.").signals}
    assert "rejection" in got
    assert not {"keep_warm", "panel_invite", "offer", "application_received"} & got


def test_it_reads_neither_the_owners_mail_nor_out_of_office_replies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learned, "THRESHOLD", 0.01)
    assert extract(INVITE, direction=Direction.OUT).signals == ()
    away = "I am currently out of the office with no access to email.\n\n" + INVITE
    assert extract(away, subject="Automatic reply: Final round").signals == ()


def test_rules_only_switch(rules_only: None) -> None:
    assert all(s.rule != learned.RULE for s in extract(INVITE).signals)
    from offerwatch.extractors.nlp import get_nlp

    assert learned.additions(get_nlp().make_doc(INVITE), set()) == []


def test_a_damaged_model_leaves_the_rules_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    before = {s.type for s in extract(INVITE).signals if s.rule != learned.RULE}
    broken = tmp_path / "broken.bin"
    broken.write_bytes(b"\x00not a model")
    monkeypatch.setattr(learned, "MODEL_FILE", broken)
    learned.classifier.cache_clear()
    try:
        with caplog.at_level(logging.ERROR):
            got = extract(INVITE).signals
        assert {s.type for s in got} == before and all(s.rule != learned.RULE for s in got)
        assert "could not be read" in caplog.text
    finally:
        learned.classifier.cache_clear()


def test_training_is_reproducible(tmp_path: Path) -> None:
    rows = load(Path(__file__).resolve().parent.parent / "daemon" / "demo_mailbox")
    labels = ["interview_request", "rejection"]
    learned.save(train(rows, labels, epochs=2), tmp_path / "a.bin")
    learned.save(train(rows, labels, epochs=2), tmp_path / "b.bin")
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()


def test_batched_and_sliced_scoring_give_the_per_doc_numbers() -> None:
    """The speed-ups (one model call per batch, sentences scored from slices of the doc's ORTH
    column) must give exactly the numbers of the plain way: a doc per call, a doc per sentence."""
    from spacy.attrs import ORTH, SPACY

    from offerwatch.extractors.nlp import get_nlp

    nlp, tc = get_nlp(), learned.classifier()
    texts = [INVITE, "", "Unfortunately we have decided not to move forward.", "ok", "Offer!\n\n- $120k base\n- start May 3?"]
    docs = [nlp.make_doc(t) for t in texts]
    assert learned.scores_many(docs) == [dict(tc(nlp.make_doc(t)).cats) if t else {} for t in texts]
    doc = docs[0]
    spans = [doc.char_span(a, b, alignment_mode="expand") for a, b in learned.sentences(doc.text)]
    sliced = tc.predict([learned._Words(doc.to_array([ORTH])[s.start : s.end]) for s in spans])
    copied = tc.predict([s.as_doc(array_head=(ORTH, SPACY)) for s in spans])
    assert len(spans) > 2 and (sliced == copied).all()
