"""What a careful user meets in the first hour: files, help, usage errors, locks, VACUUM.

Each through the real CLI in a subprocess, on real files.
"""

from __future__ import annotations

import os
import pty
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, Result, rows, run_cli, side_files, snapshot, write_models

import rebuilder
from rebuilder.errors import ForeignKeyMismatch

PET = """
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
Table("pet", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))
"""
PET_AGE = PET.replace(")))", ')), Column("age", Integer))')
# A foreign key to a column that is neither PRIMARY KEY nor UNIQUE: refused when planned.
MISMATCH = """
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

metadata = MetaData()
Table("owner", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))
Table("pet", metadata, Column("id", Integer, primary_key=True), Column("owner", ForeignKey("owner.name")))
"""


def one_line(result: Result, code: int) -> str:
    assert result.code == code, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    assert "Traceback" not in result.err
    return lines[0]


# --- zero-byte files, files that must not be created ----------------------------------


def test_a_zero_byte_file_is_an_empty_database(tmp_path: Path) -> None:
    models = write_models(tmp_path, PET)
    db = tmp_path / "app.db"
    db.touch()

    assert run_cli("current", str(db)) == Result(0, "", "")
    assert run_cli("history", str(db)) == Result(0, "", "")
    planned = run_cli("plan", f"{models}:metadata", str(db))
    assert (planned.code, planned.out, planned.err) == (0, "- create table pet\n", "")
    checked = run_cli("check", f"{models}:metadata", str(db))
    assert checked.code == 1 and "pet" in checked.out
    assert db.stat().st_size == 0, "plan and check must not write"

    synced = run_cli("sync", f"{models}:metadata", str(db))
    assert synced.code == 0, synced.err
    assert "applied create table pet" in synced.out
    assert rows(db, "SELECT name FROM sqlite_schema WHERE name = 'pet'") == [("pet",)]
    assert side_files(db) == []


