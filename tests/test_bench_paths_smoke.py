"""CI smoke of the path benchmark: every method verifies at a small size, and the plans are what it times.

Asserts correctness only (plans, schema, rows, values, types, integrity_check), never time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def test_every_path_verifies_at_a_small_size(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import bench_paths
    finally:
        sys.path.remove(str(BENCH))
    out = tmp_path / "paths.json"
    code = bench_paths.main(
        [
            "--smoke",
            "--out",
            str(out),
            "--work-dir",
            str(tmp_path),
            "--cache-dir",
            str(tmp_path),
            "--quiet",
        ]
    )
    result = json.loads(out.read_text())
    (size,) = result["sizes"]
    assert size["rows"] == 3000 and size["rounds"] == 1
    failures = {m: s["failures"] for m, s in size["summary"].items() if not s["ok"]}
    assert failures == {}
    assert code == 0
    assert set(size["summary"]) == {
        "raw",
        "rebuilder-edit",
        "rebuilder-edit-validated",
        "scan",
        "rebuilder-add",
        "rebuilder-rename",
        "rebuilder-drop",
    }
    for run in size["runs"]:
        assert run["ok"] and run["problems"] == [] and run["error"] is None
        assert run["seconds"] is not None and run["size_after"] > 0

    # The in-place changes plan as one in-place edit each, and the native ones as one ALTER.
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

    # Nothing but the cached source and its sidecar is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "paths.json",
        "source-3000-s7.db",
        "source-3000-s7.json",
    ]
