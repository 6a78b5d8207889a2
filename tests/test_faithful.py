"""Faithful rebuilds (issue 4): everything a table carries survives, whatever it is called.

Every test works on a real file and forces a rebuild of a table (usually by
changing the type of a ``pad`` column from INTEGER to TEXT, an affinity change
that cannot be done in place). It then checks values, not counts: trigger side
effects, view rows, index definitions read back from ``index_xinfo``, the next
AUTOINCREMENT id, rowids, child rows and the behaviour of constraints. Every
test ends with `converged`: ``check`` is empty and a second sync changes nothing.

The data-driven scenarios in ``tests/scenarios/`` already cover plain rebuilds
of WITHOUT ROWID, STRICT, generated-column and shadowed-rowid tables; the tests
here cover what they do not: dependents, kept indexes, sequences, rowid gaps,
inbound foreign keys on a caller's connection, objects rebuilder does not own,
renames that reach into CHECKs, indexes, triggers and views, and awkward names.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import Models, execute, models_file, quote, rows, run_cli, snapshot
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

import rebuilder
from rebuilder.errors import DataLossRefused, DependentBroken, RebuilderError
from rebuilder.results import SyncResult
from rebuilder.steps import RebuildStep

Row = tuple[Any, ...]


# --- helpers -------------------------------------------------------------------


def pad(rebuild: bool) -> Column[Any]:
    """A column whose INTEGER -> TEXT change (an affinity change) only a rebuild can make."""
    return Column("pad", Text if rebuild else Integer)


def rebuilt(result: SyncResult) -> set[str]:
    """The tables a sync rebuilt with create-copy-drop-rename."""
    return {step.new.name for step in result.steps if isinstance(step, RebuildStep)}


def converged(target: object, db: Path, exclude: Iterable[str] = ()) -> None:
    """``check`` is empty, nothing is planned, and a second sync changes nothing at all."""
    patterns = list(exclude)
    assert rebuilder.check(target, db, exclude=patterns) == []
    before = snapshot(db)
    assert rebuilder.plan(target, db, exclude=patterns).steps == ()
    assert rebuilder.sync(target, db, exclude=patterns).steps == ()
    assert snapshot(db) == before


def schema(db: Path, where: str = "1", params: tuple[object, ...] = ()) -> list[Row]:
    """Rows of ``sqlite_schema`` (type, name, tbl_name, sql) matching ``where``."""
    return rows(
        db, f"SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE {where} ORDER BY 1, 2", params
    )


def table_sql(db: Path, table: str) -> str:
    found = rows(db, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", (table,))
    return str(found[0][0])


def indexes(db: Path, table: str) -> dict[str, Row]:
    """Each index of ``table``: (unique, origin, partial, sql, index_xinfo rows)."""
    found: dict[str, Row] = {}
    for _seq, name, unique, origin, partial in rows(db, f"PRAGMA index_list({quote(table)})"):
        sql = rows(db, "SELECT sql FROM sqlite_schema WHERE name = ?", (name,))
        found[name] = (
            unique,
            origin,
            partial,
            sql[0][0] if sql else None,
            rows(db, f"PRAGMA index_xinfo({quote(name)})"),
        )
    return found


def xinfo(db: Path, table: str) -> list[Row]:
    return rows(db, f"PRAGMA table_xinfo({quote(table)})")


def table_list(db: Path) -> list[Row]:
    return rows(db, "SELECT schema, name, type, ncol, wr, strict FROM pragma_table_list ORDER BY 1, 2")


@contextmanager
def enforcing(db: Path) -> Iterator[sqlite3.Connection]:
    """An autocommit connection with foreign keys enforced."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    try:
        yield conn
    finally:
        conn.close()


# --- a small shop: items, their audit log, and orders that write to items ------


def shop(rebuild: bool = False, legacy: bool = False, name: str = "items") -> MetaData:
    md = MetaData()
    Table(
        name,
        md,
        Column("id", Integer, primary_key=True),
        Column("name", String(50), nullable=False),
        Column("qty", Integer, nullable=False, server_default="0"),
        pad(rebuild),
        *([Column("legacy", Text)] if legacy else []),
    )
    Table(
        "audit", md, Column("id", Integer, primary_key=True), Column("item_id", Integer), Column("what", Text)
    )
    Table(
        "orders",
        md,
        Column("id", Integer, primary_key=True),
        Column("item_id", Integer),
        Column("n", Integer),
    )
    return md


SHOP_ROWS = (
    "INSERT INTO items (id, name, qty) VALUES (1, 'apple', 10), (2, 'banana', 3), (3, 'cherry', 0)",
    "INSERT INTO orders (item_id, n) VALUES (1, 2), (1, 1), (2, 5)",
)

SHOP_TRIGGERS = (
    "CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN "
    "INSERT INTO audit (item_id, what) VALUES (new.id, 'insert ' || new.name); END",
    "CREATE TRIGGER items_bu BEFORE UPDATE OF qty ON items WHEN new.qty < 0 BEGIN "
    "SELECT RAISE(ABORT, 'negative stock'); END",
    "CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN "
    "INSERT INTO audit (item_id, what) VALUES (old.id, 'delete ' || old.name); END",
    # A trigger on another table whose body writes to items.
    "CREATE TRIGGER orders_ai AFTER INSERT ON orders BEGIN "
    "UPDATE items SET qty = qty - new.n WHERE id = new.item_id; "
    "INSERT INTO items (name) SELECT 'restock ' || new.item_id "
    "WHERE (SELECT qty FROM items WHERE id = new.item_id) = 0; END",
)

SHOP_VIEWS = (
    "CREATE VIEW stock AS SELECT i.id, i.name, i.qty, count(o.id) AS orders, sum(o.n) AS ordered "
    "FROM items AS i LEFT JOIN orders AS o ON o.item_id = i.id GROUP BY i.id",
    "CREATE VIEW low_stock AS SELECT name, qty, orders FROM stock WHERE qty < 5",
)

INSTEAD_OF = (
    "CREATE TRIGGER stock_insert INSTEAD OF INSERT ON stock BEGIN "
    "INSERT INTO items (id, name, qty) VALUES (new.id, new.name, new.qty); END"
)


def test_triggers_on_the_table_and_on_others_that_write_to_it_survive_and_fire(db: Path) -> None:
    rebuilder.sync(shop(), db)
    execute(db, *SHOP_ROWS, *SHOP_TRIGGERS)
    triggers = schema(db, "type = 'trigger'")

    assert rebuilt(rebuilder.sync(shop(rebuild=True), db)) == {"items"}

    assert schema(db, "type = 'trigger'") == triggers
    with enforcing(db) as conn:
        conn.execute("INSERT INTO items (id, name, qty) VALUES (10, 'pear', 5)")
        with pytest.raises(sqlite3.IntegrityError, match="negative stock"):
            conn.execute("UPDATE items SET qty = -1 WHERE id = 10")
        conn.execute("INSERT INTO orders (item_id, n) VALUES (10, 5)")
        conn.execute("DELETE FROM items WHERE id = 1")
    assert rows(db, "SELECT item_id, what FROM audit ORDER BY id") == [
        (10, "insert pear"),
        (11, "insert restock 10"),
        (1, "delete apple"),
    ]
    assert rows(db, "SELECT id, name, qty FROM items ORDER BY id") == [
        (2, "banana", 3),
        (3, "cherry", 0),
        (10, "pear", 0),
        (11, "restock 10", 0),
    ]
    converged(shop(rebuild=True), db)


