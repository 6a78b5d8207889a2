"""A page cache large enough that a rebuild in rollback-journal mode does not lock readers out early.

In rollback-journal mode a writer keeps its changes in its page cache until
COMMIT. When the cache is full it spills them to the database file, and for
that it needs the EXCLUSIVE lock, which it then keeps until COMMIT: from the
first spill on, every reader waits. A rebuild dirties about twice the table's
size (the new copy, and the old pages that ``secure_delete`` overwrites), far
more than SQLite's default 2 MB cache, so readers were locked out for most of
the sync. For the sync's transaction only, the cache is raised to what the
database may need, bounded by a quarter of the memory available; readers then
wait only while COMMIT writes. WAL mode needs none of this (a spill there
does not block readers) and is left alone.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("rebuilder")

SHARE_OF_MEMORY = 4
"""The cache may take at most 1/SHARE_OF_MEMORY of the memory available."""

GROWTH = 2
"""Bytes the sync may dirty, per byte of the database: its new copies and the pages it frees."""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation: Linux's MemAvailable, else a quarter of RAM."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (AttributeError, ValueError, OSError):
        return None


def wanted_kib(conn: sqlite3.Connection, available: int | None) -> int | None:
    """The cache, in KiB, a sync on this connection should have; None to keep the current one."""
    mode = str(conn.execute("PRAGMA main.journal_mode").fetchone()[0]).lower()
    if mode == "wal" or available is None:
        return None
    page = int(conn.execute("PRAGMA main.page_size").fetchone()[0])
    size = int(conn.execute("PRAGMA main.page_count").fetchone()[0]) * page
    current = int(conn.execute("PRAGMA main.cache_size").fetchone()[0])
    current_kib = -current if current < 0 else current * page // 1024
    kib = min(size * GROWTH, available // SHARE_OF_MEMORY) // 1024
    return kib if kib > current_kib else None


@contextmanager
def room_for_the_sync(conn: sqlite3.Connection) -> Iterator[None]:
    """Raise the connection's page cache for the sync in rollback-journal mode, then restore it."""
    kib = wanted_kib(conn, available_memory())
    if kib is None:
        yield
        return
    (saved,) = conn.execute("PRAGMA main.cache_size").fetchone()
    log.debug("page cache raised to %d MB for the sync (rollback journal)", kib // 1024)
    conn.execute(f"PRAGMA main.cache_size = -{kib}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA main.cache_size = {int(saved)}")
