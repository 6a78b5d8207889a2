"""Render steps as typed operations. Pure: the same output for ``plan --sql``, dry runs and apply.

Each step becomes a list of operations: a `Statement` run as it is, a
`BumpSchemaCookie` (raise ``PRAGMA schema_version`` by one, which needs the
live value) or a `CopyRows` (the rebuild's INSERT ... SELECT, which apply may
run in rowid ranges to report progress). Apply dispatches on the type; every
operation has the ``sql`` text that shows what runs.

Every identifier is quoted and every statement qualified with ``main.``, so
keywords, spaces, quotes, non-ASCII letters and temp-schema shadows are all
harmless. A rebuild follows SQLite's documented order (lang_altertable.html
§7): create the new table under a reserved name, copy, drop the old table,
rename the new one into place with ``legacy_alter_table`` on for that rename
only, then recreate the indexes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import singledispatch

from rebuilder import steps
from rebuilder.ddl import qualify_index, rename_table_in_ddl, retarget_index
from rebuilder.errors import UnsupportedSchema
from rebuilder.names import aside_name, fold, literal, quote
from rebuilder.schema import Table
from rebuilder.steps import RebuildStep, Step

TEMP_PREFIX = "_rebuilder_new_"


@dataclass(frozen=True)
class Statement:
    """One SQL statement, run as it is."""

    sql: str


@dataclass(frozen=True)
class BumpSchemaCookie:
    """Raise ``PRAGMA schema_version`` by one, so every connection reloads the schema.

    Needed after editing ``sqlite_schema`` directly; the new value depends on
    the live one, so apply reads it first.
    """

    sql: str = "PRAGMA main.schema_version = <current schema_version + 1>"


@dataclass(frozen=True)
class CopyRows:
    """A rebuild's copy: ``INSERT INTO new ... SELECT ... FROM old``.

    Attributes:
        sql: The whole copy in one statement.
        source: The old table (qualified and quoted), for the rowid range.
        rowid: The name that reads the old table's rowid, when the copy can
            run in rowid ranges (None for a WITHOUT ROWID table).
        table: The real table, for progress and messages.
    """

    sql: str
    source: str
    rowid: str | None
    table: str

    def ranged(self) -> str:
        """The copy restricted to ``rowid >= ? AND rowid < ?``."""
        return f"{self.sql} WHERE {self.rowid} >= ? AND {self.rowid} < ?"


Operation = Statement | BumpSchemaCookie | CopyRows


def temp_name(table: str) -> str:
    """The reserved name a table is built under during its rebuild."""
    return TEMP_PREFIX + table


def _q(name: str) -> str:
    return f"main.{quote(name)}"


def _statements(*sql: str) -> list[Operation]:
    return [Statement(s) for s in sql]


@singledispatch
def render(step: Step) -> list[Operation]:
    """Return the operations that carry out one step, in order.

    Args:
        step: Any step.
    """
    raise TypeError(f"no SQL for {type(step).__name__}")


@render.register
def _(step: steps.RenameTableStep) -> list[Operation]:
    return _statements(f"ALTER TABLE {_q(step.table)} RENAME TO {quote(step.new)}")


def _rename(table: str, old: str, new: str) -> str:
    return f"ALTER TABLE {_q(table)} RENAME COLUMN {quote(old)} TO {quote(new)}"


@render.register
def _(step: steps.RenameColumnsStep) -> list[Operation]:
    olds = {fold(old) for old, _ in step.renames} | {fold(a) for a in step.aside}
    if not any(fold(new) in olds - {fold(old)} for old, new in step.renames):
        return _statements(*(_rename(step.table, old, new) for old, new in step.renames))
    # A name passes between columns: move every one involved aside, then into place.
    moved = [*(old for old, _ in step.renames), *step.aside]
    first = [_rename(step.table, name, aside_name(name)) for name in moved]
    then = [_rename(step.table, aside_name(old), new) for old, new in step.renames]
    return _statements(*first, *then)


@render.register
def _(step: steps.CreateTableStep) -> list[Operation]:
    return _statements(rename_table_in_ddl(step.definition.sql, step.table))


@render.register
def _(step: steps.DropTableStep) -> list[Operation]:
    return _statements(f"DROP TABLE {_q(step.table)}")


@render.register
def _(step: steps.AddColumnStep) -> list[Operation]:
    return _statements(f"ALTER TABLE {_q(step.table)} ADD COLUMN {step.column.sql}")


@render.register
def _(step: steps.DropColumnStep) -> list[Operation]:
    return _statements(f"ALTER TABLE {_q(step.table)} DROP COLUMN {quote(step.column.name)}")


@render.register
def _(step: steps.CreateIndexStep) -> list[Operation]:
    return _statements(qualify_index(step.index.sql))


@render.register
def _(step: steps.DropIndexStep) -> list[Operation]:
    return _statements(f"DROP INDEX {_q(step.index.name)}")


def rowid_name(table: Table) -> str:
    """A name for the hidden rowid that no user column shadows.

    Raises:
        UnsupportedSchema: If columns called ``rowid``, ``_rowid_`` and ``oid``
            hide the rowid under every name SQLite gives it.
    """
    taken = {c.key for c in table.columns}
    found = next((n for n in ("rowid", "_rowid_", "oid") if n not in taken), None)
    if found is None:
        reason = "its columns rowid, _rowid_ and oid hide the rowid, so a rebuild cannot keep it"
        raise UnsupportedSchema(table.name, reason)
    return found


def copy_rows(step: RebuildStep) -> CopyRows:
    """The INSERT ... SELECT that fills the new table from the old one, from the copy map."""
    copies = [c for c in step.copies if c.inserted]
    targets = [quote(c.column) for c in copies]
    sources = [c.value() for c in copies]
    if step.copy_rowid:
        targets.insert(0, rowid_name(step.new))
        sources.insert(0, rowid_name(step.old))
    tmp, source = _q(temp_name(step.new.name)), _q(step.old.name)
    sql = f"INSERT INTO {tmp} ({', '.join(targets)}) SELECT {', '.join(sources)} FROM {source}"
    rowid = None if step.old.without_rowid else rowid_name(step.old)
    return CopyRows(sql, source, rowid, step.table)


def _sequence(step: RebuildStep, tmp: str) -> list[Operation]:
    """Carry the AUTOINCREMENT high-water mark from the old table to the new one."""
    if not (step.old.autoincrement and step.new.autoincrement):
        return []
    old, new = literal(step.old.name), literal(tmp)
    return _statements(
        f"INSERT INTO main.sqlite_sequence (name, seq) SELECT {new}, 0 WHERE NOT EXISTS "
        f"(SELECT 1 FROM main.sqlite_sequence WHERE name = {new})",
        f"UPDATE main.sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM "
        f"main.sqlite_sequence WHERE name = {old}), 0)) WHERE name = {new}",
    )


def _schema_edit(*sql: str) -> list[Operation]:
    """Statements that write ``sqlite_schema`` directly, then the cookie bump they need."""
    return [
        *_statements("PRAGMA writable_schema = ON", *sql, "PRAGMA writable_schema = OFF"),
        BumpSchemaCookie(),
    ]


def _move_indexes(step: RebuildStep, tmp: str) -> list[Operation]:
    """Hand the reused index b-trees to the new table, in ``sqlite_schema``.

    Each index row is written again (same root page, SQL naming the new
    table), so that it comes after the new table's row, as schema loading
    requires.
    """
    if not step.reused:
        return []
    edits = []
    for index in step.reused:
        name = literal(index.name)
        edits += [
            f"INSERT INTO main.sqlite_schema (type, name, tbl_name, rootpage, sql) SELECT 'index', "
            f"{name}, {literal(tmp)}, rootpage, {literal(retarget_index(index.sql, tmp))} "
            f"FROM main.sqlite_schema WHERE type = 'index' AND name = {name} COLLATE NOCASE",
            f"DELETE FROM main.sqlite_schema WHERE type = 'index' AND name = {name} COLLATE NOCASE "
            f"AND tbl_name <> {literal(tmp)}",
        ]
    return _schema_edit(*edits)


def _restore_index_sql(step: RebuildStep) -> list[Operation]:
    """Put back each reused index's CREATE statement exactly as it was stored."""
    if not step.reused:
        return []
    return _schema_edit(
        *(
            f"UPDATE main.sqlite_schema SET sql = {literal(index.sql)} "
            f"WHERE type = 'index' AND name = {literal(index.name)} COLLATE NOCASE"
            for index in step.reused
        )
    )


