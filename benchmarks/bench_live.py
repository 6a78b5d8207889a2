"""A live app during a sync: real writer and reader processes on the database while it is synced.

On a copy of the seeded ``friend``/``city`` source of ``generate.py``, in
rollback-journal mode and in WAL mode, for each path:

- ``rebuild``: ``friend.score`` ``VARCHAR(20)`` -> ``INTEGER`` (``V1TypeBase``),
  a copy of the whole table;
- ``edit``: ``name`` ``VARCHAR(100)`` -> ``VARCHAR(200)`` and ``address``'s
  default changed (``V1EditBase``), the in-place path;

one **writer** process commits small transactions continuously, 5 ms apart
(``--writer-pause``; each one row into ``friend``, using only columns that
exist before and after, and one row into ``city``; ``busy_timeout`` 30 s, as
an app would), **readers** query ``friend`` back to back (``--reader-pause``),
and the real CLI ``rebuilder sync`` runs in its own process (``--no-app``: the
sync alone, to time it). The writer is paced because in rollback-journal
mode a writer committing back to back starves readers by itself, sync or
not. The run reports:

- writes attempted / acknowledged (COMMIT returned) / present afterwards (both
  rows, with their values and storage classes) / timed out (``locked``);
- reader latency p50 / p99 / max for the queries that overlapped the sync, and
  the writers' commit latency likewise;
- mixed reads: each read is one transaction reading the version row, the
  changed column's declared type and 100 consecutive source rows; it is mixed
  when the version and the declared type disagree, when the stored values'
  storage class does not match the declared type, or when rows are missing;
- the ``-wal`` file's size right after the sync process exits.

Run::

    .venv/bin/python benchmarks/bench_live.py --rows 1000000
    .venv/bin/python benchmarks/bench_live.py --smoke        # ~20k rows, for CI
    .venv/bin/python benchmarks/bench_live.py --code /path/to/other/checkout  # sync with that rebuilder

The exit code is 1 when an invariant fails (an acknowledged write lost, a mixed
read, a sync that did not exit 0). Results go to ``results/live.json``
(``results/live-smoke.json`` for ``--smoke``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _entry in (str(HERE), str(ROOT)):
    if _entry not in sys.path:
        sys.path.insert(0, _entry)

import models  # noqa: E402
from generate import DEFAULT_SEED, RESULTS, generate  # noqa: E402

SMOKE_ROWS = 20_000
RANGE = 100
MODES = ("delete", "wal")


@dataclass(frozen=True)
class Path_:
    """One kind of sync: the models it syncs to and the column whose declared type changes."""

    models: str
    column: str
    old_type: str
    new_type: str
    old_class: str
    new_class: str


PATHS = {
    "rebuild": Path_("V1TypeBase", "score", "VARCHAR(20)", "INTEGER", "text", "integer"),
    "edit": Path_("V1EditBase", "name", "VARCHAR(100)", "VARCHAR(200)", "text", "text"),
}


# --- the app: writer and reader processes -------------------------------------------------


def _stopped(stop: Path) -> bool:
    return stop.exists()


def run_writer(db: Path, out: Path, stop: Path, me: int, pause: float) -> None:
    """Commit one friend row and one city row per transaction until ``stop`` exists."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    records: list[tuple[int, float, float, str]] = []
    number = 0
    out.with_suffix(".ready").touch()
    while not _stopped(stop):
        number += 1
        started = time.monotonic()
        outcome = _write_one(conn, me, number)
        records.append((number, started, time.monotonic() - started, outcome))
        time.sleep(pause)
    conn.close()
    out.write_text(json.dumps(records))


def _write_one(conn: sqlite3.Connection, me: int, number: int) -> str:
    key = f"live-{me}-{number}"
    try:
        conn.execute("BEGIN")
        conn.execute(
            'INSERT INTO "friend" ("name", "email", "city_id", "created_at") VALUES (?, ?, ?, ?)',
            (key, f"{key}@bench.test", 1 + number % 1000, "2026-01-01 00:00:00.000000"),
        )
        conn.execute('INSERT INTO "city" ("name") VALUES (?)', (key,))
        conn.execute("COMMIT")
        return "ack"
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return "timeout" if "locked" in str(exc) or "busy" in str(exc) else f"error: {exc}"


