"""The classifier's shortcuts (a literal prefilter per pattern, vocabulary scanned only when a
decision needs it) decide exactly as the plain way on every corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offerwatch.extractors import classify as cls
from offerwatch.extractors.pipeline import Owner, _prepare

CORPORA = [Path(__file__).parent.parent.parent / "shared" / "corpus" / c
           for c in ("dev", "train-corporate", "train-public", "train-mixed-inbox")]
CORPORA += [Path(__file__).parent / "data" / "heldout", Path(__file__).parent.parent / "daemon" / "demo_mailbox"]


def _messages() -> list:  # type: ignore[type-arg]
    out = []
    for c in CORPORA:
        if not (c / "labels.jsonl").is_file():
            continue
        for line in (c / "labels.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(_prepare((c / json.loads(line)["file"]).read_bytes(), Owner(), None))
    return out


@pytest.fixture(scope="module")
def messages() -> list:  # type: ignore[type-arg]
    got = _messages()
    if not got:
        pytest.skip("no corpora at ../shared/corpus")
    return got


def test_every_match_contains_one_of_its_patterns_literals(messages: list) -> None:  # type: ignore[type-arg]
    data = cls.load_data()
    checked = 0
    for p in messages:
        body = " ".join(f"{p.parsed.subject or ''}\n{p.text[:20000]}\n{p.signature[:1000]}".split())
        low = body.lower()
        for v in data.vocab.values():
            for pat, lits in zip(v.patterns, v.literals, strict=True):
                if lits is not None and pat.search(body):
                    checked += 1
                    assert any(x in low for x in lits), (pat.pattern, lits)
    assert checked > 1000


def test_decisions_equal_the_eager_plain_classifier(messages: list, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    def decide() -> list[tuple[bool, str]]:
        return [(d.is_job, d.reason) for d in (
            cls.classify(sender=p.parsed.sender, subject=p.parsed.subject, text=p.text, headers=p.parsed.headers,
                         direction=p.direction, has_calendar=bool(p.parsed.events), recipients=p.parsed.to + p.parsed.cc,
                         signature=p.signature) for p in messages)]

    fast = decide()

    def plain_hits(v: cls._Vocab, text: str, low: str) -> list[str]:
        return [cls.matched_words(text, m) for pat in v.patterns if (m := pat.search(text))]

    class Eager(cls._Lazy):
        def __init__(self, data: cls._Data, body: str) -> None:
            super().__init__(data, body)
            self.scored()
            self.receipt()

    monkeypatch.setattr(cls, "_hits", plain_hits)
    monkeypatch.setattr(cls, "_Lazy", Eager)
    monkeypatch.setattr(cls.Prefiltered, "search", lambda self, text, low=None: self.pattern.search(text))
    assert decide() == fast


PREFILTERED = [cls._ACCOUNT, cls._OWN_PROCESS_STRONG, cls._OWN_PROCESS]


def test_every_match_of_a_prefiltered_regex_holds_one_of_its_literals(messages: list) -> None:  # type: ignore[type-arg]
    samples = ["Click the login link below", "Your one-time code is 4411", "Forgotten your password?",
               "Your account has been locked", "I've just landed the offer!", "Did u hear back from them?",
               "how did your second interview go", "my final round is on Monday", "haha mine was worse",
               "I'm through to the final stage", "we made it to the panel"]
    texts = samples + [" ".join(f"{p.parsed.subject or ''}\n{p.text[:20000]}".split()) for p in messages]
    hits = 0
    for rx in PREFILTERED:
        assert rx.literals, rx.pattern.pattern  # each has literals, or the prefilter would do nothing
        for text in texts:
            if rx.pattern.search(text):
                hits += 1
                assert rx.search(text), (rx.pattern.pattern, text[:200])
                assert any(x in text.lower() for x in rx.literals)
            else:
                assert rx.search(text) is None
    assert hits >= 40


def test_sequence_literals_give_up_where_an_alternative_has_none() -> None:
    import re._parser as sre_parse

    def lits(source: str) -> list[str] | None:
        return cls._sequence_literals(list(sre_parse.parse(source)))

    assert lits(r"\b(?:reset (?:your )?password|(?:login|magic) link)\b") == ["password", " link"]
    assert lits(r"\bmy\s+(?:final|panel)\s+round") == ["round"]
    assert lits(r"\b(?:ab|cd)\b") is None  # too short to be worth a search
    assert lits(r"password|\d+") is None  # the second alternative may match any digits
    assert lits(r"(?:pass)?word") == ["word"]  # an optional group promises nothing


def test_required_literals() -> None:
    assert cls.required_literal(r"\bsalary expectations?") == ("salary expectation",)
    assert cls.required_literal(r"\b(call|chat|conversation)\b") == ("call", "chat", "conversation")
    assert cls.required_literal(r"\b(?:doctor|gp|clinic)\b") == ("doctor", "gp", "clinic")
    assert cls.required_literal(r"\bw2\b") is None
    assert cls.required_literal(r"(unbalanced") is None
