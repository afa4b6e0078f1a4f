"""The digest says what needs attention with the seed's advice, what is new with evidence and
links, who went quiet and where every open application stands, for the period since the last
digest, bounded however much mail there is."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from digest_data import (
    add_silence,
    LONG,
    NOW,
    TZ,
    at,
    hostile_store,
    message,
    sample_store,
    set_app,
    write,
)
from offerwatch.daemon.digest import build
from offerwatch.daemon.digest.build import Limits, build_digest, clean_text, make_subject, message_link, trim
from offerwatch.models.domain import Direction, Salary


@pytest.fixture
def sample():
    store, ids = sample_store()
    yield store, ids
    store.close()


def test_subject_counts_actions_and_quiet_with_the_local_day(sample) -> None:
    store, _ = sample
    d = build_digest(store, now=NOW, tz=TZ)
    assert d.subject == "offerwatch: 3 to act on, 1 going quiet — Tue 1 Dec"
    assert d.for_date.isoformat() == "2026-12-01"
    assert d.first and (d.period_end - d.period_start) == timedelta(days=7)


def test_subject_variants() -> None:
    day = NOW.date()
    assert make_subject(2, 1, 9, day) == "offerwatch: 2 to act on, 1 going quiet — Tue 1 Dec"
    assert make_subject(0, 0, 1, day) == "offerwatch: 1 new signal — Tue 1 Dec"
    assert make_subject(0, 0, 0, day) == "offerwatch: nothing new — Tue 1 Dec"
    assert make_subject(1, 0, 3, day, offers=1) == "offerwatch: 1 offer, 1 to act on — Tue 1 Dec"


def test_actions_carry_the_seed_advice(sample) -> None:
    store, _ = sample
    d = build_digest(store, now=NOW, tz=TZ)
    by_company = {a.app.company: a for a in d.actions if a.open}
    salary = by_company["Northwind Analytics"]
    assert salary.kind == "salary"
    assert salary.salary is not None and salary.salary.stated == "$160k–$170k a year"
    assert salary.salary.stated_on == "Tue 10 Nov"
    assert "consistent" in salary.advice and "rescinded" in salary.advice
    hm = by_company["Quillstone"]
    assert hm.kind == "hiring_manager" and "pre-close" in hm.advice
    other = by_company["Kestrel Payments"]
    assert other.kind == "other_processes"
    assert "honestly" in other.advice and "deadline" in other.advice and "speed them up" in other.advice
    # the same message also offers the next round: one card, two pieces of advice
    assert [t for t, _ in other.also] == ["Next round offered"]
    assert "promptly" in other.also[0][1]
    # most pressing first: salary reconfirmation before the hiring manager before other processes
    assert [a.kind for a in d.actions if a.open] == ["salary", "hiring_manager", "other_processes"]


def test_an_answered_request_is_not_shown_and_the_count_is_the_cards_shown(sample) -> None:
    """Issue 11: "1 to act on" over three cards, two of them answered, contradicted itself."""
    store, _ = sample
    write(store, [message("Kestrel Payments", at(11, 28, 9), direction=Direction.OUT)])
    d = build_digest(store, now=NOW, tz=TZ)
    assert "Kestrel Payments" not in {a.app.company for a in d.actions}
    assert all(a.open for a in d.actions) and d.to_act_on == len(d.actions) == 2


def test_an_ask_before_a_hold_or_older_than_three_weeks_is_no_longer_open(sample) -> None:
    """Issue 11: the demo's first card asked to reply promptly about a role on hold since."""
    store, _ = sample
    write(store, [message("Kestrel Payments", at(11, 29, 9), [("role_on_hold", "The role is on hold for now.")])])
    d = build_digest(store, now=NOW, tz=TZ)
    assert "Kestrel Payments" not in {a.app.company for a in d.actions}
    assert d.to_act_on == len(d.actions)
    later = build_digest(store, now=NOW + timedelta(days=30), tz=TZ, since=NOW - timedelta(days=10))
    assert later.actions == () and later.to_act_on == 0


