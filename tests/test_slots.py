"""A date and a time the employer set reads as a scheduled interview; options, deadlines,
questions, past meetings and cancellations do not."""

from __future__ import annotations

import pytest

from offerwatch.extractors import slots
from offerwatch.extractors.signals import extract


@pytest.mark.parametrize(
    "sentence",
    [
        "Confirmed: Wednesday 1/28 at 4:00pm with Laura at Halberd.",
        "Perfect - I've confirmed Wednesday 18 February at 8.30am.",
        "Your interview is on Monday 2 March 2026 at 13:15 in the Boardroom.",
        "Date: Tuesday 10 February 2026\nTime: 09:00 to 13:30\nVenue: Education Suite",
        "It will now take place on Tuesday, March 10, 2026 at 10:00 a.m., by Microsoft Teams.",
        "You are invited for the final round on 4th February 2026 at 3:00 PM at our office.",
        "Round 1 on 28-Jan-2026, 3:00 PM at the client's office.",
        # when to arrive or check in is no deadline and no second time; the old date of a moved slot is no second option
        "- Interview: Tuesday 5 May, 10:00 (please check in at 09:45)",
        "Date: Tuesday 20 October 2026\nTime: 08:00 - 16:00 (please arrive by 07:30)\nVenue: Learning Academy",
        "The interview earlier scheduled for Tuesday 13th October has been rescheduled to Friday, 16th October 2026 at 2.00 p.m.",
    ],
)
def test_set_slots(sentence: str) -> None:
    assert slots.find_slot(sentence) is not None


@pytest.mark.parametrize(
    "sentence",
    [
        "They've offered Tuesday 17th at 5.30pm or Wednesday 18th at 8.30am.",
        "- Wednesday 11 March at 10:00\n- Friday 13 March at 14:00",
        "Please complete both by 23:59 on Sunday 14 June 2026.",
        "Call us Monday to Friday, 8 AM to 8 PM ET.",
        "Thank you for coming in on Tuesday at 2pm.",
        "Your start date is Monday 1 March at 9:00.",
        "Alternatively I could offer Friday morning from 9:00.",
        "If you'd like to talk it through, I'm free Thursday after 2pm.",
        "Please reply by Friday 20 November, 5pm.",
        "The meeting on 04.09. is in the diary.",  # a date alone, no clock time
        # several days of one month offered at one time: a choice, not a slot
        "Possible dates are 5, 6 or 7 May, always starting at 10:00.",
        "They offer 26 or 28 May, from 13:00.",
    ],
)
def test_not_set_slots(sentence: str) -> None:
    assert slots.find_slot(sentence) is None


def test_a_slot_in_a_job_mail_is_a_scheduled_interview() -> None:
    got = extract("Hi Maya,\n\nAll confirmed: Wednesday 11 Feb, 10:00-12:00 CET on Teams with Markus and Elena.")
    sig = next(s for s in got.signals if s.type == "interview_scheduled")
    assert sig.evidence.startswith("All confirmed: Wednesday 11 Feb")


def test_a_proposed_slot_asked_as_a_question_is_no_fixed_slot() -> None:
    got = extract("Would Thursday, Sept 24 at 3:00 PM CT work for the interview instead?")
    assert "interview_scheduled" not in {s.type for s in got.signals}


def test_a_cancelled_event_does_not_schedule_its_old_slot() -> None:
    text = "The event below has been canceled.\n\nEvent Date/Time:\n02:00pm - 02:30pm, Thursday, October 1, 2026"
    assert "interview_scheduled" not in {s.type for s in extract(text, subject="Canceled: Intro call").signals}


def types(text: str) -> set[str]:
    return {s.type for s in extract(text).signals}


@pytest.mark.parametrize(
    "text",
    [
        "Umoya would like to meet you! She can do Tuesday 17th at 14:00 or Wednesday 18th at 09:30 for the interview.",
        "hi jasmine, can u come in thurs 2pm for a chat?",
        "Could you pop in on Wednesday at 10 for a chat and a coffee?",
        ("Please select ONE of the following time slots for your interview and reply by February 26:\n"
         "- Wednesday, March 4, 9:00 a.m. ET\n- Thursday, March 5, 10:00 a.m. ET"),
        "We'd like to learn more about you through an on-demand video interview. Please complete it by Friday.",
        "The board will sit on Monday 23 and Tuesday 24 March. Could you let me know which day suits you better?",
    ],
)
def test_proposed_times_are_an_interview_request(text: str) -> None:
    assert "interview_request" in types(text)


def test_a_conditional_offer_of_a_call_is_no_request() -> None:
    assert "interview_request" not in types("If you'd like to talk through the scores, I'm happy to set up a call.")
    assert "interview_request" not in types("Our team reviews applications daily and will text you if we'd like to "
                                            "set up an interview.")


def test_confirming_attendance_of_a_set_slot_is_no_availability_ask() -> None:
    text = ("Your interview is scheduled as below:\n\nDate: 23rd January 2026 (Friday)\nTime: 11:00 AM\n"
            "Mode: Face to face\n\nRequest you to confirm your availability by return mail.")
    assert types(text) == {"interview_scheduled"}


@pytest.mark.parametrize(
    "text",
    [
        "This note confirms that your application came through and is now with our Talent Acquisition team.",
        "Just to confirm that, as agreed on the phone, I've submitted your CV to Greyfriars Bank for the role.",
        "You have submitted your application for: Tissue Viability Clinical Nurse Specialist.",
        ("This email confirms that your application for the position of Youth Services Program Coordinator "
         "(Job #2026-00871) has been received."),
        "We have received your documents and will review them carefully.",
    ],
)
def test_acknowledgements_and_agency_submissions(text: str) -> None:
    assert "application_received" in types(text)


def test_thanks_for_applying_opening_a_later_stage_is_no_acknowledgement() -> None:
    text = ("Thank you for your application. We are pleased to advise that you have progressed to the next stage "
            "of the selection process: a written work sample.")
    assert "application_received" not in types(text)


def test_a_recruiter_confirming_the_candidate_for_a_slot_names_the_meeting() -> None:
    found = {s.type for s in extract("Morning Thandeka\n\nYou're confirmed with KPR for Thursday 10 September at "
                                     "10:00, Block C. Ask for Nadia at reception. Please bring your ID.\n\n"
                                     "There's no need to prepare anything for the case study; it's done on their "
                                     "laptop.").signals}
    assert found == {"interview_scheduled"}


def test_a_video_interview_at_a_set_time_is_scheduled_not_requested() -> None:
    found = {s.type for s in extract("Dear Ines,\n\nWe have planned the video interview for Tuesday, 12 May 2026 at "
                                     "15:00 (Swiss time, 14:00 in Lisbon).\n\nKind regards,\nLea").signals}
    assert found == {"interview_scheduled"}


def test_a_time_offered_then_asked_to_be_confirmed_is_a_request_not_a_booking() -> None:
    from offerwatch.extractors.signals import extract

    found = {s.type for s in extract("Hi Tomasz,\n\nKingsway would like to interview you on Wednesday 4th March at 2pm "
                                     "with the Transport Manager. Can you confirm you can make it?\n\nSophie").signals}
    assert "interview_request" in found and "interview_scheduled" not in found
    booked = {s.type for s in extract("Hi Tomasz,\n\nYour interview is confirmed for Wednesday 4th March at 2pm "
                                      "with the Transport Manager. See you there.\n\nSophie").signals}
    assert "interview_scheduled" in booked
