"""Terminal output for the core commands (rich): one analysis, eval, signals.

All mail-derived text goes through :func:`show`: terminal escape sequences and control
characters are removed by :func:`~offerwatch.daemon.textsafe.clean_text` (the function the
digest uses), then :func:`rich.markup.escape` keeps a subject like ``[red]`` from restyling
the terminal. Dates go through :class:`~offerwatch.models.humandate.HumanDates` (the digest's
zone and style); the ``--json`` outputs keep ISO 8601.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from offerwatch.daemon.fit import FitColumn, fit_table, row_lines
from offerwatch.daemon.textsafe import clean_text
from offerwatch.models.domain import Analysis
from offerwatch.models.humandate import HumanDates


def show(value: Any) -> str:
    """Mail-derived text as rich markup that prints as itself, on one line."""
    return escape(clean_text(value))


def _entities(value: Any, hd: HumanDates) -> str:
    """A signal's entities as ``key: value`` pairs, dates in the human style (JSON has them as ISO)."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_entities(v, hd)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, (list, tuple)):
        return "; ".join(_entities(v, hd) for v in value)
    if isinstance(value, (date, datetime)):
        return hd.day_time(value)
    if isinstance(value, str) and len(value) >= 10 and value[:4].isdigit() and value[4:5] == "-":
        return hd.day_time(value)  # not a date after all: shown as written
    return str(value)


def _trim(text: str, n: int) -> str:
    text = clean_text(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def analysis_dict(a: Analysis) -> dict[str, Any]:
    d = asdict(a)
    d["direction"] = a.direction.value
    d["key"] = a.key
    return d


#: `offerwatch scan` signal table: the signal type whole; on a narrow terminal the entities go.
SCAN_COLUMNS = [FitColumn("signal"), FitColumn("evidence", kind="text"), FitColumn("why (rule)", kind="text", min_text=16),
                FitColumn("entities", kind="text", min_text=16, drop=1)]


def print_analysis(a: Analysis, console: Console, *, owner_known: bool = True, hd: HumanDates | None = None) -> None:
    """`offerwatch scan`: the decision in words, each signal with its sentences, each rule once.

    ``owner_known``: whether any address of the user was given; without one, nothing can read
    as the user's own mail, so an incoming verdict comes with a hint to pass ``--owner``.
    """
    from offerwatch.models.humandate import system_zone

    hd = hd or HumanDates(system_zone())
    sender = show(a.sender) if a.sender else "(no sender)"
    console.print(f"[bold]{show(a.subject) or '(no subject)'}[/]")
    console.print(f"from {sender}  date {hd.day_time(a.date) if a.date else '(no date)'}  direction {a.direction.value}")
    if a.direction.value == "in" and not owner_known:
        console.print("[yellow]note:[/] read as mail from them, since no address of yours is known; if you wrote it, "
                      "give --owner YOUR@ADDRESS (or set \\[identity] addresses in the config)")
    verdict = "[green]job mail[/]" if a.is_job else "[dim]not job mail[/]"
    console.print(f"{verdict} — {show(a.job_reason)}")
    if a.sender_role or a.sender_title:
        console.print(f"sender role: {a.sender_role or '—'}  title: {show(a.sender_title or '—')}")
    for p in a.problems:
        console.print(f"[yellow]note:[/] {show(p)}")
    if a.signals:
        # One row per signal type and rule: a rule that fired on several sentences is shown once.
        rows: dict[tuple[str, str], list[Any]] = {}
        for s in a.signals:
            rows.setdefault((s.type, s.rule), []).append(s)
        cells = []
        for (kind, rule), sigs in rows.items():
            evidence = "\n".join(dict.fromkeys(_trim(s.evidence, 300) for s in sigs))
            entities = [clean_text(_entities(s.entities, hd)) for s in sigs if s.entities]
            why = Text(clean_text(sigs[0].label or rule))
            if sigs[0].label and sigs[0].label != rule:
                why.append(f"\n{clean_text(rule)}", style="dim")
            cells.append([Text(clean_text(kind)), Text(evidence), why, Text("\n".join(dict.fromkeys(entities)))])
        table = fit_table(console, SCAN_COLUMNS, cells, max_lines=row_lines(console.width), show_lines=True)
        console.print(table)
    elif a.is_job:
        console.print("no signals in the newest text")
    for sal in a.salaries:
        console.print(f"salary figure: {show(sal.text)} -> {sal.min:,.0f}–{sal.max:,.0f} {show(sal.currency or '')} per {show(sal.period)}")
    for e in a.events:
        who = ", ".join(show(x) for x in e.attendees)
        when = hd.day_time(e.start, missing="(no time)")
        console.print(f"calendar {show(e.method)}: {show(e.summary)} at {when} ({who})")
    if a.signature:
        console.print(f"[dim]signature (not evidence): {escape(_trim(a.signature, 200))}[/]")


def print_eval(result: dict[str, Any], console: Console) -> None:
    job = result["job"]
    console.print(f"[bold]{escape(result['corpus'])}[/]: {result['messages']} messages")
    console.print(f"job mail: precision {job['precision']:.3f} recall {job['recall']:.3f} (tp {job['tp']}, fp {job['fp']}, fn {job['fn']})")
    table = Table("type", "precision", "recall", "F1", "tp", "fp", "fn")
    for t, m in sorted(result["signals"].items()):
        table.add_row(t, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["tp"]), str(m["fp"]), str(m["fn"]))
    console.print(table)
    micro = result["micro"]
    console.print(f"micro: precision {micro['precision']:.3f} recall {micro['recall']:.3f} F1 {micro['f1']:.3f}")
    if result["confusion"]:
        console.print("[bold]misses and false alarms[/]")
        for c in result["confusion"][:60]:
            ev = f" “{escape(_trim(c['evidence'], 120))}”" if c["evidence"] else ""
            console.print(f"  {c['kind']:<11} {c['type']:<24} {c['file']}{ev}")
        if len(result["confusion"]) > 60:
            console.print(f"  … {len(result['confusion']) - 60} more (use --json)")


