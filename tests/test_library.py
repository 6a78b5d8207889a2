"""The library surface: `rebuilder.sync`, `plan` and `check` as applications call them.

Targets in every accepted form, databases named every accepted way, the
caller's connection left as it was found, the no-op fast path (what it reads,
what it imports), the result types, logging, and the start-up options.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import inspect
import json
import logging
import re
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from conftest import CLI_ENV, ROOT, execute, rows, side_files, snapshot
from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, create_engine, event, text

import rebuilder
from rebuilder import api, changes, errors, results, steps
from rebuilder.errors import (
    BadModelSpec,
    BadRename,
    ConstraintViolated,
    DatabaseLocked,
    DataLossRefused,
    NotADatabase,
    RebuilderError,
)

HEAVY = ("sqlglot", "typer", "rich")

MODELS = """
from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class City(Base):
    __tablename__ = "city"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, server_default="")
    code = Column(String(8), unique=True)


class Friend(Base):
    __tablename__ = "friend"
    __table_args__ = (Index("ix_friend_name_city", "name", "city_id"),)
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, server_default="")
    city_id = Column(Integer, ForeignKey("city.id", ondelete="CASCADE"))
"""


def city(md: MetaData, *, unique_code: bool = True) -> Table:
    return Table(
        "city",
        md,
        Column("id", Integer, primary_key=True),
        Column("name", String(100), nullable=False, server_default=""),
        Column("code", String(8), unique=unique_code),
    )


def friend(md: MetaData, *, nickname: bool = False, parent: str = "city") -> Table:
    extra = [Column("nickname", String(50), nullable=False, server_default="")] if nickname else []
    return Table(
        "friend",
        md,
        Column("id", Integer, primary_key=True),
        Column("name", String(100), nullable=False, server_default=""),
        Column("city_id", Integer, ForeignKey(f"{parent}.id", ondelete="CASCADE")),
        *extra,
        Index("ix_friend_name_city", "name", "city_id"),
    )


def models(version: int = 1) -> MetaData:
    """v1: city + friend. v2: city.code loses UNIQUE (a rebuild of the FK parent) and
    friend gains ``nickname`` (a native ADD COLUMN)."""
    md = MetaData()
    city(md, unique_code=version == 1)
    friend(md, nickname=version >= 2)
    return md


def seeded(db: Path) -> Path:
    """A v1 database with a city and a friend whose FK cascades on delete."""
    rebuilder.sync(models(1), db)
    execute(
        db,
        "INSERT INTO city (id, name, code) VALUES (1, 'Lisbon', 'LIS')",
        "INSERT INTO friend (id, name, city_id) VALUES (1, 'Ann', 1)",
    )
    return db


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def orm(tmp_path: Path) -> ModuleType:
    """The declarative models, from a file imported under this process's own module name."""
    path = tmp_path / "models_here.py"
    path.write_text(textwrap.dedent(MODELS))
    return load_module(path, "rebuilder_test_models_here")


def run_python(
    code: str, *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**CLI_ENV, **(env or {})},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def schema_sql(db: Path) -> list[tuple[object, ...]]:
    return rows(
        db, "SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE '%rebuilder%' ORDER BY type, name"
    )


# --- Targets ---------------------------------------------------------------------


def test_every_target_form_gives_the_same_version_and_schema(orm: ModuleType, tmp_path: Path) -> None:
    forms = {
        "base": orm.Base,
        "metadata": orm.Base.metadata,
        "has_metadata": SimpleNamespace(metadata=orm.Base.metadata),
        "list": [orm.Base.metadata],
    }
    synced = {name: rebuilder.sync(target, tmp_path / f"{name}.db") for name, target in forms.items()}
    assert all(r.changed and len(r.steps) == 3 for r in synced.values()), synced
    assert len({r.version for r in synced.values()}) == 1
    assert len({json.dumps(schema_sql(tmp_path / f"{name}.db")) for name in forms}) == 1


