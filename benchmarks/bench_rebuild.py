"""Benchmark a large-table rebuild: rebuilder against raw SQL, Alembic batch and sqlite-utils.

The change (v1 -> v2 in ``benchmarks/models.py``) drops ``friend.address``,
turns ``score`` from ``VARCHAR(20)`` numeric strings into ``INTEGER`` and adds
the FK ``city_id -> city.id``, on a seeded table with three indexes (see
``benchmarks/generate.py``). Native paths are timed too: dropping only
``address`` with rebuilder (planned as ``ALTER TABLE DROP COLUMN``) and by hand.

For each size, rounds are interleaved with the method order rotated each
round. Every method run gets a fresh ``shutil`` copy of the source file and its
own subprocess (``benchmarks/methods.py``), which times only the call and
reports its peak RSS. Each result is verified outside the timing
(``benchmarks/verify.py``); a method that fails is reported as FAILED and its
time is not used.

Run::

    .venv/bin/python benchmarks/bench_rebuild.py --rows 100000 1000000 3000000 --rounds 3
    .venv/bin/python benchmarks/bench_rebuild.py --smoke        # ~5k rows, 1 round, no chart

Writes ``benchmarks/results/rebuild.json`` and draws ``docs/benchmark.png``.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from harness import MB, Column, Record, Reference, Suite, fmt, medians  # noqa: E402
from methods import ALL, FULL, NATIVE  # noqa: E402
from verify import expectations, verify  # noqa: E402

CHART = HERE.parent / "docs" / "benchmark.png"
LABELS = {
    "rebuilder": "rebuilder sync",
    "rebuilder-relaxed": "rebuilder sync, secure_delete relaxed",
    "raw": "raw 12-step",
    "alembic": "Alembic batch",
    "sqlite-utils": "sqlite-utils transform",
    "rebuilder-drop": "rebuilder drop only (native)",
    "raw-drop": "raw ALTER DROP COLUMN",
}
COLORS = {
    "rebuilder": "#d62728",
    "rebuilder-relaxed": "#9467bd",
    "raw": "#7f7f7f",
    "alembic": "#1f77b4",
    "sqlite-utils": "#2ca02c",
    "rebuilder-drop": "#ff9896",
    "raw-drop": "#c7c7c7",
}


def read(source: Path, seed: int) -> Reference:
    """The source's expectations; each result is checked for the full change or the drop alone."""
    expected = expectations(source, seed)
    return Reference(
        lambda path, method, integrity: verify(path, expected, full=method in FULL, integrity=integrity)
    )


def _ratio_bars(left: Any, sizes: list[Record], methods: list[str]) -> None:
    """Median ratio to raw per method, grouped by size."""
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        xs, ys = [], []
        for j, rec in enumerate(sizes):
            stats = rec["summary"].get(method)
            if stats and stats["median_ratio"] is not None:
                xs.append(j + (i - (len(methods) - 1) / 2) * width)
                ys.append(stats["median_ratio"])
        bars = left.bar(xs, ys, width, label=LABELS.get(method, method), color=COLORS.get(method))
        left.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    left.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    left.set_xticks(range(len(sizes)), [f"{int(r['rows']):,} rows" for r in sizes])
    left.set_ylabel("median time / raw 12-step time (same round)")
    left.set_title("Time relative to a hand-written raw rebuild (lower is faster)")
    left.legend(fontsize=8, loc="upper left", ncols=2)
    top = max((b.get_height() for b in left.patches), default=1.0)
    left.set_ylim(0, max(1.5, top * 1.4))


def _time_lines(right: Any, sizes: list[Record], methods: list[str]) -> None:
    """Median seconds against N per method; native paths dashed."""
    for method in methods:
        pts = medians(sizes, method)
        if pts:
            right.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                "--" if method in NATIVE else "-",
                marker="o",
                label=LABELS.get(method, method),
                color=COLORS.get(method),
            )
    right.set_xlabel("rows (millions)")
    right.set_ylabel("median seconds")
    right.set_title("Time against table size")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)


def draw(records: list[Record], methods: list[str], path: Path) -> None:
    """Draw median ratio to raw per method per N, and median seconds against N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(records, key=lambda r: int(r["rows"]))
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.25, 1]})
    _ratio_bars(left, sizes, methods)
    _time_lines(right, sizes, methods)
    commits = sorted({str(r.get("git")) for r in sizes})
    rounds = sorted({int(r["rounds"]) for r in sizes})
    fig.suptitle(
        "friend table, 3 indexes: drop column + VARCHAR→INTEGER + add FK"
        f"  (SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores; rebuilder {', '.join(commits)}; "
        f"median of {'/'.join(map(str, rounds))} rounds)",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


SUITE = Suite(
    name="rebuild",
    title="friend rebuild: drop address, score VARCHAR(20) -> INTEGER, add FK city_id -> city.id",
    methods=ALL,
    required=("raw",),
    default_rows=(100_000, 1_000_000),
    smoke_rows=5_000,
    smoke_name="smoke",
    sync_copy=False,
    read=read,
    columns=(
        Column("peak RSS", 10, lambda method, stats: fmt((stats["max_peak_rss"] or 0) / MB, ".0f") + " MB"),
        Column("RSS +", 8, lambda method, stats: fmt((stats["max_rss_growth"] or 0) / MB, ".1f") + " MB"),
    ),
    chart=draw,
    chart_path=CHART,
)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when every method verified at every size, else 1."""
    import harness

    return harness.main(SUITE, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
