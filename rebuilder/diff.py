"""Compare two schemas: explicit renames first, then plain set algebra.

Renames are never guessed. `resolve_renames` checks the caller's renames
against both schemas once; `apply_renames` gives the live schema as it is once
the renames have run, every table and column still carrying its live name
(`Table.live`, `Column.live`) for the queries that run before any step; and
`diff` compares that with the target by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from rebuilder.changes import (
    AddColumn,
    AddConstraint,
    AlterColumn,
    AlterTable,
    Change,
    Constraint,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    RenameColumn,
    RenameTable,
)
from rebuilder.errors import RenameConflict, RenameNotFound
from rebuilder.expressions import canonical_expr, rename_columns
from rebuilder.names import aside_name, fold
from rebuilder.options import Rename
from rebuilder.schema import Check, Column, ForeignKey, Index, Schema, Table, Unique


@dataclass(frozen=True)
class Renames:
    """Renames checked against both schemas.

    Attributes:
        tables: Table renames, from live name to the models' name.
        columns: Column renames; ``table`` is the models' table name, ``old``
            the live column name and ``new`` the models' column name.
    """

    tables: tuple[RenameTable, ...] = ()
    columns: tuple[RenameColumn, ...] = ()


def _table_rename(live: Schema, target: Schema, rename: Rename) -> RenameTable | None:
    old, new = live.table(rename.old), target.table(rename.new)
    if rename.declared and (old is None or new is None or fold(rename.old) == fold(rename.new)):
        return None  # applied already, an earlier name of a chain, or the name itself: the hint stays
    if old is None:
        raise RenameNotFound(rename.text, f"the database has no table {rename.old!r}")
    if new is None:
        raise RenameNotFound(rename.text, f"the models have no table {rename.new!r}")
    if live.table(rename.new) is not None and fold(rename.new) != fold(rename.old):
        if rename.declared:
            raise RenameConflict("table", old.name, new.name)
        raise RenameNotFound(rename.text, f"the database already has a table {rename.new!r}")
    return RenameTable(old.name, new.name)


def _column_rename(
    live: Schema, target: Schema, by_new: Mapping[str, str], rename: Rename
) -> RenameColumn | None:
    # The table may be named as in the database or as in the models.
    new_table = next((n for n, o in by_new.items() if o == fold(rename.table)), fold(rename.table))
    old_table, model = live.table(by_new.get(new_table, new_table)), target.table(new_table)
    old = old_table.column(rename.old) if old_table is not None else None
    new = model.column(rename.new) if model is not None else None
    if rename.declared and (
        old_table is None or old is None or new is None or fold(rename.old) == fold(rename.new)
    ):
        return None  # applied already, a new table, an earlier name of a chain, or the name itself
    if old_table is None or model is None:
        raise RenameNotFound(
            rename.text, f"there is no table {rename.table!r} in both the database and the models"
        )
    if old is None:
        raise RenameNotFound(rename.text, f"table {old_table.name!r} has no column {rename.old!r}")
    if new is None:
        raise RenameNotFound(rename.text, f"the model of {model.name!r} has no column {rename.new!r}")
    if rename.declared and old_table.column(rename.new) is not None and fold(rename.new) != fold(rename.old):
        raise RenameConflict("column", f"{model.name}.{old.name}", f"{model.name}.{new.name}")
    return RenameColumn(model.name, old.name, new.name)


def _first_per_target(found: Iterable[RenameTable | RenameColumn | None]) -> list[RenameTable | RenameColumn]:
    """Drop what did not apply, and every rename after the first into one name (a chain's older names)."""
    kept: dict[tuple[str, str], RenameTable | RenameColumn] = {}
    for rename in found:
        if rename is not None:
            where = fold(rename.table) if isinstance(rename, RenameColumn) else ""
            kept.setdefault((where, fold(rename.new)), rename)
    return list(kept.values())


def resolve_renames(
    live: Schema,
    target: Schema,
    columns: Sequence[Rename] = (),
    tables: Sequence[Rename] = (),
) -> Renames:
    """Check renames against both schemas.

    The caller's renames must name what is there. Renames the models declare
    are skipped once applied (the old name is gone), and the first of a
    chain's earlier names the database still has is the one renamed. A
    declared earlier name that SQLite reads as the same name (``a`` for ``A``)
    is no rename: spelling is no difference, so renaming would never end.

    Raises:
        RenameNotFound: If a caller's rename names a table or column that is not there.
        RenameConflict: If a declared rename's old and new names both exist.
    """
    table_renames = [r for r in _first_per_target(_table_rename(live, target, r) for r in tables)]
    by_new = {fold(r.new): fold(r.old) for r in table_renames if isinstance(r, RenameTable)}
    column_renames = _first_per_target(_column_rename(live, target, by_new, r) for r in columns)
    return Renames(
        tuple(r for r in table_renames if isinstance(r, RenameTable)),
        tuple(r for r in column_renames if isinstance(r, RenameColumn)),
    )


# --- the live schema as it is once the renames have run (pure) ---------------


def _map(names: tuple[str, ...], mapping: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(fold(mapping.get(n, n)) for n in names)


def _expr(sql: str, mapping: Mapping[str, str]) -> str:
    return canonical_expr(rename_columns(sql, mapping)) if mapping else sql


def _renamed_columns(table: Table, renames: Mapping[str, str]) -> dict[str, str]:
    """Folded live column name -> name once renamed; a column whose name a rename takes moves aside."""
    mapping = dict(renames)
    taken = {fold(new) for new in renames.values()}
    for column in table.columns:
        if column.key in taken and column.key not in renames:
            mapping[column.key] = aside_name(column.name)
    return mapping


def _renamed_column(column: Column, mapping: Mapping[str, str]) -> Column:
    generated = _expr(column.generated, mapping) if column.generated else None
    name = mapping.get(column.key, column.name)
    return replace(column, name=name, live_name=column.live, generated=generated)


def _renamed_table(
    table: Table,
    name: str,
    cols: Mapping[str, str],
    tables: Mapping[str, str],
    parents: Mapping[str, Mapping[str, str]],
) -> Table:
    fks = frozenset(
        replace(
            fk,
            columns=_map(fk.columns, cols),
            ref_table=fold(tables.get(fk.ref_table, fk.ref_table)),
            ref_columns=_map(fk.ref_columns, parents.get(fk.ref_table, {})),
        )
        for fk in table.foreign_keys
    )
    return replace(
        table,
        name=name,
        live_name=table.live,
        columns=tuple(_renamed_column(c, cols) for c in table.columns),
        primary_key=_map(table.primary_key, cols),
        uniques=frozenset(Unique(_map(u.columns, cols), u.name) for u in table.uniques),
        checks=frozenset(replace(c, expr=_expr(c.expr, cols)) for c in table.checks),
        foreign_keys=fks,
    )


def _renamed_index(index: Index, table: str, cols: Mapping[str, str]) -> Index:
    keys = tuple(
        replace(k, expr=_expr(k.expr, cols))
        if k.is_expression
        else replace(k, expr=fold(cols.get(k.expr, k.expr)))
        for k in index.columns
    )
    where = _expr(index.where, cols) if index.where else None
    return replace(index, table=fold(table), columns=keys, where=where)


def apply_renames(live: Schema, renames: Renames) -> Schema:
    """Return the live schema as it is once the renames have run.

    Renamed tables and columns keep their live names as data (not part of
    equality). A live column whose name a rename gives to another column is
    moved aside (`rebuilder.names.aside_name`); the models lack it, so it is
    then dropped like any other column.

    Args:
        live: The live schema.
        renames: Checked renames.

    Returns:
        The schema with tables, columns and every reference to them renamed.
    """
    if not renames.tables and not renames.columns:
        return live
    tables = {fold(r.old): r.new for r in renames.tables}
    asked: dict[str, dict[str, str]] = {}
    for r in renames.columns:
        asked.setdefault(fold(r.table), {})[fold(r.old)] = r.new
    cols = {t.key: _renamed_columns(t, asked.get(fold(tables.get(t.key, t.name)), {})) for t in live.tables}
    new_tables = tuple(
        _renamed_table(t, tables.get(t.key, t.name), cols[t.key], tables, cols) for t in live.tables
    )
    new_indexes = tuple(
        _renamed_index(i, tables.get(i.table, i.table), cols.get(i.table, {})) for i in live.indexes
    )
    return Schema(
        tables=tuple(sorted(new_tables, key=lambda t: t.key)),
        indexes=tuple(sorted(new_indexes, key=lambda i: i.key)),
        dependents=tuple(replace(d, table=fold(tables.get(d.table, d.table))) for d in live.dependents),
    )


# --- diff (pure set algebra) ------------------------------------------------


def _constraints(name: str, old: Table, new: Table) -> list[Change]:
    before: set[Constraint] = {*old.uniques, *old.checks, *old.foreign_keys}
    after: set[Constraint] = {*new.uniques, *new.checks, *new.foreign_keys}
    found: list[Change] = []
    for kind in (Unique, Check, ForeignKey):
        mine = sorted((c for c in before | after if isinstance(c, kind)), key=repr)
        found.extend(DropConstraint(name, c) for c in mine if c not in after)
        found.extend(AddConstraint(name, c) for c in mine if c not in before)
    return found


def diff_table(old: Table, new: Table) -> list[Change]:
    """Return what differs between two versions of one table."""
    if old == new:
        return []
    name = new.name
    before = {c.key: c for c in old.columns}
    after = {c.key: c for c in new.columns}
    found: list[Change] = [DropColumn(name, c) for k, c in before.items() if k not in after]
    found.extend(AddColumn(name, c) for k, c in after.items() if k not in before)
    found.extend(AlterColumn(name, before[k], c) for k, c in after.items() if k in before and before[k] != c)
    found.extend(_constraints(name, old, new))
    options = ("primary_key", "autoincrement", "strict", "without_rowid")
    if any(getattr(old, o) != getattr(new, o) for o in options):
        found.append(AlterTable(name, old, new))
    return found


def _index_changes(live: Iterable[Index], target: Iterable[Index]) -> list[Change]:
    old = {i.key: i for i in live}
    new = {i.key: i for i in target}
    found: list[Change] = [DropIndex(i) for k, i in old.items() if new.get(k) != i]
    found.extend(CreateIndex(i) for k, i in new.items() if old.get(k) != i)
    return found


def diff(live: Schema, target: Schema) -> list[Change]:
    """Return the changes that turn ``live`` into ``target`` (renames already applied).

    Args:
        live: The live schema, after `apply_renames`.
        target: The models' schema.

    Returns:
        Table, column, constraint and index changes, tables in name order.
    """
    old = {t.key: t for t in live.tables}
    new = {t.key: t for t in target.tables}
    found: list[Change] = [DropTable(t) for k, t in old.items() if k not in new]
    found.extend(CreateTable(t) for k, t in new.items() if k not in old)
    for key in sorted(old.keys() & new.keys()):
        found.extend(diff_table(old[key], new[key]))
    return found + _index_changes(live.indexes, target.indexes)


def compare(live: Schema, target: Schema, renames: Renames = Renames()) -> list[Change]:
    """Return every difference, renames first, between a live schema and a target."""
    changes: list[Change] = [*renames.tables, *renames.columns]
    return changes + diff(apply_renames(live, renames), target)


__all__ = ["Renames", "apply_renames", "compare", "diff", "diff_table", "resolve_renames"]
