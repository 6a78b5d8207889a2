"""Benchmark many files in one command: tenant files of a small app, synced by one ``rebuilder sync``.

The app has five tables (``account``, ``member``, ``project``, ``task``,
``comment``; ``task`` the largest, about 1,000 rows). Each tenant file is
synced to v1 by rebuilder and filled with seeded data (a few variants of
different sizes, copied round-robin). Then, in one run:

- pass 1, nothing to do: ``rebuilder sync fleet_models.py:V1 'tenants/*.db'``
  on the whole fleet, timed end to end (the command, its worker processes,
  every file's version read): files per second;
- pass 2, v2: ``rebuilder sync fleet_models.py:V2 'tenants/*.db'``, where v2
  adds ``project.archived_at`` (a native ``ALTER TABLE ADD COLUMN``) and turns
  ``task.priority`` from ``VARCHAR(10)`` into ``INTEGER`` (one rebuild of the
  largest table, values kept): files per second;
- beside them, on fresh v1 copies: a shell loop running ``rebuilder sync`` once
  per file (a sample of ``--cli-sample`` files, extrapolated to the fleet),
  and a loop running Alembic's ``command.upgrade`` on each file of a sample
  (``--alembic-sample``), with an equivalent migration script (``batch_alter_table``
  for the type change, one transaction per file by SQLAlchemy's pysqlite recipe);
  Alembic's loop runs in this process, models and script loaded once, and
  right before it, on a sample of the same size, ``rebuilder.sync_many(V2,
  files, jobs=1)`` in this process too: the two compare per core.

Every set of copies is flushed to disk (``os.sync``) before anything is
timed: otherwise each file's first COMMIT would also write its fresh copy back
(see README.md, ``--sync-copy``). Peak memory: the largest sum of RSS over the command's process tree (the
command and its workers), sampled every 20 ms with psutil, per pass.

Verification, outside the timing: every file's version row after each pass;
for a sample of files (and both loops' files): ``PRAGMA integrity_check``,
``rebuilder.check`` against v2, each table's rows equal to the seed's except
``task.priority``, stored as the same number, as an integer.

Run::

    .venv/bin/python benchmarks/bench_fleet.py                 # 5,000 files, the goals
    .venv/bin/python benchmarks/bench_fleet.py --smoke         # 40 files, what CI runs

Goals on 2 cores: pass 1 at least 1,000 files/s; pass 2 at least 150 files/s
and at least 20x the per-process loop. ``--strict`` exits 1 when a goal is
missed. Results go to ``benchmarks/results/fleet.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))  # this checkout's rebuilder, as the commands it runs get (PYTHONPATH)

from harness import git_head, versions  # noqa: E402

GOALS = {"pass1_files_per_s": 1000.0, "pass2_files_per_s": 150.0, "pass2_vs_per_process": 20.0}

MODELS = """
from sqlalchemy import (
    Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text, func, text,
)


def app(v2: bool) -> MetaData:
    metadata = MetaData()
    Table(
        "account", metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(100), nullable=False),
        Column("plan", String(20), nullable=False, server_default="free"),
        Column("created_at", DateTime, nullable=False, server_default=func.current_timestamp()),
    )
    Table(
        "member", metadata,
        Column("id", Integer, primary_key=True),
        Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
        Column("email", String(200), nullable=False, unique=True),
        Column("role", String(20), nullable=False, server_default="user"),
    )
    project = [
        Column("id", Integer, primary_key=True),
        Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
        Column("title", String(200), nullable=False),
        Column("active", Boolean, nullable=False, server_default=text("1")),
    ]
    Table("project", metadata, *project, *([Column("archived_at", DateTime)] if v2 else []))
    Table(
        "task", metadata,
        Column("id", Integer, primary_key=True),
        Column("project_id", Integer, ForeignKey("project.id"), nullable=False),
        Column("title", String(200), nullable=False),
        Column("priority", Integer if v2 else String(10)),
        Column("done", Boolean, nullable=False, server_default=text("0")),
        Column("created_at", DateTime, nullable=False, server_default=func.current_timestamp()),
        Index("ix_task_project_done", "project_id", "done"),
    )
    Table(
        "comment", metadata,
        Column("id", Integer, primary_key=True),
        Column("task_id", Integer, ForeignKey("task.id"), nullable=False),
        Column("member_id", Integer, ForeignKey("member.id")),
        Column("body", Text, nullable=False),
        Index("ix_comment_task", "task_id"),
    )
    return metadata


