"""Shared test helpers: real files, the real CLI in a subprocess, and a database oracle."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path


def _use_another_sqlite() -> None:
    """With ``REBUILDER_TEST_SQLITE=pysqlite3``, run everything on pysqlite3-binary's SQLite.

    ``pysqlite3`` stands in for the standard ``sqlite3`` module before anything
    imports it (rebuilder, SQLAlchemy's pysqlite dialect, the tests), as
    ``sqlite3`` and ``sqlite3.dbapi2`` alike.
    """
    if os.environ.get("REBUILDER_TEST_SQLITE", "sqlite3") == "sqlite3":
        return
    assert os.environ["REBUILDER_TEST_SQLITE"] == "pysqlite3", "REBUILDER_TEST_SQLITE: sqlite3 or pysqlite3"
    assert "sqlite3" not in sys.modules, "sqlite3 was imported before the pysqlite3 shim could replace it"
    import pysqlite3
    import pysqlite3.dbapi2

    sys.modules["sqlite3"] = pysqlite3
    sys.modules["sqlite3.dbapi2"] = pysqlite3.dbapi2


_use_another_sqlite()

import sqlite3  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import MetaData  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def snapshot(path: Path | str) -> dict[str, object]:
    """Everything a user could lose: the schema, every row with rowid and storage classes.

    Used to assert that a refused or failed sync left the database exactly as it was.
    """
    conn = sqlite3.connect(path)
    try:
        schema = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema "
            "WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name"
        ).fetchall()
        tables = {}
        for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'"):
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({quote(name)})")]
            without_rowid = conn.execute(
                "SELECT wr FROM pragma_table_list WHERE name = ?", (name,)
            ).fetchone()[0]
            key = "" if without_rowid else "rowid, "
            exprs = ", ".join(f"{quote(c)}, typeof({quote(c)})" for c in cols)
            rows = conn.execute(f"SELECT {key}{exprs} FROM {quote(name)} ORDER BY 1").fetchall()
            tables[name] = rows
        return {"schema": schema, "tables": tables}
    finally:
        conn.close()


def side_files(path: Path) -> list[str]:
    """The journal files beside a database that exist right now."""
    return [s for s in ("-journal", "-wal", "-shm") if Path(f"{path}{s}").exists()]


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str, cwd: Path | None = None, stdin: str | None = None) -> Result:
    """Run ``python -m rebuilder`` in a real subprocess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "rebuilder", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        input=stdin,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def write_models(directory: Path, source: str, name: str = "models.py") -> Path:
    """Write a models file and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(source))
    return path


def load_models_source(source: str, path: Path, attr: str = "metadata") -> MetaData:
    """Run a models file's source (already written to ``path``) and return its MetaData."""
    namespace: dict[str, object] = {}
    exec(compile(source, str(path), "exec"), namespace)
    found = namespace[attr]
    assert isinstance(found, MetaData)
    return found


def rows(path: Path | str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def execute(path: Path | str, *statements: str) -> None:
    conn = sqlite3.connect(path)
    try:
        for sql in statements:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "app.db"
