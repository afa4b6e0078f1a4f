"""News is news (issue 11): "going quiet" once per crossing, cold applications on one line with a
way back, and a pipeline of the active applications only, capped, most urgent first.

The sample job search of ``digest_data`` (NOW: Tue 1 Dec 2026, 07:30 in Berlin), delivered
through the real file channel by the digest job, with the clock moved by the ``now`` it takes."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest_data import NOW, OWNER, TZ, at, message, quiet_shown, sample_store, set_app, write
from offerwatch.daemon.cli import cli
from offerwatch.daemon.config import Config, ConfigError, DigestConfig, parse_config
from offerwatch.daemon.digest.build import CLOSED_STAGES, Limits, build_digest
from offerwatch.daemon.digest.deliver import FileChannel, digest_row
from offerwatch.daemon.digest.job import compose, send_digest_now, settings_from_config
from offerwatch.daemon.digest.render import render_html, render_text
from offerwatch.models.cold import ReopenError, cold_applications, reopen
from offerwatch.models.domain import Direction
from offerwatch.models.store import Store
from offerwatch.models.timeline import assess


def _config(tmp_path: Path) -> Config:
    return Config(identity_addresses=(OWNER.email,),
                  digest=DigestConfig(time=time(7, 30), timezone="Europe/Berlin", channel="file",
                                      file_path=str(tmp_path / "digests" / "offerwatch-{date}.txt")))


def _deliver(store: Store, config: Config, when: datetime) -> str:
    """Deliver the digest of ``when``'s day through the file channel; its text as written."""
    store.clock = lambda: when
    result = send_digest_now(store, config, now=when, channel=FileChannel(config.digest.file_path))
    assert result.status == "sent", result
    assert result.where is not None
    return Path(result.where).read_text(encoding="utf-8")


def _quiet_section(text: str) -> str:
    return text.split("GOING QUIET", 1)[1].split("PIPELINE", 1)[0]


@pytest.fixture
def sample(tmp_path: Path):
    store, ids = sample_store(tmp_path / "d.db")
    yield store, ids
    store.close()


# -- 1. going quiet: once per crossing ------------------------------------------------------------

def test_going_quiet_is_told_once_by_a_delivered_digest_and_a_preview_records_nothing(sample, tmp_path: Path) -> None:
    store, _ = sample
    config = _config(tmp_path)
    settings = settings_from_config(config)
    for _ in range(2):  # previews: the same every time, nothing recorded
        d, _ = compose(store, settings, now=NOW)
        assert [q.app.company for q in d.quiet] == ["Meridian Freight"]
    assert quiet_shown(store) == []
    text = _deliver(store, config, NOW)
    assert "Meridian Freight" in _quiet_section(text)
    assert quiet_shown(store) == ["Meridian Freight"]
    [row] = store.rows("SELECT for_date, last_contact FROM quiet_shown")
    assert row == {"for_date": "2026-12-01", "last_contact": "2026-11-12T09:00:00+00:00"}  # the user's mail of 12 Nov
    # the next morning: not news any more, still in the pipeline where its days since contact show
    d, _ = compose(store, settings, now=NOW + timedelta(days=1))
    assert d.quiet == () and d.going_quiet == 0 and "going quiet" not in d.subject
    assert "Meridian Freight" in {p.app.company for p in d.pipeline}


def test_a_failure_to_record_never_unmarks_a_delivered_digest(sample, tmp_path: Path, monkeypatch, caplog) -> None:
    """A fault no real part produces (a bug, a full disk at that instant): the digest left, so the
    ledger says sent and it is not sent again; the log says what may repeat."""
    from offerwatch.daemon.digest import job

    def broken(store: Store, digest: object) -> None:
        raise RuntimeError("simulated failure")

    store, _ = sample
    monkeypatch.setattr(job, "record_quiet_shown", broken)
    _deliver(store, _config(tmp_path), NOW)
    assert digest_row(store, NOW.date())["status"] == "sent" and quiet_shown(store) == []
    assert "could not be recorded" in caplog.text


def test_the_digest_command_previews_and_out_files_record_nothing(sample, tmp_path: Path) -> None:
    store, _ = sample
    db = store.path
    store.close()
    config = tmp_path / "config.toml"
    config.write_text('[digest]\ntimezone = "Europe/Berlin"\n')
    for args in ([], ["--out", str(tmp_path / "d.html")], ["--preview", "--no-browser"]):
        out = CliRunner().invoke(cli, ["--config", str(config), "--db", str(db), "digest", *args])
        assert out.exit_code == 0, out.output
    with Store.open(db) as s:
        assert quiet_shown(s) == [] and s.rows("SELECT count(*) AS n FROM digests")[0]["n"] == 0


