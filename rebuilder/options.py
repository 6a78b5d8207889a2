"""The options every entry point shares, checked before anything is opened.

A light module: the start-up path parses renames without loading the differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rebuilder.errors import BadRename

Renaming = Mapping[str, str] | Iterable[str] | None
"""Renames as ``{"old": "new"}`` or ``["old=new"]`` (columns: ``table.old``)."""


@dataclass(frozen=True)
class Options:
    """What every entry point needs besides the models and the database.

    Attributes:
        exclude: Glob patterns of tables and indexes to leave alone.
        version_table: The version table's name.
        renames: Column renames as ``TABLE.OLD=NEW`` strings.
        table_renames: Table renames as ``OLD=NEW`` strings.
        timeout: Seconds to wait for another writer's lock.
    """

    exclude: tuple[str, ...] = ()
    version_table: str = "rebuilder_version"
    renames: tuple[str, ...] = ()
    table_renames: tuple[str, ...] = ()
    timeout: float = 30.0

    @classmethod
    def of(
        cls,
        exclude: Iterable[str] = (),
        version_table: str = "rebuilder_version",
        renames: Renaming = None,
        table_renames: Renaming = None,
        timeout: float = 30.0,
    ) -> Options:
        """Normalise and check the options.

        Raises:
            BadRename: If a rename is malformed.
        """
        options = cls(tuple(exclude), version_table, _strings(renames), _strings(table_renames), timeout)
        parse_renames(options.renames, options.table_renames)
        return options


def _strings(value: Renaming) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple(f"{old}={new}" for old, new in value.items())
    return tuple(value)


def parse_renames(
    columns: Iterable[str] = (), tables: Iterable[str] = ()
) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, str]]]:
    """Parse ``TABLE.OLD=NEW`` and ``OLD=NEW`` strings.

    Returns:
        Column renames as ``(text, table, old, new)`` and table renames as
        ``(text, old, new)``.

    Raises:
        BadRename: If one is malformed.
    """
    parsed_cols = []
    for text in columns:
        left, eq, new = text.partition("=")
        table, dot, old = left.rpartition(".") if "." in left else ("", "", left)
        if not eq or not dot or not table or not old or not new:
            raise BadRename(text, "expected TABLE.OLD=NEW, e.g. --rename friend.fullname=name")
        parsed_cols.append((text, table, old, new))
    parsed_tables = []
    for text in tables:
        old, eq, new = text.partition("=")
        if not eq or not old or not new:
            raise BadRename(text, "expected OLD=NEW, e.g. --rename-table people=friend")
        parsed_tables.append((text, old, new))
    return parsed_cols, parsed_tables
