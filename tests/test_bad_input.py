"""Bad input: an exit code and one sentence naming the culprit, never a traceback, nothing touched.

Bad MODELS specs, malformed or dangling renames, files that are not SQLite
databases, paths that do not exist, a database locked by another writer, and
the help text, all through the real CLI in a subprocess (plus the library where
an error's data is promised).
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer.main
from conftest import (
    CLI_ENV,
    MODELS_PRELUDE,
    execute,
    frozen,
    named_table,
    one_sentence,
    rows,
    run_cli,
    side_files,
    write_models,
)
from sqlalchemy import Column, Integer, MetaData, String, Table

import rebuilder
from rebuilder.cli import app
from rebuilder.errors import BadModelSpec, BadRename, DatabaseLocked, NotADatabase, RenameNotFound

PET = MODELS_PRELUDE + named_table("pet")
PET_NICKNAME = MODELS_PRELUDE + named_table("pet", 'Column("nickname", String(50))')
PET_NICK_AGE = MODELS_PRELUDE + named_table("pet", 'Column("nick", String(50))', 'Column("age", Integer)')


def pet_metadata(*extra: Column) -> MetaData:
    metadata = MetaData()
    Table("pet", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)), *extra)
    return metadata


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    """A database at pet(id, name, nick) with rows, so a sync to PET_NICKNAME has work to do."""
    db = tmp_path / "app.db"
    rebuilder.sync(pet_metadata(Column("nick", String(50))), db)
    execute(db, "INSERT INTO pet VALUES (1, 'Rex', 'rexy'), (2, 'Tom', NULL)")
    return db


# --- MODELS specs ----------------------------------------------------------------

SPEC_CASES: dict[str, tuple[dict[str, str], str, tuple[str, ...]]] = {
    # name: (files to write, spec, what the message must name)
    "missing-file": ({}, "missing.py:metadata", ("missing.py",)),
    "missing-module": ({}, "no_such_pkg.models:metadata", ("no_such_pkg",)),
    "missing-submodule": ({"pkg/__init__.py": ""}, "pkg.nothing_here:metadata", ("pkg.nothing_here",)),
    "missing-attribute": ({"models.py": PET}, "models.py:Nope", ("'Nope'",)),
    "syntax-error": ({"broken.py": "x = 1\ndef (:\n"}, "broken.py:metadata", ("broken.py", "line 2")),
    "raises-on-import": ({"boom.py": "raise RuntimeError('kaboom')\n"}, "boom.py:metadata", ("kaboom",)),
    "exits-on-import": ({"quits.py": "import sys\nsys.exit(3)\n"}, "quits.py:metadata", ("SystemExit",)),
    "missing-dependency": (
        {"deps.py": "import not_installed_dep\n"},
        "deps.py:metadata",
        ("not_installed_dep",),
    ),
    "not-a-base": ({"models.py": PET + "answer = 42\n"}, "models.py:answer", ("answer", "int")),
    "no-colon": ({"models.py": PET}, "models.py", ("models.py", "MODULE:ATTRIBUTE")),
}


@pytest.mark.parametrize("case", list(SPEC_CASES.values()), ids=list(SPEC_CASES))
def test_bad_models_spec(tmp_path: Path, case: tuple[dict[str, str], str, tuple[str, ...]]) -> None:
    files, spec, needles = case
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        write_models(tmp_path, source, name)
    db = tmp_path / "app.db"
    line = one_sentence(run_cli("sync", spec, str(db), cwd=tmp_path))
    assert "cannot load models" in line
    assert repr(spec) in line
    for needle in needles:
        assert needle in line
    assert not db.exists()
    assert side_files(db) == []


def test_bad_models_spec_in_the_library(tmp_path: Path) -> None:
    with pytest.raises(BadModelSpec) as info:
        rebuilder.sync(42, tmp_path / "app.db")
    assert "int" in info.value.reason
    assert not (tmp_path / "app.db").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    write_models(tmp_path, "raise RuntimeError('kaboom')\n", "boom.py")
    db = tmp_path / "app.db"
    result = run_cli("sync", "boom.py:metadata", str(db), "--debug", cwd=tmp_path)
    assert result.code == 1
    assert "Traceback" in result.err
    assert "kaboom" in result.err
    assert not db.exists()


# --- renames -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--rename", "nodot=nickname"),
        ("--rename", "pet.nick"),
        ("--rename", "pet.nick="),
        ("--rename-table", "pets"),
        ("--rename-table", "=pet"),
    ],
)
def test_malformed_rename_is_a_usage_error(tmp_path: Path, filled: Path, flag: str, value: str) -> None:
    models = write_models(tmp_path, PET_NICKNAME)
    before = frozen(filled)
    line = one_sentence(run_cli("sync", f"{models}:metadata", str(filled), flag, value), code=2)
    assert repr(value) in line
    assert frozen(filled) == before


def test_malformed_rename_in_the_library(filled: Path) -> None:
    before = frozen(filled)
    with pytest.raises(BadRename) as info:
        rebuilder.sync(pet_metadata(Column("nickname", String(50))), filled, renames=["nodot=nickname"])
    assert info.value.rename == "nodot=nickname"
    assert info.value.exit_code == 2
    assert frozen(filled) == before


@pytest.mark.parametrize(
    ("flag", "value", "culprit"),
    [
        ("--rename", "pet.ghost=nickname", "'ghost'"),
        ("--rename", "ghost.nick=nickname", "'ghost'"),
        ("--rename", "pet.nick=ghost", "'ghost'"),
        ("--rename-table", "ghost=pet", "'ghost'"),
    ],
)
def test_rename_naming_nothing_is_refused(
    tmp_path: Path, filled: Path, flag: str, value: str, culprit: str
) -> None:
    models = write_models(tmp_path, PET_NICKNAME)
    before = frozen(filled)
    line = one_sentence(run_cli("sync", f"{models}:metadata", str(filled), flag, value))
    assert repr(value) in line
    assert culprit in line
    assert frozen(filled) == before


def test_rename_naming_nothing_in_the_library(filled: Path) -> None:
    before = frozen(filled)
    with pytest.raises(RenameNotFound) as info:
        rebuilder.sync(
            pet_metadata(Column("nickname", String(50))), filled, renames={"pet.ghost": "nickname"}
        )
    assert info.value.rename == "pet.ghost=nickname"
    assert "ghost" in info.value.reason
    assert frozen(filled) == before


def test_unknown_flag_is_a_usage_error(tmp_path: Path, filled: Path) -> None:
    models = write_models(tmp_path, PET)
    before = frozen(filled)
    result = run_cli("sync", f"{models}:metadata", str(filled), "--no-such-flag")
    assert result.code == 2
    assert "--no-such-flag" in result.err
    assert "Traceback" not in result.err
    assert frozen(filled) == before


# --- DATABASE that is not SQLite ---------------------------------------------------


def _real_db(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    for i in range(4):
        conn.execute(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany(f"INSERT INTO t{i} (v) VALUES (?)", [("x" * 300,)] * 60)
    conn.commit()
    conn.close()
    return path.read_bytes()


def make_not_a_database(kind: str, path: Path) -> None:
    if kind == "random-bytes":
        path.write_bytes(random.Random(0).randbytes(8192))
    elif kind == "text":
        path.write_text("id,name\n1,Rex\n2,Tom\n")
    elif kind == "header-only":
        path.write_bytes(_real_db(path.with_name("real.db"))[:100])
    elif kind == "header-then-garbage":
        page_size = (4096).to_bytes(2, "big")
        path.write_bytes(b"SQLite format 3\x00" + page_size + random.Random(1).randbytes(8190))
    elif kind == "truncated-at-a-page":
        path.write_bytes(_real_db(path.with_name("real.db"))[:4096])
    elif kind == "directory":
        path.mkdir()
        (path / "inside.txt").write_text("keep me")
    else:
        raise AssertionError(kind)


def fingerprint(path: Path) -> object:
    if path.is_dir():
        return sorted((p.name, p.read_bytes()) for p in path.iterdir())
    return path.read_bytes()


@pytest.mark.parametrize(
    "kind",
    [
        "random-bytes",
        "text",
        "header-only",
        "directory",
        "header-then-garbage",
        "truncated-at-a-page",
    ],
)
def test_sync_refuses_a_file_that_is_not_a_database(tmp_path: Path, kind: str) -> None:
    models = write_models(tmp_path, PET)
    path = tmp_path / "data.db"
    make_not_a_database(kind, path)
    before = fingerprint(path)
    line = one_sentence(run_cli("sync", f"{models}:metadata", str(path)))
    assert str(path) in line
    assert "not a SQLite database" in line or "not a database" in line
    assert fingerprint(path) == before
    assert side_files(path) == []


@pytest.mark.parametrize("command", ["plan", "check", "current", "history"])
def test_other_commands_refuse_a_text_file(tmp_path: Path, command: str) -> None:
    models = write_models(tmp_path, PET)
    path = tmp_path / "data.db"
    make_not_a_database("text", path)
    before = path.read_bytes()
    args = [str(path)] if command in ("current", "history") else [f"{models}:metadata", str(path)]
    line = one_sentence(run_cli(command, *args))
    assert str(path) in line and "not a SQLite database" in line
    assert path.read_bytes() == before
    assert side_files(path) == []


def test_not_a_database_in_the_library(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    make_not_a_database("text", path)
    before = path.read_bytes()
    with pytest.raises(NotADatabase) as info:
        rebuilder.sync(pet_metadata(), path)
    assert info.value.path == str(path)
    assert info.value.reason
    assert path.read_bytes() == before
    assert side_files(path) == []


def test_database_in_a_missing_directory(tmp_path: Path) -> None:
    models = write_models(tmp_path, PET)
    path = tmp_path / "nowhere" / "app.db"
    line = one_sentence(run_cli("sync", f"{models}:metadata", str(path)))
    assert "nowhere" in line
    assert not path.parent.exists()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_url_naming_no_file_is_refused(tmp_path: Path, url: str) -> None:
    models = write_models(tmp_path, PET)
    line = one_sentence(run_cli("sync", f"{models}:metadata", url, cwd=tmp_path))
    assert url in line and "no database file" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.py"]


# --- paths that do not exist yet, fresh files ----------------------------------------


def test_plan_check_current_history_do_not_create_the_file(tmp_path: Path) -> None:
    models = write_models(tmp_path, PET)
    path = tmp_path / "new.db"

    planned = run_cli("plan", f"{models}:metadata", str(path))
    assert planned.code == 0, planned.err
    assert "create table pet" in planned.out

    checked = run_cli("check", f"{models}:metadata", f"sqlite:///{path}")
    assert checked.code == 1, checked.err
    assert "pet" in checked.out
    assert "Traceback" not in checked.err

    for command in ("plan", "check"):
        shown = run_cli(command, f"{models}:metadata", str(path))
        assert f"the database {path} does not exist; sync would create it" in shown.err

    for command in ("current", "history"):
        shown = run_cli(command, str(path))
        line = one_sentence(shown)
        assert line == f"error: the database {path} does not exist; check the path (only sync creates it)"
        assert shown.out == ""

    assert not path.exists()
    assert side_files(path) == []


def test_current_on_a_database_without_a_version_prints_nothing(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    execute(path, "CREATE TABLE pet (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO pet VALUES (1, 'Rex')")
    before = frozen(path)
    shown = run_cli("current", str(path))
    assert (shown.code, shown.out, shown.err) == (0, "", "")
    assert frozen(path) == before


# --- a database locked by another writer ------------------------------------------------


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
conn.close()
"""