V1 = app(v2=False)
V2 = app(v2=True)
"""

ALEMBIC_ENV = """
from alembic import context
from sqlalchemy import create_engine, event
from sqlalchemy.pool import NullPool

engine = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=NullPool)


@event.listens_for(engine, "connect")
def _connect(dbapi_connection, _record):
    dbapi_connection.isolation_level = None  # SQLAlchemy's pysqlite recipe: one real transaction


@event.listens_for(engine, "begin")
def _begin(conn):
    conn.exec_driver_sql("BEGIN")


with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
"""

ALEMBIC_V1 = """
revision = "v1"
down_revision = None


def upgrade():
    pass  # the files are made by rebuilder at v1 and stamped here


def downgrade():
    pass
"""

ALEMBIC_V2 = """
import sqlalchemy as sa
from alembic import op

revision = "v2"
down_revision = "v1"


def upgrade():
    op.add_column("project", sa.Column("archived_at", sa.DateTime()))
    with op.batch_alter_table("task", recreate="always") as batch:
        batch.alter_column("priority", type_=sa.Integer(), existing_type=sa.String(10))


def downgrade():
    pass
"""

TABLES = ("account", "member", "project", "task", "comment")


# --- the fleet -------------------------------------------------------------------------------------


def write_models(work: Path) -> Path:
    path = work / "fleet_models.py"
    path.write_text(MODELS)
    return path


def load_models(work: Path) -> Any:
    sys.path.insert(0, str(work))
    try:
        import fleet_models
    finally:
        sys.path.remove(str(work))
    return fleet_models


def fill(path: Path, rng: random.Random, tasks: int) -> None:
    """Rows like a small team's: one account, members, projects, ~``tasks`` tasks, comments."""
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO account (id, name, plan) VALUES (1, ?, 'team')", (f"tenant {rng.random():.6f}",)
    )
    members = [(i, f"user{i}.{rng.randrange(10**6)}@example.com") for i in range(1, 21)]
    conn.executemany("INSERT INTO member (id, account_id, email) VALUES (?, 1, ?)", members)
    conn.executemany(
        "INSERT INTO project (id, account_id, title, active) VALUES (?, 1, ?, ?)",
        [(i, f"project {i}", int(rng.random() < 0.8)) for i in range(1, 31)],
    )
    priorities = [None, "0", "1", "2", "3", "4"]
    conn.executemany(
        "INSERT INTO task (id, project_id, title, priority, done) VALUES (?, ?, ?, ?, ?)",
        [
            (
                i,
                rng.randrange(1, 31),
                f"task {i} " + "x" * rng.randrange(10, 60),
                rng.choice(priorities),
                i % 3 == 0,
            )
            for i in range(1, tasks + 1)
        ],
    )
    conn.executemany(
        "INSERT INTO comment (task_id, member_id, body) VALUES (?, ?, ?)",
        [
            (rng.randrange(1, tasks + 1), rng.randrange(1, 21), "looks good " * rng.randrange(1, 8))
            for _ in range(400)
        ],
    )
    conn.commit()
    conn.close()


def make_seeds(work: Path, models: Any, variants: int, seed: int) -> list[Path]:
    """``variants`` v1 files made by rebuilder, filled with different seeded data (task: 1,000 down)."""
    import rebuilder

    found = []
    for n in range(variants):
        path = work / f"seed{n}.db"
        path.unlink(missing_ok=True)
        rebuilder.sync(models.V1, path)
        fill(path, random.Random(f"{seed}-{n}"), 1000 - 40 * n)
        found.append(path)
    return found


