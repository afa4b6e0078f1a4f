"""Offers: the deadline read from the offer mail, set by hand, expiry, the digest's top, bad input."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from helpers_apps import msg, put
from offerwatch.daemon.cli import cli
from offerwatch.daemon.digest.build import build_digest, day_label
from offerwatch.daemon.digest.render import render_html, render_text
from offerwatch.extractors.deadline import read_deadline
from offerwatch.models.calendar_days import local_date
from offerwatch.models.offers import pending
from offerwatch.models.store import Store
from offerwatch.models.timeline import AssessConfig, assess

LON = ZoneInfo("Europe/London")
SENT = datetime(2026, 11, 12, 10, 0, tzinfo=timezone.utc)  # a Thursday


@pytest.mark.parametrize(("text", "expected"), [
    ("We are delighted to offer you the role. Please let us know by Friday 20 Nov.", date(2026, 11, 20)),
    ("Please respond by 2026-11-20 so we can prepare the contract.", date(2026, 11, 20)),
    ("Kindly reply within 5 business days.", date(2026, 11, 19)),
    ("Please sign and return the letter by November 24, 2026.", date(2026, 11, 24)),
    ("The offer is valid until 25th November.", date(2026, 11, 25)),
    ("Let us know by Friday if you accept.", date(2026, 11, 13)),
    ("Please confirm by end of day Monday.", date(2026, 11, 16)),
    ("Let us know by 10 January.", date(2027, 1, 10)),  # no year, written in November: next January
    ("Your formal offer letter is attached. Please let me know your decision by\nFriday 20 November.", date(2026, 11, 20)),
    ("Please log in to the portal within 7\ndays to accept or decline the offer.", date(2026, 11, 19)),
    ("Please accept your offer in the applicant portal within 48 hours so we can start your checks.", date(2026, 11, 14)),
])
def test_the_deadline_is_read_from_the_ways_recruiters_write_it(text: str, expected: date) -> None:
    found = read_deadline(text, SENT, LON)
    assert found is not None and found.day == expected
    assert found.evidence in " ".join(text.split())


@pytest.mark.parametrize("text", [
    "Your start date would be 4 January 2027.",  # a date, but nobody asks for an answer
    "Please respond by 2026-10-01.",  # before the mail was sent
    "We are delighted to offer you the role.",
    # the company promises to send something by then: not a reply-by day
    "The formal offer letter will be released on the portal within two working days; kindly accept it online.",
    "HR will send your formal letter of offer by the end of the week; please confirm you received it.",
])
def test_no_deadline_is_guessed(text: str) -> None:
    assert read_deadline(text, SENT, LON) is None


def test_the_day_is_the_owners_day() -> None:
    # 23:30 UTC on Thursday is already Friday in Tokyo: "by Friday" is then the next Friday
    late = datetime(2026, 11, 12, 23, 30, tzinfo=timezone.utc)
    assert read_deadline("Let us know by Friday.", late, ZoneInfo("America/Chicago")).day == date(2026, 11, 13)
    assert read_deadline("Let us know by Friday.", late, ZoneInfo("Asia/Tokyo")).day == date(2026, 11, 20)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Acme made an offer yesterday with a deadline 10 days out; Beta only invited to interview."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    path = tmp_path / "offers.db"
    sent = _now() - timedelta(days=1)
    due = (sent + timedelta(days=10)).date()
    with Store.open(path) as s:
        put(s,
            msg("a1", sender="Jo <jo@acme.io>", subject="Acme – your offer", date=sent, signals=("offer",),
                text=f"We are delighted to offer you the role. Please let us know by {due:%A %d %B %Y}."),
            msg("b1", sender="Bo <bo@beta-co.com>", subject="Beta Co – interview", date=sent - timedelta(days=2),
                signals=("interview_request",)))
        assess(s, config=AssessConfig(timezone="UTC"))
    return path


def _ids(path: Path) -> tuple[int, int]:
    with Store.open(path) as s:
        acme = s.rows("SELECT id FROM applications WHERE company LIKE 'Acme%'")[0]["id"]
        beta = s.rows("SELECT id FROM applications WHERE company LIKE 'Beta%'")[0]["id"]
    return acme, beta


def _offers(path: Path) -> list[dict]:
    with Store.open(path) as s:
        return s.rows("SELECT * FROM offers ORDER BY application_id")


def run(db: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


def test_an_offer_with_a_deadline_tops_the_digest_until_it_is_decided(db: Path) -> None:
    acme, _beta = _ids(db)
    due = (_now() - timedelta(days=1) + timedelta(days=10)).date()
    [row] = _offers(db)
    assert (row["application_id"], row["status"], row["deadline"], row["deadline_source"]) == (acme, "open", due.isoformat(), "mail")
    with Store.open(db) as s:
        d = build_digest(s, now=_now(), tz=timezone.utc)
        text, html = render_text(d), render_html(d)
    [o] = d.offers
    assert [a.app.id for a in d.actions if a.kind == "offer"] == [acme]
    assert o.app.id == acme and o.days_left == (due - _now().date()).days and "let us know by" in o.evidence.lower()
    assert text.index("OFFERS TO ANSWER") < text.index("NEEDS YOUR ATTENTION")
    assert f"({o.due})" in text and o.deadline in text
    assert html.index('id="offers"') < html.index('id="attention"')

    from rich.console import Console

    from offerwatch.daemon.digest.terminal import print_digest

    term = Console(record=True, width=120)
    print_digest(d, term)
    shown = term.export_text()
    assert shown.index("Offers to answer") < shown.index("Needs your attention") and f"answer by {o.deadline}" in shown
    import json

    listing = {r["id"]: r for r in map(json.loads, run(db, "apps", "--json").output.splitlines())}
    assert (listing[acme]["offer_status"], listing[acme]["offer_deadline"]) == ("open", due.isoformat())
    # a person reads the deadline as the digest writes it (issue 11); `apps --json` above keeps ISO
    from offerwatch.models.humandate import HumanDates, system_zone

    human_due = HumanDates(system_zone()).day(due)
    assert f"offer open, answer by {human_due} (from the mail:" in " ".join(run(db, "app", str(acme)).output.split())

    res = run(db, "apps", "offer", str(acme), "--accept")
    assert res.exit_code == 0, res.output
    assert _offers(db)[0]["status"] == "accepted"
    listing = {r["id"]: r for r in map(json.loads, run(db, "apps", "--json").output.splitlines())}
    assert listing[acme]["offer_status"] == "accepted"
    assert "offer accepted" in run(db, "app", str(acme)).output
    with Store.open(db) as s:
        after = build_digest(s, now=_now(), tz=timezone.utc)
        assert after.offers == ()
        assert not [a for a in after.actions if a.kind == "offer"]  # deciding answers the offer card too
        assess(s, config=AssessConfig(timezone="UTC"))  # the next sync keeps the user's decision
    assert _offers(db)[0]["status"] == "accepted"


def test_a_deadline_set_by_hand_wins_over_the_mail_and_survives_reassessing(db: Path) -> None:
    acme, _ = _ids(db)
    day = (_now() + timedelta(days=30)).date().isoformat()
    res = run(db, "apps", "offer", str(acme), "--deadline", day)
    assert res.exit_code == 0, res.output
    with Store.open(db) as s:
        assess(s, config=AssessConfig(timezone="UTC"))
        assert [p.deadline.isoformat() for p in pending(s, now=_now(), tz=timezone.utc)] == [day]
    assert _offers(db)[0]["deadline_source"] == "user"


def test_an_open_offer_past_its_deadline_expires(db: Path) -> None:
    with Store.open(db) as s:
        assess(s, now=_now() + timedelta(days=12), config=AssessConfig(timezone="UTC"))
        assert s.rows("SELECT status FROM offers")[0]["status"] == "expired"
        assert pending(s, now=_now() + timedelta(days=12), tz=timezone.utc) == []
    # a new deadline set by hand reopens it
    acme, _ = _ids(db)
    assert run(db, "apps", "offer", str(acme), "--deadline", local_date(_now(), timezone.utc).isoformat()).exit_code == 0
    assert _offers(db)[0]["status"] == "open"


@pytest.mark.parametrize(("args", "message"), [
    (("--deadline", "2020-01-01"), "is in the past"),
    (("--deadline", "20/11/2026"), "is not a date: write it as YYYY-MM-DD"),
    (("--deadline", "2026-02-30"), "is not a date"),
    ((), "give exactly one of"),
    (("--accept", "--decline"), "give exactly one of"),
])
def test_bad_offer_commands_change_nothing(db: Path, args: tuple[str, ...], message: str) -> None:
    acme, _ = _ids(db)
    before = _offers(db)
    res = run(db, "apps", "offer", str(acme), *args)
    assert res.exit_code != 0 and message in res.output
    assert "Traceback" not in res.output
    assert _offers(db) == before


def test_an_offer_command_on_an_application_without_an_offer_is_refused(db: Path) -> None:
    _, beta = _ids(db)
    before = _offers(db)
    for args in (("--accept",), ("--deadline", (_now() + timedelta(days=3)).date().isoformat())):
        res = run(db, "apps", "offer", str(beta), *args)
        assert res.exit_code == 1
        assert f"application #{beta} has no offer" in res.output and len(res.output.strip().splitlines()) == 1
    res = run(db, "apps", "offer", "999", "--accept")
    assert res.exit_code == 1 and "there is no application #999" in res.output
    assert _offers(db) == before


def test_end_to_end_an_offer_mail_through_the_pipeline_tops_the_digest_until_accepted(tmp_path: Path,
                                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A real offer mail, read by backfill (parse, classify, spaCy detection, linking, assess),
    tops the digest with the deadline it names; `apps offer ID --accept` takes it off."""
    import mailbox

    from mailfactory import message

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    sent = _now() - timedelta(days=1)
    due = (sent + timedelta(days=9)).date()
    box_path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(str(box_path))
    box.add(message(
        f"Hi Sam,\n\nWe are delighted to offer you the position of Data Engineer at Acme, with a base salary of "
        f"$150,000.\nPlease let us know your decision by {due:%A, %B} {due.day}.\n\nBest,\nJo Recruiter\nTalent, Acme",
        subject="Your offer from Acme", sender="Jo Recruiter <jo@acme.example>", date=sent))
    box.flush()
    box.close()
    config = tmp_path / "c.toml"
    config.write_text('[identity]\naddresses = ["sam@example.net"]\n[digest]\ntimezone = "UTC"\n', encoding="utf-8")
    db = tmp_path / "e2e.db"

    def cli_run(*args: str):
        return CliRunner().invoke(cli, [*args, "--db", str(db), "--config", str(config)], catch_exceptions=False)

    res = cli_run("backfill", "--source", str(box_path), "--no-progress")
    assert res.exit_code == 0, res.output
    [row] = _offers(db)
    assert (row["status"], row["deadline"], row["deadline_source"]) == ("open", due.isoformat(), "mail")
    out = tmp_path / "digest.txt"
    assert cli_run("digest", "--out", str(out)).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert text.index("OFFERS TO ANSWER") < text.index("NEEDS YOUR ATTENTION") and "Acme" in text
    assert f"answer by {day_label(due)} (in {(due - _now().date()).days} days)" in text
    res = cli_run("apps", "offer", str(row["application_id"]), "--accept")
    assert res.exit_code == 0, res.output
    assert cli_run("digest", "--out", str(out)).exit_code == 0
    assert "OFFERS TO ANSWER" not in out.read_text(encoding="utf-8")


