"""Every job message lands in one application: by thread, correspondent, company and role, never wildly."""

from __future__ import annotations

import json

import pytest

from helpers_apps import at, msg, put
from offerwatch.models.linking import (
    CorrectionError,
    close_application,
    merge_applications,
    name_matches_domain,
    names_match,
    read_facts,
    rename_application,
    same_role,
    split_application,
)
from offerwatch.models.store import Store


@pytest.fixture
def store():
    s = Store.open(None)
    yield s
    s.close()


def apps(store: Store) -> list[dict]:
    return store.rows("SELECT * FROM applications ORDER BY id")


# -- names, domains, roles ---------------------------------------------------------------------


@pytest.mark.parametrize("name,domain,ok", [
    ("Northwind Analytics", "northwind-analytics.io", True),
    ("Kestrel Payments", "kestrelpay.com", True),
    ("Brightfield Marketing Group", "brightfieldmg.com", True),
    ("Corvid Security", "corvidsec.com", True),
    ("Halvorsen Therapeutics", "halvorsentx.com", True),
    ("Helix Biosciences", "helixbio.com", True),
    ("Lakeview Community College", "lakeviewcc.edu", True),
    ("Cobalt & Finch", "cobaltfinch.com", True),
    ("Apple", "applebee.com", False),
    ("Northwind Analytics", "southwind.io", False),
])
def test_name_matches_domain(name: str, domain: str, ok: bool) -> None:
    assert name_matches_domain(name, domain) is ok


def test_names_and_roles_compare_loosely_but_not_wildly() -> None:
    assert names_match("Brightfield", "Brightfield Marketing Group")
    assert names_match("Cobalt & Finch", "Cobalt and Finch Inc.") is False or names_match("Cobalt & Finch", "Cobalt & Finch, Inc.")
    assert not names_match("Acme", "Acme Widgets")  # 4 letters: too short to be sure
    assert same_role("Machine Learning Engineer (Platform)", "Panel Interview (Machine Learning Engineer)")
    assert same_role("Senior Data Engineer", "Data Engineer")
    assert not same_role("Data Engineer", "Analytics Engineer")


def test_facts_from_ats_display_names_and_subjects() -> None:
    f = read_facts(msg("a", sender="Harborline Bank Careers <harborline@myworkday.com>",
                       subject="Thank you for applying to Harborline Bank - Quantitative Analyst, Model Risk (R-20417)"))
    assert f.domain is None and f.best_name()[0] == "Harborline Bank"
    assert f.role == "Quantitative Analyst, Model Risk"
    f = read_facts(msg("b", sender="Ethan Brooks via LinkedIn <inmail-hit-reply@linkedin.com>",
                       subject="Maya, Ethan Brooks sent you a message about Senior Analytics Engineer at Nimbus Grid"))
    assert f.best_name()[0] == "Nimbus Grid"  # "X via LinkedIn" is a person, not a company
    f = read_facts(msg("c", sender="Calendly <notifications@calendly.com>",
                       subject="Canceled: Intro call with Leah Morgan (Sable Systems) on Thursday, October 1, 2026"))
    assert f.best_name()[0] == "Sable Systems"
    f = read_facts(msg("d", sender="Acme via Greenhouse <no-reply@greenhouse.io>", subject="Interview for Data Engineer"))
    assert f.best_name()[0] == "Acme"


# -- thread headers ------------------------------------------------------------------------


def test_reply_and_references_follow_the_thread(store: Store) -> None:
    a, b, c = put(
        store,
        msg("m1", subject="Quick question", sender="Jo <jo@gmail.com>"),
        msg("m2", subject="Re: Quick question", out=True, to="Jo <jo@gmail.com>", irt="m1"),
        msg("m3", subject="something else entirely", sender="Jo <jo@gmail.com>", irt="m2", refs=("m1", "m2")),
    )
    assert a == b == c
    reasons = [r["link_reason"] for r in store.rows("SELECT link_reason FROM messages ORDER BY uid")]
    assert reasons[1].startswith("thread: In-Reply-To")


