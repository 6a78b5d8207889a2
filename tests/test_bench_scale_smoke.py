"""CI smoke of the scale benchmark: every result verifies at a small size. Correctness only, never time."""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("alembic", "psutil")),
    reason="the benchmark's peers (alembic, psutil) are not installed",
)
def test_the_scale_benchmark_verifies_at_small_sizes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))  # for the whole run: the benchmark imports its helpers as it goes
    bench = importlib.import_module("bench_scale")
    out = tmp_path / "scale.json"
    work = str(tmp_path)
    code = bench.main(["--smoke", "--out", str(out), "--work-dir", work, "--cache-dir", work, "--quiet"])
    report = json.loads(out.read_text())
    assert code == 0 and report["ok"]
    for size in ("3", "10"):
        planned = report["planners"][size]
        assert planned["check"]["found"] == [0] and planned["plan"]["found"] == [0]
        assert set(planned) >= {"check", "plan", "alembic"}
    assert report["noop"]["5"]["statements"] == ['SELECT version_num FROM main."rebuilder_version" LIMIT 2']
    edit = report["edit"]
    assert edit["rows"] == 3000
    assert all(run["problems"] == [] for runs in edit["runs"].values() for run in runs)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "scale.json",
        "source-3000-s7.db",
        "source-3000-s7.json",
    ]
