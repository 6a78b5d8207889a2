"""docs/data-safety.md: the cases no other file pins, and that every case there names a test.

Each case of the doc's list names the test that shows it on a real file; most
live with their subject (tests/test_refusals.py, tests/test_intent.py, the
scenarios). The ones here had none.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import execute, rows, snapshot
from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table

import rebuilder
from rebuilder.errors import ConstraintViolated, DataLossRefused, SyncFailed

ROOT = Path(__file__).parent.parent


def test_a_generated_column_is_dropped_without_consent(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE sq (id INTEGER PRIMARY KEY, side INTEGER, "
        "area INTEGER AS (side * side) STORED, next INTEGER AS (side + 1))",
        "INSERT INTO sq (id, side) VALUES (1, 3), (2, NULL)",
    )
    md = MetaData()
    Table("sq", md, Column("id", Integer, primary_key=True), Column("side", Integer))
    shown = rebuilder.plan(md, db)
    assert str(shown).splitlines() == ["- drop column sq.next", "- drop column sq.area"]
    assert shown.losses == ()
    rebuilder.sync(md, db)
    assert rows(db, "SELECT id, side, typeof(side) FROM sq ORDER BY id") == [
        (1, 3, "integer"),
        (2, None, "null"),
    ]


def test_orphans_already_under_an_existing_foreign_key_are_kept(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE city (id INTEGER PRIMARY KEY)",
        "CREATE TABLE friend (id INTEGER PRIMARY KEY, city_id INTEGER REFERENCES city (id), nick TEXT)",
        "INSERT INTO friend VALUES (1, 99, 'a')",
    )
    md = MetaData()
    Table("city", md, Column("id", Integer, primary_key=True))
    Table(
        "friend",
        md,
        Column("id", Integer, primary_key=True),
        Column("city_id", Integer, ForeignKey("city.id")),
        Column("nick", String(10)),
        Column("n", Integer, unique=True),  # a rebuild of the table
    )
    assert [s.kind for s in rebuilder.sync(md, db).steps] == ["rebuild"]
    assert rows(db, "SELECT id, city_id, typeof(city_id), nick FROM friend") == [(1, 99, "integer", "a")]
    assert rows(db, "PRAGMA foreign_key_check") == [("friend", 1, "city", 0)]


def test_a_table_made_strict_over_values_of_another_type_fails_and_changes_nothing(db: Path) -> None:
    execute(
        db, "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)", "INSERT INTO t VALUES (1, 'abc'), (2, 5)"
    )
    md = MetaData()
    Table("t", md, Column("id", Integer, primary_key=True), Column("n", Integer), sqlite_strict=True)
    assert str(rebuilder.plan(md, db)) == "- rebuild table t: alter table t: STRICT"
    before = snapshot(db)
    with pytest.raises(SyncFailed, match=r"cannot store TEXT value in INTEGER column t\.n"):
        rebuilder.sync(md, db, allow_data_loss=True)
    assert snapshot(db) == before


def test_a_table_made_without_rowid_keeps_its_columns_not_its_hidden_rowids(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE t (code VARCHAR(10) NOT NULL PRIMARY KEY, v INTEGER)",
        "INSERT INTO t (rowid, code, v) VALUES (7, 'x', 1), (9, 'y', NULL)",
    )
    md = MetaData()
    Table(
        "t",
        md,
        Column("code", String(10), primary_key=True),
        Column("v", Integer),
        sqlite_with_rowid=False,
    )
    shown = rebuilder.plan(md, db)
    assert shown.losses == () and not any(s.destructive for s in shown.steps)
    rebuilder.sync(md, db)
    assert rows(db, "SELECT code, v, typeof(v) FROM t ORDER BY code") == [
        ("x", 1, "integer"),
        ("y", None, "null"),
    ]
    with pytest.raises(Exception, match="no such column: rowid"):
        rows(db, "SELECT rowid FROM t")


def test_a_new_collation_over_duplicates_in_a_unique_index_is_refused(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE account (id INTEGER PRIMARY KEY, email VARCHAR(20))",
        "CREATE UNIQUE INDEX ux_email ON account (email)",
        "INSERT INTO account VALUES (1, 'Ann@x'), (2, 'ann@x'), (3, 'bob@x')",
    )
    md = MetaData()
    Table(
        "account",
        md,
        Column("id", Integer, primary_key=True),
        Column("email", String(20, collation="NOCASE")),
        Index("ux_email", "email", unique=True),
    )
    before = snapshot(db)
    with pytest.raises(ConstraintViolated) as caught:
        rebuilder.sync(md, db, allow_data_loss=True)
    (violation,) = caught.value.violations
    assert (violation.constraint, violation.count, violation.samples) == (
        "unique index ux_email",
        1,
        ("Ann@x",),
    )
    assert snapshot(db) == before


def test_text_into_an_integer_primary_key_is_lossy_and_cannot_be_forced(db: Path) -> None:
    execute(db, "CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER)", "INSERT INTO t VALUES ('x', 1), ('2', 2)")
    md = MetaData()
    Table("t", md, Column("id", Integer, primary_key=True), Column("v", Integer))
    before = snapshot(db)
    with pytest.raises(DataLossRefused, match=r"change type \(TEXT -> INTEGER\) of t\.id: 1 row\(s\)"):
        rebuilder.sync(md, db)
    # The rowid alias holds integers only: SQLite refuses 'x' there, and nothing changes.
    with pytest.raises(SyncFailed, match="datatype mismatch"):
        rebuilder.sync(md, db, allow_data_loss=True)
    assert snapshot(db) == before


# --- the doc's list names a test for each case ----------------------------------------------

CITED = re.compile(r"`(tests/test_\w+\.py)::(test_\w+)(?:\[([^\]]+)\])?`")


def cited_tests() -> list[tuple[str, str, str | None]]:
    text = (ROOT / "docs" / "data-safety.md").read_text(encoding="utf-8")
    return [(m[0], m[1], m[2] or None) for m in CITED.findall(text)]


def test_every_case_in_data_safety_md_names_a_test_that_exists() -> None:
    cited = cited_tests()
    assert len(cited) >= 25, "the list of cases names a test for each"
    scenarios = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests" / "scenarios").glob("*.py"))
    for path, name, param in cited:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{path}::{name} does not exist"
        if param is not None:
            where = scenarios if name == "test_scenario" else source
            assert f'"{param}"' in where, f"{path}::{name}[{param}]: no such parameter"
