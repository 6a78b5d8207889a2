"""The start-up recipes, run with the real frameworks.

Each example app under ``examples/`` is exercised as a user would run it: the
Flask app factory with Flask-SQLAlchemy through ``app.test_client()``, the
FastAPI app with SQLModel through ``TestClient`` (so its lifespan runs), the
plain script as a subprocess, and several real worker processes starting at
the same instant against one new database file, which must apply the schema
exactly once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT, history, rows, side_files, version_row

import rebuilder

EXAMPLES = ROOT / "examples"
RECIPES = ROOT / "docs" / "recipes.md"
WORKERS = 6

# v2 of the Flask example: the same file with one column added to Note.
FLASK_ANCHOR = "    text = db.Column(db.String(200), nullable=False)\n"
FLASK_V2_LINE = '    done = db.Column(db.Boolean, nullable=False, server_default="0")\n'


def load_example(path: Path, name: str) -> ModuleType:
    """Import an example file under a module name of our choosing (registered, as Flask needs)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def flask_app() -> Iterator[ModuleType]:
    module = load_example(EXAMPLES / "flask_app.py", "flask_app_recipe")
    yield module
    sys.modules.pop("flask_app_recipe", None)


@pytest.fixture(scope="module")
def fastapi_app() -> Iterator[ModuleType]:
    # SQLModel keeps every table model in the one SQLModel.metadata, so the
    # FastAPI example is loaded once per test session.
    module = sys.modules.get("fastapi_app_recipe") or load_example(
        EXAMPLES / "fastapi_app.py", "fastapi_app_recipe"
    )
    yield module


