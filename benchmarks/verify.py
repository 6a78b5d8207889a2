"""Check a method's result against its source file, outside any timing.

`expectations` reads the source once per size; `verify` then checks a result
file and returns the problems found (an empty list means it verified):

- the row count, and full per-column aggregates (count, sum of lengths, sums
  weighted by id, so a value moved to another row is caught);
- a seeded sample of ids compared value by value and type by type, ``score``
  converted to an integer for the full change and left as text for the drop;
- ``typeof(score)`` is ``'integer'`` wherever it is not NULL (full change);
- the columns, with ``address`` gone and ``score`` of INTEGER affinity;
- the three indexes with the same key columns and uniqueness (``index_xinfo``);
- the FK ``city_id -> city(id)`` (full change) or none (drop only), and an
  empty ``PRAGMA foreign_key_check``;
- ``PRAGMA integrity_check`` (``quick_check`` on request) and ``city`` intact.

``bench_paths.py`` checks its results with the same pieces: ``kept_problems``
(rows, aggregates, ``foreign_key_check``, integrity, ``city``), the seeded
sample (``sample_ids``, ``read_sample``, ``changed``, ``sample_problems``).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from models import INDEXES, KEPT_COLUMNS, V1_COLUMNS

SAMPLE = 500
Row = dict[str, tuple[object, str]]
"""One sampled row: each column's value and storage class (``typeof``)."""


def _text(col: str) -> list[str]:
    return [
        f"count({col})",
        f"sum(length({col}))",
        f"sum(unicode({col}))",
        f"sum(unicode(substr({col}, -1)))",
        f"sum((id % 1009) * length({col}))",
        f"sum((id % 1013) * unicode(substr({col}, -2)))",
    ]


def _int(expr: str) -> list[str]:
    return [f"count({expr})", f"sum({expr})", f"sum((id % 1009) * {expr})"]


# score is compared as an integer on both sides: CAST in the source, where it is text.
AGGREGATES = [
    "count(*)",
    "sum(id)",
    *_text("name"),
    *_text("email"),
    *_int("CAST(score AS INTEGER)"),
    *_int("city_id"),
    *_text("created_at"),
]


@dataclass(frozen=True)
class Expected:
    """What every result must match, read from the source file."""

    rows: int
    aggregates: tuple[object, ...]
    sample: dict[int, Row]
    cities: int


class Kept(Protocol):
    """What every result keeps from its source, whatever the change."""

    @property
    def rows(self) -> int: ...

    @property
    def aggregates(self) -> tuple[object, ...]: ...

    @property
    def cities(self) -> int: ...


def kept_problems(conn: sqlite3.Connection, want: Kept, integrity: bool) -> list[str]:
    """The row count, per-column aggregates and city rows against the source's; no orphan; a sound file."""
    problems = []
    rows = conn.execute("SELECT count(*) FROM friend").fetchone()[0]
    if rows != want.rows:
        problems.append(f"{rows} rows, expected {want.rows}")
    aggregates = tuple(conn.execute(f"SELECT {', '.join(AGGREGATES)} FROM friend").fetchone())
    for expr, got, wanted in zip(AGGREGATES, aggregates, want.aggregates, strict=True):
        if got != wanted:
            problems.append(f"aggregate {expr} is {got!r}, expected {wanted!r}")
    orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
    if orphans:
        problems.append(f"foreign_key_check returned {len(orphans)} row(s), e.g. {orphans[:3]}")
    check = "integrity_check" if integrity else "quick_check"
    result = [r[0] for r in conn.execute(f"PRAGMA {check}")]
    if result != ["ok"]:
        problems.append(f"{check}: {result[:3]}")
    cities = conn.execute("SELECT count(*) FROM city").fetchone()[0]
    if cities != want.cities:
        problems.append(f"city has {cities} rows, expected {want.cities}")
    return problems


def read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def read_sample(conn: sqlite3.Connection, ids: list[int], columns: list[str]) -> dict[int, Row]:
    """The rows with these ids: each column's value and storage class."""
    picks = ", ".join(f'"{c}", typeof("{c}")' for c in columns)
    found: dict[int, Row] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ", ".join("?" for _ in part)
        for row in conn.execute(f'SELECT "id", {picks} FROM friend WHERE "id" IN ({marks})', part):
            found[int(row[0])] = {c: (row[1 + 2 * i], str(row[2 + 2 * i])) for i, c in enumerate(columns)}
    return found


def changed(
    row: Row,
    column_map: Mapping[str, str | None],
    score_integer: bool,
    added: Mapping[str, tuple[object, str]] | None = None,
) -> Row:
    """A source row as a change leaves it: columns renamed or gone, scores as integers, new columns."""
    out: Row = {}
    for column, (value, kind) in row.items():
        target = column_map.get(column, column)
        if target is None:
            continue
        if column == "score" and score_integer and value is not None:
            value, kind = int(str(value)), "integer"
        out[target] = (value, kind)
    return out | dict(added or {})


