"""The version table, the history table and the models' fingerprint.

The version table mirrors ``alembic_version``: one column ``version_num
VARCHAR(32) NOT NULL`` PRIMARY KEY and one row. Its value is a fingerprint of
the models' structure (`rebuilder.fingerprint`), so the same models give the
same version in every process, whatever their module is called.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from rebuilder.errors import VersionTableInvalid
from rebuilder.fingerprint import FORMAT, fingerprint
from rebuilder.names import HISTORY_TABLE, fold, quote

__all__ = ["FORMAT", "fingerprint", "read_history", "read_version", "write_version"]


def _shape(conn: sqlite3.Connection, table: str) -> bool:
    """Whether the version table exists; raises if it is not of the expected shape.

    Raises:
        VersionTableInvalid: If it has other columns than ``version_num``.
    """
    columns = [r[1] for r in conn.execute(f"PRAGMA main.table_info({quote(table)})")]
    if columns and [fold(c) for c in columns] != ["version_num"]:
        raise VersionTableInvalid(table, f"has columns {', '.join(columns)}, not just version_num")
    return bool(columns)


def read_version(conn: sqlite3.Connection, table: str, *, check_shape: bool = True) -> str | None:
    """Return the stored version, or None when there is no version table or row.

    Args:
        conn: An open connection.
        table: The version table's name.
        check_shape: Check the table's columns first. Without it (the start-up
            fast path) only the row is read, and the columns are checked only
            when that read fails; a sync checks them again under the lock
            before it writes.

    Raises:
        RebuilderError: If the version table is not of the expected shape.
    """
    if check_shape and not _shape(conn, table):
        return None
    try:
        rows = conn.execute(f"SELECT version_num FROM main.{quote(table)} LIMIT 2").fetchall()
    except sqlite3.OperationalError:
        if check_shape or _shape(conn, table):
            raise  # the table is there and of the right shape: the read failed for another reason
        return None
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
