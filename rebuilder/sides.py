"""Both sides of a comparison, read together: the live database and the models.

A table the database stores exactly as the models compile it (see
`rebuilder.declare.unchanged`) is read once. For `plan` and `sync`, which need
whole schemas, its live rows stand for the models' too, so it is neither
created in memory nor read twice. For `check`, which only lists differences,
it is left out of both sides: it would compare equal, table and indexes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from rebuilder.declare import models_catalog, unchanged
from rebuilder.names import fold
from rebuilder.reflect import build_schema, implicit_keys, read_stored, read_tables

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from rebuilder.schema import Schema


def read_both(
    conn: sqlite3.Connection,
    metadatas: Sequence[MetaData],
    exclude: Iterable[str] = (),
    version_table: str = "rebuilder_version",
    *,
    whole: bool = True,
) -> tuple[Schema, Schema]:
    """Read the live schema and the models' schema.

    Args:
        conn: The live database, inside a read or write transaction.
        metadatas: The models' MetaData objects.
        exclude: Glob patterns of tables and indexes to leave out.
        version_table: The version table's name, which is never managed.
        whole: Every table on both sides; with False, the tables stored
            exactly as the models compile them are left out of both.

    Returns:
        ``(live, models)``.

    Raises:
        BadModelSpec: If SQLAlchemy or SQLite refuses the models' DDL.
        UnsupportedSchema: If a live table cannot be read.
    """
    patterns = tuple(exclude)
    stored = read_stored(conn, version_table)
    same = unchanged(metadatas, stored, patterns)
    live = read_tables(conn, stored, frozenset() if whole else same)
    models = models_catalog(metadatas, version_table, leave_out=same)
    if whole:
        reused = tuple(rows for rows in live.tables if fold(rows.name) in same)
        models = replace(models, tables=models.tables + reused)
    else:
        keys = implicit_keys(conn, stored, same, live, models)
        live, models = replace(live, keys=keys), replace(models, keys=keys)
    return build_schema(live, patterns), build_schema(models, patterns)
