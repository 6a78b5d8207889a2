"""Turn changes into steps: the one place that decides native ALTER or rebuild.

Pure: takes schemas, changes and `Capabilities`, returns steps and guards.
A table gets native ``ALTER TABLE`` steps only when every change to it is one
SQLite's ALTER does exactly; otherwise it gets exactly one `RebuildStep`
carrying all of its changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlglot.errors import SqlglotError

from rebuilder import guards
from rebuilder.capabilities import Capabilities
from rebuilder.changes import (
    TABLE_CHANGES,
    AddColumn,
    AddConstraint,
    AlterColumn,
    Change,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
)
from rebuilder.diff import Renames, apply_renames, diff
from rebuilder.errors import ForeignKeyMismatch
from rebuilder.guards import Guard
from rebuilder.names import fold
from rebuilder.schema import Check, Column, ForeignKey, Index, Schema, Table
from rebuilder.sqltext import affinity, column_names, is_constant, mentions, quote, substitute_columns
from rebuilder.steps import (
    AddColumnStep,
    CreateIndexStep,
    CreateTableStep,
    DropColumnStep,
    DropIndexStep,
    DropTableStep,
    EditSchemaStep,
    Fill,
    RebuildStep,
    RenameColumnStep,
    RenameTableStep,
    Step,
)


@dataclass(frozen=True)
class Planned:
    """Steps in execution order, and the guards to run before them."""

    changes: tuple[Change, ...]
    steps: tuple[Step, ...]
    guards: tuple[Guard, ...]


@dataclass(frozen=True)
class _Origins:
    """Maps names after renames back to the live names, for guards."""

    renames: Renames

    def table(self, name: str) -> str:
        return next((r.old for r in self.renames.tables if fold(r.new) == fold(name)), name)

    def columns(self, table: str) -> dict[str, str]:
        return {fold(r.new): r.old for r in self.renames.columns if fold(r.table) == fold(table)}

    def column(self, table: str, column: str) -> str:
        return self.columns(table).get(fold(column), column)


def can_add_natively(column: Column, new: Table) -> bool:
    """Whether ``ALTER TABLE ADD COLUMN`` creates exactly this column (lang_altertable.html)."""
    return not (
        column.key in new.primary_key
        or any(column.key in u.columns for u in new.uniques)
        or (column.generated is not None and column.stored)
        or (column.default is not None and not is_constant(column.default))
        or (column.notnull and column.default is None and column.generated is None)
    )


def _used_by(column: Column, table: Table, dependents_mention: bool) -> bool:
    key = column.key
    return (
        dependents_mention
        or key in table.primary_key
        or any(key in u.columns for u in table.uniques)
        or any(key in fk.columns for fk in table.foreign_keys)
        or any(mentions(c.expr, key) for c in table.checks)
        or any(c.generated is not None and mentions(c.generated, key) for c in table.columns)
    )


def _natives(
    old: Table, new: Table, changes: Sequence[Change], schema: Schema, caps: Capabilities
) -> list[Step] | None:
    if not all(isinstance(c, (AddColumn, DropColumn)) for c in changes):
        return None
    deps = any(
        d.table == old.key or (d.type == "view" and mentions(d.sql, old.name)) for d in schema.dependents
    )
    steps: list[Step] = []
    for change in changes:
        if isinstance(change, AddColumn) and can_add_natively(change.column, new):
            steps.append(AddColumnStep(new.name, change.column))
        elif isinstance(change, DropColumn) and caps.drop_column and not _used_by(change.column, old, deps):
            steps.insert(0, DropColumnStep(new.name, change.column))
        else:
            return None
    return steps


def _same_storage(old: Column, new: Column, in_key: bool, strict: bool) -> bool:
    """Whether a column change leaves every stored byte as it is."""
    if (old.collate, old.generated, old.stored) != (new.collate, new.generated, new.stored):
        return False
    if old.type != new.type and (in_key or strict or affinity(old.type) != affinity(new.type)):
        return False
    filled = new.notnull and not old.notnull and new.default is not None
    return not filled


def can_edit_in_place(old: Table, new: Table, changes: Sequence[Change]) -> bool:
    """Whether editing the table's SQL in ``sqlite_schema`` does exactly the change.

    True when the columns, their order, the keys, UNIQUE constraints and table
    options stay as they are, and every column change keeps the stored bytes:
    constraints and defaults only, or a declared type within its affinity.
    Added NOT NULL, CHECK and FOREIGN KEY constraints are proved by guards.
    """
    same_shape = (
        old.name == new.name
        and [c.key for c in old.columns] == [c.key for c in new.columns]
        and (old.primary_key, old.autoincrement, old.strict, old.without_rowid, old.uniques)
        == (new.primary_key, new.autoincrement, new.strict, new.without_rowid, new.uniques)
    )
    if not same_shape:
        return False
    for change in changes:
        if isinstance(change, AlterColumn):
            in_key = change.new.key in new.primary_key
            if not _same_storage(change.old, change.new, in_key, new.strict):
                return False
        elif not isinstance(change, (AddConstraint, DropConstraint)):
            return False
    return True


def _fills(old: Table, new: Table, live_names: dict[str, str]) -> tuple[Fill, ...]:
    """The copy map; ``live_names`` maps renamed columns to the names the live table still has."""
    fills = []
    for col in new.columns:
        src = old.column(col.name)
        if col.generated is not None or src is None or src.generated is not None:
            continue
        expr = quote(live_names.get(src.key, src.name))
        if col.notnull and not src.notnull and col.default is not None:
            expr = f"COALESCE({expr}, {col.default})"
        fills.append(Fill(col.name, expr, src.key))
    return tuple(fills)


def _unchanged_columns(old: Table, new: Table, fills: Sequence[Fill]) -> set[str]:
    """Columns whose every stored value the copy carries over byte for byte."""
    plain = {f.source for f in fills if f.source is not None and f.expr == quote(old.column(f.source).name)}  # type: ignore[union-attr]
    found = set()
    for key in plain:
        before, after = old.column(key), new.column(key)
        if before and after and after.generated is None and affinity(before.type) == affinity(after.type):
            found.add(key)
    return found


def _reusable(
    old: Table, new: Table, fills: Sequence[Fill], copy_rowid: bool, middle: Schema, target: Schema
) -> tuple[Index, ...]:
    """Indexes whose b-trees stay valid across the rebuild, so need not be built again.

    An index holds its key values and each row's rowid. When every column it
    reads is copied unchanged (same affinity, no fill expression) and every
    rowid is kept, its entries are exactly what a new build would make.
    """
    same_rowids = copy_rowid or (new.rowid_alias is not None and new.rowid_alias == old.rowid_alias)
    if old.without_rowid or new.without_rowid or not same_rowids:
        return ()
    unchanged = _unchanged_columns(old, new, fills)
    before = {i.key: i for i in middle.indexes_of(old.name)}
    reused = []
    for index in target.indexes_of(new.name):
        if before.get(index.key) != index:
            continue
        read = {k.expr for k in index.columns if not k.is_expression}
        read |= {c for k in index.columns if k.is_expression for c in column_names(k.expr)}
        read |= column_names(index.where) if index.where else set()
        if read <= unchanged:
            reused.append(index)
    return tuple(reused)


def _rebuild(
    old: Table,
    new: Table,
    changes: Sequence[Change],
    target: Schema,
    middle: Schema,
    caps: Capabilities,
    live_names: dict[str, str] | None = None,
) -> RebuildStep:
    dependents = tuple(d for d in middle.dependents if d.table == old.key and d.type in ("trigger", "index"))
    copy_rowid = not old.without_rowid and not new.without_rowid and new.rowid_alias is None
    fills = _fills(old, new, live_names or {})
    reused = _reusable(old, new, fills, copy_rowid, middle, target) if caps.writable_schema else ()
    return RebuildStep(
        old=old,
        new=new,
        fills=fills,
        copy_rowid=copy_rowid,
        indexes=tuple(i for i in target.indexes_of(new.name) if i not in reused),
        reasons=tuple(str(c) for c in changes),
        dependents=dependents,
        reused=reused,
    )


def _table_guards(
    old: Table,
    new: Table,
    changes: Sequence[Change],
    origins: _Origins,
    rebuilt: bool,
    *,
    strict: bool = False,
) -> list[Guard]:
    live = origins.table(new.name)
    cols = origins.columns(new.name)
    key = guards.row_key(old)
    found: list[Guard] = []
    for change in changes:
        if isinstance(change, DropColumn) and change.column.generated is None:
            found.append(guards.drop_column(new.name, live, origins.column(new.name, change.column.name)))
        elif (
            isinstance(change, AddColumn)
            and change.column.notnull
            and change.column.default is None
            and change.column.generated is None
        ):
            found.append(guards.not_null(new.name, live, change.column.name, key, new=True))
        elif isinstance(change, AlterColumn):
            found.extend(_alter_guards(change, new.name, live, origins, key))
        elif isinstance(change, AddConstraint) and rebuilt:
            found.extend(_constraint_guards(change.constraint, new, live, _fills(old, new, cols), key))
    if rebuilt:
        found.extend(_unique_guards(old, new, live, _fills(old, new, cols)))
    # Editing in place validates nothing itself: the guards are the proof.
    return [replace(g, optional=False) for g in found] if strict else found


def _alter_guards(change: AlterColumn, table: str, live: str, origins: _Origins, key: str) -> list[Guard]:
    found = []
    column = origins.column(table, change.old.name)
    if affinity(change.old.type) != affinity(change.new.type) and change.new.generated is None:
        found.append(guards.change_type(table, live, column, change.old.type, change.new.type))
    if change.new.notnull and not change.old.notnull and change.new.default is None:
        found.append(guards.not_null(table, live, column, key, new=False))
    return found


def _constraint_guards(
    constraint: object, new: Table, live: str, fills: Sequence[Fill], key: str
) -> list[Guard]:
    """Guard a new CHECK over what the copy writes.

    Each column is replaced by what fills it (the live column, a COALESCE, or
    a new column's default; NULL when it has none, which a CHECK accepts), so
    the guard never names a column the live table lacks: SQLite would read
    such a "name" as the string 'name'.
    """
    if not isinstance(constraint, Check):
        return []
    filled = {fold(f.column): f.expr for f in fills}
    values = {}
    for name in column_names(constraint.expr):
        column = new.column(name)
        if name in filled:
            values[name] = filled[name]
        elif column is not None and column.generated is None:
            values[name] = column.default or "NULL"
        else:
            return []  # a generated column: the copy checks it
    try:
        expr = substitute_columns(constraint.expr, values)
    except SqlglotError:
        return []  # an expression sqlglot cannot read: the copy checks it
    return [guards.check(new.name, live, expr, key, constraint.describe())]


def _unique_guards(old: Table, new: Table, live: str, fills: Sequence[Fill]) -> list[Guard]:
    """Guard every UNIQUE a rebuild's copy could break: new ones, new collations, filled values.

    Each key is what the copy writes: the old column, a COALESCE fill, or a
    new column's default. A new column with no default is all NULL, which
    UNIQUE allows.
    """
    found = []
    filled = {fold(f.column): f for f in fills}
    for unique in new.uniques:
        keys = [_key_sql(new, filled, c) for c in unique.columns]
        if any(k is None for k in keys):
            continue
        collations = tuple(_collation(new, c) for c in unique.columns)
        plain = all(filled.get(c) and filled[c].expr == quote(filled[c].column) for c in unique.columns)
        same = collations == tuple(_collation(old, c) for c in unique.columns)
        if unique in old.uniques and same and plain:
            continue
        hint = "remove the duplicates first (a server_default fills every existing row with one value)"
        found.append(guards.unique(new.name, live, tuple(keys), unique.describe(), collations, hint))  # type: ignore[arg-type]
    return found


def _key_sql(new: Table, filled: dict[str, Fill], column: str) -> str | None:
    if column in filled:
        return filled[column].expr
    col = new.column(column)
    return col.default if col is not None and col.generated is None else None


def _built_index_guards(step: RebuildStep, origins: _Origins) -> list[Guard]:
    """Guard the unique indexes a rebuild builds again, over what its copy writes."""
    live = origins.table(step.new.name)
    filled = {fold(f.column): f for f in _fills(step.old, step.new, origins.columns(step.new.name))}
    found = []
    for index in step.indexes:
        if not index.unique or index.where or any(k.is_expression for k in index.columns):
            continue
        keys = [_key_sql(step.new, filled, k.expr) for k in index.columns]
        if any(k is None for k in keys):
            continue
        collations = tuple(k.collate for k in index.columns)
        what = f"unique index {index.name}"
        found.append(guards.unique(step.new.name, live, tuple(keys), what, collations))  # type: ignore[arg-type]
    return found


def _collation(table: Table, column: str) -> str | None:
    found = table.column(column)
    return found.collate if found is not None else None


def _index_guards(step: CreateIndexStep, origins: _Origins, schema: Schema, target: Schema) -> list[Guard]:
    """Guard a new unique index over the live rows (a column added just before holds its default)."""
    index = step.index
    if not index.unique or any(k.is_expression for k in index.columns) or index.where:
        return []
    table, model = schema.table(index.table), target.table(index.table)
    if table is None or model is None:
        return []
    keys = []
    for key in index.columns:
        if table.column(key.expr) is not None:
            keys.append(quote(origins.column(table.name, key.expr)))
        else:
            added = model.column(key.expr)
            if added is None or added.default is None or added.generated is not None:
                return []  # all NULL, which a unique index allows, or computed
            keys.append(added.default)
    collations = tuple(k.collate for k in index.columns)
    live = origins.table(table.name)
    return [guards.unique(table.name, live, tuple(keys), f"unique index {index.name}", collations)]


def _keyed(table: Table, target: Schema) -> set[frozenset[str]]:
    """The column sets of ``table`` that a foreign key may reference."""
    keys = {frozenset(table.primary_key)} | {frozenset(u.columns) for u in table.uniques}
    for index in target.indexes_of(table.name):
        if index.unique and index.where is None and not any(k.is_expression for k in index.columns):
            keys.add(frozenset(k.expr for k in index.columns))
    return keys


def check_parent_keys(target: Schema, touched: set[str]) -> None:
    """Refuse foreign keys into touched tables that reference non-unique columns.

    Raises:
        ForeignKeyMismatch: Naming the child table and the key.
    """
    for table in target.tables:
        for fk in table.foreign_keys:
            parent = target.table(fk.ref_table)
            if parent is None or (parent.key not in touched and table.key not in touched):
                continue
            if frozenset(fk.ref_columns) not in _keyed(parent, target):
                raise ForeignKeyMismatch(table.name, fk.describe())


@dataclass
class _Tables:
    """What planning each changed table decided."""

    steps: list[Step]
    guards: list[Guard]
    rebuilt: set[str]
    edited: set[str]


def tangled(renames: Renames, live: Schema) -> set[str]:
    """Tables whose column renames cannot run one by one (a name passes between columns).

    Their renames go into the rebuild's copy map instead of ``RENAME COLUMN``.
    """
    found = set()
    for rename in renames.columns:
        table = fold(rename.table)
        olds = {fold(r.old) for r in renames.columns if fold(r.table) == table}
        if fold(rename.new) in olds:
            found.add(table)
    return found


def _plan_tables(
    by_table: dict[str, list[Change]],
    middle: Schema,
    target: Schema,
    origins: _Origins,
    caps: Capabilities,
    folded: set[str],
) -> _Tables:
    """Decide, per changed table: native ALTERs, an in-place edit, or one rebuild."""
    found = _Tables([], [], set(), set())
    for key, changes in sorted(by_table.items()):
        old, new = middle.table(key), target.table(key)
        assert old is not None and new is not None
        natives = None if key in folded else _natives(old, new, changes, middle, caps)
        in_place = (
            natives is None
            and key not in folded
            and caps.writable_schema
            and can_edit_in_place(old, new, changes)
        )
        live_names = origins.columns(new.name) if key in folded else {}
        rebuild = _rebuild(old, new, changes, target, middle, caps, live_names)
        if key in folded:
            renamed = [f"rename column {new.name}.{o} to {n}" for n, o in sorted(live_names.items())]
            rebuild = replace(rebuild, reasons=(*renamed, *rebuild.reasons))
        if in_place:
            found.edited.add(key)
            found.steps.append(EditSchemaStep(old, new, rebuild.reasons))
        elif natives is None:
            found.rebuilt.add(key)
            found.steps.append(rebuild)
        else:
            found.steps.extend(natives)
        found.guards += _table_guards(old, new, changes, origins, natives is None, strict=in_place)
    return found


def _by_table(changes: Sequence[Change]) -> dict[str, list[Change]]:
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        if isinstance(change, TABLE_CHANGES):
            grouped.setdefault(fold(change.table), []).append(change)
    return grouped


def make_plan(live: Schema, target: Schema, renames: Renames, caps: Capabilities) -> Planned:
    """Plan the steps that turn ``live`` into ``target``.

    Order: renames, index drops, table drops, table creations, per-table
    changes, index creations. Guards are written in live names, so they can
    run before any step.

    Args:
        live: The live schema.
        target: The models' schema.
        renames: Validated renames.
        caps: What the linked SQLite can do.

    Returns:
        The changes, the ordered steps, and the guards to run first.
    """
    middle = apply_renames(live, renames)
    changes = diff(middle, target)
    origins = _Origins(renames)
    by_table = _by_table(changes)
    folded = tangled(renames, live)
    if not caps.rename_column:  # SQLite before 3.25: renames go into the rebuild's copy map
        folded |= {fold(r.table) for r in renames.columns}
    for key in folded:
        by_table.setdefault(key, [])
    tables = _plan_tables(by_table, middle, target, origins, caps, folded)
    created = [c.table for c in changes if isinstance(c, CreateTable)]
    dropped = [c.table for c in changes if isinstance(c, DropTable)]
    skip = tables.rebuilt | {t.key for t in dropped}
    steps: list[Step] = [RenameTableStep(r.old, r.new) for r in renames.tables]
    steps += [RenameColumnStep(r.table, r.old, r.new) for r in renames.columns if fold(r.table) not in folded]
    steps += [
        DropIndexStep(c.index) for c in changes if isinstance(c, DropIndex) and c.index.table not in skip
    ]
    steps += [DropTableStep(t) for t in dropped]
    steps += [CreateTableStep(t) for t in created]
    steps += tables.steps
    new_indexes = [CreateIndexStep(c.index) for c in changes if isinstance(c, CreateIndex)]
    steps += [s for s in new_indexes if s.index.table not in tables.rebuilt]
    found = tables.guards + [guards.drop_table(t, origins.table(t.name)) for t in dropped]
    existing = {t.key for t in middle.tables}
    for step in new_indexes:
        if step.index.table in existing and step.index.table not in tables.rebuilt:
            found += _index_guards(step, origins, middle, target)
    found += _fk_guards(changes, middle, origins, tables.edited)
    found += [
        g
        for step in tables.steps
        if isinstance(step, RebuildStep)
        for g in _built_index_guards(step, origins)
    ]
    check_parent_keys(target, set(by_table) | {t.key for t in created})
    all_changes = (*renames.tables, *renames.columns, *changes)
    return Planned(changes=all_changes, steps=tuple(steps), guards=tuple(found))


def _fk_guards(changes: Sequence[Change], middle: Schema, origins: _Origins, edited: set[str]) -> list[Guard]:
    found = []
    new_tables = {c.table.key for c in changes if isinstance(c, CreateTable)}
    for change in changes:
        if isinstance(change, AddConstraint) and isinstance(change.constraint, ForeignKey):
            table = middle.table(change.table)
            # A new column's values are not in the live table yet (another
            # column may even hold its name until a rename): COMMIT's
            # foreign_key_check proves that key instead.
            if table is not None and all(table.column(c) is not None for c in change.constraint.columns):
                guard = _orphans(
                    change.constraint, table, origins, change.constraint.ref_table in new_tables, middle
                )
                found.append(replace(guard, optional=table.key not in edited))
    return found


def _same_matching(fk: ForeignKey, child: Table, parent: Table | None) -> bool:
    """Whether a one-column key compares child and parent values alike (affinity, collation)."""
    if parent is None or len(fk.columns) != 1:
        return False
    mine, theirs = child.column(fk.columns[0]), parent.column(fk.ref_columns[0])
    if mine is None or theirs is None:
        return False
    return affinity(mine.type) == affinity(theirs.type) and mine.collate == theirs.collate


def _orphans(fk: ForeignKey, table: Table, origins: _Origins, parent_is_new: bool, middle: Schema) -> Guard:
    columns = [origins.column(table.name, c) for c in fk.columns]
    parent = None if parent_is_new else origins.table(fk.ref_table)
    refs = [origins.column(fk.ref_table, c) for c in fk.ref_columns]
    live = origins.table(table.name)
    lookup = _same_matching(fk, table, middle.table(fk.ref_table))
    return guards.orphans(fk, table.name, live, columns, parent, refs, guards.row_key(table), lookup)
