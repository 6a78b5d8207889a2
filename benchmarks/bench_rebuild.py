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

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from generate import DEFAULT_SEED, RESULTS, generate  # noqa: E402
from methods import ALL, FULL, NATIVE  # noqa: E402
from verify import Expected, expectations, verify  # noqa: E402

BASELINE = "raw"
CHART = ROOT / "docs" / "benchmark.png"
LABELS = {
    "rebuilder": "rebuilder sync",
    "rebuilder-relaxed": "rebuilder sync, secure_delete relaxed",
    "raw": "raw 12-step",
    "alembic": "Alembic batch",
    "sqlite-utils": "sqlite-utils transform",
    "rebuilder-drop": "rebuilder drop only (native)",
    "raw-drop": "raw ALTER DROP COLUMN",
}
MB = 1e6


@dataclass
class Run:
    """One method on one fresh copy."""

    method: str
    round: int
    seconds: float | None = None
    cpu_seconds: float | None = None
    ratio: float | None = None
    load_before: float | None = None
    busy_before: float | None = None
    waited: float | None = None
    rss_before: int | None = None
    peak_rss: int | None = None
    rss_growth: int | None = None
    size_after: int | None = None
    freelist_pages: int | None = None
    problems: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.seconds is not None and not self.problems and self.error is None


@dataclass(frozen=True)
class Settle:
    """Wait before each run until the rest of the machine is quiet, up to ``seconds``."""

    seconds: float = 30.0
    busy: float = 60.0

    def wait(self) -> tuple[float, float | None]:
        """Return (seconds waited, system CPU busy % in the last sample)."""
        if self.seconds <= 0:
            return 0.0, None
        import psutil

        started = time.perf_counter()
        while True:
            busy = psutil.cpu_percent(interval=0.5)
            waited = time.perf_counter() - started
            if busy < self.busy or waited >= self.seconds:
                return waited, busy


