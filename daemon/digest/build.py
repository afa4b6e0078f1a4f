"""Make a :class:`Digest` from the store: plain, bounded data that every renderer shares.

The digest covers the period since the last digest that was sent (the first one: the last
7 days) and has four parts, in the order a reader needs them:

1. **Needs your attention**: signals that call for an action, with the advice of
   DESIGN.md (salary reconfirmation -> the figure you stated before, stay consistent;
   hiring manager reaching out -> prepare for a pre-close call; asked about other
   processes -> answer honestly; next round offered -> reply promptly; offer -> review it).
2. **New signals** per application, with quoted evidence, sender and a link back to the
   message (Gmail search link or ``mid:`` URI).
3. **Going quiet**: applications where the ball is in their court and nothing came back,
   each shown once when it crosses the threshold: a delivered digest records it
   (:func:`record_quiet_shown`, table ``quiet_shown``) and later digests leave it out until new
   mail from either side moves its last contact and the silence crosses the threshold again.
   Applications gone cold (:mod:`offerwatch.models.cold`: ghosted, or no contact for
   ``cold_business_days``) leave this section and the pipeline for a one-line count.
4. **Pipeline**: the active applications (open, not cold), most urgent first (an offer or an ask
   waiting for the user, then their turn is the user's, then the rest, holds last; by outlook
   within each), capped at :attr:`Limits.pipeline` with a count of the rest, with stage,
   outlook, last contact, trend, and a 28-day strip of what happened per day for the hot ones.

Everything taken from mail goes through :func:`~offerwatch.daemon.textsafe.clean_text`
(terminal escape sequences, control and bidi-override characters removed, whitespace collapsed) and evidence through :func:`trim`; lists are
cut at :class:`Limits` with a count of what was left out, so 500 signals make a digest
of the same size as 50. Links are made here only, from Message-IDs, never taken from mail.

Example::

    digest = build_digest(store, now=datetime.now(timezone.utc), tz=ZoneInfo("Europe/Berlin"))
    digest.subject  # 'offerwatch: 2 to act on, 1 going quiet — Tue 1 Dec'
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import unicodedata
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal

from offerwatch.daemon.textsafe import clean_text
from offerwatch.models.calendar_days import business_days_between
from offerwatch.models.cold import DEFAULT_COLD_BUSINESS_DAYS, cold_applications
from offerwatch.models.domain import POLARITY
from offerwatch.models.humandate import HumanDates, day_text
from offerwatch.models.store import Store

log = logging.getLogger(__name__)

LinkStyle = Literal["auto", "gmail", "mid"]

#: Human wording of every signal type, as the digest shows it.
TYPE_LABELS: dict[str, str] = {
    "keep_warm": "Kept you posted",
    "other_process_inquiry": "Asked about your other processes",
    "expedite": "Offered to speed things up",
    "next_round_fast": "Next round booked fast",
    "senior_leader_interview": "Interview with a senior leader",
    "salary_reconfirm": "Reconfirmed your salary expectations",
    "hiring_manager_direct": "Hiring manager reached out",
    "panel_invite": "Panel / onsite invitation",
    "offer": "Offer",
    "postponed": "Postponed",
    "role_on_hold": "Role on hold",
    "rejection": "Rejection",
    "silence": "Gone quiet",
    "application_received": "Application received",
    "interview_request": "Interview request",
    "interview_scheduled": "Interview scheduled",
}

STAGE_LABELS: dict[str, str] = {
    "applied": "Applied",
    "screening": "Screening",
    "interviewing": "Interviewing",
    "final": "Final round",
    "offer": "Offer",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
    "ghosted": "Ghosted",
    "on_hold": "On hold",
    "declined": "Declined",
}
#: Stages after which nothing is asked of the user and nothing is pipeline any more (a ghosted
#: application is counted on the "gone cold" line instead; `offerwatch apps reopen` brings it back).
CLOSED_STAGES = frozenset({"rejected", "withdrawn", "declined", "closed", "ghosted"})


@dataclass(frozen=True)
class ActionRule:
    kind: str
    title: str
    advice: str
    priority: int  # lower first


#: Which signal types call for an action, and the advice the seed gives for each.
ACTION_RULES: dict[str, ActionRule] = {
    "offer": ActionRule(
        "offer", "Offer on the table",
        "Ask for it in writing, take the time you need to review it, and negotiate from the figure you "
        "stated before, not from a new one.", 0),
    "salary_reconfirm": ActionRule(
        "salary", "They reconfirmed your salary expectations: an offer is likely being prepared",
        "Stay consistent with the figure you stated before: a large jump at this stage can get an offer "
        "rescinded.", 1),
    "hiring_manager_direct": ActionRule(
        "hiring_manager", "The hiring manager is reaching out directly",
        "Prepare for a pre-close call: why this role, what you would do first, your questions about the "
        "team, your timing, and the same salary figure you gave before.", 2),
    "other_process_inquiry": ActionRule(
        "other_processes", "They asked about your other processes",
        "Answer honestly. If you have a deadline or an offer elsewhere, say so: it can speed them up.", 3),
    "interview_request": ActionRule(
        "next_round", "Next round offered",
        "Reply promptly with your availability: a quick answer keeps the momentum.", 4),
    "panel_invite": ActionRule(
        "next_round", "Next round offered",
        "Reply promptly with your availability: a quick answer keeps the momentum.", 4),
    "next_round_fast": ActionRule(
        "next_round", "Next round offered",
        "Reply promptly with your availability: a quick answer keeps the momentum.", 4),
    "expedite": ActionRule(
        "next_round", "They offered to move faster",
        "Reply promptly and make yourself available: they are speeding up for you.", 4),
}


@dataclass(frozen=True)
class Limits:
    """How much a digest shows at most; the rest is counted ("and 12 more")."""

    actions: int = 8
    applications: int = 10  # in "New signals"
    signals_per_app: int = 4
    quiet: int = 8
    #: active applications in the pipeline (with the day's news, two phone screens); the rest is "and N more"
    pipeline: int = 6
    #: names on the "gone cold" line; the rest is counted
    cold: int = 5
    timelines: int = 6
    #: a quote longer than this is cut with "…" (most recruiter sentences are shorter; 280
    #: made a phone digest a screen longer on busy days)
    evidence_chars: int = 220
    timeline_days: int = 28
    #: an ask older than this many days is no longer shown as one to act on
    ask_days: int = 21


@dataclass(frozen=True)
class AppRef:
    id: int
    company: str
    role: str
    stage: str
    stage_label: str
    outlook: int
    note: str = ""  # the user's own note on the application (`offerwatch apps note`)

    @property
    def title(self) -> str:
        return f"{self.company} — {self.role}" if self.role else self.company


@dataclass(frozen=True)
class SignalView:
    id: int
    type: str
    label: str
    polarity: int
    evidence: str
    at: datetime | None  # local time
    when: str  # "Tue 20 Oct"
    sender: str
    subject: str
    link: str | None
    derived: bool
    #: Nothing ties the sender to the application's company (not its domain, ATS, thread or a
    #: known contact: models.linking); ``sender`` then carries :data:`UNVERIFIED_NOTE`.
    unverified: bool = False


#: What the digest says beside a sender the linker could not tie to the company.
UNVERIFIED_NOTE = "unverified sender: not the company's domain, ATS or thread"


@dataclass(frozen=True)
class SalaryNote:
    """The figure the user stated before a reconfirmation, and any jump since."""

    stated: str | None  # "$160k–$170k a year"
    stated_on: str | None  # "Thu 17 Sep"
    later: str | None = None  # a figure the user wrote after the reconfirmation
    jump_percent: int | None = None
    jump: bool = False


@dataclass(frozen=True)
class Action:
    kind: str
    title: str
    advice: str
    app: AppRef
    signal: SignalView
    salary: SalaryNote | None = None
    replied_on: str | None = None  # the user already answered after the signal
    also: tuple[tuple[str, str], ...] = ()  # (title, advice) of other actions the same message calls for

    @property
    def open(self) -> bool:
        """Still to act on: not answered yet; a salary caution holds until the offer comes,
        answered or not (a new figure written in the reply is exactly what it warns about)."""
        return self.replied_on is None or self.kind == "salary"


@dataclass(frozen=True)
class AppSignals:
    app: AppRef
    signals: tuple[SignalView, ...]
    more: int  # signals of this app in the period not shown


@dataclass(frozen=True)
class QuietItem:
    app: AppRef
    days: int  # calendar days since the last contact, either way
    last_contact: str | None  # "Tue 6 Oct"
    last_from: str  # "you" | "them"
    evidence: str
    #: the last contact (UTC ISO) this was shown for: a delivered digest records it in ``quiet_shown``
    contact_key: str | None = None


@dataclass(frozen=True)
class ColdItem:
    """An application on the "gone cold" line."""

    app: AppRef
    last_contact: str | None  # "Tue 6 Oct"
    ghosted: bool  # the timeline closed it as ghosted


@dataclass(frozen=True)
class TimelineCell:
    day: date
    kind: str  # none | positive | strong | negative | neutral | you
    label: str  # what happened that day, short (tooltip / terminal)


@dataclass(frozen=True)
class PipelineRow:
    app: AppRef
    last_contact: str | None
    days_since: int | None
    trend: str  # up | down | flat
    timeline: tuple[TimelineCell, ...] = ()


@dataclass(frozen=True)
class OfferDue:
    """An open offer with a reply-by day (models.offers): on top of the digest until decided."""

    app: AppRef
    deadline: str  # "Fri 20 Nov"
    days_left: int
    evidence: str  # the words the deadline was read from, or "set by hand"

    @property
    def due(self) -> str:
        """"today", "tomorrow", "in 5 days"."""
        return "today" if self.days_left == 0 else "tomorrow" if self.days_left == 1 else f"in {self.days_left} days"


@dataclass(frozen=True)
class Digest:
    for_date: date
    generated_at: datetime
    period_start: datetime
    period_end: datetime
    first: bool  # no digest was sent before: the period is the last 7 days
    actions: tuple[Action, ...]
    actions_more: int
    new_signals: tuple[AppSignals, ...]
    new_signals_more: int  # applications with new signals not shown
    quiet: tuple[QuietItem, ...]
    quiet_more: int
    pipeline: tuple[PipelineRow, ...]
    pipeline_more: int
    to_act_on: int  # open actions, counting those beyond the limit
    going_quiet: int
    signal_count: int  # new signals in the period
    subject: str
    limits: Limits = field(default_factory=Limits)
    #: the period starts where the user asked (``--since``), not at a digest sent before
    since_chosen: bool = False
    #: open offers with a deadline, the nearest first
    offers: tuple[OfferDue, ...] = ()
    #: applications gone cold (models.cold), the most recent first, at most ``limits.cold``
    cold: tuple[ColdItem, ...] = ()
    cold_count: int = 0  # all of them

    @property
    def empty(self) -> bool:
        """Nothing happened and nothing is asked: ``skip_when_empty`` sends nothing."""
        return not (self.offers or self.actions or self.new_signals or self.quiet)

    @property
    def period_label(self) -> str:
        return f"{day_label(self.period_start)} – {day_label(self.period_end)}"


# -- text hygiene ----------------------------------------------------------------------------

def trim(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary, ending in "…"."""
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    # never end inside an emoji sequence or on a combining mark
    while cut and (unicodedata.combining(cut[-1]) or cut[-1] in "\u200d\ufe0f\ufe0e"):
        cut = cut[:-1]
    if cut and "\ud800" <= cut[-1] <= "\udfff":
        cut = cut[:-1]
    return cut.rstrip(" ,;:-–—") + "…"


