"""``offerwatch run``, ``status``, ``service install|uninstall|status`` and ``init``.

Thin commands over :mod:`.service` (the scheduler and its jobs), :mod:`.health` (status),
:mod:`.service_files` (systemd/launchd) and :mod:`.firstrun` (presets, config writing).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from offerwatch.daemon.context import app_context, console, database_path, human_dates, load_config

if TYPE_CHECKING:
    from offerwatch.models.humandate import HumanDates

log = logging.getLogger(__name__)

#: ``sysexits.h`` EX_CONFIG: the unit file tells systemd not to restart on it.
EX_CONFIG = 78


def _root_flags(ctx: click.Context) -> tuple[int, bool]:
    app = app_context(ctx)
    return app.verbose, app.quiet


def _config_path(ctx: click.Context) -> Path:
    from offerwatch.daemon.config import default_config_path

    app = app_context(ctx)
    return Path(app.config_path).expanduser() if app.config_path else default_config_path()


# -- run ----------------------------------------------------------------------------------------

@click.command("run")
@click.option("--log-file", metavar="PATH", type=click.Path(dir_okay=False),
              help="Also log to PATH, rotated at 5 MB (5 old files kept).")
@click.option("--once", is_flag=True, help="One poll (and the digest if it is due), then exit; exit 1 if a sync failed.")
@click.option("--poll-seconds", type=click.FloatRange(min=0.1), metavar="SECONDS",
              help="Poll every SECONDS instead of [schedule] poll_minutes, without jitter (tests, benchmarks).")
@click.option("--heartbeat-seconds", type=click.FloatRange(min=0.1), default=None, hidden=True,
              help="Seconds between sleep/wake checks (default 30).")
@click.option("--fake-clock-file", type=click.Path(dir_okay=False), hidden=True,
              help="Test hook: a file holding seconds to add to the wall clock (simulates a sleep).")
@click.option("--retry-base-delay", type=click.FloatRange(min=0.0), default=1.0, hidden=True,
              help="First back-off delay in seconds after a transient error.")
@click.pass_context
def run_command(ctx: click.Context, log_file: str | None, once: bool, poll_seconds: float | None,
                heartbeat_seconds: float | None, fake_clock_file: str | None, retry_base_delay: float) -> None:
    """Run the service in the foreground: poll every account, send the digest at its time.

    Polls every [schedule] poll_minutes (with jitter), sends the digest at [digest] time
    in [digest] timezone, and notices when the computer wakes from sleep (one poll and a
    missed digest then). One instance per database. SIGTERM or Ctrl-C finish the batch in
    progress and exit 0 within 10 s; SIGHUP reloads the config (an invalid one is logged
    and the running one kept). Logs go to stderr (the journal under systemd).

    \b
    Examples:
      offerwatch run
      offerwatch -v run --log-file ~/.local/state/offerwatch/offerwatch.log
      offerwatch run --once            # one poll, e.g. from cron
      kill -HUP $(pgrep -f 'offerwatch.* run')   # reload the config
    """
    from offerwatch.daemon.config import ConfigError
    from offerwatch.daemon.config import load_config as _load
    from offerwatch.daemon.lock import DatabaseLock, LockedError
    from offerwatch.daemon.service import HEARTBEAT_SECONDS, Clock, Service, configure_service_logging, load_for_reload
    from offerwatch.models.store import Store, StoreError

    verbose, quiet = _root_flags(ctx)
    level = logging.ERROR if quiet else logging.DEBUG if verbose > 1 else logging.INFO
    configure_service_logging(level, log_file)
    app = app_context(ctx)
    try:
        config = _load(app.config_path, required=bool(app.config_path))
    except ConfigError as err:
        click.echo(f"error: {err}", err=True)
        ctx.exit(EX_CONFIG)
    if not config.accounts:
        click.echo(f"error: {config.no_accounts()}, then start the service again", err=True)
        ctx.exit(EX_CONFIG)
    db = Path(app.db_path).expanduser() if app.db_path else Path(config.database).expanduser()
    try:
        lock = DatabaseLock(db).acquire()
    except (LockedError, StoreError) as err:
        click.echo(f"error: {err}", err=True)
        ctx.exit(1)
    try:
        try:
            store = Store.open(db)
        except StoreError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(1)
        service = Service(config, store, config_loader=load_for_reload(app.config_path), poll_seconds=poll_seconds,
                          heartbeat_seconds=heartbeat_seconds or HEARTBEAT_SECONDS, clock=Clock(fake_clock_file),
                          retry_base_delay=retry_base_delay)
        service.install_signal_handlers()
        if once:
            result = service.run_once()
            store.close()
            if result is None or result.failed:
                ctx.exit(1)
            return
        finished = service.run_forever()
        if finished:
            store.close()
        else:  # a worker thread is stuck in I/O: do not wait for it at interpreter exit
            lock.release()
            logging.shutdown()
            os._exit(0)
        log.info("offerwatch service stopped")
    finally:
        lock.release()


# -- status -------------------------------------------------------------------------------------

@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@click.option("--max-age", type=click.FloatRange(min=0), metavar="MINUTES",
              help="Also fail (exit 1) when no folder was synced successfully within MINUTES.")
@click.pass_context
def status_command(ctx: click.Context, as_json: bool, max_age: float | None) -> None:
    """Sync health per account and folder, last and next digest, counts, the service.

    Exits 1 when the last sync of any folder failed (or, with --max-age, when the last
    successful sync is too old), so it works as a health check.

    \b
    Examples:
      offerwatch status
      offerwatch status --json
      offerwatch status --max-age 60 || notify-send "offerwatch is not syncing"
    """
    from offerwatch.daemon.health import ago, collect_status
    from offerwatch.models.store import Store, StoreError

    config = load_config(ctx)
    db = database_path(ctx)
    if not db.exists():
        raise click.ClickException(
            f"no database at {db} yet: run `offerwatch init`, then `offerwatch backfill --account NAME` or `offerwatch run`"
        )
    try:
        store = Store.open(db)
    except StoreError as err:
        raise click.ClickException(str(err)) from err
    now = datetime.now(timezone.utc)
    try:
        status = collect_status(store, config, db, now=now)
    finally:
        store.close()
    stale = False
    if max_age is not None:
        last = status["last_sync"]
        stale = last is None or (now - datetime.fromisoformat(last)).total_seconds() > max_age * 60
        status["stale"] = stale
    failed = not status["healthy"] or stale
    if as_json:
        click.echo(json.dumps(status, indent=1, default=str))
        ctx.exit(1 if failed else 0)

    out = console(ctx)
    hd = human_dates(ctx)  # the digest's zone and style; --json above keeps ISO 8601
    svc = status["service"]
    if svc["running"]:
        line = f"[green]service running[/] (PID {svc['pid']})"
        if svc.get("next_poll"):
            line += f", next poll {_clock(svc['next_poll'], hd)}"
        out.print(line)
    else:
        out.print("[yellow]service not running[/] (start it with `offerwatch run` or `offerwatch service install`)")
    if svc.get("storage_fault"):
        from rich.markup import escape

        out.print(f"[red]the service cannot write:[/] {escape(svc['storage_fault'])}")
    out.print(f"database {status['database']}, config {status['config']}")
    out.rule("[bold]sync[/]", align="left")
    if not status["folders"] and not status["never_synced_accounts"]:
        out.print("no accounts configured or synced yet")
    for f in status["folders"]:
        mark = "[red]FAILING[/]" if f["failing"] else "[green]ok[/]"
        out.print(f"{mark} {f['account']} / {f['folder']}: last successful sync {ago(f['last_sync'], now)}, "
                  f"{f['messages_seen']} messages seen")
        if f["last_error"]:
            out.print(f"     last error ({ago(f['last_error_at'], now)}): {f['last_error']}")
    for name in status["never_synced_accounts"]:
        out.print(f"[yellow]never synced[/] {name}: run `offerwatch check --account {name}`, then `offerwatch run`")
    if stale:
        out.print(f"[red]no successful sync within {max_age:g} min[/] (last: {ago(status['last_sync'], now)})")
    out.rule("[bold]digest[/]", align="left")
    dg = status["digest"]
    last = dg["last"]
    if last:
        when = f", sent {ago(last.get('sent_at'), now)}" if last.get("sent_at") else ""
        error_note = f" — {last['error']}" if last.get("error") else ""
        out.print(f"last: {hd.day(last['for_date'])} {last['status']} via {last.get('channel') or dg['channel']}"
                  f"{when}{error_note}")
    else:
        out.print("last: none yet")
    out.print(f"next: {hd.day_time(dg['next'])} via {dg['channel']}")
    out.rule("[bold]alerts[/]", align="left")
    al = status["alerts"]
    if al["channels"]:
        out.print(f"via {', '.join(al['channels'])}, last sent {ago(al['last_sent'], now)}")
    else:
        out.print("off ([alerts] channels)")
    for channel, waiting in al["pending"].items():
        from rich.markup import escape

        out.print(f"[yellow]{waiting['count']} waiting[/] for {channel}"
                  + (f": {escape(waiting['error'])}" if waiting["error"] else " (quiet hours)"))
    out.rule("[bold]counts[/]", align="left")
    c = status["counts"]
    out.print(f"{c['applications']} applications ({c['open_applications']} open), {c['signals']} signals, "
              f"{c['messages']} messages ({c['job_messages']} job mail), {c['digests']} digests")
    ctx.exit(1 if failed else 0)


def _clock(ts: str, hd: HumanDates) -> str:
    """``14:05:09``: the time of day of an instant a few minutes away, in the digest's zone."""
    try:
        return hd.local(datetime.fromisoformat(ts)).strftime("%H:%M:%S")
    except ValueError:
        return ts