def test_going_quiet_again_only_after_new_mail_and_a_new_crossing(sample, tmp_path: Path) -> None:
    store, ids = sample
    config = _config(tmp_path)
    told = []
    first = _deliver(store, config, NOW)
    assert "Meridian Freight" in _quiet_section(first)
    # Wed 2 Dec: the user follows up; 7 business days later (Fri 11 Dec) the silence crosses again
    store.clock = lambda: at(12, 2, 9)
    write(store, [message("Meridian Freight", at(12, 2, 9), direction=Direction.OUT)])
    for k in range(1, 14):
        text = _deliver(store, config, NOW + timedelta(days=k))
        if "Meridian Freight" in _quiet_section(text):
            told.append((NOW + timedelta(days=k)).date().isoformat())
            assert "(Wed 2 Dec, you)" in _quiet_section(text)
    assert told == ["2026-12-11"]
    assert store.rows("SELECT for_date, last_contact FROM quiet_shown WHERE application_id = ?", [ids["Meridian Freight"]]) == [
        {"for_date": "2026-12-11", "last_contact": "2026-12-02T09:00:00+00:00"}]


# -- 2. gone cold ------------------------------------------------------------------------------

def test_an_application_silent_30_business_days_is_one_line_not_quiet_or_pipeline(sample) -> None:
    store, ids = sample
    d = build_digest(store, now=NOW, tz=TZ)
    # Oakridge: their interview request of Wed 14 Oct was never answered: 34 business days
    assert [(c.app.company, c.ghosted) for c in d.cold] == [("Oakridge Labs", False)] and d.cold_count == 1
    assert "Oakridge Labs" not in {p.app.company for p in d.pipeline} | {q.app.company for q in d.quiet}
    lines = [line for line in render_text(d).splitlines() if "gone cold" in line]
    assert lines == [(f"1 application gone cold: Oakridge Labs (#{ids['Oakridge Labs']}). No word for weeks, so it left "
                      "the pipeline; `offerwatch apps reopen ID` brings one back.")]
    assert f"Oakridge Labs (#{ids['Oakridge Labs']})" in render_html(d)
    # configurable, in business days as the rest of the code counts them (holidays skipped)
    assert build_digest(store, now=NOW, tz=TZ, cold_business_days=35).cold == ()
    assert [c.app.company for c in build_digest(store, now=NOW, tz=TZ, cold_business_days=34).cold] == ["Oakridge Labs"]
    thanksgiving = frozenset({date(2026, 11, 26)})
    assert build_digest(store, now=NOW, tz=TZ, cold_business_days=34, holidays=thanksgiving).cold == ()


def test_ghosted_is_closed_for_the_digest_and_on_the_cold_line(sample, tmp_path: Path) -> None:
    """Fri 11 Dec: Meridian has not written since the date they named (13 Nov) for 20 business
    days: the timeline closes it as ghosted."""
    store, ids = sample
    assert "ghosted" in CLOSED_STAGES
    text = _deliver(store, _config(tmp_path), NOW + timedelta(days=10))
    meridian = store.rows("SELECT stage FROM applications WHERE id = ?", [ids["Meridian Freight"]])[0]
    assert meridian["stage"] == "ghosted"
    quiet, pipeline = _quiet_section(text), text.split("PIPELINE", 1)[1]
    assert re.search(rf"gone cold: .*Meridian Freight \(#{ids['Meridian Freight']}\)", quiet)
    assert "* Meridian Freight" not in quiet and "Meridian Freight" not in pipeline and "Ghosted" not in text


def test_cold_business_days_is_a_digest_setting_longer_than_the_silence_threshold() -> None:
    assert parse_config({}).digest.cold_business_days == 30
    assert parse_config({"digest": {"cold_business_days": 45}}).digest.cold_business_days == 45
    assert parse_config({"detection": {"silence_business_days": 40}}).digest.cold_business_days == 41
    for value, words in ((5, "not longer than detection.silence_business_days (7)"), (0, "expected 1 to 260"),
                         ("30", "expected an integer")):
        with pytest.raises(ConfigError) as err:
            parse_config({"digest": {"cold_business_days": value}})
        [problem] = err.value.problems
        assert problem.startswith("digest.cold_business_days: ") and words in problem and "\n" not in problem


