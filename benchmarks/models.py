"""The benchmark's models: the friend/city schema before and after the change.

- ``V1Base``: before. ``friend.score`` is ``VARCHAR(20)``, ``friend.address``
  exists and ``friend.city_id`` has no foreign key.
- ``V2Base``: after the full change. ``address`` is gone, ``score`` is
  ``INTEGER`` and ``city_id`` references ``city.id`` (a named FK, so Alembic's
  ``create_foreign_key`` can make the same constraint).
- ``V1DropBase``: v1 with only ``address`` dropped, the change SQLite's native
  ``ALTER TABLE DROP COLUMN`` can do.

The path benchmark (``bench_paths.py``) adds changes that need no copy at all:

- ``V1EditBase``: v1 with ``name`` ``VARCHAR(100)`` -> ``VARCHAR(200)`` (same
  TEXT affinity) and ``address``'s server default changed: no stored byte
  changes, so rebuilder edits the table's SQL in ``sqlite_schema`` in place.
- ``V1EditCheckedBase``: the same plus the FK ``city_id -> city.id`` and NOT
  NULL on ``email`` (the generator never writes a NULL email): still in place,
  after one validating read scan.
- ``V1AddBase``: v1 plus a nullable ``nickname`` with a constant default, for
  ``ALTER TABLE ADD COLUMN``.
- ``V1RenameBase``: v1 with ``address`` renamed ``street`` (synced with
  ``renames=["friend.address=street"]``), for ``ALTER TABLE RENAME COLUMN``.

Each is its own declarative Base with its own MetaData, so one process can
hold them all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

FK_NAME = "fk_friend_city_id_city"
INDEXES = {
    "ix_friend_name": (("name",), False),
    "ux_friend_email": (("email",), True),
    "ix_friend_city_created": (("city_id", "created_at"), False),
}
"""Index name -> (key columns, unique): the same before and after."""

KEPT_COLUMNS = ("id", "name", "email", "score", "city_id", "created_at")
V1_COLUMNS = ("id", "name", "email", "score", "address", "city_id", "created_at")


def _indexes() -> tuple[Index, ...]:
    return tuple(Index(name, *cols, unique=unique) for name, (cols, unique) in INDEXES.items())


class V1Base(DeclarativeBase):
    pass


class V1City(V1Base):
    __tablename__ = "city"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))


class V1Friend(V1Base):
    __tablename__ = "friend"
    __table_args__ = _indexes()
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100), server_default="")
    email: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(100), server_default="")
    city_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime | None] = mapped_column(DateTime)


class V2Base(DeclarativeBase):
    pass


class V2City(V2Base):
    __tablename__ = "city"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))


class V2Friend(V2Base):
    __tablename__ = "friend"
    __table_args__ = _indexes()
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100), server_default="")
    email: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[int | None] = mapped_column(Integer)
    city_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("city.id", name=FK_NAME))
    created_at: Mapped[datetime | None] = mapped_column(DateTime)


class V1DropBase(DeclarativeBase):
    pass


class V1DropCity(V1DropBase):
    __tablename__ = "city"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))


class V1DropFriend(V1DropBase):
    __tablename__ = "friend"
    __table_args__ = _indexes()
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100), server_default="")
    email: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[str | None] = mapped_column(String(20))
    city_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime | None] = mapped_column(DateTime)


# The path benchmark's models (bench_paths.py): changes SQLite can make without a copy.

EDIT_NAME_TYPE = "VARCHAR(200)"
EDIT_ADDRESS_DEFAULT = "n/a"
ADDED_COLUMN = "nickname"
ADDED_DEFAULT = "none"
RENAMED_TO = "street"


class V1EditBase(DeclarativeBase):
    pass


class V1EditCity(V1EditBase):
    __tablename__ = "city"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))


class V1EditFriend(V1EditBase):
    __tablename__ = "friend"
    __table_args__ = _indexes()
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200), server_default="")
    email: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(100), server_default=EDIT_ADDRESS_DEFAULT)
    city_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime | None] = mapped_column(DateTime)


class V1EditCheckedBase(DeclarativeBase):
    pass


class V1EditCheckedCity(V1EditCheckedBase):
    __tablename__ = "city"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))


class V1EditCheckedFriend(V1EditCheckedBase):
    __tablename__ = "friend"
    __table_args__ = _indexes()
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200), server_default="")
    email: Mapped[str] = mapped_column(String(200), nullable=False)
    score: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(100), server_default=EDIT_ADDRESS_DEFAULT)
    city_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("city.id", name=FK_NAME))
    created_at: Mapped[datetime | None] = mapped_column(DateTime)


class V1AddBase(DeclarativeBase):
    pass


class V1AddCity(V1AddBase):
    __tablename__ = "city"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))


class V1AddFriend(V1AddBase):
    __tablename__ = "friend"
    __table_args__ = _indexes()
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100), server_default="")
    email: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(100), server_default="")
    city_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    nickname: Mapped[str | None] = mapped_column(String(50), server_default=ADDED_DEFAULT)


class V1RenameBase(DeclarativeBase):
    pass


class V1RenameCity(V1RenameBase):
    __tablename__ = "city"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))


class V1RenameFriend(V1RenameBase):
    __tablename__ = "friend"
    __table_args__ = _indexes()
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100), server_default="")
    email: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[str | None] = mapped_column(String(20))
    street: Mapped[str | None] = mapped_column(String(100), server_default="")
    city_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
