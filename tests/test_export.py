"""`offerwatch export`: CSV read back with csv, JSON nested, ICS parsed back with icalendar, bad paths."""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from helpers_apps import msg, put
from offerwatch.daemon.cli import cli
from offerwatch.models.domain import Address, CalendarEvent
from offerwatch.models.store import Store
from offerwatch.models.timeline import AssessConfig, assess

NOW = datetime.now(timezone.utc).replace(microsecond=0)
SLOT = (NOW + timedelta(days=20)).replace(hour=15, minute=0, second=0)
MOVED = SLOT + timedelta(days=1, hours=2)
CONFIRMED = (NOW + timedelta(days=30)).replace(hour=0, minute=0, second=0)


def _invite(seq: int, start: datetime) -> CalendarEvent:
    return CalendarEvent("acme-screen-1", "REQUEST", "Acme phone screen", start, start + timedelta(minutes=30),
                         Address("Jo", "jo@acme.io"), (Address("Priya Shah", "priya@acme.io"),), sequence=seq)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    path = tmp_path / "export.db"
    sent = NOW - timedelta(days=3)
    when = CONFIRMED.strftime("%A, %B %d, %Y")
    with Store.open(path) as s:
        put(s,
            msg("a1", sender="Jo <jo@acme.io>", subject="Acme – phone screen", date=sent, signals=("interview_request",),
                events=(_invite(0, SLOT),)),
            msg("b1", sender="Bo <bo@beta-co.com>", subject="Beta Co – interview confirmed", date=sent,
                signals=("interview_scheduled",),
                text=f"Your interview is confirmed. When: {when}, 11:00 AM - 11:30 AM UTC"),
            msg("c1", sender="Cy <cy@gamma.dev>", subject="Gamma – your offer", date=NOW - timedelta(days=1),
                signals=("offer",), text="We are pleased to offer you the role. Please respond within 5 business days."))
        assess(s, config=AssessConfig(timezone="UTC"))
    return path


