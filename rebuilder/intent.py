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
from rebuilder.names import excluded, fold
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


def _names(value: object, where: str, own: str, others: Iterable[str]) -> tuple[str, ...]:
    """The earlier names a ``renamed_from`` gives: one string, or a list of them.

    Args:
        value: The ``renamed_from`` value.
        where: The table or column, for messages.
        own: Its name.
        others: The names of its siblings in the models (the other tables, or
            the table's other columns).

    Raises:
        BadRename: If it is not a name or a list of names, or it names a sibling:
            every database would then hold both names after one sync, which the
            next one refuses (RenameConflict).
    """
    names = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, (list, tuple)) else None
    if not names or not all(isinstance(n, str) and n for n in names):
        raise BadRename(f"{where} renamed_from={value!r}", "expected a name or a list of names")
    taken = {fold(n) for n in others} - {fold(own)}
    for name in names:
        if fold(name) in taken:
            reason = (
                f"the models also have {name!r}: take the earlier name out of renamed_from "
                "(once every database has the new name) before giving it to another; "
                "to swap two names, give both renames once as options instead"
            )
            raise BadRename(f"{where} renamed_from={value!r}", reason)
    return tuple(str(n) for n in names)


def _fill(value: object, table: str, column: str) -> Fill:
    where = f"{table}.{column}"
    if not isinstance(value, str) or not value.strip():
        raise BadFill(f"{where} fill={value!r}", "expected an SQL expression as a string")
    return Fill(table, column, value.strip(), f"info fill of {where}")


def _table_intent(table: object, table_names: Iterable[str]) -> tuple[list[Rename], list[Rename], list[Fill]]:
    from sqlalchemy import Table

    assert isinstance(table, Table)
    renames, tables, fills = [], [], []
    if "renamed_from" in table.info:
        for old in _names(table.info["renamed_from"], table.name, table.name, table_names):
            tables.append(Rename(old, table.name, f"{table.name} renamed_from {old}", declared=True))
    columns = [c.name for c in table.columns]
    for column in table.columns:
        where = f"{table.name}.{column.name}"
        if "renamed_from" in column.info:
            for old in _names(column.info["renamed_from"], where, column.name, columns):
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
        BadRename: If a ``renamed_from`` is not a name or a list of names, or
            names another table (or column of its table) of the models.
        BadFill: If a ``fill`` is not an expression.
    """
    patterns = tuple(exclude)
    renames: list[Rename] = []
    tables: list[Rename] = []
    fills: list[Fill] = []
    names = [t.name for md in metadatas for t in md.tables.values() if not excluded(t.name, patterns)]
    for md in metadatas:
        for table in md.tables.values():
            if excluded(table.name, patterns):
                continue
            mine = _table_intent(table, names)
            renames += mine[0]
            tables += mine[1]
            fills += mine[2]
    return Declared(tuple(renames), tuple(tables), tuple(fills))
