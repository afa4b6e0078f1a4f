"""No input escapes analyze, the store or the digest with an exception, and none costs more
than 2 s: a property test over generated messages and a bounded run of the mutation fuzzer
over the shared corpora (bench/fuzz.py runs it for minutes)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, SHARED, need_folder

from offerwatch.daemon.digest.build import build_digest
from offerwatch.daemon.digest.render import render_html, render_text
from offerwatch.extractors.pipeline import analyze
from offerwatch.models.domain import Location
from offerwatch.models.linking import link_message
from offerwatch.models.store import Store

PER_MESSAGE_SECONDS = 2.0

_ATOMS = [
    "=?utf-8?b?QUFBQ?=", "=?utf-8?q?caf=C3=A9?=", "=?utf-\u00e98?q?x?=", "=?x-unknown?q?x?=", "=?", "?=", "(", ")",
    "<", ">", '"', "\\", ",", ";", ":", "@", "$", "&amp;", "</p>", "<a ", "<!--", "<![x[", "> ", "\r\n", "\n", "\t",
    " ", "\x00", "\u200b", "😀", "—", "'s", "offer", "interview", "rejection", "We'd like to invite you",
    "Unfortunately we will not move forward", "jo@acme.example", "boundary=b", "--b", "--b--",
    "Content-Type: text/html\r\n\r\n", "Content-Type: multipart/mixed; boundary=b\r\n\r\n", "BEGIN:VCALENDAR",
]
text = st.lists(st.one_of(st.sampled_from(_ATOMS), st.text(max_size=30)), max_size=60).map("".join)
big_run = st.tuples(st.sampled_from(["$", "(", "=", "&amp;", "</p>", "> x\n", "=?utf-8?q?a?= ", "\t", "😀"]),
                    st.integers(min_value=0, max_value=20_000)).map(lambda t: t[0] * (t[1] // len(t[0])))


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    headers = {
        "From": draw(st.one_of(text, st.just("Jo <jo@acme.example>"))),
        "To": draw(text),
        "Subject": draw(st.one_of(text, big_run)),
        "Date": draw(st.one_of(text, st.just("Mon, 5 Oct 2026 09:00:00 +0000"))),
        "Message-ID": draw(st.one_of(text, st.just("<m@acme.example>"))),
        "Content-Type": draw(st.sampled_from([
            "text/plain; charset=utf-8", "text/html", "text/plain; charset=punycode", "text/plain; charset=x-bogus",
            'multipart/alternative; boundary="b"', "text/calendar; method=REQUEST",
        ])),
        "Content-Transfer-Encoding": draw(st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "x-uue"])),
    }
    body = draw(text) + draw(big_run) + draw(text)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if draw(st.booleans()))
    raw = (head + "\r\n" + body).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        raw = raw.replace(b"a", bytes([draw(st.integers(0, 255))]), draw(st.integers(0, 3)))
    return raw


def _utf8(value: object) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # no lone surrogate may reach the database or a terminal


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    analyze(b"Subject: warm-up\r\n\r\nHello")  # the spaCy pipeline is built outside any timing


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(messages())
def test_generated_messages_never_raise_and_store(raw: bytes) -> None:
    started = time.process_time()  # CPU time: the machine is shared
    a = analyze(raw)
    assert time.process_time() - started < PER_MESSAGE_SECONDS
    for v in (a.subject, a.text, a.signature, a.message_id, a.job_reason, *a.problems, *a.headers.values()):
        _utf8(v)
    store = Store.open(None)
    try:
        store.write_batch("t", "INBOX", 1, [(Location("t", "INBOX", 1, 1, "1"), a)], last_uid=1, linker=link_message)
        d = build_digest(store, now=datetime(2026, 10, 6, 12, tzinfo=timezone.utc), tz=ZoneInfo("America/Chicago"))
        render_html(d)
        render_text(d)
    finally:
        store.close()


@pytest.mark.slow
def test_mutation_fuzzer_over_the_corpora_finds_nothing() -> None:
    """A bounded run in its own process (so its peak RSS is its own): analyze, store, digest."""
    need_folder(SHARED / "corpus")
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "fuzz.py"), "--rounds", "200", "--minutes", "5", "--seed", "11", "--store"],
        capture_output=True, text=True, timeout=400,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr[-2000:]
    assert re.search(r"^messages:\s+200\b", out, re.M), out
    assert re.search(r"^failures:\s+0 distinct", out, re.M), out
    worst = float(re.search(r"^worst message:\s+([\d.]+) s CPU", out, re.M).group(1))  # type: ignore[union-attr]
    rss = float(re.search(r"^peak RSS:\s+(\d+) MB", out, re.M).group(1))  # type: ignore[union-attr]
    assert worst < PER_MESSAGE_SECONDS and rss < 300, out
