"""Fit a rich table to the terminal's width: drop columns in a stated order, never cut a name.

Left to itself, rich shrinks a table that is too wide by wrapping the columns that may wrap and,
when that is not enough, by squeezing every column evenly. That is how the digest's pipeline
lost its Application column at 80 columns and ``offerwatch apps`` printed "Ridgeb…" and
"2026-1…". Here every column says what it is:

- ``name`` (company, role, application): wrapped at spaces, never narrower than its longest
  word, and at most ``max_lines`` lines per row;
- ``fixed`` (a stage, a date, an identifier): one line, whole, or not shown at all;
- ``text`` (evidence, notes in prose): wraps freely into what is left, at least ``min_text``.

Columns with a ``drop`` rank are dropped in that order (1 first) until the rest fits; the
widths are then given to rich (``Column(width=...)``/``no_wrap``), which does the wrapping.

Example::

    cols = [FitColumn("Application", kind="name"), FitColumn("Stage"), FitColumn("Trend", drop=1)]
    table = fit_table(console, cols, [[Text("Acme — Data Engineer"), Text("Applied"), Text("▲")]],
                      max_lines=row_lines(console.width), box=None, pad_edge=False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

#: From this width on, a row of a listing is one line; below it, at most two.
ONE_LINE_WIDTH = 120


def row_lines(width: int) -> int:
    """Lines a row of a listing may take at ``width``: one on a wide terminal, two below 120."""
    return 1 if width >= ONE_LINE_WIDTH else 2


@dataclass
class FitColumn:
    """One column of a table fitted by :func:`fit_table`.

    ``drop``: 0 never dropped; otherwise columns are dropped in increasing order until the
    table fits. ``min_text``: the narrowest width worth showing a ``text`` column at.
    """

    header: str
    kind: Literal["name", "fixed", "text"] = "fixed"
    drop: int = 0
    justify: Literal["left", "right", "center"] = "left"
    style: str = ""
    min_text: int = 24


def _lines(console: Console, cell: RenderableType, width: int) -> int:
    """Lines ``cell`` wraps to at ``width`` (rich's own word wrap)."""
    text = cell if isinstance(cell, Text) else Text.from_markup(str(cell))
    return len(text.wrap(console, max(1, width), overflow="fold")) or 1


def _name_width(console: Console, cells: list[RenderableType], low: int, high: int, lines: int) -> int | None:
    """The narrowest width in [low, high] at which every cell takes at most ``lines`` lines."""
    if any(_lines(console, c, high) > lines for c in cells):
        return None
    while low < high:
        mid = (low + high) // 2
        if all(_lines(console, c, mid) <= lines for c in cells):
            high = mid
        else:
            low = mid + 1
    return low


def _overhead(console: Console, n: int, table_args: dict[str, Any]) -> int:
    """Borders and padding of a table with ``n`` columns, as rich measures them."""
    probe = Table(*[Column(width=1) for _ in range(n)], **table_args)
    return Measurement.get(console, console.options.update_width(10_000), probe).maximum - n


def fit_table(console: Console, columns: Sequence[FitColumn], rows: Sequence[Sequence[RenderableType]], *,
              max_lines: int, width: int | None = None, **table_args: Any) -> Table:
    """A :class:`~rich.table.Table` of ``rows`` that fits ``width`` (default: the console's).

    Columns are dropped in their ``drop`` order while the rest does not fit; what cannot be
    dropped is kept, names still whole words (wrapping to more lines) on a very narrow screen.
    """
    width = console.width if width is None else width
    options = console.options.update_width(10_000)
    natural: list[tuple[int, int]] = []  # (longest word, whole width) per column, header included
    for i, col in enumerate(columns):
        cells: list[RenderableType] = [Text(col.header), *(r[i] for r in rows)]
        ms = [Measurement.get(console, options, c) for c in cells]
        natural.append((max(m.minimum for m in ms), max(m.maximum for m in ms)))
    widths: dict[int, int] | None = None
    named: dict[tuple[int, int], int | None] = {}
    # A name too long for one line even with every column dropped: two lines, all columns back.
    for lines in range(max_lines, max_lines + 2):
        keep = list(range(len(columns)))
        order = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop)
        while True:
            widths = _widths(console, columns, rows, natural, keep, width, lines, table_args, named=named)
            if widths is not None or not order:
                break
            keep.remove(order.pop(0)[1])
        if widths is not None:
            break
    if widths is None:  # nothing left to drop: names at their longest word, text gets the rest
        widths = _widths(console, columns, rows, natural, keep, width, 10_000, table_args, strict=False) or {}
    table = Table(**table_args)
    for i in keep:
        col = columns[i]
        if col.kind == "fixed":
            table.add_column(col.header, justify=col.justify, style=col.style, no_wrap=True)
        else:
            table.add_column(col.header, justify=col.justify, style=col.style, width=widths.get(i), overflow="fold")
    for r in rows:
        table.add_row(*(r[i] for i in keep))
    return table


