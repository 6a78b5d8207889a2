"""Column changes: add, drop, rename, type, nullability, server default."""

from __future__ import annotations

from scenarios import Scenario, accepts, change, rejects


def items(*extra: str, name: str = "name = Column(String(50))", qty: str = "qty = Column(Integer)") -> str:
    """The items table, with the name and qty columns as given and extra column lines."""
    body = "".join(f"    {line}\n" for line in (name, qty, *extra))
    return f"""
class Item(Base):
    __tablename__ = 'items'
    id = Column(Integer, primary_key=True)
{body}"""


ROWS = (
    "INSERT INTO items (id, name, qty) VALUES (1, 'apple', 3), (2, 'pear', NULL), (3, X'00ff', 7), "
    "(4, '12', -2), (5, 'fig', 2.5)",
)
NAMED = (
    "INSERT INTO items (id, name, qty) VALUES (1, 'apple', 3), (2, 'pear', NULL), (3, '12', 7), "
    "(4, 'fig', 2.5)",
)


def columns_of(table: str) -> str:
    return f"SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info('{table}') ORDER BY cid"


CODES_BEFORE = """
class Code(Base):
    __tablename__ = 'codes'
    id = Column(Integer, primary_key=True)
    code = Column(String(10))
    label = Column(String(20))
"""

