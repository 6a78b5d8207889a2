"""The command line over many files: ``rebuilder sync|plan|check MODELS DATABASE...``.

`rebuilder.cli` hands a command here when it names several files, a glob, a
shard, or asks for JSON; one plain DATABASE keeps the single-file output.
Here the files are expanded and sharded, run through `rebuilder.fleet` with a
progress bar over files, and reported once: each distinct plan with the
files it applies to, a line per file refused or failed, the totals. A run
where some file is not synced or current ends in `FilesNotDone` (exit 1,
listing them), which `rebuilder.cli` turns into its exit code like any error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from rebuilder import fleet
from rebuilder.errors import FilesNotDone, FleetInterrupted, UsageError
from rebuilder.load import load_models
from rebuilder.options import Options
from rebuilder.results import CheckResult, Plan, SyncResult
from rebuilder.terminal import STYLES, err, out
from rebuilder.worker import CURRENT, DIFFERS, FAILED, PLANNED, REFUSED, SYNCED, Consent, FileResult, Settings

WORDS = {
    SYNCED: "synced",
    CURRENT: "already current",
    PLANNED: "with changes to make",
    DIFFERS: "differ",
    REFUSED: "refused",
    FAILED: "failed",
}
"""How the totals line names each status."""

NOT_DONE = {
    "sync": "were not synced",
    "plan": "could not be planned",
    "check": "do not match the models",
}
"""What the closing error says of the files that need more, per command."""

SHOWN_FILES = 5
"""Files named in a group's heading, and files whose own findings a group shows."""


@dataclass(frozen=True)
class Flags:
    """What the three commands share over many files, as given on the command line.

    Attributes:
        models: The MODELS spec, loaded by each worker.
        databases: The DATABASE arguments: paths, URLs and globs.
        jobs: Worker processes, or None for the number of cores.
        shard: ``K/N``, or None for every file.
        json: One JSON document on stdout instead of text.
        progress: A progress bar over files on stderr.
        debug: Log at debug level.
        renames: ``--rename`` values.
        table_renames: ``--rename-table`` values.
        fills: ``--fill`` values.
        exclude: ``--exclude`` patterns.
        version_table: ``--version-table``.
        timeout: ``--timeout``.
    """

    models: str
    databases: tuple[str, ...]
    jobs: int | None = None
    shard: str | None = None
    json: bool = False
    progress: bool = False
    debug: bool = False
    renames: list[str] | None = None
    table_renames: list[str] | None = None
    fills: list[str] | None = None
    exclude: list[str] | None = None
    version_table: str = "rebuilder_version"
    timeout: float = 30.0

    def options(self) -> Options:
        """The options parsed.

        Raises:
            BadRename: If a rename is malformed.
            BadFill: If a fill is malformed.
        """
        return Options.of(
            self.exclude or (), self.version_table, self.renames, self.table_renames, self.timeout, self.fills
        )


# --- the commands --------------------------------------------------------------------------------


def sync(
    flags: Flags,
    *,
    allow_data_loss: bool = False,
    relax_secure_delete: bool = False,
    vacuum: bool = False,
    dry_run: bool = False,
) -> None:
    """Sync every file; at a terminal, confirm each distinct data-destroying plan once.

    With ``dry_run``, plan every file instead (as `plan` does).

    Raises:
        UsageError: For ``--vacuum``, which takes one file.
        FilesNotDone: If some file was refused or failed.
    """
    if vacuum:
        raise UsageError("--vacuum takes one DATABASE; VACUUM the files of a fleet one at a time")
    if dry_run:
        plan(flags, sql=False)
        return
    paths, settings = _start(flags, relax_secure_delete)
    consent = Consent(everything=True) if allow_data_loss else _ask(flags, settings, paths)
    results = _execute("sync", flags, settings, paths, consent)
    _finish("sync", flags, results, lambda: _show_sync(results))


def plan(flags: Flags, *, sql: bool) -> None:
    """Plan every file; show each distinct plan once, with the files it applies to.

    Raises:
        FilesNotDone: If some file could not be planned.
    """
    paths, settings = _start(flags)
    results = _execute("plan", flags, settings, paths, Consent())
    _finish("plan", flags, results, lambda: _show_plans(results, sql))