def message_link(message_id: str | None, style: str) -> str | None:
    """A link back to a message by its Message-ID, made here and nowhere else.

    >>> message_link("<a+b@mail.gmail.com>", "gmail")
    'https://mail.google.com/mail/u/0/#search/rfc822msgid%3Aa%2Bb%40mail.gmail.com'
    >>> message_link("<a+b@x.org>", "mid")
    'mid:a%2Bb@x.org'
    """
    if not message_id:
        return None
    mid = clean_text(message_id).strip().strip("<>").strip()
    if not mid or " " in mid:
        return None
    if style == "gmail":
        return "https://mail.google.com/mail/u/0/#search/rfc822msgid%3A" + urllib.parse.quote(mid, safe="")
    # RFC 2392: mid:<addr-spec>, URL-encoded; "@" may stay
    return "mid:" + urllib.parse.quote(mid, safe="@")


def format_money(lo: float, hi: float, currency: str | None, period: str | None = "year") -> str:
    """``160000, 170000, "USD"`` -> ``'$160k–$170k a year'``."""
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "CHF": "CHF ", "JPY": "¥",
              "INR": "₹", "PLN": "PLN "}.get((currency or "").upper(), "" if not currency else f"{currency} ")

    def one(v: float) -> str:
        if v >= 10000 and v % 1000 == 0:
            return f"{symbol}{int(v // 1000)}k"
        if v >= 10000:
            return f"{symbol}{v / 1000:.1f}k"
        return f"{symbol}{v:,.0f}" if v == int(v) else f"{symbol}{v:,.2f}"

    amount = one(lo) if lo == hi else f"{one(lo)}–{one(hi)}"
    per = {"year": "a year", "month": "a month", "hour": "an hour", "day": "a day"}.get(period or "", "")
    return f"{amount} {per}".strip()


