"""Job mail by context: a known correspondent's two-line note is job mail; machine mailboxes,
account mail, a friend's own news and workplace-tool digests are not, whoever sends them."""

from __future__ import annotations

from offerwatch.extractors.pipeline import Owner, analyze_many

OWNER = Owner.of(["maya@example.org"])


def mail(frm: str, subject: str, body: str, to: str = "maya@example.org", msgid: str = "") -> bytes:
    head = f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Mon, 2 Feb 2026 10:00:00 +0000\r\n"
    if msgid:
        head += f"Message-ID: <{msgid}>\r\n"
    return (head + "\r\n" + body + "\r\n").encode()


FIRST = mail("Priya Raman <priya.raman@corvane.com>", "Senior Analyst role",
             "Hi Maya, I'm the hiring manager for the Senior Analyst position and I'd love to set up an interview.")


def decide(*raws: bytes, store_knows: set[str] | None = None) -> list[tuple[bool, str]]:
    known = store_knows or set()
    return [(a.is_job, a.job_reason) for a in analyze_many(list(raws), owner=OWNER,
                                                            contact_is_job=lambda e: e in known)]


def test_a_short_note_from_a_known_correspondent_is_job_mail() -> None:
    note = mail("Priya Raman <priya.raman@corvane.com>", "Quick call today?", "Do you have 15 minutes today?")
    (first, _), (second, why) = decide(FIRST, note)
    assert first and second
    assert "earlier job conversation" in why


def test_a_colleague_at_the_same_company_counts_and_the_store_is_asked() -> None:
    note = mail("Dana Whitfield <dana.whitfield@corvane.com>", "Quick note", "Priya enjoyed yesterday. More soon.")
    assert decide(note)[0][0] is False  # alone: no job context
    assert decide(note, store_knows={"dana.whitfield@corvane.com"})[0][0]
    assert decide(FIRST, note)[1][0]  # same company domain, learned in the batch


def test_the_owners_reply_to_a_known_correspondent_is_job_mail() -> None:
    reply = mail("Maya <maya@example.org>", "Re: times", "Wednesday 09:30 please.", to="priya.raman@corvane.com")
    assert decide(FIRST, reply)[1][0]


def test_machine_mailboxes_and_account_mail_stay_out() -> None:
    alert = mail("Corvane <no-reply@corvane.com>", "Your statement", "Your monthly statement is ready.")
    reset = mail("Corvane Careers <corvane@myworkday.com>", "Reset your password",
                 "Click here to reset your password for the Corvane careers site.")
    got = decide(FIRST, alert, reset)
    assert got[1][0] is False and got[2][0] is False
    assert "account mail" in got[2][1]


def test_a_friends_own_news_is_private_mail() -> None:
    friend = mail("Jess <jess.alvarez88@gmail.com>", "omg update",
                  "Final round went great - they called me this morning with a verbal offer!! Still waiting on "
                  "the offer letter. The recruiter asked if I was interviewing anywhere else lol.")
    (is_job, why), = decide(friend)
    assert not is_job and "private mail" in why


def test_workplace_tool_digests_are_not_the_job_search() -> None:
    digest = mail("Microsoft Teams <noreply@email.teams.microsoft.com>", "You have missed activity",
                  "Reminder: the interview panel for the supervisor candidate is Thursday at 3 PM. Can you cover?")
    assert decide(digest)[0][0] is False


def test_a_title_signed_earlier_carries_to_a_note_signed_with_a_first_name() -> None:
    first = mail("Priya Raman <priya.raman@corvane.com>", "Your interview",
                 "Hi Maya, thanks for applying. I'd like to set up an interview.\n\n"
                 "Best,\nPriya Raman\nSenior Manager, FP&A | Corvane Insurance Group")
    note = mail("Priya Raman <priya.raman@corvane.com>", "Quick call today?",
                "Do you have 15 minutes today? There are a couple of things I'd like to talk through.\n\nPriya")
    analyses = list(analyze_many([first, note], owner=OWNER))
    assert analyses[1].sender_role == "hiring_manager"
    assert "hiring_manager_direct" in {s.type for s in analyses[1].signals}


def test_an_agency_consultant_with_a_senior_title_is_a_recruiter() -> None:
    note = mail("James Rigby <james.rigby@hartwellselection.co.uk>", "Confirmed",
                "Hi Jonas, all confirmed: the client will see you Wednesday at 10:00 on Teams.\n\n"
                "Good luck!\nJames\n\nJames Rigby | Director, Risk & Quant | Hartwell Selection\n+44 20 3000 4417")
    a = next(analyze_many([note], owner=OWNER, contact_is_job=lambda e: True))  # he has written before
    assert a.is_job
    assert a.sender_role == "recruiter"
    assert "hiring_manager_direct" not in {s.type for s in a.signals}


def test_other_worlds_with_job_words_are_not_job_mail() -> None:
    rental = mail("Woonhuis Verhuur <verhuur@woonhuis-verhuur.nl>", "Your application for Czaar Peterstraat 112-2",
                  "Thank you for viewing the apartment and for submitting your application. The landlord has "
                  "decided to move forward with another applicant.")
    physical = mail("Eastside Family Health <appointments@eastside.example.org>", "Invitation: Annual physical",
                    "Your appointment has been scheduled. Annual physical with Dr. Lena Osei, Tuesday at 8:40 AM. "
                    "Fasting is required for lab work. To reschedule, call us.")
    referee = mail("Employment Checks <checks@humbercoast.nhs.uk>", "Reference request",
                   "Kelly Marsh has been made a conditional offer of employment and has given your name\n"
                   "as a referee. Please complete the reference form.")
    assert [d[0] for d in decide(rental, physical, referee)] == [False, False, False]