def test_an_application_closed_by_hand_as_an_offer_takes_a_deadline(db: Path) -> None:
    _, beta = _ids(db)
    assert run(db, "apps", "close", str(beta), "--stage", "offer").exit_code == 0
    day = (_now() + timedelta(days=5)).date().isoformat()
    res = run(db, "apps", "offer", str(beta), "--deadline", day)
    assert res.exit_code == 0, res.output
    assert [(r["application_id"], r["deadline"], r["status"]) for r in _offers(db) if r["application_id"] == beta] == [
        (beta, day, "open")]


def test_the_deadline_reader_survives_any_text() -> None:
    """It reads hostile mail: any text gives a deadline within its window or None, never an error."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    words = st.sampled_from(["by", "Friday", "20", "Nov", "2026-11-20", "within", "5", "business", "days", "48",
                             "hours", "respond", "will", "send", ";", ".", "\n", "the", "31", "Feb", "99", "valid until"])

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.one_of(st.text(max_size=300), st.lists(words, max_size=40).map(" ".join)))
    def check(text: str) -> None:
        found = read_deadline(text, SENT, LON)
        assert found is None or date(2026, 11, 12) <= found.day <= date(2027, 3, 12)

    check()


def test_merging_moves_the_offer_with_its_mail(db: Path) -> None:
    acme, beta = _ids(db)
    res = run(db, "apps", "merge", str(beta), str(acme))
    assert res.exit_code == 0, res.output
    [row] = _offers(db)
    assert (row["application_id"], row["status"], row["deadline_source"]) == (beta, "open", "mail")
