"""Applications that have gone cold, and bringing one back.

Going quiet is news once (daemon.digest); an application silent far longer is no longer news at
all, and listing it every morning buries the live ones. So an application is **cold** when

* the timeline closed it as ``ghosted`` (models.timeline: no word from them for
  ``ghosted_business_days`` while the ball was in their court), or
* nothing came from either side for ``business_days`` (default 30, ``[digest]
  cold_business_days``) business days after the last contact, whoever wrote last (a question of
  theirs the user never answered, an offer nobody followed up, a hold that never lifted),

unless an open offer still waits for an answer by a day that has not passed. Business days are
counted as everywhere else (:func:`offerwatch.models.calendar_days.business_days_between`, with
the configured holidays) in the digest's time zone. The digest leaves cold applications out of
"going quiet" and the pipeline and counts them on one line.

:func:`reopen` is ``offerwatch apps reopen ID``: the count starts again at the reopening (and a
closed application is opened), so a reopened application stays for another full period unless
mail comes. Applications that ended by mail (a rejection, a withdrawal) are not cold: they
reopen when mail says so.

Example::

    cold = cold_applications(store, now=datetime.now(timezone.utc), tz=ZoneInfo("Europe/Berlin"))
    sorted(cold)  # [4, 8, 10]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from offerwatch.models.calendar_days import business_days_between, local_date, stored_time
from offerwatch.models.store import Store, utcnow

DEFAULT_COLD_BUSINESS_DAYS = 30
#: Stages that ended by mail or by hand: over, not cold.
ENDED_STAGES = frozenset({"rejected", "withdrawn", "declined", "closed"})


@dataclass(frozen=True)
class Cold:
    """Why one application is cold."""

    app_id: int
    since: date | None  # the day the count started: the last contact, or the reopening when later
    business_days: int  # business days since then
    ghosted: bool  # the timeline closed it as ghosted (possibly before ``business_days`` reached the limit)


def last_contacts(store: Store, now: datetime) -> dict[int, datetime]:
    """Per application, the date of its newest job message either way (not dated more than a day
    after ``now``: such a date is wrong, as the timeline treats it)."""
    limit = (now + timedelta(days=1)).astimezone(timezone.utc).isoformat(timespec="seconds")
    out: dict[int, datetime] = {}
    for r in store.rows(
        "SELECT application_id, max(date) AS last FROM messages WHERE application_id IS NOT NULL AND is_job = 1 "
        "AND date IS NOT NULL AND date <= ? GROUP BY application_id", [limit],
    ):
        when = stored_time(r["last"])
        if when is not None:
            out[int(r["application_id"])] = when
    return out


def _open_offer_waiting(store: Store, today: date) -> set[int]:
    """Applications that cannot be cold: an open offer waiting for its day, or an offer the user
    decided (accepted or declined: that search is over, not silent)."""
    if "offers" not in store.db.table_names():
        return set()
    return {int(r["application_id"]) for r in store.rows(
        "SELECT application_id FROM offers WHERE (status = 'open' AND deadline IS NOT NULL AND deadline >= ?) "
        "OR status IN ('accepted', 'declined')", [today.isoformat()])}


def assess_cold(
    app: Mapping[str, Any],
    last_contact: datetime | None,
    today: date,
    tz: tzinfo,
    *,
    business_days: int = DEFAULT_COLD_BUSINESS_DAYS,
    holidays: frozenset[date] = frozenset(),
) -> Cold | None:
    """Whether one application (a row of ``applications``) is cold on ``today``; None if not."""
    stage = str(app.get("stage") or "")
    if app.get("closed") or stage in ENDED_STAGES:
        return None
    basis = last_contact or stored_time(app.get("last_contact")) or stored_time(app.get("created_at"))
    reopened = stored_time(app.get("reopened_at"))
    if reopened is not None and (basis is None or reopened > basis):
        basis = reopened
    since = local_date(basis, tz) if basis is not None else None
    waited = business_days_between(since, today, holidays) if since is not None else 0
    if stage == "ghosted" or waited >= business_days:
        return Cold(int(app["id"]), since, waited, stage == "ghosted")
    return None


def cold_applications(
    store: Store,
    *,
    now: datetime,
    tz: tzinfo,
    business_days: int = DEFAULT_COLD_BUSINESS_DAYS,
    holidays: frozenset[date] = frozenset(),
    contacts: Mapping[int, datetime] | None = None,
) -> dict[int, Cold]:
    """Every cold application by id. ``contacts`` (application -> last contact) saves a query
    when the caller has them; by default :func:`last_contacts`."""
    today = local_date(now, tz)
    contacts = last_contacts(store, now) if contacts is None else contacts
    waiting = _open_offer_waiting(store, today)
    out: dict[int, Cold] = {}
    for app in store.rows("SELECT * FROM applications"):
        app_id = int(app["id"])
        if app_id in waiting:
            continue
        cold = assess_cold(app, contacts.get(app_id), today, tz, business_days=business_days, holidays=holidays)
        if cold is not None:
            out[app_id] = cold
    return out


class ReopenError(ValueError):
    """The application does not exist or has nothing to reopen; the message says what to do."""


def reopen(
    store: Store,
    app_id: int,
    *,
    now: datetime,
    tz: tzinfo,
    business_days: int = DEFAULT_COLD_BUSINESS_DAYS,
    holidays: frozenset[date] = frozenset(),
) -> str:
    """Bring back an application that went cold or was closed by hand; returns what it was
    ("cold", "ghosted" or "closed"). Nothing changes when it raises :class:`ReopenError`.

    The caller assesses the application afterwards (its stage is computed again).
    """
    rows = store.rows("SELECT * FROM applications WHERE id = ?", [app_id])
    if not rows:
        raise ReopenError(f"there is no application #{app_id}: `offerwatch apps --all` lists them")
    app = rows[0]
    stage = str(app.get("stage") or "")
    if app.get("closed"):
        was = "closed"
    else:
        if stage in ENDED_STAGES:
            raise ReopenError(
                f"#{app_id} is {stage} by its mail, not closed by you or gone cold; it reopens by itself when they "
                f"write again (`offerwatch app {app_id}` shows why)")
        today = local_date(now, tz)
        if app_id in _open_offer_waiting(store, today):
            cold = None
        else:
            cold = assess_cold(app, last_contacts(store, now).get(app_id), today, tz,
                               business_days=business_days, holidays=holidays)
        if cold is None:
            raise ReopenError(f"#{app_id} is active ({stage or 'no stage'}), not cold or closed: nothing to reopen")
        was = "ghosted" if cold.ghosted else "cold"
    when = now.astimezone(timezone.utc).isoformat(timespec="seconds")
    with store.atomic():
        store.db.execute("UPDATE applications SET closed = 0, stage_override = NULL, reopened_at = ?, updated_at = ? "
                         "WHERE id = ?", [when, utcnow(), app_id])
        store.db.execute("INSERT INTO corrections(kind, payload, created_at) VALUES ('reopen', ?, ?)",
                         [json.dumps({"app": int(app_id), "was": was}), utcnow()])
    return was
