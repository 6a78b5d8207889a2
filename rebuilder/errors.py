"""The exception hierarchy: one root, subclasses that carry their data.

Every message is one sentence that names the object and the way out. Each
subclass is a dataclass whose ``template`` is formatted from its fields, so a
message never disagrees with the data it names. The way out is worded for the
caller: the library names keyword arguments (``allow_data_loss=True``), the
command line names flags (``--allow-data-loss``): ``str(error)`` is the
library's wording, ``error.message(cli=True)`` the command line's. The CLI
turns errors into exit codes in exactly one place (`rebuilder.cli`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, ClassVar

from rebuilder.names import snake_case
from rebuilder.results import Loss, RenameHint, Violation, plain

OPTIONS: Mapping[str, tuple[str, str]] = {
    "allow_data_loss": ("re-run with --allow-data-loss (or --yes)", "pass allow_data_loss=True"),
    "timeout": ("raise --timeout", "pass a larger timeout="),
    "version_table": ("pass --version-table with another name", "pass version_table= with another name"),
    "exclude": ("use --exclude to leave the table alone", "pass exclude=[...] to leave the table alone"),
}
"""Each way out a message may give: its command-line and its library wording."""


class _Words(Mapping[str, str]):
    """The options' wordings for one kind of caller, for ``{opt[name]}`` in templates."""

    def __init__(self, cli: bool) -> None:
        self.index = 0 if cli else 1

    def __getitem__(self, name: str) -> str:
        return OPTIONS[name][self.index]

    def __iter__(self) -> Any:
        return iter(OPTIONS)

    def __len__(self) -> int:
        return len(OPTIONS)


class RebuilderError(Exception):
    """Root of every error rebuilder raises on purpose.

    Attributes:
        exit_code: The process exit code the CLI uses for this error.
        template: The message, formatted from the fields (and ``{opt[...]}``
            for an option's wording); empty for a plain message.
    """

    exit_code: ClassVar[int] = 1
    template: ClassVar[str] = ""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.text = text

    def values(self, cli: bool = False) -> dict[str, object]:
        """The values the template names: the fields, plus anything derived from them."""
        if not is_dataclass(self):
            return {"text": self.text}
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def message(self, cli: bool = False) -> str:
        """The one-sentence message, its way out worded for the command line or the library."""
        if not self.template:
            return self.text
        return self.template.format(**self.values(cli), opt=_Words(cli))

    def to_dict(self, cli: bool = False) -> dict[str, object]:
        """The error as plain JSON types.

        Its stable kind (the class name in snake case: ``data_loss_refused``),
        exit code, message, and under ``data`` the fields it carries.
        """
        data: dict[str, object] = {}
        if is_dataclass(self):
            data = {f.name: plain(getattr(self, f.name)) for f in fields(self)}
        kind = snake_case(type(self).__name__)
        return {"kind": kind, "exit_code": self.exit_code, "message": self.message(cli), "data": data}

    def __str__(self) -> str:
        return self.message()

    def __reduce__(self) -> tuple[Any, ...]:
        if not is_dataclass(self):
            return (type(self), (self.text,))
        return (type(self), tuple(getattr(self, f.name) for f in fields(self)))


class UsageError(RebuilderError):
    """The caller's input is malformed (a bad flag value, a bad rename)."""

    exit_code = 2


@dataclass(eq=False)
class BadModelSpec(RebuilderError):
    """The MODELS argument cannot be turned into a MetaData.

    Attributes:
        spec: The spec as given, e.g. ``"app.models:Base"``.
        reason: What was wrong with it.
    """

    spec: str
    reason: str
    template = "cannot load models {spec!r}: {reason}"


@dataclass(eq=False)
class BadRename(UsageError):
    """A rename is malformed.

    Attributes:
        rename: The rename as given.
        reason: What was wrong with it.
    """

    rename: str
    reason: str
    template = "bad rename {rename!r}: {reason}"


@dataclass(eq=False)
class BadFill(UsageError):
    """A fill is malformed.

    Attributes:
        fill: The fill as given.
        reason: What was wrong with it.
    """

    fill: str
    reason: str
    template = "bad fill {fill!r}: {reason}"


@dataclass(eq=False)
class FillFailed(RebuilderError):
    """A fill's expression does not compile against the table.

    Attributes:
        table: The table.
        column: The column the fill is for.
        expr: The expression.
        detail: SQLite's complaint.
    """

    table: str
    column: str
    expr: str
    detail: str
    template = (
        "the fill for {table}.{column} ({expr}) does not compile: {detail}; nothing was changed, "
        "fix the expression (it reads the table's columns as the models name them)"
    )


