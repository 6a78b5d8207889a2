"""One worker of a run over many files: the models read once, one plan per distinct live schema.

A worker is a process of the pool `rebuilder.fleet` starts (or the calling
process itself, with one job). It holds an `Engine`: the models, their
version and their declared schema, each worked out once. Every file then takes
the path `rebuilder.sync` takes: the version row first (a current file costs
that one read), then, under the write lock, the plan. What a plan depends on
is the live schema, and SQLite derives everything its PRAGMAs say about a
schema from the rows of ``sqlite_schema`` (each object's type, name, table and
SQL). Those rows, read in one query, are the key: files whose rows are equal
share one plan, read in full (`rebuilder.reflect.read_catalog`) and computed
the first time, then reused; only the guards, which read the data, and the
steps run for every file, each file in its own transaction. After applying,
the schema read back is proved equal to the models the same way: rows
already proved are not read and parsed again.

What a worker reports for each file is a `FileResult`: its status, and the
result or the error, never raised.
"""

from __future__ import annotations

import logging
import pickle
import signal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rebuilder import api
from rebuilder.connect import read_transaction, write_transaction
from rebuilder.errors import (
    ConstraintViolated,
    DataLossRefused,
    DependentBroken,
    FillFailed,
    ForeignKeyMismatch,
    PlanChanged,
    RebuilderError,
    RenameConflict,
    RenameNotFound,
    SchemaEditsForbidden,
    TempNameTaken,
    UnexpectedError,
    UnsupportedSchema,
    VersionTableInvalid,
)
from rebuilder.options import Options
from rebuilder.results import CheckResult, Json, Plan, SyncResult
from rebuilder.version import fingerprint, read_version, write_version
from rebuilder.wal import truncate_wal

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy import MetaData

    from rebuilder.capabilities import Capabilities
    from rebuilder.schema import Schema
    from rebuilder.steps import Step

log = logging.getLogger("rebuilder")

SYNCED, CURRENT, PLANNED, DIFFERS, REFUSED, FAILED = (
    "synced",
    "current",
    "planned",
    "differs",
    "refused",
    "failed",
)
"""A file's status: written; already matching; would change (plan); differs (check); refused; failed."""

OK = frozenset({SYNCED, CURRENT, PLANNED})
"""The statuses of a file that needs nothing more (``check`` counts only `CURRENT`)."""

REFUSALS = (
    DataLossRefused,
    ConstraintViolated,
    DependentBroken,
    FillFailed,
    ForeignKeyMismatch,
    PlanChanged,
    RenameConflict,
    RenameNotFound,
    TempNameTaken,
    UnsupportedSchema,
    VersionTableInvalid,
)
"""Errors that mean rebuilder refused this file's change (the file is sound); any other is a failure."""

COMMANDS = ("sync", "plan", "check")


@dataclass(frozen=True)
class FileResult:
    """What happened to one file of many.

    Attributes:
        path: The file, as matched.
        status: ``synced``, ``current``, ``refused`` or ``failed`` (``plan``
            also gives ``planned``, ``check`` gives ``differs``).
        result: The file's `SyncResult`, `Plan` or `CheckResult`, or None on an error.
        error: The refusal or failure, or None.
    """

    path: str
    status: str
    result: SyncResult | Plan | CheckResult | None = None
    error: RebuilderError | None = None

    @property
    def ok(self) -> bool:
        """Whether the file needs nothing more: synced, current or (for ``plan``) planned."""
        return self.status in OK

    def reason(self, cli: bool = False) -> str:
        """The error's one sentence (worded for the command line or the library), or ``""``."""
        return "" if self.error is None else self.error.message(cli)

    def to_dict(self, cli: bool = False) -> Json:
        """The record as plain JSON types: the result's ``to_dict()``, or the error's kind, message, data."""
        error = None if self.error is None else self.error.to_dict(cli)
        result = None if self.result is None else self.result.to_dict()
        return {"path": self.path, "status": self.status, "result": result, "error": error}


@dataclass(frozen=True)
class Consent:
    """Which data-destroying plans may be applied.

    Attributes:
        everything: Any plan (``allow_data_loss=True``, ``--allow-data-loss``, ``--yes``).
        plans: These plans only (each confirmed once at a prompt), by their steps.
    """

    everything: bool = False
    plans: tuple[tuple[Step, ...], ...] = ()

    def allows(self, steps: tuple[Step, ...]) -> bool:
        """Whether these steps may destroy data."""
        return self.everything or steps in self.plans