def test_parent_processed_after_its_reply_joins_it(store: Store) -> None:
    reply, parent = put(
        store,
        msg("r1", subject="Re: Data Engineer at Acme", irt="p1"),
        msg("p1", subject="Data Engineer at Acme", out=True, to="Jo <jo@acme.io>"),
    )
    assert reply == parent


def test_looping_and_self_references_do_not_hang_or_mislink(store: Store) -> None:
    a = msg("loop", subject="Northwind | Data Engineer", sender="Jen <jen@northwind.io>", irt="loop",
            refs=("loop", "x", "loop", "x") * 200)
    (app,) = put(store, a)
    assert app is not None
    assert apps(store)[0]["company"] == "Northwind"


def test_reply_whose_parent_never_arrived_links_by_subject_and_correspondent(store: Store) -> None:
    first, orphan = put(
        store,
        msg("o1", sender="Kim <kim@gmail.com>", subject="Contract role - rate"),
        msg("o2", sender="Kim <kim@gmail.com>", subject="RE: Contract role - rate", irt="never-arrived"),
    )
    assert first == orphan
    reason = store.rows("SELECT link_reason FROM messages WHERE message_id = '<o2@test>'")[0]["link_reason"]
    assert "parent never arrived" in reason


def test_gmail_thread_id_links(store: Store) -> None:
    a, b = put(
        store,
        msg("g1", sender="Sam <sam@gmail.com>", subject="hello", headers={"x-gm-thrid": "1780"}),
        msg("g2", sender="Sam <sam.other@gmail.com>", subject="checking in", headers={"x-gm-thrid": "1780"}),
    )
    assert a == b


# -- companies -----------------------------------------------------------------------------


def test_ats_acknowledgement_and_recruiter_mail_are_one_application(store: Store) -> None:
    ids = put(
        store,
        msg("n1", sender="Northwind Analytics <no-reply@us.greenhouse-mail.io>", subject="Thank you for applying to Northwind Analytics"),
        msg("n2", sender="Jenna <jenna@northwind-analytics.io>", subject="Northwind Analytics | Senior Data Engineer - intro call?"),
        msg("n3", sender="Northwind Analytics Recruiting <no-reply@goodtime.io>", subject="Interview Confirmed: Northwind Analytics – Senior Data Engineer"),
    )
    assert len(set(ids)) == 1
    (app,) = apps(store)
    assert app["company"] == "Northwind Analytics" and app["role"] == "Senior Data Engineer"


def test_one_company_writing_from_two_domains_is_one_application(store: Store) -> None:
    ids = put(
        store,
        msg("k1", sender="Olivia <olivia@kestrelpay.com>", subject="Kestrel Payments – Senior Backend Engineer"),
        msg("k2", sender="Ben <ben@kestrelpayments.com>", subject="Next round with Kestrel Payments",
            signature="Ben Adler\nEngineering Manager, Kestrel Payments"),
    )
    assert ids[0] == ids[1]


def test_two_companies_sharing_an_ats_sender_address_are_two_applications(store: Store) -> None:
    ids = put(
        store,
        msg("s1", sender="Corvid Security <noreply@smartrecruiters.com>", subject="Thank you for applying to Corvid Security"),
        msg("s2", sender="Greymoor Capital <noreply@smartrecruiters.com>", subject="Your application to Greymoor Capital"),
        msg("s3", sender="Corvid Security <noreply@smartrecruiters.com>", subject="Update on your application"),
    )
    assert ids[0] != ids[1] and ids[2] == ids[0]
    assert {a["company"] for a in apps(store)} == {"Corvid Security", "Greymoor Capital"}


def test_two_roles_at_one_company_are_two_applications(store: Store) -> None:
    ids = put(
        store,
        msg("r1", sender="Acme Careers <acme@myworkday.com>", subject="Application received - Data Engineer (R-1)"),
        msg("r2", sender="Acme Careers <acme@myworkday.com>", subject="Application received - Product Designer (R-2)"),
        msg("r3", sender="Jo <jo@acme.io>", subject="Acme – Product Designer: next step"),
        msg("r4", sender="Jo <jo@acme.io>", subject="Acme – Senior Data Engineer interview"),
    )
    assert ids[0] != ids[1]
    assert ids[2] == ids[1] and ids[3] == ids[0]
    assert "different role" in apps(store)[1]["link_reason"]


