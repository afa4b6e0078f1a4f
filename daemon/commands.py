"""The core commands: demo, backfill, scan, eval, signals, config check.

Each is a thin shell over the library (sources, sync engine, pipeline, evaluation): it
parses options, shows progress and turns library errors into messages that say what to do.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from offerwatch.daemon.cli import parse_day
from offerwatch.daemon.context import app_context, console, database_path, human_dates, load_config, open_store
from offerwatch.daemon.lock import DatabaseLock, LockedError
from offerwatch.daemon.sources.base import MailSource, SourceError

log = logging.getLogger(__name__)


def demo_mailbox() -> Path:
    """The sample mailbox shipped inside the package."""
    return Path(str(resources.files("offerwatch.daemon") / "demo_mailbox"))


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress]:
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
    )
    app = app_context(click.get_current_context())
    with Progress(*columns, console=app.err_console, disable=not enabled or app.quiet, transient=False) as bar:
        yield bar


def run_source(ctx: click.Context, source: MailSource, *, store_path: Path | None, since=None, until=None,
               folders=None, backfill: bool = True, owner=(), replay: bool = False, show_progress: bool = True,
               retry=None):
    """Backfill or sync ``source`` into the database under the writer lock, with progress."""
    from offerwatch.daemon.sync import SyncEngine, assess_applications
    from offerwatch.extractors.pipeline import Owner, owner_from_sample, worker_pool

    config = load_config(ctx)
    addresses = tuple(owner) or config.owner_addresses
    if addresses:
        mailbox_owner = Owner.of(addresses)
    else:
        def sample() -> Iterator[bytes]:
            taken = 0
            for folder in source.folders():
                for raw in source.messages(folder, 0, None, None):
                    yield raw.data[:65536]
                    taken += 1
                    if taken >= 200:
                        return

        try:
            mailbox_owner = owner_from_sample(sample())
        except SourceError as err:  # the source cannot be opened (a server down, a missing maildir)
            raise click.ClickException(str(err)) from err
        log.info("mailbox owner inferred as %s (set [identity] addresses to be explicit)", ", ".join(sorted(mailbox_owner.addresses)) or "unknown")
    from offerwatch.models.store import StoreError

    path = store_path or database_path(ctx)
    try:
        lock = DatabaseLock(path).acquire()
    except (LockedError, StoreError) as err:
        raise click.ClickException(str(err)) from err
    pool = None
    try:
        store = open_store(ctx, path)
        pool = worker_pool() if backfill else None  # a history is long: parse and classify on every core
        engine = SyncEngine(store, mailbox_owner, retry=retry, pool=pool)
        with progress_bar(show_progress) as bar:
            task = bar.add_task("reading mail", total=None, rate="")
            started = datetime.now(timezone.utc)

            def advance(n: int) -> None:
                bar.advance(task, n)
                done = bar.tasks[task].completed
                secs = max((datetime.now(timezone.utc) - started).total_seconds(), 1e-6)
                bar.update(task, rate=f"{done / secs:.0f} msg/s")

            try:
                report = engine.run(source, since=since, until=until, folder_names=folders, backfill=backfill,
                                    on_total=lambda n: bar.update(task, total=n), on_progress=advance)
            except KeyboardInterrupt:
                raise click.ClickException("interrupted: everything read so far is saved; run the same command again to resume") from None
        now = report.newest if replay else None
        assess_applications(store, report.applications, now=now, config=_assess_config(config))
        _alerts_after(store, config, backfill=backfill)
        return store, report
    except SourceError as err:
        raise click.ClickException(str(err)) from err
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        lock.release()


def _alerts_after(store, config, *, backfill: bool) -> None:
    """A backfill reads history: it never alerts (its signals are marked seen). A sync is a
    poll: its urgent signals alert now (daemon.alerts); a failing channel only logs."""
    from offerwatch.daemon.alerts import mark_history_seen, run_alerts

    if backfill:
        mark_history_seen(store)
        return
    try:
        run_alerts(store, config)
    except Exception:  # noqa: BLE001 - the mail read is saved; an alerts bug must not fail the sync
        log.exception("alerts failed; the mail read is saved, the next poll tries again")


def assess_config_from(config):
    """The timeline's settings from the user's config: [detection] plus the digest's time zone."""
    from offerwatch.daemon.config import ConfigError
    from offerwatch.models.calendar_days import holidays_from_config
    from offerwatch.models.timeline import AssessConfig

    det = config.detection
    names = [h for h in det.holidays if not h.strip()[:1].isdigit()]
    dates = [h for h in det.holidays if h.strip()[:1].isdigit()]
    try:
        holidays = holidays_from_config(names, dates)
    except ValueError as err:  # a Config built in code: a file's entries are checked when it is loaded
        raise ConfigError(config.source, [f"detection.holidays: {err}"]) from None
    kwargs: dict[str, Any] = {
        "silence_business_days": det.silence_business_days,
        "salary_jump_percent": det.salary_jump_percent,
        "half_life_days": det.half_life_days,
        "holidays": holidays,
        "timezone": config.digest.timezone or None,
    }
    if det.weights:
        defaults = dict(AssessConfig().weights)
        defaults.update(det.weights)
        kwargs["weights"] = defaults
    return AssessConfig(**kwargs)


