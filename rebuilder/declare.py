"""Bring SQLAlchemy models to a canonical `Schema`.

The models are created with SQLAlchemy's own ``create_all`` into a private
in-memory SQLite database, which is then read by the same reader as a live
file (`rebuilder.reflect`). Both sides of a comparison therefore pass through
one engine and one normaliser, and a database made by ``create_all`` compares
equal to its models by construction.

A table that the database stores exactly as ``create_all`` would create it,
byte for byte, with exactly the same indexes, reads back the same from either
database: SQLite derives every PRAGMA from those statements. Such a table is
not created in memory at all (`unchanged`); its rows are the live file's.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

from sqlalchemy import Column, Connection, Dialect, Index, MetaData, Table, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateIndex, CreateTable

from rebuilder.errors import BadModelSpec
from rebuilder.names import excluded, fold, quote
from rebuilder.reflect import Catalog, Stored, build_schema, read_catalog
from rebuilder.schema import Schema

UNNAMED = "models"
"""How messages name models given as objects, not as a spec (see `rebuilder.load.named`)."""


def create_models_db(
    metadatas: Sequence[MetaData], spec: str = UNNAMED, leave_out: frozenset[str] = frozenset()
) -> sqlite3.Connection:
    """Create the models into a fresh in-memory SQLite database.

    Args:
        metadatas: The models' MetaData objects.
        spec: Where the models came from, for messages.
        leave_out: Folded names of tables not to create (see `unchanged`).

    Returns:
        An open connection to the in-memory database.

    Raises:
        BadModelSpec: If SQLAlchemy or SQLite refuses the models' DDL.
    """
    raw = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    # StaticPool hands SQLAlchemy our connection; the engine is never disposed,
    # since that would close it.
    engine = create_engine("sqlite://", creator=lambda: raw, poolclass=StaticPool)
    try:
        for md in metadatas:
            if not leave_out:
                md.create_all(engine)
            elif tables := [t for t in md.tables.values() if fold(t.name) not in leave_out]:
                md.create_all(engine, tables=tables)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raw.close()
        detail = _culprit(metadatas) or _first_line(exc)
        raise BadModelSpec(spec, f"the models' tables cannot be created: {detail}") from exc
    return raw


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


def _culprit(metadatas: Sequence[MetaData]) -> str | None:
    """Replay the models' DDL one table and one index at a time, and name the first that fails.

    Returns:
        ``table 'x': why`` or ``index 'y' on table 'x': why``, or None if every
        statement goes through on its own.
    """
    raw = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    engine = create_engine("sqlite://", creator=lambda: raw, poolclass=StaticPool)
    try:
        with engine.connect() as conn:
            return _first_problem(metadatas, conn)
    finally:
        raw.close()


def name_clash(metadatas: Sequence[MetaData]) -> str | None:
    """Name the first table or index SQLite would refuse for its name alone, with no DDL run.

    Tables and indexes share one namespace in SQLite, so a clash between a
    table the database already stores as the models do and a new one shows
    only when both are created; a plan creates only the new one in memory.

    Returns:
        As `_culprit` words it, or None.
    """
    return _first_problem(metadatas, None)


def _first_problem(metadatas: Sequence[MetaData], conn: Connection | None) -> str | None:
    """The first table or index whose name clashes or (given ``conn``) whose DDL SQLite refuses."""
    names: dict[str, tuple[str, str]] = {}  # folded name -> (kind, table)
    for md in metadatas:
        for table in md.sorted_tables:
            why = _table_problem(conn, table, names)
            if why:
                return f"table {table.name!r}: {why}"
            for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
                why = _index_problem(conn, index, names)
                if why:
                    return f"index {index.name!r} on table {table.name!r}: {why}"
    return None


def _table_problem(conn: Connection | None, table: Table, names: dict[str, tuple[str, str]]) -> str | None:
    key = fold(table.name)
    if key in names:
        kind, owner = names[key]
        if kind == "table":
            return "it is defined twice (in two MetaData objects)"
        return f"an index on table {owner!r} has the same name; give one of them another name"
    names[key] = ("table", table.name)
    return _refused(conn, CreateTable(table))


def _index_problem(conn: Connection | None, index: Index, names: dict[str, tuple[str, str]]) -> str | None:
    if not index.expressions:
        return "it has no columns; give it at least one column or remove it"
    if index.name is None:
        return None
    key = fold(str(index.name))
    if key in names:
        kind, owner = names[key]
        if kind == "table":
            return f"a table has the same name ({owner!r}); give the index another name"
        return (
            f"the name is defined twice (also on table {owner!r}); index names are shared by "
            "the whole database in SQLite, so give each index its own name"
        )
    assert index.table is not None
    names[key] = ("index", index.table.name)
    return _refused(conn, CreateIndex(index))


def _refused(conn: Connection | None, statement: CreateTable | CreateIndex) -> str | None:
    """Why SQLite refuses ``statement`` (None when it goes through, or with no connection to try)."""
    if conn is None:
        return None
    try:
        conn.execute(statement)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        return _first_line(exc)
    return None


def _listens(item: MetaData | Table | Index) -> bool:
    """Whether DDL events hang on ``item``: ``create_all`` may then do more than its DDL says."""
    return bool(item.dispatch.before_create) or bool(item.dispatch.after_create)


def _plain(table: Table) -> bool:
    """Whether ``create_all`` runs exactly ``CreateTable`` and ``CreateIndex`` for ``table``, nothing else."""
    return (
        table.schema is None
        and getattr(table, "_creator_ddl", None) is None
        and not _listens(table)
        and not any(_listens(ix) for ix in table.indexes)
    )


def _spellings(compiled: str, head: str, names: Iterable[tuple[str, str]]) -> frozenset[str]:
    """``compiled`` and the same statement with each name token in ``quote``'s spelling instead.

    ``compiled`` is ``head`` followed by the names as SQLAlchemy spells them,
    each followed by the text in ``names`` (``(spelled, quoted)`` pairs, then
    what comes after each). rebuilder writes names quoted (``main."t"``), and
    SQLite's RENAME writes ``"t"``: one statement, spelled differently.
    """
    forms = [head]
    rest = compiled[len(head) :] if compiled.startswith(head) else None
    for spelled, quoted in names:
        if rest is None or not rest.startswith(spelled):
            return frozenset({compiled})
        rest = rest[len(spelled) :]
        forms = [form + variant for form in forms for variant in {spelled, quoted}]
    return frozenset(form + (rest or "") for form in forms)


def _table_forms(table: Table, dialect: Dialect) -> frozenset[str]:
    compiled = str(CreateTable(table).compile(dialect=dialect)).strip()
    name = dialect.identifier_preparer.format_table(table)
    return _spellings(compiled, "CREATE TABLE ", [(name + " ", quote(table.name) + " ")])


def plain_index_sql(index: Index, table: Table, dialect: Dialect) -> str | None:
    """What ``CreateIndex`` compiles to for an index on plain columns of ``table`` with no WHERE, else None.

    Most indexes are like this, and writing it here is cheaper than running
    SQLAlchemy's compiler (``check`` at 500 tables went from 0.223 s to about
    0.2 s); anything else (an expression, a ``desc()`` or ``collate()`` key, a
    partial index) is left to the compiler. A test holds it equal to the
    compiler on every index of the scenarios' models.
    """
    columns = [e for e in index.expressions if isinstance(e, Column) and e.table is table]
    if not columns or len(columns) != len(index.expressions) or index.name is None:
        return None
    made = index.__dict__.get("dialect_options")  # SQLAlchemy makes it when dialect options are given
    if made is not None and made["sqlite"]["where"] is not None:
        return None
    preparer = dialect.identifier_preparer
    keys = ", ".join(preparer.quote(str(c.name)) for c in columns)
    unique = "UNIQUE " if index.unique else ""
    name, on = preparer.format_index(index), preparer.format_table(table, use_schema=False)
    return f"CREATE {unique}INDEX {name} ON {on} ({keys})"


def _index_forms(index: Index, table: Table, dialect: Dialect) -> frozenset[str]:
    compiled = (
        plain_index_sql(index, table, dialect) or str(CreateIndex(index).compile(dialect=dialect)).strip()
    )
    preparer = dialect.identifier_preparer
    head = f"CREATE {'UNIQUE ' if index.unique else ''}INDEX "
    names = [
        (preparer.format_index(index) + " ON ", quote(str(index.name)) + " ON "),
        (preparer.format_table(table) + " ", quote(table.name) + " "),
    ]
    return _spellings(compiled, head, names)


def _same(
    table: Table,
    sql: str,
    indexes: Iterable[tuple[str, str]],
    dialect: Dialect,
    exclude: tuple[str, ...],
) -> bool:
    """Whether the database stores ``table`` and its kept indexes as ``create_all`` would (up to quoting)."""
    try:
        if sql not in _table_forms(table, dialect):
            return False
        models = [
            _index_forms(ix, table, dialect)
            for ix in table.indexes
            if ix.name is not None and not excluded(str(ix.name), exclude)
        ]
        if any(ix.name is None for ix in table.indexes):
            return False
    except SQLAlchemyError:
        return False  # the full path names the problem
    live = [text for name, text in indexes if not excluded(name, exclude)]
    return len(live) == len(models) and all(any(text in forms for text in live) for forms in models)


def unchanged(metadatas: Sequence[MetaData], stored: Stored, exclude: Iterable[str] = ()) -> frozenset[str]:
    """The tables the database stores exactly as the models' ``create_all`` would create them.

    A table counts when its CREATE TABLE statement and the set of its
    explicit indexes' CREATE INDEX statements are what SQLAlchemy compiles,
    byte for byte but for the table's and indexes' names, which may be
    written quoted (as rebuilder and SQLite's RENAME write them); when
    nothing but those statements would run for it (no DDL events); and when
    the file is read by the same SQLite library. SQLite then reports the
    same PRAGMAs for it from either database, so it reads back into an equal
    `Table` with equal indexes. A name defined twice is never counted.

    Args:
        metadatas: The models' MetaData objects.
        stored: The live database's statements (`rebuilder.reflect.read_stored`).
        exclude: Glob patterns of tables and indexes to leave out.

    Returns:
        The folded names of those tables.
    """
    patterns = tuple(exclude)
    if stored.sqlite_version != sqlite3.sqlite_version or any(_listens(md) for md in metadatas):
        return frozenset()
    names = Counter(fold(t.name) for md in metadatas for t in md.tables.values())
    live, dialect = stored.table_sql(), _memory_dialect()
    return frozenset(
        key
        for md in metadatas
        for table in md.tables.values()
        if (key := fold(table.name)) in live
        and names[key] == 1
        and not excluded(table.name, patterns)
        and _plain(table)
        and _same(table, live[key], stored.indexes.get(key, ()), dialect, patterns)
    )


@lru_cache(maxsize=1)
def _memory_dialect() -> Dialect:
    """SQLAlchemy's SQLite dialect as ``create_all`` into memory uses it, initialised on a connection."""
    raw = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    engine = create_engine("sqlite://", creator=lambda: raw, poolclass=StaticPool)
    engine.connect().close()
    raw.close()
    return engine.dialect


def models_catalog(
    metadatas: Sequence[MetaData],
    version_table: str = "rebuilder_version",
    spec: str = UNNAMED,
    leave_out: frozenset[str] = frozenset(),
) -> Catalog:
    """The catalog rows of the models' in-memory database, the tables in ``leave_out`` not created.

    Raises:
        BadModelSpec: If SQLAlchemy or SQLite refuses the models' DDL.
    """
    conn = create_models_db(metadatas, spec, leave_out)
    try:
        return read_catalog(conn, version_table)
    finally:
        conn.close()


def declare(
    metadatas: Sequence[MetaData],
    exclude: Iterable[str] = (),
    version_table: str = "rebuilder_version",
    spec: str = UNNAMED,
) -> Schema:
    """Return the models' canonical schema, read from an in-memory database made by ``create_all``.

    Args:
        metadatas: The models' MetaData objects.
        exclude: Glob patterns of tables and indexes to leave out.
        version_table: The version table's name, which is never managed.
        spec: Where the models came from, for messages.

    Raises:
        BadModelSpec: If SQLAlchemy or SQLite refuses the models' DDL.
    """
    return build_schema(models_catalog(metadatas, version_table, spec), exclude)
