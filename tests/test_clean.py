"""The cleaner keeps only the newest reply and splits the signature off (kept for titles)."""

from __future__ import annotations

from offerwatch.extractors.clean import clean_reply


def test_gmail_quote_with_wrapped_header_is_removed() -> None:
    body = (
        "Hi Sam,\n\nGreat news - we'd like to move you to the final round.\n\nThanks,\nJo\n\n"
        "On Thu, Sep 17, 2026 at 2:40 PM Sam Okafor <sam@example.net>\nwrote:\n\n> Unfortunately I need to reschedule.\n"
    )
    c = clean_reply(body)
    assert c.text == "Hi Sam,\n\nGreat news - we'd like to move you to the final round."
    assert "reschedule" not in c.text and c.had_quote
    assert c.signature == "Thanks,\nJo"


def test_outlook_header_block_is_removed() -> None:
    body = (
        "Thanks Sam, confirmed for Tuesday.\n\n"
        "From: Sam Okafor <sam@example.net>\nSent: Monday, October 5, 2026 9:14 AM\nTo: Jo <jo@acme.example>\n"
        "Subject: RE: Interview\n\nWe have decided to move forward with other candidates.\n"
    )
    c = clean_reply(body)
    assert c.text == "Thanks Sam, confirmed for Tuesday."


def test_forwarded_block_is_not_new_text() -> None:
    body = "FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Jo\n\nWe are pleased to offer you the role.\n"
    c = clean_reply(body)
    assert c.text == "FYI, see below." and c.forwarded


def test_signature_with_title_is_split_and_kept() -> None:
    body = "Hi Sam,\n\nI'm the hiring manager for the role and would love to chat.\n\nBest regards,\nDana Lee\nVP of Engineering | Acme\n+1 555 010 2000"
    c = clean_reply(body)
    assert c.text.endswith("would love to chat.")
    assert "VP of Engineering" in c.signature


def test_business_card_without_sign_off() -> None:
    body = "Hi Sam,\n\nCould you send your availability for next week?\n\nJo Recruiter\nSenior Technical Recruiter | Acme\njo@acme.example"
    c = clean_reply(body)
    assert c.text == "Hi Sam,\n\nCould you send your availability for next week?"
    assert c.signature.startswith("Jo Recruiter")


def test_zero_width_and_bidi_characters_are_removed() -> None:
    c = clean_reply("we need to re\u200bsche\u200ddule \u202eour call")
    assert c.text == "we need to reschedule our call"


def test_huge_body_is_capped() -> None:
    c = clean_reply("word " * 400_000)
    assert c.truncated and len(c.text) <= 60_000


def test_afrikaans_quote_header_is_removed() -> None:
    body = ("Goeie dag Thandeka,\n\nWe need to move Thursday's interview, sorry.\n\n"
            "Op Wo. 2 Sep. 2026 om 12:30 het Thandeka Mokoena <thandeka@kudumail.example>\ngeskryf:\n"
            "> Confirmed for Thursday 10 September at 10:00.\n")
    c = clean_reply(body)
    assert "Confirmed for" not in c.text and c.had_quote
    assert c.text.endswith("We need to move Thursday's interview, sorry.")


def test_a_quote_attribution_in_any_language_and_word_order_is_not_new_text() -> None:
    for header in ("Op di 21 apr 2026 om 07:58 schreef Katrin Vogel <katrin@nordpost.example>:",
                   "Den 21 apr. 2026 kl. 07:58 skrev Katrin Vogel <katrin@nordpost.example>:",
                   "ti 21.4.2026 klo 7.58 Katrin Vogel (katrin@nordpost.example) kirjoitti:"):
        c = clean_reply(f"Hi Katrin,\n\nI have sent your CV to the client.\n\n{header}\n> Tuesday at 18:00 works.\n")
        assert c.text == "Hi Katrin,\n\nI have sent your CV to the client.", header
    wrapped = ("I will call you at five.\n\nAm Di., 16. Juni 2026 um 13:30 Uhr schrieb Tomasz Wieczorek <t.wieczorek@poczta-\n"
               "wisla.example>:\n> See you then.\n")
    assert clean_reply(wrapped).text == "I will call you at five."
    # a line of the reply that ends with a colon but attributes nothing stays
    kept = clean_reply("My answers are below:\n> Are you free?\nYes.\n")
    assert "My answers are below:" in kept.text