def copies(seeds: list[Path], directory: Path, count: int) -> list[Path]:
    """``count`` tenant files in ``directory``, copies of the seeds round-robin."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    paths = [directory / f"t{n:05d}.db" for n in range(count)]
    for n, path in enumerate(paths):
        shutil.copyfile(seeds[n % len(seeds)], path)
    os.sync()  # fresh copies are dirty pages: the first fsync would time their write-back
    return paths


# --- timing the command and its memory ---------------------------------------------------------


class TreeMemory(threading.Thread):
    """Samples the RSS of a process and all its descendants every 20 ms; keeps the peak of the sum."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            try:
                root = psutil.Process(self.pid)
                tree = [root, *root.children(recursive=True)]
                total = 0
                for proc in tree:
                    with contextlib.suppress(psutil.Error):
                        total += proc.memory_info().rss
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            self.stop.wait(0.02)


def timed_command(args: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str], int]:
    """Run a command to the end: (wall seconds, its result, peak RSS of its process tree)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    memory.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    memory.stop.set()
    memory.join()
    return seconds, subprocess.CompletedProcess(args, proc.returncode, out, err), memory.peak


def fleet_pass(
    models: str, pattern: str, work: Path, jobs: int | None, count: int, expect: str
) -> dict[str, Any]:
    """One ``rebuilder sync`` over the fleet; its time, rate, memory and totals line."""
    command = [sys.executable, "-m", "rebuilder", "sync", models, pattern]
    command += ["--jobs", str(jobs)] if jobs else []
    seconds, done, peak = timed_command(command, work)
    totals = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    wanted = f"{count} file(s): " + (
        f"0 synced, {count} already current, 0 refused, 0 failed"
        if expect == "current"
        else f"{count} synced, 0 already current, 0 refused, 0 failed"
    )
    problems = (
        []
        if done.returncode == 0 and totals == wanted
        else [f"exit {done.returncode}: {totals} {done.stderr[-500:]}"]
    )
    return {
        "files": count,
        "seconds": seconds,
        "files_per_s": count / seconds,
        "peak_tree_rss": peak,
        "totals": totals,
        "problems": problems,
    }


def per_process_loop(models: str, paths: list[Path], work: Path) -> float:
    """A shell loop running the ``rebuilder sync`` program once per file."""
    script = 'for f in "$@"; do "$PY" -m rebuilder sync "$MODELS" "$f" > /dev/null || exit 1; done'
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PY": sys.executable, "MODELS": models}
    started = time.perf_counter()
    subprocess.run(["bash", "-c", script, "loop", *map(str, paths)], cwd=work, env=env, check=True)
    return time.perf_counter() - started


def alembic_loop(paths: list[Path], work: Path) -> float:
    """Alembic's ``command.upgrade`` on each file (stamped at v1 first, outside the timing)."""
    from alembic import command
    from alembic.config import Config

    scripts = work / "alembic"
    (scripts / "versions").mkdir(parents=True, exist_ok=True)
    (scripts / "env.py").write_text(ALEMBIC_ENV)
    (scripts / "versions" / "v1.py").write_text(ALEMBIC_V1)
    (scripts / "versions" / "v2.py").write_text(ALEMBIC_V2)
    configs = []
    for path in paths:
        config = Config()
        config.set_main_option("script_location", str(scripts))
        config.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
        command.stamp(config, "v1")
        configs.append(config)
    started = time.perf_counter()
    for config in configs:
        command.upgrade(config, "head")
    return time.perf_counter() - started


# --- verification --------------------------------------------------------------------------------


def _digest(path: Path, sql: str) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return hashlib.sha256(repr(conn.execute(sql).fetchall()).encode()).hexdigest()
    finally:
        conn.close()


def _rows_sql(table: str, v2: bool) -> str:
    if table == "task":
        priority = (
            "priority, typeof(priority)"
            if v2
            else "CAST(priority AS INTEGER), CASE WHEN priority IS NULL THEN 'null' ELSE 'integer' END"
        )
        return f"SELECT id, project_id, title, {priority}, done, created_at FROM task ORDER BY id"
    if table == "project":
        return "SELECT id, account_id, title, active FROM project ORDER BY id"
    return f"SELECT * FROM {table} ORDER BY id"


