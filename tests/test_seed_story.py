"""The seed story, end to end through the real CLI in a subprocess.

A Flask user keeps friend/city/hobby models on a SQLite file. Every step that
hurt with Alembic (dropping a column, changing a type, adding an unnamed
foreign key) is one `rebuilder sync` here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import columns, execute, rows, run_cli, snapshot, write_models

HEADER = """
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import declarative_base

Base = declarative_base()
"""

V1 = (
    HEADER
    + """
class Friend(Base):
    __tablename__ = 'friend'
    id = Column(Integer, primary_key=True)
    name = Column(String(100), server_default='')
    city_id = Column(Integer, ForeignKey('city.id'))

class City(Base):
    __tablename__ = 'city'
    id = Column(Integer, primary_key=True)
    name = Column(String(100), server_default='')

class Hobby(Base):
    __tablename__ = 'hobby'
    id = Column(Integer, primary_key=True)
    name = Column(String(100), server_default='')
"""
)

V2 = V1 + "    address = Column(String(100), server_default='')\n"
V4 = V1.rsplit("    name = Column(String(100), server_default='')\n", 1)[0] + (
    "    name = Column(Integer, server_default='')\n"
)
V5 = (
    V4.replace(
        "    city_id = Column(Integer, ForeignKey('city.id'))\n",
        "    city_id = Column(Integer, ForeignKey('city.id'))\n"
        "    io_id = Column(Integer, ForeignKey('io.id'))\n",
    )
    + """
class Io(Base):
    __tablename__ = 'io'
    id = Column(Integer, primary_key=True)
    name = Column(String(100), server_default='')

friend_mtm_hobby = Table(
    'friend_mtm_hobby', Base.metadata,
    Column('friend_id', Integer, ForeignKey('friend.id'), primary_key=True),
    Column('hobby_id', Integer, ForeignKey('hobby.id'), primary_key=True),
)
"""
)


def sync(models: Path, db: Path, *flags: str):
    return run_cli("sync", f"{models}:Base", str(db), *flags)


def typed(db: Path, table: str, column: str) -> list[tuple[object, ...]]:
    return rows(db, f'SELECT id, "{column}", typeof("{column}") FROM "{table}" ORDER BY id')


def test_seed_story(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    models = tmp_path / "model.py"

    # 1. create friend/city/hobby
    write_models(tmp_path, V1, "model.py")
    result = sync(models, db)
    assert result.code == 0, result.err
    execute(
        db,
        "INSERT INTO city (id, name) VALUES (1, 'Ghent'), (2, 'Oslo')",
        "INSERT INTO friend (id, name, city_id) VALUES (1, 'Ann', 1), (2, 'Bob', 2)",
        "INSERT INTO hobby (id, name) VALUES (1, 'chess'), (2, '12')",
    )

    # 2. add hobby.address with server_default=''
    write_models(tmp_path, V2, "model.py")
    plan = run_cli("plan", f"{models}:Base", str(db))
    assert plan.out.strip() == "- add column hobby.address VARCHAR(100) DEFAULT ''"
    assert sync(models, db).code == 0
    assert rows(db, "SELECT id, address, typeof(address) FROM hobby ORDER BY id") == [
        (1, "", "text"),
        (2, "", "text"),
    ]
    execute(db, "UPDATE hobby SET address = 'club house' WHERE id = 1")

    # 3. remove it while it holds data: refused, then applied with --allow-data-loss
    write_models(tmp_path, V1, "model.py")
    before = snapshot(db)
    refused = sync(models, db)
    assert refused.code == 1
    assert "hobby.address" in refused.err and "'club house'" in refused.err
    assert "Traceback" not in refused.err
    assert snapshot(db) == before
    applied = sync(models, db, "--allow-data-loss")
    assert applied.code == 0, applied.err
    assert columns(db, "hobby") == ["id", "name"]
    assert typed(db, "hobby", "name") == [(1, "chess", "text"), (2, "12", "text")]

    # 4. hobby.name String(100) -> Integer: refused over 'chess', then applied once numeric
    write_models(tmp_path, V4, "model.py")
    before = snapshot(db)
    refused = sync(models, db)
    assert refused.code == 1
    assert "hobby.name" in refused.err and "'chess'" in refused.err
    assert snapshot(db) == before
    execute(db, "UPDATE hobby SET name = '7' WHERE id = 1")
    applied = sync(models, db)
    assert applied.code == 0, applied.err
    assert typed(db, "hobby", "name") == [(1, 7, "integer"), (2, 12, "integer")]

    # 5. a table io, an unnamed FK friend.io_id -> io.id, and a many-to-many table
    write_models(tmp_path, V5, "model.py")
    execute(db, "INSERT INTO friend (id, name, city_id) VALUES (3, 'Cy', NULL)")
    applied = sync(models, db)
    assert applied.code == 0, applied.err
    execute(
        db,
        "INSERT INTO io (id, name) VALUES (1, 'board')",
        "UPDATE friend SET io_id = 1 WHERE id = 1",
        "INSERT INTO friend_mtm_hobby VALUES (1, 1), (2, 2)",
    )
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys = ON")
    try:
        conn.execute("UPDATE friend SET io_id = 99 WHERE id = 2")
        raise AssertionError("the new foreign key is not enforced")
    except sqlite3.IntegrityError as exc:
        assert "FOREIGN KEY" in str(exc)
    finally:
        conn.close()

    # every kept value, with its storage class
    assert rows(db, "SELECT id, name, typeof(name), city_id, io_id FROM friend ORDER BY id") == [
        (1, "Ann", "text", 1, 1),
        (2, "Bob", "text", 2, None),
        (3, "Cy", "text", None, None),
    ]
    assert rows(db, "SELECT id, name, typeof(name) FROM city ORDER BY id") == [
        (1, "Ghent", "text"),
        (2, "Oslo", "text"),
    ]
    assert typed(db, "hobby", "name") == [(1, 7, "integer"), (2, 12, "integer")]

    # converged: check is clean and a second sync is a no-op
    check = run_cli("check", f"{models}:Base", str(db))
    assert check.code == 0, check.out
    before = snapshot(db)
    again = sync(models, db)
    assert again.code == 0 and "nothing to do" in again.out
    assert snapshot(db) == before
    history = run_cli("history", str(db)).out.strip().splitlines()
    assert len(history) == 5
    current = run_cli("current", str(db)).out.strip()
    assert history[0].startswith(current)
