"""The options every entry point shares, parsed and checked once, before anything is opened.

A light module: the start-up path parses renames without loading the differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rebuilder.errors import BadRename

Renaming = Mapping[str, str] | Iterable[str] | None
"""Renames as ``{"old": "new"}`` or ``["old=new"]`` (columns: ``table.old``)."""


@dataclass(frozen=True)
class Rename:
    """A rename the caller asked for: of a table, or of a column of ``table``.

    Attributes:
        old: The name in the database.
        new: The name in the models.
        text: The rename as the caller wrote it, for messages.
        table: For a column, its table, by its name in the database or in the models.
    """

    old: str
    new: str
    text: str
    table: str = ""


@dataclass(frozen=True)
class Options:
    """What every entry point needs besides the models and the database.

    Attributes:
        exclude: Glob patterns of tables and indexes to leave alone.
        version_table: The version table's name.
        renames: Column renames.
        table_renames: Table renames.
        timeout: Seconds to wait for another writer's lock.
    """

    exclude: tuple[str, ...] = ()
    version_table: str = "rebuilder_version"
    renames: tuple[Rename, ...] = ()
    table_renames: tuple[Rename, ...] = ()
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
        """Parse and check the options.

        Raises:
            BadRename: If a rename is malformed.
        """
        columns = tuple(parse_column_rename(text) for text in _strings(renames))
        tables = tuple(parse_table_rename(text) for text in _strings(table_renames))
        return cls(tuple(exclude), version_table, columns, tables, timeout)


def _strings(value: Renaming) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple(f"{old}={new}" for old, new in value.items())
    return tuple(value)


def parse_column_rename(text: str) -> Rename:
    """Parse ``TABLE.OLD=NEW``.

    Raises:
        BadRename: If it is malformed.
    """
    left, eq, new = text.partition("=")
    table, dot, old = left.rpartition(".")
    if not eq or not dot or not table or not old or not new:
        raise BadRename(text, "expected TABLE.OLD=NEW, e.g. friend.fullname=name")
    return Rename(old, new, text, table)


def parse_table_rename(text: str) -> Rename:
    """Parse ``OLD=NEW``.

    Raises:
        BadRename: If it is malformed.
    """
    old, eq, new = text.partition("=")
    if not eq or not old or not new:
        raise BadRename(text, "expected OLD=NEW, e.g. people=friend")
    return Rename(old, new, text)
