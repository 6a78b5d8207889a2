"""Benchmark the paths that need no rebuild: in-place edits and native ALTERs, against a raw rebuild.

On the seeded ``friend`` table of ``generate.py`` (v1 schema), one interleaved
run times, each on a fresh copy of the source and in its own subprocess:

- ``raw``: the hand-written 12-step rebuild of ``bench_rebuild.py`` (the
  baseline every ratio divides by, in the same round);
- ``rebuilder-edit``: ``name`` ``VARCHAR(100)`` -> ``VARCHAR(200)`` and
  ``address``'s default changed (``V1EditBase``), planned as one in-place
  edit of the table's SQL in ``sqlite_schema``;
- ``rebuilder-edit-validated``: the same plus the FK ``city_id -> city.id`` and
  NOT NULL on ``email`` (``V1EditCheckedBase``), in place after one
  validating read scan;
- ``scan``: one plain read scan, ``SELECT count(*) FROM friend WHERE address
  IS NULL`` (no index covers ``address``), so the "plus one read scan"
  allowance is measured in the same round;
- ``rebuilder-add``: ``ALTER TABLE ADD COLUMN`` of a nullable column with a
  constant default (``V1AddBase``);
- ``rebuilder-rename``: ``ALTER TABLE RENAME COLUMN address TO street``
  (``V1RenameBase``, ``renames=["friend.address=street"]``);
- ``rebuilder-drop``: ``ALTER TABLE DROP COLUMN address`` (``V1DropBase``).

Each fresh copy is fsynced before its run (``--no-sync-copy``: not), so no
method's COMMIT pays for writing the copy back. Each subprocess imports what
its method needs first and times the call alone.
Every result is verified outside the timing: the plan rebuilder makes for the
source (one step, of the expected kind), the step it recorded in its history,
``PRAGMA integrity_check``, ``rebuilder.check(models, path) == []``, the row
count, per-column aggregates, a seeded sample of rows (values and
``typeof``), the indexes, ``foreign_key_check``, and ``PRAGMA table_xinfo`` /
``foreign_key_list`` against the source's with exactly the intended change.

Run::

    .venv/bin/python benchmarks/bench_paths.py --rows 1000000 --rounds 3
    .venv/bin/python benchmarks/bench_paths.py --smoke      # ~3k rows, 1 round

Writes ``benchmarks/results/paths.json`` (``paths-smoke.json`` for ``--smoke``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _entry in (str(HERE), str(ROOT)):
    if _entry not in sys.path:
        sys.path.insert(0, _entry)

from bench_rebuild import (  # noqa: E402
    Settle,
    _fmt,
    _git_head,
    _median,
    _rotate,
    _versions,
    add_run_options,
    report_failures,
)
from generate import DEFAULT_SEED, RESULTS, generate  # noqa: E402
from models import (  # noqa: E402
    ADDED_COLUMN,
    ADDED_DEFAULT,
    EDIT_ADDRESS_DEFAULT,
    EDIT_NAME_TYPE,
    RENAMED_TO,
    V1_COLUMNS,
)
from verify import AGGREGATES  # noqa: E402

BASELINE = "raw"
SCAN = "scan"
SCAN_SQL = "SELECT count(*) FROM friend WHERE address IS NULL"
"""The plain read scan: a predicate on a column no index covers, so every row is read."""
IN_PLACE_TARGET = 0.05
DROP_TARGET = 0.25
SAMPLE = 500
SMOKE_ROWS = 3_000
MB = 1e6

Action = Callable[[], None]
XInfo = tuple[object, ...]
"""One ``PRAGMA table_xinfo`` row: (cid, name, type, notnull, dflt_value, pk, hidden)."""


@dataclass(frozen=True)
class Method:
    """One timed path and what its result must look like.

    Attributes:
        name: The method's name on the command line and in the JSON.
        label: What the table calls it.
        models: The ``models.py`` Base the result must match (``rebuilder.check``).
        sync_options: Extra ``rebuilder.sync`` options (rebuilder methods only).
        step_type: The class of the single step rebuilder must plan, if a rebuilder method.
        step_prefix: How that step's text begins.
        target: The issue's target as a ratio to raw (plus one scan if ``plus_scan``).
        plus_scan: The target allows one read scan on top.
        column_map: Source column -> result column (None: gone) where they differ.
        score_integer: Scores come back as integers (the full v2 change).
        added: Result columns the source lacks -> (value, typeof) in every row.
        foreign_keys: ``(from, table, to)`` the result's friend table must have.
    """

    name: str
    label: str
    models: str
    sync_options: dict[str, object] = field(default_factory=dict)
    step_type: str | None = None
    step_prefix: str = ""
    target: float | None = None
    plus_scan: bool = False
    column_map: dict[str, str | None] = field(default_factory=dict)
    score_integer: bool = False
    added: dict[str, tuple[object, str]] = field(default_factory=dict)
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    xinfo: Callable[[list[XInfo]], list[XInfo]] = field(default=lambda rows: rows)

    @property
    def rebuilder(self) -> bool:
        return self.step_type is not None


def _with(rows: list[XInfo], column: str, **changes: object) -> list[XInfo]:
    """``rows`` with one column's xinfo fields replaced (by field name)."""
    fields = ("cid", "name", "type", "notnull", "dflt_value", "pk", "hidden")
    out = []
    for row in rows:
        if row[1] == column:
            values = dict(zip(fields, row, strict=True)) | changes
            row = tuple(values[f] for f in fields)
        out.append(row)
    return out


