"""Disk space: how much a rebuild needs, and whether the filesystem has it.

A rebuild writes a full copy of the table and its indexes, and the journal
(or WAL) holds the pages it frees and changes until COMMIT, so it needs about
2.5 times the table's size (measured: sqlite-rebuild-pitfalls.md, item 19).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

from rebuilder.errors import DiskFull
from rebuilder.names import quote
from rebuilder.schema import Index

FACTOR = 2.5
SLACK = 1_000_000


def object_bytes(conn: sqlite3.Connection, names: list[str]) -> int:
    """Return the bytes the named tables and indexes occupy.

    Uses the ``dbstat`` virtual table when SQLite has it, else the whole file.
    """
    marks = ", ".join("?" for _ in names)
    try:
        row = conn.execute(
            f"SELECT coalesce(sum(pgsize), 0) FROM dbstat('main') WHERE name IN ({marks})", names
        )
        return int(row.fetchone()[0])
    except sqlite3.OperationalError:
        return database_bytes(conn)


def database_bytes(conn: sqlite3.Connection) -> int:
    """The size of the whole main database."""
    page = int(conn.execute("PRAGMA main.page_size").fetchone()[0])
    return int(conn.execute("PRAGMA main.page_count").fetchone()[0]) * page


def rebuild_bytes(conn: sqlite3.Connection, table: str, indexes: Sequence[Index]) -> int:
    """Estimate the free bytes a rebuild of ``table`` (as the database names it now) needs."""
    names = [table, *(i.name for i in indexes)]
    names += [r[1] for r in conn.execute(f"PRAGMA main.index_list({quote(table)})")]
    return int(object_bytes(conn, names) * FACTOR) + SLACK


def database_dir(conn: sqlite3.Connection) -> Path | None:
    """The directory of the connection's main database file, if it has one."""
    for _seq, name, file in conn.execute("PRAGMA database_list"):
        if name == "main" and file:
            return Path(file).parent
    return None


def plenty_of_room(conn: sqlite3.Connection) -> bool:
    """Whether the filesystem could hold a rebuild of the whole file: then nothing need be measured."""
    directory = database_dir(conn)
    return directory is None or shutil.disk_usage(directory).free >= database_bytes(conn) * FACTOR + SLACK


def ensure_room(conn: sqlite3.Connection, needs: Mapping[str, int]) -> None:
    """Refuse up front when the filesystem cannot hold every rebuild.

    Args:
        conn: The connection.
        needs: The estimated bytes each table's rebuild needs.

    Raises:
        DiskFull: Naming the largest rebuild, with the total need and the free space.
    """
    directory = database_dir(conn)
    if directory is None or not needs:
        return
    free = shutil.disk_usage(directory).free
    if free < sum(needs.values()):
        raise DiskFull(max(needs, key=needs.__getitem__), sum(needs.values()), free)
