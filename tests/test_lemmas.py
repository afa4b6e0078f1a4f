"""The lemma table shipped in the package gives every token of every corpus the lemma spacy-lookups-data gave.

offerwatch dropped its 103 MB dependency on spacy-lookups-data and ships the one table it used
(``extractors/data/en_lemma_lookup.tsv.gz``). ``tests/data/corpus_lemmas.tsv.gz`` records, for
every lower-case token form in the corpora at ``../shared/corpus``, the lemma the old table
gave (made by ``tests/data/make_lemma_data.py`` with spacy-lookups-data 1.0.5 installed).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from offerwatch.extractors import nlp as nlp_mod

TESTS = Path(__file__).resolve().parent
CORPORA = TESTS.parents[1] / "shared" / "corpus"
GOLDEN = TESTS / "data" / "corpus_lemmas.tsv.gz"
MAX_FORM = 32  # tests/data/make_lemma_data.py records forms up to this length


def _golden() -> dict[str, str]:
    rows = gzip.decompress(GOLDEN.read_bytes()).decode("utf-8").splitlines()
    return {form: lemma or form for form, lemma in (r.split("\t", 1) for r in rows)}


@pytest.mark.slow
def test_every_corpus_token_keeps_its_lemma() -> None:
    from offerwatch.extractors.parse import parse_mail

    files = sorted(CORPORA.rglob("*.eml"))
    if not files:
        pytest.skip(f"{CORPORA} is absent: the shared corpora live beside the repository (../shared/corpus)")
    golden = _golden()
    nlp = nlp_mod.get_nlp()
    lemmatizer = nlp_mod.LookupLemmatizer(nlp)  # the LEMMA of token patterns; NORM serves phrase rules
    checked, unknown, wrong = 0, set(), []
    for path in files:
        doc = lemmatizer(nlp.make_doc(parse_mail(path.read_bytes()).text or ""))
        for tok in doc:
            if tok.is_space:
                continue
            form = tok.lower_
            expected = golden.get(form)
            if expected is None:
                if len(form) > MAX_FORM:  # the old table had no key longer than 23 characters
                    expected = form
                else:
                    unknown.add(form)
                    continue
            checked += 1
            if (tok.norm_, tok.lemma_) != (expected, expected) and len(wrong) < 20:
                wrong.append(f"{path.name}: {tok.text!r} norm {tok.norm_!r} lemma {tok.lemma_!r}, expected {expected!r}")
    assert not wrong, "\n".join(wrong)
    assert checked > 300_000, checked  # every corpus was read (about 390,000 tokens)
    # Forms the golden file does not know appear only when parsing or tokenizing changed; a few
    # are harmless, many mean the file should be made again (tests/data/make_lemma_data.py).
    assert len(unknown) <= 0.02 * len(golden), sorted(unknown)[:50]


def test_the_table_is_lower_case_and_never_maps_a_form_to_itself() -> None:
    table = nlp_mod.lemma_table()
    assert len(table) == 41_212
    assert all(k == k.lower() and k != v for k, v in table.items())
    assert (table["received"], table["interviews"], table["offered"], table["went"]) == ("receive", "interview", "offer", "go")


def test_the_licence_notice_ships_beside_the_table() -> None:
    notice = (TESTS.parent / "extractors" / "data" / "LICENSE-lemma-lookup.txt").read_text(encoding="utf-8")
    assert "ExplosionAI GmbH" in notice and "WordNet 3.0 Copyright 2006 by Princeton University" in notice