@dataclass(frozen=True)
class Settings:
    """What every worker of a run is given once, at start.

    Attributes:
        models: A MODELS spec each worker loads, or the models' MetaData pickled.
        options: The parsed options shared by every file.
        relax_secure_delete: As `rebuilder.sync`'s.
        debug: Log at debug level.
    """

    models: str | bytes
    options: Options
    relax_secure_delete: bool = False
    debug: bool = False

    def metadatas(self) -> tuple[MetaData, ...]:
        """Load the models.

        Raises:
            BadModelSpec: If the spec cannot be loaded.
        """
        from rebuilder.load import load_models

        if isinstance(self.models, str):
            return load_models(self.models)
        found: tuple[MetaData, ...] = pickle.loads(self.models)
        return found


class Engine:
    """The models of a run, their version and schema, and the plans made so far (one process's).

    Attributes:
        metadatas: The models.
        options: The caller's options (the models' own renames and fills are added when planning).
        relax_secure_delete: As `rebuilder.sync`'s.
        version: The models' version.
        plans_made: How many plans this engine worked out (one per distinct catalog and SQLite).
    """

    def __init__(self, metadatas: tuple[MetaData, ...], options: Options, relax_secure_delete: bool = False):
        self.metadatas, self.options, self.relax_secure_delete = metadatas, options, relax_secure_delete
        self.version = fingerprint(metadatas, options.exclude)
        self.plans_made = 0
        self._declared: tuple[Schema, Options] | None = None
        self._plans: dict[tuple[SchemaRows, Capabilities], api._Prepared] = {}
        self._proved: set[SchemaRows] = set()
        self._checks: dict[SchemaRows, CheckResult] = {}

    def declared(self) -> tuple[Schema, Options]:
        """The models' schema, and the options with the renames and fills the models declare."""
        if self._declared is None:
            from rebuilder.declare import declare
            from rebuilder.intent import declared

            options = self.options
            target = declare(self.metadatas, options.exclude, options.version_table)
            intent = declared(self.metadatas, options.exclude)
            self._declared = target, options.with_declared(intent.renames, intent.table_renames, intent.fills)
        return self._declared

    def prepare(self, conn: sqlite3.Connection, schema_edits: bool = True) -> api._Prepared:
        """The plan for this database: made once per distinct schema and SQLite, then reused."""
        from rebuilder.capabilities import Capabilities

        caps = Capabilities.of(conn)
        if not schema_edits:
            caps = replace(caps, writable_schema=False)
        key = (schema_rows(conn), caps)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = self._plan(conn, caps)
        return found

    def _plan(self, conn: sqlite3.Connection, caps: Capabilities) -> api._Prepared:
        from rebuilder.diff import resolve_renames
        from rebuilder.planner import make_plan
        from rebuilder.reflect import reflect

        target, options = self.declared()
        self.plans_made += 1
        live = reflect(conn, options.exclude, options.version_table)
        renames = resolve_renames(live, target, options.renames, options.table_renames)
        return api._Prepared(target, make_plan(live, target, renames, caps, options.fills), live)

    def check_schema(
        self, conn: sqlite3.Connection, target: Schema, exclude: Iterable[str], version_table: str
    ) -> None:
        """`rebuilder.verify.verify`, skipped for schema rows already proved equal to the models."""
        from rebuilder.verify import verify

        rows = schema_rows(conn)
        if rows not in self._proved:
            verify(conn, target, exclude, version_table)
            self._proved.add(rows)

    def sync(self, path: str, consent: Consent) -> SyncResult:
        """`rebuilder.sync` on one file, with the plans of this run.

        Raises:
            RebuilderError: Any refusal or failure; the file is unchanged.
        """
        options = self.options
        if api._is_missing_file(path):
            allow, relax = consent.everything, self.relax_secure_delete
            return api.sync(
                self.metadatas, path, allow_data_loss=allow, relax_secure_delete=relax, **keywords(options)
            )
        with api._connection(path, write=True, timeout=options.timeout) as (conn, label):
            if read_version(conn, options.version_table) == self.version:
                return SyncResult((), self.version, self.version)
            try:
                result = self._apply(conn, label, consent, schema_edits=True)
            except SchemaEditsForbidden:
                result = self._apply(conn, label, consent, schema_edits=False)
            if result.changed:
                truncate_wal(conn, label)
        return result

    def _apply(
        self, conn: sqlite3.Connection, label: str, consent: Consent, *, schema_edits: bool
    ) -> SyncResult:
        """Lock, read the version again, plan (or reuse the plan), apply and record: one transaction."""
        from rebuilder.apply import Reporters, apply_plan
        from rebuilder.errors import EveryTableDropped

        options, version = self.options, self.version
        with write_transaction(conn, label, options.timeout):
            current = read_version(conn, options.version_table)
            if current == version:
                return SyncResult((), version, current)
            prepared = self.prepare(conn, schema_edits)
            steps = prepared.procedure.steps
            allow = consent.allows(steps)
            every_table = prepared.every_table_dropped()
            if every_table and not allow:
                raise EveryTableDropped((), tables=every_table)
            apply_plan(
                conn,
                prepared.target,
                prepared.procedure,
                options,
                allow,
                Reporters(),
                self.relax_secure_delete,
                self.check_schema,
            )
            summary = "; ".join(str(s) for s in steps) or "recorded version"
            write_version(conn, options.version_table, version, summary, len(steps))
        return SyncResult(steps, version, current)

    def plan(self, path: str) -> Plan:
        """`rebuilder.plan` on one file, with the plans of this run."""
        from rebuilder.guards import check_fills, evaluate

        options = self.options
        with api._connection(path, write=False, timeout=options.timeout) as (conn, _), read_transaction(conn):
            current = read_version(conn, options.version_table)
            procedure = self.prepare(conn).procedure
            check_fills(conn, procedure.steps)
            found = evaluate(conn, procedure.guards)
        return Plan(
            procedure.steps,
            procedure.changes,
            found.losses,
            found.violations,
            self.version,
            current,
            procedure.hints,
        )

    def check(self, path: str) -> CheckResult:
        """`rebuilder.check` on one file: the differences are worked out once per distinct schema."""
        from rebuilder.diff import compare
        from rebuilder.reflect import reflect

        options = self.options
        with api._connection(path, write=False, timeout=options.timeout) as (conn, _), read_transaction(conn):
            rows = schema_rows(conn)
            found = self._checks.get(rows)
            if found is None:
                target, _options = self.declared()
                live = reflect(conn, options.exclude, options.version_table)
                found = self._checks[rows] = CheckResult(compare(live, target))
        return CheckResult(found)

    def run(self, command: str, path: str, consent: Consent) -> FileResult:
        """Run ``command`` on one file and report; never raises for the file's refusal or failure."""
        try:
            return self._run(command, path, consent)
        except RebuilderError as exc:
            return FileResult(path, REFUSED if isinstance(exc, REFUSALS) else FAILED, error=exc)
        except Exception as exc:
            log.debug("unexpected error on %s", path, exc_info=True)
            return FileResult(path, FAILED, error=UnexpectedError(path, type(exc).__name__, str(exc)))

    def _run(self, command: str, path: str, consent: Consent) -> FileResult:
        if command == "sync":
            synced = self.sync(path, consent)
            return FileResult(path, SYNCED if synced.changed else CURRENT, synced)
        if command == "plan":
            planned = self.plan(path)
            return FileResult(path, CURRENT if planned.up_to_date else PLANNED, planned)
        checked = self.check(path)
        return FileResult(path, CURRENT if checked.in_sync else DIFFERS, checked)


