"""How a plan reads: ``plan --sql`` says what is not portable, an added column shows its whole definition,
and "nothing to do" reads one way in plan, plan --sql and sync."""

from __future__ import annotations

from pathlib import Path

from conftest import execute, models_file, named_table, rows
from typer.testing import CliRunner

from rebuilder.cli import app
from rebuilder.version import fingerprint

PET = named_table("pet")
PET_LEVEL = named_table("pet", 'Column("level", Integer, nullable=False, server_default="1")')
PET_LONG_NAME = (
    'Table("pet", metadata, Column("id", Integer, primary_key=True), Column("name", String(80)))\n'
)


def invoke(*args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(app, list(args), input="", catch_exceptions=False)
    return outcome.exit_code, outcome.stdout


def pets(tmp_path: Path) -> Path:
    db = tmp_path / "pets.db"
    execute(
        db,
        "CREATE TABLE pet (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50))",
        "INSERT INTO pet VALUES (1, 'Rex')",
    )
    return db


def test_an_added_column_shows_not_null_and_its_default(tmp_path: Path) -> None:
    db = pets(tmp_path)
    models = models_file(tmp_path, PET_LEVEL)
    assert invoke("plan", models.spec, str(db)) == (0, "- add column pet.level INTEGER NOT NULL DEFAULT 1\n")
    code, out = invoke("sync", models.spec, str(db))
    assert code == 0 and out.startswith("applied add column pet.level INTEGER NOT NULL DEFAULT 1\n")
    assert rows(db, "SELECT id, level, typeof(level) FROM pet") == [(1, 1, "integer")]


def test_plan_sql_has_a_header_and_names_the_schema_edits(tmp_path: Path) -> None:
    db = pets(tmp_path)
    code, script = invoke("plan", models_file(tmp_path, PET_LONG_NAME).spec, str(db), "--sql")
    lines = script.splitlines()
    assert code == 0 and lines[0].startswith("-- The ") and "would run on" in lines[0]
    assert "not a script to paste" in script
    # VARCHAR(50) -> VARCHAR(80) edits the table's SQL in place: the header says what that means.
    assert "PRAGMA writable_schema = ON;" in lines and "edit sqlite_schema directly" in script
    assert "<current schema_version + 1>" in script
    assert next(line for line in lines if not line.startswith("--")) == "PRAGMA writable_schema = ON;"


def test_plan_sql_of_a_portable_plan_has_no_schema_edit_note(tmp_path: Path) -> None:
    db = pets(tmp_path)
    code, script = invoke("plan", models_file(tmp_path, PET_LEVEL).spec, str(db), "--sql")
    assert code == 0 and "sqlite_schema" not in script
    assert (
        script.splitlines()[-1] == "ALTER TABLE main.\"pet\" ADD COLUMN level INTEGER DEFAULT '1' NOT NULL;"
    )


def test_nothing_to_do_reads_the_same_in_plan_plan_sql_and_sync(tmp_path: Path) -> None:
    db = pets(tmp_path)
    models = models_file(tmp_path, PET)
    version = fingerprint([models.metadata])
    assert invoke("plan", models.spec, str(db)) == (0, f"no schema change; sync records version {version}\n")
    assert invoke("sync", models.spec, str(db)) == (0, f"no schema change; recorded version {version}\n")
    said = f"nothing to do; version {version}"
    assert invoke("plan", models.spec, str(db)) == (0, said + "\n")
    assert invoke("plan", models.spec, str(db), "--sql") == (0, f"-- {said}\n")
    assert invoke("sync", models.spec, str(db)) == (0, said + "\n")
