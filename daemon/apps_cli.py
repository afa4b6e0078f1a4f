"""``offerwatch apps`` (list, merge, split, rename, close, reopen) and ``offerwatch app ID``.

Thin: parse arguments, call :mod:`offerwatch.models.linking` / :mod:`offerwatch.models.timeline`,
print with rich, and turn :class:`CorrectionError` into a message that says what to do.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import click

from offerwatch.daemon.context import console, human_dates, load_config, open_store

if TYPE_CHECKING:
    from offerwatch.models.humandate import HumanDates
    from offerwatch.models.store import Store
    from offerwatch.models.timeline import AssessConfig


#: Stages `offerwatch apps --stage` accepts (models.timeline.STAGES, kept here so `--help` needs no import).
STAGE_NAMES = ("applied", "screening", "interviewing", "final", "offer", "rejected", "withdrawn", "on_hold", "ghosted")
#: Stages after which an application is over: listed only with --all or --stage.
ENDED_STAGES = ["rejected", "withdrawn", "ghosted"]


def _assess_config(ctx: click.Context) -> AssessConfig:
    """The [detection] settings when a config is readable, the defaults otherwise."""
    from offerwatch.models.timeline import AssessConfig

    try:
        from offerwatch.daemon.commands import _assess_config as from_config

        return from_config(load_config(ctx))
    except Exception:  # noqa: BLE001 - no config (or an old one) must not block a correction
        return AssessConfig()


def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from offerwatch.models.linking import CorrectionError

    try:
        return fn(*args, **kwargs)
    except CorrectionError as err:
        raise click.ClickException(str(err)) from err


@click.group("apps", invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Include closed ones (rejected, withdrawn, ghosted, closed by hand).")
@click.option("--stage", type=click.Choice(STAGE_NAMES), help="Only applications at this stage (closed ones included).")
@click.option("--since", metavar="YYYY-MM-DD", help="Only applications with contact on or after this day.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_context
def apps_group(ctx: click.Context, show_all: bool, stage: str | None, since: str | None, as_json: bool) -> None:
    """List active applications with stage, outlook and last contact; correct the linking.

    \b
    Examples:
      offerwatch apps
      offerwatch apps --all
      offerwatch apps --stage interviewing --since 2026-11-01
      offerwatch apps note 3 "Recruiter: Dana, prefers phone"
      offerwatch apps merge 3 7
      offerwatch apps split 3 4 5 --role "Analytics Engineer"
      offerwatch apps rename 3 --company "Acme Corp"
      offerwatch apps close 3 --stage withdrawn
      offerwatch apps reopen 8
      offerwatch apps offer 3 --deadline 2026-11-20
      offerwatch apps notjob 7
    """
    if ctx.invoked_subcommand is not None:
        return
    from offerwatch.daemon.cli import parse_day

    day = parse_day(since, "--since")
    where, params = [], []
    if stage is not None:
        where.append("a.stage = ?")
        params.append(stage)
    elif not show_all:
        where.append(f"a.closed = 0 AND a.stage NOT IN ({','.join('?' * len(ENDED_STAGES))})")
        params += ENDED_STAGES
    if day is not None:
        where.append("substr(a.last_contact, 1, 10) >= ?")
        params.append(day.isoformat())
    with open_store(ctx) as store:
        rows = store.rows(
            "SELECT a.*, (SELECT count(*) FROM messages m WHERE m.application_id = a.id) AS messages, "
            "(SELECT group_concat(type, ',') FROM signals s WHERE s.application_id = a.id AND s.derived = 1) AS derived_types, "
            "o.status AS offer_status, o.deadline AS offer_deadline "
            "FROM applications a LEFT JOIN offers o ON o.application_id = a.id "
            + (f"WHERE {' AND '.join(where)} " if where else "") + "ORDER BY a.outlook DESC, a.last_contact DESC",
            params,
        )
        default_view = not (show_all or stage or day)
        hidden = store.rows("SELECT count(*) AS n FROM applications")[0]["n"] - len(rows) if default_view else 0
        cold = _cold_ids(ctx, store) if rows and not as_json else set()
    if as_json:
        from offerwatch.daemon.jsonout import nested

        for r in rows:
            # a list, not SQL's comma-joined text: JSON output nests what it holds
            derived = sorted(set(str(r["derived_types"]).split(","))) if r.get("derived_types") else []
            click.echo(json.dumps(nested({**r, "derived_types": derived}), default=str, ensure_ascii=False))
        return
    if rows or not hidden:
        _print_apps(rows, ctx, human_dates(ctx), cold)
    if hidden:
        console(ctx).print(f"{hidden} closed (rejected, withdrawn, ghosted or closed by hand) not shown: `offerwatch apps --all`")


#: `offerwatch apps` columns; on a narrow terminal they go in this order: msgs, notes, turn,
#: last contact, outlook, stage. The id, company and role always stay, and stay whole.
APPS_COLUMNS: tuple[tuple[str, Literal["name", "fixed"], int, Literal["left", "right"]], ...] = (
    ("id", "fixed", 0, "right"), ("company", "name", 0, "left"), ("role", "name", 0, "left"),
    ("stage", "fixed", 6, "left"), ("outlook", "fixed", 5, "right"), ("last contact", "fixed", 4, "left"),
    ("turn", "fixed", 3, "left"), ("msgs", "fixed", 1, "right"), ("notes", "name", 2, "left"),
)


def _cold_ids(ctx: click.Context, store: Store) -> set[int]:
    """Applications the digest counts as gone cold (so `apps` and the digest agree on "active")."""
    from datetime import timezone

    from offerwatch.daemon.digest.job import settings_from_config
    from offerwatch.models.cold import cold_applications

    try:
        settings = settings_from_config(load_config(ctx))
    except click.ClickException:
        return set()  # human_dates logs why; without a config nothing is marked
    return set(cold_applications(store, now=datetime.now(timezone.utc), tz=settings.tz,
                                 business_days=settings.cold_business_days, holidays=settings.holidays))


def _print_apps(rows: list[dict[str, Any]], ctx: click.Context, hd: HumanDates, cold: frozenset[int] | set[int] = frozenset()) -> None:
    from rich.text import Text

    from offerwatch.daemon.fit import FitColumn, fit_table, row_lines
    from offerwatch.daemon.textsafe import clean_text

    out = console(ctx)
    if not rows:
        out.print("No applications yet: run `offerwatch backfill` or `offerwatch demo` first.")
        return
    cells = []
    for r in rows:
        notes = []
        if r.get("derived_types"):
            notes += sorted(set(str(r["derived_types"]).split(",")))
        if r.get("offer_status"):
            notes.append(f"offer {r['offer_status']}" + (f", answer by {hd.day(r['offer_deadline'])}"
                                                          if r["offer_status"] == "open" and r.get("offer_deadline") else ""))
        if r.get("agency"):
            notes.append(f"agency: {r['agency']}")
        if r.get("closed"):
            notes.append("closed")
        last = hd.day_time(r.get("last_contact"))
        if r.get("last_from"):
            last += f" ({r['last_from']})"
        cells.append([Text(clean_text(v)) for v in (
            str(r["id"]), str(r["company"]), str(r.get("role") or ""), str(r.get("stage") or "") + (" (cold)" if r["id"] in cold else ""),
            str(r.get("outlook") if r.get("outlook") is not None else ""), last, str(r.get("ball") or ""),
            str(r.get("messages") or 0), ", ".join(notes))])
    columns = [FitColumn(h, kind=k, drop=d, justify=j) for h, k, d, j in APPS_COLUMNS]
    out.print(fit_table(out, columns, cells, max_lines=row_lines(out.width), header_style="bold", box=None, pad_edge=False))


@apps_group.command("merge")
@click.argument("keep", type=int)
@click.argument("other", type=int)
@click.pass_context
def apps_merge(ctx: click.Context, keep: int, other: int) -> None:
    """Merge application OTHER into KEEP (messages, signals, interviews, salaries).

    Later mail about OTHER (same thread or company name) goes to KEEP.

    \b
    Example:
      offerwatch apps merge 3 7
    """
    from offerwatch.models.linking import merge_applications
    from offerwatch.models.timeline import assess

    with open_store(ctx) as store:
        _run(merge_applications, store, keep, other, reassess=False)
        assess(store, [keep], config=_assess_config(ctx))
        console(ctx).print(f"Merged #{other} into #{keep}.")


@apps_group.command("split")
@click.argument("app_id", type=int)
@click.argument("messages", nargs=-1, required=True)
@click.option("--company", help="Company of the new application (default: the same).")
@click.option("--role", help="Role of the new application (default: the same).")
@click.pass_context
def apps_split(ctx: click.Context, app_id: int, messages: tuple[str, ...], company: str | None, role: str | None) -> None:
    """Move messages of APP_ID to a new application.

    MESSAGES are the numbers `offerwatch app APP_ID` shows (or Message-IDs). The moved
    messages stay there when mail is processed again; replies to them follow.

    \b
    Example:
      offerwatch apps split 3 4 5 --role "Analytics Engineer"
    """
    from offerwatch.models.linking import split_application
    from offerwatch.models.timeline import assess

    with open_store(ctx) as store:
        keys = _message_keys(store, app_id, messages, ctx)
        new_id = _run(split_application, store, app_id, keys, company=company, role=role, reassess=False)
        assess(store, [app_id, new_id], config=_assess_config(ctx))
        console(ctx).print(f"Moved {len(keys)} message(s) from #{app_id} to the new application #{new_id}.")


def _message_keys(store: Store, app_id: int, given: tuple[str, ...], ctx: click.Context) -> list[str]:
    from offerwatch.models.timeline import timeline

    numbered = {e.index: e.message_key for e in timeline(store, app_id, config=_assess_config(ctx)) if e.index is not None}
    keys = []
    for g in given:
        g = g.strip().lstrip("#")
        if g.isdigit() and int(g) in numbered:
            keys.append(str(numbered[int(g)]))
            continue
        row = store.db.execute(
            "SELECT key FROM messages WHERE application_id = ? AND (key = ? OR message_id = ? OR message_id = ?)",
            [app_id, g, g, f"<{g.strip('<>')}>"],
        ).fetchone()
        if row is None:
            raise click.ClickException(
                f"no message {g!r} in application #{app_id}: `offerwatch app {app_id}` numbers its messages"
            )
        keys.append(row[0])
    return keys


@apps_group.command("rename")
@click.argument("app_id", type=int)
@click.option("--company", help="The company's name.")
@click.option("--role", help="The role (empty string clears it).")
@click.pass_context
def apps_rename(ctx: click.Context, app_id: int, company: str | None, role: str | None) -> None:
    """Set an application's company and/or role; automatic linking keeps them.

    \b
    Example:
      offerwatch apps rename 3 --company "Acme Corp" --role "Data Engineer"
    """
    from offerwatch.models.linking import rename_application

    with open_store(ctx) as store:
        _run(rename_application, store, app_id, company=company, role=role)
        console(ctx).print(f"Renamed #{app_id}.")


#: Longest note kept: a note is a reminder, not a document.
NOTE_CHARS = 1000


@apps_group.command("note")
@click.argument("app_id", type=int, metavar="ID")
@click.argument("text", required=False)
@click.option("--clear", is_flag=True, help="Remove the note.")
@click.pass_context
def apps_note(ctx: click.Context, app_id: int, text: str | None, clear: bool) -> None:
    """Keep your own note on an application; shown by `offerwatch app ID` and in the digest.

    Without TEXT (and without --clear) it prints the note.

    \b
    Examples:
      offerwatch apps note 3 "Recruiter: Dana; prefers phone after 4pm"
      offerwatch apps note 3
      offerwatch apps note 3 --clear
    """
    from offerwatch.daemon.report import show

    if clear and text is not None:
        raise click.UsageError("give a note or --clear, not both")
    if text is not None:
        text = " ".join(text.split())
        if not text:
            raise click.UsageError("the note is empty: give some text, or --clear to remove the note")
        if len(text) > NOTE_CHARS:
            raise click.UsageError(f"the note has {len(text)} characters; keep it under {NOTE_CHARS}")
    with open_store(ctx) as store:
        rows = store.rows("SELECT notes FROM applications WHERE id = ?", [app_id])
        if not rows:
            raise click.ClickException(f"there is no application #{app_id}: `offerwatch apps` lists them")
        if text is None and not clear:
            note = rows[0]["notes"]
            console(ctx).print(show(note) if note else f"No note on #{app_id}.")
            return
        with store.atomic():
            store.db.execute("UPDATE applications SET notes = ? WHERE id = ?", [None if clear else text, app_id])
    console(ctx).print(f"Note on #{app_id} removed." if clear else f"Note on #{app_id} saved.")


@apps_group.command("notjob")
@click.argument("app_id", type=int, metavar="ID")
@click.option("--undo", is_flag=True, help="Take the mark back; its mail is read again at the next sync.")
@click.pass_context
def apps_notjob(ctx: click.Context, app_id: int, undo: bool) -> None:
    """Mark an application as not job-related: it and its mail leave the data.

    Its messages are kept only as private mail is (no subject, sender or text), and its
    signals, interviews and offer go; the same mail read again, and later replies in its
    threads, stay out. --undo deletes the mark; its mail is read again at the next
    `offerwatch sync` (or `offerwatch backfill`) and is linked to an application afresh.
    To keep out a sender or domain: `offerwatch notjob`.

    \b
    Examples:
      offerwatch apps notjob 7
      offerwatch apps notjob 7 --undo
    """
    from offerwatch.daemon.notjob_cli import mark_application_cli

    mark_application_cli(ctx, app_id, undo)


@apps_group.command("close")
@click.argument("app_id", type=int)
@click.option("--stage", default="withdrawn", show_default=True,
              type=click.Choice(["withdrawn", "rejected", "offer", "on_hold", "ghosted"]), help="The final stage.")
@click.option("--reopen", is_flag=True, help="Reopen a closed or cold application (as `offerwatch apps reopen ID`).")
@click.pass_context
def apps_close(ctx: click.Context, app_id: int, stage: str, reopen: bool) -> None:
    """Close an application with a final stage, or reopen it with --reopen.

    \b
    Examples:
      offerwatch apps close 3
      offerwatch apps close 3 --stage rejected
      offerwatch apps close 3 --reopen
    """
    from offerwatch.models.linking import close_application
    from offerwatch.models.timeline import assess

    if reopen:
        _reopen(ctx, app_id)
        return
    with open_store(ctx) as store:
        _run(close_application, store, app_id, stage=stage, reopen=False, reassess=False)
        assess(store, [app_id], config=_assess_config(ctx))
        console(ctx).print(f"Closed #{app_id} as {stage}.")


@apps_group.command("reopen")
@click.argument("app_id", type=int)
@click.pass_context
def apps_reopen(ctx: click.Context, app_id: int) -> None:
    """Bring back an application that went cold, was ghosted or that you closed.

    The digest moves applications without mail for [digest] cold_business_days (default 30)
    business days, and ghosted ones, out of "going quiet" and the pipeline onto one "gone
    cold" line. Reopened, it is active again and its count starts afresh today. New mail
    from them brings one back by itself; a rejection or withdrawal read from mail is not
    reopened here.

    \b
    Examples:
      offerwatch apps reopen 8
      offerwatch apps --all        # find the id
    """
    _reopen(ctx, app_id)


def _reopen(ctx: click.Context, app_id: int) -> None:
    from datetime import timezone

    from offerwatch.models.calendar_days import zone
    from offerwatch.models.cold import ReopenError, reopen
    from offerwatch.models.timeline import assess

    cfg = _assess_config(ctx)
    cold_days = _cold_business_days(ctx)
    now = datetime.now(timezone.utc)
    with open_store(ctx) as store:
        try:
            was = reopen(store, app_id, now=now, tz=zone(cfg.timezone), business_days=cold_days, holidays=cfg.holidays)
        except ReopenError as err:
            raise click.ClickException(str(err)) from None
        assess(store, [app_id], now=now, config=cfg)
        row = store.rows("SELECT company, stage FROM applications WHERE id = ?", [app_id])[0]
    from offerwatch.models.cold import ENDED_STAGES

    how = {"closed": "closed by you", "ghosted": "ghosted", "cold": "gone cold"}[was]
    if row["stage"] in ENDED_STAGES:
        after = f"its mail says {row['stage']}, so it stays out of the pipeline until they write again."
    else:
        after = f"it is active again and goes cold only after {cold_days} more business days without mail."
    console(ctx).print(f"Reopened #{app_id} ({row['company']}), which was {how}: {after}", soft_wrap=True)


def _cold_business_days(ctx: click.Context) -> int:
    """[digest] cold_business_days when a config is readable, the default otherwise."""
    from offerwatch.models.cold import DEFAULT_COLD_BUSINESS_DAYS

    try:
        from offerwatch.daemon.context import load_config

        return int(load_config(ctx).digest.cold_business_days)
    except Exception as err:  # noqa: BLE001 - no config (or an old one) must not block a correction
        logging.getLogger(__name__).info("no readable config (%s): cold after %d business days", err, DEFAULT_COLD_BUSINESS_DAYS)
        return DEFAULT_COLD_BUSINESS_DAYS


def _iso_day(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """--deadline as a date; a malformed one is a one-line usage error before anything opens."""
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-20") from None


@apps_group.command("offer")
@click.argument("app_id", type=int)
@click.option("--deadline", callback=_iso_day, metavar="YYYY-MM-DD", help="Set the day you must answer the offer by.")
@click.option("--accept", is_flag=True, help="You accepted the offer.")
@click.option("--decline", is_flag=True, help="You declined the offer.")
@click.pass_context
def apps_offer(ctx: click.Context, app_id: int, deadline: Any, accept: bool, decline: bool) -> None:
    """Set an offer's deadline, or record that you accepted or declined it.

    An open offer with a deadline stays on top of the digest until you decide; a deadline
    read from the offer mail is replaced by the one you set here.

    \b
    Examples:
      offerwatch apps offer 3 --deadline 2026-11-20
      offerwatch apps offer 3 --accept
      offerwatch apps offer 3 --decline
    """
    from datetime import datetime, timezone

    from offerwatch.models.calendar_days import local_date, zone
    from offerwatch.models.offers import OfferError, set_offer

    cfg = _assess_config(ctx)
    today = local_date(datetime.now(timezone.utc), zone(cfg.timezone))
    with open_store(ctx) as store:
        try:
            row = set_offer(store, app_id, deadline=deadline, accept=accept, decline=decline, today=today)
        except OfferError as err:
            raise click.ClickException(str(err)) from err
    if deadline is not None:
        console(ctx).print(f"Offer #{app_id}: answer by {human_dates(ctx).day(row['deadline'])} ({row['status']}).")
    else:
        console(ctx).print(f"Offer #{app_id}: {row['status']}.")


@click.command("app")
@click.argument("app_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="The timeline as JSON.")
@click.pass_context
def app_command(ctx: click.Context, app_id: int, as_json: bool) -> None:
    """Show one application's timeline: messages, interviews, derived signals, outlook.

    \b
    Example:
      offerwatch app 3
    """
    from offerwatch.models.timeline import salary_guard, timeline

    cfg = _assess_config(ctx)
    with open_store(ctx) as store:
        rows = store.rows("SELECT * FROM applications WHERE id = ?", [app_id])
        if not rows:
            raise click.ClickException(f"there is no application #{app_id}: `offerwatch apps` lists them")
        app = rows[0]
        entries = timeline(store, app_id, config=cfg)
        guard = salary_guard(store, app_id, config=cfg)
        offer = next(iter(store.rows("SELECT * FROM offers WHERE application_id = ?", [app_id])), None)
    if as_json:
        from offerwatch.daemon.jsonout import nested

        from offerwatch.models.humandate import iso_text

        click.echo(json.dumps({
            "application": nested(app),
            "offer": offer,
            "timeline": [{**e.__dict__, "at": e.at.isoformat() if e.at else None, "title": iso_text(e.title),
                          "detail": iso_text(e.detail)} for e in entries],
            "salary_guard": None if guard is None else {
                "stated": guard.stated_text, "stated_at": guard.stated_at, "reconfirm_at": guard.reconfirm_at,
                "jump": guard.jump, "jump_percent": guard.jump_percent, "advice": iso_text(guard.advice)},
        }, default=str, ensure_ascii=False, indent=2))
        return
    _print_app(app, entries, guard, ctx, offer, human_dates(ctx))


def _print_app(app: dict[str, Any], entries: list[Any], guard: Any, ctx: click.Context,
               offer: dict[str, Any] | None, hd: HumanDates) -> None:
    from rich.text import Text

    from offerwatch.daemon.report import show

    out = console(ctx)
    role = f" — {show(app['role'])}" if app.get("role") else ""
    title = f"[bold]#{app['id']} {show(app['company'])}{role}[/]"
    if Text.from_markup(title).cell_len + 6 <= out.width:
        out.rule(title, align="left")
    else:  # a rule would cut the name with "…": the name on its own lines, then the rule
        out.print(title)
        out.rule()
    out.print(f"  stage [bold]{app['stage']}[/]: {show(hd.text(app.get('stage_reason')))}")
    out.print(f"  outlook [bold]{app['outlook']}[/]/100   turn: {app.get('ball') or '—'}"
              + (f"   they named {hd.day(app['waiting_until'])}" if app.get("waiting_until") else ""))
    out.print(f"  linked: {show(app.get('link_reason') or '')}")
    if app.get("agency"):
        out.print(f"  via the agency {show(app['agency'])}")
    if app.get("notes"):
        out.print(f"  [yellow]your note: {show(app['notes'])}[/]")
    if offer is not None:
        due = f", answer by {hd.day(offer['deadline'])}" if offer.get("deadline") else ""
        src = {"mail": f" (from the mail: {show(offer.get('evidence') or '')})", "user": " (set by you)"}.get(
            offer.get("deadline_source") or "", "") if offer.get("deadline") else ""
        out.print(f"  offer [bold]{offer['status']}[/]{due}{src}")
    out.print()
    for e in entries:
        when = (hd.day(e.at) if e.day_only else hd.day_time(e.at)) if e.at else "(no date)"
        if e.kind == "message":
            arrow = "→" if e.direction == "out" else "←"
            who = "you" if e.direction == "out" else show(e.who)
            sig = f"  [cyan]{', '.join(e.signals)}[/]" if e.signals else ""
            out.print(f"  [dim]{e.index:>3}[/] {when}  {arrow} {who}: {show(e.title)}{sig}")
            if e.detail:
                out.print(f"      [dim]{show(hd.text(e.detail))}[/]")
        elif e.kind == "interview":
            out.print(f"      {when}  [magenta]{show(e.title)}[/]" + (f" [dim]({show(hd.text(e.detail))})[/]" if e.detail else ""))
        else:
            out.print(f"      {when}  [yellow]{', '.join(e.signals)}[/]: {show(hd.text(e.title))}")
    try:
        explanation = json.loads(app.get("outlook_explanation") or "[]")
    except ValueError:
        explanation = []
    if explanation:
        out.print()
        out.print("  outlook from:")
        for x in explanation[:10]:
            if x.get("points") is None:
                out.print(f"    {show(str(x.get('rule', '')))}")
            else:
                out.print(f"    {x['points']:+6.2f}  {x['type']} (weight {x['weight']:g} x strength {x['strength']:g} x decay {x['decay']:g})")
    if guard is not None:
        out.print()
        style = "bold red" if guard.jump else "bold"
        out.print(f"  [{style}]salary[/]: {show(hd.text(guard.advice))}")
