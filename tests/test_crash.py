"""Crashes: a sync killed at any moment leaves exactly the old state or exactly the new one.

A real ``python -m rebuilder sync`` runs in its own process group and is killed
with SIGKILL at seeded random moments while it rebuilds a large table (a type
change, String -> Integer over numeric strings, on a table with two indexes),
plus an AUTOINCREMENT table and a rowid table without an INTEGER PRIMARY KEY, so
that ``sqlite_sequence`` and hidden rowids are part of what must survive. The
small tables are rebuilt first (steps run in table-name order) and the large
one, ``readings``, last: a sync that committed step by step would show a mixed
state during the whole large copy, where the kills land. After
each kill the database is reopened in place with its journal or WAL (side files
are never removed or separated), and:

- ``PRAGMA integrity_check`` is ok;
- the user schema, every table's rows with rowids and storage classes,
  ``sqlite_sequence``, the version row and the history equal exactly the OLD
  state or exactly the NEW state (NEW comes from an uninterrupted run on a copy);
- the next sync completes and ``check`` finds nothing.

Ctrl-C (SIGINT to the process group) during a long sync exits 130, says that it
rolled back, and leaves the OLD state with no side files.

Sizes (the tests carry the ``slow`` marker, like the other stress runs: a plain
``pytest`` runs them reduced, ``pytest -m slow`` runs them full size):
    REBUILDER_CRASH_ROWS: rows in the large table, readings (200,000 reduced, 1,500,000 full).
    REBUILDER_CRASH_KILLS: kills per journal mode (3 reduced, 8 full).
    REBUILDER_CRASH_SEED: the seed of the kill delays (printed with the figures).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import (
    CLI_ENV,
    CODE_INTEGER,
    CODE_TEXT,
    Versions,
    coded_table,
    integrity,
    numbers,
    side_files,
    sized,
    snapshot,
    synced,
    write_versions,
)

import rebuilder
from rebuilder.render import TEMP_PREFIX

MODELS_V1 = (
    coded_table("readings", 'Index("ix_readings_name", "name")')
    + """
