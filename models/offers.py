"""Offers the user has to answer: status (open, accepted, declined, expired) and deadline.

Why a table of its own (``offers``, schema 7) rather than a stage: the stage says where the
process is; an offer is a decision with a date attached that the digest must keep in front of
the user until it is made. One row per application that received an offer:

* it appears when a message of the application carries an (undismissed) ``offer`` signal, or
  when the user sets a deadline or a decision on an application at the ``offer`` stage;
* the deadline is read from the offer mail (:mod:`offerwatch.extractors.deadline`) unless the
  user set one by hand, which later mail never overwrites;
* the user's own mail accepting or declining (what the timeline reads into the stage reason)
  decides it, unless the user decided by hand;
* an open offer whose deadline has passed (in the owner's zone) becomes ``expired``.

:func:`refresh` runs inside :func:`offerwatch.models.timeline.assess`; :func:`set_offer` is
``offerwatch apps offer``; :func:`pending` is what the digest puts on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from offerwatch.models.calendar_days import local_date
from offerwatch.models.calendar_days import stored_time as _when
from offerwatch.models.humandate import day_text
from offerwatch.models.store import Store, utcnow

STATUSES = ("open", "accepted", "declined", "expired")


class OfferError(Exception):
    """An offer command that cannot be carried out; the message says what to do instead."""


@dataclass(frozen=True)
class PendingOffer:
    """An open offer with a deadline, as the digest shows it."""

    application_id: int
    company: str
    role: str | None
    deadline: date
    days_left: int
    evidence: str | None
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"application_id": self.application_id, "company": self.company, "role": self.role,
                "deadline": self.deadline.isoformat(), "days_left": self.days_left, "evidence": self.evidence,
                "source": self.source}


def status_on(row: Any, today: date) -> str:
    """An offer row's status on ``today``: an open one past its deadline is expired even before
    the next assess stores that (an export or a listing between two polls)."""
    if row["status"] == "open" and row["deadline"] and date.fromisoformat(row["deadline"]) < today:
        return "expired"
    return str(row["status"])


def _offer_messages(store: Store, app_id: int) -> list[dict[str, Any]]:
    """The application's incoming job mail with an undismissed offer signal, oldest first."""
    return store.rows(
        "SELECT DISTINCT m.key, m.date, m.text FROM signals s JOIN messages m ON m.key = s.message_key "
        "WHERE s.application_id = ? AND s.type = 'offer' AND s.dismissed = 0 AND s.derived = 0 "
        "AND m.is_job = 1 AND m.direction != 'out' ORDER BY m.date, m.key",
        [app_id],
    )


def refresh(store: Store, app_id: int, *, now: datetime, tz: tzinfo, holidays: frozenset[date] = frozenset(),
            stage_reason: str = "") -> None:
    """Bring the application's offer row up to date with its mail; inside the caller's transaction."""
    from offerwatch.extractors.deadline import read_deadline

    row = next(iter(store.rows("SELECT * FROM offers WHERE application_id = ?", [app_id])), None)
    offers = _offer_messages(store, app_id)
    if row is None and not offers:
        return
    stamp = utcnow()
    if row is None:
        store.db.execute("INSERT INTO offers(application_id, status, updated_at) VALUES (?, 'open', ?)", [app_id, stamp])
        row = store.rows("SELECT * FROM offers WHERE application_id = ?", [app_id])[0]
    deadline, source, evidence, key = row["deadline"], row["deadline_source"], row["evidence"], row["message_key"]
    if source != "user":
        # the newest offer mail that names a date decides (a revised offer restates it)
        deadline = source = evidence = key = None
        for m in reversed(offers):
            sent = _when(m["date"])
            found = read_deadline(m["text"] or "", sent, tz, holidays) if sent else None
            if found is not None:
                deadline, source, evidence, key = found.day.isoformat(), "mail", found.evidence, m["key"]
                break
    status, status_source, decided = row["status"], row["status_source"], row["decided_at"]
    if status_source != "user":
        reason = stage_reason.lower()
        if reason.startswith("you accepted the offer"):
            status, status_source = "accepted", "mail"
        elif reason.startswith("you declined the offer"):
            status, status_source = "declined", "mail"
        elif status in ("accepted", "declined"):
            status, status_source = "open", None  # the mail that decided it was moved or dismissed
    if status in ("open", "expired") and deadline:
        status = status_on({"status": "open", "deadline": deadline}, local_date(now, tz))
    if status in ("accepted", "declined") and not decided:
        decided = stamp
    elif status not in ("accepted", "declined"):
        decided = None
    store.db.execute(
        "UPDATE offers SET status = ?, deadline = ?, deadline_source = ?, evidence = ?, message_key = ?, "
        "status_source = ?, decided_at = ?, updated_at = ? WHERE application_id = ?",
        [status, deadline, source, evidence, key, status_source, decided, stamp, app_id],
    )


