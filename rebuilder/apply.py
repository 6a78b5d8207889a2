"""The only writer: run guards, execute steps, verify, and record the version.

Everything here runs inside the transaction opened by
`rebuilder.connect.write_transaction`; any exception rolls all of it back.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from rebuilder.changes import AddConstraint, Change, CreateTable
from rebuilder.errors import (
    ConstraintViolated,
    DataLossRefused,
    DependentBroken,
    DiskFull,
    Loss,
    RebuilderError,
    SchemaEditsForbidden,
    SyncFailed,
    VerificationFailed,
    Violation,
)
from rebuilder.guards import LOSS, Guard
from rebuilder.names import fold
from rebuilder.options import Options
from rebuilder.planner import Planned
from rebuilder.reflect import reflect
from rebuilder.render import BUMP_SCHEMA_VERSION, TEMP_PREFIX, copy_sql, render, rowid_name, temp_name
from rebuilder.schema import ForeignKey, Schema
from rebuilder.space import database_bytes, ensure_room, has_room, rebuild_bytes
from rebuilder.sqltext import quote, trigger_event
from rebuilder.steps import EditSchemaStep, RebuildStep, Step

log = logging.getLogger("rebuilder")

Progress = Callable[[Step, int, int], None]
"""Called as ``progress(step, number, total)`` before each step."""

RowProgress = Callable[[str, int, int], None]
"""Called as ``rows(table, copied, total)`` while a large table is copied."""

CHUNK_ROWS = 100_000
"""Copies of more rows than this run in rowid ranges when row progress is wanted."""


def _scalar(value: object) -> object:
    return value[0] if isinstance(value, tuple) and len(value) == 1 else value


@dataclass(frozen=True)
class Findings:
    """What the guards found.

    Attributes:
        losses: Stored values the plan would destroy.
        violations: Existing rows that constraints the models add would reject.
        proven: Foreign keys whose orphan guard ran and found nothing.
    """

    losses: tuple[Loss, ...] = ()
    violations: tuple[Violation, ...] = ()
    proven: frozenset[ForeignKey] = frozenset()


def _count(conn: sqlite3.Connection, guard: Guard) -> int | None:
    """Count a guard's offending rows (None: the query cannot run and the guard is optional).

    Each guard is its own query, so SQLite can answer it from an index where
    one fits (``email IS NULL`` from the index on email): measured faster than
    folding all the guards over a table into one full scan.
    """
    try:
        return int(conn.execute(f"SELECT count(*) FROM {guard.source} WHERE {guard.where}").fetchone()[0])
    except sqlite3.OperationalError:
        if guard.optional:
            return None
        raise


def evaluate(conn: sqlite3.Connection, guards: Iterable[Guard]) -> Findings:
    """Run every guard and return what they found."""
    losses: list[Loss] = []
    violations: list[Violation] = []
    proven: set[ForeignKey] = set()
    for guard in guards:
        count = _count(conn, guard)
        if count == 0 and guard.proves is not None:
            proven.add(guard.proves)
        if not count:
            continue
        samples = tuple(_scalar(r) for r in conn.execute(guard.sample_sql).fetchall())
        if guard.kind == LOSS:
            losses.append(Loss(guard.table, guard.column, guard.what, count, samples[:3]))
        else:
            violations.append(Violation(guard.table, guard.what, count, samples, guard.hint))
    return Findings(tuple(losses), tuple(violations), frozenset(proven))


def real_names(text: str) -> str:
    """Replace rebuilder's temporary table names in an SQLite message by the real ones."""
    return text.replace(f"main.{TEMP_PREFIX}", "").replace(TEMP_PREFIX, "")


