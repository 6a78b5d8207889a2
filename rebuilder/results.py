"""What the library returns: findings, plans, checks and sync results.

Frozen and typed; each has one text form (`lines`, used by ``str()`` and the
CLI alike) and a ``to_dict()`` of plain JSON types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rebuilder.changes import Change
    from rebuilder.steps import Step

FORMAT_VERSION = 1
"""The version of the shape ``to_dict()`` returns; it changes only when a field does."""

Json = dict[str, Any]


def samples_text(samples: Sequence[object]) -> str:
    """Show sample values in a message: each repr cut to 40 characters."""
    shown = []
    for value in samples:
        text = repr(value)
        shown.append(text if len(text) <= 40 else text[:37] + "...")
    return ", ".join(shown)


def plain(value: object) -> object:
    """A value as JSON can hold it: bytes as hex, tuples as lists, records by their ``to_dict()``."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


@dataclass(frozen=True)
class Loss:
    """Stored values a step would destroy: a finding of the guards, not an error.

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

    def to_dict(self) -> Json:
        """The finding as plain JSON types."""
        return {
            "table": self.table,
            "column": self.column,
            "what": self.what,
            "count": self.count,
            "samples": [plain(s) for s in self.samples],
            "message": str(self),
        }


@dataclass(frozen=True)
class Violation:
    """Existing rows that a constraint the models add would reject: a finding of the guards.

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

    def to_dict(self) -> Json:
        """The finding as plain JSON types."""
        return {
            "table": self.table,
            "constraint": self.constraint,
            "count": self.count,
            "samples": [plain(s) for s in self.samples],
            "hint": self.hint,
            "message": str(self),
        }


@dataclass(frozen=True)
class RenameHint:
    """A drop and an add that look like a rename: said, never acted on.

    Attributes:
        what: ``"column"`` or ``"table"``.
        table: For a column, its table as the models name it.
        old: The name dropped (as the database has it).
        new: The name added (as the models have it).
    """

    what: str
    table: str
    old: str
    new: str

    def text(self, cli: bool = False) -> str:
        """The hint, with both ways to declare the rename (flags for the command line, keywords else)."""
        if self.what == "table":
            said = f"table {self.old} is dropped and table {self.new} created with the same columns"
            hint = f"add info={{'renamed_from': {self.old!r}}} to table {self.new}"
            flag = (
                f"--rename-table {self.old}={self.new}"
                if cli
                else f"table_renames={{{self.old!r}: {self.new!r}}}"
            )
        else:
            said = f"{self.table}.{self.old} is dropped and {self.table}.{self.new} added with the same type"
            hint = f"add info={{'renamed_from': {self.old!r}}} to the column"
            where = f"{self.table}.{self.old}"
            flag = f"--rename {where}={self.new}" if cli else f"renames={{{where!r}: {self.new!r}}}"
        return f"{said}: if it is a rename, {hint} or pass {flag}"

    def __str__(self) -> str:
        return self.text()

    def to_dict(self) -> Json:
        """The hint as plain JSON types."""
        return {
            "what": self.what,
            "table": self.table,
            "old": self.old,
            "new": self.new,
            "message": str(self),
        }


Line = tuple[str, str]
"""One line of a result's text: its kind and its text.

Kinds: ``step``, ``destructive``, ``loss``, ``refused``, ``hint``, ``note``.
"""


