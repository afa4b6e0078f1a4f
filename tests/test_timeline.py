"""Derived signals, stage, contact fields and the salary guard follow the rules on small dated threads."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

import pytest

from helpers_apps import CHI, at, msg, put
from offerwatch.models.calendar_days import (
    add_business_days,
    business_days_between,
    holidays_from_config,
    interview_times,
    named_date,
    parse_holiday_calendar,
    past_conversation_dates,
)
from offerwatch.models.domain import Address, CalendarEvent, Salary
from offerwatch.models.humandate import HumanDates
from offerwatch.models.store import Store
from offerwatch.models.timeline import AssessConfig, assess, salary_guard, timeline

CFG = AssessConfig(timezone="America/Chicago")
US = AssessConfig(timezone="America/Chicago", holidays=holidays_from_config(["US"], years=[2026]))


@pytest.fixture
def store():
    s = Store.open(None)
    yield s
    s.close()


def app(store: Store, app_id: int = 1) -> dict:
    return store.rows("SELECT * FROM applications WHERE id = ?", [app_id])[0]


def derived(store: Store, app_id: int = 1) -> list[dict]:
    return store.rows("SELECT * FROM signals WHERE application_id = ? AND derived = 1 ORDER BY type, at", [app_id])


def shown(text: str, today: str) -> str:
    """Stored text as a person reads it in Chicago (its date tokens rendered), as of ``today``."""
    return HumanDates(CHI, date.fromisoformat(today)).text(text)


def kinds(store: Store, app_id: int = 1) -> list[str]:
    return [d["type"] for d in derived(store, app_id)]


S = "Sam <sam@acme.io>"
SUBJ = "Acme – Data Engineer"


def confirmed(mid: str, sent: str, slot: str, **kw) -> object:
    return msg(mid, sender=S, subject=SUBJ, date=at(sent), text=f"You're confirmed for {slot}. Talk then.",
               signals=("interview_scheduled",), **kw)


def invite(mid: str, sent: str, **kw) -> object:
    return msg(mid, sender=S, subject=f"Re: {SUBJ}", date=at(sent), text="We'd love to set up the next round. Which days work?",
               signals=("interview_request",), **kw)


# -- calendar days ------------------------------------------------------------------------


def test_business_days_skip_weekends_and_given_holidays() -> None:
    assert business_days_between(date(2026, 9, 24), date(2026, 9, 28)) == 2  # Thu -> Mon
    assert business_days_between(date(2026, 9, 25), date(2026, 9, 28)) == 1  # Fri -> Mon
    assert business_days_between(date(2026, 9, 28), date(2026, 9, 28)) == 0
    assert business_days_between(date(2026, 9, 28), date(2026, 9, 1)) == 0
    hol = holidays_from_config(["US"], years=[2026])
    assert business_days_between(date(2026, 9, 3), date(2026, 9, 8)) == 3
    assert business_days_between(date(2026, 9, 3), date(2026, 9, 8), hol) == 2  # Labor Day
    assert business_days_between(date(2026, 1, 1), date(2026, 12, 31), hol) == 261 - 11 + 1 - 1
    assert add_business_days(date(2026, 11, 25), 1, hol) == date(2026, 11, 27)  # over Thanksgiving
    assert add_business_days(date(2026, 9, 4), 1) == date(2026, 9, 7)


def test_us_federal_holidays_observed_dates() -> None:
    hol = holidays_from_config(["US"], years=[2026, 2027])
    assert {date(2026, 7, 3), date(2026, 11, 26), date(2026, 5, 25), date(2027, 12, 24), date(2027, 1, 18)} <= hol
    # Eleven federal holidays fall on weekdays as observed (July 4th, a Saturday, is kept too).
    assert len([d for d in holidays_from_config(["US"], years=[2026]) if d.weekday() < 5]) == 11
    assert date(2026, 12, 24) in holidays_from_config(["US"], ["2026-12-24"], years=[2026])
    with pytest.raises(ValueError, match="unknown holiday calendar"):
        holidays_from_config(["Mars"])
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        holidays_from_config([], ["Christmas"])


def test_juneteenth_is_a_federal_holiday_from_2021_only() -> None:
    """Regression: the hand-written list had June 19 in every year, 2020 included."""
    hol = holidays_from_config(["US"], years=[2020, 2021])
    assert date(2020, 6, 19) not in hol
    assert date(2021, 6, 18) in hol  # June 19, 2021 was a Saturday: observed on Friday


def test_holiday_calendars_of_any_country_and_region() -> None:
    bavaria = holidays_from_config(["DE-BY"], years=[2026])
    assert date(2026, 1, 6) in bavaria and date(2026, 1, 6) not in holidays_from_config(["DE-BE"], years=[2026])  # Epiphany
    scotland = holidays_from_config(["GB-SCT"], years=[2026])
    assert date(2026, 1, 2) in scotland and date(2026, 1, 2) not in holidays_from_config(["GB-ENG"], years=[2026])
    assert parse_holiday_calendar(" de-by ") == ("DE", "BY")
    assert date(2026, 10, 3) in holidays_from_config(["DE-BY", "GB-SCT"], years=[2026])  # both calendars count
    with pytest.raises(ValueError, match=r"'XX'.*country code"):
        parse_holiday_calendar("XX")
    with pytest.raises(ValueError, match=r"'DE-ZZ'.*DE-BY"):
        parse_holiday_calendar("DE-ZZ")
    with pytest.raises(ValueError, match="not a date in the calendar"):
        holidays_from_config([], ["2026-13-01"])
    # Old mail counts too: the default years reach back 30 years.
    assert date(2010, 12, 24) in holidays_from_config(["US"]) or date(2010, 12, 24).weekday() >= 5
    assert date(2010, 7, 5) in holidays_from_config(["US"])  # July 4th, 2010 was a Sunday


def test_reading_interview_times_in_text() -> None:
    sent = datetime(2026, 7, 17, 16, tzinfo=timezone.utc)
    (t,) = interview_times("When: Monday, July 20, 2026, 11:00 AM - 11:30 AM PDT", sent, CHI)
    assert t.at.isoformat() == "2026-07-20T11:00:00-07:00"
    (t,) = interview_times("I confirm your interview on Tuesday 15 September, 15:00–17:30 CEST", at("2026-09-08 02:30"), CHI)
    assert t.at.isoformat() == "2026-09-15T15:00:00+02:00"
    (t,) = interview_times("Tuesday, August 11, 1:00-1:45 PM CT", at("2026-08-05 13:10"), CHI)
    assert (t.at.hour, t.day) == (13, date(2026, 8, 11))
    assert interview_times("We met on July 2.", at("2026-08-05 13:10"), CHI) == []  # a past date is no slot


def test_reading_past_conversations_and_promised_dates() -> None:
    tue = at("2026-09-08 14:20")
    assert [f.day for f in past_conversation_dates("Great talking with you this morning!", tue, CHI)] == [date(2026, 9, 8)]
    assert [f.day for f in past_conversation_dates("Thank you for yesterday's conversation.", tue, CHI)] == [date(2026, 9, 7)]
    assert [f.day for f in past_conversation_dates("They loved the session on Thursday.", tue, CHI)] == [date(2026, 9, 3)]
    wed = at("2026-09-16 10:00")
    assert [f.day for f in past_conversation_dates("Thank you for the good conversation of last Tuesday.", wed, CHI)] == [date(2026, 9, 8)]
    assert past_conversation_dates("Thanks for the great first call last week!", tue, CHI) == []
    assert past_conversation_dates("Happy to chat next week!", tue, CHI) == []
    thu = at("2026-09-10 16:30")
    assert named_date("I'll update you again by the end of next week either way.", thu, CHI).day == date(2026, 9, 18)
    assert named_date("The team is meeting on Monday; I'll be in touch right after that.", thu, CHI).day == date(2026, 9, 14)
    oct8 = at("2026-10-08 11:45")
    assert named_date("I'll be in touch the week of the 19th at the latest.", oct8, CHI).day == date(2026, 10, 23)
    assert named_date("Thanks for your patience.", thu, CHI) is None


# -- next_round_fast ----------------------------------------------------------------------


def test_next_round_booked_the_same_day_after_a_confirmed_interview(store: Store) -> None:
    put(store,
        confirmed("c", "2026-07-17 10:00", "Monday, July 20, 2026, 11:00 AM - 11:30 AM PDT"),
        invite("i", "2026-07-20 14:15"))
    assess(store, now=at("2026-07-21 09:00"), config=CFG)
    (d,) = derived(store)
    assert d["type"] == "next_round_fast" and d["strength"] == 1.0 and d["polarity"] == 2
    assert "the same day" in d["evidence"] and "2026-07-20" in d["evidence"]
    assert json.loads(d["entities"])["business_days"] == 0


def test_an_invite_before_the_interview_started_is_not_a_next_round(store: Store) -> None:
    put(store,
        confirmed("c", "2026-07-17 10:00", "Monday, July 20, 2026 at 3:00 PM CT"),
        invite("i", "2026-07-20 09:00"))
    assess(store, now=at("2026-07-21 09:00"), config=CFG)
    assert kinds(store) == []


def test_two_business_days_over_a_weekend_is_fast_three_is_not(store: Store) -> None:
    put(store,
        msg("a", sender=S, subject=SUBJ, date=at("2026-09-28 13:10"), signals=("interview_request",),
            text="Thank you for a great conversation with Priya and me on Thursday. Next, meet our CSO?"),
        msg("b", sender="Rae <rae@other.io>", subject="Other – Analyst", date=at("2026-09-08 11:10"), signals=("interview_request",),
            text="They loved the session on Thursday. Could you do the final on Friday?"))
    assess(store, now=at("2026-10-01 09:00"), config=CFG)
    (d,) = derived(store, 1)
    assert d["type"] == "next_round_fast" and d["strength"] == 0.7 and "2 business days later" in d["evidence"]
    assert kinds(store, 2) == []
    # With US holidays, Labor Day (Sep 7) is not a business day: Thu Sep 3 -> Tue Sep 8 is 2.
    assess(store, now=at("2026-10-01 09:00"), config=US)
    assert kinds(store, 2) == ["next_round_fast"]


def test_an_interview_they_postponed_does_not_count(store: Store) -> None:
    put(store,
        confirmed("c", "2026-07-24 10:00", "Thursday, July 30, 2026 at 12:00pm"),
        msg("p", sender=S, subject=f"Re: {SUBJ}", date=at("2026-07-29 16:48"), signals=("postponed", "interview_request"),
            text="Something came up; we need to reschedule. Does next week work?"),
        invite("i", "2026-07-31 10:00"))
    assess(store, now=at("2026-08-03 09:00"), config=CFG)
    assert "next_round_fast" not in kinds(store)
    moved = [e for e in timeline(store, 1, config=CFG) if e.kind == "interview"]
    assert moved and "moved" in moved[0].detail


def test_calendar_invite_and_daylight_saving_change(store: Store) -> None:
    ev = CalendarEvent("uid-1", "REQUEST", "Phone screen", at("2026-03-06 16:00"), at("2026-03-06 16:30"),
                       Address("Olivia", "olivia@acme.io"), (Address("Ben Adler (Director)", "ben@acme.io"),))
    put(store,
        msg("e", sender=S, subject="Invitation: Phone screen", date=at("2026-03-02 09:00"), signals=("interview_scheduled",), events=(ev,)),
        invite("i", "2026-03-09 09:00"))  # the Monday after clocks change (Mar 8)
    assess(store, now=at("2026-03-10 09:00"), config=CFG)
    (d,) = derived(store)
    assert "1 business day later" in d["evidence"] and "interview on Fri 6 Mar 16:00" in shown(d["evidence"], "2026-03-10")
    iv = [e for e in timeline(store, 1, config=CFG) if e.kind == "interview"]
    assert "Ben Adler (Director)" in iv[0].detail


def test_days_are_the_owners_local_days(store: Store) -> None:
    # Interview Thu 15:00 Chicago; invite Mon 23:30 Chicago, which is Tuesday in UTC.
    ev = CalendarEvent("uid-2", "REQUEST", "Screen", at("2026-10-01 15:00"), None, None)
    put(store,
        msg("e", sender=S, subject="Invitation: Screen", date=at("2026-09-25 09:00"), signals=("interview_scheduled",), events=(ev,)),
        invite("i", "2026-10-05 23:30"))
    assess(store, now=at("2026-10-07 09:00"), config=CFG)
    assert kinds(store) == ["next_round_fast"]
    assess(store, now=at("2026-10-07 09:00"), config=AssessConfig(timezone="UTC"))
    assert kinds(store) == []


# -- repeated postponements -----------------------------------------------------------------


def test_second_postponement_strengthens(store: Store) -> None:
    put(store,
        msg("p1", sender=S, subject=SUBJ, date=at("2026-07-29 16:00"), signals=("postponed",)),
        msg("p2", sender=S, subject=f"Re: {SUBJ}", date=at("2026-08-04 09:00"), signals=("postponed",)),
        msg("p3", sender=S, subject=f"Re: {SUBJ}", date=at("2026-08-10 09:00"), signals=("postponed",)))
    assess(store, now=at("2026-08-11 09:00"), config=CFG)
    rows = [d for d in derived(store) if d["type"] == "postponed"]
    assert [r["strength"] for r in rows] == [0.5, 1.0]
    assert "(Wed 29 Jul, Tue 4 Aug)" in shown(rows[0]["evidence"], "2026-08-11") and rows[0]["polarity"] == -1


def test_a_single_postponement_is_not_repeated(store: Store) -> None:
    put(store, msg("p1", sender=S, subject=SUBJ, date=at("2026-07-29 16:00"), signals=("postponed",)))
    assess(store, now=at("2026-07-30 09:00"), config=CFG)
    assert "postponed" not in kinds(store)


# -- silence --------------------------------------------------------------------------------


def _owner_last(store: Store, sent: str = "2026-08-05 08:20") -> None:
    put(store,
        msg("a", sender=S, subject=SUBJ, date=at("2026-08-03 09:00"), signals=("interview_request",)),
        msg("b", out=True, to=S, subject=f"Re: {SUBJ}", date=at(sent), irt="a", text="Tuesday works for me."))


def test_silence_after_the_users_reply_counts_business_days(store: Store) -> None:
    _owner_last(store)  # Wed Aug 5
    assess(store, now=at("2026-08-13 18:00"), config=CFG)  # Thu Aug 13: 6 business days
    assert "silence" not in kinds(store)
    assert app(store)["ball"] == "them" and app(store)["last_from"] == "you"
    assess(store, now=at("2026-08-14 08:00"), config=CFG)  # Fri Aug 14: 7
    (d,) = [d for d in derived(store) if d["type"] == "silence"]
    assert "7 business days since your message of Wed 5 Aug" in shown(d["evidence"], "2026-08-14")
    assert d["at"].startswith("2026-08-14")
    assert app(store)["stage"] == "screening"


def test_holidays_postpone_silence(store: Store) -> None:
    _owner_last(store, "2026-08-31 09:00")  # Mon; Labor Day is Mon Sep 7
    assess(store, now=at("2026-09-09 12:00"), config=CFG)
    assert "silence" in kinds(store)
    assess(store, now=at("2026-09-09 12:00"), config=US)
    assert "silence" not in kinds(store)


def test_no_silence_while_the_user_has_not_answered(store: Store) -> None:
    put(store, msg("a", sender=S, subject=SUBJ, date=at("2026-09-21 15:30"), signals=("salary_reconfirm",),
                   text="Is $160k base still where you are?"))
    assess(store, now=at("2026-11-12 09:00"), config=CFG)
    assert "silence" not in kinds(store)
    row = app(store)
    assert row["ball"] == "you" and row["stage"] == "final"


def test_no_silence_after_a_terminal_state(store: Store) -> None:
    _owner_last(store)
    put(store, msg("r", sender=S, subject=f"Re: {SUBJ}", date=at("2026-08-06 09:00"), signals=("rejection",)))
    assess(store, now=at("2026-11-12 09:00"), config=CFG)
    assert kinds(store) == [] and app(store)["stage"] == "rejected" and app(store)["outlook"] == 0


def test_silence_waits_for_the_date_they_named_then_becomes_ghosted(store: Store) -> None:
    put(store, msg("k", sender=S, subject=SUBJ, date=at("2026-09-10 16:30"), signals=("keep_warm",),
                   text="You're still in consideration. I'll update you again by the end of next week either way."))
    assess(store, now=at("2026-09-28 09:00"), config=CFG)  # 6 business days after Fri Sep 18
    assert kinds(store) == [] and app(store)["waiting_until"] == "2026-09-18"
    assess(store, now=at("2026-09-29 09:00"), config=CFG)
    (d,) = derived(store)
    assert "the date they named" in d["evidence"] and "2026-09-18" in d["evidence"]
    assert app(store)["stage"] == "screening"
    assess(store, now=at("2026-10-16 09:00"), config=CFG)  # 20 business days
    assert app(store)["stage"] == "ghosted" and app(store)["outlook"] <= 15


def test_no_silence_before_a_scheduled_interview(store: Store) -> None:
    put(store, confirmed("c", "2026-09-01 10:00", "Thursday, October 1, 2026 at 10:00 AM CT"))
    assess(store, now=at("2026-09-25 09:00"), config=CFG)
    assert kinds(store) == [] and app(store)["ball"] is None
    assess(store, now=at("2026-10-12 09:00"), config=CFG)  # 7 business days after the interview
    (d,) = derived(store)
    assert "the interview on Thu 1 Oct 10:00" in shown(d["evidence"], "2026-10-12")


# -- stage ----------------------------------------------------------------------------------


@pytest.mark.parametrize("signals,stage", [
    ([("application_received",)], "applied"),
    ([("application_received",), ("interview_request",)], "screening"),
    ([("interview_request",), ("senior_leader_interview", "interview_request")], "interviewing"),
    ([("interview_request",), ("panel_invite",)], "final"),
    ([("panel_invite",), ("salary_reconfirm",), ("offer",)], "offer"),
    ([("panel_invite",), ("rejection",)], "rejected"),
    ([("interview_request",), ("role_on_hold",)], "on_hold"),
    ([("role_on_hold",), ("rejection",)], "rejected"),
    ([("role_on_hold",), ("interview_request",)], "screening"),  # re-opened
    ([("rejection", "role_on_hold")], "on_hold"),  # "unfortunately ... the search is paused"
    ([("offer",), ("rejection",)], "rejected"),  # rescinded
])
def test_stage_from_the_latest_decisive_signal(store: Store, signals, stage) -> None:
    put(store, *[msg(f"s{n}", sender=S, subject=SUBJ, date=at(f"2026-09-{n + 1:02d} 10:00"), signals=t)
                 for n, t in enumerate(signals)])
    assess(store, now=at("2026-09-20 10:00"), config=CFG)
    assert app(store)["stage"] == stage
    assert app(store)["stage_reason"]


def test_the_users_withdrawal_and_declined_offer(store: Store) -> None:
    put(store,
        msg("o", sender=S, subject=SUBJ, date=at("2026-07-23 17:40"), signals=("offer",)),
        msg("d", out=True, to=S, subject=f"Re: {SUBJ}", date=at("2026-07-30 10:30"), irt="o",
            text="After a lot of thought, I've decided to decline the offer. Thank you!"))
    put(store,
        msg("w0", sender="Lena <lena@beta.io>", subject="Beta – Analyst", date=at("2026-09-02 10:00"), signals=("salary_reconfirm",)),
        msg("w1", out=True, to="Lena <lena@beta.io>", subject="Re: Beta – Analyst", date=at("2026-09-03 08:40"), irt="w0",
            text="This was hard, but I'd like to withdraw from the process."),
        msg("w2", out=True, to="Kai <kai@gamma.io>", subject="Gamma – Analyst", date=at("2026-09-03 09:00"),
            text="I'm not withdrawing my application: just checking in on timing."))
    assess(store, now=at("2026-11-12 09:00"), config=CFG)
    assert (app(store, 1)["stage"], app(store, 2)["stage"]) == ("withdrawn", "withdrawn")
    assert "declined the offer" in app(store, 1)["stage_reason"] and "withdrew" in app(store, 2)["stage_reason"]
    assert app(store, 3)["stage"] != "withdrawn"


def test_closing_overrides_and_survives_reassessment(store: Store) -> None:
    from offerwatch.models.linking import close_application

    _owner_last(store)
    close_application(store, 1, stage="rejected", reassess=False)
    assess(store, now=at("2026-11-12 09:00"), config=CFG)
    assess(store, now=at("2026-11-13 09:00"), config=CFG)
    assert app(store)["stage"] == "rejected" and "silence" not in kinds(store) and app(store)["outlook"] == 0


def test_undated_and_future_messages(store: Store) -> None:
    put(store,
        msg("a", sender=S, subject=SUBJ, date=at("2026-09-02 09:10"), signals=("interview_request",)),
        msg("r", sender=S, subject=f"Re: {SUBJ}", date=at("2026-10-09 14:45"), signals=("rejection",)),
        msg("n", sender=S, subject="Quick update", date=None, signals=("keep_warm",)),  # sent around Sep 29
        msg("f", sender=S, subject="from the future", date=at("2031-01-01 00:00"), signals=("interview_request",)))
    assess(store, now=at("2026-10-20 09:00"), config=CFG)
    row = app(store)
    assert row["stage"] == "rejected"  # neither the undated keep-warm nor the future mail comes "after" it
    assert row["first_contact"].startswith("2026-09-02") and row["last_contact"].startswith("2026-10-09")
    entries = timeline(store, 1, config=CFG)
    assert entries[-1].at is None and {"no Date header", "dated in the future"} <= {
        e.detail.split(";")[0].split(" (")[0] for e in entries if e.kind == "message"}


def test_assess_is_idempotent_and_touches_only_derived_rows(store: Store) -> None:
    _owner_last(store)
    put(store,
        msg("p1", sender=S, subject=SUBJ, date=at("2026-07-29 16:00"), signals=("postponed",)),
        msg("p2", sender=S, subject=f"Re: {SUBJ}", date=at("2026-07-30 16:00"), signals=("postponed",)))
    now = at("2026-11-12 09:00")
    assess(store, now=now, config=CFG)

    def snap() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return (store.rows("SELECT type, message_key, strength, evidence, at, rule FROM signals ORDER BY type, message_key, rule"),
                store.rows("SELECT stage, outlook, outlook_explanation, first_contact, last_contact, last_from, ball FROM applications"))

    first = snap()
    assess(store, now=now, config=CFG)
    assess(store, [1], now=now, config=CFG)
    assert snap() == first
    assert sum(1 for s in first[0] if s["rule"].startswith("test.")) == 3


def test_a_derived_signal_recomputed_unchanged_keeps_when_it_was_first_seen(store: Store) -> None:
    """The digest shows a signal as new once, by created_at; every ingest re-assesses."""
    _owner_last(store)
    assess(store, now=at("2026-08-14 08:00"), config=CFG)
    first = store.rows("SELECT type, created_at FROM signals WHERE derived = 1 ORDER BY type")
    assert [r["type"] for r in first] == ["silence"]
    store.db.execute("UPDATE signals SET created_at = '2026-08-14T08:00:00+00:00' WHERE derived = 1")
    assess(store, now=at("2026-08-14 12:00"), config=CFG)
    again = store.rows("SELECT type, created_at FROM signals WHERE derived = 1 ORDER BY type")
    assert again == [{"type": "silence", "created_at": "2026-08-14T08:00:00+00:00"}]


def test_timeline_lists_messages_interviews_and_derived(store: Store) -> None:
    put(store,
        confirmed("c", "2026-07-17 10:00", "Monday, July 20, 2026, 11:00 AM - 11:30 AM PDT"),
        invite("i", "2026-07-20 14:15"),
        msg("o", out=True, to=S, subject=f"Re: {SUBJ}", date=at("2026-07-20 15:00"), irt="i", text="Tomorrow works."))
    assess(store, now=at("2026-07-21 09:00"), config=CFG)
    entries = timeline(store, 1, config=CFG)
    assert [e.kind for e in entries] == ["message", "interview", "message", "derived", "message"]
    assert [e.index for e in entries if e.kind == "message"] == [1, 2, 3]
    assert entries[-1].direction == "out" and entries[1].title.startswith("Interview (confirmed in text)")


# -- salary guard ----------------------------------------------------------------------------


def _sal(lo: float, hi: float, text: str, cur: str = "USD", period: str = "year") -> tuple[Salary, ...]:
    return (Salary(lo, hi, cur, period, text),)


def test_salary_guard_shows_the_earlier_figure_and_flags_a_jump(store: Store) -> None:
    put(store,
        msg("s1", out=True, to=S, subject=SUBJ, date=at("2026-09-17 13:40"), salaries=_sal(160000, 170000, "$160k-$170k")),
        msg("s2", sender=S, subject=f"Re: {SUBJ}", date=at("2026-10-19 10:30"), signals=("salary_reconfirm",),
            salaries=_sal(160000, 170000, "$160-170k")),
        msg("s3", out=True, to=S, subject=f"Re: {SUBJ}", date=at("2026-10-19 12:00"), salaries=_sal(190000, 190000, "$190k")))
    g = salary_guard(store, 1)
    assert g is not None and g.stated_text == "$160k-$170k" and g.stated_at.date() == date(2026, 9, 17)
    assert g.reconfirm_at is not None and g.quoted is not None and g.quoted.text == "$160-170k"
    assert g.jump and round(g.jump_percent) == 15 and "rescinded" in g.advice
    assert not salary_guard(store, 1, config=AssessConfig(salary_jump_percent=20)).jump


def test_salary_guard_consistent_figure_hourly_rates_and_currencies(store: Store) -> None:
    put(store,
        msg("t1", out=True, to=S, subject=SUBJ, date=at("2026-08-03 12:05"), salaries=_sal(180000, 190000, "CAD 180-190k", "CAD")),
        msg("t2", out=True, to=S, subject=f"Re: {SUBJ}", date=at("2026-08-26 13:30"), salaries=_sal(185000, 185000, "CAD 185,000", "CAD")),
        msg("t3", out=True, to=S, subject=f"Re: {SUBJ}", date=at("2026-08-27 13:30"), salaries=_sal(140000, 140000, "USD 140k")))
    g = salary_guard(store, 1)
    assert not g.jump and [p for _, p in g.later] == [0.0, None]
    put(store,
        msg("h1", out=True, to="Kyle <kyle@agency.io>", subject="Contract - rate", date=at("2026-09-09 14:10"),
            salaries=_sal(95, 95, "$95/hour", period="hour")),
        msg("h2", out=True, to="Kyle <kyle@agency.io>", subject="Re: Contract - rate", date=at("2026-09-12 14:10"),
            salaries=_sal(200000, 200000, "$200k")))
    g2 = salary_guard(store, 2)
    assert not g2.jump and round(g2.later[0][1]) == 1  # $95/h is $197,600 a year


def test_salary_guard_without_a_written_figure(store: Store) -> None:
    put(store, msg("x", sender=S, subject=SUBJ, date=at("2026-09-21 15:30"), signals=("salary_reconfirm",)))
    g = salary_guard(store, 1)
    assert g is not None and g.stated is None and not g.jump and "not stated a figure" in g.advice
    put(store, msg("y", sender="Other <o@other.io>", subject="Other – Analyst", date=at("2026-09-21 15:30")))
    assert salary_guard(store, 2) is None
