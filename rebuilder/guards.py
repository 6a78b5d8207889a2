"""Guards: the queries that decide whether a plan loses data or breaks constraints.

A guard is plain data made by the planner: a counting query, a sampling
query, and what to say when the count is not zero. `rebuilder.apply` runs them
before any step, inside the sync's transaction; ``plan`` runs them read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from rebuilder.schema import Table
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
        count_sql: Returns one row with the number of offending rows.
        sample_sql: Returns up to five offending values or keys.
        hint: The way out, for violations.
        optional: Skip the guard if the query cannot run (the copy still checks).
    """

    kind: str
    table: str
    column: str | None
    what: str
    count_sql: str
    sample_sql: str
    hint: str = ""
    optional: bool = False


def row_key(table: Table) -> str:
    """The SQL that names a row of ``table``: its primary key, else its rowid."""
    if table.primary_key:
        return ", ".join(quote(table.column(k).name) for k in table.primary_key)  # type: ignore[union-attr]
    return "rowid"


def _guard(kind: str, table: str, from_sql: str, where: str, sample: str, **kw: str | bool | None) -> Guard:
    return Guard(
        kind=kind,
        table=table,
        count_sql=f"SELECT count(*) FROM {from_sql} WHERE {where}",
        sample_sql=f"SELECT {sample} FROM {from_sql} WHERE {where} LIMIT 5",
        **kw,  # type: ignore[arg-type]
    )


def drop_table(table: Table, name: str) -> Guard:
    """Dropping a table with rows loses them."""
    src = f"main.{quote(name)}"
    return _guard(LOSS, table.name, src, "1", row_key(table), column=None, what="drop table")


def drop_column(table: str, old_table: str, column: str) -> Guard:
    """Dropping a column loses its non-NULL values."""
    col = quote(column)
    src = f"main.{quote(old_table)}"
    return _guard(LOSS, table, src, f"{col} IS NOT NULL", col, column=column, what="drop column")


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
    col = quote(column)
    src = f"main.{quote(old_table)}"
    where = f"NOT ({survives(column, new_type)})"
    what = f"change type ({old_type or 'none'} -> {new_type or 'none'}) of"
    return _guard(LOSS, table, src, where, col, column=column, what=what)


def not_null(table: str, old_table: str, column: str, key: str, new: bool) -> Guard:
    """NOT NULL over existing NULLs (or a new NOT NULL column with no default)."""
    where = "1" if new else f"{quote(column)} IS NULL"
    hint = "give the column a server_default or fill the NULLs first"
    return _guard(
        VIOLATION,
        table,
        f"main.{quote(old_table)}",
        where,
        key,
        column=column,
        what=f"NOT NULL on column {column!r}",
        hint=hint,
    )


def unique(
    table: str, old_table: str, columns: tuple[str, ...], what: str, collations: tuple[str | None, ...] = ()
) -> Guard:
    """UNIQUE over duplicate values (NULLs are distinct, as in SQLite).

    Values are grouped under the collation each column will have, so that
    ``'A'`` and ``'a'`` count as duplicates under a new NOCASE.
    """
    keys = [
        quote(c) + (f" COLLATE {coll}" if coll else "")
        for c, coll in zip(columns, collations or (None,) * len(columns), strict=True)
    ]
    cols = ", ".join(keys)
    notnull = " AND ".join(f"{quote(c)} IS NOT NULL" for c in columns)
    dupes = (
        f"(SELECT {cols} FROM main.{quote(old_table)} WHERE {notnull} GROUP BY {cols} HAVING count(*) > 1)"
    )
    return Guard(
        kind=VIOLATION,
        table=table,
        column=None,
        what=what,
        count_sql=f"SELECT count(*) FROM {dupes}",
        sample_sql=f"SELECT * FROM {dupes} LIMIT 5",
        hint="remove the duplicates first",
        optional=True,
    )


def check(table: str, old_table: str, expr: str, key: str, what: str) -> Guard:
    """A CHECK that existing rows violate."""
    return _guard(
        VIOLATION,
        table,
        f"main.{quote(old_table)}",
        f"NOT ({expr})",
        key,
        column=None,
        what=what,
        hint="fix or delete the offending rows first",
        optional=True,
    )
