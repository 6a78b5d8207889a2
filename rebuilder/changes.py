"""The differences between two schemas, as small typed records.

Each record carries both sides of what differs, so that the planner and the
messages need nothing else. `rebuilder.diff` produces them; `check` returns
them; `rebuilder.planner` turns them into steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from rebuilder.schema import Check, Column, ForeignKey, Index, Table, Unique

Constraint = Unique | Check | ForeignKey


@dataclass(frozen=True)
class RenameTable:
    """A table renamed by ``--rename-table``."""

    old: str
    new: str

    def __str__(self) -> str:
        return f"rename table {self.old} to {self.new}"


@dataclass(frozen=True)
class RenameColumn:
    """A column renamed by ``--rename``."""

    table: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"rename column {self.table}.{self.old} to {self.new}"


@dataclass(frozen=True)
class CreateTable:
    """A table in the models but not in the database."""

    table: Table

    def __str__(self) -> str:
        return f"create table {self.table.name}"


@dataclass(frozen=True)
class DropTable:
    """A table in the database but not in the models."""

    table: Table

    def __str__(self) -> str:
        return f"drop table {self.table.name}"


@dataclass(frozen=True)
class AddColumn:
    """A column in the model table but not in the database table."""

    table: str
    column: Column

    def __str__(self) -> str:
        return f"add column {self.table}.{self.column.name} {self.column.type}".rstrip()


@dataclass(frozen=True)
class DropColumn:
    """A column in the database table but not in the model table."""

    table: str
    column: Column

    def __str__(self) -> str:
        return f"drop column {self.table}.{self.column.name}"


@dataclass(frozen=True)
class AlterColumn:
    """A column whose type, nullability, default, collation or expression differs."""

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
            parts.append(f"default {self.old.default} -> {self.new.default}")
        if self.old.collate != self.new.collate:
            parts.append(f"collate {self.old.collate} -> {self.new.collate}")
        if (self.old.generated, self.old.stored) != (self.new.generated, self.new.stored):
            parts.append("generated expression")
        return f"alter column {self.table}.{self.new.name}: {', '.join(parts)}"


@dataclass(frozen=True)
class AddConstraint:
    """A UNIQUE, CHECK or FOREIGN KEY constraint the models add."""

    table: str
    constraint: Constraint

    def __str__(self) -> str:
        return f"add {self.constraint.describe()} on {self.table}"


@dataclass(frozen=True)
class DropConstraint:
    """A UNIQUE, CHECK or FOREIGN KEY constraint the models no longer have."""

    table: str
    constraint: Constraint

    def __str__(self) -> str:
        return f"drop {self.constraint.describe()} on {self.table}"


@dataclass(frozen=True)
class AlterTable:
    """A change of primary key, AUTOINCREMENT, STRICT or WITHOUT ROWID."""

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
class CreateIndex:
    """An index in the models but not in the database (or changed)."""

    index: Index

    def __str__(self) -> str:
        kind = "unique index" if self.index.unique else "index"
        return f"create {kind} {self.index.name} on {self.index.table}"


@dataclass(frozen=True)
class DropIndex:
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
