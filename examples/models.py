"""Example models: the friend/city/hobby app from the story rebuilder ends.

Run ``make demo`` (or ``rebuilder sync examples/models.py:Base demo.db``), then
edit these models (add ``Hobby.address``, drop it again, make ``Hobby.name``
an Integer, add an unnamed foreign key) and sync again: no migration scripts,
no batch mode, no constraint names.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

friend_mtm_hobby = Table(
    "friend_mtm_hobby",
    Base.metadata,
    Column("friend_id", Integer, ForeignKey("friend.id"), primary_key=True),
    Column("hobby_id", Integer, ForeignKey("hobby.id"), primary_key=True),
)


class City(Base):
    __tablename__ = "city"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), server_default="")
    friends = relationship("Friend", back_populates="city")


class Friend(Base):
    __tablename__ = "friend"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), server_default="")
    city_id = Column(Integer, ForeignKey("city.id"))
    city = relationship("City", back_populates="friends")
    hobbies = relationship("Hobby", secondary=friend_mtm_hobby, back_populates="friends")


class Hobby(Base):
    __tablename__ = "hobby"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), server_default="")
    friends = relationship("Friend", secondary=friend_mtm_hobby, back_populates="hobbies")
