"""IMAP IDLE on INBOX: new mail wakes a poll within seconds instead of at the next timed poll.

Why a thread per account with its own connection: an IDLE connection can do nothing else
while it waits, and the poll reads every folder over the account's usual connection. The
watcher only says "new mail" (the server's ``EXISTS``); the poll that follows does the
reading, with the same read-only, incremental code as a timed poll, so IDLE adds no second
way of reading mail. The timed poll stays as the fallback: a watcher that loses its
connection logs it, waits (doubling up to :data:`MAX_BACKOFF`) and connects again, and in
between nothing is missed, only later.

RFC 2177 asks a client to end and re-issue IDLE at least every 29 minutes (servers and NAT
boxes drop connections silent for longer); the watcher does so every :data:`RENEW_SECONDS`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from offerwatch.daemon.config import AccountConfig

log = logging.getLogger(__name__)

#: End and re-issue IDLE this often (RFC 2177: "at least every 29 minutes").
RENEW_SECONDS = 25 * 60
#: The folder watched: new mail arrives in INBOX; Sent is the user's own mail.
FOLDER = "INBOX"
#: The longest wait before connecting again after a failure.
MAX_BACKOFF = 300.0


class IdleWatcher:
    """Watch one account's INBOX with IMAP IDLE and call ``on_mail(account)`` on new mail.

    ``on_mail`` runs in the watcher's thread and may take long (a whole poll); IDLE resumes
    after it returns, and mail that arrived meanwhile is announced again by the server when
    IDLE resumes, so none is lost between two waits.
    """

    def __init__(
        self,
        account: AccountConfig,
        source_factory: Callable[[AccountConfig], Any],
        on_mail: Callable[[str], object],
        stop: threading.Event,
        *,
        renew_seconds: float = RENEW_SECONDS,
        first_backoff: float = 5.0,
    ) -> None:
        self.account = account
        self.source_factory = source_factory
        self.on_mail = on_mail
        self.stop = stop
        self.renew_seconds = renew_seconds
        self.first_backoff = first_backoff
        self.waits = 0  # IDLE commands issued (each renewal is one): for status and tests
        self.wakeups = 0  # times new mail woke a poll
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"offerwatch-idle-{self.account.name}", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        from offerwatch.daemon.sources.base import SourceError

        backoff = self.first_backoff
        name = self.account.name
        lost = False  # the last connection failed: mail may have arrived unannounced meanwhile
        while not self.stop.is_set():
            source = None
            try:
                source = self.source_factory(self.account)
                if not getattr(source, "supports_idle", False):
                    log.info("account %s: the server does not offer IMAP IDLE; new mail is read at the timed polls",
                             name)
                    return
                log.info("account %s: waiting for new mail in %s (IMAP IDLE)", name, FOLDER)
                if lost:
                    lost = False
                    log.info("account %s: IMAP IDLE connected again: polling for mail that arrived meanwhile", name)
                    self.on_mail(name)
                while not self.stop.is_set():
                    self.waits += 1
                    if source.idle_wait(FOLDER, self.renew_seconds, self.stop):
                        self.wakeups += 1
                        log.info("account %s: new mail in %s (IMAP IDLE): polling now", name, FOLDER)
                        self.on_mail(name)
                    backoff = self.first_backoff  # a full wait worked: the connection is good
            except SourceError as err:
                if self.stop.is_set():
                    return
                lost = True
                log.warning("account %s: IMAP IDLE stopped (%s); connecting again in %.0f s, the timed polls go on",
                            name, err, backoff)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            except Exception:  # noqa: BLE001 - a bug here must not end IDLE for good nor the service
                lost = True
                log.exception("account %s: IMAP IDLE failed unexpectedly; connecting again in %.0f s", name, backoff)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                if source is not None:
                    try:
                        source.close()
                    except Exception as err:  # noqa: BLE001 - closing a dead connection
                        log.debug("account %s: closing the IDLE connection failed: %s", name, err)
