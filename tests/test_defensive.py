"""SQLite's defensive mode, for real: the fast paths fall back to copies that give the same database.

rebuilder's fastest paths (an in-place edit of a table's SQL, handing index
b-trees to the rebuilt table) write ``sqlite_schema`` under
``writable_schema``, which defensive mode forbids. Python 3.12 is the first
whose ``sqlite3`` can switch it on (``Connection.setconfig``), so:

- under Python 3.12+ (``tests/defensive_cases.py``), every scenario of
  ``tests/scenarios/`` whose plan edits a table in place or rebuilds one, the in-place changes of
  ``test_edit_in_place.py`` and the index-reuse models of
  ``test_index_reuse.py`` run twice on copies of one file: once as planned
  (the fast paths, on a path), once through a ``sqlite3.Connection`` in
  defensive mode (copies only). Both must give exactly the same schema (as
  rebuilder reads it, and every index) and the same rows, rowids and storage
  classes, with ``integrity_check`` ok;
- from the main suite, one test runs those cases under a 3.12+ interpreter found
  as a developer's machine has it (``tests/interpreters.py``), in the venv
  ``make .venv-py312/.installed`` builds. When this machine has a 3.12+ but
  the venv is missing, it fails saying to build it; only on a machine with no
  3.12+ at all is it skipped, saying how to get one.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

CASES = ROOT / "tests" / "defensive_cases.py"
VENV_PYTHON = ROOT / ".venv-py312" / "bin" / "python"


def interpreter() -> str:
    """This Python if it is 3.12+, else the one in .venv-py312; fail saying how to get one."""
    if sys.version_info >= (3, 12):
        return sys.executable
    if VENV_PYTHON.exists():
        return str(VENV_PYTHON)
    sys.path.insert(0, str(ROOT / "tests"))
    from interpreters import HOW, find

    found = find()
    if found is None:
        pytest.skip(HOW)
    pytest.fail(
        "the defensive-mode tests need Python 3.12+ in .venv-py312: "
        f"run `make .venv-py312/.installed` (it will use {found})",
        pytrace=False,
    )


def test_the_fast_paths_fall_back_to_the_same_copies_in_defensive_mode() -> None:
    proc = subprocess.run(
        [interpreter(), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CASES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    last = tail.strip().splitlines()[-1]
    assert " passed" in last and "skipped" not in last and "failed" not in last, tail
    print(f"[defensive] {last}")