def test_views_over_the_table_and_over_a_view_return_the_same_rows(db: Path) -> None:
    rebuilder.sync(shop(), db)
    execute(db, *SHOP_ROWS, *SHOP_VIEWS)
    dependents = schema(db, "type IN ('view', 'trigger')")
    stock = rows(db, "SELECT * FROM stock ORDER BY id")
    low = rows(db, "SELECT * FROM low_stock ORDER BY name")
    assert stock == [(1, "apple", 10, 2, 3), (2, "banana", 3, 1, 5), (3, "cherry", 0, 0, None)]
    assert low == [("banana", 3, 1), ("cherry", 0, 0)]

    assert rebuilt(rebuilder.sync(shop(rebuild=True), db)) == {"items"}

    assert schema(db, "type IN ('view', 'trigger')") == dependents
    assert rows(db, "SELECT * FROM stock ORDER BY id") == stock
    assert rows(db, "SELECT * FROM low_stock ORDER BY name") == low
    with enforcing(db) as conn:
        conn.execute("INSERT INTO items (id, name, qty) VALUES (7, 'fig', 1)")
    assert rows(db, "SELECT * FROM low_stock ORDER BY name") == [*low, ("fig", 1, 0)]
    converged(shop(rebuild=True), db)


@pytest.mark.parametrize(
    "rebuild",
    [
        pytest.param(False, id="rename-only"),
        pytest.param(True, id="rename-and-rebuild"),
    ],
)
def test_a_table_rename_keeps_its_triggers_and_those_that_write_to_it(db: Path, rebuild: bool) -> None:
    rebuilder.sync(shop(), db)
    execute(db, *SHOP_ROWS, *SHOP_TRIGGERS)

    result = rebuilder.sync(shop(rebuild=rebuild, name="goods"), db, table_renames=["items=goods"])

    assert rebuilt(result) == ({"goods"} if rebuild else set())
    assert [r[1:3] for r in schema(db, "type = 'trigger'")] == [
        ("items_ad", "goods"),
        ("items_ai", "goods"),
        ("items_bu", "goods"),
        ("orders_ai", "orders"),
    ]
    with enforcing(db) as conn:
        conn.execute("INSERT INTO goods (id, name, qty) VALUES (10, 'pear', 5)")
        conn.execute("INSERT INTO orders (item_id, n) VALUES (10, 5)")
    assert rows(db, "SELECT item_id, what FROM audit ORDER BY id") == [
        (10, "insert pear"),
        (11, "insert restock 10"),
    ]
    assert rows(db, "SELECT id, qty FROM goods WHERE id >= 10 ORDER BY id") == [(10, 0), (11, 0)]
    converged(shop(rebuild=rebuild, name="goods"), db)


def test_an_instead_of_trigger_on_a_view_over_the_table_survives_and_fires(db: Path) -> None:
    rebuilder.sync(shop(), db)
    execute(db, *SHOP_ROWS, *SHOP_VIEWS, INSTEAD_OF)
    dependents = schema(db, "type IN ('view', 'trigger')")

    assert rebuilt(rebuilder.sync(shop(rebuild=True), db)) == {"items"}

    assert schema(db, "type IN ('view', 'trigger')") == dependents
    with enforcing(db) as conn:
        conn.execute("INSERT INTO stock (id, name, qty) VALUES (7, 'fig', 1)")
    assert rows(db, "SELECT id, name, qty, orders FROM stock WHERE id = 7") == [(7, "fig", 1, 0)]
    converged(shop(rebuild=True), db)


@pytest.mark.parametrize(
    ("kind", "name", "statements"),
    [
        pytest.param(
            "view", "legacy_view", ("CREATE VIEW legacy_view AS SELECT id, legacy FROM items",), id="view"
        ),
        pytest.param(
            "view",
            "legacy_names",
            (
                "CREATE VIEW all_items AS SELECT * FROM items",
                "CREATE VIEW legacy_names AS SELECT name, legacy FROM all_items",
            ),
            id="view-over-view",
        ),
        pytest.param(
            "trigger",
            "items_legacy",
            (
                "CREATE TRIGGER items_legacy AFTER INSERT ON items BEGIN "
                "UPDATE items SET legacy = 'new' WHERE id = new.id; END",
            ),
            id="trigger-on-table",
        ),
        pytest.param(
            "trigger",
            "audit_legacy",
            (
                "CREATE TRIGGER audit_legacy AFTER INSERT ON audit BEGIN "
                "UPDATE items SET legacy = new.what WHERE id = new.item_id; END",
            ),
            id="trigger-on-other-table",
        ),
    ],
)
def test_a_view_or_trigger_on_a_dropped_column_makes_the_sync_refuse(
    db: Path, kind: str, name: str, statements: tuple[str, ...]
) -> None:
    rebuilder.sync(shop(legacy=True), db)
    execute(db, *SHOP_ROWS, "UPDATE items SET legacy = 'old ' || name", *statements)
    before = snapshot(db)

    with pytest.raises(DependentBroken) as caught:
        rebuilder.sync(shop(), db, allow_data_loss=True)

    assert (caught.value.kind, caught.value.name) == (kind, name)
    assert name in str(caught.value)
    assert "legacy" in str(caught.value)
    assert snapshot(db) == before
    converged(shop(legacy=True), db)


# --- kept indexes --------------------------------------------------------------


def catalog(rebuild: bool = False) -> MetaData:
    md = MetaData()
    products = Table(
        "products",
        md,
        Column("id", Integer, primary_key=True),
        Column("name", String(50), nullable=False),
        Column("code", String(10)),
        Column("qty", Integer),
        Column("price", Numeric(10, 2)),
        pad(rebuild),
        UniqueConstraint("name", "price", name="uq_products_name_price"),
    )
    c = products.c
    Index("ix_products_in_stock", c.name, sqlite_where=c.qty > 0)
    Index("ix_products_lower_name", func.lower(c.name))
    Index("ix_products_qty_desc", c.qty.desc(), c.price)
    Index("ix_products_name_nocase", c.name.collate("NOCASE"))
    Index("ux_products_code", c.code, unique=True)
    Index("ux_products_live_code", func.lower(c.code), unique=True, sqlite_where=c.qty > 0)
    return md


def test_kept_indexes_come_back_with_their_names_and_definitions(db: Path) -> None:
    rebuilder.sync(catalog(), db)
    execute(
        db,
        "INSERT INTO products (id, name, code, qty, price) VALUES "
        "(1, 'Lamp', 'abc', 2, 9.5), (2, 'desk', 'xyz', 0, 120), (3, 'Chair', NULL, 5, 40)",
    )
    before = indexes(db, "products")
    assert set(before) == {
        "ix_products_in_stock",
        "ix_products_lower_name",
        "ix_products_qty_desc",
        "ix_products_name_nocase",
        "ux_products_code",
        "ux_products_live_code",
        "sqlite_autoindex_products_1",
    }
    # (unique, partial) as index_list reports them, and the xinfo of the tricky ones.
    assert before["ux_products_live_code"][:3] == (1, "c", 1)
    assert before["ix_products_in_stock"][:3] == (0, "c", 1)
    assert before["ix_products_qty_desc"][4][0][3] == 1  # DESC
    assert before["ix_products_name_nocase"][4][0][4] == "NOCASE"
    assert before["ix_products_lower_name"][4][0][1] == -2  # an expression key

    assert rebuilt(rebuilder.sync(catalog(rebuild=True), db)) == {"products"}

    assert indexes(db, "products") == before
    with enforcing(db) as conn:
        with pytest.raises(sqlite3.IntegrityError, match=r"products\.code"):
            conn.execute("INSERT INTO products (name, code, qty) VALUES ('lamp 2', 'abc', 0)")
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            conn.execute("INSERT INTO products (name, code, qty) VALUES ('LAMP', 'ABC', 1)")
        conn.execute("INSERT INTO products (name, code, qty) VALUES ('LAMP', 'ABC', 0)")
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM products WHERE lower(name) = 'lamp'"
        ).fetchall()
        assert "ix_products_lower_name" in " ".join(str(r[-1]) for r in plan)
    converged(catalog(rebuild=True), db)


