"""``offerwatch export``: applications to CSV or JSON, interviews to an iCalendar file.

Why: the data is the user's; a spreadsheet, another tracker or their calendar must be able to
take it without reading SQLite. Every file is written whole or not at all (a temporary file in
the same folder, renamed over the target, mode 0600: it names companies and recruiters), and
every destination is checked before anything is written, so a bad ``--ics`` path does not leave
a fresh CSV beside an error.

Interview events carry a UID derived from what identifies the meeting (the invitation's own
UID, or the confirming message and the day), so importing a newer export updates the calendar's
events instead of adding copies; a moved or cancelled interview is exported as CANCELLED.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from offerwatch.daemon.context import console, open_store

if TYPE_CHECKING:
    from offerwatch.models.store import Store
    from offerwatch.models.timeline import AssessConfig, Interview

#: The CSV's columns, in order (one row per application).
CSV_COLUMNS = ("id", "company", "role", "stage", "outlook", "first_contact", "last_contact", "last_from", "turn",
               "next_step", "offer_status", "offer_deadline", "closed", "agency", "messages")


def _check_destination(path: Path) -> None:
    """Refuse, before anything is written, a file whose folder is missing or not writable."""
    parent = path.parent
    if path.is_dir():
        raise click.ClickException(f"{path} is a folder: give a file name")
    if not parent.is_dir():
        raise click.ClickException(f"the folder {parent} does not exist: create it (mkdir -p {parent}) or give another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise click.ClickException(f"cannot write into the folder {parent} (permission denied): give a folder you can write to")


def _next_step(app: dict[str, Any], offer: dict[str, Any] | None, upcoming: Interview | None) -> str:
    """What happens next, in a few words: the offer's answer, the next interview, or whose turn it is."""
    if offer is not None and offer["status"] == "open":
        return f"answer the offer by {offer['deadline']}" if offer["deadline"] else "answer the offer"
    if app.get("closed") or app.get("stage") in ("rejected", "withdrawn", "ghosted"):
        return ""
    if upcoming is not None:
        when = upcoming.start.isoformat(timespec="minutes") if upcoming.start else upcoming.day.isoformat()
        return f"interview on {when}"
    if app.get("ball") == "you":
        return "your turn to reply"
    if app.get("ball") == "them":
        return "waiting for them" + (f" (they named {app['waiting_until']})" if app.get("waiting_until") else "")
    return ""


def _interview_dict(i: Interview) -> dict[str, Any]:
    return {"day": i.day.isoformat(), "start": i.start.isoformat() if i.start else None,
            "end": i.end.isoformat() if i.end else None, "kind": i.kind, "summary": i.summary,
            "attendees": list(i.attendees), "cancelled_or_moved": i.void or None, "message_key": i.source_key}


def collect(store: Store, config: AssessConfig) -> list[dict[str, Any]]:
    """Every application with its offer, interviews and next step, as plain (nested) data."""
    from offerwatch.daemon.jsonout import iso_dates, nested
    from offerwatch.models.calendar_days import local_date, zone
    from offerwatch.models.offers import status_on
    from offerwatch.models.timeline import known_interviews

    now = datetime.now(timezone.utc)
    today = local_date(now, zone(config.timezone))
    offers = {int(r["application_id"]): {**r, "status": status_on(r, today)} for r in store.rows("SELECT * FROM offers")}
    out = []
    for app in store.rows(
        "SELECT a.*, (SELECT count(*) FROM messages m WHERE m.application_id = a.id) AS messages "
        "FROM applications a ORDER BY a.id"
    ):
        interviews = known_interviews(store, int(app["id"]), config=config)
        upcoming = next((i for i in interviews if not i.void and i.kind != "mentioned"
                         and (i.start or datetime.combine(i.day, time(23, 59), timezone.utc)) >= now), None)
        offer = offers.get(int(app["id"]))
        explanation = nested(app).get("outlook_explanation") or []
        out.append({  # stored text's date tokens as ISO 8601 (jsonout.iso_dates): export is for machines
            **{k: iso_dates(app.get(k)) for k in ("id", "company", "role", "stage", "stage_reason", "outlook", "first_contact",
                                       "last_contact", "last_from", "agency", "link_reason", "messages")},
            "closed": bool(app.get("closed")),
            "turn": app.get("ball"),
            "waiting_until": app.get("waiting_until"),
            "next_step": _next_step(app, offer, upcoming),
            "outlook_explanation": explanation,
            "offer": None if offer is None else {
                "status": offer["status"], "deadline": offer["deadline"], "deadline_source": offer["deadline_source"],
                "evidence": offer["evidence"], "decided_at": offer["decided_at"]},
            "interviews": iso_dates([_interview_dict(i) for i in interviews]),
            "_interviews": interviews,
        })
    return out


