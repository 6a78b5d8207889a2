"""Compare two schemas: explicit renames first, then plain set algebra.

Renames are never guessed. `resolve_renames` checks the user's renames
against both schemas, `apply_renames` rewrites the live schema as it will look
once they are applied, and `diff` then compares that with the target by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from rebuilder.changes import (
    AddColumn,
    AddConstraint,
    AlterColumn,
    AlterTable,
    Change,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    RenameColumn,
    RenameTable,
)
from rebuilder.errors import RenameNotFound
from rebuilder.names import fold
from rebuilder.options import parse_renames
from rebuilder.schema import Check, Index, IndexColumn, Schema, Table, Unique
from rebuilder.sqltext import canonical_expr, rename_columns


@dataclass(frozen=True)
class Renames:
    """Validated renames, in live (old) names.

    Attributes:
        tables: Old table name -> new table name.
        columns: ``(new table key, old column)`` -> new column name.
    """

    tables: tuple[RenameTable, ...] = ()
    columns: tuple[RenameColumn, ...] = ()


def resolve_renames(
    live: Schema,
    target: Schema,
    columns: Iterable[str] = (),
    tables: Iterable[str] = (),
) -> Renames:
    """Check renames against both schemas.

    Raises:
        BadRename: If one is malformed.
        RenameNotFound: If one names a table or column that is not there.
    """
    col_specs, table_specs = parse_renames(columns, tables)
    table_renames = []
    for text, old, new in table_specs:
        if live.table(old) is None:
            raise RenameNotFound(text, f"the database has no table {old!r}")
        if target.table(new) is None:
            raise RenameNotFound(text, f"the models have no table {new!r}")
        if live.table(new) is not None and fold(new) != fold(old):
            raise RenameNotFound(text, f"the database already has a table {new!r}")
        table_renames.append(RenameTable(live.table(old).name, target.table(new).name))  # type: ignore[union-attr]
    by_new = {fold(r.new): r.old for r in table_renames}
    by_old = {fold(r.old): r.new for r in table_renames}
    column_renames = []
    for text, table, old, new in col_specs:
        new_table = by_old.get(fold(table), table)
        old_table = by_new.get(fold(new_table), new_table)
        live_t, target_t = live.table(old_table), target.table(new_table)
        if live_t is None or target_t is None:
            raise RenameNotFound(text, f"there is no table {table!r} in both the database and the models")
        if live_t.column(old) is None:
            raise RenameNotFound(text, f"table {live_t.name!r} has no column {old!r}")
        if target_t.column(new) is None:
            raise RenameNotFound(text, f"the model of {target_t.name!r} has no column {new!r}")
        column_renames.append(RenameColumn(target_t.name, live_t.column(old).name, target_t.column(new).name))  # type: ignore[union-attr]
    return Renames(tuple(table_renames), tuple(column_renames) + _displaced(live, by_new, column_renames))


REPLACED = " (replaced)"
"""Marks a live column whose name a rename gives to another column: it is then dropped."""


def _displaced(
    live: Schema, by_new: Mapping[str, str], renames: list[RenameColumn]
) -> tuple[RenameColumn, ...]:
    """Renames that move columns out of the way of other renames.

    When ``y`` is renamed to ``x`` while the live ``x`` is dropped, the live
    ``x`` is renamed (in the planned schema only) to ``x (replaced)``, so
    that the names stay distinct; it is then dropped like any column the
    models lack. Such tables are rebuilt with the renames in the copy map.
    """
    found = []
    for table in {fold(r.table) for r in renames}:
        mine = [r for r in renames if fold(r.table) == table]
        targets, sources = {fold(r.new) for r in mine}, {fold(r.old) for r in mine}
        live_t = live.table(by_new.get(table, table))
        for column in live_t.columns if live_t else ():
            if column.key in targets and column.key not in sources:
                found.append(RenameColumn(mine[0].table, column.name, column.name + REPLACED))
    return tuple(found)


# --- the live schema as it looks after the renames (pure) -------------------


def _map(names: tuple[str, ...], mapping: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(fold(mapping.get(n, n)) for n in names)


def _check(check: Check, mapping: Mapping[str, str]) -> Check:
    if not mapping:
        return check
    return replace(check, expr=canonical_expr(rename_columns(check.expr, dict(mapping))))


def _renamed_table(
    table: Table,
    new_name: str,
    cols: Mapping[str, str],
    tables: Mapping[str, str],
    parent_cols: Mapping[str, Mapping[str, str]],
) -> Table:
    columns = tuple(replace(c, name=cols.get(c.key, c.name)) for c in table.columns)
    fks = frozenset(
        replace(
            fk,
            columns=_map(fk.columns, cols),
            ref_table=fold(tables.get(fk.ref_table, fk.ref_table)),
            ref_columns=_map(fk.ref_columns, parent_cols.get(fk.ref_table, {})),
        )
        for fk in table.foreign_keys
    )
    return replace(
        table,
        name=new_name,
        columns=columns,
        primary_key=_map(table.primary_key, cols),
        uniques=frozenset(Unique(_map(u.columns, cols), u.name) for u in table.uniques),
        checks=frozenset(_check(c, cols) for c in table.checks),
        foreign_keys=fks,
    )


def _renamed_index(index: Index, table: str, cols: Mapping[str, str]) -> Index:
    keys = tuple(
        replace(k, expr=canonical_expr(rename_columns(k.expr, dict(cols))))
        if k.is_expression and cols
        else replace(k, expr=fold(cols.get(k.expr, k.expr)))
        for k in index.columns
    )
    where = canonical_expr(rename_columns(index.where, dict(cols))) if index.where and cols else index.where
    return replace(index, table=fold(table), columns=keys, where=where)


def apply_renames(live: Schema, renames: Renames) -> Schema:
    """Return the live schema as it will be once the renames are applied.

    Args:
        live: The live schema.
        renames: Validated renames.

    Returns:
        The schema with tables, columns and every reference to them renamed.
    """
    if not renames.tables and not renames.columns:
        return live
    tables = {fold(r.old): r.new for r in renames.tables}
    cols: dict[str, dict[str, str]] = {}
    for r in renames.columns:
        cols.setdefault(fold(r.table), {})[fold(r.old)] = r.new
    # Column renames are keyed by the new table name; look them up by old key too.
    by_old = {fold(t.name): cols.get(fold(tables.get(t.key, t.name)), {}) for t in live.tables}
    new_tables = tuple(
        _renamed_table(t, tables.get(t.key, t.name), by_old[t.key], tables, by_old) for t in live.tables
    )
    new_indexes = tuple(
        _renamed_index(i, tables.get(i.table, i.table), by_old.get(i.table, {})) for i in live.indexes
    )
    return Schema(
        tables=tuple(sorted(new_tables, key=lambda t: t.key)),
        indexes=new_indexes,
        dependents=tuple(replace(d, table=fold(tables.get(d.table, d.table))) for d in live.dependents),
    )


# --- diff (pure set algebra) ------------------------------------------------


def _keyed(items: Iterable[Table] | Iterable[Index]) -> dict[str, Table | Index]:
    return {item.key: item for item in items}


def _constraints(name: str, old: Table, new: Table) -> list[Change]:
    found: list[Change] = []
    for attr in ("uniques", "checks", "foreign_keys"):
        before, after = getattr(old, attr), getattr(new, attr)
        found.extend(DropConstraint(name, c) for c in sorted(before - after, key=repr))
        found.extend(AddConstraint(name, c) for c in sorted(after - before, key=repr))
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


def diff(live: Schema, target: Schema) -> list[Change]:
    """Return the changes that turn ``live`` into ``target`` (renames already applied).

    Args:
        live: The live schema, after `apply_renames`.
        target: The models' schema.

    Returns:
        Table, column, constraint and index changes, tables in name order.
    """
    old_t, new_t = _keyed(live.tables), _keyed(target.tables)
    found: list[Change] = [DropTable(t) for k, t in old_t.items() if k not in new_t]  # type: ignore[arg-type]
    found.extend(CreateTable(t) for k, t in new_t.items() if k not in old_t)  # type: ignore[arg-type]
    for key in sorted(old_t.keys() & new_t.keys()):
        found.extend(diff_table(old_t[key], new_t[key]))  # type: ignore[arg-type]
    old_i, new_i = _keyed(live.indexes), _keyed(target.indexes)
    for key, index in old_i.items():
        if key not in new_i or new_i[key] != index:
            found.append(DropIndex(index))  # type: ignore[arg-type]
    for key, index in new_i.items():
        if key not in old_i or old_i[key] != index:
            found.append(CreateIndex(index))  # type: ignore[arg-type]
    return found


def compare(live: Schema, target: Schema, renames: Renames = Renames()) -> list[Change]:
    """Return every difference, renames first, between a live schema and a target."""
    changes: list[Change] = [*renames.tables, *renames.columns]
    return changes + diff(apply_renames(live, renames), target)


__all__ = ["IndexColumn", "Renames", "apply_renames", "compare", "diff", "resolve_renames"]