def test_a_later_request_supersedes_an_earlier_one(sample) -> None:
    store, _ = sample
    d = build_digest(store, now=NOW, tz=TZ)
    # Quillstone's first interview request (24 Nov) is outdated by the hiring manager's call (30 Nov)
    assert [a.kind for a in d.actions if a.app.company == "Quillstone"] == ["hiring_manager"]
    # an offer after a salary reconfirmation: one card, the offer, still recalling the stated figure
    write(store, [message("Northwind Analytics", at(11, 30, 16), [("offer", "We are pleased to offer you the position.")])])
    d = build_digest(store, now=NOW, tz=TZ)
    [card] = [a for a in d.actions if a.app.company == "Northwind Analytics"]
    assert card.kind == "offer" and card.salary is not None and card.salary.stated == "$160k–$170k a year"
    assert d.subject.startswith("offerwatch: 1 offer, 3 to act on")


def test_closed_applications_get_no_action_but_their_news(sample) -> None:
    store, _ = sample
    d = build_digest(store, now=NOW, tz=TZ)
    assert "Brightfield Marketing" not in {a.app.company for a in d.actions}
    group = next(g for g in d.new_signals if g.app.company == "Brightfield Marketing")
    assert [s.type for s in group.signals] == ["rejection"]
    assert "Brightfield Marketing" not in {p.app.company for p in d.pipeline}


def test_new_signals_quote_evidence_with_sender_and_a_link(sample) -> None:
    store, _ = sample
    d = build_digest(store, now=NOW, tz=TZ)
    group = next(g for g in d.new_signals if g.app.company == "Northwind Analytics")
    s = group.signals[0]
    assert s.type == "salary_reconfirm" and s.evidence.startswith("Are you still interested")
    assert s.sender == "Jenna Morales" and s.when == "Sat 28 Nov"
    # the owner writes from Gmail: links open Gmail's search by Message-ID
    assert s.link is not None and s.link.startswith("https://mail.google.com/mail/u/0/#search/rfc822msgid%3A")
    assert build_digest(store, now=NOW, tz=TZ, link_style="mid").new_signals[0].signals[0].link.startswith("mid:")


def test_message_links_are_made_from_the_message_id_only() -> None:
    assert message_link("<CAP+x=y@mail.gmail.com>", "gmail") == (
        "https://mail.google.com/mail/u/0/#search/rfc822msgid%3ACAP%2Bx%3Dy%40mail.gmail.com")
    assert message_link("<abc.123@example.org>", "mid") == "mid:abc.123@example.org"
    hostile = message_link('<"><script>alert(1)</script>@x>', "mid")
    assert hostile is not None and "<" not in hostile and '"' not in hostile and ">" not in hostile
    assert message_link("javascript:alert(1)", "mid") == "mid:javascript%3Aalert%281%29"
    assert message_link(None, "gmail") is None and message_link("<a b@c>", "gmail") is None


def test_going_quiet_lists_silence_with_days_since_last_contact(sample) -> None:
    store, _ = sample
    d = build_digest(store, now=NOW, tz=TZ)
    assert [(q.app.company, q.days, q.last_from) for q in d.quiet] == [("Meridian Freight", 19, "you")]
    assert "8 business days" in d.quiet[0].evidence


def test_silence_is_over_once_they_write_again(sample) -> None:
    store, ids = sample
    write(store, [message("Meridian Freight", at(11, 30, 9), [("keep_warm", "Quick update: still waiting on final feedback.")])])
    d = build_digest(store, now=NOW, tz=TZ)
    assert d.quiet == ()


def test_without_the_timeline_module_quiet_comes_from_who_wrote_last(sample, monkeypatch) -> None:
    store, ids = sample
    monkeypatch.setattr(build, "_timeline_module", lambda: None)
    # Oakridge: they wrote last (14 Oct): not "quiet" in this sense; make the user write last
    write(store, [message("Oakridge Labs", at(11, 16, 9), direction=Direction.OUT)])
    d = build_digest(store, now=NOW, tz=TZ)
    quiet = {q.app.company: q for q in d.quiet}
    assert "Oakridge Labs" in quiet and "business days" in quiet["Oakridge Labs"].evidence
    assert "Meridian Freight" in quiet


