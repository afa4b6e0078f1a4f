"""Parsing turns any bytes into a ParsedMail and records problems instead of raising."""

from __future__ import annotations

import pytest

import time

from mailfactory import message

from offerwatch.extractors.parse import parse_mail


def test_plain_message_fields() -> None:
    p = parse_mail(message(msgid="<abc@x.example>", in_reply_to="<p@x.example>", references="<r@x.example> <p@x.example>"))
    assert p.subject == "Your application to Acme"
    assert p.sender is not None and p.sender.email == "jo@acme.example" and p.sender.name == "Jo Recruiter"
    assert p.message_id == "<abc@x.example>"
    assert p.in_reply_to == "<p@x.example>"
    assert p.references == ("<r@x.example>", "<p@x.example>")
    assert "set up a call" in p.text
    assert not p.parse_failed and p.problems == []


def test_empty_file_is_recorded_as_unparseable() -> None:
    p = parse_mail(b"")
    assert p.parse_failed and p.problems == ["empty message"]


def test_not_mime_at_all_does_not_raise() -> None:
    p = parse_mail(b"\x00\x01\x02 this is not an e-mail \xff\xfe at all\n" * 50)
    assert p.sender is None and p.message_id == ""
    assert any("no headers" in x or "not a MIME" in x for x in p.problems)


def test_deeply_nested_multipart_is_recorded_not_raised() -> None:
    """The structure is cut at MAX_DEPTH levels: the problem is recorded and the headers kept
    (it used to fail the whole message, losing the subject too)."""
    depth = 5000
    parts = [b"Subject: deep\r\nMIME-Version: 1.0\r\n"]
    for i in range(depth):
        parts.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
    parts.append(b"Content-Type: text/plain\r\n\r\nhello\r\n")
    started = time.monotonic()
    p = parse_mail(b"".join(parts))
    assert time.monotonic() - started < 1
    assert p.subject == "deep"
    assert any("nested too deeply" in x for x in p.problems)


def test_unknown_charset_is_decoded_leniently() -> None:
    raw = (
        b"From: a@b.example\r\nSubject: =?x-klingon?q?caf=E9?=\r\nContent-Type: text/plain; charset=x-klingon\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nWe would like to invite you to interview \xe9\xe8\r\n"
    )
    p = parse_mail(raw)
    assert "invite you to interview" in p.text
    assert p.subject.startswith("caf")
    assert not p.parse_failed


def test_crlf_injected_through_encoded_subject_is_stripped() -> None:
    # "Hello\r\nBcc: victim@x" encoded so the raw header is a single line.
    raw = b"From: a@b.example\r\nSubject: =?utf-8?b?SGVsbG8NCkJjYzogdmljdGltQHguZXhhbXBsZQ==?=\r\n\r\nbody\r\n"
    p = parse_mail(raw)
    assert "\r" not in p.subject and "\n" not in p.subject
    assert p.subject == "Hello Bcc: victim@x.example"


def test_missing_date_is_a_problem_not_a_failure() -> None:
    p = parse_mail(message(date=None))
    assert p.date is None
    assert "no usable Date header" in p.problems
    assert not p.parse_failed


def test_oversized_message_is_cut_before_parsing() -> None:
    attachment = b"A" * (30 * 1024 * 1024)
    raw = (
        b"From: a@b.example\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n'
        b"Please find the offer letter attached.\r\n--XX\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename=offer.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + attachment + b"\r\n--XX--\r\n"
    )
    started = time.monotonic()
    p = parse_mail(raw)
    assert time.monotonic() - started < 5
    assert "offer letter attached" in p.text
    assert any("cut to" in x for x in p.problems)


def test_html_only_mail_is_converted_and_hidden_text_dropped() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        "<div style='display:none'>PREHEADER hidden text</div><p>Hi Sam,</p><p>We'd like to <b>move forward</b>.</p>"
        "<div class='gmail_quote'>On Mon, Jo wrote:<blockquote>old quoted text</blockquote></div></body></html>"
    )
    raw = (
        b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()
    )
    p = parse_mail(raw)
    assert p.from_html
    assert "move forward" in p.text
    assert "PREHEADER" not in p.text and "alert" not in p.text and "color:red" not in p.text
    assert "> old quoted text" in p.text


