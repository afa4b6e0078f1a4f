"""What ``offerwatch status`` reports: sync health per folder, the digest, counts, the service.

:func:`collect_status` reads the database, the config and the service's state file and
returns plain data (also printed as JSON with ``--json``); ``healthy`` is False when the
last pass over any folder failed, so ``offerwatch status`` works as a health check.

Example::

    {"healthy": False,
     "folders": [{"account": "personal", "folder": "INBOX", "last_sync": "2026-11-02T07:40:00+00:00",
                  "messages_seen": 812, "last_error": "login refused ...", "last_error_at": "...", "failing": True}],
     "digest": {"last": {"for_date": "2026-11-02", "status": "sent", ...}, "next": "2026-11-03T07:30:00+01:00"},
     "alerts": {"channels": ["desktop", "mail"], "last_sent": "2026-11-02T15:02:11+00:00",
                "pending": {"mail": {"count": 2, "error": "alert mail via SMTP ...: cannot reach the server ..."}}},
     "counts": {"messages": 812, "applications": 9, "open_applications": 7, "signals": 41, ...},
     "service": {"running": True, "pid": 4242, "last_poll_finished": "...", "next_poll": "..."}}
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from offerwatch.daemon.config import Config


def lock_holder(database: Path) -> int | None:
    """The PID of the live process holding ``<database>.lock``, if any (read only: never locks)."""
    path = Path(str(database) + ".lock")
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    if not text.isdigit():
        return None
    pid = int(text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _parse(ts: Any) -> datetime | None:
    if not ts:
        return None
    try:
        dt = datetime.fromisoformat(str(ts))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def collect_status(store: Any, config: Config, database: Path, *, now: datetime | None = None) -> dict[str, Any]:
    from offerwatch.daemon.service import read_state

    now = now or datetime.now(timezone.utc)
    rows = store.rows(
        "SELECT account, name, uidvalidity, last_uid, messages_seen, last_sync, last_error, last_error_at "
        "FROM folders ORDER BY account, name"
    )
    folders = []
    for r in rows:
        folders.append({
            "account": r["account"], "folder": r["name"], "last_sync": r["last_sync"],
            "messages_seen": r["messages_seen"], "last_uid": r["last_uid"],
            "last_error": r["last_error"], "last_error_at": r["last_error_at"],
            "failing": bool(r["last_error"]),
        })
    seen_accounts = {f["account"] for f in folders}
    never = [a.name for a in config.accounts if a.name not in seen_accounts]

    digests = store.rows("SELECT * FROM digests ORDER BY for_date DESC LIMIT 1")
    last_sent = store.rows("SELECT * FROM digests WHERE status = 'sent' ORDER BY for_date DESC LIMIT 1")
    next_at: str | None = None
    try:
        from offerwatch.daemon.digest.job import next_digest

        next_at = next_digest(store, config, now).isoformat(timespec="minutes")
    except Exception as err:  # noqa: BLE001 - status must work even with a broken digest config
        next_at = f"unknown ({err})"

    counts = dict(store.counts())
    # Open as the digest counts it: not closed by the user and not at a final stage (a rejection).
    from offerwatch.daemon.digest.build import CLOSED_STAGES

    finals = sorted(CLOSED_STAGES)
    counts["open_applications"] = int(store.rows(
        f"SELECT count(*) AS n FROM applications WHERE closed = 0 AND coalesce(stage, '') NOT IN ({','.join('?' * len(finals))})",
        finals,
    )[0]["n"])

    state = read_state(database) or {}
    pid = lock_holder(database)
    service = {
        "running": pid is not None,
        "pid": pid,
        "started_at": state.get("started_at") if pid else None,
        "last_poll_finished": state.get("last_poll_finished"),
        "last_poll_ok": state.get("last_poll_ok"),
        "next_poll": state.get("next_poll") if pid else None,
        "poll_seconds": state.get("poll_seconds"),
        # disk full or a damaged database, as the running service last met it (None: fine)
        "storage_fault": state.get("storage_fault") if pid else None,
    }
    waiting = store.rows(
        "SELECT channel, count(*) AS n, (SELECT b.error FROM alerts b WHERE b.channel = a.channel AND b.status = 'pending' "
        "AND b.error IS NOT NULL ORDER BY b.attempts DESC LIMIT 1) AS error FROM alerts a WHERE status = 'pending' "
        "GROUP BY channel ORDER BY channel")
    alerts = {
        "channels": list(config.alerts.channels) if config.alerts.enabled else [],
        "last_sent": store.rows("SELECT max(sent_at) AS t FROM alerts WHERE status = 'sent'")[0]["t"],
        # per channel: alerts waiting (quiet hours, or the channel failed) and the last error
        "pending": {r["channel"]: {"count": r["n"], "error": r["error"]} for r in waiting},
    }
    last_syncs = [d for d in (_parse(f["last_sync"]) for f in folders) if d]
    return {
        "database": str(database),
        "config": config.source,
        "checked_at": now.isoformat(timespec="seconds"),
        "healthy": not any(f["failing"] for f in folders) and not service["storage_fault"],
        "folders": folders,
        "never_synced_accounts": never,
        "last_sync": max(last_syncs).isoformat(timespec="seconds") if last_syncs else None,
        "digest": {
            "last": digests[0] if digests else None,
            "last_sent": last_sent[0] if last_sent else None,
            "next": next_at,
            "channel": config.digest.channel,
        },
        "alerts": alerts,
        "counts": counts,
        "service": service,
    }


def ago(ts: Any, now: datetime) -> str:
    """``"3 min ago"``, ``"2 h ago"``, ``"never"``."""
    dt = _parse(ts)
    if dt is None:
        return "never"
    secs = (now - dt).total_seconds()
    if secs < 0:
        return "in the future (clock changed?)"
    if secs < 90:
        return f"{secs:.0f} s ago"
    if secs < 90 * 60:
        return f"{secs / 60:.0f} min ago"
    if secs < 36 * 3600:
        return f"{secs / 3600:.1f} h ago"
    return f"{secs / 86400:.1f} days ago"
