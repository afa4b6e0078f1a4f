"""Databases as an older schema version left them, for the tests of upgrading in place."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from offerwatch.models.store import MIGRATIONS, apply_migration


def database_at(path: Path, version: int) -> sqlite_utils.Database:
    """A new database file at ``path`` with the schema of ``version`` (MIGRATIONS[:version],
    each unchanged since it shipped), ``user_version`` set; the caller adds rows and closes it."""
    db = sqlite_utils.Database(path)
    for step in MIGRATIONS[:version]:
        apply_migration(db, step)
    db.execute(f"PRAGMA user_version = {version}")
    return db