def check(flags: Flags) -> None:
    """Check every file; show each distinct set of differences once.

    Raises:
        FilesNotDone: If some file differs from the models or could not be read.
    """
    paths, settings = _start(flags)
    results = _execute("check", flags, settings, paths, Consent())
    _finish("check", flags, results, lambda: _show_checks(results))


def _start(flags: Flags, relax_secure_delete: bool = False) -> tuple[list[str], Settings]:
    """The files of this run, and the workers' settings (the models are loaded here first, to fail early).

    Raises:
        BadShard: If ``--shard`` is malformed (checked before anything is read).
        NoFilesMatched: If a glob matches no file.
        BadModelSpec: If the models cannot be loaded.
    """
    shard = fleet.parse_shard(flags.shard) if flags.shard is not None else None
    load_models(flags.models)
    matches = fleet.expand(flags.databases)
    if shard is not None:
        matches = fleet.in_shard(matches, *shard)
    settings = Settings(flags.models, flags.options(), relax_secure_delete, flags.debug)
    return [m.path for m in matches], settings


def _execute(
    command: str, flags: Flags, settings: Settings, paths: Sequence[str], consent: Consent
) -> list[FileResult]:
    """Run the command over the files with a progress bar; Ctrl-C becomes `FleetInterrupted`."""
    jobs = flags.jobs or fleet.default_jobs()
    with _progress(flags.progress, command, len(paths)) as bar:
        try:
            found = fleet.run(
                command, settings, paths, jobs=jobs, consent=consent, on_result=bar.advance, fast_start=True
            )
            return found
        except KeyboardInterrupt:
            raise FleetInterrupted(bar.done, len(paths)) from None


def _finish(command: str, flags: Flags, results: list[FileResult], show: Callable[[], None]) -> None:
    """Report the run (JSON, or the groups, problems and totals), then refuse if some file needs more."""
    if flags.json:
        sys.stdout.write(json.dumps(fleet.document(command, results, cli=True), indent=2) + "\n")
    else:
        show()
        _show_problems(results)
        out.print(_totals_line(command, results), markup=False)
    missed = tuple(r.path for r in results if not r.ok)
    if missed:
        raise FilesNotDone(NOT_DONE[command], missed, len(results))


# --- the prompt ----------------------------------------------------------------------------------


def _ask(flags: Flags, settings: Settings, paths: Sequence[str]) -> Consent:
    """At a terminal, plan every file and confirm each distinct data-destroying plan once.

    Without a terminal (or with ``--json``) nothing is asked: such plans are refused.
    """
    if flags.json or not sys.stdin.isatty():
        return Consent()
    planned = _execute("plan", flags, settings, paths, Consent())
    confirmed = []
    for group in _groups(r for r in planned if _destroys(r)):
        out.print(f"these steps destroy data in {_files(group)}:", markup=False)
        first = _print_plan_lines(group)
        if typer.confirm(f"Apply them to these {len(group)} file(s)?", default=False):
            confirmed.append(first.steps)
    return Consent(plans=tuple(confirmed))


def _destroys(result: FileResult) -> bool:
    found = result.result
    return isinstance(found, Plan) and bool(found.losses) and not found.violations


# --- the report ----------------------------------------------------------------------------------


def _steps(result: FileResult) -> tuple[object, ...]:
    """What groups files: a sync's or a plan's steps, a check's differences."""
    found = result.result
    if isinstance(found, (SyncResult, Plan)):
        return found.steps
    return tuple(found) if isinstance(found, CheckResult) else ()


def _groups(results: Iterable[FileResult]) -> list[list[FileResult]]:
    """Files grouped by their steps (or differences), the largest group first."""
    groups: dict[tuple[object, ...], list[FileResult]] = {}
    for result in results:
        groups.setdefault(_steps(result), []).append(result)
    return sorted(groups.values(), key=lambda group: -len(group))


