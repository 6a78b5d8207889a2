"""Concurrent start-ups and locks: N processes syncing together apply the change once.

Six real processes run the CLI's ``sync`` at the same moment: each imports
rebuilder first, then waits at a barrier (a go-file it polls for), so the race
is between syncs, not between interpreter start-ups. All must exit 0, exactly
one applies the change, and the database ends with one version row, one new
history entry and exactly the state a single sync gives. This runs on an
existing database in rollback-journal mode, in WAL mode, and on a file that
does not exist yet, for several rounds each, since luck hides races.

The lock tests add what tests/test_bad_input.py does not cover: a held write
lock in WAL mode, a sync that succeeds because the lock is released while it
waits, and a reader that keeps COMMIT waiting in rollback-journal mode.

Sizes (the stress test carries the ``slow`` marker: a plain ``pytest`` runs it
reduced, ``pytest -m slow`` runs it full size):
    REBUILDER_CONCURRENT_PROCESSES: processes per round (6).
    REBUILDER_CONCURRENT_ROUNDS: rounds per database kind (3 reduced, 25 full).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import (
    CLI_ENV,
    CODE_INTEGER,
    CODE_TEXT,
    Result,
    Versions,
    coded_table,
    history,
    integrity,
    numbers,
    one_sentence,
    rows,
    side_files,
    sized,
    snapshot,
    synced,
    version_row,
    write_versions,
)

import rebuilder
from rebuilder.version import fingerprint

MODELS_V1 = (
    coded_table("item")
    + """
Table(
    "tag",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("item.id")),
    Column("label", String(20)),
    sqlite_autoincrement=True,
)
"""
)

# A rebuild (String -> Integer over numeric strings), an added column and a new table.
MODELS_V2 = MODELS_V1.replace(CODE_TEXT, CODE_INTEGER).replace(
    'Column("label", String(20)),', 'Column("label", String(20)),\n    Column("weight", Integer),'
) + ('Table("note", metadata, Column("id", Integer, primary_key=True), Column("body", String(200)))\n')
assert MODELS_V2.count("Column(") == MODELS_V1.count("Column(") + 3

PROCESSES = int(os.environ.get("REBUILDER_CONCURRENT_PROCESSES", "6"))
REDUCED_ROUNDS, FULL_ROUNDS = 3, 25

# A worker imports everything, then for each round: says it is ready, waits for
# that round's go-file, and runs the real CLI entry point with the arguments the
# go-file holds, recording the exit code and output. Reusing the processes keeps
# interpreter start-up out of both the race and the run time; every sync still
# opens its own connection in its own process.
WORKER = """
import contextlib, io, json, logging, sys, time
from pathlib import Path
import rebuilder.cli
home, me = Path(sys.argv[1]), sys.argv[2]
number = 0
while True:
    number += 1
    (home / f"ready{number}-{me}").touch()
    go = home / f"go{number}"
    deadline = time.monotonic() + 300
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("no go")
        time.sleep(0.001)
    args = json.loads(go.read_text())
    if args is None:
        break
    logging.root.handlers.clear()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        sys.argv = ["rebuilder", *args]
        try:
            rebuilder.cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    result = home / f"result{number}-{me}.json"
    result.with_suffix(".tmp").write_text(json.dumps([code, out.getvalue(), err.getvalue()]))
    result.with_suffix(".tmp").replace(result)
"""


def rounds(config: pytest.Config) -> int:
    return sized(config, "REBUILDER_CONCURRENT_ROUNDS", REDUCED_ROUNDS, FULL_ROUNDS)


@pytest.fixture
def models(tmp_path: Path) -> Versions:
    return write_versions(tmp_path, MODELS_V1, MODELS_V2)


def version_of(models: Versions) -> str:
    """The version a sync to the second models records."""
    return fingerprint([models.v2])


def build(path: Path, models: Versions, mode: str, items: int = 5000) -> None:
    """An existing database at v1 with rows, in the given journal mode."""
    synced(path, models.v1, mode)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute(
        numbers(items)
        + "INSERT INTO item (id, code, name) SELECT x, CAST(x * 13 AS TEXT), 'item ' || x FROM s"
    )
    conn.execute(numbers(300) + "INSERT INTO tag (item_id, label) SELECT x, 'tag ' || x FROM s")
    conn.execute("DELETE FROM tag WHERE id > 290")
    conn.execute("COMMIT")
    conn.close()


def normalized(path: Path) -> dict[str, object]:
    """conftest.snapshot with the history's applied_at blanked: two runs differ only there."""
    return snapshot(path, steady=True)