def test_calendar_invite_is_read() -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:evt-1@acme.example\r\n"
        "DTSTART:20261012T150000Z\r\nDTEND:20261012T160000Z\r\nSUMMARY:Interview with Acme\r\n"
        "ORGANIZER;CN=Jo Recruiter:mailto:jo@acme.example\r\n"
        "ATTENDEE;CN=Priya Shah (VP of Engineering):mailto:priya@acme.example\r\nSEQUENCE:0\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    raw = (
        b"From: jo@acme.example\r\nSubject: Invitation\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nInvite\r\n'
        b"--B\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\n" + ics.encode() + b"\r\n--B--\r\n"
    )
    p = parse_mail(raw)
    assert len(p.events) == 1
    e = p.events[0]
    assert e.method == "REQUEST" and e.summary == "Interview with Acme"
    assert e.start is not None and e.start.isoformat() == "2026-10-12T15:00:00+00:00"
    assert e.organizer is not None and e.organizer.email == "jo@acme.example"
    assert [a.name for a in e.attendees] == ["Priya Shah (VP of Engineering)"]


SCHEDULE_HTML = (
    "<html><body><p>Hi Sam,</p><p>Your interview with Acme is confirmed. Here is the schedule for the day:</p>"
    "<table><tr><td>10:00</td><td>Coding exercise with Priya Shah, Staff Engineer</td></tr>"
    "<tr><td>11:00</td><td>System design with Ben Adler, Director of Engineering</td></tr>"
    "<tr><td>12:00</td><td>Lunch with the team, then a conversation about the role and its growth path</td></tr></table>"
    "<p>Please bring a photo ID. Reply to this email if anything needs to change.</p><p>Best, Jo</p></body></html>"
)


def test_plain_stub_gives_way_to_the_html_text() -> None:
    raw = message("To view this email in your browser, open the HTML version.", html=SCHEDULE_HTML)
    p = parse_mail(raw)
    assert p.from_html
    assert "System design with Ben Adler" in p.text and "view this email" not in p.text


@pytest.mark.parametrize("stub", [
    "This message is best viewed in an HTML-capable email client. View it online: https://m.example/1",
    "Having trouble viewing this email? Open the web version.",
    "Can't see this message properly? View it in your browser.",
])
def test_stubs_in_other_words_give_way_to_the_html_text(stub: str) -> None:
    p = parse_mail(message(stub, html=SCHEDULE_HTML))
    assert p.from_html and "System design with Ben Adler" in p.text


def test_short_plain_notice_gives_way_to_a_much_longer_html() -> None:
    raw = message("You have a new task in Candidate Home. Sign in to view it.", html=SCHEDULE_HTML)
    p = parse_mail(raw)
    assert p.from_html and "Coding exercise with Priya Shah" in p.text


def test_a_real_plain_alternative_is_kept() -> None:
    plain = "Hi Sam,\n\nYour interview with Acme is confirmed for Tuesday at 10:00. Bring a photo ID.\n\nBest, Jo"
    html = "<p>Hi Sam,</p><p>Your interview with Acme is confirmed for Tuesday at 10:00. Bring a photo ID.</p><p>Best, Jo</p>"
    p = parse_mail(message(plain, html=html))
    assert not p.from_html and p.text.strip() == plain


def test_a_plain_part_that_mentions_html_is_not_a_stub() -> None:
    plain = "Hi Sam, we loved your HTML and CSS exercise. Could we set up a call on Monday?"
    p = parse_mail(message(plain, html="<p>" + plain + "</p>"))
    assert not p.from_html and "Could we set up a call" in p.text


def test_table_cells_are_separate_words() -> None:
    """An ATS booking table: "Type<td>Panel interview" must not read "TypePanel interview"."""
    html = ("<table><tr><td><b>Type</b></td><td>Panel interview with presentation</td></tr>"
            "<tr><td><b>Date</b></td><td>Thursday 8 October 2026</td></tr></table>")
    p = parse_mail(message("", html=html))
    assert "Type Panel interview" in p.text and "Date Thursday 8 October" in p.text


def test_a_plain_ascii_header_reads_as_the_email_parser_reads_it() -> None:
    # decode_mime_header skips the parser for ASCII without encoded words: it must not change a value
    import random
    from email import policy

    from offerwatch.extractors.parse import _LINESEP, decode_mime_header, single_line

    rng = random.Random(7)
    alphabet = [chr(c) for c in range(128)] + [" "] * 10 + ["(", ")", '"', "\\", ",", ";", ":", "<", ">"]
    checked = 0
    for _ in range(5000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        if "=?" in value:
            continue
        unfolded = _LINESEP.sub("", value)
        assert decode_mime_header(value) == single_line(str(policy.default.header_factory("subject", unfolded)))[:2000]
        checked += 1
    assert checked > 4500