_assess_config = assess_config_from  # the name the service and apps commands import


# -- demo -------------------------------------------------------------------------------------

@click.command()
@click.option("--keep", is_flag=True, help="Keep the temporary database and print its path.")
@click.pass_context
def demo(ctx: click.Context, keep: bool) -> None:
    """Run the whole pipeline on the bundled sample mailbox and print a digest.

    Needs no account and changes nothing: the database is temporary unless --db is given.

    \b
    Examples:
      offerwatch demo
      offerwatch --db demo.db demo && offerwatch --db demo.db apps
    """
    from offerwatch.daemon.digest.build import build_digest
    from offerwatch.daemon.digest.job import settings_from_config
    from offerwatch.daemon.digest.terminal import print_digest
    from offerwatch.daemon.sources.local import open_local_source

    app = app_context(ctx)
    tmp = None
    if app.db_path:
        path = Path(app.db_path).expanduser()
    else:
        tmp = tempfile.mkdtemp(prefix="offerwatch-demo-")
        path = Path(tmp) / "demo.db"
    source = open_local_source(demo_mailbox())
    source.account = "demo"
    out = console(ctx)
    out.print(f"[bold]offerwatch demo[/] — reading the sample mailbox ({sum(source.count(f, 0, None, None) or 0 for f in source.folders())} messages) into {path}")
    store, report = run_source(ctx, source, store_path=path, backfill=True, replay=True)
    try:
        # The sample mailbox is months old: the digest covers all of it, as of its newest mail.
        first = store.rows("SELECT min(date) AS d FROM messages WHERE date IS NOT NULL")[0]["d"]
        since = datetime.fromisoformat(first) if first else None
        now = report.newest or datetime.now(timezone.utc)
        settings = settings_from_config(load_config(ctx))
        print_digest(build_digest(store, now=now, tz=settings.tz, since=since,
                                  silence_business_days=settings.silence_business_days,
                                  cold_business_days=settings.cold_business_days, holidays=settings.holidays), out)
        out.print(f"\n[dim]Read {report.read} messages; database: {path if (keep or app.db_path) else 'temporary (use --keep or --db to keep it)'}[/]")
    finally:
        store.close()
        if tmp and not keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


# -- backfill ---------------------------------------------------------------------------------

