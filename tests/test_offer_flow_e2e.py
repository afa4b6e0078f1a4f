"""Issue 12's whole flow against the real parts: `offerwatch run` as a subprocess, Dovecot, aiosmtpd
and a recorded notify-send.

An offer mail that names its reply-by day arrives in INBOX; the poll that reads it alerts on the
desktop and by mail; the service's next digest lists the offer with its deadline on top; after
`offerwatch apps offer ID --accept` (run while the service holds the database) the digest of the
day after no longer has it.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dovecot import DovecotServer
from mailfactory import message
from smtp_recorder import SmtpRecorder
from test_alerts import Notify, notify  # noqa: F401 - the recorded notify-send fixture
from test_daemon_e2e import PASSWORD_ENV, Daemon, clock_before_slot, smtp, start_daemon, write_config  # noqa: F401 - smtp: a fixture
from offerwatch.daemon.digest.build import day_label

pytestmark = pytest.mark.integration



def parsed(recorder: SmtpRecorder) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(m, policy=email.policy.default) for m in recorder.messages]  # type: ignore[misc]


def digests(recorder: SmtpRecorder) -> list[str]:
    """The plain-text part of every digest the service sent."""
    texts = []
    for msg in parsed(recorder):
        if msg["X-Offerwatch-Alert"]:
            continue
        part = msg.get_body(preferencelist=("plain",))
        assert part is not None
        texts.append(part.get_content())
    return texts


def test_an_offer_alerts_within_its_poll_tops_the_next_digest_and_leaves_it_when_accepted(
        dovecot: DovecotServer, smtp: tuple[int, SmtpRecorder], notify: Notify, tmp_path: Path) -> None:  # noqa: F811
    port, recorder = smtp
    user = dovecot.create_user()
    db = tmp_path / "ow.db"
    # The service's clock starts 10 minutes before the digest's slot, whatever the time of day
    # the test runs (a slot 10 real minutes ahead was past midnight after 23:50 UTC: today's
    # slot, 00:0x, was then over and the digest went out at the first poll).
    slot = clock_before_slot(tmp_path, 600)
    now = slot - timedelta(minutes=10)  # the service's now
    config = tmp_path / "config.toml"
    write_config(config, dovecot, user, db, port, slot, '[alerts]\nchannels = ["desktop", "mail"]\n')
    daemon: Daemon = start_daemon(tmp_path, config, db, user.password)
    try:
        daemon.wait_for(lambda: daemon.polls() >= 1, 60, "the first poll")
        assert not recorder.messages

        # the offer arrives, naming its reply-by day
        due = (now + timedelta(days=9)).date()
        user.append("INBOX", message(
            f"Hi Sam,\n\nWe are delighted to offer you the position of Data Engineer at Acme, with a base salary "
            f"of $150,000.\nPlease let us know your decision by {due:%A, %B} {due.day}.\n\nBest,\nJo Recruiter\n"
            "Talent Partner, Acme",
            subject="Your offer from Acme", sender="Jo Recruiter <jo@acme.example>", date=now - timedelta(minutes=2)))
        daemon.wait_for(lambda: any(m["X-Offerwatch-Alert"] for m in parsed(recorder)), 30, "the alert mail")

        # the alert went out in the poll that read the offer: its log line comes before that poll's report
        log = daemon.text()
        delivered = log.index("alert(s) delivered via mail")
        report = re.search(r"poll \d+: 1 account\(s\), (\d+) new message\(s\)", log[delivered:])
        assert report is not None and report.group(1) == "1", log[-3000:]
        [alert] = [m for m in parsed(recorder) if m["X-Offerwatch-Alert"]]
        assert alert["Subject"].startswith("offerwatch: Offer — Acme")
        assert "delighted to offer you the position" in alert.get_body(preferencelist=("plain",)).get_content()
        [call] = notify.calls()
        assert call[3].startswith("offerwatch: Offer — Acme")

        # the clock reaches the digest slot: the digest lists the offer with its deadline, on top
        daemon.clock.write_text(str((slot - datetime.now(timezone.utc)).total_seconds() + 5))
        daemon.wait_for(lambda: digests(recorder), 30, "the digest")
        [first] = digests(recorder)
        days_left = (due - slot.date()).days
        assert first.index("OFFERS TO ANSWER") < first.index("NEEDS YOUR ATTENTION")
        assert "Acme" in first and f"answer by {day_label(due)} (in {days_left} days)" in first

        # accepted while the service runs; the next day's digest no longer has it on top
        listed = subprocess.run(
            [sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), "apps", "--json"],
            capture_output=True, text=True, timeout=60, env={**os.environ, PASSWORD_ENV: user.password})
        assert listed.returncode == 0, listed.stderr
        [app] = [a for a in map(json.loads, listed.stdout.splitlines()) if a["company"] == "Acme"]
        accepted = subprocess.run(
            [sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), "apps", "offer", str(app["id"]),
             "--accept"], capture_output=True, text=True, timeout=60)
        assert accepted.returncode == 0, accepted.stdout + accepted.stderr
        assert daemon.query(f"SELECT status FROM offers WHERE application_id = {int(app['id'])}") == [("accepted",)]
        daemon.clock.write_text(str((slot + timedelta(days=1) - datetime.now(timezone.utc)).total_seconds() + 5))
        daemon.wait_for(lambda: len(digests(recorder)) >= 2, 30, "the next day's digest")
        second = digests(recorder)[1]
        assert "OFFERS TO ANSWER" not in second and "answer by" not in second
        assert len([m for m in parsed(recorder) if m["X-Offerwatch-Alert"]]) == 1  # nothing alerted twice
    finally:
        if daemon.proc.poll() is None:
            daemon.stop()
