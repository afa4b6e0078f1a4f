"""Mutation fuzzer: hostile variants of real mail through analyze, the store and the digest.

Seeds are every message of ../shared/corpus (the labelled corpora and the robustness
corpus of other parsers' test mail). Each round picks a seed and applies one to three
mutations of the kinds that broke offerwatch before: broken encoded words and charsets,
nested comments in address headers, runs of tokenizer-affix characters, stray and
unterminated HTML, quote-line floods, huge and deep MIME structures, hostile calendar
properties, byte flips and splices. Every message then goes through
:func:`offerwatch.extractors.pipeline.analyze`; with ``--store`` batches are also written
to a SQLite store (linking included) and the digest is built and rendered now and then.

It reports messages run, distinct failures (exception type and the innermost frame of
offerwatch code), the slowest message (CPU seconds, so a busy machine does not count),
the peak RSS with the phase that made it (which message or batch, and the RSS it started
from) and the RSS between messages every 2,500 (what stays behind), and exits 1 when a failure or a
message over ``--max-seconds`` was found. The suite runs a bounded number of rounds
(tests/test_fuzz.py); run it longer here::

    python bench/fuzz.py --minutes 10 [--seed 1] [--store] [--save-failures DIR]
"""

from __future__ import annotations

import argparse
import base64
import logging
import random
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import peak_rss_mb  # noqa: E402 - the benchmarks' one VmHWM reader

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
_NOT_MAIL = {"LICENSE", "LICENSE.txt", "MIT-LICENSE", "PROVENANCE.txt", "README.md", "README.rst", "gitattributes", "COPYING"}

#: Characters spaCy's English tokenizer strips one at a time (quadratic on long runs).
AFFIX = list("$?,()[]\"'*=#!:;%&+<>_`{}~^|\\/.-") + ["😀", "…", "€", "£", "—", "–", "°", "'s", "&amp;", ":)", "($"]


def seeds(corpus: Path = CORPUS) -> list[bytes]:
    """Every message (and calendar file, wrapped in an invitation) under ``corpus``."""
    out = []
    for path in sorted(corpus.rglob("*")):
        if not path.is_file() or path.name in _NOT_MAIL or path.name.startswith(".") or path.suffix in (".jsonl", ".py", ".md"):
            continue
        data = path.read_bytes()
        if path.suffix.lower() in (".ics", ".jcal"):
            data = invitation(data)
        out.append(data)
    return out


def invitation(calendar: bytes) -> bytes:
    return (
        b"From: scheduler@calendar.example\r\nTo: sam@example.net\r\nSubject: Invitation\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="ow"\r\n\r\n--ow\r\nContent-Type: text/plain\r\n\r\n'
        b"You have been invited.\r\n--ow\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\n"
        + calendar + b"\r\n--ow--\r\n"
    )


# -- mutations --------------------------------------------------------------------------------


