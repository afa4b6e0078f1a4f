"""The ``offerwatch`` command line: parses arguments, calls the library, explains errors.

Commands live in small modules that are imported only when the command runs (see
:class:`LazyGroup`), and nothing here imports spaCy, so ``offerwatch --help`` is instant.
"""

from __future__ import annotations

import importlib
import logging
import sys
import weakref
from datetime import date, datetime

import click


#: command name -> ("module:attribute", one-line help). The module is imported only when the
#: command runs or its own help is shown; the one-line help keeps `offerwatch --help` instant.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("offerwatch.daemon.commands:demo", "Run everything on the bundled sample mailbox and print a digest."),
    "backfill": ("offerwatch.daemon.commands:backfill", "Read a mailbox's history once (resumable, idempotent)."),
    "scan": ("offerwatch.daemon.commands:scan", "Show what the pipeline sees in one message and why."),
    "eval": ("offerwatch.daemon.commands:eval_command", "Score detection on a labeled corpus (EVAL.md)."),
    "signals": ("offerwatch.daemon.commands:signals_command", "List stored signals with evidence and rule."),
    "search": ("offerwatch.daemon.commands:search_command", "Full-text search over job mail and signal evidence."),
    "config": ("offerwatch.daemon.commands:config_group", "Validate the configuration."),
    "apps": ("offerwatch.daemon.apps_cli:apps_group", "List applications; merge, split, rename or close them."),
    "notjob": ("offerwatch.daemon.notjob_cli:notjob_command", "Mark a sender or domain as not job-related (or list the marks)."),
    "app": ("offerwatch.daemon.apps_cli:app_command", "Show one application's timeline."),
    "export": ("offerwatch.daemon.export_cli:export_command", "Export applications (CSV, JSON) and interviews (iCalendar)."),
    "digest": ("offerwatch.daemon.digest_cli:digest_command", "Build, preview or send the daily digest."),
    "check": ("offerwatch.daemon.imap_cli:check_command", "Connect to each account and show what will be read."),
    "sync": ("offerwatch.daemon.imap_cli:sync_command", "One incremental pass over every account."),
    "run": ("offerwatch.daemon.service_cli:run_command", "Run the service in the foreground (poll + daily digest)."),
    "status": ("offerwatch.daemon.service_cli:status_command", "Sync health, last and next digest, counts."),
    "service": ("offerwatch.daemon.service_cli:service_group", "Install or remove the systemd/launchd service."),
    "init": ("offerwatch.daemon.service_cli:init_command", "Interactive first-run set-up."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        names.update(n for n, (target, _) in LAZY_COMMANDS.items() if _available(target))
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and _available(LAZY_COMMANDS[cmd_name][0]):
            module, attr = LAZY_COMMANDS[cmd_name][0].split(":")
            command = getattr(importlib.import_module(module), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{LAZY_COMMANDS[cmd_name][0]} is not a click command")
            add_global_options(command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; a fault of the database or its disk (disk full, corrupt file, I/O
        error) ends it with one line saying what happened and what to do, never a traceback."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:  # noqa: BLE001 - only storage faults are turned into messages; the rest re-raised
            fault = _storage_fault(err, ctx)
            if fault is None:
                raise
            logging.getLogger(__name__).debug("storage fault", exc_info=True)
            raise click.ClickException(str(fault)) from err

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, LAZY_COMMANDS[name][1]) for name in self.list_commands(ctx) if name in LAZY_COMMANDS]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _storage_fault(err: BaseException, ctx: click.Context) -> Exception | None:
    """The :class:`~offerwatch.models.store.StorageFault` ``err`` (or its cause) stands for, if any."""
    from offerwatch.daemon.context import app_context
    from offerwatch.models.store import storage_fault

    app = app_context(ctx)
    loaded = app.loaded_config
    path = app.db_path or (loaded.database if loaded is not None else None)
    for candidate in (err, err.__cause__):
        if candidate is not None:
            fault = storage_fault(candidate, path)
            if fault is not None:
                return fault
    return None


def _available(target: str) -> bool:
    """Whether a command's module is part of this installation."""
    from importlib.util import find_spec

    return find_spec(target.split(":")[0]) is not None


# -- the global options, also accepted after the command ------------------------------------
#
# `offerwatch demo --db x.db` is how people type; click only knows a group's options before the
# command. So every command (and every subcommand of a group) also gets --config, --db, -v and
# -q; their callbacks write to the same AppContext the group's options fill.


def _late_path(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        from offerwatch.daemon.context import app_context

        app = app_context(ctx)
        if param.name == "config_path":
            app.use_config_path(value)  # a config loaded before the option was seen is stale
        else:
            app.db_path = value


def _late_verbosity(ctx: click.Context, param: click.Parameter, value: int | bool) -> None:
    if value:
        from offerwatch.daemon.context import app_context

        app = app_context(ctx)
        if param.name == "quiet":
            app.quiet = True
        else:
            app.verbose += int(value)
        configure_logging(app.verbose, app.quiet)


#: Commands add_global_options has already given the options (a command can be reached twice).
_WITH_GLOBALS: weakref.WeakSet[click.Command] = weakref.WeakSet()


def add_global_options(command: click.Command) -> None:
    """Give ``command`` (and a group's subcommands) the global options; idempotent."""
    if command in _WITH_GLOBALS:
        return
    _WITH_GLOBALS.add(command)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_global_options(sub)
    taken = {opt for p in command.params for opt in getattr(p, "opts", [])}
    late = [
        click.Option(["--config", "config_path"], metavar="PATH", expose_value=False, callback=_late_path,
                     help="Config file (as the global --config)."),
        click.Option(["--db", "db_path"], metavar="PATH", expose_value=False, callback=_late_path,
                     help="Database file (as the global --db)."),
        click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_late_verbosity,
                     help="More log output (as the global -v)."),
        click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_late_verbosity,
                     help="Only errors; no progress bar (as the global -q)."),
    ]
    command.params.extend(o for o in late if not taken & set(o.opts))


