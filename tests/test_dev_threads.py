"""The dev corpus's 41 stories (threads.md) become 41 applications (+ the agency one) with the stages,
message counts and derived signals threads.md gives; silence never fires where the owner has to answer.

Two replays: one feeds the labels (labels.jsonl) as the signals, so it tests linking and the timeline
alone; the other runs the real pipeline (parse, clean, classify, extract) as `offerwatch backfill` does.
The corpus lives beside the repository (../shared/corpus/dev); the tests skip where it is absent.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from offerwatch.models.domain import Analysis, Direction, Location, Salary, Signal
from offerwatch.models.linking import link_message
from offerwatch.models.store import Store
from offerwatch.models.timeline import AssessConfig, assess

CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/dev"
CFG = AssessConfig(timezone="America/Chicago")  # Maya lives in Chicago

#: threads.md's "Ends:" line, as a stage. "Silence" stories have gone quiet for 20+ business days by
#: the newest message (Nov 12), so they are ghosted; "declined by the owner" is withdrawn; the "open"
#: stories wait on a salary reconfirmation (final round).
EXPECTED_STAGE = {
    "Northwind Analytics": "offer", "Quillstone": "withdrawn", "Harborline Bank": "on_hold", "Pixelforge Games": "ghosted",
    "Tessellate AI": "offer", "St. Brigid Health": "rejected", "Brightfield Marketing Group": "rejected",
    "Corvid Security": "ghosted", "Fernhill Academy": "offer", "Meridian Freight": "ghosted", "Oakridge Labs": "withdrawn",
    "Vantablue Cloud": "rejected", "Kestrel Payments": "ghosted", "Ardent Robotics": "rejected", "Cobalt & Finch": "offer",
    "Driftwood Data": "final", "Greymoor Capital": "rejected", "Polaris Ledger": "withdrawn", "Nimbus Grid": "on_hold",
    "Quartzline": "rejected", "Lakeview Community College": "on_hold", "Sable Systems": "withdrawn",
    "Tidewater Mutual": "final", "Umbra Networks": "rejected", "Wrenfield Media": "rejected", "Yarrow Health": "offer",
    "Zephyr Mobility": "offer", "Juniper Sage Analytics": "on_hold", "Elmstead University": "on_hold",
    "Orchard Lane Health": "ghosted", "Bluefin Logistics": "rejected", "Copperbeam": "on_hold",
    "Halvorsen Therapeutics": "on_hold", "Kaimana Labs": "offer", "Brisa Fintech": "rejected", "Larkspur Bank": "rejected",
    "Fjordlight": "on_hold", "Helix Biosciences": "final", "Ridgeback Health": "offer", "Loomwork Studio": "offer",
    "Boreal Data": "rejected",
}
SILENCE = {"Pixelforge Games", "Corvid Security", "Kestrel Payments", "Meridian Freight", "Orchard Lane Health"}
NOT_SILENCE = {"Driftwood Data", "Tidewater Mutual", "Helix Biosciences"}
#: threads.md's next_round_fast cases; Northwind (screen Tue 9/22, onsite invite Wed 9/23), Fjordlight
#: (Fri -> Mon) and Sable (Fri -> Mon) also meet DESIGN.md's rule (within 2 business days of the previous
#: conversation, named in the invite itself), although threads.md does not list them.
FAST = {"Quillstone", "Kestrel Payments", "Fernhill Academy", "Halvorsen Therapeutics", "Cobalt & Finch"}
FAST_BY_RULE_TOO = {"Northwind Analytics", "Fjordlight", "Sable Systems"}
REPEATED_POSTPONED = {"Pixelforge Games", "Meridian Freight", "Sable Systems"}


def stories() -> dict[str, set[str]]:
    """Company -> message files, from threads.md's tables (the heading names the company)."""
    text = (CORPUS / "threads.md").read_text(encoding="utf-8")
    out: dict[str, set[str]] = {}
    for block in re.split(r"^## \d+\. ", text, flags=re.M)[1:]:
        head = block.splitlines()[0]
        company = re.sub(r"\s*\(.*$", "", head).strip()
        out[company] = set(re.findall(r"^\| (m\d{3})\.eml", block, flags=re.M))
    return out


def _need_corpus() -> None:
    if not (CORPUS / "threads.md").is_file():
        pytest.skip(f"{CORPUS} is absent: the shared corpora live beside the repository (../shared/corpus/dev)")


