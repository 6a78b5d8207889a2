"""Data safety: every data-destroying or constraint-breaking step is refused, and nothing changes.

Each refusal goes through the real CLI in a subprocess (exit 1, one line on stderr
naming the table, the column or constraint, the count and samples, no traceback)
and through the library (the right `rebuilder.errors` subclass with its data
filled in). The database is compared before and after: the same rows with the
same storage classes, the same bytes on disk, the same journal side files.
Allowed changes are checked value by value, with ``typeof``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import (
    Models,
    Result,
    columns,
    execute,
    frozen,
    models_file,
    named_table,
    one_sentence,
    rows,
    run_cli,
    side_files,
)

import rebuilder
from rebuilder.errors import ConstraintViolated, DataLossRefused


def database(directory: Path, v1: Models, *inserts: str, name: str = "app.db") -> Path:
    """A database synced to ``v1`` by rebuilder, then filled with rows."""
    db = directory / name
    rebuilder.sync(v1.metadata, db)
    if inserts:
        execute(db, *inserts)
    return db


def sync_cli(m: Models, db: Path, *flags: str) -> Result:
    # stdin is a pipe, never a TTY, so no prompt can be shown.
    return run_cli("sync", m.spec, str(db), *flags, stdin="")


def tables(db: Path) -> list[str]:
    return [
        r[0]
        for r in rows(
            db,
            "SELECT name FROM sqlite_schema WHERE type = 'table' "
            "AND name NOT LIKE 'rebuilder%' AND name NOT LIKE 'sqlite%' ORDER BY name",
        )
    ]


# --- dropping tables ----------------------------------------------------------

OWNER = named_table("owner")
OWNER_PET = OWNER + named_table("pet")


def test_drop_table_with_rows_is_refused_then_allowed(tmp_path: Path) -> None:
    v1, v2 = models_file(tmp_path, OWNER_PET, "v1.py"), models_file(tmp_path, OWNER, "v2.py")
    db = database(
        tmp_path,
        v1,
        "INSERT INTO owner VALUES (1, 'Ann')",
        "INSERT INTO pet VALUES (7, 'Rex'), (9, 'Tom')",
    )
    copy = tmp_path / "copy.db"
    shutil.copyfile(db, copy)
    before = frozen(db)

    line = one_sentence(sync_cli(v2, db))
    assert "drop table pet" in line
    assert "2 row(s)" in line
    assert "(e.g. 7, 9)" in line  # the rows' keys
    assert "--allow-data-loss" in line
    assert frozen(db) == before

    with pytest.raises(DataLossRefused) as info:
        rebuilder.sync(v2.metadata, db)
    (loss,) = info.value.losses
    assert (loss.table, loss.column, loss.what, loss.count, loss.samples) == (
        "pet",
        None,
        "drop table",
        2,
        (7, 9),
    )
    assert "pet" in str(info.value) and "2 row(s)" in str(info.value)
    assert frozen(db) == before

    for target, flag in ((db, "--allow-data-loss"), (copy, "--yes")):
        applied = sync_cli(v2, target, flag)
        assert applied.code == 0, applied.err
        assert tables(target) == ["owner"]
        assert rows(target, "SELECT id, name, typeof(name) FROM owner") == [(1, "Ann", "text")]
        assert side_files(target) == []


def test_drop_empty_table_needs_no_flag(tmp_path: Path) -> None:
    v1, v2 = models_file(tmp_path, OWNER_PET, "v1.py"), models_file(tmp_path, OWNER, "v2.py")
    db = database(tmp_path, v1, "INSERT INTO owner VALUES (1, 'Ann')")
    applied = sync_cli(v2, db)
    assert applied.code == 0, applied.err
    assert "drop table pet" in applied.out
    assert tables(db) == ["owner"]
    assert rows(db, "SELECT id, name, typeof(name) FROM owner") == [(1, "Ann", "text")]


# --- dropping columns ---------------------------------------------------------

PET = named_table("pet")
PET_NICK = named_table("pet", 'Column("nick", String(50))')


def test_drop_column_with_values_is_refused_then_allowed(tmp_path: Path) -> None:
    v1, v2 = models_file(tmp_path, PET_NICK, "v1.py"), models_file(tmp_path, PET, "v2.py")
    # An empty string is a value too: only NULL is "no data".
    db = database(tmp_path, v1, "INSERT INTO pet VALUES (1, 'Rex', 'rexy'), (2, 'Tom', ''), (3, 'Kit', NULL)")
    before = frozen(db)

    line = one_sentence(sync_cli(v2, db))
    assert "pet.nick" in line
    assert "2 row(s)" in line
    assert "'rexy'" in line and "''" in line
    assert frozen(db) == before

    with pytest.raises(DataLossRefused) as info:
        rebuilder.sync(v2.metadata, db)
    (loss,) = info.value.losses
    assert (loss.table, loss.column, loss.what, loss.count) == ("pet", "nick", "drop column", 2)
    assert sorted(loss.samples) == ["", "rexy"]  # type: ignore[type-var]
    assert frozen(db) == before

    applied = sync_cli(v2, db, "--allow-data-loss")
    assert applied.code == 0, applied.err
    assert columns(db, "pet") == ["id", "name"]
    assert rows(db, "SELECT id, name, typeof(name) FROM pet ORDER BY id") == [
        (1, "Rex", "text"),
        (2, "Tom", "text"),
        (3, "Kit", "text"),
    ]


def test_drop_all_null_column_needs_no_flag(tmp_path: Path) -> None:
    v1, v2 = models_file(tmp_path, PET_NICK, "v1.py"), models_file(tmp_path, PET, "v2.py")
    db = database(tmp_path, v1, "INSERT INTO pet VALUES (1, 'Rex', NULL), (2, '5', NULL)")
    applied = sync_cli(v2, db)
    assert applied.code == 0, applied.err
    assert columns(db, "pet") == ["id", "name"]
    assert rows(db, "SELECT id, name, typeof(name) FROM pet ORDER BY id") == [
        (1, "Rex", "text"),
        (2, "5", "text"),
    ]


@pytest.mark.parametrize("value", ["[red]", "[b]x[/b]", "[/bold]"])
def test_refusal_message_shows_sample_values_verbatim(tmp_path: Path, value: str) -> None:
    v1, v2 = models_file(tmp_path, PET_NICK, "v1.py"), models_file(tmp_path, PET, "v2.py")
    db = database(tmp_path, v1)
    execute(db, f"INSERT INTO pet VALUES (1, 'Rex', '{value}')")
    before = frozen(db)
    result = sync_cli(v2, db)
    assert frozen(db) == before
    line = one_sentence(result)
    assert "pet.nick" in line and repr(value) in line


# --- type changes ---------------------------------------------------------------

HOBBY_TEXT = """
Table("hobby", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))
"""
HOBBY_INT = """
Table("hobby", metadata, Column("id", Integer, primary_key=True), Column("name", Integer))
"""


def test_string_to_integer_over_non_numbers_is_refused_then_kept_as_sqlite_stores_them(
    tmp_path: Path,
) -> None:
    v1, v2 = models_file(tmp_path, HOBBY_TEXT, "v1.py"), models_file(tmp_path, HOBBY_INT, "v2.py")
    db = database(
        tmp_path,
        v1,
        "INSERT INTO hobby VALUES (1, 'chess'), (2, '12'), (3, '-42'), (4, '0012'), "
        "(5, '12.5'), (6, '1e3'), (7, NULL)",
    )
    before = frozen(db)

    line = one_sentence(sync_cli(v2, db))
    assert "hobby.name" in line
    assert "4 row(s)" in line  # 'chess', '0012', '12.5', '1e3'; not '12', '-42', NULL
    assert "'chess'" in line
    assert frozen(db) == before

    with pytest.raises(DataLossRefused) as info:
        rebuilder.sync(v2.metadata, db)
    (loss,) = info.value.losses
    assert (loss.table, loss.column, loss.count) == ("hobby", "name", 4)
    assert loss.what.startswith("change type")
    assert loss.samples == ("chess", "0012", "12.5")  # a few, in row order
    assert frozen(db) == before

    # Documented: with data loss allowed, values are stored under the new affinity as-is.
    applied = sync_cli(v2, db, "--allow-data-loss")
    assert applied.code == 0, applied.err
    assert rows(db, "SELECT id, name, typeof(name) FROM hobby ORDER BY id") == [
        (1, "chess", "text"),
        (2, 12, "integer"),
        (3, -42, "integer"),
        (4, 12, "integer"),
        (5, 12.5, "real"),
        (6, 1000, "integer"),
        (7, None, "null"),
    ]


@pytest.mark.parametrize("bad", ["0012", "12.5", "1e3", "chess", "", "12.0", "9223372036854775808"])
def test_text_that_does_not_survive_as_integer_is_refused(tmp_path: Path, bad: str) -> None:
    v1, v2 = models_file(tmp_path, HOBBY_TEXT, "v1.py"), models_file(tmp_path, HOBBY_INT, "v2.py")
    db = database(tmp_path, v1)
    execute(db, f"INSERT INTO hobby VALUES (1, '12'), (2, '-42'), (3, '{bad}'), (4, NULL)")
    before = frozen(db)
    with pytest.raises(DataLossRefused) as info:
        rebuilder.sync(v2.metadata, db)
    (loss,) = info.value.losses
    assert (loss.table, loss.column, loss.count, loss.samples) == ("hobby", "name", 1, (bad,))
    assert "hobby.name" in str(info.value) and repr(bad) in str(info.value)
    assert frozen(db) == before


def test_numeric_text_becomes_integer_without_a_flag(tmp_path: Path) -> None:
    v1, v2 = models_file(tmp_path, HOBBY_TEXT, "v1.py"), models_file(tmp_path, HOBBY_INT, "v2.py")
    db = database(tmp_path, v1, "INSERT INTO hobby VALUES (1, '12'), (2, '-42'), (3, '0'), (4, NULL)")
    applied = sync_cli(v2, db)
    assert applied.code == 0, applied.err
    assert rows(db, "SELECT id, name, typeof(name) FROM hobby ORDER BY id") == [
        (1, 12, "integer"),
        (2, -42, "integer"),
        (3, 0, "integer"),
        (4, None, "null"),
    ]


def test_integer_to_string_keeps_values_as_text(tmp_path: Path) -> None:
    v1, v2 = models_file(tmp_path, HOBBY_INT, "v1.py"), models_file(tmp_path, HOBBY_TEXT, "v2.py")
    db = database(
        tmp_path,
        v1,
        "INSERT INTO hobby VALUES (1, 12), (2, -42), (3, 0), (4, 2.5), (5, 9007199254740993), (6, NULL)",
    )
    assert rows(db, "SELECT typeof(name) FROM hobby WHERE id = 4") == [("real",)]
    applied = sync_cli(v2, db)
    assert applied.code == 0, applied.err
    assert rows(db, "SELECT id, name, typeof(name) FROM hobby ORDER BY id") == [
        (1, "12", "text"),
        (2, "-42", "text"),
        (3, "0", "text"),
        (4, "2.5", "text"),
        (5, "9007199254740993", "text"),
        (6, None, "null"),
    ]


# --- constraints over existing rows: refused even with --allow-data-loss --------


@dataclass(frozen=True)
class ConstraintCase:
    v1: str
    inserts: tuple[str, ...]
    v2: str
    table: str
    constraint: str
    count: int
    samples: tuple[object, ...]


PERSON = """
Table("person", metadata, Column("id", Integer, primary_key=True), Column("name", String(50){extra}))
"""
ACCOUNT = """
Table(
    "account", metadata,
    Column("id", Integer, primary_key=True), Column("email", String(50)),
    {extra}
)
"""
FAMILY = """
Table("parent", metadata, Column("id", Integer, primary_key=True))
Table("child", metadata, Column("id", Integer, primary_key=True), Column("parent_id", Integer{extra}))
"""
READING = """
Table("reading", metadata, Column("id", Integer, primary_key=True), Column("value", Integer), {extra})
"""
ACCOUNT_ROWS = ("INSERT INTO account VALUES (1, 'a@x'), (2, 'a@x'), (3, 'b@x'), (4, NULL), (5, NULL)",)

CONSTRAINTS = {
    "not-null": ConstraintCase(
        PERSON.format(extra=""),
        ("INSERT INTO person VALUES (1, 'Ann'), (2, NULL), (3, NULL)",),
        PERSON.format(extra=", nullable=False"),
        "person",
        "NOT NULL on column 'name'",
        2,
        (2, 3),
    ),
    "new-not-null-column": ConstraintCase(
        PERSON.format(extra=""),
        ("INSERT INTO person VALUES (1, 'Ann'), (2, 'Bob')",),
        PERSON.format(extra="), Column('age', Integer, nullable=False"),
        "person",
        "NOT NULL on column 'age'",
        2,
        (1, 2),
    ),
    "unique-constraint": ConstraintCase(
        ACCOUNT.format(extra=""),
        ACCOUNT_ROWS,
        ACCOUNT.format(extra='UniqueConstraint("email"),'),
        "account",
        "UNIQUE (email)",
        1,
        ("a@x",),
    ),
    "unique-index": ConstraintCase(
        ACCOUNT.format(extra=""),
        ACCOUNT_ROWS,
        ACCOUNT.format(extra='Index("ix_account_email", "email", unique=True),'),
        "account",
        "unique index ix_account_email",
        1,
        ("a@x",),
    ),
    "foreign-key": ConstraintCase(
        FAMILY.format(extra=""),
        (
            "INSERT INTO parent VALUES (1)",
            "INSERT INTO child VALUES (1, 1), (2, 99), (3, NULL), (4, 98)",
        ),
        FAMILY.format(extra=', ForeignKey("parent.id")'),
        "child",
        "FOREIGN KEY (parent_id) REFERENCES parent (id)",
        2,
        (2, 4),
    ),
    "check": ConstraintCase(
        READING.format(extra=""),
        ("INSERT INTO reading VALUES (1, 5), (2, -1), (3, NULL), (4, -7)",),
        READING.format(extra='CheckConstraint("value >= 0")'),
        "reading",
        "CHECK (value >= 0)",
        2,
        (2, 4),
    ),
}


@pytest.mark.parametrize("case", list(CONSTRAINTS.values()), ids=list(CONSTRAINTS))
def test_constraint_over_violating_rows_is_refused_even_with_data_loss_allowed(
    tmp_path: Path, case: ConstraintCase
) -> None:
    v1, v2 = models_file(tmp_path, case.v1, "v1.py"), models_file(tmp_path, case.v2, "v2.py")
    db = database(tmp_path, v1, *case.inserts)
    before = frozen(db)

    line = one_sentence(sync_cli(v2, db, "--allow-data-loss"))
    assert f"of table {case.table!r}" in line
    assert case.constraint in line
    assert f"{case.count} existing row(s)" in line
    assert "(e.g. " + ", ".join(repr(s) for s in case.samples) + ")" in line
    assert frozen(db) == before

    for allow in (False, True):
        with pytest.raises(ConstraintViolated) as info:
            rebuilder.sync(v2.metadata, db, allow_data_loss=allow)
        (violation,) = info.value.violations
        assert violation.table == case.table
        assert case.constraint in violation.constraint
        assert violation.count == case.count
        assert violation.samples == case.samples
        assert violation.hint
        assert frozen(db) == before


EMAIL = """
Table("account", metadata, Column("id", Integer, primary_key=True), Column("email", String(50)))
"""
EMAIL_UNIQUE_NOCASE = """
Table(
    "account", metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(50, collation="NOCASE"), unique=True),
)
"""


def test_unique_with_new_collation_over_duplicates_is_a_constraint_violation(tmp_path: Path) -> None:
    v1 = models_file(tmp_path, EMAIL, "v1.py")
    v2 = models_file(tmp_path, EMAIL_UNIQUE_NOCASE, "v2.py")
    db = database(tmp_path, v1, "INSERT INTO account VALUES (1, 'ann@x'), (2, 'ANN@x'), (3, 'bob@x')")
    before = frozen(db)
    try:
        with pytest.raises(ConstraintViolated) as info:
            rebuilder.sync(v2.metadata, db, allow_data_loss=True)
    finally:
        assert frozen(db) == before
    (violation,) = info.value.violations
    assert (violation.table, violation.count) == ("account", 1)
    assert "UNIQUE (email)" in violation.constraint


def test_not_null_with_a_server_default_over_nulls_is_refused_and_a_fill_is_the_way(tmp_path: Path) -> None:
    v1 = models_file(tmp_path, PERSON.format(extra=""), "v1.py")
    v2 = models_file(tmp_path, PERSON.format(extra=', nullable=False, server_default="?"'), "v2.py")
    db = database(tmp_path, v1, "INSERT INTO person VALUES (1, 'Ann'), (2, NULL)")
    before = frozen(db)
    with pytest.raises(ConstraintViolated) as info:
        rebuilder.sync(models_file(tmp_path, PERSON.format(extra=", nullable=False"), "v3.py").metadata, db)
    assert "fill" in info.value.violations[0].hint
    # A server default is not consent to rewrite the NULLs: refused the same way, even allowing loss.
    with pytest.raises(ConstraintViolated) as info:
        rebuilder.sync(v2.metadata, db, allow_data_loss=True)
    (violation,) = info.value.violations
    assert (violation.constraint, violation.count, violation.samples) == (
        "NOT NULL on column 'name'",
        1,
        (2,),
    )
    assert "fill" in violation.hint
    assert frozen(db) == before
    rebuilder.sync(v2.metadata, db, fills={"person.name": "coalesce(name, '?')"})
    assert rows(db, "SELECT id, name, typeof(name) FROM person ORDER BY id") == [
        (1, "Ann", "text"),
        (2, "?", "text"),
    ]