def test_a_list_of_metadata_objects_is_one_set_of_models(tmp_path: Path) -> None:
    first, second = MetaData(), MetaData()
    Table("city", first, Column("id", Integer, primary_key=True), Column("name", String(100)))
    Table("hobby", second, Column("id", Integer, primary_key=True), Column("name", String(100)))
    together = MetaData()
    Table("city", together, Column("id", Integer, primary_key=True), Column("name", String(100)))
    Table("hobby", together, Column("id", Integer, primary_key=True), Column("name", String(100)))

    split = rebuilder.sync([first, second], tmp_path / "split.db")
    whole = rebuilder.sync(together, tmp_path / "whole.db")
    assert sorted(str(s) for s in split.steps) == ["create table city", "create table hobby"]
    assert split.version == whole.version
    assert schema_sql(tmp_path / "split.db") == schema_sql(tmp_path / "whole.db")
    # Leaving one MetaData out is a different set of models: hobby is to be dropped.
    assert [str(c) for c in rebuilder.check([first], tmp_path / "split.db")] == ["drop table hobby"]


def test_a_target_without_metadata_is_refused_with_bad_model_spec(db: Path) -> None:
    with pytest.raises(BadModelSpec) as caught:
        rebuilder.sync(42, db)
    assert caught.value.spec == "42" and "int" in caught.value.reason
    assert not db.exists()


# --- Databases -------------------------------------------------------------------


def test_every_database_form_gives_the_same_version(tmp_path: Path) -> None:
    md = models(1)
    paths = {name: tmp_path / f"{name}.db" for name in ("path", "url", "engine", "connection")}
    engine = create_engine(f"sqlite:///{paths['engine']}")
    conn = sqlite3.connect(paths["connection"])
    try:
        named = {
            "path": paths["path"],
            "url": f"sqlite:///{paths['url']}",
            "engine": engine,
            "connection": conn,
        }
        synced = {name: rebuilder.sync(md, database) for name, database in named.items()}
        planned = {name: rebuilder.plan(md, database) for name, database in named.items()}
    finally:
        conn.close()
        engine.dispose()
    assert all(r.changed and len(r.steps) == 3 for r in synced.values()), synced
    versions = {r.version for r in synced.values()} | {p.version for p in planned.values()}
    assert len(versions) == 1
    assert all(p.up_to_date for p in planned.values())
    for path in paths.values():
        assert rows(path, "SELECT version_num FROM rebuilder_version") == [tuple(versions)]
    assert len({json.dumps(schema_sql(path)) for path in paths.values()}) == 1


def test_same_models_under_another_module_name_in_another_process(orm: ModuleType, tmp_path: Path) -> None:
    here = tmp_path / "here.db"
    mine = rebuilder.sync(orm.Base, here)
    other_dir = tmp_path / "elsewhere"
    other_dir.mkdir()
    (other_dir / "completely_other_name.py").write_text(textwrap.dedent(MODELS))
    proc = run_python(
        f"""
        import json, sys
        sys.path.insert(0, {str(other_dir)!r})
        import rebuilder
        from completely_other_name import Base
        fresh = rebuilder.sync(Base, {str(tmp_path / "there.db")!r})
        again = rebuilder.sync(Base, {str(here)!r})
        print(json.dumps([fresh.version, fresh.changed, again.version, again.changed]))
        """,
        cwd=tmp_path,
        env={"PYTHONHASHSEED": "12345"},
    )
    assert json.loads(proc.stdout) == [mine.version, True, mine.version, False]
    # That process applied steps with no logging configured: the library printed nothing.
    assert proc.stderr == ""


# --- The caller's connection ------------------------------------------------------


