"""Benchmark planning at scale: check and plan against Alembic at N tables, the no-op sync, a cold edit.

In one run:

- ``check``, ``plan``: ``rebuilder.check`` and ``rebuilder.plan`` on a file
  synced to a schema of N tables (8 columns each, a UNIQUE, a CHECK, server
  defaults, 2 indexes, an FK to the previous table), beside Alembic's
  ``compare_metadata`` on the same file and models. Each call is timed in its
  own fresh process, after the imports (rebuilder's lazily imported modules
  included) and the models, so no cache of an earlier call helps it; the
  same call again in that process is reported as "warm". Rounds interleaved
  and rotated; median of the rounds. Verified: ``check`` finds nothing,
  ``plan`` has no step.
- ``noop``: the start-up ``rebuilder.sync`` with the version current, at 20,
  100 and 500 tables, called many times in this process (median), and the
  statements it runs on a ``sqlite3.Connection`` (verified: the version row's
  SELECT alone).
- ``edit``: the issue's schema-only change (``friend.name`` ``VARCHAR(100)``
  -> ``VARCHAR(200)``, ``models.V1WidenBase``) on the 1M-row table
  of ``generate.py``, timed around ``rebuilder.sync`` in a fresh process that
  has imported only ``rebuilder`` and the models (``edit-cold``: sqlglot, the
  differ and the planner are imported inside the timing), and with those
  imported first (``edit-warm``), against the hand-written raw 12-step
  rebuild of ``methods.py`` (``raw``), each on a fresh fsynced copy, rounds
  interleaved. Verified: one in-place step recorded, ``check`` empty, rows
  and ``integrity_check``.

Run::

    .venv/bin/python benchmarks/bench_scale.py                  # N = 10 100 500, 1M rows, 3 rounds
    .venv/bin/python benchmarks/bench_scale.py --smoke          # N = 3 10, 3k rows, 1 round

Writes ``benchmarks/results/scale.json`` (``scale-smoke.json`` for ``--smoke``).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _entry in (str(HERE), str(ROOT)):
    if _entry not in sys.path:
        sys.path.insert(0, _entry)

from generate import DEFAULT_SEED, RESULTS, generate  # noqa: E402
from harness import clean, fresh_copy, git_head, rotate, versions  # noqa: E402

PLANNERS = ("check", "plan", "alembic")
EDITS = ("raw", "edit-cold", "edit-warm")
GOALS = {
    "check_500_seconds": 0.2,
    "check_over_compare_metadata_500": 0.15,
    "per_table_flatness": 0.3,
    "noop_20_ms": 2.0,
    "noop_500_ms": 20.0,
    "edit_over_raw": 0.05,
}


def metadata(tables: int) -> Any:
    """The schema: ``tables`` tables of 8 columns, a UNIQUE, a CHECK, server defaults, 2 indexes, an FK."""
    from sqlalchemy import (
        CheckConstraint,
        Column,
        DateTime,
        ForeignKey,
        Index,
        Integer,
        MetaData,
        Numeric,
        String,
        Table,
        Text,
        text,
    )

    md = MetaData()
    for n in range(tables):
        name = f"t{n:04d}"
        parent = [ForeignKey(f"t{n - 1:04d}.id")] if n else []
        Table(
            name,
            md,
            Column("id", Integer, primary_key=True),
            Column("parent_id", Integer, *parent),
            Column("name", String(100), nullable=False, server_default=""),
            Column("code", String(32), unique=True),
            Column("qty", Integer, nullable=False, server_default=text("0")),
            Column("price", Numeric(10, 2)),
            Column("created_at", DateTime, server_default=text("CURRENT_TIMESTAMP")),
            Column("note", Text),
            CheckConstraint("qty >= 0", name=f"ck_{name}_qty"),
            Index(f"ix_{name}_name_qty", "name", "qty"),
            Index(f"ix_{name}_created", "created_at"),
        )
    return md


# --- workers: one call in a fresh process ---------------------------------------------------------


def _lazy_imports() -> None:
    import rebuilder.apply
    import rebuilder.diff
    import rebuilder.guards
    import rebuilder.planner
    import rebuilder.sides  # noqa: F401


def _planner_call(kind: str, tables: int, path: Path) -> tuple[Callable[[], object], Callable[[object], int]]:
    """The call to time for ``kind``, and what counts in its result (must be 0 for rebuilder)."""
    import rebuilder

    md = metadata(tables)
    if kind == "alembic":
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext
        from sqlalchemy import create_engine

        engine = create_engine(f"sqlite:///{path}")

        def alembic() -> object:
            with engine.connect() as conn:
                return compare_metadata(MigrationContext.configure(conn), md)

        return alembic, lambda found: len(found)  # type: ignore[arg-type]
    _lazy_imports()
    if kind == "check":
        return lambda: rebuilder.check(md, path), lambda found: len(found)  # type: ignore[arg-type]
    return lambda: rebuilder.plan(md, path), lambda found: len(found.steps)  # type: ignore[attr-defined]


def _edit_call(kind: str, path: Path) -> Callable[[], object]:
    if kind == "raw":
        from methods import _raw

        return _raw(path)
    import models

    import rebuilder

    if kind == "edit-warm":
        _lazy_imports()
        import sqlglot  # noqa: F401
    return lambda: rebuilder.sync(models.V1WidenBase, path)


def worker(kind: str, size: int, path: Path) -> dict[str, object]:
    """Time one call (and, for the planners, the same call again) in this fresh process."""
    if kind in PLANNERS:
        call, count = _planner_call(kind, size, path)
    else:
        call, count = _edit_call(kind, path), lambda found: 0
    cpu, started = time.process_time(), time.perf_counter()
    found = call()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    record: dict[str, object] = {"seconds": seconds, "cpu_seconds": cpu, "found": count(found)}
    if kind in PLANNERS:
        started = time.perf_counter()
        call()
        record["warm_seconds"] = time.perf_counter() - started
    return record


def _spawn(kind: str, size: int, path: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__)), "--worker", kind, str(size), str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} at {size} failed: {proc.stderr.strip()[-500:]}")
    found: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


# --- check and plan at N tables -------------------------------------------------------------------


def bench_planners(sizes: list[int], rounds: int, work: Path) -> dict[str, Any]:
    """Each planner at each size, interleaved and rotated; medians, per-table cost, ratios."""
    import rebuilder

    out: dict[str, Any] = {}
    for size in sizes:
        path = work / f"scale-{size}.db"
        clean(path)
        rebuilder.sync(metadata(size), path)
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in PLANNERS}
        for rnd in range(rounds):
            for kind in rotate(list(PLANNERS), rnd):
                runs[kind].append(_spawn(kind, size, path))
        clean(path)
        out[str(size)] = _summarize_planners(size, runs)
    return out


def _summarize_planners(size: int, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"runs": runs}
    for kind, found in runs.items():
        med = statistics.median(r["seconds"] for r in found)
        summary[kind] = {
            "median_seconds": med,
            "median_cpu_seconds": statistics.median(r["cpu_seconds"] for r in found),
            "median_warm_seconds": statistics.median(r["warm_seconds"] for r in found),
            "per_table_ms": 1000 * med / size,
            "found": sorted({r["found"] for r in found}),
        }
    for kind in ("check", "plan"):
        summary[kind]["over_compare_metadata"] = (
            summary[kind]["median_seconds"] / summary["alembic"]["median_seconds"]
        )
    summary["ok"] = summary["check"]["found"] == [0] and summary["plan"]["found"] == [0]
    return summary


# --- the no-op sync ---------------------------------------------------------------------------------


def bench_noop(sizes: list[int], calls: int, work: Path) -> dict[str, Any]:
    """The start-up sync with the version current: median of ``calls``, and the statements it runs."""
    import rebuilder

    out: dict[str, Any] = {}
    for size in sizes:
        path, md = work / f"noop-{size}.db", metadata(size)
        clean(path)
        rebuilder.sync(md, path)
        conn = sqlite3.connect(path, isolation_level=None)
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        rebuilder.sync(md, conn)
        conn.close()
        seconds = []
        for _ in range(calls + 3):
            started = time.perf_counter()
            changed = rebuilder.sync(md, path).changed
            seconds.append(time.perf_counter() - started)
            if changed:
                raise RuntimeError("the no-op sync changed something")
        seconds = seconds[3:]
        clean(path)
        out[str(size)] = {
            "median_ms": 1000 * statistics.median(seconds),
            "min_ms": 1000 * min(seconds),
            "statements": statements,
            "ok": statements == ['SELECT version_num FROM main."rebuilder_version" LIMIT 2'],
        }
    return out


# --- a schema-only change on a large table ------------------------------------------------------


def _edit_problems(path: Path, kind: str, rows: int) -> list[str]:
    import models

    import rebuilder

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        problems = []
        if conn.execute("SELECT count(*) FROM friend").fetchone()[0] != rows:
            problems.append("rows lost or added")
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("integrity_check failed")
        if kind != "raw":
            last = conn.execute("SELECT steps, summary FROM rebuilder_history ORDER BY id DESC LIMIT 1")
            steps, summary = last.fetchone()
            if steps != 1 or not str(summary).startswith("edit table friend in place"):
                problems.append(f"applied {steps} step(s): {summary}")
    finally:
        conn.close()
    base = models.V2Base if kind == "raw" else models.V1WidenBase
    if rebuilder.check(base, path):
        problems.append("check found differences")
    return problems


def bench_edit(rows: int, rounds: int, work: Path, cache: Path) -> dict[str, Any]:
    """The cold and warm in-place edit against the raw rebuild, each round on fresh fsynced copies."""
    source = generate(rows, DEFAULT_SEED, cache_dir=cache, quiet=True)
    copy = work / f"scale-edit-{os.getpid()}.db"
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in EDITS}
    for rnd in range(rounds):
        for kind in rotate(list(EDITS), rnd):
            fresh_copy(source, copy, sync=True)
            try:
                found = _spawn(kind, 0, copy)
                found["problems"] = _edit_problems(copy, kind, rows)
            finally:
                clean(copy)
            runs[kind].append(found)
    for rnd in range(rounds):
        for kind in EDITS:
            runs[kind][rnd]["ratio"] = runs[kind][rnd]["seconds"] / runs["raw"][rnd]["seconds"]
    return {
        "rows": rows,
        "runs": runs,
        **{
            kind: {
                "median_seconds": statistics.median(r["seconds"] for r in found),
                "median_ratio": statistics.median(r["ratio"] for r in found),
            }
            for kind, found in runs.items()
        },
        "ok": all(not r["problems"] for found in runs.values() for r in found),
    }


# --- report -----------------------------------------------------------------------------------------


def goals(planners: dict[str, Any], noop: dict[str, Any], edit: dict[str, Any]) -> dict[str, Any]:
    """Each goal of the issue against the figures of this run (only at the sizes the issue names)."""
    found: dict[str, Any] = {}
    if "500" in planners:
        check = planners["500"]["check"]
        found["check_500_seconds"] = check["median_seconds"]
        found["check_over_compare_metadata_500"] = check["over_compare_metadata"]
    if {"10", "100", "500"} <= planners.keys():
        for kind in ("check", "plan"):
            spread = planners["500"][kind]["per_table_ms"] / planners["10"][kind]["per_table_ms"]
            found[f"{kind}_per_table_500_over_10"] = spread
            # What one more table costs, 100 -> 500 against 10 -> 100: the fixed cost of a call cancels.
            t10, t100, t500 = (planners[n][kind]["median_seconds"] for n in ("10", "100", "500"))
            found[f"{kind}_marginal_500_over_10"] = ((t500 - t100) / 400) / ((t100 - t10) / 90)
    for size, key in (("20", "noop_20_ms"), ("500", "noop_500_ms")):
        if size in noop:
            found[key] = noop[size]["median_ms"]
    found["edit_over_raw"] = edit["edit-cold"]["median_ratio"]
    return found


def met(name: str, value: float) -> bool:
    if name.endswith("_over_10"):
        return abs(value - 1) <= GOALS["per_table_flatness"]
    return value <= GOALS[name]


def show(
    planners: dict[str, Any], noop: dict[str, Any], edit: dict[str, Any], reached: dict[str, Any]
) -> None:
    print(f"{'N':>5} {'method':<9}{'median s':>10}{'cpu s':>8}{'warm s':>9}{'ms/table':>10}{'×alembic':>10}")
    for size, summary in planners.items():
        for kind in PLANNERS:
            s = summary[kind]
            ratio = s.get("over_compare_metadata")
            print(
                f"{size:>5} {kind:<9}{s['median_seconds']:>10.3f}{s['median_cpu_seconds']:>8.3f}"
                f"{s['median_warm_seconds']:>9.3f}{s['per_table_ms']:>10.2f}"
                f"{'' if ratio is None else format(ratio, '.3f'):>10}"
            )
    print()
    for size, summary in noop.items():
        ms, runs = summary["median_ms"], summary["statements"]
        print(f"no-op sync at {size:>4} tables: median {ms:.2f} ms; runs {runs}")
    print()
    print(f"edit on {edit['rows']:,} rows (fresh process each):")
    for kind in EDITS:
        cpu = statistics.median(r["cpu_seconds"] for r in edit["runs"][kind])
        seconds, ratio = edit[kind]["median_seconds"], edit[kind]["median_ratio"]
        print(f"  {kind:<10} median {seconds:.3f} s (cpu {cpu:.3f} s)  ×raw {ratio:.3f}")
    print()
    for name, value in reached.items():
        print(f"goal {name}: {value:.3f} -> {'met' if met(name, value) else 'MISSED'}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--noop-tables", type=int, nargs="+", default=[20, 100, 500])
    parser.add_argument("--noop-calls", type=int, default=50)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="N = 3 10, no-op at 5, 3k rows, 1 round")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--work-dir", type=Path, default=RESULTS)
    parser.add_argument("--cache-dir", type=Path, default=RESULTS)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.tables, args.noop_tables, args.noop_calls, args.rows, args.rounds = [3, 10], [5], 3, 3000, 1
    args.out = args.out or RESULTS / ("scale-smoke.json" if args.smoke else "scale.json")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when every result verified, else 1."""
    if argv is None and sys.argv[1:2] == ["--worker"]:
        kind, size, path = sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
        print(json.dumps(worker(kind, size, path)))
        return 0
    args = parse(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    load_before, git = os.getloadavg(), git_head()
    planners = bench_planners(args.tables, args.rounds, args.work_dir)
    noop = bench_noop(args.noop_tables, args.noop_calls, args.work_dir)
    edit = bench_edit(args.rows, args.rounds, args.work_dir, args.cache_dir)
    reached = goals(planners, noop, edit)
    if not args.quiet:
        show(planners, noop, edit, reached)
    ok = all(s["ok"] for s in planners.values()) and all(s["ok"] for s in noop.values()) and edit["ok"]
    report = {
        "benchmark": "scale: check and plan at N tables beside compare_metadata, no-op sync, cold edit",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git,
        "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()},
        "versions": versions(),
        "planners": planners,
        "noop": noop,
        "edit": edit,
        "goals": {n: {"value": v, "met": met(n, v)} for n, v in reached.items()},
        "ok": ok,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    if not args.quiet:
        print(f"\nresults: {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
