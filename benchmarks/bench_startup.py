"""Benchmark the start-up path: rebuilder's no-op sync against Alembic's compare_metadata.

Builds a 20-table schema (9-10 columns per table, a foreign-key chain, a
UNIQUE column, a 2-column index and server defaults on every table), syncs it
once, then measures in the same run:

- warm: ``rebuilder.sync`` with nothing to do, called many times in this
  process (median), against ``alembic.autogenerate.compare_metadata`` on the
  same database (median);
- cold: the first ``rebuilder.sync`` in a fresh process (the sync call alone
  and the whole process), with Alembic's first ``compare_metadata`` beside it;
- import: ``python -c "import sqlalchemy, rebuilder"`` against
  ``python -c "import sqlalchemy"`` (median wall time of each), plus the
  in-process cost of ``import rebuilder`` after SQLAlchemy.

Run::

    .venv/bin/python benchmarks/bench_startup.py
    .venv/bin/python benchmarks/bench_startup.py --warm 1000 --imports 20 --strict

Prints a table with the targets (warm no-op at most 5 ms and at least 10x
faster than compare_metadata; import cost at most 20 ms beyond SQLAlchemy's)
and writes ``benchmarks/results/startup.json``. With ``--strict`` the exit
code is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata as dist
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "startup.json"
TABLES = 20
MODULE = "startup_models"
HEAVY = ("sqlglot", "typer", "rich")

WARM_TARGET_MS = 5.0
RATIO_TARGET = 10.0
IMPORT_TARGET_MS = 20.0


def models_source(tables: int = TABLES) -> str:
    """Return the source of a declarative models module with ``tables`` tables.

    Every table has an integer primary key, a UNIQUE ``code``, server defaults
    on ``name``, ``qty``, ``active`` and ``created_at``, and a 2-column index;
    every table but the first has ``parent_id`` referencing the one before it.

    Args:
        tables: How many tables.

    Returns:
        Python source defining ``Base``.
    """
    lines = [
        "from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Index, Integer,",
        "                        Numeric, String, Text, text)",
        "from sqlalchemy.orm import declarative_base",
        "",
        "Base = declarative_base()",
    ]
    for n in range(tables):
        name = f"table_{n:02d}"
        lines += ["", "", f"class Model{n:02d}(Base):"]
        body = [
            f"__tablename__ = {name!r}",
            f"__table_args__ = (Index('ix_{name}_name_qty', 'name', 'qty'),)",
            "id = Column(Integer, primary_key=True)",
            *([f"parent_id = Column(Integer, ForeignKey('table_{n - 1:02d}.id'))"] if n else []),
            "name = Column(String(100), nullable=False, server_default='')",
            "code = Column(String(32), unique=True)",
            "qty = Column(Integer, nullable=False, server_default=text('0'))",
            "price = Column(Numeric(10, 2))",
            "active = Column(Boolean, nullable=False, server_default=text('1'))",
            "created_at = Column(DateTime, server_default=text('CURRENT_TIMESTAMP'))",
            "note = Column(Text)",
            "score = Column(Float)",
        ]
        lines += [f"    {line}" for line in body]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Timing:
    """Timings of one measurement, in milliseconds.

    Attributes:
        runs: How many timed runs.
        median_ms: The median.
        p90_ms: The 90th percentile.
        min_ms: The fastest run.
    """

    runs: int
    median_ms: float
    p90_ms: float
    min_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Timing:
        """Summarise a list of durations given in seconds."""
        ms = sorted(s * 1000 for s in seconds)
        p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
        return cls(len(ms), statistics.median(ms), p90, ms[0])


def time_calls(call: Callable[[], object], runs: int, warmup: int = 3) -> Timing:
    """Time ``call`` ``runs`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return Timing.of(seconds)


def load_models(directory: Path) -> ModuleType:
    """Import the generated models module from ``directory``."""
    sys.path.insert(0, str(directory))
    try:
        return importlib.import_module(MODULE)
    finally:
        sys.path.remove(str(directory))


def python(code: str, cwd: Path) -> tuple[float, str]:
    """Run ``python -c code`` in a fresh process; return its wall time in seconds and its stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"python -c {code!r} failed:\n{proc.stderr}")
    return wall, proc.stdout


COLD_REBUILDER = """
import time
started = time.perf_counter()
import json, sys
sys.path.insert(0, {directory!r})
import rebuilder
from startup_models import Base
imported = time.perf_counter()
result = rebuilder.sync(Base, {database!r})
done = time.perf_counter()
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {heavy!r})
print(json.dumps([imported - started, done - imported, result.changed, heavy]))
"""

COLD_ALEMBIC = """
import time
started = time.perf_counter()
import json, sys
sys.path.insert(0, {directory!r})
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from startup_models import Base
imported = time.perf_counter()
with create_engine({url!r}).connect() as conn:
    compare_metadata(MigrationContext.configure(conn), Base.metadata)
done = time.perf_counter()
print(json.dumps([imported - started, done - imported]))
"""

IMPORT_MARGINAL = """
import time
import sqlalchemy
started = time.perf_counter()
import rebuilder
print(time.perf_counter() - started)
"""


def cold(template: str, runs: int, cwd: Path, **fields: object) -> dict[str, object]:
    """Run a cold-start script ``runs`` times; summarise the call, the imports and the whole process."""
    walls, imports, calls, extra = [], [], [], []
    code = template.format(**fields)
    for _ in range(runs):
        wall, out = python(code, cwd)
        reported = json.loads(out)
        walls.append(wall)
        imports.append(reported[0])
        calls.append(reported[1])
        extra.append(reported[2:])
    return {
        "call": asdict(Timing.of(calls)),
        "imports": asdict(Timing.of(imports)),
        "process": asdict(Timing.of(walls)),
        "extra": extra[-1],
    }


def import_costs(runs: int, cwd: Path) -> dict[str, object]:
    """Median wall time of ``python -c`` importing SQLAlchemy with and without rebuilder (and Alembic)."""
    commands = {
        "sqlalchemy": "import sqlalchemy",
        "sqlalchemy+rebuilder": "import sqlalchemy, rebuilder",
        "sqlalchemy+alembic": "import sqlalchemy, alembic.autogenerate, alembic.migration",
    }
    python("import sqlalchemy, rebuilder, alembic.autogenerate", cwd)  # warm the file cache
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(runs):
        order = list(commands) if run % 2 == 0 else list(reversed(commands))
        for name in order:
            walls[name].append(python(commands[name], cwd)[0])
    marginal = [float(python(IMPORT_MARGINAL, cwd)[1]) for _ in range(runs)]
    return {
        "wall": {name: asdict(Timing.of(seconds)) for name, seconds in walls.items()},
        "rebuilder_after_sqlalchemy_in_process": asdict(Timing.of(marginal)),
    }


def describe(md: object) -> dict[str, int]:
    """Count what the generated schema holds."""
    tables = list(md.tables.values())  # type: ignore[attr-defined]
    return {
        "tables": len(tables),
        "columns": sum(len(t.columns) for t in tables),
        "foreign_keys": sum(len(t.foreign_keys) for t in tables),
        "indexes": sum(len(t.indexes) for t in tables),
        "server_defaults": sum(1 for t in tables for c in t.columns if c.server_default is not None),
    }


def describe_diff(diff: object) -> str:
    """One line for an entry of Alembic's ``compare_metadata`` output."""
    first = diff[0] if isinstance(diff, list) else diff
    if isinstance(first, tuple) and first:
        subject = getattr(first[1], "name", None) if len(first) > 1 else None
        return f"{first[0]} {subject}" if subject else str(first[0])
    return str(first)


def verdict(met: bool) -> str:
    """Render a target check."""
    return "met" if met else "MISSED"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0, or 1 with ``--strict`` when a target is missed.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=300, help="timed warm rebuilder.sync calls")
    parser.add_argument("--alembic", type=int, default=30, help="timed warm compare_metadata calls")
    parser.add_argument("--cold", type=int, default=7, help="fresh processes per cold measurement")
    parser.add_argument("--imports", type=int, default=10, help="runs of each python -c import command")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON results")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    import rebuilder
    from rebuilder.load import metadata_of
    from rebuilder.version import fingerprint

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rebuilder-bench-startup-") as tmp:
        work = Path(tmp)
        (work / f"{MODULE}.py").write_text(models_source())
        models = load_models(work)
        database = work / "startup.db"
        url = f"sqlite:///{database}"
        applied = rebuilder.sync(models.Base, database)
        if not applied.changed or rebuilder.sync(models.Base, database).changed:
            raise RuntimeError("the setup sync did not leave the database current")
        schema = describe(models.Base.metadata)

        def noop() -> None:
            if rebuilder.sync(models.Base, database).changed:
                raise RuntimeError("the warm sync was not a no-op")

        warm = time_calls(noop, args.warm)
        conn = sqlite3.connect(database)
        warm_conn = time_calls(lambda: rebuilder.sync(models.Base, conn), args.warm)
        conn.close()
        prints = time_calls(lambda: fingerprint(metadata_of(models.Base)), args.warm)

        engine = create_engine(url)
        with engine.connect() as sa_conn:
            context = MigrationContext.configure(sa_conn)
            alembic_diffs = compare_metadata(context, models.Base.metadata)
            alembic = time_calls(lambda: compare_metadata(context, models.Base.metadata), args.alembic)
        engine.dispose()

        cold_rebuilder = cold(
            COLD_REBUILDER, args.cold, work, directory=str(work), database=str(database), heavy=set(HEAVY)
        )
        cold_alembic = cold(COLD_ALEMBIC, args.cold, work, directory=str(work), url=url)
        imports = import_costs(args.imports, work)
    load_after = os.getloadavg()

    alembic_notes = [describe_diff(d) for d in alembic_diffs]
    wall = imports["wall"]
    import_extra = wall["sqlalchemy+rebuilder"]["median_ms"] - wall["sqlalchemy"]["median_ms"]  # type: ignore[index]
    alembic_extra = wall["sqlalchemy+alembic"]["median_ms"] - wall["sqlalchemy"]["median_ms"]  # type: ignore[index]
    marginal = imports["rebuilder_after_sqlalchemy_in_process"]["median_ms"]  # type: ignore[index]
    ratio = alembic.median_ms / warm.median_ms
    cold_call = cold_rebuilder["call"]["median_ms"]  # type: ignore[index]
    cold_alembic_call = cold_alembic["call"]["median_ms"]  # type: ignore[index]
    targets = {
        "warm_noop_ms": {"value": warm.median_ms, "target": f"<= {WARM_TARGET_MS:g}"},
        "warm_speedup_vs_compare_metadata": {"value": ratio, "target": f">= {RATIO_TARGET:g}"},
        "import_cost_beyond_sqlalchemy_ms": {"value": import_extra, "target": f"<= {IMPORT_TARGET_MS:g}"},
    }
    targets["warm_noop_ms"]["met"] = warm.median_ms <= WARM_TARGET_MS
    targets["warm_speedup_vs_compare_metadata"]["met"] = ratio >= RATIO_TARGET
    targets["import_cost_beyond_sqlalchemy_ms"]["met"] = import_extra <= IMPORT_TARGET_MS

    rows = [
        ("warm no-op rebuilder.sync(Base, path)", warm, ""),
        ("warm no-op rebuilder.sync(Base, sqlite3.Connection)", warm_conn, ""),
        ("  of which: fingerprint of the models", prints, ""),
        ("warm alembic compare_metadata", alembic, f"reported: {'; '.join(alembic_notes) or 'nothing'}"),
    ]
    print(
        f"rebuilder start-up benchmark: {schema['tables']} tables, {schema['columns']} columns, "
        f"{schema['foreign_keys']} FKs, {schema['indexes']} indexes, "
        f"{schema['server_defaults']} server defaults"
    )
    print(
        f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} -> {load_after[0]:.2f}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {dist.version('sqlalchemy')}, Alembic {dist.version('alembic')}"
    )
    print()
    print(f"{'measure':<56}{'median':>10}{'p90':>10}{'runs':>6}")
    for label, timing, note in rows:
        print(f"{label:<56}{timing.median_ms:>7.2f} ms{timing.p90_ms:>7.2f} ms{timing.runs:>6}  {note}")
    print()
    print(f"{'cold, fresh process (median of ' + str(args.cold) + ')':<56}{'call':>10}{'process':>12}")
    for label, result in (
        ("rebuilder.sync, no-op", cold_rebuilder),
        ("alembic compare_metadata", cold_alembic),
    ):
        call_ms = result["call"]["median_ms"]  # type: ignore[index]
        process_ms = result["process"]["median_ms"]  # type: ignore[index]
        print(f"{label:<56}{call_ms:>7.2f} ms{process_ms:>9.1f} ms")
    heavy = cold_rebuilder["extra"][1]  # type: ignore[index]
    print(f"  modules the cold no-op loaded from {list(HEAVY)}: {heavy or 'none'}")
    print()
    print(f"{'python -c (median of ' + str(args.imports) + ')':<56}{'wall':>10}")
    for name, timing in wall.items():  # type: ignore[union-attr]
        print(f"{'import ' + name.replace('+', ', '):<56}{timing['median_ms']:>7.1f} ms")
    print(f"{'  rebuilder beyond sqlalchemy (difference of medians)':<56}{import_extra:>7.1f} ms")
    print(f"{'  alembic beyond sqlalchemy (difference of medians)':<56}{alembic_extra:>7.1f} ms")
    print(f"{'  import rebuilder after sqlalchemy, timed in-process':<56}{marginal:>7.1f} ms")
    print()
    print("ratios and targets")
    print(
        f"  warm no-op: {warm.median_ms:.2f} ms (target <= {WARM_TARGET_MS:g} ms): "
        f"{verdict(targets['warm_noop_ms']['met'])}"
    )
    print(
        f"  compare_metadata / warm no-op: {ratio:.1f}x (target >= {RATIO_TARGET:g}x): "
        f"{verdict(targets['warm_speedup_vs_compare_metadata']['met'])}"
    )
    print(
        f"  import cost beyond SQLAlchemy: {import_extra:.1f} ms (target <= {IMPORT_TARGET_MS:g} ms): "
        f"{verdict(targets['import_cost_beyond_sqlalchemy_ms']['met'])}"
    )
    print(f"  cold call, alembic / rebuilder: {cold_alembic_call / cold_call:.1f}x")

    report = {
        "benchmark": "startup",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "sqlalchemy": dist.version("sqlalchemy"),
            "alembic": dist.version("alembic"),
            "platform": platform.platform(),
        },
        "schema": schema,
        "warm": {
            "rebuilder_sync_path": asdict(warm),
            "rebuilder_sync_connection": asdict(warm_conn),
            "fingerprint": asdict(prints),
            "alembic_compare_metadata": asdict(alembic),
            "alembic_diffs_reported": alembic_notes,
            "ratio_compare_metadata_over_sync": ratio,
        },
        "cold": {
            "rebuilder": cold_rebuilder,
            "alembic": cold_alembic,
            "heavy_modules_loaded_by_noop": heavy,
        },
        "imports": {**imports, "rebuilder_extra_ms": import_extra, "alembic_extra_ms": alembic_extra},
        "targets": targets,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    missed = [name for name, target in targets.items() if not target["met"]]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
