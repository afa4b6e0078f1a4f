"""CPU time of fitting the `offerwatch apps` table to a terminal, for a long list.

Builds ``--rows`` synthetic applications (company of 1-3 words, role of 1-6 words, the
other columns as the apps command fills them) and times :func:`offerwatch.daemon.fit.fit_table`
at 60, 80, 100 and 120 columns: the best of ``--rounds`` in process CPU time, so other busy
processes skew it less. Nothing is printed to a terminal; only the layout is computed.

Usage::

    .venv/bin/python bench/fit_table.py --rows 300
"""

from __future__ import annotations

import argparse
import random
import time

from rich.console import Console
from rich.text import Text

from offerwatch.daemon.apps_cli import APPS_COLUMNS
from offerwatch.daemon.fit import FitColumn, fit_table, row_lines

WORDS = ("Senior Data Platform Engineer Analytics Scientist Clinical Staff Backend Billing Infrastructure "
         "Health Labs Systems Mutual Partners").split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(1)
    rows = [[Text(x) for x in (str(i), " ".join(rng.sample(WORDS, rng.randint(1, 3))),
                                " ".join(rng.sample(WORDS, rng.randint(1, 6))), "interviewing", "83",
                                "Mon 19 Oct 15:40 (you)", "them", "14", "offer accepted, silence")]
            for i in range(args.rows)]
    columns = [FitColumn(h, kind=k, drop=d, justify=j) for h, k, d, j in APPS_COLUMNS]
    for width in (60, 80, 100, 120):
        console = Console(width=width)
        best = float("inf")
        for _ in range(args.rounds):
            start = time.process_time()
            table = fit_table(console, columns, rows, max_lines=row_lines(width), box=None, pad_edge=False)
            best = min(best, time.process_time() - start)
        print(f"{width:>3} columns, {args.rows} rows: {best * 1000:.0f} ms CPU, {len(table.columns)} columns kept")


if __name__ == "__main__":
    main()
