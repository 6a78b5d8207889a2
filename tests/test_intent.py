"""Intent in the models and no value changed without consent: the refusals, the hints, the CLI.

The converging cases are scenarios (`tests/scenarios/intent.py`); this file holds
what must be refused, what the plan and the refusal say, and the spurious
differences real databases showed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import execute, rows, run_cli, snapshot, write_models
from sqlalchemy import CheckConstraint, Column, Computed, Float, ForeignKey, Integer, MetaData, String, Table

import rebuilder
from rebuilder.errors import ConstraintViolated, DataLossRefused, FillFailed, RenameConflict


def hobby(*columns: Column) -> MetaData:
    md = MetaData()
    Table("hobby", md, Column("id", Integer, primary_key=True), *columns)
    return md


@pytest.fixture
def hobbies(db: Path) -> Path:
    execute(
        db,
        "CREATE TABLE hobby (id INTEGER PRIMARY KEY, name VARCHAR(50), level INTEGER)",
        "INSERT INTO hobby VALUES (1, 'chess', 3), (2, 'go', NULL)",
    )
    return db


# --- renames -------------------------------------------------------------------------


def test_a_declared_rename_whose_old_and_new_names_both_exist_is_refused(hobbies: Path) -> None:
    execute(hobbies, "ALTER TABLE hobby ADD COLUMN title VARCHAR(50)")
    before = snapshot(hobbies)
    md = hobby(Column("title", String(50), info={"renamed_from": "name"}), Column("level", Integer))
    with pytest.raises(RenameConflict) as caught:
        rebuilder.sync(md, hobbies, allow_data_loss=True)
    assert str(caught.value).startswith(
        "the models say column hobby.title was renamed from hobby.name, but the database has both"
    )
    assert snapshot(hobbies) == before


def test_a_declared_table_rename_whose_names_both_exist_is_refused(db: Path) -> None:
    execute(
        db, "CREATE TABLE people (id INTEGER PRIMARY KEY)", "CREATE TABLE person (id INTEGER PRIMARY KEY)"
    )
    md = MetaData()
    Table("person", md, Column("id", Integer, primary_key=True), info={"renamed_from": "people"})
    before = snapshot(db)
    with pytest.raises(RenameConflict, match="table person was renamed from people"):
        rebuilder.sync(md, db, allow_data_loss=True)
    assert snapshot(db) == before


def test_a_drop_and_an_add_of_one_type_are_hinted_and_never_renamed(hobbies: Path) -> None:
    md = hobby(Column("title", String(50)), Column("level", Integer))
    shown = rebuilder.plan(md, hobbies)
    (hint,) = shown.hints
    assert (hint.what, hint.table, hint.old, hint.new) == ("column", "hobby", "name", "title")
    assert str(hint) == (
        "hobby.name is dropped and hobby.title added with the same type: if it is a rename, "
        "add info={'renamed_from': 'name'} to the column or pass renames={'hobby.name': 'title'}"
    )
    before = snapshot(hobbies)
    with pytest.raises(DataLossRefused) as caught:
        rebuilder.sync(md, hobbies)
    assert str(caught.value).startswith(
        "hobby.name is dropped and hobby.title added with the same type: if it is a rename, "
        "add info={'renamed_from': 'name'} to the column or pass renames={'hobby.name': 'title'}; "
        "otherwise: refused to destroy data: drop column hobby.name: 2 row(s) would lose data"
    )
    assert caught.value.message(cli=True).startswith(
        "hobby.name is dropped and hobby.title added with the same type: if it is a rename, "
        "add info={'renamed_from': 'name'} to the column or pass --rename hobby.name=title; otherwise:"
    )
    assert snapshot(hobbies) == before


def test_the_cli_leads_with_the_rename_hint(hobbies: Path, tmp_path: Path) -> None:
    write_models(
        tmp_path,
        "from sqlalchemy import Column, Integer, MetaData, String, Table\n"
        "metadata = MetaData()\n"
        "Table('hobby', metadata, Column('id', Integer, primary_key=True), Column('title', String(50)), "
        "Column('level', Integer))\n",
    )
    shown = run_cli("plan", "models.py:metadata", str(hobbies), cwd=tmp_path)
    assert shown.code == 0
    assert shown.out.splitlines() == [
        "! drop column hobby.name",
        "- add column hobby.title VARCHAR(50)",
        "  hint: hobby.name is dropped and hobby.title added with the same type: if it is a rename, "
        "add info={'renamed_from': 'name'} to the column or pass --rename hobby.name=title",
        "  data loss: drop column hobby.name: 2 row(s) would lose data (e.g. 'chess', 'go')",
    ]
    refused = run_cli("sync", "models.py:metadata", str(hobbies), cwd=tmp_path)
    assert refused.code == 1
    assert refused.err.startswith("error: hobby.name is dropped and hobby.title added with the same type")
    assert "--rename hobby.name=title" in refused.err and "re-run with --allow-data-loss" in refused.err


def test_a_dropped_table_and_a_created_one_with_the_same_columns_are_hinted(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE people (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(20))",
        "INSERT INTO people VALUES (1, 'a')",
    )
    md = MetaData()
    Table("person", md, Column("id", Integer, primary_key=True), Column("name", String(20)))
    (hint,) = rebuilder.plan(md, db).hints
    assert str(hint) == (
        "table people is dropped and table person created with the same columns: if it is a rename, "
        "add info={'renamed_from': 'people'} to table person or pass table_renames={'people': 'person'}"
    )


# --- fills -----------------------------------------------------------------------------


def test_a_fill_that_does_not_compile_is_refused_naming_the_column(hobbies: Path) -> None:
    md = hobby(Column("name", String(50), nullable=False), Column("level", Integer))
    before = snapshot(hobbies)
    with pytest.raises(FillFailed) as caught:
        rebuilder.sync(md, hobbies, fills={"hobby.name": "coalesce(name, nosuch)"})
    assert (caught.value.table, caught.value.column) == ("hobby", "name")
    assert "the fill for hobby.name (coalesce(name, nosuch)) does not compile: no such column: nosuch" in str(
        caught.value
    )
    with pytest.raises(FillFailed):
        rebuilder.plan(md, hobbies, fills={"hobby.name": "coalesce(name,"})
    assert snapshot(hobbies) == before


@pytest.mark.parametrize(
    ("column", "fill", "constraint", "count", "samples", "hint"),
    [
        (
            Column("level", Integer, nullable=False),
            "level + 0",
            "NOT NULL on column 'level'",
            1,
            (2,),
            "change the fill",
        ),
        (
            Column("level", Integer, nullable=False, unique=True),
            "7",
            "UNIQUE (level)",
            1,
            (7,),
            "change the fill, so that it gives no two rows one value",
        ),
        (
            Column("level", Integer, nullable=False, index=True, unique=True),
            "7",
            "unique index ix_hobby_level",
            1,
            (7,),
            "change the fill, so that it gives no two rows one value",
        ),
        (
            Column("level", Integer, CheckConstraint("level < 5"), nullable=False),
            "coalesce(level, 0) * 2",
            "CHECK (level < 5)",
            1,
            (1,),
            "change the fill, so that every value it gives passes the check",
        ),
    ],
    ids=[
        "null-under-not-null",
        "duplicates-under-unique",
        "duplicates-under-unique-index",
        "check-violation",
    ],
)
def test_guards_refuse_a_bad_fill_with_count_and_sample(
    hobbies: Path,
    column: Column,
    fill: str,
    constraint: str,
    count: int,
    samples: tuple[object, ...],
    hint: str,
) -> None:
    # A fill applies to a column that needs values: level is made NOT NULL each time.
    md = hobby(Column("name", String(50)), column)
    before = snapshot(hobbies)
    with pytest.raises(ConstraintViolated) as caught:
        rebuilder.sync(md, hobbies, fills={"hobby.level": fill}, allow_data_loss=True)
    (violation,) = caught.value.violations
    assert constraint in violation.constraint
    assert (violation.count, violation.samples, violation.hint) == (count, samples, hint)
    assert snapshot(hobbies) == before


def test_a_fill_that_orphans_rows_under_a_foreign_key_is_refused(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE city (id INTEGER PRIMARY KEY)",
        "CREATE TABLE friend (id INTEGER PRIMARY KEY, city_id VARCHAR(10) REFERENCES city (id))",
        "INSERT INTO city VALUES (1)",
        "INSERT INTO friend VALUES (1, '1'), (2, NULL)",
    )
    md = MetaData()
    Table("city", md, Column("id", Integer, primary_key=True))
    Table(
        "friend",
        md,
        Column("id", Integer, primary_key=True),
        Column("city_id", Integer, ForeignKey("city.id")),
    )
    before = snapshot(db)
    (shown,) = rebuilder.plan(md, db, fills={"friend.city_id": "coalesce(city_id, 99)"}).violations
    assert (shown.count, shown.samples) == (1, (2,))  # the guard, before any step
    with pytest.raises(ConstraintViolated) as caught:
        rebuilder.sync(md, db, fills={"friend.city_id": "coalesce(city_id, 99)"})
    (violation,) = caught.value.violations
    assert (violation.table, violation.count) == ("friend", 1)
    assert "FOREIGN KEY (city_id) REFERENCES city (id)" in violation.constraint
    assert violation.hint == "change the fill, so that every value it gives has a parent row"
    assert snapshot(db) == before


# --- no value changed without consent ----------------------------------------------------


def test_a_plain_column_made_generated_is_refused_when_values_differ(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE sq (id INTEGER PRIMARY KEY, side INTEGER, area INTEGER)",
        "INSERT INTO sq VALUES (1, 3, 9), (2, 4, 15), (3, NULL, 1)",
    )
    md = MetaData()
    Table(
        "sq",
        md,
        Column("id", Integer, primary_key=True),
        Column("side", Integer),
        Column("area", Integer, Computed("side * side", persisted=True)),
    )
    shown = rebuilder.plan(md, db)
    assert str(shown).splitlines()[0] == "! rebuild table sq: alter column sq.area: generated expression"
    (loss,) = shown.losses
    assert (loss.what, loss.column, loss.count, loss.samples) == ("make generated", "area", 2, (15, 1))
    before = snapshot(db)
    with pytest.raises(DataLossRefused, match=r"make generated sq\.area: 2 row\(s\) would lose data"):
        rebuilder.sync(md, db)
    assert snapshot(db) == before
    rebuilder.sync(md, db, allow_data_loss=True)
    assert rows(db, "SELECT id, area, typeof(area) FROM sq ORDER BY id") == [
        (1, 9, "integer"),
        (2, 16, "integer"),
        (3, None, "null"),
    ]


def test_a_generated_not_null_column_made_plain_is_planned_and_keeps_its_values(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE t (c INTEGER, g INTEGER NOT NULL AS (c + 1) STORED)",
        "INSERT INTO t (c) VALUES (1), (5)",
    )
    md = MetaData()
    Table("t", md, Column("c", Integer), Column("g", Integer, nullable=False))
    result = rebuilder.sync(md, db)
    assert [s.destructive for s in result.steps] == [False]
    assert rows(db, "SELECT c, g, typeof(g) FROM t ORDER BY c") == [(1, 2, "integer"), (5, 6, "integer")]


# --- spurious differences from real databases ----------------------------------------------


def test_a_numeric_default_spelled_as_text_plans_nothing(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE flags (id INTEGER NOT NULL, is_default BOOLEAN DEFAULT 0 NOT NULL, PRIMARY KEY (id))",
    )
    md = MetaData()
    from sqlalchemy import Boolean

    Table(
        "flags",
        md,
        Column("id", Integer, primary_key=True),
        Column("is_default", Boolean, nullable=False, server_default="0"),
    )
    assert rebuilder.plan(md, db).steps == ()
    assert rebuilder.check(md, db) == []


def test_an_integer_primary_key_is_not_null_without_saying_so(db: Path) -> None:
    execute(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)")
    md = MetaData()
    Table("t", md, Column("id", Integer, primary_key=True), Column("x", Integer))
    assert rebuilder.plan(md, db).steps == ()
    assert rebuilder.check(md, db) == []


# --- docs/intent.md shows what rebuilder prints ------------------------------------------------

DOC = (Path(__file__).parent.parent / "docs" / "intent.md").read_text(encoding="utf-8")
MARKS = {
    "step": "- ",
    "destructive": "! ",
    "hint": "  hint: ",
    "loss": "  data loss: ",
    "refused": "  refused: ",
}


def shown(md: MetaData, db: Path, **options: object) -> list[str]:
    """The plan's lines as ``rebuilder plan`` prints them (without colour)."""
    return [MARKS.get(kind, "") + text for kind, text in rebuilder.plan(md, db, **options).lines(cli=True)]  # type: ignore[arg-type]


