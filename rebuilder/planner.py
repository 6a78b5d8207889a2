"""Turn changes into steps: the one place that decides native ALTER, in-place edit or rebuild.

Pure: takes schemas, renames and `Capabilities`, returns steps (and, from
`rebuilder.guards`, the guards that run before them). A table gets native
``ALTER TABLE`` steps only when every change to it is one SQLite's ALTER does
exactly; an in-place edit of its stored SQL when no stored byte changes;
otherwise exactly one `RebuildStep` carrying all of its changes.

Each cheap path is allowed for a known set of differing fields only (see
`rebuilder.schema.differing`): a field added to the schema records later takes
the rebuild until it is added to a list here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sqlglot.errors import SqlglotError

from rebuilder import guards
from rebuilder.capabilities import Capabilities
from rebuilder.changes import (
    AddColumn,
    AlterColumn,
    Change,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropIndex,
    DropTable,
    by_table,
)
from rebuilder.ddl import reorder_columns
from rebuilder.diff import Renames, apply_renames, diff
from rebuilder.errors import FillFailed, ForeignKeyMismatch
from rebuilder.expressions import column_names, is_constant, mentions, rename_columns
from rebuilder.names import aside_name, fold
from rebuilder.options import Fill
from rebuilder.results import RenameHint
from rebuilder.schema import Column, Index, Schema, Table, differing
from rebuilder.steps import (
    COPY,
    DEFAULT,
    FILL,
    AddColumnStep,
    Copy,
    CreateIndexStep,
    CreateTableStep,
    DropColumnStep,
    DropIndexStep,
    DropTableStep,
    EditSchemaStep,
    RebuildStep,
    RenameColumnsStep,
    RenameTableStep,
    Step,
)

ADDABLE = frozenset({"type", "notnull", "default", "collate", "generated", "stored"})
"""Column fields ``ALTER TABLE ADD COLUMN`` can give a new column (within `can_add_natively`'s rules)."""

EDITABLE_TABLE = frozenset({"checks", "foreign_keys", "column_set"})
"""Table fields an in-place edit may change (columns within `EDITABLE_COLUMN`)."""

EDITABLE_COLUMN = frozenset({"type", "notnull", "default"})
"""Column fields an in-place edit may change (a type within its affinity)."""


@dataclass(frozen=True)
class Procedure:
    """What a sync carries out: the changes, the steps in order, the guards to run first.

    Attributes:
        changes: The differences, renames first.
        steps: The steps, in order.
        guards: The guards, in live names.
        hints: Drops and adds that look like renames, to say so (never acted on).
    """

    changes: tuple[Change, ...]
    steps: tuple[Step, ...]
    guards: tuple[guards.Guard, ...]
    hints: tuple[RenameHint, ...] = ()


def rename_hints(changes: Sequence[Change]) -> tuple[RenameHint, ...]:
    """Drops and adds that look like renames, never acted on.

    A column dropped and one added with the same type in one table (when that
    type pairs them alone), or a table dropped and one created with the same
    columns. Nothing is renamed without a declaration.
    """
    found = []
    for _key, mine in sorted(by_table(changes).items()):
        dropped = [c for c in mine if isinstance(c, DropColumn) and c.column.generated is None]
        added = [c for c in mine if isinstance(c, AddColumn) and c.column.generated is None]
        for drop in dropped:
            same = [a for a in added if a.column.type == drop.column.type]
            rivals = [d for d in dropped if d.column.type == drop.column.type]
            if len(same) == 1 and len(rivals) == 1:
                found.append(RenameHint("column", same[0].table, drop.column.live, same[0].column.name))
    gone = [c.table for c in changes if isinstance(c, DropTable)]
    made = [c.table for c in changes if isinstance(c, CreateTable)]
    for old in gone:
        shape = {(c.key, c.type) for c in old.columns}
        alike = [t for t in made if {(c.key, c.type) for c in t.columns} == shape]
        if len(alike) == 1:
            found.append(RenameHint("table", "", old.name, alike[0].name))
    return tuple(found)


# --- native ALTER -------------------------------------------------------------


def can_add_natively(column: Column, new: Table) -> bool:
    """Whether ``ALTER TABLE ADD COLUMN`` creates exactly this column (lang_altertable.html)."""
    if not differing(Column(column.name, ""), column) <= ADDABLE:
        return False
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
    """Native ADD and DROP COLUMN steps, or None when the table needs more."""
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


# --- in-place edit -------------------------------------------------------------


def _keeps_bytes(old: Column, new: Column, in_key: bool, strict: bool) -> bool:
    """Whether a column change leaves every stored byte as it is."""
    changed = differing(old, new)
    if not changed <= EDITABLE_COLUMN:
        return False
    return not ("type" in changed and (in_key or strict or old.affinity != new.affinity))


def can_edit_in_place(old: Table, new: Table) -> bool:
    """Whether editing the table's SQL in ``sqlite_schema`` does exactly the change.

    True when the columns, their order, the keys, UNIQUE constraints and table
    options stay as they are, and every column change keeps the stored bytes:
    constraints and defaults only, or a declared type within its affinity.
    Added NOT NULL, CHECK and FOREIGN KEY constraints are proved by guards.
    A model that only orders its columns otherwise is first put in the live
    order (`in_live_order`).
    """
    if old.name != new.name or [c.key for c in old.columns] != [c.key for c in new.columns]:
        return False
    if not differing(old, new) <= EDITABLE_TABLE:
        return False
    pairs = [(c, new.columns[i]) for i, c in enumerate(old.columns)]
    return all(_keeps_bytes(a, b, b.key in new.primary_key, new.strict) for a, b in pairs)


def in_live_order(old: Table, new: Table) -> Table:
    """``new`` with its column definitions in ``old``'s order, when both have the same columns.

    Column order is no difference (a table built by migrations has its added
    columns last, where the models may declare them anywhere), but a stored
    row holds its values by position: an in-place edit must keep the live
    order, and the models' definitions, moved whole, give exactly that.
    """
    keys = [c.key for c in old.columns]
    if [c.key for c in new.columns] == keys or sorted(keys) != sorted(c.key for c in new.columns):
        return new
    try:
        sql = reorder_columns(new.sql, keys)
    except ValueError:
        return new  # a statement the splitter cannot cut: the rebuild is always right
    by_key = {c.key: c for c in new.columns}
    return replace(new, columns=tuple(by_key[k] for k in keys), sql=sql)


def _materialize(old: Table, new: Table) -> tuple[tuple[str, str], ...]:
    """``(column, old default)`` for each constant DEFAULT that changes (see `EditSchemaStep`)."""
    found = []
    for after in new.columns:
        before = old.column(after.name)
        if before is None or before.default == after.default or before.generated is not None:
            continue
        if before.default is None or is_constant(before.default):
            found.append((before.name, before.default or "NULL"))
    return tuple(found)


def _edit(old: Table, new: Table, reasons: tuple[str, ...], schema: Schema) -> EditSchemaStep | None:
    """An in-place edit, or None when it would not be exact.

    Writing out old defaults runs an UPDATE, which would fire the user's
    UPDATE triggers: a table with triggers is rebuilt instead.
    """
    new = in_live_order(old, new)
    if not can_edit_in_place(old, new):
        return None
    materialize = _materialize(old, new)
    if materialize and any(d.type == "trigger" and d.table == old.key for d in schema.dependents):
        return None
    return EditSchemaStep(new.name, old, new, reasons, materialize)


# --- rebuild -------------------------------------------------------------------


def needs_values(change: Change) -> str | None:
    """The folded column a change needs values for, so that a fill applies to it.

    A new stored column; a column made NOT NULL, given another affinity, or
    made plain from generated. A fill for any other column is ignored, so it
    can stay in the code.
    """
    if isinstance(change, AddColumn) and change.column.generated is None:
        return change.column.key
    if isinstance(change, AlterColumn) and change.new.generated is None:
        old, new = change.old, change.new
        if (new.notnull and not old.notnull) or old.affinity != new.affinity or old.generated is not None:
            return new.key
    return None


def _live_expr(fill: Fill, old: Table) -> str:
    """A fill's expression over the live names of the columns it reads (renames undone)."""
    mapping = {c.key: c.live for c in old.columns if c.live != c.name}
    if not mapping:
        return fill.expr
    try:
        return rename_columns(fill.expr, mapping)
    except SqlglotError as exc:
        raise FillFailed(
            fill.table, fill.column, fill.expr, f"it cannot be read to rename its columns ({exc})"
        ) from exc


def copy_map(old: Table, new: Table, fills: Mapping[str, Fill] | None = None) -> tuple[Copy, ...]:
    """How a rebuild fills each stored column of the new table from the old one."""
    copies = []
    for column in new.columns:
        source = old.column(column.name)
        fill = (fills or {}).get(column.key)
        if column.generated is not None:
            continue
        if fill is not None:
            copies.append(Copy(column.name, FILL, source, expr=fill.expr, live_expr=_live_expr(fill, old)))
        elif source is None:
            copies.append(Copy(column.name, DEFAULT, None, column.default or "NULL"))
        else:
            copies.append(Copy(column.name, COPY, source))
    return tuple(copies)


def _unchanged_columns(old: Table, new: Table, copies: Sequence[Copy]) -> set[str]:
    """Columns whose every stored value the copy carries over byte for byte."""
    found = set()
    for copy in copies:
        after = new.column(copy.column)
        if (
            copy.kind == COPY
            and copy.source is not None
            and after is not None
            and copy.source.affinity == after.affinity
        ):
            found.add(copy.source.key)
    return found


def _reusable(
    old: Table, new: Table, copies: Sequence[Copy], copy_rowid: bool, renamed: Schema, target: Schema
) -> tuple[Index, ...]:
    """Indexes whose b-trees stay valid across the rebuild, so need not be built again.

    An index holds its key values and each row's rowid. When every column it
    reads is copied unchanged (same affinity, no fill expression) and every
    rowid is kept, its entries are exactly what a new build would make.
    """
    same_rowids = copy_rowid or (new.rowid_alias is not None and new.rowid_alias == old.rowid_alias)
    if old.without_rowid or new.without_rowid or not same_rowids:
        return ()
    unchanged = _unchanged_columns(old, new, copies)
    before = {i.key: i for i in renamed.indexes_of(old.name)}
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
    reasons: tuple[str, ...],
    renamed: Schema,
    target: Schema,
    caps: Capabilities,
    fills: Mapping[str, Fill],
) -> RebuildStep:
    dependents = tuple(d for d in renamed.dependents if d.table == old.key and d.type in ("trigger", "index"))
    copies = copy_map(old, new, fills)
    copy_rowid = not old.without_rowid and not new.without_rowid and new.rowid_alias is None
    reused = _reusable(old, new, copies, copy_rowid, renamed, target) if caps.writable_schema else ()
    return RebuildStep(
        table=new.name,
        old=old,
        new=new,
        copies=copies,
        copy_rowid=copy_rowid,
        indexes=tuple(i for i in target.indexes_of(new.name) if i not in reused),
        reasons=reasons,
        dependents=dependents,
        reused=reused,
    )


