"""Guards: the queries that decide whether a plan loses data or breaks constraints.

A guard is plain data made by the planner: the rows it looks at (``source``),
a predicate true for each offending row (``where``), what to show of them
(``sample``), and what to say when any row matches. `rebuilder.apply` runs
all guards over one source in a single scan, before any step, inside the
sync's transaction; ``plan`` runs them read-only. Every guard over a table
reads it as ``main."T" AS c``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rebuilder.schema import ForeignKey, Table
from rebuilder.sqltext import affinity, quote

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
        source: The FROM clause the guard scans.
        where: True for each offending row of ``source``.
        sample: What to show of up to five offending rows.
        hint: The way out, for violations.
        optional: Skip the guard if its query cannot run (the steps still check).
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
    optional: bool = False
    proves: ForeignKey | None = None

    @property
    def sample_sql(self) -> str:
        """Up to five offending rows."""
        return f"SELECT {self.sample} FROM {self.source} WHERE {self.where} LIMIT 5"


def scan(table: str) -> str:
    """The source every guard over ``table`` reads."""
    return f"main.{quote(table)} AS c"


def row_key(table: Table) -> str:
    """The SQL that names a row of ``table``: its primary key, else its rowid."""
    if table.primary_key:
        return ", ".join(f"c.{quote(table.column(k).name)}" for k in table.primary_key)  # type: ignore[union-attr]
    return "c.rowid"


def drop_table(table: Table, name: str) -> Guard:
    """Dropping a table with rows loses them."""
    return Guard(LOSS, table.name, None, "drop table", scan(name), "1", row_key(table))


def drop_column(table: str, old_table: str, column: str) -> Guard:
    """Dropping a column loses its non-NULL values."""
    col = f"c.{quote(column)}"
    return Guard(LOSS, table, column, "drop column", scan(old_table), f"{col} IS NOT NULL", col)


_CANON_INT = "CAST(CAST({c} AS INTEGER) AS TEXT) = {c}"
_CANON_REAL = "CAST(CAST({c} AS REAL) AS TEXT) = {c}"
_SMALL = "abs({c}) < 9007199254740992"


def survives(column: str, new_type: str) -> str:
    """SQL true when a value keeps its meaning once stored under ``new_type``.

    SQLite converts by affinity on the copy; a value survives when what it
    becomes is a value of the new type meaning the same thing: ``'12'`` -> 12
    survives, ``'0012'``, ``'1e3'``, ``'12.5'`` and ``'chess'`` into INTEGER
    do not. Never a CAST on the copy itself.
    """
    c = quote(column)
    kind = affinity(new_type)
    checks = {
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
    }.get(kind, ["1"])
    return " OR ".join(f"({part})" for part in ["{c} IS NULL", *checks]).format(c=c)


def change_type(table: str, old_table: str, column: str, old_type: str, new_type: str) -> Guard:
    """A type change whose affinity differs may alter stored values."""
    what = f"change type ({old_type or 'none'} -> {new_type or 'none'}) of"
    where = f"NOT ({survives(column, new_type)})"
    return Guard(LOSS, table, column, what, scan(old_table), where, f"c.{quote(column)}")


def not_null(table: str, old_table: str, column: str, key: str, new: bool) -> Guard:
    """NOT NULL over existing NULLs (or a new NOT NULL column with no default)."""
    where = "1" if new else f"c.{quote(column)} IS NULL"
    hint = "give the column a server_default or fill the NULLs first"
    what = f"NOT NULL on column {column!r}"
    return Guard(VIOLATION, table, column, what, scan(old_table), where, key, hint)


def unique(
    table: str,
    old_table: str,
    keys: tuple[str, ...],
    what: str,
    collations: tuple[str | None, ...] = (),
    hint: str = "remove the duplicates first",
) -> Guard:
    """UNIQUE over duplicate values (NULLs are distinct, as in SQLite).

    Args:
        table: The real table, as the models name it.
        old_table: Its live name.
        keys: SQL for each key over the live table: a quoted column, or what
            the copy will fill the new column with (a default, a COALESCE).
        what: The constraint, for the message.
        collations: The collation each key will have, so that ``'A'`` and
            ``'a'`` count as duplicates under a new NOCASE.
        hint: The way out.

    Each offending row of this guard is one group of duplicates.
    """
    grouped = [
        f"({k})" + (f" COLLATE {coll}" if coll else "")
        for k, coll in zip(keys, collations or (None,) * len(keys), strict=True)
    ]
    cols = ", ".join(grouped)
    notnull = " AND ".join(f"({k}) IS NOT NULL" for k in keys)
    dupes = (
        f"(SELECT {cols} FROM main.{quote(old_table)} WHERE {notnull} GROUP BY {cols} HAVING count(*) > 1)"
    )
    return Guard(VIOLATION, table, None, what, dupes, "1", "*", hint, optional=True)


def check(table: str, old_table: str, expr: str, key: str, what: str) -> Guard:
    """A CHECK that existing rows violate."""
    hint = "fix or delete the offending rows first"
    return Guard(VIOLATION, table, None, what, scan(old_table), f"NOT ({expr})", key, hint, optional=True)


def orphans(
    fk: ForeignKey,
    table: str,
    old_table: str,
    columns: list[str],
    parent: str | None,
    refs: list[str],
    key: str,
    lookup: bool = False,
) -> Guard:
    """A FOREIGN KEY over rows whose parent does not exist.

    Args:
        fk: The foreign key the models add.
        table: The real table, as the models name it.
        old_table: Its live name.
        columns: The live names of the referencing columns.
        parent: The live name of the parent table, or None if it is new (empty).
        refs: The live names of the referenced columns.
        key: What to show of an orphaned row.
        lookup: Whether ``NOT IN (SELECT ...)`` asks the same question as the
            foreign key (one column, same affinity and collation on both
            sides): SQLite then builds the parents' keys once and looks each
            row up, several times faster than a correlated NOT EXISTS.
    """
    cols = [f"c.{quote(c)}" for c in columns]
    notnull = " AND ".join(f"{c} IS NOT NULL" for c in cols)
    missing = "1"
    if parent is not None and lookup:
        (ref,) = refs
        missing = (
            f"{cols[0]} NOT IN (SELECT {quote(ref)} FROM main.{quote(parent)} WHERE {quote(ref)} IS NOT NULL)"
        )
    elif parent is not None:
        match = " AND ".join(f"p.{quote(r)} = {c}" for r, c in zip(refs, cols, strict=True))
        missing = f"NOT EXISTS (SELECT 1 FROM main.{quote(parent)} AS p WHERE {match})"
    hint = "add the missing parent rows or clear the orphaned keys first"
    return Guard(
        VIOLATION,
        table,
        None,
        fk.describe(),
        scan(old_table),
        f"{notnull} AND {missing}",
        key,
        hint,
        optional=True,
        proves=fk,
    )
