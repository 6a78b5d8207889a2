"""The one harness every timed benchmark suite runs on: rounds, rotation, workers, verification, reports.

A suite (``bench_rebuild.py``, ``bench_paths.py``) is data: its methods, the
method every ratio divides by, how to read the source once per size and check
a result, and the extra columns of its table. The harness does the rest, the
same way for every suite:

- for each size, the seeded source file from ``generate.py``;
- rounds interleaved, the method order rotated by one each round;
- every method run on a fresh ``shutil`` copy of the source (fsynced first if
  the suite or ``--sync-copy`` asks), after waiting for the machine to settle,
  in its own ``methods.py`` worker subprocess, which times the call alone;
- each result verified outside the timing; a method that fails is reported as
  FAILED, its time is not used, and the command exits 1;
- per round, each time divided by the baseline's; medians, peak RSS, the size
  after, a least-squares slope once there are two sizes;
- one JSON file, and a table per size on stdout.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from generate import DEFAULT_SEED, RESULTS, generate  # noqa: E402

MB = 1e6
SIDES = ("", "-journal", "-wal", "-shm")
Record = dict[str, Any]
"""One size's JSON-ready results: rows, rounds, runs, summary and the suite's own fields."""


@dataclass
class Run:
    """One method on one fresh copy."""

    method: str
    round: int
    seconds: float | None = None
    cpu_seconds: float | None = None
    ratio: float | None = None
    allowance: float | None = None
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


@dataclass
class Reference:
    """What a suite reads from one size's source, once, before any run.

    Attributes:
        check: (result file, method, full integrity_check) -> the result's problems.
        problems: Problems a method has before it runs (a wrong plan), per method.
        record: Extra fields for the size's JSON record.
    """

    check: Callable[[Path, str, bool], list[str]]
    problems: dict[str, list[str]] = field(default_factory=dict)
    record: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    """One suite-specific column of the per-size table: (method, its summary) -> cell text."""

    head: str
    width: int
    cell: Callable[[str, dict[str, Any]], str]
    align: str = ">"


@dataclass(frozen=True)
class Suite:
    """One benchmark: what it times and how its results are checked and shown.

    Attributes:
        name: Names its JSON (``results/<name>.json``) and its work files.
        title: What the JSON says it measures.
        methods: Every method it can run, in their default order.
        required: Methods that always run (the baseline first), put in front.
        default_rows: Sizes when ``--rows`` is not given.
        smoke_rows: The size of ``--smoke`` (one round, no settling).
        smoke_name: Names the JSON of ``--smoke``.
        sync_copy: Fsync each fresh copy before its run by default.
        read: (source file, seed) -> the size's Reference.
        columns: Extra table columns, after the medians.
        width: The width of the method column.
        summarize: (method, its verified runs) -> extra summary fields.
        after_round: Called with one round's runs by method, after the ratios are set.
        footer: Printed under each size's table.
        extra: Extra top-level JSON fields.
        chart: Draws (records, methods, path); None for a suite without a chart.
        chart_path: Where the chart goes by default.
    """

    name: str
    title: str
    methods: tuple[str, ...]
    required: tuple[str, ...]
    default_rows: tuple[int, ...]
    smoke_rows: int
    smoke_name: str
    sync_copy: bool
    read: Callable[[Path, int], Reference]
    columns: tuple[Column, ...] = ()
    width: int = 18
    summarize: Callable[[str, list[Run]], dict[str, object]] = lambda method, good: {}
    after_round: Callable[[dict[str, Run]], None] = lambda found: None
    footer: Callable[[Record], None] = lambda record: None
    extra: dict[str, object] = field(default_factory=dict)
    chart: Callable[[list[Record], list[str], Path], None] | None = None
    chart_path: Path | None = None

    @property
    def baseline(self) -> str:
        return self.required[0]


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


# --- one run -------------------------------------------------------------------------------------


def clean(work: Path) -> None:
    """Remove a work file and any journal beside it."""
    for suffix in SIDES:
        Path(f"{work}{suffix}").unlink(missing_ok=True)


def fresh_copy(source: Path, work: Path, sync: bool = False) -> None:
    """Copy the source to ``work``; with ``sync``, flush the copy to disk before anything is timed.

    A fresh copy is hundreds of MB of dirty pages in the page cache. Without the
    flush, the method's first fsync (its COMMIT) writes the whole copy back, about
    0.1 s at 1M rows here: that times the copy, not the method, and would swamp
    a path that itself writes a few pages.
    """
    clean(work)
    shutil.copyfile(source, work)
    if sync:
        fd = os.open(work, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _work(method: str, work: Path) -> dict[str, Any] | str:
    """Run one method's worker on ``work``: its measurements, or the last line of its error."""
    proc = subprocess.run(
        [sys.executable, str(HERE / "methods.py"), method, str(work)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout or f"exit {proc.returncode}").strip().splitlines()
        return lines[-1] if lines else f"exit {proc.returncode}"
    measured: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return measured


def _freelist(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    finally:
        conn.close()


def run_method(
    method: str, source: Path, work: Path, rnd: int, args: argparse.Namespace, ref: Reference
) -> Run:
    """Time one method on a fresh copy of ``source`` and verify its result."""
    run = Run(method, rnd)
    fresh_copy(source, work, args.sync_copy)
    run.waited, run.busy_before = Settle(args.settle, args.busy).wait()
    run.load_before = os.getloadavg()[0]
    try:
        measured = _work(method, work)
        if isinstance(measured, str):
            run.error = measured
            return run
        run.seconds = float(measured["seconds"])
        run.cpu_seconds = float(measured["cpu_seconds"])
        run.rss_before = int(measured["rss_before"])
        run.peak_rss = int(measured["peak_rss"])
        run.rss_growth = int(measured["rss_growth"])
        run.size_after = work.stat().st_size
        run.freelist_pages = _freelist(work)
        run.problems = ref.problems.get(method, []) + ref.check(work, method, args.integrity)
    finally:
        clean(work)
    return run


# --- one size ------------------------------------------------------------------------------------


def rotate(methods: list[str], by: int) -> list[str]:
    k = by % len(methods)
    return methods[k:] + methods[:k]


def _progress(suite: Suite, run: Run, rows: int, rounds: int) -> None:
    status = f"{run.seconds:.3f} s (cpu {run.cpu_seconds:.3f} s)" if run.ok else "FAILED"
    status += f"  load {run.load_before:.2f}"
    if run.busy_before is not None:
        status += f", cpu busy {run.busy_before:.0f}% after {run.waited:.1f} s wait"
    print(f"  N={rows:,} round {run.round + 1}/{rounds} {run.method:<{suite.width - 1}} {status}", flush=True)


def bench_size(suite: Suite, args: argparse.Namespace, rows: int) -> Record:
    """Run every round at one size; return the JSON-ready record."""
    source = generate(rows, args.seed, cache_dir=args.cache_dir, quiet=args.quiet)
    ref = suite.read(source, args.seed)
    work = args.work_dir / f"{suite.name}-{rows}-{os.getpid()}.db"
    runs: list[Run] = []
    orders = [rotate(list(args.methods), rnd) for rnd in range(args.rounds)]
    for rnd, order in enumerate(orders):
        for method in order:
            runs.append(run_method(method, source, work, rnd, args, ref))
            if not args.quiet:
                _progress(suite, runs[-1], rows, args.rounds)
    for rnd in range(args.rounds):
        _ratios(suite, {r.method: r for r in runs if r.round == rnd})
    return {
        "rows": rows,
        "seed": args.seed,
        "rounds": args.rounds,
        "copy_synced": args.sync_copy,
        "source_bytes": source.stat().st_size,
        "orders": orders,
        **ref.record,
        "runs": [vars(r) | {"ok": r.ok} for r in runs],
        "summary": _summary(suite, runs, list(args.methods)),
    }


def _ratios(suite: Suite, found: dict[str, Run]) -> None:
    """Set each run's ratio to the baseline's time in its own round."""
    base = found.get(suite.baseline)
    if base is None or not base.ok or base.seconds is None:
        return
    for run in found.values():
        if run.ok and run.seconds is not None:
            run.ratio = run.seconds / base.seconds
    suite.after_round(found)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _summary(suite: Suite, runs: list[Run], methods: list[str]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for method in methods:
        mine = [r for r in runs if r.method == method]
        good = [r for r in mine if r.ok]
        out[method] = {
            "ok": len(good) == len(mine) and bool(mine),
            "failures": [r.error or "; ".join(r.problems) for r in mine if not r.ok],
            "median_seconds": median([r.seconds for r in good if r.seconds is not None]),
            "median_cpu_seconds": median([r.cpu_seconds for r in good if r.cpu_seconds is not None]),
            "median_ratio": median([r.ratio for r in good if r.ratio is not None]),
            "max_peak_rss": max((r.peak_rss or 0 for r in good), default=None),
            "max_rss_growth": max((r.rss_growth or 0 for r in good), default=None),
            "median_size_after": median([float(r.size_after) for r in good if r.size_after]),
            **suite.summarize(method, good),
        }
    return out


# --- reports -------------------------------------------------------------------------------------


def fmt(value: float | None, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def _size_cells(stats: dict[str, Any], source_bytes: int) -> str:
    size = stats["median_size_after"]
    pct = 100 * (size / source_bytes - 1) if size else None
    return f"{fmt(size / MB if size else None, '.0f') + ' MB':>8}{fmt(pct, '+.0f') + '%':>5}"


def print_size(suite: Suite, record: Record) -> None:
    """Print the per-round table for one size."""
    rows, rounds, source_bytes = int(record["rows"]), int(record["rounds"]), int(record["source_bytes"])
    runs, summary, width = record["runs"], record["summary"], suite.width
    print()
    print(
        f"N = {rows:,} rows, source {source_bytes / MB:.0f} MB, {rounds} round(s), rebuilder at "
        f"{record.get('git')}; ×{suite.baseline} = time / {suite.baseline}'s time in the same round; "
        f"fresh copies {'fsynced' if record.get('copy_synced') else 'not fsynced'} before each run"
    )
    heads = [f"r{i + 1} s" for i in range(rounds)] + [f"r{i + 1} ×{suite.baseline}" for i in range(rounds)]
    head = f"{'method':<{width}}" + "".join(f"{h:>9}" for h in heads)
    head += f"{'median s':>10}{'med ×' + suite.baseline:>10}"
    head += "".join(f"{c.head:{c.align}{c.width}}" for c in suite.columns) + f"{'size after':>13}"
    print(head)
    print("-" * len(head))
    for method, stats in summary.items():
        mine = {r["round"]: r for r in runs if r["method"] == method}
        if not stats["ok"]:
            cells = "".join(
                f"{'FAILED' if not mine.get(i, {}).get('ok') else fmt(mine[i]['seconds'], '.3f'):>9}"
                for i in range(rounds)
            )
            print(f"{method:<{width}}{cells}   FAILED: {stats['failures'][0][:200]}")
            continue
        line = f"{method:<{width}}" + "".join(f"{fmt(mine[i]['seconds'], '.3f'):>9}" for i in range(rounds))
        line += "".join(f"{fmt(mine[i]['ratio'], '.3f'):>9}" for i in range(rounds))
        line += f"{fmt(stats['median_seconds'], '.3f'):>10}{fmt(stats['median_ratio'], '.3f'):>10}"
        line += "".join(f"{c.cell(method, stats):{c.align}{c.width}}" for c in suite.columns)
        print(line + _size_cells(stats, source_bytes))
    suite.footer(record)


def medians(records: list[Record], method: str) -> list[tuple[float, float]]:
    """(millions of rows, median seconds) of one method, per size where it has a median."""
    return [
        (int(r["rows"]) / 1e6, float(r["summary"][method]["median_seconds"]))
        for r in records
        if method in r["summary"] and r["summary"][method]["median_seconds"] is not None
    ]


def slopes(records: list[Record], methods: list[str]) -> dict[str, dict[str, float | None]]:
    """Least-squares fit of median seconds against rows, per method (seconds per million rows)."""
    out: dict[str, dict[str, float | None]] = {}
    for method in methods:
        points = medians(records, method)
        if len(points) < 2:
            continue
        xs, ys = [p[0] for p in points], [p[1] for p in points]
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
        print(
            f"{method:<18}{fit['seconds_per_million_rows']:>15.3f}{fit['intercept_seconds']:>13.3f}"
            f"{fmt(fit['r2'], '.4f'):>8}"
        )


def report_failures(records: list[Record]) -> int:
    """Print the methods that failed verification; return the exit code (1 if any did)."""
    failed = [(int(r["rows"]), m) for r in records for m, s in r["summary"].items() if not s["ok"]]
    if failed:
        print("FAILED verification: " + ", ".join(f"{m} at {n:,}" for n, m in failed))
    return 1 if failed else 0


def versions() -> dict[str, str]:
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


def git_head() -> str | None:
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


# --- the command line ----------------------------------------------------------------------------


def parse(suite: Suite, description: str, argv: list[str] | None) -> argparse.Namespace:
    """The options every suite shares; ``--smoke`` and the defaults filled in."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, nargs="+", default=list(suite.default_rows))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--methods", nargs="+", choices=suite.methods, default=list(suite.methods))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--smoke", action="store_true", help=f"~{suite.smoke_rows:,} rows, 1 round, no settling, no chart"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help=f"JSON results (default results/{suite.name}.json)"
    )
    parser.add_argument("--merge", action="store_true", help="keep other sizes already in the JSON file")
    if suite.chart is not None:
        parser.add_argument(
            "--chart", type=Path, default=None, help=f"PNG chart (default {suite.chart_path})"
        )
        parser.add_argument("--no-chart", action="store_true")
    parser.add_argument(
        "--quick",
        dest="integrity",
        action="store_false",
        help="verify with quick_check instead of integrity_check (which also checks every index)",
    )
    parser.add_argument("--work-dir", type=Path, default=RESULTS, help="where fresh copies go")
    parser.add_argument("--cache-dir", type=Path, default=RESULTS, help="where source files are cached")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="before each run, wait up to this many seconds for system CPU below --busy (0: off)",
    )
    parser.add_argument("--busy", type=float, default=60.0, help="system CPU busy %% that counts as quiet")
    parser.add_argument(
        "--sync-copy",
        action=argparse.BooleanOptionalAction,
        default=suite.sync_copy,
        help="fsync each fresh copy before its run, so the method's first COMMIT does not also write "
        "the copy's dirty pages back",
    )
    return _settled(suite, parser.parse_args(argv))


def _settled(suite: Suite, args: argparse.Namespace) -> argparse.Namespace:
    if args.smoke:
        args.rows, args.rounds, args.settle = [suite.smoke_rows], 1, 0.0
        args.out = args.out or RESULTS / f"{suite.smoke_name}.json"
        if suite.chart is not None:
            args.no_chart = args.no_chart or args.chart is None
    args.out = args.out or RESULTS / f"{suite.name}.json"
    if suite.chart is not None:
        args.chart = args.chart or suite.chart_path
    for needed in reversed(suite.required):
        if needed not in args.methods:
            args.methods.insert(0, needed)
    return args


def main(suite: Suite, description: str, argv: list[str] | None = None) -> int:
    """Run a suite; return 0 when every method verified at every size, else 1."""
    args = parse(suite, description, argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    records: dict[int, Record] = {}
    if args.merge and args.out.exists():
        records = {int(r["rows"]): r for r in json.loads(args.out.read_text()).get("sizes", [])}
    for rows in args.rows:
        git = git_head()
        if not args.quiet:
            print(f"== {rows:,} rows, {args.rounds} round(s), methods {' '.join(args.methods)}", flush=True)
        record = bench_size(suite, args, rows)
        records[rows] = record | {"when": datetime.now(UTC).isoformat(timespec="seconds"), "git": git}
    ordered = [records[k] for k in sorted(records)]
    methods = list(dict.fromkeys(m for r in ordered for m in r["summary"]))
    fits = slopes(ordered, methods)
    for record in ordered:
        print_size(suite, record)
    print_slopes(fits)
    _write(suite, args.out, ordered, fits, started)
    if suite.chart is not None and not args.no_chart:
        suite.chart(ordered, methods, args.chart)
        print(f"chart: {args.chart}")
    return report_failures(ordered)


def _write(suite: Suite, out: Path, records: list[Record], fits: dict[str, object], started: float) -> None:
    result = {
        "benchmark": suite.title,
        "baseline": suite.baseline,
        **suite.extra,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": versions(),
        "sizes": records,
        "slopes": fits,
        "elapsed_seconds": time.time() - started,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\nresults: {out}")
