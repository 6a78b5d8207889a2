"""A live app during a sync: the ``-wal`` file a sync leaves, and the oldest SQLite supported.

The sync runs as the real CLI in its own process while this process keeps the
app's connection to the same WAL database open (so SQLite does not delete the
``-wal`` file when the sync's connection closes, as in a running app):

- after a rebuild that wrote several MB into the log, the ``-wal`` file is
  checkpointed and truncated to zero bytes, and every value is there;
- a reader holding a snapshot from before the sync keeps the log from being
  truncated, yet the sync still succeeds promptly and ``--debug`` says why;
- a sync with nothing to do does not touch the log;
- the commands that only read (plan, check, current, history, and the library's
  plan and check) leave no ``-wal`` or ``-shm`` file behind, and leave an app's
  files alone while it has the database open.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import pytest
from conftest import Result, rows, run_cli, write_models

import rebuilder
from rebuilder.capabilities import MINIMUM_SQLITE, require_supported
from rebuilder.errors import SQLiteTooOld
from rebuilder.load import load_models
from rebuilder.wal import TRIES

V1 = """\
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
Table("item", metadata, Column("id", Integer, primary_key=True), Column("code", String(20)),
      Column("name", String(40)))
"""
V2 = V1.replace('Column("code", String(20))', 'Column("code", Integer)')
ROWS = 60_000


def wal_db(tmp_path: Path) -> tuple[Path, Path]:
    """A WAL database at v1 with ROWS rows; returns it and the v2 models file."""
    db = tmp_path / "app.db"
    v1 = write_models(tmp_path, V1, "v1.py")
    v2 = write_models(tmp_path, V2, "v2.py")
    conn = sqlite3.connect(db, isolation_level=None)
    assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    conn.close()
    assert run_cli("sync", f"{v1}:metadata", str(db)).code == 0
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(
        f"WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {ROWS}) "
        "INSERT INTO item (id, code, name) SELECT x, CAST(x * 7 AS TEXT), 'name ' || x FROM s"
    )
    conn.close()
    return db, v2


def wal_bytes(db: Path) -> int:
    wal = Path(f"{db}-wal")
    return wal.stat().st_size if wal.exists() else -1


def app_connection(db: Path) -> sqlite3.Connection:
    """The app's connection: open, idle, and it has read the database once."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("SELECT count(*) FROM item").fetchone()
    return conn


def sync(v2: Path, db: Path) -> tuple[Result, float]:
    started = time.monotonic()
    result = run_cli("sync", f"{v2}:metadata", str(db), "--no-progress", "--debug")
    return result, time.monotonic() - started


def assert_converted(db: Path) -> None:
    assert rows(db, "SELECT typeof(code), count(*), sum(code = id * 7) FROM item GROUP BY 1") == [
        ("integer", ROWS, ROWS)
    ]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


def test_a_rebuild_in_wal_mode_leaves_the_wal_truncated(tmp_path: Path) -> None:
    db, v2 = wal_db(tmp_path)
    app = app_connection(db)
    try:
        result, _ = sync(v2, db)
        assert result.code == 0, result.err
        assert wal_bytes(db) == 0, "the -wal file was not truncated"
        assert "checkpointed and truncated" in result.err
        assert app.execute("SELECT typeof(code), count(*) FROM item GROUP BY 1").fetchall() == [
            ("integer", ROWS)
        ]
    finally:
        app.close()
    assert_converted(db)


