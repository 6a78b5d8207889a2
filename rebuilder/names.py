"""Identifiers as SQLite sees them: folding, quoting, and which tables are never managed.

A light module with no dependencies, so the start-up path can use it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(name: str) -> str:
    """Fold an identifier the way SQLite compares it (ASCII letters only).

    Args:
        name: An identifier as written.

    Returns:
        The name with ASCII letters lower-cased; other letters are untouched,
        as in SQLite, where ``ÄBC`` and ``äbc`` are different names.
    """
    return name.translate(_ASCII_LOWER)


def quote(name: str) -> str:
    """Quote an identifier for SQLite, doubling any embedded double quote."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """Quote a string literal for SQLite, doubling any embedded single quote."""
    return "'" + value.replace("'", "''") + "'"


ASIDE_PREFIX = "_rebuilder_old_"


def aside_name(column: str) -> str:
    """The name a column is moved aside to when a rename gives its name to another column.

    Such a column is then dropped in the same sync; the name exists only inside
    the sync's transaction.
    """
    return ASIDE_PREFIX + column


def is_internal(name: str, version_table: str) -> bool:
    """Whether a table belongs to SQLite or to a migration tool, never to the models."""
    key = fold(name)
    return (
        key.startswith("sqlite_")
        or "rebuilder" in key
        or key == "alembic_version"
        or key == fold(version_table)
    )


def excluded(name: str, patterns: Iterable[str]) -> bool:
    """Whether a name matches one of the user's ``--exclude`` glob patterns."""
    return any(fnmatch.fnmatchcase(fold(name), fold(p)) for p in patterns)
