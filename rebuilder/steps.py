"""Steps: what a sync will do, in order. Plain immutable data.

A step says *how* a change is applied: a native ``ALTER TABLE`` or a rebuild.
`rebuilder.planner` makes them and `rebuilder.render` turns each into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from rebuilder.schema import Column, Dependent, Index, Table
from rebuilder.sqltext import affinity


@dataclass(frozen=True)
class Step:
    """Base of all steps.

    Every step knows whether it may destroy data and which real table it
    works on, so that plans and messages can say so.
    """

    @property
    def destructive(self) -> bool:
        """Whether the step can destroy stored values (dropping data)."""
        return False

    @property
    def subject(self) -> str | None:
        """The real table the step works on, for messages."""
        return None


@dataclass(frozen=True)
class RenameTableStep(Step):
    """``ALTER TABLE old RENAME TO new``; other tables' FKs follow."""

    old: str
    new: str

    @property
    def subject(self) -> str | None:  # noqa: D102
        return self.old

    def __str__(self) -> str:
        return f"rename table {self.old} -> {self.new}"


@dataclass(frozen=True)
class RenameColumnStep(Step):
    """``ALTER TABLE t RENAME COLUMN old TO new``."""

    table: str
    old: str
    new: str

    @property
    def subject(self) -> str | None:  # noqa: D102
        return self.table

    def __str__(self) -> str:
        return f"rename column {self.table}.{self.old} -> {self.new}"


@dataclass(frozen=True)
class CreateTableStep(Step):
    """``CREATE TABLE`` exactly as the models declare it."""

    table: Table

    @property
    def subject(self) -> str | None:  # noqa: D102
        return self.table.name

    def __str__(self) -> str:
        return f"create table {self.table.name}"


@dataclass(frozen=True)
class DropTableStep(Step):
    """``DROP TABLE`` of a table the models no longer have."""

    table: Table

    @property
    def destructive(self) -> bool:  # noqa: D102
        return True

    @property
    def subject(self) -> str | None:  # noqa: D102
        return self.table.name

    def __str__(self) -> str:
        return f"drop table {self.table.name}"


@dataclass(frozen=True)
class AddColumnStep(Step):
    """A native ``ALTER TABLE ADD COLUMN``."""

    table: str
    column: Column

    @property
    def subject(self) -> str | None:  # noqa: D102
        return self.table

    def __str__(self) -> str:
        return f"add column {self.table}.{self.column.name} {self.column.type}".rstrip()


@dataclass(frozen=True)
class DropColumnStep(Step):
    """A native ``ALTER TABLE DROP COLUMN``."""

    table: str
    column: Column

    @property
    def destructive(self) -> bool:  # noqa: D102
        return True

    @property
    def subject(self) -> str | None:  # noqa: D102
        return self.table

    def __str__(self) -> str:
        return f"drop column {self.table}.{self.column.name}"


@dataclass(frozen=True)
class Fill:
    """How one column of a rebuilt table is filled from the old table.

    Attributes:
        column: The new column's name.
        expr: The SQL expression over the old table's columns.
        source: The folded name of the old column it copies, if any.
    """

    column: str
    expr: str
    source: str | None = None


@dataclass(frozen=True)
class RebuildStep(Step):
    """SQLite's create-copy-drop-rename rebuild of one table.

    Attributes:
        old: The table as it is (after renames).
        new: The table as the models declare it.
        fills: The copy map: each copied column and the expression filling it.
        copy_rowid: Whether the hidden rowid is copied too.
        indexes: The indexes to build after the rename.
        reasons: Why a native ALTER cannot do it, for the plan.
        dependents: Triggers on the table, and indexes on it that ``--exclude``
            protects, recreated last from their stored SQL.
        reused: Indexes whose b-trees stay valid, because every value and
            rowid they hold is copied unchanged: they are moved to the new
            table instead of being built again.
    """

    old: Table
    new: Table
    fills: tuple[Fill, ...]
    copy_rowid: bool
    indexes: tuple[Index, ...]
    reasons: tuple[str, ...]
    dependents: tuple[Dependent, ...] = ()
    reused: tuple[Index, ...] = ()

    @property
    def destructive(self) -> bool:  # noqa: D102
        kept = {f.source for f in self.fills}
        dropped = any(c.key not in kept and not c.generated for c in self.old.columns)
        return dropped or any(
            affinity(before.type) != affinity(after.type)
            for after in self.new.columns
            if (before := self.old.column(after.name)) is not None and after.generated is None
        )

    @property
    def subject(self) -> str | None:  # noqa: D102
        return self.new.name

    def __str__(self) -> str:
        return f"rebuild table {self.new.name}: {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class EditSchemaStep(Step):
    """Change a table's definition in place, with no copy: SQLite's simpler procedure.

    Used when no stored byte changes (lang_altertable.html §7): constraints
    removed, defaults changed, a declared type changed within its affinity,
    or constraints added that a validating scan proved the rows obey.

    Attributes:
        old: The table as it is.
        new: The table as the models declare it.
        reasons: The changes, for the plan.
    """

    old: Table
    new: Table
    reasons: tuple[str, ...]

    @property
    def subject(self) -> str | None:  # noqa: D102
        return self.new.name

    def __str__(self) -> str:
        return f"edit table {self.new.name} in place: {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class CreateIndexStep(Step):
    """``CREATE [UNIQUE] INDEX`` as the models declare it."""

    index: Index

    @property
    def subject(self) -> str | None:  # noqa: D102
        return self.index.table

    def __str__(self) -> str:
        kind = "unique index" if self.index.unique else "index"
        return f"create {kind} {self.index.name} on {self.index.table}"


@dataclass(frozen=True)
class DropIndexStep(Step):
    """``DROP INDEX``."""

    index: Index

    @property
    def subject(self) -> str | None:  # noqa: D102
        return self.index.table

    def __str__(self) -> str:
        return f"drop index {self.index.name} on {self.index.table}"
