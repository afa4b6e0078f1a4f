"""The job-mail classifier keeps the job search and drops alerts, blasts and look-alikes, with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from offerwatch.extractors import classify as clf
from offerwatch.models.domain import Address, Direction

ME = Address("Maya", "maya@example.com")


def decide(sender: Address | None, subject: str, text: str, headers: dict[str, str] | None = None,
           direction: Direction = Direction.IN, recipients: tuple[Address, ...] = (ME,),
           has_calendar: bool = False, signature: str = "") -> clf.JobDecision:
    return clf.classify(sender=sender, subject=subject, text=text, headers=headers or {}, direction=direction,
                        has_calendar=has_calendar, recipients=recipients, signature=signature)


def test_ats_domain() -> None:
    d = decide(Address("Acme", "no-reply@us.greenhouse-mail.io"), "Thanks", "We received your application.")
    assert d.is_job and d.reason == "ATS sender domain greenhouse-mail.io"


def test_recruiter_personal_mail() -> None:
    d = decide(Address("Jo", "jo@acme.example"), "Acme - Data Engineer",
               "Hi Maya, I'm a recruiter at Acme. Would you be open to a 30-minute call about the Data Engineer role?")
    assert d.is_job and "job vocabulary" in d.reason


def test_hiring_manager_with_signature_only() -> None:
    d = decide(Address("Jordan", "jordan@copper.example"), "Re: quick call?", "Booked: Wed 3 PM ET - talk then.",
               signature="Jordan Reyes\nEngineering Manager, Data Platform")
    assert d.is_job


@pytest.mark.parametrize(
    ("sender", "subject", "text", "headers", "why"),
    [
        (Address("LinkedIn Job Alerts", "jobalerts-noreply@linkedin.com"), "30 new jobs for Data Engineer",
         "Senior Data Engineer - Acme - Easy Apply. Interviewing now!", {"list-unsubscribe": "<x>"}, "job board"),
        (Address("Weekly", "news@substack.com"), "Hiring freezes and offers",
         "Several readers wrote in that roles were put on hold. Panel interview tips inside.", {"list-unsubscribe": "<x>", "precedence": "bulk"}, "bulk mail"),
        (Address("Dental", "appointments@smile.example"), "We need to reschedule",
         "Unfortunately Dr. Kim is unavailable, so we need to reschedule your cleaning appointment.", {"auto-submitted": "auto-generated"}, "no job context"),
        (Address("Pod", "nina@talks.example"), "Interview on the podcast?",
         "I'd love to interview you for an episode of our podcast. Would any afternoon next week work?", {}, "another world"),
        (Address("Leasing", "leasing@lofts.example"), "Your rental application has been received",
         "Thank you for applying for Unit 4B. Your rental application and the application fee have been received.", {}, "another world"),
        (Address("HR", "hr.jobs@gmail.com"), "Job Offer: Data Entry - $45/hr",
         "Dear Applicant, we are pleased to offer you the position. No interview is required. Reply with your full name and home address.", {}, "blast or scam"),
        (Address("M&E Week", "programme@mneweek.example"), "Invitation to speak: panel on local data",
         ("On behalf of the organising committee I am delighted to invite you to join a panel discussion on 24 November, "
          "11:00-12:15. The panel will be moderated by Prof. Oduya. Please confirm your availability by 2 October."), {},
         "another world"),
        (Address("Rosa", "rosa@gmail.com"), "Saturday dinner",
         "can we reschedule dinner to Sunday? how did your final round go??? fingers crossed for an offer", {}, "another world"),
    ],
)
def test_not_job_mail(sender: Address, subject: str, text: str, headers: dict[str, str], why: str) -> None:
    d = decide(sender, subject, text, headers)
    assert not d.is_job
    assert why in d.reason


def test_agency_blast_to_undisclosed_recipients() -> None:
    d = decide(Address("Rahul", "rahul@staffing.example"), "Urgent Requirement - SAP Consultant",
               "Hi, please find the below job description and share your updated resume with expected rate and visa status.",
               recipients=())
    assert not d.is_job and "undisclosed" in d.reason


def test_relayed_inmail_and_easy_apply_receipt_are_job_mail() -> None:
    inmail = decide(Address("Ethan Brooks via LinkedIn", "inmail-hit-reply@linkedin.com"), "Ethan sent you a message",
                    "Would you be open to a call about our Senior Engineer role?", {"list-unsubscribe": "<x>"})
    assert inmail.is_job and "relayed" in inmail.reason
    receipt = decide(Address("LinkedIn", "jobs-noreply@linkedin.com"), "Your application was sent to Acme",
                     "Your application was sent to Acme. Applied on August 24.", {"list-unsubscribe": "<x>"})
    assert receipt.is_job


def test_outgoing_mail() -> None:
    reply = decide(ME, "Re: Acme - Data Engineer", "Thursday works. I'm looking for a base salary of $150k.",
                   direction=Direction.OUT, recipients=(Address("Jo", "jo@acme.example"),))
    assert reply.is_job
    fwd = decide(ME, "Fwd: Offer - Data Engineer", "Here it is!! What do you think?", direction=Direction.OUT,
                 recipients=(Address("Noah", "noah@fastmail.com"),))
    assert not fwd.is_job and "private" in fwd.reason


def test_broken_data_file_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "classify.toml"
    bad.write_text("[domains]\nats = 'not a list'\n[vocab.strong]\nweight = 3\npatterns = ['(unclosed']\n", encoding="utf-8")
    clf.load_data.cache_clear()
    try:
        with pytest.raises(clf.ClassifierDataError) as err:
            clf.load_data(bad)
        assert "ats must be a list" in str(err.value) and "(unclosed" in str(err.value)
    finally:
        clf.load_data.cache_clear()


# --- families learned from the round-3 blind corpora (written in new words, not copied) ---

def test_texted_and_word_of_mouth_hiring_is_job_mail() -> None:
    texted = decide(Address("Dee", "dee@bakeryco.example"), "cashier",
                    "hi its Dee from the bakery, saw ur app for weekend cashier. come by fri at 2 to chat?")
    referred = decide(Address("Sam", "sam@tapas.example"), "line cook",
                      "Sam here, head chef. Got your CV from Lucia, want to come in for a trial shift Tuesday?")
    assert texted.is_job and referred.is_job


def test_onsite_travel_is_not_another_world_when_the_mail_is_about_hiring() -> None:
    d = decide(Address("Ana", "ana@ridgeco.example"), "Final round",
               "We'd like to invite you to the final round at our Denver office. We will book your flight "
               "and a hotel for the night before. Which dates work for you?")
    trip = decide(Address("Travel", "desk@skyways.example"), "Your itinerary",
                  "Your flight and hotel reservation are confirmed. Check-in opens 24 hours before departure.")
    assert d.is_job
    assert not trip.is_job and "another world" in trip.reason


def test_letting_you_know_is_not_tenancy_talk() -> None:
    d = decide(Address("Jo", "jo@acme.example"), "Re: Data Engineer",
               "Just letting you know the hiring manager is reviewing your application for the Data Engineer role.")
    assert d.is_job


def test_mail_from_the_owners_own_domain_is_weighed_like_free_mail() -> None:
    text = "How did the interview go with the college? They always take forever to decide, don't worry."
    sender = Address("Mum", "mum@homemail.example")
    plain = clf.classify(sender=sender, subject="your interview??", text=text, headers={}, direction=Direction.IN,
                         has_calendar=False, recipients=(Address("Me", "me@homemail.example"),))
    owned = clf.classify(sender=sender, subject="your interview??", text=text, headers={}, direction=Direction.IN,
                         has_calendar=False, recipients=(Address("Me", "me@homemail.example"),),
                         owner_domains=("homemail.example",))
    assert plain.is_job  # an unknown domain reads like a company's
    assert not owned.is_job


def test_delivery_is_a_parcel_word_only_with_parcel_context() -> None:
    d = decide(Address("Ju", "ju@ridemobility.example"), "UX Researcher - chat?",
               "Your profile really caught our attention, especially your diary studies with delivery riders. "
               "Are you available for a 40 min chat with me this week?")
    parcel = decide(Address("Shop", "orders@shop.example"), "Your parcel",
                    "Your order is out for delivery. Track your delivery status in the app.")
    assert d.is_job and not parcel.is_job


def test_onboarding_after_an_accepted_offer_is_job_mail_but_a_sold_item_is_not() -> None:
    onboarding = decide(Address("People Team", "people@tidewell.example"), "Welcome - before your first day",
                        "Now that you've accepted our offer, welcome! Complete the background check and watch "
                        "for a laptop shipping notification next week.")
    sale = decide(Address("Vintly", "hello@vintly.example"), "Offer accepted!",
                  "The buyer accepted your offer. Ship the item within 3 days; shipping labels are in the app.")
    assert onboarding.is_job and not sale.is_job


def test_a_superday_is_job_mail_even_beside_travel_talk() -> None:
    d = decide(Address("Lerato Molefe", "lerato@kopanotelecom.example"), "Superday - quick update",
               "Thanks again for coming up for the Superday - hope the flight back was OK. Quick update: we're still "
               "running two more Superday groups and only finalise scores once all of them are done.", {})
    assert d.is_job, d.reason


def test_dinner_with_the_team_on_a_site_visit_is_part_of_the_visit() -> None:
    visit = decide(Address("Melissa", "melissa@valleyhealth.example"), "Site visit - Thursday 5 March",
                   "Our recruitment team has set up your site visit. 7:30 Breakfast with Dr. Lin, 10:30 Chief Medical "
                   "Officer, 6:30 Dinner with the group. Hotel: the Inn, 2 nights.")
    party = decide(Address("Rosa", "rosa.k@example.org"), "Saturday dinner",
                   "can we do dinner on Sunday instead? how did your final round go???")
    assert visit.is_job
    assert not party.is_job


def test_a_scheduling_tools_own_newsletter_is_not_job_mail() -> None:
    news = decide(Address("Calendly", "newsletter@calendly.com"), "New in Calendly: routing forms",
                  "Book the right meeting with the right person. Routing forms now handle interview scheduling too.")
    invite = decide(Address("Calendly", "notifications@calendly.com"), "New Event: Sam Lee - 30 Minute Interview",
                    "A new event has been scheduled: 30 Minute Interview with Acme on Tuesday at 10:00.")
    assert not news.is_job and "newsletter or marketing" in news.reason
    assert invite.is_job


@pytest.mark.parametrize(("sender", "subject", "text"), [
    (Address("Léa Fournier", "lea.fournier@hartwellstone.ch"), "Confidential – a conversation?",
     ("Hartwell & Stone has been retained by a listed medical-technology company to find its next Chief Financial "
     "Officer. Would one of the following suit for a 30-minute call?")),
    (Address("Hattie", "hattie@sablerow.co.uk"), "quick chat?",
     "I'm running a confidential CTO search for a founder-led payments business in London."),
    (Address("Oliver Tran", "otran@spencerrowe.com"), "PE-backed healthcare platform",
     "I'm leading a Chief Legal Officer search. Would you have 20 minutes this week?"),
    # hiring mail in Spanish, Portuguese and French
    (Address("InfoJobs", "noreply@infojobs.net"), "Te has inscrito en la oferta Responsable de Marketing",
     "Tu inscripción en la oferta Responsable de Marketing de Grupo Alameda se ha realizado correctamente."),
    (Address("Fernanda Lima", "fernanda.lima@redeaurora.com.br"), "Entrevista - Produtor de Jornalismo",
     ("Parabéns, você foi aprovado na etapa de teste! Gostaríamos de agendar uma entrevista por vídeo. "
     "Qual a sua pretensão salarial para a vaga?")),
    (Address("Claire", "claire@atelier-brume.fr"), "Votre candidature",
     "Merci pour votre candidature. Nous aimerions fixer un entretien avec notre directrice artistique."),
])
def test_executive_search_and_romance_language_hiring_mail_is_job_mail(sender: Address, subject: str, text: str) -> None:
    assert decide(sender, subject, text).is_job


def test_the_dinner_of_a_final_stage_is_part_of_the_hiring() -> None:
    d = decide(Address("Matthias", "matthias@hartwellstone.ch"), "Veltrion",
               "The final stage would be a meeting with the Chairman, followed by a dinner with Beat.")
    assert d.is_job
    party = decide(Address("Ana", "ana@studio.example"), "Friday", "Dinner at ours on Friday? Bring the kids.")
    assert not party.is_job


def test_in_any_order_and_in_order_of_merit_are_no_shop_order() -> None:
    d = decide(Address("SHL", "noreply@shl.com"), "Your assessment invitation",
               "Hallorans LLP has invited you to complete the following assessments. You can complete them in any order.")
    assert d.is_job  # an assessment platform sends for an employer
    merit = decide(Address("Recruitment", "recruitment@lvetb.ie"), "Competition LVETB/T/26/14 - result of interview",
                   "Following interview, you have been placed on the panel for the above competition, in order of merit.")
    assert '"order"' not in merit.reason  # a merit list is not another world
    shop = decide(Address("Shop", "orders@shop.example"), "Your order", "Your order has shipped. Track your parcel.")
    assert not shop.is_job


def test_a_spanish_job_board_alert_stays_an_alert() -> None:
    d = decide(Address("InfoJobs", "alertas@infojobs.net"), "12 nuevas ofertas para ti",
               "Ofertas de empleo que encajan con tu perfil: Diseñador gráfico, Redactor creativo.")
    assert not d.is_job and "job board" in d.reason


def test_romance_language_portal_mail_and_acknowledgements() -> None:
    reset = decide(Address("Gupy", "naoresponda@gupy.com.br"), "Redefinição de senha",
                   "Recebemos uma solicitação para redefinir a senha da sua conta de candidato.")
    assert not reset.is_job and "account mail" in reset.reason
    ack = decide(Address("Welcome to the Jungle", "no-reply@welcometothejungle.com"), "C'est envoyé !",
                 "Ta candidature au poste de Directeur Artistique chez Maison Verbe a bien été transmise.")
    assert ack.is_job


def test_on_receipt_of_a_ticket_is_no_shop_receipt() -> None:
    d = decide(Address("Resourcing Team", "recruitment.team@meridianbroadcasting.co.uk"), "Assessment day 7 April - postponed",
               "We regret that we have had to postpone the assessment day, which was scheduled for Tuesday 7 April. "
               "Our team will reimburse any travel on receipt of a valid ticket.")
    assert d.is_job


def test_bringing_an_updated_resume_to_an_interview_is_no_blast_and_a_pre_employment_medical_is_job_mail() -> None:
    walk_in = decide(Address("TeleBridge Recruitment", "careers@telebridge.ph"), "Invitation: Walk-in Initial Interview",
                     "You are invited to our walk-in initial interview and assessment. Please bring: 1 valid ID, "
                     "updated resume, pen.")
    assert walk_in.is_job
    blast = decide(Address("Staffing", "jobs@staffing.example"), "URGENT requirement - Java dev",
                   "Please send me your updated resume and visa status.")
    assert not blast.is_job
    medical = decide(Address("Recruit", "recruit@hanbitsemi.co.kr"), "Pre-employment health check",
                     "Please find the guide for the pre-employment health check. Fasting required from 21:00.")
    assert medical.is_job


def test_one_other_world_word_in_a_recruiters_own_mail_does_not_make_it_another_world() -> None:
    held = decide(Address("Sophie Turner", "sophie.turner@brookfieldstaffing.co.uk"), "Kingsway Freight - update",
                  "Kingsway have put the Transport Planner recruitment on hold until after their contract renewal in May.",
                  signature="Sophie Turner\nSenior Recruitment Consultant | Brookfield Staffing")
    assert held.is_job
    unsigned = decide(Address("Sophie Turner", "sophie.turner@brookfieldstaffing.co.uk"), "Kingsway Freight - update",
                      "Kingsway have put the Transport Planner recruitment on hold until after their contract renewal in May.")
    assert not unsigned.is_job  # no title: the other-world word still weighs