# -- service ------------------------------------------------------------------------------------

def _runner():
    """The command runner (systemctl/launchctl); tests replace this function."""
    from offerwatch.daemon.service_files import subprocess_runner

    return subprocess_runner


@click.group("service")
def service_group() -> None:
    """Install or remove offerwatch as a systemd user service (Linux) or launchd agent (macOS).

    \b
    Examples:
      offerwatch service install
      offerwatch service install --print
      offerwatch service status
      offerwatch service uninstall
    """


_platform_option = click.option("--platform", type=click.Choice(["linux", "macos"]), default=None,
                                help="Write the file for this platform (default: this machine's).")


def _spec(ctx: click.Context, platform: str | None):
    from offerwatch.daemon.service_files import service_spec

    app = app_context(ctx)
    config = _config_path(ctx)
    db = Path(app.db_path).expanduser().resolve() if app.db_path else None
    try:
        return service_spec(platform=platform, config=config.resolve(), db=db)
    except ValueError as err:
        raise click.ClickException(str(err)) from err


def _given(password: str) -> Callable[[], str]:
    """A secret provider for a password typed at the prompt."""
    return lambda: password


def _run_steps(steps, runner) -> tuple[bool, list[str]]:
    notes: list[str] = []
    for argv, must in steps:
        code, output = runner(argv)
        if code != 0:
            text = f"`{' '.join(argv)}` failed ({code}): {output or 'no output'}"
            if must:
                return False, [*notes, text]
            notes.append(text)
    return True, notes