# --- AUTOINCREMENT ---------------------------------------------------------------


def events(rebuild: bool = False) -> MetaData:
    md = MetaData()
    Table(
        "events",
        md,
        Column("id", Integer, primary_key=True),
        Column("what", Text),
        pad(rebuild),
        sqlite_autoincrement=True,
    )
    return md


def test_autoincrement_keeps_its_keyword_and_high_water_mark(db: Path) -> None:
    rebuilder.sync(events(), db)
    execute(
        db,
        *(f"INSERT INTO events (what) VALUES ('event {n}')" for n in range(1, 41)),
        "DELETE FROM events WHERE id >= 35",
    )
    assert rows(db, "SELECT name, seq FROM sqlite_sequence") == [("events", 40)]

    assert rebuilt(rebuilder.sync(events(rebuild=True), db)) == {"events"}

    assert "AUTOINCREMENT" in table_sql(db, "events").upper()
    assert rows(db, "SELECT name, seq FROM sqlite_sequence") == [("events", 40)]
    assert rows(db, "SELECT id, what FROM events ORDER BY id") == [(n, f"event {n}") for n in range(1, 35)]
    converged(events(rebuild=True), db)
    with enforcing(db) as conn:
        conn.execute("INSERT INTO events (what) VALUES ('next')")
    assert rows(db, "SELECT id FROM events WHERE what = 'next'") == [(41,)]
    assert rows(db, "SELECT name, seq FROM sqlite_sequence") == [("events", 41)]


# --- rowids ----------------------------------------------------------------------


def keyed(kind: str, rebuild: bool = False) -> MetaData:
    """A table ``t`` with columns code and label, keyed in one of several ways."""
    md = MetaData()
    code_type: Any = BigInteger if kind == "bigint-pk" else String(10)
    keys = {
        "string-pk": ("code",),
        "bigint-pk": ("code",),
        "composite-pk": ("code", "label"),
        "no-pk": (),
        "without-rowid": ("code",),
    }[kind]
    Table(
        "t",
        md,
        Column("code", code_type, primary_key="code" in keys),
        Column("label", String(20), primary_key="label" in keys),
        pad(rebuild),
        sqlite_with_rowid=kind != "without-rowid",
    )
    return md


@pytest.mark.parametrize("kind", ["string-pk", "bigint-pk", "composite-pk", "no-pk"])
def test_rowids_of_a_table_without_integer_primary_key_are_kept_with_their_gaps(db: Path, kind: str) -> None:
    rebuilder.sync(keyed(kind), db)
    execute(
        db,
        "INSERT INTO t (rowid, code, label) VALUES (1, 30, 'one'), (7, 20, 'seven'), "
        "(1000, 10, 'thousand'), (5000, 40, 'five thousand')",
        "DELETE FROM t WHERE rowid = 7",
    )
    before = rows(db, "SELECT rowid, code, typeof(code), label FROM t ORDER BY rowid")
    assert [r[0] for r in before] == [1, 1000, 5000]

    assert rebuilt(rebuilder.sync(keyed(kind, rebuild=True), db)) == {"t"}

    assert rows(db, "SELECT rowid, code, typeof(code), label FROM t ORDER BY rowid") == before
    assert rows(db, "SELECT rowid FROM t WHERE label = 'thousand'") == [(1000,)]
    converged(keyed(kind, rebuild=True), db)


def test_a_without_rowid_table_rebuilds_with_its_rows(db: Path) -> None:
    rebuilder.sync(keyed("without-rowid"), db)
    execute(db, "INSERT INTO t (code, label) VALUES ('b', 'bee'), ('a', 'ay'), ('c', NULL)")
    before = rows(db, "SELECT code, label, typeof(label) FROM t ORDER BY code")

    assert rebuilt(rebuilder.sync(keyed("without-rowid", rebuild=True), db)) == {"t"}

    assert rows(db, "SELECT code, label, typeof(label) FROM t ORDER BY code") == before
    assert rows(db, "SELECT wr FROM pragma_table_list WHERE name = 't'") == [(1,)]
    assert "WITHOUT ROWID" in table_sql(db, "t").upper()
    converged(keyed("without-rowid", rebuild=True), db)


# --- foreign keys into the rebuilt table -------------------------------------------


def family(rebuild: bool = False) -> MetaData:
    md = MetaData()
    Table(
        "parents",
        md,
        Column("id", Integer, primary_key=True),
        Column("name", String(50)),
        Column("boss_id", Integer, ForeignKey("parents.id", ondelete="CASCADE")),
        pad(rebuild),
    )
    Table(
        "kids",
        md,
        Column("id", Integer, primary_key=True),
        Column("parent_id", Integer, ForeignKey("parents.id", ondelete="CASCADE")),
        Column("name", String(50)),
    )
    Table(
        "pets",
        md,
        Column("id", Integer, primary_key=True),
        Column("owner_id", Integer, ForeignKey("parents.id", ondelete="SET NULL")),
        Column("name", String(50)),
    )
    return md


FAMILY_ROWS = (
    "INSERT INTO parents (id, name, boss_id) VALUES (1, 'ann', NULL), (2, 'bob', 1), (3, 'cid', 2)",
    "INSERT INTO kids (id, parent_id, name) VALUES (1, 1, 'k1'), (2, 2, 'k2'), (3, 3, 'k3'), (4, 1, 'k4')",
    "INSERT INTO pets (id, owner_id, name) VALUES (1, 1, 'rex'), (2, 3, 'tom'), (3, NULL, 'stray')",
)


def family_rows(db: Path) -> dict[str, list[Row]]:
    return {t: rows(db, f"SELECT * FROM {t} ORDER BY id") for t in ("parents", "kids", "pets")}


def test_children_of_a_rebuilt_parent_survive_a_caller_connection_with_foreign_keys_on(db: Path) -> None:
    rebuilder.sync(family(), db)
    execute(db, *FAMILY_ROWS)
    before = family_rows(db)
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA foreign_keys = ON")

        assert rebuilt(rebuilder.sync(family(rebuild=True), conn)) == {"parents"}

        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert family_rows(db) == before
        assert rows(db, "PRAGMA foreign_key_check") == []
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            conn.execute("INSERT INTO kids (id, parent_id, name) VALUES (9, 99, 'orphan')")
        conn.rollback()
        # The actions still fire: deleting ann cascades to her kids, to bob and cid, and nulls the pets.
        conn.execute("DELETE FROM parents WHERE id = 1")
        assert conn.execute("SELECT id FROM parents").fetchall() == []
        assert conn.execute("SELECT id FROM kids").fetchall() == []
        assert conn.execute("SELECT id, owner_id FROM pets ORDER BY id").fetchall() == [
            (1, None),
            (2, None),
            (3, None),
        ]
        conn.rollback()
    finally:
        conn.close()
    assert family_rows(db) == before
    converged(family(rebuild=True), db)


