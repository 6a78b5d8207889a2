"""``--json``: one document on stdout, in the shape docs/json-output.schema.json documents.

Every command's document, its results and its refusals are validated against
the published JSON Schema, and their values are checked against the database
they describe. The exit codes are those of the same command without ``--json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import ROOT, execute, models_file, named_table, rows, run_cli
from typer.testing import CliRunner

from rebuilder.cli import app
from rebuilder.version import fingerprint

SCHEMA = json.loads((ROOT / "docs" / "json-output.schema.json").read_text(encoding="utf-8"))
PET = named_table("pet", 'Column("nick", String(50))')
PET_NICK_REQUIRED = named_table("pet", 'Column("nick", String(50), nullable=False)')
PET_NO_NICK = named_table("pet")


def document(*args: str) -> tuple[int, dict[str, Any]]:
    """Run a command with --json in this process; return its exit code and its validated document."""
    outcome = CliRunner().invoke(app, [*args, "--json"], input="", catch_exceptions=False)
    found = json.loads(outcome.stdout)
    jsonschema.validate(found, SCHEMA)
    assert found["exit_code"] == outcome.exit_code
    assert found["command"] == args[0]
    return outcome.exit_code, found


@pytest.fixture
def pets(tmp_path: Path) -> Path:
    db = tmp_path / "pets.db"
    execute(
        db,
        "CREATE TABLE pet (id INTEGER NOT NULL, name VARCHAR(50), nick VARCHAR(50), PRIMARY KEY (id))",
        "INSERT INTO pet VALUES (1, 'Rex', 'rexy'), (2, NULL, NULL)",
    )
    return db


def test_the_schema_itself_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_plan_check_sync_current_history_in_json(tmp_path: Path, pets: Path) -> None:
    models = models_file(tmp_path, PET)
    version = fingerprint([models.metadata])

    code, planned = document("plan", models.spec, str(pets))
    assert code == 0 and planned["error"] is None
    assert planned["result"]["version"] == version and planned["result"]["current"] is None
    assert planned["result"]["steps"] == []  # the table already matches: only the version is recorded
    assert planned["result"]["up_to_date"] is False

    code, checked = document("check", models.spec, str(pets))
    assert (code, checked["result"]) == (0, {"format": 1, "in_sync": True, "changes": []})

    code, synced = document("sync", models.spec, str(pets))
    assert code == 0
    assert synced["result"] | {"format": 1} == {
        "format": 1,
        "version": version,
        "previous": None,
        "changed": True,
        "dry_run": False,
        "steps": [],
    }
    assert rows(pets, "SELECT version_num FROM rebuilder_version") == [(version,)]

    code, now = document("current", str(pets))
    assert (code, now["result"]) == (0, {"version": version})
    code, past = document("history", str(pets))
    (entry,) = past["result"]["history"]
    assert (code, entry["version"], entry["steps"], entry["summary"]) == (0, version, 0, "recorded version")


def test_a_step_carries_its_kind_table_and_sql(tmp_path: Path, pets: Path) -> None:
    models = models_file(tmp_path, PET_NO_NICK)
    code, planned = document("plan", models.spec, str(pets))
    assert code == 0
    (step,) = planned["result"]["steps"]
    assert (step["kind"], step["table"], step["destructive"]) == ("drop_column", "pet", True)
    assert step["sql"] == ['ALTER TABLE main."pet" DROP COLUMN "nick"']
    (loss,) = planned["result"]["losses"]
    assert (loss["table"], loss["column"], loss["count"], loss["samples"]) == ("pet", "nick", 1, ["rexy"])
    assert [c["kind"] for c in planned["result"]["changes"]] == ["drop_column"]


def test_a_refusal_is_a_document_with_the_error_and_exit_1(tmp_path: Path, pets: Path) -> None:
    before = rows(pets, "SELECT id, name, nick, typeof(nick) FROM pet ORDER BY id")
    code, refused = document("sync", models_file(tmp_path, PET_NO_NICK).spec, str(pets))
    assert code == 1 and refused["result"] is None
    error = refused["error"]
    assert (error["kind"], error["exit_code"]) == ("data_loss_refused", 1)
    assert error["message"].startswith("refused to destroy data: drop column pet.nick: 1 row(s)")
    assert "--allow-data-loss" in error["message"]  # the CLI's wording of the way out
    assert error["data"]["losses"][0]["samples"] == ["rexy"]

    code, violated = document("sync", models_file(tmp_path, PET_NICK_REQUIRED, "v3.py").spec, str(pets))
    assert (code, violated["error"]["kind"]) == (1, "constraint_violated")
    (violation,) = violated["error"]["data"]["violations"]
    assert (violation["constraint"], violation["count"], violation["samples"]) == (
        "NOT NULL on column 'nick'",
        1,
        [2],
    )
    assert rows(pets, "SELECT id, name, nick, typeof(nick) FROM pet ORDER BY id") == before


def test_check_with_differences_exits_1_with_them_listed(tmp_path: Path, pets: Path) -> None:
    code, checked = document("check", models_file(tmp_path, PET_NO_NICK).spec, str(pets))
    assert code == 1 and checked["error"] is None
    assert checked["result"]["in_sync"] is False
    assert [(c["kind"], c["table"]) for c in checked["result"]["changes"]] == [("drop_column", "pet")]


def test_a_missing_database_is_an_error_document(tmp_path: Path) -> None:
    code, missing = document("current", str(tmp_path / "missing.db"))
    assert (code, missing["error"]["kind"], missing["result"]) == (1, "no_such_database", None)
    assert missing["error"]["data"] == {"path": str(tmp_path / "missing.db")}


def test_sync_dry_run_gives_the_plan(tmp_path: Path, pets: Path) -> None:
    code, shown = document("sync", models_file(tmp_path, PET_NO_NICK).spec, str(pets), "--dry-run")
    assert code == 0 and [s["kind"] for s in shown["result"]["steps"]] == ["drop_column"]
    assert rows(pets, "SELECT count(*) FROM pragma_table_info('pet')") == [(3,)]


def test_stdout_holds_the_document_alone_in_a_real_process(tmp_path: Path, pets: Path) -> None:
    # A real subprocess: nothing but the document reaches stdout, not even the growth note.
    models = models_file(tmp_path, PET_NO_NICK)
    result = run_cli("sync", models.spec, str(pets), "--allow-data-loss", "--vacuum", "--json")
    assert result.code == 0, result.err
    found = json.loads(result.out)
    jsonschema.validate(found, SCHEMA)
    assert [s["kind"] for s in found["result"]["steps"]] == ["drop_column"]
    assert "vacuumed" in result.err
    assert rows(pets, "SELECT name FROM pragma_table_info('pet') ORDER BY cid") == [("id",), ("name",)]