def _widths(console: Console, columns: Sequence[FitColumn], rows: Sequence[Sequence[RenderableType]],
            natural: list[tuple[int, int]], keep: list[int], width: int, max_lines: int,
            table_args: dict[str, Any], strict: bool = True,
            named: dict[tuple[int, int], int | None] | None = None) -> dict[int, int] | None:
    """Widths of the name and text columns in ``keep`` if they fit ``width``; None if they do not.

    Not ``strict``: a text column may get less than its ``min_text`` (down to one character).
    ``named`` keeps the narrowest width of each (name column, lines) between calls.
    """
    room = width - _overhead(console, len(keep), table_args)
    room -= sum(natural[i][1] for i in keep if columns[i].kind == "fixed")
    names = [i for i in keep if columns[i].kind == "name"]
    texts = [i for i in keep if columns[i].kind == "text"]
    out: dict[int, int] = {}
    named = {} if named is None else named
    for i in names:
        if (i, max_lines) not in named:
            cells = [Text(columns[i].header), *(r[i] for r in rows)]
            named[i, max_lines] = _name_width(console, cells, natural[i][0], natural[i][1], max_lines)
        w = named[i, max_lines]
        if w is None:
            return None
        out[i] = w
    room -= sum(out.values())
    need = sum(min(columns[i].min_text if strict else 1, natural[i][1]) for i in texts)
    if room < need:
        return None
    # Names first get what makes them shorter, down to one line each; not strict (a very narrow
    # screen), the prose gets it, the names staying at their longest word.
    spare = room - need if strict or not texts else 0
    room -= spare - _unwrap(console, rows, names, out, spare)
    for n, i in enumerate(sorted(texts, key=lambda i: natural[i][1])):  # prose shares the rest, shortest first
        out[i] = max(1, min(natural[i][1], room // (len(texts) - n)))
        room -= out[i]
    return out


def _unwrap(console: Console, rows: Sequence[Sequence[RenderableType]], names: list[int], out: dict[int, int],
            spare: int) -> int:
    """Widen the name columns in ``out`` by up to ``spare`` where it saves the most printed lines
    per character (a row takes the lines of its tallest cell); returns the width not used."""
    if not names or not rows:
        return spare
    options = console.options.update_width(10_000)
    one = {i: [Measurement.get(console, options, row[i]).maximum for row in rows] for i in names}  # one line from
    start = {i: [_lines(console, row[i], out[i]) for row in rows] for i in names}
    cache: dict[tuple[int, int, int], int] = {}

    def lines(i: int, r: int, w: int) -> int:
        # Word wrap never takes more lines at a larger width, and widths here only grow.
        if w >= one[i][r]:
            return 1
        if start[i][r] <= 2:
            return 2
        if (i, r, w) not in cache:
            cache[i, r, w] = _lines(console, rows[r][i], w)
        return cache[i, r, w]

    def total(widths: dict[int, int]) -> int:
        return sum(max(lines(i, r, widths[i]) for i in names) for r in range(len(rows)))

    steps = {i: sorted(set(one[i])) for i in names}
    base = total(out)
    while spare > 0:
        best: tuple[float, int, int, int] | None = None  # (lines saved per character, column, width, lines)
        for i in names:
            for w in steps[i]:
                if out[i] < w <= out[i] + spare:
                    after = total({**out, i: w})
                    gain = (base - after) / (w - out[i])
                    if gain > 0 and (best is None or gain > best[0]):
                        best = (gain, i, w, after)
        if best is None:
            break
        _, i, w, base = best
        spare -= w - out[i]
        out[i] = w
    for i in names:  # what saves no line still widens the names, up to their longest cell
        extra = min(spare, max(steps[i], default=0) - out[i])
        if extra > 0:
            out[i] += extra
            spare -= extra
    return spare