def _split(raw: bytes) -> tuple[bytes, bytes, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(sep)
        if found:
            return head, sep, body
    return raw, b"\r\n\r\n", b""


def _size(rng: random.Random) -> int:
    return rng.choice([10, 100, 1_000, 5_000, 20_000, 60_000, 200_000])


def m_header(rng: random.Random, raw: bytes) -> bytes:
    """A hostile header added or replacing one: encoded words, comments, charsets, floods."""
    name = rng.choice([b"Subject", b"From", b"To", b"Cc", b"Reply-To", b"Date", b"Message-ID", b"References",
                       b"In-Reply-To", b"Content-Type", b"List-Id", b"X-Mailer"])
    n = _size(rng)
    value = rng.choice([
        b"=?utf-8?b?QUFBQ?=",
        b"Offer =?utf-8?b?QUFBQ?= =?utf-8?q?caf=C3=A9?=",
        "=?utf-\u00e98?q?hi?=".encode(),
        b"=?punycode?b?" + base64.b64encode(b"x-" + b"9" * min(n, 20_000)) + b"?=",
        b" ".join([b"=?utf-8?q?ab?="] * (n // 15 + 1)),
        b"(" * n + b"a@b.example",
        b"<" * n,
        b'"' * n + b" <a@b.example>",
        b", ".join([b"x%d@b.example" % i for i in range(n // 15 + 1)]),
        b"text/plain; charset=utf-8" + b"; a=b" * (n // 5 + 1),
        b"multipart/mixed; boundary=" + b"x" * n,
        b"\xff\xfe\x00" * (n // 3 + 1),
        b"Mon, 99 Foo 99999 99:99:99 +9999",
        b"=?" * n,
        b"=?utf-8?q?" + b"=" * n + b"?=",
    ])
    head, sep, body = _split(raw)
    line = name + b": " + value
    if rng.random() < 0.5:
        head = re.sub(rb"(?im)^" + name + rb":[^\n]*\n?", b"", head, count=1)
    return head + b"\r\n" + line + sep + body


def m_body(rng: random.Random, raw: bytes) -> bytes:
    """A pathological run inserted into the body (text or HTML)."""
    n = _size(rng)
    unit = rng.choice([
        rng.choice(AFFIX).encode(), b"</p>", b"</span>", b"<div>", b"<a ", b"<!--", b"<![CDATA[", b"<![foo[", b"</",
        b"<?x", b"> quoted line\n", b">\n", b"On Mon, Jo wrote:\n", b"\x00", b"\r", b"\n", b"&#", b"&#x110000;",
        b"\xe2\x80\x8b", b"a" * 100, b"https://example.com/" + b")" * 50, b"\t",
    ])
    run = unit * max(1, n // len(unit))
    head, sep, body = _split(raw)
    at = rng.randint(0, len(body))
    return head + sep + body[:at] + run + body[at:]


def m_html_alternative(rng: random.Random, raw: bytes) -> bytes:
    """A whole new message: a stub plain part and a hostile HTML part."""
    n = _size(rng)
    html = rng.choice([b"<div>" * n + b"</span>" * n, b"<a " * n, b"<p>" + b"&amp;" * n + b"</p>", b"<!--x>" * n,
                       b"<blockquote>" * n + b"old" + b"</blockquote>" * n, b"<table><tr><td>x" * (n // 10 + 1)])
    return (
        b"From: Jo <jo@acme.example>\r\nTo: sam@example.net\r\nSubject: Interview\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        b"View this email in your browser.\r\n--b\r\nContent-Type: text/html\r\n\r\n" + html + b"\r\n--b--\r\n"
    )


def m_mime(rng: random.Random, raw: bytes) -> bytes:
    """Deep nesting, many parts, missing boundaries, attachments with hostile names."""
    kind = rng.randrange(5)
    head = b"From: Jo <jo@acme.example>\r\nTo: sam@example.net\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
    if kind == 0:
        depth = rng.choice([50, 500, 3000])
        parts = [head]
        for i in range(depth):
            parts.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
        parts.append(b"Content-Type: text/plain\r\n\r\nWe would like to offer you the role.\r\n")
        return b"".join(parts)
    if kind == 1:
        count = rng.choice([100, 1000, 20000])
        part = b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        return head + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + part * count + b"--b--\r\n"
    if kind == 2:
        return head + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n' + raw
    if kind == 3:
        name = rng.choice([b"=?utf-8?b?QUFBQ?=", b"\xff" * 300, b"a" * 5000, b"=?x-unknown?q?x?=", b"../../etc/passwd"])
        return (head + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
                b"--b\r\nContent-Type: application/pdf; name=\"" + name + b"\"\r\nContent-Transfer-Encoding: base64\r\n"
                b"Content-Disposition: attachment; filename*=utf-8''" + name + b"\r\n\r\n" + b"QUFB" * _size(rng) + b"\r\n--b--\r\n")
    return raw.replace(b"--", b"-", rng.randint(1, 5))


def m_calendar(rng: random.Random, raw: bytes) -> bytes:
    """An invitation with hostile properties."""
    n = _size(rng)
    prop = rng.choice([
        b"DTSTART;TZID=" + b"A" * 300 + b":20261012T150000",
        b"DTSTART:99999999T999999Z",
        b"DTSTART;VALUE=DATE:20261012",
        b"DURATION:P99999999W",
        b"DURATION:-PT1H",
        b"SEQUENCE:99999999999999999999999",
        b"RRULE:FREQ=SECONDLY;COUNT=99999999",
        b"DESCRIPTION:" + b"$" * n,
        b"SUMMARY:" + b"(" * n,
        b"ATTENDEE;CN=" + b'"' * 1000 + b":mailto:x@y",
        b"ORGANIZER;CN=" + b"a," * 5000 + b":mailto:x@y",
        b"X-" + b"A" * n + b":x",
        b"BEGIN:VEVENT\r\n" * 1000,
    ])
    ics = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:u@x\r\n"
           b"DTSTART:20261012T150000Z\r\nSUMMARY:Interview\r\n" + prop + b"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    return invitation(ics)


def m_bytes(rng: random.Random, raw: bytes) -> bytes:
    """Random byte flips, inserts and deletes."""
    data = bytearray(raw)
    for _ in range(rng.randint(1, 20)):
        if not data:
            break
        i = rng.randrange(len(data))
        op = rng.randrange(3)
        if op == 0:
            data[i] = rng.randrange(256)
        elif op == 1:
            data.insert(i, rng.randrange(256))
        else:
            del data[i]
    return bytes(data)


def m_truncate(rng: random.Random, raw: bytes) -> bytes:
    return raw[: rng.randint(0, len(raw))]


MUTATIONS: list[Callable[[random.Random, bytes], bytes]] = [
    m_header, m_header, m_body, m_body, m_html_alternative, m_mime, m_calendar, m_bytes, m_truncate,
]


def mutate(rng: random.Random, pool: list[bytes]) -> bytes:
    """One hostile message: a seed (sometimes two spliced) with one to three mutations."""
    raw = rng.choice(pool)
    if rng.random() < 0.1:
        other = rng.choice(pool)
        raw = raw[: rng.randint(0, len(raw))] + other[rng.randint(0, len(other)) :]
    for _ in range(rng.randint(1, 3)):
        raw = rng.choice(MUTATIONS)(rng, raw)
    return raw


# -- running -----------------------------------------------------------------------------------


class Peaks:
    """Which phase made the peak RSS: the kernel's high-water mark (VmHWM) is reset before
    each phase (``/proc/self/clear_refs``, Linux 4.0+) and read after it, and the RSS the
    phase started from is kept, so a peak reads as "an analyze of a 5 MB message took RSS
    from 262 to 290 MB" (one message's cost) or as a baseline that grew (what stays behind).
    Without ``clear_refs`` only the process's peak is known. Off unless asked for (the
    command line does): it resets the calling process's high-water mark."""

    def __init__(self, enabled: bool = False) -> None:
        self.resettable = enabled and Path("/proc/self/clear_refs").exists()
        self.peak = 0.0
        self.where = ""
        self.baseline: list[tuple[int, float]] = []  # (messages, RSS between messages), every 2,500

    @staticmethod
    def _status() -> tuple[float, float]:
        rss = hwm = 0.0
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
        return rss, hwm

    def start(self) -> float:
        """The RSS now; the high-water mark so far is kept and then reset."""
        if not self.resettable:
            return 0.0
        rss, hwm = self._status()
        if hwm > self.peak:
            self.peak, self.where = hwm, "between phases"
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self.resettable = False
        return rss

    def end(self, phase: str, before: float) -> None:
        if not self.resettable:
            return
        _rss, hwm = self._status()
        if hwm > self.peak:
            self.peak, self.where = hwm, f"{phase}: RSS {before:.0f} -> {hwm:.0f} MB"

    def note_baseline(self, messages: int) -> None:
        if self.resettable and messages and messages % 2500 == 0:
            self.baseline.append((messages, self._status()[0]))


@dataclass
class Report:
    messages: int = 0
    failures: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # signature -> (count, example)
    worst_seconds: float = 0.0
    worst_example: bytes = b""
    slow: int = 0
    peaks: Peaks = field(default_factory=Peaks)

    def fail(self, err: BaseException, raw: bytes, where: str) -> None:
        frames = [f for f in traceback.extract_tb(err.__traceback__) if "offerwatch" in f.filename or "/extractors/" in f.filename
                  or "/models/" in f.filename or "/daemon/" in f.filename]
        last = frames[-1] if frames else None
        sig = f"{where}: {type(err).__name__} at {Path(last.filename).name}:{last.lineno} {last.name}" if last else \
            f"{where}: {type(err).__name__}"
        count, example = self.failures.get(sig, (0, raw))
        self.failures[sig] = (count + 1, example)


def messages(rng: random.Random, pool: list[bytes]) -> Iterator[bytes]:
    while True:
        yield mutate(rng, pool)


def run(*, rounds: int | None = None, seconds: float | None = None, seed: int = 1, store: bool = False,
        max_seconds: float = 2.0, pool: list[bytes] | None = None, batch: int = 20, phases: bool = False) -> Report:
    """Fuzz until ``rounds`` messages or ``seconds`` have passed, whichever comes first;
    with ``phases``, also find which phase made the peak RSS (:class:`Peaks`)."""
    from offerwatch.daemon.memory import return_big_buffers_to_os
    from offerwatch.extractors.pipeline import analyze

    return_big_buffers_to_os()  # as the CLI does for every command
    rng = random.Random(seed)
    pool = pool if pool is not None else seeds()
    if not pool:
        raise SystemExit(f"no seed messages under {CORPUS}")
    report = Report(peaks=Peaks(phases))
    analyze(b"Subject: warm-up\r\n\r\nHello")  # build the spaCy pipeline outside any timing
    deadline = time.monotonic() + seconds if seconds else None
    sink = _StoreSink(report) if store else None
    for raw in messages(rng, pool):
        if rounds is not None and report.messages >= rounds:
            break
        if deadline is not None and time.monotonic() > deadline:
            break
        report.peaks.note_baseline(report.messages)
        rss = report.peaks.start()
        started = time.process_time()  # CPU time: what the message costs, not the machine's load
        try:
            analysis = analyze(raw)
        except Exception as err:  # noqa: BLE001 - that is what the fuzzer looks for
            report.fail(err, raw, "analyze")
            analysis = None
        elapsed = time.process_time() - started
        report.peaks.end(f"analyze of a {len(raw):,}-byte message", rss)
        report.messages += 1
        if elapsed > report.worst_seconds:
            report.worst_seconds, report.worst_example = elapsed, raw
        if elapsed > max_seconds:
            report.slow += 1
            report.failures.setdefault(f"slow: over {max_seconds:g}s", (0, raw))
            count, example = report.failures[f"slow: over {max_seconds:g}s"]
            report.failures[f"slow: over {max_seconds:g}s"] = (count + 1, example)
        if sink is not None and analysis is not None:
            sink.add(raw, analysis, batch)
    if sink is not None:
        sink.close()
    return report


class _StoreSink:
    """Writes analyses to a throwaway store in batches and builds the digest now and then.

    The store starts afresh every ``ROTATE`` batches (a mailbox's worth of mail): the digest
    reads every application, and thousands of fuzzed "applications" would measure the
    digest's growth with the database, not what one hostile message costs.
    """

    ROTATE = 100

    def __init__(self, report: Report) -> None:
        self.report = report
        self.dir = tempfile.TemporaryDirectory(prefix="ow-fuzz-")
        self.generation = 0
        self.store = self._open()
        self.pending: list[tuple[bytes, object]] = []
        self.uid = 0
        self.batches = 0

    def _open(self):  # type: ignore[no-untyped-def]
        from offerwatch.models.store import Store

        self.generation += 1
        return Store.open(Path(self.dir.name) / f"fuzz-{self.generation}.db")

    def add(self, raw: bytes, analysis: object, batch: int) -> None:
        self.pending.append((raw, analysis))
        if len(self.pending) >= batch:
            self.flush()

    def flush(self) -> None:
        from offerwatch.models.domain import Location
        from offerwatch.models.linking import link_message

        if not self.pending:
            return
        items = []
        for _raw, analysis in self.pending:
            self.uid += 1
            items.append((Location("fuzz", "INBOX", 1, self.uid, str(self.uid)), analysis))
        rss = self.report.peaks.start()
        try:
            self.store.write_batch("fuzz", "INBOX", 1, items, last_uid=self.uid, linker=link_message)
        except Exception as err:  # noqa: BLE001
            self.report.fail(err, self.pending[0][0], "store")
        self.report.peaks.end(f"write_batch of {len(items)} messages", rss)
        self.pending = []
        self.batches += 1
        if self.batches % 10 == 0:
            self.digest()
        if self.batches % self.ROTATE == 0:
            self.store.close()
            (Path(self.dir.name) / f"fuzz-{self.generation}.db").unlink()
            self.store = self._open()

    def digest(self) -> None:
        from zoneinfo import ZoneInfo

        from offerwatch.daemon.digest.build import build_digest
        from offerwatch.daemon.digest.render import render_html, render_text

        stored = self.store.db.execute("SELECT count(*) FROM messages").fetchone()[0]
        rss = self.report.peaks.start()
        try:
            d = build_digest(self.store, now=datetime.now(timezone.utc), tz=ZoneInfo("America/Chicago"))
            render_html(d)
            render_text(d)
        except Exception as err:  # noqa: BLE001
            self.report.fail(err, b"", "digest")
        self.report.peaks.end(f"digest over {stored:,} stored messages", rss)

    def close(self) -> None:
        self.flush()
        self.digest()
        self.store.close()
        self.dir.cleanup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=None, help="stop after this many messages")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--store", action="store_true", help="also write every message to a store and build digests")
    ap.add_argument("--max-seconds", type=float, default=2.0, help="a message slower than this is a failure")
    ap.add_argument("--save-failures", type=Path, default=None, help="write one example .eml per failure here")
    args = ap.parse_args(argv)
    logging.disable(logging.CRITICAL)  # parse notes and handled problems are not the point here
    started = time.monotonic()
    report = run(rounds=args.rounds, seconds=args.minutes * 60, seed=args.seed, store=args.store,
                 max_seconds=args.max_seconds, phases=True)
    took = time.monotonic() - started
    print(f"messages:        {report.messages} in {took:.0f} s ({report.messages / max(took, 1e-9):.0f}/s)")
    print(f"failures:        {len(report.failures)} distinct")
    for sig, (count, _example) in sorted(report.failures.items()):
        print(f"  {count:6d}  {sig}")
    print(f"worst message:   {report.worst_seconds:.3f} s CPU ({len(report.worst_example)} bytes)")
    # VmHWM restarts at every phase (Peaks): the process's peak is the highest of them
    print(f"peak RSS:        {max(report.peaks.peak, peak_rss_mb()):.0f} MB")
    if report.peaks.where:
        print(f"  made by:       {report.peaks.where}")
    if report.peaks.baseline:
        print("  RSS between messages: " + ", ".join(f"{rss:.0f} MB at {n:,}" for n, rss in report.peaks.baseline))
    if args.save_failures:
        args.save_failures.mkdir(parents=True, exist_ok=True)
        for i, (_sig, (_count, example)) in enumerate(sorted(report.failures.items())):
            (args.save_failures / f"failure-{i:03d}.eml").write_bytes(example)
        (args.save_failures / "slowest.eml").write_bytes(report.worst_example)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
