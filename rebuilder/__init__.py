"""rebuilder: make a SQLite file follow its SQLAlchemy models.

Usage::

    import rebuilder

    rebuilder.sync(Base, "app.db")

`sync` applies the models in one transaction (and returns at once when the
stored version is current), `plan` shows what it would do, and `check` lists
the differences. Every error rebuilder raises on purpose is a `RebuilderError`;
the subclasses live in `rebuilder.errors`.
"""

from __future__ import annotations

from rebuilder.api import check, plan, sync
from rebuilder.errors import RebuilderError
from rebuilder.results import Plan, SyncResult

__all__ = ["Plan", "RebuilderError", "SyncResult", "check", "plan", "sync"]
__version__ = "0.1.0"