# --- the whole plan ----------------------------------------------------------------


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


def _plan_table(
    old: Table,
    new: Table,
    changes: Sequence[Change],
    renamed: Schema,
    target: Schema,
    caps: Capabilities,
    fills: Sequence[Fill],
) -> list[Step]:
    """Native ALTERs, an in-place edit, or one rebuild, for one changed table.

    A fill is applied by the table's rebuild, in its copy.
    """
    needed = {needs_values(c) for c in changes}
    used = {
        fold(f.column): f for f in reversed(fills) if fold(f.table) == new.key and fold(f.column) in needed
    }
    natives = None if used else _natives(old, new, changes, renamed, caps)
    if natives is not None:
        return natives
    reasons = tuple(str(c) for c in changes)
    reasons += tuple(f"fill {new.name}.{f.column} with {f.expr}" for f in used.values())
    edit = _edit(old, new, reasons, renamed) if caps.writable_schema and not used else None
    return [edit] if edit is not None else [_rebuild(old, new, reasons, renamed, target, caps, used)]


def _rename_steps(renames: Renames, renamed: Schema) -> list[Step]:
    steps: list[Step] = [RenameTableStep(r.old, r.new) for r in renames.tables]
    grouped: dict[str, list[tuple[str, str]]] = {}
    for r in renames.columns:
        grouped.setdefault(fold(r.table), []).append((r.old, r.new))
    for key, pairs in sorted(grouped.items()):
        table = renamed.table(key)
        assert table is not None
        sources = {fold(old) for old, _ in pairs}
        aside = tuple(
            c.live for c in table.columns if c.name == aside_name(c.live) and fold(c.live) not in sources
        )
        steps.append(RenameColumnsStep(table.name, tuple(pairs), aside))
    return steps


