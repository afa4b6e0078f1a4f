"""Builders for test messages: small, explicit, and free of any corpus file."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone

OWNER = "sam@example.net"


def message(
    body: str = "Hi Sam,\n\nThanks for applying to Acme. We'd love to set up a call.\n\nBest,\nJo",
    *,
    subject: str = "Your application to Acme",
    sender: str = "Jo Recruiter <jo@acme.example>",
    to: str = f"Sam <{OWNER}>",
    date: datetime | None = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc),
    msgid: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    html: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    if date is not None:
        m["Date"] = format_datetime(date)
    m["Message-ID"] = msgid or make_msgid(domain="test.example")
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
    if references:
        m["References"] = references
    for k, v in (extra_headers or {}).items():
        m[k] = v
    m.set_content(body)
    if html is not None:
        m.add_alternative(html, subtype="html")
    return bytes(m)
