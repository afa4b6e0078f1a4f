"""Each application's history, and what it says: derived signals, stage, outlook, salary.

:func:`assess` is what the sync engine calls after every batch. For each application it
recomputes, in one transaction and idempotently (running it twice changes nothing):

* the **derived signals**, stored in ``signals`` with ``derived = 1`` and evidence that names
  the dates that made them:

  - ``next_round_fast``: an invitation to the next round within ``next_round_business_days``
    (2) business days of the previous interview, or during it. Interviews come from calendar
    invites (``events``), from confirmed times in a confirmation ("When: Monday, July 20,
    2026, 11:00 AM PDT"), and from mentions of a conversation that took place ("great
    talking with you this morning", "the session on Thursday"). An interview they postponed
    or cancelled before it took place does not count.
  - ``silence``: no word from them for ``silence_business_days`` (7) business days while the
    ball is in their court: the user wrote last, or their last message asks nothing of the
    user (an update, a postponement, an acknowledgement). Never when their last message
    asks the user something (an interview request, a salary reconfirmation, an offer), never
    at a terminal stage (offer, rejected, withdrawn, on hold), never before a scheduled
    interview has taken place, and the count starts only after a date they named themselves
    ("I'll update you by the end of next week").
  - repeated ``postponed``: the second and later postponement by them adds a derived
    ``postponed`` row (rule ``timeline.repeated_postponed``) of strength 0.5 per repeat, so
    two postponements weigh 2.5 single ones. The message-level rows keep the count.

* the **stage**: ``applied`` -> ``screening`` (a first interview request, a recruiter or
  hiring manager in touch) -> ``interviewing`` (a second round, a senior leader, an expedited
  or fast next round) -> ``final`` (panel/onsite/final round, or a salary reconfirmation) ->
  ``offer``; or ``rejected``, ``on_hold``, ``withdrawn`` (the user withdrew or declined, read
  from their own mail), ``ghosted`` (silence for ``ghosted_business_days``, default 20,
  counted from a reopening by ``offerwatch apps reopen`` when that is later). The latest of
  rejection / hold / offer / withdrawal decides; a new interview request after a hold or a
  rejection re-opens. ``offerwatch apps close`` overrides it.

* the **outlook** 0-100 with its explanation (:mod:`offerwatch.models.outlook`), first and
  last contact, who wrote last (``you``/``them``), whose turn it is (``ball``: ``you``,
  ``them`` or NULL), and the date they promised news by (``waiting_until``).

Time: ``now`` defaults to the wall clock. A corpus replay (``offerwatch demo``, the dev
corpus) must pass the newest message's date instead, or every old thread looks silent.
Days are the owner's local days in ``AssessConfig.timezone`` (default: the machine's zone).
Messages without a Date header, or dated more than a day after ``now``, have no place in
time: they count for the stage but not for silence or contact dates, and weigh half.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Any

from offerwatch.models.calendar_days import (
    add_business_days,
    business_days_between,
    interview_times,
    local_date,
    named_date,
    past_conversation_dates,
    zone,
)
from offerwatch.models.domain import POLARITY
from offerwatch.models.humandate import token
from offerwatch.models.outlook import DEFAULT_WEIGHTS, ScoredSignal, score
from offerwatch.models.store import Store

log = logging.getLogger(__name__)

STAGES = ("applied", "screening", "interviewing", "final", "offer", "rejected", "withdrawn", "on_hold", "ghosted")
TERMINAL_STAGES = frozenset({"offer", "rejected", "withdrawn", "on_hold"})
_LEVELS = ("applied", "screening", "interviewing", "final", "offer")
_LEVEL_OF = {
    "application_received": 0,
    "interview_request": 1, "interview_scheduled": 1, "hiring_manager_direct": 1, "other_process_inquiry": 1,
    "keep_warm": 1, "postponed": 1,
    "senior_leader_interview": 2, "expedite": 2, "next_round_fast": 2,
    "panel_invite": 3, "salary_reconfirm": 3,
    "offer": 4,
}
#: Their message asks the user something: the ball is in the user's court.
_ASKS = frozenset({"interview_request", "salary_reconfirm", "other_process_inquiry", "offer"})
#: After a hold or a rejection, these re-open the application.
_REOPEN = frozenset({"interview_request", "interview_scheduled", "panel_invite", "salary_reconfirm"})
_INVITES = frozenset({"interview_request", "panel_invite", "interview_scheduled", "expedite"})
_QUESTION_TO_YOU = re.compile(
    r"(?:\b(?:could|can|would|will|are|do|does|did|is|have|has)\s+(?:you|your|that|this|either|any|these)\b[^?\n]{0,160}\?)", re.I
)
_WITHDRAW = re.compile(
    r"\b(?:withdraw(?:ing)?\s+(?:my\s+(?:application|candidacy|name)|from\s+(?:the\s+|your\s+)?(?:process|consideration|search|running|recruitment))"
    r"|(?:i(?:'ve|\s+have)?|we)\s+(?:decided|chosen)\s+to\s+(?:decline|withdraw|pursue\s+(?:another|a\s+different|other)|accept\s+(?:another|an?\s+(?:other\s+|different\s+)?offer))"
    r"|(?:must|have\s+to|need\s+to|will\s+(?:have\s+to\s+)?)\s+(?:respectfully\s+|regretfully\s+)?decline\s+(?:the|your)\s+(?:offer|position|role)"
    r"|(?:respectfully|regretfully)\s+decline"
    r"|(?:i(?:'ve|\s+have)?)\s+accepted\s+(?:another|an?\s+(?:other|different)|a\s+position|an\s+offer)"
    r"|(?:i\s+am|i'm)\s+no\s+longer\s+(?:interested|pursuing|available|looking)"
    r"|remove\s+me\s+from\s+(?:consideration|the\s+process)|take\s+myself\s+out\s+of)",
    re.I,
)
_ACCEPT = re.compile(
    r"\b(?:(?:happy|pleased|delighted|thrilled|excited|glad)\s+to\s+(?:formally\s+)?accept"
    r"|i(?:'d|\s+would|\s+will|'ll)?\s+(?:like\s+to\s+|love\s+to\s+)?(?:formally\s+|gladly\s+)?accept\s+(?:the|your)\s+(?:offer|position|role)"
    r"|i(?:'m|\s+am)\s+accepting\s+(?:the|your)\s+offer"
    r"|(?:have\s+|just\s+)?signed\s+(?:and\s+returned\s+)?(?:the\s+)?(?:contract|offer(?:\s+letter)?))",
    re.I,
)
_NEGATED = re.compile(r"\b(?:not|n't|never|no)\s+(?:\w+\s+){0,2}$", re.I)


@dataclass(frozen=True)
class AssessConfig:
    """Settings of :func:`assess` (``[detection]`` in the config).

    ``weights`` maps signal types to points (see :data:`offerwatch.models.outlook.DEFAULT_WEIGHTS`);
    ``holidays`` are skipped when counting business days (build them with
    :func:`offerwatch.models.calendar_days.holidays_from_config`, e.g. ``["US"]``);
    ``timezone`` is the IANA zone of the user's days (None: the machine's).
    """

    silence_business_days: int = 7
    salary_jump_percent: float = 10.0
    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(dict(DEFAULT_WEIGHTS)))
    half_life_days: float = 14.0
    holidays: frozenset[date] = frozenset()
    timezone: str | None = None
    ghosted_business_days: int = 20
    next_round_business_days: int = 2


# -- what the database holds about one application -------------------------------------------


@dataclass
class _Msg:
    key: str
    message_id: str | None
    date: datetime | None  # None: no usable date
    raw_date: datetime | None
    future: bool
    direction: str
    subject: str
    sender: str
    sender_email: str
    text: str
    uid: int
    link_reason: str
    types: set[str] = field(default_factory=set)
    entities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def incoming(self) -> bool:
        return self.direction != "out"


@dataclass
class Interview:
    """An interview the timeline knows of."""

    day: date
    start: datetime | None
    end: datetime | None
    source_key: str
    kind: str  # "invite" (calendar) | "confirmed" (text) | "mentioned" (it took place)
    summary: str
    attendees: tuple[str, ...] = ()
    void: str = ""  # why it did not take place (moved, cancelled)
    known_at: datetime | None = None  # when the mail that tells of it was sent
    uid: str = ""  # the calendar invitation's UID (kind "invite"): the same meeting across its updates
    sequence: int = 0  # the invitation's SEQUENCE: which update of that meeting this is

    def label(self) -> str:
        """When it is, as a date token for stored text (:mod:`offerwatch.models.humandate`)."""
        return token(self.start) if self.start else token(self.day)


def _dt(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        d = value
    else:
        try:
            d = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def _load(store: Store, app_id: int, now: datetime) -> list[_Msg]:
    rows = store.rows(
        "SELECT key, message_id, date, direction, subject, sender_name, sender_email, text, uid, link_reason "
        "FROM messages WHERE application_id = ? AND is_job = 1",
        [app_id],
    )
    msgs: dict[str, _Msg] = {}
    for r in rows:
        raw = _dt(r["date"])
        future = bool(raw and raw > now + timedelta(days=1))
        msgs[r["key"]] = _Msg(
            key=r["key"], message_id=r["message_id"], date=None if future else raw, raw_date=raw, future=future,
            direction=r["direction"] or "in", subject=r["subject"] or "", sender=r["sender_name"] or r["sender_email"] or "",
            sender_email=r["sender_email"] or "", text=r["text"] or "", uid=int(r["uid"] or 0), link_reason=r["link_reason"] or "",
        )
    for s in store.rows(
        "SELECT message_key, type, entities FROM signals WHERE application_id = ? AND derived = 0 AND dismissed = 0",
        [app_id],
    ):
        m = msgs.get(s["message_key"])
        if m is None or not m.incoming:
            continue  # the user's own mail carries no recruiter signals
        m.types.add(s["type"])
        if s["entities"]:
            try:
                ent = json.loads(s["entities"])
                if isinstance(ent, dict):
                    m.entities.append(ent)
            except ValueError:
                pass
    return sorted(msgs.values(), key=_order)


def _order(m: _Msg) -> tuple[int, datetime, int]:
    return (0, m.date, m.uid) if m.date else (1, datetime.max.replace(tzinfo=timezone.utc), m.uid)


# -- interviews ------------------------------------------------------------------------------


def _day_only(value: Any) -> date | None:
    """An all-day event's stored start ("2026-10-12"): a day wherever the owner lives."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _entity_start(entities: Iterable[dict[str, Any]]) -> datetime | date | None:
    for ent in entities:
        for holder in (ent, ent.get("interview") if isinstance(ent.get("interview"), dict) else None):
            if not isinstance(holder, dict):
                continue
            for k in ("start", "when", "datetime", "at", "interview_start"):
                d = _day_only(holder.get(k)) or (_dt(holder.get(k)) if isinstance(holder.get(k), str) else None)
                if d is not None:
                    return d
    return None


