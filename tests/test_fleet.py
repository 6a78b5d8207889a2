"""Many files in one command: globs, --jobs, --shard, failures that stop nothing, the summary, JSON, prompts.

Every test runs on real SQLite files, most through the real CLI in a
subprocess (whose worker processes are real spawned processes). A tenant is
a file synced to ``MODELS_V1`` and then filled; ``MODELS_V2`` turns
``item.code`` from text into INTEGER and ``item.name`` NOT NULL (one rebuild of
``item``) and adds ``note.tag`` (a native ADD COLUMN). ``MODELS_V3`` drops
``note.body``: data loss wherever a body is stored.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from conftest import (
    CLI_ENV,
    ROOT,
    Models,
    Result,
    Versions,
    execute,
    integrity,
    models_file,
    numbers,
    rows,
    run_cli,
    snapshot,
    synced,
    write_versions,
)

import rebuilder
from rebuilder import fleet
from rebuilder.options import Options
from rebuilder.results import FORMAT_VERSION
from rebuilder.worker import Consent, Engine

ITEM = """
Table(
    "item",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50){name}),
    Column("code", {code}, nullable=False),
    Index("ix_item_code", "code"),
)
"""
NOTE = """
Table(
    "note",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("item.id")),
{columns})
"""
IMPORTS_LOG = """
import os as _os
from pathlib import Path as _Path

if "__file__" in globals():
    with open(_Path(__file__).with_name("imports.log"), "a") as _log:
        _log.write(f"{_os.getpid()}\\n")