def _run_method(
    method: str, source: Path, work: Path, expected: Expected, integrity: bool, rnd: int, settle: Settle
) -> Run:
    run = Run(method, rnd)
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, work)
    run.waited, run.busy_before = settle.wait()
    run.load_before = os.getloadavg()[0]
    try:
        proc = subprocess.run(
            [sys.executable, str(HERE / "methods.py"), method, str(work)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout or f"exit {proc.returncode}").strip().splitlines()
            run.error = lines[-1] if lines else f"exit {proc.returncode}"
            return run
        measured = json.loads(proc.stdout.strip().splitlines()[-1])
        run.seconds = float(measured["seconds"])
        run.cpu_seconds = float(measured["cpu_seconds"])
        run.rss_before = int(measured["rss_before"])
        run.peak_rss = int(measured["peak_rss"])
        run.rss_growth = int(measured["rss_growth"])
        run.size_after = work.stat().st_size
        conn = sqlite3.connect(f"file:{work}?mode=ro", uri=True)
        try:
            run.freelist_pages = conn.execute("PRAGMA freelist_count").fetchone()[0]
        finally:
            conn.close()
        run.problems = verify(work, expected, full=method in FULL, integrity=integrity)
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
    return run


def _rotate(methods: list[str], by: int) -> list[str]:
    k = by % len(methods)
    return methods[k:] + methods[:k]


def bench_size(
    rows: int,
    rounds: int,
    methods: list[str],
    seed: int,
    work_dir: Path,
    cache_dir: Path,
    integrity: bool,
    quiet: bool,
    settle: Settle,
) -> dict[str, object]:
    """Run every round at one size; return the JSON-ready record."""
    source = generate(rows, seed, cache_dir=cache_dir, quiet=quiet)
    expected = expectations(source, seed)
    work = work_dir / f"work-{rows}-{os.getpid()}.db"
    runs: list[Run] = []
    orders = []
    for rnd in range(rounds):
        order = _rotate(methods, rnd)
        orders.append(order)
        for method in order:
            run = _run_method(method, source, work, expected, integrity, rnd, settle)
            runs.append(run)
            if not quiet:
                status = f"{run.seconds:.3f} s (cpu {run.cpu_seconds:.3f} s)" if run.ok else "FAILED"
                status += f"  load {run.load_before:.2f}"
                if run.busy_before is not None:
                    status += f", cpu busy {run.busy_before:.0f}% after {run.waited:.1f} s wait"
                print(f"  N={rows:,} round {rnd + 1}/{rounds} {method:<15} {status}", flush=True)
    by_round = {rnd: {r.method: r for r in runs if r.round == rnd} for rnd in range(rounds)}
    for rnd, found in by_round.items():
        base = found.get(BASELINE)
        for run in found.values():
            if run.ok and base is not None and base.ok:
                run.ratio = run.seconds / base.seconds  # type: ignore[operator]
        del rnd
    return {
        "rows": rows,
        "seed": seed,
        "rounds": rounds,
        "source_bytes": source.stat().st_size,
        "orders": orders,
        "runs": [vars(r) | {"ok": r.ok} for r in runs],
        "summary": _summary(runs, methods),
    }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _summary(runs: list[Run], methods: list[str]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for method in methods:
        mine = [r for r in runs if r.method == method]
        good = [r for r in mine if r.ok]
        out[method] = {
            "ok": len(good) == len(mine) and bool(mine),
            "failures": [r.error or "; ".join(r.problems) for r in mine if not r.ok],
            "median_seconds": _median([r.seconds for r in good if r.seconds is not None]),
            "median_cpu_seconds": _median([r.cpu_seconds for r in good if r.cpu_seconds is not None]),
            "median_ratio": _median([r.ratio for r in good if r.ratio is not None]),
            "max_peak_rss": max((r.peak_rss or 0 for r in good), default=None),
            "max_rss_growth": max((r.rss_growth or 0 for r in good), default=None),
            "median_size_after": _median([float(r.size_after) for r in good if r.size_after]),
        }
    return out


def _fmt(value: float | None, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def print_size(record: dict[str, object]) -> None:
    """Print the per-round table for one size."""
    rows, rounds = int(record["rows"]), int(record["rounds"])  # type: ignore[call-overload]
    runs = record["runs"]
    summary = record["summary"]
    assert isinstance(runs, list) and isinstance(summary, dict)
    source_mb = int(record["source_bytes"]) / MB  # type: ignore[call-overload]
    print()
    print(
        f"N = {rows:,} rows, source {source_mb:.0f} MB, {rounds} round(s), rebuilder at {record.get('git')}; "
        "×raw = time / raw's time in the same round"
    )
    heads = [f"r{i + 1} s" for i in range(rounds)] + [f"r{i + 1} ×raw" for i in range(rounds)]
    head = f"{'method':<18}" + "".join(f"{h:>9}" for h in heads)
    head += f"{'median s':>10}{'med ×raw':>10}{'peak RSS':>10}{'RSS +':>8}{'size after':>13}"
    print(head)
    print("-" * len(head))
    for method, stats in summary.items():
        mine = {r["round"]: r for r in runs if r["method"] == method}
        if not stats["ok"]:
            cells = "".join(
                f"{'FAILED' if not mine.get(i, {}).get('ok') else _fmt(mine[i]['seconds'], '.3f'):>9}"
                for i in range(rounds)
            )
            print(f"{method:<18}{cells}   FAILED: {stats['failures'][0][:150]}")
            continue
        times = "".join(f"{_fmt(mine[i]['seconds'], '.3f'):>9}" for i in range(rounds))
        ratios = "".join(f"{_fmt(mine[i]['ratio'], '.3f'):>9}" for i in range(rounds))
        line = f"{method:<18}{times}{ratios}"
        line += f"{_fmt(stats['median_seconds'], '.3f'):>10}{_fmt(stats['median_ratio'], '.3f'):>10}"
        line += f"{_fmt((stats['max_peak_rss'] or 0) / MB, '.0f') + ' MB':>10}"
        line += f"{_fmt((stats['max_rss_growth'] or 0) / MB, '.1f') + ' MB':>8}"
        size = stats["median_size_after"]
        pct = 100 * (size / int(record["source_bytes"]) - 1) if size else None  # type: ignore[call-overload]
        line += f"{_fmt(size / MB if size else None, '.0f') + ' MB':>8}{_fmt(pct, '+.0f') + '%':>5}"
        print(line)


def slopes(records: list[dict[str, object]], methods: list[str]) -> dict[str, dict[str, float | None]]:
    """Least-squares fit of median seconds against rows, per method (seconds per million rows)."""
    out = {}
    for method in methods:
        points = [
            (int(r["rows"]) / 1e6, r["summary"][method]["median_seconds"])  # type: ignore[call-overload,index]
            for r in records
            if method in r["summary"] and r["summary"][method]["median_seconds"] is not None  # type: ignore[operator,index]
        ]
        if len(points) < 2:
            continue
        xs, ys = [p[0] for p in points], [float(p[1]) for p in points]
        fit = statistics.linear_regression(xs, ys)
        mean = statistics.fmean(ys)
        total = sum((y - mean) ** 2 for y in ys)
        resid = sum((y - (fit.slope * x + fit.intercept)) ** 2 for x, y in zip(xs, ys, strict=True))
        out[method] = {
            "seconds_per_million_rows": fit.slope,
            "intercept_seconds": fit.intercept,
            "r2": (1 - resid / total if total else 1.0) if len(points) > 2 else None,
            "sizes": len(points),
        }
    return out


def print_slopes(found: dict[str, dict[str, float | None]]) -> None:
    """Print the time-vs-N fit per method."""
    if not found:
        return
    print()
    print("time vs N, least-squares fit of the median times")
    print(f"{'method':<18}{'s per 1M rows':>15}{'intercept s':>13}{'R²':>8}   (R² needs 3+ sizes)")
    for method, fit in found.items():
        r2 = fit["r2"]
        print(
            f"{method:<18}{fit['seconds_per_million_rows']:>15.3f}{fit['intercept_seconds']:>13.3f}"
            f"{_fmt(r2, '.4f'):>8}"
        )


def draw(records: list[dict[str, object]], methods: list[str], path: Path) -> None:
    """Draw median ratio to raw per method per N, and median seconds against N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(records, key=lambda r: int(r["rows"]))  # type: ignore[call-overload]
    colors = {
        "rebuilder": "#d62728",
        "rebuilder-relaxed": "#9467bd",
        "raw": "#7f7f7f",
        "alembic": "#1f77b4",
        "sqlite-utils": "#2ca02c",
        "rebuilder-drop": "#ff9896",
        "raw-drop": "#c7c7c7",
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.25, 1]})
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        xs, ys = [], []
        for j, rec in enumerate(sizes):
            stats = rec["summary"].get(method)  # type: ignore[attr-defined]
            if stats and stats["median_ratio"] is not None:
                xs.append(j + (i - (len(methods) - 1) / 2) * width)
                ys.append(stats["median_ratio"])
        bars = left.bar(xs, ys, width, label=LABELS.get(method, method), color=colors.get(method))
        left.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    left.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    left.set_xticks(range(len(sizes)), [f"{int(r['rows']):,} rows" for r in sizes])  # type: ignore[call-overload]
    left.set_ylabel("median time / raw 12-step time (same round)")
    left.set_title("Time relative to a hand-written raw rebuild (lower is faster)")
    left.legend(fontsize=8, loc="upper left", ncols=2)
    top = max((b.get_height() for b in left.patches), default=1.0)
    left.set_ylim(0, max(1.5, top * 1.4))
    for method in methods:
        pts = [
            (int(r["rows"]) / 1e6, r["summary"][method]["median_seconds"])  # type: ignore[call-overload,index]
            for r in sizes
            if method in r["summary"] and r["summary"][method]["median_seconds"] is not None  # type: ignore[operator,index]
        ]
        if pts:
            style = "--" if method in NATIVE else "-"
            right.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                style,
                marker="o",
                label=LABELS.get(method, method),
                color=colors.get(method),
            )
    right.set_xlabel("rows (millions)")
    right.set_ylabel("median seconds")
    right.set_title("Time against table size")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    commits = sorted({str(r.get("git")) for r in sizes})  # type: ignore[attr-defined]
    rounds = sorted({int(r["rounds"]) for r in sizes})  # type: ignore[call-overload]
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


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for dist in ("sqlite-rebuilder", "sqlalchemy", "alembic", "sqlite-utils"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    conn = sqlite3.connect(":memory:")
    found["secure_delete"] = str(conn.execute("PRAGMA secure_delete").fetchone()[0])
    conn.close()
    return found


def _git_head() -> str | None:
    """The commit measured, with ``+dirty`` when rebuilder/ has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "rebuilder"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def report_failures(records: list[dict[str, object]]) -> int:
    """Print the methods that failed verification; return the exit code (1 if any did)."""
    failed = [
        (int(r["rows"]), m)  # type: ignore[call-overload]
        for r in records
        for m, s in r["summary"].items()  # type: ignore[attr-defined]
        if not s["ok"]
    ]
    if failed:
        print("FAILED verification: " + ", ".join(f"{m} at {n:,}" for n, m in failed))
    return 1 if failed else 0


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options every benchmark of rebuilds shares: verification, where files go, settling."""
    parser.add_argument(
        "--quick",
        dest="integrity",
        action="store_false",
        help="verify with quick_check instead of integrity_check (which also checks every index)",
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where fresh copies go (default results/)"
    )
    parser.add_argument("--cache-dir", type=Path, default=RESULTS, help="where source files are cached")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="before each run, wait up to this many seconds for system CPU below --busy (0: off)",
    )
    parser.add_argument("--busy", type=float, default=60.0, help="system CPU busy %% that counts as quiet")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--methods", nargs="+", choices=ALL, default=list(ALL))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--smoke", action="store_true", help="~5k rows, 1 round, no chart")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default results/rebuild.json)")
    parser.add_argument("--chart", type=Path, default=None, help=f"PNG chart (default {CHART})")
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument("--merge", action="store_true", help="keep other sizes already in the JSON file")
    add_run_options(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows, args.rounds, args.settle = [5_000], 1, 0.0
        args.no_chart = args.no_chart or args.chart is None
        args.out = args.out or RESULTS / "smoke.json"
    args.out = args.out or RESULTS / "rebuild.json"
    args.chart = args.chart or CHART
    args.work_dir = args.work_dir or RESULTS
    if BASELINE not in args.methods:
        args.methods.insert(0, BASELINE)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when every method verified at every size, else 1."""
    args = parse(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    records: dict[int, dict[str, object]] = {}
    if args.merge and args.out.exists():
        for rec in json.loads(args.out.read_text()).get("sizes", []):
            records[int(rec["rows"])] = rec
    for rows in args.rows:
        git = _git_head()
        if not args.quiet:
            print(f"== {rows:,} rows, {args.rounds} round(s), methods {' '.join(args.methods)}", flush=True)
        record = bench_size(
            rows,
            args.rounds,
            args.methods,
            args.seed,
            args.work_dir,
            args.cache_dir,
            args.integrity,
            args.quiet,
            Settle(args.settle, args.busy),
        )
        record["when"] = datetime.now(UTC).isoformat(timespec="seconds")
        record["git"] = git
        records[rows] = record
    ordered = [records[k] for k in sorted(records)]
    methods = list(dict.fromkeys(m for r in ordered for m in r["summary"]))  # type: ignore[attr-defined]
    fits = slopes(ordered, methods)
    for record in ordered:
        print_size(record)
    print_slopes(fits)
    result = {
        "benchmark": "friend rebuild: drop address, score VARCHAR(20) -> INTEGER, add FK city_id -> city.id",
        "baseline": BASELINE,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": _versions(),
        "sizes": ordered,
        "slopes": fits,
        "elapsed_seconds": time.time() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nresults: {args.out}")
    if not args.no_chart:
        draw(ordered, methods, args.chart)
        print(f"chart: {args.chart}")
    return report_failures(ordered)


if __name__ == "__main__":
    sys.exit(main())