def test_a_caller_connection_inside_an_open_transaction_is_refused(db: Path) -> None:
    rebuilder.sync(family(), db)
    execute(db, *FAMILY_ROWS)
    before = snapshot(db)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM kids").fetchall()

        with pytest.raises(RebuilderError, match="open transaction"):
            rebuilder.sync(family(rebuild=True), conn)

        assert conn.in_transaction
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    assert snapshot(db) == before
    converged(family(), db)


# --- column details: COLLATE, STRICT, generated columns, type names -------------------


def gadgets(rebuild: bool = False) -> MetaData:
    md = MetaData()
    Table(
        "gadgets",
        md,
        Column("id", Integer, primary_key=True),
        Column("code", String(10, collation="NOCASE"), unique=True),
        Column("price", Numeric(10, 2)),
        Column("big", BigInteger),
        Column("made", DateTime),
        Column("ratio", Float),
        Column("blob", LargeBinary),
        Column("flag", Boolean),
        Column("w", Integer),
        Column("h", Integer),
        Column("area", Integer, Computed("w * h", persisted=False)),
        Column("perimeter", Integer, Computed("2 * (w + h)", persisted=True)),
        pad(rebuild),
    )
    Table(
        "readings",
        md,
        Column("id", Integer, primary_key=True),
        Column("value", Integer),
        Column("label", Text),
        Column("raw", LargeBinary),
        Column("twice", Integer, Computed("value * 2", persisted=True)),
        pad(rebuild),
        sqlite_strict=True,
    )
    return md


def test_collations_strict_generated_columns_and_type_names_are_kept(db: Path) -> None:
    rebuilder.sync(gadgets(), db)
    execute(
        db,
        "INSERT INTO gadgets (id, code, price, big, made, ratio, blob, flag, w, h) VALUES "
        "(1, 'a', 9.99, 9007199254740993, '2024-01-02 03:04:05', 0.5, x'00ff', 1, 3, 4), "
        "(2, 'Bb', '12', NULL, NULL, NULL, NULL, 0, NULL, 2)",
        "INSERT INTO readings (id, value, label, raw) VALUES (1, 5, 'five', x'05'), (2, NULL, NULL, NULL)",
    )
    columns = {t: xinfo(db, t) for t in ("gadgets", "readings")}
    data = {t: rows(db, f"SELECT * FROM {t} ORDER BY id") for t in ("gadgets", "readings")}
    assert rows(db, "SELECT area, perimeter FROM gadgets ORDER BY id") == [(12, 14), (None, None)]
    assert rows(db, "SELECT twice FROM readings ORDER BY id") == [(10,), (None,)]
    types = {r[1]: r[2] for r in columns["gadgets"]}
    assert types["price"] == "NUMERIC(10, 2)"
    assert types["code"] == "VARCHAR(10)"
    assert (types["big"], types["made"], types["flag"]) == ("BIGINT", "DATETIME", "BOOLEAN")

    assert rebuilt(rebuilder.sync(gadgets(rebuild=True), db)) == {"gadgets", "readings"}

    for table, before in columns.items():
        expected = [r if r[1] != "pad" else (*r[:2], "TEXT", *r[3:]) for r in before]
        assert xinfo(db, table) == expected
    assert [(r[1], r[6]) for r in xinfo(db, "gadgets") if r[6]] == [("area", 2), ("perimeter", 3)]
    assert {t: rows(db, f"SELECT * FROM {t} ORDER BY id") for t in data} == data
    assert rows(
        db, "SELECT name, strict FROM pragma_table_list WHERE name IN ('gadgets', 'readings') ORDER BY 1"
    ) == [
        ("gadgets", 0),
        ("readings", 1),
    ]
    assert 'COLLATE "NOCASE"' in table_sql(db, "gadgets")
    with enforcing(db) as conn:
        with pytest.raises(sqlite3.IntegrityError, match=r"gadgets\.code"):
            conn.execute("INSERT INTO gadgets (code) VALUES ('A')")
        conn.execute("INSERT INTO gadgets (id, code, w, h) VALUES (3, 'c', 5, 6)")
        with pytest.raises(sqlite3.IntegrityError, match="cannot store TEXT value in INTEGER column"):
            conn.execute("INSERT INTO readings (value) VALUES ('abc')")
        conn.execute("INSERT INTO readings (id, value) VALUES (3, 21)")
    assert rows(db, "SELECT area, perimeter FROM gadgets WHERE id = 3") == [(30, 22)]
    assert rows(db, "SELECT twice FROM readings WHERE id = 3") == [(42,)]
    converged(gadgets(rebuild=True), db)


# --- objects SQLite owns: FTS5 tables, their shadows, sqlite_stat1 ---------------------


def books(version: int) -> MetaData:
    md = MetaData()
    Table(
        "books",
        md,
        Column("isbn", String(13), primary_key=True),
        Column("title", Text, nullable=False),
        pad(version >= 2),
        *([Column("note", Text)] if version >= 3 else []),
    )
    if version == 3:
        Table("authors", md, Column("id", Integer, primary_key=True), Column("name", Text))
    return md


FTS = (
    "CREATE VIRTUAL TABLE notes_fts USING fts5(body)",
    "INSERT INTO notes_fts (body) VALUES ('the quick brown fox'), ('lazy dogs sleep'), ('cherry blossom')",
    # External content over books, keyed on its hidden rowid, kept current by triggers.
    "CREATE VIRTUAL TABLE books_fts USING fts5(title, content='books', content_rowid='rowid')",
    "CREATE TRIGGER books_fts_ai AFTER INSERT ON books BEGIN "
    "INSERT INTO books_fts (rowid, title) VALUES (new.rowid, new.title); END",
    "CREATE TRIGGER books_fts_ad AFTER DELETE ON books BEGIN "
    "INSERT INTO books_fts (books_fts, rowid, title) VALUES ('delete', old.rowid, old.title); END",
    "INSERT INTO books (rowid, isbn, title) VALUES (5, '111', 'apple pie'), (9, '222', 'banana bread'), "
    "(700, '333', 'cherry tart')",
    "DELETE FROM books WHERE isbn = '222'",
    "ANALYZE",
)


def owned_by_sqlite(db: Path) -> dict[str, object]:
    """The schema rows and contents of the FTS tables, their shadow tables and sqlite_stat1.

    The statistics of ``books`` itself, the table being rebuilt, are left to
    `test_planner_statistics_of_a_rebuilt_table_survive`.
    """
    names = [
        r[0]
        for r in rows(
            db, "SELECT name FROM sqlite_schema WHERE name LIKE '%fts%' OR name LIKE 'sqlite_stat%'"
        )
    ]
    found: dict[str, object] = {"schema": schema(db, "name LIKE '%fts%' OR name LIKE 'sqlite_stat%'")}
    for name in names:
        if rows(db, "SELECT type FROM sqlite_schema WHERE name = ?", (name,))[0][0] == "table":
            found[name] = sorted(rows(db, f"SELECT * FROM {quote(name)}"), key=repr)
    found["sqlite_stat1"] = [r for r in found["sqlite_stat1"] if r[0] != "books"]  # type: ignore[attr-defined]
    found["books_fts match"] = rows(db, "SELECT rowid, title FROM books_fts WHERE books_fts MATCH 'cherry'")
    return found


