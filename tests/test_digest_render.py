"""The digest email is multipart/alternative from Jinja2 templates with autoescape: hostile mail
text cannot add a tag, an event handler or a link, huge or foreign text stays readable, and
500 signals make a mail of bounded size."""

from __future__ import annotations

import email
import email.policy
import re
from html.parser import HTMLParser

import pytest
from rich.console import Console

from digest_data import EMOJI_NAME, HOSTILE, LONG, NOW, RTL, TZ, at, hostile_store, message, sample_store, set_app, write
from offerwatch.daemon.digest.build import build_digest
from offerwatch.daemon.digest.render import build_message, render_html, render_text, safe_href
from offerwatch.daemon.digest.terminal import print_digest

#: Every tag the template itself writes; anything else came from somewhere it should not.
TEMPLATE_TAGS = {"html", "head", "meta", "title", "style", "body", "div", "table", "tr", "td", "span", "b", "a", "br"}


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    p.close()
    return p


@pytest.fixture(scope="module")
def hostile():
    store, ids = hostile_store(many=500)
    digest = build_digest(store, now=NOW, tz=TZ)
    yield store, digest
    store.close()


def test_message_is_multipart_alternative_and_parses_back(hostile) -> None:
    _, d = hostile
    msg = build_message(d, sender="Maya <maya.lindqvist@gmail.com>", to="maya.lindqvist@gmail.com")
    back = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert back.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in back.iter_parts()] == ["text/plain", "text/html"]
    assert back["Subject"] == d.subject == "offerwatch: 6 to act on, 1 going quiet — Tue 1 Dec"
    assert back["Message-ID"] == msg["Message-ID"] and back["Message-ID"].endswith("@gmail.com>")
    assert back["Auto-Submitted"] == "auto-generated" and back["X-Offerwatch-Digest"] == "2026-12-01"
    html = back.get_body(("html",)).get_content()
    text = back.get_body(("plain",)).get_content()
    assert "Needs your attention" in html and "NEEDS YOUR ATTENTION" in text
    assert f'content="{msg["Message-ID"]}"' in html.replace("&lt;", "<").replace("&gt;", ">")
    # a given Message-ID is reused (a resend after a crash)
    again = build_message(d, sender="maya.lindqvist@gmail.com", to="maya.lindqvist@gmail.com", message_id="<fixed@x>")
    assert again["Message-ID"] == "<fixed@x>"


def test_hostile_mail_text_cannot_get_into_the_html(hostile) -> None:
    _, d = hostile
    html = render_html(d, message_id="<m@x>")
    p = parse(html)
    tags = {t for t, _ in p.tags}
    assert tags <= TEMPLATE_TAGS, f"unexpected tags: {tags - TEMPLATE_TAGS}"
    for tag, attrs in p.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert name != "src", (tag, value)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
            if name == "style":
                assert "url(" not in (value or "") and "position:fixed" not in (value or "").replace(" ", ""), value
        if tag == "a":
            assert safe_href(attrs.get("href")) == attrs.get("href")
            assert re.match(r"^https://mail\.google\.com/mail/u/0/#search/rfc822msgid%3A[^\"'<> ]+$", attrs["href"] or "")
    # the text is still there, shown literally
    shown = "".join(p.text)
    assert HOSTILE["script"] in shown and HOSTILE["img"] in shown and HOSTILE["js_link"] in shown
    assert "Evil <b>Corp</b> <script>alert(1)</script>" in shown
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<svg" not in html.lower()
    assert "</td></tr></table><div" not in html  # the layout-breaking evidence is escaped too


def test_no_remote_resources_scripts_or_svg(hostile) -> None:
    _, d = hostile
    html = render_html(d)
    p = parse(html)
    assert not [t for t, _ in p.tags if t in ("script", "img", "link", "svg", "iframe", "object", "form")]
    assert "@import" not in html and "url(" not in html
    # one style block, the template's own phone layout (a media query), in the head, no mail text in it
    [style] = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert html.index("<style>") < html.index("</head>")
    assert "@media only screen and (max-width: 480px)" in style
    assert set(re.findall(r"\.([a-z-]+) \{", style)) == {"ow-wide", "ow-outer", "ow-pad"}


