"""Intent the models declare: renames and fills in SQLAlchemy's ``info`` dictionaries.

A declarative tool sees two schemas and cannot see intent, so the models say it
where it lives with the code:

- ``Column(..., info={"renamed_from": "old"})`` and, for a table,
  ``info={"renamed_from": "old"}`` (``__table_args__`` or ``Table(..., info=...)``):
  the same as ``--rename``/``--rename-table``, ignored once applied. A list
  names every earlier name, so a chain across releases (``a`` -> ``b`` -> ``c``)
  reaches a database still at ``a``.
- ``Column(..., info={"fill": "SQL expression"})``: the same as ``--fill``.

Only the ``info`` dictionaries are read here; nothing else about the models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import MetaData

from rebuilder.errors import BadFill, BadRename
from rebuilder.names import excluded
from rebuilder.options import Fill, Rename


@dataclass(frozen=True)
class Declared:
    """What the models declare.

    Attributes:
        renames: Column renames (``declared=True``).
        table_renames: Table renames (``declared=True``).
        fills: Fills.
    """

    renames: tuple[Rename, ...] = ()
    table_renames: tuple[Rename, ...] = ()
    fills: tuple[Fill, ...] = ()


def _names(value: object, where: str) -> tuple[str, ...]:
    """The earlier names a ``renamed_from`` gives: one string, or a list of them."""
    names = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, (list, tuple)) else None
    if not names or not all(isinstance(n, str) and n for n in names):
        raise BadRename(f"{where} renamed_from={value!r}", "expected a name or a list of names")
    return tuple(str(n) for n in names)


def _fill(value: object, table: str, column: str) -> Fill:
    where = f"{table}.{column}"
    if not isinstance(value, str) or not value.strip():
        raise BadFill(f"{where} fill={value!r}", "expected an SQL expression as a string")
    return Fill(table, column, value.strip(), f"info fill of {where}")


def _table_intent(table: object) -> tuple[list[Rename], list[Rename], list[Fill]]:
    from sqlalchemy import Table

    assert isinstance(table, Table)
    renames, tables, fills = [], [], []
    if "renamed_from" in table.info:
        for old in _names(table.info["renamed_from"], table.name):
            tables.append(Rename(old, table.name, f"{table.name} renamed_from {old}", declared=True))
    for column in table.columns:
        where = f"{table.name}.{column.name}"
        if "renamed_from" in column.info:
            for old in _names(column.info["renamed_from"], where):
                renames.append(
                    Rename(old, column.name, f"{where} renamed_from {old}", table.name, declared=True)
                )
        if "fill" in column.info:
            fills.append(_fill(column.info["fill"], table.name, column.name))
    return renames, tables, fills


def declared(metadatas: Sequence[MetaData], exclude: Iterable[str] = ()) -> Declared:
    """Read the renames and fills the models declare in ``info``.

    Args:
        metadatas: The models' MetaData objects.
        exclude: Glob patterns of tables to leave out.

    Raises:
        BadRename: If a ``renamed_from`` is not a name or a list of names.
        BadFill: If a ``fill`` is not an expression.
    """
    patterns = tuple(exclude)
    renames: list[Rename] = []
    tables: list[Rename] = []
    fills: list[Fill] = []
    for md in metadatas:
        for table in md.tables.values():
            if excluded(table.name, patterns):
                continue
            mine = _table_intent(table)
            renames += mine[0]
            tables += mine[1]
            fills += mine[2]
    return Declared(tuple(renames), tuple(tables), tuple(fills))