def _without(rows: list[XInfo], column: str) -> list[XInfo]:
    kept = [r for r in rows if r[1] != column]
    return [(i, *r[1:]) for i, r in enumerate(kept)]


def _edited(rows: list[XInfo]) -> list[XInfo]:
    rows = _with(rows, "name", type=EDIT_NAME_TYPE)
    return _with(rows, "address", dflt_value=f"'{EDIT_ADDRESS_DEFAULT}'")


def _edited_validated(rows: list[XInfo]) -> list[XInfo]:
    return _with(_edited(rows), "email", notnull=1)


def _added(rows: list[XInfo]) -> list[XInfo]:
    return [*rows, (len(rows), ADDED_COLUMN, "VARCHAR(50)", 0, f"'{ADDED_DEFAULT}'", 0, 0)]


def _renamed(rows: list[XInfo]) -> list[XInfo]:
    return _with(rows, "address", name=RENAMED_TO)


def _dropped(rows: list[XInfo]) -> list[XInfo]:
    return _without(rows, "address")


def _raw_v2(rows: list[XInfo]) -> list[XInfo]:
    return _with(_dropped(rows), "score", type="INTEGER")


FK = (("city_id", "city", "id"),)
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "raw",
            "raw 12-step rebuild",
            "V2Base",
            column_map={"address": None},
            score_integer=True,
            foreign_keys=FK,
            xinfo=_raw_v2,
        ),
        Method(
            "rebuilder-edit",
            "in place, no validation",
            "V1EditBase",
            step_type="EditSchemaStep",
            step_prefix="edit table friend in place",
            target=IN_PLACE_TARGET,
            xinfo=_edited,
        ),
        Method(
            "rebuilder-edit-validated",
            "in place + FK, NOT NULL",
            "V1EditCheckedBase",
            step_type="EditSchemaStep",
            step_prefix="edit table friend in place",
            target=IN_PLACE_TARGET,
            plus_scan=True,
            foreign_keys=FK,
            xinfo=_edited_validated,
        ),
        Method(SCAN, "one read scan", "V1Base"),
        Method(
            "rebuilder-add",
            "native ADD COLUMN",
            "V1AddBase",
            step_type="AddColumnStep",
            step_prefix=f"add column friend.{ADDED_COLUMN}",
            added={ADDED_COLUMN: (ADDED_DEFAULT, "text")},
            xinfo=_added,
        ),
        Method(
            "rebuilder-rename",
            "native RENAME COLUMN",
            "V1RenameBase",
            sync_options={"renames": [f"friend.address={RENAMED_TO}"]},
            step_type="RenameColumnsStep",
            step_prefix=f"rename column friend.address -> {RENAMED_TO}",
            column_map={"address": RENAMED_TO},
            xinfo=_renamed,
        ),
        Method(
            "rebuilder-drop",
            "native DROP COLUMN",
            "V1DropBase",
            step_type="DropColumnStep",
            step_prefix="drop column friend.address",
            target=DROP_TARGET,
            column_map={"address": None},
            xinfo=_dropped,
        ),
    )
}
ALL = tuple(METHODS)


