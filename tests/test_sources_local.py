"""Local sources (eml folder, mbox, maildir) give stable locations, cap sizes and survive truncation."""

from __future__ import annotations

import mailbox
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from mailfactory import message

from offerwatch.daemon.sources.base import SourceError
from offerwatch.daemon.sources.local import EmlFolderSource, MaildirSource, MboxSource, open_local_source


def _mbox(path: Path, n: int) -> None:
    box = mailbox.mbox(str(path))
    for i in range(n):
        box.add(message(subject=f"m{i}", date=datetime(2026, 9, 1 + i, tzinfo=timezone.utc)))
    box.flush()
    box.close()


def test_eml_folder_in_name_order_with_after_uid(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"{i:03}.eml").write_bytes(message(subject=f"s{i}"))
    src = open_local_source(tmp_path)
    assert isinstance(src, EmlFolderSource)
    (folder,) = src.folders()
    assert [m.location.key for m in src.messages(folder, 0, None, None)] == ["000.eml", "001.eml", "002.eml"]
    assert [m.location.uid for m in src.messages(folder, 2, None, None)] == [3]


def test_mbox_with_truncated_last_message(tmp_path: Path) -> None:
    path = tmp_path / "All.mbox"
    _mbox(path, 3)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 60])  # cut in the middle of the last body
    src = open_local_source(path)
    assert isinstance(src, MboxSource)
    msgs = list(src.messages(src.folders()[0], 0, None, None))
    assert len(msgs) == 3
    assert b"Subject: m2" in msgs[2].data


def test_since_until_filter_by_date(tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    _mbox(path, 5)
    src = MboxSource(path)
    got = list(src.messages(src.folders()[0], 0, date(2026, 9, 2), date(2026, 9, 4)))
    assert [m.location.uid for m in got] == [2, 3]


def test_maildir_with_sent_folder(tmp_path: Path) -> None:
    md = mailbox.Maildir(str(tmp_path / "mail"), create=True)
    md.add(message(subject="in"))
    sent = md.add_folder("Sent")
    sent.add(message(subject="out", sender="sam@example.net", to="jo@acme.example"))
    src = open_local_source(tmp_path / "mail")
    assert isinstance(src, MaildirSource)
    folders = src.folders()
    assert [f.role for f in folders] == ["inbox", "sent"]
    assert len(list(src.messages(folders[1], 0, None, None))) == 1


def test_large_message_is_capped(tmp_path: Path) -> None:
    (tmp_path / "big.eml").write_bytes(message() + b"X" * (3 * 1024 * 1024))
    src = open_local_source(tmp_path, max_message_bytes=1024 * 1024)
    (m,) = list(src.messages(src.folders()[0], 0, None, None))
    assert m.truncated and len(m.data) == 1024 * 1024 and m.size > 3 * 1024 * 1024


def test_bad_paths_say_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        open_local_source(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no .eml files"):
        open_local_source(tmp_path / "empty")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(SourceError, match="not an mbox"):
        open_local_source(tmp_path / "x.txt")
