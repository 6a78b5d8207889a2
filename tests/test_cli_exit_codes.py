"""The CLI's exit codes and messages, in-process through typer's ``CliRunner``.

Beside the subprocess tests (tests/test_bad_input.py, tests/test_refusals.py),
these call ``rebuilder.cli.app`` directly, so every exit path is quick to
check: 0 when in sync or applied, 1 for differences, refusals, failures and
bad input, 2 for usage errors, always with one ``error:`` line on stderr and
no traceback. Every database is a real file, made with sqlite3 or by
rebuilder itself; the values in it are read back after each command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Result, execute, frozen, models_file, named_table, one_sentence, rows, side_files
from typer.testing import CliRunner

from rebuilder.cli import app
from rebuilder.version import fingerprint

PET = named_table("pet")
PET_NICK = named_table("pet", 'Column("nick", String(50))')
PET_NICKNAME = named_table("pet", 'Column("nickname", String(50))')
PET_NAME_REQUIRED = """
Table("pet", metadata, Column("id", Integer, primary_key=True), Column("name", String(50), nullable=False))
"""


def invoke(*args: str) -> Result:
    """Run the CLI in this process with an empty stdin (never a terminal, so never a prompt).

    Exceptions are not caught: a crash fails the test instead of passing as exit 1.
    """
    outcome = CliRunner().invoke(app, list(args), input="", catch_exceptions=False)
    return Result(outcome.exit_code, outcome.stdout, outcome.stderr)


@pytest.fixture
def pets(tmp_path: Path) -> Path:
    """A real database made with sqlite3 alone: pet(id, name, nick) with two rows, one nick NULL."""
    db = tmp_path / "pets.db"
    execute(
        db,
        "CREATE TABLE pet (id INTEGER NOT NULL, name VARCHAR(50), nick VARCHAR(50), PRIMARY KEY (id))",
        "INSERT INTO pet VALUES (1, 'Rex', 'rexy'), (2, NULL, NULL), (3, NULL, 'tom')",
    )
    return db


# --- exit 0 -------------------------------------------------------------------------------


def test_sync_then_check_and_plan_in_sync_exit_0(tmp_path: Path, pets: Path) -> None:
    models = models_file(tmp_path, PET_NICK)
    version = fingerprint([models.metadata])

    synced = invoke("sync", models.spec, str(pets), "--no-progress")
    assert (synced.code, synced.err) == (0, ""), synced
    assert f"version {version}" in synced.out
    assert rows(pets, "SELECT version_num FROM rebuilder_version") == [(version,)]
    assert rows(pets, "SELECT id, name, nick, typeof(nick) FROM pet ORDER BY id") == [
        (1, "Rex", "rexy", "text"),
        (2, None, None, "null"),
        (3, None, "tom", "text"),
    ]

    checked = invoke("check", models.spec, str(pets))
    assert (checked.code, checked.out, checked.err) == (0, "in sync\n", "")

    planned = invoke("plan", models.spec, str(pets))
    assert (planned.code, planned.out, planned.err) == (0, f"nothing to do; version {version}\n", "")

    again = invoke("sync", models.spec, str(pets))
    assert (again.code, again.out, again.err) == (0, f"nothing to do; version {version}\n", "")


def test_sync_creates_a_new_file_and_exits_0(tmp_path: Path) -> None:
    models = models_file(tmp_path, PET)
    db = tmp_path / "new.db"
    result = invoke("sync", models.spec, str(db))
    assert (result.code, result.err) == (0, ""), result
    assert "applied create table pet" in result.out
    assert rows(db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'pet'") == [("pet",)]
    assert rows(db, "PRAGMA table_info(pet)") == [
        (0, "id", "INTEGER", 1, None, 1),
        (1, "name", "VARCHAR(50)", 0, None, 0),
    ]


# --- exit 1 -------------------------------------------------------------------------------


def test_check_with_differences_exits_1_and_lists_them(tmp_path: Path, pets: Path) -> None:
    models = models_file(tmp_path, PET)
    before = frozen(pets)
    result = invoke("check", models.spec, str(pets))
    assert result.code == 1, result
    assert result.err == ""
    listed = result.out.splitlines()
    assert listed and all(line.startswith("- ") for line in listed), result.out
    assert any("nick" in line for line in listed), result.out
    assert frozen(pets) == before


def test_a_refused_data_loss_exits_1_in_one_sentence(tmp_path: Path, pets: Path) -> None:
    models = models_file(tmp_path, PET)
    before = frozen(pets)
    line = one_sentence(invoke("sync", models.spec, str(pets)))
    assert "pet.nick" in line and "2 row(s)" in line, line
    assert "(e.g. 'rexy', 'tom')" in line, line  # the values that would be lost
    assert "nothing was changed" in line and "--allow-data-loss" in line, line
    assert frozen(pets) == before
    assert rows(pets, "SELECT nick FROM pet ORDER BY id") == [("rexy",), (None,), ("tom",)]


@pytest.mark.parametrize("flags", [(), ("--allow-data-loss",)], ids=["plain", "allow-data-loss"])
def test_a_constraint_violation_exits_1_in_one_sentence(
    tmp_path: Path, pets: Path, flags: tuple[str, ...]
) -> None:
    models = models_file(tmp_path, PET_NAME_REQUIRED)
    execute(pets, "ALTER TABLE pet DROP COLUMN nick")
    before = frozen(pets)
    line = one_sentence(invoke("sync", models.spec, str(pets), *flags))
    assert "of table 'pet'" in line, line
    assert "NOT NULL on column 'name'" in line, line
    assert "2 existing row(s)" in line and "(e.g. 2, 3)" in line, line
    assert frozen(pets) == before


@pytest.mark.parametrize("command", ["sync", "plan", "check"])
def test_a_file_that_is_not_a_database_exits_1(tmp_path: Path, command: str) -> None:
    models = models_file(tmp_path, PET)
    path = tmp_path / "pets.csv"
    path.write_text("id,name\n1,Rex\n")
    line = one_sentence(invoke(command, models.spec, str(path)))
    assert str(path) in line and "not a SQLite database" in line, line
    assert path.read_text() == "id,name\n1,Rex\n"
    assert side_files(path) == []


@pytest.mark.parametrize(
    ("attribute", "needle"),
    [("Nope", "'Nope'"), ("answer", "it is a int, not a declarative Base")],
    ids=["missing-attribute", "not-models"],
)
def test_a_bad_models_spec_exits_1(tmp_path: Path, pets: Path, attribute: str, needle: str) -> None:
    models = models_file(tmp_path, PET + "answer = 42\n")
    spec = models.spec.replace(":metadata", f":{attribute}")
    before = frozen(pets)
    line = one_sentence(invoke("sync", spec, str(pets)))
    assert "cannot load models" in line and repr(spec) in line, line
    assert needle in line, line
    assert frozen(pets) == before


def test_a_missing_models_file_exits_1_and_creates_no_database(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    spec = f"{tmp_path / 'missing.py'}:metadata"
    line = one_sentence(invoke("sync", spec, str(db)))
    assert "cannot load models" in line and "missing.py" in line, line
    assert not db.exists()


# --- exit 2 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--rename", "nodot=nickname"), ("--rename", "pet.nick"), ("--rename-table", "=pet")],
)
def test_a_malformed_rename_exits_2(tmp_path: Path, pets: Path, flag: str, value: str) -> None:
    models = models_file(tmp_path, PET_NICKNAME)
    before = frozen(pets)
    line = one_sentence(invoke("sync", models.spec, str(pets), flag, value), code=2)
    assert repr(value) in line, line
    assert frozen(pets) == before


def test_an_unknown_option_exits_2_without_an_error_line_of_ours(tmp_path: Path, pets: Path) -> None:
    models = models_file(tmp_path, PET)
    before = frozen(pets)
    result = invoke("sync", models.spec, str(pets), "--no-such-flag")
    assert result.code == 2
    assert "--no-such-flag" in result.err
    assert "Traceback" not in result.err
    assert result.out == ""
    assert frozen(pets) == before
