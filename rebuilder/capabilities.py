"""What the linked SQLite can do, decided once from ``sqlite_version()``.

Every "native ALTER or rebuild?" decision reads this record; no version checks
are scattered elsewhere.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """Features of one SQLite library version.

    Attributes:
        version: The SQLite version as a tuple, e.g. ``(3, 40, 1)``.
        writable_schema: Whether ``sqlite_schema`` may be edited (not in defensive mode).
    """

    version: tuple[int, ...]
    writable_schema: bool = True

    @classmethod
    def of(cls, conn: sqlite3.Connection) -> Capabilities:
        """Build the record from a connection's ``sqlite_version()`` and its defensive flag."""
        text = conn.execute("SELECT sqlite_version()").fetchone()[0]
        defensive = False
        flag = getattr(sqlite3, "SQLITE_DBCONFIG_DEFENSIVE", None)
        getconfig = getattr(conn, "getconfig", None)
        if flag is not None and getconfig is not None:  # Python 3.12+
            defensive = bool(getconfig(flag))
        return cls(tuple(int(part) for part in text.split(".")), writable_schema=not defensive)

    @property
    def drop_column(self) -> bool:
        """``ALTER TABLE ... DROP COLUMN``, with its early bugs fixed (3.35.5)."""
        return self.version >= (3, 35, 5)
