"""offerwatch's own digest never comes back as data (issue 11).

Sent by SMTP to the user, a digest lands in INBOX or Sent, the folders read by default. Read
back as mail it became an application named after its date, with an interview "mentioned as
held" and the user's salary figures quoted from other mail. Here the real digest of a synced
mailbox is appended to Dovecot's INBOX and Sent (as the SMTP and IMAP APPEND channels leave
it, and with its X-Offerwatch-Digest header stripped by a relay) and synced again: nothing
the user sees changes."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from dovecot import DovecotUser
from test_imap_sync import ACCOUNT, Cli, load_demo, ok, recorder, run, snapshot, user  # noqa: F401 - fixtures

from offerwatch.extractors.pipeline import analyze


def _without_digest_header(raw: bytes) -> bytes:
    msg = email.message_from_bytes(raw, policy=email.policy.SMTP)
    del msg["X-Offerwatch-Digest"]
    return msg.as_bytes()


def test_a_digest_read_back_from_inbox_and_sent_changes_nothing(tmp_path: Path, run: Cli, user: DovecotUser) -> None:
    load_demo(user)
    ok(run("backfill", "--account", ACCOUNT, "--no-progress"))
    before = snapshot(run.db)
    assert before["applications"] and before["signals"]
    out = tmp_path / "today.eml"
    ok(run("digest", "--out", str(out)))
    raw = out.read_bytes()
    assert b"X-Offerwatch-Digest:" in raw and b"Message-ID: <ow." in raw
    stripped = _without_digest_header(raw)
    for folder in ("INBOX", "Sent"):
        user.append(folder, raw)
        user.append(folder, stripped)
    ok(run("sync", "--no-progress"))
    after = snapshot(run.db)
    for table in ("applications", "signals"):
        assert after[table] == before[table], f"the digest changed {table}"
    new = [m for m in after["messages"] if m not in before["messages"]]
    assert new and all(m["is_job"] == 0 and m["application_id"] is None for m in new)
    assert all("offerwatch's own digest" in m["job_reason"] for m in new)
    assert all(m["subject"] is None and m["text"] is None for m in new)  # nothing of it kept


def test_the_digest_file_itself_is_not_job_mail_from_any_direction(tmp_path: Path, run: Cli, user: DovecotUser) -> None:
    load_demo(user)
    ok(run("backfill", "--account", ACCOUNT, "--no-progress"))
    out = tmp_path / "today.eml"
    ok(run("digest", "--out", str(out)))
    for raw in (out.read_bytes(), _without_digest_header(out.read_bytes())):
        for role in (None, "sent"):
            a = analyze(raw, folder_role=role)
            assert not a.is_job and not a.signals and not a.salaries
