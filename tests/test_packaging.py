"""The distribution as a user installs it: build the wheel and sdist, install the wheel in a fresh virtualenv.

So a module, an entry point or a dependency missing from the package fails here,
not on a user's machine. Dependencies come from the package index, as for a user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

import rebuilder

IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
)
MODELS = """
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
Table("pet", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))
"""


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
    )
    assert proc.returncode == 0, (command, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """Build from a copy of the source tree, so the checkout is left as it is; return wheel, sdist, log."""
    work = tmp_path_factory.mktemp("package")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    dist = work / "dist"
    proc = run(sys.executable, "-m", "build", "--outdir", dist, source, cwd=work)
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in dist.iterdir())
    return wheels[0], sdists[0], proc.stdout + proc.stderr


def test_the_distribution_is_sqlite_rebuilder_with_an_spdx_license(built: tuple[Path, Path, str]) -> None:
    wheel, sdist, log = built
    assert wheel.name == f"sqlite_rebuilder-{rebuilder.__version__}-py3-none-any.whl"
    assert sdist.name == f"sqlite_rebuilder-{rebuilder.__version__}.tar.gz"
    assert "deprecated" not in log.lower(), log
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"sqlite_rebuilder-{rebuilder.__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    modules = {f"rebuilder/{p.name}" for p in (ROOT / "rebuilder").glob("*.py")}
    assert modules <= names, modules - names
    assert "Name: sqlite-rebuilder\n" in metadata
    assert "License-Expression: MIT\n" in metadata
    assert "rebuilder = rebuilder.cli:main" in entry_points
    assert "[flask.commands]\nrebuilder = rebuilder.flask_cli:group" in entry_points
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "README.md"} | modules <= members


def test_the_wheel_installs_and_syncs_in_a_fresh_virtualenv(
    built: tuple[Path, Path, str], tmp_path: Path
) -> None:
    wheel, _sdist, _log = built
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)

    version = run(venv / "bin" / "rebuilder", "--version", cwd=tmp_path)
    assert version.stdout == f"rebuilder {rebuilder.__version__}\n"
    where = run(venv / "bin" / "python", "-c", "import rebuilder; print(rebuilder.__file__)", cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout

    (tmp_path / "models.py").write_text(textwrap.dedent(MODELS))
    synced = run(venv / "bin" / "rebuilder", "sync", "models.py:metadata", "app.db", cwd=tmp_path)
    assert synced.stdout.splitlines()[0] == "applied create table pet"
    checked = run(venv / "bin" / "rebuilder", "check", "models:metadata", "app.db", cwd=tmp_path)
    assert checked.stdout == "in sync\n"
    module = run(venv / "bin" / "python", "-m", "rebuilder", "current", "app.db", cwd=tmp_path)
    assert len(module.stdout.strip()) == 32
