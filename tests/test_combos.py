"""Cue families combined at clause level (patterns/combos.toml): either voice, any order,
cancelled by conditions, small print, wishes, open questions and states told in the past."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offerwatch.extractors import nlp as nlp_mod
from offerwatch.extractors.signals import extract


def types(text: str) -> set[str]:
    return {s.type for s in extract(text).signals}


@pytest.mark.parametrize(
    "text",
    [
        "We will not be progressing your application.",
        "Your application will not progress further at this stage.",
        "After comparing notes, we won't be advancing you to the case round.",
        "Unfortunately they're not going to take it forward on this occasion.",
        "The panel has decided not to appoint you to this post.",
        "You were not the successful candidate for this position.",
        "We have decided to go with a candidate who has more hands-on experience.",
        "They have offered the position to an applicant with more caseload experience.",
        "We have decided in favour of a candidate whose profile matches the requirements more closely.",
        "We've filled the Front End Clerk position at our store.",
        "The position has now been filled.",
        "We do not feel your experience is the right fit for this particular role.",
        "The client has rejected your profile.",
        "We have come to the conclusion that other candidates meet the needs of this role better.",
        "The team went in a different direction.",
    ],
)
def test_rejection_families(text: str) -> None:
    assert "rejection" in types(text)


@pytest.mark.parametrize(
    "text",
    [
        "If you have not heard from us by then, please assume that your application has not been successful.",
        "We haven't moved forward with anyone yet.",
        "We are looking to hire someone who knows the curriculum.",
        "If your background is a match for the next step, someone from the hiring team will reach out.",
        "Have you decided not to proceed?",
        "I know you've decided not to proceed with the other company.",
        "We can't move forward until the budget is signed off.",
        "Meera Kapoor passed on your profile to the hiring manager.",
        "This means the assessment centre on 14 July will not go ahead.",
        "Applications close once the position is filled.",
    ],
)
def test_not_rejections(text: str) -> None:
    assert "rejection" not in types(text)


def test_a_hold_told_in_the_past_is_no_hold() -> None:
    assert "role_on_hold" in types("The role has been put on hold while the budget is reviewed.")
    assert "role_on_hold" not in types("Thank you for your patience while this role was on hold.")
    assert "role_on_hold" not in types("The search was paused in March but has now resumed.")


def test_a_hold_beats_the_rejection_words_around_it() -> None:
    got = types("Unfortunately we have paused recruitment for this role. This means we won't be going ahead "
                "with interviews on Wednesday.")
    assert got == {"role_on_hold"}


def test_a_decision_silences_the_acknowledgement() -> None:
    text = ("Thank you for your application for the Analyst position. We have reviewed it and will not be "
            "progressing your application further.")
    assert types(text) == {"rejection"}


def test_soft_wrapped_lines_are_one_clause() -> None:
    text = ("Thank you for your patience. Luis has decided to keep looking, so we won't\n"
            "be offering you the Forklift Operator position at this point.")
    assert "rejection" in types(text)


def test_every_combo_names_its_rule_and_description() -> None:
    sig = next(s for s in extract("Your candidacy will not progress further.").signals if s.type == "rejection")
    assert sig.rule == "rej.neg_progress"
    assert "negated step forward" in sig.label


def _write(tmp: Path, combos: str, lines: list[dict[str, object]]) -> None:
    (tmp / "combos.toml").write_text(combos, encoding="utf-8")
    (tmp / "p.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")


def test_broken_combos_fail_at_load_with_every_problem(tmp_path: Path) -> None:
    _write(
        tmp_path,
        '[classes]\nGOOD = "a class"\nlower = "bad name"\n'
        '[[combo]]\ntype = "rejection"\nid = "c.one"\nall = ["GOOD", "MISSING"]\n'
        '[[combo]]\ntype = "nonsense"\nid = "c.two"\nall = ["GOOD", "NEG"]\n'
        '[[combo]]\ntype = "rejection"\nid = "c.three"\nall = ["GOOD", "NEG"]\nwindow = 99\n',
        [{"label": "GOOD", "id": "g", "pattern": "good"}, {"label": "NEG", "id": "n", "pattern": "not"}],
    )
    with pytest.raises(nlp_mod.PatternError) as err:
        nlp_mod.load_patterns(tmp_path)
    msg = str(err.value)
    assert "'lower'" in msg and "UPPER_CASE" in msg
    assert "c.one" in msg and "unknown cue class 'MISSING'" in msg
    assert "c.two" in msg and "unknown signal type" in msg
    assert "c.three" in msg and "window" in msg


def test_a_declared_class_without_patterns_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, '[classes]\nEMPTY = "never matched"\n', [{"label": "NEG", "id": "n", "pattern": "not"}])
    with pytest.raises(nlp_mod.PatternError, match="'EMPTY' has no pattern"):
        nlp_mod.load_patterns(tmp_path)


def test_a_custom_combo_fires_in_either_order(tmp_path: Path) -> None:
    _write(
        tmp_path,
        '[classes]\nCOLOUR = "a colour"\n'
        '[[combo]]\ntype = "offer"\nid = "c.colour"\ndescription = "negated colour"\nall = ["COLOUR", "NEG"]\nwindow = 4\n',
        [{"label": "COLOUR", "id": "col", "pattern": "(red|blue)"}, {"label": "NEG", "id": "n", "pattern": "not"}],
    )
    nlp = nlp_mod.build_nlp(nlp_mod.load_patterns(tmp_path))
    try:
        assert [h.rule for h in nlp("It is not red.").user_data["hits"]] == ["c.colour"]
        assert [h.rule for h in nlp("Blue it is not.").user_data["hits"]] == ["c.colour"]
        assert nlp("Not today, but red.").user_data["hits"] == []  # a clause boundary between
    finally:
        nlp_mod.build_nlp(nlp_mod.get_patterns())  # restore the shared pipeline's metadata


def test_several_mailbox_owners_are_inferred_from_distinct_senders() -> None:
    """A corpus or export holding several job seekers' mail: each seeker's replies are outgoing."""
    from offerwatch.extractors.parse import parse_mail
    from offerwatch.extractors.pipeline import infer_owner

    def mail(frm: str, to: str) -> bytes:
        return f"From: {frm}\r\nTo: {to}\r\nSubject: x\r\n\r\nbody\r\n".encode()

    raws = [mail(f"r{i}@corp{i}.com", "ana@example.org") for i in range(12)]
    raws += [mail(f"r{i}@firm{i}.com", "ben@example.org") for i in range(5)]
    raws += [mail("ana@example.org", "r1@corp1.com") for _ in range(6)]  # one recruiter, many replies
    owner = infer_owner([parse_mail(r) for r in raws])
    assert owner.addresses == {"ana@example.org", "ben@example.org"}


def test_a_panel_in_the_interview_plan_of_an_invitation_is_a_panel_invite() -> None:
    text = ("I am pleased to invite you to interview for the post of Ward Sister.\n\n"
            "Your interview is on Monday 2 March 2026 at 13:15 in the Boardroom. It will start with a "
            "10-minute presentation followed by a panel interview of approximately 40 minutes.")
    got = types(text)
    assert {"interview_scheduled", "panel_invite"} <= got


def test_a_panel_as_a_body_or_a_stage_reached_is_no_invitation() -> None:
    assert "panel_invite" not in types("We need to reschedule your interview on Thursday 5 February from 10:45 to "
                                       "14:15 because one of the panel members is needed elsewhere.")
    assert "panel_invite" not in types("As we move towards the final stage of this process, could you please "
                                       "confirm that you are still interested in the post?")
    assert "panel_invite" not in types("Are you having any other offers in hand or interviews in final stage?")


def test_a_leader_on_the_interview_itinerary_is_a_senior_leader_interview() -> None:
    text = ("Dear Arjun,\n\nYour profile has been shortlisted. Please find the interview details below:\n\n"
            "Date: 28-Jan-2026\nTime: 3:00 PM\nInterviewer: Mr. Anand Rao, Director - Transaction Banking Sales\n\n"
            "Kindly acknowledge receipt of this mail.")
    assert {"interview_scheduled", "senior_leader_interview"} <= types(text)
    # the same leader, mentioned as the one who signs off, in a message that invites to nothing
    assert "senior_leader_interview" not in types("The panel report then goes to our Executive Director for sign-off.")


@pytest.mark.parametrize(
    "text",
    [
        "Which brings me to the awkward question: where else are you interviewing right now?",
        "Have you heard back from the other US firm?",
        "Have you received any other job offers, or a counter-offer from your current hospital?",
        "Are you waiting to hear back from any other graduate schemes, and is there a date by which you need to decide?",
        "It would also help to know whether you are currently involved in any other recruitment processes.",
    ],
)
def test_questions_about_other_processes(text: str) -> None:
    assert "other_process_inquiry" in types(text)


def test_other_process_words_without_a_question_or_about_the_final_stage_here() -> None:
    assert "other_process_inquiry" not in types("As we move towards the final stage, could you confirm you are "
                                                "still interested?")
    assert "other_process_inquiry" not in types("We are interviewing other candidates this week.")


def test_unwrap_joins_hard_wrapped_prose_and_keeps_short_lines() -> None:
    from offerwatch.extractors.signals import unwrap

    wrapped = ("Thank you for taking my call this morning. As discussed, I'm very pleased to\n"
               "offer you an indeterminate Policy Analyst position with the Rural Policy\n"
               "Analysis division.\n- item one\nDate: Tuesday\nTime: 09:00")
    out = unwrap(wrapped)
    assert len(out) == len(wrapped)  # one for one: evidence offsets stay valid
    assert "pleased to offer you" in out and "Rural Policy Analysis" in out
    assert out.endswith("division.\n- item one\nDate: Tuesday\nTime: 09:00")
    assert "offer" in types(wrapped)


@pytest.mark.parametrize(
    "text",
    [
        "I am pleased to make you a provisional offer of a permanent wholetime teaching post.",
        "Please find attached your letter of offer for an indeterminate appointment to the position.",
        "We are pleased to attach your letter of appointment for the position of Financial Reporting Manager.",
    ],
)
def test_offers_in_formal_wording(text: str) -> None:
    assert "offer" in types(text)


@pytest.mark.parametrize(
    "text",
    [
        "We'd love you to join our assessment centre for the Clinical Nurse Educator role.",
        "I would be happy to welcome you to the second round, which we hold as an assessment center.",
        "Thank you for accepting your conditional offer.",
        "Before I put a formal offer together: can you confirm that you are still keen on the role?",
        "Can you share roughly where you are with them - is an offer likely soon elsewhere?",
    ],
)
def test_not_offers(text: str) -> None:
    assert "offer" not in types(text)


@pytest.mark.parametrize(
    "text,kind",
    [
        ("We have decided to proceed with others whose experience is closer to the brief.", "rejection"),
        ("We're no longer considering your application for this role.", "rejection"),
        ("She also asked whether she could call you directly on Monday to talk through the scope.", "hiring_manager_direct"),
        ("got 30 min next week for an intro?", "interview_request"),
    ],
)
def test_families_seen_in_real_mail(text: str, kind: str) -> None:
    assert kind in types(text)


@pytest.mark.parametrize(
    "text,kind",
    [
        ("She is seeing two more people this week and will compare notes after that.", "keep_warm"),
        ("The panel has completed its interviews and is now finalising its report.", "keep_warm"),
        ("Ashcombe have agreed to drop the separate HR meeting they usually hold afterwards.", "expedite"),
        ("Management has agreed to take you directly to the final round instead of our usual three rounds.", "expedite"),
        ("We are fast-tracking you to the final round, without the written assessment.", "expedite"),
    ],
)
def test_keep_warm_and_expedite_families(text: str, kind: str) -> None:
    assert kind in types(text)


def test_an_out_of_office_reply_carries_no_signal() -> None:
    text = "I am out of the office until Monday 16 February with no access to email. We are still reviewing candidates."
    assert types(text) == set()


def test_an_hr_director_is_no_senior_leader() -> None:
    got = types("I've just come off the phone with Ashcombe's HR director and they want to meet you on Tuesday at 10am.")
    assert "senior_leader_interview" not in got


#: Rejections as employers and ATS templates word them (families learned from public template
#: collections; sentences written here).
REJECTIONS = [
    'We regret to inform you that we will not be moving forward with your application at this time.',
    'We have decided to pursue candidates whose experience aligns more closely with the requirements of the role.',
    'After careful consideration, we regret to inform you that we cannot proceed with your candidacy.',
    'Unfortunately, your application has been unsuccessful at this time.',
    'We are unable to move everyone forward in the process.',
    'You are no longer being considered for this position.',
    'His qualifications fell short of those of several other candidates.',
    'We have selected a candidate who more closely matches our needs.',
    'The position has been offered to another applicant.',
    'We will not be inviting you to the next stage of the process.',
    'We have chosen not to progress your application.',
    "We won't be taking your application further.",
    'Your profile is not a match for this position at this time.',
    "We've decided to go in a different direction for this role.",
    'The hiring manager has decided not to move ahead with your candidacy.',
    'We have made the difficult decision to not move forward with your application.',
    'We feel that your skills do not align with the requirements of this role.',
    'Regrettably, we will not be able to offer you a position.',
    'We are not able to offer you an interview on this occasion.',
    'Unfortunately you have not been shortlisted for interview.',
    'We have now filled the position.',
    'This requisition has been closed.',
    'We will not be proceeding with your application.',
    'Your application was not selected for further consideration.',
    'We have identified other candidates who better fit the role.',
    'After reviewing your application, we have decided not to invite you for an interview.',
    'We are moving forward with other applicants.',
    'The team has decided to proceed with another candidate.',
    'We did not select your application for the next round.',
    'We will not take you to the next step of the process.',
    'We have decided to close this role.',
    'The role has been cancelled.',
    'I wanted to let you know that we will be considering other applicants for the Product Designer role.',
    'The panel has decided to focus on candidates whose experience is closer to the brief.',
]
NOT_REJECTIONS = [
    'Thank you for your application; we will be in touch if you are shortlisted.',
    'If you have not heard from us within two weeks, please assume your application has not been successful.',
    'We are still reviewing applications and will move forward with shortlisted candidates next week.',
    "We'd like to move forward with you!",
    'Unfortunately I have to move our call to Thursday.',
    'Unfortunately the role is on hold until the new budget is approved.',
    'There is no need to reschedule.',
    "Please don't hesitate to reach out if you have questions.",
    'We are still considering other applicants and will be in touch next week.',
]


@pytest.mark.parametrize("text", REJECTIONS)
def test_rejection_wordings(text: str) -> None:
    assert "rejection" in types(text)


@pytest.mark.parametrize("text", NOT_REJECTIONS)
def test_not_rejection_wordings(text: str) -> None:
    assert "rejection" not in types(text)


# Each type in the generic wording of templates and recruiters (sentences written here).
GENERIC = {
"application_received": [
 "Thank you for applying to the Data Analyst position. We have received your application and our team will review it shortly.",
 "Your application has been successfully submitted for the role of Store Manager.",
 "We confirm receipt of your application for the post of Staff Nurse.",
 "This is an automated message to let you know we've received your application.",
 "Thanks for your interest in Acme! Your application is now under review by our recruiting team.",
 "We appreciate you taking the time to apply. Our hiring team is reviewing your application.",
 "Your application for Customer Success Manager is currently being reviewed.",
],
"interview_request": [
 "We would like to invite you to an interview. Please let us know your availability for next week.",
 "Could you send me a few times that work for a 30-minute call?",
 "Please use the link below to book a time that suits you: https://calendly.com/x/30min",
 "Are you free for a quick chat on Tuesday or Wednesday afternoon?",
 "I'd love to set up a phone screen. When are you available?",
 "Please select an interview slot using the scheduling link below.",
 "Would you be available for a video interview later this week?",
],
"interview_scheduled": [
 "Your interview is confirmed for Tuesday, March 3 at 2:00 PM EST.",
 "Great, I've booked us in for Thursday at 11am - invite to follow.",
 "This is to confirm your interview on 12 May at 10:30 at our London office.",
 "You're all set for Monday at 3pm with Sarah.",
 "Something came up, so I've moved our screening call from Wednesday to Thursday 19 March at 11:00am ET.",
],
"postponed": [
 "Unfortunately we need to reschedule your interview due to an unforeseen conflict.",
 "The hiring manager is unwell, so we'll have to push our call to next week.",
 "I'm afraid we have to postpone tomorrow's interview.",
 "Could we move our meeting from Tuesday to Thursday?",
],
"role_on_hold": [
 "The position has been put on hold due to budget constraints.",
 "We have temporarily paused hiring for this role.",
 "Due to a hiring freeze, we are unable to proceed with the recruitment at this time.",
 "The requisition is on hold pending a reorganisation.",
 "The interviews planned for 24 March have been suspended until further notice while the service is reviewed.",
],
"offer": [
 "We are delighted to offer you the position of Senior Engineer.",
 "Please find attached your offer letter.",
 "I'm happy to extend a verbal offer for the role.",
 "Congratulations! We'd like to offer you the job.",
],
"keep_warm": [
 "We are still finalising interviews and expect to have an update for you next week.",
 "Just a quick note to say we haven't forgotten about you; the team is still deciding.",
 "We're waiting on final feedback from the hiring manager and will be in touch by Friday.",
 "Thank you for your patience - the decision is taking a little longer than expected.",
 "We've still got two candidates to see on Monday, so we won't be able to make decisions until after then.",
],
"other_process_inquiry": [
 "Are you interviewing with any other companies at the moment?",
 "Do you have any other offers on the table?",
 "What does your timeline look like?",
 "Is there anything else in the pipeline we should be aware of?",
],
"salary_reconfirm": [
 "Before we prepare the offer, can you confirm your salary expectations are still around $120k?",
 "Are you still comfortable with the compensation range we discussed?",
 "Could you reconfirm your expected salary?",
],
"expedite": [
 "We'd like to move quickly and can skip the technical assessment.",
 "Given your timeline, we'll fast-track you to the final round.",
 "We can expedite the process and make a decision this week.",
 "Could you do the next round tomorrow or Thursday? Keen to keep the momentum going.",
],
"senior_leader_interview": [
 "The next step is a conversation with our CEO, Jane Doe.",
 "You'll meet with our VP of Engineering on Friday.",
 "The final interview will be with the Head of Product.",
],
"panel_invite": [
 "We'd like to invite you to a panel interview with three members of the team.",
 "The next stage is an onsite interview at our office.",
 "You've been invited to the final round.",
 "You have been invited to attend a competency-based interview before a board for the above competition.",
 "The hiring manager wants to get you in for a final chat with their Head of Engineering this week.",
],
"hiring_manager_direct": [
 "Hi, I'm the hiring manager for the role and wanted to reach out personally.",
 "The hiring manager would like to call you directly tomorrow.",
 "Marcus, who would be your manager, asked if he could give you a ring himself this week.",
],
}


@pytest.mark.parametrize("kind,text", [(k, x) for k, xs in GENERIC.items() for x in xs])
def test_generic_wordings(kind: str, text: str) -> None:
    assert kind in types(text)


def test_a_reconfirmation_about_the_figure_in_the_sentence_before() -> None:
    text = ("Before Camille prepares the written proposal, I need to verify one thing with you: in our first "
            "exchange you told me 70k€ fixed per year. Is this still correct for you?")
    assert "salary_reconfirm" in types(text)
    assert "salary_reconfirm" not in types("Thanks for the chat. Is this still a good time for you?")