def test_long_evidence_rtl_text_and_emoji(hostile) -> None:
    _, d = hostile
    html, text = render_html(d), render_text(d)
    assert len(LONG) == 10000
    for part in (html, text):
        assert LONG[:2000] not in part
        assert "and discuss the next steps…" in part  # cut at Limits.evidence_chars
        assert "\u202e" not in part and "\u202c" not in part  # bidi overrides removed
        assert EMOJI_NAME in part
    rtl = RTL.replace("\u202e", "").replace("\u202c", "")
    assert rtl in text
    p = parse(html)
    # every piece of mail text sits in an element that sets its own direction
    assert rtl in "".join(p.text)
    assert re.search(r'<div[^>]*dir="auto"[^>]*>“' + re.escape(rtl), html)


def test_500_signals_make_a_bounded_mail(hostile) -> None:
    _, d = hostile
    html, text = render_html(d), render_text(d)
    assert len(html) < 150_000 and len(text) < 40_000
    assert html.count("Update number") <= 8
    assert re.search(r"and \d+ more signals from Busy Co", text)
    assert "more signals from Busy Co" in html


def test_sample_digest_reads_in_both_parts() -> None:
    store, _ = sample_store()
    try:
        d = build_digest(store, now=NOW, tz=TZ)
    finally:
        store.close()
    html, text = render_html(d), render_text(d)
    for part in (html, text):
        assert "They reconfirmed your salary expectations" in part
        assert "$160k–$170k a year" in part and "Tue 10 Nov" in part
        assert "pre-close call" in part and "Answer honestly" in part and "Reply promptly" in part
        assert "Meridian Freight" in part and "19 d" in part
    assert 'id="attention"' in html and 'id="signals"' in html and 'id="quiet"' in html and 'id="pipeline"' in html
    assert "Open in Gmail" in html
    assert "max-width:600px" in html and 'name="viewport"' in html
    # the text part is for reading: no HTML in it
    assert "<td" not in text and "&lt;" not in text and "&amp;" not in text
    assert "[......y.........+y......#...]" in text  # Northwind's 28 days


def test_empty_sections_say_so() -> None:
    from offerwatch.models.store import Store

    with Store.open(None) as store:
        ids = write(store, [message("Oldco", at(9, 1), [("keep_warm", "Still wrapping up interviews.")])])
        set_app(store, ids["Oldco"], stage="interviewing", outlook=50)
        d = build_digest(store, now=NOW, tz=TZ)
    html = render_html(d)
    assert "Nothing needs an answer from you today." in html
    assert "No new signals in the last 7 days." in html
    assert "Nobody has gone quiet on you." in html
    assert "Nothing new today" in html


def test_safe_href_allows_only_our_schemes() -> None:
    assert safe_href("https://mail.google.com/mail/u/0/#search/rfc822msgid%3Aa%40b") is not None
    assert safe_href("mid:a@b") == "mid:a@b"
    for bad in ("javascript:alert(1)", "JaVaScRiPt:x", "data:text/html,x", "vbscript:x", "https://x\"onmouseover=1",
                "mid:a b", "//evil.example", "", None, 5):
        assert safe_href(bad) is None, bad


def test_terminal_prints_mail_text_literally(hostile) -> None:
    store, _ = hostile
    write(store, [message("Markup Ltd", at(11, 30, 12), [("offer", "[bold red]We are pleased to offer[/] [link=https://evil.example]you[/link]")])])
    d = build_digest(store, now=NOW, tz=TZ)
    console = Console(record=True, width=120, force_terminal=False)
    print_digest(d, console)
    out = console.export_text()
    assert "[bold red]We are pleased to offer[/] [link=https://evil.example]you[/link]" in out
    assert "Needs your attention" in out and "Pipeline" in out and "Going quiet" in out
    assert "What to do:" in out and "You stated $160k–$170k a year" in out


def test_a_chosen_start_is_not_called_the_last_digest(tmp_path) -> None:
    """``digest --since`` when no digest was ever sent: the header names the day asked for."""
    from datetime import timedelta

    store, _ = sample_store(tmp_path / "s.db")
    d = build_digest(store, now=NOW, tz=TZ, since=NOW - timedelta(days=30))
    for part in (render_html(d), render_text(d)):
        assert "Since your last digest" not in part
        assert "Since Sun 1 Nov" in part
    assert "The last 7 days" in render_text(build_digest(store, now=NOW, tz=TZ))