def to_csv(apps: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    w.writeheader()
    for a in apps:
        offer = a["offer"] or {}
        w.writerow({**a, "offer_status": offer.get("status") or "", "offer_deadline": offer.get("deadline") or "",
                    "closed": "yes" if a["closed"] else "no"})
    return buf.getvalue().encode("utf-8")


def to_json(apps: list[dict[str, Any]]) -> bytes:
    doc = {"exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "applications": [{k: v for k, v in a.items() if not k.startswith("_")} for a in apps]}
    return (json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")


def event_uid(app_id: int, i: Interview) -> str:
    """A UID that stays the same across exports (and across updates of one invitation)."""
    basis = f"invite|{i.uid}" if i.uid else f"{i.kind}|{i.source_key}|{i.day.isoformat()}"
    return f"{hashlib.sha256(basis.encode('utf-8')).hexdigest()[:32]}@offerwatch"


def to_ics(apps: list[dict[str, Any]]) -> bytes:
    """Every interview known from an invitation or a confirmed time as a VEVENT (icalendar)."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//offerwatch//interviews//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    stamp = datetime.now(timezone.utc).replace(microsecond=0)
    seen: set[str] = set()
    for a in apps:
        title = a["company"] + (f" — {a['role']}" if a.get("role") else "")
        for i in a["_interviews"]:
            if i.kind == "mentioned":
                continue  # a conversation the mail says took place: no time, not a calendar entry
            uid = event_uid(int(a["id"]), i)
            if uid in seen:
                continue
            seen.add(uid)
            ev = Event()
            ev.add("uid", uid)
            ev.add("dtstamp", stamp)
            ev.add("sequence", i.sequence)  # a newer update of the invitation replaces the older one
            if i.start is not None:
                start = i.start.astimezone(timezone.utc)
                ev.add("dtstart", start)
                ev.add("dtend", (i.end.astimezone(timezone.utc) if i.end and i.end > i.start else start + timedelta(hours=1)))
            else:
                ev.add("dtstart", i.day)
                ev.add("dtend", i.day + timedelta(days=1))
            ev.add("summary", f"Interview: {title}")
            lines = [f"Application #{a['id']}: {title}", f"Stage: {a['stage']}", f"From: {i.summary}"]
            if i.attendees:
                lines.append("With: " + ", ".join(i.attendees))
            if a["next_step"]:
                lines.append(f"Next step: {a['next_step']}")
            ev.add("description", "\n".join(lines))
            ev.add("categories", ["offerwatch", "interview"])
            ev.add("status", "CANCELLED" if i.void else "CONFIRMED")
            cal.add_component(ev)
    return cal.to_ical()


@click.command("export")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Applications as CSV.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Applications as JSON (nested).")
@click.option("--ics", "ics_path", type=click.Path(dir_okay=False, path_type=Path), help="Interviews as an iCalendar file.")
@click.pass_context
def export_command(ctx: click.Context, csv_path: Path | None, json_path: Path | None, ics_path: Path | None) -> None:
    """Export applications (CSV, JSON) and interviews (iCalendar) to files.

    CSV: one row per application with stage, outlook, last contact, next step and the offer's
    status and deadline. JSON: the same with the outlook's explanation, the offer and the
    interviews nested. ICS: every interview known from an invitation or a confirmed time, the
    application in the description; importing a newer file updates the events. Files are
    written whole or not at all, readable only by you.

    \b
    Examples:
      offerwatch export --csv applications.csv
      offerwatch export --json applications.json
      offerwatch export --ics interviews.ics
    """
    from offerwatch.daemon.apps_cli import _assess_config
    from offerwatch.daemon.digest.deliver import DeliveryError, write_private_file

    targets = [(p, kind) for p, kind in ((csv_path, "csv"), (json_path, "json"), (ics_path, "ics")) if p is not None]
    if not targets:
        raise click.UsageError("give at least one of --csv FILE, --json FILE, --ics FILE")
    targets = [(p.expanduser(), kind) for p, kind in targets]
    for p, _kind in targets:
        _check_destination(p)
    with open_store(ctx) as store:
        apps = collect(store, _assess_config(ctx))
    makers = {"csv": to_csv, "json": to_json, "ics": to_ics}
    out = console(ctx)
    for p, kind in targets:
        data = makers[kind](apps)
        try:
            write_private_file(p, data, what=f"the {kind.upper()} export", temp_prefix=".offerwatch-export-")
        except DeliveryError as err:
            raise click.ClickException(str(err)) from err
        what = f"{data.count(b'BEGIN:VEVENT')} interview(s)" if kind == "ics" else f"{len(apps)} application(s)"
        out.print(f"Wrote {what} to {p}", soft_wrap=True)
