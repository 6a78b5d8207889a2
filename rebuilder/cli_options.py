"""The command line's arguments and options, declared once for every command that takes them.

Each is an ``Annotated`` type that typer reads: the metavar, the help text
and the flag's spelling live here, so `rebuilder.cli` reads as the commands
and what they do, and ``docs/cli.md`` is checked against these texts.
"""

from __future__ import annotations

from typing import Annotated

import typer

Models = Annotated[
    str, typer.Argument(metavar="MODELS", help="The models: pkg.module:Base or path/to/models.py:Base.")
]
ExistingDatabase = Annotated[
    str,
    typer.Argument(
        metavar="DATABASE", help="The SQLite file or a sqlite:/// URL; this command never creates it."
    ),
]
Databases = Annotated[
    list[str],
    typer.Argument(
        metavar="DATABASE",
        help=(
            "The SQLite file (created if missing) or a sqlite:/// URL. Several, or a quoted glob "
            "such as 'tenants/*.db': each file is synced in its own transaction."
        ),
    ),
]
ExistingDatabases = Annotated[
    list[str],
    typer.Argument(
        metavar="DATABASE",
        help=(
            "The SQLite file or a sqlite:/// URL; this command never creates it. Several, or a "
            "quoted glob such as 'tenants/*.db': each file is read on its own."
        ),
    ),
]
Jobs = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        metavar="N",
        min=1,
        help="Worker processes for many files (default: the number of cores).",
    ),
]
Shard = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="K/N",
        help="Only the files of shard K of N (counting from 1), split by a stable hash of each file's name.",
    ),
]
Renames = Annotated[
    list[str] | None,
    typer.Option("--rename", metavar="TABLE.OLD=NEW", help="Rename a column: TABLE.OLD=NEW (repeatable)."),
]
TableRenames = Annotated[
    list[str] | None,
    typer.Option("--rename-table", metavar="OLD=NEW", help="Rename a table: OLD=NEW (repeatable)."),
]
Fills = Annotated[
    list[str] | None,
    typer.Option(
        "--fill",
        metavar="TABLE.COLUMN=EXPR",
        help=(
            "Give existing rows a value for a column in this sync: an SQL expression over the "
            "table's columns as the models name them (repeatable)."
        ),
    ),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude", metavar="PATTERN", help="Leave tables and indexes matching this glob alone (repeatable)."
    ),
]
VersionTable = Annotated[
    str, typer.Option("--version-table", metavar="NAME", help="Name of the version table.")
]
Timeout = Annotated[
    float, typer.Option("--timeout", metavar="SECONDS", help="Seconds to wait for another connection's lock.")
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks and the SQL as it runs.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would be done; change nothing.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to the data-loss prompt.")]
AllowDataLoss = Annotated[
    bool,
    typer.Option(
        "--allow-data-loss",
        help=(
            "Apply steps that destroy stored values: dropping tables with rows, dropping "
            "columns with values, type changes that alter values (kept as SQLite stores them)."
        ),
    ),
]
NoProgress = Annotated[
    bool, typer.Option("--no-progress", help="No progress bar (there is none when not at a terminal).")
]
RelaxSecureDelete = Annotated[
    bool,
    typer.Option(
        "--relax-secure-delete",
        help=(
            "Faster rebuilds: free the old table's pages without zeroing them (PRAGMA "
            "secure_delete=OFF for this sync only). Security trade-off: the old rows' bytes stay "
            "readable in the file's free pages until reused or VACUUMed; do not use it when "
            "deleted data must not be recoverable from the file."
        ),
    ),
]
JsonOutput = Annotated[
    bool,
    typer.Option(
        "--json",
        help=(
            "Print one JSON document on stdout and nothing else there (its shape: docs/cli.md, "
            "JSON output; over many files, a record per file and the totals); exit codes are unchanged."
        ),
    ),
]
Vacuum = Annotated[
    bool, typer.Option("--vacuum", help="VACUUM afterwards, giving back the space rebuilds leave free.")
]