@service_group.command("install")
@_platform_option
@click.option("--print", "--dry-run", "dry_run", is_flag=True, help="Only print the file that would be written.")
@click.option("--no-enable", is_flag=True, help="Write the file but do not call systemctl/launchctl.")
@click.pass_context
def service_install(ctx: click.Context, platform: str | None, dry_run: bool, no_enable: bool) -> None:
    """Write the service file for this Python and config, then enable and start it.

    The service runs `<this python> -m offerwatch.daemon.cli --config <config> run`,
    restarts on failure, and logs to the journal (Linux) or ~/Library/Logs/offerwatch (macOS).

    \b
    Examples:
      offerwatch service install
      offerwatch service install --print          # show the unit, change nothing
      offerwatch --config ~/mail/ow.toml service install --no-enable
    """
    from offerwatch.daemon.config import ConfigError
    from offerwatch.daemon.config import load_config as _load
    from offerwatch.daemon.service_files import enable_commands, write

    spec = _spec(ctx, platform)
    out = console(ctx)
    config_path = _config_path(ctx)
    missing = f"the service would read {config_path}, which does not exist: run `offerwatch init` first"
    if dry_run:
        if not config_path.exists():
            click.echo(f"warning: {missing} (or give --config PATH)", err=True)
        click.echo(f"would write {spec.path}:", err=True)
        click.echo(spec.text, nl=False)
        return
    if not config_path.exists():
        raise click.ClickException(f"{missing}, or give --config PATH; nothing was installed")
    try:
        config = _load(config_path, required=True)
    except ConfigError as err:
        raise click.ClickException(f"{err}\nfix the config first (`offerwatch config check`), then install again") from err
    if not config.accounts:
        raise click.ClickException(config.no_accounts())
    try:
        write(spec)
    except OSError as err:
        raise click.ClickException(f"cannot write {spec.path}: {err.strerror}") from err
    out.print(f"wrote {spec.path}")
    env_vars = sorted({a.password_env for a in config.accounts if a.password_env}
                      | ({config.digest.smtp.password_env} if config.digest.smtp.password_env else set()))
    if env_vars:
        where = ("`systemctl --user edit offerwatch` (Environment=VAR=...)" if spec.platform == "linux"
                 else f"EnvironmentVariables in {spec.path}")
        out.print(f"[yellow]note:[/] the service does not see your shell's environment: set {', '.join(env_vars)} with "
                  f"{where}, or switch to the keyring or a password_command")
    if no_enable:
        how = ("systemctl --user daemon-reload && systemctl --user enable --now offerwatch" if spec.platform == "linux"
               else f"launchctl bootstrap gui/{os.getuid()} {spec.path}")
        out.print(f"not enabled (--no-enable); to start it: {how}")
        return
    ok, notes = _run_steps(enable_commands(spec), _runner())
    for note in notes:
        out.print(f"[yellow]note:[/] {note}")
    if not ok:
        hint = ("is a systemd user session running? (`systemctl --user status`; over SSH, `loginctl enable-linger "
                "$USER`)" if spec.platform == "linux" else "check `launchctl print gui/$UID`")
        raise click.ClickException(f"the file is written at {spec.path} but the service could not be started; {hint}")
    if spec.platform == "linux":
        out.print("[green]enabled and started[/]: logs with `journalctl --user -u offerwatch -f`; "
                  "to keep it running while you are logged out: `loginctl enable-linger $USER`")
    else:
        out.print(f"[green]loaded[/]: logs in {spec.log_dir}")
    out.print("check it with `offerwatch status`")


