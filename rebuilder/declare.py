"""Bring SQLAlchemy models to a canonical `Schema`.

The models are created with SQLAlchemy's own ``create_all`` into a private
in-memory SQLite database, which is then read by the same reader as a live
file (`rebuilder.reflect`). Both sides of a comparison therefore pass through
one engine and one normaliser, and a database made by ``create_all`` compares
equal to its models by construction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Index, MetaData, Table, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateIndex, CreateTable

from rebuilder.errors import BadModelSpec
from rebuilder.names import fold
from rebuilder.reflect import reflect
from rebuilder.schema import Schema


def create_models_db(metadatas: Sequence[MetaData], spec: str = "models") -> sqlite3.Connection:
    """Create the models into a fresh in-memory SQLite database.

    Args:
        metadatas: The models' MetaData objects.
        spec: Where the models came from, for messages.

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
            md.create_all(engine)
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
    tables: dict[str, str] = {}
    indexes: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            for md in metadatas:
                for table in md.sorted_tables:
                    why = _table_problem(conn, table, tables)
                    if why:
                        return f"table {table.name!r}: {why}"
                    for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
                        why = _index_problem(conn, index, indexes)
                        if why:
                            return f"index {index.name!r} on table {table.name!r}: {why}"
    finally:
        raw.close()
    return None


def _table_problem(conn: Connection, table: Table, seen: dict[str, str]) -> str | None:
    key = fold(table.name)
    if key in seen:
        return "it is defined twice (in two MetaData objects)"
    seen[key] = table.name
    try:
        conn.execute(CreateTable(table))
    except (SQLAlchemyError, sqlite3.Error) as exc:
        return _first_line(exc)
    return None


def _index_problem(conn: Connection, index: Index, seen: dict[str, str]) -> str | None:
    if not index.expressions:
        return "it has no columns; give it at least one column or remove it"
    if index.name is None:
        return None
    key = fold(str(index.name))
    if key in seen:
        return (
            f"the name is defined twice (also on table {seen[key]!r}); index names are shared by "
            "the whole database in SQLite, so give each index its own name"
        )
    assert index.table is not None
    seen[key] = index.table.name
    try:
        conn.execute(CreateIndex(index))
    except (SQLAlchemyError, sqlite3.Error) as exc:
        return _first_line(exc)
    return None


def declare(
    metadatas: Sequence[MetaData],
    exclude: Iterable[str] = (),
    version_table: str = "rebuilder_version",
    spec: str = "models",
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
    conn = create_models_db(metadatas, spec)
    try:
        return reflect(conn, exclude, version_table)
    finally:
        conn.close()
