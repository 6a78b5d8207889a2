"""The models' fingerprint: a structural digest of the MetaData, made without compiling DDL.

The version row holds this fingerprint, and the start-up `sync` compares it
with the stored one before anything else, so it must be cheap: it reads the
attributes that decide what SQLAlchemy's sqlite dialect compiles (names,
types, nullability, defaults and server defaults, computed columns,
constraints, indexes, dialect options, the naming convention), plus the
intent the models declare in ``info`` (``renamed_from``, ``fill``), and hashes
them. Whatever would change the compiled DDL changes one of them. A type is
compiled alone (one short string, once per column and type object), and so is an
expression that is not plain text (a CHECK built from columns, an index on an
expression); nothing else is.
Everything is rendered to plain values first, so the same models give the
same digest in every process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from rebuilder.names import excluded

if TYPE_CHECKING:
    from sqlalchemy import Column, Dialect, Index, MetaData, Table
    from sqlalchemy.sql.schema import Constraint

FORMAT = "rebuilder-fingerprint-2"
"""Names the algorithm; a new algorithm gets a new name, so no digest of an old one can match."""

INTENT = ("renamed_from", "fill")
"""The ``info`` keys that declare intent (see `rebuilder.intent`)."""


class _Opaque(Exception):
    """A value with no stable rendering: the caller compiles instead."""


def _plain(value: object) -> object:
    """``value`` as nested tuples of str, int, float, bool and None, the same in every process.

    Raises:
        _Opaque: If part of it has no such rendering (an object with an address in its repr).
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted((_plain(v) for v in value), key=repr))
    if isinstance(value, Mapping):
        return tuple(sorted(((_plain(k), _plain(v)) for k, v in value.items()), key=repr))
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    raise _Opaque(type(value).__name__)


@lru_cache(maxsize=1)
def _dialect() -> Dialect:
    from sqlalchemy.dialects import sqlite

    return sqlite.dialect()


@lru_cache(maxsize=1)
def _column_clause() -> type:
    from sqlalchemy.sql.expression import ColumnClause

    return ColumnClause


def _sql(element: Any) -> str:
    """An expression as the sqlite dialect compiles it (plain text is taken as it is)."""
    text = getattr(element, "text", None)
    if isinstance(element, str) or isinstance(text, str):
        return element if isinstance(element, str) else str(text)
    return str(element.compile(dialect=_dialect(), compile_kwargs={"literal_binds": True}))


_TYPES: dict[int, tuple[object, object, str]] = {}
"""id(column) -> (the column, its type object, the compiled type). Both are held, so no id is reused."""


def _type(column: Column[Any]) -> str:
    """The column's type as the DDL spells it (``VARCHAR(100)``), compiled once per column and type object.

    This is the very call SQLAlchemy's sqlite dialect makes for a column's
    type in CREATE TABLE, variants and type decorators included; a column
    given another type object is compiled again.
    """
    kind = column.type
    found = _TYPES.get(id(column))
    if found is not None and found[0] is column and found[1] is kind:
        return found[2]
    text = str(_dialect().type_compiler_instance.process(kind, type_expression=column))
    if len(_TYPES) > 100_000:
        _TYPES.clear()
    _TYPES[id(column)] = (column, kind, text)
    return text


def _options(item: Any) -> str:
    """Dialect options (``sqlite_autoincrement``, ``sqlite_where``, ...) as plain values."""
    made = item.__dict__.get("dialect_options")  # SQLAlchemy makes the mapping on first use
    if not made:
        return ""
    for args in made.values():
        if getattr(args, "_non_defaults", True):
            break
    else:
        return ""  # only defaults were looked up (compiling does that)
    found = []
    for key, value in sorted(item.dialect_kwargs.items()):
        try:
            found.append((key, _plain(value)))
        except _Opaque:
            found.append((key, _sql(value)))
    return repr(found) if found else ""


def _intent(item: Any) -> str:
    info = item.__dict__.get("info")  # made on first use: none means empty
    return repr([(key, _plain(info[key])) for key in INTENT if key in info]) if info else ""


