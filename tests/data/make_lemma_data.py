"""Regenerate the English lemma table offerwatch ships, and the corpus lemmas that pin it.

offerwatch used one table of spacy-lookups-data (103 MB installed): the English
``lemma_lookup`` (41,582 entries, 205 KB compressed). It now ships that table itself in
``extractors/data/en_lemma_lookup.tsv.gz``; this script is how the file was made and how the
test's reference (``tests/data/corpus_lemmas.tsv.gz``) was made, so both can be checked.

Only lower-case forms are kept: offerwatch looks lemmas up by the lower-case form of a token
(the lexeme NORM and the LEMMA of token patterns, see ``extractors/nlp.py``), so the 368
entries with capitals could never be reached. Forms whose lemma is the form itself are left out
too (a missing form means "the form is its own lemma", exactly what ``table.get(f, f)`` did).

Needs spacy-lookups-data 1.0.5 in the environment (``pip install spacy-lookups-data==1.0.5``
in a scratch venv); offerwatch itself no longer depends on it::

    python tests/data/make_lemma_data.py            # writes both files
    python tests/data/make_lemma_data.py --check    # exits 1 when the shipped table differs
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "extractors" / "data" / "en_lemma_lookup.tsv.gz"
GOLDEN = REPO / "tests" / "data" / "corpus_lemmas.tsv.gz"
CORPORA = REPO.parent / "shared" / "corpus"
#: Longest form the golden file records; the original table has no key longer than 23 characters.
MAX_FORM = 32


def original_table() -> dict[str, str]:
    import importlib.metadata
    from importlib import resources

    version = importlib.metadata.version("spacy-lookups-data")
    if version != "1.0.5":
        sys.exit(f"spacy-lookups-data {version} is installed; the shipped table was made from 1.0.5")
    path = resources.files("spacy_lookups_data") / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        data: dict[str, str] = json.load(f)
    return data


def reachable(table: dict[str, str]) -> dict[str, str]:
    """The entries a lower-case lookup can hit and that change the form."""
    return {k: v for k, v in table.items() if k == k.lower() and k != v}


def tsv_gz(rows: dict[str, str]) -> bytes:
    for k, v in rows.items():
        if any(c in k + v for c in "\t\n\r"):
            raise ValueError(f"entry {k!r} -> {v!r} cannot be written as TSV")
    text = "".join(f"{k}\t{v}\n" for k, v in sorted(rows.items()))
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def corpus_forms() -> set[str]:
    """Every lower-case token form of every message's text in every corpus."""
    from offerwatch.extractors.nlp import get_nlp
    from offerwatch.extractors.parse import parse_mail

    nlp = get_nlp()
    forms: set[str] = set()
    for path in sorted(CORPORA.rglob("*.eml")):
        doc = nlp.make_doc(parse_mail(path.read_bytes()).text or "")
        forms.update(t.lower_ for t in doc if not t.is_space)
    return forms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare the shipped table with spacy-lookups-data")
    args = parser.parse_args()
    table = original_table()
    shipped = tsv_gz(reachable(table))
    if args.check:
        same = TABLE.read_bytes() == shipped
        print("shipped table matches spacy-lookups-data 1.0.5" if same else "shipped table DIFFERS")
        return 0 if same else 1
    TABLE.write_bytes(shipped)
    forms = {f for f in corpus_forms() if len(f) <= MAX_FORM and not any(c in f for c in "\t\n\r")}
    # Every form is recorded (its lemma, or "" when the form is its own lemma), so the test can
    # tell a changed lemma from a form that is new because the parser or tokenizer changed.
    golden = {f: (table.get(f, f) if table.get(f, f) != f else "") for f in forms}
    text = "".join(f"{k}\t{v}\n" for k, v in sorted(golden.items()))
    GOLDEN.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    print(f"{TABLE.relative_to(REPO)}: {len(reachable(table))} entries, {len(shipped)} bytes")
    print(f"{GOLDEN.relative_to(REPO)}: {len(golden)} forms ({sum(1 for v in golden.values() if v)} with another lemma)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
