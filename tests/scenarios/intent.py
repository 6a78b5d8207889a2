"""Intent declared in the models: renames and fills in ``info``; values never changed without consent."""

from __future__ import annotations

from scenarios import Scenario, Version, accepts, change, rejects

HOBBY = """
class Hobby(Base):
    __tablename__ = 'hobby'
    id = Column(Integer, primary_key=True)
    {column}
    level = Column(Integer)
"""

PEOPLE = """
class Person(Base):
    __tablename__ = '{table}'
    {args}
    id = Column(Integer, primary_key=True)
    name = Column(String(50))

class Pet(Base):
    __tablename__ = 'pet'
    id = Column(Integer, primary_key=True)
    owner_id = Column(Integer, ForeignKey('{table}.id'))
"""

HOBBIES = ("INSERT INTO hobby (id, name, level) VALUES (1, 'chess', 3), (2, 'go', NULL), (3, NULL, 1)",)
NAMES_BY_ID = "SELECT id, {column}, typeof({column}) FROM hobby ORDER BY id"
KEPT = ((1, "chess", "text"), (2, "go", "text"), (3, None, "null"))

USERS = """
class User(Base):
    __tablename__ = 'users'
    id = Column(Integer, primary_key=True)
    email = Column(String(100))
    {extra}
"""

PRICES = """
class Product(Base):
    __tablename__ = 'products'
    id = Column(Integer, primary_key=True)
    price = Column({type})
"""

SQUARES = """
class Square(Base):
    __tablename__ = 'squares'
    id = Column(Integer, primary_key=True)
    side = Column(Integer)
    area = {area}
"""

LEGACY = """
class Kept(Base):
    __tablename__ = 'kept'
    id = Column(Integer, primary_key=True)
"""


def _people(table: str, renamed_from: str = "") -> str:
    args = f"__table_args__ = {{'info': {{'renamed_from': {renamed_from!r}}}}}" if renamed_from else ""
    return PEOPLE.format(table=table, args=args)