def fastapi_test_client() -> type:
    """FastAPI's TestClient, without Starlette's notice that it prefers httpx2 over httpx."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    return TestClient


def flask_v2_source() -> str:
    source = (EXAMPLES / "flask_app.py").read_text()
    assert source.count(FLASK_ANCHOR) == 1, "the Flask example no longer has the line v2 extends"
    return source.replace(FLASK_ANCHOR, FLASK_ANCHOR + FLASK_V2_LINE)


# --- Flask + Flask-SQLAlchemy -------------------------------------------------


def test_flask_app_factory_syncs_then_serves_rows(flask_app: ModuleType, tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    app = flask_app.create_app(db)
    first = app.extensions["rebuilder"]
    assert first.changed and [str(s) for s in first.steps] == ["create table note"]
    assert version_row(db) == [(first.version,)]

    client = app.test_client()
    created = client.post("/notes", json={"text": "buy milk"})
    assert created.status_code == 201
    assert created.get_json() == {"id": 1, "text": "buy milk"}
    assert client.get("/notes").get_json() == [{"id": 1, "text": "buy milk"}]

    # A restart: the factory runs again, finds the version current, and the rows are there.
    again = flask_app.create_app(db)
    assert not again.extensions["rebuilder"].changed
    assert again.extensions["rebuilder"].steps == ()
    assert again.test_client().get("/notes").get_json() == [{"id": 1, "text": "buy milk"}]
    assert len(history(db)) == 1
    assert rebuilder.check(flask_app.db, db) == []


def test_flask_models_evolve_v1_to_v2_through_the_factory(flask_app: ModuleType, tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    v1 = flask_app.create_app(db)
    assert v1.test_client().post("/notes", json={"text": "written by v1"}).status_code == 201

    path = tmp_path / "v2" / "flask_app.py"
    path.parent.mkdir()
    path.write_text(flask_v2_source())
    v2_module = load_example(path, "flask_app_recipe_v2")
    try:
        v2 = v2_module.create_app(db)
        result = v2.extensions["rebuilder"]
        assert result.changed and result.previous == v1.extensions["rebuilder"].version
        assert [str(s) for s in result.steps] == ["add column note.done BOOLEAN NOT NULL DEFAULT 0"]

        client = v2.test_client()
        assert client.post("/notes", json={"text": "written by v2", "done": True}).status_code == 201
        assert client.get("/notes").get_json() == [
            {"id": 1, "text": "written by v1", "done": False},
            {"id": 2, "text": "written by v2", "done": True},
        ]
        restarted = v2_module.create_app(db)
        assert not restarted.extensions["rebuilder"].changed
        assert [v for v, _ in history(db)] == [v1.extensions["rebuilder"].version, result.version]
        assert rebuilder.check(v2_module.db, db) == []
    finally:
        sys.modules.pop("flask_app_recipe_v2", None)


# --- FastAPI + SQLModel ---------------------------------------------------------


def test_fastapi_lifespan_syncs_then_serves_rows(fastapi_app: ModuleType, tmp_path: Path) -> None:
    test_client = fastapi_test_client()
    db = tmp_path / "heroes.db"
    app = fastapi_app.create_app(db)
    assert not db.exists(), "nothing may touch the database before the lifespan runs"

    with test_client(app) as client:
        first = app.state.schema
        assert first.changed
        assert [str(s) for s in first.steps] == ["create table hero", "create index ix_hero_name on hero"]
        created = client.post("/heroes", json={"name": "Deadpond", "age": 30})
        assert created.status_code == 201
        assert created.json() == {"id": 1, "name": "Deadpond", "age": 30}
        assert client.get("/heroes").json() == [{"id": 1, "name": "Deadpond", "age": 30}]
    assert version_row(db) == [(first.version,)]

    restarted = fastapi_app.create_app(db)
    with test_client(restarted) as client:
        assert not restarted.state.schema.changed and restarted.state.schema.steps == ()
        assert client.get("/heroes").json() == [{"id": 1, "name": "Deadpond", "age": 30}]
    assert len(history(db)) == 1
    assert rebuilder.check(fastapi_app.SQLModel, db) == []


# --- A plain script ------------------------------------------------------------


def test_plain_script_syncs_on_every_run(tmp_path: Path) -> None:
    db = tmp_path / "friends.db"
    runs = [
        subprocess.run(
            [sys.executable, str(EXAMPLES / "script.py"), str(db)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    first, second = runs
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert re.fullmatch(r"applied 4 step\(s\); version [0-9a-f]{32}\n1 city row\(s\)\n", first.stdout)
    assert re.fullmatch(r"nothing to do; version [0-9a-f]{32}\n2 city row\(s\)\n", second.stdout)
    # The script turns on logging: the library's messages come through the "rebuilder" logger.
    assert "rebuilder: synced to version" in first.stderr
    assert second.stderr == ""
    assert rows(db, "SELECT name FROM city") == [("Lisbon",), ("Lisbon",)]
    # The transcript in the recipes doc is this run's output.
    transcript = f"$ python examples/script.py app.db\n{first.stdout}$ python examples/script.py app.db\n"
    assert transcript + second.stdout in RECIPES.read_text()
    assert len(history(db)) == 1


# --- Several workers starting together ----------------------------------------------

WORKER = r"""
import json, os, sys, time, warnings
from pathlib import Path

kind, app_dir, database, ready, go = sys.argv[1:6]
sys.path.insert(0, app_dir)
if kind == "flask":
    import flask_app
else:
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import fastapi_app
    from fastapi.testclient import TestClient

Path(ready, str(os.getpid())).touch()
deadline = time.monotonic() + 60
while not Path(go).exists():
    if time.monotonic() > deadline:
        sys.exit("never released")
    time.sleep(0.001)

if kind == "flask":
    app = flask_app.create_app(database)
    result = app.extensions["rebuilder"]
    response = app.test_client().post("/notes", json={"text": f"worker {os.getpid()}"})
else:
    app = fastapi_app.create_app(database)
    with TestClient(app) as client:
        result = app.state.schema
        response = client.post("/heroes", json={"name": f"worker {os.getpid()}"})