def test_a_decision_with_no_job_word_is_job_mail_once_read() -> None:
    """The vocabulary leaves "we will not take you to the next step" undecided; what the hiring
    side says decides it, and the reason names the signal that did."""
    note = mail("Dev Patel <dev.patel@quarryline.example>", "Re: next steps",
                "Sam,\n\nThanks for completing the exercise. We will not take you to the next step of the process.\n\nDev")
    agency = mail("Gail Morrison <gail@clearwater-search.example>", "Re: the client",
                  "Hi Sam,\n\nI've heard back and sadly they've gone with someone who had more sector experience.\n\nGail")
    analyses = list(analyze_many([note, agency], owner=OWNER))
    for a in analyses:
        assert a.is_job and "reads as the hiring side's: rejection" in a.job_reason
        assert [s.type for s in a.signals] == ["rejection"]


def test_slots_and_offers_from_other_worlds_stay_out() -> None:
    """A booking confirmed for a time, a draft night and "a place on the MSc" have slots and
    offers, not a hiring side's words: a second reading must not make them job mail."""
    booking = mail("Harbour Lanes <bookings@harbourlanes.example>", "See you Saturday",
                   "Hi Sam, your lane is confirmed for Saturday 14 March at 7:30pm. See you then!")
    place = mail("Admissions <admissions@pennine-uni.example>", "Your place",
                 "Dear Sam, we are pleased to offer you a place on the MSc Data Science starting in September.")
    friend = mail("Jess <jess.alvarez88@gmail.com>", "news", "They went with someone else, gutted.")
    assert [is_job for is_job, _ in decide(booking, place, friend)] == [False, False, False]


def test_a_reply_in_a_thread_that_began_as_an_agency_blast_is_judged_by_its_own_words() -> None:
    subject = "RE: URGENT REQUIREMENT - Java Developer (C2C/W2) - Remote"
    reply = mail("Raj Kumar <raj.kumar@techstaffpro.example>", subject,
                 "Hi Maya,\n\nI got feedback from the client today. Unfortunately they have decided to go with "
                 "another candidate who had more Kafka experience.\n\nRegards,\nRaj")
    blast = mail("Raj Kumar <raj.kumar@techstaffpro.example>", subject[4:],
                 "Hi,\n\nPlease find the below job description. If interested, reply with your updated resume "
                 "and expected rate.\n\nRaj")
    got = list(analyze_many([reply, blast], owner=OWNER))
    assert got[0].is_job and [s.type for s in got[0].signals] == ["rejection"]
    assert not got[1].is_job and "agency blast" in got[1].job_reason


def test_a_writer_who_introduced_themselves_keeps_that_role_in_short_replies() -> None:
    first = mail("Rhonda Pike <rhonda@kettle.example>", "shift lead",
                 "hey Maya its Rhonda, store manager at Kettle on Main. saw ur app for shift lead. can u come by thu at 3 to chat?",
                 msgid="k1@kettle.example")
    reply = mail("Rhonda Pike <rhonda@kettle.example>", "Re: shift lead", "great, see u thu 3pm. ask for me at the counter",
                 msgid="k2@kettle.example")
    a, b = analyze_many([first, reply], owner=OWNER)
    assert a.is_job and b.is_job
    assert "hiring_manager_direct" in {s.type for s in a.signals}
    assert "hiring_manager_direct" in {s.type for s in b.signals}  # the short reply has no title of its own


def test_a_known_contacts_note_about_a_flight_is_still_job_mail() -> None:
    note = mail("Priya Raman <priya.raman@corvane.com>", "Our call tomorrow - new time",
                "Annoying news: Asa's flight got cancelled and she only lands at lunch. Can we move our call to 16:00?")
    (_, _), (second, why) = decide(FIRST, note)
    assert second and "earlier job conversation" in why
    # a stranger's note with the same words stays out, and a second world's word closes it to context
    assert decide(note)[0][0] is False
    dinner = mail("Priya Raman <priya.raman@corvane.com>", "Dinner", "My flight lands at 6, dinner at 8? Call me.")
    assert decide(FIRST, dinner)[1][0] is False


def test_april_in_an_invitations_subject_is_no_credit_card_rate() -> None:
    invite = mail("Merle Schulz <merle.schulz@nordhafen-logistik.de>",
                  "Einladung: Interview Katrin Vogel / Senior Supply Chain Planner @ Do. 16. Apr. 2026 10:00 - 10:45",
                  "Hello Ms Vogel, as agreed, here is the invitation for the interview on Thursday.")
    assert "apr" not in decide(invite)[0][1].lower().split("other context")[-1]


def test_a_relay_address_shared_by_many_people_carries_no_title() -> None:
    founder = mail("Mira Hoffmann via LinkedIn <messages-noreply@linkedin.com>", "Mira sent you a message",
                   "Hi Maya, I'm hiring for our sales team and would love a call this week?\n\nBest,\nMira Hoffmann\n"
                   "Co-founder & CEO, Fernweh Labs")
    recruiter = mail("Felix Kaiser via LinkedIn <messages-noreply@linkedin.com>", "Felix sent you a message",
                     "Hi Maya, I'm supporting a client on a Sales Operations hire. Would you have 15 minutes on "
                     "Thursday for a first call?")
    analyses = list(analyze_many([founder, recruiter], owner=OWNER))
    assert analyses[1].sender_role is None
    assert not {"hiring_manager_direct", "senior_leader_interview"} & {s.type for s in analyses[1].signals}