@dataclass(eq=False)
class RenameConflict(RebuilderError):
    """A declared rename whose old and new names both exist in the database.

    Attributes:
        what: ``"table"`` or ``"column"``.
        old: The old name (``table.column`` for a column).
        new: The new name.
    """

    what: str
    old: str
    new: str
    template = (
        "the models say {what} {new} was renamed from {old}, but the database has both; "
        "nothing was changed, move the data and drop one of them by hand, or remove the renamed_from hint"
    )


@dataclass(eq=False)
class RenameNotFound(RebuilderError):
    """A rename names a table or column that is not there.

    Attributes:
        rename: The rename as given.
        reason: What is missing.
    """

    rename: str
    reason: str
    template = "cannot apply rename {rename!r}: {reason}; nothing was changed"


@dataclass(eq=False)
class NotADatabase(RebuilderError):
    """The DATABASE path exists but is not a usable SQLite database file.

    Attributes:
        path: The path given.
        reason: What is wrong with the file.
    """

    path: str
    reason: str
    template = "{path} is not a SQLite database ({reason}); it was left untouched, check the path"


@dataclass(eq=False)
class DatabaseLocked(RebuilderError):
    """Another connection held the write lock for longer than the timeout.

    Attributes:
        path: The database path.
        timeout: Seconds waited.
    """

    path: str
    timeout: float
    template = (
        "database {path} is locked by another connection (waited {timeout:g}s); "
        "nothing was changed, try again when it is free or {opt[timeout]}"
    )


@dataclass(eq=False)
class UnsupportedSchema(RebuilderError):
    """The live database holds something rebuilder cannot read or rebuild safely.

    Attributes:
        table: The table concerned.
        reason: What rebuilder cannot handle.
    """

    table: str
    reason: str
    template = "table {table!r}: {reason}; nothing was changed ({opt[exclude]})"


@dataclass(eq=False)
class VersionTableInvalid(RebuilderError):
    """The version table exists but is not of the expected shape.

    Attributes:
        table: The version table's name.
        problem: What is wrong with it.
    """

    table: str
    problem: str
    template = (
        "the version table {table!r} {problem}; nothing was changed, fix that table or {opt[version_table]}"
    )


@dataclass(eq=False)
class TempNameTaken(RebuilderError):
    """An object already holds the name a rebuild needs for its new table.

    Attributes:
        kind: What holds the name (``table``, ``index``, ...).
        name: The name in the way.
        table: The table that needs it.
    """

    kind: str
    name: str
    table: str
    template = (
        "a {kind} named {name!r} already exists, and rebuilder needs that name to rebuild table "
        "{table!r}; nothing was changed, drop or rename that {kind} (another tool may have left it)"
    )


@dataclass(eq=False)
class DataLossRefused(RebuilderError):
    """The plan would destroy stored values and the caller did not allow it.

    A drop and an add that look like a rename lead the message: following the
    data-loss advice would destroy a column the user meant to rename.

    Attributes:
        losses: Every data-destroying step with its counts and samples.
        hints: Drops and adds that look like renames.
    """

    losses: tuple[Loss, ...]
    hints: tuple[RenameHint, ...] = ()
    template = (
        "{lead}refused to destroy data: {listed}; nothing was changed, "
        "{opt[allow_data_loss]} to accept the loss"
    )

    def values(self, cli: bool = False) -> dict[str, object]:
        """The pieces of the message derived from the fields."""
        lead = "".join(f"{hint.text(cli)}; otherwise: " for hint in self.hints)
        return {"lead": lead, "listed": "; ".join(str(loss) for loss in self.losses)}


@dataclass(eq=False)
class ConstraintViolated(RebuilderError):
    """Existing rows violate a constraint the models add; refused even with data loss allowed.

    Attributes:
        violations: Every violated constraint with counts and samples.
    """

    violations: tuple[Violation, ...]
    template = "{first}{more}; nothing was changed, {hint}"

    def values(self, cli: bool = False) -> dict[str, object]:
        """The pieces of the message derived from the fields."""
        first, rest = self.violations[0], len(self.violations) - 1
        more = f" (and {rest} more)" if rest else ""
        return {"first": first, "more": more, "hint": first.hint or "fix the rows first"}


@dataclass(eq=False)
class PlanChanged(RebuilderError):
    """The database changed between the confirmed plan and the apply."""

    template = (
        "the database changed while you were confirming the plan; nothing was changed, run the command again"
    )