def test_company_with_two_applications_and_no_role_named_gets_a_new_one_with_the_reason(store: Store) -> None:
    ids = put(
        store,
        msg("t1", sender="Acme Careers <acme@myworkday.com>", subject="Application received - Data Engineer (R-1)"),
        msg("t2", sender="Acme Careers <acme@myworkday.com>", subject="Application received - Product Designer (R-2)"),
        msg("t3", sender="Acme Careers <acme@myworkday.com>", subject="An update"),
    )
    assert len(set(ids)) == 3
    assert "names no role" in apps(store)[2]["link_reason"]


def test_agency_recruiter_for_several_clients_is_not_merged(store: Store) -> None:
    ids = put(
        store,
        msg("a1", sender="Marcy <molsen@talentbridgepartners.com>", subject="Data Engineer - insurance client (Oak Brook)",
            text="The client reviewed your resume and wants to move fast.", signature="Marcy Olsen\nSenior Recruiter | Talentbridge Partners"),
        msg("a2", sender="Marcy <molsen@talentbridgepartners.com>", subject="Analytics Manager - bank client",
            text="My client, a bank downtown, is hiring an Analytics Manager.", signature="Marcy Olsen\nSenior Recruiter | Talentbridge Partners"),
        msg("a3", sender="Marcy <molsen@talentbridgepartners.com>", subject="Re: Data Engineer - insurance client (Oak Brook)",
            irt="a1", text="The client confirmed Tuesday."),
        msg("a4", sender="Marcy <molsen@talentbridgepartners.com>", subject="quick question",
            text="Is the client in Oak Brook still your first choice?"),
    )
    assert ids[0] != ids[1]
    assert ids[2] == ids[0]  # by thread
    assert ids[3] not in (ids[0], ids[1])  # no thread, no role: not guessed
    rows = apps(store)
    assert all(r["agency"] == "Talentbridge Partners" for r in rows)
    assert "agency" in rows[-1]["link_reason"]


def test_agency_names_its_client_and_later_mail_about_it_follows(store: Store) -> None:
    sig = "Jess Amankwah\nConsultant – Digital & Product\nHarper & Vale Talent | 020 7946 0381"
    ids = put(
        store,
        msg("h1", sender="Jess Amankwah <jess@harperandvale.co.uk>", subject="Octavia Retail - Senior Product Designer - CV sent",
            text="As agreed, I've sent your CV over to Octavia Retail for the Senior Product Designer role.", signature=sig),
        msg("h2", sender="Jess Amankwah <jess@harperandvale.co.uk>", subject="Octavia want to meet you!",
            text="Octavia want to meet you :) Could you do Tuesday?"),
        msg("h3", sender="Jess Amankwah <jess@harperandvale.co.uk>", subject="Lumen Bank - Lead Designer",
            text="My client Lumen Bank is hiring a Lead Designer; shall I send your CV?", signature=sig),
    )
    assert ids[0] == ids[1] and ids[2] != ids[0]
    rows = apps(store)
    assert [(r["company"], r["agency"]) for r in rows] == [("Octavia Retail", "Harper & Vale"), ("Lumen Bank", "Harper & Vale")]


def test_outgoing_first_contact_then_their_reply(store: Store) -> None:
    ids = put(
        store,
        msg("u1", out=True, to="Lena <lena@oakridgelabs.io>", subject="Salary expectations – Staff Data Engineer"),
        msg("u2", sender="Dana <dana@oakridgelabs.io>", subject="Hello from Oakridge Labs"),
    )
    assert ids[0] == ids[1]
    (app,) = apps(store)
    assert app["company"] == "Oakridge Labs"  # a better name than the domain's, once seen
    assert app["role"] == "Staff Data Engineer"


