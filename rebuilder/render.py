"""Render steps as SQL. Pure: the same text for ``plan --sql``, dry runs and apply.

Every identifier is quoted and every statement qualified with ``main.``, so
keywords, spaces, quotes, non-ASCII letters and temp-schema shadows are all
harmless. A rebuild follows SQLite's documented order (lang_altertable.html
§7): create the new table under a reserved name, copy, drop the old table,
rename the new one into place with ``legacy_alter_table`` on for that rename
only, then recreate the indexes.
"""

from __future__ import annotations

from functools import singledispatch

from rebuilder.schema import Table
from rebuilder.sqltext import is_constant, literal, qualify_index, quote, rename_table_in_ddl, retarget_index
from rebuilder.steps import (
    AddColumnStep,
    CreateIndexStep,
    CreateTableStep,
    DropColumnStep,
    DropIndexStep,
    DropTableStep,
    EditSchemaStep,
    RebuildStep,
    RenameColumnStep,
    RenameTableStep,
    Step,
)

TEMP_PREFIX = "_rebuilder_new_"

BUMP_SCHEMA_VERSION = "-- then PRAGMA schema_version = schema_version + 1"
"""Stands for raising the schema cookie, which needs the live value: apply does it.

Raising ``schema_version`` after editing ``sqlite_schema`` makes every
connection, this one included, reload the schema.
"""


def temp_name(table: str) -> str:
    """The reserved name a table is built under during its rebuild."""
    return TEMP_PREFIX + table


def _q(name: str) -> str:
    return f"main.{quote(name)}"


@singledispatch
def render(step: Step) -> list[str]:
    """Return the SQL statements that carry out one step.

    Args:
        step: Any step.

    Returns:
        Statements to run in order, each a single statement.
    """
    raise TypeError(f"no SQL for {type(step).__name__}")


@render.register
def _(step: RenameTableStep) -> list[str]:
    return [f"ALTER TABLE {_q(step.old)} RENAME TO {quote(step.new)}"]


@render.register
def _(step: RenameColumnStep) -> list[str]:
    return [f"ALTER TABLE {_q(step.table)} RENAME COLUMN {quote(step.old)} TO {quote(step.new)}"]


@render.register
def _(step: CreateTableStep) -> list[str]:
    return [rename_table_in_ddl(step.table.sql, step.table.name)]


@render.register
def _(step: DropTableStep) -> list[str]:
    return [f"DROP TABLE {_q(step.table.name)}"]


@render.register
def _(step: AddColumnStep) -> list[str]:
    return [f"ALTER TABLE {_q(step.table)} ADD COLUMN {step.column.sql}"]


@render.register
def _(step: DropColumnStep) -> list[str]:
    return [f"ALTER TABLE {_q(step.table)} DROP COLUMN {quote(step.column.name)}"]


@render.register
def _(step: CreateIndexStep) -> list[str]:
    return [qualify_index(step.index.sql)]


@render.register
def _(step: DropIndexStep) -> list[str]:
    return [f"DROP INDEX {_q(step.index.name)}"]


def rowid_name(table: Table) -> str:
    """A name for the hidden rowid that no user column shadows."""
    taken = {c.key for c in table.columns}
    return next((n for n in ("rowid", "_rowid_", "oid") if n not in taken), "rowid")


def copy_sql(step: RebuildStep, ranged: bool = False) -> str:
    """The INSERT ... SELECT that fills the new table from the old one.

    Args:
        step: The rebuild.
        ranged: Add ``WHERE rowid >= ? AND rowid < ?`` so the copy can run in
            chunks, inside the same transaction, to report progress.
    """
    tmp = temp_name(step.new.name)
    targets = [quote(f.column) for f in step.fills]
    sources = [f.expr for f in step.fills]
    if step.copy_rowid:
        targets.insert(0, rowid_name(step.new))
        sources.insert(0, rowid_name(step.old))
    sql = f"INSERT INTO {_q(tmp)} ({', '.join(targets)}) SELECT {', '.join(sources)} FROM {_q(step.old.name)}"
    if ranged:
        rowid = rowid_name(step.old)
        sql += f" WHERE {rowid} >= ? AND {rowid} < ?"
    return sql