"""
"""Appended to the v2 models: every process that imports them (as a module) writes its pid."""

MODELS_V1 = ITEM.format(name="", code="String(20)") + NOTE.format(columns='    Column("body", Text),\n')
MODELS_V2 = (
    ITEM.format(name=", nullable=False", code="Integer")
    + NOTE.format(columns='    Column("body", Text),\n    Column("tag", String(20)),\n')
    + IMPORTS_LOG
)
MODELS_V3 = ITEM.format(name="", code="String(20)") + NOTE.format(columns="")


def both(directory: Path) -> Versions:
    return write_versions(directory, MODELS_V1, MODELS_V2)


def tenant(path: Path, models: Versions, items: int = 30, notes: int = 10) -> Path:
    """A file synced to v1 by rebuilder, then filled: numeric codes, named items, notes with bodies."""
    synced(path, models.v1)
    execute(
        path,
        numbers(items)
        + "INSERT INTO item (id, name, code) SELECT x, 'item ' || x, CAST(x * 7 AS TEXT) FROM s",
        numbers(notes) + "INSERT INTO note (item_id, body) SELECT x, 'body ' || x FROM s",
    )
    return path


def fleet_of(directory: Path, models: Versions, count: int, items: int = 30) -> list[Path]:
    """``count`` tenants ``t00.db`` ... in ``directory``: one built, the others copies of it."""
    directory.mkdir(exist_ok=True)
    first = tenant(directory / "t00.db", models, items)
    paths = [first]
    for n in range(1, count):
        paths.append(directory / f"t{n:02d}.db")
        shutil.copyfile(first, paths[-1])
    return paths


def at_v2(path: Path, models: Versions) -> bool:
    return rebuilder.check(models.v2, path) == []


def codes(path: Path) -> list[tuple[object, ...]]:
    return rows(path, "SELECT id, code, typeof(code) FROM item ORDER BY id")


def totals_line(result: Result) -> str:
    return result.out.strip().splitlines()[-1]


# --- globs ----------------------------------------------------------------------------------------


def test_a_glob_syncs_every_file_it_matches(tmp_path: Path) -> None:
    models = both(tmp_path)
    paths = fleet_of(tmp_path / "tenants", models, 6)
    (tmp_path / "tenants" / "notes.txt").write_text("not matched by *.db")

    done = run_cli("sync", models.spec, str(tmp_path / "tenants" / "*.db"), "--jobs", "2")

    assert done.code == 0, done.err
    assert done.err == ""
    assert totals_line(done) == "6 file(s): 6 synced, 0 already current, 0 refused, 0 failed"
    assert "applied to 6 file(s)" in done.out
    assert "applied add column note.tag VARCHAR(20)" in done.out
    assert "applied rebuild table item" in done.out
    for path in paths:
        assert at_v2(path, models)
        assert codes(path) == [(x, x * 7, "integer") for x in range(1, 31)]
        assert integrity(path) == "ok"


def test_paths_and_globs_mix_sorted_once_each(tmp_path: Path) -> None:
    models = both(tmp_path)
    paths = fleet_of(tmp_path / "tenants", models, 4)
    shutil.copyfile(paths[0], tmp_path / "extra.db")
    arguments = [str(paths[2]), str(tmp_path / "tenants" / "t0*.db"), str(tmp_path / "extra.db")]

    done = run_cli("check", models.spec, *arguments, "--json")

    assert done.code == 1  # nothing synced yet: every file differs
    shown = [record["path"] for record in json.loads(done.out)["files"]]
    tenants = [str(p) for p in paths]
    assert shown == [tenants[2], tenants[0], tenants[1], tenants[3], str(tmp_path / "extra.db")]


def test_a_glob_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    models = both(tmp_path)
    (tmp_path / "tenants").mkdir()
    done = run_cli("sync", models.spec, str(tmp_path / "tenants" / "*.db"))
    assert done.code == 1
    pattern = str(tmp_path / "tenants" / "*.db")
    assert done.err.strip() == f"error: {pattern!r} matches no file; nothing was changed, check the pattern"
    assert list((tmp_path / "tenants").iterdir()) == []


def test_expand_skips_side_files_and_directories_and_keeps_literal_names(tmp_path: Path) -> None:
    for name in ("b.db", "a.db", "a.db-journal", "a.db-wal", "odd[1].db", "lone-wal"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "dir.db").mkdir()
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "c.db").write_bytes(b"")

    found = fleet.expand([f"{tmp_path}/*", str(tmp_path / "odd[1].db"), f"{tmp_path}/**/*.db"])

    names = [Path(m.path).relative_to(tmp_path).as_posix() for m in found]
    assert names == ["a.db", "b.db", "lone-wal", "odd[1].db", "deep/er/c.db"]
    assert [m.key for m in found] == ["a.db", "b.db", "lone-wal", "odd[1].db", "deep/er/c.db"]


# --- shards ---------------------------------------------------------------------------------------


def test_shards_cover_every_file_exactly_once(tmp_path: Path) -> None:
    models = both(tmp_path)
    paths = fleet_of(tmp_path / "tenants", models, 12)
    pattern = str(tmp_path / "tenants" / "*.db")

    seen: list[str] = []
    for k in (1, 2, 3):
        done = run_cli("sync", models.spec, pattern, "--shard", f"{k}/3", "--json", "--jobs", "1")
        assert done.code == 0, done.err
        document = json.loads(done.out)
        assert {r["status"] for r in document["files"]} <= {"synced"}
        seen += [r["path"] for r in document["files"]]
        again = run_cli("plan", models.spec, pattern, "--shard", f"{k}/3", "--json", "--jobs", "1")
        assert [r["path"] for r in json.loads(again.out)["files"]] == [r["path"] for r in document["files"]]

    assert sorted(seen) == sorted(str(p) for p in paths)
    assert all(at_v2(p, models) for p in paths)


def test_shard_keys_split_any_fleet_into_disjoint_shards() -> None:
    matches = [fleet.Match(f"/srv/t/{n}.db", f"{n}.db") for n in range(1000)]
    for n in (1, 2, 3, 7):
        shards = [fleet.in_shard(matches, k, n) for k in range(1, n + 1)]
        assert sorted(m.key for shard in shards for m in shard) == sorted(m.key for m in matches)
        assert all(len(shard) > 1000 / n / 2 for shard in shards)  # roughly balanced
    # A file's shard depends on its own name only: adding files moves none.
    fewer = fleet.in_shard(matches[:500], 2, 3)
    assert fewer == [m for m in fleet.in_shard(matches, 2, 3) if m in matches[:500]]


@pytest.mark.parametrize("value", ["0/3", "4/3", "1/0", "3", "a/b", "-1/3", "1/3/2"])
def test_a_bad_shard_is_a_usage_error(tmp_path: Path, value: str) -> None:
    models = both(tmp_path)
    done = run_cli("sync", models.spec, str(tmp_path / "*.db"), "--shard", value)
    assert done.code == 2, done
    lines = done.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: bad shard {value!r}: "), done.err


def test_jobs_below_one_is_a_usage_error(tmp_path: Path) -> None:
    models = both(tmp_path)
    done = run_cli("sync", models.spec, str(tmp_path / "a.db"), str(tmp_path / "b.db"), "--jobs", "0")
    assert done.code == 2
    assert done.err.startswith("error: ") and "--jobs" in done.err


# --- workers --------------------------------------------------------------------------------------


def test_jobs_start_that_many_workers_each_loading_the_models_once(tmp_path: Path) -> None:
    models = both(tmp_path)
    paths = fleet_of(tmp_path / "tenants", models, 40, items=5)
    log = tmp_path / "imports.log"
    log.unlink(missing_ok=True)  # write_versions loaded the models here

    done = run_cli("sync", models.spec, str(tmp_path / "tenants" / "*.db"), "--jobs", "3")

    assert done.code == 0, done.err
    pids = log.read_text().split()
    assert len(pids) == len(set(pids)) == 4  # the command, and three workers: once each
    assert all(at_v2(p, models) for p in paths)

    log.unlink()
    alone = run_cli("sync", models.spec, str(tmp_path / "tenants" / "*.db"), "--jobs", "1")
    assert alone.code == 0
    assert totals_line(alone) == "40 file(s): 0 synced, 40 already current, 0 refused, 0 failed"
    assert len(log.read_text().split()) == 1  # one job: the files are synced in the command itself


def test_identical_tenants_are_planned_once(tmp_path: Path) -> None:
    models = both(tmp_path)
    paths = fleet_of(tmp_path / "tenants", models, 8)
    execute(paths[7], "CREATE INDEX ix_note_body ON note (body)")  # another state: its own plan
    # The same schema stored elsewhere in the file (note copied to new pages): the same plan.
    (sql,) = rows(paths[6], "SELECT sql FROM sqlite_schema WHERE name = 'note'")[0]
    root = rows(paths[6], "SELECT rootpage FROM sqlite_schema WHERE name = 'note'")
    execute(
        paths[6], "ALTER TABLE note RENAME TO note_old", str(sql), "INSERT INTO note SELECT * FROM note_old"
    )
    execute(paths[6], "DROP TABLE note_old")
    assert rows(paths[6], "SELECT rootpage FROM sqlite_schema WHERE name = 'note'") != root
    assert rows(paths[6], "SELECT sql FROM sqlite_schema WHERE name = 'note'") == [(sql,)]
    engine = Engine((models.v2,), Options())

    found = [engine.run("sync", str(p), Consent()) for p in paths]

    assert [r.status for r in found] == ["synced"] * 8
    assert engine.plans_made == 2
    assert all(at_v2(p, models) for p in paths)
    assert [engine.run("sync", str(p), Consent()).status for p in paths] == ["current"] * 8
    assert engine.plans_made == 2


# --- failures stop nothing ------------------------------------------------------------------------

HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO note (item_id, body) VALUES (1, 'held')")
print("holding", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def hold_write_lock(path: Path) -> subprocess.Popen[str]:
    """Another process with a write transaction open on ``path``, until a line is written to it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.write("\n")
    holder.stdin.close()
    holder.wait(timeout=30)