def check_temp_names(conn: sqlite3.Connection, steps: Sequence[Step]) -> None:
    """Refuse when a table already holds a name a rebuild needs for its new table.

    Raises:
        RebuilderError: Naming the table in the way.
    """
    names = {fold(temp_name(s.new.name)) for s in steps if isinstance(s, (RebuildStep, EditSchemaStep))}
    for kind, name in conn.execute("SELECT type, name FROM main.sqlite_schema"):
        if fold(name) in names:
            raise RebuilderError(
                f"a {kind} named {name!r} already exists, and rebuilder needs that name to rebuild "
                f"table {name[len(TEMP_PREFIX) :]!r}; nothing was changed, drop or rename that {kind} "
                "(another tool may have left it)"
            )


def space_needed(conn: sqlite3.Connection, steps: Sequence[Step]) -> dict[str, int]:
    """Estimate the free bytes each rebuild needs, and refuse if the disk lacks them.

    Raises:
        DiskFull: If a rebuild cannot fit on the database's filesystem.
    """
    rebuilds = [step for step in steps if isinstance(step, RebuildStep)]
    if not rebuilds or has_room(conn, database_bytes(conn)):
        # Room for the whole file 2.5 times over: no need to measure each table.
        return {}
    needs = {s.new.name: rebuild_bytes(conn, s.old, s.indexes) for s in rebuilds}
    ensure_room(conn, max(needs, key=needs.__getitem__), sum(needs.values()))
    return needs


def _failure(
    conn: sqlite3.Connection, step: Step, exc: sqlite3.DatabaseError, needs: dict[str, int]
) -> BaseException:
    table = step.subject or "?"
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT:
        return KeyboardInterrupt()
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        needed = needs.get(table) or 0
        if not needed and isinstance(step, RebuildStep):
            needed = rebuild_bytes(conn, step.old, step.indexes)
        return DiskFull(table, needed)
    return SyncFailed(step.subject, real_names(str(exc)))


@contextmanager
def tuned(conn: sqlite3.Connection, relax_secure_delete: bool = False) -> Iterator[None]:
    """Tune the connection for a rebuild, and put every setting back afterwards.

    ``PRAGMA threads`` lets index builds sort with helper threads; it changes
    nothing stored. ``secure_delete`` is relaxed only when the caller opts in.
    """
    saved = {name: int(conn.execute(f"PRAGMA {name}").fetchone()[0]) for name in ("threads", "secure_delete")}
    conn.execute(f"PRAGMA threads = {min(4, os.cpu_count() or 1)}")
    if relax_secure_delete:
        conn.execute("PRAGMA secure_delete = OFF")
    try:
        yield
    finally:
        for name, value in saved.items():
            conn.execute(f"PRAGMA {name} = {value}")


@contextmanager
def interruptible(conn: sqlite3.Connection) -> Iterator[None]:
    """Let Ctrl-C stop a long statement: SQLite checks in with Python every 100k VM steps.

    A SIGINT then aborts the statement with SQLITE_INTERRUPT, which `execute`
    turns back into KeyboardInterrupt, and the transaction rolls back.
    """
    conn.set_progress_handler(lambda: 0, 100_000)
    try:
        yield
    finally:
        conn.set_progress_handler(None, 0)


def execute(
    conn: sqlite3.Connection,
    steps: Sequence[Step],
    progress: Progress | None = None,
    needs: dict[str, int] | None = None,
    rows: RowProgress | None = None,
) -> int:
    """Execute the steps' SQL in order.

    Returns:
        The number of statements run.

    Raises:
        SyncFailed: If SQLite refuses a statement, with real table names.
        DiskFull: If SQLite runs out of room.
        KeyboardInterrupt: If interrupted; the caller rolls back.
    """
    count = 0
    with interruptible(conn):
        for number, step in enumerate(steps, 1):
            if progress is not None:
                progress(step, number, len(steps))
            log.info("step %d/%d: %s", number, len(steps), step)
            count += _run(conn, _refreshed(conn, step), needs or {}, rows)
    return count