class Pool:
    """``count`` worker processes released together, round after round, by go-files."""

    def __init__(self, home: Path, count: int, reap: list[subprocess.Popen[str]]) -> None:
        home.mkdir()
        self.home, self.count, self.round = home, count, 0
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(home), str(me)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=CLI_ENV,
            )
            for me in range(count)
        ]
        reap.extend(self.procs)

    def _wait(self, name: str) -> None:
        deadline = time.monotonic() + 300
        while not all((self.home / name.format(me=me)).exists() for me in range(self.count)):
            dead = [p.communicate() for p in self.procs if p.poll() is not None]
            assert not dead, dead
            assert time.monotonic() < deadline, f"the workers did not reach {name}"
            time.sleep(0.002)

    def _go(self, args: list[str] | None) -> None:
        go = self.home / f"go{self.round}"
        go.with_suffix(".tmp").write_text(json.dumps(args))
        go.with_suffix(".tmp").replace(go)

    def start(self, args: list[str]) -> None:
        """Wait until every worker is ready (imported), then release them all at once."""
        self.round += 1
        self._wait(f"ready{self.round}-{{me}}")
        self._go(args)

    def done(self) -> bool:
        return any((self.home / f"result{self.round}-{me}.json").exists() for me in range(self.count))

    def collect(self) -> list[Result]:
        self._wait(f"result{self.round}-{{me}}.json")
        results = []
        for me in range(self.count):
            code, out, err = json.loads((self.home / f"result{self.round}-{me}.json").read_text())
            results.append(Result(code, out, err))
        return results

    def run(self, args: list[str]) -> list[Result]:
        self.start(args)
        return self.collect()

    def close(self) -> None:
        self.round += 1
        self._wait(f"ready{self.round}-{{me}}")
        self._go(None)
        for proc in self.procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, (out, err)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["delete", "wal", "fresh"])
def test_concurrent_syncs_apply_the_change_once(
    tmp_path: Path,
    kind: str,
    models: Versions,
    request: pytest.FixtureRequest,
    reap: list[subprocess.Popen[str]],
) -> None:
    golden = tmp_path / "golden.db"
    expected_path = tmp_path / "expected.db"
    if kind != "fresh":
        build(golden, models, kind)
        shutil.copyfile(golden, expected_path)
    before = [] if kind == "fresh" else history(golden)
    rebuilder.sync(models.v2, expected_path)  # one sync alone: what six together must give
    expected = normalized(expected_path)

    total = rounds(request.config)
    pool = Pool(tmp_path / "pool", PROCESSES, reap)
    for number in range(1, total + 1):
        db = tmp_path / f"round{number}.db"
        if kind != "fresh":
            shutil.copyfile(golden, db)
        args = ["sync", models.spec, str(db), "--no-progress", "--timeout", "60"]
        results = pool.run(args)
        where = f"{kind} round {number}/{total}: " + repr([(r.code, r.out, r.err) for r in results])

        assert [r.code for r in results] == [0] * PROCESSES, where
        assert all(r.err == "" for r in results), where
        applied = [r for r in results if "nothing to do" not in r.out]
        assert len(applied) == 1, where
        assert f"applied {history(db)[-1][1]} step(s)" in applied[0].out, where
        assert all(f"version {version_of(models)}" in r.out for r in results), where

        assert version_row(db) == [(version_of(models),)], where
        assert history(db)[: len(before)] == before, where
        assert len(history(db)) == len(before) + 1, where
        assert history(db)[-1][0] == version_of(models), where
        assert integrity(db) == "ok", where
        assert normalized(db) == expected, where
        assert rebuilder.check(models.v2, db) == [], where
        if kind != "wal":  # the last of several closing WAL connections may leave the -wal
            assert side_files(db) == [], where
    pool.close()
    print(f"[concurrency] {kind}: {PROCESSES} processes x {total} rounds, each applied once")


# --- locks held by another process ------------------------------------------------------

HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
if sys.argv[2] == "write":
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO tag (item_id, label) VALUES (1, 'held')")
else:
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM item").fetchone()
print("holding", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
conn.close()
"""


class Holder:
    """Another process holding a write transaction (with one uncommitted row) or a read transaction."""

    def __init__(self, db: Path, kind: str, reap: list[subprocess.Popen[str]]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(db), kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        reap.append(self.proc)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "holding"

    def release(self) -> None:
        """Commit (the write holder's row becomes visible) and exit."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        self.proc.stdin.close()
        assert self.proc.wait(timeout=60) == 0


def test_a_held_write_lock_in_wal_mode_times_out_then_the_sync_succeeds(
    tmp_path: Path, models: Versions, reap: list[subprocess.Popen[str]]
) -> None:
    db = tmp_path / "app.db"
    build(db, models, "wal")
    before = snapshot(db)
    holder = Holder(db, "write", reap)

    pool = Pool(tmp_path / "pool", 1, reap)
    started = time.monotonic()
    [refused] = pool.run(["sync", models.spec, str(db), "--timeout", "0.5"])
    waited = time.monotonic() - started
    line = one_sentence(refused)
    assert "locked" in line and str(db) in line and "nothing was changed" in line
    assert 0.5 <= waited < 10
    assert snapshot(db) == before

    holder.release()
    [applied] = pool.run(["sync", models.spec, str(db), "--timeout", "0.5"])
    pool.close()
    assert applied.code == 0, applied
    assert version_row(db) == [(version_of(models),)]
    assert rows(db, "SELECT label, weight FROM tag WHERE label = 'held'") == [("held", None)]
    assert rows(db, "SELECT typeof(code) FROM item GROUP BY 1") == [("integer",)]
    assert rebuilder.check(models.v2, db) == []


@pytest.mark.parametrize(("mode", "kind"), [("delete", "write"), ("wal", "write"), ("delete", "read")])
def test_a_sync_waiting_for_a_lock_succeeds_once_it_is_released(
    tmp_path: Path, models: Versions, mode: str, kind: str, reap: list[subprocess.Popen[str]]
) -> None:
    """The sync starts while another process holds the lock, waits, and applies once it is let go.

    A write holder blocks BEGIN IMMEDIATE; a reader in rollback-journal mode
    lets the sync start but keeps its COMMIT (and any cache spill) waiting.
    """
    db = tmp_path / "app.db"
    build(db, models, mode)
    holder = Holder(db, kind, reap)
    pool = Pool(tmp_path / "pool", 1, reap)
    pool.start(["sync", models.spec, str(db), "--timeout", "30"])  # start-up is over: imported first
    started = time.monotonic()
    time.sleep(1.5)
    assert not pool.done(), "the sync did not wait for the lock"
    holder.release()
    [result] = pool.collect()
    waited = time.monotonic() - started
    pool.close()

    assert (result.code, result.err) == (0, ""), result
    assert "applied" in result.out
    assert 1.5 <= waited < 30
    assert version_row(db) == [(version_of(models),)]
    assert len(history(db)) == 2
    held = rows(db, "SELECT label FROM tag WHERE label = 'held'")
    assert held == ([("held",)] if kind == "write" else [])
    assert rows(db, "SELECT typeof(code), count(*) FROM item GROUP BY 1") == [("integer", 5000)]
    assert integrity(db) == "ok"
    assert rebuilder.check(models.v2, db) == []


def test_a_reader_outlasting_the_timeout_in_rollback_journal_mode_is_refused_unchanged(
    tmp_path: Path, models: Versions, reap: list[subprocess.Popen[str]]
) -> None:
    db = tmp_path / "app.db"
    build(db, models, "delete")
    before = snapshot(db), db.read_bytes()
    holder = Holder(db, "read", reap)

    with pytest.raises(rebuilder.errors.DatabaseLocked) as info:
        rebuilder.sync(models.v2, db, timeout=0.5)
    assert "locked" in str(info.value) and str(db) in str(info.value)
    assert (snapshot(db), db.read_bytes()) == before
    assert side_files(db) == []

    holder.release()
    assert rebuilder.sync(models.v2, db, timeout=0.5).changed
    assert rebuilder.check(models.v2, db) == []


def test_a_reader_blocking_a_large_rebuild_is_refused_within_the_timeout(
    tmp_path: Path, models: Versions, reap: list[subprocess.Popen[str]]
) -> None:
    db = tmp_path / "app.db"
    build(db, models, "delete", items=100_000)  # a few MB: more than the default 2 MB page cache
    before = snapshot(db), db.read_bytes()
    holder = Holder(db, "read", reap)

    started = time.monotonic()
    with pytest.raises(rebuilder.errors.DatabaseLocked):
        rebuilder.sync(models.v2, db, timeout=0.5)
    waited = time.monotonic() - started
    assert (snapshot(db), db.read_bytes()) == before
    assert side_files(db) == []
    holder.release()
    assert waited < 2.0, f"--timeout 0.5 but the sync waited {waited:.1f}s"
