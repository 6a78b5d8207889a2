"""Read a live SQLite database into a `Schema`.

Reading is split in two: `read_catalog` runs the queries (``sqlite_schema`` and
the PRAGMAs) and returns plain rows; `build_schema` is a pure function from
those rows to the canonical `Schema`. Models are read the same way, from an
in-memory database made by ``create_all`` (see `rebuilder.declare`), so both
sides of every comparison pass through this one reader.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rebuilder.ddl import PARSED, TableDDL, is_column_ref, split_create_index, split_create_table
from rebuilder.errors import UnsupportedSchema
from rebuilder.expressions import canonical_expr, canonical_type
from rebuilder.names import excluded, fold, is_internal, quote
from rebuilder.schema import (
    Check,
    Column,
    Dependent,
    ForeignKey,
    Index,
    IndexColumn,
    Schema,
    Table,
    Unique,
    affinity,
)

Row = tuple[object, ...]
Key = tuple[str, ...]


@dataclass(frozen=True)
class TableRows:
    """Everything the PRAGMAs say about one table."""

    name: str
    sql: str
    strict: bool
    without_rowid: bool
    xinfo: tuple[Row, ...]
    foreign_keys: tuple[Row, ...]
    indexes: tuple[tuple[Row, str | None, tuple[Row, ...]], ...]


@dataclass(frozen=True)
class Catalog:
    """The raw rows read from one database.

    Attributes:
        tables: The managed tables' rows.
        dependents: Triggers and views.
        keys: Primary keys (folded) of tables left out of ``tables`` whose key a
            foreign key in ``tables`` leaves implicit (``REFERENCES parent``).
    """

    tables: tuple[TableRows, ...]
    dependents: tuple[Dependent, ...]
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Stored:
    """What ``sqlite_schema`` and ``PRAGMA table_list`` say, read with three queries.

    Attributes:
        tables: The managed tables: ``(name, CREATE TABLE, table_list row)``.
        indexes: Folded table name -> the CREATE INDEX statements of its explicit indexes.
        index_sql: Every index's name -> its SQL (None for an automatic index).
        dependents: Triggers and views.
        sqlite_version: The SQLite library that reads the file.
    """

    tables: tuple[tuple[str, str, Row], ...]
    indexes: Mapping[str, tuple[tuple[str, str], ...]]
    index_sql: Mapping[str, str | None]
    dependents: tuple[Dependent, ...]
    sqlite_version: str

    def table_sql(self) -> dict[str, str]:
        """Folded table name -> its CREATE TABLE statement."""
        return {fold(name): sql for name, sql, _info in self.tables}


def _pragma(conn: sqlite3.Connection, pragma: str, name: str) -> tuple[Row, ...]:
    return tuple(conn.execute(f"PRAGMA main.{pragma}({quote(name)})").fetchall())


def _read_table(
    conn: sqlite3.Connection, name: str, sql: str, info: Row, index_sql: Mapping[str, str | None]
) -> TableRows:
    indexes = []
    for row in _pragma(conn, "index_list", name):
        index = str(row[1])
        indexes.append((row, index_sql.get(index), _pragma(conn, "index_xinfo", index)))
    return TableRows(
        name=name,
        sql=sql,
        strict=bool(info[5]),
        without_rowid=bool(info[4]),
        xinfo=_pragma(conn, "table_xinfo", name),
        foreign_keys=_pragma(conn, "foreign_key_list", name),
        indexes=tuple(indexes),
    )


def read_stored(conn: sqlite3.Connection, version_table: str = "rebuilder_version") -> Stored:
    """Read the statements the ``main`` schema stores, with no per-table query.

    Virtual tables, shadow tables, ``sqlite_*`` tables and migration-tool
    tables are left out here and never seen by the diff.

    Args:
        conn: An open connection.
        version_table: The version table's name, which is never managed.

    Returns:
        The managed tables' and the indexes' statements, and the dependents.
    """
    kinds = {row[1]: row for row in conn.execute("PRAGMA main.table_list")}
    tables, dependents = [], []
    indexes: dict[str, list[tuple[str, str]]] = {}
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM main.sqlite_schema ORDER BY name").fetchall()
    for kind, name, tbl_name, sql in rows:
        if kind in ("trigger", "view"):
            dependents.append(Dependent(kind, name, fold(tbl_name), sql))
        elif kind == "table" and kinds[name][2] == "table" and not is_internal(name, version_table):
            tables.append((name, sql, kinds[name]))
        elif kind == "index" and sql is not None:
            indexes.setdefault(fold(tbl_name), []).append((name, sql))
    return Stored(
        tables=tuple(tables),
        indexes={table: tuple(found) for table, found in indexes.items()},
        # Every index's SQL from this one read: a query per index would scan sqlite_schema each time.
        index_sql={name: sql for kind, name, _tbl, sql in rows if kind == "index"},
        dependents=tuple(dependents),
        sqlite_version=str(conn.execute("SELECT sqlite_version()").fetchone()[0]),
    )


def read_tables(conn: sqlite3.Connection, stored: Stored, skip: frozenset[str] = frozenset()) -> Catalog:
    """Read the PRAGMAs of the stored tables, except those whose folded name is in ``skip``.

    Args:
        conn: The connection ``stored`` was read from.
        stored: What `read_stored` returned.
        skip: Folded names of tables not to read (known to equal the models').

    Returns:
        The raw catalog rows (the skipped tables' keys are `implicit_keys`).
    """
    tables = tuple(
        _read_table(conn, name, sql, info, stored.index_sql)
        for name, sql, info in stored.tables
        if fold(name) not in skip
    )
    return Catalog(tables=tables, dependents=stored.dependents)


def implicit_keys(
    conn: sqlite3.Connection, stored: Stored, skip: frozenset[str], *catalogs: Catalog
) -> dict[str, tuple[str, ...]]:
    """The primary keys of skipped tables that a foreign key in ``catalogs`` references implicitly."""
    wanted = {
        fold(str(row[2]))
        for catalog in catalogs
        for rows in catalog.tables
        for row in rows.foreign_keys
        if row[4] is None
    }
    names = {fold(name): name for name, _sql, _info in stored.tables}
    return {key: _primary_key_of(_pragma(conn, "table_xinfo", names[key])) for key in wanted & skip}


def read_catalog(conn: sqlite3.Connection, version_table: str = "rebuilder_version") -> Catalog:
    """Read the managed tables and their dependents from the ``main`` schema.

    Args:
        conn: An open connection.
        version_table: The version table's name, which is never managed.

    Returns:
        The raw catalog rows.
    """
    return read_tables(conn, read_stored(conn, version_table))


# --- pure: rows -> Schema ----------------------------------------------------


_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_NUMBER = re.compile(r"\s*([+-]?)([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)\s*")


def _default(text: object, declared: str) -> str | None:
    """A DEFAULT in canonical SQL, spelled as what it stores where that is certain.

    Under numeric affinity a quoted number (``'0'``, ``' 1.5'``) is stored as
    the number, so it is spelled unquoted: a guard that substitutes the default
    then compares a number, as the stored rows do. An integer under TEXT
    affinity is stored as its text, so ``0`` is spelled ``'0'``. Either way the
    two spellings compare equal, so neither plans a change.
    """
    if text is None:
        return None
    canon = canonical_expr(str(text))
    kind = affinity(declared)
    number = _NUMBER.fullmatch(canon[1:-1]) if canon[:1] == "'" else None
    if kind in ("INTEGER", "NUMERIC", "REAL") and number:
        sign, digits = number.groups()
        return canonical_expr(f"{'-' if sign == '-' else ''}{digits}")
    if kind == "TEXT" and _INTEGER.fullmatch(canon):
        return f"'{canon}'"
    return None if canon == "NULL" else canon


def _rowid_alias(rows: TableRows) -> str | None:
    """The folded name of the column aliasing the rowid (``INTEGER PRIMARY KEY``), if any."""
    keys = [r for r in rows.xinfo if r[5]]
    if rows.without_rowid or len(keys) != 1 or canonical_type(str(keys[0][2] or "")) != "INTEGER":
        return None
    return fold(str(keys[0][1]))


def _columns(rows: TableRows, ddl: TableDDL) -> tuple[Column, ...]:
    by_name = {fold(c.name): c for c in ddl.columns}
    alias = _rowid_alias(rows)
    columns = []
    for _cid, name, decl, notnull, dflt, _pk, hidden in rows.xinfo:
        if hidden == 1:
            continue  # a virtual table's hidden column
        text = by_name.get(fold(str(name)))
        if text is None:
            raise UnsupportedSchema(
                rows.name, f"the definition of column {name!r} cannot be found in its CREATE TABLE"
            )
        collate = text.collate if text.collate not in (None, "BINARY") else None
        columns.append(
            Column(
                name=str(name),
                type=canonical_type(str(decl or "")),
                # An INTEGER PRIMARY KEY never holds NULL, whether or not it says NOT NULL.
                notnull=bool(notnull) or fold(str(name)) == alias,
                default=_default(dflt, str(decl or "")),
                collate=collate,
                generated=canonical_expr(text.generated) if text.generated else None,
                stored=text.stored,
                sql=text.sql,
            )
        )
    return tuple(columns)


def _checks(ddl: TableDDL) -> frozenset[Check]:
    found: list[tuple[str | None, str]] = [(None, text) for col in ddl.columns for text in col.checks]
    found.extend(ddl.checks)
    return frozenset(Check(expr=canonical_expr(t), name=n, sql=t) for n, t in found)


def _foreign_keys(rows: TableRows, pks: dict[str, tuple[str, ...]]) -> frozenset[ForeignKey]:
    grouped: dict[object, list[Row]] = {}
    for row in rows.foreign_keys:
        grouped.setdefault(row[0], []).append(row)
    fks = []
    for parts in grouped.values():
        parts.sort(key=lambda r: int(str(r[1])))
        ref_table = fold(str(parts[0][2]))
        refs = tuple(fold(str(r[4])) for r in parts if r[4] is not None)
        fks.append(
            ForeignKey(
                columns=tuple(fold(str(r[3])) for r in parts),
                ref_table=ref_table,
                ref_columns=refs or pks.get(ref_table, ()),
                on_update=str(parts[0][5]).upper(),
                on_delete=str(parts[0][6]).upper(),
            )
        )
    return frozenset(fks)


def _index_keys(xinfo: Sequence[Row], sql: str | None) -> tuple[IndexColumn, ...]:
    # The statement is split only for an expression key: the PRAGMA names every column key.
    expressions = sql and any(r[1] == -2 and r[5] for r in xinfo)
    texts = split_create_index(sql).keys if sql and expressions else ()
    keys = []
    for seqno, cid, name, desc, coll, key in xinfo:
        if not key:
            continue
        if cid == -2:
            at = int(str(seqno))
            text = texts[at] if at < len(texts) else "?"
            expr, is_expr = canonical_expr(text), not is_column_ref(text)
            if not is_expr:
                expr = fold(text.strip('"[]`'))
        else:
            expr, is_expr = fold(str(name)), False
        keys.append(IndexColumn(expr, is_expr, bool(desc), str(coll).upper()))
    return tuple(keys)


def _split(rows: TableRows) -> tuple[tuple[Unique, ...], tuple[Index, ...]]:
    uniques, indexes = [], []
    for (_seq, name, unique, origin, partial), sql, xinfo in rows.indexes:
        keys = _index_keys(xinfo, sql)
        if origin == "u":
            uniques.append(Unique(tuple(k.expr for k in keys), name=None))
        elif origin == "c" and sql:
            where = split_create_index(sql).where if partial else None
            indexes.append(
                Index(
                    name=str(name),
                    table=fold(rows.name),
                    columns=keys,
                    unique=bool(unique),
                    where=canonical_expr(where) if where else None,
                    sql=sql,
                )
            )
    return tuple(uniques), tuple(indexes)


def _table(rows: TableRows, pks: Mapping[str, tuple[str, ...]]) -> tuple[Table, tuple[Index, ...]]:
    """One table and its indexes, built once per distinct rows (and implicit foreign-key targets' keys).

    A table the models and the database store alike comes with the same rows
    on both sides (`rebuilder.sides`), and is built once.
    """
    implicit = {fold(str(r[2])) for r in rows.foreign_keys if r[4] is None}
    return _built(rows, tuple(sorted((name, pks.get(name, ())) for name in implicit)))


@lru_cache(maxsize=PARSED)
def _built(
    rows: TableRows, parents: tuple[tuple[str, tuple[str, ...]], ...]
) -> tuple[Table, tuple[Index, ...]]:
    pks = {**dict(parents), fold(rows.name): _primary_key(rows)}
    try:
        ddl = split_create_table(rows.sql)
    except ValueError as exc:
        raise UnsupportedSchema(rows.name, f"its CREATE TABLE cannot be read ({exc})") from exc
    uniques, indexes = _split(rows)
    table = Table(
        name=rows.name,
        columns=_columns(rows, ddl),
        primary_key=pks[fold(rows.name)],
        autoincrement=any(c.autoincrement for c in ddl.columns),
        uniques=frozenset(uniques),
        checks=_checks(ddl),
        foreign_keys=_foreign_keys(rows, pks),
        strict=rows.strict,
        without_rowid=rows.without_rowid,
        sql=rows.sql,
    )
    return table, indexes


def _primary_key_of(xinfo: Sequence[Row]) -> tuple[str, ...]:
    keyed = sorted((int(str(r[5])), fold(str(r[1]))) for r in xinfo if r[5])
    return tuple(name for _, name in keyed)


def _primary_key(rows: TableRows) -> tuple[str, ...]:
    return _primary_key_of(rows.xinfo)


def build_schema(catalog: Catalog, exclude: Iterable[str] = ()) -> Schema:
    """Build the canonical `Schema` from catalog rows (pure).

    Args:
        catalog: Rows from `read_catalog`.
        exclude: Glob patterns; matching tables and indexes are left out.

    Returns:
        The schema, tables and indexes sorted by folded name.
    """
    patterns = tuple(exclude)
    kept = [t for t in catalog.tables if not excluded(t.name, patterns)]
    pks = {**catalog.keys, **{fold(t.name): _primary_key(t) for t in kept}}
    tables: list[Table] = []
    indexes: list[Index] = []
    protected: list[Dependent] = []
    for rows in kept:
        table, own = _table(rows, pks)
        tables.append(table)
        indexes.extend(i for i in own if not excluded(i.name, patterns))
        protected.extend(
            Dependent("index", i.name, i.table, i.sql) for i in own if excluded(i.name, patterns)
        )
    return Schema(
        tables=tuple(sorted(tables, key=lambda t: t.key)),
        indexes=tuple(sorted(indexes, key=lambda i: i.key)),
        dependents=(*catalog.dependents, *protected),
    )


def reflect(
    conn: sqlite3.Connection, exclude: Iterable[str] = (), version_table: str = "rebuilder_version"
) -> Schema:
    """Read the live schema of ``conn`` (its ``main`` database).

    Args:
        conn: An open connection.
        exclude: Glob patterns of tables and indexes to leave out.
        version_table: The version table's name, which is never managed.

    Returns:
        The canonical schema.
    """
    return build_schema(read_catalog(conn, version_table), exclude)
