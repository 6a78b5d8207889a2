"""Give the disk back after a sync in WAL mode: checkpoint and truncate the ``-wal`` file.

A rebuild writes the whole new table into the write-ahead log, and SQLite
never shrinks that file by itself: after a 1M-row rebuild it stays the size of
the table until the last connection closes, which in a live app is never. So
after a sync that wrote something, rebuilder first copies the log into the
database without waiting for anyone (``wal_checkpoint(PASSIVE)``), then asks
for ``wal_checkpoint(TRUNCATE)`` with a short busy timeout, a few times. The
truncating checkpoint can only finish when no reader still holds a snapshot
older than the log's end; while it waits, the app's writers wait too, which
is why each try is short and the whole is bounded. When it cannot finish,
the sync still succeeds and the reason is logged at debug level. The sync is
already committed here, so Ctrl-C only stops the clean-up.
"""

from __future__ import annotations

import logging
import sqlite3
import time

log = logging.getLogger("rebuilder")

TRY_MS = 50
"""How long one truncating checkpoint may wait for readers (and hold writers off)."""

TRIES = 20
"""How many times to try; with the pauses between them, at most about 1.1 s in all."""

PAUSE = 0.005
"""Seconds between tries, in which the app's writers and readers get on."""


def truncate_wal(conn: sqlite3.Connection, label: str) -> bool:
    """Checkpoint the database's ``-wal`` file into it and truncate the file to zero bytes.

    Does nothing unless the database is in WAL mode and the connection is not
    inside a transaction. The connection's busy timeout is restored.

    Args:
        conn: The sync's connection, after its COMMIT.
        label: How to name the database in the log.

    Returns:
        True if the ``-wal`` file was truncated, False otherwise (logged at debug level).
    """
    if conn.in_transaction or _journal_mode(conn) != "wal":
        return False
    (saved,) = conn.execute("PRAGMA busy_timeout").fetchone()
    try:
        return _checkpoint(conn, label)
    except sqlite3.Error as exc:
        log.debug("could not truncate the -wal file of %s: %s; it is left as it is", label, exc)
        return False
    except KeyboardInterrupt:
        # The sync is committed: Ctrl-C now stops the clean-up, and must not be reported as a rollback.
        log.debug("interrupted while truncating the -wal file of %s; the sync is committed", label)
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(saved)}")


def _journal_mode(conn: sqlite3.Connection) -> str:
    return str(conn.execute("PRAGMA main.journal_mode").fetchone()[0]).lower()


def _checkpoint(conn: sqlite3.Connection, label: str) -> bool:
    conn.execute("PRAGMA busy_timeout = 0")
    busy, frames, copied = conn.execute("PRAGMA main.wal_checkpoint(PASSIVE)").fetchone()
    log.debug("checkpoint of %s: %s of %s -wal frames copied (busy %s)", label, copied, frames, busy)
    conn.execute(f"PRAGMA busy_timeout = {TRY_MS}")
    for attempt in range(1, TRIES + 1):
        (busy, frames, copied) = conn.execute("PRAGMA main.wal_checkpoint(TRUNCATE)").fetchone()
        if busy == 0:
            log.debug("the -wal file of %s was checkpointed and truncated (try %d)", label, attempt)
            return True
        time.sleep(PAUSE)
    log.debug(
        "could not truncate the -wal file of %s: a reader kept an older snapshot through %d tries "
        "(%s of %s frames copied); it will be reused, and truncated by a later checkpoint",
        label,
        TRIES,
        copied,
        frames,
    )
    return False
