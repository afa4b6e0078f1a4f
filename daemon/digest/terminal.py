"""The digest in a terminal, with rich: ``offerwatch digest --preview`` and ``offerwatch demo``.

The same :class:`~offerwatch.daemon.digest.build.Digest` as the email, so what a user sees
in the demo is what arrives each morning. Mail-derived text is passed to rich as
:class:`~rich.text.Text` (never as markup), so ``[bold]`` or ``[link=...]`` in a recruiter's
mail prints literally.

Example::

    from rich.console import Console
    print_digest(digest, Console())
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from offerwatch.daemon.digest.build import Digest, PipelineRow, SignalView
from offerwatch.daemon.digest.render import TREND_TEXT, cold_line, headline
from offerwatch.daemon.fit import FitColumn, fit_table, row_lines

_POLARITY_STYLE = {3: "bold green", 2: "green", 1: "green", 0: "dim", -1: "red", -2: "red", -3: "bold red"}
_CELL_STYLE = {"strong": "bold green", "positive": "green", "neutral": "white", "you": "blue", "negative": "red", "none": "grey35"}
_CELL_CHAR = {"strong": "█", "positive": "▆", "neutral": "▃", "you": "▂", "negative": "█", "none": "·"}


def _t(value: str, style: str = "") -> Text:
    return Text(value, style=style)


def _meta(s: SignalView, links: bool) -> Text:
    """Sender and day; in a terminal that shows links, an "open" link to the message."""
    out = Text(style="dim")
    out.append(s.sender)
    if s.when:
        out.append(f" · {s.when}")
    if s.link and links:
        out.append(" · ")
        out.append("open", style=f"underline link {s.link}")
    return out


_STRIP = "Last 28 days"
#: The pipeline's columns. On a narrow terminal the 28-day strip goes first (the widest, and
#: "Trend" says the same in a word), then Trend, Last contact and Outlook; the application's
#: name and its stage always stay, the name whole.
PIPELINE_COLUMNS = [
    FitColumn("Application", kind="name"),
    FitColumn("Stage"),
    FitColumn("Outlook", justify="right", drop=4),
    FitColumn("Last contact", drop=3),
    FitColumn("Trend", drop=2),
    FitColumn(_STRIP, drop=1),
]


def _pipeline_row(p: PipelineRow) -> list[Text]:
    strip = Text()
    for c in p.timeline:
        strip.append(_CELL_CHAR.get(c.kind, "·"), style=_CELL_STYLE.get(c.kind, ""))
    colour = "green" if p.app.outlook >= 65 else "yellow" if p.app.outlook >= 40 else "red"
    return [
        _t(p.app.title),
        _t(p.app.stage_label),
        _t(str(p.app.outlook), colour),
        _t(f"{p.last_contact or '—'}" + (f" ({p.days_since} d)" if p.days_since is not None else "")),
        _t(TREND_TEXT[p.trend], {"up": "green", "down": "red"}.get(p.trend, "dim")),
        strip,
    ]


def print_digest(digest: Digest, console: Console) -> None:
    """Print the whole digest: attention items first, then signals, quiet ones and the pipeline."""
    links = console.is_terminal and not console.legacy_windows
    header = Text()
    header.append(f"offerwatch · {digest.subject.rsplit('— ', 1)[-1]}\n", style="dim")
    header.append(headline(digest), style="bold")
    header.append(f"\n{'The last 7 days' if digest.first else digest.period_label}", style="dim")
    console.print(Panel(header, expand=False, border_style="cyan"))

    if digest.offers:
        console.print(Rule("[bold]Offers to answer", align="left"))
        for o in digest.offers:
            line = Text()
            line.append(o.app.title + ": ", style="dim")
            line.append(f"answer by {o.deadline} ({o.due})", style="bold")
            if o.evidence:
                line.append(f'\n  "{o.evidence}"', style="italic")
            console.print(line)
        console.print()
    console.print(Rule("[bold]Needs your attention", align="left"))
    if not digest.actions:
        console.print(_t("Nothing needs an answer from you today.", "dim"))
    for a in digest.actions:
        body = Text()
        body.append(a.app.title + "\n", style="dim")
        body.append(a.title, style="bold" if a.open else "bold dim")
        if a.app.note:
            body.append(f"\nYour note: {a.app.note}", style="yellow")
        if a.signal.evidence:
            body.append(f"\n“{a.signal.evidence}”", style="italic")
        body.append("\n")
        body.append_text(_meta(a.signal, links))
        if a.salary:
            if a.salary.stated:
                body.append("\nYou stated ", style="yellow")
                body.append(a.salary.stated, style="bold yellow")
                if a.salary.stated_on:
                    body.append(f" on {a.salary.stated_on}", style="yellow")
                body.append(".", style="yellow")
            else:
                body.append("\nNo figure of yours found in your sent mail: decide your number before you answer.", style="yellow")
            if a.salary.later:
                body.append(f"\nYou later wrote {a.salary.later}", style="yellow")
                if a.salary.jump_percent is not None:
                    body.append(f" ({a.salary.jump_percent:+d}%)", style="yellow")
                if a.salary.jump:
                    body.append(" — a large jump at this stage.", style="bold red")
        body.append("\nWhat to do: ", style="bold")
        body.append(a.advice)
        for title, advice in a.also:
            body.append(f"\nAlso — {title}: ", style="bold")
            body.append(advice)
        if not a.open:
            body.append(f"\nYou replied on {a.replied_on}.", style="dim")
        console.print(Panel(body, border_style="green" if a.open else "grey50", padding=(0, 1)))
    if digest.actions_more:
        console.print(_t(f"… and {digest.actions_more} more.", "dim"))

    console.print(Rule("[bold]New signals", align="left"))
    if not digest.new_signals:
        console.print(_t("No new signals in this period.", "dim"))
    for g in digest.new_signals:
        heading = Text(g.app.title, style="bold")
        stage = f"{g.app.stage_label} · outlook {g.app.outlook}"
        if heading.cell_len + 2 + len(stage) <= console.width:
            heading.append(f"  {stage}", style="dim")
            parts: list[RenderableType] = [heading]
        else:  # the stage on its own line rather than cut across two
            parts = [heading, Padding(_t(stage, "dim"), (0, 0, 0, 2), expand=False)]
        if g.app.note:
            parts.append(Padding(_t(f"Your note: {g.app.note}", "yellow"), (0, 0, 0, 2), expand=False))
        for s in g.signals:
            bullet = Text("● ", style=_POLARITY_STYLE.get(max(-3, min(3, s.polarity)), ""))
            bullet.append(s.label, style="bold")
            parts.append(Padding(bullet, (0, 0, 0, 2), expand=False))
            # wrapped quote and meta lines keep their indent (a hanging block, not column 0)
            if s.evidence:
                parts.append(Padding(Text(f"“{s.evidence}”", style="italic"), (0, 0, 0, 4), expand=False))
            parts.append(Padding(_meta(s, links), (0, 0, 0, 4), expand=False))
        if g.more:
            parts.append(Padding(_t(f"… and {g.more} more from {g.app.company}", "dim"), (0, 0, 0, 2), expand=False))
        console.print(Group(*parts))
    if digest.new_signals_more:
        console.print(_t(f"… and {digest.new_signals_more} more applications with new signals.", "dim"))

    console.print(Rule("[bold]Going quiet", align="left"))
    if not digest.quiet:
        console.print(_t("Nobody has gone quiet on you.", "dim"))
    for q in digest.quiet:
        line = Text(f"{q.days:>3} d  ", style="bold red")
        line.append(q.app.title, style="bold")
        line.append(f"  last contact {q.last_contact or 'unknown'} ({q.last_from})", style="dim")
        console.print(line)
        if q.evidence:
            console.print(Padding(_t(q.evidence, "dim"), (0, 0, 0, 7), expand=False))
    if digest.quiet_more:
        console.print(_t(f"… and {digest.quiet_more} more.", "dim"))
    if digest.cold_count:
        console.print(_t(cold_line(digest), "dim"))

    console.print(Rule("[bold]Pipeline", align="left"))
    if not digest.pipeline:
        console.print(_t("No active applications.", "dim"))
    else:
        table = fit_table(console, PIPELINE_COLUMNS, [_pipeline_row(p) for p in digest.pipeline],
                          max_lines=row_lines(console.width), header_style="bold", box=None, pad_edge=False)
        console.print(table)
        if any(p.timeline for p in digest.pipeline) and any(c.header == _STRIP for c in table.columns):
            legend = Text("  timeline: ", style="dim")
            for kind, label in (("strong", "strong sign"), ("positive", "good sign"), ("neutral", "event"),
                                ("you", "you wrote"), ("negative", "bad sign")):
                legend.append(_CELL_CHAR[kind], style=_CELL_STYLE[kind])
                legend.append(f" {label}  ", style="dim")
            console.print(legend)
    if digest.pipeline_more:
        console.print(_t(f"… and {digest.pipeline_more} more active applications.", "dim"))

