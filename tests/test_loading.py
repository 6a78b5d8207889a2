"""Loading MODELS as Python does, and refusing models that cannot be what the user meant.

A ``path/to/models.py:attr`` spec imports the file as its real module, so the
common Flask layout (``app.py`` imports ``models``, ``models.py`` imports
``app``) loads once under either spelling. Models with no tables are refused,
and so is a plan that would drop every table of a database without consent.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, execute, rows, run_cli, side_files, snapshot, write_models
from sqlalchemy import Column, Integer, MetaData, String, Table

import rebuilder
from rebuilder.errors import BadModelSpec, EveryTableDropped, NoTables

FLASK_APP = """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///app.db"
db = SQLAlchemy(app)

from models import *  # noqa: E402,F403
"""

FLASK_MODELS = """
from app import db

friend_mtm_hobby = db.Table(
    "friend_mtm_hobby",
    db.Column("friend_id", db.Integer, db.ForeignKey("friend.id"), primary_key=True),
    db.Column("hobby_id", db.Integer, db.ForeignKey("hobby.id"), primary_key=True),
)


class City(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), server_default="")


class Friend(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), server_default="")
    city_id = db.Column(db.Integer, db.ForeignKey("city.id"))
    hobbies = db.relationship("Hobby", secondary=friend_mtm_hobby, backref="friends")


class Hobby(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), server_default="")
"""

PACKAGE_INIT = """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///app.db"
    db.init_app(app)
    from app import models  # noqa: F401

    return app
"""

PACKAGE_MODELS = FLASK_MODELS  # ``from app import db`` works in both layouts

EXPECTED_TABLES = ["city", "friend", "friend_mtm_hobby", "hobby"]


def flask_layout(directory: Path) -> Path:
    directory.mkdir()
    write_models(directory, FLASK_APP, "app.py")
    write_models(directory, FLASK_MODELS, "models.py")
    return directory


def package_layout(directory: Path) -> Path:
    (directory / "app").mkdir(parents=True)
    write_models(directory, PACKAGE_INIT, "app/__init__.py")
    write_models(directory, PACKAGE_MODELS, "app/models.py")
    return directory


def user_tables(db: Path) -> list[str]:
    found = rows(
        db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'rebuilder%' ORDER BY 1"
    )
    return [name for (name,) in found]


def sync_both_spellings(project: Path, spellings: list[str], cwd: Path) -> None:
    """Each spelling syncs a new database to one version; the others find the first one current."""
    versions = set()
    for number, spec in enumerate(spellings):
        db = project / f"{number}.db"
        applied = run_cli("sync", spec, str(db), cwd=cwd)
        assert applied.code == 0, (spec, applied.err)
        assert "applied 4 step(s)" in applied.out, applied.out
        assert user_tables(db) == EXPECTED_TABLES
        versions.add(rows(db, "SELECT version_num FROM rebuilder_version")[0][0])
    assert len(versions) == 1
    first = project / "0.db"
    for other in spellings[1:]:
        again = run_cli("sync", other, str(first), cwd=cwd)
        assert again.code == 0, (other, again.err)
        assert again.out.startswith("nothing to do"), (other, again.out)
    checked = run_cli("check", spellings[-1], str(first), cwd=cwd)
    assert (checked.code, checked.out.strip()) == (0, "in sync"), checked.err


def test_flask_layout_loads_under_both_spellings(tmp_path: Path) -> None:
    project = flask_layout(tmp_path / "project")
    sync_both_spellings(project, ["models.py:db", "models:db", "app.py:db", "app:db"], cwd=project)


def test_flask_layout_by_path_from_another_directory(tmp_path: Path) -> None:
    project = flask_layout(tmp_path / "project")
    sync_both_spellings(project, ["project/models.py:db", f"{project}/app.py:db"], cwd=tmp_path)


def test_package_layout_loads_under_both_spellings(tmp_path: Path) -> None:
    project = package_layout(tmp_path / "project")
    sync_both_spellings(project, ["app/models.py:db", "app.models:db"], cwd=project)
    # ``app:db`` alone never imports app.models (create_app does): refused, not "drop everything".
    line = one_error(run_cli("sync", "app:db", str(project / "0.db"), cwd=project))
    assert "the models define no tables: did you import the module that defines them?" in line


def test_both_spellings_are_one_module_imported_once(tmp_path: Path) -> None:
    project = flask_layout(tmp_path / "project")
    write_models(project, FLASK_MODELS + "\nimport counter\ncounter.runs += 1\n", "models.py")
    write_models(project, "runs = 0\n", "counter.py")
    script = textwrap.dedent(
        """
        import sys
        from rebuilder.load import load_models
        first = load_models("models.py:db")
        second = load_models("models:db")
        third = load_models("app.py:db")
        import counter, models
        assert first == second == third, (first, second, third)
        assert first[0] is models.db.metadata
        assert counter.runs == 1, counter.runs
        assert not [m for m in sys.modules if m.startswith("_rebuilder_models")]
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert (proc.returncode, proc.stdout) == (0, "ok\n"), proc.stderr