def in_doc(lines: list[str]) -> None:
    block = "\n".join(lines)
    assert block in DOC, block


def test_the_renames_in_docs_intent_md_plan_what_it_shows(hobbies: Path, tmp_path: Path) -> None:
    behind = tmp_path / "at-release-1.db"
    shutil.copyfile(hobbies, behind)
    in_doc(shown(hobby(Column("title", String(50)), Column("level", Integer)), hobbies))
    release_2 = hobby(Column("title", String(50), info={"renamed_from": "name"}), Column("level", Integer))
    in_doc(["$ rebuilder plan models.py:Base app.db", *shown(release_2, hobbies)])
    rebuilder.sync(release_2, hobbies)
    assert shown(release_2, hobbies) == [
        f"nothing to do; version {rebuilder.plan(release_2, hobbies).version}"
    ]

    release_3 = MetaData()
    Table(
        "hobbies",
        release_3,
        Column("id", Integer, primary_key=True),
        Column("label", String(50), info={"renamed_from": ["name", "title"]}),
        Column("level", Integer),
        info={"renamed_from": "hobby"},
    )
    in_doc(["$ rebuilder plan models.py:Base at-release-2.db", *shown(release_3, hobbies)])
    in_doc(["$ rebuilder plan models.py:Base at-release-1.db", *shown(release_3, behind)])


