"""Pure tests of SQL text handling: quoting, types, canonical expressions, DDL splitting."""

from __future__ import annotations

import sqlite3

import pytest

from rebuilder.ddl import (
    qualify_index,
    rename_table_in_ddl,
    reorder_columns,
    split_create_index,
    split_create_table,
)
from rebuilder.expressions import canonical_expr, canonical_type, rename_columns
from rebuilder.guards import survives
from rebuilder.names import quote
from rebuilder.schema import affinity


@pytest.mark.parametrize(
    "name", ["order", "group", "select", "my table", 'tab"le', "größe", "naïve", "unit price", 'say "hi"']
)
def test_quote_round_trips_through_sqlite(name: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE {quote(name)} ({quote(name)} INTEGER)")
    assert conn.execute("SELECT name FROM sqlite_schema").fetchone()[0] == name
    assert conn.execute(f"PRAGMA table_info({quote(name)})").fetchone()[1] == name


@pytest.mark.parametrize(
    ("declared", "canonical"),
    [("varchar( 100 )", "VARCHAR(100)"), ("numeric(10, 2)", "NUMERIC(10,2)"), ("", "")],
)
def test_canonical_type(declared: str, canonical: str) -> None:
    assert canonical_type(declared) == canonical


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("INTEGER", "INTEGER"),
        ("BIGINT", "INTEGER"),
        ("VARCHAR(20)", "TEXT"),
        ("CLOB", "TEXT"),
        ("BLOB", "BLOB"),
        ("", "BLOB"),
        ("DOUBLE PRECISION", "REAL"),
        ("FLOAT", "REAL"),
        ("NUMERIC(10,2)", "NUMERIC"),
        ("DATETIME", "NUMERIC"),
        ("BOOLEAN", "NUMERIC"),
    ],
)
def test_affinity_follows_sqlite_rules(declared: str, expected: str) -> None:
    assert affinity(declared) == expected


def test_affinity_agrees_with_sqlite_itself() -> None:
    conn = sqlite3.connect(":memory:")
    declared = ["INTEGER", "VARCHAR(5)", "BLOB", "REAL", "NUMERIC", "DATETIME", "FLOATING POINT"]
    stored = {"INTEGER": "integer", "TEXT": "text", "BLOB": "text", "REAL": "real", "NUMERIC": "integer"}
    for i, decl in enumerate(declared):
        conn.execute(f"CREATE TABLE t{i} (c {decl})")
        conn.execute(f"INSERT INTO t{i} VALUES ('12')")
        got = conn.execute(f"SELECT typeof(c) FROM t{i}").fetchone()[0]
        assert got == stored[affinity(decl)], decl


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("score > 0", '"Score">0'),
        ("(datetime('now'))", "datetime('now')"),
        ("a != 1", "a <> 1"),
        ("length(name) < 50", "LENGTH( name )<50"),
    ],
)
def test_equal_meanings_compare_equal(a: str, b: str) -> None:
    assert canonical_expr(a) == canonical_expr(b)


def test_different_meanings_differ() -> None:
    assert canonical_expr("score > 0") != canonical_expr("score >= 0")
    assert canonical_expr("'x'") != canonical_expr('"x"')


def test_rename_columns_rewrites_the_tree_not_the_text() -> None:
    renamed = rename_columns("name <> 'name' AND length(name) > 1", {"name": "title"})
    assert canonical_expr(renamed) == canonical_expr("title <> 'name' AND length(title) > 1")


def test_split_create_table_finds_what_pragmas_do_not_say() -> None:
    sql = (
        'CREATE TABLE "tab""le" ([a b] INTEGER PRIMARY KEY AUTOINCREMENT, '
        "`c` TEXT COLLATE nocase CHECK (c <> 'it''s'), g AS (length(c)) STORED, "
        "d TEXT NOT NULL ON CONFLICT REPLACE DEFAULT 'zz', CONSTRAINT \"k\" CHECK(d > 'a')) STRICT"
    )
    ddl = split_create_table(sql)
    names = [c.name for c in ddl.columns]
    assert names == ["a b", "c", "g", "d"]
    a, c, g, d = ddl.columns
    assert a.autoincrement and not c.autoincrement
    assert c.collate == "NOCASE" and c.checks == ("c <> 'it''s'",)
    assert g.generated == "length(c)" and g.stored
    assert d.sql == "d TEXT NOT NULL ON CONFLICT REPLACE DEFAULT 'zz'"
    assert ddl.checks == (("k", "d > 'a'"),)


def test_rename_table_in_ddl_keeps_the_body_and_its_self_references() -> None:
    sql = "CREATE TABLE node (id INTEGER PRIMARY KEY, parent INT REFERENCES node(id)) STRICT"
    assert rename_table_in_ddl(sql, "tmp x") == (
        'CREATE TABLE main."tmp x" (id INTEGER PRIMARY KEY, parent INT REFERENCES node(id)) STRICT'
    )


def test_reorder_columns_moves_whole_definitions_and_keeps_the_constraints() -> None:
    sql = (
        'CREATE TABLE t (\n\t"my col" INT CHECK ("my col" > 0), \n\t[b c] TEXT, \n\tE INT, '
        "\n\tPRIMARY KEY (e), \n\tFOREIGN KEY([b c]) REFERENCES u (x), CHECK (1)\n) STRICT"
    )
    assert reorder_columns(sql, ["e", "my col", "b c"]) == (
        'CREATE TABLE t (\n\tE INT, \n\t"my col" INT CHECK ("my col" > 0), \n\t[b c] TEXT, '
        "\n\tPRIMARY KEY (e), \n\tFOREIGN KEY([b c]) REFERENCES u (x), CHECK (1)\n) STRICT"
    )
    with pytest.raises(ValueError, match="does not name exactly"):
        reorder_columns(sql, ["e", "my col"])


def test_split_create_index() -> None:
    ddl = split_create_index("CREATE INDEX ix ON t (lower(name) COLLATE NOCASE DESC, b) WHERE (a > 1)")
    assert ddl.keys == ("lower(name)", "b")
    assert ddl.where == "(a > 1)"


def test_qualify_index_names_main() -> None:
    assert qualify_index('CREATE UNIQUE INDEX "ix a" ON t (b)') == 'CREATE UNIQUE INDEX main."ix a" ON t (b)'


VALUES = [("12", True), ("-42", True), ("0012", False), ("12.5", False), ("1e3", False), ("chess", False)]


@pytest.mark.parametrize(("value", "kept"), VALUES)
def test_survives_into_integer(value: str, kept: bool) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (v TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (value,))
    got = conn.execute(f"SELECT {survives('v', 'INTEGER')} FROM t").fetchone()[0]
    assert bool(got) is kept


@pytest.mark.parametrize(("value", "kept"), [(1.5, True), (0.1 + 0.2, False), (7, True)])
def test_survives_into_text(value: float, kept: bool) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (v REAL)")
    conn.execute("INSERT INTO t VALUES (?)", (value,))
    got = conn.execute(f"SELECT {survives('v', 'VARCHAR(10)')} FROM t").fetchone()[0]
    assert bool(got) is kept