def configure_logging(verbose: int, quiet: bool) -> None:
    """stderr logging: warnings by default, -v info, -vv debug; -q errors only."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries stay quiet unless asked: their DEBUG lines can carry message content.
    for noisy in ("imapclient", "apscheduler", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.ERROR if verbose < 3 else logging.DEBUG)
    from offerwatch.daemon.secrets import install_log_redaction

    install_log_redaction()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", metavar="PATH", envvar="OFFERWATCH_CONFIG",
              help="Config file (default: the platform's config dir, e.g. ~/.config/offerwatch/config.toml).")
@click.option("--db", "db_path", metavar="PATH", envvar="OFFERWATCH_DB", help="Database file; overrides [storage] database.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr; no progress bar.")
@click.version_option(package_name="offerwatch")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_path: str | None, verbose: int, quiet: bool) -> None:
    """offerwatch: recruiter signals from your mailbox, an application timeline, a daily digest.

    Everything stays on this machine. Start with `offerwatch demo`, which needs no account.
    The options below also work after the command (`offerwatch demo --db demo.db`).

    \b
    Examples:
      offerwatch demo
      offerwatch backfill --source ~/Takeout/Mail/All.mbox --since 2026-06-01
      offerwatch scan message.eml
      offerwatch apps
    """
    from offerwatch.daemon.context import AppContext
    from offerwatch.daemon.memory import return_big_buffers_to_os

    return_big_buffers_to_os()  # before any mail is read: a long run keeps no large message's peak
    configure_logging(verbose, quiet)
    ctx.obj = AppContext(config_path, db_path, verbose=verbose, quiet=quiet)


def parse_day(value: str | None, option: str) -> date | None:
    """``YYYY-MM-DD`` -> date, as a usage error naming the option when malformed."""
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date as YYYY-MM-DD", param_hint=option) from None


def main() -> None:
    cli(prog_name="offerwatch")


if __name__ == "__main__":
    main()
