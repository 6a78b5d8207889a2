"""The differences between two schemas, as small typed records.

Each record carries both sides of what differs, so that the planner and the
messages need nothing else. `rebuilder.diff` produces them; `check` returns
them; `rebuilder.planner` turns them into steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rebuilder.names import fold, snake_case
from rebuilder.schema import Check, Column, ForeignKey, Index, Table, Unique, differing

Constraint = Unique | Check | ForeignKey


def _either(word: str, otherwise: str, field: str) -> Callable[[Any, Any], str]:
    return lambda old, new: word if getattr(new, field) else otherwise


_COLUMN_PARTS: tuple[tuple[str, Callable[[Column, Column], str]], ...] = (
    ("type", lambda old, new: f"type {old.type or '(none)'} -> {new.type or '(none)'}"),
    ("notnull", _either("NOT NULL", "nullable", "notnull")),
    ("default", lambda old, new: f"default {old.default or '(none)'} -> {new.default or '(none)'}"),
    ("collate", lambda old, new: f"collate {old.collate or 'BINARY'} -> {new.collate or 'BINARY'}"),
    ("generated", lambda old, new: "generated expression"),
    ("stored", lambda old, new: "generated expression"),
)
"""How each differing column field reads in a plan, in order."""

_TABLE_PARTS: tuple[tuple[str, Callable[[Table, Table], str]], ...] = (
    ("primary_key", lambda old, new: f"primary key ({', '.join(new.primary_key)})"),
    ("autoincrement", _either("AUTOINCREMENT", "no AUTOINCREMENT", "autoincrement")),
    ("strict", _either("STRICT", "not STRICT", "strict")),
    ("without_rowid", _either("WITHOUT ROWID", "with rowid", "without_rowid")),
)
"""How each differing table option reads in a plan, in order."""


def _parts(parts: Sequence[tuple[str, Callable[[Any, Any], str]]], old: Any, new: Any) -> str:
    changed = differing(old, new)
    return ", ".join(dict.fromkeys(describe(old, new) for name, describe in parts if name in changed))


class _Kind:
    """Gives a change its stable ``kind`` (its class name in snake case) and a plain-JSON form."""

    kind: ClassVar[str]

    def __init_subclass__(cls) -> None:
        cls.kind = snake_case(cls.__name__)

    @property
    def subject(self) -> str:
        """The table the change is about, as the models name it."""
        table = getattr(self, "table", None)
        if isinstance(table, Table):
            return table.name
        if isinstance(table, str):
            return table
        index = getattr(self, "index", None)
        return index.table if isinstance(index, Index) else str(getattr(self, "new", ""))

    def to_dict(self) -> dict[str, Any]:
        """The change as plain JSON types: its kind, table and description."""
        return {"kind": self.kind, "table": self.subject, "description": str(self)}


@dataclass(frozen=True)
class RenameTable(_Kind):
    """A table renamed on request (its live name ``old``)."""

    old: str
    new: str

    def __str__(self) -> str:
        return f"rename table {self.old} to {self.new}"


@dataclass(frozen=True)
class RenameColumn(_Kind):
    """A column renamed on request (``table`` as the models name it)."""

    table: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"rename column {self.table}.{self.old} to {self.new}"


@dataclass(frozen=True)
class CreateTable(_Kind):
    """A table in the models but not in the database."""

    table: Table

    def __str__(self) -> str:
        return f"create table {self.table.name}"


@dataclass(frozen=True)
class DropTable(_Kind):
    """A table in the database but not in the models."""

    table: Table

    def __str__(self) -> str:
        return f"drop table {self.table.name}"


@dataclass(frozen=True)
class AddColumn(_Kind):
    """A column in the model table but not in the database table."""

    table: str
    column: Column

    def __str__(self) -> str:
        return f"add column {self.table}.{self.column.name} {self.column.summary}".rstrip()


@dataclass(frozen=True)
class DropColumn(_Kind):
    """A column in the database table but not in the model table."""

    table: str
    column: Column

    def __str__(self) -> str:
        return f"drop column {self.table}.{self.column.live}"


@dataclass(frozen=True)
class AlterColumn(_Kind):
    """A column whose type, nullability, default, collation or expression differs."""

    table: str
    old: Column
    new: Column

    def __str__(self) -> str:
        return f"alter column {self.table}.{self.new.name}: {_parts(_COLUMN_PARTS, self.old, self.new)}"


@dataclass(frozen=True)
class AddConstraint(_Kind):
    """A UNIQUE, CHECK or FOREIGN KEY constraint the models add."""

    table: str
    constraint: Constraint

    def __str__(self) -> str:
        return f"add {self.constraint.describe()} on {self.table}"


@dataclass(frozen=True)
class DropConstraint(_Kind):
    """A UNIQUE, CHECK or FOREIGN KEY constraint the models no longer have."""

    table: str
    constraint: Constraint

    def __str__(self) -> str:
        return f"drop {self.constraint.describe()} on {self.table}"


@dataclass(frozen=True)
class AlterTable(_Kind):
    """A change of primary key, AUTOINCREMENT, STRICT or WITHOUT ROWID."""

    table: str
    old: Table
    new: Table

    def __str__(self) -> str:
        return f"alter table {self.table}: {_parts(_TABLE_PARTS, self.old, self.new)}"


@dataclass(frozen=True)
class CreateIndex(_Kind):
    """An index in the models but not in the database (or changed)."""

    index: Index

    def __str__(self) -> str:
        kind = "unique index" if self.index.unique else "index"
        return f"create {kind} {self.index.name} on {self.index.table}"


@dataclass(frozen=True)
class DropIndex(_Kind):
    """An index in the database but not in the models (or changed)."""

    index: Index

    def __str__(self) -> str:
        return f"drop index {self.index.name} on {self.index.table}"


Change = (
    RenameTable
    | RenameColumn
    | CreateTable
    | DropTable
    | AddColumn
    | DropColumn
    | AlterColumn
    | AddConstraint
    | DropConstraint
    | AlterTable
    | CreateIndex
    | DropIndex
)

TABLE_CHANGES = (AddColumn, DropColumn, AlterColumn, AddConstraint, DropConstraint, AlterTable)


def by_table(changes: Sequence[Change]) -> dict[str, list[Change]]:
    """The changes to existing tables, grouped by folded table name."""
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        if isinstance(change, TABLE_CHANGES):
            grouped.setdefault(fold(change.table), []).append(change)
    return grouped
