"""A Flask + Flask-SQLAlchemy app that syncs its schema in the app factory.

Run it from ``examples/`` with ``flask --app "flask_app:create_app('app.db')" run``.
Under a process manager that starts several workers, each worker calls
``create_app`` and so ``rebuilder.sync``; exactly one of them applies the
schema, the others find it current.

The sync is given ``db.engine``, the engine the app itself uses, so a relative
``sqlite:///app.db`` is the file in the app's instance folder, where
Flask-SQLAlchemy puts it, and never a stray ``./app.db``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy

import rebuilder

db = SQLAlchemy()


class Note(db.Model):
    """A note: the table this app reads and writes."""

    id = db.Column(db.Integer, primary_key=True)
    text = db.Column(db.String(200), nullable=False)


def as_dict(note: Note) -> dict[str, Any]:
    """Return a note's columns as a JSON-ready dict."""
    return {column.name: getattr(note, column.name) for column in Note.__table__.columns}


def create_app(database: str | Path = "app.db") -> Flask:
    """Create the app, first making the database follow the models.

    Args:
        database: The SQLite file, created if missing; a relative path is in
            the app's instance folder, as Flask-SQLAlchemy places it.

    Returns:
        The Flask app; ``app.extensions["rebuilder"]`` holds the `SyncResult`.
    """
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    db.init_app(app)
    with app.app_context():
        app.extensions["rebuilder"] = rebuilder.sync(db, db.engine)

    @app.post("/notes")
    def add_note() -> tuple[dict[str, Any], int]:
        note = Note(**request.get_json())
        db.session.add(note)
        db.session.commit()
        return as_dict(note), 201

    @app.get("/notes")
    def list_notes() -> list[dict[str, Any]]:
        return [as_dict(note) for note in db.session.scalars(db.select(Note).order_by(Note.id))]

    return app
