"""Calendar parts are read as a calendar client shows them: DURATION gives an end, an
all-day event stays on its day in every zone, and the invitation's words and people
(SUMMARY, DESCRIPTION, ORGANIZER and ATTENDEE names with their roles) are exposed."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from helpers_apps import at, msg, put

from offerwatch.extractors.parse import parse_calendar, parse_mail
from offerwatch.extractors.pipeline import analyze
from offerwatch.models.domain import Attendee
from offerwatch.models.store import Store
from offerwatch.models.timeline import AssessConfig, timeline

CHICAGO = ZoneInfo("America/Chicago")


def ics(*lines: str) -> bytes:
    event = "\r\n".join(lines)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
        f"UID:evt-1@acme.example\r\nDTSTAMP:20261001T090000Z\r\n{event}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def invitation(calendar: bytes) -> bytes:
    return (
        b"From: Jo Recruiter <jo@acme.example>\r\nTo: sam@example.net\r\nSubject: Invitation: Interview\r\n"
        b"Date: Thu, 1 Oct 2026 09:00:00 +0000\r\nMessage-ID: <inv-1@acme.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n'
        b"You have been invited.\r\n--B\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\n"
        + calendar + b"\r\n--B--\r\n"
    )


def test_duration_gives_the_event_an_end() -> None:
    (ev,), problem = parse_calendar(ics("DTSTART:20261012T150000Z", "DURATION:PT45M", "SUMMARY:Phone screen"))
    assert problem is None
    assert ev.start == datetime(2026, 10, 12, 15, 0, tzinfo=timezone.utc)
    assert ev.end == ev.start + timedelta(minutes=45)


def test_all_day_event_is_a_day_not_midnight_utc() -> None:
    (ev,), _ = parse_calendar(ics("DTSTART;VALUE=DATE:20261012", "SUMMARY:Onsite interview day"))
    assert ev.all_day
    assert ev.start == date(2026, 10, 12) and not isinstance(ev.start, datetime)
    assert ev.end == date(2026, 10, 13)  # RFC 5545: an all-day event without DTEND lasts the day


def test_all_day_interview_is_on_its_day_west_of_utc() -> None:
    """Stored and read back, the all-day invite is Monday 12 October in Chicago, not Sunday."""
    a = analyze(invitation(ics("DTSTART;VALUE=DATE:20261012", "DTEND;VALUE=DATE:20261013", "SUMMARY:Onsite interview day")))
    (ev,) = a.events
    store = Store.open(None)
    try:
        put(store, msg("inv", sender="Jo Recruiter <jo@acme.io>", subject="Invitation: Onsite", date=at("2026-10-01 09:00"),
                       signals=("interview_scheduled",), events=(ev,)))
        (entry,) = [e for e in timeline(store, 1, config=AssessConfig(timezone="America/Chicago")) if e.kind == "interview"]
        assert entry.at is not None and entry.at.astimezone(CHICAGO).date() == date(2026, 10, 12)
        assert store.rows("SELECT start FROM events")[0]["start"] == "2026-10-12"
    finally:
        store.close()


def test_summary_description_organizer_and_attendees_with_roles() -> None:
    p = parse_mail(invitation(ics(
        "DTSTART:20261012T150000Z",
        "DTEND:20261012T160000Z",
        "SUMMARY:Panel interview - Senior Engineer",
        "DESCRIPTION:You will meet three members of the team.\\nThe panel includes our VP of Engineering.",
        'ORGANIZER;CN="Fitzgerald, Moira":mailto:moira@acme.example',
        "ATTENDEE;CN=Priya Shah (VP Engineering);ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:priya@acme.example",
        "ATTENDEE;CN=Sam Candidate;ROLE=OPT-PARTICIPANT:mailto:sam@example.net",
        "ATTENDEE:mailto:room-4@acme.example",
    )))
    (ev,) = p.events
    assert ev.summary == "Panel interview - Senior Engineer"
    assert ev.description == "You will meet three members of the team.\nThe panel includes our VP of Engineering."
    assert ev.organizer is not None and ev.organizer.name == "Fitzgerald, Moira" and ev.organizer.email == "moira@acme.example"
    assert ev.attendees == (
        Attendee("Priya Shah (VP Engineering)", "priya@acme.example", "REQ-PARTICIPANT", "ACCEPTED"),
        Attendee("Sam Candidate", "sam@example.net", "OPT-PARTICIPANT", ""),
        Attendee("", "room-4@acme.example", "", ""),
    )
    text = ev.reader_text()
    assert "The panel includes our VP of Engineering." in text
    assert "Attendee: Priya Shah (VP Engineering) (REQ-PARTICIPANT)" in text and "Organizer: Fitzgerald, Moira" in text


def test_event_breaking_rfc5545_keeps_what_it_says() -> None:
    """DTEND and DURATION both: icalendar's Event.end refuses; DTSTART and DTEND are kept."""
    (ev,), _ = parse_calendar(ics("DTSTART:20261012T150000Z", "DTEND:20261012T160000Z", "DURATION:PT2H", "SUMMARY:x"))
    assert ev.start == datetime(2026, 10, 12, 15, 0, tzinfo=timezone.utc)
    assert ev.end == datetime(2026, 10, 12, 16, 0, tzinfo=timezone.utc)


def test_a_thunderbird_time_zone_id_is_read_quietly_as_the_zone_it_names() -> None:
    """Thunderbird writes TZIDs with a vendor prefix; icalendar reads the zone after it and warned
    each time, which printed a Python warning over the backfill's progress bar."""
    import warnings

    calendar = ics("DTSTART;TZID=/mozilla.org/20070129_1/America/New_York:20261124T140000",
                   "DTEND;TZID=/mozilla.org/20070129_1/America/New_York:20261124T150000", "SUMMARY:Final round")
    with warnings.catch_warnings(record=True) as caught:  # entering resets the once-per-place registry
        (ev,), problem = parse_calendar(calendar)
    assert problem is None and [str(w.message) for w in caught] == []
    assert ev.start == datetime(2026, 11, 24, 19, 0, tzinfo=timezone.utc)  # 14:00 in New York (EST)
    assert ev.end is not None and ev.end - ev.start == timedelta(hours=1)
