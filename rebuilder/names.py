"""Identifiers as SQLite sees them: folding, quoting, and which tables are never managed.

A light module with no dependencies, so the start-up path can use it.
"""

from __future__ import annotations

import fnmatch
import re
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


HISTORY_TABLE = "rebuilder_history"
"""The history table's name: rebuilder's, like the version table."""

DEFAULT_VERSION_TABLE = "rebuilder_version"
"""The default version table's name, ours even when another ``--version-table`` is in use."""

OTHER_TOOLS_TABLES = frozenset({"alembic_version", "_litestream_seq", "_litestream_lock"})
"""Other tools' bookkeeping tables, never managed: Alembic's version, Litestream's sequence and lock."""

ASIDE_PREFIX = "_rebuilder_old_"


def aside_name(column: str) -> str:
    """The name a column is moved aside to when a rename gives its name to another column.

    Such a column is then dropped in the same sync; the name exists only inside
    the sync's transaction.
    """
    return ASIDE_PREFIX + column


def is_internal(name: str, version_table: str) -> bool:
    """Whether a table belongs to SQLite, to rebuilder or to another tool, never to the models.

    Ours are the version table (the one in use and the default
    ``rebuilder_version``) and the history table, by their exact names;
    any other table, whatever its name (``rebuilder_jobs`` included), is the
    models' to manage. Also never managed: ``sqlite_*`` tables and the
    bookkeeping tables of Alembic (``alembic_version``) and Litestream
    (``_litestream_seq``, ``_litestream_lock``). Virtual tables and their
    shadow tables are skipped by the schema reader.

    Args:
        name: A table name as stored.
        version_table: The version table's name.

    Returns:
        True if the table is never diffed, dropped or rebuilt.
    """
    key = fold(name)
    return (
        key.startswith("sqlite_")
        or key in (fold(version_table), DEFAULT_VERSION_TABLE, HISTORY_TABLE)
        or key in OTHER_TOOLS_TABLES
    )


def excluded(name: str, patterns: Iterable[str]) -> bool:
    """Whether a name matches one of the user's ``--exclude`` glob patterns."""
    return any(fnmatch.fnmatchcase(fold(name), fold(p)) for p in patterns)


def snake_case(name: str) -> str:
    """``DropColumn`` -> ``drop_column``: a record's stable kind, from its class name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
