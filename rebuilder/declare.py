"""Bring SQLAlchemy models to a canonical `Schema`.

The models are created with SQLAlchemy's own ``create_all`` into a private
in-memory SQLite database, which is then read by the same reader as a live
file (`rebuilder.reflect`). Both sides of a comparison therefore pass through
one engine and one normaliser, and a database made by ``create_all`` compares
equal to its models by construction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from sqlalchemy import MetaData, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from rebuilder.errors import BadModelSpec
from rebuilder.reflect import reflect
from rebuilder.schema import Schema


def create_models_db(metadatas: Sequence[MetaData], spec: str = "models") -> sqlite3.Connection:
    """Create the models into a fresh in-memory SQLite database.

    Args:
        metadatas: The models' MetaData objects.
        spec: Where the models came from, for messages.

    Returns:
        An open connection to the in-memory database.

    Raises:
        BadModelSpec: If SQLAlchemy or SQLite refuses the models' DDL.
    """
    raw = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    # StaticPool hands SQLAlchemy our connection; the engine is never disposed,
    # since that would close it.
    engine = create_engine("sqlite://", creator=lambda: raw, poolclass=StaticPool)
    try:
        for md in metadatas:
            md.create_all(engine)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raw.close()
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise BadModelSpec(spec, f"the models' tables cannot be created: {detail}") from exc
    return raw


def declare(
    metadatas: Sequence[MetaData],
    exclude: Iterable[str] = (),
    version_table: str = "rebuilder_version",
    spec: str = "models",
) -> Schema:
    """Return the models' canonical schema, read from an in-memory database made by ``create_all``.

    Args:
        metadatas: The models' MetaData objects.
        exclude: Glob patterns of tables and indexes to leave out.
        version_table: The version table's name, which is never managed.
        spec: Where the models came from, for messages.

    Raises:
        BadModelSpec: If SQLAlchemy or SQLite refuses the models' DDL.
    """
    conn = create_models_db(metadatas, spec)
    try:
        return reflect(conn, exclude, version_table)
    finally:
        conn.close()