def test_fts5_tables_their_shadows_and_sqlite_stat1_are_never_touched(db: Path) -> None:
    rebuilder.sync(books(1), db)
    execute(db, *FTS)
    before = owned_by_sqlite(db)
    assert before["books_fts match"] == [(700, "cherry tart")]
    assert {"notes_fts_data", "notes_fts_idx", "notes_fts_docsize", "notes_fts_config"} <= set(before)
    assert {r[0] for r in before["sqlite_stat1"]} >= {"notes_fts_idx", "books_fts_idx"}  # type: ignore[attr-defined]

    for version in (2, 3, 4):  # rebuild books; add a column and a table; drop that table
        models = books(version)
        shown = rebuilder.plan(models, db)
        assert not any("fts" in str(s) or "sqlite_" in str(s) for s in shown.changes), shown
        result = rebuilder.sync(models, db)
        if version == 2:
            assert rebuilt(result) == {"books"}
        assert owned_by_sqlite(db) == before
        assert rebuilder.check(models, db) == []
    assert rows(db, "SELECT rowid, isbn FROM books ORDER BY rowid") == [(5, "111"), (700, "333")]
    converged(books(4), db)
    # The external-content index still follows books through its recreated triggers.
    with enforcing(db) as conn:
        conn.execute("INSERT INTO books (rowid, isbn, title) VALUES (800, '444', 'cherry jam')")
        conn.execute("DELETE FROM books WHERE isbn = '111'")
        found = conn.execute("SELECT rowid FROM books_fts WHERE books_fts MATCH 'cherry OR apple'").fetchall()
    assert sorted(found) == [(700,), (800,)]


def test_planner_statistics_of_a_rebuilt_table_survive(db: Path) -> None:
    rebuilder.sync(books(1), db)
    execute(db, *FTS)
    stats = rows(db, "SELECT * FROM sqlite_stat1 WHERE tbl = 'books' ORDER BY 1, 2")
    assert stats != []

    assert rebuilt(rebuilder.sync(books(2), db)) == {"books"}

    assert rows(db, "SELECT * FROM sqlite_stat1 WHERE tbl = 'books' ORDER BY 1, 2") == stats


# --- tables and indexes the models do not describe -------------------------------------

STORE = """
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50)),
    Column("pad", {pad}),
)
"""

EXTRAS = (
    "CREATE TABLE legacy_log (id INTEGER PRIMARY KEY, msg TEXT, at REAL)",
    "INSERT INTO legacy_log (id, msg, at) VALUES (1, 'boot', 1.5), (7, 'stop', 2.25)",
    "CREATE INDEX legacy_log_msg ON legacy_log (msg)",
    "CREATE INDEX legacy_items_name ON items (name DESC, id)",
    "CREATE TABLE scratch (x)",
    "CREATE INDEX ix_handmade ON items (lower(name))",
    "INSERT INTO items (id, name) VALUES (1, 'one'), (2, 'two')",
    "CREATE VIEW item_names AS SELECT name FROM items",
    "CREATE TRIGGER items_shout AFTER INSERT ON items BEGIN "
    "UPDATE items SET name = upper(name) WHERE id = new.id; END",
)


def foreign(db: Path) -> dict[str, object]:
    """The excluded table: its schema rows (with its index) and every row with its rowid."""
    return {
        "schema": schema(db, "tbl_name = 'legacy_log'"),
        "index": indexes(db, "legacy_log"),
        "rows": rows(db, "SELECT rowid, *, typeof(at) FROM legacy_log ORDER BY rowid"),
    }


def dependents_work(db: Path, expected: list[Row]) -> None:
    assert [r[1] for r in schema(db, "type IN ('view', 'trigger')")] == ["items_shout", "item_names"]
    with enforcing(db) as conn:
        conn.execute("INSERT INTO items (id, name) VALUES (3, 'three')")
    assert rows(db, "SELECT name FROM item_names ORDER BY name") == expected


