"""Shared test helpers: real files, the real CLI in a subprocess, and a database oracle."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


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

import rebuilder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLI_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
"""The environment of every CLI subprocess: this checkout's package, and a wide terminal."""

MODELS_PRELUDE = """\
from sqlalchemy import (
    CheckConstraint, Column, ForeignKey, Index, Integer, LargeBinary, MetaData, Numeric, String, Table, Text,
    UniqueConstraint, func,
)

metadata = MetaData()
"""
"""The head of every models file the tests write: the SQLAlchemy names they use, and ``metadata``."""
CODE_TEXT = 'Column("code", String(20), nullable=False)'
CODE_INTEGER = 'Column("code", Integer, nullable=False)'
"""``code`` as numeric strings, and as Integer: an affinity change only a rebuild can make."""


BLANK = "'-'"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the database oracle -----------------------------------------------------------------------


def snapshot(path: Path | str, *, steady: bool = False, verbatim: int | None = None) -> dict[str, object]:
    """Everything a user could lose: the schema, every row with rowid and storage classes.

    Used to assert that a refused or failed sync left the database exactly as it was.

    Args:
        path: The database file.
        steady: Blank the history's ``applied_at`` value (its storage class is kept):
            two runs of the same sync differ only there.
        verbatim: Keep at most this many rows of a table as they are; a larger
            table becomes (row count, sha256 of its rows), so millions of rows fit.
    """
    conn = sqlite3.connect(path)
    try:
        schema = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema "
            "WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name"
        ).fetchall()
        tables: dict[str, object] = {}
        for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall():
            cursor = conn.execute(_table_rows_sql(conn, name, steady))
            tables[name] = cursor.fetchall() if verbatim is None else _digest(cursor, verbatim)
        return {"schema": schema, "tables": tables}
    finally:
        conn.close()


def _table_rows_sql(conn: sqlite3.Connection, name: str, steady: bool) -> str:
    """Every row of ``name`` with its rowid (if any), each value beside its storage class."""
    cols = [r[1] for r in conn.execute(f"PRAGMA table_info({quote(name)})")]
    without_rowid = conn.execute("SELECT wr FROM pragma_table_list WHERE name = ?", (name,)).fetchone()[0]
    key = "" if without_rowid else "rowid, "
    blank = {("rebuilder_history", "applied_at")} if steady else set()
    exprs = ", ".join(f"{BLANK if (name, c) in blank else quote(c)}, typeof({quote(c)})" for c in cols)
    return f"SELECT {key}{exprs} FROM {quote(name)} ORDER BY 1"


def _digest(cursor: sqlite3.Cursor, verbatim: int) -> object:
    digest, count, kept = hashlib.sha256(), 0, []
    for row in cursor:
        digest.update(repr(row).encode())
        count += 1
        if count <= verbatim:
            kept.append(row)
    return kept if count <= verbatim else (count, digest.hexdigest())


def side_files(path: Path) -> list[str]:
    """The journal files beside a database that exist right now."""
    return [s for s in ("-journal", "-wal", "-shm") if Path(f"{path}{s}").exists()]


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


def version_row(path: Path | str) -> list[tuple[object, ...]]:
    """The version table's rows: one ``(version_num,)`` once a sync recorded one."""
    return rows(path, "SELECT version_num FROM rebuilder_version")


def history(path: Path | str) -> list[tuple[object, ...]]:
    """The history's ``(version_num, steps)`` rows, oldest first."""
    return rows(path, "SELECT version_num, steps FROM rebuilder_history ORDER BY id")


def columns(path: Path | str, table: str) -> list[str]:
    """The names of a table's columns, in order."""
    return [str(r[1]) for r in rows(path, f"PRAGMA table_info({quote(table)})")]


def frozen(path: Path) -> tuple[object, bytes, list[str]]:
    """Everything a refusal must leave alone: content with storage classes, bytes, side files."""
    return snapshot(path), path.read_bytes(), side_files(path)


def integrity(path: Path | str) -> str:
    """``PRAGMA integrity_check``'s lines joined: ``ok`` for a sound file."""
    return "; ".join(str(r[0]) for r in rows(path, "PRAGMA integrity_check"))


