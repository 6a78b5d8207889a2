"""Rebuilds hand valid index b-trees to the new table instead of building them again.

An index may be reused only when every column it reads is copied unchanged
and every rowid is kept. These tests check both sides of that rule on real
files: reused indexes keep their root page and stay correct
(``integrity_check``, lookups, uniqueness), and indexes over changed columns
are built again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import rows
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, func

import rebuilder
from rebuilder.steps import RebuildStep


def models(score_type: type, *, alias: bool = True) -> MetaData:
    md = MetaData()
    key = Column("id", Integer, primary_key=True) if alias else Column("code", String(10), primary_key=True)
    Table(
        "item",
        md,
        key,
        Column("name", String(50)),
        Column("email", String(50)),
        Column("score", score_type),
        Index("ix_item_name", "name"),
        Index("ux_item_email", "email", unique=True),
        Index("ix_item_score", "score"),
        Index("ix_item_lower", func.lower(Column("name")), sqlite_where=Column("email").isnot(None)),
    )
    return md


def roots(db: Path) -> dict[str, int]:
    return {
        str(n): int(str(r))
        for n, r in rows(db, "SELECT name, rootpage FROM sqlite_schema WHERE type = 'index'")
    }


def fill(db: Path, alias: bool = True) -> None:
    conn = sqlite3.connect(db)
    key = "id" if alias else "code"
    values = [(i if alias else f"k{i}", f"Name{i % 50}", f"e{i}@x", str(i)) for i in range(1, 2001)]
    conn.executemany(f"INSERT INTO item ({key}, name, email, score) VALUES (?, ?, ?, ?)", values)
    conn.execute(f"DELETE FROM item WHERE {key} IN (SELECT {key} FROM item WHERE rowid % 7 = 0)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("alias", [True, False], ids=["integer-primary-key", "hidden-rowid"])
def test_unchanged_indexes_are_reused_and_stay_correct(tmp_path: Path, alias: bool) -> None:
    db = tmp_path / "app.db"
    rebuilder.sync(models(String, alias=alias), db)
    fill(db, alias)
    before = roots(db)

    result = rebuilder.sync(models(Integer, alias=alias), db)

    (step,) = [s for s in result.steps if isinstance(s, RebuildStep)]
    assert {i.name for i in step.reused} == {"ix_item_name", "ux_item_email", "ix_item_lower"}
    assert [i.name for i in step.indexes] == ["ix_item_score"]
    after = roots(db)
    for name in ("ix_item_name", "ux_item_email", "ix_item_lower"):
        assert after[name] == before[name], name
    assert after["ix_item_score"] != before["ix_item_score"]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        by_index = conn.execute(
            "SELECT count(*) FROM item INDEXED BY ix_item_name WHERE name = 'Name7'"
        ).fetchone()
        by_scan = conn.execute("SELECT count(*) FROM item NOT INDEXED WHERE name = 'Name7'").fetchone()
        assert by_index == by_scan and by_index[0] > 0
        lower = (
            "SELECT count(*) FROM item INDEXED BY ix_item_lower "
            "WHERE lower(name) = 'name7' AND email IS NOT NULL"
        )
        assert conn.execute(lower).fetchone() == by_scan
        key = "id" if alias else "code"
        with pytest.raises(sqlite3.IntegrityError, match=r"UNIQUE constraint failed: item\.email"):
            conn.execute(f"INSERT INTO item ({key}, name, email, score) VALUES (99999, 'x', 'e1@x', 1)")
        assert conn.execute("SELECT typeof(score), count(*) FROM item GROUP BY 1").fetchall() == [
            ("integer", conn.execute("SELECT count(*) FROM item").fetchone()[0])
        ]
        sql = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'ix_item_name'").fetchone()[0]
        assert "_rebuilder" not in sql and "item" in sql
    finally:
        conn.close()
    assert rebuilder.check(models(Integer, alias=alias), db) == []


def test_an_index_over_a_column_that_changes_affinity_is_built_again(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    rebuilder.sync(models(String), db)
    fill(db)
    planned = rebuilder.plan(models(Integer), db)
    (step,) = planned.steps
    assert isinstance(step, RebuildStep)
    assert "ix_item_score" not in {i.name for i in step.reused}


def test_without_schema_edits_every_index_is_built_again(tmp_path: Path) -> None:
    from rebuilder.capabilities import Capabilities
    from rebuilder.declare import declare
    from rebuilder.diff import Renames
    from rebuilder.planner import make_plan

    live = declare([models(Text)])
    target = declare([models(Integer)])
    planned = make_plan(live, target, Renames(), Capabilities((3, 40, 1), writable_schema=False))
    (step,) = planned.steps
    assert isinstance(step, RebuildStep) and step.reused == ()
    assert len(step.indexes) == 4
