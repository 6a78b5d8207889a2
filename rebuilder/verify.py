"""Verify before COMMIT: the schema, the views and triggers, and unproven foreign keys.

The schema read back must equal the models, every view and trigger must
compile, and the foreign keys no guard proved must hold.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence

from rebuilder.changes import AddConstraint, Change, CreateTable
from rebuilder.ddl import trigger_event
from rebuilder.errors import DependentBroken, UnsupportedSchema, VerificationFailed
from rebuilder.execute import real_names
from rebuilder.guards import FILL_PARENT
from rebuilder.names import fold, quote
from rebuilder.reflect import reflect
from rebuilder.results import Violation
from rebuilder.schema import ForeignKey, Schema
from rebuilder.steps import FILL, RebuildStep, Step

log = logging.getLogger("rebuilder")


def verify(conn: sqlite3.Connection, target: Schema, exclude: Iterable[str], version_table: str) -> None:
    """Re-read the schema and fail if it differs from the target (never commit a bug).

    Raises:
        VerificationFailed: Listing what still differs.
    """
    from rebuilder.diff import diff

    live = reflect(conn, exclude, version_table)
    if live != target:
        raise VerificationFailed(tuple(str(c) for c in diff(live, target)) or ("column order or details",))


def _fk_ids(conn: sqlite3.Connection, table: str) -> dict[int, ForeignKey]:
    grouped: dict[int, list[tuple[object, ...]]] = {}
    for row in conn.execute(f"PRAGMA main.foreign_key_list({quote(table)})"):
        grouped.setdefault(int(row[0]), []).append(tuple(row))
    return {
        fid: ForeignKey(tuple(fold(str(r[3])) for r in rows), fold(str(rows[0][2])), ())
        for fid, rows in grouped.items()
    }


def check_foreign_keys(
    conn: sqlite3.Connection,
    tables: Iterable[str],
    added: Iterable[ForeignKey],
    filled: Iterable[ForeignKey] = (),
) -> list[Violation]:
    """Run ``PRAGMA foreign_key_check`` on the touched tables.

    Orphans under a foreign key the sync added, or whose columns a fill
    wrote, are violations; orphans that were already there under an existing
    key are only logged.
    """
    filled = list(filled)
    wanted = {(fk.columns, fk.ref_table): fk for fk in (*added, *filled)}
    found: dict[tuple[str, str], list[object]] = {}
    for table in tables:
        ids = _fk_ids(conn, table)
        for _t, rowid, _parent, fkid in conn.execute(f"PRAGMA main.foreign_key_check({quote(table)})"):
            fk = ids.get(int(fkid))
            match = wanted.get((fk.columns, fk.ref_table)) if fk is not None else None
            if match is not None:
                found.setdefault((table, match.describe()), []).append(rowid)
            else:
                log.warning("table %s already had an orphaned row (rowid %s)", table, rowid)
    fill_made = {fk.describe() for fk in filled}
    hint = "add the missing parent rows or clear the orphaned keys first"
    return [
        Violation(t, what, len(rows), tuple(rows[:5]), FILL_PARENT if what in fill_made else hint)
        for (t, what), rows in found.items()
    ]


def _trigger_probe(conn: sqlite3.Connection, name: str, table: str, sql: str) -> str:
    """A statement whose EXPLAIN compiles a trigger's program without running it."""
    try:
        event = trigger_event(sql)
    except ValueError as exc:
        raise UnsupportedSchema(table, f"cannot tell what fires trigger {name!r} ({exc})") from exc
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
            probe = _trigger_probe(conn, name, table, sql)
        try:
            conn.execute(probe).fetchall()
        except sqlite3.DatabaseError as exc:
            raise DependentBroken(kind, name, real_names(str(exc))) from exc


def added_foreign_keys(changes: Iterable[Change]) -> list[tuple[str, ForeignKey]]:
    """Each foreign key the sync adds, with its table: on a table, or with a new table."""
    found: list[tuple[str, ForeignKey]] = []
    for change in changes:
        if isinstance(change, AddConstraint) and isinstance(change.constraint, ForeignKey):
            found.append((change.table, change.constraint))
        elif isinstance(change, CreateTable):
            found.extend((change.table.name, fk) for fk in change.table.foreign_keys)
    return found


def filled_foreign_keys(steps: Sequence[Step]) -> list[tuple[str, ForeignKey]]:
    """Existing foreign keys over columns a rebuild fills: the fill may orphan rows."""
    found = []
    for step in steps:
        if isinstance(step, RebuildStep):
            filled = {fold(c.column) for c in step.copies if c.kind == FILL}
            found += [(step.table, fk) for fk in step.new.foreign_keys if filled & set(fk.columns)]
    return found


def unproven_foreign_keys(
    conn: sqlite3.Connection, changes: Sequence[Change], steps: Sequence[Step], proven: frozenset[ForeignKey]
) -> list[Violation]:
    """Check the foreign keys the sync adds or fills that no guard proved, on their tables only."""
    keys = [(t, fk) for t, fk in added_foreign_keys(changes) if fk not in proven]
    filled = filled_foreign_keys(steps)
    tables = sorted({t for t, _ in (*keys, *filled)})
    return check_foreign_keys(conn, tables, [fk for _, fk in keys], [fk for _, fk in filled])