def _refreshed(conn: sqlite3.Connection, step: Step) -> Step:
    """A rebuild with the SQL of its triggers, protected and reused indexes as stored now.

    Renames earlier in the same sync rewrite that SQL, so the plan's copy of
    it may be out of date by the time the rebuild runs; and a reused index
    keeps its stored text exactly.
    """
    if not isinstance(step, RebuildStep):
        return step
    stored = {
        (kind, fold(name)): sql
        for kind, name, sql in conn.execute(
            "SELECT type, name, sql FROM main.sqlite_schema WHERE type IN ('index', 'trigger')"
        )
    }
    dependents = tuple(
        replace(d, sql=stored[(d.type, fold(d.name))])
        for d in step.dependents
        if (d.type, fold(d.name)) in stored
    )
    reused = tuple(replace(i, sql=stored.get(("index", fold(i.name))) or i.sql) for i in step.reused)
    return replace(step, dependents=dependents, reused=reused)


def _bump_schema_version(conn: sqlite3.Connection) -> None:
    cookie = int(conn.execute("PRAGMA main.schema_version").fetchone()[0])
    conn.execute(f"PRAGMA main.schema_version = {cookie + 1}")


def _statement(conn: sqlite3.Connection, step: Step, sql: str, needs: dict[str, int]) -> None:
    log.debug("sql: %s", sql)
    try:
        if sql == BUMP_SCHEMA_VERSION:
            _bump_schema_version(conn)
        else:
            conn.execute(sql)
    except sqlite3.DatabaseError as exc:
        if "may not be modified" in str(exc):
            raise SchemaEditsForbidden() from exc
        raise _failure(conn, step, exc, needs) from exc


def _query(conn: sqlite3.Connection, step: Step, sql: str, needs: dict[str, int]) -> tuple[object, ...]:
    """One row of a read the rebuild needs, with errors mapped like any statement's."""
    try:
        return tuple(conn.execute(sql).fetchone())
    except sqlite3.DatabaseError as exc:
        raise _failure(conn, step, exc, needs) from exc


def _run(conn: sqlite3.Connection, step: Step, needs: dict[str, int], rows: RowProgress | None = None) -> int:
    statements = render(step)
    chunked = rows is not None and isinstance(step, RebuildStep) and not step.old.without_rowid
    copy = copy_sql(step) if chunked else None  # type: ignore[arg-type]
    for sql in statements:
        if sql == copy:
            _copy_in_chunks(conn, step, needs, rows)  # type: ignore[arg-type]
        else:
            _statement(conn, step, sql, needs)
    return len(statements)


