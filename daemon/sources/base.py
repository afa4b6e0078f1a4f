"""The interface every mail source implements: local folders, mbox, maildir and IMAP.

The sync engine only ever talks to this protocol, so incremental state, batching, dedupe
and crash safety are written once (in :mod:`offerwatch.daemon.sync`) for every source.
"""

from __future__ import annotations

from collections.abc import Iterator, Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from offerwatch.models.domain import RawMessage

#: Bytes of one message read at most; larger messages are cut and marked ``truncated``.
#: Job mail is text; a 30 MB attachment must never be loaded into the parser.
DEFAULT_MAX_MESSAGE_BYTES = 2 * 1024 * 1024


class SourceError(Exception):
    """A source could not be read; the message says which source and what to do."""


@dataclass(frozen=True)
class FolderInfo:
    """One folder of a source.

    ``role`` is ``"inbox"``, ``"sent"`` or ``None``; mail in a ``sent`` folder is the
    owner's own (direction ``out``). ``uidvalidity`` identifies the folder generation:
    when it changes, stored UIDs no longer mean anything.
    """

    name: str
    uidvalidity: int
    role: str | None = None


class MailSource(Protocol):
    """A place messages come from, read-only."""

    #: The account name stored with every message (config account name, or ``local``).
    account: str

    def folders(self) -> list[FolderInfo]:
        """The folders this source will read, in order."""
        ...

    def count(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> int | None:
        """How many messages :meth:`messages` would yield (for a progress bar), if cheap."""
        ...

    def messages(
        self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None
    ) -> Iterator[RawMessage]:
        """Messages with ``uid > after_uid`` in ascending UID order, bodies capped in size.

        ``since``/``until`` filter by the message's date (inclusive, exclusive).
        """
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class UnorderedMailSource(MailSource, Protocol):
    """A source whose messages have no ordered UIDs, so no high-water mark can say what was read.

    A maildir is one: file names are unique but not ordered, and files come and go. The sync
    engine then hands over the :attr:`Location.identity` of every message it stored from the
    folder, and the source yields the others, reading only those. ``messages`` still works
    (by delivery time) for callers that sample a source.
    """

    def unread(self, folder: FolderInfo, seen: AbstractSet[str], since: date | None,
               until: date | None) -> Iterator[RawMessage]:
        """The messages whose location identity is not in ``seen``, capped in size."""
        ...

    def count_unread(self, folder: FolderInfo, seen: AbstractSet[str]) -> int:
        """How many messages :meth:`unread` would yield, at most (for a progress bar)."""
        ...
