"""Three small applications, each evolving over four versions with data inserted between them."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    text,
)

from scenarios import Scenario, Version, accepts, rejects

# --- a blog: users, posts, comments, tags -----------------------------------

BLOG_USERS = """
class User(Base):
    __tablename__ = 'users'
    id = Column(Integer, primary_key=True)
    {name} = Column(String(50), nullable=False)
    email = Column(String(120), unique=True)
    {bio}
"""

BLOG_V1 = (
    BLOG_USERS.format(name="name", bio="")
    + """
class Post(Base):
    __tablename__ = 'posts'
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey('users.id'))
    title = Column(String(200))
    body = Column(Text)
"""
)

COMMENTS = """
class Comment(Base):
    __tablename__ = 'comments'
    id = Column(Integer, primary_key=True)
    post_id = Column(Integer, ForeignKey('posts.id', ondelete='CASCADE'), nullable=False, index=True)
    user_id = Column(Integer, ForeignKey('users.id'{user_ondelete}))
    body = Column(Text, nullable=False)
    created = Column(DateTime, server_default=func.current_timestamp())
"""

BLOG_V2 = (
    BLOG_USERS.format(name="name", bio="")
    + """
class Post(Base):
    __tablename__ = 'posts'
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey('users.id'), index=True)
    title = Column(String(200))
    body = Column(Text)
    published = Column(Boolean, nullable=False, server_default=text('0'))
"""
    + COMMENTS.format(user_ondelete="")
)

TAGS = """
class Tag(Base):
    __tablename__ = 'tags'
    id = Column(Integer, primary_key=True)
    name = Column(String(30), nullable=False, unique=True)

post_tags = Table(
    'post_tags', metadata,
    Column('post_id', Integer, ForeignKey('posts.id', ondelete='CASCADE'), primary_key=True),
    Column('tag_id', Integer, ForeignKey('tags.id'), primary_key=True),
)
"""

BLOG_V3 = (
    BLOG_USERS.format(name="display_name", bio="")
    + """
class Post(Base):
    __tablename__ = 'posts'
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey('users.id'), index=True)
    title = Column(String(200), nullable=False)
    body = Column(Text)
    published = Column(Boolean, nullable=False, server_default=text('0'))
"""
    + COMMENTS.format(user_ondelete="")
    + TAGS
)

BLOG_V4 = (
    BLOG_USERS.format(name="display_name", bio="bio = Column(Text)")
    + """
class Post(Base):
    __tablename__ = 'posts'
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey('users.id'))
    title = Column(String(200), nullable=False)
    published = Column(Boolean, nullable=False, server_default=text('0'))
    __table_args__ = (
        CheckConstraint('length(title) > 0', name='ck_posts_title'),
        Index('ix_posts_user_published', 'user_id', 'published'),
    )