def test_reopen_brings_a_ghosted_application_back_for_a_full_period(sample) -> None:
    store, ids = sample
    meridian = ids["Meridian Freight"]
    dec11 = datetime(2026, 12, 11, 12, 0, tzinfo=TZ)
    assess(store, None, now=dec11)
    assert store.rows("SELECT stage FROM applications WHERE id = ?", [meridian])[0]["stage"] == "ghosted"
    assert reopen(store, meridian, now=dec11, tz=TZ) == "ghosted"
    assess(store, [meridian], now=dec11)
    assert store.rows("SELECT stage FROM applications WHERE id = ?", [meridian])[0]["stage"] != "ghosted"
    d = build_digest(store, now=dec11 + timedelta(days=1), tz=TZ)
    assert meridian in {p.app.id for p in d.pipeline} and meridian not in {c.app.id for c in d.cold}
    # it goes cold again only a full period (30 business days) after the reopening
    assert meridian not in cold_applications(store, now=datetime(2027, 1, 21, 12, tzinfo=TZ), tz=TZ)
    assert meridian in cold_applications(store, now=datetime(2027, 1, 22, 12, tzinfo=TZ), tz=TZ)


def test_reopen_errors_change_nothing(sample) -> None:
    store, ids = sample
    set_app(store, ids["Kestrel Payments"], stage="rejected", outlook=0)  # read from mail, not closed by hand
    before = store.rows("SELECT * FROM applications ORDER BY id")
    for app_id, words in ((999, "there is no application #999"), (ids["Northwind Analytics"], "is active"),
                          (ids["Kestrel Payments"], "rejected by its mail")):
        with pytest.raises(ReopenError, match=words):
            reopen(store, app_id, now=NOW, tz=TZ)
    assert store.rows("SELECT * FROM applications ORDER BY id") == before
    assert store.rows("SELECT count(*) AS n FROM corrections")[0]["n"] == 0


def _cli(db: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), *args])


def _cold_and_live(now: datetime) -> list[Any]:
    """A long-silent application and a fresh one, dated relative to ``now`` (the commands read the wall clock)."""
    return [message("Coldwater Labs", now - timedelta(days=120), [("interview_request", "Could we schedule a call?")]),
            message("Livewire Co", now - timedelta(days=1), [("interview_request", "Are you free on Thursday?")])]


def test_apps_reopen_on_the_command_line(tmp_path: Path) -> None:
    """The command reads the wall clock: the applications are dated relative to it."""
    db = tmp_path / "d.db"
    now = datetime.now(timezone.utc)
    with Store.open(db) as store:
        ids = write(store, [
            *_cold_and_live(now),
            message("Shutdoor Inc", now - timedelta(days=3), [("rejection", "We decided to move forward with other candidates.")]),
        ])
        set_app(store, ids["Shutdoor Inc"], stage="rejected", outlook=0, closed=True)  # closed by hand too
        before = store.rows("SELECT * FROM applications ORDER BY id")
    for args, words in ((["apps", "reopen", "999"], "there is no application #999"),
                        (["apps", "reopen", str(ids["Livewire Co"])], "is active"),
                        (["apps", "close", str(ids["Livewire Co"]), "--reopen"], "is active")):
        out = _cli(db, *args)
        assert out.exit_code == 1 and words in out.output and len(out.output.strip().splitlines()) == 1, out.output
    with Store.open(db) as store:
        assert store.rows("SELECT * FROM applications ORDER BY id") == before
    out = _cli(db, "apps", "reopen", str(ids["Coldwater Labs"]))
    assert out.exit_code == 0, out.output
    assert f"Reopened #{ids['Coldwater Labs']} (Coldwater Labs), which was gone cold: it is active again" in out.output
    out = _cli(db, "apps", "reopen", str(ids["Shutdoor Inc"]))
    assert out.exit_code == 0 and "its mail says rejected" in out.output, out.output
    with Store.open(db) as store:
        d = build_digest(store, now=datetime.now(timezone.utc), tz=TZ)
        assert "Coldwater Labs" in {p.app.company for p in d.pipeline} and d.cold == ()
        assert [r["kind"] for r in store.rows("SELECT kind FROM corrections ORDER BY id")] == ["reopen", "reopen"]
    help_text = _cli(db, "apps", "reopen", "--help").output
    assert "offerwatch apps reopen 8" in help_text