def check_file(path: Path, seed: Path, models: Any) -> list[str]:
    """What is wrong with a file synced to v2, against the seed it was copied from."""
    import rebuilder

    problems = []
    conn = sqlite3.connect(path)
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    archived = conn.execute("SELECT count(*) FROM project WHERE archived_at IS NOT NULL").fetchone()[0]
    conn.close()
    if integrity != "ok":
        problems.append(f"integrity_check: {integrity}")
    if archived:
        problems.append("project.archived_at holds values")
    if rebuilder.check(models.V2, path):
        problems.append("rebuilder.check finds differences from v2")
    for table in TABLES:
        if _digest(path, _rows_sql(table, True)) != _digest(seed, _rows_sql(table, False)):
            problems.append(f"table {table}: rows differ from the seed's")
    return problems


def version_rows(paths: list[Path]) -> dict[str, int]:
    """How many files hold each version row."""
    found: dict[str, int] = {}
    for path in paths:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (version,) = conn.execute("SELECT version_num FROM rebuilder_version").fetchone()
        finally:
            conn.close()
        found[version] = found.get(version, 0) + 1
    return found


def sample(paths: list[Path], size: int) -> list[int]:
    """Indexes of ``size`` files spread over the fleet (the first and the last among them)."""
    if size >= len(paths):
        return list(range(len(paths)))
    step = (len(paths) - 1) / (size - 1)
    return sorted({round(i * step) for i in range(size)})


