"""The command line: ``rebuilder sync|plan|check|current|history``.

This is the one place where errors become exit codes: 0 applied or nothing to
do, 1 refused or failed (one sentence, no traceback unless ``--debug``), 2
usage errors.
"""

from __future__ import annotations

import glob
import json
import logging
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text
from typer.core import TyperCommand

from rebuilder import __version__, api
from rebuilder.cli_options import (
    AllowDataLoss,
    Databases,
    Debug,
    DryRun,
    Exclude,
    ExistingDatabase,
    ExistingDatabases,
    Fills,
    Jobs,
    JsonOutput,
    Models,
    NoProgress,
    RelaxSecureDelete,
    Renames,
    Shard,
    TableRenames,
    Timeout,
    Vacuum,
    VersionTable,
    Yes,
)
from rebuilder.connect import connect, connect_to_read, require_file, resolve, unreadable
from rebuilder.errors import DataLossRefused, Interrupted, RebuilderError
from rebuilder.load import load_models, named
from rebuilder.results import FORMAT_VERSION, CheckResult, Json, Plan
from rebuilder.terminal import (
    SyncProgress,
    err,
    file_size,
    note_missing,
    out,
    print_lines,
    report_growth,
    say_waiting,
)
from rebuilder.version import fingerprint, read_history, read_version

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from rebuilder.fleet_cli import Flags
    from rebuilder.steps import Step

# The Click that typer parses with (recent typer carries its own copy): its usage
# error is the base of typer.BadParameter, and its root error the next one up.
UsageError: type[Any] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
ClickException: type[Any] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

