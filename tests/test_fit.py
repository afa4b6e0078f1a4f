"""The terminal views fit 60 to 120 columns without losing names: narrow layouts drop columns
in a stated order; a company or role is never cut; a listing's row is one line at 120
columns and at most two below."""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from offerwatch.daemon.cli import cli
from offerwatch.daemon.digest.build import build_digest
from offerwatch.daemon.digest.terminal import PIPELINE_COLUMNS, print_digest
from offerwatch.daemon.fit import FitColumn, fit_table
from offerwatch.models.store import Store

WIDTHS = (60, 80, 100, 120)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database `offerwatch demo` builds from the bundled sample mailbox."""
    db = tmp_path_factory.mktemp("fit") / "demo.db"
    res = CliRunner().invoke(cli, ["--db", str(db), "demo"])
    assert res.exit_code == 0, res.output
    return db


def _max_lines(width: int) -> int:
    return 1 if width >= 120 else 2


def _check_width(text: str, width: int) -> None:
    long = [line for line in text.splitlines() if cell_len(line) > width]
    assert not long, f"lines wider than {width}: {long}"


def _rows(lines: list[str], starts: list[int], anchor: int) -> list[list[list[str]]]:
    """Cells of a table printed without a box: ``starts`` are where columns begin; a row
    begins on a line whose ``anchor`` column is not empty. Returns rows of cell lines."""
    bounds = [*starts[1:], None]
    rows: list[list[list[str]]] = []
    for line in lines:
        cells = [line[a:b].strip() for a, b in zip(starts, bounds, strict=True)]
        if cells[anchor] or not rows:
            rows.append([[c] for c in cells])
        else:
            for i, c in enumerate(cells):
                rows[-1][i].append(c)
    return rows


def _joined(pieces: list[str]) -> str:
    return " ".join(p for p in pieces if p)


@pytest.mark.parametrize("width", WIDTHS)
def test_digest_pipeline_keeps_every_name_whole(demo_db: Path, width: int) -> None:
    with Store.open(demo_db) as store:
        first = store.rows("SELECT min(date) AS d FROM messages WHERE date IS NOT NULL")[0]["d"]
        newest = store.rows("SELECT max(date) AS d FROM messages WHERE date IS NOT NULL")[0]["d"]
        digest = build_digest(store, now=datetime.fromisoformat(newest), tz=timezone.utc, since=datetime.fromisoformat(first))
    assert digest.pipeline, "the demo has open applications"
    buf = io.StringIO()
    print_digest(digest, Console(file=buf, width=width, color_system=None, legacy_windows=False))
    out = buf.getvalue()
    _check_width(out, width)
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("Application"))
    end = next((i for i in range(head + 1, len(lines)) if lines[i].startswith(("  timeline:", "…")) or not lines[i].strip()),
               len(lines))
    header = lines[head]
    shown = [c.header for c in PIPELINE_COLUMNS if c.header in header]
    # Columns go in their stated order (the 28-day strip, Trend, Last contact, Outlook), never the name or stage.
    dropped = sorted((c for c in PIPELINE_COLUMNS if c.header not in shown), key=lambda c: c.drop)
    assert [c.drop for c in dropped] == list(range(1, len(dropped) + 1))
    assert {"Application", "Stage"} <= set(shown)
    if width >= 80:
        assert "Last contact" in shown
    rows = _rows(lines[head + 1:end], [0, header.index("Stage")], anchor=1)
    assert [_joined(r[0]) for r in rows] == [p.app.title for p in digest.pipeline]
    assert all(len(r[0]) <= _max_lines(width) for r in rows), [r[0] for r in rows]
    assert "…" not in "\n".join(lines[head:end])


def _apps(db: Path, width: int, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.delenv("LINES", raising=False)
    res = CliRunner().invoke(cli, ["--db", str(db), "apps", "--all"])
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.parametrize("width", WIDTHS)
def test_apps_keeps_company_and_role_whole(demo_db: Path, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _apps(demo_db, width, monkeypatch)
    _check_width(out, width)
    assert "…" not in out
    lines = out.splitlines()
    header = lines[0]
    assert header.split()[:3] == ["id", "company", "role"]
    words = re.findall(r"\S+(?: contact)?", header)
    # The dropped columns are the first ones of the stated order.
    order = ["msgs", "notes", "turn", "last contact", "outlook", "stage"]
    gone = [c for c in order if c not in words]
    assert gone == order[:len(gone)]
    if width >= 80:
        assert {"stage", "outlook"} <= set(words)
    starts = [header.index("company"), header.index("role")]
    nxt = words[3] if len(words) > 3 else None
    if nxt is not None:
        starts.append(header.index(nxt))
    rows = _rows([line.ljust(len(header)) for line in lines[1:]], [0, *starts], anchor=0)
    with Store.open(demo_db) as store:
        want = {str(a["id"]): (a["company"], a["role"] or "") for a in store.applications()}
    got = {_joined(r[0]): (_joined(r[1]), _joined(r[2])) for r in rows}
    assert got == want
    assert all(len(r[1]) <= _max_lines(width) for r in rows)


@pytest.mark.parametrize("width", (60, 80, 120))
def test_signals_keep_application_and_type_whole(demo_db: Path, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    res = CliRunner().invoke(cli, ["--db", str(demo_db), "signals"])
    assert res.exit_code == 0, res.output
    _check_width(res.output, width)
    rows: list[list[list[str]]] = []
    for line in res.output.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if cells[0]:
            rows.append([[c] for c in cells])
        else:
            for i, c in enumerate(cells):
                rows[-1][i].append(c)
    with Store.open(demo_db) as store:
        want = {str(s["id"]): (f"{s['company']} #{s['application_id']}", s["type"]) for s in store.signals()}
    heads = [[c.strip() for c in line.strip("┃").split("┃")] for line in res.output.splitlines() if line.startswith("┃")]
    names = ["".join(parts) for parts in zip(*heads, strict=True)]
    app_col, type_col = names.index("application"), names.index("signal")
    assert {_joined(r[0]): (_joined(r[app_col]), _joined(r[type_col])) for r in rows} == want


def test_app_heading_wraps_rather_than_cutting_the_name(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(demo_db) as store:
        app = max(store.applications(), key=lambda a: len(a["company"]) + len(a["role"] or ""))
    monkeypatch.setenv("COLUMNS", "60")
    res = CliRunner().invoke(cli, ["--db", str(demo_db), "app", str(app["id"])])
    assert res.exit_code == 0, res.output
    _check_width(res.output, 60)
    assert f"#{app['id']} {app['company']} — {app['role']}" in " ".join(res.output.split())


def test_a_date_column_is_dropped_never_cut() -> None:
    """What `apps` printed as "Ridgeb…" and "2026-1…" on an 80-column terminal."""
    cols = [FitColumn("company", kind="name"), FitColumn("role", kind="name"), FitColumn("last contact", drop=1)]
    rows = [[Text("Ridgeback Robotics"), Text("Senior Platform Engineer"), Text("Thu 2026-11-05 09:30 (them)")]]
    for width, kept in ((80, 3), (50, 2)):
        buf = io.StringIO()
        Console(file=buf, width=width, color_system=None).print(fit_table(Console(width=width), cols, rows, max_lines=1))
        out = buf.getvalue()
        _check_width(out, width)
        assert "…" not in out and "Ridgeback Robotics" in out and "Senior Platform Engineer" in out
        assert ("Thu 2026-11-05 09:30 (them)" in out) == (kept == 3)


def test_a_name_too_long_for_one_line_takes_two_before_every_column_goes() -> None:
    cols = [FitColumn("role", kind="name"), FitColumn("stage", drop=2), FitColumn("last contact", drop=1)]
    role = "Principal Staff Senior Lead Distinguished Backend Platform Infrastructure Reliability Engineer, Payments"
    rows = [[Text(role), Text("interviewing"), Text("Thu 5 Nov")]]
    buf = io.StringIO()
    Console(file=buf, width=100, color_system=None).print(fit_table(Console(width=100), cols, rows, max_lines=1, box=None))
    lines = buf.getvalue().splitlines()
    assert len(lines) == 1 + 2 and "Thu 5 Nov" in lines[1] and "interviewing" in lines[1]
    assert " ".join(line[:line.index("interviewing")].strip() if "interviewing" in line else line.strip()
                    for line in lines[1:]) == role


@pytest.mark.parametrize("width", (60, 80))
def test_scan_keeps_signal_types_whole(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from offerwatch.daemon.commands import demo_mailbox

    monkeypatch.setenv("COLUMNS", str(width))
    res = CliRunner().invoke(cli, ["scan", str(demo_mailbox() / "d015.eml"), "--owner", "me@example.com"])
    assert res.exit_code == 0, res.output
    _check_width(res.output, width)
    types = re.findall(r"│ ([a-z_]+)\s+│", res.output)
    assert "other_process_inquiry" in types and all("…" not in t for t in types)
