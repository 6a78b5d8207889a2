"""The library: `sync`, `plan` and `check`, composing the pipeline.

models -> Schema, database -> Schema, diff -> changes, plan -> steps,
render -> SQL, apply -> database. Reading at one end, writing at the other.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from rebuilder import apply
from rebuilder.capabilities import Capabilities
from rebuilder.changes import AddConstraint, Change, CreateTable
from rebuilder.connect import check_file, connect, read_transaction, resolve, write_transaction
from rebuilder.declare import declare
from rebuilder.diff import compare, parse_renames, resolve_renames
from rebuilder.errors import ConstraintViolated, DataLossRefused, PlanChanged
from rebuilder.load import metadata_of
from rebuilder.plan import Planned, make_plan
from rebuilder.reflect import reflect
from rebuilder.results import Plan, SyncResult
from rebuilder.schema import ForeignKey, Schema, fold
from rebuilder.steps import AddColumnStep, CreateTableStep, DropColumnStep, RebuildStep, Step
from rebuilder.version import fingerprint, read_version, write_version

log = logging.getLogger("rebuilder")

Renaming = Mapping[str, str] | Iterable[str] | None


def _renames(value: Renaming) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple(f"{old}={new}" for old, new in value.items())
    return tuple(value)


@contextmanager
def _connection(database: object, *, write: bool, timeout: float) -> Iterator[tuple[sqlite3.Connection, str]]:
    target = resolve(database)
    if target.conn is not None:
        yield target.conn, target.label
        return
    assert target.path is not None
    exists = check_file(target.path)
    if not exists and not write:
        conn = sqlite3.connect(":memory:", isolation_level=None)
    else:
        conn = connect(target.path, readonly=not write, timeout=timeout)
    try:
        yield conn, target.label
    except BaseException:
        conn.close()
        if not exists and target.path.exists() and target.path.stat().st_size == 0:
            target.path.unlink()
        raise
    conn.close()


@dataclass(frozen=True)
class _Prepared:
    target: Schema
    planned: Planned


def _prepare(conn: sqlite3.Connection, metadatas: tuple, options: dict) -> _Prepared:
    target, models_db = declare(metadatas, options["exclude"], options["version_table"])
    models_db.close()
    live = reflect(conn, options["exclude"], options["version_table"])
    renames = resolve_renames(live, target, options["renames"], options["table_renames"])
    planned = make_plan(live, target, renames, Capabilities.of(conn))
    return _Prepared(target, planned)


def _options(exclude: Iterable[str], version_table: str, renames: Renaming, table_renames: Renaming) -> dict:
    parse_renames(_renames(renames), _renames(table_renames))
    return {
        "exclude": tuple(exclude),
        "version_table": version_table,
        "renames": _renames(renames),
        "table_renames": _renames(table_renames),
    }


def plan(
    target: object,
    database: object,
    *,
    renames: Renaming = None,
    table_renames: Renaming = None,
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
        exclude: Glob patterns of tables and indexes to leave alone.
        version_table: The version table's name.
        timeout: Seconds to wait for a lock.

    Returns:
        The steps, their SQL, and any data loss or constraint violation.
    """
    metadatas = metadata_of(target)
    version = fingerprint(metadatas, exclude)
    options = _options(exclude, version_table, renames, table_renames)
    with _connection(database, write=False, timeout=timeout) as (conn, _label), read_transaction(conn):
        current = read_version(conn, version_table)
        prepared = _prepare(conn, metadatas, options)
        losses, violations = apply.evaluate(conn, prepared.planned.guards)
    planned = prepared.planned
    return Plan(planned.steps, planned.changes, tuple(losses), tuple(violations), version, current)


def check(
    target: object,
    database: object,
    *,
    exclude: Iterable[str] = (),
    version_table: str = "rebuilder_version",
    timeout: float = 30.0,
) -> list[Change]:
    """Compare the live schema with the models; an empty list means in sync.

    Unlike `sync`'s fast path, this always reads the real schema, so it finds
    drift made behind rebuilder's back even when the version row is current.

    Args:
        target: A declarative Base, a MetaData, anything with ``.metadata``, or a list.
        database: A path, ``sqlite:///`` URL, SQLAlchemy Engine or ``sqlite3.Connection``.
        exclude: Glob patterns of tables and indexes to leave alone.
        version_table: The version table's name.
        timeout: Seconds to wait for a lock.

    Returns:
        The differences.
    """
    metadatas = metadata_of(target)
    target_schema, models_db = declare(metadatas, exclude, version_table)
    models_db.close()
    with _connection(database, write=False, timeout=timeout) as (conn, _label), read_transaction(conn):
        live = reflect(conn, exclude, version_table)
    return compare(live, target_schema)