def _copy_in_chunks(
    conn: sqlite3.Connection, step: RebuildStep, needs: dict[str, int], rows: RowProgress
) -> None:
    """Copy a rowid table in rowid ranges inside the same transaction, reporting progress.

    The total is estimated from the rowid range (two index lookups, no count
    scan), and each report says how many rows are copied so far; the last
    report gives the exact count as both.
    """
    source = f"main.{quote(step.old.name)}"
    rowid = rowid_name(step.old)
    # Two queries: SQLite answers a lone min() or max() from the b-tree's end,
    # but scans the whole table for both in one SELECT.
    (low,) = _query(conn, step, f"SELECT min({rowid}) FROM {source}", needs)
    (high,) = _query(conn, step, f"SELECT max({rowid}) FROM {source}", needs)
    if low is None or high - low < CHUNK_ROWS:  # type: ignore[operator]
        _statement(conn, step, copy_sql(step), needs)
        copied = int(conn.execute("SELECT changes()").fetchone()[0])
        rows(step.new.name, copied, copied)
        return
    span = int(high) - int(low) + 1  # type: ignore[call-overload]
    width = max(CHUNK_ROWS, span // 200 + 1)
    ranged, done = copy_sql(step, ranged=True), 0
    for start in range(int(low), int(high) + 1, width):  # type: ignore[call-overload]
        log.debug("sql: %s [%d, %d)", ranged, start, start + width)
        try:
            done += conn.execute(ranged, (start, start + width)).rowcount
        except sqlite3.DatabaseError as exc:
            raise _failure(conn, step, exc, needs) from exc
        covered = min(span, start + width - int(low))  # type: ignore[call-overload]
        rows(step.new.name, done, max(done, round(done * span / covered)))
    rows(step.new.name, done, done)


def verify(conn: sqlite3.Connection, target: Schema, exclude: Iterable[str], version_table: str) -> None:
    """Re-read the schema and fail if it differs from the target (never commit a bug)."""
    from rebuilder.diff import diff

    live = reflect(conn, exclude, version_table)
    if live != target:
        raise VerificationFailed([str(c) for c in diff(live, target)] or ["column order or details"])


def _fk_ids(conn: sqlite3.Connection, table: str) -> dict[int, ForeignKey]:
    grouped: dict[int, list[tuple[object, ...]]] = {}
    for row in conn.execute(f"PRAGMA main.foreign_key_list({quote(table)})"):
        grouped.setdefault(int(row[0]), []).append(tuple(row))
    return {
        fid: ForeignKey(tuple(fold(str(r[3])) for r in rows), fold(str(rows[0][2])), ())
        for fid, rows in grouped.items()
    }


def check_foreign_keys(
    conn: sqlite3.Connection, tables: Iterable[str], added: Iterable[ForeignKey]
) -> list[Violation]:
    """Run ``PRAGMA foreign_key_check`` on the touched tables.

    Orphans under a foreign key the sync added are violations; orphans that
    were already there under an existing key are only logged.
    """
    wanted = {(fk.columns, fk.ref_table): fk for fk in added}
    found: dict[tuple[str, str], list[object]] = {}
    for table in tables:
        ids = _fk_ids(conn, table)
        for _t, rowid, _parent, fkid in conn.execute(f"PRAGMA main.foreign_key_check({quote(table)})"):
            fk = ids.get(int(fkid))
            key = (fk.columns, fk.ref_table) if fk else None
            if key in wanted:
                found.setdefault((table, wanted[key].describe()), []).append(rowid)  # type: ignore[index]
            else:
                log.warning("table %s already had an orphaned row (rowid %s)", table, rowid)
    return [
        Violation(
            t,
            what,
            len(rows),
            tuple(rows[:5]),
            "add the missing parent rows or clear the orphaned keys first",
        )
        for (t, what), rows in found.items()
    ]


def _trigger_probe(conn: sqlite3.Connection, table: str, event: str) -> str:
    """A statement whose EXPLAIN compiles the triggers for ``event`` on ``table`` without running them."""
    target = f"main.{quote(table)}"
    if event == "DELETE":
        return f"EXPLAIN DELETE FROM {target} WHERE 0"
    if event == "UPDATE":
        cols = [r[1] for r in conn.execute(f"PRAGMA main.table_xinfo({quote(table)})") if r[6] in (0, 1)]
        sets = ", ".join(f"{quote(c)} = {quote(c)}" for c in cols)
        return f"EXPLAIN UPDATE {target} SET {sets} WHERE 0"
    return f"EXPLAIN INSERT INTO {target} DEFAULT VALUES"


def compile_dependents(conn: sqlite3.Connection) -> None:
    """Compile every view and trigger, so one broken by the sync is caught before COMMIT.

    Raises:
        DependentBroken: Naming the view or trigger and what it refers to that is gone.
    """
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM main.sqlite_schema "
        "WHERE type IN ('view', 'trigger') ORDER BY name"
    ).fetchall()
    for kind, name, table, sql in rows:
        if kind == "view":
            probe = f"SELECT * FROM main.{quote(name)} LIMIT 0"
        else:
            probe = _trigger_probe(conn, table, trigger_event(sql))
        try:
            conn.execute(probe).fetchall()
        except sqlite3.DatabaseError as exc:
            raise DependentBroken(kind, name, real_names(str(exc))) from exc


def tables_with_statistics(conn: sqlite3.Connection) -> set[str]:
    """The (folded) tables that ``sqlite_stat1`` holds planner statistics for."""
    if not conn.execute("SELECT 1 FROM main.sqlite_schema WHERE name = 'sqlite_stat1'").fetchone():
        return set()
    return {fold(str(t)) for (t,) in conn.execute("SELECT DISTINCT tbl FROM main.sqlite_stat1")}


