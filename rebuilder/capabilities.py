"""What the linked SQLite can do, decided once from ``sqlite_version()``.

Every "native ALTER or rebuild?" decision reads this record; no version checks
are scattered elsewhere. The oldest SQLite rebuilder works with is checked
here too, once per command (`require_supported`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from rebuilder.errors import SQLiteTooOld

MINIMUM_SQLITE = (3, 37, 0)
"""The oldest SQLite rebuilder supports: reading the schema needs ``PRAGMA table_list``."""


def require_supported(version: tuple[int, ...] | None = None) -> None:
    """Refuse to work with an SQLite older than `MINIMUM_SQLITE`.

    Args:
        version: The version to check; the ``sqlite3`` module's library by default.

    Raises:
        SQLiteTooOld: If it is older.
    """
    found = tuple(sqlite3.sqlite_version_info) if version is None else version
    if found < MINIMUM_SQLITE:
        raise SQLiteTooOld(found, MINIMUM_SQLITE)


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
