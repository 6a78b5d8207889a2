"""CI smoke of the rebuild benchmark: every method's result verifies at a small size.

Asserts correctness only (rows, values, types, indexes, FK, integrity_check), never time.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("alembic", "sqlite_utils", "psutil")),
    reason="the benchmark's peers (alembic, sqlite-utils, psutil) are not installed",
)


def test_every_method_verifies_at_a_small_size(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import bench_rebuild
    finally:
        sys.path.remove(str(BENCH))
    out = tmp_path / "smoke.json"
    code = bench_rebuild.main(
        [
            "--rows",
            "3000",
            "--rounds",
            "1",
            "--out",
            str(out),
            "--no-chart",
            "--work-dir",
            str(tmp_path),
            "--cache-dir",
            str(tmp_path),
            "--quiet",
            "--settle",
            "0",
        ]
    )
    result = json.loads(out.read_text())
    (size,) = result["sizes"]
    failures = {m: s["failures"] for m, s in size["summary"].items() if not s["ok"]}
    assert failures == {}
    assert code == 0
    assert set(size["summary"]) == {
        "rebuilder",
        "rebuilder-relaxed",
        "raw",
        "alembic",
        "sqlite-utils",
        "rebuilder-drop",
        "raw-drop",
    }
    for run in size["runs"]:
        assert run["ok"] and run["problems"] == [] and run["error"] is None
        assert run["size_after"] > 0
    # Nothing but the cached source and its sidecar is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "smoke.json",
        "source-3000-s7.db",
        "source-3000-s7.json",
    ]
