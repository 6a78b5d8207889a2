"""The canonical, immutable schema model that both sides are read into.

Models and live databases are both brought to these frozen dataclasses, with
every SQL fragment already in canonical form (see `rebuilder.expressions`), so that
comparing two schemas is ``==``. Fields marked ``compare=False`` carry original
text and spelling for rendering and messages; they never decide equality.

SQLite compares identifiers case-insensitively for ASCII letters only, so every
name that decides equality is stored folded (see `fold`), while the spelling
the user wrote is kept beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from rebuilder.names import fold

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def affinity(declared: str) -> str:
    """Return SQLite's column affinity for a declared type (datatype3.html §3.1)."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper.strip():
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def differing(old: DataclassInstance, new: DataclassInstance) -> frozenset[str]:
    """The names of the compared fields in which two records of one type differ.

    Planner predicates allow a cheap path only for a known set of fields, so a
    field added to a record later takes the safe path until someone says otherwise.
    """
    return frozenset(
        f.name for f in fields(old) if f.compare and getattr(old, f.name) != getattr(new, f.name)
    )


@dataclass(frozen=True)
class Column:
    """A table column.

    Attributes:
        name: The column name as spelled.
        type: The declared type in canonical form (``VARCHAR(100)``), or ``""``.
        notnull: Whether the column is NOT NULL.
        default: The DEFAULT expression in canonical SQL, or None.
        collate: The collation name in upper case, or None for BINARY.
        generated: The generating expression in canonical SQL, or None.
        stored: For a generated column, whether it is STORED (else VIRTUAL).
        sql: The column definition as written in the DDL.
        live_name: The column's name in the database before this sync's
            renames, when a rename changed it (see `live`).
    """

    name: str = field(compare=False)
    type: str
    notnull: bool = False
    default: str | None = None
    collate: str | None = None
    generated: str | None = None
    stored: bool = False
    sql: str = field(default="", compare=False)
    live_name: str = field(default="", compare=False, repr=False)
    key: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", fold(self.name))

    @property
    def live(self) -> str:
        """The name the column has in the database before any step of the sync runs."""
        return self.live_name or self.name

    @property
    def affinity(self) -> str:
        """SQLite's affinity for the declared type."""
        return affinity(self.type)

    @property
    def summary(self) -> str:
        """The definition in short, for plans: ``INTEGER NOT NULL DEFAULT 1``."""
        parts = [self.type, "NOT NULL" if self.notnull else ""]
        parts.append(f"DEFAULT {self.default}" if self.default is not None else "")
        parts.append(f"COLLATE {self.collate}" if self.collate else "")
        if self.generated is not None:
            parts.append(f"AS ({self.generated}) {'STORED' if self.stored else 'VIRTUAL'}")
        return " ".join(part for part in parts if part)


@dataclass(frozen=True)
class ForeignKey:
    """A FOREIGN KEY constraint, matched by content, never by name.

    Attributes:
        columns: The referencing columns (folded), in order.
        ref_table: The referenced table (folded).
        ref_columns: The referenced columns (folded); empty means its primary key.
        on_delete: The ON DELETE action in upper case (``NO ACTION`` by default).
        on_update: The ON UPDATE action in upper case.
        name: The constraint name, if it has one.
    """

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"
    name: str | None = field(default=None, compare=False)

    def describe(self) -> str:
        """Return a readable one-line description for plans and messages."""
        cols = ", ".join(self.columns)
        refs = ", ".join(self.ref_columns)
        text = f"FOREIGN KEY ({cols}) REFERENCES {self.ref_table} ({refs})"
        if self.on_delete != "NO ACTION":
            text += f" ON DELETE {self.on_delete}"
        if self.on_update != "NO ACTION":
            text += f" ON UPDATE {self.on_update}"
        return text


@dataclass(frozen=True)
class Unique:
    """A UNIQUE table constraint, matched by its columns.

    Attributes:
        columns: The columns (folded), in order.
        name: The constraint name, if it has one.
    """

    columns: tuple[str, ...]
    name: str | None = field(default=None, compare=False)

    def describe(self) -> str:
        """Return a readable one-line description for plans and messages."""
        return f"UNIQUE ({', '.join(self.columns)})"


@dataclass(frozen=True)
class Check:
    """A CHECK constraint, matched by its canonical expression.

    Attributes:
        expr: The expression in canonical SQL.
        name: The constraint name, if it has one.
        sql: The expression as written.
    """

    expr: str
    name: str | None = field(default=None, compare=False)
    sql: str = field(default="", compare=False)

    def describe(self) -> str:
        """Return a readable one-line description for plans and messages."""
        return f"CHECK ({self.sql or self.expr})"


@dataclass(frozen=True)
class IndexColumn:
    """One key of an index.

    Attributes:
        expr: A folded column name, or a canonical expression.
        is_expression: Whether ``expr`` is an expression rather than a column.
        desc: Whether the key is DESC.
        collate: The collation in upper case.
    """

    expr: str
    is_expression: bool = False
    desc: bool = False
    collate: str = "BINARY"


