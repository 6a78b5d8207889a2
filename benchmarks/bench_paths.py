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

The harness (``harness.py``) is ``bench_rebuild.py``'s; this suite differs in
that each fresh copy is fsynced before its run (``--no-sync-copy``: not), so no
method's COMMIT pays for writing the copy back. Each ``methods.py`` worker
imports what its method needs first and times the call alone.
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

import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _entry in (str(HERE), str(ROOT)):
    if _entry not in sys.path:
        sys.path.insert(0, _entry)

from harness import Column, Record, Reference, Run, Suite, fmt, median  # noqa: E402
from methods import SCAN_SQL, rebuilder_target  # noqa: E402
from models import (  # noqa: E402
    ADDED_COLUMN,
    ADDED_DEFAULT,
    EDIT_ADDRESS_DEFAULT,
    EDIT_NAME_TYPE,
    RENAMED_TO,
    V1_COLUMNS,
)
from verify import (  # noqa: E402
    AGGREGATES,
    Row,
    changed,
    kept_problems,
    read_only,
    read_sample,
    sample_ids,
    sample_problems,
)

BASELINE = "raw"
SCAN = "scan"
IN_PLACE_TARGET = 0.05
DROP_TARGET = 0.25
SMOKE_ROWS = 3_000

XInfo = tuple[object, ...]
"""One ``PRAGMA table_xinfo`` row: (cid, name, type, notnull, dflt_value, pk, hidden)."""


@dataclass(frozen=True)
class Method:
    """One timed path and what its result must look like.

    Attributes:
        name: The method's name on the command line and in the JSON.
        label: What the table calls it.
        models: The ``models.py`` Base the result must match (``rebuilder.check``); a
            rebuilder method's is the one it syncs to (``methods.rebuilder_target``).
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
    models: str = ""
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

    @property
    def sync_target(self) -> tuple[str, dict[str, object]]:
        """The Base to check the result against, and the ``rebuilder.sync`` options of the run."""
        return rebuilder_target(self.name) if self.rebuilder else (self.models, {})


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
            step_type="EditSchemaStep",
            step_prefix="edit table friend in place",
            target=IN_PLACE_TARGET,
            xinfo=_edited,
        ),
        Method(
            "rebuilder-edit-validated",
            "in place + FK, NOT NULL",
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
            step_type="AddColumnStep",
            step_prefix=f"add column friend.{ADDED_COLUMN}",
            added={ADDED_COLUMN: (ADDED_DEFAULT, "text")},
            xinfo=_added,
        ),
        Method(
            "rebuilder-rename",
            "native RENAME COLUMN",
            step_type="RenameColumnsStep",
            step_prefix=f"rename column friend.address -> {RENAMED_TO}",
            column_map={"address": RENAMED_TO},
            xinfo=_renamed,
        ),
        Method(
            "rebuilder-drop",
            "native DROP COLUMN",
            step_type="DropColumnStep",
            step_prefix="drop column friend.address",
            target=DROP_TARGET,
            column_map={"address": None},
            xinfo=_dropped,
        ),
    )
}
ALL = tuple(METHODS)


# --- verification, outside the timing ---------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """What every result is compared with, read once from the source file."""

    path: Path
    rows: int
    bytes: int
    aggregates: tuple[object, ...]
    sample: dict[int, Row]
    xinfo: list[XInfo]
    indexes: set[tuple[str, str]]
    cities: int
    history: tuple[object, ...] | None


def _history(conn: sqlite3.Connection) -> tuple[object, ...] | None:
    row = conn.execute("SELECT id, steps, summary FROM rebuilder_history ORDER BY id DESC LIMIT 1")
    found = row.fetchone()
    return tuple(found) if found else None


def _friend_indexes(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    found = conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'friend'")
    return {(str(n), str(s)) for n, s in found}


def read_source(path: Path, seed: int) -> Source:
    """Read the row count, aggregates, a seeded sample, the schema and history of the source."""
    conn = read_only(path)
    try:
        rows = int(conn.execute("SELECT count(*) FROM friend").fetchone()[0])
        aggregates = tuple(conn.execute(f"SELECT {', '.join(AGGREGATES)} FROM friend").fetchone())
        sample = read_sample(conn, sample_ids(conn, seed * 7919 + rows + 1), list(V1_COLUMNS))
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
    conn = read_only(path)
    try:
        problems += _schema_problems(conn, spec, source)
        problems += kept_problems(conn, source, integrity)
        for column, (value, kind) in spec.added.items():
            bad = conn.execute(
                f'SELECT count(*) FROM friend WHERE "{column}" IS NOT ? OR typeof("{column}") <> ?',
                (value, kind),
            ).fetchone()[0]
            if bad:
                problems.append(f"{bad} row(s) do not hold {value!r} ({kind}) in the added {column}")
        expect = partial(
            changed, column_map=spec.column_map, score_integer=spec.score_integer, added=spec.added
        )
        problems += sample_problems(conn, source.sample, expect)
        problems += _history_problems(conn, spec, source)
    finally:
        conn.close()
    base = spec.sync_target[0]
    left = rebuilder.check(getattr(models, base), path)
    if left:
        problems.append(f"rebuilder.check({base}) found {[str(c) for c in left]}")
    return problems


def plans(source: Path) -> dict[str, list[tuple[str, str]]]:
    """The steps rebuilder plans from the source, per rebuilder method (read-only)."""
    import models

    import rebuilder

    found = {}
    for spec in METHODS.values():
        if spec.rebuilder:
            base, options = spec.sync_target
            planned = rebuilder.plan(getattr(models, base), source, **options)  # type: ignore[arg-type]
            found[spec.name] = [(type(s).__name__, str(s)) for s in planned.steps]
    return found


def plan_problems(spec: Method, planned: list[tuple[str, str]]) -> list[str]:
    """Problems with one method's plan: it must be one step of the expected kind."""
    if len(planned) != 1 or planned[0][0] != spec.step_type or not planned[0][1].startswith(spec.step_prefix):
        return [f"planned {planned}, expected one {spec.step_type} ({spec.step_prefix!r})"]
    return []


