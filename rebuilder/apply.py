"""The only writer: run the guards, execute the steps, verify, all in the caller's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rebuilder.errors import ConstraintViolated, DataLossRefused
from rebuilder.execute import (
    PhaseProgress,
    Progress,
    RowProgress,
    check_temp_names,
    execute,
    reanalyze,
    space_needed,
    tables_with_statistics,
    tuned,
)
from rebuilder.guards import LOSS, check_fills, evaluate
from rebuilder.options import Options
from rebuilder.planner import Procedure
from rebuilder.schema import Schema
from rebuilder.verify import compile_dependents, unproven_foreign_keys, verify

SchemaCheck = Callable[[sqlite3.Connection, Schema, Iterable[str], str], None]
"""Called as ``check(conn, target, exclude, version_table)`` before COMMIT; raises if the schema differs."""


@dataclass(frozen=True)
class Reporters:
    """Where a sync reports while applying.

    Attributes:
        steps: Called as ``steps(step, number, total)`` before each step.
        rows: Called as ``rows(table, copied, total)`` during large copies.
        phase: Called as ``phase(text)`` when another long part begins:
            ``checking existing rows``, ``indexing TABLE``, ``checking the result``.
    """

    steps: Progress | None = None
    rows: RowProgress | None = None
    phase: PhaseProgress | None = None

    def begin(self, text: str) -> None:
        """Report that a phase begins, if anyone listens."""
        if self.phase is not None:
            self.phase(text)


def apply_plan(
    conn: sqlite3.Connection,
    target: Schema,
    procedure: Procedure,
    options: Options,
    allow_data_loss: bool,
    report: Reporters,
    relax_secure_delete: bool = False,
    check_schema: SchemaCheck = verify,
) -> None:
    """Run the guards, the steps and every check before COMMIT.

    ``check_schema`` reads the schema back and compares it with ``target``
    (a fleet run passes one that remembers the catalogs it has already proved).

    Raises:
        ConstraintViolated: If existing rows break a constraint the models add.
        DataLossRefused: If data would be lost and that is not allowed.
        RebuilderError: Any other refusal; the caller rolls back.
    """
    # With data loss allowed, loss guards would only be counted, never acted on.
    wanted = [g for g in procedure.guards if not (allow_data_loss and g.kind == LOSS)]
    if wanted:
        report.begin("checking existing rows")
    check_fills(conn, procedure.steps)
    found = evaluate(conn, wanted)
    if found.violations:
        raise ConstraintViolated(found.violations)
    if found.losses and not allow_data_loss:
        raise DataLossRefused(found.losses, procedure.hints)
    check_temp_names(conn, procedure.steps)
    needs = space_needed(conn, procedure.steps)
    analyzed = tables_with_statistics(conn)
    with tuned(conn, relax_secure_delete):
        execute(conn, procedure.steps, report.steps, needs, report.rows, report.phase)
        reanalyze(conn, procedure.steps, analyzed)
    report.begin("checking the result")
    check_schema(conn, target, options.exclude, options.version_table)
    compile_dependents(conn)
    orphans = unproven_foreign_keys(conn, procedure.changes, procedure.steps, found.proven)
    if orphans:
        raise ConstraintViolated(tuple(orphans))