@dataclass(frozen=True)
class Index:
    """An explicit index (not one SQLite made for a UNIQUE or PRIMARY KEY).

    Attributes:
        name: The index name as spelled.
        table: The indexed table (folded).
        columns: The keys, in order.
        unique: Whether it is a UNIQUE index.
        where: The partial-index condition in canonical SQL, or None.
        sql: The CREATE INDEX statement as written.
    """

    name: str = field(compare=False)
    table: str
    columns: tuple[IndexColumn, ...]
    unique: bool = False
    where: str | None = None
    sql: str = field(default="", compare=False)
    key: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", fold(self.name))


@dataclass(frozen=True)
class Table:
    """A table with everything that decides its shape.

    Column order is kept for rendering but does not decide equality.

    Attributes:
        name: The table name as spelled.
        columns: The columns, in declared order.
        primary_key: The primary-key columns (folded), in key order.
        autoincrement: Whether the INTEGER PRIMARY KEY is AUTOINCREMENT.
        uniques: The UNIQUE constraints.
        checks: The CHECK constraints, column- and table-level alike.
        foreign_keys: The FOREIGN KEY constraints.
        strict: Whether it is a STRICT table.
        without_rowid: Whether it is a WITHOUT ROWID table.
        sql: The CREATE TABLE statement as written.
        live_name: The table's name in the database before this sync's
            renames, when a rename changed it (see `live`).
    """

    name: str = field(compare=False)
    columns: tuple[Column, ...] = field(compare=False)
    primary_key: tuple[str, ...] = ()
    autoincrement: bool = False
    uniques: frozenset[Unique] = frozenset()
    checks: frozenset[Check] = frozenset()
    foreign_keys: frozenset[ForeignKey] = frozenset()
    strict: bool = False
    without_rowid: bool = False
    sql: str = field(default="", compare=False)
    live_name: str = field(default="", compare=False, repr=False)
    key: str = field(init=False, repr=False)
    column_set: frozenset[Column] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", fold(self.name))
        object.__setattr__(self, "column_set", frozenset(self.columns))

    @property
    def live(self) -> str:
        """The name the table has in the database before any step of the sync runs."""
        return self.live_name or self.name

    def column(self, name: str) -> Column | None:
        """Return the column called ``name`` (ASCII case-insensitive), if any."""
        key = fold(name)
        return next((c for c in self.columns if c.key == key), None)

    @property
    def rowid_alias(self) -> str | None:
        """The folded name of the INTEGER PRIMARY KEY column, if it aliases rowid."""
        if self.without_rowid or len(self.primary_key) != 1:
            return None
        col = self.column(self.primary_key[0])
        return col.key if col is not None and col.type == "INTEGER" else None

    def live_column(self, name: str) -> str:
        """The live name of the column called ``name`` (the name itself if there is none)."""
        col = self.column(name)
        return col.live if col is not None else name

    @property
    def copy_rowid(self) -> bool:
        """Whether a rebuild must copy the hidden rowid explicitly."""
        return not self.without_rowid and self.rowid_alias is None


@dataclass(frozen=True)
class Dependent:
    """A trigger, a view, or an index ``--exclude`` protects: carried along, never diffed or dropped.

    Attributes:
        type: ``"trigger"``, ``"view"`` or ``"index"``.
        name: Its name.
        table: The table it is attached to (for a trigger or index), folded.
        sql: Its CREATE statement.
    """

    type: str
    name: str
    table: str
    sql: str


@dataclass(frozen=True)
class Schema:
    """A whole database schema as far as rebuilder manages it.

    Attributes:
        tables: The managed tables, sorted by key.
        indexes: The explicit indexes on those tables, sorted by key.
        dependents: Triggers and views (never compared).
    """

    tables: tuple[Table, ...] = ()
    indexes: tuple[Index, ...] = ()
    dependents: tuple[Dependent, ...] = field(default=(), compare=False)
    by_key: dict[str, Table] = field(init=False, repr=False, compare=False)
    indexes_by_table: dict[str, tuple[Index, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Lookups by name in constant time, so a loop over the tables never scans them all.
        by_key: dict[str, Table] = {}
        for table in self.tables:
            by_key.setdefault(table.key, table)
        on: dict[str, list[Index]] = {}
        for index in self.indexes:
            on.setdefault(index.table, []).append(index)
        object.__setattr__(self, "by_key", by_key)
        object.__setattr__(self, "indexes_by_table", {k: tuple(v) for k, v in on.items()})

    def table(self, name: str) -> Table | None:
        """Return the table called ``name`` (ASCII case-insensitive), if any."""
        return self.by_key.get(fold(name))

    def indexes_of(self, table: str) -> tuple[Index, ...]:
        """Return the explicit indexes on ``table``."""
        return self.indexes_by_table.get(fold(table), ())
