"""Where a rebuild's time goes, statement by statement.

Three views, each on fresh copies of the benchmark's source file (median of
``--rounds``):

- ``sync``: the real ``rebuilder.sync(V2Base, path, allow_data_loss=True)``
  with every ``execute`` on rebuilder's connection timed (a ``sqlite3.Connection``
  subclass injected through ``sqlite3.connect``; rebuilder itself is not
  changed). Statements are grouped into steps: guards, disk-space estimate,
  reflect/verify, CREATE TABLE, copy, DROP, rename, CREATE INDEX,
  compile dependents, ``foreign_key_check``, version rows, COMMIT; the rest of
  the wall time is Python.
- ``plan``: the statements ``rebuilder plan --sql`` prints, executed by hand
  in one transaction (foreign keys off), then ``PRAGMA foreign_key_check`` and
  COMMIT, each timed.
- ``raw``: the hand-written 12-step rebuild of ``benchmarks/methods.py``, timed
  the same way, for the baseline's shares.

``--pragma NAME=VALUE`` (repeatable) sets a connection pragma before the
``plan`` and ``raw`` replays, to try e.g. ``threads=2`` or ``secure_delete=OFF``.

Run::

    .venv/bin/python benchmarks/profile_steps.py --rows 1000000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from generate import DEFAULT_SEED, RESULTS, generate  # noqa: E402
from harness import clean, fresh_copy  # noqa: E402
from methods import KEPT, V2_FRIEND  # noqa: E402

STEPS: list[tuple[str, str]] = [
    ("CREATE INDEX", r"^CREATE (UNIQUE )?INDEX"),
    ("DROP old table", r"^DROP TABLE"),
    ("copy (INSERT SELECT)", r"^INSERT INTO \S*(_rebuilder_new_|new_friend)"),
    ("CREATE new table", r"^CREATE TABLE \S*(_rebuilder_new_|\"new_friend\")"),
    ("rename", r"^ALTER TABLE .* RENAME TO"),
    ("native DROP COLUMN", r"^ALTER TABLE .* DROP COLUMN"),
    ("COMMIT", r"^COMMIT"),
    ("BEGIN", r"^BEGIN"),
    ("foreign_key_check", r"foreign_key_check"),
    ("disk-space estimate (dbstat)", r"dbstat"),
    ("compile dependents", r"^EXPLAIN |LIMIT 0$"),
    ("version/history rows", r"rebuilder_(version|history)"),
    ("guards (read scans)", r"^SELECT (count\(\*\)|sum\(CASE)"),
    ("reflect/verify (schema reads)", r"PRAGMA main\.|sqlite_schema|pragma_|PRAGMA (table|index)_"),
    ("pragmas", r"^PRAGMA"),
]


def classify(sql: str) -> str:
    """Name the step a statement belongs to."""
    text = " ".join(sql.split())
    for name, pattern in STEPS:
        if re.search(pattern, text, re.IGNORECASE):
            return name
    return "other SQL"


class TimedConnection(sqlite3.Connection):
    """A connection that records how long each ``execute`` took."""

    log: list[tuple[str, float]]

    def _timed(self, run: Callable[..., sqlite3.Cursor], sql: str, *args: Any) -> sqlite3.Cursor:
        started = time.perf_counter()
        try:
            return run(sql, *args)
        finally:
            TimedConnection.log.append((sql, time.perf_counter() - started))

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        return self._timed(super().execute, sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        return self._timed(super().executemany, sql, *args)


TimedConnection.log = []


@contextmanager
def timed_connections(path: Path) -> Iterator[list[tuple[str, float]]]:
    """Make every ``sqlite3.connect`` to ``path`` return a `TimedConnection`."""
    real = sqlite3.connect
    log: list[tuple[str, float]] = []

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if str(path.resolve()) in str(database) and "factory" not in kwargs:
            kwargs["factory"] = TimedConnection
        return real(database, *args, **kwargs)

    TimedConnection.log = log
    sqlite3.connect = connect  # type: ignore[assignment]
    try:
        yield log
    finally:
        sqlite3.connect = real  # type: ignore[assignment]


def profile_sync(path: Path) -> tuple[float, list[tuple[str, float]]]:
    """Run the real sync on ``path``; return its wall time and each statement's time."""
    from methods import prepare

    action = prepare("rebuilder", path)  # imports rebuilder's lazy modules first, as the benchmark does
    with timed_connections(path) as log:
        started = time.perf_counter()
        action()
        wall = time.perf_counter() - started
    return wall, list(log)


