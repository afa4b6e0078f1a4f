"""The shortcuts that make detection fast give the same answers as the plain way."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from offerwatch.extractors import entities
from offerwatch.extractors import nlp as nlp_mod
from offerwatch.extractors import signals as sig_mod


def _reference_structure(doc) -> tuple[list[int], list[int], list[int]]:  # type: ignore[no-untyped-def]
    """Sentence starts, clause boundaries and question marks by a plain loop over the tokens."""
    starts, bounds, questions = [0] if len(doc) else [], [], []
    run, new_sent = 0, False
    for i, tok in enumerate(doc):
        if i and (new_sent or run >= nlp_mod.MAX_SENT_TOKENS):
            starts.append(i)
            run = 0
        run += 1
        new_sent = tok.text in nlp_mod._SENT_END
        if tok.lower_ in nlp_mod.CLAUSE_BOUNDARIES or (tok.lower_ == "-" and tok.whitespace_):
            bounds.append(i)
        if tok.text == "?":
            questions.append(i)
        if tok.is_space:
            if "\n" in tok.text:
                bounds.append(i)
            if tok.text.count("\n") >= 2:
                new_sent = True
    return starts, sorted(set(bounds)), questions


def _texts() -> list[str]:
    rng = random.Random(3)
    words = ["We", "are", "not", "able", "to", "move", "forward", ".", ",", "?", "!", "...", "and", "But", "-", "—",
             "\n", "\n\n", " \n \n ", "\n \n", "Hi", "Maya", "so", "interview", "on", "Tuesday", "3pm", ":", "(", ")",
             "offer", "?!", "…", "don't", "received", "Receiving", "gonna"]
    out = ["", " ", "\n\n", "Hello.\n\nWorld", "a - b", "a -b", "word " * 700, "x\n" * 5]
    for _ in range(300):
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 80))))
    return out


def test_structure_from_the_matcher_pass_matches_a_token_loop() -> None:
    nlp = nlp_mod.get_nlp()
    for text in _texts():
        doc = nlp(text)
        tt = doc.user_data["_ow"]
        starts, bounds, questions = _reference_structure(doc)
        assert tt.sent_starts == (starts or [0]), text
        assert [i for i, b in enumerate(tt.boundary) if b] == bounds, text
        assert tt.questions == questions, text
        assert tt.lower == [t.lower for t in doc]
        assert len(tt.sent_id) == len(doc)


def test_norm_is_the_lookup_lemma_of_the_lower_case_form() -> None:
    nlp = nlp_mod.get_nlp()
    table = nlp_mod.lemma_table()
    doc = nlp.make_doc("We RECEIVED your résumé; don't worry, y'all gonna hear back.\n\n \n Thanks")
    for tok in doc:
        if tok.is_space:
            assert tok.norm_ == ("\n\n" if tok.text.count("\n") >= 2 else "\n" if "\n" in tok.text else tok.text)
        else:
            assert tok.norm_ == table.get(tok.lower_, tok.lower_), tok.text


def test_the_tokenizer_splits_as_the_stock_one() -> None:
    import spacy

    stock = spacy.blank("en")
    nlp = nlp_mod.get_nlp()
    for text in _texts() + ["I can't, won't, shouldn't've; gonna/wanna e.g. U.S. 10am $150k :)"]:
        assert [t.text_with_ws for t in nlp.make_doc(text)] == [t.text_with_ws for t in stock.make_doc(text)]


def test_token_patterns_with_lemma_still_work(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text(
        json.dumps({"label": "offer", "id": "offer.tok", "pattern": [{"LEMMA": "extend"}, {"LOWER": "an"}, {"LOWER": "offer"}]}) + "\n"
        + json.dumps({"label": "NEG", "id": "neg.word", "pattern": "not"}) + "\n",
        encoding="utf-8",
    )
    nlp = nlp_mod.build_nlp(nlp_mod.load_patterns(tmp_path))
    try:
        doc = nlp("We are extending an offer. We did not extend an offer.")
        assert [(c[1], c[2], c[3]) for c in doc.user_data["cues"]] == [("offer.tok", 2, 5), ("neg.word", 8, 9), ("offer.tok", 9, 12)]
        assert [h.type for h in doc.user_data["hits"]] == ["offer"]
    finally:
        nlp_mod.build_nlp(nlp_mod.get_patterns())  # restore the pattern metadata of the shared pipeline


def test_norm_token_patterns_are_refused(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text(json.dumps({"label": "offer", "id": "x", "pattern": [{"NORM": "offer"}]}) + "\n")
    with pytest.raises(nlp_mod.PatternError, match="NORM"):
        nlp_mod.load_patterns(tmp_path)


def test_sentences_without_a_trigger_label_fire_nothing() -> None:
    """combine() skips sentences whose cues are all outside _TRIGGERS: make sure no rule
    of _sentence_hits starts from such a label (negators and the like only cancel)."""
    nlp = nlp_mod.get_nlp()
    others = sorted((nlp_mod.CUE_LABELS | set(sig_mod._DIRECT_TYPES)) - sig_mod._TRIGGERS
                    - {"NEG", "HEDGE", "SELF_FUTURE", "PAST", "BOILERPLATE"})
    doc = nlp("Does Tuesday at 3pm work for you for the $150k role, still, confirm ?")
    tt = doc.user_data["_ow"]
    cues = [sig_mod._Cue(label, f"x.{label}", i, i + 1, frozenset()) for i, label in enumerate(others)]
    assert not list(sig_mod._sentence_hits(sig_mod._Sentence(doc, tt, 0, len(doc), cues)))


def test_fast_salary_and_self_intro_checks_agree_with_the_plain_regexes() -> None:
    rng = random.Random(5)
    frags = ["$", "€", "USD", "xEUR", "150", "1,200", "135'000", " ", "-", "k", "K", "salary", "per year", "euros", "kr",
             "I'm", "this is", "here", "There", "İ", "my role", "a", "\n", "9/22", "10:00", "%"]
    for _ in range(3000):
        text = "".join(rng.choice(frags) for _ in range(rng.randint(1, 14)))
        assert entities._moneyish(text) == bool(entities._MONEYISH.search(text)), text
        assert [m.span() for m in entities._salary_matches(text)] == [m.span() for m in entities._SALARY_RE.finditer(text)], text


def test_describe_is_cached_per_pipeline() -> None:
    nlp_mod.get_nlp()
    rule = "panel.term+invite.forward"
    assert sig_mod.describe(rule) == sig_mod.describe(rule)
    assert sig_mod.describe("") == ""


def test_fast_affix_run_and_out_of_office_checks_agree_with_the_plain_regexes() -> None:
    from offerwatch.extractors import tokenguard

    rng = random.Random(11)
    marks = ["$", "'", "\u2019", "s", "S", "_", "!", "?", "=", "-", "(", "ſ", "'s", "a"]
    spaces = [" ", "\n", "\u00a0", "\u2003", "\x1c"]
    runs = 0
    for _ in range(3000):
        text = "".join(rng.choice(spaces) + "".join(rng.choice(marks) for _ in range(rng.randint(5, 22)))
                       for _ in range(rng.randint(1, 4)))
        runs += tokenguard.has_affix_run(text)
        assert tokenguard.has_affix_run(text) == (tokenguard._AFFIX_RUN.search(text) is not None), repr(text)
    assert runs > 30  # both answers occur often
    away = 0
    for _ in range(2000):
        text = "".join([rng.choice(["Hi. ", "", "x" * 580]), rng.choice(["I'm ", "I AM ", "i will be "]),
                        rng.choice(["out of the office", "on leave", "away", "here"]), rng.choice([" with ", ". ", " and "]),
                        rng.choice(["no ", "limited ", "some "]), rng.choice(["access to", "ACCESS TO", "acceſſ to", "acess to"]),
                        rng.choice([" email", " my e-mail", " mail"])])
        away += sig_mod.is_out_of_office("", text)
        assert sig_mod.is_out_of_office("", text) == bool(sig_mod._OUT_OF_OFFICE_TEXT.search(text[:600])), repr(text)
    assert away > 100


def test_a_sentences_text_cut_from_the_doc_text_is_its_span_text() -> None:
    nlp = nlp_mod.get_nlp()
    texts = [t for t in _texts() if t.strip()] + ["Hi Maya,\n\nCould we meet her on Tuesday at 3pm?  Thanks!\n"]
    for doc in nlp.pipe(sig_mod._docs_of(nlp, texts)):
        assert doc.user_data[sig_mod.DOC_TEXT] == doc.text
        for start, end in zip(doc.user_data["_ow"].sent_starts, doc.user_data["_ow"].sent_starts[1:] + [len(doc)], strict=True):
            if start < end:
                assert sig_mod._Sentence(doc, doc.user_data["_ow"], start, end, []).text() == doc[start:end].text


def test_phrase_keys_read_word_by_word_are_the_keys_of_whole_phrase_docs() -> None:
    """The PhraseMatchers are fed keys built a word at a time (``nlp.PhraseKeys``): for every
    phrase of every shipped rule they must be what a Doc of the whole phrase gives."""
    from spacy.attrs import LOWER, NORM, SHAPE

    nlp = nlp_mod.get_nlp()
    keys = nlp_mod.PhraseKeys(nlp)
    attr_ids = {"LOWER": LOWER, "LEMMA": NORM, "SHAPE": SHAPE}
    checked = 0
    for rule in nlp_mod.get_patterns().rules:
        for phrases in (rule.phrases, rule.then, rule.not_then):
            for phrase, doc in zip(phrases or (), nlp.tokenizer.pipe(phrases or ()), strict=True):
                assert keys.of(phrase, rule.attr) == [int(v) for v in doc.to_array([attr_ids[rule.attr]])], (rule.id, phrase)
                checked += 1
    assert checked > 10_000  # the expanded choices, not a handful