def interviews_of(store: Store, app_id: int, msgs: list[_Msg], tz: tzinfo) -> list[Interview]:
    """Every interview of an application: calendar invites, confirmed times, mentions."""
    by_key = {m.key: m for m in msgs}
    out: list[Interview] = []
    # 1. calendar parts: the latest version of each UID (a CANCEL voids it)
    latest: dict[str, tuple[tuple[int, datetime], dict[str, Any]]] = {}
    for e in store.rows('SELECT * FROM events WHERE application_id = ?', [app_id]):
        m = by_key.get(e["message_key"])
        when = m.date if m and m.date else datetime.min.replace(tzinfo=timezone.utc)
        uid = e["uid"] or f"{e['message_key']}|{e['start']}"
        rank = (int(e["sequence"] or 0), when)
        if uid not in latest or rank >= latest[uid][0]:
            latest[uid] = (rank, e)
    for _uid, (_rank, e) in latest.items():
        all_day = _day_only(e["start"])
        start: datetime | None = None if all_day else _dt(e["start"])
        if all_day is not None:
            day, end = all_day, None
        elif start is not None:
            day, end = local_date(start, tz), _dt(e["end"])
        else:
            continue
        try:
            attendees = tuple(json.loads(e["attendees"] or "[]"))
        except ValueError:
            attendees = ()
        out.append(Interview(
            day, start, end, e["message_key"], "invite", e["summary"] or "calendar invitation", attendees,
            "cancelled by calendar" if str(e["method"]).upper() == "CANCEL" else "", uid=str(e["uid"] or ""),
            sequence=int(e["sequence"] or 0),
        ))
    # 2. confirmed times written in a confirmation
    for m in msgs:
        if not (m.incoming and m.date and "interview_scheduled" in m.types):
            continue
        stated = _entity_start(m.entities)
        start = stated if isinstance(stated, datetime) else None
        if isinstance(stated, date) and not isinstance(stated, datetime):
            day = stated
        elif start is None:
            found = interview_times(m.text, m.date, tz)
            if found:
                start = found[0].at or datetime.combine(found[0].day, time(12, 0), tz)
                day = found[0].day
            else:
                continue
        else:
            day = local_date(start, tz)
        if any(i.day == day and i.kind == "invite" for i in out):
            continue
        out.append(Interview(day, start, None, m.key, "confirmed", m.subject))
    # 3. conversations the mail says took place
    for m in msgs:
        if not m.date:
            continue
        for f in past_conversation_dates(m.text, m.date, tz):
            if any(i.day == f.day and not i.void for i in out):
                continue
            out.append(Interview(f.day, None, None, m.key, "mentioned", f.text[:120], known_at=m.date))
    # A confirmed or invited slot they postponed before it took place did not happen.
    for i in out:
        if i.kind == "mentioned" or i.void:
            continue
        src = by_key.get(i.source_key)
        t0 = src.date if src and src.date else None
        for m in msgs:
            if m.key == i.source_key or not (m.incoming and m.date and "postponed" in m.types):
                continue
            if (t0 is None or m.date > t0) and local_date(m.date, tz) <= i.day:
                i.void = f"moved on {token(local_date(m.date, tz))}"
                break
    return sorted(out, key=lambda i: (i.day, i.start or datetime.combine(i.day, time(0), tz)))


