"""CI smoke of the benchmark suites: every method's result verifies at a small size.

Asserts correctness only (plans, schema, rows, values, types, indexes, FK, integrity_check), never time.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
PEERS = ("alembic", "sqlite_utils", "psutil")

REBUILD_METHODS = {
    "rebuilder",
    "rebuilder-relaxed",
    "raw",
    "alembic",
    "sqlite-utils",
    "rebuilder-drop",
    "raw-drop",
}
PATHS_METHODS = {
    "raw",
    "rebuilder-edit",
    "rebuilder-edit-validated",
    "scan",
    "rebuilder-add",
    "rebuilder-rename",
    "rebuilder-drop",
}


def no_plans(size: dict[str, Any]) -> None:
    """The rebuild benchmark records no plans: its methods verify their results alone."""
    assert "plans" not in size


def paths_plan_what_they_time(size: dict[str, Any]) -> None:
    """The in-place changes plan as one in-place edit each, and the native ones as one ALTER."""
    plans = size["plans"]
    for method in ("rebuilder-edit", "rebuilder-edit-validated"):
        ((kind, text),) = plans[method]
        assert kind == "EditSchemaStep"
        assert text.startswith("edit table friend in place")
    assert "NOT NULL" in plans["rebuilder-edit-validated"][0][1]
    assert "FOREIGN KEY (city_id) REFERENCES city (id)" in plans["rebuilder-edit-validated"][0][1]
    assert [kind for kind, _ in plans["rebuilder-add"]] == ["AddColumnStep"]
    assert [kind for kind, _ in plans["rebuilder-rename"]] == ["RenameColumnsStep"]
    assert [kind for kind, _ in plans["rebuilder-drop"]] == ["DropColumnStep"]


def run_suite(module: str, out: Path, *options: str) -> tuple[int, dict[str, Any]]:
    """Run one benchmark's ``main`` quietly with its files in ``out``'s folder; (exit code, the size)."""
    sys.path.insert(0, str(BENCH))
    try:
        bench = importlib.import_module(module)
    finally:
        sys.path.remove(str(BENCH))
    work = str(out.parent)
    code = bench.main([*options, "--out", str(out), "--work-dir", work, "--cache-dir", work, "--quiet"])
    (size,) = json.loads(out.read_text())["sizes"]
    return code, size


@pytest.mark.parametrize(
    ("module", "options", "methods", "then"),
    [
        pytest.param(
            "bench_rebuild",
            ("--rows", "3000", "--rounds", "1", "--no-chart", "--settle", "0"),
            REBUILD_METHODS,
            no_plans,
            marks=pytest.mark.skipif(
                any(importlib.util.find_spec(m) is None for m in PEERS),
                reason="the benchmark's peers (alembic, sqlite-utils, psutil) are not installed",
            ),
            id="rebuild",
        ),
        pytest.param("bench_paths", ("--smoke",), PATHS_METHODS, paths_plan_what_they_time, id="paths"),
    ],
)
def test_every_method_verifies_at_a_small_size(
    tmp_path: Path,
    module: str,
    options: tuple[str, ...],
    methods: set[str],
    then: Callable[[dict[str, Any]], None],
) -> None:
    out = tmp_path / "smoke.json"
    code, size = run_suite(module, out, *options)
    assert size["rows"] == 3000 and size["rounds"] == 1
    failures = {m: s["failures"] for m, s in size["summary"].items() if not s["ok"]}
    assert failures == {}
    assert code == 0
    assert set(size["summary"]) == methods
    for run in size["runs"]:
        assert run["ok"] and run["problems"] == [] and run["error"] is None
        assert run["seconds"] is not None and run["size_after"] > 0
    then(size)
    # Nothing but the cached source and its sidecar is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "smoke.json",
        "source-3000-s7.db",
        "source-3000-s7.json",
    ]
