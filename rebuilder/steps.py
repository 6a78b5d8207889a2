"""Steps: what a sync will do, in order. Plain immutable data.

A step says *how* a change is applied: a native ``ALTER TABLE``, an in-place
edit, or a rebuild. `rebuilder.planner` makes them, `rebuilder.guards` reads
them (a rebuild's copy map) and `rebuilder.render` turns each into SQL. Every
step has a stable ``kind`` and names its real ``table`` as the models name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rebuilder.names import quote, snake_case
from rebuilder.schema import Column, Dependent, Index, Table

COPY = "copy"
FILL = "fill"
DEFAULT = "default"


@dataclass(frozen=True)
class Copy:
    """How a rebuild fills one column of the new table: one entry of the copy map.

    Attributes:
        column: The new column's name.
        kind: ``COPY`` (the old column's values, a generated column's
            computed ones included), ``FILL`` (a fill's expression) or
            ``DEFAULT`` (a new column: its default for every row, or NULL).
        source: The old column it reads, for ``COPY`` (and the column a fill
            replaces, if any).
        default: The SQL of the default it writes, for ``DEFAULT`` (``NULL``
            when there is none).
        expr: A fill's expression, over the columns as named once renamed.
        live_expr: The same expression over the columns' live names.
    """

    column: str
    kind: str
    source: Column | None = None
    default: str = "NULL"
    expr: str = ""
    live_expr: str = ""

    def value(self, live: bool = False) -> str:
        """SQL for what the copy writes, over the old table.

        Args:
            live: Name the old columns as they are before any step runs (for
                guards), rather than when the copy runs (after the renames).
        """
        if self.kind == FILL:
            return f"({self.live_expr if live else self.expr})"
        if self.source is None:
            return self.default
        return quote(self.source.live if live else self.source.name)

    @property
    def inserted(self) -> bool:
        """Whether the copy's INSERT names this column (a DEFAULT column is left to SQLite)."""
        return self.kind != DEFAULT


@dataclass(frozen=True)
class Step:
    """Base of all steps.

    Attributes:
        table: The real table the step works on, as the models name it.
    """

    kind: ClassVar[str] = "step"
    drops_data: ClassVar[bool] = False

    table: str

    def __init_subclass__(cls) -> None:
        cls.kind = snake_case(cls.__name__.removesuffix("Step"))

    @property
    def destructive(self) -> bool:
        """Whether the step can destroy stored values."""
        return self.drops_data

    def to_dict(self) -> dict[str, Any]:
        """The step as plain JSON types: kind, table, description, whether it destroys data, its SQL."""
        from rebuilder.render import render

        return {
            "kind": self.kind,
            "table": self.table,
            "description": str(self),
            "destructive": self.destructive,
            "sql": [op.sql for op in render(self)],
        }


@dataclass(frozen=True)
class RenameTableStep(Step):
    """``ALTER TABLE old RENAME TO new``; other tables' FKs follow. ``table`` is the old name."""

    new: str

    def __str__(self) -> str:
        return f"rename table {self.table} -> {self.new}"


@dataclass(frozen=True)
class RenameColumnsStep(Step):
    """``ALTER TABLE t RENAME COLUMN`` for each column renamed in one table.

    Attributes:
        renames: ``(live name, new name)`` pairs.
        aside: Live columns whose names the renames take: they are moved
            aside first (`rebuilder.names.aside_name`) and dropped later.
    """

    renames: tuple[tuple[str, str], ...]
    aside: tuple[str, ...] = ()

    def __str__(self) -> str:
        moves = ", ".join(f"{self.table}.{old} -> {new}" for old, new in self.renames)
        return f"rename column{'s' if len(self.renames) > 1 else ''} {moves}"


@dataclass(frozen=True)
class CreateTableStep(Step):
    """``CREATE TABLE`` exactly as the models declare it."""

    definition: Table

    def __str__(self) -> str:
        return f"create table {self.table}"


@dataclass(frozen=True)
class DropTableStep(Step):
    """``DROP TABLE`` of a table the models no longer have."""

    drops_data: ClassVar[bool] = True

    def __str__(self) -> str:
        return f"drop table {self.table}"


@dataclass(frozen=True)
class AddColumnStep(Step):
    """A native ``ALTER TABLE ADD COLUMN``."""

    column: Column

    def __str__(self) -> str:
        return f"add column {self.table}.{self.column.name} {self.column.summary}".rstrip()


@dataclass(frozen=True)
class DropColumnStep(Step):
    """A native ``ALTER TABLE DROP COLUMN``."""

    column: Column

    @property
    def destructive(self) -> bool:
        """Whether the column stores values: a generated one's are computed from the others."""
        return self.column.generated is None

    def __str__(self) -> str:
        return f"drop column {self.table}.{self.column.live}"


@dataclass(frozen=True)
class RebuildStep(Step):
    """SQLite's create-copy-drop-rename rebuild of one table.

    Attributes:
        old: The table as it is once the renames have run.
        new: The table as the models declare it.
        copies: The copy map: how each column of the new table is filled.
        copy_rowid: Whether the hidden rowid is copied too.
        indexes: The indexes to build after the rename.
        reasons: The changes the rebuild carries out, for the plan.
        dependents: Triggers on the table, and indexes on it that ``--exclude``
            protects, recreated last from their stored SQL.
        reused: Indexes whose b-trees stay valid, because every value and
            rowid they hold is copied unchanged: they are moved to the new
            table instead of being built again.
    """

    old: Table
    new: Table
    copies: tuple[Copy, ...]
    copy_rowid: bool
    indexes: tuple[Index, ...]
    reasons: tuple[str, ...]
    dependents: tuple[Dependent, ...] = ()
    reused: tuple[Index, ...] = ()

    @property
    def destructive(self) -> bool:
        """Whether a stored column is dropped or made generated, or copied under another affinity.

        The same rule decides which guards ask for consent, so every step this
        marks is one a refusal can come from. A fill is consent given.
        """
        read = {c.source.key: c for c in self.copies if c.source is not None}
        dropped = any(c.key not in read and c.generated is None for c in self.old.columns)
        return dropped or any(
            c.kind == COPY and c.source.affinity != column.affinity
            for c in read.values()
            if c.source is not None and (column := self.new.column(c.column)) is not None
        )

    def __str__(self) -> str:
        return f"rebuild table {self.table}: {'; '.join(self.reasons)}"


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
        materialize: ``(column, old default)`` for each column whose constant
            DEFAULT changes: rows stored before that column was added read
            the default, so they are written out first.
    """

    old: Table
    new: Table
    reasons: tuple[str, ...]
    materialize: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"edit table {self.table} in place: {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class CreateIndexStep(Step):
    """``CREATE [UNIQUE] INDEX`` as the models declare it."""

    index: Index

    def __str__(self) -> str:
        kind = "unique index" if self.index.unique else "index"
        return f"create {kind} {self.index.name} on {self.table}"


@dataclass(frozen=True)
class DropIndexStep(Step):
    """``DROP INDEX``."""

    index: Index

    def __str__(self) -> str:
        return f"drop index {self.index.name} on {self.table}"