def known_interviews(store: Store, app_id: int, *, config: AssessConfig = AssessConfig()) -> list[Interview]:
    """Every interview of one application as :func:`interviews_of` finds them (``offerwatch export --ics``)."""
    return interviews_of(store, app_id, _load(store, app_id, datetime.now(timezone.utc)), zone(config.timezone))


def _happened_before(i: Interview, t: datetime, tz: tzinfo) -> bool:
    if i.void or (i.known_at is not None and i.known_at > t):
        return False
    if i.start is not None:
        return i.start <= t
    return i.day <= local_date(t, tz)


# -- the per-application analysis ------------------------------------------------------------


@dataclass
class _Derived:
    type: str
    message_key: str | None
    at: datetime | None
    strength: float
    evidence: str
    rule: str
    entities: dict[str, Any]


@dataclass
class _Result:
    stage: str
    stage_reason: str
    ball: str | None
    waiting_until: date | None
    first: datetime | None
    last: datetime | None
    last_from: str | None
    derived: list[_Derived]
    interviews: list[Interview]
    msgs: list[_Msg]


def _subject(m: _Msg) -> str:
    s = re.sub(r"\s+", " ", m.subject).strip()
    return f'"{s[:70]}"' if s else f"message {m.key[:24]}"


def _acceptance(text: str) -> str | None:
    return _withdrawal(text, _ACCEPT)