@dataclass(eq=False)
class VerificationFailed(RebuilderError):
    """After applying, the database did not match the models (a rebuilder bug).

    Attributes:
        differences: What still differs.
    """

    differences: tuple[str, ...]
    template = (
        "after applying, the database still differs from the models ({listed}); "
        "the sync was rolled back and nothing was changed, please report this"
    )

    def values(self, cli: bool = False) -> dict[str, object]:
        """The pieces of the message derived from the fields."""
        return {"listed": "; ".join(self.differences[:5])}


@dataclass(eq=False)
class SyncFailed(RebuilderError):
    """SQLite refused a statement while applying; the sync was rolled back.

    Attributes:
        table: The real table being worked on, if any.
        detail: SQLite's message, with temporary names replaced by real ones.
    """

    table: str | None
    detail: str
    template = "SQLite refused the change{where}: {detail}; the sync was rolled back and nothing was changed"

    def values(self, cli: bool = False) -> dict[str, object]:
        """The pieces of the message derived from the fields."""
        where = f" while changing table {self.table!r}" if self.table else ""
        return {"where": where, "detail": self.detail}


@dataclass(eq=False)
class DependentBroken(RebuilderError):
    """A view or trigger would stop working after the sync.

    Attributes:
        kind: ``"view"`` or ``"trigger"``.
        name: Its name.
        detail: SQLite's complaint, e.g. ``no such column: gone``.
    """

    kind: str
    name: str
    detail: str
    template = (
        "the sync would break {kind} {name!r} ({detail}); nothing was changed, "
        "change or drop the {kind} first"
    )


