"""Data-driven scenarios: models before -> after, rows in between, the exact plan, and the values.

Each scenario in ``tests/scenarios/`` is data (see `scenarios.Scenario`). For every
version after the first, on a real file, this test checks: the plan's step lines;
that sync applies exactly those steps and converges (`rebuilder.check` is empty);
that a second sync changes nothing, byte for byte; that every kept value keeps its
value and storage class unless the scenario declares the conversion; the expected
query results and constraint behaviour. A database made by ``metadata.create_all``
on every version plans zero steps.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from conftest import quote, rows, snapshot
from scenarios import (
    Probe,
    Scenario,
    Version,
    apps,
    build,
    columns,
    combined,
    constraints,
    indexes,
    intent,
    kinds,
    tables,
)
from sqlalchemy import create_engine

import rebuilder
from rebuilder.errors import DataLossRefused
from rebuilder.schema import fold
from rebuilder.steps import EditSchemaStep, RebuildStep, Step

ALL: list[Scenario] = [
    *tables.SCENARIOS,
    *columns.SCENARIOS,
    *constraints.SCENARIOS,
    *indexes.SCENARIOS,
    *combined.SCENARIOS,
    *kinds.SCENARIOS,
    *apps.SCENARIOS,
    *intent.SCENARIOS,
]

Values = dict[str, dict[str, dict[object, tuple[object, str]]]]


def _params() -> list[object]:
    params = []
    for s in ALL:
        marks = [pytest.mark.xfail(strict=True, reason=f"BUG: {s.bug}")] if s.bug else []
        params.append(pytest.param(s, id=s.name, marks=marks))
    return params


def test_scenario_names_are_unique() -> None:
    names = [s.name for s in ALL]
    assert sorted(n for n, k in Counter(names).items() if k > 1) == []


def lines(steps: tuple[Step, ...]) -> list[str]:
    return [str(s) for s in steps]


def values(path: Path) -> Values:
    """Every user table's values by column: row key -> (value, storage class)."""
    conn = sqlite3.connect(path)
    try:
        found: Values = {}
        names = conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%rebuilder%'"
        ).fetchall()
        for (table,) in names:
            info = [r for r in conn.execute(f"PRAGMA table_xinfo({quote(table)})") if r[6] in (0, 2, 3)]
            wr = conn.execute("SELECT wr FROM pragma_table_list WHERE name = ?", (table,)).fetchone()[0]
            pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
            column_names = {c.lower() for c in (r[1] for r in info)}
            rowid = next((n for n in ("rowid", "_rowid_", "oid") if n not in column_names), "rowid")
            key = ", ".join(quote(c) for c in pk) if wr else rowid
            found[table] = {}
            for column in (r[1] for r in info):
                sql = f"SELECT {key}, {quote(column)}, typeof({quote(column)}) FROM {quote(table)}"
                found[table][column] = {
                    (r[0] if not wr or len(pk) == 1 else tuple(r[: len(pk)])): (r[-2], r[-1])
                    for r in conn.execute(sql)
                }
        return found
    finally:
        conn.close()


def _rename_maps(version: Version) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    tables = {fold(old): new for old, _, new in (t.partition("=") for t in version.table_renames)}
    by_new = {fold(new): old for old, new in tables.items()}
    cols: dict[tuple[str, str], str] = {}
    for spec in version.renames:
        left, _, new = spec.partition("=")
        table, _, old = left.rpartition(".")
        live = by_new.get(fold(table), fold(table))
        cols[(live, fold(old))] = new
    return tables, cols


