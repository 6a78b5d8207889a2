"""Which tables are rebuilder's, which are other tools', and which are the models' to manage.

Only the version and history tables, by their exact names, are rebuilder's. Other
tools' bookkeeping tables (``alembic_version``, Litestream's ``_litestream_seq`` and
``_litestream_lock``), ``sqlite_*`` tables and virtual tables with their shadows are
never touched. Any other table, ``rebuilder_jobs`` included, is created and dropped
like any other.
"""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT, execute, rows, run_cli, write_models

import rebuilder
from rebuilder.names import is_internal

WITH_JOBS = """
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
Table("pet", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))
Table("rebuilder_jobs", metadata, Column("id", Integer, primary_key=True), Column("kind", String(20)))
"""
WITHOUT_JOBS = """
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
Table("pet", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))
"""

OTHER_TOOLS = {
    "alembic_version": "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
    "_litestream_seq": "CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)",
    "_litestream_lock": "CREATE TABLE _litestream_lock (id INTEGER)",
}


def tables(db: Path) -> list[str]:
    return [name for (name,) in rows(db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY 1")]


def test_only_exact_names_are_ours() -> None:
    for name in ("rebuilder_version", "rebuilder_history", "REBUILDER_HISTORY", "alembic_version"):
        assert is_internal(name, "rebuilder_version"), name
    for name in ("_litestream_seq", "_litestream_lock", "sqlite_stat1", "app_version"):
        assert is_internal(name, "app_version"), name
    for name in ("rebuilder_jobs", "my_rebuilder", "rebuilder", "rebuilder_versions", "litestream"):
        assert not is_internal(name, "rebuilder_version"), name


def test_a_users_rebuilder_jobs_table_is_created_and_dropped(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    execute(
        db,
        *OTHER_TOOLS.values(),
        "INSERT INTO alembic_version VALUES ('ae1027a6acf')",
        "INSERT INTO _litestream_seq VALUES (1, 42)",
        "INSERT INTO _litestream_lock VALUES (7)",
        "CREATE VIRTUAL TABLE notes_fts USING fts5(body)",
        "INSERT INTO notes_fts VALUES ('hello')",
    )
    others_before = {name: rows(db, f"SELECT * FROM {name}") for name in OTHER_TOOLS}
    with_jobs = write_models(tmp_path, WITH_JOBS, "with_jobs.py")
    without_jobs = write_models(tmp_path, WITHOUT_JOBS, "without_jobs.py")

    created = run_cli("sync", f"{with_jobs}:metadata", str(db))
    assert created.code == 0, created.err
    assert "create table rebuilder_jobs" in created.out
    assert "rebuilder_jobs" in tables(db)
    execute(db, "INSERT INTO rebuilder_jobs (kind) VALUES ('mail')")
    checked = run_cli("check", f"{with_jobs}:metadata", str(db))
    assert (checked.code, checked.out.strip()) == (0, "in sync"), checked.err

    # Dropping it is dropping a table with rows: refused like any other, then allowed.
    refused = run_cli("sync", f"{without_jobs}:metadata", str(db))
    assert refused.code == 1 and "rebuilder_jobs" in refused.err
    dropped = run_cli("sync", f"{without_jobs}:metadata", str(db), "--allow-data-loss")
    assert dropped.code == 0, dropped.err
    assert "drop table rebuilder_jobs" in dropped.out
    assert "rebuilder_jobs" not in tables(db)

    # Other tools' tables and the virtual table were never touched.
    assert {name: rows(db, f"SELECT * FROM {name}") for name in OTHER_TOOLS} == others_before
    assert rows(db, "SELECT body FROM notes_fts") == [("hello",)]
    assert rebuilder.check(_metadata(without_jobs), db) == []


def _metadata(path: Path) -> object:
    namespace: dict[str, object] = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace["metadata"]


def test_docs_list_every_table_never_managed() -> None:
    text = " ".join((ROOT / "docs" / "versions.md").read_text().split())
    for name in ("rebuilder_version", "rebuilder_history", *OTHER_TOOLS, "sqlite_*", "rebuilder_jobs"):
        assert f"`{name}`" in text, name
    assert "virtual tables (FTS5, R*Tree, ...) and their shadow tables" in text