def test_calendly_confirmation_naming_a_known_contact(store: Store) -> None:
    ids = put(
        store,
        msg("c1", sender="Sam Okoro <sam.okoro@pixelforge.games>", subject="Pixelforge Games - Backend Engineer"),
        msg("c2", sender="Calendly <notifications@calendly.com>", subject="Confirmed: Phone Screen with Sam Okoro on Thursday, July 30, 2026"),
    )
    assert ids[0] == ids[1]


def test_nothing_known_makes_a_new_application_with_the_reason(store: Store) -> None:
    (a,) = put(store, msg("z1", sender="Notifications <noreply@calendly.com>", subject="Event confirmed"))
    row = apps(store)[0]
    assert a == row["id"] and row["company"] == "Unknown company"
    assert "no company" in row["link_reason"]


def test_no_message_id_and_no_date_still_link(store: Store) -> None:
    ids = put(
        store,
        msg("", sender="Victor <victor@quartzline.com>", subject="Quick update on the Analytics Engineer role", date=None),
        msg("q2", sender="Tara <tara@quartzline.com>", subject="Analytics Engineer @ Quartzline", date=at("2026-09-02 09:00")),
    )
    assert ids[0] == ids[1]


# -- corrections ----------------------------------------------------------------------------


def test_merge_moves_everything_and_later_mail_follows(store: Store) -> None:
    a, b = put(
        store,
        msg("x1", sender="Corvid Security <noreply@smartrecruiters.com>", subject="Thank you for applying to Corvid Security",
            signals=("application_received",)),
        msg("x2", sender="Nikhil <nikhil@detectco.com>", subject="Detection Platform - quick chat?", signals=("interview_request",)),
    )
    assert a != b
    merge_applications(store, a, b)
    assert [r["id"] for r in apps(store)] == [a]
    assert {r["application_id"] for r in store.rows("SELECT application_id FROM signals")} == {a}
    (c,) = put(store, msg("x3", sender="Nikhil <nikhil@detectco.com>", subject="onsite?"))
    assert c == a
    kinds = [r["kind"] for r in store.rows("SELECT kind FROM corrections")]
    assert kinds == ["merge"]
    with pytest.raises(CorrectionError):
        merge_applications(store, a, a)


def test_split_pins_messages_and_replies_follow(store: Store) -> None:
    ids = put(
        store,
        msg("y1", sender="Jo <jo@acme.io>", subject="Acme – Data Engineer"),
        msg("y2", sender="Jo <jo@acme.io>", subject="coffee?"),
    )
    assert ids[0] == ids[1]
    y2 = store.rows("SELECT key FROM messages WHERE message_id = '<y2@test>'")[0]["key"]
    new = split_application(store, ids[0], [y2], role="Platform Engineer")
    assert new != ids[0]
    # Processing the same message again (a re-run) keeps it where the user put it.
    store.db.execute("UPDATE messages SET application_id = NULL WHERE key = ?", [y2])
    put(store, msg("y2", sender="Jo <jo@acme.io>", subject="coffee?"))
    assert store.rows("SELECT application_id FROM messages WHERE key = ?", [y2])[0]["application_id"] == new
    (reply,) = put(store, msg("y3", sender="Jo <jo@acme.io>", subject="Re: coffee?", irt="y2"))
    assert reply == new
    every = [r["key"] for r in store.rows("SELECT key FROM messages WHERE application_id = ?", [new])]
    with pytest.raises(CorrectionError):
        split_application(store, new, every)  # every message: rename instead