# -- dates -----------------------------------------------------------------------------------

def _parse(ts: Any) -> datetime | None:
    if not ts:
        return None
    if isinstance(ts, datetime):
        dt = ts
    else:
        try:
            dt = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def day_label(dt: datetime | date, today: date | None = None) -> str:
    """``Tue 1 Dec`` of a local date or datetime (no leading zero, locale-independent), with the
    year when ``today`` is in another one: :func:`offerwatch.models.humandate.day_text`, the
    style of every view."""
    return day_text(dt.date() if isinstance(dt, datetime) else dt, today)


# -- reading the store -----------------------------------------------------------------------

def last_sent_digest(store: Store) -> datetime | None:
    rows = store.rows("SELECT sent_at FROM digests WHERE status = 'sent' AND sent_at IS NOT NULL ORDER BY sent_at DESC LIMIT 1")
    return _parse(rows[0]["sent_at"]) if rows else None


def detect_link_style(store: Store) -> str:
    """``gmail`` when the mailbox is a Gmail one (the owner's address or Gmail message ids)."""
    rows = store.rows(
        "SELECT sender_email FROM messages WHERE direction = 'out' AND sender_email IS NOT NULL LIMIT 50"
    )
    if any(str(r["sender_email"]).lower().endswith(("@gmail.com", "@googlemail.com")) for r in rows):
        return "gmail"
    return "mid"


def _timeline_module() -> Any | None:
    """``offerwatch.models.timeline`` when it exists (it derives silence and salary guards)."""
    if importlib.util.find_spec("offerwatch.models.timeline") is None:
        return None
    try:
        return importlib.import_module("offerwatch.models.timeline")
    except ImportError as err:  # a half-written module must not take the digest down
        log.warning("timeline module present but not importable (%s); the digest reads the tables", err)
        return None


