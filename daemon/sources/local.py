"""Local mail sources: a folder of ``.eml`` files, an mbox file (Google Takeout) or a maildir.

They are read-only, so each message gets a stable :class:`Location`: the position in name
order (eml) or in the file (mbox) as UID and the file name or byte offset as key. A maildir
has no stable order; its key, the unique part of the file name, is what identifies a message
(see :class:`MaildirSource`). Re-reading a source is idempotent because the store dedupes by
location and Message-ID.
"""

from __future__ import annotations

import email.parser
import email.policy
import logging
import mailbox
import os
import re
from collections.abc import Iterator, Sequence, Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import BinaryIO

from offerwatch.daemon.sources.base import DEFAULT_MAX_MESSAGE_BYTES, FolderInfo, SourceError
from offerwatch.daemon.sources.mboxindex import mbox_toc
from offerwatch.extractors.parse import parse_date
from offerwatch.models.domain import Location, RawMessage

log = logging.getLogger(__name__)
LOCAL_ACCOUNT = "local"
#: The longest ``From `` separator line read past (a real one is under 100 bytes).
_FROM_LINE_MAX = 65536
_HEADER_PARSER = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def message_date(data: bytes) -> datetime | None:
    """The Date header of a message's bytes, parsed cheaply from the header block only."""
    head = data[:65536].split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    try:
        value = _HEADER_PARSER.parsebytes(head).get("date")
    except (ValueError, TypeError, IndexError):
        return None
    return parse_date(str(value)) if value else None


def in_range(data: bytes, since: date | None, until: date | None) -> bool:
    if since is None and until is None:
        return True
    when = message_date(data)
    if when is None:
        return True  # undated mail is kept: the user asked for a range, not for losing mail
    day = when.astimezone(timezone.utc).date()
    return (since is None or day >= since) and (until is None or day < until)