def _touched(steps: Iterable[Step], schema: Schema) -> set[str]:
    names = set()
    for step in steps:
        if isinstance(step, (RebuildStep, CreateTableStep, AddColumnStep, DropColumnStep)):
            names.add(fold(step.subject or ""))
    children = {t.name for t in schema.tables for fk in t.foreign_keys if fk.ref_table in names}
    return {t.name for t in schema.tables if t.key in names} | children


def _apply(
    conn: sqlite3.Connection,
    prepared: _Prepared,
    options: dict,
    allow_data_loss: bool,
    progress: apply.Progress | None,
) -> None:
    planned = prepared.planned
    losses, violations = apply.evaluate(conn, planned.guards)
    if violations:
        raise ConstraintViolated(violations)
    if losses and not allow_data_loss:
        raise DataLossRefused(losses)
    apply.execute(conn, planned.steps, progress)
    apply.verify(conn, prepared.target, options["exclude"], options["version_table"])
    added = [
        c.constraint
        for c in planned.changes
        if isinstance(c, AddConstraint) and isinstance(c.constraint, ForeignKey)
    ]
    added += [fk for c in planned.changes if isinstance(c, CreateTable) for fk in c.table.foreign_keys]
    found = apply.check_foreign_keys(conn, _touched(planned.steps, prepared.target), added)
    if found:
        raise ConstraintViolated(found)


def sync(
    target: object,
    database: object,
    *,
    allow_data_loss: bool = False,
    renames: Renaming = None,
    table_renames: Renaming = None,
    exclude: Iterable[str] = (),
    dry_run: bool = False,
    version_table: str = "rebuilder_version",
    timeout: float = 30.0,
    progress: apply.Progress | None = None,
    expect: tuple[Step, ...] | None = None,
) -> SyncResult:
    """Make the database match the models, in one transaction.

    When the stored version equals the models' fingerprint, this returns
    after reading that one row. Otherwise it takes the write lock, plans
    under it, refuses data loss and constraint violations, applies, verifies,
    checks foreign keys and records the version, all in one transaction.

    Args:
        target: A declarative Base, a MetaData, anything with ``.metadata``, or a list.
        database: A path, ``sqlite:///`` URL, SQLAlchemy Engine or ``sqlite3.Connection``.
        allow_data_loss: Apply steps that destroy stored values.
        renames: Column renames, ``{"table.old": "new"}`` or ``["table.old=new"]``.
        table_renames: Table renames, ``{"old": "new"}`` or ``["old=new"]``.
        exclude: Glob patterns of tables and indexes to leave alone.
        dry_run: Plan and check everything, write nothing.
        version_table: The version table's name.
        timeout: Seconds to wait for another writer's lock.
        progress: Called as ``progress(step, number, total)`` before each step.
        expect: Steps the caller confirmed; refuse if the plan differs.

    Returns:
        The steps applied and the new version.

    Raises:
        RebuilderError: Any refusal or failure; the database is unchanged.
    """
    if dry_run:
        shown = plan(
            target,
            database,
            renames=renames,
            table_renames=table_renames,
            exclude=exclude,
            version_table=version_table,
            timeout=timeout,
        )
        if shown.violations:
            raise ConstraintViolated(shown.violations)
        if shown.losses and not allow_data_loss:
            raise DataLossRefused(shown.losses)
        return SyncResult(shown.steps, shown.version, shown.current, dry_run=True)
    options = _options(exclude, version_table, renames, table_renames)
    metadatas = metadata_of(target)
    version = fingerprint(metadatas, exclude)
    with (
        _connection(database, write=True, timeout=timeout) as (conn, label),
        write_transaction(conn, label, timeout),
    ):
        current = read_version(conn, version_table)
        if current == version:
            return SyncResult((), version, current)
        prepared = _prepare(conn, metadatas, options)
        if expect is not None and expect != prepared.planned.steps:
            raise PlanChanged()
        _apply(conn, prepared, options, allow_data_loss, progress)
        steps = prepared.planned.steps
        summary = "; ".join(str(s) for s in steps) or "recorded version"
        write_version(conn, version_table, version, summary, len(steps))
    log.info("synced to version %s with %d step(s)", version, len(steps))
    return SyncResult(steps, version, current)
