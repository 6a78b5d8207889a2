"""The options every entry point shares, parsed and checked once, before anything is opened.

A light module: the start-up path parses renames without loading the differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from rebuilder.errors import BadFill, BadRename

Renaming = Mapping[str, str] | Iterable[str] | None
"""Renames as ``{"old": "new"}`` or ``["old=new"]`` (columns: ``table.old``); fills alike
(``{"table.column": "expr"}`` or ``["table.column=expr"]``)."""


@dataclass(frozen=True)
class Rename:
    """A rename the caller asked for: of a table, or of a column of ``table``.

    Attributes:
        old: The name in the database.
        new: The name in the models.
        text: The rename as the caller wrote it, for messages.
        table: For a column, its table, by its name in the database or in the models.
        declared: Whether the models declare it (``info={"renamed_from": ...}``):
            then it is ignored once applied, so it can stay in the code.
    """

    old: str
    new: str
    text: str
    table: str = ""
    declared: bool = False


@dataclass(frozen=True)
class Fill:
    """The value every existing row gets for a column in this sync.

    Attributes:
        table: The table, as the models name it.
        column: The column, as the models name it.
        expr: An SQL expression over the table's columns, named as the models
            name them (after this sync's renames); any SQLite function may appear.
        text: Where it came from, for messages.
    """

    table: str
    column: str
    expr: str
    text: str


@dataclass(frozen=True)
class Options:
    """What every entry point needs besides the models and the database.

    Attributes:
        exclude: Glob patterns of tables and indexes to leave alone.
        version_table: The version table's name.
        renames: Column renames.
        table_renames: Table renames.
        timeout: Seconds to wait for another writer's lock.
        fills: Values for existing rows, per column.
    """

    exclude: tuple[str, ...] = ()
    version_table: str = "rebuilder_version"
    renames: tuple[Rename, ...] = ()
    table_renames: tuple[Rename, ...] = ()
    timeout: float = 30.0
    fills: tuple[Fill, ...] = ()

    @classmethod
    def of(
        cls,
        exclude: Iterable[str] = (),
        version_table: str = "rebuilder_version",
        renames: Renaming = None,
        table_renames: Renaming = None,
        timeout: float = 30.0,
        fills: Renaming = None,
    ) -> Options:
        """Parse and check the options.

        Raises:
            BadRename: If a rename is malformed.
            BadFill: If a fill is malformed.
        """
        columns = tuple(parse_column_rename(text) for text in _strings(renames))
        tables = tuple(parse_table_rename(text) for text in _strings(table_renames))
        parsed = tuple(parse_fill(text) for text in _strings(fills))
        return cls(tuple(exclude), version_table, columns, tables, timeout, parsed)

    def with_declared(
        self, renames: Iterable[Rename], table_renames: Iterable[Rename], fills: Iterable[Fill]
    ) -> Options:
        """These options plus what the models declare; the caller's own come first and win."""
        return replace(
            self,
            renames=(*self.renames, *renames),
            table_renames=(*self.table_renames, *table_renames),
            fills=(*self.fills, *fills),
        )


def parse_fill(text: str) -> Fill:
    """Parse ``TABLE.COLUMN=EXPR`` (the expression may itself hold ``=``).

    Raises:
        BadFill: If it is malformed.
    """
    left, eq, expr = text.partition("=")
    table, dot, column = left.strip().rpartition(".")
    if not eq or not dot or not table or not column or not expr.strip():
        raise BadFill(text, "expected TABLE.COLUMN=EXPR, e.g. users.status=coalesce(status, 'active')")
    return Fill(table, column, expr.strip(), text)


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