# --- targets, and the suite ------------------------------------------------------------------


def read(path: Path, seed: int) -> Reference:
    """The source's reference, and rebuilder's plans for it: each must be one step of the expected kind."""
    source = read_source(path, seed)
    planned = plans(path)
    return Reference(
        check=lambda work, method, integrity: verify(work, METHODS[method], source, integrity),
        problems={m: plan_problems(METHODS[m], p) for m, p in planned.items()},
        record={"plans": planned},
    )


def allowances(found: dict[str, Run]) -> None:
    """Set each run's target allowance from its own round: plus the scan's ratio where it may scan."""
    scan = found.get(SCAN)
    for run in found.values():
        spec = METHODS[run.method]
        if spec.target is None:
            continue
        if not spec.plus_scan:
            run.allowance = spec.target
        elif scan is not None and scan.ratio is not None:
            run.allowance = spec.target + scan.ratio


def summarize(method: str, good: list[Run]) -> dict[str, object]:
    """The method's target, its median allowance, and whether the median ratio met it."""
    spec = METHODS[method]
    ratio = median([r.ratio for r in good if r.ratio is not None])
    allowance = median([r.allowance for r in good if r.allowance is not None])
    return {
        "label": spec.label,
        "target": spec.target,
        "target_plus_scan": spec.plus_scan,
        "median_allowance": allowance,
        "target_met": None if ratio is None or allowance is None else ratio <= allowance,
    }


def _target_text(spec: Method, stats: dict[str, Any]) -> str:
    if spec.name == BASELINE:
        return "baseline"
    if spec.name == SCAN:
        return "(allowance)"
    if spec.target is None:
        return "native, no copy"
    if spec.plus_scan:
        allowance = stats["median_allowance"]
        return f"≤ {spec.target:.2f}+scan = {fmt(allowance, '.3f')}"
    return f"≤ {spec.target:.2f}"


def _met_text(spec: Method, stats: dict[str, Any]) -> str:
    if spec.target is None:
        return "yes" if spec.rebuilder and stats["ok"] else ""
    met = stats["target_met"]
    return "-" if met is None else ("yes" if met else "NO")


def _print_overhead(record: Record) -> None:
    """The validated in-place edit minus the plain scan, per round: what it costs beyond its scan."""
    by = {(r["method"], r["round"]): r for r in record["runs"]}
    cells = []
    for i in range(int(record["rounds"])):
        edit, scan = by.get(("rebuilder-edit-validated", i)), by.get((SCAN, i))
        if edit and scan and edit["ratio"] is not None and scan["ratio"] is not None:
            cells.append(f"{edit['ratio'] - scan['ratio']:.3f}")
        else:
            cells.append("-")
    if any(c != "-" for c in cells):
        print(f"rebuilder-edit-validated minus scan, ×raw per round: {', '.join(cells)} (target ≤ 0.05)")
    print(
        "The plans are verified (one step each), not timed: in place = one 'edit table friend in "
        "place' step; native = one ALTER TABLE step."
    )


SUITE = Suite(
    name="paths",
    title="paths without a rebuild: in-place schema edits and native ALTERs, against raw 12-step",
    methods=tuple(METHODS),
    required=(BASELINE, SCAN),
    default_rows=(1_000_000,),
    smoke_rows=SMOKE_ROWS,
    smoke_name="paths-smoke",
    sync_copy=True,
    read=read,
    columns=(
        Column("  target ×raw", 25, lambda m, stats: "  " + _target_text(METHODS[m], stats), "<"),
        Column("met", 5, lambda m, stats: _met_text(METHODS[m], stats), "<"),
    ),
    width=26,
    summarize=summarize,
    after_round=allowances,
    footer=_print_overhead,
    extra={
        "scan_sql": SCAN_SQL,
        "targets": {
            "in_place": IN_PLACE_TARGET,
            "in_place_validated": "0.05 + one scan",
            "drop": DROP_TARGET,
        },
    },
)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when every method verified at every size, else 1."""
    import harness

    return harness.main(SUITE, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