def make_plan(
    live: Schema, target: Schema, renames: Renames, caps: Capabilities, fills: Sequence[Fill] = ()
) -> Procedure:
    """Plan the steps that turn ``live`` into ``target``.

    Order: renames, index drops, table drops, table creations, per-table
    changes, index creations. Guards are written in live names, so they can
    run before any step.

    Args:
        live: The live schema.
        target: The models' schema.
        renames: Checked renames.
        caps: What the linked SQLite can do.
        fills: Values for existing rows; the first given for a column wins.

    Returns:
        The changes, the ordered steps, the guards to run first, and rename hints.
    """
    renamed = apply_renames(live, renames)
    changes = diff(renamed, target)
    tables: list[Step] = []
    for key, mine in sorted(by_table(changes).items()):
        old, new = renamed.table(key), target.table(key)
        assert old is not None and new is not None
        tables += _plan_table(old, new, mine, renamed, target, caps, fills)
    rebuilt = {fold(s.table) for s in tables if isinstance(s, RebuildStep)}
    dropped = {c.table.key for c in changes if isinstance(c, DropTable)}
    created = [c.table for c in changes if isinstance(c, CreateTable)]
    steps = _rename_steps(renames, renamed)
    steps += [
        DropIndexStep(c.index.table, c.index)
        for c in changes
        if isinstance(c, DropIndex) and c.index.table not in rebuilt | dropped
    ]
    steps += [DropTableStep(c.table.name) for c in changes if isinstance(c, DropTable)]
    steps += [CreateTableStep(t.name, t) for t in created]
    steps += tables
    steps += [
        CreateIndexStep(c.index.table, c.index)
        for c in changes
        if isinstance(c, CreateIndex) and c.index.table not in rebuilt
    ]
    check_parent_keys(target, set(by_table(changes)) | {t.key for t in created})
    found = guards.choose(renamed, target, changes, steps)
    return Procedure(
        (*renames.tables, *renames.columns, *changes), tuple(steps), found, rename_hints(changes)
    )
