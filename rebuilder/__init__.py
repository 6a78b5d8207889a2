"""rebuilder: make a SQLite file follow its SQLAlchemy models.

Usage::

    import rebuilder
    rebuilder.sync(Base, "app.db")
"""

from __future__ import annotations

from rebuilder.api import check, plan, sync
from rebuilder.errors import RebuilderError

__all__ = ["RebuilderError", "check", "plan", "sync"]
__version__ = "0.1.0"
