"""What the library returns: plans and sync results. Frozen, typed, printable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rebuilder.changes import Change
    from rebuilder.errors import Loss, Violation
    from rebuilder.steps import Step


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
    """

    steps: tuple[Step, ...]
    changes: tuple[Change, ...]
    losses: tuple[Loss, ...]
    violations: tuple[Violation, ...]
    version: str
    current: str | None

    @property
    def sql(self) -> list[str]:
        """The exact statements sync runs for these steps."""
        from rebuilder.render import render_all

        return render_all(self.steps)

    @property
    def up_to_date(self) -> bool:
        """Whether there is nothing to do: no step, and the version row is current."""
        return not self.steps and self.current == self.version

    def __str__(self) -> str:
        if not self.steps:
            return "nothing to do" if self.current == self.version else "no schema change; record the version"
        lines = [f"{'!' if s.destructive else '-'} {s}" for s in self.steps]
        lines += [f"  data loss: {loss}" for loss in self.losses]
        lines += [f"  refused: {v}" for v in self.violations]
        return "\n".join(lines)


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
        verb = "would apply" if self.dry_run else "applied"
        return f"{verb} {len(self.steps)} step(s); version {self.version}"
