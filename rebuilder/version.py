"""The version table, the history table and the models' fingerprint.

The version table mirrors ``alembic_version``: one column ``version_num
VARCHAR(32) NOT NULL`` PRIMARY KEY and one row. Its value is a fingerprint of
the models' DDL as SQLAlchemy's sqlite dialect compiles it, so the same models
give the same version in every process, whatever their module is called.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rebuilder.errors import VersionTableInvalid
from rebuilder.names import HISTORY_TABLE, excluded, fold, quote

if TYPE_CHECKING:
    from sqlalchemy import MetaData

FORMAT = "rebuilder-fingerprint-1"


def fingerprint(metadatas: Sequence[MetaData], exclude: Iterable[str] = ()) -> str:
    """Return the 32-hex-digit version of a set of models.

    Args:
        metadatas: The models' MetaData objects.
        exclude: Glob patterns of tables and indexes to leave out.

    Returns:
        A deterministic digest of the models' compiled DDL.
    """
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = sqlite_dialect.dialect()
    patterns = tuple(exclude)
    parts = []
    for md in metadatas:
        for table in md.tables.values():
            if excluded(table.name, patterns):
                continue
            parts.append(str(CreateTable(table).compile(dialect=dialect)).strip())
            parts.extend(
                str(CreateIndex(ix).compile(dialect=dialect)).strip()
                for ix in table.indexes
                if ix.name is None or not excluded(ix.name, patterns)
            )
    digest = hashlib.sha256(FORMAT.encode())
    for part in sorted(parts):
        digest.update(b"\x00" + part.encode())
    # What is excluded decides the result too: a database synced with an exclusion
    # must not take the fast path for a sync without it (or with another).
    for pattern in sorted(set(patterns)):
        digest.update(b"\x01" + pattern.encode())
    return digest.hexdigest()[:32]


def read_version(conn: sqlite3.Connection, table: str) -> str | None:
    """Return the stored version, or None when there is no version table or row.

    Raises:
        RebuilderError: If the version table is not of the expected shape.
    """
    columns = [r[1] for r in conn.execute(f"PRAGMA main.table_info({quote(table)})")]
    if not columns:
        return None
    if [fold(c) for c in columns] != ["version_num"]:
        raise VersionTableInvalid(table, f"has columns {', '.join(columns)}, not just version_num")
    rows = conn.execute(f"SELECT version_num FROM main.{quote(table)} LIMIT 2").fetchall()
    if len(rows) > 1:
        raise VersionTableInvalid(table, "holds more than one row")
    return str(rows[0][0]) if rows else None


def write_version(conn: sqlite3.Connection, table: str, version: str, summary: str, steps: int) -> None:
    """Store ``version`` as the one row of the version table and add a history row."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS main.{quote(table)} (version_num VARCHAR(32) NOT NULL, "
        f"CONSTRAINT {quote(table + '_pkc')} PRIMARY KEY (version_num))"
    )
    conn.execute(f"DELETE FROM main.{quote(table)}")
    conn.execute(f"INSERT INTO main.{quote(table)} (version_num) VALUES (?)", (version,))
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS main.{quote(HISTORY_TABLE)} (id INTEGER NOT NULL PRIMARY KEY, "
        "version_num VARCHAR(32) NOT NULL, version_table TEXT NOT NULL, "
        "applied_at TEXT NOT NULL, steps INTEGER NOT NULL, summary TEXT NOT NULL)"
    )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    conn.execute(
        f"INSERT INTO main.{quote(HISTORY_TABLE)} (version_num, version_table, applied_at, steps, summary) "
        "VALUES (?, ?, ?, ?, ?)",
        (version, table, now, steps, summary),
    )


def read_history(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, int, str]]:
    """Return ``(version, applied_at, steps, summary)`` rows, newest first."""
    exists = conn.execute(
        "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?", (HISTORY_TABLE,)
    ).fetchone()
    if not exists:
        return []
    rows = conn.execute(
        f"SELECT version_num, applied_at, steps, summary FROM main.{quote(HISTORY_TABLE)} "
        "WHERE version_table = ? ORDER BY id DESC",
        (table,),
    )
    return [(str(v), str(at), int(n), str(summary)) for v, at, n, summary in rows.fetchall()]