def test_a_reader_holding_an_old_snapshot_does_not_hold_the_sync_up(tmp_path: Path) -> None:
    db, v2 = wal_db(tmp_path)
    # Time one sync without a reader on a copy, to compare with.
    (tmp_path / "baseline").mkdir()
    baseline_db, _ = wal_db(tmp_path / "baseline")
    _, baseline = sync(v2, baseline_db)
    reader = app_connection(db)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT typeof(code) FROM item LIMIT 1").fetchone() == ("text",)
        result, waited = sync(v2, db)
        assert result.code == 0, result.err
        assert "could not truncate the -wal file" in result.err and "older snapshot" in result.err
        # Held up, it would wait out the 30 s busy timeout; the tries are bounded (about 1.1 s),
        # and the margin leaves room for a loaded machine.
        assert f"through {TRIES} tries" in result.err
        assert waited < baseline + 10, f"the sync took {waited:.1f}s, {baseline:.1f}s without the reader"
        assert wal_bytes(db) > 1_000_000, "the log was truncated under a reader's snapshot"
        # The reader still sees its snapshot, unharmed.
        assert reader.execute("SELECT typeof(code), count(*) FROM item GROUP BY 1").fetchall() == [
            ("text", ROWS)
        ]
        reader.execute("COMMIT")
    finally:
        reader.close()
    assert_converted(db)


def test_a_sync_with_nothing_to_do_leaves_the_wal_alone(tmp_path: Path) -> None:
    db, v2 = wal_db(tmp_path)
    app = app_connection(db)
    try:
        assert sync(v2, db)[0].code == 0
        app.execute("INSERT INTO item (id, code, name) VALUES (?, 7, 'late')", (ROWS + 1,))
        before = wal_bytes(db), Path(f"{db}-wal").stat().st_mtime_ns
        result, _ = sync(v2, db)
        assert (result.code, result.out.strip()[:15]) == (0, "nothing to do; ")
        assert (wal_bytes(db), Path(f"{db}-wal").stat().st_mtime_ns) == before
        assert "checkpoint" not in result.err
    finally:
        app.close()


def reading_commands(db: Path, models: Path) -> list[tuple[str, ...]]:
    spec = f"{models}:metadata"
    return [("plan", spec, str(db)), ("check", spec, str(db)), ("current", str(db)), ("history", str(db))]


def test_commands_that_only_read_leave_no_wal_files_behind(tmp_path: Path) -> None:
    db, v2 = wal_db(tmp_path)
    assert sync(v2, db)[0].code == 0
    content = hashlib.sha256(db.read_bytes()).hexdigest()
    listing = sorted(p.name for p in tmp_path.iterdir())
    assert "app.db-wal" not in listing and "app.db-shm" not in listing
    for command in reading_commands(db, v2):
        result = run_cli(*command)
        assert result.code == 0, (command, result.err)
        assert sorted(p.name for p in tmp_path.iterdir()) == listing, command
    metadata = load_models(f"{v2}:metadata")
    assert not rebuilder.plan(list(metadata), db).steps and rebuilder.check(list(metadata), db) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == listing
    assert hashlib.sha256(db.read_bytes()).hexdigest() == content  # read, never written
    assert rows(db, "SELECT typeof(code), count(*) FROM item GROUP BY 1") == [("integer", ROWS)]


def test_commands_that_only_read_leave_an_open_apps_wal_alone(tmp_path: Path) -> None:
    db, v2 = wal_db(tmp_path)
    assert sync(v2, db)[0].code == 0
    app = app_connection(db)
    try:
        app.execute("INSERT INTO item (id, code, name) VALUES (?, 7, 'late')", (ROWS + 1,))
        before = wal_bytes(db), Path(f"{db}-wal").stat().st_mtime_ns
        for command in reading_commands(db, v2):
            assert run_cli(*command).code == 0, command
        assert (wal_bytes(db), Path(f"{db}-wal").stat().st_mtime_ns) == before
        assert app.execute("SELECT code, typeof(code) FROM item WHERE id = ?", (ROWS + 1,)).fetchall() == [
            (7, "integer")
        ]
    finally:
        app.close()


def test_an_sqlite_older_than_the_minimum_is_refused_with_a_clear_message() -> None:
    require_supported()  # the SQLite this suite runs on is supported
    with pytest.raises(SQLiteTooOld) as info:
        require_supported((3, 36, 0))
    assert str(info.value).startswith("this Python's sqlite3 module uses SQLite 3.36.0, but rebuilder needs")
    assert info.value.minimum == MINIMUM_SQLITE == (3, 37, 0)
    assert sqlite3.sqlite_version_info >= MINIMUM_SQLITE