def build_digest(
    store: Store,
    *,
    now: datetime,
    tz: tzinfo,
    since: datetime | None = None,
    link_style: LinkStyle = "auto",
    limits: Limits = Limits(),
    silence_business_days: int = 7,
    salary_jump_percent: float = 10.0,
    cold_business_days: int = DEFAULT_COLD_BUSINESS_DAYS,
    holidays: frozenset[date] = frozenset(),
) -> Digest:
    """The digest for the local day of ``now`` in ``tz``.

    ``since`` overrides the period's start (``digest --since``); by default it is the time
    the last digest was sent, or 7 days before ``now`` for the first one. Building reads
    only: what it showed is recorded by the delivery (:func:`record_quiet_shown`).
    """
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    local_now = now.astimezone(tz)
    previous = last_sent_digest(store)
    first = previous is None and since is None
    start = since or previous or (now - timedelta(days=7))
    start = start if start.tzinfo else start.replace(tzinfo=tz)
    style = detect_link_style(store) if link_style == "auto" else link_style
    ctx = _Context(store, now, tz, style, limits)

    apps = {int(a["id"]): a for a in store.applications()}
    refs = {i: _app_ref(a) for i, a in apps.items()}
    messages = _messages_by_app(store)
    all_signals = [s for s in store.signals() if s.get("application_id") is not None]
    in_period = [s for s in all_signals if _in_period(s, start, now)]

    def is_open(app_id: int) -> bool:
        a = apps[app_id]
        return not a.get("closed") and str(a.get("stage") or "") not in CLOSED_STAGES

    cold = cold_applications(store, now=now, tz=tz, business_days=cold_business_days, holidays=holidays)

    def is_active(app_id: int) -> bool:
        return is_open(app_id) and app_id not in cold

    # 1. actions: an ask is open until the user answered it, the application moved on (a hold,
    # a rejection or an offer after it) or it is older than limits.ask_days; only open asks
    # are shown, so the header's "N to act on" counts exactly the cards below it
    moved_on: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for s in all_signals:
        when = _parse(s.get("at"))
        if s["type"] in _MOVED_ON and when is not None and not s.get("dismissed"):
            moved_on[int(s["application_id"])].append((when, str(s["type"])))
    actions = _actions(ctx, in_period, refs, is_open, messages, salary_jump_percent)
    oldest = now - timedelta(days=limits.ask_days)
    decided = _decided_offers(store)  # `apps offer ID --accept/--decline` answers the offer card
    open_actions = [
        a for a in actions
        if a.open and (a.signal.at is None or a.signal.at >= oldest)
        and not (a.kind == "offer" and a.app.id in decided)
        and not any(when > a.signal.at and kind != a.signal.type
                    for when, kind in moved_on.get(a.app.id, ()) if a.signal.at is not None)
    ]
    shown_actions = tuple(open_actions[: limits.actions])

    # 2. new signals per application
    by_app: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in in_period:
        if s["type"] != "silence":
            by_app[int(s["application_id"])].append(s)
    groups = []
    for app_id, sigs in by_app.items():
        if app_id not in refs:
            continue
        top = sorted(sigs, key=lambda s: (abs(int(s["polarity"])), s.get("at") or ""), reverse=True)
        top = top[: limits.signals_per_app]
        top.sort(key=lambda s: (s.get("at") or "", s["id"]))
        groups.append((
            max(abs(int(s["polarity"])) for s in sigs),
            max(s.get("at") or "" for s in sigs),
            AppSignals(refs[app_id], tuple(ctx.view(s) for s in top), len(sigs) - len(top)),
        ))
    groups.sort(key=lambda g: (g[0], g[1]), reverse=True)
    new_signals = tuple(g[2] for g in groups[: limits.applications])

    # 3. going quiet
    quiet = _quiet(ctx, all_signals, refs, is_active, messages, silence_business_days, quiet_already_shown(store), holidays)

    # 4. pipeline
    # The trend is the direction of the latest news, not the period's sum: five good signals
    # in September and silence since is cooling, never "warming" beside "Ghosted".
    period_polarity: dict[int, int] = {}
    latest_at: dict[int, str] = {}
    for s in in_period:
        pol, app_id, at_iso = int(s["polarity"]), int(s["application_id"]), str(s.get("at") or "")
        if pol and at_iso >= latest_at.get(app_id, ""):
            latest_at[app_id], period_polarity[app_id] = at_iso, pol
    offers = _offers_due(store, refs, now, tz)
    waiting_on_user = {a.app.id for a in open_actions} | {o.app.id for o in offers}
    active_ids = [i for i in apps if is_active(i)]
    active_ids.sort(key=lambda i: _urgency(apps[i], refs[i], i in waiting_on_user,
                                           _last_contact(apps[i], messages.get(i, []))))
    pipeline = []
    hot_left = limits.timelines
    by_app_all: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in all_signals:
        by_app_all[int(s["application_id"])].append(s)
    for i in active_ids[: limits.pipeline]:
        last = _parse(_last_contact(apps[i], messages.get(i, [])))
        p = period_polarity.get(i, 0)
        cells: tuple[TimelineCell, ...] = ()
        if hot_left > 0 and _is_hot(ctx, refs[i], by_app_all.get(i, []), messages.get(i, [])):
            cells = ctx.strip(by_app_all.get(i, []), messages.get(i, []))
            hot_left -= 1
        pipeline.append(PipelineRow(
            refs[i],
            day_label(last.astimezone(tz), local_now.date()) if last else None,
            (local_now.date() - last.astimezone(tz).date()).days if last else None,
            "up" if p > 0 else "down" if p < 0 else "flat",
            cells,
        ))

    cold_items = _cold_items(ctx, cold, refs, apps, messages)
    signal_count = sum(1 for s in in_period if s["type"] != "silence")
    subject = make_subject(len(open_actions), len(quiet), signal_count, local_now.date(), offers=sum(
        1 for a in open_actions if a.kind == "offer"))
    return Digest(
        for_date=local_now.date(),
        generated_at=local_now,
        period_start=start.astimezone(tz),
        period_end=local_now,
        first=first,
        since_chosen=since is not None,
        actions=shown_actions,
        actions_more=len(open_actions) - len(shown_actions),
        new_signals=new_signals,
        new_signals_more=len(groups) - len(new_signals),
        quiet=tuple(quiet[: limits.quiet]),
        quiet_more=max(0, len(quiet) - limits.quiet),
        pipeline=tuple(pipeline),
        pipeline_more=max(0, len(active_ids) - limits.pipeline),
        to_act_on=len(open_actions),
        going_quiet=len(quiet),
        signal_count=signal_count,
        subject=subject,
        limits=limits,
        offers=offers,
        cold=tuple(cold_items[: limits.cold]),
        cold_count=len(cold_items),
    )