def test_rename_is_kept_and_close_sets_the_stage(store: Store) -> None:
    (a,) = put(store, msg("w1", out=True, to="Lena <lena@oakridgelabs.io>", subject="Salary expectations"))
    rename_application(store, a, company="Oakridge Labs GmbH", role="Staff Data Engineer")
    put(store, msg("w2", sender="Dana <dana@oakridgelabs.io>", subject="Hello from Oakridge Labs – Principal Engineer"))
    row = apps(store)[0]
    assert (row["company"], row["role"]) == ("Oakridge Labs GmbH", "Staff Data Engineer")
    close_application(store, a, stage="withdrawn")
    row = apps(store)[0]
    assert row["closed"] == 1 and row["stage"] == "withdrawn"
    close_application(store, a, reopen=True)
    assert apps(store)[0]["stage"] != "withdrawn"
    with pytest.raises(CorrectionError):
        close_application(store, a, stage="maybe")
    payloads = [json.loads(r["payload"]) for r in store.rows("SELECT payload FROM corrections")]
    assert payloads[0]["company"] == "Oakridge Labs GmbH"


# -- who may join an application (issue 15: lookalike linking) -----------------------------------

def _ties(store: Store) -> dict[str, str]:
    return {r["message_id"]: r["sender_tie"] for r in store.rows("SELECT message_id, sender_tie FROM messages")}


def _offer_then(store: Store, *later) -> list[int | None]:
    from helpers_apps import at

    return put(
        store,
        msg("o1", sender="Dana <dana@lumenfield.io>", subject="Lumenfield | Senior Backend Engineer",
            date=at("2026-10-01 10:00"), signals=("interview_request",)),
        msg("o2", sender="Dana <dana@lumenfield.io>", subject="Your offer from Lumenfield", date=at("2026-10-14 10:00"),
            signals=("offer",)),
        *later,
    )


def test_a_spoofed_rejection_from_a_lookalike_domain_does_not_touch_the_offer(store: Store) -> None:
    from helpers_apps import at
    from offerwatch.models.timeline import assess

    ids = _offer_then(store, msg("s1", sender="Lumenfield Careers <careers@lumenfield-careers.com>",
                                 subject="Your application at Lumenfield", date=at("2026-10-15 10:00"), signals=("rejection",)))
    assess(store, None, now=at("2026-10-16 10:00"))
    offer_app = next(a for a in apps(store) if a["id"] == ids[0])
    assert ids[2] != ids[0]
    assert offer_app["stage"] == "offer" and offer_app["outlook"] >= 90
    spoof_app = next(a for a in apps(store) if a["id"] == ids[2])
    assert f"names #{ids[0]} Lumenfield" in spoof_app["link_reason"]
    assert f"offerwatch apps merge {ids[0]} {ids[2]}" in spoof_app["link_reason"]
    assert _ties(store)["<s1@test>"] == "none" and _ties(store)["<o2@test>"] == "contact"


def test_a_free_mail_stranger_naming_the_company_starts_its_own_application(store: Store) -> None:
    ids = _offer_then(store, msg("s2", sender="Lumenfield HR <lumenfield.hr@gmail.com>", subject="Lumenfield - update",
                                 signals=("rejection",)))
    assert ids[2] != ids[0]
    assert _ties(store)["<s2@test>"] == "none"


@pytest.mark.parametrize("later,tie", [
    (msg("j1", sender="Lumenfield via Greenhouse <no-reply@greenhouse.io>", subject="Interview for Senior Backend Engineer at Lumenfield"), "ats"),
    (msg("j2", sender="Priya <priya@lumenfield.io>", subject="Next steps with Lumenfield"), "domain"),
    (msg("j3", sender="Dana <dana@lumenfield.io>", subject="a new subject"), "contact"),
    (msg("j4", sender="Sam <sam@recruiting-partner.com>", subject="Re: Your offer from Lumenfield", irt="o2"), "thread"),
    (msg("j5", out=True, to="Sam Okoro <sam.hr@gmail.com>", subject="Questions about the offer from Lumenfield"), "own"),
    (msg("j6", sender="Tanya via DocuSign <dse@docusign.net>", subject="Please DocuSign: Lumenfield Offer Letter"), "ats"),
], ids=["its ATS", "its own domain", "a known contact", "the thread", "your own mail", "an e-signature service"])
def test_the_company_its_ats_the_thread_a_contact_or_you_join(store: Store, later, tie: str) -> None:
    ids = _offer_then(store, later)
    assert ids[2] == ids[0]
    assert _ties(store)[later.message_id] == tie