@dataclass(frozen=True)
class Plan:
    """What a sync would do, and what it would cost.

    Attributes:
        steps: The steps in execution order.
        changes: The differences the steps carry out.
        losses: Stored values the steps would destroy.
        violations: Existing rows that constraints the models add would reject.
        version: The models' version.
        current: The version stored in the database, or None.
        hints: Drops and adds that look like renames.
    """

    steps: tuple[Step, ...]
    changes: tuple[Change, ...]
    losses: tuple[Loss, ...]
    violations: tuple[Violation, ...]
    version: str
    current: str | None
    hints: tuple[RenameHint, ...] = ()

    @property
    def sql(self) -> list[str]:
        """The statements sync runs for these steps, in order (see `rebuilder.render`)."""
        from rebuilder.render import render_all

        return [op.sql for op in render_all(self.steps)]

    @property
    def up_to_date(self) -> bool:
        """Whether there is nothing to do: no step, and the version row is current."""
        return not self.steps and self.current == self.version

    def lines(self, cli: bool = False) -> list[Line]:
        """The plan as text, one line per step and finding (hints worded for the command line or not)."""
        if not self.steps:
            return [("note", self.nothing_to_do())]
        found: list[Line] = [("destructive" if s.destructive else "step", str(s)) for s in self.steps]
        found += [("hint", h.text(cli)) for h in self.hints]
        found += [("loss", str(loss)) for loss in self.losses]
        found += [("refused", str(v)) for v in self.violations]
        return found

    def nothing_to_do(self) -> str:
        """How a plan without steps reads, the same way sync says it."""
        if self.up_to_date:
            return f"nothing to do; version {self.version}"
        return f"no schema change; sync records version {self.version}"

    def script(self, database: str) -> str:
        """The statements of `sql` as a commented script for review, saying what is not portable."""
        from rebuilder.render import BumpSchemaCookie, render_all

        ops = render_all(self.steps)
        if not ops:
            return f"-- {self.nothing_to_do()}\n"
        head = SCRIPT_HEADER.format(database=database, count=len(ops))
        if any(isinstance(op, BumpSchemaCookie) for op in ops):
            head += SCHEMA_EDIT_NOTE
        return head + "".join(op.sql.rstrip() + ";\n" for op in ops)

    def __str__(self) -> str:
        return "\n".join(_mark(kind) + text for kind, text in self.lines())

    def to_dict(self) -> Json:
        """The plan as plain JSON types (shape version `FORMAT_VERSION`)."""
        return {
            "format": FORMAT_VERSION,
            "version": self.version,
            "current": self.current,
            "up_to_date": self.up_to_date,
            "steps": [step.to_dict() for step in self.steps],
            "changes": [change.to_dict() for change in self.changes],
            "losses": [loss.to_dict() for loss in self.losses],
            "violations": [v.to_dict() for v in self.violations],
            "hints": [h.to_dict() for h in self.hints],
        }


SCRIPT_HEADER = """\
-- The {count} statement(s) `rebuilder sync` would run on {database}, in order, for review.
-- Sync runs them inside one transaction with its own connection settings, checks integrity
-- and foreign keys before COMMIT, and records the version: this is not a script to paste
-- into another tool.
"""
SCHEMA_EDIT_NOTE = """\
-- The statements between PRAGMA writable_schema = ON and OFF edit sqlite_schema directly,
-- and <current schema_version + 1> stands for a value sync reads when it runs.
"""

_MARKS = {
    "step": "- ",
    "destructive": "! ",
    "hint": "  hint: ",
    "loss": "  data loss: ",
    "refused": "  refused: ",
    "note": "",
}


def _mark(kind: str) -> str:
    return _MARKS[kind]


class CheckResult(list["Change"]):
    """The outcome of `rebuilder.check`: the list of differences, empty when in sync.

    A plain list of changes (as the contract promises), with the text and
    JSON forms every result has.
    """

    @property
    def in_sync(self) -> bool:
        """Whether the database matches the models."""
        return not self

    def lines(self) -> list[Line]:
        """The differences as text, or one note when in sync."""
        if self.in_sync:
            return [("note", "in sync")]
        return [("step", str(change)) for change in self]

    def __str__(self) -> str:
        return "\n".join(_mark(kind) + text for kind, text in self.lines())

    def to_dict(self) -> Json:
        """The result as plain JSON types."""
        return {"format": FORMAT_VERSION, "in_sync": self.in_sync, "changes": [c.to_dict() for c in self]}


@dataclass(frozen=True)
class SyncResult:
    """The outcome of `rebuilder.sync`.

    Attributes:
        steps: The steps applied (or, for a dry run, that would be).
        version: The models' version, now stored in the database.
        previous: The version stored before, or None.
        dry_run: Whether nothing was written on purpose.
    """

    steps: tuple[Step, ...]
    version: str
    previous: str | None
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        """Whether the database was written (schema or version row)."""
        return not self.dry_run and self.previous != self.version

    def __str__(self) -> str:
        if not self.changed and not self.dry_run:
            return f"nothing to do; version {self.version}"
        if not self.steps and not self.dry_run:
            return f"no schema change; recorded version {self.version}"
        verb = "would apply" if self.dry_run else "applied"
        return f"{verb} {len(self.steps)} step(s); version {self.version}"

    def to_dict(self) -> Json:
        """The result as plain JSON types."""
        return {
            "format": FORMAT_VERSION,
            "version": self.version,
            "previous": self.previous,
            "changed": self.changed,
            "dry_run": self.dry_run,
            "steps": [step.to_dict() for step in self.steps],
        }
