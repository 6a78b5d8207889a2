"""The library: `sync`, `plan` and `check`, composing the pipeline.

models -> Schema, database -> Schema, diff -> changes, plan -> steps,
render -> SQL, apply -> database. Reading at one end, writing at the other.

This module stays light to import: the schema reader, the differ, the planner
and sqlglot are imported only when a diff is actually needed, so a start-up
`sync` that finds the version current costs one fingerprint and one read.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rebuilder.capabilities import require_supported
from rebuilder.connect import (
    Target,
    check_file,
    connect,
    connect_to_read,
    create_database,
    directory_not_writable,
    read_transaction,
    resolve,
    unreadable,
    write_transaction,
)
from rebuilder.errors import (
    ConstraintViolated,
    DataLossRefused,
    EveryTableDropped,
    PlanChanged,
    RebuilderError,
    SyncFailed,
)
from rebuilder.load import metadata_of, require_tables
from rebuilder.names import fold
from rebuilder.options import Options, Renaming
from rebuilder.results import CheckResult, Plan, SyncResult
from rebuilder.version import fingerprint, read_version, write_version
from rebuilder.wal import truncate_wal

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from rebuilder.apply import Reporters
    from rebuilder.execute import PhaseProgress, Progress, RowProgress
    from rebuilder.planner import Procedure
    from rebuilder.schema import Schema
    from rebuilder.steps import Step

log = logging.getLogger("rebuilder")

LockWait = Callable[[str, float], None]
"""Called as ``on_wait(database, timeout)`` when a sync starts waiting for another connection's lock."""


@contextmanager
def _borrowed(target: Target) -> Iterator[sqlite3.Connection]:
    """Use a caller's connection with plain rows and text, and give it back as it was."""
    conn = target.conn
    assert conn is not None
    saved = conn.row_factory, conn.text_factory
    conn.row_factory, conn.text_factory = None, str
    try:
        yield conn
    finally:
        conn.row_factory, conn.text_factory = saved
        if target.release is not None:
            target.release()


@contextmanager
def _connection(database: object, *, write: bool, timeout: float) -> Iterator[tuple[sqlite3.Connection, str]]:
    require_supported()
    target = resolve(database)
    if target.conn is not None:
        with _borrowed(target) as conn:
            yield conn, target.label
        return
    assert target.path is not None
    if write and target.readonly:
        raise RebuilderError(
            f"{database} asks for read-only access (mode=ro); drop it to let rebuilder write"
        )
    exists = check_file(target.path)
    if not exists and write:
        create_database(target.path)
    if not exists and not write:
        conn = sqlite3.connect(":memory:", isolation_level=None)
    elif write:
        conn = connect(target.path, readonly=False, timeout=timeout)
    else:
        conn = connect_to_read(target, timeout=timeout)
    try:
        yield conn, target.label
    except sqlite3.DatabaseError as exc:
        raise unreadable(target.label, exc, target.path) from exc
    except SyncFailed as exc:
        blocked = directory_not_writable(target.path, exc.detail)
        if blocked is None:
            raise
        raise blocked from exc
    finally:
        conn.close()


@dataclass(frozen=True)
class _Prepared:
    target: Schema
    procedure: Procedure
    live: Schema

    def every_table_dropped(self) -> tuple[str, ...]:
        """The live tables when the plan drops every one of them, else ``()``."""
        from rebuilder.steps import DropTableStep

        dropped = {fold(s.table) for s in self.procedure.steps if isinstance(s, DropTableStep)}
        names = tuple(t.name for t in self.live.tables)
        return names if names and {fold(n) for n in names} <= dropped else ()


def _prepare(
    conn: sqlite3.Connection, metadatas: tuple[MetaData, ...], options: Options, schema_edits: bool = True
) -> _Prepared:
    from dataclasses import replace

    from rebuilder.capabilities import Capabilities
    from rebuilder.diff import resolve_renames
    from rebuilder.intent import declared
    from rebuilder.planner import make_plan
    from rebuilder.sides import read_both

    live, target = read_both(conn, metadatas, options.exclude, options.version_table)
    intent = declared(metadatas, options.exclude)
    options = options.with_declared(intent.renames, intent.table_renames, intent.fills)
    renames = resolve_renames(live, target, options.renames, options.table_renames)
    caps = Capabilities.of(conn)
    if not schema_edits:
        caps = replace(caps, writable_schema=False)
    return _Prepared(target, make_plan(live, target, renames, caps, options.fills), live)