@pytest.fixture
def lock_holder() -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """Another process that holds ``BEGIN IMMEDIATE`` on a database until its stdin gets a line.

    A separate process, because closing any file descriptor of the database in
    this process (``Path.read_bytes`` does) would drop this process's POSIX locks.
    """
    started: list[subprocess.Popen[str]] = []

    def hold(path: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        return proc

    yield hold
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.wait(timeout=30) == 0


def test_locked_database_times_out_then_syncs_after_release(
    tmp_path: Path, filled: Path, lock_holder: Callable[[Path], subprocess.Popen[str]]
) -> None:
    models = write_models(tmp_path, PET_NICK_AGE)
    holder = lock_holder(filled)
    before = frozen(filled)

    started = time.monotonic()
    line = one_sentence(run_cli("sync", f"{models}:metadata", str(filled), "--timeout", "0.5"))
    assert time.monotonic() - started < 15  # bounded by --timeout, not the 30 s default
    assert "locked" in line and str(filled) in line
    assert frozen(filled) == before

    with pytest.raises(DatabaseLocked) as info:
        rebuilder.sync(pet_metadata(Column("nick", String(50)), Column("age", Integer)), filled, timeout=0.1)
    assert (info.value.path, info.value.timeout) == (str(filled), 0.1)
    assert frozen(filled) == before

    release(holder)
    applied = run_cli("sync", f"{models}:metadata", str(filled), "--timeout", "0.5")
    assert applied.code == 0, applied.err
    assert rows(filled, "SELECT id, name, typeof(name), nick, age FROM pet ORDER BY id") == [
        (1, "Rex", "text", "rexy", None),
        (2, "Tom", "text", None, None),
    ]
    assert side_files(filled) == []


# --- help -----------------------------------------------------------------------------


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_module_help_lists_every_command() -> None:
    shown = run_cli("--help")
    assert shown.code == 0, shown.err
    assert "Usage:" in shown.out
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert name in shown.out
        assert _flat(command.get_short_help_str(limit=30)).rstrip(".") in _flat(shown.out)


def test_console_script_sync_help_shows_every_option() -> None:
    script = Path(sys.executable).parent / "rebuilder"
    proc = subprocess.run(
        [str(script), "sync", "--help"],
        capture_output=True,
        text=True,
        env=CLI_ENV,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    shown = _flat(proc.stdout)
    sync = typer.main.get_command(app).commands["sync"]  # type: ignore[attr-defined]
    options = [p for p in sync.params if p.param_type_name == "option"]
    assert {o.name for o in options} >= {
        "dry_run",
        "yes",
        "allow_data_loss",
        "rename",
        "rename_table",
        "exclude",
        "version_table",
        "timeout",
        "debug",
    }
    for option in options:
        for opt in option.opts:
            assert opt in shown, opt
        assert option.help, option.name
        assert _flat(option.help) in shown, option.name