# --- the run -------------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=5000, help="tenant files in the fleet (5,000)")
    parser.add_argument(
        "--jobs", type=int, default=None, help="rebuilder's --jobs (default: its own, the cores)"
    )
    parser.add_argument("--cli-sample", type=int, default=100, help="files the per-process loop syncs (100)")
    parser.add_argument("--alembic-sample", type=int, default=200, help="files Alembic's loop upgrades (200)")
    parser.add_argument("--verify-sample", type=int, default=100, help="fleet files verified in depth (100)")
    parser.add_argument("--variants", type=int, default=5, help="seed files of different data (5)")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--smoke", action="store_true", help="40 files, samples of 5: what CI runs")
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where the files go (a temporary directory)"
    )
    parser.add_argument("--out", type=Path, default=None, help="the JSON results (results/fleet.json)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    if args.smoke:
        args.files, args.cli_sample, args.alembic_sample, args.verify_sample = 40, 5, 5, 40
    if args.out is None:
        args.out = RESULTS / ("fleet-smoke.json" if args.smoke else "fleet.json")
    return args


def verify_fleet(paths: list[Path], seeds: list[Path], models: Any, size: int) -> list[str]:
    problems = []
    for n in sample(paths, size):
        problems += [f"{paths[n].name}: {p}" for p in check_file(paths[n], seeds[n % len(seeds)], models)]
    return problems


def one_job_loop(models: Any, paths: list[Path]) -> float:
    """``rebuilder.sync_many(V2, files, jobs=1)``: every file in this process, one after another."""
    import rebuilder

    started = time.perf_counter()
    found = rebuilder.sync_many(models.V2, [str(p) for p in paths], jobs=1)
    seconds = time.perf_counter() - started
    assert all(r.status == "synced" for r in found), [r.reason() for r in found if not r.ok][:3]
    return seconds


def _rate(files: list[Path], seconds: float, fleet: int) -> dict[str, Any]:
    return {
        "files": len(files),
        "seconds": seconds,
        "files_per_s": len(files) / seconds,
        "extrapolated_seconds": seconds / len(files) * fleet,
    }


def loops(args: argparse.Namespace, work: Path, seeds: list[Path], models: Any) -> dict[str, Any]:
    """The per-file loops on fresh v1 copies, each verified like the fleet.

    rebuilder in one process and Alembic's loop (also in one process) run on
    samples of the same size, back to back, so their rates compare per core.
    """
    cli_files = copies(seeds, work / "loop-cli", args.cli_sample)
    cli_seconds = per_process_loop("fleet_models.py:V2", cli_files, work)
    one_job_files = copies(seeds, work / "loop-one-job", args.alembic_sample)
    one_job_seconds = one_job_loop(models, one_job_files)
    alembic_files = copies(seeds, work / "loop-alembic", args.alembic_sample)
    alembic_seconds = alembic_loop(alembic_files, work)
    problems = []
    for label, files in (("per-process", cli_files), ("one job", one_job_files), ("alembic", alembic_files)):
        problems += [f"{label} {p}" for p in verify_fleet(files, seeds, models, len(files))]
    return {
        "per_process": _rate(cli_files, cli_seconds, args.files),
        "one_job": _rate(one_job_files, one_job_seconds, args.files),
        "alembic": _rate(alembic_files, alembic_seconds, args.files),
        "problems": problems,
    }


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    write_models(work)
    models = load_models(work)
    seeds = make_seeds(work, models, args.variants, args.seed)
    paths = copies(seeds, work / "tenants", args.files)
    print(f"{args.files:,} tenant files of {seeds[0].stat().st_size / 1e3:,.0f} kB in {work}", flush=True)
    import rebuilder

    v1, v2 = rebuilder.sync(models.V1, seeds[0]).version, rebuilder.plan(models.V2, seeds[0]).version
    first = fleet_pass("fleet_models.py:V1", "tenants/*.db", work, args.jobs, args.files, "current")
    first["problems"] += [] if version_rows(paths) == {v1: args.files} else ["pass 1 changed a version row"]
    print(
        f"pass 1 (nothing to do): {first['seconds']:.2f} s, {first['files_per_s']:,.0f} files/s", flush=True
    )
    second = fleet_pass("fleet_models.py:V2", "tenants/*.db", work, args.jobs, args.files, "synced")
    second["problems"] += [] if version_rows(paths) == {v2: args.files} else ["pass 2 left a file behind"]
    second["problems"] += verify_fleet(paths, seeds, models, args.verify_sample)
    print(
        f"pass 2 (add column, rebuild task): {second['seconds']:.2f} s, {second['files_per_s']:,.0f} files/s",
        flush=True,
    )
    shutil.rmtree(work / "tenants")
    found = loops(args, work, seeds, models)
    return {"pass1": first, "pass2": second, **found}


def goals(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    versus = record["pass2"]["files_per_s"] / record["per_process"]["files_per_s"]
    measured = {
        "pass1_files_per_s": record["pass1"]["files_per_s"],
        "pass2_files_per_s": record["pass2"]["files_per_s"],
        "pass2_vs_per_process": versus,
    }
    return {
        name: {"goal": GOALS[name], "measured": value, "met": value >= GOALS[name]}
        for name, value in measured.items()
    }


def report(record: dict[str, Any]) -> None:
    files = record["pass1"]["files"]
    print()
    print(f"{files:,} files on {os.cpu_count()} cores, rebuilder at {record['git']}")
    print(f"{'run':<44}{'files':>7}{'seconds':>10}{'files/s':>10}{'peak RSS':>11}")
    rows = [
        ("rebuilder sync, pass 1 (nothing to do)", record["pass1"]),
        ("rebuilder sync, pass 2 (add column + rebuild)", record["pass2"]),
        ("shell loop, one rebuilder sync per file", record["per_process"]),
        ("rebuilder sync_many, jobs=1 (one process)", record["one_job"]),
        ("Alembic command.upgrade loop (one process)", record["alembic"]),
    ]
    for name, found in rows:
        peak = found.get("peak_tree_rss")
        memory = f"{peak / 1e6:,.0f} MB" if peak else "-"
        print(
            f"{name:<44}{found['files']:>7,}{found['seconds']:>10.2f}{found['files_per_s']:>10,.1f}{memory:>11}"
        )
    for name in ("per_process", "one_job", "alembic"):
        found = record[name]
        whole = found["extrapolated_seconds"]
        print(f"  {name}: a sample of {found['files']} files; for {files:,}, about {whole:,.0f} s")
    for name, goal in record["goals"].items():
        verdict = "met" if goal["met"] else "MISSED"
        print(f"goal {name}: {goal['measured']:,.1f} (goal >= {goal['goal']:,.0f}): {verdict}")
    for problem in record["problems"][:20]:
        print(f"PROBLEM: {problem}")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(dir=args.work_dir, prefix="bench-fleet-") as tmp:
        found = run(args, Path(tmp))
    problems = [p for part in ("pass1", "pass2") for p in found[part]["problems"]] + found.pop("problems")
    record = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_head(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": versions(),
        "smoke": args.smoke,
        **found,
        "problems": problems,
    }
    record["goals"] = goals(record)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    report(record)
    if problems:
        return 1
    return 1 if args.strict and not all(g["met"] for g in record["goals"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