def reanalyze(conn: sqlite3.Connection, steps: Sequence[Step], analyzed: set[str]) -> None:
    """Gather statistics again for rebuilt tables that had them: DROP TABLE deleted theirs."""
    for step in steps:
        if isinstance(step, RebuildStep) and fold(step.old.name) in analyzed:
            conn.execute(f"ANALYZE main.{quote(step.new.name)}")


def _added_foreign_keys(changes: Iterable[Change]) -> list[ForeignKey]:
    found: list[ForeignKey] = []
    for change in changes:
        if isinstance(change, AddConstraint) and isinstance(change.constraint, ForeignKey):
            found.append(change.constraint)
        elif isinstance(change, CreateTable):
            found.extend(change.table.foreign_keys)
    return found


def _fk_tables(changes: Iterable[Change], unproven: list[ForeignKey]) -> set[str]:
    """The tables whose new foreign keys no guard proved: only these need foreign_key_check."""
    names = set()
    for change in changes:
        if isinstance(change, AddConstraint) and change.constraint in unproven:
            names.add(change.table)
        elif isinstance(change, CreateTable) and any(fk in unproven for fk in change.table.foreign_keys):
            names.add(change.table.name)
    return names


def _filled_foreign_keys(steps: Sequence[Step]) -> list[tuple[str, ForeignKey]]:
    """Existing foreign keys over columns a rebuild fills with a default: the fill may orphan rows."""
    found = []
    for step in steps:
        if isinstance(step, RebuildStep):
            filled = {
                fold(f.column) for f in step.fills if f.source is not None and f.expr.startswith("COALESCE(")
            }
            found += [(step.new.name, fk) for fk in step.new.foreign_keys if filled & set(fk.columns)]
    return found


@dataclass(frozen=True)
class Reporters:
    """How a sync reports and tunes itself while applying.

    Attributes:
        steps: Called as ``steps(step, number, total)`` before each step.
        rows: Called as ``rows(table, copied, total)`` during large copies.
        relax_secure_delete: Drop old tables without zeroing their pages.
    """

    steps: Progress | None = None
    rows: RowProgress | None = None
    relax_secure_delete: bool = False


def apply_plan(
    conn: sqlite3.Connection,
    target: Schema,
    planned: Planned,
    options: Options,
    allow_data_loss: bool,
    report: Reporters,
) -> None:
    """Run the guards, the steps and every check before COMMIT.

    Raises:
        ConstraintViolated: If existing rows break a constraint the models add.
        DataLossRefused: If data would be lost and that is not allowed.
        RebuilderError: Any other refusal; the caller rolls back.
    """
    # With data loss allowed, loss guards would only be counted, never acted on.
    wanted = [g for g in planned.guards if not (allow_data_loss and g.kind == LOSS)]
    found = evaluate(conn, wanted)
    if found.violations:
        raise ConstraintViolated(found.violations)
    if found.losses and not allow_data_loss:
        raise DataLossRefused(found.losses)
    check_temp_names(conn, planned.steps)
    needs = space_needed(conn, planned.steps)
    analyzed = tables_with_statistics(conn)
    with tuned(conn, report.relax_secure_delete):
        execute(conn, planned.steps, report.steps, needs, report.rows)
        reanalyze(conn, planned.steps, analyzed)
    verify(conn, target, options.exclude, options.version_table)
    compile_dependents(conn)
    unproven = [fk for fk in _added_foreign_keys(planned.changes) if fk not in found.proven]
    filled = _filled_foreign_keys(planned.steps)
    tables = _fk_tables(planned.changes, unproven) | {table for table, _ in filled}
    orphans = check_foreign_keys(conn, tables, unproven + [fk for _, fk in filled])
    if orphans:
        raise ConstraintViolated(orphans)