def test_pipeline_lists_open_applications_with_stage_outlook_trend_and_timeline(sample) -> None:
    store, _ = sample
    d = build_digest(store, now=NOW, tz=TZ)
    rows = {p.app.company: p for p in d.pipeline}
    # the three with an open ask first; Oakridge (no contact since 14 Oct, 34 business days) has gone cold
    assert [p.app.company for p in d.pipeline] == [
        "Northwind Analytics", "Quillstone", "Kestrel Payments", "Pixelforge Games", "Meridian Freight"]
    assert [(c.app.company, c.last_contact) for c in d.cold] == [("Oakridge Labs", "Wed 14 Oct")] and d.cold_count == 1
    nw = rows["Northwind Analytics"]
    assert (nw.app.stage_label, nw.app.outlook, nw.trend, nw.last_contact, nw.days_since) == (
        "Final round", 82, "up", "Sat 28 Nov", 3)
    assert rows["Pixelforge Games"].trend == "down"
    # hot applications get a 28-day strip; the salary day is a strong sign, the user's replies "you"
    assert len(nw.timeline) == 28 and nw.timeline[-1].day == NOW.date()
    kinds = {c.day.isoformat(): c.kind for c in nw.timeline}
    assert kinds["2026-11-28"] == "strong" and kinds["2026-11-21"] == "you" and kinds["2026-11-20"] == "positive"
    assert rows["Meridian Freight"].timeline == ()  # not hot: a low outlook and nothing good lately


def test_period_starts_at_the_last_digest_sent(sample) -> None:
    store, _ = sample
    store.db.execute("UPDATE signals SET created_at = at")  # each message was read when it arrived
    sent = datetime(2026, 11, 29, 7, 30, tzinfo=TZ)
    store.db.execute(
        "INSERT INTO digests(for_date, message_id, channel, status, created_at, sent_at) VALUES "
        "('2026-11-29', '<x@y>', 'smtp', 'sent', ?, ?)",
        [sent.isoformat(), sent.astimezone(timezone.utc).isoformat()],
    )
    d = build_digest(store, now=NOW, tz=TZ)
    assert not d.first and d.period_start == sent
    # only Pixelforge's postponement (29 Nov 18:00 UTC) and Quillstone's call (30 Nov) are new
    assert {g.app.company for g in d.new_signals} == {"Pixelforge Games", "Quillstone"}
    assert [a.app.company for a in d.actions if a.open] == ["Quillstone"]
    # --since overrides
    assert len(build_digest(store, now=NOW, tz=TZ, since=NOW - timedelta(days=30)).new_signals) == 6  # all but Oakridge (Oct)


def test_mail_that_arrived_late_is_not_lost_between_digests(sample) -> None:
    store, _ = sample
    store.db.execute("UPDATE signals SET created_at = at")
    sent = datetime(2026, 11, 30, 7, 30, tzinfo=TZ)
    store.db.execute(
        "INSERT INTO digests(for_date, message_id, channel, status, created_at, sent_at) VALUES ('2026-11-30', '<x@y>', 'smtp', 'sent', ?, ?)",
        [sent.isoformat(), sent.astimezone(timezone.utc).isoformat()],
    )
    # dated the evening before the last digest, read only now (the laptop slept)
    write(store, [message("Oakridge Labs", at(11, 29, 21), [("panel_invite", "We'd like to invite you to the final round onsite.")])])
    d = build_digest(store, now=NOW, tz=TZ)
    assert "Oakridge Labs" in {g.app.company for g in d.new_signals}


def test_dismissed_signals_are_left_out(sample) -> None:
    store, _ = sample
    store.db.execute("UPDATE signals SET dismissed = 1 WHERE type = 'salary_reconfirm'")
    d = build_digest(store, now=NOW, tz=TZ)
    assert "salary" not in {a.kind for a in d.actions}


@pytest.mark.parametrize("with_timeline", [True, False])
def test_salary_jump_after_the_reconfirmation_is_flagged(sample, monkeypatch, with_timeline: bool) -> None:
    store, _ = sample
    if not with_timeline:  # the digest's own reading of the salaries table
        monkeypatch.setattr(build, "_timeline_module", lambda: None)
    write(store, [message("Northwind Analytics", at(11, 29, 9), direction=Direction.OUT,
                          salaries=[Salary(190000, 190000, "USD", "year", "$190k")])])
    d = build_digest(store, now=NOW, tz=TZ)
    salary = next(a for a in d.actions if a.kind == "salary")
    assert salary.salary is not None
    assert (salary.salary.stated, salary.salary.stated_on) == ("$160k–$170k a year", "Tue 10 Nov")
    # midpoints: $165k -> $190k is +15%, above the 10% threshold
    assert (salary.salary.later, salary.salary.jump_percent, salary.salary.jump) == ("$190k a year", 15, True)