def sample_problems(
    conn: sqlite3.Connection, sample: dict[int, Row], expect: Callable[[Row], Row]
) -> list[str]:
    """The sampled rows of the result that are not ``expect`` of the source's, value and type (up to 3)."""
    ids = sorted(sample)
    want = {i: expect(sample[i]) for i in ids}
    columns = list(next(iter(want.values()))) if want else []
    got = read_sample(conn, ids, columns)
    problems = []
    for i in ids:
        if got.get(i) != want[i]:
            problems.append(f"row id={i} is {got.get(i)!r}, expected {want[i]!r}")
            if len(problems) >= 3:
                break
    return problems


def sample_ids(conn: sqlite3.Connection, seed: int) -> list[int]:
    """The first and last id and ``SAMPLE`` seeded ones between."""
    top = conn.execute("SELECT max(id) FROM friend").fetchone()[0] or 0
    rng = random.Random(seed)
    return sorted({1, top, *(rng.randint(1, max(top, 1)) for _ in range(SAMPLE))})


def expectations(source: Path, seed: int) -> Expected:
    """Read the aggregates and a seeded sample of rows from the source."""
    conn = read_only(source)
    try:
        rows = conn.execute("SELECT count(*) FROM friend").fetchone()[0]
        aggregates = conn.execute(f"SELECT {', '.join(AGGREGATES)} FROM friend").fetchone()
        ids = sample_ids(conn, seed * 7919 + rows)
        sample = read_sample(conn, ids, list(V1_COLUMNS))
        cities = conn.execute("SELECT count(*) FROM city").fetchone()[0]
    finally:
        conn.close()
    return Expected(rows, tuple(aggregates), sample, cities)


def _indexes(conn: sqlite3.Connection) -> dict[tuple[tuple[str, ...], bool], str]:
    found = {}
    for _seq, name, unique, origin, _partial in conn.execute("PRAGMA index_list(friend)"):
        if origin != "c":
            continue
        keys = [r for r in conn.execute(f'PRAGMA index_xinfo("{name}")') if r[5]]
        cols = tuple(str(r[2]) for r in sorted(keys, key=lambda r: r[0]))
        found[(cols, bool(unique))] = str(name)
    return found


def verify(path: Path, expected: Expected, *, full: bool, integrity: bool = True) -> list[str]:
    """Return the problems with a result file; empty when it verified.

    Args:
        path: The result file.
        expected: The source's expectations.
        full: The full change (score INTEGER, FK added) rather than the drop alone.
        integrity: Run ``PRAGMA integrity_check`` (which also proves every index
            matches its table) rather than the cheaper ``quick_check``.
    """
    problems: list[str] = []
    conn = read_only(path)
    try:
        info = conn.execute("PRAGMA table_info(friend)").fetchall()
        columns = tuple(str(r[1]) for r in info)
        if columns != KEPT_COLUMNS:
            problems.append(f"columns are {columns}, expected {KEPT_COLUMNS}")
        types = {str(r[1]): str(r[2]).upper() for r in info}
        score_type = types.get("score", "")
        if full and "INT" not in score_type:
            problems.append(f"score is declared {score_type!r}, not INTEGER")
        if not full and "CHAR" not in score_type:
            problems.append(f"score is declared {score_type!r}, expected it unchanged")
        if problems:
            return problems
        problems += kept_problems(conn, expected, integrity)
        kind = "integer" if full else "text"
        wrong = conn.execute(
            f"SELECT count(*) FROM friend WHERE score IS NOT NULL AND typeof(score) <> '{kind}'"
        ).fetchone()[0]
        if wrong:
            problems.append(f"{wrong} non-NULL scores are not stored as {kind}")
        problems += sample_problems(conn, expected.sample, lambda row: changed(row, {"address": None}, full))
        problems += _schema(conn, full)
    finally:
        conn.close()
    return problems


def _schema(conn: sqlite3.Connection, full: bool) -> list[str]:
    problems = []
    indexes = _indexes(conn)
    wanted = {(cols, unique) for cols, unique in INDEXES.values()}
    if set(indexes) != wanted:
        problems.append(f"indexes are {sorted(indexes)}, expected {sorted(wanted)}")
    fks = [(str(r[3]), str(r[2]), r[4]) for r in conn.execute("PRAGMA foreign_key_list(friend)")]
    if full and (len(fks) != 1 or fks[0][:2] != ("city_id", "city") or fks[0][2] not in ("id", None)):
        problems.append(f"foreign keys are {fks}, expected city_id -> city(id)")
    if not full and fks:
        problems.append(f"foreign keys are {fks}, expected none")
    return problems