def test_a_known_contact_writing_from_free_mail_joins(store: Store) -> None:
    ids = put(
        store,
        msg("k1", out=True, to="Priya <priya.lumen@gmail.com>", subject="Lumenfield - Senior Backend Engineer"),
        msg("k2", sender="Priya <priya.lumen@gmail.com>", subject="Lumenfield: quick call tomorrow?"),
    )
    assert ids[0] == ids[1] and _ties(store)["<k2@test>"] == "contact"


def test_a_signature_line_that_looks_like_a_company_does_not_mark_a_sender(store: Store) -> None:
    """train-corporate corp044/053: an application misnamed "Kind regards" (read from a signature)
    must neither pull another company's mail in nor make that mail look unverified."""
    junk = store.create_application("Kind regards", None, "new: company from signature")
    (thornbury,) = put(store, msg("r2", sender="Claire <claire@thornburyhale.com>", subject="Thornbury Hale - invitation to interview",
                                  signature="Kind regards\nClaire\nThornbury Hale LLP"))
    assert thornbury != junk
    assert _ties(store)["<r2@test>"] == "domain"


def test_the_digest_marks_a_sender_it_cannot_tie_to_the_company(store: Store) -> None:
    from zoneinfo import ZoneInfo

    from helpers_apps import at
    from offerwatch.daemon.digest.build import UNVERIFIED_NOTE, build_digest
    from offerwatch.daemon.digest.render import build_message
    from offerwatch.models.timeline import assess

    _offer_then(store, msg("s3", sender="Lumenfield Careers <careers@lumenfield-careers.com>",
                           subject="Your application at Lumenfield", date=at("2026-10-15 10:00"), signals=("rejection",)))
    now = at("2026-10-16 10:00")
    assess(store, None, now=now)
    digest = build_digest(store, now=now, tz=ZoneInfo("America/Chicago"), since=at("2026-09-30 00:00"))
    views = [s for group in digest.new_signals for s in group.signals]
    marked = {s.type: s.unverified for s in views}
    assert marked["rejection"] is True and marked["offer"] is False
    rejection = next(s for s in views if s.type == "rejection")
    assert rejection.sender.endswith(UNVERIFIED_NOTE)
    msg_ = build_message(digest, sender="me@example.com", to="me@example.com")
    for part in ("plain", "html"):
        body = msg_.get_body((part,))
        assert body is not None and UNVERIFIED_NOTE.replace("'", "&#39;" if part == "html" else "'") in body.get_content()


def test_applications_by_correspondent_and_domain_are_what_the_plain_query_finds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """_apps_where seeks one index entry per application instead of reading every message of a
    company; it must find exactly what SELECT DISTINCT found, the message itself set aside."""
    import dataclasses
    from pathlib import Path

    from offerwatch.extractors.pipeline import Owner, analyze_many
    from offerwatch.models.domain import Location
    from offerwatch.models.linking import _apps_where, link_message

    demo = sorted((Path(__file__).resolve().parents[1] / "daemon" / "demo_mailbox").glob("*.eml"))
    analyses = list(analyze_many([f.read_bytes() for f in demo], owner=Owner.of(("sam.okafor@example.net",))))
    store = Store.open(tmp_path / "apps.db")

    lookups = [(("counterpart",), ""), (("counterpart_domain",), ""), (("counterpart", "subject_key"), ""),
               (("sender_name",), " AND direction = 'in'")]

    def compare() -> tuple[int, int]:
        found = alone = 0
        keys = [r[0] for r in store.db.execute("SELECT key FROM messages WHERE is_job = 1")]
        for columns, extra in lookups:
            listed = ", ".join(columns)
            where = " AND ".join(f"{c} = ?" for c in columns) + extra
            values = store.db.execute(f"SELECT DISTINCT {listed} FROM messages WHERE {columns[-1]} IS NOT NULL{extra}").fetchall()
            assert values, columns
            for value in values:
                for key in keys:
                    plain = {int(r[0]) for r in store.db.execute(
                        f"SELECT DISTINCT application_id FROM messages WHERE {where} AND application_id IS NOT NULL "
                        "AND key != ?", [*value, key])}
                    every = {int(r[0]) for r in store.db.execute(
                        f"SELECT DISTINCT application_id FROM messages WHERE {where} AND application_id IS NOT NULL",
                        list(value))}
                    assert _apps_where(store, dict(zip(columns, value, strict=True)), key) == plain, (columns, value, key)
                    found += bool(plain)
                    alone += plain != every  # the message was its application's only one here
        return found, alone

    items = [(Location("a", "INBOX", 1, i, str(i)), a) for i, a in enumerate(analyses, 1)]
    store.write_batch("a", "INBOX", 1, items, last_uid=len(items), linker=link_message)
    found, alone = compare()
    assert found > 100 and alone > 0  # both ways of the message setting itself aside are covered
    # the same mail again under new ids: companies with many messages, as in a long history
    again = [(Location("a", "INBOX", 1, i, str(i)), dataclasses.replace(a, message_id=f"<again{i}@x.example>"))
             for i, (_, a) in enumerate(items, len(items) + 1)]
    store.write_batch("a", "INBOX", 1, again, last_uid=2 * len(items), linker=link_message)
    assert compare()[0] > found
    with pytest.raises(ValueError):
        _apps_where(store, {"subject": "x"}, "k")
    store.close()


