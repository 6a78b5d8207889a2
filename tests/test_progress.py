"""Progress on long syncs: row counts reported often during a copy, and the other long phases named.

The copy of a large table runs in rowid ranges sized by time, so the CLI's bar
moves about ten times a second on any table; these tests check what is
reported (never how long it took): every range, in order, ending at the real
count, and each phase, with the data intact.
"""

from __future__ import annotations

import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import CLI_ENV, CODE_INTEGER, CODE_TEXT, coded_table, numbers, rows, synced, write_versions

import rebuilder
from rebuilder.execute import CHUNK_ROWS

MODELS_V1 = coded_table("big")
MODELS_V2 = MODELS_V1.replace(CODE_TEXT, CODE_INTEGER)  # TEXT -> INTEGER: a rebuild
N = 150_000


def filled(tmp_path: Path) -> tuple[Path, object]:
    models = write_versions(tmp_path, MODELS_V1, MODELS_V2)
    db = tmp_path / "app.db"
    synced(db, models.v1, "delete")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(
        numbers(N) + "INSERT INTO big (id, code, name) SELECT x, CAST(x * 7 AS TEXT), 'n' || x FROM s"
    )
    conn.close()
    return db, models


def test_a_large_copy_reports_every_range_and_each_phase(tmp_path: Path) -> None:
    db, models = filled(tmp_path)
    copied: list[tuple[str, int, int]] = []
    phases: list[str] = []
    rebuilder.sync(
        models.v2,  # type: ignore[attr-defined]
        db,
        row_progress=lambda table, done, total: copied.append((table, done, total)),
        on_phase=phases.append,
    )
    assert phases == ["checking existing rows", "indexing big", "checking the result"]
    done = [d for _t, d, _total in copied]
    assert {t for t, _d, _total in copied} == {"big"}
    assert done == sorted(done) and copied[-1] == ("big", N, N)
    assert len(copied) >= 4  # a first range of CHUNK_ROWS, then ranges sized by time
    assert done[0] == CHUNK_ROWS
    assert all(total >= d for _t, d, total in copied)
    assert rows(db, "SELECT count(*), sum(code), typeof(code) FROM big WHERE id IN (1, 2)") == [
        (2, 21, "integer")
    ]
    assert rows(db, "SELECT count(*) FROM big") == [(N,)]
    assert rebuilder.check(models.v2, db) == []  # type: ignore[attr-defined]


def test_the_cli_shows_the_copy_and_the_phases_at_a_terminal(tmp_path: Path) -> None:
    db, models = filled(tmp_path)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rebuilder", "sync", models.spec, str(db)],  # type: ignore[attr-defined]
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**CLI_ENV, "TERM": "xterm"},
        text=True,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(leader)
    assert proc.returncode == 0, shown
    text = shown.decode(errors="replace")
    assert "copying big" in text and "indexing big" in text and "checking the result" in text
    assert f"{N:,}/{N:,}" in text  # the finished count is always drawn
    assert out.startswith("applied rebuild table big")
    assert rows(db, "SELECT typeof(code), count(*) FROM big GROUP BY 1") == [("integer", N)]