def _withdrawal(text: str, rx: re.Pattern[str] = _WITHDRAW) -> str | None:
    for mt in rx.finditer(text or ""):
        if _NEGATED.search(text[max(0, mt.start() - 30):mt.start()]):
            continue
        return mt.group(0)
    return None


def _analyse(store: Store, app: Mapping[str, Any], now: datetime, cfg: AssessConfig, tz: tzinfo) -> _Result:
    app_id = int(app["id"])
    msgs = _load(store, app_id, now)
    dated = [m for m in msgs if m.date]
    interviews = interviews_of(store, app_id, msgs, tz)
    derived: list[_Derived] = []
    hol = cfg.holidays

    # -- next_round_fast ----------------------------------------------------------------
    event_invites = {i.source_key for i in interviews if i.kind == "invite"}
    used: set[tuple[date, str]] = set()
    fast_keys: set[str] = set()
    for m in dated:
        assert m.date is not None
        if not m.incoming or "postponed" in m.types:
            continue
        if not (m.types & _INVITES or m.key in event_invites):
            continue
        prev = [i for i in interviews
                if _happened_before(i, m.date, tz) and (i.source_key != m.key or i.kind == "mentioned")]
        if not prev:
            continue
        prev_round = max(prev, key=lambda i: (i.day, i.start or datetime.combine(i.day, time(0), tz)))
        ident = (prev_round.day, prev_round.source_key)
        if ident in used:
            continue
        gap = business_days_between(prev_round.day, local_date(m.date, tz), hol)
        if gap > cfg.next_round_business_days:
            continue
        used.add(ident)
        fast_keys.add(m.key)
        during = prev_round.end is not None and prev_round.start is not None and prev_round.start <= m.date <= prev_round.end
        when = "during the interview" if during else (
            "the same day" if gap == 0 else f"{gap} business day{'s' if gap > 1 else ''} later")
        how = {"invite": "calendar invitation", "confirmed": "confirmed", "mentioned": "mentioned"}[prev_round.kind]
        src = next((x for x in msgs if x.key == prev_round.source_key), None)
        derived.append(_Derived(
            "next_round_fast", m.key, m.date, 1.0 if gap <= 1 else 0.7,
            f"Next round asked for on {token(m.date)}, {when}: interview on {prev_round.label()} "
            f"({how} in {_subject(src) if src else 'a message'}).",
            "timeline.next_round_fast",
            {"interview": prev_round.start.isoformat() if prev_round.start else prev_round.day.isoformat(), "invite": m.date.isoformat(),
             "business_days": gap},
        ))

    # -- repeated postponements ------------------------------------------------------------
    posts = [m for m in dated if m.incoming and "postponed" in m.types]
    for n, m in enumerate(posts[1:], start=2):
        assert m.date is not None
        days = [local_date(p.date, tz) for p in posts[:n] if p.date]
        ordinal = {2: "Second", 3: "Third"}.get(n, f"{n}th")
        derived.append(_Derived(
            "postponed", m.key, m.date, 0.5 * (n - 1),
            f"{ordinal} postponement by them ({', '.join(token(d) for d in days)}): repeated delays weigh more.",
            "timeline.repeated_postponed", {"count": n, "dates": [d.isoformat() for d in days]},
        ))

    # -- stage -----------------------------------------------------------------------------
    level, level_reason = 0, "no messages"
    if msgs:
        m0 = msgs[0]
        level_reason = f"first message {'on ' + token(local_date(m0.date, tz)) if m0.date else '(undated)'} ({_subject(m0)})"
    state: str | None = None
    state_reason = ""
    offer_seen = False
    for m in dated + [m for m in msgs if not m.date]:
        d = token(local_date(m.date, tz)) if m.date else "an undated message"
        if not m.incoming:
            w = _withdrawal(m.text)
            if w and m.date:
                declined = offer_seen or state == "offer"
                state = "withdrawn"
                state_reason = f"you {'declined the offer' if declined else 'withdrew'} on {d} ({w!r})"
            elif m.date and (acc := _acceptance(m.text)) and state != "withdrawn":
                state, state_reason, offer_seen = "offer", f"you accepted the offer on {d} ({acc!r})", True
                level = max(level, 4)
            continue
        types = set(m.types) | ({"next_round_fast"} if m.key in fast_keys else set())
        lv = max((_LEVEL_OF.get(t, 0) for t in types), default=0)
        if lv > level:
            level, level_reason = lv, f"{', '.join(sorted(t for t in types if _LEVEL_OF.get(t, 0) == lv))} on {d} ({_subject(m)})"
        if m.date is None and dated:
            continue  # an undated message cannot say what came last
        if "role_on_hold" in types:
            state, state_reason = "on_hold", f"role on hold since {d} ({_subject(m)})"
        elif "rejection" in types:
            state, state_reason = "rejected", f"rejection on {d} ({_subject(m)})"
        elif "offer" in types:
            if state != "withdrawn":
                state, state_reason = "offer", f"offer on {d} ({_subject(m)})"
            offer_seen = True
        elif state in ("on_hold", "rejected") and types & _REOPEN:
            state, state_reason = None, ""
    rounds = 0
    last_round: date | None = None
    for m in dated:
        if m.incoming and m.types & (_INVITES | {"interview_scheduled"}) and "postponed" not in m.types and m.date:
            day = local_date(m.date, tz)
            if last_round is None or (day - last_round).days > 3:
                rounds += 1
            last_round = day
    if rounds >= 2 and level < 2:
        level, level_reason = 2, f"{rounds} interview rounds"
    stage = state or _LEVELS[level]
    reason = state_reason or level_reason

    # -- contact dates and whose turn it is --------------------------------------------------
    first = dated[0].date if dated else None
    last_msg = dated[-1] if dated else None
    last = last_msg.date if last_msg else None
    last_from = None if last_msg is None else ("you" if not last_msg.incoming else "them")
    ball: str | None = None
    waiting: date | None = None
    if state == "offer":
        ball = "you" if last_msg is not None and last_msg.incoming else "them"
    elif state is None and last_msg is not None and last is not None:
        today = local_date(now, tz)
        start_day = local_date(last, tz)
        basis = f"your message of {token(start_day)} ({_subject(last_msg)})" if not last_msg.incoming else \
            f"their message of {token(start_day)} ({_subject(last_msg)})"
        asks = last_msg.incoming and bool(last_msg.types & _ASKS or _QUESTION_TO_YOU.search(last_msg.text))
        upcoming = [i for i in interviews if not i.void and i.kind != "mentioned"
                    and (i.start or datetime.combine(i.day, time(23, 59), tz)) > last]
        if asks:
            ball = "you"
        elif upcoming and max(upcoming, key=lambda i: i.day).day >= today:
            ball = None  # an interview is coming: nobody owes anything yet
        else:
            ball = "them"
            if upcoming:
                nxt = max(upcoming, key=lambda i: i.day)
                if nxt.day > start_day:
                    start_day, basis = nxt.day, f"the interview on {nxt.label()}"
            last_in = next((m for m in reversed(dated) if m.incoming), None)
            if last_in is not None and last_in.date is not None:
                promise = named_date(last_in.text, last_in.date, tz)
                if promise is not None:
                    waiting = promise.day
                    if promise.day > start_day:
                        start_day, basis = promise.day, f"the date they named ({promise.text!r} in {_subject(last_in)}: {token(promise.day)})"
            silent = business_days_between(start_day, today, hol)
            if silent >= cfg.silence_business_days:
                crossed = add_business_days(start_day, cfg.silence_business_days, hol)
                at = datetime.combine(crossed, time(9, 0), tz)
                derived.append(_Derived(
                    "silence", None, at, min(3.0, silent / max(1, cfg.silence_business_days)),
                    f"No word from them for {silent} business days since {basis}; "
                    f"{cfg.silence_business_days} business days passed on {token(crossed)}.",
                    "timeline.silence",
                    {"since": start_day.isoformat(), "business_days": silent, "threshold": cfg.silence_business_days,
                     "as_of": today.isoformat()},
                ))
                # a reopened application (`offerwatch apps reopen`) is ghosted again only a full
                # period after the reopening: the user said it is not over
                reopened = _dt(app.get("reopened_at"))
                ghost_from = max(start_day, local_date(reopened, tz)) if reopened is not None else start_day
                if business_days_between(ghost_from, today, hol) >= cfg.ghosted_business_days and level < 4:
                    stage, reason = "ghosted", f"no word from them for {silent} business days since {basis}"
    if app.get("stage_override"):
        stage, reason = str(app["stage_override"]), "set by you (apps close)"
        ball = None
        derived = [d for d in derived if d.type != "silence"]
    return _Result(stage, reason, ball, waiting, first, last, last_from, derived, interviews, msgs)