def run(db: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


def _ids(db: Path) -> dict[str, int]:
    with Store.open(db) as s:
        return {r["company"].split()[0].lower(): r["id"] for r in s.rows("SELECT id, company FROM applications")}


def test_csv_lists_every_application_with_its_next_step_and_offer(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "apps.csv"
    res = run(db, "export", "--csv", str(out))
    assert res.exit_code == 0, res.output
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    with out.open(newline="", encoding="utf-8") as f:
        rows = {r["company"].split()[0].lower(): r for r in csv.DictReader(f)}
    ids = _ids(db)
    assert set(rows) == set(ids)
    assert {"stage", "outlook", "last_contact", "next_step", "offer_status", "offer_deadline"} <= set(rows["acme"])
    assert rows["acme"]["next_step"].startswith("interview on ")
    assert rows["gamma"]["offer_status"] == "open" and rows["gamma"]["offer_deadline"]
    assert rows["gamma"]["next_step"] == f"answer the offer by {rows['gamma']['offer_deadline']}"
    assert rows["acme"]["offer_status"] == "" and int(rows["acme"]["outlook"]) >= 0


def test_json_nests_structures_instead_of_json_strings(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "apps.json"
    assert run(db, "export", "--json", str(out)).exit_code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    apps = {a["company"].split()[0].lower(): a for a in doc["applications"]}
    assert isinstance(apps["acme"]["outlook_explanation"], list) and apps["acme"]["outlook_explanation"]
    assert apps["gamma"]["offer"]["status"] == "open" and apps["acme"]["offer"] is None
    assert [i["kind"] for i in apps["acme"]["interviews"]] == ["invite"]

    def strings(v):
        if isinstance(v, dict):
            for x in v.values():
                yield from strings(x)
        elif isinstance(v, list):
            for x in v:
                yield from strings(x)
        elif isinstance(v, str):
            yield v

    for text in strings(doc):
        assert not (text.startswith(("{", "[")) and text.endswith(("}", "]"))), f"a JSON string inside JSON: {text[:60]}"


def _events(path: Path) -> dict[str, dict]:
    cal = Calendar.from_ical(path.read_bytes())
    return {str(e["UID"]): {"start": e.decoded("DTSTART"), "summary": str(e["SUMMARY"]), "status": str(e["STATUS"]),
                            "sequence": int(e["SEQUENCE"]),
                            "description": str(e["DESCRIPTION"])} for e in cal.walk("VEVENT")}


def test_ics_has_every_interview_with_stable_uids_that_update_on_reimport(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "interviews.ics"
    assert run(db, "export", "--ics", str(out)).exit_code == 0
    first = _events(out)
    ids = _ids(db)
    assert len(first) == 2
    acme = next(e for e in first.values() if "Acme" in e["summary"])
    beta = next(e for e in first.values() if "Beta" in e["summary"])
    assert acme["start"] == SLOT and acme["status"] == "CONFIRMED"
    assert f"Application #{ids['acme']}: Acme" in acme["description"] and "Priya Shah" in acme["description"]
    assert beta["start"] == CONFIRMED.replace(hour=11) and f"Application #{ids['beta']}" in beta["description"]

    # the same export again: the same UIDs (a calendar replaces, never duplicates)
    assert run(db, "export", "--ics", str(out)).exit_code == 0
    assert set(_events(out)) == set(first)

    # the invitation is moved: one event, same UID, new time
    with Store.open(db) as s:
        put(s, msg("a2", sender="Jo <jo@acme.io>", subject="Updated: Acme phone screen", date=NOW - timedelta(days=1),
                   irt="a1", events=(_invite(1, MOVED),)))
        assess(s, config=AssessConfig(timezone="UTC"))
    assert run(db, "export", "--ics", str(out)).exit_code == 0
    moved = _events(out)
    assert set(moved) == set(first)
    acme_moved = next(e for e in moved.values() if "Acme" in e["summary"])
    assert (acme_moved["start"], acme_moved["sequence"], acme["sequence"]) == (MOVED, 1, 0)


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_an_export_into_a_missing_folder_is_refused_and_writes_nothing(db: Path, tmp_path: Path) -> None:
    before = _listing(tmp_path)
    res = run(db, "export", "--csv", str(tmp_path / "ok.csv"), "--ics", str(tmp_path / "nope" / "i.ics"))
    assert res.exit_code == 1
    assert "the folder" in res.output and "does not exist" in res.output and len(res.output.strip().splitlines()) == 1
    assert _listing(tmp_path) == before  # not even the valid CSV


def test_an_export_onto_a_folder_is_refused(db: Path, tmp_path: Path) -> None:
    res = run(db, "export", "--json", str(tmp_path))
    assert res.exit_code != 0 and "Traceback" not in res.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_export_into_a_read_only_folder_is_refused_and_leaves_the_old_file(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    old = folder / "apps.csv"
    old.write_text("previous export\n")
    folder.chmod(0o500)
    try:
        res = run(db, "export", "--csv", str(old))
        assert res.exit_code == 1 and "cannot write into the folder" in res.output
        assert old.read_text() == "previous export\n" and _listing(folder) == ["apps.csv"]
    finally:
        folder.chmod(0o700)


def test_export_needs_a_format(db: Path) -> None:
    res = run(db, "export")
    assert res.exit_code == 2 and "give at least one of --csv FILE, --json FILE, --ics FILE" in res.output


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_an_export_into_a_folder_no_file_can_be_made_in_is_one_clear_line(db: Path) -> None:
    # /proc takes no new files even for root: the temporary file fails and nothing is left
    res = run(db, "export", "--json", "/proc/offerwatch-export.json")
    assert res.exit_code == 1
    assert "cannot write" in res.output and "/proc/offerwatch-export.json" in res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert not Path("/proc/offerwatch-export.json").exists()


def _no_json_in_strings(value: object) -> None:
    if isinstance(value, dict):
        for x in value.values():
            _no_json_in_strings(x)
    elif isinstance(value, list):
        for x in value:
            _no_json_in_strings(x)
    elif isinstance(value, str):
        assert not (value.startswith(("{", "[")) and value.endswith(("}", "]"))), f"JSON inside a string: {value[:60]}"


def test_every_json_output_nests_structures(db: Path) -> None:
    import dataclasses

    with Store.open(db) as s:
        a = msg("d1", sender="Di <di@delta.io>", subject="Delta – salary", date=NOW - timedelta(days=2),
                signals=("salary_reconfirm",))
        sig = dataclasses.replace(a.signals[0], entities={"amount": {"min": 90000, "currency": "EUR"}})
        put(s, dataclasses.replace(a, signals=(sig,)))
        assess(s, config=AssessConfig(timezone="UTC"))
    ids = _ids(db)
    apps = [json.loads(line) for line in run(db, "apps", "--json").output.splitlines()]
    assert all(isinstance(a["outlook_explanation"], list) for a in apps)
    assert all(isinstance(a["derived_types"], list) for a in apps)  # not SQL's "a,b" text
    one = json.loads(run(db, "app", str(ids["acme"]), "--json").output)
    assert isinstance(one["application"]["outlook_explanation"], list)
    sigs = [json.loads(line) for line in run(db, "signals", "--json").output.splitlines()]
    assert [s["entities"] for s in sigs if s["type"] == "salary_reconfirm"] == [{"amount": {"min": 90000, "currency": "EUR"}}]
    for doc in (apps, one, sigs):
        _no_json_in_strings(doc)


def test_an_offer_past_its_deadline_exports_as_expired_before_the_next_assess(db: Path, tmp_path: Path) -> None:
    with Store.open(db) as s:
        s.db.execute("UPDATE offers SET deadline = ?", [(NOW - timedelta(days=2)).date().isoformat()])
    out = tmp_path / "apps.json"
    assert run(db, "export", "--json", str(out)).exit_code == 0
    [offer] = [a["offer"] for a in json.loads(out.read_text())["applications"] if a["offer"]]
    assert offer["status"] == "expired"