def _files(group: Sequence[FileResult]) -> str:
    """``3 file(s) (a.db, b.db, c.db)``, naming the first few."""
    names = ", ".join(r.path for r in group[:SHOWN_FILES])
    more = len(group) - SHOWN_FILES
    return f"{len(group)} file(s) ({names}{f' and {more} more' if more > 0 else ''})"


def _line(kind: str, text: str) -> None:
    mark, style = STYLES[kind]
    out.print(Text.assemble((mark, style), text))


def _print_plan_lines(group: Sequence[FileResult]) -> Plan:
    """A group's steps once, then the findings of its first few files, each named; the first plan."""
    first = group[0].result
    assert isinstance(first, Plan)
    for kind, text in first.lines(cli=True):
        if kind in ("step", "destructive", "hint", "note"):
            _line(kind, text)
    found = [r for r in group if isinstance(r.result, Plan) and (r.result.losses or r.result.violations)]
    for result in found[:SHOWN_FILES]:
        assert isinstance(result.result, Plan)
        for kind, text in result.result.lines(cli=True):
            if kind in ("loss", "refused"):
                _line(kind, f"{result.path}: {text}")
    if len(found) > SHOWN_FILES:
        out.print(f"  (the findings of {len(found) - SHOWN_FILES} more file(s) are not shown)", markup=False)
    return first


def _show_sync(results: Sequence[FileResult]) -> None:
    for group in _groups(r for r in results if r.status == SYNCED):
        steps = _steps(group[0])
        if not steps:
            out.print(f"recorded the version (no schema change) in {_files(group)}", markup=False)
        else:
            out.print(f"applied to {_files(group)}:", markup=False)
        for step in steps:
            out.print(Text.assemble(("applied ", "green"), str(step)))


def _show_plans(results: Sequence[FileResult], sql: bool) -> None:
    for group in _groups(r for r in results if isinstance(r.result, Plan)):
        first = group[0].result
        assert isinstance(first, Plan)
        if sql:
            sys.stdout.write(f"-- {_files(group)}\n{first.script('these files')}")
        else:
            out.print(f"{_files(group)}:", markup=False)
            _print_plan_lines(group)


def _show_checks(results: Sequence[FileResult]) -> None:
    for group in _groups(r for r in results if isinstance(r.result, CheckResult)):
        first = group[0].result
        assert isinstance(first, CheckResult)
        out.print(f"{_files(group)}:", markup=False)
        for kind, text in first.lines():
            _line(kind, text)


def _show_problems(results: Sequence[FileResult]) -> None:
    """One line on stderr per file refused or failed: its status, path and reason."""
    for result in results:
        if result.status in (REFUSED, FAILED):
            err.print(
                Text.assemble((f"{result.status}: ", "red"), f"{result.path}: {result.reason(cli=True)}")
            )


def _totals_line(command: str, results: Sequence[FileResult]) -> str:
    counts = fleet.totals(command, results)
    words = {**WORDS, CURRENT: "in sync"} if command == "check" else WORDS
    parts = [f"{counts[status]} {words[status]}" for status in fleet.STATUSES[command]]
    return f"{counts['files']} file(s): " + ", ".join(parts)


# --- progress ------------------------------------------------------------------------------------


class FileProgress:
    """A bar over files on stderr (when enabled), and the count of files done either way."""

    def __init__(self, bar: Progress | None, total: int, command: str) -> None:
        self.bar, self.done, self.problems = bar, 0, 0
        self.task = bar.add_task(command, total=total, problems=0) if bar is not None else None

    def advance(self, result: FileResult) -> None:
        """Count one file done (and whether it was refused, failed or differs)."""
        self.done += 1
        self.problems += not result.ok
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, advance=1, problems=self.problems)


@contextmanager
def _progress(enabled: bool, command: str, total: int) -> Iterator[FileProgress]:
    if not enabled:
        yield FileProgress(None, total, command)
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files, {task.fields[problems]} not done"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    with bar:
        yield FileProgress(bar, total, {"sync": "syncing", "plan": "planning", "check": "checking"}[command])
