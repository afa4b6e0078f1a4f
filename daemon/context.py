"""Shared plumbing for CLI commands: the loaded config, the store, the console.

Command modules (``apps_cli``, ``digest_cli``, ...) get everything through these helpers so
``--config`` and ``--db`` mean the same in every command.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # imported lazily: `offerwatch --help` must not pay for rich or sqlite-utils
    from rich.console import Console

    from offerwatch.daemon.config import Config
    from offerwatch.models.humandate import HumanDates
    from offerwatch.models.store import Store


@dataclass
class AppContext:
    """The global options (given before or after the command) and what they load."""

    config_path: str | None
    db_path: str | None
    verbose: int = 0
    quiet: bool = False  # -q: errors only, no progress bar
    _config: Config | None = None

    def use_config_path(self, path: str | None) -> None:
        """Read the config from ``path`` from now on; one loaded before is stale."""
        self.config_path, self._config = path, None

    @property
    def loaded_config(self) -> Config | None:
        """The config if a command has loaded it already (no file is read here)."""
        return self._config

    def load_config(self) -> Config:
        """The validated config, read once; a ConfigError becomes a click error listing every problem."""
        from offerwatch.daemon.config import ConfigError
        from offerwatch.daemon.config import load_config as read_config

        if self._config is None:
            try:
                self._config = read_config(self.config_path)
            except ConfigError as err:
                raise click.ClickException(str(err)) from err
        return self._config

    @cached_property
    def console(self) -> Console:
        from rich.console import Console

        return Console(highlight=False)

    @cached_property
    def err_console(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False)


def app_context(ctx: click.Context) -> AppContext:
    obj = ctx.find_object(AppContext)
    if obj is None:  # a command invoked on its own (tests): defaults
        obj = AppContext(None, None)
        ctx.obj = obj
    return obj


def load_config(ctx: click.Context) -> Config:
    """The validated config; a ConfigError becomes a click error listing every problem."""
    return app_context(ctx).load_config()


def human_dates(ctx: click.Context) -> HumanDates:
    """How this command shows dates to a person: the digest's zone (``[digest] timezone``, else
    the system's, as :func:`offerwatch.daemon.digest.job.settings_from_config` decides), so
    ``apps``, ``app``, ``signals`` and ``scan`` name the same day as the digest.

    A config that does not load does not block a read-only view: the system's zone is used and
    the problem logged (the command that needs the config reports it in full).
    """
    import logging

    from offerwatch.models.humandate import HumanDates, system_zone

    try:
        zone = load_config(ctx).digest.zone
    except click.ClickException as err:
        logging.getLogger(__name__).warning("dates shown in the system's time zone: the config did not load (%s)",
                                            err.format_message().splitlines()[0])
        zone = None
    return HumanDates(zone or system_zone())


def database_path(ctx: click.Context) -> Path:
    app = app_context(ctx)
    if app.db_path:
        return Path(app.db_path).expanduser()
    return load_config(ctx).database


def open_store(ctx: click.Context, path: Path | None = None) -> Store:
    """Open the database named by --db or the config, as a click error when unusable."""
    from offerwatch.models.store import Store, StoreError

    try:
        return Store.open(path or database_path(ctx))
    except StoreError as err:
        raise click.ClickException(str(err)) from err


def console(ctx: click.Context) -> Console:
    return app_context(ctx).console