SchemaRows = tuple[tuple[object, ...], ...]
"""A database's ``sqlite_schema`` rows: ``(type, name, tbl_name, sql)`` of every object, sorted."""


def schema_rows(conn: sqlite3.Connection) -> SchemaRows:
    """What the plan of a database depends on, in one query.

    SQLite derives what ``PRAGMA table_list``, ``table_xinfo``, ``index_list``,
    ``index_xinfo`` and ``foreign_key_list`` say from these rows (root pages,
    which differ between files of the same schema, are left out), so two
    databases with equal rows read as equal schemas with the same SQLite.
    """
    query = "SELECT type, name, tbl_name, sql FROM main.sqlite_schema ORDER BY type, name"
    return tuple(tuple(row) for row in conn.execute(query).fetchall())


def keywords(options: Options) -> dict[str, Any]:
    """The keyword arguments of `rebuilder.sync` that give these options."""
    return {
        "renames": [r.text for r in options.renames],
        "table_renames": [r.text for r in options.table_renames],
        "fills": [f.text for f in options.fills],
        "exclude": options.exclude,
        "version_table": options.version_table,
        "timeout": options.timeout,
    }


# --- a worker process ----------------------------------------------------------------------------

_engine: Engine | RebuilderError | None = None
"""This worker process's engine, or the error that stopped the models from loading."""


def start(settings: Settings) -> None:
    """Set up a worker process: Ctrl-C only while a file is worked on, and the models loaded once."""
    global _engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.DEBUG if settings.debug else logging.WARNING, format="%(message)s")
    try:
        _engine = Engine(settings.metadatas(), settings.options, settings.relax_secure_delete)
    except RebuilderError as exc:
        _engine = exc


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C reaches the files in progress, which roll back; between chunks it is ignored."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_chunk(command: str, paths: list[str], consent: Consent) -> list[FileResult]:
    """Run ``command`` on each file in turn, in this worker process (set up by `start`)."""
    engine = _engine
    assert engine is not None, "the worker was not started"
    if isinstance(engine, RebuilderError):
        return [FileResult(path, FAILED, error=engine) for path in paths]
    with _interruptible():
        return [engine.run(command, path, consent) for path in paths]
