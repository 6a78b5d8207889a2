"""Several changes at once: one table, one rebuild; and tables that depend on each other."""

from __future__ import annotations

from scenarios import Scenario, accepts, change, rejects

PARENTS = """
class Parent(Base):
    __tablename__ = 'parents'
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
"""

MANY_BEFORE = (
    PARENTS
    + """
class Item(Base):
    __tablename__ = 'items'
    id = Column(Integer, primary_key=True)
    title = Column(String(50), index=True)
    code = Column(String(10))
    qty = Column(Integer)
    note = Column(Text)
    parent_id = Column(Integer)
    flag = Column(Integer, server_default=text('1'))
"""
)

MANY_AFTER = (
    PARENTS
    + """
class Item(Base):
    __tablename__ = 'items'
    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False)
    code = Column(Integer)
    qty = Column(Integer, nullable=False, server_default='0')
    parent_id = Column(Integer, ForeignKey('parents.id', ondelete='CASCADE'))
    flag = Column(Integer)
    color = Column(String(10), server_default='red')
    __table_args__ = (
        UniqueConstraint('name', name='uq_items_name'),
        CheckConstraint('qty >= 0', name='ck_items_qty'),
        Index('ix_items_code_qty', 'code', 'qty'),
    )
"""
)

MANY_ROWS = (
    "INSERT INTO parents (id, name) VALUES (1, 'p1'), (2, 'p2')",
    "INSERT INTO items (id, title, code, qty, note, parent_id) VALUES "
    "(1, 'apple', '12', 3, 'n1', 1), (2, 'pear', '-4', NULL, NULL, 2), (3, X'00ff', NULL, 0, 'n3', NULL)",
    "INSERT INTO items (id, title, code, qty, note, parent_id, flag) "
    "VALUES (4, '7', '0', NULL, NULL, 1, NULL)",
)


def items(*extra: str) -> str:
    body = "".join(f"    {line}\n" for line in extra)
    return f"""
class Item(Base):
    __tablename__ = 'items'
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
{body}"""


ROWS = ("INSERT INTO items (id, name) VALUES (1, 'apple'), (2, NULL), (3, X'01'), (4, '12')",)

FAMILY = """
class Parent(Base):
    __tablename__ = 'parents'
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    {parent_extra}

class Child(Base):
    __tablename__ = 'children'
    id = Column(Integer, primary_key=True)
    parent_id = Column(Integer, ForeignKey('parents.id', ondelete='CASCADE'))
    name = Column(String(50))
"""

FAMILY_ROWS = (
    "INSERT INTO parents (id, name) VALUES (1, 'p1'), (2, 'p2')",
    "INSERT INTO children (id, parent_id, name) VALUES (1, 1, 'c1'), (2, 2, 'c2'), (3, 1, 'c3')",
)

TRIGGERED = """
class Item(Base):
    __tablename__ = 'items'
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    qty = Column(Integer)

class Log(Base):
    __tablename__ = 'log'
    id = Column(Integer, primary_key=True)
    item_id = Column(Integer)
    qty = Column(Integer)
"""

PAIRS = """
class Pair(Base):
    __tablename__ = 'pairs'
    left = Column(String(10), primary_key=True)
    right = Column(Integer, primary_key=True)
    weight = Column(Integer{weight})
"""

