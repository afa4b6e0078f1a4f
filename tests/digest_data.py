"""Test data for the digest tests: a small job search written through ``Store.write_batch``.

``NOW`` is Tuesday 1 December 2026, 07:30 in Berlin. The story, all in the last 7 days
unless said otherwise:

* Northwind Analytics (final round): the user stated $160k-$170k on 10 Nov; the recruiter
  reconfirms salary on 28 Nov -> salary action with the earlier figure.
* Quillstone (interviewing): the founder, as hiring manager, asks to call on 30 Nov.
* Kestrel Payments (interviewing): other-process question and a final-round request, 27 Nov.
* Pixelforge Games: a postponement on 29 Nov.
* Meridian Freight: the user wrote last on 12 Nov; a derived silence signal.
* Brightfield Marketing: rejection on 26 Nov (closed).
* Oakridge Labs: old activity only (October), open: pipeline only.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from offerwatch.models.domain import Address, Analysis, Direction, Location, Salary, Signal
from offerwatch.models.store import Store, utcnow

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 7, 30, tzinfo=TZ)
OWNER = Address("Maya Lindqvist", "maya.lindqvist@gmail.com")
_uid = itertools.count(1)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=timezone.utc)


def message(
    company: str,
    when: datetime,
    signals: Sequence[tuple[str, str]] = (),
    *,
    sender: Address | None = None,
    direction: Direction = Direction.IN,
    salaries: Sequence[Salary] = (),
    message_id: str | None = None,
    subject: str | None = None,
    role: str | None = None,
) -> Analysis:
    n = next(_uid)
    text = " ".join(e for _, e in signals) or "Thanks!"
    sigs = []
    pos = 0
    for typ, evidence in signals:
        sigs.append(Signal(typ, evidence, pos, pos + len(evidence), f"test.{typ}", label=typ))
        pos += len(evidence) + 1
    return Analysis(
        message_id=message_id or f"<m{n}.{company.replace(' ', '')}@mail.example.com>",
        subject=subject or f"Re: {company} | {role or 'Data Engineer'}",
        sender=OWNER if direction == Direction.OUT else (sender or Address("Jenna Morales", f"jenna@{company.split()[0].lower()}.example")),
        to=(OWNER,) if direction == Direction.IN else (Address("", "recruiter@example.com"),),
        cc=(),
        date=when,
        in_reply_to=None,
        references=(),
        direction=direction,
        is_job=True,
        job_reason="test",
        text=text,
        signature="",
        signals=tuple(sigs),
        salaries=tuple(salaries),
        company=company,
        role=role,
        content_hash=hashlib.sha256(f"{n}{company}".encode()).hexdigest(),
    )


def write(store: Store, analyses: Iterable[Analysis], roles: dict[str, str] | None = None) -> dict[str, int]:
    """Store analyses, one application per company; returns company -> application id."""
    ids: dict[str, int] = {r["company"]: r["id"] for r in store.rows("SELECT id, company FROM applications")}

    def linker(st: Store, a: Analysis) -> int:
        company = a.company or "?"
        if company not in ids:
            ids[company] = st.create_application(company, (roles or {}).get(company, a.role or "Data Engineer"), "test")
        return ids[company]

    items = []
    for a in analyses:
        uid = next(_uid)
        items.append((Location("test", "INBOX", 1, uid, str(uid)), a))
    store.write_batch("test", "INBOX", 1, items, last_uid=max(i[0].uid for i in items), linker=linker)
    return ids


def set_app(store: Store, app_id: int, *, stage: str, outlook: int, closed: bool = False) -> None:
    store.db.execute("UPDATE applications SET stage = ?, outlook = ?, closed = ? WHERE id = ?", [stage, outlook, int(closed), app_id])


def add_silence(store: Store, app_id: int, when: datetime, evidence: str) -> None:
    store.db.execute(
        "INSERT INTO signals(message_key, application_id, type, polarity, strength, evidence, rule, derived, at, created_at) "
        "VALUES (NULL, ?, 'silence', -1, 1.0, ?, 'timeline.silence', 1, ?, ?)",
        [app_id, evidence, when.astimezone(timezone.utc).isoformat(timespec="seconds"), utcnow()],
    )


ROLES = {
    "Northwind Analytics": "Senior Data Engineer",
    "Quillstone": "Founding Data Engineer",
    "Kestrel Payments": "Senior Backend Engineer, Payments Data",
    "Pixelforge Games": "Backend Engineer, Live Services",
    "Meridian Freight": "Data Platform Engineer",
    "Brightfield Marketing": "Marketing Analytics Manager",
    "Oakridge Labs": "Staff Data Engineer (Berlin)",
}


def sample_store(path: Path | str | None = None) -> tuple[Store, dict[str, int]]:
    store = Store.open(path)
    out = Direction.OUT
    ids = write(store, [
        message("Northwind Analytics", at(11, 10, 15), direction=out,
                salaries=[Salary(160000, 170000, "USD", "year", "$160k-$170k")]),
        message("Northwind Analytics", at(11, 20, 14), [("panel_invite", "We'd like to invite you to a final round panel with the team.")]),
        message("Northwind Analytics", at(11, 21, 9), direction=out),
        message("Northwind Analytics", at(11, 28, 15), [
            ("salary_reconfirm", "Are you still interested, and could you confirm your compensation expectations are still in the range you mentioned?"),
            ("keep_warm", "The team really enjoyed meeting you and we're wrapping up the last interviews this week."),
        ], sender=Address("Jenna Morales", "jenna.morales@northwind-analytics.io")),
        message("Quillstone", at(11, 24, 16), [("interview_request", "Would you have time for a first conversation this week?")],
                sender=Address("Arjun Patel", "arjun@quillstone.dev")),
        message("Quillstone", at(11, 25, 9), direction=out),
        message("Quillstone", at(11, 30, 17), [
            ("hiring_manager_direct", "I'm the hiring manager for this role and I'd love to set up a call with you this week."),
            ("senior_leader_interview", "As founder and CEO, I'd like to walk you through where we are headed."),
        ], sender=Address("Arjun Patel", "arjun@quillstone.dev")),
        message("Kestrel Payments", at(11, 27, 13), [
            ("other_process_inquiry", "Are you interviewing with other companies at the moment, and where are you in those processes?"),
            ("interview_request", "Could you share your availability for a final round next week?"),
        ], sender=Address("Priya Raman", "priya@kestrelpay.com")),
        message("Pixelforge Games", at(11, 29, 18), [("postponed", "We need to reschedule our conversation to next week, sorry about that.")],
                sender=Address("Leo Marsh", "leo@pixelforge.gg")),
        message("Meridian Freight", at(11, 5, 15), [("keep_warm", "We are still wrapping up interviews and will update you by the end of next week.")]),
        message("Meridian Freight", at(11, 12, 9), direction=out),
        message("Brightfield Marketing", at(11, 26, 20), [("rejection", "We have decided to move forward with other candidates whose experience more closely matches our needs.")]),
        message("Oakridge Labs", at(10, 14, 9), [("interview_request", "Could we schedule a call with our Director of Data Engineering?")]),
    ], ROLES)
    set_app(store, ids["Northwind Analytics"], stage="final", outlook=82)
    set_app(store, ids["Quillstone"], stage="interviewing", outlook=74)
    set_app(store, ids["Kestrel Payments"], stage="interviewing", outlook=66)
    set_app(store, ids["Pixelforge Games"], stage="screening", outlook=38)
    set_app(store, ids["Meridian Freight"], stage="interviewing", outlook=31)
    set_app(store, ids["Brightfield Marketing"], stage="rejected", outlook=0, closed=True)
    set_app(store, ids["Oakridge Labs"], stage="screening", outlook=50)
    add_silence(store, ids["Meridian Freight"], at(11, 23, 9), "No word from them for 8 business days since you wrote on Thu 12 Nov.")
    return store, ids


def quiet_shown(store: Store) -> list[str]:
    """The companies a delivered digest showed as going quiet (the ``quiet_shown`` table)."""
    return [r["company"] for r in store.rows(
        "SELECT a.company FROM quiet_shown q JOIN applications a ON a.id = q.application_id ORDER BY a.company")]


HOSTILE = {
    "script": "<script>alert('xss')</script> we'd love to move quickly",
    "img": "Great news <img src=x onerror=alert(1)> about the next round",
    "js_link": '<a href="javascript:alert(document.cookie)">Confirm your slot</a> please',
    "style": "</td></tr></table><div style=\"position:fixed;top:0\">fake</div>",
}
RTL = "\u202eאנחנו רוצים להתקדם איתך לשלב הבא\u202c — نود المضي قدمًا معك"
LONG = ("We would like to move forward " + "and discuss the next steps " * 400)[:10000]
EMOJI_NAME = "🚀 Dana 👩‍💻 Ötzürk"


def hostile_store(path: Path | str | None = None, many: int = 500) -> tuple[Store, dict[str, int]]:
    """The sample plus hostile, huge and foreign input, and one application with ``many`` signals."""
    store, ids = sample_store(path)
    evil = Address(EMOJI_NAME + ' "><script>x</script>', "dana@evil.example")
    more = write(store, [
        message("Evil <b>Corp</b> <script>alert(1)</script>", at(11, 29, 10), [
            ("interview_request", HOSTILE["script"]),
            ("panel_invite", HOSTILE["img"]),
            ("expedite", HOSTILE["js_link"]),
            ("keep_warm", HOSTILE["style"]),
        ], sender=evil, message_id='<"><script>alert(1)</script>@evil>', role="<img src=x onerror=alert(2)>"),
        message("شركة الأفق Horizon", at(11, 30, 10), [("interview_request", RTL)],
                sender=Address("\u202eמיכל כהן", "michal@horizon.example")),
        message("Longwinded Inc", at(11, 30, 11), [("keep_warm", LONG)], sender=evil),
    ])
    ids.update(more)
    for company in ("Evil <b>Corp</b> <script>alert(1)</script>", "شركة الأفق Horizon", "Longwinded Inc"):
        set_app(store, ids[company], stage="interviewing", outlook=60)
    base = NOW.astimezone(timezone.utc) - timedelta(days=6)
    batch = [
        message("Busy Co", base + timedelta(minutes=10 * i),
                [(["keep_warm", "postponed", "interview_request", "panel_invite"][i % 4], f"Update number {i}: still working on it.")],
                sender=Address("Busy Recruiter", "busy@busy.example"))
        for i in range(many)
    ]
    ids.update(write(store, batch))
    set_app(store, ids["Busy Co"], stage="interviewing", outlook=55)
    return store, ids


# -- the dev corpus, read by the real pipeline ---------------------------------------------------

DEV_OWNER = "maya.lindqvist@gmail.com"
#: The morning after the dev corpus's last message (12 Nov 2026), where its owner lives.
DEV_TZ = ZoneInfo("America/Chicago")
DEV_NOW = datetime(2026, 11, 13, 8, 0, tzinfo=DEV_TZ)


def dev_corpus_store(corpus: Path, folder: Path) -> Store:
    """Backfill the dev corpus with `offerwatch backfill` (parse, classify, extract, link, assess)."""
    from click.testing import CliRunner

    from offerwatch.daemon.cli import cli

    config = folder / "config.toml"
    config.write_text("")
    db = folder / "dev.db"
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", str(db), "backfill", "--source", str(corpus),
                                      "--owner", DEV_OWNER, "--no-progress"])
    assert result.exit_code == 0, result.output
    return Store.open(db)
