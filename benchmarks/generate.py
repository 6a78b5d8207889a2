"""Seeded generator of the benchmark's source database (the v1 friend/city schema).

The schema is created the way a user's would be: ``rebuilder.sync(V1Base, path)``
into an empty file, so the version table and history are realistic. The rows
are then bulk-inserted with stdlib ``sqlite3`` (``executemany`` in one
transaction), through the indexes, as an application would have written them.

Files are cached per (rows, seed) under ``benchmarks/results/`` (git-ignored):
``source-<rows>-s<seed>.db`` with a ``.json`` sidecar naming rows, seed, generator
format and size; a cached file is reused only if its sidecar matches. Nothing
but the models' tables is put in the file, so no method sees an extra table. Run directly to (re)build one::

    .venv/bin/python benchmarks/generate.py --rows 100000 [--seed 7] [--force]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

RESULTS = HERE / "results"
DEFAULT_SEED = 7
CITIES = 1_000
NULL_RATE = 0.01
BATCH = 50_000
FORMAT = 1
"""Bump when the generator changes, so cached files are rebuilt."""

FIRST = [
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Dennis",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "Ivan",
    "Jean",
    "Ken",
    "Linus",
    "Margaret",
    "Niklaus",
    "Ole",
    "Peter",
    "Radia",
    "Sophie",
    "Tim",
    "Ursula",
    "Vint",
    "Whitfield",
    "Xavier",
    "Yukihiro",
    "Zuse",
]
LAST = [
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Ritchie",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Lamarr",
    "Sutherland",
    "Sammet",
    "Thompson",
    "Torvalds",
    "Hamilton",
    "Wirth",
    "Dahl",
    "Naur",
    "Perlman",
    "Wilson",
    "Berners-Lee",
    "Franklin",
    "Cerf",
    "Diffie",
    "Moreau",
    "Matsumoto",
    "Konrad",
]
STREETS = [
    "Main",
    "High",
    "Church",
    "Mill",
    "Station",
    "Park",
    "Victoria",
    "Green",
    "Manor",
    "Queen",
    "King",
    "Bridge",
]
SUFFIX = ["Street", "Road", "Lane", "Avenue", "Close", "Way"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.test", "post.test"]
EPOCH = datetime(2015, 1, 1)
SPAN_SECONDS = 10 * 365 * 24 * 3600


def source_path(rows: int, seed: int = DEFAULT_SEED, cache_dir: Path = RESULTS) -> Path:
    """Where the cached source file for ``rows`` and ``seed`` lives."""
    return cache_dir / f"source-{rows}-s{seed}.db"


def friend_rows(rows: int, seed: int) -> Iterator[tuple[object, ...]]:
    """Yield ``(id, name, email, score, address, city_id, created_at)`` rows, deterministically."""
    rng = random.Random(seed)
    for i in range(1, rows + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}"
        email = f"{first.lower()}.{last.lower()}{rng.randrange(1000)}.{i}@{rng.choice(DOMAINS)}"
        score = None if rng.random() < NULL_RATE else str(rng.randrange(100_000))
        address = (
            f"{rng.randrange(1, 400)} {rng.choice(STREETS)} {rng.choice(SUFFIX)}, Flat {rng.randrange(1, 60)}"
        )
        city_id = None if rng.random() < NULL_RATE else rng.randrange(1, CITIES + 1)
        created = EPOCH + timedelta(
            seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.randrange(1_000_000)
        )
        yield (i, name, email, score, address, city_id, created.strftime("%Y-%m-%d %H:%M:%S.%f"))


def _batches(items: Iterator[tuple[object, ...]], size: int) -> Iterator[list[tuple[object, ...]]]:
    batch: list[tuple[object, ...]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _meta_path(path: Path) -> Path:
    return path.with_suffix(".json")


def _meta(rows: int, seed: int) -> dict[str, object]:
    return {"rows": rows, "seed": seed, "format": FORMAT}


def _cached_ok(path: Path, rows: int, seed: int) -> bool:
    meta = _meta_path(path)
    if not path.exists() or not meta.exists():
        return False
    try:
        return json.loads(meta.read_text()) == {**_meta(rows, seed), "bytes": path.stat().st_size}
    except (OSError, ValueError):
        return False


def generate(
    rows: int,
    seed: int = DEFAULT_SEED,
    *,
    cache_dir: Path = RESULTS,
    force: bool = False,
    quiet: bool = False,
) -> Path:
    """Build (or reuse) the source database with ``rows`` friends.

    Args:
        rows: Number of ``friend`` rows.
        seed: Random seed; the same (rows, seed) gives the same file content.
        cache_dir: Where source files are cached.
        force: Rebuild even when a cached file exists.
        quiet: Print nothing.

    Returns:
        The path of the source file.
    """
    from models import V1Base

    import rebuilder

    path = source_path(rows, seed, cache_dir)
    if not force and _cached_ok(path, rows, seed):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    for p in (path, _meta_path(path), tmp, Path(f"{tmp}-journal")):
        p.unlink(missing_ok=True)
    started = time.perf_counter()
    rebuilder.sync(V1Base, tmp)
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        # Generation only: none of these settings is stored in the file.
        conn.execute("PRAGMA journal_mode = MEMORY")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -1000000")
        conn.execute("BEGIN")
        rng = random.Random(seed ^ 0xC17)
        conn.executemany(
            "INSERT INTO city (id, name) VALUES (?, ?)",
            ((i, f"{rng.choice(LAST)}ville {i}") for i in range(1, CITIES + 1)),
        )
        sql = (
            "INSERT INTO friend (id, name, email, score, address, city_id, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        for batch in _batches(friend_rows(rows, seed), BATCH):
            conn.executemany(sql, batch)
        conn.execute("COMMIT")
    finally:
        conn.close()
    tmp.rename(path)
    _meta_path(path).write_text(json.dumps({**_meta(rows, seed), "bytes": path.stat().st_size}))
    if not quiet:
        size = path.stat().st_size / 1e6
        print(f"generated {path.name}: {rows:,} rows, {size:.0f} MB in {time.perf_counter() - started:.1f} s")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    for rows in args.rows:
        print(generate(rows, args.seed, force=args.force))


if __name__ == "__main__":
    main()