@service_group.command("uninstall")
@_platform_option
@click.option("--no-disable", is_flag=True, help="Only remove the file; do not call systemctl/launchctl.")
@click.pass_context
def service_uninstall(ctx: click.Context, platform: str | None, no_disable: bool) -> None:
    """Stop and disable the service and remove its file (the config and database stay).

    \b
    Examples:
      offerwatch service uninstall
    """
    from offerwatch.daemon.service_files import disable_commands

    spec = _spec(ctx, platform)
    out = console(ctx)
    if not no_disable:
        _, notes = _run_steps(disable_commands(spec), _runner())
        for note in notes:
            out.print(f"[dim]{note}[/]")
    if spec.path.exists():
        spec.path.unlink()
        out.print(f"removed {spec.path}")
        if spec.platform == "linux" and not no_disable:
            _runner()(["systemctl", "--user", "daemon-reload"])
    else:
        out.print(f"no service file at {spec.path}; nothing to remove")


@service_group.command("status")
@_platform_option
@click.option("--no-manager", is_flag=True, help="Do not ask systemctl/launchctl; only check the file.")
@click.pass_context
def service_status(ctx: click.Context, platform: str | None, no_manager: bool) -> None:
    """Whether the service file is installed, points at this Python, and is running.

    Exits 1 when it is not installed or not running.

    \b
    Examples:
      offerwatch service status
    """
    import shlex

    from offerwatch.daemon.service_files import status_commands

    spec = _spec(ctx, platform)
    out = console(ctx)
    if not spec.path.exists():
        out.print(f"not installed ({spec.path} does not exist): `offerwatch service install`")
        ctx.exit(1)
    text = spec.path.read_text(encoding="utf-8", errors="replace")
    out.print(f"installed: {spec.path}")
    if spec.argv[0] not in text:
        out.print(f"[yellow]it runs another Python than this one ({spec.argv[0]})[/]: run `offerwatch service install` "
                  "again to point it here")
    if no_manager:
        return
    healthy = True
    for argv in status_commands(spec):
        code, output = _runner()(argv)
        first = output.splitlines()[0] if output else ""
        out.print(f"{shlex.join(argv)}: {first or code}")
        healthy = healthy and code == 0
    ctx.exit(0 if healthy else 1)