# -- assess ----------------------------------------------------------------------------------


def assess(
    store: Store,
    app_ids: Iterable[int] | None = None,
    *,
    now: datetime | None = None,
    config: AssessConfig = AssessConfig(),
) -> None:
    """Recompute derived signals, stage, outlook and contact fields; one transaction.

    ``now`` defaults to the wall clock; a corpus replay passes its newest message's date.
    """
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    tz = zone(config.timezone)
    with store.atomic():
        if app_ids is None:
            apps = store.rows("SELECT * FROM applications ORDER BY id")
        else:
            ids = sorted({int(i) for i in app_ids})
            apps = [r for i in ids for r in store.rows("SELECT * FROM applications WHERE id = ?", [i])]
        for app in apps:
            _assess_one(store, app, now, config, tz)


def _assess_one(store: Store, app: Mapping[str, Any], now: datetime, cfg: AssessConfig, tz: tzinfo) -> None:
    app_id = int(app["id"])
    res = _analyse(store, app, now, cfg, tz)
    # A derived signal recomputed unchanged keeps the created_at it was first stored with: the
    # digest shows a signal as new once, by created_at, and every ingest recomputes them all.
    first_seen = {
        (r["message_key"], r["type"], r["rule"], r["at"]): r["created_at"]
        for r in store.rows("SELECT message_key, type, rule, at, created_at FROM signals WHERE application_id = ? AND derived = 1",
                            [app_id])
    }
    store.db.execute("DELETE FROM signals WHERE application_id = ? AND derived = 1", [app_id])
    now_created = store.stamp()
    for d in res.derived:
        at_iso = d.at.astimezone(timezone.utc).isoformat(timespec="seconds") if d.at else None
        created = first_seen.get((d.message_key, d.type, d.rule, at_iso), now_created)
        store.db.execute(
            'INSERT OR REPLACE INTO signals(message_key, application_id, type, polarity, strength, evidence, start, "end", rule, '
            "label, entities, derived, at, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, 1, ?, ?)",
            [d.message_key, app_id, d.type, POLARITY.get(d.type, 0), round(d.strength, 3), d.evidence, d.rule,
             _RULE_LABELS.get(d.rule, d.rule), json.dumps(d.entities, default=str), at_iso, created],
        )
    if res.derived:
        store.reapply_dismissals("application_id = ? AND derived = 1", [app_id])  # what the user dismissed stays so
    dates = {m.key: m.date for m in res.msgs}
    scored = []
    for s in store.rows(
        "SELECT message_key, type, strength, evidence, derived, at FROM signals WHERE application_id = ? AND dismissed = 0",
        [app_id],
    ):
        derived = bool(s["derived"])
        at = _dt(s["at"]) if derived else dates.get(s["message_key"])
        if not derived and s["message_key"] not in dates:
            continue  # a signal of a message that is not job mail of this application
        scored.append(ScoredSignal(s["type"], at, float(s["strength"] or 1.0), s["message_key"], s["evidence"] or "",
                                   derived, ongoing=s["type"] == "silence"))
    value, explanation = score(scored, stage=res.stage, now=now, weights=cfg.weights, half_life_days=cfg.half_life_days)

    def iso(d: datetime | None) -> str | None:
        return d.astimezone(timezone.utc).isoformat(timespec="seconds") if d else None

    store.db.execute(
        "UPDATE applications SET stage = ?, stage_reason = ?, outlook = ?, outlook_explanation = ?, first_contact = ?, "
        "last_contact = ?, last_from = ?, ball = ?, waiting_until = ?, updated_at = ? WHERE id = ?",
        [res.stage, res.stage_reason[:300], value, json.dumps(explanation, ensure_ascii=False), iso(res.first), iso(res.last),
         res.last_from, res.ball, res.waiting_until.isoformat() if res.waiting_until else None, now_created, app_id],
    )
    from offerwatch.models.offers import refresh as refresh_offer

    refresh_offer(store, app_id, now=now, tz=tz, holidays=cfg.holidays, stage_reason=res.stage_reason)


