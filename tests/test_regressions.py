"""Bugs found by reading the engine whole (issues 10 and 11), each pinned on a real file.

Every test here failed before its fix: the message, the values and the file
are checked, not only that something was raised.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import execute, rows, snapshot
from sqlalchemy import CheckConstraint, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text

import rebuilder
from rebuilder.capabilities import Capabilities
from rebuilder.ddl import trigger_event
from rebuilder.declare import declare
from rebuilder.diff import resolve_renames
from rebuilder.errors import BadRename, ConstraintViolated, FillFailed, UnsupportedSchema
from rebuilder.execute import measure_rebuilds
from rebuilder.options import Options
from rebuilder.planner import make_plan
from rebuilder.reflect import reflect
from rebuilder.steps import EditSchemaStep, RebuildStep


def test_a_renamed_primary_key_does_not_break_the_guards(db: Path) -> None:
    execute(
        db, "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)", "INSERT INTO t VALUES (1, 10), (2, NULL)"
    )
    md = MetaData()
    Table("t", md, Column("pk", Integer, primary_key=True), Column("x", Integer, nullable=False))
    before = snapshot(db)
    with pytest.raises(ConstraintViolated) as caught:
        rebuilder.sync(md, db, renames={"t.id": "pk"})
    (violation,) = caught.value.violations
    assert (violation.table, violation.constraint, violation.count, violation.samples) == (
        "t",
        "NOT NULL on column 'x'",
        1,
        (2,),
    )
    assert "1 existing row(s) of table 't' violate NOT NULL on column 'x' (e.g. 2)" in str(caught.value)
    assert snapshot(db) == before


def test_an_in_place_default_change_never_fires_the_users_triggers(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, x VARCHAR(10) DEFAULT 'old')",
        "CREATE TABLE log (n INTEGER)",
        "CREATE TRIGGER t_updated AFTER UPDATE ON t BEGIN INSERT INTO log VALUES (new.id); END",
        "INSERT INTO t (id) VALUES (1), (2)",
        "INSERT INTO t VALUES (3, 'other')",
    )
    md = MetaData()
    Table("t", md, Column("id", Integer, primary_key=True), Column("x", String(10), server_default="new"))
    Table("log", md, Column("n", Integer))
    result = rebuilder.sync(md, db)
    (step,) = result.steps
    assert isinstance(step, RebuildStep)
    assert rows(db, "SELECT count(*) FROM log") == [(0,)]
    assert rows(db, "SELECT id, x, typeof(x) FROM t ORDER BY id") == [
        (1, "old", "text"),
        (2, "old", "text"),
        (3, "other", "text"),
    ]
    assert rows(db, "SELECT name FROM sqlite_schema WHERE type = 'trigger'") == [("t_updated",)]


def test_an_in_place_default_change_without_triggers_stays_in_place(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, x VARCHAR(10) DEFAULT 'old')",
        "INSERT INTO t (id) VALUES (1)",
    )
    md = MetaData()
    Table("t", md, Column("id", Integer, primary_key=True), Column("x", String(10), server_default="new"))
    (step,) = rebuilder.sync(md, db).steps
    assert isinstance(step, EditSchemaStep)
    assert rows(db, "SELECT x, typeof(x) FROM t") == [("old", "text")]


def test_a_renamed_table_is_measured_by_its_live_name(db: Path) -> None:
    execute(db, "CREATE TABLE big (id INTEGER PRIMARY KEY, payload TEXT, n TEXT)")
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO big VALUES (?, ?, ?)", ((i, "x" * 500, str(i)) for i in range(8000)))
    md = MetaData()
    Table("huge", md, Column("id", Integer, primary_key=True), Column("payload", Text), Column("n", Integer))
    target = declare([md])
    with sqlite3.connect(db) as conn:
        live = reflect(conn)
        renames = resolve_renames(live, target, (), Options.of(table_renames={"big": "huge"}).table_renames)
        steps = make_plan(live, target, renames, Capabilities.of(conn)).steps
        (rebuild,) = [s for s in steps if isinstance(s, RebuildStep)]
        needs = measure_rebuilds(conn, [rebuild])
    table_bytes = 8000 * 500
    assert needs["huge"] > 2.5 * table_bytes


def test_a_column_the_reader_cannot_find_in_the_ddl_is_refused_not_dropped(db: Path) -> None:
    # SQLite takes U+00A0 as part of an unquoted name; a tokenizer that splits on it
    # cannot find the column's definition. A rebuild would then have dropped it.
    execute(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, a\u00a0b INTEGER)", "INSERT INTO t VALUES (1, 7)")
    md = MetaData()
    Table("t", md, Column("id", Integer, primary_key=True), Column("a\u00a0b", String(5)))
    before = snapshot(db)
    with pytest.raises(UnsupportedSchema) as caught:
        rebuilder.sync(md, db, allow_data_loss=True)
    assert "the definition of column 'a\\xa0b' cannot be found" in str(caught.value)
    assert snapshot(db) == before


def test_a_trigger_whose_event_cannot_be_read_is_an_error_not_an_insert() -> None:
    assert trigger_event('CREATE TRIGGER "insert" AFTER DELETE ON t BEGIN SELECT 1; END') == "DELETE"
    assert (
        trigger_event("CREATE TEMP TRIGGER IF NOT EXISTS main.x INSTEAD OF UPDATE OF a ON v BEGIN END")
        == "UPDATE"
    )
    assert trigger_event("CREATE TRIGGER [delete] UPDATE ON t BEGIN SELECT 1; END") == "UPDATE"
    with pytest.raises(ValueError, match="no INSERT, UPDATE or DELETE event"):
        trigger_event("CREATE TRIGGER x AFTER ON t BEGIN SELECT 1; END")


def test_a_table_whose_columns_hide_every_rowid_name_is_refused_before_a_rebuild(db: Path) -> None:
    execute(
        db,
        'CREATE TABLE t ("rowid" TEXT, "_rowid_" TEXT, "oid" TEXT, v TEXT)',
        "INSERT INTO t VALUES ('a', 'b', 'c', '1')",
    )
    md = MetaData()
    Table(
        "t",
        md,
        Column("rowid", String),
        Column("_rowid_", String),
        Column("oid", String),
        Column("v", Integer),
    )
    before = snapshot(db)
    with pytest.raises(UnsupportedSchema, match="rowid, _rowid_ and oid hide the rowid"):
        rebuilder.sync(md, db)
    assert snapshot(db) == before


def test_a_quoted_number_default_is_checked_as_the_number_it_stores(db: Path) -> None:
    # Found by the property suite: server_default="1.5" on a Float column is
    # rendered DEFAULT '1.5', which SQLite stores as REAL 1.5. The CHECK guard
    # substituted the text '1.5', and text sorts after every number, so it
    # refused two rows that obey the CHECK.
    execute(db, "CREATE TABLE t (id INTEGER PRIMARY KEY)", "INSERT INTO t VALUES (1), (2)")
    md = MetaData()
    Table(
        "t",
        md,
        Column("id", Integer, primary_key=True),
        Column("x", Float, nullable=False, server_default="1.5"),
        CheckConstraint("x < 1000000.0"),
    )
    rebuilder.sync(md, db)
    assert rows(db, "SELECT id, x, typeof(x) FROM t ORDER BY id") == [(1, 1.5, "real"), (2, 1.5, "real")]
    assert rebuilder.check(md, db) == []


# Found reading the intent code (issue 11): a declared earlier name that folds to the
# name itself ("a" for "a" or "A", a list that still holds it) planned a rename on every
# plan, so `plan` never came up to date while `check` said in sync.
@pytest.mark.parametrize(
    ("live", "model", "renamed_from"),
    [("a", "a", "a"), ("a", "A", ["x", "a"]), ("A", "A", "a")],
    ids=["same", "case-in-a-chain", "case-already-spelled"],
)
def test_a_declared_rename_from_the_name_itself_plans_nothing(
    db: Path, live: str, model: str, renamed_from: object
) -> None:
    execute(db, f"CREATE TABLE t (id INTEGER PRIMARY KEY, {live} TEXT)", "INSERT INTO t VALUES (1, 'kept')")
    md = MetaData()
    Table(
        "t",
        md,
        Column("id", Integer, primary_key=True),
        Column(model, Text, info={"renamed_from": renamed_from}),
    )
    assert rebuilder.plan(md, db).steps == ()  # was: rename column t.a -> a, on every plan
    rebuilder.sync(md, db)
    assert rebuilder.plan(md, db).steps == ()
    assert rows(db, f"SELECT {model}, typeof({model}) FROM t") == [("kept", "text")]


def test_a_declared_table_rename_from_the_name_itself_plans_nothing(db: Path) -> None:
    execute(db, "CREATE TABLE t (id INTEGER PRIMARY KEY)", "INSERT INTO t VALUES (7)")
    md = MetaData()
    Table("T", md, Column("id", Integer, primary_key=True), info={"renamed_from": "t"})
    assert rebuilder.plan(md, db).steps == ()  # was: rename table t -> T, on every plan
    assert rows(db, "SELECT id FROM T") == [(7,)]


# Found checking docs/intent.md: a fill naming a column by the name this sync renames away
# compiled against the live table (where the old name still exists), so it passed the check
# and failed mid-copy (SyncFailed, rolled back) instead of being refused up front by name.
@pytest.mark.parametrize(
    ("declared", "flags"),
    [(True, {}), (False, {"renames": ["t.label=title"]})],
    ids=["renamed-in-info", "renamed-by-flag"],
)
def test_a_fill_naming_a_renamed_column_by_its_old_name_is_refused_before_any_write(
    db: Path, declared: bool, flags: dict[str, object]
) -> None:
    execute(
        db,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT, n INTEGER)",
        "INSERT INTO t VALUES (1, 'a', 1), (2, NULL, NULL)",
    )
    info = {"renamed_from": "label"} if declared else {}
    md = MetaData()
    Table(
        "t",
        md,
        Column("id", Integer, primary_key=True),
        Column("title", Text, info=info),
        Column("n", Integer, nullable=False, info={"fill": "coalesce(n, length(label))"}),
    )
    before = snapshot(db)
    with pytest.raises(FillFailed) as caught:
        rebuilder.sync(md, db, **flags)  # was: SyncFailed ... no such column: label (rolled back)
    assert (caught.value.table, caught.value.column, caught.value.detail) == (
        "t",
        "n",
        "no such column: label",
    )
    with pytest.raises(FillFailed):
        rebuilder.plan(md, db, **flags)
    assert snapshot(db) == before
    md.tables["t"].c.n.info["fill"] = "coalesce(n, length(title), 0)"
    rebuilder.sync(md, db, **flags)
    assert rows(db, "SELECT id, title, n, typeof(n) FROM t ORDER BY id") == [
        (1, "a", 1, "integer"),
        (2, None, 0, "integer"),
    ]


# Found checking docs/intent.md: the orphan guard of a foreign key the models add read the
# rows' current values, not what a fill writes, so a fill that mends the orphans was refused
# (and one that makes new orphans was counted on the old values).
def test_a_new_foreign_key_is_guarded_over_the_values_a_fill_writes(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE city (id INTEGER PRIMARY KEY)",
        "CREATE TABLE friend (id INTEGER PRIMARY KEY, city_id INTEGER)",
        "INSERT INTO city VALUES (1)",
        "INSERT INTO friend VALUES (1, 1), (2, 99), (3, NULL)",
    )

    def models(fill: str) -> MetaData:
        md = MetaData()
        Table("city", md, Column("id", Integer, primary_key=True))
        Table(
            "friend",
            md,
            Column("id", Integer, primary_key=True),
            Column("city_id", Integer, ForeignKey("city.id"), nullable=False, info={"fill": fill}),
        )
        return md

    before = snapshot(db)
    (shown,) = rebuilder.plan(models("coalesce(city_id, 7)"), db).violations  # the guard alone
    assert (shown.count, shown.samples) == (2, (2, 3))
    with pytest.raises(ConstraintViolated) as caught:
        rebuilder.sync(models("coalesce(city_id, 7)"), db)
    (violation,) = caught.value.violations
    assert (violation.count, violation.samples) == (2, (2, 3))  # was: 1, (2,): the old values
    assert violation.hint == "change the fill, so that every value it gives has a parent row"
    assert snapshot(db) == before

    mended = models("CASE WHEN city_id IN (SELECT id FROM city) THEN city_id ELSE 1 END")
    assert rebuilder.plan(mended, db).violations == ()  # was: refused, row 2 orphaned
    rebuilder.sync(mended, db)
    assert rows(db, "SELECT id, city_id, typeof(city_id) FROM friend ORDER BY id") == [
        (1, 1, "integer"),
        (2, 1, "integer"),
        (3, 1, "integer"),
    ]
    assert rows(db, "PRAGMA foreign_key_check") == []


# Found writing docs/intent.md: models whose renamed_from names another column (or table) of
# the models were applied once (the old name added as a new column), and every plan after
# that raised RenameConflict, since the database then had both names. Refused up front.
def test_a_renamed_from_naming_another_column_of_the_models_is_refused_up_front(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE hobby (id INTEGER PRIMARY KEY, title VARCHAR(50))",
        "INSERT INTO hobby VALUES (1, 'x')",
    )
    md = MetaData()
    Table(
        "hobby",
        md,
        Column("id", Integer, primary_key=True),
        Column("title", String(50), info={"renamed_from": ["label", "NAME"]}),
        Column("name", String(50)),
    )
    before = snapshot(db)
    with pytest.raises(BadRename) as caught:
        rebuilder.sync(md, db)  # was: add column hobby.name, then RenameConflict on every plan
    assert str(caught.value).startswith(
        "bad rename \"hobby.title renamed_from=['label', 'NAME']\": the models also have 'NAME': "
        "take the earlier name out of renamed_from (once every database has the new name) "
        "before giving it to another"
    )
    assert caught.value.exit_code == 2
    assert snapshot(db) == before


def test_a_table_renamed_from_another_table_of_the_models_is_refused_up_front(db: Path) -> None:
    md = MetaData()
    Table("person", md, Column("id", Integer, primary_key=True), info={"renamed_from": "people"})
    Table("people", md, Column("id", Integer, primary_key=True))
    with pytest.raises(BadRename, match="the models also have 'people'"):
        rebuilder.plan(md, db)


# Found checking docs/data-safety.md: a primary key moved onto a column holding duplicates
# had no guard: plan showed nothing and sync failed mid-copy (SyncFailed, rolled back),
# where every other uniqueness the models add is refused with the count and a sample.
def test_a_primary_key_over_duplicates_is_a_violation(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT NOT NULL)",
        "INSERT INTO t VALUES (1, 'a'), (2, 'a'), (3, 'b')",
    )
    md = MetaData()
    Table("t", md, Column("id", Integer), Column("code", Text, primary_key=True))
    (shown,) = rebuilder.plan(md, db).violations  # was: no violation
    assert (shown.constraint, shown.count, shown.samples) == ("PRIMARY KEY (code)", 1, ("a",))
    before = snapshot(db)
    with pytest.raises(ConstraintViolated) as caught:
        rebuilder.sync(md, db, allow_data_loss=True)  # was: SyncFailed: UNIQUE constraint failed: t.code
    assert str(caught.value).startswith(
        "1 existing row(s) of table 't' violate PRIMARY KEY (code) (e.g. 'a'); nothing was changed, "
        "remove the duplicates first"
    )
    assert snapshot(db) == before
    execute(db, "UPDATE t SET code = 'c' WHERE id = 2")
    rebuilder.sync(md, db)
    assert rows(db, "SELECT code, id, typeof(id) FROM t ORDER BY code") == [
        ("a", 1, "integer"),
        ("b", 3, "integer"),
        ("c", 2, "integer"),
    ]


def test_ctrl_c_after_commit_is_not_reported_as_a_rollback(tmp_path: Path, db: Path) -> None:
    # Found by the live-database work: an interrupt that lands after COMMIT (while
    # the sync truncates the -wal) was reported as "rolled back". The CLI now asks
    # the file, which knows.
    from rebuilder.cli import _told_apart
    from rebuilder.errors import Interrupted

    md = MetaData()
    Table("t", md, Column("id", Integer, primary_key=True))
    kwargs = {"exclude": (), "version_table": "rebuilder_version"}
    with pytest.raises(Interrupted) as before, _told_apart((md,), str(db), kwargs):
        raise KeyboardInterrupt
    assert before.value.exit_code == 130 and not before.value.committed
    assert str(before.value) == "interrupted: the sync was rolled back and nothing was changed"
    applied = rebuilder.sync(md, db)
    with pytest.raises(Interrupted) as after, _told_apart((md,), str(db), kwargs):
        raise KeyboardInterrupt
    assert after.value.committed
    assert (
        str(after.value)
        == f"interrupted after the sync committed: the database is at version {applied.version}"
    )