def test_apps_marks_what_the_digest_counts_as_gone_cold_and_a_decided_offer_is_never_cold(tmp_path: Path) -> None:
    """`apps` and the digest agree on what is active: a long-silent application says "gone cold";
    an offer the user accepted long ago is over, not cold. At 80 columns, where `apps` leaves
    its notes out, the stage says it."""
    db = tmp_path / "d.db"
    now = datetime.now(timezone.utc)
    with Store.open(db) as store:
        ids = write(store, [
            *_cold_and_live(now),
            message("Yesco", now - timedelta(days=120), [("offer", "We are delighted to offer you the role.")]),
        ])
        assess(store, now=now)
        store.db.execute("UPDATE offers SET status = 'accepted' WHERE application_id = ?", [ids["Yesco"]])
        cold = cold_applications(store, now=now, tz=TZ)
    assert set(cold) == {ids["Coldwater Labs"]}
    rows = {line.split()[1]: line for line in _cli(db, "apps").output.splitlines() if line.strip()[:1].isdigit()}
    assert "(cold)" in rows["Coldwater"] and "(cold)" not in rows["Livewire"] and "(cold)" not in rows["Yesco"]


# -- 3. the pipeline ---------------------------------------------------------------------------

def test_the_pipeline_lists_active_applications_capped_most_urgent_first(tmp_path: Path) -> None:
    with Store.open(tmp_path / "p.db") as store:
        recent = [message(f"Wait {n}", at(11, 25, 9 + n), [("keep_warm", "We are still interviewing.")]) for n in range(10)]
        ids = write(store, [
            *recent,
            message("Offer Co", at(11, 27, 9), [("keep_warm", "Thanks for your patience.")]),
            message("Ask Co", at(11, 30, 9), [("interview_request", "Could you share times for a call this week?")]),
            message("Turn Co", at(11, 5, 9), [("other_process_inquiry", "Where are you in other processes?")]),
            message("Hold Co", at(11, 24, 9), [("role_on_hold", "The role is on hold for now.")]),
            message("Ghost Co", at(11, 30, 10), [("interview_request", "Would Friday suit you?")]),
            message("Closed Co", at(11, 29, 9), [("keep_warm", "Still reviewing.")]),
            message("Old Co", at(9, 1, 9), [("keep_warm", "We will be in touch.")]),
        ])
        for n in range(10):
            set_app(store, ids[f"Wait {n}"], stage="interviewing", outlook=50 + n)
            store.db.execute("UPDATE applications SET ball = 'them' WHERE id = ?", [ids[f"Wait {n}"]])
        set_app(store, ids["Offer Co"], stage="offer", outlook=30)
        store.db.execute("INSERT INTO offers(application_id, status, deadline, deadline_source, updated_at) "
                         "VALUES (?, 'open', '2026-12-04', 'user', '2026-11-27T09:00:00+00:00')", [ids["Offer Co"]])
        set_app(store, ids["Ask Co"], stage="screening", outlook=20)
        set_app(store, ids["Turn Co"], stage="screening", outlook=40)
        store.db.execute("UPDATE applications SET ball = 'you' WHERE id = ?", [ids["Turn Co"]])
        set_app(store, ids["Hold Co"], stage="on_hold", outlook=95)
        set_app(store, ids["Ghost Co"], stage="ghosted", outlook=9)
        set_app(store, ids["Closed Co"], stage="withdrawn", outlook=0, closed=True)
        set_app(store, ids["Old Co"], stage="interviewing", outlook=70)
        d = build_digest(store, now=NOW, tz=TZ)
    assert [p.app.company for p in d.pipeline] == [
        "Offer Co", "Ask Co",  # an offer to answer, an ask to reply to
        "Turn Co",  # their last mail asks something
        "Wait 9", "Wait 8", "Wait 7",  # waiting on them, by outlook
    ]
    assert len(d.pipeline) == Limits().pipeline == 6 and d.pipeline_more == 8  # 6 more waiting, Hold Co last
    assert {c.app.company for c in d.cold} == {"Ghost Co", "Old Co"}
    assert "Ghost Co" not in {a.app.company for a in d.actions}  # ghosted is closed: no card
    text = render_text(d)
    assert "... and 8 more active applications." in text and "· 14 active applications" in text
