"""Hostile headers and bodies cost bounded time and degrade field by field: analyze never
raises, and a real recruiter mail with one broken part keeps everything else."""

from __future__ import annotations

import base64
import mailbox
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from offerwatch.daemon.cli import cli
from offerwatch.extractors.parse import MAX_MIME_FIELD_BYTES, parse_mail
from offerwatch.extractors.pipeline import analyze
from offerwatch.models.store import Store

BODY = (
    b"Hi Sam,\r\n\r\nThank you for your time last week. We are pleased to offer you the Senior Engineer "
    b"role at Acme, with a base salary of $180,000.\r\n\r\nBest,\r\nJo\r\n"
)


def recruiter_mail(*, subject: bytes = b"Your offer from Acme", sender: bytes = b"Jo Recruiter <jo@acme.example>",
                   extra: bytes = b"", body: bytes = BODY, content_type: bytes = b"text/plain; charset=utf-8") -> bytes:
    return (
        b"From: " + sender + b"\r\nTo: Sam <sam@example.net>\r\nSubject: " + subject + b"\r\n"
        b"Date: Mon, 5 Oct 2026 09:00:00 +0000\r\nMessage-ID: <offer-1@acme.example>\r\n" + extra
        + b"MIME-Version: 1.0\r\nContent-Type: " + content_type + b"\r\n\r\n" + body
    )


def _keeps_the_offer(raw: bytes) -> None:
    a = analyze(raw)
    assert not a.parse_failed, a.problems
    assert a.message_id == "<offer-1@acme.example>"
    assert "pleased to offer you" in a.text
    assert a.is_job and "offer" in {s.type for s in a.signals}


def test_broken_base64_word_in_subject_keeps_subject_sender_body_and_signals() -> None:
    """HeaderParseError from the stdlib decoder: the subject is read best effort."""
    raw = recruiter_mail(subject=b"Your offer =?utf-8?b?QUFBQ?= from Acme")
    _keeps_the_offer(raw)
    a = analyze(raw)
    assert a.subject.startswith("Your offer") and a.subject.endswith("from Acme")
    assert a.sender is not None and a.sender.email == "jo@acme.example" and a.sender.name == "Jo Recruiter"


def test_broken_word_as_the_whole_subject() -> None:
    p = parse_mail(recruiter_mail(subject=b"=?utf-8?b?QUFBQ?="))
    assert p.subject and not p.parse_failed and p.sender is not None


def test_non_ascii_charset_name_in_an_encoded_word() -> None:
    """CharsetError from email.header.make_header."""
    raw = recruiter_mail(subject="=?utf-\u00e98?q?Your_offer?=".encode())
    _keeps_the_offer(raw)
    assert "Your offer" in analyze(raw).subject


def test_thousand_nested_comments_in_from_and_to() -> None:
    """RecursionError in the stdlib address parser: the bare address is still read."""
    raw = recruiter_mail(sender=b"(" * 1000 + b"jo@acme.example", extra=b"Cc: " + b"(" * 1000 + b"\r\n")
    _keeps_the_offer(raw)
    a = analyze(raw)
    assert a.sender is not None and a.sender.email == "jo@acme.example"
    assert a.subject == "Your offer from Acme"


def test_tzid_longer_than_a_file_name_costs_the_calendar_part_only() -> None:
    """OSError ENAMETOOLONG from icalendar's zone lookup."""
    ics = (
        b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:x@acme.example\r\n"
        b"DTSTART;TZID=" + b"A" * 300 + b":20261012T150000\r\nSUMMARY:Interview\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    body = (
        b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + BODY + b"\r\n"
        b"--B\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\n" + ics + b"\r\n--B--\r\n"
    )
    raw = recruiter_mail(content_type=b'multipart/mixed; boundary="B"', body=body)
    _keeps_the_offer(raw)
    assert any("calendar part unreadable" in p for p in analyze(raw).problems)


def test_subject_of_forty_thousand_encoded_words_is_cut_before_decoding() -> None:
    subject = b" ".join([b"=?utf-8?q?ab?="] * 40_000)  # on one line: the stdlib took seconds
    started = time.perf_counter()
    p = parse_mail(recruiter_mail(subject=subject))
    assert time.perf_counter() - started < 1.0
    assert p.subject.startswith("abab") and len(p.subject) <= 1000


def test_huge_content_type_is_cut_and_the_body_still_read() -> None:
    params = b"; x=y" * 200_000  # 1 MB of parameters: seconds in the stdlib's parameter split
    raw = recruiter_mail(content_type=b"text/plain; charset=utf-8" + params)
    started = time.perf_counter()
    p = parse_mail(raw)
    assert time.perf_counter() - started < 1.0
    assert "pleased to offer" in p.text
    assert len(params) > 100 * MAX_MIME_FIELD_BYTES


