"""A FastAPI app with SQLModel models that syncs its schema in its lifespan handler.

Run it from ``examples/`` with ``APP_DATABASE=app.db uvicorn fastapi_app:app``.
With ``--workers 4`` every worker process runs the lifespan and so
``rebuilder.sync``; exactly one of them applies the schema, the others find it
current.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlmodel import Field, Session, SQLModel, create_engine, select

import rebuilder


class Hero(SQLModel, table=True):
    """A hero: the table this app reads and writes."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    age: int | None = None


def create_app(database: str | Path) -> FastAPI:
    """Create the app; its lifespan makes the database follow the models.

    Args:
        database: The SQLite file; created if missing.

    Returns:
        The FastAPI app; after start-up ``app.state.schema`` holds the `SyncResult`.
    """
    engine = create_engine(f"sqlite:///{Path(database).resolve()}")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.schema = rebuilder.sync(SQLModel, engine)
        yield
        engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/heroes", status_code=201)
    def add_hero(hero: Hero) -> Hero:
        with Session(engine) as session:
            session.add(hero)
            session.commit()
            session.refresh(hero)
            return hero

    @app.get("/heroes")
    def list_heroes() -> list[Hero]:
        with Session(engine) as session:
            return list(session.exec(select(Hero).order_by(Hero.id)))

    return app


app = create_app(os.environ.get("APP_DATABASE", "app.db"))
