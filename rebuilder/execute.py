"""Execute planned steps: render each one and run its operations, mapping SQLite's errors.

Everything here runs inside the transaction opened by
`rebuilder.connect.write_transaction`; any exception rolls all of it back.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache

from rebuilder.errors import DiskFull, SchemaEditsForbidden, SyncFailed, TempNameTaken
from rebuilder.names import fold, quote
from rebuilder.render import (
    TEMP_PREFIX,
    BumpSchemaCookie,
    CopyRows,
    Operation,
    Statement,
    render,
    temp_name,
)
from rebuilder.space import ensure_room, plenty_of_room, rebuild_bytes
from rebuilder.steps import EditSchemaStep, RebuildStep, Step

log = logging.getLogger("rebuilder")

Progress = Callable[[Step, int, int], None]
"""Called as ``progress(step, number, total)`` before each step."""

RowProgress = Callable[[str, int, int], None]
"""Called as ``rows(table, copied, total)`` while a large table is copied."""

PhaseProgress = Callable[[str], None]
"""Called as ``phase(text)`` when a long part of a sync other than a copy begins."""

CHUNK_ROWS = 20_000
"""Copies of more rows than this run in rowid ranges when row progress is wanted, starting with this many."""

CHUNK_SECONDS = 0.1
"""How long each ranged copy aims to take, so progress is reported about ten times a second."""


def real_names(text: str) -> str:
    """Replace rebuilder's temporary table names in an SQLite message by the real ones."""
    return text.replace(f"main.{TEMP_PREFIX}", "").replace(TEMP_PREFIX, "")


def check_temp_names(conn: sqlite3.Connection, steps: Sequence[Step]) -> None:
    """Refuse when an object already holds a name a rebuild needs for its new table.

    Raises:
        TempNameTaken: Naming the object in the way.
    """
    names = {fold(temp_name(s.table)) for s in steps if isinstance(s, (RebuildStep, EditSchemaStep))}
    for kind, name in conn.execute("SELECT type, name FROM main.sqlite_schema"):
        if fold(name) in names:
            raise TempNameTaken(kind, name, name[len(TEMP_PREFIX) :])


def measure_rebuilds(conn: sqlite3.Connection, steps: Sequence[Step]) -> dict[str, int]:
    """Estimate the free bytes each rebuild needs, by the table's real name.

    Measured before any step runs, so each table is found by its live name.
    """
    return {s.table: rebuild_bytes(conn, s.old.live, s.indexes) for s in steps if isinstance(s, RebuildStep)}


def space_needed(conn: sqlite3.Connection, steps: Sequence[Step]) -> dict[str, int]:
    """Estimate the free bytes each rebuild needs when space is tight, and refuse if the disk lacks them.

    Raises:
        DiskFull: If the rebuilds cannot fit on the database's filesystem.
    """
    if not any(isinstance(s, RebuildStep) for s in steps) or plenty_of_room(conn):
        return {}
    needs = measure_rebuilds(conn, steps)
    ensure_room(conn, needs)
    return needs


def _failure(
    conn: sqlite3.Connection, step: Step, exc: sqlite3.DatabaseError, needs: dict[str, int]
) -> BaseException:
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_INTERRUPT:
        return KeyboardInterrupt()
    if code == sqlite3.SQLITE_FULL:
        needed = needs.get(step.table) or 0
        if not needed and isinstance(step, RebuildStep):
            needed = rebuild_bytes(conn, step.old.name, step.indexes)
        return DiskFull(step.table, needed)
    if "may not be modified" in str(exc):
        return SchemaEditsForbidden()
    return SyncFailed(step.table, real_names(str(exc)))


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