def test_salary_without_a_stated_figure_says_so(sample) -> None:
    store, ids = sample
    store.db.execute("DELETE FROM salaries")
    d = build_digest(store, now=NOW, tz=TZ)
    salary = next(a for a in d.actions if a.kind == "salary")
    assert salary.salary is not None and salary.salary.stated is None


def test_nothing_happened_is_an_empty_digest(tmp_path) -> None:
    from offerwatch.models.store import Store

    with Store.open(tmp_path / "x.db") as store:
        ids = write(store, [message("Oldco", at(9, 1), [("keep_warm", "Still wrapping up interviews.")])])
        set_app(store, ids["Oldco"], stage="interviewing", outlook=50)
        d = build_digest(store, now=NOW, tz=TZ)
    assert d.empty and d.subject == "offerwatch: nothing new — Tue 1 Dec"
    # no contact since 1 Sep: gone cold, counted on its line, not a pipeline row (issue 11)
    assert d.pipeline == () and [c.app.company for c in d.cold] == ["Oldco"]


def test_500_signals_stay_bounded() -> None:
    store, ids = hostile_store(many=500)
    try:
        limits = Limits()
        d = build_digest(store, now=NOW, tz=TZ, limits=limits)
    finally:
        store.close()
    busy = next(g for g in d.new_signals if g.app.company == "Busy Co") if any(
        g.app.company == "Busy Co" for g in d.new_signals) else None
    assert len(d.actions) <= limits.actions
    assert len(d.new_signals) <= limits.applications
    assert all(len(g.signals) <= limits.signals_per_app for g in d.new_signals)
    assert d.signal_count > 500
    # Busy Co's 500 signals are one action and (if shown) 4 signals "and 496 more"
    assert sum(1 for a in d.actions if a.app.company == "Busy Co") <= 1
    if busy is not None:
        assert busy.more == 500 - len(busy.signals)
    # every application with news is either shown or counted
    with_news = {g.app.company for g in d.new_signals}
    assert len(with_news) + d.new_signals_more == 9  # 5 of the sample, 3 hostile, Busy Co
    store, _ = hostile_store(many=50)
    try:
        small = build_digest(store, now=NOW, tz=TZ, limits=Limits(applications=3, actions=2, pipeline=4))
    finally:
        store.close()
    assert len(small.new_signals) == 3 and small.new_signals_more == 6
    assert len(small.actions) == 2 and small.actions_more > 0
    assert len(small.pipeline) == 4 and small.pipeline_more > 0


def test_long_evidence_is_trimmed_with_an_ellipsis() -> None:
    store, _ = hostile_store(many=1)
    try:
        d = build_digest(store, now=NOW, tz=TZ)
    finally:
        store.close()
    s = next(s for g in d.new_signals for s in g.signals if s.evidence.startswith("We would like to move forward"))
    assert len(LONG) == 10000 and len(s.evidence) <= Limits().evidence_chars and s.evidence.endswith("…")


def test_trim_and_clean_text() -> None:
    assert trim("short", 10) == "short"
    out = trim("word " * 100, 50)
    assert len(out) <= 50 and out.endswith("…") and not out.endswith(" …")
    assert trim("x" * 100, 10) == "x" * 9 + "…"
    # an emoji sequence is not cut in half
    assert not trim("a" * 8 + "👩\u200d💻" * 3, 10).rstrip("…").endswith("\u200d")
    # the whole escape sequence goes, not only its ESC (issue 15: one function for every output)
    assert clean_text("a\u202eevil\u202c b\x00c\x1b[31m  d\n\te") == "aevil b c d e"
    assert clean_text(None) == ""


def test_the_trend_follows_the_latest_news_not_the_sum_of_the_period(sample) -> None:
    """Issue 11: good news in the first weeks and silence since read "Ghosted" and "▲ warming"."""
    store, _ = sample
    ids = write(store, [message("Lindenhall", at(11, 20, 9), [("interview_request", "Could you send times?"),
                                                             ("other_process_inquiry", "Interviewing elsewhere?")]),
                        message("Lindenhall", at(11, 21, 9), [("keep_warm", "Still deciding, thanks for your patience.")])])
    add_silence(store, ids["Lindenhall"], at(11, 30, 9), "No word from them for 7 business days.")
    rows = {r.app.company: r for r in build_digest(store, now=NOW, tz=TZ, since=at(11, 15)).pipeline}
    assert rows["Lindenhall"].trend == "down"