def test_punycode_charset_is_not_decoded_with_the_quadratic_codec() -> None:
    body = base64.encodebytes(b"x-" + b"9" * 200_000)
    started = time.perf_counter()
    p = parse_mail(recruiter_mail(content_type=b"text/plain; charset=punycode",
                                  extra=b"Content-Transfer-Encoding: base64\r\n", body=body))
    assert time.perf_counter() - started < 1.0
    assert p.text.startswith("x-999")


def test_attachments_keep_name_type_and_size_without_their_bodies_decoded() -> None:
    pdf = b"%PDF-1.4 " + bytes(range(256)) * 400
    encoded = base64.encodebytes(pdf)
    body = (
        b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + BODY + b"\r\n"
        b"--B\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=\"Offer Letter \xc3\xa9.pdf\"\r\n\r\n" + encoded + b"\r\n"
        b"--B\r\nContent-Type: image/png\r\nContent-ID: <logo@acme>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(b"\x89PNG" + bytes(100)) + b"\r\n--B--\r\n"
    )
    p = parse_mail(recruiter_mail(content_type=b'multipart/mixed; boundary="B"', body=body))
    assert [(a["filename"], a["content_type"]) for a in p.attachments] == [
        ("Offer Letter é.pdf", "application/pdf"),  # raw UTF-8 in the name, as a mail client shows it
        ("<logo@acme>", "image/png"),
    ]
    assert abs(p.attachments[0]["size"] - len(pdf)) <= 3
    assert "PDF" not in p.text and "pleased to offer" in p.text


def test_raw_utf8_headers_are_read_as_utf8() -> None:
    raw = recruiter_mail(subject="Entrevista para el puesto de ingeniería".encode(), sender="José Núñez <jose@acme.example>".encode())
    p = parse_mail(raw)
    assert p.subject == "Entrevista para el puesto de ingeniería"
    assert p.sender is not None and p.sender.name == "José Núñez"


def test_takeout_import_without_owner_survives_a_broken_message(tmp_path: Path) -> None:
    """`backfill --source` samples messages to infer the owner; a truncated encoded word
    in one of them used to abort the whole import, on every retry."""
    box = mailbox.mbox(tmp_path / "takeout.mbox")
    box.add(recruiter_mail())
    box.add(recruiter_mail(subject=b"=?utf-8?b?QUFBQ?=").replace(b"<offer-1@", b"<offer-2@"))
    box.add(recruiter_mail(sender=b"(" * 1000 + b"jo@acme.example").replace(b"<offer-1@", b"<offer-3@"))
    box.flush()
    box.close()
    db = tmp_path / "o.db"
    res = CliRunner().invoke(cli, ["--db", str(db), "backfill", "--source", str(tmp_path / "takeout.mbox"), "--no-progress"])
    assert res.exit_code == 0, res.output
    with Store.open(db) as s:
        rows = s.rows("SELECT key, subject, is_job FROM messages ORDER BY key")
    assert [r["key"] for r in rows] == ["<offer-1@acme.example>", "<offer-2@acme.example>", "<offer-3@acme.example>"]
    assert all(r["is_job"] for r in rows)