def test_a_locked_a_corrupt_and_a_refused_file_stop_nothing_and_a_rerun_finishes(
    tmp_path: Path, reap: list[subprocess.Popen[str]]
) -> None:
    models = both(tmp_path)
    paths = fleet_of(tmp_path / "tenants", models, 8)
    locked, corrupt, refused = paths[1], paths[4], paths[6]
    corrupt.write_bytes(b"this is not a database\x00" * 100)
    execute(refused, "UPDATE item SET name = NULL WHERE id = 3")
    before = {p: snapshot(p) for p in (locked, refused)}
    garbage = corrupt.read_bytes()
    holder = hold_write_lock(locked)
    reap.append(holder)

    try:
        done = run_cli(
            "sync", models.spec, str(tmp_path / "tenants" / "*.db"), "--timeout", "1", "--jobs", "2"
        )
    finally:
        release(holder)

    assert done.code == 1, done
    assert "Traceback" not in done.err
    assert totals_line(done) == "8 file(s): 5 synced, 0 already current, 1 refused, 2 failed"
    problems = done.err.strip().splitlines()
    assert len(problems) == 4, done.err
    assert problems[0].startswith(f"failed: {locked}: database {locked} is locked by another connection")
    assert problems[1].startswith(f"failed: {corrupt}: {corrupt} is not a SQLite database")
    assert problems[2].startswith(f"refused: {refused}: 1 existing row(s) of table 'item' violate NOT NULL")
    assert problems[3] == f"error: 3 of 8 file(s) were not synced: {locked}, {corrupt}, {refused}"
    for path in paths:
        if path in (locked, corrupt, refused):
            continue
        assert at_v2(path, models) and integrity(path) == "ok"
    assert {p: snapshot(p) for p in (locked, refused)} == before
    assert corrupt.read_bytes() == garbage

    # Fixed: the lock is gone, the NULL filled, the corrupt file restored from a backup.
    execute(refused, "UPDATE item SET name = 'named' WHERE id = 3")
    tenant(corrupt.with_name("restored.db"), models).rename(corrupt)
    again = run_cli("sync", models.spec, str(tmp_path / "tenants" / "*.db"), "--jobs", "2")

    assert again.code == 0, again.err
    assert totals_line(again) == "8 file(s): 3 synced, 5 already current, 0 refused, 0 failed"
    assert all(at_v2(p, models) and integrity(p) == "ok" for p in paths)


