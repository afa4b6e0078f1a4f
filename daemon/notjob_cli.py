"""``offerwatch notjob`` and ``offerwatch apps notjob ID``: mail the user says is not about a job.

Thin: validate, call :mod:`offerwatch.models.notjob`, assess what lost mail, and say what
happened and how to take it back.
"""

from __future__ import annotations

from typing import Any

import click

from offerwatch.daemon.context import console, open_store

#: How undo works, said in every help text that offers it.
UNDO_HELP = ("--undo deletes the mark; the mail it took out is read again at the next `offerwatch sync` "
             "(or `offerwatch backfill`) and counts as job mail again if it is.")


def _done(ctx: click.Context, what: str, result: Any) -> None:
    from offerwatch.daemon.apps_cli import _assess_config
    from offerwatch.models.timeline import assess

    if result.touched:
        with open_store(ctx) as store:
            assess(store, list(result.touched), config=_assess_config(ctx))
    gone = f"; application(s) {', '.join(f'#{i}' for i in result.removed)} removed" if result.removed else ""
    again = "" if result.created else " (it was marked already)"
    console(ctx).print(f"{what} marked not job-related{again}: {result.messages} message(s) taken out{gone}.")


def mark_application_cli(ctx: click.Context, app_id: int, undo: bool) -> None:
    """`offerwatch apps notjob ID [--undo]` (registered in apps_cli)."""
    from offerwatch.models.notjob import NotJobError, mark_application, unmark

    with open_store(ctx) as store:
        try:
            if undo:
                n = unmark(store, "application", str(app_id))
            else:
                result = mark_application(store, app_id)
        except NotJobError as err:
            raise click.ClickException(str(err)) from err
    if undo:
        _undone(ctx, f"application #{app_id}", n)
        return
    _done(ctx, f"application #{app_id}", result)
    console(ctx).print(f"Later replies in its threads stay out; undo with `offerwatch apps notjob {app_id} --undo`.")


def _undone(ctx: click.Context, what: str, n: int) -> None:
    console(ctx).print(f"{what} is no longer marked not job-related; {n} message(s) will be read again at the next "
                       "`offerwatch sync` (or `offerwatch backfill`).")


@click.command("notjob")
@click.option("--sender", "senders", multiple=True, metavar="ADDRESS", help="Mail from (or only to) this address (repeatable).")
@click.option("--domain", "domains", multiple=True, metavar="DOMAIN", help="Mail from this domain and its subdomains (repeatable).")
@click.option("--undo", is_flag=True, help="Delete the mark(s) instead; the mail comes back at the next sync.")
@click.pass_context
def notjob_command(ctx: click.Context, senders: tuple[str, ...], domains: tuple[str, ...], undo: bool) -> None:
    """Mark a sender or a domain as not job-related; without options, list the marks.

    Their mail leaves the applications, signals, digest, search and exports, and mail from
    them read later (sync, backfill) stays out. A whole application: `offerwatch apps notjob ID`.
    --undo deletes the mark; the mail it took out is read again at the next `offerwatch sync`
    (or `offerwatch backfill`) and counts as job mail again if it is.

    \b
    Examples:
      offerwatch notjob --sender alerts@jobs.example.com
      offerwatch notjob --domain news.acme.io
      offerwatch notjob --sender alerts@jobs.example.com --undo
      offerwatch notjob
    """
    from offerwatch.models.notjob import NotJobError, mark, marks, normalize_domain, normalize_sender, unmark

    wanted: list[tuple[str, str]] = []
    for kind, given, normalize in (("sender", senders, normalize_sender), ("domain", domains, normalize_domain)):
        for value in given:  # every value is checked before anything is written
            try:
                wanted.append((kind, normalize(value)))
            except NotJobError as err:
                raise click.BadParameter(str(err), param_hint=f"--{kind}") from None
    if not wanted:
        if undo:
            raise click.UsageError("--undo needs the --sender or --domain to unmark")
        _list(ctx, marks)
        return
    with open_store(ctx) as store:
        if undo:
            try:
                missing = [v for k, v in wanted if not store.rows("SELECT 1 FROM not_job WHERE kind = ? AND value = ?", [k, v])]
                if missing:
                    raise NotJobError(f"{', '.join(missing)} not marked as not job-related: `offerwatch notjob` lists the marks")
                counts = [(v, unmark(store, k, v)) for k, v in wanted]
            except NotJobError as err:
                raise click.ClickException(str(err)) from err
        else:
            results = [(v, mark(store, k, v)) for k, v in wanted]
    if undo:
        for v, n in counts:
            _undone(ctx, v, n)
        return
    for v, r in results:
        _done(ctx, v, r)


def _list(ctx: click.Context, fetch: Any) -> None:
    from rich.table import Table

    from offerwatch.daemon.report import show

    with open_store(ctx) as store:
        rows = fetch(store)
    out = console(ctx)
    if not rows:
        out.print("Nothing is marked as not job-related. Mark with `offerwatch notjob --sender ADDRESS`, "
                  "`--domain DOMAIN` or `offerwatch apps notjob ID`.")
        return
    table = Table("kind", "marked", "messages out", "since")
    for r in rows:
        what = f"#{r['value']} {r['label'] or ''}".strip() if r["kind"] == "application" else str(r["value"])
        table.add_row(r["kind"], show(what), str(r["messages"]), str(r["created_at"])[:10])
    out.print(table)
