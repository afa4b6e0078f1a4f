"""Every real-world and broken message of the robustness corpus goes through the whole
pipeline without an exception escaping and within 2 s per message."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import ROBUSTNESS_CORPUS

from offerwatch.extractors.pipeline import analyze_many

_NOT_MAIL = {"LICENSE", "LICENSE.txt", "MIT-LICENSE", "PROVENANCE.txt", "README.md", "README.rst", "gitattributes", "COPYING"}
PER_MESSAGE_SECONDS = 2.0


def _files() -> list[Path]:
    if not ROBUSTNESS_CORPUS.is_dir():
        return []
    return sorted(p for p in ROBUSTNESS_CORPUS.rglob("*") if p.is_file() and p.name not in _NOT_MAIL and not p.name.startswith("."))


def _as_message(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix.lower() in (".ics", ".jcal"):
        # Calendar files travel inside mail: wrap them the way an invitation arrives.
        return (
            b"From: scheduler@calendar.example\r\nTo: sam@example.net\r\nSubject: Invitation\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/alternative; boundary="ow"\r\n\r\n--ow\r\nContent-Type: text/plain\r\n\r\n'
            b"You have been invited.\r\n--ow\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\n"
            + data + b"\r\n--ow--\r\n"
        )
    return data


FILES = _files()


def test_corpus_is_present(robustness_corpus: Path) -> None:
    assert len(FILES) > 500, f"expected about 600 files under {robustness_corpus}, found {len(FILES)}"


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROBUSTNESS_CORPUS)) for p in FILES])
def test_message_goes_through_pipeline(path: Path) -> None:
    raw = _as_message(path)
    started = time.perf_counter()
    (analysis,) = list(analyze_many([raw]))
    elapsed = time.perf_counter() - started
    assert elapsed < PER_MESSAGE_SECONDS, f"{path.name} took {elapsed:.2f}s"
    # Whatever the input, the result is storable: a key, a reason, text within the cap.
    assert analysis.key
    assert analysis.job_reason
    assert len(analysis.text) <= 60_000
    for s in analysis.signals:
        assert s.evidence and 0 <= s.start <= s.end <= len(analysis.text)