def plan_sql(path: Path) -> list[str]:
    """The statements ``rebuilder plan --sql`` prints for the v2 change."""
    cli = str(Path(sys.executable).with_name("rebuilder"))
    out = subprocess.run(
        [cli, "plan", f"{HERE / 'models.py'}:V2Base", str(path), "--sql"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    statements, buffer = [], ""
    for line in out.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip().rstrip(";"))
            buffer = ""
    return statements


def raw_sql(conn: sqlite3.Connection) -> list[str]:
    """The raw 12-step's statements (as ``benchmarks/methods.py`` runs them)."""
    indexes = [
        r[0]
        for r in conn.execute(
            "SELECT sql FROM sqlite_schema WHERE tbl_name = 'friend' AND type = 'index' AND sql IS NOT NULL"
        )
    ]
    return [
        V2_FRIEND.format(name="new_friend"),
        f"INSERT INTO new_friend ({KEPT}) SELECT {KEPT} FROM friend",
        "DROP TABLE friend",
        "ALTER TABLE new_friend RENAME TO friend",
        *indexes,
    ]


def replay(path: Path, which: str, pragmas: list[str]) -> tuple[float, list[tuple[str, float]]]:
    """Execute a rebuild's statements by hand in one transaction, timing each."""
    statements = plan_sql(path) if which == "plan" else []
    conn = sqlite3.connect(path, isolation_level=None)
    log: list[tuple[str, float]] = []

    def run(sql: str) -> None:
        started = time.perf_counter()
        rows = conn.execute(sql).fetchall()
        log.append((sql, time.perf_counter() - started))
        if "foreign_key_check" in sql and rows:
            raise RuntimeError(f"foreign key violations: {rows[:3]}")

    try:
        for pragma in pragmas:
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("PRAGMA foreign_keys = OFF")
        started = time.perf_counter()
        run("BEGIN IMMEDIATE")
        for sql in statements or raw_sql(conn):
            run(sql)
        run("PRAGMA foreign_key_check(friend)")
        run("COMMIT")
        wall = time.perf_counter() - started
    finally:
        conn.close()
    return wall, log


def collect(
    source: Path, work: Path, rounds: int, action: Callable[[Path], tuple[float, list[tuple[str, float]]]]
) -> dict[str, Any]:
    """Run ``action`` on fresh copies; return median wall time, per-step medians and statements."""
    walls: list[float] = []
    per_step: dict[str, list[float]] = {}
    per_statement: dict[str, list[float]] = {}
    for _ in range(rounds):
        fresh_copy(source, work)
        try:
            wall, log = action(work)
        finally:
            clean(work)
        walls.append(wall)
        steps: dict[str, float] = {}
        statements: dict[str, float] = {}
        for sql, seconds in log:
            steps[classify(sql)] = steps.get(classify(sql), 0.0) + seconds
            key = " ".join(sql.split())[:90]
            statements[key] = statements.get(key, 0.0) + seconds
        steps["Python and unlogged"] = max(0.0, wall - sum(s for _, s in log))
        for name, seconds in steps.items():
            per_step.setdefault(name, []).append(seconds)
        for key, seconds in statements.items():
            per_statement.setdefault(key, []).append(seconds)
    return {
        "wall": statistics.median(walls),
        "walls": walls,
        "steps": {k: statistics.median(v) for k, v in per_step.items()},
        "statements": {k: statistics.median(v) for k, v in per_statement.items()},
    }


def show(title: str, found: dict[str, Any], top: int) -> None:
    """Print one view's step shares and its slowest statements."""
    wall = found["wall"]
    print(f"\n{title}: median wall {wall:.3f} s (rounds: {', '.join(f'{w:.3f}' for w in found['walls'])})")
    print(f"  {'step':<32}{'seconds':>9}{'share':>8}")
    for name, seconds in sorted(found["steps"].items(), key=lambda kv: -kv[1]):
        if seconds >= 0.0005:
            print(f"  {name:<32}{seconds:>9.3f}{100 * seconds / wall:>7.1f}%")
    print("  slowest statements:")
    for key, seconds in sorted(found["statements"].items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {seconds:>8.3f} s {100 * seconds / wall:>5.1f}%  {key}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--views", nargs="+", choices=("sync", "plan", "raw"), default=["sync", "plan", "raw"]
    )
    parser.add_argument("--pragma", action="append", default=[], help="NAME=VALUE for the plan/raw replays")
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON output (default results/steps-<rows>.json)"
    )
    args = parser.parse_args(argv)
    source = generate(args.rows, args.seed)
    work = RESULTS / f"profile-{args.rows}.db"
    results: dict[str, Any] = {"rows": args.rows, "rounds": args.rounds, "pragmas": args.pragma}
    actions: dict[str, Callable[[Path], tuple[float, list[tuple[str, float]]]]] = {
        "sync": profile_sync,
        "plan": lambda p: replay(p, "plan", args.pragma),
        "raw": lambda p: replay(p, "raw", args.pragma),
    }
    titles = {
        "sync": "rebuilder.sync, every statement on its connection timed",
        "plan": "`rebuilder plan --sql` replayed by hand (+ foreign_key_check, COMMIT)",
        "raw": "raw 12-step replayed",
    }
    print(f"{args.rows:,} rows, {args.rounds} round(s) per view, pragmas: {args.pragma or 'none'}")
    for view in args.views:
        results[view] = collect(source, work, args.rounds, actions[view])
        show(titles[view], results[view], args.top)
    out = args.out or RESULTS / f"steps-{args.rows}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