def test_json_gives_one_record_per_file_and_the_totals(tmp_path: Path) -> None:
    models = both(tmp_path)
    paths = fleet_of(tmp_path / "tenants", models, 4)
    rebuilder.sync(models.v2, paths[0])
    execute(paths[3], "UPDATE item SET name = NULL WHERE id = 2")

    done = run_cli("sync", models.spec, str(tmp_path / "tenants" / "*.db"), "--json")

    assert done.code == 1
    assert done.err.strip() == f"error: 1 of 4 file(s) were not synced: {paths[3]}"
    document = json.loads(done.out)
    jsonschema.validate(document, json.loads((ROOT / "docs" / "json-output.schema.json").read_text()))
    assert document["format"] == FORMAT_VERSION
    assert document["command"] == "sync"
    assert (document["ok"], document["exit_code"]) == (False, 1)
    assert document["totals"] == {"files": 4, "synced": 2, "current": 1, "refused": 1, "failed": 0}
    current, first, second, refused = document["files"]
    assert current == {
        "path": str(paths[0]),
        "status": "current",
        "result": rebuilder.SyncResult(
            (), current["result"]["version"], current["result"]["version"]
        ).to_dict(),
        "error": None,
    }
    for record in (first, second):
        assert record["status"] == "synced" and record["error"] is None
        assert record["result"]["changed"] is True
        assert [s["kind"] for s in record["result"]["steps"]] == ["rebuild", "add_column"]
    assert refused["result"] is None
    assert (refused["error"]["kind"], refused["error"]["exit_code"]) == ("constraint_violated", 1)
    assert "violate NOT NULL" in refused["error"]["message"]
    (violation,) = refused["error"]["data"]["violations"]
    assert (violation["table"], violation["count"], violation["samples"]) == ("item", 1, [2])


