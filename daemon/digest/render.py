"""Render a :class:`~offerwatch.daemon.digest.build.Digest` as an email: text and HTML.

The HTML comes from ``daemon/templates/digest.html.j2`` through a Jinja2 environment with
autoescape always on, so every string that came from mail (evidence, names, subjects,
company and role) is escaped. Links are only those :func:`~.build.message_link` made from
Message-IDs, and :func:`safe_href` lets through nothing but ``https:``, ``http:`` and
``mid:`` URLs as a second line of defence. The layout is tables with inline CSS, 600 px
wide at most, with no remote resource, script or SVG (mail clients drop them anyway).

Example::

    msg = build_message(digest, sender="me@example.com", to="me@example.com")
    msg["Subject"]            # 'offerwatch: 2 to act on, 1 going quiet — Tue 1 Dec'
    msg.get_content_type()    # 'multipart/alternative'
"""

from __future__ import annotations

import email.policy
import email.utils
import re
import secrets
from datetime import date, datetime
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from offerwatch.daemon.digest.build import Digest, TimelineCell, day_label

#: Colours of the timeline cells and markers (also read by the terminal renderer).
COLORS: dict[str, str] = {
    "strong": "#15803d",
    "positive": "#86efac",
    "neutral": "#94a3b8",
    "you": "#60a5fa",
    "negative": "#ef4444",
    "none": "#eef2f7",
    "muted": "#cbd5e1",
}
STRIP_CHARS = {"strong": "#", "positive": "+", "neutral": "o", "you": "y", "negative": "-", "none": "."}
TREND_TEXT = {"up": "▲ warming", "down": "▼ cooling", "flat": "– steady"}
TREND_COLOR = {"up": "#15803d", "down": "#b91c1c", "flat": "#64748b"}

_SAFE_URL = re.compile(r"^(?:https?://[^\s\"'<>\\]+|mid:[^\s\"'<>\\]+)$", re.I)


def safe_href(url: Any) -> str | None:
    """``url`` if it is an http(s) or ``mid:`` URL without quotes, spaces or angle brackets, else None.

    >>> safe_href("javascript:alert(1)") is None
    True
    >>> safe_href("mid:abc@example.com")
    'mid:abc@example.com'
    """
    if not isinstance(url, str) or len(url) > 2000:
        return None
    return url if _SAFE_URL.match(url) else None


def polarity_kind(p: int) -> str:
    return "strong" if p >= 2 else "positive" if p > 0 else "negative" if p < 0 else "neutral"


def _sign(p: int) -> str:
    return {3: "+++", 2: "++", 1: "+", 0: "·", -1: "-", -2: "--", -3: "---"}.get(max(-3, min(3, p)), "·")


def _outlook_color(o: int) -> str:
    return "#16a34a" if o >= 65 else "#f59e0b" if o >= 40 else "#ef4444"


def strip_text(cells: tuple[TimelineCell, ...]) -> str:
    return "".join(STRIP_CHARS.get(c.kind, ".") for c in cells)