@render.register
def _(step: RebuildStep) -> list[Operation]:
    tmp = temp_name(step.new.name)
    return [
        Statement(rename_table_in_ddl(step.new.sql, tmp)),
        copy_rows(step),
        *_sequence(step, tmp),
        *_move_indexes(step, tmp),
        *_statements(
            f"DROP TABLE {_q(step.old.name)}",
            "PRAGMA legacy_alter_table = ON",
            f"ALTER TABLE {_q(tmp)} RENAME TO {quote(step.new.name)}",
            "PRAGMA legacy_alter_table = OFF",
        ),
        *_restore_index_sql(step),
        *_statements(*(qualify_index(index.sql) for index in step.indexes)),
        *_statements(*(dependent.sql for dependent in step.dependents)),
    ]


@render.register
def _(step: steps.EditSchemaStep) -> list[Operation]:
    # Rows stored before an ADD COLUMN read the DEFAULT: write out the old one first.
    materialize = [
        f"UPDATE {_q(step.old.name)} SET {quote(column)} = {value} WHERE {quote(column)} IS {value}"
        for column, value in step.materialize
    ]
    edit = (
        f"UPDATE main.sqlite_schema SET sql = {literal(step.new.sql)} "
        f"WHERE type = 'table' AND name = {literal(step.old.name)}"
    )
    return [*_statements(*materialize), *_schema_edit(edit)]


def render_all(steps: Sequence[Step]) -> list[Operation]:
    """Return every operation of every step, in order."""
    return [op for step in steps for op in render(step)]
