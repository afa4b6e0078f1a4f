"""Signal extraction finds each signal type in general recruiter wording, and only there."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from offerwatch.extractors import nlp as nlp_mod
from offerwatch.extractors.signals import ExtractInput, extract, extract_many, normalize
from offerwatch.models.domain import Address, CalendarEvent, Direction


def types(text: str, **kw: object) -> set[str]:
    return {s.type for s in extract(text, **kw).signals}  # type: ignore[arg-type]


# Wording written for these tests, not taken from the dev corpus: synonyms, word order,
# British and non-native English.
POSITIVE = [
    ("Unfortunately we won't be progressing your candidacy to the next stage.", "rejection"),
    ("After much deliberation, the team has chosen to pursue other applicants.", "rejection"),
    ("We've gone with a candidate who has more fintech experience. Best of luck!", "rejection"),
    ("I'm afraid the position has now been filled.", "rejection"),
    ("We are not able to move forward with your application at this time.", "rejection"),
    ("We regret to inform you that your application was unsuccessful.", "rejection"),
    ("Good news! We'd love to have you join us - the offer letter is attached.", "offer"),
    ("I'm delighted to let you know that we'd like to make you an offer.", "offer"),
    ("We are pleased to offer you the role of Data Engineer.", "offer"),
    ("The hiring manager is keen to speak with you directly this week.", "hiring_manager_direct"),
    ("I'm the hiring manager for this role and wanted to say hello.", "hiring_manager_direct"),
    ("Could you let me know a couple of times that suit you next week for a call?", "interview_request"),
    ("Are you free for a quick chat on Thursday afternoon?", "interview_request"),
    ("Please book a slot using the link below.", "interview_request"),
    ("Can you tell me your disponibilities for next week?", "interview_request"),
    ("Your interview on 12 March at 14:00 GMT has been confirmed.", "interview_scheduled"),
    ("We'd like to invite you to an onsite at our Munich office.", "panel_invite"),
    ("You've made it to the final round - it will be a series of 4 interviews.", "panel_invite"),
    ("Next up: a 30-minute conversation with our Chief Product Officer, Ana Ruiz.", "senior_leader_interview"),
    ("The hiring freeze means we have to pause this search for now.", "role_on_hold"),
    ("The req has been put on hold while we reorganise the team.", "role_on_hold"),
    ("The project is on ice until January.", "role_on_hold"),
    ("Would you be able to reconfirm your salary expectations before we put an offer together?", "salary_reconfirm"),
    ("Is your expected salary still 80k EUR?", "salary_reconfirm"),
    ("Are you currently interviewing anywhere else, or do you have any offers on the table?", "other_process_inquiry"),
    ("Please let me know if you have other offers in hand, along with your notice period.", "other_process_inquiry"),
    ("Given the strong feedback, we'd like to fast-track you straight to the final interview.", "expedite"),
    ("We'll skip the coding exercise so we can move faster.", "expedite"),
    ("I'm sorry, something came up and we have to move our call to next week.", "postponed"),
    ("Could we push our chat to Friday?", "postponed"),
    ("Apologies, but we need to rearrange your interview with Tom.", "postponed"),
    ("Just a quick update: we're still gathering feedback from the interviewers.", "keep_warm"),
    ("The hiring manager is out of the office until Monday; you're still very much in the running.", "keep_warm"),
    ("Thank you for applying! We have received your application and will review it shortly.", "application_received"),
]


@pytest.mark.parametrize(("text", "expected"), POSITIVE)
def test_general_wording(text: str, expected: str) -> None:
    assert expected in types(text)


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("No need to reschedule - the time stays the same.", "postponed"),
        ("We are not putting the role on hold; we just need a few more days.", "role_on_hold"),
        ("The role certainly isn't on hold, and you haven't been ruled out.", "role_on_hold"),
        ("We are not in a position to make you an offer.", "offer"),
        ("We can't move forward until the budget is signed off.", "rejection"),
        ("If you are not selected for this position, keep an eye on our jobs page.", "rejection"),
        ("If you need to reschedule, please use the link in your invite.", "postponed"),
        ("Need to reschedule? Use this link: https://example.com/r/1", "postponed"),
        ("This isn't a panel or a final round - just an informal coffee chat.", "panel_invite"),
        ("Thanks for meeting with our VP of Sales yesterday.", "senior_leader_interview"),
        ("Thank you for taking the time to meet with our panel.", "panel_invite"),
        ("What are your salary expectations for this role?", "salary_reconfirm"),
        ("I'll send you a few options for next week tomorrow.", "interview_request"),
        ("Thanks for letting me know about your other offer's deadline.", "other_process_inquiry"),
        ("I'd skip the formalities and just say hello.", "expedite"),
        # ATS footers and test invitations read from HTML: not an invite sent, not an interview
        ("Having trouble? Visit the help centre. This invitation was sent on behalf of Acme Bank.", "interview_scheduled"),
        ("As part of the selection process we invite you to complete the following online assessments.",
         "interview_request"),
    ],
)
def test_negation_hedging_and_retrospect(text: str, absent: str) -> None:
    assert absent not in types(text)


def test_signal_evidence_offsets_and_rule_labels() -> None:
    text = "Hi Maya,\n\nThanks for the call. Unfortunately we have decided to proceed with another candidate.\n\nBest"
    ex = extract(text)
    (sig,) = [s for s in ex.signals if s.type == "rejection"]
    assert text[sig.start : sig.end] == sig.evidence
    assert "another candidate" in sig.evidence
    assert sig.rule and sig.label and sig.label != sig.rule


def test_outgoing_mail_has_no_signals_but_salaries() -> None:
    ex = extract("Happy to skip the take-home. I'm looking for a base of $150k-$160k.", direction=Direction.OUT)
    assert ex.signals == ()
    assert ex.salaries[0].min == 150000 and ex.salaries[0].max == 160000 and ex.salaries[0].currency == "USD"


def test_signature_title_decides_sender_role() -> None:
    ex = extract("Would you be open to a 30-minute call on Friday?", signature="Best,\nNina Park\nEngineering Manager, Platform")
    assert ex.sender_role == "hiring_manager" and ex.sender_title == "Engineering Manager, Platform"
    assert {"hiring_manager_direct", "interview_request"} <= {s.type for s in ex.signals}

    leader = extract("Would you have 30 minutes on Thursday?", signature="--\nAna Ruiz\nVP of Engineering | Acme")
    assert leader.sender_role == "leader"
    assert {"hiring_manager_direct", "senior_leader_interview"} <= {s.type for s in leader.signals}

    recruiter = extract("Would you be open to a call on Friday?", signature="Jo\nHead of People, Acme")
    assert recruiter.sender_role == "recruiter"
    assert "hiring_manager_direct" not in {s.type for s in recruiter.signals}


def test_signature_text_itself_is_not_evidence() -> None:
    # the cleaned text says nothing; the signature's words must not fire signals
    ex = extract("Thanks!", signature="Jo\nRecruiter | we need to reschedule our panel interview")
    assert ex.signals == ()


def test_self_introduction_in_text() -> None:
    ex = extract("Jonas here - I'm the founder of Loomwork, and the role reports to me. Fancy a chat on Friday?")
    assert ex.sender_role == "leader"
    assert {"hiring_manager_direct", "senior_leader_interview", "interview_request"} <= {s.type for s in ex.signals}


def test_offer_call_is_not_an_interview_request() -> None:
    got = types("We'd like to extend a verbal offer! When works for you to walk through the details?")
    assert "offer" in got and "interview_request" not in got


def test_keep_warm_yields_to_rejection() -> None:
    got = types("We're still waiting on feedback. Unfortunately, we have decided to go with another candidate.")
    assert got == {"rejection"}


def _event(method: str, summary: str, seq: int = 0, attendees: tuple[Address, ...] = ()) -> CalendarEvent:
    start = datetime(2026, 10, 9, 15, 0, tzinfo=timezone.utc)
    return CalendarEvent("uid-1", method, summary, start, None, Address("Jo", "jo@acme.example"), attendees, seq)


def test_calendar_request_cancel_and_update() -> None:
    ex = extract("Please find the invite attached.", events=[_event("REQUEST", "Acme - Final round (onsite)")])
    got = {s.type: s for s in ex.signals}
    assert {"interview_scheduled", "panel_invite"} <= got.keys()
    assert got["interview_scheduled"].entities["interview"]["start"].startswith("2026-10-09T15:00")

    cancel = extract("The event below has been canceled.", events=[_event("CANCEL", "Intro call")])
    assert "postponed" in {s.type for s in cancel.signals}
    assert "panel_invite" not in {s.type for s in cancel.signals}
    panel_moved = extract("We have to postpone; could you do Tuesday 13 October at 10:00 instead?",
                          events=[_event("CANCEL", "Canceled: Final Panel Interview")])
    assert {"postponed", "panel_invite"} <= {s.type for s in panel_moved.signals}  # the same panel, moved to a new time
    panel_off = extract("We have to postpone; a new invitation follows.", events=[_event("CANCEL", "Canceled: Final Panel Interview")])
    assert {s.type for s in panel_off.signals} == {"postponed"}  # no new time yet: postponed only

    moved = extract("Sorry for the change.", subject="Updated invitation: Acme interview", events=[_event("REQUEST", "Acme interview", seq=2)])
    assert {"postponed", "interview_scheduled"} <= {s.type for s in moved.signals}

    boss = extract("See you then.", events=[_event("REQUEST", "Interview", attendees=(Address("Ana Ruiz (VP Engineering)", "ana@acme.example"),))])
    assert "senior_leader_interview" in {s.type for s in boss.signals}


def test_an_updated_invitation_that_says_it_moved_is_a_postponement_not_a_new_ask() -> None:
    text = "This event has been changed.\nAcme interview\nNew time: Thu 15 Oct, 10:00-11:00\nPrevious time: Tue 13 Oct, 10:00-11:00"
    moved = extract(text, subject="Acme interview", events=[_event("REQUEST", "Acme interview", seq=1)])
    got = {s.type for s in moved.signals}
    assert {"postponed", "interview_scheduled"} <= got
    assert "interview_request" not in got  # the old and new times describe the event, nobody asks to pick
    link_only = extract("Adding the video link.", subject="Acme interview", events=[_event("REQUEST", "Acme interview", seq=1)])
    assert "postponed" not in {s.type for s in link_only.signals}


def test_a_stage_that_a_running_process_leads_to_is_not_an_invitation() -> None:
    got = types("We still have two people finishing their onsites, and Li wants to compare everyone before the final round.")
    assert "keep_warm" in got and "panel_invite" not in got
    assert "panel_invite" in types("We'd like to invite you to the final round next week; could you send your availability?")


def test_keep_warm_survives_an_expedite_and_a_quick_update_prefix() -> None:
    got = types("Quick update: we're waiting on final feedback from one interviewer, so we can move fast once it's in.")
    assert {"keep_warm", "expedite"} <= got


def test_an_ask_in_the_sentence_that_puts_the_role_on_hold_is_no_request() -> None:
    got = types("I was about to reach out to schedule a first call, but the requisition has been put on hold.")
    assert "role_on_hold" in got and "interview_request" not in got


def test_extract_many_keeps_order_and_matches_extract() -> None:
    texts = ["We have decided to go with another candidate.", "Could you send me your availability?", ""] * 50
    many = list(extract_many(ExtractInput(t) for t in texts))
    assert len(many) == len(texts)
    assert [{s.type for s in e.signals} for e in many[:3]] == [{"rejection"}, {"interview_request"}, set()]


# ----------------------------------------------------------------------------- bad input


def test_zero_width_and_bidi_characters_inside_phrases() -> None:
    text = "Hi,\n\nUnfor\u200btunately we have decided to pro\u200dceed with an\u2066other candidate.\u202e"
    ex = extract(text)
    (sig,) = [s for s in ex.signals if s.type == "rejection"]
    assert text[sig.start : sig.end] == sig.evidence and "candidate" in sig.evidence
    norm, index = normalize(text)
    assert index is not None and "another candidate" in norm


def test_emoji_mixed_scripts_and_curly_quotes() -> None:
    text = "Great news 🎉🎉! We’re thrilled to offer you the position 💼. Привет, 你好, مرحبا – see you soon."
    assert "offer" in types(text)


def test_one_megabyte_body_is_capped_and_fast(caplog: pytest.LogCaptureFixture) -> None:
    body = ("We are still waiting on feedback from the panel. " * 25_000)[:1_000_000]
    t = time.perf_counter()
    with caplog.at_level("INFO"):
        ex = extract(body)
    assert time.perf_counter() - t < 20
    assert "keep_warm" in {s.type for s in ex.signals}
    assert any("cut to" in r.getMessage() for r in caplog.records)


def test_fifty_thousand_characters_without_punctuation() -> None:
    body = " ".join(["interview offer panel reschedule hold"] * 10_000)[:50_000]
    t = time.perf_counter()
    extract(body)
    assert time.perf_counter() - t < 10


def test_empty_and_whitespace_text() -> None:
    assert extract("").signals == ()
    assert extract(" \n\n\t ").signals == ()


# ----------------------------------------------------------------------------- patterns


def test_pattern_ids_have_labels_and_every_type_has_patterns() -> None:
    pats = nlp_mod.load_patterns()
    labels = {p["label"] for p in pats.patterns}
    for t in ("application_received", "interview_request", "interview_scheduled", "offer", "rejection",
              "postponed", "keep_warm", "expedite", "role_on_hold", "salary_reconfirm", "hiring_manager_direct"):
        assert t in labels
    assert all(info.description for info in pats.info.values())


def test_broken_pattern_fails_with_file_line_and_id(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text(
        json.dumps({"label": "offer", "id": "offer.ok", "pattern": "offer letter"}) + "\n"
        + json.dumps({"label": "offer", "id": "offer.broken", "pattern": [{"LOWER": {"INN": ["x"]}}]}) + "\n"
        + json.dumps({"label": "nonsense", "id": "x.label", "pattern": "x"}) + "\n"
        + json.dumps({"label": "offer", "id": "x.pos", "pattern": [{"POS": "VERB"}]}) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(nlp_mod.PatternError) as err:
        nlp_mod.load_patterns(tmp_path)
    msg = str(err.value)
    assert "bad.jsonl:2 (id 'offer.broken')" in msg
    assert "bad.jsonl:3" in msg and "unknown label" in msg
    assert "bad.jsonl:4" in msg and "blank pipeline" in msg


def test_pipeline_components_are_registered() -> None:
    names = nlp_mod.get_nlp().pipe_names
    assert names == ["offerwatch_cues", "offerwatch_signals"]


def test_importing_signals_does_not_import_spacy() -> None:
    import subprocess
    import sys

    code = "import sys, offerwatch.extractors.signals, offerwatch.extractors.classify; print('spacy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_terse_reply_in_a_thread_confirms_a_slot_but_not_a_start_date() -> None:
    confirmed = extract("great, thu 3pm at the Main St store. ask for me at the counter", subject="Re: shift lead")
    assert "interview_scheduled" in {s.type for s in confirmed.signals}
    start = extract("Perfect, so your start date is Monday 5 Oct, 9am at reception.", subject="Re: shift lead")
    assert "interview_scheduled" not in {s.type for s in start.signals}
    fresh = extract("Thu 3pm at the Main St store.", subject="Stock delivery")
    assert "interview_scheduled" not in {s.type for s in fresh.signals}  # not a reply: no meeting named, none read


def test_a_quick_update_stays_beside_its_questions_but_politeness_does_not() -> None:
    update = types("Quick update: still no firm date from the client. Are you interviewing anywhere else at the moment?")
    assert {"keep_warm", "other_process_inquiry"} <= update
    polite = types("Thanks for your patience. Are you interviewing anywhere else at the moment?")
    assert polite == {"other_process_inquiry"}


def test_a_leader_named_in_one_sentence_and_met_in_the_next() -> None:
    got = types("Dana Ruiz, our VP of Operations, is travelling on Friday, so we need to move things. "
                "Would Tuesday at 10 work for you to meet her?")
    assert "senior_leader_interview" in got
    assert "senior_leader_interview" not in types("Dana Ruiz, our VP of Operations, signed off the budget. "
                                                  "Would Tuesday at 10 work for you to meet our recruiter?")


def test_a_panel_cancelled_because_the_role_is_on_hold_is_no_panel_invitation() -> None:
    held = extract("Unfortunately the position has been put on hold pending a reorganisation, so we are cancelling "
                   "the assessment day.", events=[_event("CANCEL", "Assessment Day - Pharmacy Liaison")])
    assert {s.type for s in held.signals} == {"role_on_hold"}
    moved = extract("We have to postpone; would Monday 12 October at 09:00 work instead?",
                    events=[_event("CANCEL", "Assessment Day - Pharmacy Liaison")])
    assert {"postponed", "panel_invite"} <= {s.type for s in moved.signals}  # a move of the same panel repeats it


def test_a_bare_cancellation_of_a_panel_is_only_the_postponement() -> None:
    bare = extract("This event has been canceled.\n\nFinal Round - Sam Lee - Oncology\nWhen: Wednesday Mar 25, 2026 "
                   "9am - 12:30pm Eastern Time", events=[_event("CANCEL", "Final Round - Sam Lee - Oncology")])
    assert {s.type for s in bare.signals} == {"postponed"}  # no new panel, and the time is the one called off
    later = extract("Sorry, we will reschedule it after the holiday and send you a new invitation.",
                    events=[_event("CANCEL", "Final Round - Sam Lee - Oncology")])
    assert {s.type for s in later.signals} == {"postponed"}  # moved, but to no time yet
    moved = extract("Sorry, could we do Friday 16 October at 14:00 instead?", events=[_event("CANCEL", "Final Round - Sam Lee - Oncology")])
    assert {"postponed", "panel_invite"} <= {s.type for s in moved.signals}