"""
    + COMMENTS.format(user_ondelete=", ondelete='SET NULL'")
    + TAGS
)

BLOG = Scenario(
    "app-blog",
    (
        Version(BLOG_V1, plan=("create table posts", "create table users")),
        Version(
            BLOG_V2,
            plan=(
                "create table comments",
                "add column posts.published BOOLEAN NOT NULL DEFAULT 0",
                "create index ix_comments_post_id on comments",
                "create index ix_posts_user_id on posts",
            ),
            data=(
                "INSERT INTO users (id, name, email) VALUES (1, 'ann', 'ann@x'), (2, 'bob', NULL), "
                "(3, 'cy', 'cy@x')",
                "INSERT INTO posts (id, user_id, title, body) VALUES (1, 1, 'Hello', 'first post'), "
                "(2, 1, 'Again', NULL), (3, 2, 'Bob here', 'hi'), (4, 3, '42', X'00ff')",
            ),
            expect={
                "SELECT id, published, typeof(published) FROM posts ORDER BY id": tuple(
                    (i, 0, "integer") for i in range(1, 5)
                ),
            },
        ),
        Version(
            BLOG_V3,
            plan=(
                "rename column users.name -> display_name",
                "create table post_tags",
                "create table tags",
                "edit table posts in place: alter column posts.title: NOT NULL",
            ),
            data=(
                "INSERT INTO comments (id, post_id, user_id, body) VALUES (1, 1, 2, 'nice'), "
                "(2, 1, 3, '+1'), (3, 3, 1, 'welcome')",
                "UPDATE posts SET published = 1 WHERE id IN (1, 3)",
            ),
            renames=("users.name=display_name",),
            expect={
                "SELECT c.id, p.title, u.display_name FROM comments AS c JOIN posts AS p ON p.id = c.post_id "
                "JOIN users AS u ON u.id = c.user_id ORDER BY c.id": (
                    (1, "Hello", "bob"),
                    (2, "Hello", "cy"),
                    (3, "Bob here", "ann"),
                ),
            },
            probes=(rejects("INSERT INTO posts (id, user_id, title) VALUES (9, 1, NULL)"),),
        ),
        Version(
            BLOG_V4,
            plan=(
                "edit table comments in place: drop FOREIGN KEY (user_id) REFERENCES users (id) on comments; "
                "add FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL on comments",
                "rebuild table posts: drop column posts.body; add CHECK (length(title) > 0) on posts",
                "add column users.bio TEXT",
            ),
            data=(
                "INSERT INTO tags (id, name) VALUES (1, 'sqlite'), (2, 'python')",
                "INSERT INTO post_tags (post_id, tag_id) VALUES (1, 1), (1, 2), (3, 2)",
                "INSERT INTO comments (id, post_id, user_id, body, created) "
                "VALUES (4, 4, 1, 'late', '2024-01-01 00:00:00')",
            ),
            allow_data_loss=True,
            expect={
                "SELECT p.id, u.display_name, p.title, p.published, "
                "(SELECT group_concat(t.name, ',') FROM (SELECT t.name FROM post_tags AS pt "
                "JOIN tags AS t ON t.id = pt.tag_id WHERE pt.post_id = p.id ORDER BY t.name) AS t), "
                "(SELECT count(*) FROM comments AS c WHERE c.post_id = p.id) "
                "FROM posts AS p JOIN users AS u ON u.id = p.user_id ORDER BY p.id": (
                    (1, "ann", "Hello", 1, "python,sqlite", 2),
                    (2, "ann", "Again", 0, None, 0),
                    (3, "bob", "Bob here", 1, "python", 1),
                    (4, "cy", "42", 0, None, 1),
                ),
                "SELECT name FROM pragma_table_info('posts') ORDER BY cid": (
                    ("id",),
                    ("user_id",),
                    ("title",),
                    ("published",),
                ),
                "SELECT name FROM pragma_index_list('posts') WHERE origin = 'c'": (
                    ("ix_posts_user_published",),
                ),
            },
            probes=(
                rejects("UPDATE posts SET title = '' WHERE id = 1"),
                accepts(
                    (
                        "DELETE FROM comments WHERE id = 3",
                        "DELETE FROM posts WHERE id = 2 OR id = 4",
                        "DELETE FROM users WHERE id = 3",
                    ),
                    "SELECT id, post_id, user_id FROM comments ORDER BY id",
                    ((1, 1, 2), (2, 1, None)),
                ),
                accepts(
                    "DELETE FROM posts WHERE id = 1",
                    "SELECT post_id, tag_id FROM post_tags",
                    ((3, 2),),
                ),
            ),
        ),
    ),
)

# --- a shop: customers (renamed clients), products, orders, order items ------

SHOP_CUSTOMERS = """
class Customer(Base):
    __tablename__ = '{customers}'
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    email = Column(String(120))
    {customer_extra}

class Product(Base):
    __tablename__ = 'products'
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    price = Column({price})
    {legacy}

class Order(Base):
    __tablename__ = 'orders'
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey('{customers}.id'), nullable=False)
    {placed} = Column(String(30))
    {status}
"""

ITEMS_V1 = """
class OrderItem(Base):
    __tablename__ = 'order_items'
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey('orders.id'), nullable=False)
    product_id = Column(Integer, ForeignKey('products.id'), nullable=False)
    qty = Column(Integer)
