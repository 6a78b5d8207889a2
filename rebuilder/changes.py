"""The differences between two schemas, as small typed records.

Each record carries both sides of what differs, so that the planner and the
messages need nothing else. `rebuilder.diff` produces them; `check` returns
them; `rebuilder.planner` turns them into steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rebuilder.schema import Check, Column, ForeignKey, Index, Table, Unique

Constraint = Unique | Check | ForeignKey


class _Kind:
    """Gives a change its stable ``kind`` name and a plain-JSON form."""

    kind: ClassVar[str]

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

    kind: ClassVar[str] = "rename_table"

    old: str
    new: str

    def __str__(self) -> str:
        return f"rename table {self.old} to {self.new}"


@dataclass(frozen=True)
class RenameColumn(_Kind):
    """A column renamed on request (``table`` as the models name it)."""

    kind: ClassVar[str] = "rename_column"

    table: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"rename column {self.table}.{self.old} to {self.new}"


@dataclass(frozen=True)
class CreateTable(_Kind):
    """A table in the models but not in the database."""

    kind: ClassVar[str] = "create_table"

    table: Table

    def __str__(self) -> str:
        return f"create table {self.table.name}"


@dataclass(frozen=True)
class DropTable(_Kind):
    """A table in the database but not in the models."""

    kind: ClassVar[str] = "drop_table"

    table: Table

    def __str__(self) -> str:
        return f"drop table {self.table.name}"


@dataclass(frozen=True)
class AddColumn(_Kind):
    """A column in the model table but not in the database table."""

    kind: ClassVar[str] = "add_column"

    table: str
    column: Column

    def __str__(self) -> str:
        return f"add column {self.table}.{self.column.name} {self.column.type}".rstrip()


@dataclass(frozen=True)
class DropColumn(_Kind):
    """A column in the database table but not in the model table."""

    kind: ClassVar[str] = "drop_column"

    table: str
    column: Column

    def __str__(self) -> str:
        return f"drop column {self.table}.{self.column.live}"


@dataclass(frozen=True)
class AlterColumn(_Kind):
    """A column whose type, nullability, default, collation or expression differs."""

    kind: ClassVar[str] = "alter_column"

    table: str
    old: Column
    new: Column

    def __str__(self) -> str:
        parts = []
        if self.old.type != self.new.type:
            parts.append(f"type {self.old.type or '(none)'} -> {self.new.type or '(none)'}")
        if self.old.notnull != self.new.notnull:
            parts.append("NOT NULL" if self.new.notnull else "nullable")
        if self.old.default != self.new.default:
            parts.append(f"default {self.old.default or '(none)'} -> {self.new.default or '(none)'}")
        if self.old.collate != self.new.collate:
            parts.append(f"collate {self.old.collate or 'BINARY'} -> {self.new.collate or 'BINARY'}")
        if (self.old.generated, self.old.stored) != (self.new.generated, self.new.stored):
            parts.append("generated expression")
        return f"alter column {self.table}.{self.new.name}: {', '.join(parts)}"


@dataclass(frozen=True)
class AddConstraint(_Kind):
    """A UNIQUE, CHECK or FOREIGN KEY constraint the models add."""

    kind: ClassVar[str] = "add_constraint"

    table: str
    constraint: Constraint

    def __str__(self) -> str:
        return f"add {self.constraint.describe()} on {self.table}"


@dataclass(frozen=True)
class DropConstraint(_Kind):
    """A UNIQUE, CHECK or FOREIGN KEY constraint the models no longer have."""

    kind: ClassVar[str] = "drop_constraint"

    table: str
    constraint: Constraint

    def __str__(self) -> str:
        return f"drop {self.constraint.describe()} on {self.table}"


@dataclass(frozen=True)
class AlterTable(_Kind):
    """A change of primary key, AUTOINCREMENT, STRICT or WITHOUT ROWID."""

    kind: ClassVar[str] = "alter_table"

    table: str
    old: Table
    new: Table

    def __str__(self) -> str:
        parts = []
        if self.old.primary_key != self.new.primary_key:
            parts.append(f"primary key ({', '.join(self.new.primary_key)})")
        if self.old.autoincrement != self.new.autoincrement:
            parts.append("AUTOINCREMENT" if self.new.autoincrement else "no AUTOINCREMENT")
        if self.old.strict != self.new.strict:
            parts.append("STRICT" if self.new.strict else "not STRICT")
        if self.old.without_rowid != self.new.without_rowid:
            parts.append("WITHOUT ROWID" if self.new.without_rowid else "with rowid")
        return f"alter table {self.table}: {', '.join(parts)}"


@dataclass(frozen=True)
class CreateIndex(_Kind):
    """An index in the models but not in the database (or changed)."""

    kind: ClassVar[str] = "create_index"

    index: Index

    def __str__(self) -> str:
        kind = "unique index" if self.index.unique else "index"
        return f"create {kind} {self.index.name} on {self.index.table}"


@dataclass(frozen=True)
class DropIndex(_Kind):
    """An index in the database but not in the models (or changed)."""

    kind: ClassVar[str] = "drop_index"

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
