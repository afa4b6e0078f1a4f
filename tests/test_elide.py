"""Attachments' bodies are taken out before parsing, and nothing the parser yields changes."""

from __future__ import annotations

import dataclasses
import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from offerwatch.extractors import parse as parse_module
from offerwatch.extractors.elide import ELIDED_HEADER, elide_attachment_bodies
from offerwatch.extractors.parse import parse_mail

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"
HERE = Path(__file__).resolve().parent


def _parsed(raw: bytes, monkeypatch: pytest.MonkeyPatch | None = None, *, elide: bool = True) -> dict[str, Any]:
    if monkeypatch is not None:
        monkeypatch.setattr(parse_module, "elide_attachment_bodies", elide_attachment_bodies if elide else (lambda r: r))
    return dataclasses.asdict(parse_mail(raw))


def _with_attachments() -> list[bytes]:
    """Mail as clients write it: photos, PDFs, a calendar invitation, an HTML file, nested parts."""
    out = []
    for i, (maintype, subtype, name) in enumerate([("image", "jpeg", "photo.jpg"), ("application", "pdf", "cv.pdf"),
                                                   ("application", "ics", "invite.ics"), ("text", "html", "page.html"),
                                                   ("application", "octet-stream", "data.bin"),
                                                   ("application", "html", None)]):
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "Jo <jo@acme.example>", "sam@example.net", f"Files {i}"
        m["Date"] = "Mon, 5 Oct 2026 09:00:00 +0000"
        m.set_content("Hi Sam,\n\nsee attached.\n")
        m.add_alternative("<p>Hi Sam, see <b>attached</b>.</p>", subtype="html")
        payload = (b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTART:20261012T150000Z\r\n"
                   b"SUMMARY:Interview\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n") if subtype == "ics" else bytes(range(256)) * (40 + i)
        m.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
        raw = bytes(m)
        out += [raw, raw.replace(b"\n", b"\r\n")]
    return out


def test_parsing_yields_the_same_with_bodies_taken_out(monkeypatch: pytest.MonkeyPatch) -> None:
    files = [f for c in ("dev", "train-corporate", "train-mixed-inbox", "train-public", "robustness")
             for f in sorted((SHARED / c).glob("*.eml"))]
    files += sorted((HERE / "data" / "heldout").glob("*.eml")) + sorted((HERE.parent / "daemon" / "demo_mailbox").glob("*.eml"))
    raws = [f.read_bytes() for f in files] + _with_attachments()
    assert len(raws) > 500
    elided = 0
    for raw in raws:
        elided += elide_attachment_bodies(raw) != raw
        assert _parsed(raw, monkeypatch, elide=True) == _parsed(raw, monkeypatch, elide=False)
    assert elided >= 10  # the comparison covered bodies actually taken out


def test_binary_bodies_go_and_their_size_stays() -> None:
    raws = _with_attachments()
    jpeg, crlf_jpeg = raws[0], raws[1]
    for raw in (jpeg, crlf_jpeg):
        out = elide_attachment_bodies(raw)
        assert len(out) < len(raw) // 3 and ELIDED_HEADER.encode() in out
        (attachment,) = parse_mail(raw).attachments
        assert attachment["filename"] == "photo.jpg" and attachment["size"] == 256 * 40
        assert "see attached" in parse_mail(raw).text
    ics = raws[4]
    assert elide_attachment_bodies(ics) == ics  # a calendar is read: never taken out
    assert [e.summary for e in parse_mail(ics).events] == ["Interview"]
    html_file = raws[6]
    assert elide_attachment_bodies(html_file) == html_file  # text/html stays
    application_html = raws[10]
    assert elide_attachment_bodies(application_html) == application_html  # read as HTML by its subtype