app = typer.Typer(
    help="Make a SQLite file follow its SQLAlchemy models: plan, check and apply schema changes.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


class _Command(TyperCommand):
    """A command whose usage line reads ``MODELS DATABASE`` (as Click writes it), not ``{MODELS}``."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """The usage line's pieces, required arguments without braces."""
        return [re.sub(r"^\{(.+)\}", r"\1", piece) for piece in super().collect_usage_pieces(ctx)]


def _show_version(value: bool) -> None:
    if value:
        out.print(f"rebuilder {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _program(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Make a SQLite file follow its SQLAlchemy models: plan, check and apply schema changes."""


@dataclass
class Outcome:
    """What a command ends with: its exit code and, for ``--json``, its result as plain JSON types."""

    code: int = 0
    result: Json | None = None


@dataclass(frozen=True)
class JsonReport:
    """The one JSON document a command prints with ``--json``.

    Attributes:
        command: The command's name.
        database: The DATABASE argument as given.
    """

    command: str
    database: str

    def emit(self, code: int, result: Json | None = None, error: Json | None = None) -> None:
        """Write the document to stdout: the shape documented in docs/cli.md."""
        document = {
            "format": FORMAT_VERSION,
            "command": self.command,
            "database": self.database,
            "exit_code": code,
            "result": result,
            "error": error,
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _run(debug: bool, action: Callable[[], Outcome | None], report: JsonReport | None = None) -> None:
    """Run an action, turning every RebuilderError into one line (or a JSON document) and an exit code."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(message)s")
    try:
        outcome = action() or Outcome()
    except RebuilderError as exc:
        if debug:
            err.print_exception()
        if report is not None:
            report.emit(exc.exit_code, error=exc.to_dict(cli=True))
        else:
            err.print(Text.assemble(("error: ", "bold red"), exc.message(cli=True)))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        message = "interrupted; nothing was changed"
        if report is not None:
            report.emit(130, error={"kind": "interrupted", "exit_code": 130, "message": message, "data": {}})
        err.print(Text.assemble(("error: ", "bold red"), message))
        raise typer.Exit(130) from None
    if report is not None:
        report.emit(outcome.code, result=outcome.result)
    if outcome.code:
        raise typer.Exit(outcome.code)


def _over_many(databases: list[str], shard: str | None) -> bool:
    """Whether a command goes over many files: several DATABASE arguments, a glob or a shard."""
    if len(databases) != 1 or shard is not None:
        return True
    only = databases[0]
    return glob.has_magic(only) and not only.startswith("sqlite:") and not Path(only).exists()


def _fleet_flags(
    models: str,
    databases: list[str],
    jobs: int | None,
    shard: str | None,
    as_json: bool,
    debug: bool,
    progress: bool = True,
    **options: Any,
) -> Flags:
    """The `rebuilder.fleet_cli.Flags` of a command over many files."""
    from rebuilder.fleet_cli import Flags

    shown = progress and err.is_terminal
    return Flags(models, tuple(databases), jobs, shard, as_json, shown, debug, **options)


def _given(
    renames: list[str] | None,
    table_renames: list[str] | None,
    fills: list[str] | None,
    exclude: list[str] | None,
    version_table: str,
    timeout: float,
) -> dict[str, Any]:
    """The options of a command over many files, as `rebuilder.fleet_cli.Flags` names them."""
    return dict(
        renames=renames,
        table_renames=table_renames,
        fills=fills,
        exclude=exclude,
        version_table=version_table,
        timeout=timeout,
    )


@app.command(cls=_Command)
def sync(
    models: Models,
    databases: Databases,
    dry_run: DryRun = False,
    yes: Yes = False,
    allow_data_loss: AllowDataLoss = False,
    rename: Renames = None,
    rename_table: TableRenames = None,
    fill: Fills = None,
    exclude: Exclude = None,
    version_table: VersionTable = "rebuilder_version",
    timeout: Timeout = 30.0,
    no_progress: NoProgress = False,
    relax_secure_delete: RelaxSecureDelete = False,
    vacuum: Vacuum = False,
    jobs: Jobs = None,
    shard: Shard = None,
    as_json: JsonOutput = False,
    debug: Debug = False,
) -> None:
    """Apply the models to the database in one transaction (to each file in its own)."""
    if _over_many(databases, shard):
        from rebuilder import fleet_cli

        given = _given(rename, rename_table, fill, exclude, version_table, timeout)
        flags = _fleet_flags(models, databases, jobs, shard, as_json, debug, not no_progress, **given)
        flags_of_sync = dict(dry_run=dry_run, vacuum=vacuum, relax_secure_delete=relax_secure_delete)
        _run(debug, lambda: fleet_cli.sync(flags, allow_data_loss=allow_data_loss or yes, **flags_of_sync))
        return
    database = databases[0]

    @named(models)
    def action() -> Outcome:
        metadatas = load_models(models, create=False)
        kwargs: dict[str, Any] = dict(
            renames=rename,
            table_renames=rename_table,
            fills=fill,
            exclude=exclude or (),
            version_table=version_table,
            timeout=timeout,
        )
        if dry_run:
            shown = api.plan(metadatas, database, **kwargs)
            return Outcome(result=shown.to_dict()) if as_json else _shown(shown)
        allow, expect = _consent(metadatas, database, allow_data_loss or yes, as_json, kwargs)
        size = file_size(database)
        with (
            _told_apart(metadatas, database, kwargs),
            SyncProgress(enabled=err.is_terminal and not no_progress and not as_json) as bar,
        ):
            result = api.sync(
                metadatas,
                database,
                allow_data_loss=allow,
                expect=expect,
                row_progress=bar.update,
                on_phase=bar.phase,
                relax_secure_delete=relax_secure_delete,
                on_wait=say_waiting if err.is_terminal else None,
                **kwargs,
            )
        if not as_json:
            for step in result.steps:
                out.print(Text.assemble(("applied ", "green"), str(step)))
            out.print(str(result), markup=False)
        report_growth(database, size, vacuum, err if as_json else out)
        return Outcome(result=result.to_dict())

    _run(debug, action, JsonReport("sync", database) if as_json else None)


@contextmanager
def _told_apart(metadatas: tuple[MetaData, ...], database: str, kwargs: dict[str, Any]) -> Iterator[None]:
    """Turn Ctrl-C during a sync into `Interrupted`, which says whether the database had committed.

    The interrupt can land after COMMIT, while the sync tidies up (the -wal
    truncation, the pragmas): the version row in the file tells the two apart.
    """
    try:
        yield
    except KeyboardInterrupt:
        version = fingerprint(metadatas, kwargs["exclude"])
        raise Interrupted(_stored_version(database, kwargs["version_table"]) == version, version) from None


def _stored_version(database: str, table: str) -> str | None:
    """The version an existing file holds, read on a connection that tidies up after itself.

    A read-only connection would leave a WAL database's ``-wal`` and ``-shm``
    behind when it closes; a read-write one on the existing file removes them.
    """
    path = resolve(database).path
    if path is None or not path.exists():
        return None
    try:
        conn = connect(path, readonly=False, timeout=5.0)
        try:
            return read_version(conn, table)
        finally:
            conn.close()
    except (sqlite3.Error, RebuilderError):
        return None


def _shown(shown: Plan | CheckResult) -> Outcome:
    """Print a plan or a check's differences for people."""
    print_lines(shown)
    return Outcome()


def _consent(
    metadatas: object, database: str, allow: bool, as_json: bool, kwargs: dict[str, Any]
) -> tuple[bool, tuple[Step, ...] | None]:
    """At a terminal, show a data-destroying plan and ask; return the consent and the plan it was given for.

    Raises:
        DataLossRefused: If the answer is no.
    """
    if allow or as_json or not sys.stdin.isatty():
        return allow, None
    shown = api.plan(metadatas, database, **kwargs)
    if not shown.losses or shown.violations:
        return False, None
    print_lines(shown)
    if not typer.confirm("These steps destroy data. Apply them?", default=False):
        raise DataLossRefused(shown.losses, shown.hints)
    return True, shown.steps


@app.command(cls=_Command)
def plan(
    models: Models,
    databases: ExistingDatabases,
    sql: Annotated[
        bool, typer.Option("--sql", help="Print the SQL statements sync would run, for review.")
    ] = False,
    rename: Renames = None,
    rename_table: TableRenames = None,
    fill: Fills = None,
    exclude: Exclude = None,
    version_table: VersionTable = "rebuilder_version",
    timeout: Timeout = 30.0,
    jobs: Jobs = None,
    shard: Shard = None,
    as_json: JsonOutput = False,
    debug: Debug = False,
) -> None:
    """Show what sync would do, step by step; change nothing."""
    if _over_many(databases, shard):
        from rebuilder import fleet_cli

        given = _given(rename, rename_table, fill, exclude, version_table, timeout)
        flags = _fleet_flags(models, databases, jobs, shard, as_json, debug, **given)
        _run(debug, lambda: fleet_cli.plan(flags, sql=sql))
        return
    database = databases[0]

    @named(models)
    def action() -> Outcome:
        shown = api.plan(
            load_models(models, create=False),
            database,
            renames=rename,
            table_renames=rename_table,
            fills=fill,
            exclude=exclude or (),
            version_table=version_table,
            timeout=timeout,
        )
        note_missing(database)
        if as_json:
            return Outcome(result=shown.to_dict())
        if sql:
            # Written as is: rich would expand the DDL's tabs.
            sys.stdout.write(shown.script(database))
            return Outcome()
        return _shown(shown)

    _run(debug, action, JsonReport("plan", database) if as_json else None)


@app.command(cls=_Command)
def check(
    models: Models,
    databases: ExistingDatabases,
    exclude: Exclude = None,
    version_table: VersionTable = "rebuilder_version",
    timeout: Timeout = 30.0,
    jobs: Jobs = None,
    shard: Shard = None,
    as_json: JsonOutput = False,
    debug: Debug = False,
) -> None:
    """Exit 0 if the database matches the models, else 1 with the differences listed."""
    if _over_many(databases, shard):
        from rebuilder import fleet_cli

        given = _given(None, None, None, exclude, version_table, timeout)
        flags = _fleet_flags(models, databases, jobs, shard, as_json, debug, **given)
        _run(debug, lambda: fleet_cli.check(flags))
        return
    database = databases[0]

    @named(models)
    def action() -> Outcome:
        found = api.check(
            load_models(models, create=False),
            database,
            exclude=exclude or (),
            version_table=version_table,
            timeout=timeout,
        )
        note_missing(database)
        if not as_json:
            print_lines(found)
        return Outcome(0 if found.in_sync else 1, found.to_dict())

    _run(debug, action, JsonReport("check", database) if as_json else None)


@contextmanager
def _existing(database: str) -> Iterator[sqlite3.Connection | None]:
    """A reading connection to an existing database (None for a borrowed one, which the CLI never has).

    Raises:
        NoSuchDatabase: If the file does not exist.
    """
    target = resolve(database)
    if target.path is None:
        yield None
        return
    require_file(target.path)
    conn = connect_to_read(target, timeout=5.0)
    try:
        yield conn
    except sqlite3.DatabaseError as exc:
        raise unreadable(target.label, exc, target.path) from exc
    finally:
        conn.close()


@app.command(cls=_Command)
def current(
    database: ExistingDatabase,
    version_table: VersionTable = "rebuilder_version",
    as_json: JsonOutput = False,
    debug: Debug = False,
) -> None:
    """Print the stored version, or nothing when there is none."""

    def action() -> Outcome:
        with _existing(database) as conn:
            version = read_version(conn, version_table) if conn is not None else None
        if version and not as_json:
            out.print(version, markup=False)
        return Outcome(result={"version": version})

    _run(debug, action, JsonReport("current", database) if as_json else None)


@app.command(cls=_Command)
def history(
    database: ExistingDatabase,
    version_table: VersionTable = "rebuilder_version",
    as_json: JsonOutput = False,
    debug: Debug = False,
) -> None:
    """List the syncs applied, newest first, each with its version and time."""

    def action() -> Outcome:
        with _existing(database) as conn:
            rows = read_history(conn, version_table) if conn is not None else []
        if not as_json:
            for version, applied_at, steps, summary in rows:
                out.print(f"{version}  {applied_at}  {steps} step(s)  {summary}", markup=False)
        keys = ("version", "applied_at", "steps", "summary")
        return Outcome(result={"history": [dict(zip(keys, row, strict=True)) for row in rows]})

    _run(debug, action, JsonReport("history", database) if as_json else None)


def main() -> None:
    """Console-script entry point: usage errors are one ``error:`` line and exit 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(standalone_mode=False)
    except UsageError as exc:
        if exc.ctx is not None and _no_args(exc):
            out.print(exc.ctx.get_help(), markup=False)
        else:
            where = f"; see '{exc.ctx.command_path} --help'" if exc.ctx is not None else ""
            message = exc.format_message().rstrip(".")
            err.print(Text.assemble(("error: ", "bold red"), message[:1].lower() + message[1:] + where))
        code = 2
    except ClickException as exc:
        err.print(Text.assemble(("error: ", "bold red"), exc.format_message()))
        code = exc.exit_code
    except typer.Abort:
        err.print("[bold red]aborted[/]")
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


def _no_args(exc: Exception) -> bool:
    """Whether Click refused an empty command line only to show the help (``no_args_is_help``)."""
    return type(exc).__name__ == "NoArgsIsHelpError"