def _labeled_analyses() -> list[tuple[Location, Analysis]]:
    from offerwatch.extractors.clean import clean_reply
    from offerwatch.extractors.parse import parse_mail

    labels = {}
    for line in (CORPUS / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            labels[row["file"]] = row
    out = []
    for uid, path in enumerate(sorted(CORPUS.glob("*.eml")), start=1):
        lab = labels[path.name]
        parsed = parse_mail(path.read_bytes())
        cleaned = clean_reply(parsed.text)
        salaries: tuple[Salary, ...] = ()
        ent = (lab.get("entities") or {}).get("salary")
        if ent:
            lo, hi = ent.get("min", ent.get("amount")), ent.get("max", ent.get("amount"))
            salaries = (Salary(float(lo), float(hi), ent.get("currency"), ent.get("period", "year"), json.dumps(ent)),)
        a = Analysis(
            message_id=parsed.message_id, subject=parsed.subject, sender=parsed.sender, to=parsed.to, cc=parsed.cc,
            date=parsed.date, in_reply_to=parsed.in_reply_to, references=parsed.references,
            direction=Direction(lab["direction"]), is_job=lab["job"], job_reason="label", text=cleaned.text,
            signature=cleaned.signature, signals=tuple(Signal(t, "(label)", 0, 0, f"label.{t}") for t in lab["signals"]),
            events=tuple(parsed.events), salaries=salaries, headers=parsed.headers, content_hash=parsed.content_hash,
        )
        out.append((Location("dev", "INBOX", 1, uid, path.name), a))
    return out


def _newest(store: Store) -> datetime:
    """The replay's "now": the newest job message (a corpus replay must not use the wall clock)."""
    rows = store.rows("SELECT max(date) AS d FROM messages WHERE is_job = 1")
    return datetime.fromisoformat(rows[0]["d"]).astimezone(timezone.utc)


@pytest.fixture(scope="module")
def labeled() -> dict[str, dict]:
    _need_corpus()
    store = Store.open(None)
    items = _labeled_analyses()
    store.write_batch("dev", "INBOX", 1, items, last_uid=len(items), linker=link_message)
    assess(store, now=_newest(store), config=CFG)
    files = {loc.identity: loc.key[:4] for loc, _ in items}
    out = {}
    for a in store.rows("SELECT * FROM applications"):
        ids = [r["identity"] for r in store.rows(
            "SELECT l.identity FROM messages m JOIN locations l ON l.message_key = m.key WHERE m.application_id = ?", [a["id"]])]
        a["files"] = {files[i] for i in ids}
        a["derived"] = [r["type"] for r in store.rows("SELECT type FROM signals WHERE application_id = ? AND derived = 1", [a["id"]])]
        out[a["company"]] = a
    store.close()
    return out


def test_every_story_is_one_application_with_its_messages(labeled: dict[str, dict]) -> None:
    expected = stories()
    assert len(expected) == 41
    assert set(labeled) == set(expected) | {"Talentbridge Partners"}
    for company, files in expected.items():
        assert labeled[company]["files"] == files - {"m118"}, company  # m118 is private mail
    assert labeled["Talentbridge Partners"]["files"] == {"m195"} and labeled["Talentbridge Partners"]["agency"]


def test_every_story_ends_in_its_stage(labeled: dict[str, dict]) -> None:
    wrong = {c: (labeled[c]["stage"], s) for c, s in EXPECTED_STAGE.items() if labeled[c]["stage"] != s}
    assert not wrong, wrong


def test_derived_signals_match_threads_md(labeled: dict[str, dict]) -> None:
    silent = {c for c, a in labeled.items() if "silence" in a["derived"]}
    assert silent == SILENCE
    assert not silent & NOT_SILENCE
    fast = {c for c, a in labeled.items() if "next_round_fast" in a["derived"]}
    assert FAST <= fast and "Driftwood Data" not in fast
    assert fast - FAST == FAST_BY_RULE_TOO
    repeated = {c for c, a in labeled.items() if "postponed" in a["derived"]}
    assert repeated == REPEATED_POSTPONED


def test_salary_guards_of_the_corpus() -> None:
    _need_corpus()
    from offerwatch.models.timeline import salary_guard

    store = Store.open(None)
    items = _labeled_analyses()
    store.write_batch("dev", "INBOX", 1, items, last_uid=len(items), linker=link_message)
    ids = {a["company"]: a["id"] for a in store.rows("SELECT id, company FROM applications")}
    for company in ("Northwind Analytics", "Tessellate AI", "Oakridge Labs", "Brisa Fintech"):
        g = salary_guard(store, ids[company])
        assert g is not None and g.stated is not None and g.reconfirm_at is not None and not g.jump, company
        assert g.stated.at is not None and g.reconfirm_at > g.stated.at
    for company in ("Driftwood Data", "Tidewater Mutual", "Bluefin Logistics", "Helix Biosciences"):
        g = salary_guard(store, ids[company])
        assert g is not None and g.stated is None and g.reconfirm_at is not None, company
    store.close()


def test_real_pipeline_on_the_dev_corpus(tmp_path: Path) -> None:
    """What `offerwatch backfill` + assess produce: the stories' stages, allowing for detection misses
    (listed in the failure message so the detection work can see them)."""
    _need_corpus()
    try:
        from offerwatch.daemon.sources.local import EmlFolderSource
        from offerwatch.daemon.sync import SyncEngine
        from offerwatch.extractors.pipeline import Owner
    except ImportError as err:  # the pipeline is being written
        pytest.skip(f"the pipeline is not complete yet: {err}")
    store = Store.open(tmp_path / "dev.db")
    SyncEngine(store, Owner.of(["maya.lindqvist@gmail.com"])).run(EmlFolderSource(CORPUS))
    assess(store, now=_newest(store), config=CFG)
    got = {a["company"]: a["stage"] for a in store.rows("SELECT company, stage FROM applications")}
    store.close()
    wrong = {c: (got.get(c), s) for c, s in EXPECTED_STAGE.items() if got.get(c) != s}
    # The linking and timeline are exact on labels; with detection in the loop allow a few misses.
    assert len(wrong) <= 3, wrong
