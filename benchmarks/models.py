"""The benchmark's models: the friend/city schema before and after the change.

- ``V1Base``: before. ``friend.score`` is ``VARCHAR(20)``, ``friend.address``
  exists and ``friend.city_id`` has no foreign key.
- ``V2Base``: after the full change. ``address`` is gone, ``score`` is
  ``INTEGER`` and ``city_id`` references ``city.id`` (a named FK, so Alembic's
  ``create_foreign_key`` can make the same constraint).
- ``V1DropBase``: v1 with only ``address`` dropped, the change SQLite's native
  ``ALTER TABLE DROP COLUMN`` can do.

The path benchmark (``bench_paths.py``) adds changes that need no copy at all:

- ``V1WidenBase``: v1 with only ``name`` ``VARCHAR(100)`` -> ``VARCHAR(200)``:
  the schema-only change ``bench_scale.py`` times, one in-place edit with no
  read of the rows.
- ``V1EditBase``: v1 with ``name`` ``VARCHAR(100)`` -> ``VARCHAR(200)`` (same
  TEXT affinity) and ``address``'s server default changed: no stored byte
  changes, so rebuilder edits the table's SQL in ``sqlite_schema`` in place;
  the new default first costs one UPDATE pass that writes the old default into
  rows that only read it from the definition (rows older than an ADD COLUMN).
- ``V1EditCheckedBase``: the same plus the FK ``city_id -> city.id`` and NOT
  NULL on ``email`` (the generator never writes a NULL email): still in place,
  after one validating read scan.
- ``V1AddBase``: v1 plus a nullable ``nickname`` with a constant default, for
  ``ALTER TABLE ADD COLUMN``.
- ``V1RenameBase``: v1 with ``address`` renamed ``street`` (synced with
  ``renames=["friend.address=street"]``), for ``ALTER TABLE RENAME COLUMN``.

The live benchmark (``bench_live.py``) adds ``V1TypeBase``: v1 with only
``score`` turned into ``INTEGER``, a lossless rebuild of ``friend``.

Each is its own declarative Base with its own MetaData, so one process can
hold them all; one factory (`_schema`) builds them all, so they differ only
where the change does.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import DeclarativeBase

FK_NAME = "fk_friend_city_id_city"
INDEXES = {
    "ix_friend_name": (("name",), False),
    "ux_friend_email": (("email",), True),
    "ix_friend_city_created": (("city_id", "created_at"), False),
}
"""Index name -> (key columns, unique): the same before and after."""

KEPT_COLUMNS = ("id", "name", "email", "score", "city_id", "created_at")
V1_COLUMNS = ("id", "name", "email", "score", "address", "city_id", "created_at")

EDIT_NAME_TYPE = "VARCHAR(200)"
EDIT_ADDRESS_DEFAULT = "n/a"
ADDED_COLUMN = "nickname"
ADDED_DEFAULT = "none"
RENAMED_TO = "street"


def _schema(
    *,
    name_length: int = 100,
    score_integer: bool = False,
    address: str | None = "address",
    address_default: str = "",
    email_nullable: bool = True,
    foreign_key: bool = False,
    added: bool = False,
) -> type[DeclarativeBase]:
    """Build one version of the city/friend schema as its own declarative Base.

    Args:
        name_length: The length of ``friend.name``.
        score_integer: Whether ``friend.score`` is INTEGER (else VARCHAR(20)).
        address: The name of the address column, or None for none.
        address_default: Its server default.
        email_nullable: Whether ``friend.email`` may be NULL.
        foreign_key: Whether ``friend.city_id`` references ``city.id``.
        added: Whether ``friend`` has the extra ``nickname`` column.
    """

    class Base(DeclarativeBase):
        pass

    Table("city", Base.metadata, Column("id", Integer, primary_key=True), Column("name", String(100)))
    city = ForeignKey("city.id", name=FK_NAME) if foreign_key else None
    columns = [
        Column("id", Integer, primary_key=True),
        Column("name", String(name_length), server_default=""),
        Column("email", String(200), nullable=email_nullable),
        Column("score", Integer if score_integer else String(20)),
        *([Column(address, String(100), server_default=address_default)] if address else []),
        Column("city_id", Integer, *([city] if city is not None else [])),
        Column("created_at", DateTime),
        *([Column(ADDED_COLUMN, String(50), server_default=ADDED_DEFAULT)] if added else []),
    ]
    indexes = [Index(name, *cols, unique=unique) for name, (cols, unique) in INDEXES.items()]
    Table("friend", Base.metadata, *columns, *indexes)
    return Base


V1Base = _schema()
V2Base = _schema(score_integer=True, address=None, foreign_key=True)
V1DropBase = _schema(address=None)
V1WidenBase = _schema(name_length=200)
V1EditBase = _schema(name_length=200, address_default=EDIT_ADDRESS_DEFAULT)
V1EditCheckedBase = _schema(
    name_length=200, address_default=EDIT_ADDRESS_DEFAULT, email_nullable=False, foreign_key=True
)
V1AddBase = _schema(added=True)
V1RenameBase = _schema(address=RENAMED_TO)
V1TypeBase = _schema(score_integer=True)
