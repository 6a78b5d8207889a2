"""Table kinds a rebuild must carry over: WITHOUT ROWID, STRICT, a shadowed rowid,
generated columns, and names that need quoting."""

from __future__ import annotations

from scenarios import Scenario, accepts, change, rejects

WITHOUT_ROWID = """
class Word(Base):
    __tablename__ = 'words'
    code = Column(String(10), primary_key=True)
    n = Column(Integer{n})
    __table_args__ = {{'sqlite_with_rowid': False}}
"""

STRICT = """
class Reading(Base):
    __tablename__ = 'readings'
    id = Column(Integer, primary_key=True)
    label = Column(Text{label})
    value = Column(Integer)
    __table_args__ = {{'sqlite_strict': True}}
"""

SHADOWED = """
class Ticket(Base):
    __tablename__ = 'tickets'
    code = Column(String(10), primary_key=True)
    rowid = Column('rowid', Integer)
    n = Column(Integer{n})
"""

GENERATED = """
class Box(Base):
    __tablename__ = 'boxes'
    id = Column(Integer, primary_key=True)
    side = Column(Integer{side})
    area = Column(Integer, Computed('side * side'{persisted}))
"""

AWKWARD = """
class Order(Base):
    __tablename__ = 'order'
    id = Column(Integer, primary_key=True)
    grp = Column('{group}', {group_type})
    picked = Column('select "x"', Integer, index=True)

class LineItem(Base):
    __tablename__ = 'line item'
    id = Column(Integer, primary_key=True)
    order_id = Column('order id', Integer, ForeignKey('order.id'))
"""

SCENARIOS: list[Scenario] = [
    change(
        "without-rowid-rebuild",
        WITHOUT_ROWID.format(n=""),
        WITHOUT_ROWID.format(n=", nullable=False, server_default='0'"),
        [
            "rebuild table words: alter column words.n: NOT NULL, default (none) -> 0; "
            "fill words.n with coalesce(n, 0)"
        ],
        fills=("words.n=coalesce(n, 0)",),
        data=("INSERT INTO words (code, n) VALUES ('b', NULL), ('a', 3), ('c', '7')",),
        converted={"words.n": (("a", 3, "integer"), ("b", 0, "integer"), ("c", 7, "integer"))},
        expect={"SELECT wr FROM pragma_table_list WHERE name = 'words'": ((1,),)},
    ),
    change(
        "strict-rebuild",
        STRICT.format(label=""),
        STRICT.format(label=", nullable=False, server_default='none'"),
        [
            "rebuild table readings: alter column readings.label: NOT NULL, default (none) -> 'none'; "
            "fill readings.label with coalesce(label, 'none')"
        ],
        fills=("readings.label=coalesce(label, 'none')",),
        data=("INSERT INTO readings (id, label, value) VALUES (1, NULL, 4), (2, 'x', -1)",),
        converted={"readings.label": ((1, "none", "text"), (2, "x", "text"))},
        expect={"SELECT strict FROM pragma_table_list WHERE name = 'readings'": ((1,),)},
        probes=(rejects("INSERT INTO readings (id, label, value) VALUES (9, 'y', 'not a number')"),),
    ),
    change(
        "shadowed-rowid-rebuild-keeps-hidden-rowid",
        SHADOWED.format(n=""),
        SHADOWED.format(n=", nullable=False, server_default='0'"),
        [
            "rebuild table tickets: alter column tickets.n: NOT NULL, default (none) -> 0; "
            "fill tickets.n with coalesce(n, 0)"
        ],
        fills=("tickets.n=coalesce(n, 0)",),
        data=("INSERT INTO tickets (_rowid_, code, rowid, n) VALUES (100, 'b', 5, NULL), (200, 'a', 6, 3)",),
        converted={"tickets.n": ((100, 0, "integer"), (200, 3, "integer"))},
        expect={"SELECT _rowid_, code, rowid FROM tickets ORDER BY _rowid_": ((100, "b", 5), (200, "a", 6))},
    ),
    change(
        "generated-virtual-column-rebuild",
        GENERATED.format(side="", persisted=""),
        GENERATED.format(side=", nullable=False, server_default='1'", persisted=""),
        [
            "rebuild table boxes: alter column boxes.side: NOT NULL, default (none) -> 1; "
            "fill boxes.side with coalesce(side, 1)"
        ],
        fills=("boxes.side=coalesce(side, 1)",),
        data=("INSERT INTO boxes (id, side) VALUES (1, 5), (2, NULL), (3, '4')",),
        converted={
            "boxes.side": ((1, 5, "integer"), (2, 1, "integer"), (3, 4, "integer")),
            "boxes.area": ((1, 25, "integer"), (2, 1, "integer"), (3, 16, "integer")),
        },
    ),
    change(
        "generated-stored-column-rebuild",
        GENERATED.format(side="", persisted=", persisted=True"),
        GENERATED.format(side=", nullable=False, server_default='1'", persisted=", persisted=True"),
        [
            "rebuild table boxes: alter column boxes.side: NOT NULL, default (none) -> 1; "
            "fill boxes.side with coalesce(side, 1)"
        ],
        fills=("boxes.side=coalesce(side, 1)",),
        data=("INSERT INTO boxes (id, side) VALUES (1, 5), (2, NULL), (3, '4')",),
        converted={
            "boxes.side": ((1, 5, "integer"), (2, 1, "integer"), (3, 4, "integer")),
            "boxes.area": ((1, 25, "integer"), (2, 1, "integer"), (3, 16, "integer")),
        },
    ),
    change(
        "generated-expression-change",
        GENERATED.format(side="", persisted=""),
        GENERATED.format(side="", persisted="").replace("side * side", "side * 4"),
        ["rebuild table boxes: alter column boxes.area: generated expression"],
        data=("INSERT INTO boxes (id, side) VALUES (1, 5), (2, NULL)",),
        converted={"boxes.area": ((1, 20, "integer"), (2, None, "null"))},
    ),
    change(
        "names-that-need-quoting",
        AWKWARD.format(group="group", group_type="String(10)"),
        AWKWARD.format(group="from", group_type="Integer"),
        [
            "rename column order.group -> from",
            "rebuild table order: alter column order.from: type VARCHAR(10) -> INTEGER",
        ],
        data=(
            'INSERT INTO "order" (id, "group", "select ""x""") VALUES (1, \'12\', 3), (2, NULL, NULL)',
            'INSERT INTO "line item" (id, "order id") VALUES (1, 1), (2, 2), (3, NULL)',
        ),
        renames=("order.group=from",),
        converted={"order.from": ((1, 12, "integer"), (2, None, "null"))},
        expect={
            "SELECT name FROM pragma_index_list('order') WHERE origin = 'c'": (('ix_order_select "x"',),),
            'SELECT "table", "from" FROM pragma_foreign_key_list(\'line item\')': (("order", "order id"),),
        },
        probes=(
            rejects('INSERT INTO "line item" (id, "order id") VALUES (9, 99)'),
            accepts(
                'INSERT INTO "order" (id, "from") VALUES (9, \'5\')',
                'SELECT "from", typeof("from") FROM "order" WHERE id = 9',
                ((5, "integer"),),
            ),
        ),
    ),
]
