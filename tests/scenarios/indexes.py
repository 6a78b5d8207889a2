"""Explicit indexes: plain, unique and composite, added and dropped."""

from __future__ import annotations

from scenarios import Scenario, accepts, change, rejects


def people(*args: str) -> str:
    """The people table with ``__table_args__`` holding the given indexes."""
    table_args = f"    __table_args__ = ({', '.join(args)},)\n" if args else ""
    return f"""
class Person(Base):
    __tablename__ = 'people'
    id = Column(Integer, primary_key=True)
    email = Column(String(100))
    last = Column(String(50))
    first = Column(String(50))
{table_args}"""


ROWS = (
    "INSERT INTO people (id, email, last, first) VALUES (1, 'a@x', 'Lovelace', 'Ada'), "
    "(2, 'b@x', 'Hopper', 'Grace'), (3, NULL, 'Hopper', 'Ann'), (4, NULL, NULL, X'00')",
)
INDEXES = "SELECT name, \"unique\", partial FROM pragma_index_list('people') ORDER BY name"


def keys(index: str) -> str:
    return f"SELECT seqno, name FROM pragma_index_info('{index}') ORDER BY seqno"


SCENARIOS: list[Scenario] = [
    change(
        "index-add-plain",
        people(),
        people("Index('ix_people_last', 'last')"),
        ["create index ix_people_last on people"],
        data=ROWS,
        expect={INDEXES: (("ix_people_last", 0, 0),), keys("ix_people_last"): ((0, "last"),)},
    ),
    change(
        "index-drop-plain",
        people("Index('ix_people_last', 'last')"),
        people(),
        ["drop index ix_people_last on people"],
        data=ROWS,
        expect={INDEXES: ()},
    ),
    change(
        "index-add-unique",
        people(),
        people("Index('ux_people_email', 'email', unique=True)"),
        ["create unique index ux_people_email on people"],
        data=ROWS,
        expect={INDEXES: (("ux_people_email", 1, 0),)},
        probes=(
            rejects("INSERT INTO people (id, email) VALUES (9, 'a@x')"),
            accepts(
                "INSERT INTO people (id, email) VALUES (9, NULL)",
                "SELECT count(*) FROM people WHERE email IS NULL",
                ((3,),),
            ),
        ),
    ),
    change(
        "index-drop-unique",
        people("Index('ux_people_email', 'email', unique=True)"),
        people(),
        ["drop index ux_people_email on people"],
        data=ROWS,
        expect={INDEXES: ()},
        probes=(
            accepts(
                "INSERT INTO people (id, email) VALUES (9, 'a@x')",
                "SELECT id FROM people WHERE email = 'a@x' ORDER BY id",
                ((1,), (9,)),
            ),
        ),
    ),
    change(
        "index-add-composite",
        people(),
        people("Index('ix_people_name', 'last', 'first')"),
        ["create index ix_people_name on people"],
        data=ROWS,
        expect={keys("ix_people_name"): ((0, "last"), (1, "first"))},
    ),
    change(
        "index-add-composite-unique",
        people(),
        people("Index('ux_people_name', 'last', 'first', unique=True)"),
        ["create unique index ux_people_name on people"],
        data=ROWS,
        expect={keys("ux_people_name"): ((0, "last"), (1, "first"))},
        probes=(rejects("INSERT INTO people (id, last, first) VALUES (9, 'Hopper', 'Ann')"),),
    ),
    change(
        "index-drop-composite",
        people("Index('ix_people_name', 'last', 'first')"),
        people(),
        ["drop index ix_people_name on people"],
        data=ROWS,
        expect={INDEXES: ()},
    ),
    change(
        "index-change-columns-same-name",
        people("Index('ix_people_name', 'last')"),
        people("Index('ix_people_name', 'last', 'first')"),
        ["drop index ix_people_name on people", "create index ix_people_name on people"],
        data=ROWS,
        expect={keys("ix_people_name"): ((0, "last"), (1, "first"))},
    ),
    change(
        "index-add-partial",
        people(),
        people("Index('ix_people_known', 'email', sqlite_where=text('email IS NOT NULL'))"),
        ["create index ix_people_known on people"],
        data=ROWS,
        expect={INDEXES: (("ix_people_known", 0, 1),)},
    ),
]