def test_contacts_and_company_domains_are_what_reading_every_message_finds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """_apps_by_contact_name and _app_domains skip from one name or domain to the next over an
    index instead of reading every job message; they must find what that read found."""
    import dataclasses
    import re
    from pathlib import Path

    from offerwatch.extractors.pipeline import Owner, analyze_many
    from offerwatch.models.domain import Location
    from offerwatch.models.linking import (
        _app_domains,
        _apps_by_contact_name,
        _contact_name,
        is_company_domain,
        link_message,
        registrable_domain,
    )

    demo = sorted((Path(__file__).resolve().parents[1] / "daemon" / "demo_mailbox").glob("*.eml"))
    analyses = list(analyze_many([f.read_bytes() for f in demo], owner=Owner.of(("sam.okafor@example.net",))))
    store = Store.open(tmp_path / "contacts.db")

    def plain(a, key: str) -> set[int]:  # type: ignore[no-untyped-def]
        hay = f"{a.subject}\n{(a.text or '')[:3000]}"
        found = set()
        for app_id, stored in store.db.execute(
                "SELECT DISTINCT application_id, sender_name FROM messages WHERE application_id IS NOT NULL "
                "AND direction = 'in' AND sender_name IS NOT NULL AND key != ?", [key]).fetchall():
            name = _contact_name(str(stored))
            if name and re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", hay):
                found.add(int(app_id))
        return found

    named = 0
    for round_ in range(2):
        items = [(Location("a", "INBOX", 1, i, str(i)), dataclasses.replace(a, message_id=f"<r{round_}m{i}@x.example>"))
                 for i, a in enumerate(analyses, 1 + round_ * len(analyses))]
        store.write_batch("a", "INBOX", 1, items, last_uid=items[-1][0].uid, linker=link_message)
        for _, a in items:
            # every message, not only a scheduler's: more messages name a contact
            ids, names = _apps_by_contact_name(store, a, a.key)
            assert ids == plain(a, a.key), a.subject
            assert bool(ids) == bool(names)
            named += bool(ids)
        # and each application's company domains, read per domain: what reading every message gives
        every: dict[int, set[str]] = {}
        for app_id, domain in store.db.execute("SELECT DISTINCT application_id, counterpart_domain FROM messages "
                                               "WHERE counterpart_domain IS NOT NULL AND application_id IS NOT NULL"):
            if is_company_domain("x@" + domain):
                every.setdefault(int(app_id), set()).add(registrable_domain("x@" + domain))
        assert _app_domains(store) == every and len(every) >= 5
    assert named >= 2  # the demo's scheduler mail names its contact, in both rounds
    store.close()