@lru_cache(maxsize=2)
def _env(html: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("offerwatch.daemon", "templates"),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["safe_href"] = safe_href
    env.filters["day"] = lambda d: day_label(d) if isinstance(d, (date, datetime)) else ""
    env.globals.update(
        colors=COLORS,
        polarity_kind=polarity_kind,
        sign=_sign,
        outlook_color=_outlook_color,
        strip=strip_text,
        trend_text=TREND_TEXT,
        trend_color=TREND_COLOR,
    )
    return env


def headline(d: Digest) -> str:
    """The first line a reader sees, e.g. ``2 to act on · 1 going quiet · 5 new signals``."""
    parts = []
    if d.offers:
        parts.append(f"{len(d.offers)} offer{'s' if len(d.offers) != 1 else ''} to answer")
    if d.to_act_on:
        parts.append(f"{d.to_act_on} to act on")
    if d.going_quiet:
        parts.append(f"{d.going_quiet} going quiet")
    if d.signal_count:
        parts.append(f"{d.signal_count} new signal{'s' if d.signal_count != 1 else ''}")
    return " · ".join(parts) if parts else "Nothing new today"


def cold_line(d: Digest) -> str:
    """The one line for applications gone cold, or "" when none did::

        3 applications gone cold: Corvid Security (#8), Pixelforge Games (#4), Meridian Freight (#10).
        No word for weeks, so they left the pipeline; `offerwatch apps reopen ID` brings one back.
    """
    if not d.cold_count:
        return ""
    names = ", ".join(f"{c.app.company} (#{c.app.id})" for c in d.cold)
    more = d.cold_count - len(d.cold)
    n = d.cold_count
    return (f"{n} application{'s' if n != 1 else ''} gone cold: {names}{f' and {more} more' if more > 0 else ''}. "
            f"No word for weeks, so {'they' if n != 1 else 'it'} left the pipeline; "
            "`offerwatch apps reopen ID` brings one back.")


def _context(d: Digest, message_id: str, link_label: str | None) -> dict[str, Any]:
    first_link = next((s.link for g in d.new_signals for s in g.signals if s.link), None) or next(
        (a.signal.link for a in d.actions if a.signal.link), None)
    if link_label is None:
        link_label = "Open in Gmail" if first_link and first_link.startswith("https://mail.google.com/") else "Open message"
    active = len(d.pipeline) + d.pipeline_more
    since = ("The last 7 days" if d.first else f"Since {day_label(d.period_start)}" if d.since_chosen
             else f"Since your last digest ({day_label(d.period_start)})")
    period_note = f"{since} · {active} active application{'s' if active != 1 else ''}"
    top = [a for a in d.actions if a.open][:2]
    preheader = "; ".join(f"{a.app.company}: {a.title}" for a in top) or headline(d)
    return {
        "d": d,
        "day": day_label(d.for_date),
        "headline": headline(d),
        "period_note": period_note,
        "since_label": "in the last 7 days" if d.first else f"since {day_label(d.period_start)}",
        "preheader": preheader,
        "message_id": message_id,
        "link_label": link_label,
        "has_timelines": any(p.timeline for p in d.pipeline),
        "cold_line": cold_line(d),
    }


def render_html(d: Digest, *, message_id: str = "", link_label: str | None = None) -> str:
    return _env(True).get_template("digest.html.j2").render(_context(d, message_id, link_label))


def render_text(d: Digest, *, message_id: str = "") -> str:
    text = _env(False).get_template("digest.txt.j2").render(_context(d, message_id, None))
    return re.sub(r"\n{3,}", "\n\n", text)


def make_message_id(d: Digest, sender: str = "") -> str:
    """A fresh Message-ID for a digest, on the sender's domain when there is one."""
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "offerwatch.localhost"
    # Short enough never to be folded (make_msgid's time.pid.random prefix plus a long domain
    # passed 78 columns, and a folded header read back with a leading space no longer matched
    # the recorded id that exactly-once delivery looks up).
    host = (domain or "offerwatch.localhost")[:60]
    return f"<ow.{d.for_date.isoformat()}.{secrets.token_hex(6)}@{host}>"


def build_message(
    d: Digest,
    *,
    sender: str,
    to: str,
    message_id: str | None = None,
    date_: datetime | None = None,
) -> EmailMessage:
    """The digest as a ``multipart/alternative`` message (text first, HTML preferred).

    ``sender`` and ``to`` come from the config, never from mail; the subject holds only
    counts and a date. Pass the ``message_id`` recorded in ``digests`` when re-sending.
    """
    mid = message_id or make_message_id(d, sender)
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = d.subject
    msg["From"] = sender or to
    msg["To"] = to
    msg["Date"] = email.utils.format_datetime(date_ or d.generated_at)
    msg["Message-ID"] = mid
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Offerwatch-Digest"] = d.for_date.isoformat()
    msg.set_content(render_text(d, message_id=mid), subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(render_html(d, message_id=mid), subtype="html", charset="utf-8", cte="quoted-printable")
    return msg