def _sequence(step: RebuildStep, tmp: str) -> list[str]:
    """Carry the AUTOINCREMENT high-water mark from the old table to the new one."""
    if not (step.old.autoincrement and step.new.autoincrement):
        return []
    old, new = literal(step.old.name), literal(tmp)
    return [
        f"INSERT INTO main.sqlite_sequence (name, seq) SELECT {new}, 0 WHERE NOT EXISTS "
        f"(SELECT 1 FROM main.sqlite_sequence WHERE name = {new})",
        f"UPDATE main.sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM "
        f"main.sqlite_sequence WHERE name = {old}), 0)) WHERE name = {new}",
    ]


def _move_indexes(step: RebuildStep, tmp: str) -> list[str]:
    """Hand the reused index b-trees to the new table, in ``sqlite_schema``.

    Each index row is written again (same root page, SQL naming the new
    table), so that it comes after the new table's row, as schema loading
    requires.
    """
    if not step.reused:
        return []
    statements = ["PRAGMA writable_schema = ON"]
    for index in step.reused:
        name = literal(index.name)
        statements += [
            f"INSERT INTO main.sqlite_schema (type, name, tbl_name, rootpage, sql) SELECT 'index', "
            f"{name}, {literal(tmp)}, rootpage, {literal(retarget_index(index.sql, tmp))} "
            f"FROM main.sqlite_schema WHERE type = 'index' AND name = {name} COLLATE NOCASE",
            f"DELETE FROM main.sqlite_schema WHERE type = 'index' AND name = {name} COLLATE NOCASE "
            f"AND tbl_name <> {literal(tmp)}",
        ]
    return [*statements, "PRAGMA writable_schema = OFF", BUMP_SCHEMA_VERSION]


def _restore_index_sql(step: RebuildStep) -> list[str]:
    """Put back each reused index's CREATE statement exactly as it was stored."""
    if not step.reused:
        return []
    updates = [
        f"UPDATE main.sqlite_schema SET sql = {literal(index.sql)} "
        f"WHERE type = 'index' AND name = {literal(index.name)} COLLATE NOCASE"
        for index in step.reused
    ]
    return ["PRAGMA writable_schema = ON", *updates, "PRAGMA writable_schema = OFF", BUMP_SCHEMA_VERSION]


@render.register
def _(step: RebuildStep) -> list[str]:
    tmp = temp_name(step.new.name)
    return [
        rename_table_in_ddl(step.new.sql, tmp),
        copy_sql(step),
        *_sequence(step, tmp),
        *_move_indexes(step, tmp),
        f"DROP TABLE {_q(step.old.name)}",
        "PRAGMA legacy_alter_table = ON",
        f"ALTER TABLE {_q(tmp)} RENAME TO {quote(step.new.name)}",
        "PRAGMA legacy_alter_table = OFF",
        *_restore_index_sql(step),
        *(qualify_index(index.sql) for index in step.indexes),
        *(dependent.sql for dependent in step.dependents),
    ]


def _materialize_defaults(step: EditSchemaStep) -> list[str]:
    """Write out values that rows may only read from a column's DEFAULT.

    A row stored before ``ALTER TABLE ADD COLUMN`` has no value for the new
    column: SQLite reads the column's current DEFAULT instead. Before the
    DEFAULT changes in place, every row whose value equals the old default is
    written again with that value, so it keeps reading what it read before.
    Only constant defaults can stand in for missing values (ADD COLUMN
    accepts no other), so only those are written out.
    """
    statements = []
    for new in step.new.columns:
        old = step.old.column(new.name)
        if old is None or old.default == new.default or old.generated is not None:
            continue
        value = old.default if old.default is not None else "NULL"
        if old.default is not None and not is_constant(old.default):
            continue
        column = quote(old.name)
        statements.append(f"UPDATE {_q(step.old.name)} SET {column} = {value} WHERE {column} IS {value}")
    return statements


@render.register
def _(step: EditSchemaStep) -> list[str]:
    return [
        *_materialize_defaults(step),
        "PRAGMA writable_schema = ON",
        f"UPDATE main.sqlite_schema SET sql = {literal(step.new.sql)} "
        f"WHERE type = 'table' AND name = {literal(step.old.name)}",
        "PRAGMA writable_schema = OFF",
        BUMP_SCHEMA_VERSION,
    ]


def render_all(steps: list[Step] | tuple[Step, ...]) -> list[str]:
    """Return every statement of every step, in order."""
    return [sql for step in steps for sql in render(step)]
