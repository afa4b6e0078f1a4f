"""``offerwatch digest``: build the digest now, print it, write it to a file, or send it.

The command only parses options and calls :mod:`offerwatch.daemon.digest.job`; delivery
errors become click errors that say what to do.
"""

from __future__ import annotations

import tempfile
import webbrowser
from datetime import datetime, time, timezone
from pathlib import Path

import click

from offerwatch.daemon.context import console, human_dates, load_config, open_store


@click.command("digest")
@click.option("--since", metavar="YYYY-MM-DD", help="Cover the period from this day (default: since the last digest sent, or 7 days).")
@click.option("--preview", is_flag=True, help="Print it here and open the HTML version in the browser.")
@click.option("--no-browser", is_flag=True, help="With --preview: do not open a browser, only print the file's path.")
@click.option("--send", is_flag=True, help="Deliver today's digest now through the configured channel (once per day).")
@click.option("--out", "out", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it to FILE (mode 0600; the folder must exist; never through a symbolic link): "
                   ".html (the HTML part), .txt (the text part) or .eml (the whole message).")
@click.pass_context
def digest_command(ctx: click.Context, since: str | None, preview: bool, no_browser: bool, send: bool, out: Path | None) -> None:
    """Build, preview or send the daily digest.

    Without options it is printed in the terminal. --send delivers today's digest through
    [digest] channel (smtp, imap or file) and records it, so the service will not send
    today's again; running --send twice sends once. A day that failed (wrong password)
    is retried by --send after you fix it.

    \b
    Examples:
      offerwatch digest                      # print it here
      offerwatch digest --preview            # and open the HTML in the browser
      offerwatch digest --out digest.html --since 2026-11-01
      offerwatch digest --send
    """
    from offerwatch.daemon.digest.deliver import DIGEST_FILE_KINDS, DeliveryError, digest_file_bytes, write_private_file
    from offerwatch.daemon.digest.job import assess_all, compose, send_digest_now, settings_from_config
    from offerwatch.daemon.digest.terminal import print_digest

    config = load_config(ctx)
    settings = settings_from_config(config)
    since_dt = None
    if since:
        try:
            since_dt = datetime.combine(datetime.strptime(since, "%Y-%m-%d").date(), time(0), tzinfo=settings.tz)
        except ValueError:
            raise click.BadParameter(f"{since!r} is not a date like 2026-11-01", param_hint="--since") from None
    out_console = console(ctx)
    store = open_store(ctx)
    try:
        if send:
            try:
                result = send_digest_now(store, config, since=since_dt)
            except DeliveryError as err:
                raise click.ClickException(str(err)) from err
            day = human_dates(ctx).day(result.for_date)
            if result.status in ("sent", "recovered") and result.where:
                out_console.print(f"Digest for {day} written to {result.where}", soft_wrap=True)
            elif result.status in ("sent", "recovered"):
                out_console.print(f"Digest for {day} sent via {config.digest.channel} ({result.message_id}).")
            elif result.status == "already_sent":
                out_console.print(f"Today's digest was already sent ({result.message_id}); offerwatch sends one a day.")
            elif result.status == "skipped":
                out_console.print("Nothing new today: no digest sent ([digest] skip_when_empty = true).")
            elif result.status == "deferred":
                out_console.print(f"Not sent now: {result.error}")
            else:
                raise click.ClickException(result.error or f"the digest was not sent ({result.status})")
            return
        if out is not None and out.suffix.lower() not in DIGEST_FILE_KINDS:
            raise click.BadParameter(f"{out}: use a name ending in .html, .txt or .eml", param_hint="--out")
        assess_all(store, config, datetime.now(timezone.utc))
        digest, make = compose(store, settings, since=since_dt)
        if out is not None:
            out = out.expanduser()
            try:
                write_private_file(out, digest_file_bytes(make(None), out))
            except DeliveryError as err:
                raise click.ClickException(str(err)) from err
            out_console.print(f"Wrote the digest ({digest.subject}) to {out}", soft_wrap=True)
            return
        print_digest(digest, out_console)
        if preview:
            msg = make(None)
            body = msg.get_body(("html",))
            folder = Path(tempfile.mkdtemp(prefix="offerwatch-preview-"))
            path = folder / f"digest-{digest.for_date.isoformat()}.html"
            path.write_text(str(body.get_content() if body else ""), encoding="utf-8")
            path.chmod(0o600)
            opened = False if no_browser else webbrowser.open(path.as_uri())
            out_console.print(f"\nHTML version: {path}" + ("" if opened else " (open it in a browser)"))
    finally:
        store.close()