# --- the worker: one method, timed, in its own process ----------------------------------------


def _scan(path: Path) -> Action:
    def run() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute(SCAN_SQL).fetchone()
        finally:
            conn.close()

    return run


def prepare(method: str, path: Path) -> Action:
    """Import what ``method`` needs and return the callable to time."""
    import methods

    if method in ("raw", "rebuilder-drop"):
        return methods.prepare(method, path)
    if method == SCAN:
        return _scan(path)
    spec = METHODS[method]
    return methods._rebuilder(path, spec.models, **spec.sync_options)


def measure(method: str, path: Path) -> dict[str, object]:
    """Run one method on ``path``; return its wall and CPU time."""
    action = prepare(method, path)
    gc.collect()
    cpu = time.process_time()
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    return {"method": method, "seconds": seconds, "cpu_seconds": time.process_time() - cpu}


# --- verification, outside the timing ---------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """What every result is compared with, read once from the source file."""

    path: Path
    rows: int
    bytes: int
    aggregates: tuple[object, ...]
    sample: dict[int, dict[str, tuple[object, str]]]
    xinfo: list[XInfo]
    indexes: set[tuple[str, str]]
    cities: int
    history: tuple[object, ...] | None


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _history(conn: sqlite3.Connection) -> tuple[object, ...] | None:
    row = conn.execute("SELECT id, steps, summary FROM rebuilder_history ORDER BY id DESC LIMIT 1")
    found = row.fetchone()
    return tuple(found) if found else None