def test_twenty_thousand_sibling_parts_are_cut_before_the_parser_builds_them() -> None:
    import tracemalloc

    from offerwatch.extractors.parse import MAX_PARTS, parse_mail

    raw = (b'Content-Type: multipart/mixed; boundary="b"\r\nSubject: parts\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n'
           + b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n" * 20_000 + b"--b--\r\n")
    tracemalloc.start()
    parsed = parse_mail(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "first" in parsed.text
    assert any(f"more than {2 * MAX_PARTS} MIME parts" in p for p in parsed.problems)
    assert peak < 8_000_000  # 24 MB before the cut


def test_a_delivery_report_of_200000_blank_lines_is_cut_before_the_parser_builds_its_blocks() -> None:
    """The stdlib parser makes a message object per blank line of a message/delivery-status
    body: a 220 KB fuzzed bounce took 70 MB (the fuzzer's peak RSS); cut, 1.4 MB."""
    import tracemalloc

    from offerwatch.extractors.parse import MAX_PARTS, parse_mail

    raw = (b"From: mailer-daemon@mx.example\r\nSubject: Undeliverable\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
           b"--r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
           b"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n"
           + b"\r\n" * 200_000 + b"Action: failed\r\n--r--\r\n")
    tracemalloc.start()
    parsed = parse_mail(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert parsed.text.strip() == "Your message could not be delivered."
    assert any(f"delivery report of more than {2 * MAX_PARTS} blocks" in p for p in parsed.problems)
    assert peak < 8_000_000  # 70 MB before the cut


def test_a_tag_with_200000_newlines_between_its_attributes_costs_no_memory() -> None:
    """The 10-minute fuzz's peak: an HTML invitation whose link tag held 200,000 newlines made
    HTMLParser's attribute scan take RSS +41 MB; a long whitespace run is squeezed first."""
    import tracemalloc

    from offerwatch.extractors.parse import parse_mail

    raw = (b"From: invites@invitely.example\r\nSubject: You're invited\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           b"<p>Come celebrate!</p><p><a href=\"https://invitely.example/rsvp\" " + b"\n" * 200_000
           + b"title=\"rsvp\">RSVP here</a></p>")
    tracemalloc.start()
    parsed = parse_mail(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert parsed.text.split() == ["Come", "celebrate!", "RSVP", "here"]
    assert peak < 8_000_000


def test_a_tag_of_66000_attributes_is_read_bare_and_a_long_data_uri_is_kept() -> None:
    """The next 10-minute fuzz peak: "<a " 66,000 times in one tag (HTMLParser builds every
    attribute before the tag is handled) took RSS +30 MB. Such a tag keeps no attributes; a
    real long tag (an inline image's data: URI) is read as it was."""
    import tracemalloc

    from offerwatch.extractors.htmltext import html_to_text
    from offerwatch.extractors.parse import parse_mail

    raw = (b"From: alert@jobs.example\r\nSubject: New jobs\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           b"<p>Shipping lead, Indianapolis</p><a " + b"<a " * 66_000 + b"><p>See all jobs</p>")
    tracemalloc.start()
    parsed = parse_mail(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert parsed.text.split() == ["Shipping", "lead,", "Indianapolis", "See", "all", "jobs"]
    assert peak < 8_000_000
    image = '<p>logo</p><div style="display:none" data-x="' + "A" * 20_000 + '">hidden</div><p>text</p>'
    assert html_to_text(image) == "logo\n\ntext"  # the long tag kept its style: still hidden


def test_a_tag_of_slash_separated_attributes_is_read_bare_too() -> None:
    """The next 10-minute fuzz peak (seed 6): "<blockquot" then "</" 100,000 times, closed by
    "e>". HTMLParser separates attributes by "/" as well as by white space: 100,000 attributes
    and +57 MB. They are counted the parser's way now; a quoted value full of "/" stays one."""
    import tracemalloc

    from offerwatch.extractors.htmltext import html_to_text

    markup = "<p>Hello Sam</p>" + "<blockquote>" * 4000 + "<blockquot" + "</" * 100_000 + "e><p>Can you talk?</p>"
    tracemalloc.start()
    text = html_to_text(markup)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "Hello Sam" in text and "Can you talk?" in text
    assert peak < 8_000_000
    kept = '<p>logo</p><div style="display:none" title="' + "a/" * 5_000 + '">hidden</div><p>text</p>'
    assert html_to_text(kept) == "logo\n\ntext"  # one long quoted value: the tag keeps its style


def test_a_real_delivery_report_is_not_cut() -> None:
    from offerwatch.extractors.parse import cap_status_blocks

    report = (b'Content-Type: multipart/report; boundary="r"\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\nfailed\r\n'
              b"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
              b"Final-Recipient: rfc822; jo@acme.example\r\nAction: failed\r\n\r\n--r--\r\n" + b"\r\n" * 900)
    assert cap_status_blocks(report) == (report, False)


def test_a_2_mb_message_is_parsed_without_a_whole_str_copy_of_it() -> None:
    """message_from_bytes decoded the whole message to one str read through a StringIO:
    20 MB at once for a 2.4 MB HTML message (the fuzzer's largest per-message peak); 11.6 MB fed in chunks."""
    import tracemalloc

    raw = (b"From: Jo <jo@acme.example>\r\nSubject: Interview\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
           b"View this email in your browser.\r\n--b\r\nContent-Type: text/html\r\n\r\n"
           + b"<div>" * 200_000 + b"Can you talk on Monday?" + b"</span>" * 140_000 + b"\r\n--b--\r\n")
    parse_mail(raw)  # first use: lazy imports, caches
    tracemalloc.start()
    parsed = parse_mail(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert not parsed.parse_failed and parsed.subject == "Interview"
    assert peak < 17_000_000  # 20 MB through message_from_bytes


def test_feeding_the_parser_in_chunks_reads_every_message_as_message_from_bytes_does(monkeypatch: pytest.MonkeyPatch) -> None:
    import email

    from offerwatch.extractors import parse

    robustness = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "robustness"
    samples = [p.read_bytes() for p in sorted(robustness.rglob("*")) if p.is_file() and p.suffix not in (".md", ".txt", ".py")][:150]
    samples += [b"a\r", b"\r", b"x: y\r\r\n\r\nbody\r", b"Subject: a\r\n\r\n" + b"\r\n" * 3 + b"x\r"]
    monkeypatch.setattr(parse, "FEED_BYTES", 7)  # chunk edges everywhere: inside CRLFs, headers, boundaries
    chunked = [parse_mail(s) for s in samples]
    monkeypatch.setattr(parse, "_message_from_bytes", email.message_from_bytes)
    assert chunked == [parse_mail(s) for s in samples]