#: Pipeline tiers, most urgent first (see :func:`_urgency`).
_WAITING_ON_YOU, _YOUR_TURN, _THEIR_TURN, _ON_HOLD = range(4)


def _urgency(app: Mapping[str, Any], ref: AppRef, waiting_on_user: bool, last_contact: str | None) -> tuple[int, int, float]:
    """Sort key of a pipeline row, most urgent first: an open offer or an ask in "Needs your
    attention" first, then applications whose turn is the user's (their last mail asks something),
    then those waiting on them, holds last; within a tier the better outlook, then the latest contact."""
    if waiting_on_user:
        tier = _WAITING_ON_YOU
    elif ref.stage == "on_hold":
        tier = _ON_HOLD
    elif app.get("ball") == "you":
        tier = _YOUR_TURN
    else:
        tier = _THEIR_TURN
    last = _parse(last_contact)
    return tier, -ref.outlook, -(last.timestamp() if last else 0.0)


def _cold_items(ctx: _Context, cold: Mapping[int, Any], refs: Mapping[int, AppRef], apps: Mapping[int, Mapping[str, Any]],
                messages: Mapping[int, list[dict[str, Any]]]) -> list[ColdItem]:
    """The "gone cold" line: every cold application, the most recently active first."""
    items: list[tuple[float, ColdItem]] = []
    for app_id, c in cold.items():
        if app_id not in refs:
            continue
        last = _parse(_last_contact(apps[app_id], messages.get(app_id, [])))
        items.append((last.timestamp() if last else 0.0,
                      ColdItem(refs[app_id], ctx.dates.day(last) if last else None, bool(c.ghosted))))
    items.sort(key=lambda x: (-x[0], x[1].app.id))
    return [i for _, i in items]


def quiet_already_shown(store: Store) -> dict[int, str | None]:
    """Per application, the last contact it was shown as going quiet for by a delivered digest."""
    return {int(r["application_id"]): r["last_contact"] for r in
            store.rows("SELECT application_id, last_contact FROM quiet_shown")}


def record_quiet_shown(store: Store, digest: Digest) -> None:
    """Remember the "going quiet" items of a digest that was delivered (the delivery calls this in
    the transaction that marks the digest sent; a preview never does), so the next digests leave
    them out until their last contact changes."""
    now = store.stamp()
    for q in digest.quiet:
        store.db.execute(
            # an application merged away since the digest was built has nothing to remember
            "INSERT INTO quiet_shown(application_id, last_contact, for_date, shown_at) "
            "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM applications WHERE id = ?) "
            "ON CONFLICT(application_id) DO UPDATE SET last_contact = excluded.last_contact, "
            "for_date = excluded.for_date, shown_at = excluded.shown_at",
            [q.app.id, q.contact_key, digest.for_date.isoformat(), now, q.app.id],
        )


def _decided_offers(store: Store) -> set[int]:
    """Applications whose offer the user accepted or declined (models.offers)."""
    if "offers" not in store.db.table_names():
        return set()
    return {int(r["application_id"]) for r in store.rows("SELECT application_id FROM offers WHERE status IN ('accepted', 'declined')")}


def _offers_due(store: Store, refs: Mapping[int, AppRef], now: datetime, tz: tzinfo) -> tuple[OfferDue, ...]:
    """Open offers with a deadline (a database without the offers table has none)."""
    if "offers" not in store.db.table_names():
        return ()
    from offerwatch.models.offers import pending

    return tuple(
        OfferDue(refs[p.application_id], day_label(p.deadline, now.astimezone(tz).date()), p.days_left,
                 clean_text(p.evidence or ""))
        for p in pending(store, now=now, tz=tz) if p.application_id in refs
    )