def test_tables_and_indexes_not_in_the_models_are_dropped_views_and_triggers_never(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    _spec1, v1 = models_file(tmp_path, STORE.format(pad="Integer"), "v1.py")
    _spec2, v2 = models_file(tmp_path, STORE.format(pad="Text"), "v2.py")
    rebuilder.sync(v1, db)
    execute(db, *EXTRAS)
    before = snapshot(db)
    assert sorted(str(c) for c in rebuilder.plan(v2, db).changes) == [
        "alter column items.pad: type INTEGER -> TEXT",
        "drop index ix_handmade on items",
        "drop index legacy_items_name on items",
        "drop index legacy_log_msg on legacy_log",
        "drop table legacy_log",
        "drop table scratch",
    ]

    with pytest.raises(DataLossRefused, match="legacy_log"):
        rebuilder.sync(v2, db)
    assert snapshot(db) == before

    assert rebuilt(rebuilder.sync(v2, db, allow_data_loss=True)) == {"items"}

    assert schema(db, "type IN ('table', 'index') AND name NOT LIKE '%rebuilder%'") == [
        ("table", "items", "items", table_sql(db, "items"))
    ]
    dependents_work(db, [("THREE",), ("one",), ("two",)])
    converged(v2, db)


@pytest.mark.parametrize("via", ["library", "cli"])
def test_excluded_tables_and_indexes_stay_byte_identical(tmp_path: Path, via: str) -> None:
    db = tmp_path / "app.db"
    _spec1, v1 = models_file(tmp_path, STORE.format(pad="Integer"), "v1.py")
    spec2, v2 = models_file(tmp_path, STORE.format(pad="Text"), "v2.py")
    rebuilder.sync(v1, db)
    execute(db, *EXTRAS)
    kept = foreign(db)
    assert len(kept["schema"]) == 2  # type: ignore[arg-type]

    if via == "cli":
        result = run_cli("sync", spec2, str(db), "--exclude", "legacy_*", stdin="")
        assert result.code == 0, result.err
    else:
        assert rebuilt(rebuilder.sync(v2, db, exclude=["legacy_*"])) == {"items"}

    assert foreign(db) == kept
    assert rows(db, "SELECT name FROM sqlite_schema WHERE name IN ('scratch', 'ix_handmade')") == []
    dependents_work(db, [("THREE",), ("one",), ("two",)])
    converged(v2, db, exclude=["legacy_*"])


def test_an_excluded_index_on_a_rebuilt_table_stays(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    _spec1, v1 = models_file(tmp_path, STORE.format(pad="Integer"), "v1.py")
    _spec2, v2 = models_file(tmp_path, STORE.format(pad="Text"), "v2.py")
    rebuilder.sync(v1, db)
    execute(db, *EXTRAS)
    kept = indexes(db, "items")["legacy_items_name"]

    assert rebuilt(rebuilder.sync(v2, db, exclude=["legacy_*"])) == {"items"}

    assert indexes(db, "items").get("legacy_items_name") == kept


# --- CHECK constraints and renames --------------------------------------------------


def accounts(rebuild: bool = False) -> MetaData:
    md = MetaData()
    Table(
        "accounts",
        md,
        Column("id", Integer, primary_key=True),
        Column("name", String(50), CheckConstraint("length(name) > 0")),
        Column("balance", Integer),
        Column("kind", String(10)),
        Column("active", Boolean(create_constraint=True)),
        pad(rebuild),
        CheckConstraint("balance >= 0", name="ck_accounts_balance"),
        CheckConstraint("kind IN ('a', 'b')"),
    )
    return md


def test_named_and_unnamed_checks_are_carried_across_a_rebuild(db: Path) -> None:
    rebuilder.sync(accounts(), db)
    execute(db, "INSERT INTO accounts (id, name, balance, kind, active) VALUES (1, 'x', 5, 'a', 1)")
    sql = table_sql(db, "accounts")
    assert sql.count("CHECK") == 4

    assert rebuilt(rebuilder.sync(accounts(rebuild=True), db)) == {"accounts"}

    assert table_sql(db, "accounts") == sql.replace("pad INTEGER", "pad TEXT")
    bad = {
        "balance = -1": "ck_accounts_balance",
        "kind = 'c'": "CHECK constraint failed",
        "name = ''": "CHECK constraint failed",
        "active = 2": "CHECK constraint failed",
    }
    with enforcing(db) as conn:
        for assignment, message in bad.items():
            with pytest.raises(sqlite3.IntegrityError, match=message):
                conn.execute(f"UPDATE accounts SET {assignment} WHERE id = 1")
    assert rows(db, "SELECT id, name, balance, kind, active FROM accounts") == [(1, "x", 5, "a", 1)]
    converged(accounts(rebuild=True), db)


def ledger(amount: str, rebuild: bool = False) -> MetaData:
    md = MetaData()
    t = Table(
        "ledger",
        md,
        Column("id", Integer, primary_key=True),
        Column(amount, Integer),
        Column("memo", String(50)),
        pad(rebuild),
        CheckConstraint(f"{amount} >= 0", name="ck_ledger_amount"),
        CheckConstraint(f"{amount} < 1000000"),
        CheckConstraint("memo <> 'amount'", name="ck_ledger_memo"),
    )
    Index("ix_ledger_memo_positive", t.c.memo, sqlite_where=t.c[amount] > 0)
    Index("ix_ledger_double", t.c[amount] * 2)
    Table(
        "alerts",
        md,
        Column("id", Integer, primary_key=True),
        Column("entry_id", Integer),
        Column("amount", Integer),
    )
    return md


LEDGER_VIEW = "CREATE VIEW big_entries AS SELECT id, amount, 'amount' AS label FROM ledger WHERE amount > 10"
# A trigger on another table that writes the renamed column.
ALERTS_TRIGGER = (
    "CREATE TRIGGER alerts_clear AFTER DELETE ON alerts BEGIN "
    "UPDATE ledger SET amount = 0 WHERE id = old.entry_id; END"
)
# A trigger on the renamed (and rebuilt) table itself.
LEDGER_TRIGGER = (
    "CREATE TRIGGER ledger_alert AFTER INSERT ON ledger WHEN new.amount > 500 BEGIN "
    "INSERT INTO alerts (entry_id, amount) VALUES (new.id, new.amount); END"
)
LEDGER_ROWS = (
    "INSERT INTO ledger (id, amount, memo) VALUES (1, 5, 'small'), (2, 50, 'mid'), (3, 800, 'big')",
    "INSERT INTO alerts (entry_id, amount) VALUES (3, 800)",
)


def test_a_column_rename_rewrites_checks_indexes_a_view_and_a_trigger(db: Path) -> None:
    rebuilder.sync(ledger("amount"), db)
    execute(db, LEDGER_VIEW, ALERTS_TRIGGER, *LEDGER_ROWS)
    view = rows(db, "SELECT * FROM big_entries ORDER BY id")
    assert view == [(2, 50, "amount"), (3, 800, "amount")]

    result = rebuilder.sync(ledger("total", rebuild=True), db, renames=["ledger.amount=total"])

    assert rebuilt(result) == {"ledger"}
    ledger_sql = [r[3] for r in schema(db, "tbl_name = 'ledger' AND sql IS NOT NULL")]
    assert len(ledger_sql) == 3  # the table and two indexes
    for sql in ledger_sql:
        assert mentions(sql, "total") and not mentions(sql, "amount"), sql
    assert "'amount'" in ledger_sql[-1]  # the string literal in ck_ledger_memo is no reference
    view_sql = table_sql_of(db, "big_entries")
    assert re.search(r"\btotal\b", view_sql), view_sql
    assert "'amount'" in view_sql  # a string literal is not a reference
    assert re.search(r'SET "?total"? = 0', table_sql_of(db, "alerts_clear"))
    assert rows(db, "SELECT * FROM big_entries ORDER BY id") == view
    with enforcing(db) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="ck_ledger_amount"):
            conn.execute("INSERT INTO ledger (total) VALUES (-1)")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            conn.execute("INSERT INTO ledger (total) VALUES (2000000)")
        conn.execute("INSERT INTO ledger (id, total, memo) VALUES (4, 600, 'huge')")
        conn.execute("DELETE FROM alerts WHERE entry_id = 3")
    assert rows(db, "SELECT id, total FROM ledger ORDER BY id") == [(1, 5), (2, 50), (3, 0), (4, 600)]
    assert rows(db, "SELECT * FROM big_entries ORDER BY id") == [(2, 50, "amount"), (4, 600, "amount")]
    assert rows(db, "SELECT name FROM pragma_index_list('ledger') ORDER BY 1") == [
        ("ix_ledger_double",),
        ("ix_ledger_memo_positive",),
    ]
    converged(ledger("total", rebuild=True), db)


@pytest.mark.parametrize(
    "rebuild",
    [
        pytest.param(False, id="rename-only"),
        pytest.param(
            True,
            id="rename-and-rebuild",
        ),
    ],
)
def test_a_column_rename_rewrites_a_trigger_on_the_renamed_table(db: Path, rebuild: bool) -> None:
    rebuilder.sync(ledger("amount"), db)
    execute(db, *LEDGER_ROWS, LEDGER_TRIGGER)

    result = rebuilder.sync(ledger("total", rebuild=rebuild), db, renames=["ledger.amount=total"])

    if not rebuild:
        # The renamed CHECKs and index keys compare equal to the models': nothing else to do.
        assert [str(s) for s in result.steps] == ["rename column ledger.amount -> total"]
    assert rebuilt(result) == ({"ledger"} if rebuild else set())
    sql = table_sql_of(db, "ledger_alert")
    assert re.search(r'new\."?total"? > 500', sql), sql
    assert "new.amount" not in sql
    for name in ("ledger", "ix_ledger_memo_positive", "ix_ledger_double"):
        text = table_sql_of(db, name)
        assert mentions(text, "total") and not mentions(text, "amount"), text
    assert "'amount'" in table_sql_of(db, "ledger")
    with enforcing(db) as conn:
        conn.execute("INSERT INTO ledger (id, total, memo) VALUES (4, 600, 'huge'), (5, 7, 'tiny')")
        with pytest.raises(sqlite3.IntegrityError, match="ck_ledger_amount"):
            conn.execute("INSERT INTO ledger (total) VALUES (-1)")
        with pytest.raises(sqlite3.IntegrityError, match="ck_ledger_memo"):
            conn.execute("INSERT INTO ledger (total, memo) VALUES (1, 'amount')")
    assert rows(db, "SELECT entry_id, amount FROM alerts ORDER BY id") == [(3, 800), (4, 600)]
    converged(ledger("total", rebuild=rebuild), db)


def mentions(sql: str, column: str) -> bool:
    """Whether SQL text refers to a column (bare or double-quoted), not counting 'string literals'."""
    return re.search(rf"(?<!')\b{column}\b(?!')", sql) is not None


def table_sql_of(db: Path, name: str) -> str:
    return str(rows(db, "SELECT sql FROM sqlite_schema WHERE name = ?", (name,))[0][0])


# --- identifiers that need quoting ------------------------------------------------------

WEIRD = """
order = Table(
    "order",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("group", String(20)),
    Column("select", Integer),
    Column({price!r}, Numeric(10, 2)),
    Column({say!r}, Text),
    Column("pad", {pad}),
    UniqueConstraint("group", "select", name="uq order group select"),
    CheckConstraint('"{price}" >= 0', name='ck "price"'),
)
Index("ix group", order.c["group"], order.c[{say!r}])
Index('ix lower "hi"', func.lower(order.c[{say!r}]))
Table(
    "my table",
    metadata,
    Column("id", Integer, primary_key=True),
    Column({order_no!r}, Integer, ForeignKey("order.id", ondelete="CASCADE")),
    Column({naive!r}, String(10), unique=True),
    Column("pad", {pad}),
)
Table(
    'tab"le',
    metadata,
    Column("id", Integer, primary_key=True),
    Column("group", Integer, ForeignKey("my table.id")),
    Column("unit price", Integer, CheckConstraint('"unit price" > 0')),
)
größe = Table(
    "größe",
    metadata,
    Column("id", Integer, primary_key=True),
    Column({street!r}, String(50)),
    Column("naïve", Integer, ForeignKey('tab"le.id')),
    Column("pad", {pad2}),
    CheckConstraint('length("{street}") < 40', name="ck größe"),
)
Index("ix größe", größe.c[{street!r}], unique=True)
Table(
    "select",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("from", Integer, ForeignKey("group.id")),
)
Table(
    "group",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("where", Text, CheckConstraint('"where" <> \\'\\'')),
)
"""

WEIRD_ROWS = (
    'INSERT INTO "order" (id, "group", "select", "unit price", "say ""hi""") VALUES '
    "(1, 'g1', 1, 9.5, 'Hello'), (2, 'g2', 2, 0, NULL)",
    'INSERT INTO "my table" (id, "order", "naïve") VALUES (1, 1, \'x\'), (2, 2, \'y\')',
    'INSERT INTO "tab""le" (id, "group", "unit price") VALUES (1, 1, 3), (2, NULL, 4)',
    'INSERT INTO "größe" (id, "straße", "naïve") VALUES (1, \'Hauptstraße\', 1), (2, NULL, 2)',
    'INSERT INTO "group" (id, "where") VALUES (1, \'here\')',
    'INSERT INTO "select" (id, "from") VALUES (1, 1)',
)

WEIRD_DEPENDENTS = (
    'CREATE TRIGGER "order ""log""" AFTER INSERT ON "order" BEGIN '
    'INSERT INTO "group" ("where") VALUES (\'order \' || new."group"); END',
    'CREATE VIEW "naïve view" AS SELECT o."group", o."unit price" AS "price", o."say ""hi""" AS "say", '
    'm."naïve", m."order" FROM "order" AS o JOIN "my table" AS m ON m."order" = o.id',
)


def weird(directory: Path, version: int) -> Models:
    first = {
        "price": "unit price",
        "say": 'say "hi"',
        "order_no": "order",
        "naive": "naïve",
        "street": "straße",
        "pad": "Integer",
        "pad2": "Integer",
    }
    renamed = {"price": "unit cost", "say": 'say "bye"', "order_no": "order no", "naive": "naïveté"}
    fields = {
        1: first,
        2: {**first, **renamed, "pad": "Text"},
        3: {**first, **renamed, "pad": "Text", "street": "weg", "pad2": "Text"},
    }[version]
    return models_file(directory, WEIRD.format(**fields), f"weird_v{version}.py")


def test_keywords_spaces_quotes_and_non_ascii_names_work_everywhere(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    _s1, v1 = weird(tmp_path, 1)
    _s2, v2 = weird(tmp_path, 2)
    spec3, v3 = weird(tmp_path, 3)
    rebuilder.sync(v1, db)
    execute(db, *WEIRD_ROWS, *WEIRD_DEPENDENTS)
    converged(v1, db)
    view = rows(db, 'SELECT * FROM "naïve view" ORDER BY 1')
    assert view == [("g1", 9.5, "Hello", "x", 1), ("g2", 0, None, "y", 2)]

    renames = ["order.unit price=unit cost", 'order.say "hi"=say "bye"', "my table.naïve=naïveté"]
    result = rebuilder.sync(v2, db, renames=[*renames, "my table.order=order no"])

    assert rebuilt(result) == {"order", "my table"}
    assert rows(db, 'SELECT id, "group", "select", "unit cost", "say ""bye""" FROM "order" ORDER BY id') == [
        (1, "g1", 1, 9.5, "Hello"),
        (2, "g2", 2, 0, None),
    ]
    assert rows(db, 'SELECT id, "order no", "naïveté" FROM "my table" ORDER BY id') == [
        (1, 1, "x"),
        (2, 2, "y"),
    ]
    assert rows(db, 'SELECT * FROM "naïve view" ORDER BY 1') == view
    assert "naïveté" in table_sql_of(db, "naïve view")
    with enforcing(db) as conn:
        conn.execute('INSERT INTO "order" (id, "group", "select") VALUES (5, \'g5\', 5)')
    assert rows(db, 'SELECT "where" FROM "group" ORDER BY id') == [("here",), ("order g5",)]
    converged(v2, db)

    cli = run_cli("sync", spec3, str(db), "--rename", "größe.straße=weg", stdin="")

    assert cli.code == 0, cli.err
    assert rows(db, 'SELECT id, "weg", "naïve" FROM "größe" ORDER BY id') == [
        (1, "Hauptstraße", 1),
        (2, None, 2),
    ]
    assert "straße" not in table_sql(db, "größe")
    assert "weg" in table_sql_of(db, "ix größe")
    assert rows(
        db, "SELECT name, \"unique\" FROM pragma_index_list('order') WHERE origin = 'c' ORDER BY 1"
    ) == [
        ("ix group", 0),
        ('ix lower "hi"', 0),
    ]
    with enforcing(db) as conn:
        rejected = {
            'INSERT INTO "order" (id, "unit cost") VALUES (9, -1)': 'ck "price"',
            'INSERT INTO "order" (id, "group", "select") VALUES (9, \'g1\', 1)': "UNIQUE",
            'INSERT INTO "my table" (id, "order no") VALUES (9, 99)': "FOREIGN KEY",
            'INSERT INTO "my table" (id, "naïveté") VALUES (9, \'x\')': "UNIQUE",
            'INSERT INTO "tab""le" (id, "unit price") VALUES (9, 0)': "CHECK",
            'INSERT INTO "größe" (id, "weg") VALUES (9, \'' + "x" * 50 + "')": "ck größe",
            'INSERT INTO "größe" (id, "weg") VALUES (9, \'Hauptstraße\')': "UNIQUE",
            'INSERT INTO "größe" (id, "naïve") VALUES (9, 99)': "FOREIGN KEY",
            'INSERT INTO "select" (id, "from") VALUES (9, 99)': "FOREIGN KEY",
            'INSERT INTO "group" (id, "where") VALUES (9, \'\')': "CHECK",
        }
        for sql, message in rejected.items():
            with pytest.raises(sqlite3.IntegrityError, match=re.escape(message)):
                conn.execute(sql)
        conn.execute('DELETE FROM "order" WHERE id = 2')
    assert rows(db, 'SELECT id, "order no" FROM "my table" ORDER BY id') == [(1, 1)]
    converged(v3, db)


# --- no-op rebuild invariance ----------------------------------------------------------


def kind_models(kind: str, rebuild: bool) -> MetaData:
    """A table ``t`` of one exotic kind, plus a ``log`` table its trigger writes to."""
    md = MetaData()
    Table("log", md, Column("id", Integer, primary_key=True), Column("what", Text))
    options: dict[str, Any] = {}
    columns: list[Any] = [Column("id", Integer, primary_key=True), Column("b", Text)]
    if kind == "no-primary-key":
        columns = [Column("a", Integer), Column("b", Text)]
    elif kind == "autoincrement":
        options = {"sqlite_autoincrement": True}
    elif kind == "without-rowid":
        columns = [Column("id", String(10), primary_key=True), Column("b", Text)]
        options = {"sqlite_with_rowid": False}
    elif kind == "strict":
        options = {"sqlite_strict": True}
    elif kind == "strict-without-rowid":
        columns = [Column("id", Text, primary_key=True), Column("b", Text)]
        options = {"sqlite_strict": True, "sqlite_with_rowid": False}
    elif kind == "real-rowid-column":
        columns = [Column("id", String(10), primary_key=True), Column("rowid", Integer), Column("b", Text)]
    elif kind == "generated":
        columns += [
            Column("w", Integer),
            Column("area", Integer, Computed("w * w", persisted=False)),
            Column("twice", Integer, Computed("w * 2", persisted=True)),
        ]
    elif kind == "checks":
        columns += [
            Column("n", Integer, CheckConstraint("n <> 13")),
            Column("flag", Boolean(create_constraint=True)),
            CheckConstraint("length(b) < 20", name="ck_t_b"),
        ]
    elif kind == "foreign-keys":
        columns += [Column("up", Integer, ForeignKey("t.id", ondelete="CASCADE", deferrable=True))]
        Table(
            "child", md, Column("id", Integer, primary_key=True), Column("t_id", Integer, ForeignKey("t.id"))
        )
    t = Table("t", md, *columns, pad(rebuild), **options)
    if kind == "indexes":
        Index("ix_t_partial", t.c.b, sqlite_where=t.c.id > 1)
        Index("ix_t_lower", func.lower(t.c.b))
        Index("ix_t_desc", t.c.b.desc(), t.c.id)
        Index("ix_t_nocase", t.c.b.collate("NOCASE"), unique=True)
    return md


KIND_ROWS = {
    "no-primary-key": ("INSERT INTO t (rowid, a, b) VALUES (3, 1, 'x'), (1000, 2, 'y'), (1001, NULL, NULL)",),
    "autoincrement": (
        "INSERT INTO t (id, b) VALUES (1, 'x'), (2, 'y'), (3, 'z'), (10, 'gone')",
        "DELETE FROM t WHERE id = 10",
    ),
    "without-rowid": ("INSERT INTO t (id, b) VALUES ('k2', 'x'), ('k1', NULL)",),
    "strict": ("INSERT INTO t (id, b) VALUES (1, 'x'), (5, NULL)",),
    "strict-without-rowid": ("INSERT INTO t (id, b) VALUES ('k2', 'x'), ('k1', NULL)",),
    "real-rowid-column": (
        "INSERT INTO t (_rowid_, id, rowid, b) VALUES (50, 'a', 7, 'x'), (9, 'b', NULL, 'y')",
    ),
    "generated": ("INSERT INTO t (id, b, w) VALUES (1, 'x', 3), (2, NULL, NULL)",),
    "checks": ("INSERT INTO t (id, b, n, flag) VALUES (1, 'x', 12, 1), (2, 'y', NULL, 0)",),
    "foreign-keys": (
        "INSERT INTO t (id, b, up) VALUES (1, 'x', NULL), (2, 'y', NULL), (3, 'z', 2)",
        "INSERT INTO child (id, t_id) VALUES (1, 2), (2, 3)",
    ),
    "indexes": ("INSERT INTO t (id, b) VALUES (1, 'x'), (2, 'Y'), (3, NULL)",),
}


def contents(snap: dict[str, object]) -> dict[str, object]:
    """A snapshot's rows, less rebuilder's own tables and the rowids of ``sqlite_sequence`` rows.

    A rebuild deletes and re-inserts the table's ``sqlite_sequence`` row, whose own rowid
    means nothing to anyone; its name and seq must stay the same.
    """
    tables: dict[str, list[Row]] = snap["tables"]  # type: ignore[assignment]
    found: dict[str, object] = {k: v for k, v in tables.items() if not k.startswith("rebuilder_")}
    if "sqlite_sequence" in found:
        found["sqlite_sequence"] = sorted(r[1:] for r in tables["sqlite_sequence"])
    return found


KIND_DEPENDENTS = (
    "CREATE VIEW t_all AS SELECT * FROM t",
    "CREATE VIEW t_count AS SELECT count(*) AS n, count(b) AS with_b FROM t_all",
    "CREATE TRIGGER t_gone AFTER DELETE ON t BEGIN INSERT INTO log (what) VALUES ('gone ' || old.b); END",
)


@pytest.mark.parametrize("kind", list(KIND_ROWS))
def test_a_rebuild_with_an_otherwise_identical_target_changes_only_that_column(db: Path, kind: str) -> None:
    rebuilder.sync(kind_models(kind, rebuild=False), db)
    execute(db, *KIND_ROWS[kind], *KIND_DEPENDENTS)
    before = snapshot(db)
    flags = table_list(db)
    columns = xinfo(db, "t")
    kept = indexes(db, "t")
    views = rows(db, "SELECT * FROM t_all ORDER BY 1"), rows(db, "SELECT * FROM t_count")

    assert rebuilt(rebuilder.sync(kind_models(kind, rebuild=True), db)) == {"t"}

    after = snapshot(db)
    expected_schema = [
        (*r[:3], r[3].replace("pad INTEGER", "pad TEXT")) if r[:2] == ("table", "t") else r
        for r in before["schema"]  # type: ignore[attr-defined]
    ]
    assert after["schema"] == expected_schema
    assert contents(after) == contents(before)
    assert table_list(db) == flags
    assert xinfo(db, "t") == [r if r[1] != "pad" else (*r[:2], "TEXT", *r[3:]) for r in columns]
    assert indexes(db, "t") == kept
    assert (rows(db, "SELECT * FROM t_all ORDER BY 1"), rows(db, "SELECT * FROM t_count")) == views
    with enforcing(db) as conn:
        conn.execute("DELETE FROM t WHERE b = 'x'")
    assert rows(db, "SELECT what FROM log") == [("gone x",)]
    converged(kind_models(kind, rebuild=True), db)
