"""Plans from pairs of model sets, without any database file.

Both schemas are declared from models (in memory); the live side is then
planned against the target, so the native-or-rebuild decision, the copy map,
the guards and the rendered SQL are checked as data.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

from rebuilder.capabilities import Capabilities
from rebuilder.declare import declare
from rebuilder.diff import Renames, resolve_renames
from rebuilder.options import Options
from rebuilder.planner import make_plan
from rebuilder.render import render_all as render_ops
from rebuilder.schema import Schema
from rebuilder.steps import AddColumnStep, DropColumnStep, RebuildStep, RenameColumnsStep

Build = Callable[[MetaData], None]
MODERN = Capabilities((3, 45, 0))
OLD = Capabilities((3, 30, 0))


def schema(build: Build) -> Schema:
    md = MetaData()
    build(md)
    return declare([md])


def render_all(steps) -> list[str]:
    return [op.sql for op in render_ops(steps)]


def plan_lines(before: Build, after: Build, caps: Capabilities = MODERN, **renames: list[str]):
    live, target = schema(before), schema(after)
    options = Options.of(renames=renames.get("columns"), table_renames=renames.get("tables"))
    resolved = resolve_renames(live, target, options.renames, options.table_renames)
    return make_plan(live, target, resolved, caps)


def base(md: MetaData, *extra: Column) -> None:
    Table("t", md, Column("id", Integer, primary_key=True), Column("a", String(10)), *extra)


def test_identical_models_plan_nothing() -> None:
    planned = plan_lines(base, base)
    assert planned.steps == () and planned.changes == () and planned.guards == ()


def test_add_nullable_column_is_native() -> None:
    planned = plan_lines(base, lambda md: base(md, Column("b", Integer, server_default="0")))
    (step,) = planned.steps
    assert isinstance(step, AddColumnStep)
    assert render_all(planned.steps) == ["ALTER TABLE main.\"t\" ADD COLUMN b INTEGER DEFAULT '0'"]


def test_add_not_null_column_without_default_is_guarded() -> None:
    planned = plan_lines(base, lambda md: base(md, Column("b", Integer, nullable=False)))
    assert [g.what for g in planned.guards] == ["NOT NULL on column 'b'"]


def test_drop_plain_column_is_native_where_sqlite_drops_columns() -> None:
    before = lambda md: base(md, Column("b", Integer))  # noqa: E731
    (modern,) = plan_lines(before, base).steps
    (old,) = plan_lines(before, base, OLD).steps
    assert isinstance(modern, DropColumnStep)
    assert isinstance(old, RebuildStep)


def test_drop_indexed_column_needs_no_rebuild_once_the_index_goes() -> None:
    before = lambda md: base(md, Column("b", Integer, index=True))  # noqa: E731
    steps = plan_lines(before, base).steps
    assert [type(s).__name__ for s in steps] == ["DropIndexStep", "DropColumnStep"]


def test_many_changes_to_one_table_are_one_rebuild() -> None:
    def after(md: MetaData) -> None:
        Table(
            "t",
            md,
            Column("id", Integer, primary_key=True),
            Column("a", Integer, nullable=False, server_default="0"),
            Column("c", Text, unique=True),
            CheckConstraint("a >= 0"),
            Index("ix_t_c", "c"),
        )

    planned = plan_lines(lambda md: base(md, Column("b", Integer)), after)
    rebuilds = [s for s in planned.steps if isinstance(s, RebuildStep)]
    assert len(rebuilds) == 1
    (rebuild,) = rebuilds
    assert [(c.column, c.kind, c.value()) for c in rebuild.copies] == [
        ("id", "copy", '"id"'),
        ("a", "copy", '"a"'),
        ("c", "default", "NULL"),
    ]
    assert [i.name for i in rebuild.indexes] == ["ix_t_c"]
    assert {g.kind for g in planned.guards} == {"loss", "violation"}


def test_rebuild_sql_follows_the_documented_order() -> None:
    planned = plan_lines(base, lambda md: base(md, Column("b", Integer, unique=True)))
    assert render_all(planned.steps) == [
        'CREATE TABLE main."_rebuilder_new_t" (\n\tid INTEGER NOT NULL, \n\ta VARCHAR(10), \n'
        "\tb INTEGER, \n\tPRIMARY KEY (id), \n\tUNIQUE (b)\n)",
        'INSERT INTO main."_rebuilder_new_t" ("id", "a") SELECT "id", "a" FROM main."t"',
        'DROP TABLE main."t"',
        "PRAGMA legacy_alter_table = ON",
        'ALTER TABLE main."_rebuilder_new_t" RENAME TO "t"',
        "PRAGMA legacy_alter_table = OFF",
    ]


def test_rowid_is_copied_when_there_is_no_integer_primary_key() -> None:
    def keyed(md: MetaData, *extra: Column) -> None:
        Table("k", md, Column("code", String(5), primary_key=True), *extra)

    planned = plan_lines(keyed, lambda md: keyed(md, Column("n", Integer, unique=True)))
    (rebuild,) = planned.steps
    assert isinstance(rebuild, RebuildStep) and rebuild.copy_rowid
    assert (
        'INSERT INTO main."_rebuilder_new_k" (rowid, "code") SELECT rowid, "code"' in render_all([rebuild])[1]
    )


def test_renames_come_first_and_carry_constraints() -> None:
    def before(md: MetaData) -> None:
        Table(
            "t",
            md,
            Column("id", Integer, primary_key=True),
            Column("old", Integer),
            CheckConstraint("old > 0"),
        )

    def after(md: MetaData) -> None:
        Table(
            "t",
            md,
            Column("id", Integer, primary_key=True),
            Column("new", Integer),
            CheckConstraint("new > 0"),
        )

    planned = plan_lines(before, after, columns=["t.old=new"])
    assert planned.steps == (RenameColumnsStep("t", (("old", "new"),)),)


def test_table_rename_lets_child_foreign_keys_follow() -> None:
    def models(name: str) -> Build:
        def build(md: MetaData) -> None:
            Table(name, md, Column("id", Integer, primary_key=True))
            Table(
                "child", md, Column("id", Integer, primary_key=True), Column("pid", ForeignKey(f"{name}.id"))
            )

        return build

    planned = plan_lines(models("people"), models("person"), tables=["people=person"])
    assert [str(s) for s in planned.steps] == ["rename table people -> person"]


def test_unnamed_and_named_constraints_match_by_content() -> None:
    def named(md: MetaData) -> None:
        base(md, CheckConstraint("length(a) < 5", name="ck_a"))

    def unnamed(md: MetaData) -> None:
        base(md, CheckConstraint("length(a) < 5"))

    assert plan_lines(named, unnamed).steps == ()


@pytest.mark.parametrize("name", ["order", "my table", 'say "hi"', "größe"])
def test_odd_names_are_quoted_everywhere(name: str) -> None:
    def before(md: MetaData) -> None:
        Table(name, md, Column("id", Integer, primary_key=True), Column(name, String(5)))

    def after(md: MetaData) -> None:
        Table(name, md, Column("id", Integer, primary_key=True), Column(name, Integer))

    sql = render_all(plan_lines(before, after).steps)
    quoted = '"' + name.replace('"', '""') + '"'
    assert f"DROP TABLE main.{quoted}" in sql
    assert f'SELECT "id", {quoted} FROM main.{quoted}' in sql[1]


def test_bad_renames_are_refused() -> None:
    from rebuilder.errors import BadRename, RenameNotFound

    live, target = schema(base), schema(base)
    with pytest.raises(BadRename):
        Options.of(renames=["nodot=x"])
    with pytest.raises(RenameNotFound):
        resolve_renames(live, target, Options.of(renames=["t.nope=a"]).renames)
    with pytest.raises(RenameNotFound):
        resolve_renames(live, target, (), Options.of(table_renames=["nope=t"]).table_renames)
    assert resolve_renames(live, target) == Renames()


def test_package_functions_are_not_shadowed_by_submodules(tmp_path) -> None:
    import rebuilder

    rebuilder.sync(one_table_models(), tmp_path / "x.db")
    assert callable(rebuilder.plan) and callable(rebuilder.sync) and callable(rebuilder.check)


def one_table_models() -> MetaData:
    md = MetaData()
    base(md)
    return md


def test_foreign_key_to_non_unique_columns_is_refused() -> None:
    from rebuilder.errors import ForeignKeyMismatch

    def after(md: MetaData) -> None:
        Table("p", md, Column("id", Integer, primary_key=True), Column("code", String(5)))
        Table("c", md, Column("id", Integer, primary_key=True), Column("code", ForeignKey("p.code")))

    def before(md: MetaData) -> None:
        Table("p", md, Column("id", Integer, primary_key=True), Column("code", String(5)))

    with pytest.raises(ForeignKeyMismatch) as caught:
        plan_lines(before, after)
    assert caught.value.table == "c" and "REFERENCES p (code)" in caught.value.foreign_key


def test_renames_that_pass_a_name_between_columns_move_them_aside_first() -> None:
    def before(md: MetaData) -> None:
        Table("t", md, Column("id", Integer, primary_key=True), Column("a", Integer), Column("b", Text))

    def after(md: MetaData) -> None:
        Table("t", md, Column("id", Integer, primary_key=True), Column("a", Text), Column("b", Integer))

    planned = plan_lines(before, after, columns=["t.a=b", "t.b=a"])
    assert planned.steps == (RenameColumnsStep("t", (("a", "b"), ("b", "a"))),)
    assert render_all(planned.steps) == [
        'ALTER TABLE main."t" RENAME COLUMN "a" TO "_rebuilder_old_a"',
        'ALTER TABLE main."t" RENAME COLUMN "b" TO "_rebuilder_old_b"',
        'ALTER TABLE main."t" RENAME COLUMN "_rebuilder_old_a" TO "b"',
        'ALTER TABLE main."t" RENAME COLUMN "_rebuilder_old_b" TO "a"',
    ]


def test_a_column_whose_name_a_rename_takes_is_moved_aside_and_dropped() -> None:
    def before(md: MetaData) -> None:
        Table("t", md, Column("id", Integer, primary_key=True), Column("x", Integer), Column("y", Integer))

    def after(md: MetaData) -> None:
        Table("t", md, Column("id", Integer, primary_key=True), Column("x", Integer))

    planned = plan_lines(before, after, columns=["t.y=x"])
    assert [str(s) for s in planned.steps] == ["rename column t.y -> x", "drop column t.x"]
    assert render_all(planned.steps)[-1] == 'ALTER TABLE main."t" DROP COLUMN "_rebuilder_old_x"'
    (guard,) = planned.guards
    assert (guard.what, guard.column, guard.source) == ("drop column", "x", 'main."t" AS c')


def test_guards_read_a_renamed_primary_key_by_its_live_name() -> None:
    def before(md: MetaData) -> None:
        Table("t", md, Column("id", Integer, primary_key=True), Column("x", Integer))

    def after(md: MetaData) -> None:
        Table("t", md, Column("pk", Integer, primary_key=True), Column("x", Integer, nullable=False))

    planned = plan_lines(before, after, columns=["t.id=pk"])
    (guard,) = planned.guards
    assert guard.sample == 'c."id"' and guard.where == '(c."x") IS NULL'


def test_a_rebuild_is_destructive_when_it_drops_a_column_or_changes_an_affinity() -> None:
    def retyped(md: MetaData) -> None:
        Table("t", md, Column("id", Integer, primary_key=True), Column("a", Integer))

    def widened(md: MetaData) -> None:
        Table(
            "t",
            md,
            Column("id", Integer, primary_key=True),
            Column("a", String(10)),
            Column("b", Text, unique=True),
        )

    (change,) = plan_lines(base, retyped).steps
    (kept,) = plan_lines(base, widened, Capabilities((3, 45, 0), writable_schema=False)).steps
    assert isinstance(change, RebuildStep) and isinstance(kept, RebuildStep)
    assert change.destructive and not kept.destructive
