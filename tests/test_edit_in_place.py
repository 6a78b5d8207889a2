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
from conftest import execute, snapshot
from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, MetaData, String, Table, Text

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