def numbers(n: int) -> str:
    """A ``WITH`` clause giving the table ``s(x)`` of the integers 1 to ``n``."""
    return f"WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {n}) "


def synced(path: Path, metadata: MetaData, mode: str = "delete") -> None:
    """A new database synced to ``metadata`` by rebuilder, in ``mode`` (``delete`` or ``wal``)."""
    if mode == "wal":
        conn = sqlite3.connect(path, isolation_level=None)
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
        conn.close()
    rebuilder.sync(metadata, path)


# --- the CLI in a subprocess -------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(
    *args: str,
    cwd: Path | None = None,
    stdin: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> Result:
    """Run ``python -m rebuilder`` in a real subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "rebuilder", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=CLI_ENV,
        input=stdin,
        timeout=120,
        preexec_fn=preexec_fn,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def one_sentence(result: Result, code: int = 1) -> str:
    """Assert the exit code, one ``error:`` line on stderr and no traceback; return the line."""
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), result.err
    return lines[0]


@pytest.fixture
def reap() -> Iterator[list[subprocess.Popen[str]]]:
    """Every process a test starts is killed and reaped, even when the test fails.

    A process started in a session of its own is killed with its whole group.
    """
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            if os.getpgid(proc.pid) == proc.pid:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.communicate()


# --- models files --------------------------------------------------------------------------------


def write_models(directory: Path, source: str, name: str = "models.py") -> Path:
    """Write a models file and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def load_models_source(source: str, path: Path, attr: str = "metadata") -> MetaData:
    """Run a models file's source (already written to ``path``) and return its MetaData."""
    namespace: dict[str, object] = {}
    exec(compile(source, str(path), "exec"), namespace)
    found = namespace[attr]
    assert isinstance(found, MetaData)
    return found


class Models(NamedTuple):
    """One models file: its CLI spec and the same MetaData loaded in this process."""

    spec: str
    metadata: MetaData


def models_file(directory: Path, body: str, name: str = "models.py") -> Models:
    """Write ``MODELS_PRELUDE`` and ``body`` (dedented) as a models file, and load it here too."""
    source = MODELS_PRELUDE + textwrap.dedent(body)
    path = write_models(directory, source, name)
    return Models(f"{path}:metadata", load_models_source(source, path))


def named_table(table: str, *columns: str) -> str:
    """Models source of ``table``: ``id`` primary key, ``name`` String(50), then ``columns`` (source)."""
    head = f'Table("{table}", metadata, Column("id", Integer, primary_key=True), Column("name", String(50))'
    return head + "".join(f", {c}" for c in columns) + ")\n"


def coded_table(table: str, *extra: str) -> str:
    """Models source of ``table`` with a NOT NULL ``code`` (``CODE_TEXT``) under an index, and ``extra``."""
    items = [
        f'"{table}"',
        "metadata",
        'Column("id", Integer, primary_key=True)',
        CODE_TEXT,
        'Column("name", String(40))',
        f'Index("ix_{table}_code", "code")',
        *extra,
    ]
    return "Table(\n" + "".join(f"    {item},\n" for item in items) + ")\n"


@dataclass(frozen=True)
class Versions:
    """Two versions of the models: both loaded here, and the CLI spec of the second."""

    spec: str
    v1: MetaData
    v2: MetaData


def write_versions(directory: Path, v1: str, v2: str) -> Versions:
    """Write the bodies ``v1`` and ``v2`` as ``models_v1.py`` and ``models_v2.py`` (readable by anyone)."""
    first = models_file(directory, v1, "models_v1.py")
    second = models_file(directory, v2, "models_v2.py")
    for name in ("models_v1.py", "models_v2.py"):
        os.chmod(directory / name, 0o644)
    return Versions(second.spec, first.metadata, second.metadata)


# --- sizes of the stress runs ------------------------------------------------------------------


def slow_selected(config: pytest.Config) -> bool:
    """``pytest -m slow`` was asked for: the stress runs go full size."""
    return "slow" in (config.getoption("markexpr", "") or "")


def sized(config: pytest.Config, variable: str, reduced: int, full: int) -> int:
    """A stress run's size: ``variable`` from the environment, else full under ``-m slow``."""
    if value := os.environ.get(variable):
        return int(value)
    return full if slow_selected(config) else reduced


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "app.db"
