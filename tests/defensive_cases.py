"""Defensive-mode cases, run by ``tests/test_defensive.py`` under Python 3.12+ (see its docstring).

Not collected on its own (the name has no ``test_`` prefix): the driver runs
``python -m pytest tests/defensive_cases.py`` with a 3.12+ interpreter.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from conftest import execute, snapshot
from sqlalchemy import Integer, MetaData, String

import rebuilder
from rebuilder.reflect import reflect
from rebuilder.steps import EditSchemaStep, RebuildStep, Step

if sys.version_info < (3, 12):
    raise RuntimeError(
        "defensive_cases.py needs Python 3.12+ (Connection.setconfig); run tests/test_defensive.py"
    )


def defensive(db: Path) -> sqlite3.Connection:
    """A connection in defensive mode, proven to refuse a write to ``sqlite_schema``."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.setconfig(sqlite3.SQLITE_DBCONFIG_DEFENSIVE, True)  # type: ignore[attr-defined]
    assert conn.getconfig(sqlite3.SQLITE_DBCONFIG_DEFENSIVE)  # type: ignore[attr-defined]
    conn.execute("PRAGMA writable_schema = ON")
    with pytest.raises(sqlite3.DatabaseError, match="may not be modified"):
        conn.execute("UPDATE sqlite_schema SET sql = sql WHERE 0")
    conn.execute("PRAGMA writable_schema = OFF")
    return conn


def fast_paths(steps: tuple[Step, ...]) -> int:
    """How many steps write ``sqlite_schema`` directly: in-place edits and rebuilds reusing indexes."""
    return sum(
        isinstance(s, EditSchemaStep) or (isinstance(s, RebuildStep) and bool(s.reused)) for s in steps
    )


def state(db: Path) -> tuple[object, ...]:
    """The schema as rebuilder reads it, every index's definition, and every row with storage classes."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        indexes = conn.execute(
            "SELECT name, tbl_name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name"
        ).fetchall()
        schema = reflect(conn)
    finally:
        conn.close()
    tables = {k: v for k, v in snapshot(db)["tables"].items() if "rebuilder" not in k}  # type: ignore[union-attr]
    return schema, indexes, _clock_free(tables)


CLOCK = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def _clock_free(value: object) -> object:
    """``value`` with the clock's readings masked: a CURRENT_TIMESTAMP default fills the rows
    of each sync with that sync's time, which two syncs a second apart do not share."""
    if isinstance(value, str) and CLOCK.fullmatch(value):
        return "<time>"
    if isinstance(value, list):
        return [_clock_free(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_clock_free(v) for v in value)
    if isinstance(value, dict):
        return {k: _clock_free(v) for k, v in value.items()}
    return value


def sync_both(
    fast: Path, copied: Path, metadata: MetaData, **flags: object
) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """Sync ``fast`` by its path and ``copied`` through a defensive connection; return both plans."""
    planned = rebuilder.sync(metadata, fast, **flags).steps  # type: ignore[arg-type]
    conn = defensive(copied)
    try:
        through_copies = rebuilder.sync(metadata, conn, **flags).steps  # type: ignore[arg-type]
    finally:
        conn.close()
    assert fast_paths(through_copies) == 0, [str(s) for s in through_copies]
    assert rebuilder.check(metadata, fast) == [] and rebuilder.check(metadata, copied) == []
    assert state(fast) == state(copied)
    return planned, through_copies


def _scenarios() -> list[object]:
    from test_scenarios import ALL

    shown = []
    for s in ALL:
        lines = [line for v in s.versions for line in (v.plan or ())]
        if not s.bug and any(" in place" in line or line.startswith("rebuild table") for line in lines):
            shown.append(pytest.param(s, id=s.name))
    return shown


@pytest.mark.parametrize("scenario", _scenarios())
def test_a_scenario_through_a_defensive_connection_equals_its_fast_paths(
    scenario: object, tmp_path: Path
) -> None:
    from scenarios import build

    fast, copied = tmp_path / "fast.db", tmp_path / "copied.db"
    for version in scenario.versions:  # type: ignore[attr-defined]
        for db in (fast, copied):
            if version.data:
                execute(db, *version.data)
        flags = {
            "renames": version.renames,
            "table_renames": version.table_renames,
            "fills": version.fills,
            "exclude": version.exclude,
            "allow_data_loss": version.allow_data_loss,
        }
        sync_both(fast, copied, build(version.models), **flags)


@pytest.mark.parametrize("change", ["widen type", "add NOT NULL", "add FOREIGN KEY", "all of them"])
def test_an_in_place_edit_through_a_defensive_connection_is_the_same_copy(
    change: str, tmp_path: Path
) -> None:
    from test_edit_in_place import CHANGES, models

    fast, copied = tmp_path / "fast.db", tmp_path / "copied.db"
    rebuilder.sync(models(), fast)
    execute(
        fast,
        "INSERT INTO city (id) VALUES (1), (2)",
        "INSERT INTO friend (id, name, city_id) VALUES (1, 'ann', 1), (2, 'bob', NULL), (7, '', 2)",
    )
    shutil.copyfile(fast, copied)
    planned, copies = sync_both(fast, copied, models(**CHANGES[change]))
    assert [type(s) for s in planned] == [EditSchemaStep]
    assert [type(s) for s in copies] == [RebuildStep]


@pytest.mark.parametrize("alias", [True, False], ids=["integer-primary-key", "hidden-rowid"])
def test_index_reuse_through_a_defensive_connection_is_the_same_copy(alias: bool, tmp_path: Path) -> None:
    from test_index_reuse import fill, models

    fast, copied = tmp_path / "fast.db", tmp_path / "copied.db"
    rebuilder.sync(models(String, alias=alias), fast)
    fill(fast, alias)
    shutil.copyfile(fast, copied)
    planned, copies = sync_both(fast, copied, models(Integer, alias=alias))
    (step,) = [s for s in planned if isinstance(s, RebuildStep)]
    assert {i.name for i in step.reused} == {"ix_item_name", "ux_item_email", "ix_item_lower"}
    (copy,) = [s for s in copies if isinstance(s, RebuildStep)]
    assert copy.reused == () and len(copy.indexes) == 4