def make_subject(to_act: int, quiet: int, new_signals: int, day: date, offers: int = 0) -> str:
    """``offerwatch: 2 to act on, 1 going quiet — Tue 1 Dec`` (only counts and a date: no mail text)."""
    parts = []
    if to_act:
        parts.append(f"{to_act} to act on")
    if quiet:
        parts.append(f"{quiet} going quiet")
    if not parts and new_signals:
        parts.append(f"{new_signals} new signal{'s' if new_signals != 1 else ''}")
    if offers and to_act:
        parts.insert(0, f"{offers} offer{'s' if offers != 1 else ''}")
    return f"offerwatch: {', '.join(parts) or 'nothing new'} — {day_label(day)}"


class _Context:
    def __init__(self, store: Store, now: datetime, tz: tzinfo, style: str, limits: Limits) -> None:
        self.store, self.now, self.tz, self.style, self.limits = store, now, tz, style, limits
        self.today = now.astimezone(tz).date()
        self.dates = HumanDates(tz, self.today)  # dates and the date tokens of stored text

    def view(self, s: Mapping[str, Any]) -> SignalView:
        at = _parse(s.get("at"))
        local = at.astimezone(self.tz) if at else None
        name = clean_text(s.get("sender_name"))
        email = clean_text(s.get("sender_email"))
        sender = name or email  # the name reads better; the link opens the message itself
        evidence = trim(clean_text(self.dates.text(s.get("evidence"))), self.limits.evidence_chars)
        if int(s.get("derived") or 0) and not sender:
            sender = "offerwatch (from your timeline)"
        unverified = s.get("sender_tie") == "none" and not int(s.get("derived") or 0)
        sender = f"{trim(sender, 60)} · {UNVERIFIED_NOTE}" if unverified else trim(sender, 120)
        return SignalView(
            id=int(s["id"]),
            type=str(s["type"]),
            label=TYPE_LABELS.get(str(s["type"]), clean_text(s["type"]).replace("_", " ")),
            polarity=int(s.get("polarity") or POLARITY.get(str(s["type"]), 0)),
            evidence=evidence,
            at=local,
            when=self.dates.day(local) if local else "",
            sender=sender,
            subject=trim(clean_text(s.get("subject")), 140),
            link=message_link(s.get("message_id"), self.style),
            derived=bool(int(s.get("derived") or 0)),
            unverified=unverified,
        )

    def strip(self, signals: Sequence[Mapping[str, Any]], messages: Sequence[Mapping[str, Any]]) -> tuple[TimelineCell, ...]:
        """One cell per local day over the last ``timeline_days`` days, coloured by what happened."""
        days = self.limits.timeline_days
        first = self.today - timedelta(days=days - 1)
        per_day: dict[date, list[tuple[int, str]]] = defaultdict(list)
        for s in signals:
            at = _parse(s.get("at"))
            if at is None or s["type"] == "silence":
                continue
            d = at.astimezone(self.tz).date()
            if first <= d <= self.today:
                per_day[d].append((int(s["polarity"]), TYPE_LABELS.get(str(s["type"]), str(s["type"]))))
        mine: set[date] = set()
        theirs: set[date] = set()
        for m in messages:
            at = _parse(m.get("date"))
            if at is None:
                continue
            d = at.astimezone(self.tz).date()
            if first <= d <= self.today:
                (mine if m.get("direction") == "out" else theirs).add(d)
        cells = []
        for k in range(days):
            d = first + timedelta(days=k)
            events = per_day.get(d, [])
            labels = [label for _, label in events]
            if events:
                strongest = max(events, key=lambda e: (abs(e[0]), e[0]))[0]
                kind = "strong" if strongest >= 2 else "positive" if strongest > 0 else "negative" if strongest < 0 else "neutral"
            elif d in theirs:
                kind, labels = "neutral", ["message from them"]
            elif d in mine:
                kind, labels = "you", ["you wrote"]
            else:
                kind = "none"
            if d in mine and events:
                labels.append("you wrote")
            cells.append(TimelineCell(d, kind, f"{day_label(d)}: {', '.join(dict.fromkeys(labels))}" if labels else day_label(d)))
        return tuple(cells)


def _app_ref(a: Mapping[str, Any]) -> AppRef:
    stage = str(a.get("stage") or "applied")
    return AppRef(
        id=int(a["id"]),
        company=trim(clean_text(a.get("company")) or "(unknown company)", 80),
        role=trim(clean_text(a.get("role")), 100),
        stage=stage,
        stage_label=STAGE_LABELS.get(stage, clean_text(stage).replace("_", " ").capitalize()),
        outlook=max(0, min(100, int(a.get("outlook") or 0))),
        note=trim(clean_text(a.get("notes")), 200),
    )


def _messages_by_app(store: Store) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in store.rows(
        "SELECT application_id, date, direction FROM messages WHERE application_id IS NOT NULL AND is_job = 1 ORDER BY date"
    ):
        out[int(m["application_id"])].append(m)
    return out


def _last_contact(app: Mapping[str, Any], messages: Sequence[Mapping[str, Any]]) -> str | None:
    dates = [str(m["date"]) for m in messages if m.get("date")]
    best = max(dates, key=lambda d: _parse(d) or datetime.min.replace(tzinfo=timezone.utc)) if dates else None
    return best or (str(app["last_contact"]) if app.get("last_contact") else None)