def test_a_zero_byte_file_in_the_library(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    db.touch()
    namespace: dict[str, object] = {}
    exec(PET, namespace)
    assert [str(s) for s in rebuilder.plan(namespace["metadata"], db).steps] == ["create table pet"]
    assert db.stat().st_size == 0
    assert rebuilder.sync(namespace["metadata"], db).changed
    assert rebuilder.check(namespace["metadata"], db) == []


def test_a_refused_sync_on_a_new_path_leaves_no_file(tmp_path: Path) -> None:
    models = write_models(tmp_path, MISMATCH)
    db = tmp_path / "new.db"
    line = one_line(run_cli("sync", f"{models}:metadata", str(db)), 1)
    assert "owner" in line and "UNIQUE" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.py"]

    namespace: dict[str, object] = {}
    exec(MISMATCH, namespace)
    with pytest.raises(ForeignKeyMismatch):
        rebuilder.sync(namespace["metadata"], db)
    with pytest.raises(ForeignKeyMismatch):
        rebuilder.sync(namespace["metadata"], f"sqlite:///{db}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.py"]


def test_missing_file_for_commands_that_never_create_it(tmp_path: Path) -> None:
    models = write_models(tmp_path, PET)
    db = tmp_path / "missing.db"
    for command in ("current", "history"):
        shown = run_cli(command, str(db))
        assert one_line(shown, 1) == (
            f"error: the database {db} does not exist; check the path (only sync creates it)"
        )
        assert shown.out == ""
    checked = run_cli("check", f"{models}:metadata", str(db))
    assert checked.code == 1
    assert checked.err == f"note: the database {db} does not exist; sync would create it\n"
    assert "pet" in checked.out
    planned = run_cli("plan", f"{models}:metadata", f"sqlite:///{db}", "--sql")
    assert planned.code == 0 and "CREATE TABLE" in planned.out and "pet" in planned.out
    assert planned.err == f"note: the database {db} does not exist; sync would create it\n"
    assert not db.exists()


# --- a directory SQLite cannot write its journal in -------------------------------------

NOBODY = 65534


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory outside pytest's private tmp, which another user can reach."""
    path = Path(tempfile.mkdtemp(prefix="rebuilder-ro-"))
    path.chmod(0o755)
    yield path
    for child in path.rglob("*"):
        child.chmod(0o755 if child.is_dir() else 0o644)
    shutil.rmtree(path)


def run_as_nobody(*args: str, cwd: Path) -> Result:
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    proc = subprocess.run(
        [*command, sys.executable, "-m", "rebuilder", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def nobody_can_run_python(cwd: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    return run_as_nobody("--version", cwd=cwd).code == 0


def test_a_directory_that_is_not_writable_is_named(shared_dir: Path) -> None:
    if not nobody_can_run_python(shared_dir):
        pytest.skip("needs root, setpriv and a Python that another user can run")
    models = write_models(shared_dir, PET_AGE)
    (shared_dir / "data").mkdir()
    db = shared_dir / "data" / "app.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE pet (id INTEGER PRIMARY KEY, name VARCHAR(50))")
    conn.execute("INSERT INTO pet VALUES (1, 'Rex')")
    conn.commit()
    conn.close()
    db.chmod(0o666)
    (shared_dir / "data").chmod(0o555)  # the file is writable; its directory is not
    before = (snapshot(db), db.read_bytes())

    line = one_line(run_as_nobody("sync", f"{models}:metadata", str(db), cwd=shared_dir), 1)
    assert line == (
        f"error: cannot write to {db}: its directory {db.parent} is not writable, so SQLite cannot "
        "create its journal file there; nothing was changed, make the directory writable"
    )
    assert (snapshot(db), db.read_bytes()) == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["app.db"]


# --- VACUUM --------------------------------------------------------------------------


def test_vacuum_with_nothing_to_do_still_vacuums_and_says_so(tmp_path: Path) -> None:
    models = write_models(tmp_path, PET)
    db = tmp_path / "app.db"
    assert run_cli("sync", f"{models}:metadata", str(db)).code == 0
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE scratch (blob BLOB)")
    conn.executemany("INSERT INTO scratch VALUES (?)", [(b"x" * 4000,)] * 100)
    conn.commit()
    conn.execute("DROP TABLE scratch")
    conn.commit()
    conn.close()
    grown = db.stat().st_size

    shown = run_cli("sync", f"{models}:metadata", str(db), "--vacuum")
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0].startswith("nothing to do")
    assert lines[1] == f"vacuumed {db}: {grown / 1e6:,.1f} MB to {db.stat().st_size / 1e3:,.1f} kB"
    assert db.stat().st_size < grown / 10


# --- help, version, usage errors -------------------------------------------------------


def test_version() -> None:
    shown = run_cli("--version")
    assert (shown.code, shown.out, shown.err) == (0, f"rebuilder {rebuilder.__version__}\n", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sync", "models.py:metadata", "app.db", "--no-such-flag"], "no such option: --no-such-flag"),
        (["sync", "models.py:metadata"], "missing argument 'DATABASE'"),
        (["frob"], "no such command 'frob'"),
        (["sync", "models.py:metadata", "app.db", "--timeout", "soon"], "invalid value for '--timeout'"),
        (["plan", "models.py:metadata", "app.db", "--rename", "hobby=title"], "bad rename 'hobby=title'"),
        (["sync", "models.py:metadata", "app.db", "--rename-table", "pets"], "bad rename 'pets'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    write_models(tmp_path, PET)
    line = one_line(run_cli(*args, cwd=tmp_path), 2)
    assert line.startswith(f"error: {message}"), line
    assert not (tmp_path / "app.db").exists()


def test_no_arguments_shows_the_help() -> None:
    shown = run_cli()
    assert shown.code == 2
    assert shown.out.startswith("Usage: ") and "sync" in shown.out and "--version" in shown.out


@pytest.mark.parametrize("command", ["sync", "plan", "check", "current", "history"])
def test_help_says_which_commands_create_the_database(command: str) -> None:
    shown = run_cli(command, "--help")
    assert shown.code == 0, shown.err
    usage = shown.out.splitlines()[0]
    assert "{" not in usage
    assert usage.endswith("[OPTIONS] DATABASE" if command in ("current", "history") else "MODELS DATABASE...")
    text = " ".join(shown.out.split())
    if command == "sync":
        assert "The SQLite file (created if missing) or a sqlite:/// URL." in text
    else:
        assert "The SQLite file or a sqlite:/// URL; this command never creates it." in text
        assert "created if missing" not in text


def test_cli_doc_gives_plan_and_rename_usage_errors_exit_2() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    plan_row = next(line for line in text.splitlines() if line.startswith("| `rebuilder plan"))
    assert plan_row.endswith("| 0; 1 refused or failed; 2 usage error |")
    assert "`--rename hobby=title`" in text and "exit 2" in text


# --- waiting for a lock ------------------------------------------------------------------

HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def run_with_stderr_at_a_terminal(*args: str) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (stdin and stdout not), as at a shell with a pipe."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rebuilder", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "TERM": "xterm"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    out = proc.stdout.read().decode() if proc.stdout else ""
    code = proc.wait(timeout=60)
    os.close(leader)
    return code, out, b"".join(chunks).decode(errors="replace")


def test_waiting_for_the_lock_is_said_at_a_terminal(tmp_path: Path) -> None:
    models = write_models(tmp_path, PET_AGE)
    db = tmp_path / "app.db"
    assert run_cli("sync", f"{write_models(tmp_path, PET, 'v1.py')}:metadata", str(db)).code == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        code, out, err = run_with_stderr_at_a_terminal(
            "sync", f"{models}:metadata", str(db), "--timeout", "1"
        )
        assert time.monotonic() - started < 30
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    assert code == 1, (out, err)
    assert f"waiting for the write lock on {db} (up to 1s)…" in err
    assert "locked" in err
    assert out == ""

    # Without a terminal, nothing is said while waiting; the refusal is the one line.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        line = one_line(run_cli("sync", f"{models}:metadata", str(db), "--timeout", "0.5"), 1)
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    assert "locked" in line and "waiting for the write lock" not in line
