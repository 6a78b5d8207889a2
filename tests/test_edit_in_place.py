"""The in-place edit (no copy) gives exactly what a rebuild would give.

Changes that touch no stored byte are applied by editing the table's SQL in
``sqlite_schema``. For each such change, the same sync is run twice on copies
of one file: once as planned (in place), once with schema edits disabled (so
the same change is a rebuild). Both must converge, pass ``integrity_check``,
and hold the same schema and the same rows, rowids and storage classes.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import execute, rows, snapshot
from sqlalchemy import (
    CHAR,
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

import rebuilder
from rebuilder.capabilities import Capabilities
from rebuilder.reflect import reflect
from rebuilder.steps import EditSchemaStep, RebuildStep

Build = Callable[..., MetaData]


def models(
    *,
    name: type | String | None = None,
    default: str | None = "",
    nullable: bool = True,
    check: bool = False,
    fk: bool = False,
) -> MetaData:
    md = MetaData()
    Table("city", md, Column("id", Integer, primary_key=True))
    extra = [CheckConstraint("length(name) <= 200")] if check else []
    Table(
        "friend",
        md,
        Column("id", Integer, primary_key=True),
        Column("name", name or String(100), server_default=default, nullable=nullable),
        Column("city_id", Integer, ForeignKey("city.id") if fk else None),
        *extra,
    )
    return md


CHANGES = {
    "widen type": dict(name=String(200)),
    "type within affinity": dict(name=Text),
    "change default": dict(default="n/a"),
    "drop default": dict(default=None),
    "add NOT NULL": dict(nullable=False, default=None),
    "add CHECK": dict(check=True),
    "add FOREIGN KEY": dict(fk=True),
    "all of them": dict(name=String(200), default=None, nullable=False, check=True, fk=True),
}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    db = tmp_path / "source.db"
    rebuilder.sync(models(), db)
    execute(
        db,
        "INSERT INTO city (id) VALUES (1), (2)",
        "INSERT INTO friend (id, name, city_id) VALUES (1, 'ann', 1), (2, 'bob', NULL), (7, '', 2)",
    )
    return db


def user_rows(db: Path) -> dict[str, object]:
    """Every user table's rows with rowids and storage classes (history rows hold times)."""
    return {name: rows for name, rows in snapshot(db)["tables"].items() if "rebuilder" not in name}