#: `offerwatch signals` columns: on a narrow terminal "rule" goes first, then "when"; the
#: application's name and the signal type stay whole, the evidence wraps into what is left.
SIGNAL_COLUMNS = [FitColumn("id", justify="right"), FitColumn("when", drop=2), FitColumn("application", kind="name"),
                  FitColumn("signal"), FitColumn("evidence", kind="text"), FitColumn("rule", drop=1)]
SEARCH_COLUMNS = [FitColumn("when", drop=1), FitColumn("application", kind="name"), FitColumn("where", kind="text", min_text=12),
                  FitColumn("match", kind="text")]


def print_signals(rows: list[dict[str, Any]], console: Console, hd: HumanDates) -> None:
    if not rows:
        console.print("No signals stored yet. Run `offerwatch backfill` or `offerwatch sync` first.")
        return
    cells = []
    for r in rows:
        app = f"{r.get('company') or '?'} #{r.get('application_id')}"
        cells.append([Text(v) for v in (str(r["id"]), hd.day(r.get("at")), clean_text(app), clean_text(r["type"]),
                                        _trim(hd.text(r["evidence"]), 100), clean_text(r["rule"]))])
    console.print(fit_table(console, SIGNAL_COLUMNS, cells, max_lines=row_lines(console.width)))


def print_search(rows: list[dict[str, Any]], query: str, console: Console, hd: HumanDates) -> None:
    if not rows:
        console.print(f"Nothing in job mail or signal evidence matches {show(query)!r}.")
        return
    cells = []
    for r in rows:
        app = f"{r.get('company') or '?'} #{r.get('application_id')}" if r.get("application_id") else "-"
        where = f"signal {r['type']}" if r["kind"] == "signal" else _trim(r.get("subject") or "(no subject)", 40)
        cells.append([Text(v) for v in (hd.day(r.get("date")), clean_text(app), clean_text(where), _trim(hd.text(r.get("snippet")), 100))])
    console.print(fit_table(console, SEARCH_COLUMNS, cells, max_lines=row_lines(console.width)))