@pytest.mark.parametrize(
    "isolation_level", ["", None, "IMMEDIATE"], ids=["deferred", "autocommit", "immediate"]
)
def test_a_borrowed_connection_keeps_its_pragmas_and_transaction_state(
    db: Path, isolation_level: str | None
) -> None:
    seeded(db)
    conn = sqlite3.connect(db, isolation_level=isolation_level)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA legacy_alter_table = ON")
        result = rebuilder.sync(models(2), conn)
        # The rebuild dropped the FK parent `city`; with foreign keys on, that would cascade.
        assert any(str(s).startswith("rebuild table city") for s in result.steps), result.steps
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert conn.execute("PRAGMA legacy_alter_table").fetchone() == (1,)
        assert not conn.in_transaction
        assert conn.isolation_level == isolation_level
        assert conn.execute("SELECT id, name, city_id, nickname FROM friend").fetchall() == [
            (1, "Ann", 1, "")
        ]
        # The connection still works as the caller set it up.
        conn.execute("INSERT INTO friend (name, city_id) VALUES ('Bo', 1)")
        conn.commit()
    finally:
        conn.close()
    assert rows(db, "SELECT count(*) FROM friend") == [(2,)]
    assert rebuilder.check(models(2), db) == []


def test_a_connection_inside_an_open_transaction_is_refused(db: Path) -> None:
    seeded(db)
    conn = sqlite3.connect(db)
    try:
        conn.execute("INSERT INTO city (name, code) VALUES ('Porto', 'OPO')")
        assert conn.in_transaction
        with pytest.raises(RebuilderError, match="open transaction"):
            rebuilder.sync(models(2), conn)
        # The caller's transaction is still open and still theirs to commit.
        assert conn.in_transaction
        # A sync with nothing to do only reads, so it is accepted inside the transaction.
        assert not rebuilder.sync(models(1), conn).changed
        assert conn.in_transaction
        conn.commit()
    finally:
        conn.close()
    assert rows(db, "SELECT code FROM city ORDER BY id") == [("LIS",), ("OPO",)]
    assert [str(c) for c in rebuilder.check(models(2), db)]  # still v1: nothing was applied