@dataclass(eq=False)
class DiskFull(RebuilderError):
    """There is, or was, not enough room to rebuild a table.

    Attributes:
        table: The table being rebuilt.
        needed: Estimated bytes the rebuild needs.
        free: Free bytes found beforehand, or None when SQLite ran out mid-way.
    """

    table: str
    needed: int
    free: int | None = None
    template = "{text}; nothing was changed, free some space and try again"

    def values(self, cli: bool = False) -> dict[str, object]:
        """The pieces of the message derived from the fields."""
        mb = max(1, -(-self.needed // 1_000_000))
        if self.free is None:
            return {"text": f"disk full while rebuilding table {self.table!r}: needs about {mb} MB free"}
        return {
            "text": f"not enough disk space to rebuild table {self.table!r}: needs about {mb} MB, "
            f"{self.free // 1_000_000} MB free"
        }


@dataclass(eq=False)
class ForeignKeyMismatch(RebuilderError):
    """A foreign key would reference columns that are neither PRIMARY KEY nor UNIQUE.

    SQLite then rejects every write to the child table ("foreign key mismatch").

    Attributes:
        table: The child table.
        foreign_key: A readable description of the foreign key.
    """

    table: str
    foreign_key: str
    template = (
        "table {table!r} has {foreign_key}, but those parent columns are neither PRIMARY KEY "
        "nor UNIQUE, so SQLite would reject every write; nothing was changed, make them unique in the models"
    )


@dataclass(eq=False)
class SchemaEditsForbidden(RebuilderError):
    """The connection refuses edits of ``sqlite_schema`` (SQLite's defensive mode).

    `rebuilder.sync` catches it and plans again without schema edits.
    """

    template = "this connection forbids editing sqlite_schema (defensive mode); nothing was changed"


@dataclass(eq=False)
class NoSuchDatabase(RebuilderError):
    """A command that never creates the database was given a path that does not exist.

    Attributes:
        path: The path given.
    """

    path: str
    template = "the database {path} does not exist; check the path (only sync creates it)"


@dataclass(eq=False)
class DirectoryNotWritable(RebuilderError):
    """SQLite could not write beside the database: its directory is not writable.

    A write needs a journal file next to the database (``-journal``, or
    ``-wal`` and ``-shm``), which SQLite creates in the same directory.

    Attributes:
        path: The database path.
        directory: The directory that is not writable.
    """

    path: str
    directory: str
    template = (
        "cannot write to {path}: its directory {directory} is not writable, so SQLite cannot "
        "create its journal file there; nothing was changed, make the directory writable"
    )


@dataclass(eq=False)
class NoTables(BadModelSpec):
    """The models hold no table at all: usually the module that defines them was never imported.

    Attributes:
        spec: The spec as given, or ``""`` for a library call.
        reason: Always ``"the models define no tables"``.
    """

    spec: str = ""
    reason: str = "the models define no tables"
    template = (
        "the models define no tables: did you import the module that defines them?"
        "{named}; nothing was changed"
    )

    def values(self, cli: bool = False) -> dict[str, object]:
        """The pieces of the message derived from the fields."""
        return {"named": f" ({self.spec!r} has none)" if self.spec else ""}


@dataclass(eq=False)
class EveryTableDropped(DataLossRefused):
    """The plan drops every table of a database that has tables: refused without consent, even when empty.

    Models that share no table with the database are more often the wrong
    models (a Base whose classes were never imported, another app's models)
    than a wish to empty the database.

    Attributes:
        tables: The tables the plan would drop.
    """

    tables: tuple[str, ...] = ()
    template = (
        "refused to drop every table of the database ({listed}): the models define none of them, "
        "so they may be the wrong models; nothing was changed, {opt[allow_data_loss]} if dropping "
        "them all is what you want"
    )

    def values(self, cli: bool = False) -> dict[str, object]:
        """The pieces of the message derived from the fields."""
        return {"listed": ", ".join(self.tables)}


@dataclass(eq=False)
class SQLiteTooOld(RebuilderError):
    """The SQLite library Python links is older than rebuilder supports.

    Attributes:
        version: The linked SQLite's version.
        minimum: The oldest supported version.
    """

    version: tuple[int, ...]
    minimum: tuple[int, ...]
    template = (
        "this Python's sqlite3 module uses SQLite {found}, but rebuilder needs SQLite "
        "{needed} or newer (it reads the schema with PRAGMA table_list); nothing was "
        "opened, use a Python built with a newer SQLite"
    )

    def values(self, cli: bool = False) -> dict[str, object]:
        """The versions, dotted."""
        return {"found": _dotted(self.version), "needed": _dotted(self.minimum)}


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


@dataclass(eq=False)
class Interrupted(RebuilderError):
    """Ctrl-C stopped a sync; the database says whether it had committed.

    Attributes:
        committed: Whether the database holds the new version (the interrupt
            came after COMMIT, while the sync was cleaning up).
        version: The models' version.
    """

    committed: bool
    version: str
    exit_code = 130

    def message(self, cli: bool = False) -> str:
        """One sentence: rolled back, or already committed."""
        if self.committed:
            return f"interrupted after the sync committed: the database is at version {self.version}"
        return "interrupted: the sync was rolled back and nothing was changed"


# --- many files in one command (rebuilder.fleet) -------------------------------------------------


@dataclass(eq=False)
class NoFilesMatched(RebuilderError):
    """A DATABASE glob matched no file.

    Attributes:
        pattern: The glob as given.
    """

    pattern: str
    template = "{pattern!r} matches no file; nothing was changed, check the pattern"


@dataclass(eq=False)
class BadShard(UsageError):
    """A ``--shard`` value is malformed.

    Attributes:
        shard: The value as given.
        reason: What was wrong with it.
    """

    shard: str
    reason: str
    template = "bad shard {shard!r}: {reason}"


@dataclass(eq=False)
class WorkerDied(RebuilderError):
    """The worker process working on a file died before it reported.

    Attributes:
        path: The file it was given.
    """

    path: str
    template = (
        "the worker process given {path} died before it reported; the file is as it was or fully "
        "synced (each file is one transaction), run the command again to finish"
    )


@dataclass(eq=False)
class UnexpectedError(RebuilderError):
    """An error rebuilder did not expect, met on one file of many (the others go on).

    Attributes:
        path: The file.
        kind: The exception's type.
        detail: Its message.
    """

    path: str
    kind: str
    detail: str
    template = "{kind} on {path}: {detail}; the file's transaction was rolled back, please report this"


@dataclass(eq=False)
class FilesNotDone(RebuilderError):
    """Some files of a run over many were not synced, current or readable.

    Attributes:
        what: What the files are not, e.g. ``"were not synced"``.
        paths: The files concerned, in order.
        total: How many files the run had.
    """

    what: str
    paths: tuple[str, ...]
    total: int
    template = "{count} of {total} file(s) {what}: {listed}"
    shown: ClassVar[int] = 10

    def values(self, cli: bool = False) -> dict[str, object]:
        """The count, and the first few files (with how many more)."""
        listed = ", ".join(self.paths[: self.shown])
        more = len(self.paths) - self.shown
        if more > 0:
            listed += f" and {more} more"
        return {"count": len(self.paths), "total": self.total, "what": self.what, "listed": listed}


@dataclass(eq=False)
class FleetInterrupted(RebuilderError):
    """Ctrl-C during a run over many files.

    Attributes:
        done: How many files had reported (workers report in chunks, so more may be finished).
        total: How many files the run had.
    """

    done: int
    total: int
    exit_code = 130
    template = (
        "interrupted ({done} of {total} file(s) reported): the files finished stay finished, the "
        "ones in progress were rolled back; run the command again to finish"
    )