def _in_period(s: Mapping[str, Any], start: datetime, end: datetime) -> bool:
    """A signal belongs to the period when its message is dated in it, or when it was recorded
    in it for a message dated at most 3 days before (mail that arrived while the laptop slept)."""
    at = _parse(s.get("at")) or _parse(s.get("created_at"))
    if at is None:
        return False
    if start <= at <= end + timedelta(minutes=5):
        return True
    created = _parse(s.get("created_at"))
    return bool(created and created >= start and at >= start - timedelta(days=3) and at <= end)


#: Signals after which an earlier ask is moot: the application moved on.
_MOVED_ON = frozenset({"role_on_hold", "rejection", "offer"})


def _actions(
    ctx: _Context,
    signals: Iterable[Mapping[str, Any]],
    refs: Mapping[int, AppRef],
    is_open: Any,
    messages: Mapping[int, list[dict[str, Any]]],
    jump_percent: float,
) -> list[Action]:
    """One action per (application, kind): the latest signal of that kind in the period."""
    latest: dict[tuple[int, str], Mapping[str, Any]] = {}
    for s in signals:
        rule = ACTION_RULES.get(str(s["type"]))
        app_id = int(s["application_id"])
        if rule is None or app_id not in refs or not is_open(app_id) or s.get("derived"):
            continue  # a card quotes what the recruiter wrote, never a sentence offerwatch made
        key = (app_id, rule.kind)
        if key not in latest or (s.get("at") or "") >= (latest[key].get("at") or ""):
            latest[key] = s
    timeline = _timeline_module()
    # one card per message: the most pressing action first, the others as "also"
    per_message: dict[tuple[int, str], list[Mapping[str, Any]]] = defaultdict(list)
    for s in latest.values():
        per_message[(int(s["application_id"]), str(s.get("message_key") or s["id"]))].append(s)
    actions = []
    for (app_id, _key), group in per_message.items():
        group.sort(key=lambda s: ACTION_RULES[str(s["type"])].priority)
        s = group[0]
        rule = ACTION_RULES[str(s["type"])]
        at = _parse(s.get("at"))
        replied = None
        if at is not None:
            sent = [_parse(m.get("date")) for m in messages.get(app_id, []) if m.get("direction") == "out"]
            after = [d for d in sent if d and d > at]
            if after:
                replied = ctx.dates.day(min(after))
        salary = None
        if rule.kind in ("salary", "offer"):
            salary = _salary_note(ctx, app_id, at, jump_percent, timeline)
            if rule.kind == "offer" and salary.stated is None:
                salary = None  # an offer card only recalls a figure the user did state
        also = () if rule.kind == "offer" else tuple(dict.fromkeys(  # an offer makes the rest moot
            (ACTION_RULES[str(o["type"])].title, ACTION_RULES[str(o["type"])].advice) for o in group[1:]
            if ACTION_RULES[str(o["type"])].kind != rule.kind))
        actions.append(Action(rule.kind, rule.title, rule.advice, refs[app_id], ctx.view(s), salary, replied, also))
    actions = _drop_superseded(actions)
    actions.sort(key=lambda a: (not a.open, ACTION_RULES[a.signal.type].priority, -refs[a.app.id].outlook,
                                -(a.signal.at.timestamp() if a.signal.at else 0)))
    return actions


def _drop_superseded(actions: list[Action]) -> list[Action]:
    """Per application, the card of the latest message that calls for action; an older salary
    card stays (its caution holds until an offer arrives), every other older card is outdated
    (a call asked for last week is not what to do after the offer came)."""
    by_app: dict[int, list[Action]] = defaultdict(list)
    for a in actions:
        by_app[a.app.id].append(a)
    kept: list[Action] = []
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    for cards in by_app.values():
        cards.sort(key=lambda a: a.signal.at or epoch, reverse=True)
        newest = cards[0]
        kept.append(newest)
        kept.extend(a for a in cards[1:] if a.kind == "salary" and newest.kind not in ("offer", "salary"))
    return kept


def _salary_note(ctx: _Context, app_id: int, at: datetime | None, jump_percent: float, timeline: Any) -> SalaryNote:
    """The figure the user stated (their own mail) and a later one that jumps above it.

    With the timeline module: its :func:`salary_guard` (the first figure stated, later ones
    and the jump against the configured threshold). Without it: the last figure stated
    before the reconfirmation, read from the ``salaries`` table.
    """
    guard = None
    if timeline is not None and hasattr(timeline, "salary_guard"):
        try:
            guard = timeline.salary_guard(ctx.store, app_id)
        except Exception as err:  # noqa: BLE001 - another module's bug must not cost the digest
            log.warning("salary_guard(%d) failed: %s; reading the salaries table instead", app_id, err)
    if guard is not None and getattr(guard, "stated", None) is not None:
        return _note_from_guard(ctx, guard)
    rows = ctx.store.rows(
        "SELECT min, max, currency, period, text, date FROM salaries WHERE application_id = ? AND direction = 'out' ORDER BY date",
        [app_id],
    )
    before = [r for r in rows if at is None or (_parse(r["date"]) or at) <= at]
    later = [r for r in rows if at is not None and (_parse(r["date"]) or at) > at]
    stated = before[-1] if before else None
    if stated is None:
        return SalaryNote(None, None)
    stated_at = _parse(stated["date"])
    note = SalaryNote(format_money(stated["min"], stated["max"], stated["currency"], stated["period"]),
                      ctx.dates.day(stated_at) if stated_at else None)
    if later:
        new = later[-1]
        base = (float(stated["min"]) + float(stated["max"])) / 2 or 1.0
        pct = ((float(new["min"]) + float(new["max"])) / 2 - base) / base * 100
        note = SalaryNote(note.stated, note.stated_on, format_money(new["min"], new["max"], new["currency"], new["period"]),
                          round(pct), pct > jump_percent)
    return note


