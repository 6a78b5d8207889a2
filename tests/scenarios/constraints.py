"""Table constraints: UNIQUE, CHECK and FOREIGN KEY, named and unnamed, added and dropped."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Table,
)

from scenarios import Scenario, accepts, change, rejects


def items(*args: str) -> str:
    """The items table with ``__table_args__`` holding the given constraint expressions."""
    table_args = f"    __table_args__ = ({', '.join(args)},)\n" if args else ""
    return f"""
class Item(Base):
    __tablename__ = 'items'
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    qty = Column(Integer)
    code = Column(String(10))
{table_args}"""


ROWS = (
    "INSERT INTO items (id, name, qty, code) VALUES (1, 'apple', 3, 'a'), (2, 'pear', NULL, 'a'), "
    "(3, X'00ff', 0, 'b'), (4, NULL, 12, NULL), (5, 'fig', 2.5, NULL)",
)
DUPLICATE = ("INSERT INTO items (id, name, code) VALUES (8, 'kiwi', 'k')", "UPDATE items SET name = 'kiwi'")
NEGATIVE = "INSERT INTO items (id, qty) VALUES (9, -1)"


def named(name: str) -> str:
    """A query that is 1 when the items DDL carries the constraint name."""
    return f"SELECT instr(sql, '{name}') > 0 FROM sqlite_schema WHERE name = 'items'"


def family(
    *,
    fk: Callable[[], list[object]] | None = None,
) -> Callable[[], MetaData]:
    """Core Table models: parents and children, with children's FK as ``fk()`` builds it."""

    def build() -> MetaData:
        metadata = MetaData()
        Table("parents", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))
        Table(
            "children",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("parent_id", Integer),
            Column("name", String(50)),
            *(fk() if fk else []),
        )
        return metadata

    return build


def fk_named() -> list[object]:
    return [ForeignKeyConstraint(["parent_id"], ["parents.id"], name="fk_children_parent")]


def fk_unnamed() -> list[object]:
    return [ForeignKeyConstraint(["parent_id"], ["parents.id"])]


def fk_cascade() -> list[object]:
    return [ForeignKeyConstraint(["parent_id"], ["parents.id"], ondelete="CASCADE")]


def fk_update_cascade() -> list[object]:
    return [ForeignKeyConstraint(["parent_id"], ["parents.id"], onupdate="CASCADE")]


def fk_update_set_null() -> list[object]:
    return [ForeignKeyConstraint(["parent_id"], ["parents.id"], onupdate="SET NULL")]


FAMILY = (
    "INSERT INTO parents (id, name) VALUES (1, 'p1'), (2, 'p2'), (3, 'p3')",
    "INSERT INTO children (id, parent_id, name) VALUES (1, 1, 'c1'), (2, 1, 'c2'), (3, 2, 'c3'), "
    "(4, NULL, 'c4'), (5, '3', X'0a')",
)
FK_LIST = 'SELECT "from", "table", "to", on_update, on_delete FROM pragma_foreign_key_list(\'children\')'
ORPHAN = "INSERT INTO children (id, parent_id, name) VALUES (9, 99, 'orphan')"
FK = "FOREIGN KEY (parent_id) REFERENCES parents (id)"


def orphan_accepted() -> object:
    return accepts(ORPHAN, "SELECT parent_id FROM children WHERE id = 9", ((99,),))


def composite(*args: str) -> str:
    """A table keyed by two columns, for composite constraints."""
    table_args = f"    __table_args__ = ({', '.join(args)},)\n" if args else ""
    return f"""
class Seat(Base):
    __tablename__ = 'seats'
    id = Column(Integer, primary_key=True)
    hall = Column(String(10), nullable=False)
    number = Column(Integer, nullable=False)
{table_args}"""


SEATS = ("INSERT INTO seats (id, hall, number) VALUES (1, 'A', 1), (2, 'A', 2), (3, 'B', 1)",)

