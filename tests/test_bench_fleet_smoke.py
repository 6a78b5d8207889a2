"""CI smoke of the fleet benchmark: 40 tenant files synced twice by one command, beside both per-file loops.

Asserts correctness only, never time: pass 1 finds every file current and
changes no version row, pass 2 syncs every file (each verified in depth:
integrity, ``check`` against v2, every table's rows against its seed, the
priorities stored as the same integers), and the per-process and Alembic
loops' files verify the same way.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("alembic", "psutil")),
    reason="the benchmark's peers (alembic, psutil) are not installed",
)
def test_the_fleet_benchmark_verifies_at_a_small_size(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        bench = importlib.import_module("bench_fleet")
    finally:
        sys.path.remove(str(BENCH))
    out = tmp_path / "fleet.json"

    code = bench.main(["--smoke", "--out", str(out), "--work-dir", str(tmp_path)])

    record = json.loads(out.read_text())
    assert record["problems"] == []
    assert code == 0
    assert record["pass1"]["totals"] == "40 file(s): 0 synced, 40 already current, 0 refused, 0 failed"
    assert record["pass2"]["totals"] == "40 file(s): 40 synced, 0 already current, 0 refused, 0 failed"
    assert record["per_process"]["files"] == record["one_job"]["files"] == record["alembic"]["files"] == 5
    assert record["pass2"]["peak_tree_rss"] > 0
    assert set(record["goals"]) == {"pass1_files_per_s", "pass2_files_per_s", "pass2_vs_per_process"}
    assert [p.name for p in tmp_path.iterdir()] == ["fleet.json"]  # the work files are gone
