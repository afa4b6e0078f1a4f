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
