"""Faults: full disks, I/O errors, files and directories that cannot be written, odd leftovers.

Every case uses real files: SQLite runs out of pages because the test lowers
``PRAGMA max_page_count`` on a connection it passes to the library, or the OS
refuses to grow a file because the CLI subprocess runs under ``RLIMIT_FSIZE``,
or the CLI subprocess runs without the capabilities that let root ignore file
permissions. Where a sync must refuse or fail, the test asserts exit 1 (or the
error class), one sentence naming real tables (never rebuilder's temporary
``_rebuilder_new_`` name), no traceback, and that the database, reopened with
any journal beside it, is exactly as it was: schema, rows with rowids and
storage classes, version and history. Where an error comes after COMMIT, the
sync must be reported as applied.

Not covered, and why:
- a pre-flight refusal on a real tiny filesystem: making one (a loop or tmpfs
  mount) needs root tricks this suite does not play; `ensure_room` is tested
  against the real filesystem with a need larger than its free space, and the
  wiring into `sync` with the free-space figure lowered by monkeypatching
  ``shutil.disk_usage`` (SQLite itself is never faked);
- an error from COMMIT itself: under a file-size limit the writes fail before
  COMMIT or, in WAL mode, in the checkpoint after it (tested below).
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
from collections import namedtuple
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import (
    CODE_INTEGER,
    CODE_TEXT,
    Versions,
    coded_table,
    integrity,
    numbers,
    one_sentence,
    rows,
    run_cli,
    side_files,
    snapshot,
    synced,
    write_versions,
)

import rebuilder
import rebuilder.space
from rebuilder.errors import DiskFull
from rebuilder.render import TEMP_PREFIX, temp_name

MODELS_V1 = (
    coded_table("big")
    + """
Table("filler", metadata, Column("id", Integer, primary_key=True), Column("body", LargeBinary))
"""
)

# An affinity change (TEXT -> INTEGER over numeric strings): a rebuild, not an in-place edit.
MODELS_V2 = MODELS_V1.replace(CODE_TEXT, CODE_INTEGER)
assert MODELS_V2 != MODELS_V1


def write_both(directory: Path) -> Versions:
    return write_versions(directory, MODELS_V1, MODELS_V2)


def build(path: Path, models: Versions, mode: str = "delete", n: int = 20_000, filler: int = 0) -> None:
    """A database synced to v1 by rebuilder, with ``n`` rows in big and ``filler`` 4 kB blobs."""
    synced(path, models.v1, mode)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute(
        numbers(n) + "INSERT INTO big (id, code, name) SELECT x, CAST(x * 7 AS TEXT), 'name ' || x FROM s"
    )
    conn.execute("DELETE FROM big WHERE id % 97 = 0")  # gaps, so rowids are not just 1..n
    conn.execute(numbers(filler) + "INSERT INTO filler (body) SELECT zeroblob(4000) FROM s")
    conn.execute("COMMIT")
    conn.close()
    assert side_files(path) == []


def state(path: Path) -> dict[str, object]:
    """conftest.snapshot with the history's applied_at blanked (runs differ there)."""
    return snapshot(path, steady=True)


def table_pages(path: Path, table: str) -> int:
    return int(rows(path, "SELECT count(*) FROM dbstat WHERE name = ?", (table,))[0][0])


