"""Find a Python 3.12+ interpreter the way a developer's machine has one.

Python 3.12 is the first whose ``sqlite3`` can switch SQLite's defensive mode
on (``Connection.setconfig``), which ``tests/test_defensive.py`` needs. Looked
for, in order: ``$REBUILDER_PY312`` (a path), ``python3.13`` and ``python3.12``
on ``PATH``, and pyenv's versions directory (``$PYENV_ROOT/versions`` or
``~/.pyenv/versions``), newest first. A pyenv shim that is on ``PATH`` but not
activated fails to run and is skipped.

Run as a script it prints the interpreter's path, or says how to get one and
exits 1 (the Makefile uses it that way).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

MINIMUM = (3, 12)
HOW = (
    "no Python 3.12 or newer was found (looked at $REBUILDER_PY312, python3.13 and python3.12 on PATH, "
    "and pyenv's versions directory); the defensive-mode tests need one: install it with "
    "`pyenv install 3.12` (or your system's python3.12 package), or set REBUILDER_PY312=/path/to/python3.12"
)


def _works(candidate: str) -> bool:
    try:
        proc = subprocess.run(
            [candidate, "-c", f"import sys, sqlite3; sys.exit(sys.version_info[:2] < {MINIMUM})"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def _pyenv_pythons() -> list[str]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = []
    for path in root.glob("3.*") if root.is_dir() else []:
        match = re.fullmatch(r"3\.(\d+)\.(\d+)", path.name)
        if match and (3, int(match[1])) >= MINIMUM and (path / "bin" / "python3").exists():
            found.append(((int(match[1]), int(match[2])), str(path / "bin" / "python3")))
    return [p for _v, p in sorted(found, reverse=True)]


def candidates() -> list[str]:
    """Every place a 3.12+ interpreter may be, in the order they are tried."""
    named = [os.environ.get("REBUILDER_PY312", "")]
    named += [shutil.which(n) or "" for n in ("python3.13", "python3.12")]
    return [c for c in named if c] + _pyenv_pythons()


def find() -> str | None:
    """The first candidate that runs and is 3.12 or newer, or None."""
    return next((c for c in candidates() if _works(c)), None)


if __name__ == "__main__":
    found = find()
    if found is None:
        print(HOW, file=sys.stderr)
        sys.exit(1)
    print(found)
