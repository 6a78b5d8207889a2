"""Data-driven scenarios for `tests/test_scenarios.py`, in the spirit of migra's before/after folders.

A scenario is data only: a sequence of model versions (declarative source text,
or a function building a ``MetaData``), the rows inserted before each sync, the
flags the sync gets, and the plan it must show, line for line, as ``str(step)``
renders it. The one parametrised test in ``test_scenarios.py`` runs them all.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import MetaData

Models = str | Callable[[], MetaData]
Rows = tuple[tuple[object, ...], ...]

HEADER = """
from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, Computed, DateTime, Float, ForeignKey, ForeignKeyConstraint,
    Index, Integer, MetaData, Numeric, String, Table, Text, UniqueConstraint, func, text,
)
from sqlalchemy.orm import declarative_base

Base = declarative_base()
metadata = Base.metadata
"""


def build(models: Models) -> MetaData:
    """A fresh MetaData for one version: source text is run under HEADER, a function is called."""
    if callable(models):
        return models()
    namespace: dict[str, object] = {}
    exec(HEADER + textwrap.dedent(models), namespace)
    found = namespace["metadata"]
    assert isinstance(found, MetaData)
    return found


@dataclass(frozen=True)
class Probe:
    """Statements run after a sync, with ``foreign_keys=ON``, in a transaction that is rolled back.

    Attributes:
        statements: Run in order; with ``rejects`` the last one must raise ``sqlite3.IntegrityError``.
        query: Run after the statements; its rows must equal ``rows``.
        rows: The rows ``query`` must return.
        rejects: Whether the last statement must be refused by a constraint.
    """

    statements: tuple[str, ...]
    query: str | None = None
    rows: Rows = ()
    rejects: bool = False


def rejects(*statements: str) -> Probe:
    """A probe whose last statement a constraint must refuse."""
    return Probe(statements, rejects=True)


def accepts(statements: tuple[str, ...] | str, query: str, rows: Rows) -> Probe:
    """A probe whose statements succeed and leave ``query`` returning ``rows``."""
    stmts = (statements,) if isinstance(statements, str) else statements
    return Probe(stmts, query, rows)


@dataclass(frozen=True)
class Version:
    """One version of the models, and the sync that brings the database to it.

    Attributes:
        models: Declarative source (run under `HEADER`) or a function returning a MetaData.
        plan: The expected step lines (``str(step)``); None only for the first version.
        data: SQL run on the database just before this version's sync.
        renames: Column renames, ``"table.old=new"``.
        table_renames: Table renames, ``"old=new"``.
        fills: Fills, ``"table.column=expr"``.
        exclude: Glob patterns of tables and indexes to leave alone (sync, plan and check).
        allow_data_loss: Whether the sync needs (and gets) ``allow_data_loss=True``.
        converted: ``"table.column"`` -> the rows ``(rowid, value, typeof)`` it must hold after
            the sync, for a column whose values change on purpose (a type change, a NULL fill);
            every other kept column must keep its values and storage classes exactly.
        expect: Queries run after the sync -> the rows each must return.
        probes: Behaviour checks after the sync (constraints enforced, defaults applied).
    """

    models: Models
    plan: tuple[str, ...] | None = None
    data: tuple[str, ...] = ()
    renames: tuple[str, ...] = ()
    table_renames: tuple[str, ...] = ()
    fills: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    allow_data_loss: bool = False
    converted: Mapping[str, Rows] = field(default_factory=dict)
    expect: Mapping[str, Rows] = field(default_factory=dict)
    probes: tuple[Probe, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """A named sequence of versions; the first is created on an empty file.

    Attributes:
        name: The test id.
        versions: At least two versions.
        bug: If set, a known rebuilder bug makes the scenario fail (strict xfail).
    """

    name: str
    versions: tuple[Version, ...]
    bug: str | None = None

    def __post_init__(self) -> None:
        assert len(self.versions) >= 2, self.name
        assert not self.versions[0].data, f"{self.name}: the first version has no tables to fill"
        assert all(v.plan is not None for v in self.versions[1:]), f"{self.name}: every change needs a plan"


def change(
    name: str,
    before: Models,
    after: Models,
    plan: tuple[str, ...] | list[str],
    *,
    data: tuple[str, ...] | list[str] = (),
    bug: str | None = None,
    **options: object,
) -> Scenario:
    """A two-version scenario: ``before`` is created, ``data`` inserted, then synced to ``after``."""
    second = Version(after, plan=tuple(plan), data=tuple(data), **options)  # type: ignore[arg-type]
    return Scenario(name, (Version(before), second), bug)
