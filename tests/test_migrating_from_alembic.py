"""The guide docs/migrating-from-alembic.md, run step by step on a Flask-Migrate project.

The database is made by Flask-Migrate's own ``flask db init``, ``flask db migrate``
and ``flask db upgrade``; the switch, the ``include_object`` snippet (taken from
the guide itself) and the way back are run with the real ``flask`` command.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT, Result, execute, rows

GUIDE = ROOT / "docs" / "migrating-from-alembic.md"

APP = """
import os

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
migrate = Migrate()
{snippet}

def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///app.db")
    db.init_app(app)
    {init_migrate}
    from myapp import models  # noqa: F401

    return app
"""

V1 = """
from myapp import db


class City(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), server_default="")


class Friend(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False)
    city_id = db.Column(db.Integer, db.ForeignKey("city.id"))
"""
# v2, still with Alembic: a new nullable column.
V2 = V1.replace(
    "    name = db.Column(db.String(100), nullable=False)\n",
    "    name = db.Column(db.String(100), nullable=False)\n    email = db.Column(db.String(200))\n",
)
# v3, with rebuilder: drop a column that holds values, add one with a default.
NICKNAME = '    nickname = db.Column(db.String(50), nullable=False, server_default="")\n'
V3 = V2.replace('    name = db.Column(db.String(100), server_default="")\n', "").replace(
    "    email = db.Column(db.String(200))\n", "    email = db.Column(db.String(200))\n" + NICKNAME
)


def guide_block(starting: str) -> str:
    """The guide's python code block that starts with ``starting``."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    found = [b for b in blocks if b.startswith(starting)]
    assert len(found) == 1, f"the guide has no single python block starting with {starting!r}"
    return found[0]


def write_app(project: Path, *, with_snippet: bool) -> None:
    snippet = guide_block("REBUILDER_TABLES") if with_snippet else ""
    init_migrate = guide_block("migrate.init_app").strip() if with_snippet else "migrate.init_app(app, db)"
    (project / "myapp" / "__init__.py").write_text(
        textwrap.dedent(APP).format(snippet=snippet, init_migrate=init_migrate)
    )


def write_models(project: Path, source: str) -> None:
    (project / "myapp" / "models.py").write_text(textwrap.dedent(source))


def flask(project: Path, *args: str, database: str | None = None) -> Result:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)])}
    env.pop("DATABASE_URL", None)
    if database is not None:
        env["DATABASE_URL"] = database
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "myapp", *args],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def ok(result: Result) -> Result:
    assert result.code == 0, (result.out, result.err)
    return result


def revisions(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "migrations" / "versions").glob("*.py"))


def test_the_guide_on_a_flask_migrate_database(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "myapp").mkdir(parents=True)
    write_app(project, with_snippet=False)
    write_models(project, V1)
    real = project / "instance" / "app.db"

    # The Alembic era: Flask-Migrate's own commands make and evolve the database.
    ok(flask(project, "db", "init"))
    ok(flask(project, "db", "migrate", "-m", "initial"))
    ok(flask(project, "db", "upgrade"))
    execute(
        real, "INSERT INTO city (id, name) VALUES (1, 'Lisbon')", "INSERT INTO friend VALUES (1, 'Ana', 1)"
    )
    write_models(project, V2)
    ok(flask(project, "db", "migrate", "-m", "email"))
    ok(flask(project, "db", "upgrade"))
    head = rows(real, "SELECT version_num FROM alembic_version")
    assert len(head) == 1 and len(revisions(project)) == 2

    # 2. plan: no step on a database at head; check agrees.
    planned = ok(flask(project, "rebuilder", "plan"))
    assert not [line for line in planned.out.splitlines() if line.startswith(("- ", "! "))], planned.out
    assert ok(flask(project, "rebuilder", "check")).out == "in sync\n"

    # 3. switch: only the version and one history row are written; alembic_version is untouched.
    before = {t: rows(real, f"SELECT * FROM {t} ORDER BY 1") for t in ("city", "friend")}
    ok(flask(project, "rebuilder", "sync"))
    assert rows(real, "SELECT version_num FROM alembic_version") == head
    assert {t: rows(real, f"SELECT * FROM {t} ORDER BY 1") for t in ("city", "friend")} == before
    assert rows(real, "SELECT count(*) FROM rebuilder_history") == [(1,)]

    # 4. Without the snippet autogenerate proposes dropping rebuilder's tables; with it, nothing.
    proposed = ok(flask(project, "db", "migrate", "-m", "unwanted"))
    assert "Detected removed table 'rebuilder_version'" in proposed.err + proposed.out
    for name in set(revisions(project)) - {r for r in revisions(project) if "initial" in r or "email" in r}:
        (project / "migrations" / "versions" / name).unlink()
    write_app(project, with_snippet=True)
    quiet = ok(flask(project, "db", "migrate", "-m", "nothing"))
    assert "No changes in schema detected." in quiet.err + quiet.out
    assert "rebuilder" not in quiet.err + quiet.out
    assert len(revisions(project)) == 2

    # Life with rebuilder: a change Alembic needs batch mode for, applied by sync.
    write_models(project, V3)
    refused = flask(project, "rebuilder", "sync")
    assert refused.code == 1 and "drop column city.name" in refused.err
    ok(flask(project, "rebuilder", "sync", "--allow-data-loss"))
    assert rows(real, "SELECT id, email, nickname FROM friend") == [(1, None, "")]
    after_sync = ok(flask(project, "db", "migrate"))
    assert "No changes in schema detected." in after_sync.err + after_sync.out
    assert rows(real, "SELECT version_num FROM alembic_version") == head

    # 5. Going back: a catch-up revision made against a scratch database at Alembic's head...
    scratch = "sqlite:///scratch.db"
    ok(flask(project, "db", "upgrade", database=scratch))
    ok(flask(project, "db", "migrate", "-m", "catch up with rebuilder", database=scratch))
    assert len(revisions(project)) == 3
    # ...and the real database, whose schema is already there, only stamped.
    ok(flask(project, "db", "stamp", "head"))
    assert rows(real, "SELECT version_num FROM alembic_version") != head
    ok(flask(project, "db", "check"))
    # A new database built by Alembic alone now has the schema rebuilder made.
    ok(flask(project, "db", "upgrade", database="sqlite:///fresh.db"))
    fresh = flask(project, "rebuilder", "check", database="sqlite:///fresh.db")
    assert (fresh.code, fresh.out) == (0, "in sync\n"), (fresh.out, fresh.err)
    assert rows(real, "SELECT id, email, nickname FROM friend") == [(1, None, "")]