Table(
    "counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("n", String(20)),
    sqlite_autoincrement=True,
)
Table("loose", metadata, Column("code", String(20)), Column("note", String(40)))
"""
)

# The same models with every String code turned into Integer: three rebuilds in one sync.
MODELS_V2 = (
    MODELS_V1.replace(CODE_TEXT, CODE_INTEGER)
    .replace('Column("n", String(20))', 'Column("n", Integer)')
    .replace('Column("code", String(20)), Column("note"', 'Column("code", Integer), Column("note"')
)
assert MODELS_V2.count("Integer") == MODELS_V1.count("Integer") + 3

REDUCED_ROWS, FULL_ROWS = 200_000, 1_500_000
REDUCED_KILLS, FULL_KILLS = 3, 8
SEED = int(os.environ.get("REBUILDER_CRASH_SEED", "20240605"))


def crash_rows(config: pytest.Config) -> int:
    return sized(config, "REBUILDER_CRASH_ROWS", REDUCED_ROWS, FULL_ROWS)


def crash_kills(config: pytest.Config) -> int:
    return sized(config, "REBUILDER_CRASH_KILLS", REDUCED_KILLS, FULL_KILLS)


def write_both(directory: Path) -> Versions:
    return write_versions(directory, MODELS_V1, MODELS_V2)


def build(path: Path, models: Versions, n: int, mode: str) -> None:
    """OLD: synced to v1 by rebuilder, then filled, with gaps in rowids and a high AUTOINCREMENT mark."""
    synced(path, models.v1, mode)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute(
        numbers(n) + "INSERT INTO readings (id, code, name) "
        "SELECT x, CAST((x * 7919) % 1000003 AS TEXT), 'name ' || (x % 5000) FROM s"
    )
    conn.execute(numbers(500) + "INSERT INTO counter (n) SELECT CAST(x * 3 AS TEXT) FROM s")
    conn.execute("DELETE FROM counter WHERE id > 480 OR id % 7 = 0")
    conn.execute(numbers(500) + "INSERT INTO loose (code, note) SELECT CAST(x AS TEXT), 'note ' || x FROM s")
    conn.execute("DELETE FROM loose WHERE rowid % 5 = 0 OR rowid > 490")
    conn.execute("COMMIT")
    assert conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'counter'").fetchone() == (500,)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == ("wal" if mode == "wal" else "delete")
    conn.close()
    assert side_files(path) == []


def state(path: Path) -> dict[str, object]:
    """What must be exactly OLD or exactly NEW: conftest.snapshot, hashed so 1.5M rows fit.

    Small tables are kept verbatim (readable diffs); the history's applied_at
    timestamp is blanked, since two runs of the same sync differ only there.
    """
    return snapshot(path, steady=True, verbatim=1000)


def temp_tables(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [
            r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE instr(name, ?)", (TEMP_PREFIX,))
        ]
    finally:
        conn.close()


def _default_sigint() -> None:
    # A shell that runs a job in the background ignores SIGINT for it, and the
    # child inherits that; Ctrl-C at a terminal is never ignored, so undo it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_sync(models: Versions, db: Path, *flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rebuilder", "sync", models.spec, str(db), "--no-progress", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CLI_ENV,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )


def written(db: Path, mode: str) -> int:
    """How many bytes the side file holds (more than 0 once the rebuild writes)."""
    side = Path(f"{db}-journal") if mode == "delete" else Path(f"{db}-wal")
    try:
        return side.stat().st_size
    except FileNotFoundError:
        return 0


def remove_side_files(db: Path) -> None:
    """Remove whatever -journal, -wal or -shm a run left beside ``db``."""
    for suffix in side_files(db):
        Path(f"{db}{suffix}").unlink()


def timed_run(
    models: Versions, db: Path, mode: str, reap: list[subprocess.Popen[str]]
) -> tuple[float, float]:
    """Run a sync to the end; return the span in which its journal or WAL held writes.

    In rollback-journal mode the journal vanishes at COMMIT, so the span is the
    transaction. A WAL stays until the connection closes, well after COMMIT
    (the checkpoint copies it back first), so there the span ends when the WAL
    last grew: the transaction's last write.
    """
    started = time.monotonic()
    proc = start_sync(models, db)
    reap.append(proc)
    seen: list[float] = []
    size = 0
    while proc.poll() is None:
        now = written(db, mode)
        if now and (mode == "delete" or now > size):
            seen.append(time.monotonic() - started)
        size = max(size, now)
        time.sleep(0.002)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, (out, err)
    assert seen, "the sync never wrote to its journal or WAL"
    return seen[0], seen[-1]


@dataclass
class Figures:
    mode: str
    rows: int
    made: int = 0
    survived: int = 0
    old: int = 0
    new: int = 0
    mid: int = 0
    window: tuple[float, float] = (0.0, 0.0)
    delays: list[float] = field(default_factory=list)

    def __str__(self) -> str:
        shown = ", ".join(f"{d:.2f}" for d in self.delays)
        return (
            f"[crash] {self.mode}: {self.survived}/{self.made} kills survived on {self.rows:,} rows "
            f"(OLD {self.old}, NEW {self.new}; {self.mid} caught mid-transaction, with an uncommitted "
            "journal or WAL left beside the file; "
            f"the reference sync's journal or WAL held writes from {self.window[0]:.2f}s to "
            f"{self.window[1]:.2f}s; "
            f"seed {SEED}, kill delays s: {shown})"
        )


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_sigkill_mid_rebuild_leaves_old_or_new(
    tmp_path: Path, mode: str, request: pytest.FixtureRequest, reap: list[subprocess.Popen[str]]
) -> None:
    n, kills = crash_rows(request.config), crash_kills(request.config)
    models = write_both(tmp_path)
    golden = tmp_path / "golden.db"
    build(golden, models, n, mode)
    old = state(golden)

    # One uninterrupted run on a copy gives NEW and the span in which the sync's
    # journal or WAL held writes: the kills are spread over that span (one per
    # slice, stratified), where the rebuild and COMMIT are.
    reference = tmp_path / "reference.db"
    shutil.copyfile(golden, reference)
    first_write, last_write = timed_run(models, reference, mode, reap)
    new = state(reference)
    assert new != old
    assert rebuilder.check(models.v2, reference) == []

    rng = random.Random(f"{SEED}-{mode}-{n}")
    # The kills are spread over the first three quarters of the span: a run that
    # follows the reference is often a little faster (warm page cache), and the
    # last quarter then already lies after its COMMIT.
    low, high = first_write, first_write + 0.75 * (last_write - first_write)
    width = (high - low) / kills
    delays = [rng.uniform(low + i * width, low + (i + 1) * width) for i in range(kills)]
    figures = Figures(mode, n, window=(first_write, last_write), delays=list(delays))

    for number, aimed in enumerate(delays, 1):
        db = tmp_path / f"kill{number}.db"
        delay = aimed
        attempts, early, late = 8, 0.0, float("inf")
        for attempt in range(attempts):
            remove_side_files(db)
            shutil.copyfile(golden, db)
            proc = start_sync(models, db)
            reap.append(proc)
            time.sleep(delay)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=60)
            uncommitted = written(db, mode)  # looked at before anything reopens the file
            if (proc.returncode != 0 and uncommitted) or attempt == attempts - 1:
                break
            # Missed the transaction: the kill came after COMMIT (or the run finished),
            # or, on a machine slower than the reference run, before the first write.
            # Narrow the interval between the latest too-early and earliest too-late delay.
            assert integrity(db) == "ok"
            if state(db) == new:
                late = delay
            else:
                assert state(db) == old
                early = delay
            upper = late if late < float("inf") else early + 2 * (high - low) + 0.05
            delay = rng.uniform(early + 0.25 * (upper - early), early + 0.75 * (upper - early))
            figures.delays[number - 1] = delay
        figures.made += 1
        where = (
            f"kill {number} after {delay:.3f}s (writes seen from {first_write:.2f}s to {last_write:.2f}s, "
            f"seed {SEED}, mode {mode})"
        )
        assert proc.returncode == -signal.SIGKILL, where

        # Reopen in place, with whatever -journal or -wal the kill left beside it.
        assert integrity(db) == "ok", where
        after = state(db)
        assert after in (old, new), where
        assert temp_tables(db) == [], where
        figures.old += after == old
        figures.mid += uncommitted and after == old
        figures.new += after == new

        result = rebuilder.sync(models.v2, db)
        assert result.changed == (after == old), where
        assert rebuilder.check(models.v2, db) == [], where
        assert state(db) == new, where
        assert integrity(db) == "ok", where
        figures.survived += 1
        db.unlink()
        remove_side_files(db)

    print(figures)
    assert figures.survived == figures.made == kills
    # The kills are aimed at the rebuild: at least one must have caught it mid-way.
    assert figures.mid >= 1, figures


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_ctrl_c_mid_rebuild_rolls_back_and_exits_130(
    tmp_path: Path, mode: str, request: pytest.FixtureRequest, reap: list[subprocess.Popen[str]]
) -> None:
    # Three times the crash size: rebuilds are fast (unchanged indexes are
    # reused), and the signal must land while the copy still has work to do.
    n = 3 * crash_rows(request.config)
    models = write_both(tmp_path)
    db = tmp_path / "app.db"
    build(db, models, n, mode)
    old = state(db)

    size = db.stat().st_size
    proc = start_sync(models, db)
    reap.append(proc)
    # Wait until the large copy is under way: the page cache spills its new pages,
    # so the file grows (rollback journal) or the WAL gets frames (the small
    # tables, rebuilt first, fit in the cache). The moment just before the copy
    # has its own deterministic test below.
    deadline = time.monotonic() + 120
    while not (db.stat().st_size > size if mode == "delete" else written(db, mode)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.002)
    time.sleep(random.Random(f"{SEED}-sigint-{mode}").uniform(0.0, 0.02))
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "interrupted" in lines[0] and "rolled back" in lines[0] and "nothing was changed" in lines[0]
    assert "applied" not in out
    assert side_files(db) == []
    assert integrity(db) == "ok"
    assert state(db) == old
    assert rebuilder.check(models.v1, db) == []

    # Nothing half-done stands in the way of the next run.
    result = rebuilder.sync(models.v2, db)
    assert result.changed
    assert rebuilder.check(models.v2, db) == []


def test_snapshot_and_state_agree_on_a_small_database(tmp_path: Path) -> None:
    """The hashed state used above sees what conftest.snapshot sees (a guard on the oracle itself)."""
    models = write_both(tmp_path)
    db = tmp_path / "small.db"
    build(db, models, 1500, "delete")
    before, snap = state(db), snapshot(db)
    conn = sqlite3.connect(db)
    conn.execute(
        "UPDATE readings SET code = CAST(code AS BLOB) WHERE id = 7"
    )  # same bytes, another storage class
    conn.commit()
    conn.close()
    assert snapshot(db) != snap
    assert state(db) != before
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM sqlite_sequence")
    conn.execute("UPDATE readings SET code = CAST(code AS TEXT) WHERE id = 7")
    conn.commit()
    conn.close()
    assert state(db) != before


def _interrupt_at(conn: sqlite3.Connection, prefix: str) -> list[str]:
    """Interrupt ``conn`` as Ctrl-C would, when it starts the first statement beginning with ``prefix``.

    The trace callback runs as SQLite starts each statement, so ``interrupt()``
    there aborts exactly that statement with SQLITE_INTERRUPT, which is what the
    CLI's progress handler turns a SIGINT into; no timing involved.
    """
    hits: list[str] = []

    def trace(sql: str) -> None:
        if sql.startswith(prefix) and not hits:
            hits.append(sql)
            conn.interrupt()

    conn.set_trace_callback(trace)
    return hits


def _interrupted_sync(tmp_path: Path, prefix: str) -> tuple[Path, dict[str, object], list[str]]:
    models = write_both(tmp_path)
    db = tmp_path / "app.db"
    build(db, models, 120_000, "delete")  # above the 20,000 rows from which the copy runs in ranges
    before = state(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    hits = _interrupt_at(conn, prefix)
    try:
        with pytest.raises(KeyboardInterrupt):
            rebuilder.sync(models.v2, conn, row_progress=lambda table, done, total: None)
        assert not conn.in_transaction
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    finally:
        conn.set_trace_callback(None)
        conn.close()
    assert hits, f"no statement started with {prefix!r}"
    assert side_files(db) == []
    assert state(db) == before
    return db, before, hits


def test_an_interrupt_during_the_copy_is_a_keyboard_interrupt_and_changes_nothing(tmp_path: Path) -> None:
    _db, _before, hits = _interrupted_sync(tmp_path, f'INSERT INTO main."{TEMP_PREFIX}readings"')
    assert "WHERE" in hits[0]  # the ranged copy ran, so the chunked path is the one interrupted


def test_an_interrupt_while_sizing_the_chunked_copy_is_a_keyboard_interrupt(tmp_path: Path) -> None:
    _interrupted_sync(tmp_path, "SELECT min(")