_RULE_LABELS = {
    "timeline.silence": "no word from them for N business days while the ball is in their court",
    "timeline.next_round_fast": "next round asked for within 2 business days of the previous interview",
    "timeline.repeated_postponed": "second or later postponement by them",
}


# -- timeline --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One line of ``offerwatch app ID``.

    ``kind`` is ``message``, ``interview`` or ``derived``; ``index`` numbers the messages
    (``offerwatch apps split ID 3 4`` uses it); ``at`` is None for undated messages;
    ``day_only``: only the day is known (an interview mentioned or invited for a day), ``at``
    is noon of it, for ordering, and a view shows no time. ``title`` and ``detail`` may hold
    date tokens (:mod:`offerwatch.models.humandate`).
    """

    at: datetime | None
    kind: str
    title: str
    who: str = ""
    direction: str | None = None
    signals: tuple[str, ...] = ()
    message_key: str | None = None
    detail: str = ""
    index: int | None = None
    day_only: bool = False


def timeline(store: Store, app_id: int, *, config: AssessConfig = AssessConfig()) -> list[TimelineEntry]:
    """The history of one application, oldest first: messages (with their signals and how they
    were linked), interviews (with interviewers and whether they were moved), and the derived
    signals the last :func:`assess` stored. Undated messages come last."""
    tz = zone(config.timezone)
    now = datetime.now(timezone.utc)
    msgs = _load(store, app_id, now)
    out: list[TimelineEntry] = []
    for n, m in enumerate(msgs, start=1):
        note = m.link_reason
        if m.raw_date is None:
            note = "no Date header; " + note
        elif m.future:
            note = f"dated in the future ({token(m.raw_date)}); " + note
        out.append(TimelineEntry(
            m.date, "message", m.subject or "(no subject)", m.sender or ("you" if not m.incoming else ""),
            "out" if not m.incoming else "in", tuple(sorted(m.types)), m.key, note.strip("; "), n,
        ))
    for i in interviews_of(store, app_id, msgs, tz):
        when = i.start or datetime.combine(i.day, time(12, 0), tz)
        detail = ", ".join(i.attendees[:6])
        if i.void:
            detail = f"{i.void}{'; ' + detail if detail else ''}"
        kind = {"invite": "calendar invitation", "confirmed": "confirmed in text", "mentioned": "mentioned as held"}[i.kind]
        out.append(TimelineEntry(when, "interview", f"Interview ({kind}): {i.summary}", "", None, (), i.source_key, detail,
                                 day_only=i.start is None))
    for s in store.rows(
        "SELECT type, evidence, at, message_key FROM signals WHERE application_id = ? AND derived = 1 ORDER BY at", [app_id]
    ):
        out.append(TimelineEntry(_dt(s["at"]), "derived", s["evidence"] or s["type"], "offerwatch", None, (s["type"],),
                                 s["message_key"]))
    far = datetime.max.replace(tzinfo=timezone.utc)
    return sorted(out, key=lambda e: (e.at is None, e.at or far, {"message": 0, "interview": 1, "derived": 2}[e.kind]))


# -- salary consistency ------------------------------------------------------------------------

_PER_YEAR = {"year": 1.0, "month": 12.0, "week": 52.0, "day": 260.0, "hour": 2080.0}


@dataclass(frozen=True)
class StatedFigure:
    """A salary figure found in a message: ``text`` as written, ``at`` the message's date."""

    min: float
    max: float
    currency: str | None
    period: str
    text: str
    at: datetime | None
    message_key: str
    direction: str

    @property
    def yearly_mid(self) -> float:
        return (self.min + self.max) / 2 * _PER_YEAR.get(self.period, 1.0)

    def comparable(self, other: StatedFigure) -> bool:
        return (self.currency or "").upper() == (other.currency or "").upper() and self.period in _PER_YEAR and other.period in _PER_YEAR

    def change_percent(self, base: StatedFigure) -> float | None:
        if not self.comparable(base) or base.yearly_mid <= 0:
            return None
        return (self.yearly_mid - base.yearly_mid) / base.yearly_mid * 100


