"""The exception hierarchy: one root, subclasses that carry their data.

Every message is one sentence that names the object and the way out. The CLI
turns these into exit codes in exactly one place (`rebuilder.cli`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def samples_text(samples: Sequence[object]) -> str:
    """Show sample values in a message: each repr cut to 40 characters."""
    shown = []
    for value in samples:
        text = repr(value)
        shown.append(text if len(text) <= 40 else text[:37] + "...")
    return ", ".join(shown)


class RebuilderError(Exception):
    """Root of every error rebuilder raises on purpose.

    Attributes:
        exit_code: The process exit code the CLI uses for this error.
    """

    exit_code: int = 1


class UsageError(RebuilderError):
    """The caller's input is malformed (a bad flag value, a bad rename)."""

    exit_code = 2


class BadModelSpec(RebuilderError):
    """The MODELS argument cannot be turned into a MetaData.

    Attributes:
        spec: The spec as given, e.g. ``"app.models:Base"``.
        reason: What was wrong with it.
    """

    def __init__(self, spec: str, reason: str) -> None:
        self.spec = spec
        self.reason = reason
        super().__init__(f"cannot load models {spec!r}: {reason}")


class BadRename(UsageError):
    """A ``--rename`` or ``--rename-table`` is malformed or names nothing.

    Attributes:
        rename: The rename as given.
        reason: What was wrong with it.
    """

    def __init__(self, rename: str, reason: str) -> None:
        self.rename = rename
        self.reason = reason
        super().__init__(f"bad rename {rename!r}: {reason}")


class NotADatabase(RebuilderError):
    """The DATABASE path exists but is not a usable SQLite database file.

    Attributes:
        path: The path given.
        reason: What is wrong with the file.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path} is not a SQLite database ({reason}); it was left untouched, check the path")


class DatabaseLocked(RebuilderError):
    """Another connection held the write lock for longer than the timeout.

    Attributes:
        path: The database path.
        timeout: Seconds waited.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        super().__init__(
            f"database {path} is locked by another connection (waited {timeout:g}s); "
            "nothing was changed, try again when it is free or raise --timeout"
        )


class UnsupportedSchema(RebuilderError):
    """The live database holds something rebuilder cannot read or rebuild safely.

    Attributes:
        table: The table concerned.
        reason: What rebuilder cannot handle.
    """

    def __init__(self, table: str, reason: str) -> None:
        self.table = table
        self.reason = reason
        super().__init__(
            f"table {table!r}: {reason}; nothing was changed (use --exclude to leave the table alone)"
        )


@dataclass(frozen=True)
class Loss:
    """One step that would destroy stored values.

    Attributes:
        table: The table concerned.
        column: The column concerned, or None for a whole table.
        what: A short description, e.g. ``"drop table"``.
        count: How many rows hold values that would be lost.
        samples: A few of those values, as Python objects.
    """

    table: str
    column: str | None
    what: str
    count: int
    samples: tuple[object, ...] = ()

    def __str__(self) -> str:
        where = self.table if self.column is None else f"{self.table}.{self.column}"
        sample = samples_text(self.samples)
        tail = f" (e.g. {sample})" if sample else ""
        return f"{self.what} {where}: {self.count} row(s) would lose data{tail}"


class DataLossRefused(RebuilderError):
    """The plan would destroy stored values and the caller did not allow it.

    Attributes:
        losses: Every data-destroying step with its counts and samples.
    """

    def __init__(self, losses: Sequence[Loss]) -> None:
        self.losses = tuple(losses)
        listed = "; ".join(str(loss) for loss in self.losses)
        super().__init__(
            f"refused to destroy data: {listed}; nothing was changed, "
            "re-run with --allow-data-loss (or --yes) to accept the loss"
        )


@dataclass(frozen=True)
class Violation:
    """Existing rows that a constraint the models add would reject.

    Attributes:
        table: The table whose rows violate the constraint.
        constraint: A readable description of the constraint.
        count: How many rows (or duplicate groups) violate it.
        samples: Up to five offending rows, by primary key or rowid, or values.
        hint: The suggested way out.
    """

    table: str
    constraint: str
    count: int
    samples: tuple[object, ...] = ()
    hint: str = ""

    def __str__(self) -> str:
        sample = samples_text(self.samples)
        tail = f" (e.g. {sample})" if sample else ""
        return f"{self.count} existing row(s) of table {self.table!r} violate {self.constraint}{tail}"