def _multipart(body: bytes) -> bytes:
    return (b'From: jo@acme.example\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + body)


IMAGE_HEAD = b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
B64 = b"QUFBQUFBQUFB\r\n" * 20


@pytest.mark.parametrize("raw", [
    # a "--" line that is not a declared boundary: the lines after it are the text's, not a part
    _multipart(b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x\r\n" + IMAGE_HEAD + B64 + b"--b--\r\n"),
    # the closing delimiter: what follows is the epilogue
    _multipart(b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n" + IMAGE_HEAD + B64),
    # a header block with a line that is no header: the parser's body starts there
    _multipart(b"--b\r\nContent-Type: image/png\r\nnot a header\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B64 + b"--b--\r\n"),
    # two Content-Types: which one the parser takes is not ours to guess
    _multipart(b"--b\r\nContent-Type: image/png\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + B64 + b"--b--\r\n"),
    # not base64, or not multipart at all
    _multipart(b"--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + B64 + b"--b--\r\n"),
    b"From: jo@acme.example\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n" + B64,
    # a parameter that only ends in "boundary", and a boundary longer than this reads
    _multipart(b"--b\r\n" + IMAGE_HEAD + B64 + b"--b--\r\n").replace(b"; boundary=", b"; x-boundary="),
    _multipart(b"--" + b"b" * 300 + b"\r\n" + IMAGE_HEAD + B64).replace(b'boundary="b"', b"boundary=" + b"b" * 300),
])
def test_what_is_not_surely_an_attachment_body_is_left_alone(raw: bytes) -> None:
    assert elide_attachment_bodies(raw) == raw


def test_the_run_ends_at_the_first_line_that_is_not_base64(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _multipart(b"--b\r\n" + IMAGE_HEAD + B64 + b"(not base64)\r\n" + B64 + b"--b--\r\n")
    out = elide_attachment_bodies(raw)
    assert b"(not base64)" in out and out.count(b"QUFBQUFBQUFB") == 20
    assert _parsed(raw, monkeypatch, elide=True) == _parsed(raw, monkeypatch, elide=False)


def test_a_sender_cannot_write_the_size_header() -> None:
    forged = "X-Offerwatch-Elided-" + "0" * 12
    assert forged != ELIDED_HEADER  # the name holds a token drawn per process
    raw = _multipart(b"--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
                     + forged.encode() + b": 999999999\r\nContent-Disposition: attachment; filename=a.png\r\n\r\n"
                     + B64 + b"--b--\r\n")
    (attachment,) = parse_mail(raw).attachments
    assert attachment["size"] == len(B64.replace(b"\r\n", b"")) * 3 // 4


def test_nested_multiparts_and_message_attachments(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = (b'Content-Type: multipart/related; boundary="in"\r\n\r\n--in\r\nContent-Type: text/html\r\n\r\n<p>Hi</p>\r\n'
             b"--in\r\n" + IMAGE_HEAD + B64 + b"--in--\r\n")
    forwarded = (b"Content-Type: message/rfc822\r\n\r\nFrom: a@x.example\r\nSubject: fwd\r\n"
                 b'Content-Type: multipart/mixed; boundary="fw"\r\n\r\n--fw\r\n' + IMAGE_HEAD + B64 + b"--fw--\r\n")
    raw = _multipart(b"--b\r\n" + inner + b"--b\r\n" + forwarded + b"--b--\r\n")
    out = elide_attachment_bodies(raw)
    # the nested part's body goes; an attached message's own boundary is declared inside its
    # body, which is not read for boundaries, so its parts stay as they are
    assert out.count(ELIDED_HEADER.encode()) == 1
    assert json.dumps(_parsed(raw, monkeypatch, elide=True), default=str) == json.dumps(
        _parsed(raw, monkeypatch, elide=False), default=str)


def test_every_attachment_of_a_message_goes_and_the_closing_delimiter_still_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _multipart(b"--b\r\n" + IMAGE_HEAD + B64 + b"--b\r\n" + IMAGE_HEAD + B64 + b"--b--\r\n"
                     + b"--b\r\n" + IMAGE_HEAD + B64)  # after the closing delimiter: epilogue, not a part
    out = elide_attachment_bodies(raw)
    assert out.count(ELIDED_HEADER.encode()) == 2 and out.count(B64) == 1
    assert _parsed(raw, monkeypatch, elide=True) == _parsed(raw, monkeypatch, elide=False)