def test_plan_and_check_over_many_files(tmp_path: Path) -> None:
    models = both(tmp_path)
    paths = fleet_of(tmp_path / "tenants", models, 5)
    rebuilder.sync(models.v2, paths[2])
    pattern = str(tmp_path / "tenants" / "*.db")
    before = [p.read_bytes() for p in paths]

    planned = run_cli("plan", models.spec, pattern)
    assert planned.code == 0, planned.err
    assert planned.out.startswith(f"4 file(s) ({paths[0]}, {paths[1]}, {paths[3]}, {paths[4]}):\n")
    assert "- add column note.tag VARCHAR(20)" in planned.out
    assert f"1 file(s) ({paths[2]}):\nnothing to do; version " in planned.out
    assert totals_line(planned) == "5 file(s): 4 with changes to make, 1 already current, 0 refused, 0 failed"

    sql = run_cli("plan", models.spec, pattern, "--sql", "--jobs", "1")
    assert sql.out.count('ALTER TABLE main."note" ADD COLUMN tag VARCHAR(20);') == 1

    checked = run_cli("check", models.spec, pattern)
    assert checked.code == 1
    assert f"1 file(s) ({paths[2]}):\nin sync\n" in checked.out
    assert checked.err.strip().startswith("error: 4 of 5 file(s) do not match the models: ")
    assert [p.read_bytes() for p in paths] == before


# --- atomic per file --------------------------------------------------------------------------------


def state(path: Path) -> dict[str, object]:
    return snapshot(path, steady=True, verbatim=200)


def versions_written(paths: list[Path], version: str) -> int:
    count = 0
    for path in paths:
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05)
            try:
                found = conn.execute("SELECT version_num FROM rebuilder_version").fetchall()
            finally:
                conn.close()
        except sqlite3.Error:
            continue  # locked by the sync right now
        count += found == [(version,)]
    return count


@dataclass
class Run:
    """A fleet of large tenants, their state before and after v2, and a ``sync`` of them all under way."""

    models: Versions
    paths: list[Path]
    old: dict[str, object]
    new: dict[str, object]
    proc: subprocess.Popen[str]