SCENARIOS: list[Scenario] = [
    change(
        "many-changes-one-table-one-rebuild",
        MANY_BEFORE,
        MANY_AFTER,
        [
            "rename column items.title -> name",
            "rebuild table items: drop column items.note; "
            "add column items.color VARCHAR(10) DEFAULT 'red'; "
            "alter column items.name: NOT NULL; alter column items.code: type VARCHAR(10) -> INTEGER; "
            "alter column items.qty: NOT NULL, default (none) -> 0; "
            "alter column items.flag: default 1 -> (none); add UNIQUE (name) on items; "
            "add CHECK (qty >= 0) on items; "
            "add FOREIGN KEY (parent_id) REFERENCES parents (id) ON DELETE CASCADE on items; "
            "fill items.qty with coalesce(qty, 0)",
        ],
        data=MANY_ROWS,
        renames=("items.title=name",),
        fills=("items.qty=coalesce(qty, 0)",),
        allow_data_loss=True,
        converted={
            "items.code": ((1, 12, "integer"), (2, -4, "integer"), (3, None, "null"), (4, 0, "integer")),
            "items.qty": ((1, 3, "integer"), (2, 0, "integer"), (3, 0, "integer"), (4, 0, "integer")),
        },
        expect={
            "SELECT id, name, typeof(name), color, flag FROM items ORDER BY id": (
                (1, "apple", "text", "red", 1),
                (2, "pear", "text", "red", 1),
                (3, b"\x00\xff", "blob", "red", 1),
                (4, "7", "text", "red", None),
            ),
            "SELECT name FROM pragma_index_list('items') WHERE origin = 'c'": (("ix_items_code_qty",),),
        },
        probes=(
            rejects("INSERT INTO items (id, name, qty) VALUES (9, 'x', -1)"),
            rejects("INSERT INTO items (id, name, parent_id) VALUES (9, 'x', 99)"),
            rejects("INSERT INTO items (id, qty) VALUES (9, 1)"),
            rejects("UPDATE items SET name = 'pear' WHERE id = 1"),
            accepts(
                ("INSERT INTO items (id, name) VALUES (9, 'x')", "DELETE FROM parents WHERE id = 1"),
                "SELECT id, qty, flag, color FROM items ORDER BY id",
                ((2, 0, 1, "red"), (3, 0, 1, "red"), (9, 0, None, "red")),
            ),
        ),
    ),
    change(
        "native-drop-and-add-same-table",
        items("note = Column(Text)"),
        items("color = Column(String(10), server_default='red')"),
        ["drop column items.note", "add column items.color VARCHAR(10) DEFAULT 'red'"],
        data=ROWS,
        expect={"SELECT id, color FROM items ORDER BY id": tuple((i, "red") for i in range(1, 5))},
    ),
    change(
        "native-add-and-check-add-one-rebuild",
        items(),
        items(
            "color = Column(String(10), server_default='red')",
            "__table_args__ = (CheckConstraint('length(name) > 0'),)",
        ),
        [
            "rebuild table items: add column items.color VARCHAR(10) DEFAULT 'red'; "
            "add CHECK (length(name) > 0) on items"
        ],
        data=ROWS,
        expect={"SELECT id, color FROM items ORDER BY id": tuple((i, "red") for i in range(1, 5))},
        probes=(rejects("INSERT INTO items (id, name) VALUES (9, '')"),),
    ),
    change(
        "rebuild-parent-keeps-child-fk",
        FAMILY.format(parent_extra="pass"),
        FAMILY.format(parent_extra="__table_args__ = (UniqueConstraint('name'),)"),
        ["rebuild table parents: add UNIQUE (name) on parents"],
        data=FAMILY_ROWS,
        expect={
            'SELECT "table", "from", on_delete FROM pragma_foreign_key_list(\'children\')': (
                ("parents", "parent_id", "CASCADE"),
            ),
        },
        probes=(
            rejects("INSERT INTO children (id, parent_id) VALUES (9, 99)"),
            rejects("INSERT INTO parents (id, name) VALUES (9, 'p1')"),
            accepts(
                "DELETE FROM parents WHERE id = 1",
                "SELECT id, parent_id, name FROM children",
                ((2, 2, "c2"),),
            ),
        ),
    ),
    change(
        "rebuild-keeps-trigger-and-view",
        TRIGGERED,
        TRIGGERED.replace(
            "qty = Column(Integer)", "qty = Column(Integer, nullable=False, server_default='0')", 1
        ),
        [
            "rebuild table items: alter column items.qty: NOT NULL, default (none) -> 0; "
            "fill items.qty with coalesce(qty, 0)"
        ],
        fills=("items.qty=coalesce(qty, 0)",),
        data=(
            "INSERT INTO items (id, name, qty) VALUES (1, 'apple', 3), (2, 'pear', NULL)",
            "CREATE TRIGGER items_log AFTER UPDATE OF qty ON items "
            "BEGIN INSERT INTO log (item_id, qty) VALUES (new.id, new.qty); END",
            "CREATE VIEW stocked AS SELECT name, qty FROM items WHERE qty > 0",
        ),
        converted={"items.qty": ((1, 3, "integer"), (2, 0, "integer"))},
        expect={
            "SELECT type, name FROM sqlite_schema WHERE type IN ('trigger', 'view') ORDER BY name": (
                ("trigger", "items_log"),
                ("view", "stocked"),
            ),
            "SELECT name, qty FROM stocked": (("apple", 3),),
        },
        probes=(
            accepts(
                "UPDATE items SET qty = 5 WHERE id = 2",
                "SELECT item_id, qty FROM log",
                ((2, 5),),
            ),
        ),
    ),
    change(
        "composite-primary-key-rebuild-keeps-rowid",
        PAIRS.format(weight=""),
        PAIRS.format(weight=", nullable=False, server_default='1'"),
        [
            "rebuild table pairs: alter column pairs.weight: NOT NULL, default (none) -> 1; "
            "fill pairs.weight with coalesce(weight, 1)"
        ],
        fills=("pairs.weight=coalesce(weight, 1)",),
        data=(
            "INSERT INTO pairs (rowid, left, right, weight) VALUES (10, 'a', 1, 5), (20, 'a', 2, NULL), "
            "(30, 'b', 1, '8')",
        ),
        converted={"pairs.weight": ((10, 5, "integer"), (20, 1, "integer"), (30, 8, "integer"))},
        expect={
            "SELECT rowid, left, right FROM pairs ORDER BY rowid": ((10, "a", 1), (20, "a", 2), (30, "b", 1))
        },
    ),
]
