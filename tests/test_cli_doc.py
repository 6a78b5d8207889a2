"""docs/cli.md is checked against the real program, so the two cannot drift.

The commands table must list exactly the program's commands, and the options
table exactly each command's options: an option added to the program without
a line in the doc, a line for an option that does not exist, or a command
listed for an option it does not take fails here.
"""

from __future__ import annotations

import re

import typer
from conftest import ROOT

from rebuilder.cli import app

DOC = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
PROGRAM = typer.main.get_command(app)
COMMANDS: dict[str, typer.core.TyperCommand] = PROGRAM.commands  # type: ignore[attr-defined]


def _section(title: str) -> list[str]:
    """The table rows (``| ... |``) under a ``## title`` heading, header rows skipped."""
    body = DOC.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in body.splitlines() if line.startswith("| ")]
    return [row for row in rows[1:] if not row.startswith("|---")]


def _documented_options() -> dict[str, set[str]]:
    """Each command (and ``program``) -> the options the doc's table gives it."""
    found: dict[str, set[str]] = {name: set() for name in [*COMMANDS, "program"]}
    for row in DOC.split("\n## Options\n", 1)[1].split("\n## ", 1)[0].splitlines():
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if not row.startswith("| `-"):
            continue
        names = set(re.findall(r"`(-{1,2}[a-z][a-z-]*)", cells[0])) | set(
            re.findall(r", `(-[a-z])`", cells[0])
        )
        where = cells[1]
        commands = (
            list(COMMANDS) if where == "all" else ["program"] if where == "the program" else where.split(", ")
        )
        for command in commands:
            assert command in found, f"docs/cli.md lists {command!r} for {cells[0]}, which is no command"
            found[command] |= names
    return found


def _real_options() -> dict[str, set[str]]:
    found = {
        name: {opt for p in command.params if p.param_type_name == "option" for opt in p.opts} - {"--help"}
        for name, command in COMMANDS.items()
    }
    found["program"] = {opt for p in PROGRAM.params for opt in p.opts} - {"--help"}
    return found


def test_the_commands_table_lists_every_command() -> None:
    listed = [re.match(r"\| `rebuilder (\w+)", row) for row in DOC.splitlines()]
    assert {m[1] for m in listed if m} == set(COMMANDS)


def test_the_options_table_matches_each_commands_options() -> None:
    documented, real = _documented_options(), _real_options()
    for command in real:
        missing, extra = real[command] - documented[command], documented[command] - real[command]
        assert (missing, extra) == (set(), set()), f"{command}: undocumented {missing}, not real {extra}"


def test_every_option_has_help_text() -> None:
    for name, command in COMMANDS.items():
        for param in command.params:
            if param.param_type_name == "option":
                assert getattr(param, "help", None), f"{name} {param.opts} has no help"