def assert_kept(before: Values, after: Values, version: Version) -> None:
    """Every column that survives keeps every value and storage class, unless declared converted."""
    tables, cols = _rename_maps(version)
    after_tables = {fold(t): t for t in after}
    declared = {fold(k): rows for k, rows in version.converted.items()}
    used = set()
    for table, columns_ in before.items():
        new_table = after_tables.get(fold(tables.get(fold(table), table)))
        if new_table is None:
            continue
        after_cols = {fold(c): c for c in after[new_table]}
        for column, old_values in columns_.items():
            new_column = after_cols.get(fold(cols.get((fold(table), fold(column)), column)))
            if new_column is None:
                continue
            got = after[new_table][new_column]
            name = fold(f"{new_table}.{new_column}")
            if name in declared:
                used.add(name)
                assert sorted((k, *v) for k, v in got.items()) == list(declared[name]), name
                assert got.keys() == old_values.keys(), f"{name}: rows lost or added"
            else:
                assert got == old_values, f"{table}.{column} -> {new_table}.{new_column} changed"
    assert used == set(declared), (
        f"declared conversions of columns that were not kept: {set(declared) - used}"
    )


def run_probe(path: Path, probe: Probe) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN")
        *first, last = probe.statements if probe.statements else ("SELECT 1",)
        for sql in first:
            conn.execute(sql)
        if probe.rejects:
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(last)
        else:
            conn.execute(last)
        if probe.query is not None:
            assert conn.execute(probe.query).fetchall() == list(probe.rows), probe.query
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def assert_create_all_plans_nothing(tmp_path: Path, number: int, version: Version, expected: str) -> None:
    path = tmp_path / f"create_all_v{number}.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        build(version.models).create_all(engine)
    finally:
        engine.dispose()
    metadata = build(version.models)
    shown = rebuilder.plan(metadata, path, exclude=version.exclude)
    assert shown.steps == (), f"create_all of version {number}: {lines(shown.steps)}"
    assert shown.version == expected
    assert rebuilder.check(metadata, path, exclude=version.exclude) == []


def assert_version(db: Path, number: int, version: Version, tmp_path: Path) -> None:
    """Sync to one version (its data already inserted) and check everything about the result."""
    metadata = build(version.models)
    flags = {
        "renames": version.renames,
        "table_renames": version.table_renames,
        "fills": version.fills,
        "exclude": version.exclude,
    }
    shown = rebuilder.plan(metadata, db, **flags)
    if version.plan is not None:
        assert lines(shown.steps) == list(version.plan)
    rebuilt = Counter(fold(s.new.name) for s in shown.steps if isinstance(s, (RebuildStep, EditSchemaStep)))
    assert [t for t, n in rebuilt.items() if n > 1] == [], "a table is rebuilt or edited more than once"
    assert shown.violations == ()
    before = values(db) if db.exists() else {}

    if version.allow_data_loss:
        assert shown.losses != (), "the scenario asks for allow_data_loss but the plan loses nothing"
        untouched = snapshot(db)
        with pytest.raises(DataLossRefused):
            rebuilder.sync(metadata, db, **flags)
        assert snapshot(db) == untouched
    else:
        assert shown.losses == ()

    result = rebuilder.sync(metadata, db, allow_data_loss=version.allow_data_loss, **flags)
    assert lines(result.steps) == lines(shown.steps)
    assert result.version == shown.version
    assert rebuilder.check(metadata, db, exclude=version.exclude) == []
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert rows(db, "PRAGMA foreign_key_check") == []

    converged = snapshot(db)
    again = rebuilder.sync(metadata, db, allow_data_loss=version.allow_data_loss, **flags)
    assert again.steps == () and not again.changed
    assert snapshot(db) == converged
    assert rebuilder.plan(metadata, db, exclude=version.exclude).up_to_date

    assert_kept(before, values(db), version)
    for sql, expected in version.expect.items():
        assert rows(db, sql) == list(expected), sql
    for probe in version.probes:
        run_probe(db, probe)
    assert snapshot(db) == converged, "a probe was not rolled back"
    assert_create_all_plans_nothing(tmp_path, number, version, result.version)


@pytest.mark.parametrize("scenario", _params())
def test_scenario(scenario: Scenario, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    for number, version in enumerate(scenario.versions):
        if version.data:
            conn = sqlite3.connect(db)
            try:
                for sql in version.data:
                    conn.execute(sql)
                conn.commit()
            finally:
                conn.close()
        assert_version(db, number, version, tmp_path)
