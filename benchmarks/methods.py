"""The timed methods, and the worker that runs exactly one of them in its own process.

Every method run is a fresh ``python benchmarks/methods.py METHOD PATH``
subprocess, so peak RSS and import state are the method's own. The worker
first imports what the method needs (not timed: start-up import cost is not
what this benchmark compares), then times the call alone with
``time.perf_counter``, and prints one JSON line::

    {"method": ..., "seconds": ..., "cpu_seconds": ..., "rss_before": ..., "peak_rss": ..., "rss_growth": ...}

``cpu_seconds`` is the process's user+system CPU time during the call (all
threads), a second signal when other work on the machine disturbs wall time.

``rss_before`` is the process RSS just before the call (psutil); ``peak_rss``
is the peak RSS during the call; ``rss_growth`` is their difference: how far
the call raised memory above the warm baseline. On Linux the peak is
``VmHWM`` from ``/proc/self/status`` after resetting it just before the call
(``echo 5 > /proc/self/clear_refs``). ``ru_maxrss`` is not used there: Linux
carries the parent's high-water mark across ``fork``/``exec``, so a small
worker would report its parent's size.

Methods (all in one transaction with ``foreign_keys`` off):

- ``rebuilder``: ``rebuilder.sync(V2Base, path, allow_data_loss=True)``, in-process.
- ``rebuilder-relaxed``: the same with ``relax_secure_delete=True``, the opt-in
  that lets SQLite skip zeroing the dropped table's pages (fails as
  unsupported if this rebuilder has no such option).
- ``raw``: SQLite's 12-step procedure, hand-written in stdlib ``sqlite3``.
- ``alembic``: ``Operations.batch_alter_table`` on a ``MigrationContext``, with
  SQLAlchemy's documented pysqlite recipe (``isolation_level=None`` plus an
  explicit ``BEGIN``) so the whole batch is one transaction.
- ``sqlite-utils``: ``table.transform(types=..., drop=..., add_foreign_keys=...)``.
- ``rebuilder-drop``: ``rebuilder.sync(V1DropBase, path, allow_data_loss=True)``,
  which plans a native ``ALTER TABLE DROP COLUMN``.
- ``raw-drop``: ``ALTER TABLE friend DROP COLUMN address`` by hand.

The paths with no rebuild (``bench_paths.py``): ``rebuilder-edit``,
``rebuilder-edit-validated``, ``rebuilder-add``, ``rebuilder-rename`` (a
``rebuilder.sync`` each, to the models ``rebuilder_target`` names) and ``scan``, one
plain read scan of ``friend`` (``SCAN_SQL``).
"""

from __future__ import annotations