def _plan(target: object, database: object, options: Options) -> tuple[Plan, tuple[str, ...]]:
    """The plan, and the live tables when it drops every one of them (else ``()``)."""
    from rebuilder.guards import check_fills, evaluate

    metadatas = _models(target)
    version = fingerprint(metadatas, options.exclude)
    connection = _connection(database, write=False, timeout=options.timeout)
    with connection as (conn, _label), read_transaction(conn):
        current = read_version(conn, options.version_table)
        prepared = _prepare(conn, metadatas, options)
        procedure = prepared.procedure
        check_fills(conn, procedure.steps)
        found = evaluate(conn, procedure.guards)
    losses, violations = found.losses, found.violations
    shown = Plan(procedure.steps, procedure.changes, losses, violations, version, current, procedure.hints)
    return shown, prepared.every_table_dropped()


def plan(
    target: object,
    database: object,
    *,
    renames: Renaming = None,
    table_renames: Renaming = None,
    fills: Renaming = None,
    exclude: Iterable[str] = (),
    version_table: str = "rebuilder_version",
    timeout: float = 30.0,
) -> Plan:
    """Work out what `sync` would do, without changing anything.

    Args:
        target: A declarative Base, a MetaData, anything with ``.metadata``, or a list.
        database: A path, ``sqlite:///`` URL, SQLAlchemy Engine or ``sqlite3.Connection``.
        renames: Column renames, ``{"table.old": "new"}`` or ``["table.old=new"]``.
        table_renames: Table renames, ``{"old": "new"}`` or ``["old=new"]``.
        fills: Values for existing rows, ``{"table.column": "SQL expression"}``
            or ``["table.column=expr"]`` (see docs/intent.md).
        exclude: Glob patterns of tables and indexes to leave alone.
        version_table: The version table's name.
        timeout: Seconds to wait for a lock.

    Returns:
        The steps, their SQL, and any data loss or constraint violation.

    Raises:
        NoTables: If the models define no table.
    """
    return _plan(
        target, database, Options.of(exclude, version_table, renames, table_renames, timeout, fills)
    )[0]


def check(
    target: object,
    database: object,
    *,
    exclude: Iterable[str] = (),
    version_table: str = "rebuilder_version",
    timeout: float = 30.0,
) -> CheckResult:
    """Compare the live schema with the models; an empty result means in sync.

    Unlike `sync`'s fast path, this always reads the real schema, so it finds
    drift made behind rebuilder's back even when the version row is current.

    Args:
        target: A declarative Base, a MetaData, anything with ``.metadata``, or a list.
        database: A path, ``sqlite:///`` URL, SQLAlchemy Engine or ``sqlite3.Connection``.
        exclude: Glob patterns of tables and indexes to leave alone.
        version_table: The version table's name.
        timeout: Seconds to wait for a lock.

    Returns:
        The differences (iterable; false when in sync).
    """
    from rebuilder.diff import compare
    from rebuilder.sides import read_both

    options = Options.of(exclude, version_table, timeout=timeout)
    metadatas = _models(target)
    with _connection(database, write=False, timeout=timeout) as (conn, _label), read_transaction(conn):
        # Tables stored exactly as the models compile them compare equal: they are left out.
        live, target_schema = read_both(conn, metadatas, options.exclude, version_table, whole=False)
    return CheckResult(compare(live, target_schema))


def _models(target: object) -> tuple[MetaData, ...]:
    return require_tables(metadata_of(target))


def _dry_run(target: object, database: object, options: Options, allow_data_loss: bool) -> SyncResult:
    shown, every_table = _plan(target, database, options)
    if shown.violations:
        raise ConstraintViolated(shown.violations)
    if shown.losses and not allow_data_loss:
        raise DataLossRefused(shown.losses, shown.hints)
    if every_table and not allow_data_loss:
        raise EveryTableDropped((), tables=every_table)
    return SyncResult(shown.steps, shown.version, shown.current, dry_run=True)