def test_european_sign_offs_open_the_signature() -> None:
    for sign_off in ("Groeten,", "Met vriendelijke groet,", "Med vänlig hälsning", "Venlig hilsen", "Un saludo,",
                     "Cumprimentos,", "Beste Grüße"):
        c = clean_reply(f"Hi Katrin,\n\nSee you on Friday.\n\n{sign_off}\nSanne")
        assert c.text == "Hi Katrin,\n\nSee you on Friday.", sign_off
        assert c.signature == f"{sign_off}\nSanne"


def test_government_sign_offs_open_the_signature() -> None:
    for sign_off in ("V/r,", "Very respectfully,", "Respectfully,"):
        c = clean_reply(f"Mr. Ruiz,\n\nPlease send your availability.\n\n{sign_off}\nDana Lee\nSupervisory IT Specialist (INFOSEC)\n"
                        "Branch Chief, Cyber Operations\n"
                        "Office of Information Technology\nU.S. Department of Labor\nOffice: (202) 555-0188")
        assert c.text == "Mr. Ruiz,\n\nPlease send your availability.", sign_off
        assert c.signature.startswith(sign_off)


def test_thanks_and_regards_opens_the_signature() -> None:
    for sign_off in ("Thanks & Best Regards,", "Thanks & Regards,", "Thanks and regards", "Thank you & regards,"):
        c = clean_reply(f"Dear Tarek,\n\nKindly confirm your attendance.\n\n{sign_off}\nSultan Saleh\nRecruitment Officer")
        assert c.text == "Dear Tarek,\n\nKindly confirm your attendance.", sign_off


def test_a_long_legal_footer_under_the_signature_does_not_hide_it() -> None:
    footer = ("DISCLAIMER: The information contained in this e-mail message and its attachments\nis confidential and "
              "intended only for the named recipient(s). Nothing in this\ne-mail shall be construed as an offer of "
              "employment unless it is issued on company\nletterhead. If you are not the intended recipient, please "
              "notify the sender.\nThe company accepts no liability for viruses.")
    card = ("Sultan Saleh\nRecruitment Officer | Human Resources Department\nGulf Process Co.\nP.O. Box 31952, Al Khobar\n"
            "Tel: +966 13 882 4500 | Mobile: +966 55 904 2261\nwww.gulfprocess.example\nSafety First | Quality Always")
    c = clean_reply(f"Dear Tarek,\n\nKindly confirm your attendance.\n\nThanks & Best Regards,\n{card}\n{footer}")
    assert c.text == "Dear Tarek,\n\nKindly confirm your attendance."
    assert "Recruitment Officer" in c.signature and c.signature.rstrip().endswith("liability for viruses.")
    ack = clean_reply("Dear Oliver,\n\nThis email is to confirm that we have received your application.\n\nKind regards")
    assert "received your application" in ack.text  # an ATS's "This email is to confirm" is no legal footer


def test_french_sign_offs_open_the_signature() -> None:
    for sign_off in ("Au plaisir,", "Bien à vous,", "Bonne journée,"):
        c = clean_reply(f"Hello Hannah,\n\nSee you Tuesday.\n\n{sign_off}\nGeneviève\nGeneviève Thériault, Ph.D.\n"
                        "Senior Director, Regulatory Affairs\nAurelis Bio inc. | Montréal\n514-555-0138")
        assert c.text == "Hello Hannah,\n\nSee you Tuesday.", sign_off


def test_a_card_above_sent_from_my_iphone_is_part_of_the_signature() -> None:
    c = clean_reply("Dale\n\ncan you do a ride along with Steve wednesday?\n\nGord\nNorthern Comfort Mechanical Ltd. | Owner\n\n"
                    "Sent from my iPhone")
    assert c.text == "Dale\n\ncan you do a ride along with Steve wednesday?"
    assert c.signature.startswith("Gord\nNorthern Comfort Mechanical Ltd. | Owner")
    assert clean_reply("See you at 3.\n\nSent from my iPhone").text == "See you at 3."


def test_a_notice_of_why_the_mail_was_sent_is_footer_not_new_text() -> None:
    c = clean_reply("Hello Siobhán,\n\nPlease complete the assessments by 17 February.\n\n"
                    "You received this email because an organisation invited you to an assessment.\nSHL, Thames Ditton")
    assert c.text == "Hello Siobhán,\n\nPlease complete the assessments by 17 February."
    kept = clean_reply("Hi Sam,\n\nYou received this because we liked your portfolio, and we'd love to talk.")
    assert "we'd love to talk" in kept.text  # not the notice's wording: the writer's own sentence