def _note_from_guard(ctx: _Context, guard: Any) -> SalaryNote:
    def money(fig: Any) -> str:
        try:
            return format_money(float(fig.min), float(fig.max), fig.currency, fig.period)
        except (AttributeError, TypeError, ValueError):
            return trim(clean_text(getattr(fig, "text", "")), 60)

    stated = guard.stated
    at = _parse(getattr(stated, "at", None))
    later_text, pct = None, None
    later = tuple(getattr(guard, "later", ()) or ())
    if later:
        fig, change = max(later, key=lambda x: x[1] if x[1] is not None else -1e9)
        if change is None or round(change) != 0:  # the same figure again is not news
            later_text, pct = money(fig), (round(change) if change is not None else None)
    return SalaryNote(money(stated), ctx.dates.day(at) if at else None, later_text, pct,
                      bool(getattr(guard, "jump", False)))


def _quiet(
    ctx: _Context,
    signals: Sequence[Mapping[str, Any]],
    refs: Mapping[int, AppRef],
    is_open: Any,
    messages: Mapping[int, list[dict[str, Any]]],
    business_days: int,
    shown: Mapping[int, str | None] | None = None,
    holidays: frozenset[date] = frozenset(),
) -> list[QuietItem]:
    """Active applications with a current silence signal (or, without the timeline module, where
    the user wrote last and nothing came back for ``business_days`` business days), except those
    a delivered digest already showed for the same last contact (``shown``: :func:`quiet_already_shown`)."""
    latest_in: dict[int, datetime] = {}
    latest_any: dict[int, tuple[datetime, str]] = {}
    for app_id, ms in messages.items():
        for m in ms:
            at = _parse(m.get("date"))
            if at is None:
                continue
            if m.get("direction") != "out":
                latest_in[app_id] = max(latest_in.get(app_id, at), at)
            if app_id not in latest_any or at > latest_any[app_id][0]:
                latest_any[app_id] = (at, "you" if m.get("direction") == "out" else "them")
    found: dict[int, str] = {}
    for s in signals:
        if s["type"] != "silence":
            continue
        app_id = int(s["application_id"])
        at = _parse(s.get("at")) or _parse(s.get("created_at"))
        if app_id in refs and is_open(app_id) and not (at and app_id in latest_in and latest_in[app_id] > at):
            found[app_id] = clean_text(ctx.dates.text(s.get("evidence")))
    if _timeline_module() is None:
        for app_id, (at, who) in latest_any.items():
            if app_id in found or app_id not in refs or not is_open(app_id) or who != "you":
                continue
            waited = business_days_between(at.astimezone(ctx.tz).date(), ctx.today, holidays)
            if waited >= business_days:
                found[app_id] = f"You wrote last; no answer for {waited} business days."
    items = []
    shown = shown or {}
    for app_id, evidence in found.items():
        last = latest_any.get(app_id)
        key = last[0].astimezone(timezone.utc).isoformat(timespec="seconds") if last else None
        if app_id in shown and shown[app_id] == key:
            continue  # told already; news again only after new mail and a new crossing
        days = (ctx.today - last[0].astimezone(ctx.tz).date()).days if last else 0
        items.append(QuietItem(refs[app_id], days, ctx.dates.day(last[0]) if last else None,
                               last[1] if last else "them", trim(evidence, 200), key))
    items.sort(key=lambda q: (-q.app.outlook, q.days))
    return items


def _on_or_after(ts: Any, day: date, tz: tzinfo) -> bool:
    """Is ``ts`` on ``day`` or later, locally? An undated row is not, and neither is a date
    at the edge of the calendar (``datetime.min`` west of UTC overflowed)."""
    parsed = _parse(ts)
    if parsed is None:
        return False
    try:
        return parsed.astimezone(tz).date() >= day
    except (OverflowError, ValueError):
        return parsed.date() >= day


def _is_hot(ctx: _Context, app: AppRef, signals: Sequence[Mapping[str, Any]], messages: Sequence[Mapping[str, Any]]) -> bool:
    """Worth a timeline strip: recent activity and a good outlook or strong positive signals."""
    first = ctx.today - timedelta(days=ctx.limits.timeline_days - 1)
    recent = [s for s in signals if _on_or_after(s.get("at"), first, ctx.tz)]
    active = recent or any(_on_or_after(m.get("date"), first, ctx.tz) for m in messages)
    if not active:
        return False
    return app.outlook >= 60 or app.stage in ("final", "offer") or sum(max(0, int(s["polarity"])) for s in recent) >= 2