"""

ITEMS_V3 = """
class OrderItem(Base):
    __tablename__ = 'order_items'
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey('orders.id', ondelete='CASCADE'), nullable=False)
    product_id = Column(Integer, ForeignKey('products.id'), nullable=False)
    qty = Column(Integer, nullable=False, server_default='1')
    __table_args__ = (UniqueConstraint('order_id', 'product_id', name='uq_order_product'),)
"""

REVIEWS = """
class Review(Base):
    __tablename__ = 'reviews'
    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey('products.id', ondelete='CASCADE'), nullable=False)
    client_id = Column(Integer, ForeignKey('clients.id'))
    stars = Column(Integer, CheckConstraint('stars BETWEEN 1 AND 5'), nullable=False)
"""

STATUS = "status = Column(String(20), nullable=False, server_default='new')"
LEGACY = "legacy_sku = Column(String(20))"

SHOP_V1 = (
    SHOP_CUSTOMERS.format(
        customers="customers",
        customer_extra="",
        price="String(20)",
        legacy=LEGACY,
        placed="placed",
        status="",
    )
    + ITEMS_V1
)
SHOP_V2 = (
    SHOP_CUSTOMERS.format(
        customers="clients", customer_extra="", price="Integer", legacy=LEGACY, placed="placed", status=STATUS
    )
    + ITEMS_V1
)
SHOP_V3 = (
    SHOP_CUSTOMERS.format(
        customers="clients", customer_extra="", price="Integer", legacy="", placed="placed", status=STATUS
    )
    + ITEMS_V3
)
SHOP_V4 = (
    SHOP_CUSTOMERS.format(
        customers="clients",
        customer_extra="vip = Column(Boolean, nullable=False, server_default=text('0'))\n"
        "    __table_args__ = (Index('ux_clients_email', 'email', unique=True),)",
        price="Integer",
        legacy="",
        placed="placed_at",
        status=STATUS,
    )
    + ITEMS_V3
    + REVIEWS
)

ORDER_TOTALS = (
    "SELECT o.id, c.name, o.status, sum(i.qty * p.price), typeof(sum(i.qty * p.price)) "
    "FROM orders AS o JOIN clients AS c ON c.id = o.customer_id "
    "JOIN order_items AS i ON i.order_id = o.id JOIN products AS p ON p.id = i.product_id "
    "GROUP BY o.id ORDER BY o.id"
)

SHOP = Scenario(
    "app-shop",
    (
        Version(SHOP_V1),
        Version(
            SHOP_V2,
            plan=(
                "rename table customers -> clients",
                "add column orders.status VARCHAR(20) NOT NULL DEFAULT 'new'",
                "rebuild table products: alter column products.price: type VARCHAR(20) -> INTEGER",
            ),
            data=(
                "INSERT INTO customers (id, name, email) VALUES (1, 'Ann', 'ann@x'), (2, 'Bob', NULL)",
                "INSERT INTO products (id, name, price) VALUES (1, 'Pen', '150'), (2, 'Ink', '1999'), "
                "(3, 'Pad', '0')",
                "INSERT INTO orders (id, customer_id, placed) VALUES (1, 1, '2024-05-01'), "
                "(2, 2, '2024-05-02'), (3, 1, NULL)",
                "INSERT INTO order_items (id, order_id, product_id, qty) VALUES (1, 1, 1, 2), "
                "(2, 1, 2, NULL), (3, 2, 3, 1), (4, 3, 1, 10)",
            ),
            table_renames=("customers=clients",),
            converted={"products.price": ((1, 150, "integer"), (2, 1999, "integer"), (3, 0, "integer"))},
            expect={
                'SELECT "table", "from" FROM pragma_foreign_key_list(\'orders\')': (
                    ("clients", "customer_id"),
                ),
                "SELECT id, status FROM orders ORDER BY id": ((1, "new"), (2, "new"), (3, "new")),
            },
        ),
        Version(
            SHOP_V3,
            plan=(
                "rebuild table order_items: alter column order_items.qty: NOT NULL, default (none) -> 1; "
                "add UNIQUE (order_id, product_id) on order_items; "
                "drop FOREIGN KEY (order_id) REFERENCES orders (id) on order_items; "
                "add FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE on order_items; "
                "fill order_items.qty with coalesce(qty, 1)",
                "drop column products.legacy_sku",
            ),
            fills=("order_items.qty=coalesce(qty, 1)",),
            data=(
                "INSERT INTO clients (id, name, email) VALUES (3, 'Cy', 'cy@x')",
                "INSERT INTO orders (id, customer_id, placed, status) VALUES (4, 3, '2024-06-01', 'paid')",
                "INSERT INTO order_items (id, order_id, product_id, qty) VALUES (5, 4, 2, 3)",
                "UPDATE orders SET status = 'shipped' WHERE id = 1",
            ),
            converted={
                "order_items.qty": (
                    (1, 2, "integer"),
                    (2, 1, "integer"),
                    (3, 1, "integer"),
                    (4, 10, "integer"),
                    (5, 3, "integer"),
                ),
            },
            probes=(
                rejects("INSERT INTO order_items (id, order_id, product_id) VALUES (9, 1, 1)"),
                accepts(
                    "DELETE FROM orders WHERE id = 1",
                    "SELECT id FROM order_items ORDER BY id",
                    ((3,), (4,), (5,)),
                ),
            ),
        ),
        Version(
            SHOP_V4,
            plan=(
                "rename column orders.placed -> placed_at",
                "create table reviews",
                "add column clients.vip BOOLEAN NOT NULL DEFAULT 0",
                "create unique index ux_clients_email on clients",
            ),
            data=(
                "INSERT INTO products (id, name, price) VALUES (4, 'Bag', 2500)",
                "INSERT INTO order_items (id, order_id, product_id, qty) VALUES (6, 4, 4, 1)",
            ),
            renames=("orders.placed=placed_at",),
            expect={
                ORDER_TOTALS: (
                    (1, "Ann", "shipped", 2299, "integer"),
                    (2, "Bob", "new", 0, "integer"),
                    (3, "Ann", "new", 1500, "integer"),
                    (4, "Cy", "paid", 8497, "integer"),
                ),
                "SELECT id, placed_at, typeof(placed_at) FROM orders ORDER BY id": (
                    (1, "2024-05-01", "text"),
                    (2, "2024-05-02", "text"),
                    (3, None, "null"),
                    (4, "2024-06-01", "text"),
                ),
                "SELECT id, vip FROM clients ORDER BY id": ((1, 0), (2, 0), (3, 0)),
            },
            probes=(
                rejects("INSERT INTO reviews (id, product_id, client_id, stars) VALUES (1, 1, 1, 6)"),
                rejects("INSERT INTO clients (id, name, email) VALUES (9, 'Dup', 'ann@x')"),
                accepts(
                    (
                        "INSERT INTO reviews (id, product_id, client_id, stars) VALUES (1, 4, 3, 5)",
                        "DELETE FROM order_items WHERE product_id = 4",
                        "DELETE FROM products WHERE id = 4",
                    ),
                    "SELECT count(*) FROM reviews",
                    ((0,),),
                ),
            ),
        ),
    ),
)

# --- a task tracker, written with Core Table objects --------------------------


def tracker(version: int) -> Callable[[], MetaData]:
    """The tracker's models at one version, as a MetaData builder."""

    def build() -> MetaData:
        metadata = MetaData()
        projects = [Column("id", Integer, primary_key=True), Column("name", String(50), nullable=False)]
        if version >= 4:
            projects.append(Column("archived", Boolean, nullable=False, server_default=text("0")))
        Table("projects", metadata, *projects)
        if version < 4:
            Table("labels", metadata, Column("id", Integer, primary_key=True), Column("name", String(20)))
        if version >= 3:
            Table(
                "people",
                metadata,
                Column("id", Integer, primary_key=True),
                Column("name", String(50), nullable=False, unique=True),
            )
        columns: list[object] = [
            Column("id", Integer, primary_key=True),
            Column("project_id", Integer),
            Column("summary" if version >= 4 else "title", String(200)),
        ]
        if version == 1:
            columns += [Column("done", Integer), Column("priority", String(10))]
        else:
            columns += [
                Column("done", Integer, nullable=False, server_default="0"),
                Column("priority", Integer),
            ]
        ondelete = "CASCADE" if version >= 4 else None
        columns.append(ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete=ondelete))
        if version >= 3:
            columns += [
                Column("assignee_id", Integer),
                ForeignKeyConstraint(["assignee_id"], ["people.id"], name="fk_tasks_assignee"),
                CheckConstraint("priority BETWEEN 1 AND 5", name="ck_tasks_priority"),
                Index("ix_tasks_project_done", "project_id", "done"),
            ]
        Table("tasks", metadata, *columns)
        return metadata

    return build


