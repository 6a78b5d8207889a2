"""The SQLite-version-dependent paths, each on the SQLite this suite runs on, as Capabilities decides.

``make test`` runs this file on the standard ``sqlite3`` module's SQLite and
again with pysqlite3-binary's standing in (``REBUILDER_TEST_SQLITE=pysqlite3``,
see ``conftest.py``). Each test reads the ``Capabilities`` record of a real
connection and asserts the path it chooses: native ``DROP COLUMN`` (and its
rules: a UNIQUE column is dropped by a rebuild), native ``RENAME
COLUMN``, generated columns kept through a rebuild, and reflection through
``PRAGMA table_list`` (WITHOUT ROWID tables).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from conftest import execute, rows
from sqlalchemy import Column, Computed, Integer, MetaData, String, Table

import rebuilder
from rebuilder.capabilities import MINIMUM_SQLITE, Capabilities
from rebuilder.steps import DropColumnStep, RebuildStep, RenameColumnsStep


@pytest.fixture
def caps(tmp_path: Path) -> Capabilities:
    conn = sqlite3.connect(tmp_path / "probe.db")
    try:
        return Capabilities.of(conn)
    finally:
        conn.close()


def test_the_suite_runs_on_the_sqlite_it_was_asked_for(caps: Capabilities) -> None:
    wanted = os.environ.get("REBUILDER_TEST_SQLITE", "sqlite3")
    assert sqlite3.__name__ == wanted
    assert caps.version == sqlite3.sqlite_version_info >= MINIMUM_SQLITE
    print(f"[sqlite] {sqlite3.__name__} {sqlite3.sqlite_version}: {caps}")


def people(*, note: bool = True, name: str = "name", unique_note: bool = False) -> MetaData:
    md = MetaData()
    Table(
        "person",
        md,
        Column("id", Integer, primary_key=True),
        Column(name, String(40)),
        *([Column("note", String(40), unique=unique_note)] if note else []),
    )
    return md


def filled(tmp_path: Path, models: MetaData) -> Path:
    db = tmp_path / "app.db"
    rebuilder.sync(models, db)
    execute(db, "INSERT INTO person (id, name, note) VALUES (1, 'ann', 'x'), (4, 'bob', NULL)")
    return db


def test_drop_column_is_native_where_sqlite_has_it(tmp_path: Path, caps: Capabilities) -> None:
    db = filled(tmp_path, people())
    result = rebuilder.sync(people(note=False), db, allow_data_loss=True)
    assert [type(s) for s in result.steps] == [DropColumnStep if caps.drop_column else RebuildStep]
    assert rows(db, "SELECT id, name, typeof(name) FROM person ORDER BY id") == [
        (1, "ann", "text"),
        (4, "bob", "text"),
    ]


def test_a_unique_column_is_dropped_by_a_rebuild(tmp_path: Path) -> None:
    db = filled(tmp_path, people(unique_note=True))
    result = rebuilder.sync(people(note=False), db, allow_data_loss=True)
    assert [type(s) for s in result.steps] == [RebuildStep]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert rows(db, "SELECT name FROM sqlite_schema WHERE tbl_name = 'person' AND type = 'index'") == []
    assert rows(db, "SELECT id, name FROM person ORDER BY id") == [(1, "ann"), (4, "bob")]


def test_rename_column_is_native(tmp_path: Path) -> None:
    # Every supported SQLite (3.37+) has RENAME COLUMN (3.25).
    db = filled(tmp_path, people())
    result = rebuilder.sync(people(name="full_name"), db, renames=["person.name=full_name"])
    assert [type(s) for s in result.steps] == [RenameColumnsStep]
    assert rows(db, "SELECT id, full_name, typeof(full_name) FROM person ORDER BY id") == [
        (1, "ann", "text"),
        (4, "bob", "text"),
    ]


def computed(score_type: type) -> MetaData:
    md = MetaData()
    Table(
        "item",
        md,
        Column("id", Integer, primary_key=True),
        Column("score", score_type),
        Column("double", Integer, Computed("score * 2")),
        Column("label", String(20), Computed("'#' || id", persisted=True)),
    )
    return md


def test_generated_columns_survive_a_rebuild(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    rebuilder.sync(computed(String), db)
    execute(db, "INSERT INTO item (id, score) VALUES (1, '21'), (2, NULL)")
    result = rebuilder.sync(computed(Integer), db)
    assert [type(s) for s in result.steps] == [RebuildStep]
    assert rows(db, "SELECT id, score, typeof(score), double, label FROM item ORDER BY id") == [
        (1, 21, "integer", 42, "#1"),
        (2, None, "null", None, "#2"),
    ]
    hidden = rows(db, "SELECT name, hidden FROM pragma_table_xinfo('item') ORDER BY cid")
    assert hidden == [("id", 0), ("score", 0), ("double", 2), ("label", 3)]
    assert rebuilder.check(computed(Integer), db) == []


def test_reflection_reads_without_rowid_tables_through_table_list(tmp_path: Path) -> None:
    md = MetaData()
    Table("tag", md, Column("code", String(10), primary_key=True), sqlite_with_rowid=False)
    db = tmp_path / "app.db"
    rebuilder.sync(md, db)
    assert rows(db, "SELECT wr FROM pragma_table_list WHERE name = 'tag'") == [(1,)]
    assert rebuilder.check(md, db) == []
    assert rebuilder.plan(md, db).up_to_date
