"""``flask rebuilder``: the commands on a real Flask project's own ``db`` and ``db.engine``.

Every test builds a project in a temporary directory and runs the real ``flask``
command in a subprocess, so the ``flask.commands`` entry point, the app
discovery and Flask-SQLAlchemy's instance folder are the ones a user gets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import typer.main
from conftest import ROOT, Result, execute, rows, run_cli, side_files
from test_loading import EXPECTED_TABLES, flask_layout, user_tables

from rebuilder.cli import app
from rebuilder.flask_cli import group

FACTORY = """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///app.db"
    app.config["SQLALCHEMY_BINDS"] = {"audit": "sqlite:///audit.db"}
    db.init_app(app)
    from myapp import models  # noqa: F401

    return app
"""

MODELS_V1 = """
from myapp import db


class City(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), server_default="")


class Event(db.Model):
    __bind_key__ = "audit"
    id = db.Column(db.Integer, primary_key=True)
    what = db.Column(db.String(200), nullable=False)
"""
MODELS_V2 = MODELS_V1.replace(
    '    name = db.Column(db.String(100), server_default="")\n',
    '    name = db.Column(db.String(100), server_default="")\n'
    '    country = db.Column(db.String(2), nullable=False, server_default="PT")\n',
)
MODELS_V3 = MODELS_V2.replace('    name = db.Column(db.String(100), server_default="")\n', "")


def flask(project: Path, *args: str, app: str = "myapp") -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", app, *args],
        capture_output=True,
        text=True,
        cwd=project,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)])},
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def factory_project(tmp_path: Path, models: str = MODELS_V1) -> Path:
    project = tmp_path / "project"
    (project / "myapp").mkdir(parents=True)
    (project / "myapp" / "__init__.py").write_text(textwrap.dedent(FACTORY))
    (project / "myapp" / "models.py").write_text(textwrap.dedent(models))
    return project


def test_the_group_lists_the_same_commands() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "flask", "rebuilder", "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    for command in ("sync", "plan", "check", "current", "history"):
        assert f"  {command} " in shown.stdout


def test_app_factory_in_the_instance_folder(tmp_path: Path) -> None:
    project = factory_project(tmp_path)
    instance_db = project / "instance" / "app.db"

    planned = flask(project, "rebuilder", "plan")
    assert planned.code == 0, planned.err
    assert planned.out == "- create table city\n"
    assert planned.err == f"note: the database {instance_db} does not exist; sync would create it\n"
    assert not instance_db.exists()

    missing = flask(project, "rebuilder", "current")
    assert missing.code == 1
    assert f"the database {instance_db} does not exist" in missing.err

    synced = flask(project, "rebuilder", "sync")
    assert synced.code == 0, synced.err
    assert synced.out.splitlines()[0] == "applied create table city"
    assert instance_db.exists() and not (project / "app.db").exists()
    assert user_tables(instance_db) == ["city"]
    assert side_files(instance_db) == []

    checked = flask(project, "rebuilder", "check")
    assert (checked.code, checked.out) == (0, "in sync\n"), checked.err
    as_json = flask(project, "rebuilder", "check", "--json")
    document = json.loads(as_json.out)
    assert (as_json.code, document["command"], document["database"]) == (0, "check", str(instance_db))
    assert document["result"] == {"format": 1, "in_sync": True, "changes": []}
    version = flask(project, "rebuilder", "current")
    assert (
        version.code == 0
        and version.out == f"{rows(instance_db, 'SELECT version_num FROM rebuilder_version')[0][0]}\n"
    )
    # The rebuilder program on the same models and file agrees: same version, nothing to do.
    plain = run_cli("sync", "myapp.models:db", str(instance_db), cwd=project)
    assert plain.code == 0 and plain.out.startswith("nothing to do"), plain.err

    # Evolve: a new NOT NULL column with a default; then drop a column that holds values.
    (project / "myapp" / "models.py").write_text(textwrap.dedent(MODELS_V2))
    execute(instance_db, "INSERT INTO city (name) VALUES ('Lisbon'), ('Porto')")
    dry = flask(project, "rebuilder", "sync", "--dry-run")
    assert dry.code == 0 and "add column city.country" in dry.out, dry.err
    assert flask(project, "rebuilder", "check").code == 1
    applied = flask(project, "rebuilder", "sync")
    assert applied.code == 0, applied.err
    assert rows(instance_db, "SELECT name, country FROM city ORDER BY id") == [
        ("Lisbon", "PT"),
        ("Porto", "PT"),
    ]

    (project / "myapp" / "models.py").write_text(textwrap.dedent(MODELS_V3))
    refused = flask(project, "rebuilder", "sync")
    assert refused.code == 1
    assert refused.err.startswith("error: refused to destroy data: drop column city.name: 2 row(s)")
    assert len(refused.err.strip().splitlines()) == 1 and "Traceback" not in refused.err
    allowed = flask(project, "rebuilder", "sync", "--allow-data-loss")
    assert allowed.code == 0, allowed.err
    assert "applied drop column city.name" in allowed.out

    history = flask(project, "rebuilder", "history")
    assert history.code == 0 and len(history.out.splitlines()) == 3


def test_a_bind_has_its_own_models_and_file(tmp_path: Path) -> None:
    project = factory_project(tmp_path)
    synced = flask(project, "rebuilder", "sync", "--bind", "audit")
    assert synced.code == 0, synced.err
    assert "applied create table event" in synced.out
    assert user_tables(project / "instance" / "audit.db") == ["event"]
    assert not (project / "instance" / "app.db").exists()
    unknown = flask(project, "rebuilder", "plan", "--bind", "nope")
    assert unknown.code == 1 and "no SQLALCHEMY_BINDS key 'nope'" in unknown.err


def test_the_flask_layout_of_issue_12(tmp_path: Path) -> None:
    """``app.py`` makes ``db`` and imports ``models``; ``models.py`` imports ``db`` from ``app``."""
    project = flask_layout(tmp_path / "layout")
    synced = flask(project, "rebuilder", "sync", app="app")
    assert synced.code == 0, synced.err
    assert "applied 4 step(s)" in synced.out
    instance_db = project / "instance" / "app.db"
    assert user_tables(instance_db) == EXPECTED_TABLES
    # Both spellings of the plain program find the same models current in that file.
    for spec in ("models.py:db", "models:db"):
        again = run_cli("sync", spec, str(instance_db), cwd=project)
        assert again.code == 0 and again.out.startswith("nothing to do"), (spec, again.err)


def test_the_start_up_recipe_uses_the_instance_folder(tmp_path: Path) -> None:
    project = tmp_path / "recipe"
    project.mkdir()
    shutil.copy(ROOT / "examples" / "flask_app.py", project / "flask_app.py")
    app = "flask_app:create_app('app.db')"
    checked = flask(project, "rebuilder", "check", app=app)  # the factory synced at start-up
    assert (checked.code, checked.out) == (0, "in sync\n"), checked.err
    assert user_tables(project / "instance" / "app.db") == ["note"]
    assert not (project / "app.db").exists()


def test_an_app_without_flask_sqlalchemy_is_told_so(tmp_path: Path) -> None:
    project = tmp_path / "bare"
    project.mkdir()
    (project / "bare.py").write_text("from flask import Flask\n\napp = Flask(__name__)\n")
    shown = flask(project, "rebuilder", "plan", app="bare")
    assert shown.code == 1
    assert "has no Flask-SQLAlchemy extension" in shown.err
    assert "Traceback" not in shown.err


FLEET_ONLY = {"--jobs", "-j", "--shard"}
"""The program's options for many files (docs/fleets.md): an app has one database."""


@pytest.mark.parametrize("command", ["sync", "plan", "check", "current", "history"])
def test_each_command_takes_the_programs_options(command: str) -> None:
    program = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    in_flask = group.commands[command]
    options = {opt for p in program.params if p.param_type_name == "option" for opt in p.opts} - FLEET_ONLY
    flask_options = {opt for p in in_flask.params if p.param_type_name == "option" for opt in p.opts}
    assert flask_options == options | {"--bind"}
    assert in_flask.help is not None and program.help is not None