@pytest.fixture(scope="module")
def goldens(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One v1 database per journal mode, copied by each test that needs it."""
    directory = tmp_path_factory.mktemp("goldens")
    models = write_both(directory)
    made = {}
    for mode in ("delete", "wal"):
        made[mode] = directory / f"{mode}.db"
        build(made[mode], models, mode)
    return made


def copy_of(golden: Path, target: Path) -> Path:
    shutil.copyfile(golden, target)
    return target


# --- disk full: SQLITE_FULL from max_page_count on the caller's connection -------------------


@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_disk_full_mid_rebuild_rolls_back_and_says_how_much_room_is_needed(
    tmp_path: Path, goldens: dict[str, Path], mode: str
) -> None:
    models = write_both(tmp_path)
    db = copy_of(goldens[mode], tmp_path / "app.db")
    before = state(db)
    pages = table_pages(db, "big")
    assert pages > 50
    for k in (0, 1, 8, pages // 4, pages // 2):  # the new table alone needs more than half the old
        conn = sqlite3.connect(db, isolation_level=None)
        page_count = conn.execute("PRAGMA page_count").fetchone()[0]
        assert conn.execute(f"PRAGMA max_page_count = {page_count + k}").fetchone()[0] == page_count + k
        conn.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(DiskFull) as info:
            rebuilder.sync(models.v2, conn)
        message = str(info.value)
        assert "disk full while rebuilding table 'big'" in message, (k, message)
        assert "MB" in message and "nothing was changed" in message, (k, message)
        assert TEMP_PREFIX not in message
        assert info.value.table == "big" and info.value.needed > 0 and info.value.free is None
        # The caller's connection is handed back usable, outside any transaction, pragmas restored.
        assert not conn.in_transaction, k
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,), k
        assert conn.execute("PRAGMA max_page_count").fetchone() == (page_count + k,), k
        assert conn.execute("SELECT count(*) FROM big").fetchone()[0] > 0
        conn.close()
        assert state(db) == before, k
        assert integrity(db) == "ok", k
        assert side_files(db) == [], k

    # Control: with room to spare the same connection setup succeeds, so the limit was the cause.
    conn = sqlite3.connect(db, isolation_level=None)
    page_count = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {page_count + 10 * pages}")
    assert rebuilder.sync(models.v2, conn).changed
    conn.close()
    assert rebuilder.check(models.v2, db) == []


def test_disk_full_in_a_chunked_copy_rolls_back(tmp_path: Path) -> None:
    """More than 20,000 rows with row progress: the copy runs in rowid ranges, and fails in one."""
    models = write_both(tmp_path)
    db = tmp_path / "app.db"
    build(db, models, n=150_000)
    before = state(db)
    pages = table_pages(db, "big")
    copied: list[int] = []
    conn = sqlite3.connect(db, isolation_level=None)
    page_count = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {page_count + pages * 2 // 3}")
    with pytest.raises(DiskFull) as info:
        rebuilder.sync(models.v2, conn, row_progress=lambda table, done, total: copied.append(done))
    assert not conn.in_transaction
    conn.close()
    assert copied and 0 < copied[-1] < 150_000, copied  # it failed after some ranges were copied
    assert "disk full while rebuilding table 'big'" in str(info.value)
    assert state(db) == before
    assert integrity(db) == "ok"
    assert side_files(db) == []


# --- disk space checked before a rebuild ------------------------------------------------------


def test_ensure_room_refuses_a_need_larger_than_the_free_space(
    tmp_path: Path, goldens: dict[str, Path]
) -> None:
    db = copy_of(goldens["delete"], tmp_path / "app.db")
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        free = shutil.disk_usage(tmp_path).free
        rebuilder.space.ensure_room(conn, {"big": 1_000_000})  # a megabyte fits
        with pytest.raises(DiskFull) as info:
            rebuilder.space.ensure_room(conn, {"big": free + 10**12})
        message = str(info.value)
        assert "not enough disk space to rebuild table 'big'" in message
        assert f"{-(-(free + 10**12) // 1_000_000)} MB" in message and "MB free" in message
        assert info.value.free is not None and abs(info.value.free - free) < 10**9

        memory = sqlite3.connect(":memory:")
        rebuilder.space.ensure_room(memory, {"big": 10**18})  # no file, no filesystem to check
        memory.close()
    finally:
        conn.close()


def test_sync_refuses_up_front_when_the_filesystem_reports_too_little_free_space(
    tmp_path: Path, goldens: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-flight check is wired into sync: a lowered free-space figure (the OS's, not SQLite's)."""
    models = write_both(tmp_path)
    db = copy_of(goldens["delete"], tmp_path / "app.db")
    before = state(db), db.read_bytes()
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(rebuilder.space.shutil, "disk_usage", lambda path: usage(10**9, 10**9, 200_000))
    with pytest.raises(DiskFull) as info:
        rebuilder.sync(models.v2, db)
    assert "not enough disk space to rebuild table 'big'" in str(info.value)
    assert "0 MB free" in str(info.value)
    assert (state(db), db.read_bytes()) == before
    assert side_files(db) == []


# --- I/O errors: the OS refuses to grow a file (RLIMIT_FSIZE) -----------------------------------


def file_size_limit(limit: int) -> Callable[[], None]:
    """preexec_fn: writes past ``limit`` bytes fail with EFBIG (Python ignores SIGXFSZ)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("mode", ["delete", "wal"])
@pytest.mark.parametrize("n", [20_000, 60_000], ids=["fits-the-cache", "spills-mid-copy"])
def test_an_io_error_during_a_rebuild_rolls_back(tmp_path: Path, mode: str, n: int) -> None:
    """The file may not grow at all: a small rebuild fails at COMMIT, a larger one when the cache spills."""
    models = write_both(tmp_path)
    db = tmp_path / "app.db"
    build(db, models, mode, n=n)
    before = state(db)
    result = run_cli("sync", models.spec, str(db), preexec_fn=file_size_limit(db.stat().st_size))
    line = one_sentence(result)
    assert "disk I/O error" in line and "nothing was changed" in line, line
    assert "'big'" in line or str(db) in line, line
    assert TEMP_PREFIX not in line
    assert "applied" not in result.out
    # Reopened in place, with whatever journal the failed process left (never removed here).
    assert integrity(db) == "ok"
    assert state(db) == before
    assert side_files(db) == []
    assert rebuilder.sync(models.v2, db).changed  # nothing half-done is in the way
    assert rebuilder.check(models.v2, db) == []


@pytest.fixture
def wal_with_filler(tmp_path: Path) -> tuple[Versions, Path, dict[str, object]]:
    """A WAL database whose untouched filler outweighs the rebuilt table, and NEW from a copy."""
    models = write_both(tmp_path)
    db = tmp_path / "app.db"
    build(db, models, "wal", filler=2000)
    reference = copy_of(db, tmp_path / "reference.db")
    rebuilder.sync(models.v2, reference)
    return models, db, state(reference)


def test_a_checkpoint_that_fails_after_commit_is_not_a_failed_sync(
    wal_with_filler: tuple[Versions, Path, dict[str, object]],
) -> None:
    """The WAL (the rebuilt table) fits under the size limit, the grown database file does not.

    COMMIT succeeds; the checkpoint when the connection closes fails with EFBIG.
    The sync must report success, and the WAL left beside the file holds it.
    """
    models, db, new = wal_with_filler
    result = run_cli("sync", models.spec, str(db), preexec_fn=file_size_limit(db.stat().st_size))
    assert result.code == 0, result
    assert result.err == ""
    assert "applied 1 step(s)" in result.out
    assert "-wal" in side_files(db)  # the checkpoint really failed
    assert integrity(db) == "ok"
    assert state(db) == new
    assert rebuilder.check(models.v2, db) == []


def test_a_vacuum_that_fails_after_commit_is_not_a_failed_sync(
    wal_with_filler: tuple[Versions, Path, dict[str, object]],
) -> None:
    models, db, new = wal_with_filler
    result = run_cli("sync", models.spec, str(db), "--vacuum", preexec_fn=file_size_limit(db.stat().st_size))
    assert "applied 1 step(s)" in result.out
    assert integrity(db) == "ok"
    assert state(db) == new  # the change is there: reporting a failure would be wrong
    assert "Traceback" not in result.err, result.err
    assert result.code == 0, result


# --- leftovers in the database ----------------------------------------------------------------


def test_the_reserved_temporary_name_is_the_documented_prefix() -> None:
    assert temp_name("big") == "_rebuilder_new_big" == TEMP_PREFIX + "big"


def refused_after(tmp_path: Path, golden: Path, script: str, *flags: str) -> str:
    """Run ``script`` on a copy of ``golden``, then a sync that must be refused leaving it as it was.

    Returns the refusal's one line.
    """
    models = write_both(tmp_path)
    db = copy_of(golden, tmp_path / "app.db")
    conn = sqlite3.connect(db)
    conn.executescript(script)
    conn.close()
    before = state(db), db.read_bytes()
    line = one_sentence(run_cli("sync", models.spec, str(db), *flags))
    assert (state(db), db.read_bytes()) == before
    assert side_files(db) == []
    return line


REFUSED_FOR_ITS_NAME = ("already exists", "nothing was changed")
TEMPORARY_NAME_CASES = {
    # (SQL run first, sync flags, what the refusal must say)
    "empty-table": (
        f"CREATE TABLE {TEMP_PREFIX}big (x)",
        [],
        (repr(f"{TEMP_PREFIX}big"), *REFUSED_FOR_ITS_NAME),
    ),
    "other-case-with-rows": (
        f"CREATE TABLE {TEMP_PREFIX.upper()}BIG (x); INSERT INTO {TEMP_PREFIX.upper()}BIG VALUES (1)",
        ["--exclude", f"{TEMP_PREFIX.upper()}BIG"],
        (repr(f"{TEMP_PREFIX.upper()}BIG"), *REFUSED_FOR_ITS_NAME),
    ),
    # A view or an index holding the name is refused by its name.
    "view": (
        f"CREATE VIEW {TEMP_PREFIX}big AS SELECT 1 AS x",
        ["--exclude", f"{TEMP_PREFIX}big"],
        (f"{TEMP_PREFIX}big",),
    ),
    "index": (
        f"CREATE INDEX {TEMP_PREFIX}big ON filler (body)",
        ["--exclude", f"{TEMP_PREFIX}big"],
        (f"{TEMP_PREFIX}big",),
    ),
}


@pytest.mark.parametrize("case", list(TEMPORARY_NAME_CASES.values()), ids=list(TEMPORARY_NAME_CASES))
def test_an_object_holding_the_temporary_name_is_refused(
    tmp_path: Path, goldens: dict[str, Path], case: tuple[str, list[str], tuple[str, ...]]
) -> None:
    ddl, flags, needles = case
    line = refused_after(tmp_path, goldens["delete"], ddl, *flags)
    for needle in needles:
        assert needle in line, line


VERSION_TABLE_CASES = {
    "extra-column": (
        "ALTER TABLE rebuilder_version ADD COLUMN extra TEXT",
        ("'rebuilder_version'", "version_num, extra", "--version-table"),
    ),
    "two-rows": (
        "INSERT INTO rebuilder_version VALUES ('0123456789abcdef0123456789abcdef')",
        ("'rebuilder_version'", "more than one row"),
    ),
    "other-column": (
        "DROP TABLE rebuilder_version; CREATE TABLE rebuilder_version (version TEXT); "
        "INSERT INTO rebuilder_version VALUES ('x')",
        ("'rebuilder_version'", "version"),
    ),
    "a-view": (
        "DROP TABLE rebuilder_version; CREATE VIEW rebuilder_version AS SELECT 'abc' AS version_num",
        ("rebuilder_version", "view"),
    ),
    "history-of-another-shape": (
        "DROP TABLE rebuilder_history; CREATE TABLE rebuilder_history (id INTEGER PRIMARY KEY, note TEXT); "
        "INSERT INTO rebuilder_history (note) VALUES ('theirs')",
        ("rebuilder_history", "version_num"),
    ),
}


@pytest.mark.parametrize("case", list(VERSION_TABLE_CASES.values()), ids=list(VERSION_TABLE_CASES))
def test_a_version_or_history_table_of_the_wrong_shape_is_refused(
    tmp_path: Path, goldens: dict[str, Path], case: tuple[str, tuple[str, ...]]
) -> None:
    script, needles = case
    line = refused_after(tmp_path, goldens["delete"], script)
    for needle in needles:
        assert needle in line, line
    assert "nothing was changed" in line
    assert TEMP_PREFIX not in line


# --- files and directories that cannot be written ----------------------------------------------

PR_CAPBSET_DROP = 24
# CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root ignore file modes.
PERMISSION_CAPABILITIES = (1, 2, 3)


def without_permission_override() -> None:
    """preexec_fn: make the CLI obey file permissions even when the tests run as root.

    Switching to uid 65534 is not enough here: the interpreter may live under
    /root (mode 0700). Dropping the three capabilities from the bounding set
    before exec leaves root bound by the mode bits of the files it owns.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in PERMISSION_CAPABILITIES:
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@pytest.fixture
def locked_down(tmp_path: Path) -> Iterator[Path]:
    """A directory the CLI may read but, once a test chmods it, not write; restored for cleanup."""
    directory = tmp_path / "locked"
    directory.mkdir()
    marker = directory / "marker"
    marker.write_text("x")
    marker.chmod(0o444)
    check = subprocess.run(
        [sys.executable, "-c", f"open({str(marker)!r}, 'a')"],
        capture_output=True,
        preexec_fn=without_permission_override,
    )
    marker.unlink()
    if check.returncode == 0:
        pytest.skip("cannot start a process that obeys file permissions here")
    try:
        yield directory
    finally:
        directory.chmod(0o755)
        for path in directory.iterdir():
            path.chmod(0o644)


@pytest.mark.parametrize(
    ("mode", "make_read_only"),
    [("delete", "file"), ("delete", "directory"), ("wal", "file"), ("wal", "directory")],
)
def test_a_database_that_cannot_be_written_is_refused_unchanged(
    locked_down: Path, goldens: dict[str, Path], mode: str, make_read_only: str
) -> None:
    models = write_both(locked_down)
    db = copy_of(goldens[mode], locked_down / "app.db")
    before = state(db), db.read_bytes()
    if make_read_only == "file":
        db.chmod(0o444)
    else:
        db.chmod(0o644)
        locked_down.chmod(0o555)
    result = run_cli("sync", models.spec, str(db), cwd=locked_down, preexec_fn=without_permission_override)
    locked_down.chmod(0o755)
    db.chmod(0o644)
    line = one_sentence(result)
    assert "readonly" in line or "read-only" in line or "writable" in line, line
    assert "nothing was changed" in line
    assert TEMP_PREFIX not in line
    # A read-only WAL database still gets its -shm and an empty -wal from SQLite: no frames.
    assert side_files(db) in ([], ["-wal", "-shm"]), side_files(db)
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    assert (state(db), db.read_bytes()) == before


def test_a_new_database_in_a_read_only_directory_is_refused_in_one_sentence(locked_down: Path) -> None:
    models = write_both(locked_down)
    locked_down.chmod(0o555)
    db = locked_down / "new.db"
    result = run_cli("sync", models.spec, str(db), cwd=locked_down, preexec_fn=without_permission_override)
    locked_down.chmod(0o755)
    assert sorted(p.name for p in locked_down.iterdir()) == ["models_v1.py", "models_v2.py"]
    line = one_sentence(result)
    assert str(db) in line, line
