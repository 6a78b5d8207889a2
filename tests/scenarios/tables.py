"""Whole-table changes: create, drop, rename."""

from __future__ import annotations

from scenarios import Scenario, accepts, change, rejects

USERS = """
class User(Base):
    __tablename__ = 'users'
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False)
"""

POSTS = """
class Post(Base):
    __tablename__ = 'posts'
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey('users.id', ondelete='CASCADE'), nullable=False, index=True)
    slug = Column(String(80), nullable=False, unique=True)
    title = Column(String(200), nullable=False)
    score = Column(Integer, nullable=False, server_default='0')
    __table_args__ = (
        CheckConstraint('score >= 0', name='ck_posts_score'),
        Index('ix_posts_user_title', 'user_id', 'title', unique=True),
    )
"""

AUDIT = """
class Audit(Base):
    __tablename__ = 'audit_log'
    id = Column(Integer, primary_key=True)
    event = Column(Text)
"""

USER_ROWS = ("INSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob'), (3, '42')",)

TABLE_NAMES = (
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE '%rebuilder%' ORDER BY name"
)

AUTHORS = """
class Author(Base):
    __tablename__ = '{table}'
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False, index=True)
    born = Column(Integer)

class Book(Base):
    __tablename__ = 'books'
    id = Column(Integer, primary_key=True)
    author_id = Column(Integer, ForeignKey('{table}.id'), index=True)
    title = Column(String(100))
"""

SCENARIOS: list[Scenario] = [
    change(
        "table-create-with-indexes-unique-fk-check",
        USERS,
        USERS + POSTS,
        [
            "create table posts",
            "create index ix_posts_user_id on posts",
            "create unique index ix_posts_user_title on posts",
        ],
        data=USER_ROWS,
        expect={
            TABLE_NAMES: (("posts",), ("users",)),
            'SELECT "table", "from", "to", on_delete FROM pragma_foreign_key_list(\'posts\')': (
                ("users", "user_id", "id", "CASCADE"),
            ),
            "SELECT name, \"unique\", origin FROM pragma_index_list('posts') ORDER BY name": (
                ("ix_posts_user_id", 0, "c"),
                ("ix_posts_user_title", 1, "c"),
                ("sqlite_autoindex_posts_1", 1, "u"),
            ),
        },
        probes=(
            accepts(
                "INSERT INTO posts (id, user_id, slug, title) VALUES (1, 1, 'hello', 'Hello')",
                "SELECT id, score, typeof(score) FROM posts",
                ((1, 0, "integer"),),
            ),
            rejects("INSERT INTO posts (id, user_id, slug, title, score) VALUES (1, 1, 'a', 'A', -1)"),
            rejects("INSERT INTO posts (id, user_id, slug, title) VALUES (1, 99, 'a', 'A')"),
            rejects(
                "INSERT INTO posts (id, user_id, slug, title) VALUES (1, 1, 'a', 'A')",
                "INSERT INTO posts (id, user_id, slug, title) VALUES (2, 2, 'a', 'B')",
            ),
            rejects(
                "INSERT INTO posts (id, user_id, slug, title) VALUES (1, 1, 'a', 'A')",
                "INSERT INTO posts (id, user_id, slug, title) VALUES (2, 1, 'b', 'A')",
            ),
            accepts(
                (
                    "INSERT INTO posts (id, user_id, slug, title) VALUES (1, 1, 'a', 'A'), (2, 2, 'b', 'B')",
                    "DELETE FROM users WHERE id = 1",
                ),
                "SELECT id, user_id FROM posts",
                ((2, 2),),
            ),
        ),
    ),
    change(
        "table-drop-empty",
        USERS + AUDIT,
        USERS,
        ["drop table audit_log"],
        data=USER_ROWS,
        expect={TABLE_NAMES: (("users",),)},
    ),
    change(
        "table-drop-with-rows",
        USERS + AUDIT,
        USERS,
        ["drop table audit_log"],
        data=(*USER_ROWS, "INSERT INTO audit_log (id, event) VALUES (1, 'login')"),
        allow_data_loss=True,
        expect={TABLE_NAMES: (("users",),)},
    ),
    change(
        "table-rename-fk-follows",
        AUTHORS.format(table="authors"),
        AUTHORS.format(table="writers"),
        [
            "rename table authors -> writers",
            "drop index ix_authors_name on writers",
            "create index ix_writers_name on writers",
        ],
        data=(
            "INSERT INTO authors (id, name, born) VALUES (1, 'Le Guin', 1929), (2, 'Lem', NULL), "
            "(3, 'X', '7')",
            "INSERT INTO books (id, author_id, title) VALUES (1, 1, 'Earthsea'), (2, 2, 'Solaris'), "
            "(3, NULL, 'Anon'), (4, 1, X'00ff')",
        ),
        table_renames=("authors=writers",),
        expect={
            TABLE_NAMES: (("books",), ("writers",)),
            'SELECT "table", "from", "to" FROM pragma_foreign_key_list(\'books\')': (
                ("writers", "author_id", "id"),
            ),
            "SELECT id, name, born, typeof(born) FROM writers ORDER BY id": (
                (1, "Le Guin", 1929, "integer"),
                (2, "Lem", None, "null"),
                (3, "X", 7, "integer"),
            ),
            "SELECT b.id, w.name FROM books AS b JOIN writers AS w ON w.id = b.author_id ORDER BY b.id": (
                (1, "Le Guin"),
                (2, "Lem"),
                (4, "Le Guin"),
            ),
        },
        probes=(
            rejects("INSERT INTO books (id, author_id, title) VALUES (9, 99, 'orphan')"),
            accepts(
                "INSERT INTO books (id, author_id, title) VALUES (9, 3, 'ok')",
                "SELECT author_id FROM books WHERE id = 9",
                ((3,),),
            ),
        ),
    ),
]
