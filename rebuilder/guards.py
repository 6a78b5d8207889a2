"""Guards: the queries that decide whether a plan loses data or breaks constraints.

This module chooses them (from the changes and the planned steps, reading each
rebuild's copy map), builds them, and evaluates them. A guard is plain data:
the rows it looks at (``source``), a predicate true for each offending row
(``where``), what to show of them (``sample``), and what to say. Guards run
before any step, inside the sync's transaction (``plan`` runs them read-only),
so they name every table and column by its live name (`Table.live`,
`Column.live`); each is its own query, so SQLite can answer it from an index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from sqlglot.errors import SqlglotError

from rebuilder.changes import (
    AddColumn,
    AddConstraint,
    AlterColumn,
    Change,
    CreateTable,
    DropColumn,
    DropTable,
    by_table,
)
from rebuilder.errors import FillFailed
from rebuilder.expressions import column_names, rename_columns, substitute
from rebuilder.names import fold, quote
from rebuilder.results import Loss, Violation
from rebuilder.schema import Check, Column, ForeignKey, Schema, Table, affinity
from rebuilder.steps import COPY, DEFAULT, FILL, Copy, CreateIndexStep, EditSchemaStep, RebuildStep, Step

LOSS = "loss"
VIOLATION = "violation"


@dataclass(frozen=True)
class Guard:
    """One precondition of a plan.

    Attributes:
        kind: ``LOSS`` (refused unless data loss is allowed) or ``VIOLATION``
            (always refused).
        table: The real table, as the models name it.
        column: The column concerned, if any.
        what: What would happen, e.g. ``"drop column"`` or a constraint.
        source: The FROM clause the guard reads.
        where: True for each offending row of ``source``.
        sample: What to show of up to five offending rows.
        hint: The way out, for violations.
        rechecked: The steps check this again (the copy, or COMMIT's foreign
            key check), so a guard whose query SQLite cannot run is skipped.
        proves: The foreign key this guard proves, if any.
    """

    kind: str
    table: str
    column: str | None
    what: str
    source: str
    where: str
    sample: str
    hint: str = ""
    rechecked: bool = False
    proves: ForeignKey | None = None

    @property
    def count_sql(self) -> str:
        """How many rows offend."""
        return f"SELECT count(*) FROM {self.source} WHERE {self.where}"

    @property
    def sample_sql(self) -> str:
        """Up to five offending rows."""
        return f"SELECT {self.sample} FROM {self.source} WHERE {self.where} LIMIT 5"


# --- building one guard -----------------------------------------------------


def scan(table: Table) -> str:
    """The source every guard over ``table`` reads: the live table as ``c``."""
    return f"main.{quote(table.live)} AS c"


def row_key(table: Table) -> str:
    """The SQL that names a live row of ``table``: its primary key, else its rowid."""
    if table.primary_key:
        return ", ".join(f"c.{quote(table.live_column(k))}" for k in table.primary_key)
    return "c.rowid"


_CANON_INT = "CAST(CAST({c} AS INTEGER) AS TEXT) = {c}"
_CANON_REAL = "CAST(CAST({c} AS REAL) AS TEXT) = {c}"
_SMALL = "abs({c}) < 9007199254740992"
_SURVIVES = {
    "INTEGER": [
        "typeof({c}) = 'integer'",
        "typeof({c}) = 'real' AND {c} = CAST({c} AS INTEGER) AND " + _SMALL,
        "typeof({c}) = 'text' AND " + _CANON_INT,
    ],
    "NUMERIC": [
        "typeof({c}) IN ('integer', 'real')",
        "typeof({c}) = 'text' AND " + _CANON_INT,
        "typeof({c}) = 'text' AND " + _CANON_REAL + " AND CAST({c} AS REAL) <> CAST({c} AS INTEGER)",
    ],
    "REAL": [
        "typeof({c}) = 'real'",
        "typeof({c}) = 'integer' AND " + _SMALL,
        "typeof({c}) = 'text' AND " + _CANON_REAL,
        "typeof({c}) = 'text' AND " + _CANON_INT + " AND " + _SMALL,
    ],
    "TEXT": [
        "typeof({c}) IN ('text', 'integer', 'blob')",
        "typeof({c}) = 'real' AND CAST(CAST({c} AS TEXT) AS REAL) = {c}",
    ],
}


def survives(column: str, new_type: str) -> str:
    """SQL true when a value keeps its meaning once stored under ``new_type``.

    SQLite converts by affinity on the copy; a value survives when what it
    becomes is a value of the new type meaning the same thing: ``'12'`` -> 12
    survives, ``'0012'``, ``'1e3'``, ``'12.5'`` and ``'chess'`` into INTEGER
    do not. Never a CAST on the copy itself.
    """
    checks = _SURVIVES.get(affinity(new_type), ["1"])
    return " OR ".join(f"({part})" for part in ["{c} IS NULL", *checks]).format(c=quote(column))


def drop_table(table: Table) -> Guard:
    """Dropping a table with rows loses them."""
    return Guard(LOSS, table.name, None, "drop table", scan(table), "1", row_key(table))


def drop_column(table: Table, column: str) -> Guard:
    """Dropping a column loses its non-NULL values (``column``: its live name)."""
    col = f"c.{quote(column)}"
    return Guard(LOSS, table.name, column, "drop column", scan(table), f"{col} IS NOT NULL", col)


def change_type(table: Table, change: AlterColumn) -> Guard:
    """A type change whose affinity differs may alter stored values."""
    column = change.old.live
    what = f"change type ({change.old.type or 'none'} -> {change.new.type or 'none'}) of"
    where = f"NOT ({survives(column, change.new.type)})"
    return Guard(LOSS, table.name, column, what, scan(table), where, f"c.{quote(column)}")


FILL_WAY = "a fill (info={'fill': ...} on the column, --fill or fills=)"
"""How to give existing rows values, for hints."""

FILL_UNIQUE = "change the fill, so that it gives no two rows one value"
FILL_CHECK = "change the fill, so that every value it gives passes the check"
FILL_PARENT = "change the fill, so that every value it gives has a parent row"
"""The way out when the values a fill gives break a constraint."""


def not_null(table: Table, column: str, value: str, hint: str) -> Guard:
    """NOT NULL over rows whose value would be NULL.

    Args:
        table: The table, with its live name.
        column: The column, for the message.
        value: SQL for what the row will hold: the live column, a fill, or
            ``NULL`` for a new column with neither default nor fill.
        hint: The way out.
    """
    what = f"NOT NULL on column {column!r}"
    return Guard(VIOLATION, table.name, column, what, scan(table), f"({value}) IS NULL", row_key(table), hint)


def made_generated(table: Table, change: AlterColumn) -> Guard:
    """A plain column made generated: each stored value the expression does not compute is lost."""
    column = f"c.{quote(change.old.live)}"
    mapping = {c.key: c.live for c in table.columns if c.live != c.name}
    generated = change.new.generated or "NULL"
    try:
        expr: str | None = rename_columns(generated, mapping) if mapping else generated
    except SqlglotError:
        expr = None  # every stored value counts as lost
    where = f"{column} IS NOT NULL" if expr is None else f"{column} IS NOT ({expr})"
    return Guard(LOSS, table.name, change.old.live, "make generated", scan(table), where, column)


def unique(
    table: Table,
    keys: Sequence[str],
    what: str,
    collations: Sequence[str | None] = (),
    hint: str = "remove the duplicates first",
) -> Guard:
    """UNIQUE over duplicate values (NULLs are distinct, as in SQLite).

    Args:
        table: The table, with its live name.
        keys: SQL for each key over the live table: a quoted column, or what
            the copy will write into the new column (a default, a COALESCE).
        what: The constraint, for the message.
        collations: The collation each key will have, so that ``'A'`` and
            ``'a'`` count as duplicates under a new NOCASE.
        hint: The way out.

    Each offending row of this guard is one group of duplicates. The keys are
    named in a derived table first, so a constant key (a fill of ``7``) is
    grouped by its value, never read as ``GROUP BY 7``, the seventh column.
    """
    names = [f"k{i}" for i in range(len(keys))]
    named = ", ".join(f"({k}) AS {n}" for k, n in zip(keys, names, strict=True))
    grouped = ", ".join(
        n + (f" COLLATE {coll}" if coll else "")
        for n, coll in zip(names, collations or (None,) * len(keys), strict=True)
    )
    notnull = " AND ".join(f"{n} IS NOT NULL" for n in names)
    rows = f"(SELECT {named} FROM main.{quote(table.live)})"
    dupes = f"(SELECT {', '.join(names)} FROM {rows} WHERE {notnull} GROUP BY {grouped} HAVING count(*) > 1)"
    return Guard(VIOLATION, table.name, None, what, dupes, "1", "*", hint, rechecked=True)


def check(table: Table, expr: str, what: str) -> Guard:
    """A CHECK that existing rows violate (``expr`` over the live table)."""
    hint = "fix or delete the offending rows first"
    return Guard(
        VIOLATION, table.name, None, what, scan(table), f"NOT ({expr})", row_key(table), hint, rechecked=True
    )


def orphans(
    fk: ForeignKey, table: Table, parent: Table | None, lookup: bool, values: Sequence[str | None] = ()
) -> Guard:
    """A FOREIGN KEY over rows whose parent does not exist.

    Args:
        fk: The foreign key the models add, in the names the renames give.
        table: The child table.
        parent: The parent table, or None if it is new (so empty).
        lookup: Whether ``NOT IN (SELECT ...)`` asks the same question as the
            foreign key (one column, same affinity and collation on both
            sides): SQLite then builds the parents' keys once and looks each
            row up, several times faster than a correlated NOT EXISTS.
        values: For each key column, what a fill writes into it (None: the
            column's own value). The values are computed in a derived table
            first, so a fill's column names never resolve to the parent's.
    """
    cols = [f"c.{quote(table.live_column(c))}" for c in fk.columns]
    rows = scan(table)
    if any(values):
        keys = [
            f"{v or col} AS {quote(f'_rebuilder_k{i}')}"
            for i, (v, col) in enumerate(zip(values, cols, strict=True))
        ]
        rows = f"(SELECT {row_key(table)}, {', '.join(keys)} FROM {scan(table)}) AS c"
        cols = [f"c.{quote(f'_rebuilder_k{i}')}" for i in range(len(cols))]
    notnull = " AND ".join(f"{c} IS NOT NULL" for c in cols)
    missing = "1"
    if parent is not None:
        refs = [quote(parent.live_column(r)) for r in fk.ref_columns]
        source = f"main.{quote(parent.live)}"
        if lookup:
            missing = f"{cols[0]} NOT IN (SELECT {refs[0]} FROM {source} WHERE {refs[0]} IS NOT NULL)"
        else:
            match = " AND ".join(f"p.{r} = {c}" for r, c in zip(refs, cols, strict=True))
            missing = f"NOT EXISTS (SELECT 1 FROM {source} AS p WHERE {match})"
    hint = FILL_PARENT if any(values) else "add the missing parent rows or clear the orphaned keys first"
    where = f"{notnull} AND {missing}"
    return Guard(
        VIOLATION,
        table.name,
        None,
        fk.describe(),
        rows,
        where,
        row_key(table),
        hint,
        rechecked=True,
        proves=fk,
    )


# --- choosing the guards of a plan ------------------------------------------


def _identity(old: Table, new: Table) -> tuple[Copy, ...]:
    """The copy map of an in-place edit: every column keeps what it holds."""
    return tuple(
        Copy(c.name, COPY, source)
        for c in new.columns
        if (source := old.column(c.name)) is not None and c.generated is None
    )


def _column_guards(
    old: Table, changes: Sequence[Change], copies: Mapping[str, Copy] | None = None
) -> list[Guard]:
    """Guards for dropped, added and altered columns; ``copies`` says what a rebuild writes."""
    found: list[Guard] = []
    for change in changes:
        if isinstance(change, DropColumn) and change.column.generated is None:
            found.append(drop_column(old, change.column.live))
        elif isinstance(change, AddColumn):
            found += _added_guards(old, change.column, (copies or {}).get(change.column.key))
        elif isinstance(change, AlterColumn):
            found += _altered_guards(old, change, (copies or {}).get(change.new.key))
    return found


def _added_guards(old: Table, column: Column, copy: Copy | None) -> list[Guard]:
    if not column.notnull or column.generated is not None:
        return []
    if copy is not None and copy.kind == FILL:
        return [
            not_null(old, column.name, copy.value(live=True), f"change the fill, or give {FILL_WAY} another")
        ]
    if column.default is None:
        return [not_null(old, column.name, "NULL", f"give the column a server_default or {FILL_WAY}")]
    return []


def _altered_guards(old: Table, change: AlterColumn, copy: Copy | None) -> list[Guard]:
    before, after = change.old, change.new
    filled = copy is not None and copy.kind == FILL
    found: list[Guard] = []
    if after.generated is not None and before.generated is None:
        found.append(made_generated(old, change))
    elif before.affinity != after.affinity and after.generated is None and not filled:
        found.append(change_type(old, change))
    if after.notnull and not before.notnull and after.generated is None:
        value = copy.value(live=True) if copy is not None and filled else f"c.{quote(before.live)}"
        hint = "change the fill" if filled else f"update those rows, or give the column {FILL_WAY}"
        found.append(not_null(old, before.live, value, hint))
    return found


def renamed_scan(table: Table) -> str:
    """The live table as ``c``, each column under the name this sync's renames give it.

    What the copy reads once the renames have run, so that a fill naming a
    column by its old name is refused before anything is written.
    """
    columns = [f"{quote(c.live)} AS {quote(c.name)}" for c in table.columns]
    if not table.without_rowid and table.column("rowid") is None:
        columns.append("rowid AS rowid")
    return f"(SELECT {', '.join(columns)} FROM main.{quote(table.live)}) AS c"


def check_fills(conn: sqlite3.Connection, steps: Sequence[Step]) -> None:
    """Refuse a fill whose expression does not compile against its table, before anything is written.

    The expression is compiled as the guards run it (over the live names) and,
    when columns of the table are renamed in this sync, as the copy runs it
    (over the names the models give them).

    Raises:
        FillFailed: Naming the column and SQLite's complaint.
    """
    for step in steps:
        if not isinstance(step, RebuildStep):
            continue
        renamed = any(c.live != c.name for c in step.old.columns)
        for copy in (c for c in step.copies if c.kind == FILL):
            queries = [f"SELECT {copy.value(live=True)} FROM {scan(step.old)}"]
            queries += [f"SELECT {copy.value()} FROM {renamed_scan(step.old)}"] if renamed else []
            for query in queries:
                try:
                    conn.execute(f"EXPLAIN {query}").fetchall()
                except sqlite3.Error as exc:
                    raise FillFailed(step.table, copy.column, copy.expr, str(exc)) from exc


def _check_guard(check_: Check, old: Table, new: Table, copies: Mapping[str, Copy]) -> Guard | None:
    """Guard a new CHECK over what the copy writes: each column replaced by its value.

    None when a column is computed (the copy checks it) or sqlglot cannot read
    the expression (the copy checks it too).
    """
    values = {}
    for name in column_names(check_.expr):
        copy = copies.get(name)
        if copy is None:
            if new.column(name) is not None:
                return None  # a generated column
            continue
        values[name] = copy.value(live=True)
    try:
        return check(old, substitute(check_.expr, values), check_.describe())
    except SqlglotError:
        return None


def _keys(copies: Mapping[str, Copy], columns: Iterable[str]) -> list[str] | None:
    """What the copy writes into each key column, or None when one is all NULL or computed."""
    keys = []
    for column in columns:
        copy = copies.get(column)
        if copy is None or (copy.kind == DEFAULT and copy.default == "NULL"):
            return None
        keys.append(copy.value(live=True))
    return keys


def _collation(table: Table, column: str) -> str | None:
    found = table.column(column)
    return found.collate if found is not None else None


def _unique_guards(old: Table, new: Table, copies: Mapping[str, Copy]) -> list[Guard]:
    """Guard every UNIQUE the copy could break: new ones, new collations, filled values."""
    found = []
    for constraint in new.uniques:
        keys = _keys(copies, constraint.columns)
        if keys is None:
            continue
        collations = tuple(_collation(new, c) for c in constraint.columns)
        plain = all(copies[c].kind == COPY for c in constraint.columns)
        same = collations == tuple(_collation(old, c) for c in constraint.columns)
        if constraint in old.uniques and same and plain:
            continue
        hint = "remove the duplicates first (a server_default fills every existing row with one value)"
        hint = FILL_UNIQUE if _filled(copies, constraint.columns) else hint
        found.append(unique(old, keys, constraint.describe(), collations, hint))
    return found + _primary_key_guards(old, new, copies)


def _primary_key_guards(old: Table, new: Table, copies: Mapping[str, Copy]) -> list[Guard]:
    """Guard a primary key the copy could break: a new one, or one over columns a fill writes."""
    columns = new.primary_key
    if not columns or (columns == old.primary_key and not _filled(copies, columns)):
        return []
    keys = _keys(copies, columns)
    if keys is None:
        return []
    collations = tuple(_collation(new, c) for c in columns)
    hint = FILL_UNIQUE if _filled(copies, columns) else "remove the duplicates first"
    return [unique(old, keys, f"PRIMARY KEY ({', '.join(columns)})", collations, hint)]


def _built_index_guards(step: RebuildStep, copies: Mapping[str, Copy]) -> list[Guard]:
    """Guard the unique indexes a rebuild builds again, over what its copy writes."""
    found = []
    for index in step.indexes:
        if not index.unique or index.where or any(k.is_expression for k in index.columns):
            continue
        keys = _keys(copies, (k.expr for k in index.columns))
        if keys is not None:
            collations = tuple(k.collate for k in index.columns)
            filled = _filled(copies, (k.expr for k in index.columns))
            hint = FILL_UNIQUE if filled else "remove the duplicates first"
            found.append(unique(step.old, keys, f"unique index {index.name}", collations, hint))
    return found


def _filled(copies: Mapping[str, Copy], columns: Iterable[str]) -> bool:
    """Whether a fill writes one of these columns."""
    return any(c in copies and copies[c].kind == FILL for c in columns)


def _reshaped(
    old: Table, new: Table, changes: Sequence[Change], copies: tuple[Copy, ...], in_place: bool
) -> list[Guard]:
    """The guards of a table rebuilt or edited in place."""
    by_column = {fold(c.column): c for c in copies}
    found = _column_guards(old, changes, by_column)
    filled = {k for k, c in by_column.items() if c.kind == FILL}
    for check_ in sorted(new.checks, key=repr):
        if check_ not in old.checks or column_names(check_.expr) & filled:
            guard = _check_guard(check_, old, new, by_column)
            if guard is not None and column_names(check_.expr) & filled:
                guard = replace(guard, hint=FILL_CHECK)
            found += [guard] if guard is not None else []
    found += _unique_guards(old, new, by_column)
    # Editing in place validates nothing itself: the guards are the proof.
    return [replace(g, rechecked=False) for g in found] if in_place else found


def _new_index_guard(step: CreateIndexStep, renamed: Schema, target: Schema) -> list[Guard]:
    """Guard a new unique index over the live rows (a column added just before holds its default)."""
    index = step.index
    table, model = renamed.table(index.table), target.table(index.table)
    if (
        not index.unique
        or index.where
        or any(k.is_expression for k in index.columns)
        or table is None
        or model is None
    ):
        return []
    keys = []
    for key in index.columns:
        column, added = table.column(key.expr), model.column(key.expr)
        if column is not None:
            keys.append(quote(column.live))
        elif added is not None and added.default is not None and added.generated is None:
            keys.append(added.default)
        else:
            return []  # all NULL, which a unique index allows, or computed
    return [unique(table, keys, f"unique index {index.name}", tuple(k.collate for k in index.columns))]


def _same_matching(fk: ForeignKey, child: Table, parent: Table | None) -> bool:
    """Whether a one-column key compares child and parent values alike (affinity, collation)."""
    if parent is None or len(fk.columns) != 1:
        return False
    mine, theirs = child.column(fk.columns[0]), parent.column(fk.ref_columns[0])
    if mine is None or theirs is None:
        return False
    return mine.affinity == theirs.affinity and mine.collate == theirs.collate


def _checked_keys(
    changes: Sequence[Change], target: Schema, written: Mapping[str, Mapping[str, Copy]]
) -> list[tuple[str, ForeignKey]]:
    """The foreign keys whose rows a guard reads: those the models add, and those over filled columns."""
    found = [
        (c.table, c.constraint)
        for c in changes
        if isinstance(c, AddConstraint) and isinstance(c.constraint, ForeignKey)
    ]
    for key, copies in sorted(written.items()):
        table = target.table(key)
        keys = table.foreign_keys if table is not None else frozenset()
        found += [(key, fk) for fk in sorted(keys, key=repr) if _filled(copies, fk.columns)]
    return list(dict.fromkeys((fold(t), fk) for t, fk in found))


def _fk_guards(
    changes: Sequence[Change],
    renamed: Schema,
    target: Schema,
    edited: set[str],
    written: Mapping[str, Mapping[str, Copy]],
) -> list[Guard]:
    """Guard the foreign keys of `_checked_keys` over what their rows will hold.

    ``written`` holds the copy map of each rebuilt table, by key.
    """
    found = []
    created = {c.table.key for c in changes if isinstance(c, CreateTable)}
    for key, fk in _checked_keys(changes, target, written):
        table = renamed.table(key)
        if table is None:
            continue
        copies = written.get(table.key, {})
        fills = [copies[c].value(live=True) if _filled(copies, [c]) else None for c in fk.columns]
        # A new column's values are not in the live table yet: COMMIT's foreign key check proves it.
        if any(table.column(c) is None and v is None for c, v in zip(fk.columns, fills, strict=True)):
            continue
        parent = None if fk.ref_table in created else renamed.table(fk.ref_table)
        lookup = _same_matching(fk, table, parent) and not any(fills)
        guard = orphans(fk, table, parent, lookup, fills)
        found.append(replace(guard, rechecked=table.key not in edited))
    return found


def choose(
    renamed: Schema, target: Schema, changes: Sequence[Change], steps: Sequence[Step]
) -> tuple[Guard, ...]:
    """Choose the guards a plan needs, in live names, so they can run before any step.

    Args:
        renamed: The live schema once the renames have run (see `rebuilder.diff.apply_renames`).
        target: The models' schema.
        changes: The differences, renames excluded.
        steps: The planned steps.
    """
    grouped = by_table(changes)
    reshaped = {fold(s.table): s for s in steps if isinstance(s, (RebuildStep, EditSchemaStep))}
    found: list[Guard] = []
    for key, mine in sorted(grouped.items()):
        old, new = renamed.table(key), target.table(key)
        step: Step | None = reshaped.get(key)
        assert old is not None and new is not None
        if isinstance(step, RebuildStep):
            found += _reshaped(old, new, mine, step.copies, in_place=False)
            found += _built_index_guards(step, {fold(c.column): c for c in step.copies})
        elif isinstance(step, EditSchemaStep):
            found += _reshaped(old, new, mine, _identity(old, new), in_place=True)
        else:
            found += _column_guards(old, mine)
    found += [drop_table(c.table) for c in changes if isinstance(c, DropTable)]
    rebuilt = {k for k, s in reshaped.items() if isinstance(s, RebuildStep)}
    for step in steps:
        if isinstance(step, CreateIndexStep) and step.index.table not in rebuilt:
            found += _new_index_guard(step, renamed, target)
    edited = {k for k, s in reshaped.items() if isinstance(s, EditSchemaStep)}
    written = {
        k: {fold(c.column): c for c in s.copies} for k, s in reshaped.items() if isinstance(s, RebuildStep)
    }
    return tuple(found + _fk_guards(changes, renamed, target, edited, written))


# --- evaluating ---------------------------------------------------------------


@dataclass(frozen=True)
class Findings:
    """What the guards found.

    Attributes:
        losses: Stored values the plan would destroy.
        violations: Existing rows that constraints the models add would reject.
        proven: Foreign keys whose orphan guard ran and found nothing.
    """

    losses: tuple[Loss, ...] = ()
    violations: tuple[Violation, ...] = ()
    proven: frozenset[ForeignKey] = frozenset()


def _scalar(value: object) -> object:
    return value[0] if isinstance(value, tuple) and len(value) == 1 else value


def _run(conn: sqlite3.Connection, guard: Guard) -> tuple[int, tuple[object, ...]] | None:
    """Count a guard's offending rows and sample them (None: SQLite cannot run it, and the steps recheck)."""
    try:
        count = int(conn.execute(guard.count_sql).fetchone()[0])
        samples = tuple(_scalar(r) for r in conn.execute(guard.sample_sql).fetchall()) if count else ()
    except sqlite3.OperationalError:
        if guard.rechecked:
            return None
        raise
    return count, samples


def evaluate(conn: sqlite3.Connection, guards: Iterable[Guard]) -> Findings:
    """Run every guard and return what they found."""
    losses: list[Loss] = []
    violations: list[Violation] = []
    proven: set[ForeignKey] = set()
    for guard in guards:
        result = _run(conn, guard)
        if result is None:
            continue
        count, samples = result
        if count == 0 and guard.proves is not None:
            proven.add(guard.proves)
        elif count and guard.kind == LOSS:
            losses.append(Loss(guard.table, guard.column, guard.what, count, samples[:3]))
        elif count:
            violations.append(Violation(guard.table, guard.what, count, samples, guard.hint))
    return Findings(tuple(losses), tuple(violations), frozenset(proven))
