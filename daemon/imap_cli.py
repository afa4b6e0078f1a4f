"""IMAP accounts on the command line: ``check``, ``sync`` and the source behind ``backfill --account``.

Building an :class:`ImapSource` from the config lives here so every command (and the
service) connects the same way: secrets from keyring/env/command, TLS verified unless the
user said otherwise, folders as configured.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from offerwatch.daemon.config import AccountConfig, Config
from offerwatch.daemon.context import console, load_config

# Imported by the service too; both keep ImapSource/SecretProvider imports lazy so
# `offerwatch --help` stays instant.


def account_source(acct: AccountConfig, *, folders: Sequence[str] | None = None):
    """The source of one configured account (not yet connected): an ImapSource, or a
    MaildirSource for an account with ``maildir = PATH``."""
    if acct.maildir:
        from offerwatch.daemon.sources.local import MaildirSource

        return MaildirSource.for_account(acct.name, acct.maildir, folders=list(folders or acct.folders) or None)
    from offerwatch.daemon.secrets import SecretProvider
    from offerwatch.daemon.sources.imap import ImapSource

    secret = SecretProvider(
        acct.name,
        password_env=acct.password_env or None,
        password_command=acct.password_command or None,
        token_command=acct.token_command or None,
    )
    return ImapSource(
        acct.name, acct.host, acct.port, tls=acct.tls, allow_insecure=acct.allow_insecure,  # type: ignore[arg-type]
        ca_file=acct.ca_file or None, username=acct.username, auth=acct.auth,  # type: ignore[arg-type]
        secret=secret, folders=list(folders or acct.folders) or None, timeout=acct.timeout_seconds,
    )


def open_account_source(ctx: click.Context, name: str, folders: Sequence[str] | None = None):
    from offerwatch.daemon.config import ConfigError
    from offerwatch.daemon.sources.base import SourceError

    config = load_config(ctx)
    if not config.accounts:
        raise click.ClickException(config.no_accounts())
    try:
        acct = config.account(name)
        return account_source(acct, folders=folders)
    except (ConfigError, SourceError) as err:
        raise click.ClickException(str(err)) from err


def _accounts(config: Config, names: Sequence[str]) -> list[AccountConfig]:
    from offerwatch.daemon.config import ConfigError

    if not config.accounts:
        raise click.ClickException(config.no_accounts())
    try:
        return [config.account(n) for n in names] if names else list(config.accounts)
    except ConfigError as err:
        raise click.ClickException(str(err)) from err


@click.command("check")
@click.option("--account", "names", multiple=True, metavar="NAME", help="Only this account (repeatable).")
@click.pass_context
def check_command(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Connect to each account; show capabilities, folders and what will be read.

    Changes nothing on the server (folders are opened read-only). Exits 1 if any account fails.

    \b
    Examples:
      offerwatch check
      offerwatch check --account personal
    """
    from offerwatch.daemon.sources.base import SourceError
    from offerwatch.daemon.sources.imap import RetryPolicy

    config = load_config(ctx)
    out = console(ctx)
    failed = False
    policy = RetryPolicy(attempts=2, base_delay=1.0)
    for acct in _accounts(config, names):
        out.rule(f"[bold]{acct.name}[/] {acct.where}", align="left")
        source = None
        try:
            source = account_source(acct)
            policy.call(source.connect, account=acct.name)
            caps = source.capabilities()
            if caps:  # a maildir has none
                out.print(f"capabilities: {' '.join(caps[:30])}{' …' if len(caps) > 30 else ''}")
            if getattr(source, "is_gmail", False):
                out.print("Gmail: INBOX and All Mail are deduplicated by X-GM-MSGID")
            for folder in source.folders():
                n = source.count(folder, 0, None, None)
                role = f" ({folder.role})" if folder.role else ""
                validity = "" if acct.maildir else f", UIDVALIDITY {folder.uidvalidity}"
                out.print(f"  {folder.name}{role}: {n if n is not None else '?'} messages{validity}")
            for problem in source.problems:
                out.print(f"  [yellow]note:[/] {problem}")
            out.print("[green]OK[/]")
        except SourceError as err:
            failed = True
            out.print(f"[red]failed:[/] {err}")
        finally:
            if source is not None:
                source.close()
    if failed:
        ctx.exit(1)


@click.command("sync")
@click.option("--account", "names", multiple=True, metavar="NAME", help="Only this account (repeatable).")
@click.option("--no-progress", is_flag=True, help="No progress bar (for logs).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=120.0, show_default=True, metavar="SECONDS",
              help="While 'offerwatch run' is running: how long to wait for its poll report.")
@click.pass_context
def sync_command(ctx: click.Context, names: tuple[str, ...], no_progress: bool, timeout: float) -> None:
    """One incremental pass over every account: new mail only, read-only.

    While 'offerwatch run' holds the database, sync asks that service to poll
    at once and prints its report instead.

    \b
    Examples:
      offerwatch sync
      offerwatch sync --account personal
    """
    from offerwatch.daemon.commands import _print_report, run_source
    from offerwatch.daemon.sources.imap import RetryPolicy

    from offerwatch.daemon.context import database_path
    from offerwatch.daemon.pollnow import PollNowError, request_poll, service_listening

    config = load_config(ctx)
    database = database_path(ctx)
    if service_listening(database):
        if names:
            raise click.ClickException("the running service polls every account; run 'offerwatch sync' "
                                       "without --account, or stop the service first")
        try:
            answer = request_poll(database, timeout)
        except PollNowError as err:
            raise click.ClickException(str(err)) from err
        click.echo(f"the running service polled {answer['accounts']} account(s): {answer['read']} new message(s), "
                   f"{answer['signals']} signal(s)"
                   + (f"; failed: {', '.join(answer['failed'])}" if answer["failed"] else ""))
        if answer["failed"]:
            ctx.exit(1)
        return
    policy = RetryPolicy()
    failed = False
    for acct in _accounts(config, names):
        source = account_source(acct)
        try:
            store, report = run_source(ctx, source, store_path=None, backfill=False, show_progress=not no_progress,
                                       retry=policy)
            store.close()
        finally:
            source.close()
        _print_report(ctx, report)
        failed = failed or report.failed
    if failed:
        ctx.exit(1)