TASKS = (
    "SELECT t.id, p.name, t.summary, t.done, t.priority, typeof(t.priority), a.name FROM tasks AS t "
    "JOIN projects AS p ON p.id = t.project_id LEFT JOIN people AS a ON a.id = t.assignee_id ORDER BY t.id"
)

TRACKER = Scenario(
    "app-task-tracker",
    (
        Version(tracker(1)),
        Version(
            tracker(2),
            plan=(
                "rebuild table tasks: alter column tasks.done: NOT NULL, default (none) -> 0; "
                "alter column tasks.priority: type VARCHAR(10) -> INTEGER; "
                "fill tasks.done with coalesce(done, 0)",
            ),
            fills=("tasks.done=coalesce(done, 0)",),
            data=(
                "INSERT INTO projects (id, name) VALUES (1, 'home'), (2, 'work')",
                "INSERT INTO tasks (id, project_id, title, done, priority) VALUES (1, 1, 'dishes', 1, '3'), "
                "(2, 1, 'laundry', NULL, '1'), (3, 2, 'report', 0, '5'), (4, 2, 'email', NULL, NULL)",
            ),
            converted={
                "tasks.done": ((1, 1, "integer"), (2, 0, "integer"), (3, 0, "integer"), (4, 0, "integer")),
                "tasks.priority": (
                    (1, 3, "integer"),
                    (2, 1, "integer"),
                    (3, 5, "integer"),
                    (4, None, "null"),
                ),
            },
        ),
        Version(
            tracker(3),
            plan=(
                "create table people",
                "rebuild table tasks: add column tasks.assignee_id INTEGER; "
                "add CHECK (priority BETWEEN 1 AND 5) on tasks; "
                "add FOREIGN KEY (assignee_id) REFERENCES people (id) on tasks",
            ),
            data=("INSERT INTO tasks (id, project_id, title, done, priority) VALUES (5, 1, 'plants', 0, 2)",),
            expect={
                "SELECT seqno, name FROM pragma_index_info('ix_tasks_project_done') ORDER BY seqno": (
                    (0, "project_id"),
                    (1, "done"),
                ),
            },
            probes=(
                rejects("UPDATE tasks SET priority = 6 WHERE id = 1"),
                rejects("UPDATE tasks SET assignee_id = 1 WHERE id = 1"),
            ),
        ),
        Version(
            tracker(4),
            plan=(
                "rename column tasks.title -> summary",
                "drop table labels",
                "add column projects.archived BOOLEAN NOT NULL DEFAULT 0",
                "edit table tasks in place: drop FOREIGN KEY (project_id) REFERENCES projects (id) on tasks; "
                "add FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE on tasks",
            ),
            data=(
                "INSERT INTO people (id, name) VALUES (1, 'Ann'), (2, 'Bob')",
                "UPDATE tasks SET assignee_id = 1 WHERE id IN (1, 2)",
                "UPDATE tasks SET assignee_id = 2 WHERE id = 3",
            ),
            renames=("tasks.title=summary",),
            expect={
                TASKS: (
                    (1, "home", "dishes", 1, 3, "integer", "Ann"),
                    (2, "home", "laundry", 0, 1, "integer", "Ann"),
                    (3, "work", "report", 0, 5, "integer", "Bob"),
                    (4, "work", "email", 0, None, "null", None),
                    (5, "home", "plants", 0, 2, "integer", None),
                ),
                "SELECT id, archived FROM projects ORDER BY id": ((1, 0), (2, 0)),
            },
            probes=(
                accepts(
                    "DELETE FROM projects WHERE id = 1",
                    "SELECT id FROM tasks ORDER BY id",
                    ((3,), (4,)),
                ),
            ),
        ),
    ),
)

SCENARIOS: list[Scenario] = [BLOG, SHOP, TRACKER]