# --- errors name the spec as typed, and the user's file and line ----------------------


def one_error(result: object, code: int = 1) -> str:
    assert result.code == code, (result.out, result.err)  # type: ignore[attr-defined]
    lines = result.err.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err  # type: ignore[attr-defined]
    return lines[0]


def test_an_error_raised_in_a_library_names_the_users_line(tmp_path: Path) -> None:
    source = """
    from sqlalchemy import Column, Integer, MetaData, Table

    metadata = MetaData()
    Table("pet", metadata, Column("id", Integer, primary_key=True))
    Table("pet", metadata, Column("id", Integer, primary_key=True))
    """
    write_models(tmp_path, source, "pets.py")
    line = one_error(run_cli("plan", "./pets.py:metadata", "app.db", cwd=tmp_path))
    assert "cannot load models './pets.py:metadata'" in line
    assert "Table 'pet' is already defined" in line
    assert line.endswith("at pets.py, line 6"), line


def test_an_error_in_a_helper_names_the_helpers_line(tmp_path: Path) -> None:
    write_models(tmp_path, "def build():\n    raise ValueError('no tables today')\n", "helpers.py")
    write_models(tmp_path, "from helpers import build\n\nmetadata = build()\n", "models.py")
    line = one_error(run_cli("sync", "models:metadata", "app.db", cwd=tmp_path))
    assert "'models:metadata'" in line and "no tables today" in line
    assert line.endswith("at helpers.py, line 2"), line
    assert not (tmp_path / "app.db").exists()


def pets_models(pet_args: str, owner_args: str | None = None) -> str:
    """A models file with a ``pet`` table (and an ``owner`` table unless None) taking these table args."""
    header = (
        "from sqlalchemy import Column, Index, Integer, String\n"
        "from sqlalchemy.orm import declarative_base\n\n"
        "Base = declarative_base()\n"
    )

    def model(name: str, args: str) -> str:
        body = f"    __tablename__ = {name!r}\n    id = Column(Integer, primary_key=True)\n"
        body += "    name = Column(String(50))\n" + (f"    __table_args__ = ({args},)\n" if args else "")
        return f"\n\nclass {name.title()}(Base):\n{body}"

    return header + ("" if owner_args is None else model("owner", owner_args)) + model("pet", pet_args)


CREATE_ALL_FAILURES = {
    "index-without-columns": (
        pets_models('Index("x")'),
        "index 'x' on table 'pet': it has no columns",
    ),
    "index-name-twice": (
        pets_models('Index("ix_name", "name")', owner_args='Index("ix_name", "name")'),
        "index 'ix_name' on table 'pet': the name is defined twice (also on table 'owner')",
    ),
    "index-named-like-a-table": (
        pets_models('Index("Owner", "name")', owner_args=""),
        "index 'Owner' on table 'pet': a table has the same name ('owner')",
    ),
}


@pytest.mark.parametrize("case", list(CREATE_ALL_FAILURES), ids=list(CREATE_ALL_FAILURES))
@pytest.mark.parametrize("command", ["plan", "sync", "check"])
def test_models_sqlite_cannot_create_are_named(tmp_path: Path, case: str, command: str) -> None:
    source, needle = CREATE_ALL_FAILURES[case]
    write_models(tmp_path, source)
    line = one_error(run_cli(command, "models.py:Base", "app.db", cwd=tmp_path))
    assert "cannot load models 'models.py:Base'" in line
    assert needle in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.py"]


@pytest.mark.parametrize("case", ["index-name-twice", "index-named-like-a-table"])
@pytest.mark.parametrize("command", ["plan", "sync", "check"])
def test_a_new_table_sqlite_cannot_create_is_named_beside_tables_already_in_place(
    tmp_path: Path, case: str, command: str
) -> None:
    """The commands on one database create in memory only what differs from it: still named."""
    source, needle = CREATE_ALL_FAILURES[case]
    owner_only = source.split("\n\nclass Pet(Base):")[0] + "\n"
    (tmp_path / "first.py").write_text(owner_only)
    assert run_cli("sync", "first.py:Base", "app.db", cwd=tmp_path).code == 0
    before = (tmp_path / "app.db").read_bytes()
    write_models(tmp_path, source)
    line = one_error(run_cli(command, "models.py:Base", "app.db", cwd=tmp_path))
    assert "cannot load models 'models.py:Base'" in line and needle in line
    assert (tmp_path / "app.db").read_bytes() == before


def test_models_sqlite_cannot_create_in_the_library(tmp_path: Path) -> None:
    namespace: dict[str, object] = {}
    exec(CREATE_ALL_FAILURES["index-without-columns"][0], namespace)
    with pytest.raises(BadModelSpec) as info:
        rebuilder.sync(namespace["Base"], tmp_path / "app.db")
    assert "index 'x' on table 'pet': it has no columns" in info.value.reason
    assert not (tmp_path / "app.db").exists()


# --- models with no tables, plans that drop every table ---------------------------------