def set_offer(store: Store, app_id: int, *, deadline: date | None = None, accept: bool = False, decline: bool = False,
              today: date) -> dict[str, Any]:
    """Set an offer's deadline or decide it by hand (``offerwatch apps offer``); returns the row.

    Refuses, changing nothing, an unknown application, one without an offer, a deadline before
    ``today`` (the owner's local day), and more than one action at once.
    """
    if sum([deadline is not None, accept, decline]) != 1:
        raise OfferError("give exactly one of --deadline YYYY-MM-DD, --accept or --decline")
    app = next(iter(store.rows("SELECT id, stage FROM applications WHERE id = ?", [app_id])), None)
    if app is None:
        raise OfferError(f"there is no application #{app_id}: `offerwatch apps` lists them")
    row = next(iter(store.rows("SELECT * FROM offers WHERE application_id = ?", [app_id])), None)
    if row is None and not _offer_messages(store, app_id) and app["stage"] != "offer":
        raise OfferError(f"application #{app_id} has no offer: `offerwatch apps` shows which applications are at the "
                         "offer stage (or close it with `offerwatch apps close ID --stage offer` first)")
    if deadline is not None and deadline < today:
        raise OfferError(f"the deadline {deadline.isoformat()} ({day_text(deadline, today)}) is in the past "
                         f"(today is {day_text(today)}): "
                         "give today or a later day as YYYY-MM-DD")
    stamp = utcnow()
    with store.atomic():
        if row is None:
            store.db.execute("INSERT INTO offers(application_id, status, updated_at) VALUES (?, 'open', ?)", [app_id, stamp])
        if deadline is not None:
            store.db.execute(
                "UPDATE offers SET deadline = ?, deadline_source = 'user', evidence = 'set by hand', "
                "status = CASE WHEN status = 'expired' THEN 'open' ELSE status END, updated_at = ? WHERE application_id = ?",
                [deadline.isoformat(), stamp, app_id],
            )
        else:
            store.db.execute(
                "UPDATE offers SET status = ?, status_source = 'user', decided_at = ?, updated_at = ? WHERE application_id = ?",
                ["accepted" if accept else "declined", stamp, stamp, app_id],
            )
    return store.rows("SELECT * FROM offers WHERE application_id = ?", [app_id])[0]


def pending(store: Store, *, now: datetime, tz: tzinfo) -> list[PendingOffer]:
    """Open offers with a deadline, the nearest first: the top of the digest until decided.

    An offer whose deadline passed since the last assess is left out here (it is expired; the
    next assess stores that).
    """
    today = local_date(now, tz)
    out = []
    for r in store.rows(
        "SELECT o.*, a.company, a.role FROM offers o JOIN applications a ON a.id = o.application_id "
        "WHERE o.status = 'open' AND o.deadline IS NOT NULL ORDER BY o.deadline, o.application_id"
    ):
        d = date.fromisoformat(r["deadline"])
        if d < today:
            continue
        out.append(PendingOffer(int(r["application_id"]), r["company"], r["role"], d, (d - today).days, r["evidence"],
                                r["deadline_source"] or "mail"))
    return out
