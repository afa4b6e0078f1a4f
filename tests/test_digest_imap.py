"""The IMAP channel APPENDs the digest into the folder the user chose on a real Dovecot, creating
it when missing, once per day even across a crash; the file channel writes atomically."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

import pytest

from digest_data import NOW, quiet_shown, sample_store
from offerwatch.daemon.config import AccountConfig, Config, DigestConfig
from offerwatch.daemon.digest.deliver import FileChannel, ImapChannel, deliver, digest_row
from offerwatch.daemon.digest.job import compose, make_channel, run_due_digest, settings_from_config
from offerwatch.models.store import Store

TO = "maya.lindqvist@gmail.com"


def _send(store: Store, channel, now=NOW):
    settings = settings_from_config(Config(identity_addresses=(TO,), digest=DigestConfig(timezone="Europe/Berlin")))
    _, make = compose(store, settings, now=now)
    return deliver(store, now.date(), channel, make, now=now)


def _messages(user, folder: str) -> list[email.message.EmailMessage]:
    with user.client() as c:
        c.select_folder(folder, readonly=True)
        uids = c.search("ALL")
        data = c.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
    return [email.message_from_bytes(d[b"BODY[]"], policy=email.policy.default) for d in data.values()]  # type: ignore[misc]


class Crash(BaseException):
    pass


@pytest.mark.integration
def test_append_into_the_chosen_folder_once(tmp_path: Path, dovecot, dovecot_user, monkeypatch) -> None:
    """Configured as a user would: [digest] channel = "imap", account, folder; password from the env."""
    monkeypatch.setenv("OFFERWATCH_TEST_IMAP_PASSWORD", dovecot_user.password)
    account = AccountConfig(name="personal", host=dovecot.host, port=dovecot.imaps_port, tls="implicit",
                            ca_file=str(dovecot.ca_file), username=dovecot_user.name,
                            password_env="OFFERWATCH_TEST_IMAP_PASSWORD", timeout_seconds=10)
    config = Config(accounts=(account,), identity_addresses=(TO,),
                    digest=DigestConfig(timezone="Europe/Berlin", channel="imap", imap_account="personal",
                                        imap_folder="Job search/Digests"))
    store, _ = sample_store(tmp_path / "d.db")
    try:
        result = run_due_digest(store, config, now=NOW + timedelta(minutes=1))
        assert result is not None and result.status == "sent"
        assert quiet_shown(store) == ["Meridian Freight"]  # told once: recorded with the delivery (issue 11)
        assert run_due_digest(store, config, now=NOW + timedelta(hours=1)) is None
        [msg] = _messages(dovecot_user, "Job search/Digests")
        assert msg["Subject"] == "offerwatch: 3 to act on, 1 going quiet — Tue 1 Dec"
        assert msg["Message-ID"] == digest_row(store, NOW.date())["message_id"]
        assert msg.get_body(("html",)) is not None
        # nothing else in the mailbox changed
        assert dovecot_user.uids("INBOX") == []
        # a crash after the APPEND of the next day: found in the folder, not appended again
        channel = make_channel(config)
        assert isinstance(channel, ImapChannel)
        tomorrow = NOW + timedelta(days=1)

        class CrashAfterAppend:
            name = "imap"

            def send(self, msg):
                channel.send(msg)
                raise Crash()

            def already_delivered(self, mid):
                return channel.already_delivered(mid)

            def describe(self):
                return channel.describe()

        with pytest.raises(Crash):
            _send(store, CrashAfterAppend(), now=tomorrow)
        assert digest_row(store, tomorrow.date())["status"] == "pending"
        assert _send(store, channel, now=tomorrow + timedelta(minutes=10)).status == "recovered"
        assert len(_messages(dovecot_user, "Job search/Digests")) == 2
    finally:
        store.close()


@pytest.mark.integration
def test_wrong_imap_password_is_a_permanent_failure(tmp_path: Path, dovecot, dovecot_user, monkeypatch) -> None:
    monkeypatch.setenv("OFFERWATCH_TEST_IMAP_PASSWORD", "not-the-password")
    account = AccountConfig(name="personal", host=dovecot.host, port=dovecot.imaps_port, tls="implicit",
                            ca_file=str(dovecot.ca_file), username=dovecot_user.name,
                            password_env="OFFERWATCH_TEST_IMAP_PASSWORD", timeout_seconds=10)
    config = Config(accounts=(account,), identity_addresses=(TO,),
                    digest=DigestConfig(timezone="Europe/Berlin", channel="imap", imap_account="personal"))
    store, _ = sample_store(tmp_path / "d.db")
    try:
        result = run_due_digest(store, config, now=NOW + timedelta(minutes=1))
        assert result is not None and result.status == "failed"
        assert "not-the-password" not in (result.error or "")
        assert run_due_digest(store, config, now=NOW + timedelta(minutes=11)) is None
    finally:
        store.close()


def test_file_channel_writes_html_atomically_once_per_day(tmp_path: Path) -> None:
    store, _ = sample_store(tmp_path / "d.db")
    try:
        channel = FileChannel(tmp_path / "out" / "offerwatch-{date}.html")
        assert _send(store, channel).status == "sent"
        path = tmp_path / "out" / "offerwatch-2026-12-01.html"
        html = path.read_text(encoding="utf-8")
        assert html.startswith("<!DOCTYPE html>") and "Needs your attention" in html
        assert path.stat().st_mode & 0o777 == 0o600
        assert _send(store, channel).status == "already_sent"
        assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
        eml = FileChannel(tmp_path / "digest.eml")
        other, _ = sample_store(tmp_path / "e.db")
        try:
            assert _send(other, eml).status == "sent"
        finally:
            other.close()
        msg = email.message_from_bytes((tmp_path / "digest.eml").read_bytes(), policy=email.policy.default)
        assert msg.get_content_type() == "multipart/alternative"
    finally:
        store.close()


def test_unwritable_file_is_a_clear_permanent_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    store, _ = sample_store(tmp_path / "d.db")
    try:
        result = _send(store, FileChannel(blocker / "digest.html"))
        assert result.status == "failed" and "digest.file.path" in (result.error or "")
    finally:
        store.close()