def state(db: Path) -> tuple[object, object]:
    conn = sqlite3.connect(db)
    try:
        return reflect(conn), user_rows(db)
    finally:
        conn.close()


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_an_in_place_edit_equals_a_rebuild(
    source: Path, tmp_path: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = models(**CHANGES[change])
    edited, rebuilt = tmp_path / "edited.db", tmp_path / "rebuilt.db"
    shutil.copyfile(source, edited)
    shutil.copyfile(source, rebuilt)

    in_place = rebuilder.sync(target, edited)
    assert [type(s) for s in in_place.steps] == [EditSchemaStep]

    real = Capabilities.of
    monkeypatch.setattr(
        Capabilities, "of", classmethod(lambda cls, conn: replace(real(conn), writable_schema=False))
    )
    copied = rebuilder.sync(target, rebuilt)
    assert [type(s) for s in copied.steps] == [RebuildStep]
    monkeypatch.undo()

    for db in (edited, rebuilt):
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.close()
        assert rebuilder.check(target, db) == []
    assert state(edited) == state(rebuilt)
    assert user_rows(edited) == user_rows(source)


def test_an_in_place_edit_over_rows_that_break_it_is_refused(source: Path) -> None:
    execute(source, "UPDATE friend SET city_id = 99 WHERE id = 2")
    before = snapshot(source)
    with pytest.raises(rebuilder.errors.ConstraintViolated) as caught:
        rebuilder.sync(models(fk=True), source)
    assert caught.value.violations[0].samples == (2,)
    assert snapshot(source) == before


# --- columns the migrations appended ------------------------------------------------------
# Prefect's flow_run, as its Alembic history leaves it on SQLite: columns added later sit
# last, where the models declare them in the middle, and the models' Enum has grown from
# VARCHAR(9) to VARCHAR(10). Column order is no difference, so the edit keeps the live order.

RUNS = (
    "CREATE TABLE flow (id CHAR(36) NOT NULL, CONSTRAINT pk_flow PRIMARY KEY (id))",
    "CREATE TABLE flow_run (id CHAR(36) NOT NULL, name VARCHAR NOT NULL, state_type VARCHAR(9), "
    "run_count INTEGER DEFAULT '0' NOT NULL, flow_id CHAR(36) NOT NULL, "
    "CONSTRAINT pk_flow_run PRIMARY KEY (id), "
    "CONSTRAINT fk_flow_run__flow_id__flow FOREIGN KEY(flow_id) REFERENCES flow (id) ON DELETE CASCADE)",
    "CREATE INDEX ix_flow_run__state_type ON flow_run (state_type)",
    "CREATE UNIQUE INDEX uq_flow_run__flow_id_name ON flow_run (flow_id, name)",
    "INSERT INTO flow VALUES ('f1')",
    "INSERT INTO flow_run (id, name, state_type, flow_id) VALUES ('r1', 'a', 'COMPLETED', 'f1')",
    "ALTER TABLE flow_run ADD COLUMN state_name VARCHAR DEFAULT 'none' NOT NULL",
    "INSERT INTO flow_run VALUES ('r2', 'b', NULL, 3, 'f1', 'Late')",
)
RUN_COLUMNS = ("id", "name", "state_type", "state_name", "run_count", "flow_id")


def flow_runs() -> MetaData:
    md = MetaData()
    Table("flow", md, Column("id", CHAR(36), primary_key=True))
    states = ("SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CANCELLING")
    Table(
        "flow_run",
        md,
        Column("id", CHAR(36), primary_key=True),
        Column("name", String, nullable=False),
        Column("state_type", Enum(*states, name="state_type")),
        Column("state_name", String, nullable=False, server_default="none"),
        Column("run_count", Integer, nullable=False, server_default="0"),
        Column("flow_id", CHAR(36), ForeignKey("flow.id", ondelete="CASCADE"), nullable=False),
        Index("ix_flow_run__state_type", "state_type"),
        Index("uq_flow_run__flow_id_name", "flow_id", "name", unique=True),
    )
    return md


def run_values(db: Path) -> list[tuple[object, ...]]:
    picked = ", ".join(f"{c}, typeof({c})" for c in RUN_COLUMNS)
    return rows(db, f"SELECT rowid, {picked} FROM flow_run ORDER BY id")


def test_columns_the_migrations_appended_are_still_edited_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edited, rebuilt = tmp_path / "edited.db", tmp_path / "rebuilt.db"
    execute(edited, *RUNS)
    shutil.copyfile(edited, rebuilt)
    before = run_values(edited)
    target = flow_runs()

    shown = rebuilder.plan(target, edited)
    assert [s.kind for s in shown.steps] == ["edit_schema"]
    assert str(shown) == (
        "- edit table flow_run in place: alter column flow_run.state_type: type VARCHAR(9) -> VARCHAR(10)"
    )
    rebuilder.sync(target, edited)
    stored = rows(edited, "SELECT name FROM pragma_table_info('flow_run') ORDER BY cid")
    assert [n for (n,) in stored] == ["id", "name", "state_type", "run_count", "flow_id", "state_name"]

    real = Capabilities.of
    monkeypatch.setattr(
        Capabilities, "of", classmethod(lambda cls, conn: replace(real(conn), writable_schema=False))
    )
    assert [s.kind for s in rebuilder.sync(target, rebuilt).steps] == ["rebuild"]
    monkeypatch.undo()

    for db in (edited, rebuilt):
        assert rows(db, "PRAGMA integrity_check") == [("ok",)]
        assert rebuilder.check(target, db) == []
        assert run_values(db) == before
    assert before[0][7:9] == ("none", "text")  # stored before ADD COLUMN: reads the default
    assert state(edited)[0] == state(rebuilt)[0]