def _friend_indexes(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    found = conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'friend'")
    return {(str(n), str(s)) for n, s in found}


def _select_sample(
    conn: sqlite3.Connection, ids: list[int], columns: list[str]
) -> dict[int, dict[str, tuple[object, str]]]:
    picks = ", ".join(f'"{c}", typeof("{c}")' for c in columns)
    found: dict[int, dict[str, tuple[object, str]]] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ", ".join("?" for _ in part)
        for row in conn.execute(f'SELECT "id", {picks} FROM friend WHERE "id" IN ({marks})', part):
            found[int(row[0])] = {c: (row[1 + 2 * i], row[2 + 2 * i]) for i, c in enumerate(columns)}
    return found


def read_source(path: Path, seed: int) -> Source:
    """Read the row count, aggregates, a seeded sample, the schema and history of the source."""
    conn = _ro(path)
    try:
        rows = int(conn.execute("SELECT count(*) FROM friend").fetchone()[0])
        aggregates = tuple(conn.execute(f"SELECT {', '.join(AGGREGATES)} FROM friend").fetchone())
        top = int(conn.execute("SELECT max(id) FROM friend").fetchone()[0] or 0)
        rng = random.Random(seed * 7919 + rows + 1)
        ids = sorted({1, top, *(rng.randint(1, max(top, 1)) for _ in range(SAMPLE))})
        sample = _select_sample(conn, ids, list(V1_COLUMNS))
        xinfo = [tuple(r) for r in conn.execute("PRAGMA table_xinfo(friend)")]
        return Source(
            path=path,
            rows=rows,
            bytes=path.stat().st_size,
            aggregates=aggregates,
            sample=sample,
            xinfo=xinfo,
            indexes=_friend_indexes(conn),
            cities=int(conn.execute("SELECT count(*) FROM city").fetchone()[0]),
            history=_history(conn),
        )
    finally:
        conn.close()


def _expected_row(spec: Method, row: dict[str, tuple[object, str]]) -> dict[str, tuple[object, str]]:
    out: dict[str, tuple[object, str]] = {}
    for column, (value, kind) in row.items():
        target = spec.column_map.get(column, column)
        if target is None:
            continue
        if column == "score" and spec.score_integer and value is not None:
            value, kind = int(str(value)), "integer"
        out[target] = (value, kind)
    return out | spec.added


def _sample_problems(conn: sqlite3.Connection, spec: Method, source: Source) -> list[str]:
    ids = sorted(source.sample)
    want = {i: _expected_row(spec, source.sample[i]) for i in ids}
    columns = [c for c in next(iter(want.values()))] if want else []
    got = _select_sample(conn, ids, columns)
    problems = []
    for i in ids:
        if got.get(i) != want[i]:
            problems.append(f"row id={i} is {got.get(i)!r}, expected {want[i]!r}")
            if len(problems) >= 3:
                break
    return problems


def _schema_problems(conn: sqlite3.Connection, spec: Method, source: Source) -> list[str]:
    problems = []
    xinfo = [tuple(r) for r in conn.execute("PRAGMA table_xinfo(friend)")]
    wanted = spec.xinfo(list(source.xinfo))
    if xinfo != wanted:
        problems.append(f"table_xinfo(friend) is {xinfo}, expected {wanted}")
    fks = tuple((str(r[3]), str(r[2]), str(r[4])) for r in conn.execute("PRAGMA foreign_key_list(friend)"))
    if fks != spec.foreign_keys:
        problems.append(f"foreign keys are {fks}, expected {spec.foreign_keys}")
    indexes = _friend_indexes(conn)
    if indexes != source.indexes:
        problems.append(f"indexes are {sorted(indexes)}, expected {sorted(source.indexes)}")
    orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
    if orphans:
        problems.append(f"foreign_key_check returned {len(orphans)} row(s), e.g. {orphans[:3]}")
    return problems


def _history_problems(conn: sqlite3.Connection, spec: Method, source: Source) -> list[str]:
    latest = _history(conn)
    if not spec.rebuilder:
        return [] if latest == source.history else [f"history changed: {latest!r}"]
    if latest is None or latest == source.history:
        return ["rebuilder recorded no history row"]
    _id, steps, summary = latest
    if steps != 1 or not str(summary).startswith(spec.step_prefix):
        return [f"rebuilder applied {steps} step(s): {summary!r}, expected one {spec.step_prefix!r}"]
    return []


def verify(path: Path, spec: Method, source: Source, integrity: bool = True) -> list[str]:
    """Return the problems with one method's result; empty when it verified."""
    import models

    import rebuilder

    problems: list[str] = []
    conn = _ro(path)
    try:
        problems += _schema_problems(conn, spec, source)
        rows = int(conn.execute("SELECT count(*) FROM friend").fetchone()[0])
        if rows != source.rows:
            problems.append(f"{rows} rows, expected {source.rows}")
        got = tuple(conn.execute(f"SELECT {', '.join(AGGREGATES)} FROM friend").fetchone())
        for expr, have, want in zip(AGGREGATES, got, source.aggregates, strict=True):
            if have != want:
                problems.append(f"aggregate {expr} is {have!r}, expected {want!r}")
        for column, (value, kind) in spec.added.items():
            bad = conn.execute(
                f'SELECT count(*) FROM friend WHERE "{column}" IS NOT ? OR typeof("{column}") <> ?',
                (value, kind),
            ).fetchone()[0]
            if bad:
                problems.append(f"{bad} row(s) do not hold {value!r} ({kind}) in the added {column}")
        problems += _sample_problems(conn, spec, source)
        problems += _history_problems(conn, spec, source)
        cities = int(conn.execute("SELECT count(*) FROM city").fetchone()[0])
        if cities != source.cities:
            problems.append(f"city has {cities} rows, expected {source.cities}")
        check = "integrity_check" if integrity else "quick_check"
        result = [r[0] for r in conn.execute(f"PRAGMA {check}")]
        if result != ["ok"]:
            problems.append(f"{check}: {result[:3]}")
    finally:
        conn.close()
    left = rebuilder.check(getattr(models, spec.models), path)
    if left:
        problems.append(f"rebuilder.check({spec.models}) found {[str(c) for c in left]}")
    return problems


def plans(source: Path) -> dict[str, list[tuple[str, str]]]:
    """The steps rebuilder plans from the source, per rebuilder method (read-only)."""
    import models

    import rebuilder

    found = {}
    for spec in METHODS.values():
        if spec.rebuilder:
            planned = rebuilder.plan(getattr(models, spec.models), source, **spec.sync_options)  # type: ignore[arg-type]
            found[spec.name] = [(type(s).__name__, str(s)) for s in planned.steps]
    return found


def plan_problems(spec: Method, planned: list[tuple[str, str]]) -> list[str]:
    """Problems with one method's plan: it must be one step of the expected kind."""
    if len(planned) != 1 or planned[0][0] != spec.step_type or not planned[0][1].startswith(spec.step_prefix):
        return [f"planned {planned}, expected one {spec.step_type} ({spec.step_prefix!r})"]
    return []


# --- the run -----------------------------------------------------------------------------------


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
    size_after: int | None = None
    problems: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.seconds is not None and not self.problems and self.error is None


def _clean(work: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)


def _fresh_copy(source: Path, work: Path, sync: bool) -> None:
    """Copy the source to ``work``; with ``sync``, flush the copy to disk before anything is timed.

    A fresh copy is hundreds of MB of dirty pages in the page cache. Without the
    flush, the method's first fsync (its COMMIT) writes the whole copy back, about
    0.1 s at 1M rows here: that times the copy, not the method, and would swamp
    a path that itself writes a few pages.
    """
    shutil.copyfile(source, work)
    if sync:
        fd = os.open(work, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _run_method(
    spec: Method, source: Source, work: Path, rnd: int, args: argparse.Namespace, planned: list[str]
) -> Run:
    run = Run(spec.name, rnd)
    _clean(work)
    _fresh_copy(source.path, work, args.sync_copy)
    settle = Settle(args.settle, args.busy)
    run.waited, run.busy_before = settle.wait()
    run.load_before = os.getloadavg()[0]
    try:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", spec.name, str(work)],
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
        run.size_after = work.stat().st_size
        run.problems = planned + verify(work, spec, source, args.integrity)
    finally:
        _clean(work)
    return run


def bench_size(args: argparse.Namespace, rows: int) -> dict[str, object]:
    """Run every round at one size; return the JSON-ready record."""
    path = generate(rows, args.seed, cache_dir=args.cache_dir, quiet=args.quiet)
    source = read_source(path, args.seed)
    planned = plans(path)
    problems = {m: plan_problems(METHODS[m], p) for m, p in planned.items()}
    work = args.work_dir / f"paths-{rows}-{os.getpid()}.db"
    runs: list[Run] = []
    orders = []
    for rnd in range(args.rounds):
        order = _rotate(list(args.methods), rnd)
        orders.append(order)
        for method in order:
            spec = METHODS[method]
            run = _run_method(spec, source, work, rnd, args, problems.get(method, []))
            runs.append(run)
            if not args.quiet:
                status = f"{run.seconds:.3f} s (cpu {run.cpu_seconds:.3f} s)" if run.ok else "FAILED"
                status += f"  load {run.load_before:.2f}"
                if run.busy_before is not None:
                    status += f", cpu busy {run.busy_before:.0f}% after {run.waited:.1f} s wait"
                print(f"  N={rows:,} round {rnd + 1}/{args.rounds} {method:<25} {status}", flush=True)
    _ratios(runs, args.rounds)
    return {
        "rows": rows,
        "seed": args.seed,
        "rounds": args.rounds,
        "copy_synced": args.sync_copy,
        "source_bytes": source.bytes,
        "orders": orders,
        "plans": planned,
        "runs": [vars(r) | {"ok": r.ok} for r in runs],
        "summary": _summary(runs, list(args.methods)),
    }


def _ratios(runs: list[Run], rounds: int) -> None:
    """Set each run's ratio to raw, and its target allowance, from its own round."""
    for rnd in range(rounds):
        found = {r.method: r for r in runs if r.round == rnd}
        base, scan = found.get(BASELINE), found.get(SCAN)
        if base is None or not base.ok:
            continue
        for run in found.values():
            if run.ok:
                run.ratio = run.seconds / base.seconds  # type: ignore[operator]
        for run in found.values():
            spec = METHODS[run.method]
            if spec.target is None:
                continue
            if not spec.plus_scan:
                run.allowance = spec.target
            elif scan is not None and scan.ratio is not None:
                run.allowance = spec.target + scan.ratio


def _summary(runs: list[Run], methods: list[str]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for method in methods:
        spec = METHODS[method]
        mine = [r for r in runs if r.method == method]
        good = [r for r in mine if r.ok]
        ratio = _median([r.ratio for r in good if r.ratio is not None])
        allowance = _median([r.allowance for r in good if r.allowance is not None])
        met = None if ratio is None or allowance is None else ratio <= allowance
        out[method] = {
            "label": spec.label,
            "ok": len(good) == len(mine) and bool(mine),
            "failures": [r.error or "; ".join(r.problems) for r in mine if not r.ok],
            "median_seconds": _median([r.seconds for r in good if r.seconds is not None]),
            "median_cpu_seconds": _median([r.cpu_seconds for r in good if r.cpu_seconds is not None]),
            "median_ratio": ratio,
            "target": spec.target,
            "target_plus_scan": spec.plus_scan,
            "median_allowance": allowance,
            "target_met": met,
            "median_size_after": _median([float(r.size_after) for r in good if r.size_after]),
        }
    return out


def _target_text(spec: Method, stats: dict[str, object]) -> str:
    if spec.name == BASELINE:
        return "baseline"
    if spec.name == SCAN:
        return "(allowance)"
    if spec.target is None:
        return "native, no copy"
    if spec.plus_scan:
        allowance = stats["median_allowance"]
        return f"≤ {spec.target:.2f}+scan = {_fmt(allowance, '.3f')}"  # type: ignore[arg-type]
    return f"≤ {spec.target:.2f}"


def _met_text(spec: Method, stats: dict[str, object]) -> str:
    if spec.target is None:
        return "yes" if spec.rebuilder and stats["ok"] else ""
    met = stats["target_met"]
    return "-" if met is None else ("yes" if met else "NO")


def print_size(record: dict[str, object]) -> None:
    """Print the per-round table for one size."""
    rows, rounds = int(record["rows"]), int(record["rounds"])  # type: ignore[call-overload]
    runs = record["runs"]
    summary = record["summary"]
    assert isinstance(runs, list) and isinstance(summary, dict)
    source_bytes = int(record["source_bytes"])  # type: ignore[call-overload]
    print()
    print(
        f"N = {rows:,} rows, source {source_bytes / MB:.0f} MB, {rounds} round(s), rebuilder at "
        f"{record.get('git')}; ×raw = time / raw's time in the same round; fresh copies "
        f"{'fsynced' if record.get('copy_synced') else 'not fsynced'} before each run"
    )
    heads = [f"r{i + 1} s" for i in range(rounds)] + [f"r{i + 1} ×raw" for i in range(rounds)]
    head = f"{'method':<26}" + "".join(f"{h:>9}" for h in heads)
    head += f"{'median s':>10}{'med ×raw':>10}  {'target ×raw':<23}{'met':<5}{'size after':>13}"
    print(head)
    print("-" * len(head))
    for method, stats in summary.items():
        spec = METHODS[method]
        mine = {r["round"]: r for r in runs if r["method"] == method}
        if not stats["ok"]:
            cells = "".join(
                f"{'FAILED' if not mine.get(i, {}).get('ok') else _fmt(mine[i]['seconds'], '.3f'):>9}"
                for i in range(rounds)
            )
            print(f"{method:<26}{cells}   FAILED: {stats['failures'][0][:200]}")
            continue
        times = "".join(f"{_fmt(mine[i]['seconds'], '.3f'):>9}" for i in range(rounds))
        ratios = "".join(f"{_fmt(mine[i]['ratio'], '.3f'):>9}" for i in range(rounds))
        line = f"{method:<26}{times}{ratios}"
        line += f"{_fmt(stats['median_seconds'], '.3f'):>10}{_fmt(stats['median_ratio'], '.3f'):>10}"
        line += f"  {_target_text(spec, stats):<23}{_met_text(spec, stats):<5}"
        size = stats["median_size_after"]
        pct = 100 * (size / source_bytes - 1) if size else None
        line += f"{_fmt(size / MB if size else None, '.0f') + ' MB':>8}{_fmt(pct, '+.0f') + '%':>5}"
        print(line)
    _print_overhead(runs, rounds)


def _print_overhead(runs: list[dict[str, object]], rounds: int) -> None:
    """The validated in-place edit minus the plain scan, per round: what it costs beyond its scan."""
    by = {(r["method"], r["round"]): r for r in runs}
    cells = []
    for i in range(rounds):
        edit, scan = by.get(("rebuilder-edit-validated", i)), by.get((SCAN, i))
        if edit and scan and edit["ratio"] is not None and scan["ratio"] is not None:
            cells.append(f"{edit['ratio'] - scan['ratio']:.3f}")  # type: ignore[operator]
        else:
            cells.append("-")
    if any(c != "-" for c in cells):
        print(f"rebuilder-edit-validated minus scan, ×raw per round: {', '.join(cells)} (target ≤ 0.05)")
    print(
        "The plans are verified (one step each), not timed: in place = one 'edit table friend in "
        "place' step; native = one ALTER TABLE step."
    )


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--methods", nargs="+", choices=ALL, default=list(ALL))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--smoke", action="store_true", help=f"~{SMOKE_ROWS:,} rows, 1 round, no settling")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default results/paths.json)")
    add_run_options(parser)
    parser.add_argument(
        "--no-sync-copy",
        dest="sync_copy",
        action="store_false",
        help="do not fsync each fresh copy before its run (bench_rebuild.py's protocol: the method's "
        "first COMMIT then also writes the copy's dirty pages back)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows, args.rounds, args.settle = [SMOKE_ROWS], 1, 0.0
        args.out = args.out or RESULTS / "paths-smoke.json"
    args.out = args.out or RESULTS / "paths.json"
    args.work_dir = args.work_dir or RESULTS
    for needed in (SCAN, BASELINE):
        if needed not in args.methods:
            args.methods.insert(0, needed)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when every method verified at every size, else 1."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        if len(argv) != 3:
            print(f"usage: bench_paths.py --worker {{{'|'.join(ALL)}}} PATH", file=sys.stderr)
            return 2
        print(json.dumps(measure(argv[1], Path(argv[2]))))
        return 0
    args = parse(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    records = []
    for rows in args.rows:
        git = _git_head()
        if not args.quiet:
            print(f"== {rows:,} rows, {args.rounds} round(s), methods {' '.join(args.methods)}", flush=True)
        record = bench_size(args, rows)
        record["when"] = datetime.now(UTC).isoformat(timespec="seconds")
        record["git"] = git
        records.append(record)
    for record in records:
        print_size(record)
    result = {
        "benchmark": "paths without a rebuild: in-place schema edits and native ALTERs, against raw 12-step",
        "baseline": BASELINE,
        "scan_sql": SCAN_SQL,
        "targets": {
            "in_place": IN_PLACE_TARGET,
            "in_place_validated": "0.05 + one scan",
            "drop": DROP_TARGET,
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": _versions(),
        "sizes": records,
        "elapsed_seconds": time.time() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nresults: {args.out}")
    return report_failures(records)


if __name__ == "__main__":
    sys.exit(main())