class ConstraintViolated(RebuilderError):
    """Existing rows violate a constraint the models add; refused even with data loss allowed.

    Attributes:
        violations: Every violated constraint with counts and samples.
    """

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        first = self.violations[0]
        more = f" (and {len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
        super().__init__(f"{first}{more}; nothing was changed, {first.hint or 'fix the rows first'}")


class PlanChanged(RebuilderError):
    """The database changed between the confirmed plan and the apply."""

    def __init__(self) -> None:
        super().__init__(
            "the database changed while you were confirming the plan; "
            "nothing was changed, run the command again"
        )


class VerificationFailed(RebuilderError):
    """After applying, the database did not match the models (a rebuilder bug).

    Attributes:
        differences: What still differs.
    """

    def __init__(self, differences: Sequence[str]) -> None:
        self.differences = tuple(differences)
        listed = "; ".join(self.differences[:5])
        super().__init__(
            f"after applying, the database still differs from the models ({listed}); "
            "the sync was rolled back and nothing was changed, please report this"
        )


class SyncFailed(RebuilderError):
    """SQLite refused a statement while applying; the sync was rolled back.

    Attributes:
        table: The real table being worked on, if any.
        detail: SQLite's message, with temporary names replaced by real ones.
    """

    def __init__(self, table: str | None, detail: str) -> None:
        self.table = table
        self.detail = detail
        where = f" while changing table {table!r}" if table else ""
        super().__init__(
            f"SQLite refused the change{where}: {detail}; the sync was rolled back and nothing was changed"
        )


class RenameNotFound(RebuilderError):
    """A ``--rename`` or ``--rename-table`` names a table or column that is not there.

    Attributes:
        rename: The rename as given.
        reason: What is missing.
    """

    def __init__(self, rename: str, reason: str) -> None:
        self.rename = rename
        self.reason = reason
        super().__init__(f"cannot apply rename {rename!r}: {reason}; nothing was changed")


class DependentBroken(RebuilderError):
    """A view or trigger would stop working after the sync.

    Attributes:
        kind: ``"view"`` or ``"trigger"``.
        name: Its name.
        detail: SQLite's complaint, e.g. ``no such column: gone``.
    """

    def __init__(self, kind: str, name: str, detail: str) -> None:
        self.kind = kind
        self.name = name
        self.detail = detail
        super().__init__(
            f"the sync would break {kind} {name!r} ({detail}); nothing was changed, "
            f"change or drop the {kind} first"
        )


class DiskFull(RebuilderError):
    """There is, or was, not enough room to rebuild a table.

    Attributes:
        table: The table being rebuilt.
        needed: Estimated bytes the rebuild needs.
        free: Free bytes found beforehand, or None when SQLite ran out mid-way.
    """

    def __init__(self, table: str, needed: int, free: int | None = None) -> None:
        self.table = table
        self.needed = needed
        self.free = free
        mb = max(1, -(-needed // 1_000_000))
        if free is None:
            text = f"disk full while rebuilding table {table!r}: needs about {mb} MB free"
        else:
            text = (
                f"not enough disk space to rebuild table {table!r}: needs about {mb} MB, "
                f"{free // 1_000_000} MB free"
            )
        super().__init__(f"{text}; nothing was changed, free some space and try again")


class ForeignKeyMismatch(RebuilderError):
    """A foreign key would reference columns that are neither PRIMARY KEY nor UNIQUE.

    SQLite then rejects every write to the child table ("foreign key mismatch").

    Attributes:
        table: The child table.
        foreign_key: A readable description of the foreign key.
    """

    def __init__(self, table: str, foreign_key: str) -> None:
        self.table = table
        self.foreign_key = foreign_key
        super().__init__(
            f"table {table!r} has {foreign_key}, but those parent columns are neither PRIMARY KEY "
            "nor UNIQUE, so SQLite would reject every write; nothing was changed, make them unique "
            "in the models"
        )


class SchemaEditsForbidden(RebuilderError):
    """The connection refuses edits of ``sqlite_schema`` (SQLite's defensive mode).

    `rebuilder.sync` catches it and plans again without schema edits.
    """

    def __init__(self) -> None:
        super().__init__(
            "this connection forbids editing sqlite_schema (defensive mode); nothing was changed"
        )