@click.command()
@click.option("--source", "source_path", metavar="PATH", help="A folder of .eml files, an mbox file or a maildir.")
@click.option("--account", metavar="NAME", help="An account from the config (IMAP or maildir).")
@click.option("--since", metavar="YYYY-MM-DD", help="Only mail dated on or after this day.")
@click.option("--until", metavar="YYYY-MM-DD", help="Only mail dated before this day.")
@click.option("--folder", "folders", multiple=True, metavar="NAME", help="Only this folder (repeatable).")
@click.option("--owner", multiple=True, metavar="EMAIL", help="Your address(es), when reading a local source without a config.")
@click.option("--no-progress", is_flag=True, help="No progress bar (for logs).")
@click.pass_context
def backfill(ctx: click.Context, source_path: str | None, account: str | None, since: str | None, until: str | None,
             folders: tuple[str, ...], owner: tuple[str, ...], no_progress: bool) -> None:
    """Read a mailbox's history once: resumable after Ctrl-C, idempotent when run twice.

    \b
    Examples:
      offerwatch backfill --source ~/Takeout/Mail/All.mbox --since 2026-06-01
      offerwatch backfill --account personal --since 2026-06-01 --folder INBOX
    """
    if bool(source_path) == bool(account):
        raise click.UsageError("give exactly one of --source PATH or --account NAME")
    since_d, until_d = parse_day(since, "--since"), parse_day(until, "--until")
    if since_d and until_d and until_d <= since_d:
        raise click.BadParameter("--until must be after --since", param_hint="--until")
    source: MailSource
    retry = None
    if source_path:
        from offerwatch.daemon.sources.local import open_local_source

        try:
            source = open_local_source(source_path)
        except SourceError as err:
            raise click.ClickException(str(err)) from err
    else:
        from offerwatch.daemon.imap_cli import open_account_source

        from offerwatch.daemon.sources.imap import RetryPolicy

        source = open_account_source(ctx, account or "", folders or None)
        retry = RetryPolicy()
    try:
        store, report = run_source(ctx, source, store_path=None, since=since_d, until=until_d, folders=folders or None,
                                   backfill=True, owner=owner, show_progress=not no_progress, retry=retry)
    finally:
        source.close()
    _print_report(ctx, report)
    store.close()
    if report.failed:
        ctx.exit(1)


def _print_report(ctx: click.Context, report) -> None:
    out = console(ctx)
    for f in report.folders:
        line = f"{f.account} {Path(f.folder).name or f.folder}: {f.read} read, {f.job} job mail, {f.signals} signals"
        if f.skipped_known:
            line += f", {f.skipped_known} already known"
        if f.unparseable:
            line += f", {f.unparseable} unparseable (recorded)"
        if f.error:
            line += f" — [red]error:[/] {f.error}"
        out.print(line)
    if report.stopped:
        out.print("[yellow]stopped early; run the same command again to resume[/]")


# -- scan -------------------------------------------------------------------------------------

SCAN_MAX_BYTES = 8 * 1024 * 1024


@click.command()
@click.argument("file", type=click.File("rb"))
@click.option("--owner", multiple=True, metavar="EMAIL", help="Your address(es): decides whether the message is outgoing.")
@click.option("--all", "scan_all", is_flag=True, help="With an mbox: scan every message, not only the first.")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON (a list with --all).")
@click.pass_context
def scan(ctx: click.Context, file: BinaryIO, owner: tuple[str, ...], scan_all: bool, as_json: bool) -> None:
    """Show what the pipeline sees in one message and why (FILE or - for stdin).

    FILE is one message (.eml); an mbox is read too: its first message, or every one with
    --all. The direction (in: from them, out: yours) depends on knowing your address: give
    --owner or set [identity] addresses.

    \b
    Examples:
      offerwatch scan message.eml
      cat message.eml | offerwatch scan -
      offerwatch scan ~/Takeout/Mail/All.mbox --all --owner me@example.com
    """
    from offerwatch.daemon.report import analysis_dict, print_analysis
    from offerwatch.extractors.pipeline import Owner, analyze

    addresses = owner or load_config(ctx).owner_addresses
    out = console(ctx)
    hd = human_dates(ctx)
    found: list[dict[str, object]] = []
    with _scan_inputs(file, scan_all) as (raws, total, note):
        if note and not as_json:
            app_context(ctx).err_console.print(note)
        for i, raw in enumerate(raws, start=1):
            if len(raw) > SCAN_MAX_BYTES:
                log.warning("message larger than 8 MiB: only the first 8 MiB are read")
                raw = raw[:SCAN_MAX_BYTES]
            analysis = analyze(raw, owner=Owner.of(addresses))
            if as_json:
                found.append(analysis_dict(analysis))
                continue
            if total > 1:
                out.rule(f"message {i} of {total}", align="left")
            print_analysis(analysis, out, owner_known=bool(addresses), hd=hd)
    if as_json:
        click.echo(json.dumps(found if scan_all else found[0], indent=2, default=str, ensure_ascii=False))