@dataclass(frozen=True)
class SalaryGuard:
    """The seed's caution for one application.

    ``stated`` is the first figure the user stated in their own mail; ``reconfirm_at`` the
    first salary reconfirmation by them after it (or at all); ``quoted`` a figure they quoted
    back in it; ``later`` the user's later figures with their change against ``stated`` in
    percent (midpoints, per year); ``jump`` is True when one rises more than
    ``threshold_percent``.
    """

    app_id: int
    stated: StatedFigure | None
    reconfirm_at: datetime | None
    reconfirm_key: str | None
    quoted: StatedFigure | None
    later: tuple[tuple[StatedFigure, float | None], ...]
    jump: bool
    jump_percent: float | None
    threshold_percent: float
    advice: str

    # The digest reads these names.
    @property
    def stated_text(self) -> str | None:
        return self.stated.text if self.stated else None

    @property
    def stated_at(self) -> datetime | None:
        return self.stated.at if self.stated else None

    @property
    def min(self) -> float | None:
        return self.stated.min if self.stated else None

    @property
    def max(self) -> float | None:
        return self.stated.max if self.stated else None

    @property
    def currency(self) -> str | None:
        return self.stated.currency if self.stated else None

    @property
    def period(self) -> str:
        return self.stated.period if self.stated else "year"