# -- init ---------------------------------------------------------------------------------------

class _Asker:
    """Returns a flag's value, else (interactive) prompts, else (non-interactive) the default."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive

    def __call__(self, value: Any, text: str, default: Any = None, *, flag: str, **kw: Any) -> Any:
        if value is not None:
            return value
        if not self.interactive:
            if default is None:
                raise click.UsageError(f"{flag} is required with --non-interactive")
            return default
        return click.prompt(text, default=default, **kw)

    def confirm(self, value: bool | None, text: str, default: bool) -> bool:
        if value is not None:
            return value
        if not self.interactive:
            return default
        return click.confirm(text, default=default)


def _system_zone_name() -> str:
    from offerwatch.daemon.digest.job import system_zone

    zone = system_zone()
    return str(getattr(zone, "key", "") or "")


@click.command("init")
@click.option("--address", help="Your email address.")
@click.option("--provider", type=click.Choice(["gmail", "outlook", "fastmail", "icloud", "yahoo", "generic"]),
              help="Server preset (default: recognised from the address).")
@click.option("--name", help="A short name for the account (default: the provider).")
@click.option("--host", help="IMAP server.")
@click.option("--port", type=click.IntRange(1, 65535), help="IMAP port (993 with TLS).")
@click.option("--tls", type=click.Choice(["implicit", "starttls", "none"]), help="How the connection is encrypted.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help="Extra CA certificate (self-signed server).")
@click.option("--username", help="Login name (default: the address).")
@click.option("--auth", type=click.Choice(["password", "xoauth2"]), help="Password (or app password) or OAuth2.")
@click.option("--secret-store", type=click.Choice(["keyring", "command", "env"]),
              help="Where the password lives: system keyring, a password_command, or an environment variable.")
@click.option("--password-command", help="Command that prints the password (e.g. 'pass show mail/work').")
@click.option("--password-env", metavar="VAR", help="Environment variable that holds the password.")
@click.option("--password-stdin", is_flag=True, help="Read the password for the keyring from standard input.")
@click.option("--token-command", help="With --auth xoauth2: command that prints an access token.")
@click.option("--folder", "folders", multiple=True, metavar="NAME", help="Folder to read (repeatable; default INBOX and Sent).")
@click.option("--digest-time", metavar="HH:MM", help="When the daily digest goes out (default 07:30).")
@click.option("--timezone", "tz", metavar="ZONE", help="Time zone of the digest time (default: the system's).")
@click.option("--digest-channel", type=click.Choice(["smtp", "imap", "file"]), help="How the digest is delivered.")
@click.option("--smtp-host", help="SMTP server for the digest.")
@click.option("--smtp-port", type=click.IntRange(1, 65535), help="SMTP port (465 implicit TLS, 587 STARTTLS).")
@click.option("--smtp-tls", type=click.Choice(["implicit", "starttls", "none"]), help="SMTP encryption.")
@click.option("--digest-file", metavar="PATH", help="With --digest-channel file: where digests are written.")
@click.option("--poll-minutes", type=click.FloatRange(min=0.1), default=None, help="Minutes between polls (default 10).")
@click.option("--test-login/--skip-login-test", default=True, help="Log in once to check the settings (default: yes).")
@click.option("--backfill/--no-backfill", default=None, help="Read the last 90 days now (asked when interactive).")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.option("--non-interactive", "-y", "non_interactive", is_flag=True,
              help="Never prompt: take flags, then defaults; fail if a required answer is missing.")
@click.pass_context
def init_command(ctx: click.Context, **opts: Any) -> None:
    """Interactive first-run set-up: account, password, login test, config, first backfill.

    Recognises Gmail, Outlook/Microsoft 365, Fastmail, iCloud and Yahoo addresses and fills
    in their servers; tells you when the provider needs an app password or OAuth2. The
    password goes to the system keyring (or you name a password_command or an environment
    variable): never into the config file, which is written readable by you only.

    \b
    Examples:
      offerwatch init
      offerwatch init --address me@fastmail.com --secret-store command \\
          --password-command "pass show mail/fastmail" --no-backfill -y
      offerwatch --config ./work.toml init --address me@corp.example --host mail.corp.example
    """
    _init(ctx, **opts)


def _init(ctx: click.Context, *, address: str | None, provider: str | None, name: str | None, host: str | None,
          port: int | None, tls: str | None, ca_file: str | None, username: str | None, auth: str | None,
          secret_store: str | None, password_command: str | None, password_env: str | None, password_stdin: bool,
          token_command: str | None, folders: tuple[str, ...], digest_time: str | None, tz: str | None,
          digest_channel: str | None, smtp_host: str | None, smtp_port: int | None, smtp_tls: str | None,
          digest_file: str | None, poll_minutes: float | None, test_login: bool, backfill: bool | None, force: bool,
          non_interactive: bool) -> None:
    import re
    import tomllib
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from offerwatch.daemon.config import ConfigError, parse_config
    from offerwatch.daemon.firstrun import PRESETS, Answers, guess_host, keyring_problem, preset_for, render_config, write_config

    out = console(ctx)
    ask = _Asker(not non_interactive)
    app = app_context(ctx)
    path = _config_path(ctx)
    out.print("[bold]offerwatch init[/]: a few questions, then a login test. Nothing on your server is changed.")
    if path.exists() and not force:
        if not ask.interactive:
            raise click.ClickException(f"{path} already exists: use --force to overwrite it, or --config PATH for another file")
        if not click.confirm(f"{path} already exists. Overwrite it?", default=False):
            raise click.ClickException("left the existing config alone")

    address = ask(address, "Your email address", flag="--address").strip()
    # user@localhost and user@intranet are real addresses: only one @ and no space are required.
    while not re.fullmatch(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)*", address):
        if not ask.interactive:
            raise click.BadParameter(f"{address!r} is not an email address", param_hint="--address")
        out.print(f"[red]{address!r} does not look like an email address[/]")
        address = click.prompt("Your email address").strip()
    preset = PRESETS[provider] if provider else preset_for(address)
    out.print(f"provider: [bold]{preset.label}[/]")
    if preset.note:
        out.print(f"[cyan]note:[/] {preset.note}")
    a = Answers(address=address)
    a.host = ask(host, "IMAP server", preset.host or guess_host(address), flag="--host")
    a.tls = ask(tls, "Encryption", preset.tls, flag="--tls", type=click.Choice(["implicit", "starttls", "none"]))
    a.port = ask(port, "IMAP port", preset.port if a.tls == "implicit" else 143, flag="--port", type=click.IntRange(1, 65535))
    a.ca_file = str(Path(ca_file).resolve()) if ca_file else ""
    a.username = ask(username, "Login name", address, flag="--username")
    default_name = preset.key if preset.key != "generic" else (address.rpartition("@")[2].split(".")[0] or "mail")
    a.name = ask(name, "A short name for this account", default_name, flag="--name")
    a.auth = ask(auth, "Sign-in method", preset.auth, flag="--auth", type=click.Choice(["password", "xoauth2"]))

    password: str | None = None
    if a.auth == "xoauth2":
        a.token_command = ask(token_command, "Command that prints an OAuth2 access token", flag="--token-command")
        a.secret_store = "command"
    else:
        if secret_store is None:
            secret_store = "command" if password_command else "env" if password_env else None
        problem = keyring_problem()
        if secret_store is None:
            if problem:
                out.print(f"[yellow]{problem}[/]: the password cannot go to a keyring here. Choose a password_command "
                          "(for example `pass show mail/work` or `secret-tool lookup ...`) or an environment variable.")
            secret_store = ask(None, "Where should the password come from", "command" if problem else "keyring",
                               flag="--secret-store", type=click.Choice(["keyring", "command", "env"]))
        if secret_store == "keyring" and problem:
            raise click.ClickException(f"{problem}; use --secret-store command --password-command '...' or "
                                       "--secret-store env --password-env VAR instead")
        a.secret_store = secret_store
        if secret_store == "command":
            a.password_command = ask(password_command, "Command that prints the password", flag="--password-command")
        elif secret_store == "env":
            a.password_env = ask(password_env, "Environment variable holding the password", "OFFERWATCH_PASSWORD",
                                 flag="--password-env")
            if not os.environ.get(a.password_env):
                out.print(f"[yellow]{a.password_env} is not set in this shell[/]: export it before `offerwatch run` "
                          "(and in the service's environment); the login test is skipped")
                test_login = False
        else:
            if password_stdin:
                password = sys.stdin.readline().rstrip("\r\n")
            elif ask.interactive:
                password = click.prompt("Password (or app password; not shown)", hide_input=True)
            else:
                raise click.UsageError("--secret-store keyring needs the password: give --password-stdin")
            if not password:
                raise click.UsageError("the password is empty")

    # -- login test and folders
    if test_login:
        password = _login_test(ctx, a, password, ask)
    a.folders = list(folders)
    if not folders and ask.interactive and test_login:
        chosen = click.prompt("Folders to read (comma-separated; empty = INBOX and Sent)", default="", show_default=False)
        a.folders = [f.strip() for f in chosen.split(",") if f.strip()]

    if a.secret_store == "keyring" and password is not None:
        from offerwatch.daemon.secrets import SecretError, store_in_keyring

        try:
            store_in_keyring(a.name, password)
        except SecretError as err:
            raise click.ClickException(f"{err}; run init again with --secret-store command or env") from err
        out.print(f"stored the password in the system keyring (service 'offerwatch', key {a.name!r})")

    # -- digest
    zone_default = _system_zone_name()
    a.digest_time = ask(digest_time, "Daily digest time (HH:MM)", "07:30", flag="--digest-time")
    a.timezone = ask(tz, "Time zone", zone_default or "UTC", flag="--timezone")
    try:
        ZoneInfo(a.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {a.timezone!r} (use a name like Europe/Berlin)", param_hint="--timezone") from None
    channel_default = "smtp" if (preset.smtp_host or preset.key == "generic") and a.auth == "password" else "file"
    a.channel = ask(digest_channel, "Deliver the digest by smtp (mail it to you), imap (put it in a folder) or file",
                    channel_default, flag="--digest-channel", type=click.Choice(["smtp", "imap", "file"]),
                    show_choices=False)  # the question names each choice once, with what it does
    if a.channel == "smtp":
        domain = address.rpartition("@")[2]
        a.smtp_host = ask(smtp_host, "SMTP server", preset.smtp_host or (f"smtp.{domain}" if "." in domain else domain),
                          flag="--smtp-host")
        a.smtp_tls = ask(smtp_tls, "SMTP encryption", preset.smtp_tls, flag="--smtp-tls",
                         type=click.Choice(["implicit", "starttls", "none"]))
        a.smtp_port = ask(smtp_port, "SMTP port", 465 if a.smtp_tls == "implicit" else 587, flag="--smtp-port",
                          type=click.IntRange(1, 65535))
        a.smtp_ca_file = a.ca_file if a.smtp_host == a.host else ""
    elif a.channel == "file":
        a.digest_file = digest_file or ""
    if poll_minutes is not None:
        a.poll_minutes = poll_minutes
    if app.db_path:
        a.database = str(Path(app.db_path).expanduser().resolve())

    text = render_config(a)
    try:
        parse_config(tomllib.loads(text), str(path))
    except (ConfigError, tomllib.TOMLDecodeError) as err:
        raise click.ClickException(f"the answers do not make a valid config: {err}") from err
    try:
        write_config(path, text)
    except OSError as err:
        raise click.ClickException(f"cannot write {path}: {err.strerror}") from err
    out.print(f"[green]wrote {path}[/] (readable by you only; no password in it)")

    # -- first backfill
    since = date.today() - timedelta(days=90)
    can_read = test_login or a.secret_store != "env" or bool(os.environ.get(a.password_env))
    if can_read and ask.confirm(backfill, f"Read the last 90 days of mail now (since {since})?", default=True):
        from offerwatch.daemon.commands import backfill as backfill_command

        app.use_config_path(str(path))
        ctx.invoke(backfill_command, account=a.name, since=since.isoformat(), source_path=None, until=None,
                   folders=(), owner=(), no_progress=not sys.stderr.isatty())
    out.print("next: `offerwatch check` to see what will be read, `offerwatch service install` to run it in the "
              "background, `offerwatch status` to see how it is doing")


def _login_test(ctx: click.Context, a: Any, password: str | None, ask: _Asker) -> str | None:
    """Log in with the answers; show the folders.

    Interactive: up to 3 tries for a typed password, and on an untrusted certificate a question
    for the CA file (as often as needed), so no answer given so far is lost.
    """
    from offerwatch.daemon.config import AccountConfig
    from offerwatch.daemon.firstrun import list_all_folders
    from offerwatch.daemon.sources.imap import ImapError, ImapSource, ImapUntrustedCertificate

    out = console(ctx)
    password_tries = 0
    while True:
        acct = AccountConfig(name=a.name, host=a.host, username=a.username or a.address, port=a.port, tls=a.tls,
                             allow_insecure=a.tls == "none", ca_file=a.ca_file, auth=a.auth,
                             password_command=a.password_command if a.secret_store == "command" and a.auth == "password" else "",
                             password_env=a.password_env if a.secret_store == "env" else "",
                             token_command=a.token_command)
        if password is not None:
            secret: Any = _given(password)
        else:
            from offerwatch.daemon.imap_cli import account_source

            secret = account_source(acct)._secret  # noqa: SLF001 - the same provider the service will use
        out.print(f"logging in to {a.host}:{a.port} as {acct.username} …")
        try:
            source = ImapSource(acct.name, acct.host, acct.port, tls=acct.tls, allow_insecure=acct.allow_insecure,  # type: ignore[arg-type]
                                ca_file=acct.ca_file or None, username=acct.username, auth=acct.auth,  # type: ignore[arg-type]
                                secret=secret, folders=list(a.folders) or None, timeout=30)
            source.connect()
        except ImapUntrustedCertificate as err:
            out.print(f"[red]login failed:[/] {err}")
            ca_file = _ask_ca_file() if ask.interactive else None
            if ca_file:
                a.ca_file = ca_file
                continue
            raise click.ClickException("the server's certificate is not trusted; nothing was written. Run `offerwatch init` "
                                       "again with --ca-file PATH (the CA that signed it), or use --skip-login-test") from err
        except ImapError as err:
            out.print(f"[red]login failed:[/] {err}")
            password_tries += 1
            if ask.interactive and password is not None and password_tries < 3:
                password = click.prompt("Password again (not shown)", hide_input=True)
                continue
            raise click.ClickException("the login test failed (see above); nothing was written. Fix the settings and "
                                       "run `offerwatch init` again, or use --skip-login-test") from err
        try:
            out.print("[green]login OK[/]")
            names = list_all_folders(source)
            out.print("folders on the server: " + ", ".join(names))
            reading = source.folders()
            out.print("read by default: " + ", ".join(
                f"{f.name} ({source.count(f, 0, None, None) or 0} messages)" for f in reading))
        except ImapError as err:
            out.print(f"[yellow]could not list folders:[/] {err}")
        finally:
            source.close()
        return password


def _ask_ca_file() -> str | None:
    """Ask for the CA certificate that signed the server's; None when the user leaves it empty."""
    while True:
        answer = click.prompt("CA certificate file that signed the server's certificate (empty to stop)",
                              default="", show_default=False).strip()
        if not answer:
            return None
        path = Path(answer).expanduser()
        if path.is_file() and os.access(path, os.R_OK):
            return str(path.resolve())
        click.echo(f"{path} is not a readable file", err=True)