def start_run(tmp_path: Path, reap: list[subprocess.Popen[str]], count: int) -> Run:
    """Start ``sync`` over ``count`` tenants in its own session; return once four files are synced."""
    models = both(tmp_path)
    paths = fleet_of(tmp_path / "tenants", models, count, items=20_000)
    reference = tmp_path / "reference.db"
    shutil.copyfile(paths[0], reference)
    old = state(reference)
    version = rebuilder.sync(models.v2, reference).version
    command = ["sync", models.spec, str(tmp_path / "tenants" / "*.db"), "-j", "2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rebuilder", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CLI_ENV,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    reap.append(proc)
    deadline = time.monotonic() + 120
    while versions_written(paths, version) < 4:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return Run(models, paths, old, state(reference), proc)


def old_or_new(run: Run) -> dict[str, int]:
    """Every file reopened in place is sound and exactly OLD or NEW; how many of each."""
    found = {"old": 0, "new": 0}
    for path in run.paths:
        assert integrity(path) == "ok", path  # reopened with any journal the kill left
        after = state(path)
        assert after in (run.old, run.new), path
        found["old" if after == run.old else "new"] += 1
    assert found["new"] >= 4 and found["old"] >= 1, found
    return found


def rerun_finishes(run: Run, found: dict[str, int]) -> None:
    again = run_cli("sync", run.models.spec, str(run.paths[0].parent / "*.db"))
    assert again.code == 0, again.err
    total = len(run.paths)
    assert totals_line(again) == (
        f"{total} file(s): {found['old']} synced, {found['new']} already current, 0 refused, 0 failed"
    )
    assert all(state(p) == run.new for p in run.paths)


def test_sigkill_of_the_run_leaves_every_file_old_or_new(
    tmp_path: Path, reap: list[subprocess.Popen[str]]
) -> None:
    run = start_run(tmp_path, reap, 60)
    os.killpg(run.proc.pid, signal.SIGKILL)  # the command and its workers
    run.proc.communicate(timeout=60)
    rerun_finishes(run, old_or_new(run))


def test_ctrl_c_rolls_back_the_files_in_progress_and_exits_130(
    tmp_path: Path, reap: list[subprocess.Popen[str]]
) -> None:
    run = start_run(tmp_path, reap, 40)
    os.killpg(run.proc.pid, signal.SIGINT)  # as Ctrl-C at a terminal: the command and its workers
    out, err = run.proc.communicate(timeout=60)

    assert run.proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: interrupted (") and line.endswith(
        "the files finished stay finished, the ones in progress were rolled back; "
        "run the command again to finish"
    )
    assert sorted(p.name for p in run.paths[0].parent.iterdir()) == sorted(p.name for p in run.paths)
    rerun_finishes(run, old_or_new(run))


# --- data loss: asked once per distinct plan ---------------------------------------------------------


def lossy_fleet(tmp_path: Path) -> tuple[Models, list[Path]]:
    """Four tenants for v3 (drops note.body): a and b lose bodies; c also loses table extra; d has no body."""
    models = both(tmp_path)
    v3 = models_file(tmp_path, MODELS_V3, "models_v3.py")
    paths = fleet_of(tmp_path / "tenants", models, 4)
    execute(paths[2], "CREATE TABLE extra (x)", "INSERT INTO extra VALUES (1)")
    execute(paths[3], "UPDATE note SET body = NULL")
    return v3, paths


def run_at_a_terminal(args: list[str], answers: list[tuple[str, str]]) -> tuple[int, str, str]:
    """Run the CLI with stdin and stdout on a pseudo-terminal, answering each prompt as it appears."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rebuilder", *args],
        stdin=follower,
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**CLI_ENV, "TERM": "dumb"},
    )
    os.close(follower)
    seen, pending = b"", list(answers)
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        assert ready, seen.decode(errors="replace")
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if pending and pending[0][0].encode() in seen.split(b"\n")[-1]:
            os.write(leader, pending.pop(0)[1].encode() + b"\n")
    code = proc.wait(timeout=60)
    err = proc.stderr.read().decode() if proc.stderr else ""
    os.close(leader)
    assert not pending, seen.decode(errors="replace")
    return code, seen.decode(errors="replace").replace("\r\n", "\n"), err


def test_each_distinct_data_destroying_plan_is_confirmed_once(tmp_path: Path) -> None:
    v3, paths = lossy_fleet(tmp_path)
    a, b, c, d = paths
    before_c = snapshot(c)

    code, shown, err = run_at_a_terminal(
        ["sync", v3.spec, str(tmp_path / "tenants" / "*.db")],
        [("Apply them to these 2 file(s)?", "y"), ("Apply them to these 1 file(s)?", "n")],
    )

    assert code == 1, (shown, err)
    assert shown.count("Apply them to these") == 2
    assert f"these steps destroy data in 2 file(s) ({a}, {b}):" in shown
    assert f"these steps destroy data in 1 file(s) ({c}):" in shown
    assert shown.count("! drop column note.body") == 2
    assert f"data loss: {a}: drop column note.body: 10 row(s) would lose data" in shown
    assert "! drop table extra" in shown
    assert "4 file(s): 3 synced, 0 already current, 1 refused, 0 failed" in shown
    assert err.splitlines()[-1] == f"error: 1 of 4 file(s) were not synced: {c}"
    assert all(rebuilder.check(v3.metadata, p) == [] for p in (a, b, d))
    assert snapshot(c) == before_c


def test_without_a_terminal_data_loss_is_refused_per_file_and_others_go_on(tmp_path: Path) -> None:
    v3, paths = lossy_fleet(tmp_path)
    a, b, c, d = paths

    done = run_cli("sync", v3.spec, str(tmp_path / "tenants" / "*.db"))

    assert done.code == 1
    assert totals_line(done) == "4 file(s): 1 synced, 0 already current, 3 refused, 0 failed"
    for path in (a, b, c):
        assert f"refused: {path}: refused to destroy data: " in done.err
    (about_c,) = [line for line in done.err.splitlines() if line.startswith(f"refused: {c}: ")]
    assert "drop table extra: 1 row(s) would lose data" in about_c
    assert f"refused: {a}: refused to destroy data: drop column note.body" in done.err
    assert "re-run with --allow-data-loss (or --yes)" in done.err
    assert rebuilder.check(v3.metadata, d) == []

    allowed = run_cli("sync", v3.spec, str(tmp_path / "tenants" / "*.db"), "--allow-data-loss")
    assert allowed.code == 0, allowed.err
    assert totals_line(allowed) == "4 file(s): 3 synced, 1 already current, 0 refused, 0 failed"
    assert all(rebuilder.check(v3.metadata, p) == [] for p in paths)


# --- the library ------------------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
def test_sync_many_returns_one_result_per_file_and_never_raises_for_one(tmp_path: Path, jobs: int) -> None:
    models = both(tmp_path)
    paths = fleet_of(tmp_path / "tenants", models, 5)
    paths[3].write_bytes(b"garbage" * 200)
    execute(paths[1], "UPDATE item SET name = NULL WHERE id = 1")

    found = rebuilder.sync_many(models.v2, [tmp_path / "tenants" / "*.db"], jobs=jobs)

    assert [r.path for r in found] == [str(p) for p in paths]
    assert [r.status for r in found] == ["synced", "refused", "synced", "failed", "synced"]
    assert [r.ok for r in found] == [True, False, True, False, True]
    assert isinstance(found[0].result, rebuilder.SyncResult) and found[0].result.changed
    assert type(found[1].error).__name__ == "ConstraintViolated"
    assert type(found[3].error).__name__ == "NotADatabase"
    again = rebuilder.sync_many(models.spec, [str(p) for p in paths if p != paths[3]], jobs=jobs)
    assert [r.status for r in again] == ["current", "refused", "current", "current"]


SCRIPT = """
import sys

sys.path.insert(0, {root!r})  # found at run time, as an app's own vendored copy would be
import rebuilder

if __name__ == "__main__":
    found = rebuilder.sync_many({spec!r}, [{pattern!r}], jobs=2)
    reasons = [r.reason() for r in found if not r.ok][:1]
    print(rebuilder.__file__, sorted({{r.status for r in found}}), reasons)
"""


def test_sync_many_workers_use_the_callers_rebuilder(tmp_path: Path) -> None:
    """Workers import the rebuilder their caller found, even through a sys.path change made at run time."""
    models = both(tmp_path)
    fleet_of(tmp_path / "tenants", models, 6)
    script = tmp_path / "deploy.py"
    pattern = str(tmp_path / "tenants" / "*.db")
    script.write_text(SCRIPT.format(root=str(ROOT), spec=models.spec, pattern=pattern))
    env = {k: v for k, v in CLI_ENV.items() if k != "PYTHONPATH"}

    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(ROOT / "rebuilder" / "__init__.py"), "['synced']", "[]"]
    assert "Traceback" not in done.stderr
