"""rebuilder: make a SQLite file follow its SQLAlchemy models.

Usage::

    import rebuilder

    rebuilder.sync(Base, "app.db")

`sync` applies the models in one transaction (and returns at once when the
stored version is current), `plan` shows what it would do, and `check` lists
the differences. `sync_many` syncs many files (a file per tenant), each in its
own transaction, in worker processes, with one result per file. Every error
rebuilder raises on purpose is a `RebuilderError`; the subclasses live in
`rebuilder.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rebuilder.api import check, plan, sync
from rebuilder.errors import RebuilderError
from rebuilder.results import Plan, SyncResult

if TYPE_CHECKING:
    from rebuilder.fleet import FileResult, sync_many

__all__ = ["FileResult", "Plan", "RebuilderError", "SyncResult", "check", "plan", "sync", "sync_many"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """`sync_many` and `FileResult`, imported on first use: a start-up `sync` never needs them."""
    if name in ("sync_many", "FileResult"):
        from rebuilder import fleet

        return getattr(fleet, name)
    raise AttributeError(f"module 'rebuilder' has no attribute {name!r}")