def _default(column: Column[Any]) -> str:
    server = column.server_default
    if server is None:
        return ""
    arg = getattr(server, "arg", None)
    text = repr(arg) if isinstance(arg, str) else "" if arg is None else _sql(arg)
    return f"{type(server).__name__}:{text}"


def _column(column: Column[Any]) -> str:
    computed, identity = column.computed, column.identity
    generated = "" if computed is None else f"{_sql(computed.sqltext)}:{computed.persisted}"
    # Constraints given to the column itself (Column("x", Integer, CheckConstraint(...))) are
    # written inside its definition, not among the table's constraints.
    own = repr(sorted(_constraint(c) for c in column.constraints)) if column.constraints else ""
    return (
        f"{column.name}\x1f{_type(column)}\x1f{column.nullable:d}{column.primary_key:d}"
        f"{column.autoincrement}\x1f{_default(column)}\x1f{generated}\x1f"
        f"{'' if identity is None else type(identity).__name__}\x1f{_options(column)}\x1f{_intent(column)}"
        f"\x1f{own}"
    )


def _constraint(constraint: Constraint) -> str:
    columns = [c.name for c in getattr(constraint, "columns", ())]
    deferred = (constraint.deferrable, constraint.initially)
    common = f"{type(constraint).__name__}:{constraint.name}:{columns!r}:{deferred!r}:{_options(constraint)}"
    sqltext = getattr(constraint, "sqltext", None)
    elements = getattr(constraint, "elements", None)
    if sqltext is not None:
        return f"{common}:{_sql(sqltext)}"
    if elements is not None:
        targets = [e.target_fullname for e in elements]
        actions = [getattr(constraint, a) for a in ("ondelete", "onupdate", "match")]
        return f"{common}:{targets!r}:{actions!r}"
    return common


def _index(index: Index) -> str:
    clause = _column_clause()
    keys = [cast(Any, e).name if isinstance(e, clause) else _sql(e) for e in index.expressions]
    return f"{index.name}:{index.unique:d}:{keys!r}:{_options(index)}"


def _table(table: Table, patterns: tuple[str, ...]) -> str:
    """One table's shape, rendered; its indexes that the patterns exclude are left out."""
    indexes = sorted(
        _index(ix)
        for ix in table.indexes
        if not patterns or ix.name is None or not excluded(ix.name, patterns)
    )
    head = (
        table.name,
        str(table.schema),
        repr([str(p) for p in getattr(table, "_prefixes", ())]),
        str(getattr(table, "_creator_ddl", None) is not None),
        _options(table),
        _intent(table),
    )
    return "\x1e".join(
        (
            *head,
            *(_column(c) for c in table.columns),
            *sorted(_constraint(c) for c in table.constraints),
            *indexes,
        )
    )


def _convention(metadata: MetaData) -> str:
    return repr(_plain({_plain(k): v for k, v in metadata.naming_convention.items()}))


def fingerprint(metadatas: Sequence[MetaData], exclude: Iterable[str] = ()) -> str:
    """Return the 32-hex-digit version of a set of models.

    Args:
        metadatas: The models' MetaData objects.
        exclude: Glob patterns of tables and indexes to leave out.

    Returns:
        A deterministic digest of the models' structure (see the module's docstring).
    """
    patterns = tuple(exclude)
    parts = sorted(
        _table(table, patterns)
        for md in metadatas
        for table in md.tables.values()
        if not excluded(table.name, patterns)
    )
    digest = hashlib.sha256(FORMAT.encode())
    for convention in sorted({_convention(md) for md in metadatas}):
        digest.update(b"\x02" + convention.encode())
    for part in parts:
        digest.update(b"\x00" + part.encode())
    # What is excluded decides the result too: a database synced with an exclusion
    # must not take the fast path for a sync without it (or with another).
    for pattern in sorted(set(patterns)):
        digest.update(b"\x01" + pattern.encode())
    return digest.hexdigest()[:32]