SCENARIOS: list[Scenario] = [
    change(
        "column-add-native",
        items(),
        items("color = Column(String(20), server_default='red')"),
        ["add column items.color VARCHAR(20) DEFAULT 'red'"],
        data=ROWS,
        expect={
            "SELECT id, color, typeof(color) FROM items ORDER BY id": tuple(
                (i, "red", "text") for i in range(1, 6)
            ),
            columns_of("items"): (
                ("id", "INTEGER", 1, None),
                ("name", "VARCHAR(50)", 0, None),
                ("qty", "INTEGER", 0, None),
                ("color", "VARCHAR(20)", 0, "'red'"),
            ),
        },
    ),
    change(
        "column-add-native-not-null-constant-default",
        items(),
        items("stock = Column(Integer, nullable=False, server_default='0')"),
        ["add column items.stock INTEGER NOT NULL DEFAULT 0"],
        data=ROWS,
        expect={
            "SELECT id, stock, typeof(stock) FROM items ORDER BY id": tuple(
                (i, 0, "integer") for i in range(1, 6)
            ),
        },
        probes=(rejects("INSERT INTO items (id, stock) VALUES (9, NULL)"),),
    ),
    change(
        "column-add-rebuild-unique",
        items(),
        items("sku = Column(String(20), unique=True)"),
        ["rebuild table items: add column items.sku VARCHAR(20); add UNIQUE (sku) on items"],
        data=ROWS,
        expect={"SELECT id, sku FROM items ORDER BY id": tuple((i, None) for i in range(1, 6))},
        probes=(
            rejects("UPDATE items SET sku = 'a' WHERE id = 1", "UPDATE items SET sku = 'a' WHERE id = 2"),
            accepts(
                "UPDATE items SET sku = 'a' WHERE id = 1",
                "SELECT id, sku FROM items WHERE sku IS NOT NULL",
                ((1, "a"),),
            ),
        ),
    ),
    change(
        "column-add-with-unique-index",
        items(),
        items("sku = Column(String(20), unique=True, index=True)"),
        ["add column items.sku VARCHAR(20)", "create unique index ix_items_sku on items"],
        data=ROWS,
        expect={"SELECT id, sku FROM items ORDER BY id": tuple((i, None) for i in range(1, 6))},
        probes=(
            rejects("UPDATE items SET sku = 'a' WHERE id = 1", "UPDATE items SET sku = 'a' WHERE id = 2"),
        ),
    ),
    change(
        "column-add-rebuild-not-null-non-constant-default",
        items(),
        items("created = Column(DateTime, nullable=False, server_default=func.current_timestamp())"),
        ["rebuild table items: add column items.created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP"],
        data=ROWS,
        expect={
            "SELECT id, typeof(created), created GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] "
            "[0-9][0-9]:[0-9][0-9]:[0-9][0-9]' FROM items ORDER BY id": tuple(
                (i, "text", 1) for i in range(1, 6)
            ),
        },
        probes=(rejects("INSERT INTO items (id, created) VALUES (9, NULL)"),),
    ),
    change(
        "column-add-expression-default",
        items(),
        items("seen = Column(String(30), server_default=func.datetime('now'))"),
        ["rebuild table items: add column items.seen VARCHAR(30) DEFAULT DATETIME('now')"],
        data=ROWS,
        expect={
            "SELECT id, typeof(seen), seen GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] *' "
            "FROM items ORDER BY id": tuple((i, "text", 1) for i in range(1, 6)),
        },
    ),
    change(
        "column-add-with-check",
        items(),
        items(
            "status = Column(String(10), CheckConstraint(\"status IN ('new', 'done')\"), nullable=False, "
            "server_default='new')"
        ),
        [
            "rebuild table items: add column items.status VARCHAR(10) NOT NULL DEFAULT 'new'; "
            "add CHECK (status IN ('new', 'done')) on items"
        ],
        data=ROWS,
        expect={"SELECT id, status FROM items ORDER BY id": tuple((i, "new") for i in range(1, 6))},
        probes=(rejects("UPDATE items SET status = 'lost' WHERE id = 1"),),
    ),
    change(
        "column-drop-all-null",
        items("legacy = Column(String(10))"),
        items(),
        ["drop column items.legacy"],
        data=ROWS,
        expect={
            columns_of("items"): (
                ("id", "INTEGER", 1, None),
                ("name", "VARCHAR(50)", 0, None),
                ("qty", "INTEGER", 0, None),
            )
        },
    ),
    change(
        "column-drop-with-data",
        items("note = Column(Text)"),
        items(),
        ["drop column items.note"],
        data=(*ROWS, "UPDATE items SET note = 'keep me?' WHERE id IN (1, 3)"),
        allow_data_loss=True,
        expect={
            columns_of("items"): (
                ("id", "INTEGER", 1, None),
                ("name", "VARCHAR(50)", 0, None),
                ("qty", "INTEGER", 0, None),
            )
        },
    ),
    change(
        "column-drop-indexed",
        items("legacy = Column(String(10), index=True)"),
        items(),
        ["drop index ix_items_legacy on items", "drop column items.legacy"],
        data=ROWS,
        expect={"SELECT name FROM pragma_index_list('items')": ()},
    ),
    change(
        "column-rename",
        items(),
        items(name="title = Column(String(50))"),
        ["rename column items.name -> title"],
        data=ROWS,
        renames=("items.name=title",),
        expect={
            "SELECT id, title, typeof(title) FROM items ORDER BY id": (
                (1, "apple", "text"),
                (2, "pear", "text"),
                (3, b"\x00\xff", "blob"),
                (4, "12", "text"),
                (5, "fig", "text"),
            ),
        },
    ),
    change(
        "column-rename-used-by-check-and-index",
        items("__table_args__ = (CheckConstraint('length(name) > 0'), Index('ix_items_label', 'name'))"),
        items(
            "__table_args__ = (CheckConstraint('length(title) > 0'), Index('ix_items_label', 'title'))",
            name="title = Column(String(50))",
        ),
        ["rename column items.name -> title"],
        data=NAMED,
        renames=("items.name=title",),
        expect={"SELECT name FROM pragma_index_info('ix_items_label')": (("title",),)},
        probes=(rejects("INSERT INTO items (id, title) VALUES (9, '')"),),
    ),
    change(
        "column-type-string-to-integer",
        CODES_BEFORE,
        CODES_BEFORE.replace("code = Column(String(10))", "code = Column(Integer)"),
        ["rebuild table codes: alter column codes.code: type VARCHAR(10) -> INTEGER"],
        data=(
            "INSERT INTO codes (id, code, label) VALUES (1, '12', 'a'), (2, '-42', '7'), (3, NULL, NULL), "
            "(4, '0', 'zero'), (5, 8, X'01')",
        ),
        converted={
            "codes.code": (
                (1, 12, "integer"),
                (2, -42, "integer"),
                (3, None, "null"),
                (4, 0, "integer"),
                (5, 8, "integer"),
            ),
        },
    ),
    change(
        "column-type-integer-to-string",
        items(),
        items(qty="qty = Column(String(10))"),
        ["rebuild table items: alter column items.qty: type INTEGER -> VARCHAR(10)"],
        data=ROWS,
        converted={
            "items.qty": (
                (1, "3", "text"),
                (2, None, "null"),
                (3, "7", "text"),
                (4, "-2", "text"),
                (5, "2.5", "text"),
            ),
        },
    ),
    change(
        "column-type-same-affinity",
        items(),
        items(name="name = Column(String(200))", qty="qty = Column(BigInteger)"),
        [
            "edit table items in place: alter column items.name: type VARCHAR(50) -> VARCHAR(200); "
            "alter column items.qty: type INTEGER -> BIGINT"
        ],
        data=ROWS,
        expect={
            columns_of("items"): (
                ("id", "INTEGER", 1, None),
                ("name", "VARCHAR(200)", 0, None),
                ("qty", "BIGINT", 0, None),
            )
        },
    ),
    change(
        "column-not-null-over-no-nulls",
        items(),
        items(name="name = Column(String(50), nullable=False)"),
        ["edit table items in place: alter column items.name: NOT NULL"],
        data=ROWS,
        probes=(rejects("INSERT INTO items (id, name) VALUES (9, NULL)"),),
    ),
    change(
        "column-nullable",
        items(name="name = Column(String(50), nullable=False)"),
        items(),
        ["edit table items in place: alter column items.name: nullable"],
        data=ROWS,
        probes=(
            accepts(
                "INSERT INTO items (id, name) VALUES (9, NULL)",
                "SELECT id, name FROM items WHERE name IS NULL",
                ((9, None),),
            ),
        ),
    ),
    change(
        "column-not-null-with-default-and-a-fill-for-the-nulls",
        items(),
        items(qty="qty = Column(Integer, nullable=False, server_default='0')"),
        [
            "rebuild table items: alter column items.qty: NOT NULL, default (none) -> 0; "
            "fill items.qty with coalesce(qty, 0)"
        ],
        fills=("items.qty=coalesce(qty, 0)",),
        data=ROWS,
        converted={
            "items.qty": (
                (1, 3, "integer"),
                (2, 0, "integer"),
                (3, 7, "integer"),
                (4, -2, "integer"),
                (5, 2.5, "real"),
            ),
        },
        probes=(rejects("INSERT INTO items (id, qty) VALUES (9, NULL)"),),
    ),
    change(
        "column-server-default-add",
        items(),
        items(name="name = Column(String(50), server_default='unnamed')"),
        ["edit table items in place: alter column items.name: default (none) -> 'unnamed'"],
        data=(*ROWS, "INSERT INTO items (id, name) VALUES (6, NULL)"),
        probes=(
            accepts(
                "INSERT INTO items (id) VALUES (9)",
                "SELECT name, typeof(name) FROM items WHERE id = 9",
                (("unnamed", "text"),),
            ),
        ),
    ),
    change(
        "column-server-default-change",
        items(name="name = Column(String(50), server_default='unnamed')"),
        items(name="name = Column(String(50), server_default='anonymous')"),
        ["edit table items in place: alter column items.name: default 'unnamed' -> 'anonymous'"],
        data=(*ROWS, "INSERT INTO items (id) VALUES (6)"),
        expect={"SELECT name FROM items WHERE id = 6": (("unnamed",),)},
        probes=(
            accepts(
                "INSERT INTO items (id) VALUES (9)",
                "SELECT name FROM items WHERE id = 9",
                (("anonymous",),),
            ),
        ),
    ),
    change(
        "column-server-default-remove",
        items(qty="qty = Column(Integer, server_default=text('1'))"),
        items(),
        ["edit table items in place: alter column items.qty: default 1 -> (none)"],
        data=(*ROWS, "INSERT INTO items (id) VALUES (6)"),
        expect={"SELECT qty, typeof(qty) FROM items WHERE id = 6": ((1, "integer"),)},
        probes=(
            accepts(
                "INSERT INTO items (id) VALUES (9)",
                "SELECT qty FROM items WHERE id = 9",
                ((None,),),
            ),
        ),
    ),
    change(
        "column-collation-change",
        items(),
        items(name="name = Column(String(50, collation='NOCASE'))"),
        ["rebuild table items: alter column items.name: collate BINARY -> NOCASE"],
        data=NAMED,
        expect={
            "SELECT id FROM items WHERE name = 'APPLE'": ((1,),),
            "SELECT id, name, typeof(name) FROM items ORDER BY name, id": (
                (3, "12", "text"),
                (1, "apple", "text"),
                (4, "fig", "text"),
                (2, "pear", "text"),
            ),
        },
        probes=(
            accepts(
                "INSERT INTO items (id, name) VALUES (9, 'PEAR')",
                "SELECT count(*) FROM items WHERE name = 'pear'",
                ((2,),),
            ),
        ),
    ),
]
