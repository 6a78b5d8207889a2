"""Disk space: how much a rebuild needs, and whether the filesystem has it.

A rebuild writes a full copy of the table and its indexes, and the journal
(or WAL) holds the pages it frees and changes until COMMIT, so it needs about
2.5 times the table's size (measured: sqlite-rebuild-pitfalls.md, item 19).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from rebuilder.errors import DiskFull
from rebuilder.schema import Index, Table

FACTOR = 2.5


def object_bytes(conn: sqlite3.Connection, names: list[str]) -> int:
    """Return the bytes the named tables and indexes occupy.

    Uses the ``dbstat`` virtual table when SQLite has it, else the whole file.
    """
    marks = ", ".join("?" for _ in names)
    try:
        row = conn.execute(
            f"SELECT coalesce(sum(pgsize), 0) FROM dbstat('main') WHERE name IN ({marks})", names
        ).fetchone()
        return int(row[0])
    except sqlite3.OperationalError:
        return database_bytes(conn)


def database_bytes(conn: sqlite3.Connection) -> int:
    """The size of the whole main database."""
    page = int(conn.execute("PRAGMA main.page_size").fetchone()[0])
    return int(conn.execute("PRAGMA main.page_count").fetchone()[0]) * page


def has_room(conn: sqlite3.Connection, table_bytes: int) -> bool:
    """Whether the filesystem holds a rebuild of ``table_bytes`` of data."""
    directory = database_dir(conn)
    return directory is None or shutil.disk_usage(directory).free >= table_bytes * FACTOR + 1_000_000


def rebuild_bytes(conn: sqlite3.Connection, table: Table, indexes: tuple[Index, ...]) -> int:
    """Estimate the free bytes a rebuild of ``table`` needs."""
    names = [table.name, *(i.name for i in indexes)]
    names += [r[1] for r in conn.execute(f"PRAGMA main.index_list({_q(table.name)})")]
    return int(object_bytes(conn, names) * FACTOR) + 1_000_000


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def database_dir(conn: sqlite3.Connection) -> Path | None:
    """The directory of the connection's main database file, if it has one."""
    for _seq, name, file in conn.execute("PRAGMA database_list"):
        if name == "main" and file:
            return Path(file).parent
    return None


def ensure_room(conn: sqlite3.Connection, table: str, needed: int) -> None:
    """Refuse up front when the filesystem cannot hold the rebuild.

    Raises:
        DiskFull: With the estimated need and the free space.
    """
    directory = database_dir(conn)
    if directory is None:
        return
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise DiskFull(table, needed, free)