def run_reader(db: Path, out: Path, stop: Path, spec: dict[str, object], rows: int, pause: float) -> None:
    """Read the version, the declared type and 100 source rows in one transaction, until ``stop``."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    rng = random.Random(os.getpid())
    records: list[tuple[float, float, str]] = []
    out.with_suffix(".ready").touch()
    while not _stopped(stop):
        first = rng.randrange(1, rows - RANGE + 2)
        started = time.monotonic()
        try:
            verdict = _read_one(conn, spec, first)
        except sqlite3.Error as exc:
            verdict = f"error: {exc}"
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        records.append((started, time.monotonic() - started, verdict))
        time.sleep(pause)
    conn.close()
    out.write_text(json.dumps(records))


def _read_one(conn: sqlite3.Connection, spec: dict[str, object], first: int) -> str:
    column = str(spec["column"])
    conn.execute("BEGIN")
    (version,) = conn.execute('SELECT "version_num" FROM "rebuilder_version"').fetchone()
    (declared,) = conn.execute(
        "SELECT type FROM pragma_table_xinfo('friend') WHERE name = ?", (column,)
    ).fetchone()
    classes = conn.execute(
        f'SELECT typeof("{column}"), count(*) FROM "friend" WHERE "id" BETWEEN ? AND ? GROUP BY 1',
        (first, first + RANGE - 1),
    ).fetchall()
    conn.execute("COMMIT")
    return _verdict(spec, version, declared, dict(classes))


def _verdict(spec: dict[str, object], version: str, declared: str, classes: dict[str, int]) -> str:
    side = "old" if version == spec["old_version"] else "new" if version == spec["new_version"] else None
    if side is None:
        return f"mixed: unknown version {version}"
    if declared != spec[f"{side}_type"]:
        return f"mixed: version {side} with declared type {declared}"
    if sum(classes.values()) != RANGE:
        return f"mixed: {sum(classes.values())} of {RANGE} rows"
    stray = set(classes) - {spec[f"{side}_class"], "null"}
    return f"mixed: version {side} with values stored as {sorted(stray)}" if stray else f"ok {side}"


# --- one run ---------------------------------------------------------------------------------


def _spawn(role: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--role", role, *args])


def _wait_ready(outs: list[Path], procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 60
    while not all(p.with_suffix(".ready").exists() for p in outs):
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            raise RuntimeError("an app process did not start")
        time.sleep(0.01)


def _fresh(source: Path, db: Path, mode: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, db)
    conn = sqlite3.connect(db, isolation_level=None)
    got = conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0]
    conn.close()
    assert got == mode, got


def _spec(db: Path, path: Path_) -> dict[str, object]:
    from rebuilder.version import fingerprint

    conn = sqlite3.connect(db)
    (old_version,) = conn.execute('SELECT "version_num" FROM "rebuilder_version"').fetchone()
    conn.close()
    new_version = fingerprint([getattr(models, path.models).metadata])
    return {**path.__dict__, "old_version": old_version, "new_version": new_version}


def _sync(db: Path, path: Path_, code: Path, debug: bool) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code), str(HERE)]), "COLUMNS": "200"}
    args = [sys.executable, "-m", "rebuilder", "sync", f"{HERE / 'models.py'}:{path.models}", str(db)]
    args += ["--no-progress", "--timeout", "30", *(["--debug"] if debug else [])]
    started = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    ended = time.monotonic()
    wal = Path(f"{db}-wal")
    return {
        "code": proc.returncode,
        "stdout": proc.stdout[-2000:],
        "stderr": proc.stderr[-4000:],
        "start": started,
        "end": ended,
        "seconds": ended - started,
        "wal_bytes": wal.stat().st_size if wal.exists() else None,
    }


def _start_app(
    args: argparse.Namespace, home: Path, db: Path, spec: dict[str, object], rows: int
) -> tuple[list[subprocess.Popen[bytes]], list[Path]]:
    """Start the writer and the readers (none with ``--no-app``); return them and their output files."""
    if args.no_app:
        return [], []
    stop = str(home / "stop")
    outs = [home / "writer0.json", *(home / f"reader{i}.json" for i in range(args.readers))]
    procs = [_spawn("writer", str(db), str(outs[0]), stop, "0", str(args.writer_pause))]
    procs += [
        _spawn("reader", str(db), str(o), stop, json.dumps(spec), str(rows), str(args.reader_pause))
        for o in outs[1:]
    ]
    return procs, outs


def one_run(args: argparse.Namespace, source: Path, mode: str, name: str, rows: int) -> dict[str, object]:
    """Run the app and the sync on a fresh copy of ``source``; return the measured record."""
    path = PATHS[name]
    home = args.work_dir / f"live-{mode}-{name}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    db, stop = home / "app.db", home / "stop"
    _fresh(source, db, mode)
    spec = _spec(db, path)
    procs, outs = _start_app(args, home, db, spec, rows)
    try:
        _wait_ready(outs, procs)
        time.sleep(args.warmup if procs else 0)
        sync = _sync(db, path, args.code, args.debug)
        time.sleep(args.after if procs else 0)
    finally:
        stop.touch()
        for proc in procs:
            proc.wait(timeout=120)
    writes = json.loads(outs[0].read_text()) if outs else []
    reads = [r for out in outs[1:] for r in json.loads(out.read_text())]
    record = {"mode": mode, "path": name, "rows": rows, "app": bool(procs), "sync": sync}
    record.update(_writes(db, writes, sync))
    record.update(_reads(reads, sync))
    record["problems"] = _problems(db, path, record)
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    return record


# --- what the run shows ----------------------------------------------------------------------


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None, "count": 0}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": pick(0.50), "p99": pick(0.99), "max": ordered[-1], "count": len(ordered)}


def _overlaps(start: float, seconds: float, sync: dict[str, object]) -> bool:
    return start < float(sync["end"]) and start + seconds > float(sync["start"])  # type: ignore[arg-type]


def _present(db: Path) -> dict[str, tuple[object, ...]]:
    """The writer's rows found in the database, by key, with their values' storage classes."""
    conn = sqlite3.connect(db)
    try:
        friends = {
            r[0]: r[1:]
            for r in conn.execute(
                'SELECT "name", "email", typeof("email"), "city_id", typeof("city_id") '
                'FROM "friend" WHERE "name" LIKE \'live-%\''
            )
        }
        cities = {r[0]: r[1] for r in conn.execute('SELECT "name", typeof("name") FROM "city"')}
    finally:
        conn.close()
    return {k: (*v, cities.get(k)) for k, v in friends.items()}


def _writes(db: Path, writes: list[list[object]], sync: dict[str, object]) -> dict[str, object]:
    present = _present(db)
    acked = {f"live-0-{n}": n for n, _s, _d, outcome in writes if outcome == "ack"}
    lost = [k for k in acked if k not in present]
    wrong = [
        k
        for k, n in acked.items()
        if k in present and present[k] != (f"{k}@bench.test", "text", 1 + n % 1000, "integer", "text")
    ]
    timed_out = [f"live-0-{n}" for n, _s, _d, outcome in writes if outcome == "timeout"]
    errors = [outcome for _n, _s, _d, outcome in writes if str(outcome).startswith("error")]
    during = [d for _n, s, d, _o in writes if _overlaps(s, d, sync)]
    return {
        "writes": {
            "attempted": len(writes),
            "acknowledged": len(acked),
            "present": len(present),
            "timed_out": len(timed_out),
            "timed_out_present": sum(k in present for k in timed_out),
            "errors": errors[:5],
            "lost": lost[:5],
            "wrong": wrong[:5],
            "latency_during_sync": _percentiles(during),
        }
    }


def _reads(reads: list[list[object]], sync: dict[str, object]) -> dict[str, object]:
    during = [d for s, d, _v in reads if _overlaps(s, d, sync)]
    outside = [d for s, d, _v in reads if not _overlaps(s, d, sync)]
    slowest = sorted(reads, key=lambda r: -float(r[1]))[:5]  # type: ignore[arg-type]
    mixed = [v for _s, _d, v in reads if str(v).startswith("mixed")]
    errors = [v for _s, _d, v in reads if str(v).startswith("error")]
    return {
        "reads": {
            "total": len(reads),
            "during_sync": len(during),
            "saw_old": sum(v == "ok old" for _s, _d, v in reads),
            "saw_new": sum(v == "ok new" for _s, _d, v in reads),
            "mixed": len(mixed),
            "mixed_samples": mixed[:5],
            "errors": errors[:5],
            "latency_during_sync": _percentiles(during),
            "latency_outside_sync": _percentiles(outside),
            "slowest": [
                {"after_sync_start": float(s) - float(sync["start"]), "seconds": d}  # type: ignore[arg-type]
                for s, d, _v in slowest
            ],
        }
    }


def _problems(db: Path, path: Path_, record: dict[str, object]) -> list[str]:
    import rebuilder

    sync, writes, reads = record["sync"], record["writes"], record["reads"]
    problems = []
    if sync["code"] != 0:  # type: ignore[index]
        problems.append(f"sync exited {sync['code']}: {sync['stderr']}")  # type: ignore[index]
    problems += [f"acknowledged write lost: {k}" for k in writes["lost"]]  # type: ignore[index]
    problems += [f"write stored wrongly: {k}" for k in writes["wrong"]]  # type: ignore[index]
    problems += [f"read saw a mixed state: {m}" for m in reads["mixed_samples"]]  # type: ignore[index]
    problems += [f"read failed: {e}" for e in reads["errors"]]  # type: ignore[index]
    if writes["timed_out_present"]:  # type: ignore[index]
        problems.append("a write reported as failed was committed")
    if record["app"] and not reads["saw_new"]:  # type: ignore[index]
        problems.append("no read saw the new schema")
    conn = sqlite3.connect(db)
    try:
        if conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
            problems.append("integrity_check is not ok")
    finally:
        conn.close()
    if rebuilder.check(getattr(models, path.models), db):
        problems.append("the database does not match the models after the sync")
    return problems


# --- the report ------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def print_record(r: dict[str, object]) -> None:
    """One line per run, then its problems."""
    s, w, rd = r["sync"], r["writes"], r["reads"]
    lat, wl = rd["latency_during_sync"], w["latency_during_sync"]  # type: ignore[index]
    wal = s["wal_bytes"]  # type: ignore[index]
    print(
        f"{r['mode']:<7} {r['path']:<8} sync exit {s['code']} {s['seconds']:6.2f}s | "  # type: ignore[index]
        f"writes {w['attempted']}/{w['acknowledged']}/{w['present']}/{w['timed_out']} "  # type: ignore[index]
        f"commit p99 {_ms(wl['p99'])} max {_ms(wl['max'])} ms | "  # type: ignore[index]
        f"reads {rd['during_sync']} during: p50 {_ms(lat['p50'])} p99 {_ms(lat['p99'])} "  # type: ignore[index]
        f"max {_ms(lat['max'])} ms (outside: max {_ms(rd['latency_outside_sync']['max'])}), "  # type: ignore[index]
        f"mixed {rd['mixed']} | "  # type: ignore[index]
        f"-wal {'-' if wal is None else f'{wal / 1e6:.2f} MB'}"
    )
    for problem in r["problems"]:  # type: ignore[attr-defined]
        print(f"    PROBLEM: {problem}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_ROWS:,} rows, short warm-up")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--paths", nargs="+", choices=list(PATHS), default=list(PATHS))
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--no-app", action="store_true", help="the sync alone, no writer or readers")
    parser.add_argument("--writer-pause", type=float, default=0.005, help="seconds between writes")
    parser.add_argument("--reader-pause", type=float, default=0.0, help="seconds between reads")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before the sync")
    parser.add_argument("--after", type=float, default=0.5, help="seconds of load after the sync")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose rebuilder syncs")
    parser.add_argument("--debug", action="store_true", help="run the sync with --debug (its log kept)")
    parser.add_argument("--keep", action="store_true", help="keep the work files")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--work-dir", type=Path, default=RESULTS)
    parser.add_argument("--cache-dir", type=Path, default=RESULTS)
    parser.add_argument("--role", choices=["writer", "reader"], help=argparse.SUPPRESS)
    parser.add_argument("role_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows, args.warmup, args.after = SMOKE_ROWS, 0.3, 0.2
    args.code = args.code.resolve()
    return args


def _role(args: argparse.Namespace) -> int:
    db, out, stop, extra = (
        Path(args.role_args[0]),
        Path(args.role_args[1]),
        Path(args.role_args[2]),
        args.role_args[3:],
    )
    if args.role == "writer":
        run_writer(db, out, stop, int(extra[0]), float(extra[1]))
    else:
        run_reader(db, out, stop, json.loads(extra[0]), int(extra[1]), float(extra[2]))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run every mode and path; print and save the records; exit 1 on any problem."""
    args = parse(argv)
    if args.role:
        return _role(args)
    source = generate(args.rows, args.seed, cache_dir=args.cache_dir, quiet=args.smoke)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for mode in args.modes:
        for name in args.paths:
            records.append(one_run(args, source, mode, name, args.rows))
            print_record(records[-1])
    out = args.out or RESULTS / ("live-smoke.json" if args.smoke else "live.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {"when": datetime.now(UTC).isoformat(), "code": str(args.code), "runs": records}
    out.write_text(json.dumps(document, indent=1))
    return 1 if any(r["problems"] for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