def test_an_engine_is_synced_without_touching_its_connections(db: Path) -> None:
    seeded(db)
    engine = create_engine(f"sqlite:///{db}")

    @event.listens_for(engine, "connect")
    def foreign_keys_on(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    try:
        with engine.connect() as held:
            held.execute(text("SELECT count(*) FROM city")).scalar_one()
            assert held.in_transaction()
            result = rebuilder.sync(models(2), engine)
            assert result.changed
            assert held.in_transaction()
            assert held.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert held.execute(text("SELECT name, nickname FROM friend")).all() == [("Ann", "")]
            held.commit()
        with engine.connect() as fresh:
            assert fresh.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        engine.dispose()


def test_an_engine_whose_caller_holds_the_write_lock_times_out_and_keeps_the_caller_transaction(
    db: Path,
) -> None:
    seeded(db)
    before = snapshot(db)
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as held:
            held.execute(text("INSERT INTO city (name, code) VALUES ('Porto', 'OPO')"))
            with pytest.raises(DatabaseLocked, match="locked"):
                rebuilder.sync(models(2), engine, timeout=0.2)
            assert held.in_transaction()
            held.commit()
    finally:
        engine.dispose()
    assert snapshot(db)["schema"] == before["schema"]
    assert rows(db, "SELECT code FROM city ORDER BY id") == [("LIS",), ("OPO",)]


def test_an_in_memory_engine_is_synced_through_its_own_connection() -> None:
    from sqlalchemy import inspect
    from sqlalchemy.pool import StaticPool

    engine = create_engine("sqlite://", poolclass=StaticPool)
    first = rebuilder.sync(models(1), engine)
    assert first.changed and first.steps
    assert not rebuilder.sync(models(1), engine).changed
    assert "city" in inspect(engine).get_table_names()
    assert rebuilder.check(models(1), engine) == []


def test_a_borrowed_connection_with_a_dict_row_factory_works(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.row_factory = lambda cursor, row: {d[0]: v for d, v in zip(cursor.description, row, strict=True)}
    try:
        assert rebuilder.sync(models(1), conn).changed
        assert not rebuilder.sync(models(1), conn).changed
        assert conn.execute("SELECT count(*) AS n FROM city").fetchone() == {"n": 0}
    finally:
        conn.close()


def test_a_borrowed_connection_with_a_bytes_text_factory_works(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.text_factory = bytes
    try:
        assert rebuilder.sync(models(1), conn).changed
        assert not rebuilder.sync(models(1), conn).changed
        assert conn.text_factory is bytes
    finally:
        conn.close()


# --- The no-op fast path ---------------------------------------------------------


def test_the_noop_sync_reads_only_the_version_row(db: Path) -> None:
    first = rebuilder.sync(models(1), db)
    before = db.read_bytes()
    statements: list[str] = []
    conn = sqlite3.connect(db)
    conn.set_trace_callback(statements.append)
    try:
        result = rebuilder.sync(models(1), conn)
    finally:
        conn.close()
    assert not result.changed and result.steps == () and result.version == first.version
    assert statements, "the trace saw nothing: the test would prove nothing"
    # Every statement is a read that concerns the version table alone: its row, or its own
    # entry in the schema (a sqlite_schema lookup by name, or PRAGMA table_info of it).
    for statement in statements:
        assert re.match(r"\s*(SELECT|PRAGMA)\b", statement, re.IGNORECASE), statement
        assert "rebuilder_version" in statement, statement
        if re.match(r"\s*PRAGMA\b", statement, re.IGNORECASE):
            assert re.fullmatch(
                r'\s*PRAGMA\s+(main\.)?table_info\(\s*"?rebuilder_version"?\s*\)\s*', statement, re.IGNORECASE
            ), statement
    reads = [
        s for s in statements if re.search(r"\bFROM\s+(main\.)?\"?rebuilder_version\b", s, re.IGNORECASE)
    ]
    # One bounded read of the version row (LIMIT 2 lets it notice a second row).
    assert len(reads) == 1 and re.search(r"\bLIMIT\s+[12]\s*$", reads[0], re.IGNORECASE), statements
    assert len(statements) <= 3, statements
    assert db.read_bytes() == before and side_files(db) == []


def test_a_path_noop_sync_leaves_the_file_byte_identical(db: Path) -> None:
    rebuilder.sync(models(1), db)
    before, mtime = db.read_bytes(), db.stat().st_mtime_ns
    assert not rebuilder.sync(models(1), db).changed
    assert db.read_bytes() == before and db.stat().st_mtime_ns == mtime
    assert side_files(db) == []


def test_import_rebuilder_loads_no_sqlglot_typer_or_rich(tmp_path: Path) -> None:
    proc = run_python(
        f"""
        import json, sys
        import rebuilder
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})))
        """,
        cwd=tmp_path,
    )
    assert json.loads(proc.stdout) == []


def test_a_noop_sync_in_a_fresh_process_loads_no_sqlglot_typer_or_rich(
    orm: ModuleType, tmp_path: Path
) -> None:
    db = tmp_path / "app.db"
    rebuilder.sync(orm.Base, db)
    (tmp_path / "models_there.py").write_text(textwrap.dedent(MODELS))
    proc = run_python(
        f"""
        import json, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import rebuilder
        from models_there import Base

        def heavy():
            return sorted({{m.split(".")[0] for m in sys.modules}} & {set(HEAVY)!r})

        result = rebuilder.sync(Base, {str(db)!r})
        after_sync = heavy()
        differences = rebuilder.check(Base, {str(db)!r})
        print(json.dumps([result.changed, after_sync, differences == [], heavy()]))
        """,
        cwd=tmp_path,
    )
    changed, after_sync, in_sync, after_check = json.loads(proc.stdout)
    assert changed is False and in_sync is True
    assert after_sync == []
    # The control: reading the real schema does load the SQL parser, so the probe can see it.
    assert "sqlglot" in after_check


def test_check_finds_drift_that_the_noop_sync_does_not_look_for(db: Path) -> None:
    first = rebuilder.sync(models(1), db)
    execute(db, "ALTER TABLE city ADD COLUMN sneaky INTEGER")

    again = rebuilder.sync(models(1), db)
    assert not again.changed and again.steps == () and again.version == first.version
    assert "sneaky" in str(rows(db, "SELECT sql FROM sqlite_schema WHERE name = 'city'"))

    differences = rebuilder.check(models(1), db)
    assert [str(d) for d in differences] == ["drop column city.sneaky"]
    assert isinstance(differences[0], changes.DropColumn)
    shown = rebuilder.plan(models(1), db)
    assert shown.current == shown.version and [str(s) for s in shown.steps] == ["drop column city.sneaky"]


def test_rebuilder_plan_stays_the_function_after_a_sync(db: Path) -> None:
    # A submodule named like a package attribute replaces it once imported: `rebuilder.plan`
    # must stay the function after a sync has loaded the planner.
    rebuilder.sync(models(1), db)
    rebuilder.sync(models(2), db)
    shown = rebuilder.plan(models(2), db)
    assert shown.up_to_date


# --- Result types, docstrings, logging --------------------------------------------


def dataclasses_in(module: ModuleType) -> list[type]:
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and obj.__module__ == module.__name__ and dataclasses.is_dataclass(obj)
    ]


def test_result_types_are_frozen_documented_dataclasses() -> None:
    kinds = [*dataclasses_in(results), *dataclasses_in(changes), *dataclasses_in(steps)]
    kinds += [errors.Loss, errors.Violation]
    assert {results.SyncResult, results.Plan, changes.DropColumn, steps.Step} <= set(kinds)
    for kind in kinds:
        assert kind.__dataclass_params__.frozen, kind  # type: ignore[attr-defined]
        assert (kind.__doc__ or "").strip(), kind
    printable = [
        k
        for k in kinds
        if k is not steps.Step and (k.__module__ != steps.__name__ or issubclass(k, steps.Step))
    ]
    assert steps.Copy not in printable and steps.RebuildStep in printable
    for kind in printable:
        assert kind.__str__ is not object.__str__, kind


def test_results_are_printable_and_immutable(db: Path) -> None:
    applied = rebuilder.sync(models(1), db)
    assert str(applied) == f"applied 3 step(s); version {applied.version}"
    nothing = rebuilder.sync(models(1), db)
    assert str(nothing) == f"nothing to do; version {applied.version}"
    with pytest.raises(dataclasses.FrozenInstanceError):
        applied.version = "x"  # type: ignore[misc]
    shown = rebuilder.plan(models(2), db)
    assert str(shown).splitlines() == [
        "- rebuild table city: drop UNIQUE (code) on city",
        "- add column friend.nickname VARCHAR(50) NOT NULL DEFAULT ''",
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        shown.steps = ()  # type: ignore[misc]
    assert all(str(step) and " object at 0x" not in str(step) for step in shown.steps)


def test_public_names_have_docstrings() -> None:
    public = [getattr(rebuilder, name) for name in rebuilder.__all__]
    public += [rebuilder, api.sync, api.plan, api.check, results.SyncResult, results.Plan]
    public += [
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == errors.__name__
    ]
    for obj in public:
        assert (obj.__doc__ or "").strip(), obj
    for function in (api.sync, api.plan, api.check):
        for parameter in inspect.signature(function).parameters:
            assert f"{parameter}:" in (function.__doc__ or ""), (function.__name__, parameter)


def test_logging_goes_to_the_rebuilder_logger_and_nothing_is_printed(
    db: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="rebuilder")
    result = rebuilder.sync(models(1), db)
    assert result.changed
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert caplog.records, "a sync that applies steps logs what it did"
    assert all(r.name == "rebuilder" or r.name.startswith("rebuilder.") for r in caplog.records)
    assert f"synced to version {result.version} with 3 step(s)" in caplog.messages
    assert all(not isinstance(h, logging.StreamHandler) for h in logging.getLogger("rebuilder").handlers)


# --- Options ---------------------------------------------------------------------


def test_dry_run_writes_nothing(db: Path, tmp_path: Path) -> None:
    seeded(db)
    before = db.read_bytes()
    result = rebuilder.sync(models(2), db, dry_run=True)
    assert result.dry_run and not result.changed
    assert [str(s) for s in result.steps] == [
        "rebuild table city: drop UNIQUE (code) on city",
        "add column friend.nickname VARCHAR(50) NOT NULL DEFAULT ''",
    ]
    assert str(result) == f"would apply 2 step(s); version {result.version}"
    assert db.read_bytes() == before and side_files(db) == []
    assert result.version == rebuilder.sync(models(2), db).version  # the real run agrees

    missing = tmp_path / "missing.db"
    assert len(rebuilder.sync(models(1), missing, dry_run=True).steps) == 3
    assert not missing.exists() and side_files(missing) == []


def test_dry_run_still_refuses_data_loss(db: Path) -> None:
    seeded(db)
    before = db.read_bytes()
    only_city = MetaData()
    city(only_city)
    with pytest.raises(DataLossRefused):
        rebuilder.sync(only_city, db, dry_run=True)
    allowed = rebuilder.sync(only_city, db, dry_run=True, allow_data_loss=True)
    assert [str(s) for s in allowed.steps] == ["drop table friend"]
    assert db.read_bytes() == before


def test_a_custom_version_table(db: Path) -> None:
    result = rebuilder.sync(models(1), db, version_table="custom")
    assert rows(db, "SELECT version_num FROM custom") == [(result.version,)]
    assert rows(db, "SELECT name FROM sqlite_schema WHERE name = 'rebuilder_version'") == []
    assert rows(db, "SELECT version_num, version_table FROM rebuilder_history") == [
        (result.version, "custom")
    ]
    before = db.read_bytes()
    assert not rebuilder.sync(models(1), db, version_table="custom").changed
    assert db.read_bytes() == before
    assert rebuilder.check(models(1), db, version_table="custom") == []
    assert rebuilder.plan(models(1), db, version_table="custom").up_to_date
    assert rows(db, "PRAGMA table_info(custom)")[0][1:3] == ("version_num", "VARCHAR(32)")


def test_timeout_bounds_the_wait_for_another_writer(db: Path) -> None:
    seeded(db)
    before = snapshot(db)
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseLocked) as caught:
            rebuilder.sync(models(2), db, timeout=0.3)
        waited = time.monotonic() - started
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert caught.value.timeout == 0.3 and caught.value.path == str(db)
    assert "locked" in str(caught.value)
    # It waited for the lock, and gave up long before the 30 s default.
    assert 0.25 <= waited < 10, waited
    assert snapshot(db) == before and side_files(db) == []
    assert rebuilder.sync(models(2), db, timeout=0.3).changed


def test_progress_is_called_for_each_step(db: Path) -> None:
    seeded(db)
    calls: list[tuple[steps.Step, int, int]] = []
    result = rebuilder.sync(
        models(2), db, progress=lambda step, number, total: calls.append((step, number, total))
    )
    assert len(result.steps) == 2
    assert calls == [(step, n, 2) for n, step in enumerate(result.steps, 1)]
    assert rebuilder.sync(models(2), db, progress=lambda *args: calls.append(args)).steps == ()
    assert len(calls) == 2


def test_renames_and_allow_data_loss(db: Path) -> None:
    seeded(db)

    def town(md: MetaData) -> Table:
        return Table(
            "town",
            md,
            Column("id", Integer, primary_key=True),
            Column("title", String(100), nullable=False, server_default=""),
            Column("code", String(8), unique=True),
        )

    renamed = MetaData()
    town(renamed)
    friend(renamed, parent="town")
    result = rebuilder.sync(renamed, db, table_renames={"city": "town"}, renames=["town.name=title"])
    assert result.changed
    assert rows(db, "SELECT id, title, code FROM town") == [(1, "Lisbon", "LIS")]
    assert rows(db, "SELECT name, city_id FROM friend") == [("Ann", 1)]
    assert rebuilder.check(renamed, db) == []

    only_town = MetaData()
    town(only_town)
    with pytest.raises(DataLossRefused) as caught:
        rebuilder.sync(only_town, db)
    assert [(loss.table, loss.count) for loss in caught.value.losses] == [("friend", 1)]
    assert [str(s) for s in rebuilder.sync(only_town, db, allow_data_loss=True).steps] == [
        "drop table friend"
    ]


# --- Errors carry their data ------------------------------------------------------


def test_errors_carry_the_data_their_messages_name(db: Path, tmp_path: Path) -> None:
    seeded(db)
    before = snapshot(db)
    code_not_null = MetaData()
    Table(
        "city",
        code_not_null,
        Column("id", Integer, primary_key=True),
        Column("name", String(100), nullable=False, server_default=""),
        Column("code", String(8), unique=True, nullable=False),
    )
    friend(code_not_null)
    execute(db, "INSERT INTO city (id, name) VALUES (2, 'Nowhere')")
    with pytest.raises(ConstraintViolated) as violated:
        rebuilder.sync(code_not_null, db, allow_data_loss=True)
    (violation,) = violated.value.violations
    assert violation.table == "city" and violation.count == 1 and "code" in violation.constraint
    assert "city" in str(violated.value)
    execute(db, "DELETE FROM city WHERE id = 2")
    assert snapshot(db) == before

    only_city = MetaData()
    city(only_city)
    with pytest.raises(DataLossRefused) as lost:
        rebuilder.sync(only_city, db)
    assert [(x.table, x.column, x.count) for x in lost.value.losses] == [("friend", None, 1)]

    with pytest.raises(BadRename) as bad:
        rebuilder.sync(models(1), db, renames=["no-equals-sign"])
    assert bad.value.rename == "no-equals-sign" and bad.value.exit_code == 2

    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello")
    with pytest.raises(NotADatabase) as refused:
        rebuilder.sync(models(1), not_db)
    assert refused.value.path == str(not_db) and "header" in refused.value.reason
    assert not_db.read_text() == "hello"

    assert snapshot(db) == before
    for exc in (violated.value, lost.value, bad.value, refused.value):
        assert isinstance(exc, RebuilderError)


# --- The docs describe this surface ------------------------------------------------


def test_api_doc_names_every_option_and_error() -> None:
    doc = (ROOT / "docs" / "api.md").read_text()
    for function in (api.sync, api.plan, api.check, rebuilder.sync_many):
        for parameter in inspect.signature(function).parameters:
            assert f"`{parameter}" in doc, (function.__name__, parameter)
    for name, obj in vars(errors).items():
        if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == errors.__name__:
            assert f"`{name}`" in doc, name
    for kind in dataclasses_in(changes):
        assert f"`{kind.__name__}`" in doc, kind
    for name in ("SyncResult", "Plan", "Loss", "Violation", 'logging.getLogger("rebuilder")'):
        assert name in doc, name


def test_api_doc_signatures_match_the_functions() -> None:
    doc = (ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(def (?:sync|plan|check|sync_many)\(.*?)```", doc, flags=re.DOTALL)
    documented = {}
    for block in blocks:
        (node,) = ast.parse(block).body
        assert isinstance(node, ast.FunctionDef)
        args = node.args
        names = [a.arg for a in args.args] + [a.arg for a in args.kwonlyargs]
        defaults = [ast.literal_eval(d) for d in args.kw_defaults if d is not None]
        documented[node.name] = (names, defaults)
    assert set(documented) == {"sync", "plan", "check", "sync_many"}
    for function in (api.sync, api.plan, api.check, rebuilder.sync_many):
        parameters = inspect.signature(function).parameters.values()
        names = [p.name for p in parameters]
        defaults = [p.default for p in parameters if p.default is not inspect.Parameter.empty]
        assert documented[function.__name__] == (names, defaults), function.__name__