@contextmanager
def _scan_inputs(file: BinaryIO, scan_all: bool) -> Iterator[tuple[Iterator[bytes], int, str]]:
    """The message(s) to scan in ``file``, how many are shown, and a note on what an mbox holds.

    Messages of an mbox are read one at a time, so ``--all`` on a large export stays small.
    """
    head = file.read(5)
    if head != b"From ":
        yield iter([head + file.read(SCAN_MAX_BYTES + 1 - len(head))]), 1, ""
        return
    from offerwatch.daemon.sources.local import MboxSource

    name = getattr(file, "name", "")
    shown = name if name and name != "<stdin>" else "standard input"
    with tempfile.TemporaryDirectory(prefix="offerwatch-scan-") as tmp:
        if name and name != "<stdin>" and Path(name).is_file():
            path = Path(name)
        else:  # standard input: the mailbox module reads files
            path = Path(tmp) / "stdin.mbox"
            with open(path, "wb") as f:
                f.write(head)
                shutil.copyfileobj(file, f)
        try:
            source = MboxSource(path)
        except SourceError as err:
            raise click.ClickException(str(err)) from err
        try:
            (folder,) = source.folders()
            total = source.count(folder, 0, None, None) or 0
            if not total:
                raise click.ClickException(f"{shown} is an mbox without a message")
            if total == 1:
                note = f"{shown} is an mbox of 1 message"
            elif scan_all:
                note = f"{shown} is an mbox of {total} messages: scanning all of them"
            else:
                note = f"{shown} is an mbox of {total} messages: scanning the first; use --all for every one"
            raws = (m.data for m in source.messages(folder, 0, None, None))
            yield (raws if scan_all else itertools.islice(raws, 1)), (total if scan_all else 1), note
        finally:
            source.close()


# -- eval -------------------------------------------------------------------------------------

@click.command("eval")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the full report as one JSON object (EVAL.md).")
@click.option("--owner", multiple=True, metavar="EMAIL", help="The mailbox owner's address (default: inferred from To:).")
@click.option("--rules-only", is_flag=True, help="Without the learned layer: the rules alone, for comparison.")
@click.pass_context
def eval_command(ctx: click.Context, path: Path, as_json: bool, owner: tuple[str, ...], rules_only: bool) -> None:
    """Score detection on a labeled corpus (labels.jsonl + .eml files, see EVAL.md).

    Exits 0 whenever the evaluation ran, whatever the scores.

    \b
    Examples:
      offerwatch eval ../shared/corpus/dev
      offerwatch eval ../shared/corpus/dev --json > report.json
      offerwatch eval ../shared/corpus/dev --rules-only
    """
    from offerwatch.daemon.evaluate import CorpusError, evaluate
    from offerwatch.daemon.report import print_eval
    from offerwatch.extractors import learned

    learned.set_enabled(not rules_only)

    try:
        result = evaluate(path, owner=owner)
    except CorpusError as err:
        raise click.ClickException(str(err)) from err
    if as_json:
        click.echo(json.dumps(result, indent=1, ensure_ascii=False))
    else:
        print_eval(result, console(ctx))


# -- signals ----------------------------------------------------------------------------------