BASE_ONLY = """
from sqlalchemy.orm import declarative_base

Base = declarative_base()
"""
CLASSES = """
from base import Base
from sqlalchemy import Column, Integer, String


class City(Base):
    __tablename__ = "city"
    id = Column(Integer, primary_key=True)
    name = Column(String(100))


class Friend(Base):
    __tablename__ = "friend"
    id = Column(Integer, primary_key=True)
    name = Column(String(100))
"""
UNRELATED = """
from sqlalchemy import Column, Integer, MetaData, Table

metadata = MetaData()
Table("invoice", metadata, Column("id", Integer, primary_key=True))
"""


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    """A database with the city and friend tables, empty, made through the real models."""
    write_models(tmp_path, BASE_ONLY, "base.py")
    write_models(tmp_path, CLASSES, "models.py")
    db = tmp_path / "app.db"
    made = run_cli("sync", "models:Base", str(db), cwd=tmp_path)
    assert made.code == 0, made.err
    return db


@pytest.mark.parametrize("command", ["plan", "sync", "check"])
def test_models_with_no_tables_are_refused(tmp_path: Path, city_db: Path, command: str) -> None:
    before = (snapshot(city_db), city_db.read_bytes())
    line = one_error(run_cli(command, "base:Base", str(city_db), cwd=tmp_path))
    assert "the models define no tables: did you import the module that defines them?" in line
    assert "'base:Base'" in line and "nothing was changed" in line
    assert (snapshot(city_db), city_db.read_bytes()) == before
    assert side_files(city_db) == []


def test_models_with_no_tables_create_no_file(tmp_path: Path) -> None:
    write_models(tmp_path, BASE_ONLY, "base.py")
    one_error(run_cli("sync", "base.py:Base", "new.db", cwd=tmp_path))
    assert not (tmp_path / "new.db").exists()


def test_models_with_no_tables_in_the_library(tmp_path: Path, city_db: Path) -> None:
    before = city_db.read_bytes()
    for call in (rebuilder.sync, rebuilder.plan, rebuilder.check):
        with pytest.raises(NoTables) as info:
            call(MetaData(), city_db)
        assert str(info.value).startswith("the models define no tables: did you import")
    assert city_db.read_bytes() == before
    with pytest.raises(NoTables):
        rebuilder.sync(MetaData(), tmp_path / "new.db")
    assert not (tmp_path / "new.db").exists()


def test_dropping_every_table_needs_consent_even_when_empty(tmp_path: Path, city_db: Path) -> None:
    write_models(tmp_path, UNRELATED, "unrelated.py")
    before = (snapshot(city_db), city_db.read_bytes())
    assert rows(city_db, "SELECT count(*) FROM city") == [(0,)]

    planned = run_cli("plan", "unrelated.py:metadata", str(city_db), cwd=tmp_path)
    assert planned.code == 0, planned.err
    assert "drop table city" in planned.out and "drop table friend" in planned.out

    line = one_error(run_cli("sync", "unrelated.py:metadata", str(city_db), cwd=tmp_path))
    assert "refused to drop every table of the database (city, friend)" in line
    assert "--allow-data-loss" in line and "nothing was changed" in line
    dry = run_cli("sync", "unrelated.py:metadata", str(city_db), "--dry-run", cwd=tmp_path)
    assert dry.code == 0 and "drop table city" in dry.out, dry.err
    assert (snapshot(city_db), city_db.read_bytes()) == before

    with pytest.raises(EveryTableDropped) as info:
        rebuilder.sync(
            Table("invoice", MetaData(), Column("id", Integer, primary_key=True)).metadata, city_db
        )
    assert info.value.tables == ("city", "friend")
    with pytest.raises(EveryTableDropped):
        rebuilder.sync(
            Table("invoice", MetaData(), Column("id", Integer, primary_key=True)).metadata,
            city_db,
            dry_run=True,
        )
    assert (snapshot(city_db), city_db.read_bytes()) == before

    applied = run_cli("sync", "unrelated.py:metadata", str(city_db), "--allow-data-loss", cwd=tmp_path)
    assert applied.code == 0, applied.err
    assert user_tables(city_db) == ["invoice"]


def test_dropping_some_tables_or_renaming_the_only_one_needs_no_consent(
    tmp_path: Path, city_db: Path
) -> None:
    one_kept = MetaData()
    Table("city", one_kept, Column("id", Integer, primary_key=True), Column("name", String(100)))
    assert [str(s) for s in rebuilder.sync(one_kept, city_db).steps] == ["drop table friend"]
    renamed = MetaData()
    Table("town", renamed, Column("id", Integer, primary_key=True), Column("name", String(100)))
    result = rebuilder.sync(renamed, city_db, table_renames={"city": "town"})
    assert [str(s) for s in result.steps] == ["rename table city -> town"]


def test_a_database_with_only_other_tools_tables_needs_no_consent(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    execute(db, "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    models = MetaData()
    Table("invoice", models, Column("id", Integer, primary_key=True))
    assert [str(s) for s in rebuilder.sync(models, db).steps] == ["create table invoice"]