def test_the_fills_in_docs_intent_md_plan_what_it_shows(db: Path) -> None:
    execute(
        db,
        "CREATE TABLE users (id INTEGER NOT NULL, email VARCHAR(100) NOT NULL, status VARCHAR(20), "
        "PRIMARY KEY (id))",
        "INSERT INTO users VALUES (1, 'Ada@Example.org', 'active'), (2, 'alan@example.org', NULL), "
        "(3, 'grace@example.org', 'away')",
        "CREATE TABLE products (id INTEGER NOT NULL, price VARCHAR(20), PRIMARY KEY (id))",
        "INSERT INTO products VALUES (1, '2,50'), (2, '10'), (3, NULL)",
    )

    def models(fills: bool) -> MetaData:
        md = MetaData()
        status = {"fill": "coalesce(status, 'active')"} if fills else {}
        login = {"fill": "lower(email)"} if fills else {}
        Table(
            "users",
            md,
            Column("id", Integer, primary_key=True),
            Column("email", String(100), nullable=False),
            Column("status", String(20), nullable=False, server_default="active", info=status),
            Column("login", String(100), nullable=False, unique=True, info=login),
        )
        Table("products", md, Column("id", Integer, primary_key=True), Column("price", Float))
        return md

    price = "CAST(replace(price, ',', '.') AS REAL)"

    def lines(table: str, declared: bool, **options: object) -> list[str]:
        return [line for line in shown(models(declared), db, **options) if table in line]

    in_doc(["$ rebuilder plan models.py:Base app.db", *lines("users", declared=True)])
    refused = lines("users", declared=False)
    assert len(refused) == 3, refused
    in_doc(refused)
    in_doc(["$ rebuilder plan models.py:Base app.db", *lines("products", declared=False)])
    flag = f'$ rebuilder plan models.py:Base app.db --fill "products.price={price}"'
    in_doc([flag, *lines("products", declared=False, fills={"products.price": price})])
    rebuilder.sync(models(fills=True), db, fills={"products.price": price})
    assert rows(db, "SELECT * FROM users ORDER BY id") == [
        (1, "Ada@Example.org", "active", "ada@example.org"),
        (2, "alan@example.org", "active", "alan@example.org"),
        (3, "grace@example.org", "away", "grace@example.org"),
    ]
    assert rows(db, "SELECT price, typeof(price) FROM products ORDER BY id") == [
        (2.5, "real"),
        (10.0, "real"),
        (None, "null"),
    ]
