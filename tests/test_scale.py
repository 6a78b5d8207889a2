"""Planning at scale: the fingerprint, the start-up fast path, and reading each table once.

- The structural fingerprint changes whenever the DDL SQLAlchemy compiles
  would, on every scenario's models, and is stable across compiling them.
- A change of fingerprint algorithm re-records the version once and changes
  nothing else.
- The start-up fast path runs one statement: the version row's SELECT.
- Tables stored exactly as the models compile them are read once
  (`rebuilder.sides`): both sides come out as the full read makes them, and
  `check` says what the full comparison says.
- The text-keyed parsers remember what they parsed, and return what parsing
  again would.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from scenarios import build
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    text,
)
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex, CreateTable
from test_scenarios import ALL

import rebuilder
from rebuilder.ddl import split_create_index, split_create_table
from rebuilder.declare import declare, plain_index_sql, unchanged
from rebuilder.diff import compare
from rebuilder.errors import VersionTableInvalid
from rebuilder.fingerprint import fingerprint
from rebuilder.names import excluded
from rebuilder.reflect import read_stored, reflect
from rebuilder.sides import read_both

VERSIONS = [(s.name, n, v) for s in ALL if not s.bug for n, v in enumerate(s.versions)]


def compiled_digest(metadata: MetaData, exclude: tuple[str, ...] = ()) -> str:
    """What the first fingerprint hashed: every table's and index's compiled DDL, sorted."""
    dialect = sqlite_dialect.dialect()
    parts = []
    for table in metadata.tables.values():
        if excluded(table.name, exclude):
            continue
        parts.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        parts.extend(
            str(CreateIndex(ix).compile(dialect=dialect)).strip()
            for ix in table.indexes
            if ix.name is None or not excluded(ix.name, exclude)
        )
    digest = hashlib.sha256(b"rebuilder-fingerprint-1")
    for part in sorted(parts):
        digest.update(b"\x00" + part.encode())
    for pattern in sorted(set(exclude)):
        digest.update(b"\x01" + pattern.encode())
    return digest.hexdigest()[:32]


# --- the fingerprint ---------------------------------------------------------


def test_the_fingerprint_changes_whenever_the_compiled_ddl_would() -> None:
    """Across every scenario's models: one fingerprint never stands for two compiled schemas."""
    seen: dict[str, tuple[str, str]] = {}
    for name, number, version in VERSIONS:
        metadata = build(version.models)
        printed = fingerprint([metadata], version.exclude)
        compiled = compiled_digest(metadata, version.exclude)
        where = f"{name} v{number}"
        if printed in seen:
            assert seen[printed][0] == compiled, f"{where} and {seen[printed][1]} share a fingerprint"
        seen[printed] = (compiled, where)
    assert len({c for c, _ in seen.values()}) > 50


def pets(**changes: object) -> MetaData:
    """One table with a little of everything; ``changes`` swaps one part."""
    metadata = MetaData()
    Table("owner", metadata, Column("id", Integer, primary_key=True))
    Table(
        "pet",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", changes.get("type", String(50)), nullable=bool(changes.get("nullable", False))),
        Column("legs", Integer, server_default=changes.get("default", text("4"))),
        Column("age", Integer, *([CheckConstraint(str(changes["own"]))] if "own" in changes else [])),
        Column("owner_id", Integer, ForeignKey("owner.id", ondelete=changes.get("ondelete", "CASCADE"))),
        CheckConstraint(str(changes.get("check", "legs >= 0")), name="ck_legs"),
        Index("ix_pet_name", "name", sqlite_where=text(str(changes.get("where", "legs > 0")))),
        sqlite_autoincrement=bool(changes.get("autoincrement", False)),
    )
    return metadata