assert response.status_code == 201, response.status_code
print(json.dumps({"changed": result.changed, "steps": len(result.steps), "version": result.version}))
"""


def start_workers(kind: str, app_dir: Path, db: Path, tmp_path: Path) -> list[dict[str, object]]:
    """Start WORKERS processes, wait until all have imported the app, release them at once."""
    ready = tmp_path / "ready"
    ready.mkdir()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, kind, str(app_dir), str(db), str(ready), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for _ in range(WORKERS)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(ready.iterdir())) < WORKERS:
            assert all(p.poll() is None for p in procs), "a worker died before the barrier"
            assert time.monotonic() < deadline, "workers never became ready"
            time.sleep(0.01)
        go.touch()
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    return [json.loads(out) for out, _err in outputs]


def models_version(target: object, tmp_path: Path) -> str:
    """The version the models give, computed without writing anything."""
    return rebuilder.sync(target, tmp_path / "absent.db", dry_run=True).version


@pytest.mark.parametrize(
    ("kind", "start"),
    [("flask", "missing"), ("flask", "wal"), ("fastapi", "missing")],
    ids=["flask-new-file", "flask-wal", "fastapi-new-file"],
)
def test_workers_starting_together_apply_the_schema_once(
    kind: str, start: str, tmp_path: Path, flask_app: ModuleType, fastapi_app: ModuleType
) -> None:
    db = tmp_path / "app.db"
    if start == "wal":
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
        conn.close()
    target = flask_app.db if kind == "flask" else fastapi_app.SQLModel
    table = "note" if kind == "flask" else "hero"

    results = start_workers(kind, EXAMPLES, db, tmp_path)

    expected = models_version(target, tmp_path)
    assert {r["version"] for r in results} == {expected}
    assert sorted(r["changed"] for r in results) == [False] * (WORKERS - 1) + [True]
    assert all((r["steps"] > 0) == r["changed"] for r in results)
    assert version_row(db) == [(expected,)]
    assert len(history(db)) == 1
    assert rows(db, f"SELECT count(*) FROM {table}") == [(WORKERS,)]
    assert rebuilder.check(target, db) == []
    if start == "wal":
        assert rows(db, "PRAGMA journal_mode") == [("wal",)]
    else:
        assert side_files(db) == []


def test_workers_starting_together_on_new_code_upgrade_once(flask_app: ModuleType, tmp_path: Path) -> None:
    """A deploy: every worker restarts with v2 models against the v1 database at once."""
    db = tmp_path / "app.db"
    v1 = flask_app.create_app(db)
    assert v1.test_client().post("/notes", json={"text": "kept"}).status_code == 201
    v2_dir = tmp_path / "v2"
    v2_dir.mkdir()
    (v2_dir / "flask_app.py").write_text(flask_v2_source())

    results = start_workers("flask", v2_dir, db, tmp_path)

    versions = {r["version"] for r in results}
    assert len(versions) == 1 and versions != {v1.extensions["rebuilder"].version}
    assert sorted(r["changed"] for r in results) == [False] * (WORKERS - 1) + [True]
    assert [v for v, _ in history(db)] == [v1.extensions["rebuilder"].version, *versions]
    assert version_row(db) == [(next(iter(versions)),)]
    assert rows(db, "SELECT text, done FROM note WHERE id = 1") == [("kept", 0)]
    assert rows(db, "SELECT count(*) FROM note") == [(WORKERS + 1,)]


def test_uvicorn_workers_start_the_fastapi_app_once(fastapi_app: ModuleType, tmp_path: Path) -> None:
    """``uvicorn --workers 6``, the real server, each worker running the lifespan."""
    import httpx

    db = tmp_path / "app.db"
    sock = tmp_path / "app.sock"
    log_path = tmp_path / "uvicorn.log"
    command = [sys.executable, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(EXAMPLES)]
    command += ["--workers", str(WORKERS), "--uds", str(sock)]
    env = {**os.environ, "APP_DATABASE": str(db)}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while log_path.read_text().count("Application startup complete.") < WORKERS:
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        transport = httpx.HTTPTransport(uds=str(sock))
        with httpx.Client(transport=transport, base_url="http://app") as client:
            assert client.post("/heroes", json={"name": "Rusty-Man"}).status_code == 201
            assert client.get("/heroes").json() == [{"id": 1, "name": "Rusty-Man", "age": None}]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log_path.read_text()
    assert "startup failed" not in text and "Traceback" not in text, text
    expected = models_version(fastapi_app.SQLModel, tmp_path)
    assert version_row(db) == [(expected,)]
    assert len(history(db)) == 1


# --- The docs show the example files as they are -------------------------------------


@pytest.mark.parametrize("name", ["flask_app.py", "fastapi_app.py", "script.py"])
def test_recipes_doc_shows_each_example_file_verbatim(name: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", RECIPES.read_text(), flags=re.DOTALL)
    assert (EXAMPLES / name).read_text() in blocks
