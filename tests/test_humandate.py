"""Every view a person reads shows a date in the digest's zone and one style; JSON keeps ISO 8601 (issue 11)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import tzlocal
from click.testing import CliRunner

from helpers_apps import msg, put
from offerwatch.daemon.cli import cli
from offerwatch.daemon.commands import demo_mailbox
from offerwatch.models.humandate import HumanDates, day_text, iso_text, token
from offerwatch.models.store import Store
from offerwatch.models.timeline import AssessConfig, assess

CHI = ZoneInfo("America/Chicago")
#: An ISO 8601 day, as a person should never read it.
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.fixture
def machine_in_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's zone is not the digest's: a view that asks the machine shows Tokyo's day."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    tzlocal.reload_localzone()
    yield
    monkeypatch.undo()
    tzlocal.reload_localzone()


def _config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text('[identity]\naddresses = ["maya@example.com"]\n\n[digest]\ntimezone = "America/Chicago"\n')
    path.chmod(0o600)
    return path


def _run(config: Path, db: Path, *args: str) -> str:
    res = CliRunner(env={"COLUMNS": "240"}).invoke(cli, ["--config", str(config), "--db", str(db), *args],
                                                   catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def _human(d: datetime) -> str:
    """``Fri 4 Dec`` written out by hand (strftime's C-locale names), not by the code under test."""
    return f"{d:%a} {d.day} {d:%b}"


# -- the module ---------------------------------------------------------------------------


def test_one_style_with_the_year_only_when_it_is_not_this_one() -> None:
    hd = HumanDates(CHI, today=date(2026, 12, 5))
    late = datetime(2026, 12, 5, 5, 59, tzinfo=timezone.utc)  # Fri 23:59 in Chicago
    assert (hd.day(late), hd.day_time(late)) == ("Fri 4 Dec", "Fri 4 Dec 23:59")
    assert hd.day_time("2026-12-05T05:59:00+00:00") == "Fri 4 Dec 23:59"  # as the store holds it
    assert hd.day("2026-10-06") == "Tue 6 Oct"  # a plain day is no instant: never shifted
    assert hd.day(date(2025, 10, 6)) == "Mon 6 Oct 2025"
    assert HumanDates(CHI, today=date(2027, 1, 2)).day_time(late) == "Fri 4 Dec 2026 23:59"
    assert (hd.day(None), hd.day(""), hd.day("not a date")) == ("—", "—", "not a date")
    assert day_text(date(2026, 3, 1)) == "Sun 1 Mar"


def test_stored_text_keeps_facts_and_is_rendered_where_it_is_read() -> None:
    late = datetime(2026, 12, 4, 23, 59, tzinfo=CHI)
    stored = f"asked on {token(late)}; 7 business days passed on {token(date(2026, 10, 15))}."
    # what is stored names no zone's rendering: the same text whichever zone reads it later
    assert stored == "asked on ⟦2026-12-05T05:59:00Z⟧; 7 business days passed on ⟦2026-10-15⟧."
    assert HumanDates(CHI, date(2026, 12, 5)).text(stored) == "asked on Fri 4 Dec 23:59; 7 business days passed on Thu 15 Oct."
    assert HumanDates(ZoneInfo("Europe/Berlin"), date(2026, 12, 5)).text(stored).startswith("asked on Sat 5 Dec 06:59;")
    assert iso_text(stored) == "asked on 2026-12-05T05:59:00+00:00; 7 business days passed on 2026-10-15."
    # a length limit that cut a token in half leaves no bracket behind
    assert iso_text(stored[:20]) == "asked on …" and HumanDates(CHI).text(stored[:20]) == "asked on …"
    assert HumanDates(CHI).text("…12-05T05:59:00Z⟧; 7 business") == "…; 7 business"  # a search snippet's window
    assert HumanDates(CHI).text("no dates here") == iso_text("no dates here") == "no dates here"


# -- a message written at 23:59 in Chicago, on every view ------------------------------------


def test_a_message_at_23_59_west_of_utc_shows_its_own_day_and_time_on_every_view(
        tmp_path: Path, machine_in_tokyo: None) -> None:
    """Yesterday 23:59 in Chicago is 05:59 today in UTC and 14:59 today in Tokyo (the machine's
    zone here); every view names the day and time of Chicago, the digest's zone."""
    now_chi = datetime.now(CHI)
    sent = datetime.combine(now_chi.date() - timedelta(days=1), time(23, 59), CHI)
    mail = tmp_path / "mail"
    mail.mkdir()
    eml = mail / "m1.eml"
    eml.write_text(
        "From: Jo Recruiter <jo@acme.io>\nTo: Maya <maya@example.com>\nSubject: Acme - Data Engineer: next step\n"
        f"Date: {format_datetime(sent)}\nMessage-ID: <late@acme.io>\nContent-Type: text/plain; charset=utf-8\n\n"
        "Hi Maya,\n\nThanks for applying to the Data Engineer role at Acme. Could you send me two or three times "
        "that work for you next week for a first interview?\n\nBest,\nJo Recruiter\nTalent Acquisition, Acme\n")
    config, db = _config(tmp_path), tmp_path / "o.db"
    _run(config, db, "backfill", "--source", str(mail), "--no-progress")
    day, day_time = _human(sent), f"{_human(sent)} 23:59"
    wrong = [_human(sent.astimezone(z)) for z in (timezone.utc, ZoneInfo("Asia/Tokyo"))]

    views = {
        "apps": _run(config, db, "apps"),
        "app": _run(config, db, "app", "1"),
        "signals": _run(config, db, "signals"),
        "scan": _run(config, db, "scan", str(eml)),
        "digest": _run(config, db, "digest"),
    }
    for name in ("apps", "app", "scan"):
        assert day_time in views[name], (name, views[name])
    assert re.search(rf"│ {day}\s+│", views["signals"]), views["signals"]
    assert f"Jo Recruiter · {day}" in views["digest"], views["digest"]
    for name, out in views.items():
        assert not ISO_DAY.search(out), (name, out)
        assert "05:59" not in out and "14:59" not in out, (name, out)
        if name != "digest":  # the digest's own header names today, which is the UTC day
            assert not any(w in out for w in wrong), (name, out)

    # JSON stays ISO 8601 with an offset
    (row,) = [json.loads(line) for line in _run(config, db, "apps", "--json").splitlines()]
    assert datetime.fromisoformat(row["last_contact"]) == sent
    sig = json.loads(_run(config, db, "signals", "--json").splitlines()[0])
    assert datetime.fromisoformat(sig["at"]) == sent
    scanned = json.loads(_run(config, db, "scan", str(eml), "--json"))
    assert datetime.fromisoformat(scanned["date"]) == sent


def test_derived_evidence_is_stored_as_facts_and_read_in_the_digests_zone(tmp_path: Path) -> None:
    """The next round asked for at 23:59 Chicago time: the stored evidence holds a UTC instant,
    `app`, `signals` and the digest say Friday 23:59, `--json` says ISO."""
    def chi(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=CHI)

    db = tmp_path / "o.db"
    with Store.open(db) as s:
        put(s,
            msg("a", sender="Sam <sam@acme.io>", subject="Acme – Data Engineer", date=chi("2026-12-02 09:00"),
                text="You're confirmed for Thursday, December 3, 2026 at 10:00 AM CT. Talk then.",
                signals=("interview_scheduled",)),
            msg("b", sender="Sam <sam@acme.io>", subject="Re: Acme – Data Engineer", date=chi("2026-12-04 23:59"),
                text="We'd love to set up the next round. Which days work?", signals=("interview_request",)))
        assess(s, now=chi("2026-12-07 09:00"), config=AssessConfig(timezone="America/Chicago"))
        (stored,) = s.rows("SELECT id, evidence FROM signals WHERE type = 'next_round_fast'")
        from offerwatch.daemon.digest.build import build_digest
        from offerwatch.daemon.digest.render import render_html, render_text

        d = build_digest(s, now=chi("2026-12-07 09:00"), tz=CHI, since=chi("2026-12-01 00:00"))
    assert "⟦2026-12-05T05:59:00Z⟧" in stored["evidence"] and "Fri" not in stored["evidence"]
    config = _config(tmp_path)
    asked = r"Next round asked for on Fri 4 Dec( 2026)? 23:59, 1 business day later: interview on Thu 3 Dec( 2026)? 10:00"
    assert re.search(asked, " ".join(_run(config, db, "app", "1").split()))
    assert re.search(r"Next round asked for on Fri 4 Dec( 2026)? 23:59", _run(config, db, "signals"))
    for text in (render_text(d), render_html(d)):
        assert "Next round asked for on Fri 4 Dec 23:59" in text and "⟦" not in text
    sig = next(json.loads(line) for line in _run(config, db, "signals", "--json").splitlines()
               if json.loads(line)["id"] == stored["id"])
    assert "asked for on 2026-12-05T05:59:00+00:00" in sig["evidence"]
    timeline = json.loads(_run(config, db, "app", "1", "--json"))["timeline"]
    assert any("2026-12-05T05:59:00+00:00" in e["title"] for e in timeline if e["kind"] == "derived")


# -- the demo mailbox: no ISO day in what a person reads -----------------------------------------


def test_no_iso_date_in_the_human_views_of_the_demo_and_json_stays_iso(tmp_path: Path) -> None:
    config, db = _config(tmp_path), tmp_path / "demo.db"
    views = {"demo (terminal digest)": _run(config, db, "demo"), "apps --all": _run(config, db, "apps", "--all"),
             "signals": _run(config, db, "signals")}
    with Store.open(db) as s:
        ids = [r["id"] for r in s.rows("SELECT id FROM applications ORDER BY id")]
        from offerwatch.daemon.digest.build import build_digest
        from offerwatch.daemon.digest.render import render_html, render_text

        newest = datetime.fromisoformat(s.rows("SELECT max(date) AS d FROM messages")[0]["d"])
        d = build_digest(s, now=newest, tz=CHI, since=newest - timedelta(days=90))
    views["digest text"], views["digest html"] = render_text(d), render_html(d)
    for i in ids:
        views[f"app {i}"] = _run(config, db, "app", str(i))
    for eml in sorted(demo_mailbox().glob("*.eml")):
        views[f"scan {eml.name}"] = _run(config, db, "scan", str(eml))
    for name, out in views.items():
        assert not ISO_DAY.search(out), (name, ISO_DAY.search(out), out)
        assert "⟦" not in out, (name, out)
    # the demo's derived evidence and stage reasons did get dates (rendered, not dropped)
    assert re.search(r"business days passed on \w{3} \d{1,2} \w{3}", " ".join(" ".join(views.values()).split()))

    for args in (("apps", "--all", "--json"), ("signals", "--json")):
        rows = [json.loads(line) for line in _run(config, db, *args).splitlines()]
        assert rows and "⟦" not in json.dumps(rows, ensure_ascii=False)
        for r in rows:
            for k in ("last_contact", "at"):
                if r.get(k):
                    assert datetime.fromisoformat(r[k]).utcoffset() is not None, (k, r[k])
    evidence = " ".join(r["evidence"] for r in map(json.loads, _run(config, db, "signals", "--json").splitlines())
                        if r["derived"])
    assert ISO_DAY.search(evidence)
    app = json.loads(_run(config, db, "app", str(ids[0]), "--json"))
    assert "⟦" not in json.dumps(app, ensure_ascii=False)


def test_the_digest_names_the_year_of_a_day_in_another_year(tmp_path: Path) -> None:
    """A digest on Mon 4 Jan 2027 about mail of Wed 30 Dec 2026: the year is said, today's is not."""
    from offerwatch.daemon.digest.build import build_digest
    from offerwatch.daemon.digest.render import render_text

    def chi(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=CHI)

    with Store.open(tmp_path / "o.db") as s:
        put(s, msg("a", sender="Sam <sam@acme.io>", subject="Acme – Data Engineer", date=chi("2026-12-30 23:59"),
                   text="Could you send me two or three times that work for you next week?", signals=("interview_request",)))
        assess(s, now=chi("2027-01-04 08:00"), config=AssessConfig(timezone="America/Chicago"))
        d = build_digest(s, now=chi("2027-01-04 08:00"), tz=CHI)
    (row,) = d.pipeline
    assert row.last_contact == "Wed 30 Dec 2026" and d.new_signals[0].signals[0].when == "Wed 30 Dec 2026"
    assert "Mon 4 Jan" in d.subject and "2027" not in d.subject
    assert "Wed 30 Dec 2026" in render_text(d)