@click.group("signals", invoke_without_command=True)
@click.option("--app", "app_id", type=int, metavar="ID", help="Only this application.")
@click.option("--type", "types", multiple=True, metavar="TYPE", help="Only this signal type (repeatable).")
@click.option("--dismissed", is_flag=True, help="Show the signals you dismissed instead.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_context
def signals_command(ctx: click.Context, app_id: int | None, types: tuple[str, ...], dismissed: bool, as_json: bool) -> None:
    """List the signals in the database, with their evidence and the rule that fired.

    The first column is the signal's id, for `offerwatch signals dismiss ID`.

    \b
    Examples:
      offerwatch signals
      offerwatch signals --type salary_reconfirm --type offer
      offerwatch signals dismiss 42
      offerwatch signals --dismissed
    """
    if ctx.invoked_subcommand is not None:
        return
    from offerwatch.daemon.report import print_signals
    from offerwatch.models.domain import SignalType

    known = {t.value for t in SignalType}
    for t in types:
        if t not in known:
            raise click.BadParameter(f"{t!r} is not a signal type (one of: {', '.join(sorted(known))})", param_hint="--type")
    with open_store(ctx) as store:
        if app_id is not None and not store.rows("SELECT 1 FROM applications WHERE id = ?", [app_id]):
            raise click.ClickException(f"there is no application #{app_id}: `offerwatch apps` lists them")
        rows = store.signals(app_id, types or None, dismissed=dismissed)
    if as_json:
        from offerwatch.daemon.jsonout import nested

        for r in rows:
            click.echo(json.dumps(nested(r), default=str, ensure_ascii=False))
    elif dismissed and not rows:
        console(ctx).print("No dismissed signals.")
    else:
        print_signals(rows, console(ctx), human_dates(ctx))


@signals_command.command("dismiss")
@click.argument("signal_id", type=int, metavar="ID")
@click.option("--undo", is_flag=True, help="Take the dismissal back.")
@click.pass_context
def signals_dismiss(ctx: click.Context, signal_id: int, undo: bool) -> None:
    """Dismiss a signal offerwatch got wrong (or --undo it).

    A dismissed signal leaves the digest, the outlook and the stage, and stays dismissed when
    its message is read again. `offerwatch signals --dismissed` lists them.

    \b
    Examples:
      offerwatch signals dismiss 42
      offerwatch signals dismiss 42 --undo
    """
    from offerwatch.daemon.apps_cli import _assess_config
    from offerwatch.daemon.report import show
    from offerwatch.models.timeline import assess

    with open_store(ctx) as store:
        try:
            row = store.dismiss_signal(signal_id, undo=undo)
        except KeyError:
            raise click.ClickException(f"there is no signal #{signal_id}: `offerwatch signals` lists them with their ids") from None
        if row.get("application_id") is not None:
            assess(store, [int(row["application_id"])], config=_assess_config(ctx))
    what = "restored" if undo else "dismissed"
    console(ctx).print(f"signal #{signal_id} ({show(row['type'])}) {what}" + ("" if undo else f"; undo with `offerwatch signals dismiss {signal_id} --undo`"))


# -- search -----------------------------------------------------------------------------------

@click.command("search")
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="At most this many results.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_context
def search_command(ctx: click.Context, query: str, limit: int, as_json: bool) -> None:
    """Search the text of job mail and the evidence of signals (words are stemmed:
    "interview" also finds "interviewing"). Private mail keeps no text and is not searched.

    \b
    Examples:
      offerwatch search salary
      offerwatch search "final round" --limit 5 --json
    """
    from offerwatch.daemon.report import print_search

    if not query.strip():
        raise click.BadParameter("give at least one word to search for", param_hint="QUERY")
    with open_store(ctx) as store:
        rows = store.search(query, limit=limit)
    if as_json:
        from offerwatch.daemon.jsonout import nested

        for r in rows:
            click.echo(json.dumps(nested(r), default=str, ensure_ascii=False))
    else:
        print_search(rows, query, console(ctx), human_dates(ctx))


# -- config -----------------------------------------------------------------------------------

@click.group("config")
def config_group() -> None:
    """Inspect and validate the configuration.

    \b
    Examples:
      offerwatch config check
      offerwatch --config ~/mail/ow.toml config check
    """


@config_group.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.pass_context
def config_check(ctx: click.Context, path: Path | None) -> None:
    """Validate a config file; lists every problem at once and exits 1 if there is any.

    \b
    Examples:
      offerwatch config check
      offerwatch config check ~/.config/offerwatch/config.toml
    """
    from offerwatch.daemon.config import ConfigError
    from offerwatch.daemon.config import load_config as load

    given = app_context(ctx).config_path
    target = path or (Path(given) if given else None)
    try:
        cfg = load(target, required=True)
    except ConfigError as err:
        click.echo(str(err), err=True)
        sys.exit(1)
    alerts = cfg.alerts
    if alerts.enabled:
        quiet = alerts.quiet_hours
        said = (f"alerts via {', '.join(alerts.channels)} on {', '.join(alerts.types)}"
                + (f", quiet {quiet[0]:%H:%M}-{quiet[1]:%H:%M}" if quiet else ""))
    else:
        said = "alerts off"
    click.echo(f"{cfg.source}: OK — {len(cfg.accounts)} account(s), database {cfg.database}, digest via {cfg.digest.channel}, "
               f"{said}")