@pytest.mark.parametrize(
    "change",
    [
        {"type": String(60)},
        {"nullable": True},
        {"default": text("5")},
        {"default": "4"},
        {"ondelete": "SET NULL"},
        {"check": "legs > 0"},
        {"where": "legs > 1"},
        {"autoincrement": True},
        {"own": "age >= 0"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_each_part_of_a_table_is_in_the_fingerprint(change: dict[str, object]) -> None:
    base, changed = pets(), pets(**change)
    assert compiled_digest(base) != compiled_digest(changed)
    assert fingerprint([base]) != fingerprint([changed])
    assert fingerprint([base]) == fingerprint([pets()])


def test_the_fingerprint_is_stable_and_follows_excludes_and_intent(tmp_path: Path) -> None:
    metadata = pets()
    before = fingerprint([metadata])
    rebuilder.sync(metadata, tmp_path / "pets.db")  # compiles everything, fills SQLAlchemy's caches
    assert fingerprint([metadata]) == before
    assert fingerprint([metadata], ["legacy_*"]) != before
    renamed = pets()
    renamed.tables["pet"].c.name.info["renamed_from"] = "title"
    assert fingerprint([renamed]) != before


# --- a new algorithm re-records the version once -----------------------------------------------


def schema_rows(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema "
            "WHERE name NOT LIKE 'rebuilder_%' ORDER BY name"
        ).fetchall()
    finally:
        conn.close()


def read(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_new_fingerprint_algorithm_re_records_the_version_once(tmp_path: Path) -> None:
    db = tmp_path / "pets.db"
    metadata = pets()
    rebuilder.sync(metadata, db)
    old = compiled_digest(metadata)  # what the first algorithm stored
    conn = sqlite3.connect(db)
    conn.execute("UPDATE rebuilder_version SET version_num = ?", (old,))
    conn.execute("INSERT INTO pet (id, name, legs) VALUES (1, 'Rex', 3)")
    conn.commit()
    conn.close()
    schema, history = schema_rows(db), read(db, "SELECT id FROM rebuilder_history")

    result = rebuilder.sync(metadata, db)
    assert result.steps == () and result.previous == old and result.version == fingerprint([metadata])
    assert read(db, "SELECT version_num FROM rebuilder_version") == [(result.version,)]
    added = read(db, "SELECT version_num, steps, summary FROM rebuilder_history ORDER BY id")[len(history) :]
    assert added == [(result.version, 0, "recorded version")]
    assert schema_rows(db) == schema
    assert read(db, "SELECT id, name, legs FROM pet") == [(1, "Rex", 3)]

    again = rebuilder.sync(metadata, db)
    assert again.steps == () and again.previous == again.version
    assert len(read(db, "SELECT id FROM rebuilder_history")) == len(history) + 1


# --- the fast path -------------------------------------------------------------------


def traced(conn: sqlite3.Connection, call: Callable[[], object]) -> list[str]:
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        call()
    finally:
        conn.set_trace_callback(None)
    return statements


def test_the_fast_path_reads_the_version_row_and_nothing_else(tmp_path: Path) -> None:
    db = tmp_path / "pets.db"
    metadata = pets()
    rebuilder.sync(metadata, db)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        statements = traced(conn, lambda: rebuilder.sync(metadata, conn))
    finally:
        conn.close()
    assert statements == ['SELECT version_num FROM main."rebuilder_version" LIMIT 2']


def test_the_version_tables_shape_is_checked_before_writing(tmp_path: Path) -> None:
    db = tmp_path / "pets.db"
    metadata = pets()
    rebuilder.sync(metadata, db)
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE rebuilder_version ADD COLUMN extra TEXT")
    conn.commit()
    conn.close()
    # Current: the fast path reads the row and returns; nothing is written.
    assert not rebuilder.sync(metadata, db).changed
    # Not current: the shape is checked under the lock, before anything is written.
    with pytest.raises(VersionTableInvalid):
        rebuilder.sync(pets(nullable=True), db)


def test_a_missing_version_table_is_read_as_no_version(tmp_path: Path) -> None:
    db = tmp_path / "pets.db"
    metadata = pets()
    metadata.create_all(sqlite_engine(db))
    result = rebuilder.sync(metadata, db)
    assert result.steps == () and result.previous is None


def sqlite_engine(path: Path) -> object:
    from sqlalchemy import create_engine

    return create_engine(f"sqlite:///{path}")


# --- each table read once ------------------------------------------------------------


def scale(tables: int, name_length: int = 100) -> MetaData:
    """A chain of tables, each with a UNIQUE, a CHECK, server defaults, two indexes and an FK."""
    metadata = MetaData()
    for n in range(tables):
        parent = [ForeignKey(f"t{n - 1}.id")] if n else []
        Table(
            f"t{n}",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("parent_id", Integer, *parent),
            Column("name", String(name_length), nullable=False, server_default=""),
            Column("code", String(32), unique=True),
            Column("qty", Integer, nullable=False, server_default=text("0")),
            CheckConstraint("qty >= 0"),
            Index(f"ix_t{n}_name", "name"),
            Index(f"ix_t{n}_qty", "qty", "code"),
        )
    return metadata


def both_ways(conn: sqlite3.Connection, metadata: MetaData, exclude: tuple[str, ...] = ()) -> None:
    """The shortcut's schemas equal the full read's, and check's comparison says the same."""
    live, target = reflect(conn, exclude), declare([metadata], exclude)
    assert read_both(conn, [metadata], exclude) == (live, target)
    partial = read_both(conn, [metadata], exclude, whole=False)
    assert compare(*partial) == compare(live, target)


def test_tables_synced_by_rebuilder_are_read_once(tmp_path: Path) -> None:
    db = tmp_path / "scale.db"
    rebuilder.sync(scale(4), db)
    conn = sqlite3.connect(db)
    try:
        assert unchanged([scale(4)], read_stored(conn)) == {"t0", "t1", "t2", "t3"}
        assert unchanged([scale(4, 120)], read_stored(conn)) == frozenset()
        both_ways(conn, scale(4))
        both_ways(conn, scale(4, 120))
        both_ways(conn, scale(3))
    finally:
        conn.close()
    # A rebuild (TEXT -> INTEGER affinity) leaves the table's name quoted by SQLite's RENAME.
    rebuilt = scale(4)
    rebuilt.tables["t2"].c.code.type = Integer()
    rebuilder.sync(rebuilt, db, allow_data_loss=True)
    conn = sqlite3.connect(db)
    try:
        assert 'CREATE TABLE "t2"' in read(db, "SELECT sql FROM sqlite_schema WHERE name = 't2'")[0][0]
        assert unchanged([rebuilt], read_stored(conn)) == {"t0", "t1", "t2", "t3"}
        both_ways(conn, rebuilt)
    finally:
        conn.close()


@pytest.mark.parametrize(("name", "number", "version"), VERSIONS, ids=[f"{n}-v{i}" for n, i, _ in VERSIONS])
def test_read_once_equals_the_full_read_on_every_scenario(
    tmp_path: Path, name: str, number: int, version: object
) -> None:
    """Every scenario version's database, read against the same and the next version's models."""
    scenario = next(s for s in ALL if s.name == name)
    db = tmp_path / "s.db"
    first = scenario.versions[number]
    rebuilder.sync(build(first.models), db, exclude=first.exclude)
    following = scenario.versions[min(number + 1, len(scenario.versions) - 1)]
    conn = sqlite3.connect(db)
    try:
        both_ways(conn, build(first.models), first.exclude)
        both_ways(conn, build(following.models), following.exclude)
    finally:
        conn.close()


def awkward_indexes() -> MetaData:
    """Indexes whose names need quoting, beside ones the compiler must still write."""
    metadata = MetaData()
    Table(
        "select",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("order", String(10)),
        Column("näme", String(10)),
        Column('we"ird', String(10)),
        Index("ix order", "order", "näme"),
        Index("ux_select_weird", 'we"ird', unique=True),
        Index("ix_where", "order", sqlite_where=text("id > 0")),
        Index("ix_expr", text("lower(näme)")),
    )
    return metadata


def test_plain_index_sql_is_what_the_compiler_writes() -> None:
    """On every index of every scenario's models: the same text, or None for the compiler's cases."""
    dialect = sqlite_dialect.dialect()
    written = skipped = 0
    metadatas = [build(version.models) for _, _, version in VERSIONS] + [awkward_indexes()]
    for metadata in metadatas:
        for table in metadata.tables.values():
            for index in table.indexes:
                plain = plain_index_sql(index, table, dialect)
                if plain is None:
                    skipped += 1
                    continue
                assert plain == str(CreateIndex(index).compile(dialect=dialect)).strip()
                written += 1
    assert written > 20 and skipped >= 2


# --- the parsers remember ---------------------------------------------------------------


def test_the_parsers_remember_what_they_parsed_and_parse_alike(tmp_path: Path) -> None:
    db = tmp_path / "scale.db"
    rebuilder.sync(scale(3), db)
    statements = [s for (s,) in read(db, "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL")]
    for sql in statements:
        if sql.startswith("CREATE TABLE"):
            first, fresh = split_create_table(sql), split_create_table.__wrapped__(sql)
            assert split_create_table(sql) is first and first == fresh
        elif sql.startswith("CREATE INDEX"):
            first_ix, fresh_ix = split_create_index(sql), split_create_index.__wrapped__(sql)
            assert split_create_index(sql) is first_ix and first_ix == fresh_ix