import gc
import importlib
import json
import resource
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for entry in (str(HERE), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

FULL = ("rebuilder", "rebuilder-relaxed", "raw", "alembic", "sqlite-utils")
"""Methods doing the full change (drop address, score -> INTEGER, add the FK)."""
NATIVE = ("rebuilder-drop", "raw-drop")
"""Methods dropping only ``address``, where SQLite's native ALTER can do it."""
ALL = FULL + NATIVE
PATHS = ("rebuilder-edit", "rebuilder-edit-validated", "scan", "rebuilder-add", "rebuilder-rename")
"""The paths that need no copy of ``friend`` (bench_paths.py), beside ``raw`` and ``rebuilder-drop``."""
SCAN_SQL = "SELECT count(*) FROM friend WHERE address IS NULL"
"""The plain read scan: a predicate on a column no index covers, so every row is read."""

# The v2 table exactly as SQLAlchemy compiles V2Friend (and rebuilder creates it).
V2_FRIEND = (
    'CREATE TABLE "{name}" (\n'
    "\tid INTEGER NOT NULL, \n"
    "\tname VARCHAR(100) DEFAULT '', \n"
    "\temail VARCHAR(200), \n"
    "\tscore INTEGER, \n"
    "\tcity_id INTEGER, \n"
    "\tcreated_at DATETIME, \n"
    "\tPRIMARY KEY (id), \n"
    "\tCONSTRAINT fk_friend_city_id_city FOREIGN KEY(city_id) REFERENCES city (id)\n"
    ")"
)
KEPT = '"id", "name", "email", "score", "city_id", "created_at"'

Action = Callable[[], None]


def rebuilder_target(method: str) -> tuple[str, dict[str, object]]:
    """The ``models.py`` Base a rebuilder method syncs to, and its extra ``rebuilder.sync`` options.

    ``models`` (and with it SQLAlchemy) is imported here, not at the top, so the
    peers' workers do not carry it.
    """
    from models import RENAMED_TO

    targets: dict[str, tuple[str, dict[str, object]]] = {
        "rebuilder": ("V2Base", {}),
        "rebuilder-relaxed": ("V2Base", {"relax_secure_delete": True}),
        "rebuilder-drop": ("V1DropBase", {}),
        "rebuilder-edit": ("V1EditBase", {}),
        "rebuilder-edit-validated": ("V1EditCheckedBase", {}),
        "rebuilder-add": ("V1AddBase", {}),
        "rebuilder-rename": ("V1RenameBase", {"renames": [f"friend.address={RENAMED_TO}"]}),
    }
    return targets[method]


def _rebuilder(path: Path, base_name: str, **options: object) -> Action:
    import inspect

    import models

    import rebuilder

    # rebuilder imports its differ, planner and sqlglot lazily on the first diff;
    # import them here so the timed call is the engine's work, as for the peers.
    for name in ("rebuilder.diff", "rebuilder.reflect", "rebuilder.declare", "rebuilder.apply", "sqlglot"):
        importlib.import_module(name)
    for name in ("rebuilder.planner", "rebuilder.plan"):
        try:
            importlib.import_module(name)
            break
        except ImportError:
            continue
    base = getattr(models, base_name)
    missing = set(options) - set(inspect.signature(rebuilder.sync).parameters)
    if missing:
        raise SystemExit(f"this rebuilder.sync has no {', '.join(sorted(missing))} option")

    def run() -> None:
        rebuilder.sync(base, path, allow_data_loss=True, **options)

    return run


def _raw(path: Path) -> Action:
    def run() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            # 1. foreign keys off, outside any transaction
            conn.execute("PRAGMA foreign_keys = OFF")
            # 2. begin
            conn.execute("BEGIN IMMEDIATE")
            try:
                # 3. remember the indexes (and triggers, views: there are none)
                dependents = [
                    r[0]
                    for r in conn.execute(
                        "SELECT sql FROM sqlite_schema WHERE tbl_name = 'friend' "
                        "AND type IN ('index', 'trigger') AND sql IS NOT NULL"
                    )
                ]
                # 4. create the new table, 5. copy, 6. drop the old, 7. rename
                conn.execute(V2_FRIEND.format(name="new_friend"))
                conn.execute(f"INSERT INTO new_friend ({KEPT}) SELECT {KEPT} FROM friend")
                conn.execute("DROP TABLE friend")
                conn.execute("ALTER TABLE new_friend RENAME TO friend")
                # 8. recreate indexes (9. views: none)
                for sql in dependents:
                    conn.execute(sql)
                # 10. foreign_key_check
                if conn.execute("PRAGMA foreign_key_check(friend)").fetchall():
                    raise RuntimeError("foreign key violations")
                # 11. commit
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            # 12. foreign keys back as they were (off by default)
        finally:
            conn.close()

    return run


def _raw_drop(path: Path) -> Action:
    def run() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ALTER TABLE friend DROP COLUMN address")
            conn.execute("COMMIT")
        finally:
            conn.close()

    return run


def _alembic(path: Path) -> Action:
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from models import FK_NAME
    from sqlalchemy import Integer, String, create_engine, event
    from sqlalchemy.pool import NullPool

    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = OFF")

    @event.listens_for(engine, "begin")
    def _begin(conn: object) -> None:
        conn.exec_driver_sql("BEGIN")  # type: ignore[attr-defined]

    def run() -> None:
        with engine.connect() as conn, conn.begin():
            op = Operations(MigrationContext.configure(conn))
            with op.batch_alter_table("friend") as batch:
                batch.drop_column("address")
                batch.alter_column("score", type_=Integer(), existing_type=String(20))
                batch.create_foreign_key(FK_NAME, "city", ["city_id"], ["id"])

    return run


def _sqlite_utils(path: Path) -> Action:
    import sqlite_utils

    def run() -> None:
        db = sqlite_utils.Database(path)
        try:
            db["friend"].transform(  # type: ignore[union-attr]
                types={"score": int},
                drop={"address"},
                add_foreign_keys=[("city_id", "city", "id")],
            )
        finally:
            db.close()

    return run


def _scan(path: Path) -> Action:
    def run() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute(SCAN_SQL).fetchone()
        finally:
            conn.close()

    return run


PEERS: dict[str, Callable[[Path], Action]] = {
    "raw": _raw,
    "raw-drop": _raw_drop,
    "alembic": _alembic,
    "sqlite-utils": _sqlite_utils,
    "scan": _scan,
}


def prepare(method: str, path: Path) -> Action:
    """Import what ``method`` needs and return the callable to time."""
    if method.startswith("rebuilder"):
        base, options = rebuilder_target(method)
        return _rebuilder(path, base, **options)
    if method in PEERS:
        return PEERS[method](path)
    raise ValueError(f"unknown method {method!r}; choose from {', '.join((*ALL, *PATHS))}")


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS; False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return _peak() is not None


def _peak() -> int | None:
    """Peak RSS in bytes since the last reset (``VmHWM``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def measure(method: str, path: Path) -> dict[str, object]:
    """Run one method on ``path`` and return its time and memory."""
    import psutil

    action = prepare(method, path)
    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    reset = _reset_peak()
    cpu = time.process_time()
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    peak = _peak() if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "method": method,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_before": rss_before,
        "peak_rss": peak,
        "rss_growth": max(0, peak - rss_before),
        "peak_source": "VmHWM" if reset else "ru_maxrss",
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(f"usage: methods.py {{{'|'.join((*ALL, *PATHS))}}} PATH", file=sys.stderr)
        return 2
    print(json.dumps(measure(args[0], Path(args[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