class EmlFolderSource:
    """Every ``*.eml`` file directly inside a folder, in name order."""

    def __init__(
        self,
        path: Path,
        *,
        account: str = LOCAL_ACCOUNT,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        only: Path | None = None,
    ) -> None:
        self.path = path
        self.account = account
        self.max_message_bytes = max_message_bytes
        #: The messages, one file each, in the order their uids (1, 2, ...) follow.
        self.files: list[Path] = [only] if only is not None else sorted(
            p for p in path.iterdir() if p.suffix.lower() == ".eml" and p.is_file())

    def folders(self) -> list[FolderInfo]:
        return [FolderInfo(str(self.path.resolve()), 1, None)]

    def count(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> int | None:
        return max(0, len(self.files) - after_uid)

    def messages(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> Iterator[RawMessage]:
        for uid, path in enumerate(self.files, start=1):
            if uid <= after_uid:
                continue
            try:
                size = path.stat().st_size
                with open(path, "rb") as f:
                    data = f.read(self.max_message_bytes)
            except OSError as err:
                log.warning("skipping %s: cannot read it (%s)", path, err.strerror)
                continue
            if not in_range(data, since, until):
                continue
            yield RawMessage(Location(self.account, folder.name, folder.uidvalidity, uid, path.name), data, size,
                             truncated=size > len(data))

    def close(self) -> None:
        """Nothing to release: files are opened per message."""


class MboxSource:
    """An mbox file; a truncated last message is read as far as it goes.

    The file is indexed once (:func:`~offerwatch.daemon.sources.mboxindex.mbox_toc`, the
    standard library's rules in one pass over large chunks) and each message is read from its
    offset, no more than ``max_message_bytes`` of it: a 2 GB message in an export costs its
    first bytes, not 2 GB of memory.
    """

    def __init__(self, path: Path, *, account: str = LOCAL_ACCOUNT, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.path = path
        self.account = account
        self.max_message_bytes = max_message_bytes
        try:
            self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 - held until close(), like the folder of a server
        except OSError as err:
            raise SourceError(f"cannot read mbox {path}: {err.strerror or err}") from err
        try:
            self._toc = mbox_toc(self._file)
        except OSError as err:
            self._file.close()
            raise SourceError(f"cannot read mbox {path}: {err.strerror or err}") from err

    def folders(self) -> list[FolderInfo]:
        return [FolderInfo(str(self.path.resolve()), 1, None)]

    def count(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> int | None:
        return max(0, len(self._toc) - after_uid)

    def messages(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> Iterator[RawMessage]:
        for uid, (start, stop) in enumerate(self._toc, start=1):
            if uid <= after_uid:
                continue
            try:
                data, size = self._read(start, stop)
            except OSError as err:
                log.warning("skipping message %d of %s: %s", uid, self.path, err)
                continue
            if not in_range(data, since, until):
                continue
            yield RawMessage(Location(self.account, folder.name, folder.uidvalidity, uid, str(start)), data, size,
                             truncated=size > len(data))

    def _read(self, start: int, stop: int) -> tuple[bytes, int]:
        """The message between ``start`` (its ``From `` line, left out) and ``stop``, cut at
        ``max_message_bytes``, and its whole size."""
        self._file.seek(start)
        self._file.readline(_FROM_LINE_MAX)
        size = max(0, stop - self._file.tell())
        return self._file.read(min(size, self.max_message_bytes)), size

    def close(self) -> None:
        self._file.close()


#: Maildir++ folders taken as the Sent folder when no folders are configured (case-insensitive,
#: the last ``.``-separated part, so ``[Gmail].Sent Mail`` as mbsync writes it counts).
SENT_NAMES = ("sent", "sent messages", "sent items", "sent mail")
INBOX = "INBOX"
_DELIVERED = re.compile(r"\d{1,12}")
#: What is read of a file before its date is checked (the Date header is in the head).
_HEAD_BYTES = 65536


@dataclass(frozen=True)
class _Entry:
    """One message file of a maildir folder, as listed."""

    key: str  # the unique part of the file name: stable across new/ -> cur/ and flag changes
    path: Path
    uid: int  # the delivery time at the start of the name: orders the mail, identifies nothing


def maildir_key(filename: str) -> str:
    """The unique part of a maildir file name, what identifies the message in its folder.

    Everything from the info separator on is the message's flags, which a mail client or
    mbsync changes by renaming the file (and moving it from ``new/`` to ``cur/``); the part
    before it never changes. ``mailbox.Maildir`` keys messages the same way.

    >>> maildir_key("1733390000.R5.host,U=12:2,RS")
    '1733390000.R5.host,U=12'
    >>> maildir_key("1733390000.M1P2Q3.host")
    '1733390000.M1P2Q3.host'
    """
    return filename.split(mailbox.Maildir.colon, 1)[0]


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """Whether a listed name is a directory; one that cannot even be looked at (a symbolic
    link loop) counts as a file, so reading it records it as unreadable."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _uid_of(key: str) -> int:
    """The delivery time every maildir writer (mbsync, offlineimap, Dovecot, Python) puts first."""
    m = _DELIVERED.match(key)
    return int(m.group()) if m else 0


class MaildirSource:
    """A maildir, read-only: the inbox (its own ``cur/`` + ``new/``) and its Maildir++ subfolders.

    A maildir has no UIDs, so there is no high-water mark: what was read is the set of message
    keys (:func:`maildir_key`) the store holds for a folder. The sync engine hands that set to
    :meth:`unread`, which lists ``new/`` and ``cur/`` and opens only the files whose key is not in
    it. A file that mbsync moves from ``new/`` to ``cur/`` or renames for a flag keeps its key, so
    it is never new mail; a deleted file is simply no longer listed. Files are opened for reading
    and nothing else: nothing is moved, renamed or written.

    As an account (``[[accounts]] maildir = "~/Mail/work"``) the folders are named like IMAP
    folders: ``INBOX`` for the top level, ``Sent`` for ``.Sent``, ``Jobs.Offers`` for
    ``.Jobs.Offers``. Read as ``backfill --source`` (account ``local``), a folder is named by
    its path, so two local maildirs never share a folder.
    """

    def __init__(
        self,
        path: Path,
        *,
        account: str = LOCAL_ACCOUNT,
        folders: Sequence[str] | None = None,
        names_by_path: bool = True,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.path = path
        self.account = account
        self.configured_folders = list(folders) if folders else None
        self.names_by_path = names_by_path
        self.max_message_bytes = max_message_bytes
        #: configured folders that do not exist (logged; ``offerwatch check`` shows them)
        self.problems: list[str] = []
        self._dirs: dict[str, Path] = {}  # folder name -> its directory, from the last folders()

    @classmethod
    def for_account(cls, account: str, path: str, *, folders: Sequence[str] | None = None,
                    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> MaildirSource:
        """The source of an ``[[accounts]]`` entry with ``maildir = PATH`` (not opened yet)."""
        return cls(Path(path).expanduser(), account=account, folders=folders, names_by_path=False,
                   max_message_bytes=max_message_bytes)

    def _fail(self, what: str) -> SourceError:
        who = f"account {self.account}: " if self.account != LOCAL_ACCOUNT else ""
        return SourceError(f"{who}{what}")

    def connect(self) -> None:
        """Check the maildir is there and readable (the service and ``check`` call this first)."""
        try:
            os.stat(self.path)
        except FileNotFoundError:
            raise self._fail(f"maildir {self.path} does not exist (is the disk mounted? check maildir in the config)") from None
        except OSError as err:
            raise self._fail(f"cannot read maildir {self.path}: {err.strerror}") from None
        if not self.path.is_dir():
            raise self._fail(f"{self.path} is a file, not a maildir (a folder with cur/, new/ and tmp/)")
        for sub in ("cur", "new"):
            try:
                os.stat(self.path / sub)
            except FileNotFoundError:
                raise self._fail(f"{self.path} is not a maildir: it has no {sub}/ (a maildir has cur/, new/ and tmp/)"
                                 + self._layout_hint()) from None
            except OSError as err:
                raise self._fail(f"cannot read maildir {self.path}: {err.strerror}") from None
            if not os.access(self.path / sub, os.R_OK | os.X_OK):
                raise self._fail(f"cannot read maildir {self.path}: {sub}/ is not readable by this user")

    def _layout_hint(self) -> str:
        """For a folder of maildirs (mbsync ``SubFolders Verbatim``): say which ones, and why not."""
        try:
            inner = sorted(p.name for p in self.path.iterdir() if (p / "cur").is_dir())
        except OSError:
            return ""
        if not inner:
            return ""
        return (f"; it holds the maildirs {', '.join(inner[:6])}: offerwatch reads one maildir with Maildir++ "
                f"subfolders (mbsync: SubFolders Maildir++), so give {self.path / inner[0]} or switch the layout")

    # -- folders ----------------------------------------------------------------------------

    def _subfolders(self) -> dict[str, Path]:
        """Maildir++ subfolders: ``.Name`` directories of the top level that are maildirs."""
        try:
            entries = sorted(os.listdir(self.path))
        except OSError as err:
            raise self._fail(f"cannot read maildir {self.path}: {err.strerror}") from None
        return {e[1:]: self.path / e for e in entries
                if len(e) > 1 and e[0] == "." and e != ".." and (self.path / e / "cur").is_dir()}

    def _info(self, name: str, directory: Path, role: str | None) -> FolderInfo:
        shown = str(directory.resolve()) if self.names_by_path else name
        self._dirs[shown] = directory
        return FolderInfo(shown, 1, role)

    @staticmethod
    def _role(name: str) -> str | None:
        if name.upper() == INBOX:
            return "inbox"
        return "sent" if name.rsplit(".", 1)[-1].lower() in SENT_NAMES else None

    def folders(self) -> list[FolderInfo]:
        """INBOX and the Sent folder, or the configured folders; a missing one is a problem, skipped."""
        self.connect()
        subs = self._subfolders()
        self.problems = []
        self._dirs = {}
        if self.configured_folders is None:
            out = [self._info(INBOX, self.path, "inbox")]
            sent = sorted((n for n in subs if self._role(n) == "sent"),
                          key=lambda n: (n.count("."), SENT_NAMES.index(n.rsplit(".", 1)[-1].lower())))
            if sent:
                out.append(self._info(sent[0], subs[sent[0]], "sent"))
            return out
        out = []
        by_lower = {n.lower(): n for n in subs}
        for wanted in self.configured_folders:
            if wanted.upper() == INBOX:
                out.append(self._info(INBOX, self.path, "inbox"))
                continue
            name = wanted.lstrip(".")
            actual = name if name in subs else by_lower.get(name.lower())
            if actual is None:
                have = ", ".join([INBOX, *sorted(subs)][:30])
                problem = (f"folder {wanted!r} does not exist in maildir {self.path} (it has: {have}); "
                           "fix folders in the config")
                log.error("account %s: %s", self.account, problem)
                self.problems.append(problem)
                continue
            out.append(self._info(actual, subs[actual], self._role(actual)))
        return list({f.name: f for f in out}.values())

    def capabilities(self) -> list[str]:
        """What ``offerwatch check`` lists for a server; a maildir has none."""
        return []

    # -- messages ---------------------------------------------------------------------------

    def _directory(self, folder: FolderInfo) -> Path:
        if folder.name not in self._dirs:
            self.folders()
        if folder.name not in self._dirs:
            raise self._fail(f"folder {folder.name} is no longer in maildir {self.path}")
        return self._dirs[folder.name]

    def _list(self, folder: FolderInfo) -> list[_Entry]:
        """Every message file of ``new/`` and ``cur/``, in delivery order; a key listed twice
        (caught mid-move) once."""
        directory = self._directory(folder)
        found: dict[str, _Entry] = {}
        for sub in ("new", "cur"):
            try:
                with os.scandir(directory / sub) as it:
                    for entry in it:
                        if entry.name.startswith(".") or _is_dir(entry):
                            continue
                        key = maildir_key(entry.name)
                        found[key] = _Entry(key, Path(entry.path), _uid_of(key))
            except FileNotFoundError:  # the engine's report names account and folder
                raise SourceError(f"{directory / sub} is missing; is {directory} still a maildir?") from None
            except OSError as err:
                raise SourceError(f"cannot read {directory / sub}: {err.strerror}") from None
        return sorted(found.values(), key=lambda e: (e.uid, e.key))

    def _locate(self, folder: FolderInfo, key: str) -> Path | None:
        """Where ``key`` is now (a client moved it to ``cur/`` or changed its flags meanwhile)."""
        return next((e.path for e in self._list(folder) if e.key == key), None)

    def _read(self, folder: FolderInfo, entry: _Entry, since: date | None, until: date | None) -> RawMessage | None:
        """One message dated in ``[since, until)``, capped; ``None`` when it is out of range (only
        its head was read) or was deleted since it was listed. A file that cannot be read is
        handed on with ``error`` set, so it is recorded and never blocks the folder."""
        location = Location(self.account, folder.name, folder.uidvalidity, entry.uid, entry.key)
        path: Path | None = entry.path
        for _attempt in range(2):
            if path is None:
                break
            try:
                with open(path, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    data = f.read(min(self.max_message_bytes, _HEAD_BYTES))
                    if not in_range(data, since, until):
                        return None
                    if len(data) < size:
                        data += f.read(self.max_message_bytes - len(data))
            except FileNotFoundError:
                path = self._locate(folder, entry.key)
                continue
            except OSError as err:
                why = f"cannot read {path.name}: {err.strerror or err}"
                log.warning("account %s, folder %s: %s; recorded as unreadable", self.account, folder.name, why)
                return RawMessage(location, b"", 0, error=why)
            return RawMessage(location, data, size, truncated=size > len(data))
        log.info("account %s, folder %s: %s was deleted before it was read; skipped", self.account, folder.name, entry.key)
        return None

    def unread(self, folder: FolderInfo, seen: AbstractSet[str], since: date | None,
               until: date | None) -> Iterator[RawMessage]:
        """The messages whose :class:`Location` identity is not in ``seen``, in delivery order."""
        for entry in self._list(folder):
            if Location(self.account, folder.name, folder.uidvalidity, entry.uid, entry.key).identity in seen:
                continue
            raw = self._read(folder, entry, since, until)
            if raw is not None:
                yield raw

    def count_unread(self, folder: FolderInfo, seen: AbstractSet[str]) -> int:
        """How many files :meth:`unread` would open (the date range is not applied)."""
        return sum(Location(self.account, folder.name, folder.uidvalidity, e.uid, e.key).identity not in seen
                   for e in self._list(folder))

    def count(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> int | None:
        return sum(e.uid > after_uid for e in self._list(folder))

    def messages(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> Iterator[RawMessage]:
        """Messages delivered after ``after_uid`` (a time); the engine uses :meth:`unread` instead."""
        for entry in self._list(folder):
            if entry.uid > after_uid:
                raw = self._read(folder, entry, since, until)
                if raw is not None:
                    yield raw

    def close(self) -> None:
        """Nothing to release: files are opened per message."""


LocalSource = EmlFolderSource | MboxSource | MaildirSource


def open_local_source(path: str | os.PathLike[str], *, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> LocalSource:
    """Pick the source type from what is at ``path``: maildir, folder of .eml, or mbox file."""
    p = Path(path).expanduser()
    if not p.exists():
        raise SourceError(f"{p} does not exist: give a folder of .eml files, an mbox file or a maildir")
    if p.is_dir():
        if (p / "cur").is_dir() and (p / "new").is_dir():
            return MaildirSource(p, max_message_bytes=max_message_bytes)
        source = EmlFolderSource(p, max_message_bytes=max_message_bytes)
        if not source.files:
            raise SourceError(f"{p} holds no .eml files and is not a maildir (no cur/ and new/)")
        return source
    with open(p, "rb") as f:
        head = f.read(5)
    if head == b"From ":
        return MboxSource(p, max_message_bytes=max_message_bytes)
    if p.suffix.lower() == ".eml":
        return EmlFolderSource(p.parent, max_message_bytes=max_message_bytes, only=p)
    raise SourceError(f"{p} is not an mbox file (it does not start with 'From '), a maildir or a folder of .eml files")