SCENARIOS: list[Scenario] = [
    change(
        "unique-add-named",
        items(),
        items("UniqueConstraint('name', name='uq_items_name')"),
        ["rebuild table items: add UNIQUE (name) on items"],
        data=ROWS,
        expect={named("uq_items_name"): ((1,),)},
        probes=(rejects(*DUPLICATE),),
    ),
    change(
        "unique-add-unnamed",
        items(),
        items("UniqueConstraint('name')"),
        ["rebuild table items: add UNIQUE (name) on items"],
        data=ROWS,
        probes=(rejects(*DUPLICATE),),
    ),
    change(
        "unique-add-composite",
        composite(),
        composite("UniqueConstraint('hall', 'number', name='uq_seat')"),
        ["rebuild table seats: add UNIQUE (hall, number) on seats"],
        data=SEATS,
        probes=(
            rejects("INSERT INTO seats (id, hall, number) VALUES (9, 'A', 2)"),
            accepts(
                "INSERT INTO seats (id, hall, number) VALUES (9, 'B', 2)",
                "SELECT hall, number FROM seats WHERE id = 9",
                (("B", 2),),
            ),
        ),
    ),
    change(
        "unique-drop-named",
        items("UniqueConstraint('name', name='uq_items_name')"),
        items(),
        ["rebuild table items: drop UNIQUE (name) on items"],
        data=ROWS,
        expect={named("uq_items_name"): ((0,),)},
        probes=(accepts(DUPLICATE, "SELECT DISTINCT name FROM items", (("kiwi",),)),),
    ),
    change(
        "unique-drop-unnamed",
        items("UniqueConstraint('name')"),
        items(),
        ["rebuild table items: drop UNIQUE (name) on items"],
        data=ROWS,
        probes=(accepts(DUPLICATE, "SELECT DISTINCT name FROM items", (("kiwi",),)),),
    ),
    change(
        "check-add-named",
        items(),
        items("CheckConstraint('qty >= 0', name='ck_items_qty')"),
        ["edit table items in place: add CHECK (qty >= 0) on items"],
        data=ROWS,
        expect={named("ck_items_qty"): ((1,),)},
        probes=(rejects(NEGATIVE),),
    ),
    change(
        "check-add-unnamed",
        items(),
        items("CheckConstraint(\"code IN ('a', 'b', 'k')\")"),
        ["edit table items in place: add CHECK (code IN ('a', 'b', 'k')) on items"],
        data=ROWS,
        probes=(
            rejects("INSERT INTO items (id, code) VALUES (9, 'z')"),
            accepts(
                "INSERT INTO items (id, code) VALUES (9, 'k')",
                "SELECT code FROM items WHERE id = 9",
                (("k",),),
            ),
        ),
    ),
    change(
        "check-drop-named",
        items("CheckConstraint('qty >= 0', name='ck_items_qty')"),
        items(),
        ["edit table items in place: drop CHECK (qty >= 0) on items"],
        data=ROWS,
        expect={named("ck_items_qty"): ((0,),)},
        probes=(accepts(NEGATIVE, "SELECT qty FROM items WHERE id = 9", ((-1,),)),),
    ),
    change(
        "check-drop-unnamed",
        items("CheckConstraint('qty >= 0')"),
        items(),
        ["edit table items in place: drop CHECK (qty >= 0) on items"],
        data=ROWS,
        probes=(accepts(NEGATIVE, "SELECT qty FROM items WHERE id = 9", ((-1,),)),),
    ),
    change(
        "fk-add-named",
        family(),
        family(fk=fk_named),
        [f"edit table children in place: add {FK} on children"],
        data=FAMILY,
        expect={
            FK_LIST: (("parent_id", "parents", "id", "NO ACTION", "NO ACTION"),),
            "SELECT instr(sql, 'fk_children_parent') > 0 FROM sqlite_schema WHERE name = 'children'": ((1,),),
        },
        probes=(rejects(ORPHAN),),
    ),
    change(
        "fk-add-unnamed",
        family(),
        family(fk=fk_unnamed),
        [f"edit table children in place: add {FK} on children"],
        data=FAMILY,
        expect={FK_LIST: (("parent_id", "parents", "id", "NO ACTION", "NO ACTION"),)},
        probes=(rejects(ORPHAN),),
    ),
    change(
        "fk-drop-named",
        family(fk=fk_named),
        family(),
        [f"edit table children in place: drop {FK} on children"],
        data=FAMILY,
        expect={FK_LIST: ()},
        probes=(orphan_accepted(),),
    ),
    change(
        "fk-drop-unnamed",
        family(fk=fk_unnamed),
        family(),
        [f"edit table children in place: drop {FK} on children"],
        data=FAMILY,
        expect={FK_LIST: ()},
        probes=(orphan_accepted(),),
    ),
    change(
        "fk-ondelete-cascade",
        family(fk=fk_named),
        family(fk=fk_cascade),
        [f"edit table children in place: drop {FK} on children; add {FK} ON DELETE CASCADE on children"],
        data=FAMILY,
        expect={FK_LIST: (("parent_id", "parents", "id", "NO ACTION", "CASCADE"),)},
        probes=(
            accepts(
                "DELETE FROM parents WHERE id = 1",
                "SELECT id, parent_id FROM children ORDER BY id",
                ((3, 2), (4, None), (5, 3)),
            ),
        ),
    ),
    change(
        "fk-onupdate-change",
        family(fk=fk_update_cascade),
        family(fk=fk_update_set_null),
        [
            f"edit table children in place: drop {FK} ON UPDATE CASCADE on children; "
            f"add {FK} ON UPDATE SET NULL on children"
        ],
        data=FAMILY,
        expect={FK_LIST: (("parent_id", "parents", "id", "SET NULL", "NO ACTION"),)},
        probes=(
            accepts(
                "UPDATE parents SET id = 10 WHERE id = 1",
                "SELECT id, parent_id FROM children ORDER BY id",
                ((1, None), (2, None), (3, 2), (4, None), (5, 3)),
            ),
        ),
    ),
]