def salary_guard(store: Store, app_id: int, *, config: AssessConfig = AssessConfig()) -> SalaryGuard | None:
    """Earlier stated figure and date; a later stated figure (or reply draft) that jumps more
    than ``config.salary_jump_percent`` above it is flagged. None when the application has
    neither a figure stated by the user nor a salary reconfirmation."""
    rows = store.rows(
        "SELECT s.min, s.max, s.currency, s.period, s.text, s.message_key, s.direction, coalesce(s.date, m.date) AS date "
        "FROM salaries s LEFT JOIN messages m ON m.key = s.message_key WHERE s.application_id = ?",
        [app_id],
    )
    figs = [StatedFigure(float(r["min"]), float(r["max"]), r["currency"], r["period"] or "year", r["text"] or "",
                         _dt(r["date"]), r["message_key"], r["direction"]) for r in rows]
    far = datetime.max.replace(tzinfo=timezone.utc)
    figs.sort(key=lambda f: (f.at is None, f.at or far))
    mine = [f for f in figs if f.direction == "out"]
    recon = store.rows(
        "SELECT s.message_key, coalesce(s.at, m.date) AS at FROM signals s LEFT JOIN messages m ON m.key = s.message_key "
        "WHERE s.application_id = ? AND s.type = 'salary_reconfirm' AND s.dismissed = 0 ORDER BY at",
        [app_id],
    )
    if not mine and not recon:
        return None
    stated = mine[0] if mine else None
    rec = None
    if recon:
        after = [r for r in recon if stated is None or stated.at is None or (_dt(r["at"]) or far) >= stated.at]
        rec = (after or recon)[0]
    rec_at = _dt(rec["at"]) if rec else None
    quoted = next((f for f in figs if rec and f.message_key == rec["message_key"] and f.direction != "out"), None)
    later: list[tuple[StatedFigure, float | None]] = []
    if stated is not None:
        for f in mine[1:]:
            if f.message_key == stated.message_key:
                continue
            later.append((f, f.change_percent(stated)))
    threshold = config.salary_jump_percent
    tz = zone(config.timezone)
    changes = [p for _, p in later if p is not None]
    worst = max(changes) if changes else None
    jump = worst is not None and worst > threshold
    if stated is None:
        advice = ("They asked you to reconfirm your salary expectations, and you have not stated a figure in writing. "
                  + (f"They quote {quoted.text!r}: " if quoted else "")
                  + "answer with the figure you gave before (by phone); a large jump at this stage can get an offer rescinded.")
    elif jump:
        f = max(later, key=lambda x: x[1] if x[1] is not None else -1e9)[0]
        advice = (f"You stated {stated.text!r}{_on(stated.at, tz)} and later {f.text!r}{_on(f.at, tz)}, {worst:+.0f}% "
                  f"(more than {threshold:g}%): a jump like that at this stage can get an offer rescinded.")
    else:
        advice = f"You stated {stated.text!r}{_on(stated.at, tz)}: stay consistent with it when you reconfirm."
    return SalaryGuard(app_id, stated, rec_at, rec["message_key"] if rec else None, quoted, tuple(later), jump,
                       worst, threshold, advice)


def _on(at: datetime | None, tz: tzinfo) -> str:
    """`` on ⟦day⟧``: the owner's day of a stated figure, as a date token (rendered where shown)."""
    return f" on {token(local_date(at, tz))}" if at else ""
