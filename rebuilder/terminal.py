"""What the command line shows: result lines, a sync's progress, notes, and the file's size after.

Two consoles: ``out`` for results (stdout) and ``err`` for progress, notes and
errors (stderr), so that a script reading stdout gets results alone.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeRemainingColumn
from rich.text import Text

from rebuilder.connect import connect, resolve
from rebuilder.errors import RebuilderError
from rebuilder.results import CheckResult, Plan

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


STYLES = {
    "step": ("- ", "green"),
    "destructive": ("! ", "bold red"),
    "loss": ("  data loss: ", "red"),
    "refused": ("  refused: ", "red"),
    "hint": ("  hint: ", "yellow"),
    "note": ("", ""),
}
"""How each kind of result line is marked and coloured (the text comes from the result)."""


def print_lines(shown: Plan | CheckResult) -> None:
    """Print a plan's or a check's lines on stdout, each marked and coloured by its kind."""
    for kind, text in shown.lines(cli=True) if isinstance(shown, Plan) else shown.lines():
        mark, style = STYLES[kind]
        out.print(Text.assemble((mark, style), text))


class SyncProgress:
    """At a terminal: a bar per large table copy (rows, rows/s, time left) and a line per other long phase.

    rich redraws ten times a second; the engine reports a copy about as often
    (ranges sized by time), and names the phases between copies: the guards'
    scans, a rebuild's indexes, the checks before COMMIT.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}
        self.current: TaskID | None = None

    def __enter__(self) -> SyncProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar.live.is_started:
            self.bar.stop()

    def _show(self) -> None:
        if not self.bar.live.is_started:
            self.bar.start()

    def phase(self, text: str) -> None:
        """Show a phase with no count (``checking existing rows``, ``indexing TABLE``)."""
        if not self.enabled:
            return
        self._show()
        if self.current is not None:
            self.bar.update(self.current, visible=False)
        self.current = self.bar.add_task(text, total=None, count="", rate="")

    def update(self, table: str, copied: int, total: int) -> None:
        """Report ``copied`` of ``total`` rows of ``table``; the bar appears with the first copy."""
        if not self.enabled:
            return
        self._show()
        if table not in self.tasks:
            if self.current is not None:
                self.bar.update(self.current, visible=False)
            self.tasks[table] = self.current = self.bar.add_task(
                f"copying {table}", total=total, count="", rate=""
            )
        task = self.tasks[table]
        speed = self.bar.tasks[task].speed
        rate = f"{speed:,.0f} rows/s" if speed else ""
        self.bar.update(task, completed=copied, total=total, count=f"{copied:,}/{total:,}", rate=rate)
        if copied >= total:
            self.bar.refresh()  # the finished count is drawn, even between two of rich's redraws


def note_missing(database: str) -> None:
    """Say on stderr that the database does not exist, for the commands that never create it."""
    target = resolve(database)
    if target.path is not None and not target.path.exists() and target.path.parent.exists():
        missing = f"the database {target.label} does not exist; sync would create it"
        err.print(Text.assemble(("note: ", "yellow"), missing))


def say_waiting(database: str, timeout: float) -> None:
    """At a terminal: say that the sync waits for another connection's write lock."""
    err.print(f"waiting for the write lock on {database} (up to {timeout:g}s)…", markup=False)


def file_size(database: str) -> int | None:
    """The database file's size in bytes, or None when there is no such file."""
    target = resolve(database)
    if target.path is None or not target.path.exists():
        return None
    return target.path.stat().st_size


def _size_text(size: int) -> str:
    return f"{size / 1e6:,.1f} MB" if size >= 100_000 else f"{size / 1e3:,.1f} kB"


def _vacuum(path: Path, say: Console) -> None:
    """VACUUM the file, and say how much it gave back, whether or not the sync changed anything."""
    before = path.stat().st_size
    try:
        conn = connect(path, readonly=False, timeout=30.0)
        try:
            conn.execute("VACUUM")
        finally:
            conn.close()
    except (sqlite3.Error, RebuilderError) as exc:
        err.print(Text.assemble(("warning: ", "yellow"), f"the sync is applied, but VACUUM failed: {exc}"))
        return
    say.print(f"vacuumed {path}: {_size_text(before)} to {_size_text(path.stat().st_size)}", markup=False)


def report_growth(database: str, before: int | None, vacuum: bool, say: Console) -> None:
    """After a sync: VACUUM if asked, and say when the file grew by over 1 MB (rebuilds leave free pages)."""
    target = resolve(database)
    if target.path is None:
        return
    if vacuum:
        _vacuum(target.path, say)
    after = target.path.stat().st_size
    grown = after - (before or 0)
    if before is not None and grown > 1_000_000:
        hint = "" if vacuum else "; run again with --vacuum, or VACUUM, to give it back"
        say.print(f"database grew by {grown / 1e6:,.1f} MB to {after / 1e6:,.1f} MB{hint}")
