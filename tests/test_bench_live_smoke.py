"""CI smoke of the live benchmark: a writer and readers in their own processes while the CLI syncs.

At 20,000 rows, in rollback-journal and WAL mode, for the rebuild and the
in-place path, it asserts the invariants only, never time: the sync exited 0,
every acknowledged write is there with its values and storage classes, no
write reported as failed was committed, no read saw a mixed state, the reads
overlapped the sync and some saw the new schema; and in WAL mode the ``-wal``
file left right after the sync is under 2 MB (a rebuild wrote about 6).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def load() -> object:
    sys.path.insert(0, str(BENCH))
    try:
        import bench_live
    finally:
        sys.path.remove(str(BENCH))
    return bench_live


def test_the_mixed_state_check_catches_each_kind_of_mixed_read() -> None:
    bench = load()
    spec = {
        "column": "score",
        "old_version": "v1",
        "new_version": "v2",
        "old_type": "VARCHAR(20)",
        "new_type": "INTEGER",
        "old_class": "text",
        "new_class": "integer",
    }
    verdict = bench._verdict  # type: ignore[attr-defined]
    assert verdict(spec, "v1", "VARCHAR(20)", {"text": 99, "null": 1}) == "ok old"
    assert verdict(spec, "v2", "INTEGER", {"integer": 100}) == "ok new"
    assert verdict(spec, "v1", "INTEGER", {"integer": 100}).startswith("mixed: version old with declared")
    mixed = verdict(spec, "v2", "INTEGER", {"integer": 60, "text": 40})
    assert mixed == "mixed: version new with values stored as ['text']"
    assert verdict(spec, "v2", "INTEGER", {"integer": 60}) == "mixed: 60 of 100 rows"
    assert verdict(spec, "v0", "INTEGER", {"integer": 100}).startswith("mixed: unknown version")


def test_a_live_app_during_a_sync_loses_nothing_and_sees_no_mixed_state(tmp_path: Path) -> None:
    bench = load()
    out = tmp_path / "live.json"
    args = ["--smoke", "--out", str(out), "--work-dir", str(tmp_path), "--cache-dir", str(tmp_path)]
    code = bench.main(args)  # type: ignore[attr-defined]
    runs = json.loads(out.read_text())["runs"]
    assert {(r["mode"], r["path"]) for r in runs} == {
        (mode, path) for mode in ("delete", "wal") for path in ("rebuild", "edit")
    }
    for run in runs:
        where = f"{run['mode']} {run['path']}: {run['problems']}"
        assert run["problems"] == [], where
        assert run["sync"]["code"] == 0, where
        writes, reads = run["writes"], run["reads"]
        assert writes["acknowledged"] > 0 and writes["lost"] == [] and writes["wrong"] == [], where
        assert writes["timed_out_present"] == 0 and writes["errors"] == [], where
        assert reads["mixed"] == 0 and reads["errors"] == [], where
        assert reads["during_sync"] > 0 and reads["saw_old"] > 0 and reads["saw_new"] > 0, where
        if run["mode"] == "wal":
            assert run["sync"]["wal_bytes"] < 2_000_000, where
    assert code == 0
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["live.json", "source-20000-s7.db", "source-20000-s7.json"]
