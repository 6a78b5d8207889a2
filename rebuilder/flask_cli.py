"""``flask rebuilder``: the rebuilder commands, run on a Flask app's own Flask-SQLAlchemy ``db``.

Registered through Flask's ``flask.commands`` entry point, so once rebuilder
is installed, ``flask --app myapp rebuilder sync`` works in any Flask project.
The models are the app's ``db`` (``app.extensions["sqlalchemy"]``) and the
database is its ``db.engine``, so a relative ``sqlite:///app.db`` is the file
in the instance folder that the app itself uses. The commands, options,
output and exit codes are those of the ``rebuilder`` program (`rebuilder.cli`).

This is the only module of rebuilder that imports Flask. Flask loads it for
every ``flask`` command, so the rebuilder program is imported only when one of
these commands runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

group = AppGroup(
    "rebuilder",
    help=(
        "Make the app's SQLite database follow its Flask-SQLAlchemy models (the app's db and "
        "db.engine, so the instance folder is the app's own)."
    ),
)

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

BIND = click.option(
    "--bind",
    "bind",
    metavar="KEY",
    default=None,
    help="Use the models and engine of this SQLALCHEMY_BINDS key instead of the default database.",
)
RENAME = click.option(
    "--rename", "rename", metavar="TABLE.OLD=NEW", multiple=True, help="Rename a column (repeatable)."
)
RENAME_TABLE = click.option(
    "--rename-table", "rename_table", metavar="OLD=NEW", multiple=True, help="Rename a table (repeatable)."
)
FILL = click.option(
    "--fill",
    "fill",
    metavar="TABLE.COLUMN=EXPR",
    multiple=True,
    help="Give existing rows a value for a column in this sync: an SQL expression (repeatable).",
)
JSON = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON document on stdout and nothing else there; exit codes are unchanged.",
)
EXCLUDE = click.option(
    "--exclude",
    "exclude",
    metavar="PATTERN",
    multiple=True,
    help="Leave tables and indexes matching this glob alone (repeatable).",
)
VERSION_TABLE = click.option(
    "--version-table", "version_table", metavar="NAME", default="rebuilder_version", help="The version table."
)
TIMEOUT = click.option(
    "--timeout",
    "timeout",
    metavar="SECONDS",
    type=float,
    default=30.0,
    help="Seconds to wait for another connection's lock.",
)
DEBUG = click.option("--debug", "debug", is_flag=True, help="Show tracebacks and the SQL as it runs.")


def _options(*decorators: Decorator) -> Decorator:
    def apply(function: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def _app_db(bind: str | None) -> tuple[str, object, str]:
    """The spec naming the app's models, the models, and the path of the file the app uses.

    Raises:
        click.ClickException: If the app has no Flask-SQLAlchemy, the bind is
            unknown, or the engine is not a SQLite file.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db = app.extensions.get("sqlalchemy")
    if db is None:
        raise click.ClickException(
            f"the app {app.import_name!r} has no Flask-SQLAlchemy extension (app.extensions['sqlalchemy']); "
            "call db.init_app(app) in the app factory, or use the rebuilder program with MODELS DATABASE"
        )
    if bind not in db.metadatas or bind not in db.engines:
        known = ", ".join(repr(k) for k in db.engines if k is not None) or "none"
        raise click.ClickException(f"the app has no SQLALCHEMY_BINDS key {bind!r} (binds: {known})")
    engine = db.engines[bind]
    if engine.url.get_backend_name() != "sqlite" or engine.url.database in (None, "", ":memory:"):
        raise click.ClickException(
            f"the app's database {engine.url!r} is not a SQLite file; rebuilder works on SQLite files only"
        )
    where = f"app.extensions['sqlalchemy']{'' if bind is None else f'.metadatas[{bind!r}]'}"
    return f"{app.import_name}: {where}", db.metadatas[bind], str(engine.url.database)


def _call(name: str, models: bool, bind: str | None, **options: Any) -> None:
    """Run one of the ``rebuilder`` program's commands on the app's models and database."""
    import typer

    from rebuilder import cli
    from rebuilder.load import models_in_hand

    command: Callable[..., None] = getattr(cli, name)
    spec, target, database = _app_db(bind)
    arguments = {"models": spec, "databases": [database]} if models else {"database": database}
    try:
        with models_in_hand(spec, target):
            command(**arguments, **options)
    except typer.Exit as done:
        click.get_current_context().exit(done.exit_code)


def _lists(options: dict[str, Any]) -> dict[str, Any]:
    """Click's tuples for repeatable options as the lists the program's commands take."""
    return {name: list(value) if isinstance(value, tuple) else value for name, value in options.items()}


@group.command("sync")
@click.option("--dry-run", "dry_run", is_flag=True, help="Show what would be done; change nothing.")
@click.option("--yes", "-y", "yes", is_flag=True, help="Answer yes to the data-loss prompt.")
@click.option(
    "--allow-data-loss",
    "allow_data_loss",
    is_flag=True,
    help="Apply steps that destroy stored values (dropping tables or columns with values, lossy types).",
)
@_options(RENAME, RENAME_TABLE, FILL, EXCLUDE, VERSION_TABLE, TIMEOUT)
@click.option("--no-progress", "no_progress", is_flag=True, help="No progress bar.")
@click.option(
    "--relax-secure-delete",
    "relax_secure_delete",
    is_flag=True,
    help="Faster rebuilds: old rows' bytes stay in free pages until reused or VACUUMed.",
)
@click.option("--vacuum", "vacuum", is_flag=True, help="VACUUM afterwards, giving back free space.")
@_options(JSON, BIND, DEBUG)
def sync(bind: str | None, **options: Any) -> None:
    """Apply the app's models to its database in one transaction."""
    _call("sync", True, bind, **_lists(options))


@group.command("plan")
@click.option("--sql", "sql", is_flag=True, help="Print the exact SQL statements sync would run.")
@_options(RENAME, RENAME_TABLE, FILL, EXCLUDE, VERSION_TABLE, TIMEOUT, JSON, BIND, DEBUG)
def plan(bind: str | None, **options: Any) -> None:
    """Show what sync would do, step by step; change nothing."""
    _call("plan", True, bind, **_lists(options))


@group.command("check")
@_options(EXCLUDE, VERSION_TABLE, TIMEOUT, JSON, BIND, DEBUG)
def check(bind: str | None, **options: Any) -> None:
    """Exit 0 if the database matches the models, else 1 with the differences listed."""
    _call("check", True, bind, **_lists(options))


@group.command("current")
@_options(VERSION_TABLE, JSON, BIND, DEBUG)
def current(bind: str | None, **options: Any) -> None:
    """Print the stored version, or nothing when there is none."""
    _call("current", False, bind, **options)


@group.command("history")
@_options(VERSION_TABLE, JSON, BIND, DEBUG)
def history(bind: str | None, **options: Any) -> None:
    """List the syncs applied, newest first, each with its version and time."""
    _call("history", False, bind, **options)
