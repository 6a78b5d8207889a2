"""A plain script that makes the database follow the models before using it.

Run it from the repository root with ``python examples/script.py app.db``. It
uses the friend/city/hobby models in ``examples/models.py``.
"""

from __future__ import annotations

import logging
import sys

from models import Base, City
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

import rebuilder


def main(argv: list[str] | None = None) -> int:
    """Sync the schema, add a city, and print what happened.

    Args:
        argv: The command-line arguments after the script name: ``[DATABASE]``.

    Returns:
        The exit code.
    """
    args = sys.argv[1:] if argv is None else argv
    database = args[0] if args else "app.db"
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    print(rebuilder.sync(Base, database))
    engine = create_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        session.add(City(name="Lisbon"))
        session.commit()
        count = session.scalar(select(func.count()).select_from(City))
    engine.dispose()
    print(f"{count} city row(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
