"""Local mail sources: a folder of ``.eml`` files, an mbox file (Google Takeout) or a maildir.

They are read-only and ordered, so each message gets a stable :class:`Location`: the
position in name order (eml, maildir) or in the file (mbox) as UID, the file name, maildir
key or byte offset as key. Re-reading a source is idempotent because the store dedupes by
location and Message-ID.
"""

from __future__ import annotations

import email.parser
import email.policy
import logging
import mailbox
import os
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

from offerwatch.daemon.sources.base import DEFAULT_MAX_MESSAGE_BYTES, FolderInfo, SourceError
from offerwatch.extractors.parse import parse_date
from offerwatch.models.domain import Location, RawMessage

log = logging.getLogger(__name__)
LOCAL_ACCOUNT = "local"
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


def _cap(data: bytes, size: int, max_bytes: int) -> tuple[bytes, bool]:
    if size > max_bytes:
        return data[:max_bytes], True
    return data, False


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
    """An mbox file; a truncated last message is read as far as it goes."""

    def __init__(self, path: Path, *, account: str = LOCAL_ACCOUNT, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.path = path
        self.account = account
        self.max_message_bytes = max_message_bytes
        try:
            self._box = mailbox.mbox(str(path), factory=None, create=False)
            self._keys = list(self._box.iterkeys())
        except (OSError, mailbox.Error) as err:
            raise SourceError(f"cannot read mbox {path}: {err}") from err

    def folders(self) -> list[FolderInfo]:
        return [FolderInfo(str(self.path.resolve()), 1, None)]

    def count(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> int | None:
        return max(0, len(self._keys) - after_uid)

    def messages(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> Iterator[RawMessage]:
        toc = getattr(self._box, "_toc", {})
        for uid, key in enumerate(self._keys, start=1):
            if uid <= after_uid:
                continue
            try:
                data = self._box.get_bytes(key)
            except (OSError, KeyError, mailbox.Error) as err:
                log.warning("skipping message %d of %s: %s", uid, self.path, err)
                continue
            if not in_range(data, since, until):
                continue
            size = len(data)
            data, truncated = _cap(data, size, self.max_message_bytes)
            offset = toc.get(key, (uid, 0))[0]
            yield RawMessage(Location(self.account, folder.name, folder.uidvalidity, uid, str(offset)), data, size, truncated=truncated)

    def close(self) -> None:
        self._box.close()


class MaildirSource:
    """A maildir: the inbox (``cur`` + ``new``) and, when present, its ``.Sent`` folder."""

    def __init__(self, path: Path, *, account: str = LOCAL_ACCOUNT, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.path = path
        self.account = account
        self.max_message_bytes = max_message_bytes

    def _box(self, folder: FolderInfo) -> mailbox.Maildir:
        sub = Path(folder.name)
        return mailbox.Maildir(str(sub), factory=None, create=False)

    def folders(self) -> list[FolderInfo]:
        out = [FolderInfo(str(self.path.resolve()), 1, "inbox")]
        for name in (".Sent", ".Sent Messages", ".Sent Items"):
            if (self.path / name / "cur").is_dir():
                out.append(FolderInfo(str((self.path / name).resolve()), 1, "sent"))
                break
        return out

    def count(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> int | None:
        return max(0, len(self._box(folder).keys()) - after_uid)

    def messages(self, folder: FolderInfo, after_uid: int, since: date | None, until: date | None) -> Iterator[RawMessage]:
        box = self._box(folder)
        for uid, key in enumerate(sorted(box.keys()), start=1):
            if uid <= after_uid:
                continue
            try:
                data = box.get_bytes(key)
            except (OSError, KeyError) as err:
                log.warning("skipping maildir message %s: %s", key, err)
                continue
            if not in_range(data, since, until):
                continue
            size = len(data)
            data, truncated = _cap(data, size, self.max_message_bytes)
            yield RawMessage(Location(self.account, folder.name, folder.uidvalidity, uid, key), data, size, truncated=truncated)

    def close(self) -> None:
        """Nothing to release."""


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

