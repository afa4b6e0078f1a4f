"""Seven mornings of a real job search: news is news (issue 11).

The dev corpus (../shared/corpus/dev, one job search, 200 messages) arrives as its Date headers
say over the week of Mon 19 - Sun 25 Oct 2026, with three hand-written mails of one more
application (Alderstack: the user answers on Fri 9 Oct, silence crosses 7 business days on
Tue 20 Oct, the recruiter writes again on Thu 22 Oct). Everything older is read on the Sunday
evening; then each day's mail is read at noon and at midnight by the real pipeline (parse,
classify, extract, link, assess), the corpus's undated message on the Wednesday. Each morning
at 07:31 the service's digest job (`run_due_digest`) delivers one digest through the file
channel; the clock is moved by the ``now`` the job and the assessment take and by the store's
clock, which stamps when mail was read. Then the seven delivered files are read as the user
reads them:

* every signal is new in exactly one digest: none in two, and each signal read after the first
  digest in one of the later ones;
* no application is "going quiet" on two mornings for the same last contact (so never two
  mornings running without new mail between), and a crossing during the week is shown once;
* the pipeline lists active applications only, at most Limits.pipeline (6) with "and N more"; ghosted and long
  silent ones are on one "gone cold" line, never in the pipeline or "going quiet".
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from mailfactory import message

from digest_data import DEV_OWNER
from offerwatch.daemon.commands import assess_config_from
from offerwatch.daemon.config import Config, DigestConfig
from offerwatch.daemon.digest.build import TYPE_LABELS, Limits, trim
from offerwatch.daemon.digest.job import run_due_digest
from offerwatch.daemon.sources.local import EmlFolderSource, message_date
from offerwatch.daemon.sync import SyncEngine, assess_applications
from offerwatch.daemon.textsafe import clean_text
from offerwatch.extractors.pipeline import Owner
from offerwatch.models.humandate import HumanDates
from offerwatch.models.store import Store

TZ = ZoneInfo("America/Chicago")
MONDAY = datetime(2026, 10, 19, tzinfo=TZ)
DAYS = 7


def _alderstack() -> list[tuple[str, bytes]]:
    """One more application, written for this test: its silence crosses the threshold mid-week."""
    def when(day: int, hour: int) -> datetime:
        return datetime(2026, 10, day, hour, 0, tzinfo=timezone.utc)

    recruiter, me = "Priya Nair <priya.nair@alderstack.example>", f"Maya Lindqvist <{DEV_OWNER}>"
    first = "<screen.1@alderstack.example>"
    return [
        ("alder-1.eml", message(
            "Hi Maya,\n\nThanks for your time on the phone today for the Data Engineer role at Alderstack. "
            "I'll share my notes with the hiring team and get back to you about next steps.\n\nBest,\nPriya Nair\n"
            "Talent Acquisition, Alderstack",
            subject="Data Engineer at Alderstack - next steps", sender=recruiter, to=me, date=when(6, 15), msgid=first)),
        ("alder-2.eml", message(
            "Hi Priya,\n\nThank you, I enjoyed our conversation and I'm very interested in the role. "
            "Looking forward to hearing from you.\n\nBest,\nMaya",
            subject="Re: Data Engineer at Alderstack - next steps", sender=me, to=recruiter, date=when(9, 16),
            msgid="<reply.2@gmail.example>", in_reply_to=first, references=first)),
        ("alder-3.eml", message(
            "Hi Maya,\n\nA quick update: the hiring team is still reviewing candidates for the Data Engineer role. "
            "I will have feedback for you next week.\n\nBest,\nPriya",
            subject="Re: Data Engineer at Alderstack - next steps", sender=recruiter, to=me, date=when(22, 16),
            msgid="<update.3@alderstack.example>", in_reply_to="<reply.2@gmail.example>",
            references=f"{first} <reply.2@gmail.example>")),
    ]


@dataclass
class Week:
    texts: list[str]  # the delivered digests' text parts, Monday first
    htmls: list[str]  # and their HTML parts (the file channel writes the whole .eml)
    store: Store
    first_sent: str  # when the first digest was sent (UTC ISO, as stored)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Week:
    from conftest import DEV_CORPUS, need_folder

    corpus = need_folder(DEV_CORPUS)
    tmp = tmp_path_factory.mktemp("week")
    arrivals: list[tuple[datetime, str, bytes]] = []
    undated: list[tuple[str, bytes]] = []
    for path in sorted(corpus.glob("m*.eml")):
        data = path.read_bytes()
        when = message_date(data)
        (arrivals.append((when, path.name, data)) if when else undated.append((path.name, data)))
    for name, data in _alderstack():
        when = message_date(data)
        assert when is not None
        arrivals.append((when, name, data))
    arrivals.sort(key=lambda a: (a[0], a[1]))
    assert undated, "the dev corpus has an undated message"

    inbox = tmp / "mail"
    inbox.mkdir()
    seq = 0

    def deliver_mail(name: str, data: bytes) -> None:
        nonlocal seq
        seq += 1  # file names in arrival order: the folder source's UIDs follow them
        (inbox / f"{seq:04d}-{name}").write_bytes(data)

    def arrive(until: datetime) -> None:
        while arrivals and arrivals[0][0] <= until:
            _, name, data = arrivals.pop(0)
            deliver_mail(name, data)

    config = Config(
        identity_addresses=(DEV_OWNER,),
        digest=DigestConfig(time=time(7, 30), timezone="America/Chicago", channel="file",
                            file_path=str(tmp / "digests" / "offerwatch-{date}.eml")),
    )
    store = Store.open(tmp / "o.db")
    owner = Owner.of([DEV_OWNER])

    def read_mail(now: datetime) -> None:
        store.clock = lambda: now
        report = SyncEngine(store, owner).run(EmlFolderSource(inbox))
        assess_applications(store, report.applications, now=now, config=assess_config_from(config))

    sunday = MONDAY - timedelta(hours=3)
    arrive(sunday)
    read_mail(sunday)
    for day in range(DAYS):
        morning = MONDAY + timedelta(days=day, hours=7, minutes=31)
        store.clock = lambda at=morning: at
        result = run_due_digest(store, config, now=morning)
        assert result is not None and result.status == "sent", result
        if day == 2:
            for name, data in undated:
                deliver_mail(name, data)
        for hour in (12, 23):
            now = MONDAY + timedelta(days=day, hours=hour, minutes=59)
            arrive(now)
            read_mail(now)
    files = sorted((tmp / "digests").iterdir())
    assert [f.name for f in files] == [f"offerwatch-{(MONDAY + timedelta(days=d)).date()}.eml" for d in range(DAYS)]
    ledger = store.rows("SELECT for_date, status, sent_at FROM digests ORDER BY for_date")
    assert [r["status"] for r in ledger] == ["sent"] * DAYS
    shutil.copytree(tmp / "digests", Path(__file__).resolve().parents[1] / "test-artifacts" / "digest-week", dirs_exist_ok=True)
    mails = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
    yield Week([_part(m, "plain") for m in mails], [_part(m, "html") for m in mails], store, str(ledger[0]["sent_at"]))
    store.close()


# -- reading a delivered digest ----------------------------------------------------------------

def _part(mail: email.message.Message, kind: str) -> str:
    body = mail.get_body(preferencelist=(kind,))  # type: ignore[attr-defined]
    assert body is not None, f"the digest has no {kind} part"
    return str(body.get_content())


_HEADERS = ("NEEDS YOUR ATTENTION", "NEW SIGNALS", "GOING QUIET", "PIPELINE")


def section(text: str, name: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(name) + 1
    ends = [i for i, line in enumerate(lines) if i >= start and (line in _HEADERS or line == "--")]
    return lines[start: ends[0] if ends else len(lines)]


_SIGNAL = re.compile(r"^  (?:\+{1,3}|-{1,3}|·) (?P<label>.+?)(?: · (?P<when>\w{3} \d{1,2} \w{3}))?$")


def new_signals(text: str, *, complete: bool = True) -> list[tuple[str, str, str]]:
    """(label, day, evidence) of every signal in "New signals"; ``complete``: fail if a limit left any out."""
    lines = section(text, "NEW SIGNALS")
    cut = [line for line in lines if re.match(r"^\s*\.\.\. and \d+ more", line)]
    assert not (complete and cut), f"a limit cut the list: {cut}"
    out = []
    for i, line in enumerate(lines):
        m = _SIGNAL.match(line)
        if m:
            follow = lines[i + 1] if i + 1 < len(lines) else ""
            evidence = follow.strip()[1:-1] if follow.startswith('    "') else ""
            out.append((m["label"], m["when"] or "", evidence))
    return out


def quiet_items(text: str) -> list[tuple[str, str]]:
    """(application, last contact) of every "going quiet" item."""
    out = []
    for line in section(text, "GOING QUIET"):
        m = re.match(r"^\* (?P<title>.+): \d+ days since the last contact \((?P<last>[^)]*)\)$", line)
        if m:
            out.append((m["title"], m["last"]))
    return out


def pipeline(text: str) -> tuple[list[tuple[str, str]], int]:
    """(application, stage) of every pipeline row, and the "and N more" count."""
    lines = section(text, "PIPELINE")
    rows = [(line[2:], lines[i + 1].strip().split(" · ")[0]) for i, line in enumerate(lines) if line.startswith("* ")]
    more = next((int(m[1]) for line in lines if (m := re.match(r"^\.\.\. and (\d+) more active application", line))), 0)
    return rows, more


def cold_companies(text: str) -> list[str]:
    line = next((x for x in section(text, "GOING QUIET") if " gone cold: " in x), "")
    return re.findall(r"(?:: |, )(.+?) \(#\d+\)", line)


# -- the week ----------------------------------------------------------------------------------

def test_every_signal_is_new_in_exactly_one_digest(week: Week) -> None:
    # the first digest covers the backfilled week before (cut at the limits); the others are complete
    shown = [new_signals(t, complete=day > 0) for day, t in enumerate(week.texts)]
    seen: dict[tuple[str, str, str], int] = {}
    for day, items in enumerate(shown):
        for item in items:
            assert item not in seen, f"{item} was new on day {seen[item] + 1} and again on day {day + 1}"
            seen[item] = day
    assert sum(map(len, shown[1:])) >= 10, "mail arrived every weekday: the later digests have news"
    # every signal read after the first digest is in one of the later digests
    read_later = week.store.rows(
        "SELECT type, evidence, at FROM signals WHERE application_id IS NOT NULL AND type != 'silence' "
        "AND dismissed = 0 AND created_at > ?", [week.first_sent])
    assert len(read_later) >= 10
    dates = HumanDates(TZ, MONDAY.date())  # the digest's style: stored date tokens rendered, its zone's days
    for s in read_later:
        item = (TYPE_LABELS[s["type"]], dates.day(s["at"], missing=""), trim(clean_text(dates.text(s["evidence"])), Limits().evidence_chars))
        assert item in seen and seen[item] >= 1, f"{item} never shown as new"


def test_the_undated_message_is_news_once(week: Week) -> None:
    undated = [item for t in week.texts[1:] for item in new_signals(t) if item[1] == ""]
    assert undated and len(undated) == len(set(undated))


def test_no_application_goes_quiet_twice_for_the_same_last_contact(week: Week) -> None:
    quiet = [quiet_items(t) for t in week.texts]
    told: dict[tuple[str, str], int] = {}
    for day, items in enumerate(quiet):
        for item in items:
            assert item not in told, f"{item} was going quiet on day {told[item] + 1} and again on day {day + 1}"
            told[item] = day
    for day in range(1, DAYS):  # the words: never two days running without a change
        assert not {t for t, _ in quiet[day]} & {t for t, _ in quiet[day - 1]}
    # the crossing during the week is told on its morning and not again, and the new mail that
    # ended it made no second item
    alder = [day for day, items in enumerate(quiet) for title, _ in items if title.startswith("Alderstack")]
    assert alder == [1], quiet
    assert week.store.rows("SELECT q.for_date FROM quiet_shown q JOIN applications a ON a.id = q.application_id "
                           "WHERE a.company LIKE 'Alderstack%'") == [{"for_date": "2026-10-20"}]
    assert quiet[0], "the first digest tells what was already quiet"


def test_the_pipeline_is_active_applications_capped_and_cold_ones_are_one_line(week: Week) -> None:
    for text in week.texts:
        rows, more = pipeline(text)
        active = int(re.search(r"· (\d+) active application", text)[1])  # type: ignore[index]
        assert len(rows) <= Limits().pipeline and len(rows) + more == active
        assert not [r for r in rows if r[1] in ("Ghosted", "Rejected", "Withdrawn")], rows
        cold = cold_companies(text)
        assert cold, "the corpus has applications silent since the summer"
        titles = [t for t, _ in rows] + [t for t, _ in quiet_items(text)]
        assert not [t for t in titles for c in cold if t == c or t.startswith(f"{c} — ")], (titles, cold)
    assert re.search(r"\n\d+ applications gone cold: ", week.texts[-1])


# -- on a phone -------------------------------------------------------------------------------

#: A 375 px wide phone's screen in CSS pixels (iPhone X to 13 mini; the SE is 667 tall).
PHONE_WIDTH, PHONE_HEIGHT = 375, 812


@pytest.mark.integration
def test_a_typical_days_html_digest_fits_two_phone_screens(week: Week, tmp_path: Path) -> None:
    """Every day's HTML digest lays out at 375 px without sideways scrolling, and a typical
    day's (the median of the six after the first, which carries a fresh install's backlog)
    is at most two screens tall, measured in headless Chromium. The heights and the typical
    day's screenshot go to test-artifacts/digest-week/."""
    import json

    from test_digest_chromium import check_layout, find_chromium, measure, run_chromium

    chromium = find_chromium()
    heights = []
    for html in week.htmls:
        result = measure(chromium, tmp_path, html, PHONE_WIDTH)
        check_layout(result, PHONE_WIDTH)
        heights.append(int(result["height"]))
    later = sorted(heights[1:])
    typical = (later[2] + later[3]) / 2
    out = Path(__file__).resolve().parents[1] / "test-artifacts" / "digest-week"
    out.mkdir(parents=True, exist_ok=True)
    (out / "phone-heights.json").write_text(json.dumps({"width": PHONE_WIDTH, "screen": PHONE_HEIGHT,
                                                        "heights": heights, "typical": typical}))
    day = heights.index(min(heights[1:], key=lambda h: abs(h - typical)))
    page = tmp_path / "typical.html"
    page.write_text(week.htmls[day], encoding="utf-8")
    shot = out / f"phone-typical-day{day}.png"
    run_chromium(chromium, tmp_path / "profile-shot", PHONE_WIDTH, page.as_uri(), f"--screenshot={shot}")
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert typical <= 2 * PHONE_HEIGHT, f"a typical day is {typical:.0f} px tall at {PHONE_WIDTH} px: {heights}"