SCENARIOS: list[Scenario] = [
    Scenario(
        "info-column-rename-then-kept-in-the-code",
        (
            Version(HOBBY.format(column="name = Column(String(50))")),
            Version(
                HOBBY.format(column="title = Column(String(50), info={'renamed_from': 'name'})"),
                plan=("rename column hobby.name -> title",),
                data=HOBBIES,
                expect={NAMES_BY_ID.format(column="title"): KEPT},
            ),
            # The hint stays in the code; a later change plans only that change.
            Version(
                HOBBY.format(column="title = Column(String(80), info={'renamed_from': 'name'})"),
                plan=(
                    "edit table hobby in place: alter column hobby.title: type VARCHAR(50) -> VARCHAR(80)",
                ),
                expect={NAMES_BY_ID.format(column="title"): KEPT},
            ),
        ),
    ),
    Scenario(
        "info-table-rename-then-kept-in-the-code",
        (
            Version(_people("people")),
            Version(
                _people("person", renamed_from="people"),
                plan=("rename table people -> person",),
                data=(
                    "INSERT INTO people (id, name) VALUES (1, 'Ada'), (2, 'Alan')",
                    "INSERT INTO pet (id, owner_id) VALUES (1, 2)",
                ),
                expect={
                    "SELECT id, name FROM person ORDER BY id": ((1, "Ada"), (2, "Alan")),
                    "SELECT \"table\" FROM pragma_foreign_key_list('pet')": (("person",),),
                },
                probes=(rejects("INSERT INTO pet (id, owner_id) VALUES (9, 99)"),),
            ),
            Version(
                _people("person", renamed_from="people").replace(
                    "name = Column(String(50))", "name = Column(String(50))\n    born = Column(Integer)"
                ),
                plan=("add column person.born INTEGER",),
            ),
        ),
    ),
    Scenario(
        "info-rename-chain-across-releases",
        (
            Version(HOBBY.format(column="a = Column(String(50))")),
            Version(
                HOBBY.format(column="b = Column(String(50), info={'renamed_from': 'a'})"),
                plan=("rename column hobby.a -> b",),
                data=("INSERT INTO hobby (id, a) VALUES (1, 'x'), (2, NULL)",),
            ),
            Version(
                HOBBY.format(column="c = Column(String(50), info={'renamed_from': ['a', 'b']})"),
                plan=("rename column hobby.b -> c",),
                expect={"SELECT id, c FROM hobby ORDER BY id": ((1, "x"), (2, None))},
            ),
        ),
    ),
    change(
        "info-rename-chain-on-a-database-still-at-the-first-name",
        HOBBY.format(column="a = Column(String(50))"),
        HOBBY.format(column="c = Column(String(50), info={'renamed_from': ['a', 'b']})"),
        ["rename column hobby.a -> c"],
        data=("INSERT INTO hobby (id, a) VALUES (1, 'x'), (2, NULL)",),
        expect={"SELECT id, c, typeof(c) FROM hobby ORDER BY id": ((1, "x", "text"), (2, None, "null"))},
    ),
    change(
        "info-rename-and-fill-in-one-sync",
        HOBBY.format(column="name = Column(String(50))"),
        HOBBY.format(
            column="title = Column(String(50), nullable=False, "
            "info={'renamed_from': 'name', 'fill': \"coalesce(title, 'untitled')\"})"
        ),
        [
            "rename column hobby.name -> title",
            "rebuild table hobby: alter column hobby.title: NOT NULL; "
            "fill hobby.title with coalesce(title, 'untitled')",
        ],
        data=HOBBIES,
        expect={
            NAMES_BY_ID.format(column="title"): (
                (1, "chess", "text"),
                (2, "go", "text"),
                (3, "untitled", "text"),
            )
        },
    ),
    change(
        "fill-a-new-not-null-column-without-default",
        USERS.format(extra=""),
        USERS.format(extra="login = Column(String(100), nullable=False, info={'fill': 'lower(email)'})"),
        [
            "rebuild table users: add column users.login VARCHAR(100) NOT NULL; "
            "fill users.login with lower(email)"
        ],
        data=("INSERT INTO users (id, email) VALUES (1, 'Ada@X.org'), (2, 'alan@y.org')",),
        expect={
            "SELECT id, login, typeof(login) FROM users ORDER BY id": (
                (1, "ada@x.org", "text"),
                (2, "alan@y.org", "text"),
            )
        },
        probes=(rejects("INSERT INTO users (id, email) VALUES (9, 'z')"),),
    ),
    change(
        "fill-by-flag-converts-a-type",
        PRICES.format(type="String(20)"),
        PRICES.format(type="Float"),
        [
            "rebuild table products: alter column products.price: type VARCHAR(20) -> FLOAT; "
            "fill products.price with CAST(replace(price, ',', '.') AS REAL)"
        ],
        fills=("products.price=CAST(replace(price, ',', '.') AS REAL)",),
        data=("INSERT INTO products (id, price) VALUES (1, '2,50'), (2, '10'), (3, NULL)",),
        converted={"products.price": ((1, 2.5, "real"), (2, 10.0, "real"), (3, None, "null"))},
    ),
    change(
        "fill-for-a-column-that-needs-none-is-ignored",
        USERS.format(extra="nick = Column(String(20))"),
        USERS.format(
            extra="nick = Column(String(20), info={'fill': 'upper(email)'})\n    age = Column(Integer)"
        ),
        ["add column users.age INTEGER"],
        data=("INSERT INTO users (id, email, nick) VALUES (1, 'a@b', 'ab')",),
        expect={"SELECT nick FROM users": (("ab",),)},
    ),
    change(
        "generated-column-made-plain-keeps-its-values",
        SQUARES.format(area="Column(Integer, Computed('side * side', persisted=True))"),
        SQUARES.format(area="Column(Integer)"),
        ["rebuild table squares: alter column squares.area: generated expression"],
        data=("INSERT INTO squares (id, side) VALUES (1, 3), (2, NULL)",),
        converted={"squares.area": ((1, 9, "integer"), (2, None, "null"))},
        probes=(
            accepts(
                "UPDATE squares SET side = 5 WHERE id = 1",
                "SELECT area FROM squares WHERE id = 1",
                ((9,),),
            ),
        ),
    ),
    change(
        "virtual-generated-column-made-plain-keeps-its-values",
        SQUARES.format(area="Column(Integer, Computed('side * side'))"),
        SQUARES.format(area="Column(Integer)"),
        ["rebuild table squares: alter column squares.area: generated expression"],
        data=("INSERT INTO squares (id, side) VALUES (1, 3), (2, 4)",),
        converted={"squares.area": ((1, 9, "integer"), (2, 16, "integer"))},
    ),
    change(
        "plain-column-made-generated-when-every-value-matches",
        SQUARES.format(area="Column(Integer)"),
        SQUARES.format(area="Column(Integer, Computed('side * side', persisted=True))"),
        ["rebuild table squares: alter column squares.area: generated expression"],
        data=("INSERT INTO squares (id, side, area) VALUES (1, 3, 9), (2, NULL, NULL)",),
        converted={"squares.area": ((1, 9, "integer"), (2, None, "null"))},
    ),
    Scenario(
        "exclude-on-then-off-converges",
        (
            Version(
                LEGACY + "\nclass Old(Base):\n    __tablename__ = 'old'\n"
                "    id = Column(Integer, primary_key=True)\n"
            ),
            Version(
                LEGACY,
                plan=(),
                exclude=("old",),
                expect={"SELECT name FROM sqlite_schema WHERE name = 'old'": (("old",),)},
            ),
            Version(
                LEGACY,
                plan=("drop table old",),
                expect={"SELECT count(*) FROM sqlite_schema WHERE name = 'old'": ((0,),)},
            ),
        ),
    ),
]