class Runner:
    """Runs the operations of each step, with errors mapped to one clear sentence.

    Attributes:
        conn: The connection, inside the sync's transaction.
        needs: Estimated free bytes each rebuild needs, for disk-full messages.
        rows: Called as ``rows(table, copied, total)`` during large copies.
        phase: Called as ``phase(text)`` when a rebuild's indexes are built.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        needs: dict[str, int],
        rows: RowProgress | None,
        phase: PhaseProgress | None = None,
    ) -> None:
        self.conn, self.needs, self.rows, self.phase = conn, needs, rows, phase

    def step(self, step: Step) -> None:
        """Run every operation of one step, dispatching on its type."""
        for op in rendered(_refreshed(self.conn, step)):
            if isinstance(op, CopyRows):
                self.copy(step, op)
                self.indexing(step)
            elif isinstance(op, BumpSchemaCookie):
                cookie = int(self.conn.execute("PRAGMA main.schema_version").fetchone()[0])
                self.run(step, Statement(f"PRAGMA main.schema_version = {cookie + 1}"))
            else:
                self.run(step, op)

    def indexing(self, step: Step) -> None:
        """Say that a rebuild builds indexes next, when it has any to build."""
        if self.phase is not None and isinstance(step, RebuildStep) and len(step.indexes) > len(step.reused):
            self.phase(f"indexing {step.table}")

    def run(self, step: Step, op: Statement | CopyRows, params: tuple[int, ...] = ()) -> int:
        """Run one statement; return how many rows it changed."""
        sql = op.ranged() if params and isinstance(op, CopyRows) else op.sql
        log.debug("sql: %s%s", sql, f" {list(params)}" if params else "")
        try:
            return self.conn.execute(sql, params).rowcount
        except sqlite3.DatabaseError as exc:
            raise _failure(self.conn, step, exc, self.needs) from exc

    def query(self, step: Step, sql: str) -> tuple[object, ...]:
        """One row of a read a step needs, with errors mapped like any statement's."""
        try:
            return tuple(self.conn.execute(sql).fetchone())
        except sqlite3.DatabaseError as exc:
            raise _failure(self.conn, step, exc, self.needs) from exc

    def copy(self, step: Step, op: CopyRows) -> None:
        """Copy in rowid ranges inside the same transaction when progress is wanted.

        The total is estimated from the rowid range (two index lookups, no count
        scan: SQLite answers a lone min() or max() from the b-tree's end, but
        scans the whole table for both in one SELECT).
        """
        if self.rows is None or op.rowid is None:
            self.run(step, op)
            return
        (low,) = self.query(step, f"SELECT min({op.rowid}) FROM {op.source}")
        (high,) = self.query(step, f"SELECT max({op.rowid}) FROM {op.source}")
        if not isinstance(low, int) or not isinstance(high, int) or high - low < CHUNK_ROWS:
            copied = self.run(step, op)
            self.rows(op.table, copied, copied)
            return
        self.ranges(step, op, (low, high), self.rows)

    def ranges(self, step: Step, op: CopyRows, rowids: tuple[int, int], rows: RowProgress) -> None:
        """Copy the rowids from ``low`` to ``high`` in ranges sized to take about `CHUNK_SECONDS` each."""
        low, high = rowids
        span, start, width, done = high - low + 1, low, CHUNK_ROWS, 0
        while start <= high:
            began = time.perf_counter()
            done += self.run(step, op, (start, start + width))
            start += width
            covered = min(span, start - low)
            rows(op.table, done, max(done, round(done * span / covered)))
            took = max(time.perf_counter() - began, 1e-4)
            width = int(min(max(width * CHUNK_SECONDS / took, CHUNK_ROWS / 4), width * 4))
        rows(op.table, done, done)


@lru_cache(maxsize=256)
def rendered(step: Step) -> tuple[Operation, ...]:
    """`render`, remembered: a run over many files renders each distinct step once (operations are frozen)."""
    return tuple(render(step))


def execute(
    conn: sqlite3.Connection,
    steps: Sequence[Step],
    progress: Progress | None = None,
    needs: dict[str, int] | None = None,
    rows: RowProgress | None = None,
    phase: PhaseProgress | None = None,
) -> None:
    """Execute the steps in order.

    Raises:
        SyncFailed: If SQLite refuses a statement, with real table names.
        DiskFull: If SQLite runs out of room.
        SchemaEditsForbidden: If the connection forbids editing ``sqlite_schema``.
        KeyboardInterrupt: If interrupted; the caller rolls back.
    """
    runner = Runner(conn, needs or {}, rows, phase)
    with interruptible(conn):
        for number, step in enumerate(steps, 1):
            if progress is not None:
                progress(step, number, len(steps))
            log.info("step %d/%d: %s", number, len(steps), step)
            runner.step(step)


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