def sync(
    target: object,
    database: object,
    *,
    allow_data_loss: bool = False,
    renames: Renaming = None,
    table_renames: Renaming = None,
    fills: Renaming = None,
    exclude: Iterable[str] = (),
    dry_run: bool = False,
    version_table: str = "rebuilder_version",
    timeout: float = 30.0,
    progress: Progress | None = None,
    row_progress: RowProgress | None = None,
    relax_secure_delete: bool = False,
    expect: tuple[Step, ...] | None = None,
    on_wait: LockWait | None = None,
    on_phase: PhaseProgress | None = None,
) -> SyncResult:
    """Make the database match the models, in one transaction.

    When the stored version equals the models' fingerprint, this returns
    after reading that one row. Otherwise it takes the write lock, reads the
    version again under it, plans, refuses data loss and constraint
    violations, applies, verifies, checks foreign keys and records the
    version, all in one transaction.

    Args:
        target: A declarative Base, a MetaData, anything with ``.metadata``, or a list.
        database: A path, ``sqlite:///`` URL, SQLAlchemy Engine or ``sqlite3.Connection``.
        allow_data_loss: Apply steps that destroy stored values.
        renames: Column renames, ``{"table.old": "new"}`` or ``["table.old=new"]``.
        table_renames: Table renames, ``{"old": "new"}`` or ``["old=new"]``.
        fills: Values for existing rows, ``{"table.column": "SQL expression"}``
            or ``["table.column=expr"]`` (see docs/intent.md).
        exclude: Glob patterns of tables and indexes to leave alone.
        dry_run: Plan and check everything, write nothing.
        version_table: The version table's name.
        timeout: Seconds to wait for another writer's lock.
        progress: Called as ``progress(step, number, total)`` before each step.
        row_progress: Called as ``row_progress(table, copied, total)`` about
            ten times a second while a table of more than 20,000 rows is
            copied (the copy then runs in rowid ranges inside the same
            transaction).
        relax_secure_delete: Let SQLite free the old table's pages without
            overwriting them (``PRAGMA secure_delete=OFF`` for this sync only):
            rebuilds get faster, but the dropped rows' old contents stay in
            the file's free pages until reused or VACUUMed. Off by default.
        expect: Steps the caller confirmed; refuse if the plan differs.
        on_wait: Called as ``on_wait(database, timeout)`` once, when another
            connection holds the write lock and the sync starts waiting for it.
        on_phase: Called as ``on_phase(text)`` when another long part of the
            sync begins: ``checking existing rows``, ``indexing TABLE``,
            ``checking the result``.

    Returns:
        The steps applied and the new version.

    Raises:
        RebuilderError: Any refusal or failure; the database is unchanged.
    """
    options = Options.of(exclude, version_table, renames, table_renames, timeout, fills)
    if dry_run or _is_missing_file(database):
        # A file that does not exist yet is planned on an empty database first, so
        # models that cannot be applied are refused before the file is created.
        checked = _dry_run(target, database, options, allow_data_loss)
        if dry_run:
            return checked
    metadatas = _models(target)
    version = fingerprint(metadatas, options.exclude)
    with _connection(database, write=True, timeout=timeout) as (conn, label):
        if read_version(conn, version_table, check_shape=False) == version:
            return SyncResult((), version, version)
        from rebuilder.apply import Reporters
        from rebuilder.errors import SchemaEditsForbidden

        job = _Job(metadatas, version, options, allow_data_loss, expect, relax_secure_delete, on_wait)
        report = Reporters(progress, row_progress, on_phase)
        try:
            result = _apply_once(conn, label, job, report, schema_edits=True)
        except SchemaEditsForbidden:
            log.info("this connection forbids schema edits; planning again with copies only")
            result = _apply_once(conn, label, job, report, schema_edits=False)
        if result.changed:
            truncate_wal(conn, label)
    log.info("synced to version %s with %d step(s)", version, len(result.steps))
    return result


def _is_missing_file(database: object) -> bool:
    """Whether ``database`` names a file path that does not exist (yet)."""
    if isinstance(database, sqlite3.Connection):
        return False
    url = getattr(database, "url", None)
    if url is not None and hasattr(url, "get_backend_name"):
        # An Engine: read its URL, without borrowing a connection from its pool.
        name = url.database
        return bool(name) and name != ":memory:" and not Path(name).exists()
    found = resolve(database)
    return found.path is not None and not found.path.exists()


@dataclass(frozen=True)
class _Job:
    metadatas: tuple[MetaData, ...]
    version: str
    options: Options
    allow_data_loss: bool
    expect: tuple[Step, ...] | None
    relax_secure_delete: bool
    on_wait: LockWait | None = None

    def waiting(self, label: str) -> Callable[[], None] | None:
        """The callback for `write_transaction`, naming the database and the timeout."""
        on_wait, timeout = self.on_wait, self.options.timeout
        return None if on_wait is None else lambda: on_wait(label, timeout)


def _apply_once(
    conn: sqlite3.Connection, label: str, job: _Job, report: Reporters, *, schema_edits: bool
) -> SyncResult:
    """Lock, read the version again, plan under the lock, apply and record: one transaction."""
    from rebuilder.apply import apply_plan

    options = job.options
    with write_transaction(conn, label, options.timeout, job.waiting(label)):
        current = read_version(conn, options.version_table)
        if current == job.version:
            return SyncResult((), job.version, current)
        prepared = _prepare(conn, job.metadatas, options, schema_edits)
        steps = prepared.procedure.steps
        if job.expect is not None and job.expect != steps:
            raise PlanChanged()
        every_table = prepared.every_table_dropped()
        if every_table and not job.allow_data_loss:
            raise EveryTableDropped((), tables=every_table)
        apply_plan(
            conn,
            prepared.target,
            prepared.procedure,
            options,
            job.allow_data_loss,
            report,
            job.relax_secure_delete,
        )
        summary = "; ".join(str(s) for s in steps) or "recorded version"
        write_version(conn, options.version_table, job.version, summary, len(steps))
    return SyncResult(steps, job.version, current)
