"""Open the database named by the caller: a path, a URL, an Engine or a Connection.

rebuilder always works on a dedicated connection in autocommit mode with
explicit ``BEGIN IMMEDIATE``. A caller's ``sqlite3.Connection`` is borrowed:
its pragmas are saved and restored, and it is never closed here.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote

from rebuilder.errors import (
    DatabaseLocked,
    DirectoryNotWritable,
    NoSuchDatabase,
    NotADatabase,
    RebuilderError,
)

HEADER = b"SQLite format 3\x00"

Waiting = Callable[[], None]
"""Called once when the write lock is held by another connection, before waiting for it."""


@dataclass(frozen=True)
class Target:
    """Where the database is.

    Attributes:
        label: How to name it in messages.
        path: The file path, or None for a borrowed connection.
        conn: A borrowed caller connection, if any.
        readonly: Whether the URL asked for ``mode=ro``.
        release: Gives a borrowed pooled connection back, if there is one.
    """

    label: str
    path: Path | None = None
    conn: sqlite3.Connection | None = None
    readonly: bool = False
    release: Callable[[], None] | None = None


def resolve(database: object) -> Target:
    """Work out where a DATABASE argument points.

    Args:
        database: A path, a ``sqlite:///`` URL, a SQLAlchemy Engine, or a
            ``sqlite3.Connection``.

    Returns:
        The target.

    Raises:
        RebuilderError: If it names something that is not a SQLite file.
    """
    if isinstance(database, sqlite3.Connection):
        return Target(label="connection", conn=database)
    url = getattr(database, "url", None)
    if url is not None and hasattr(url, "get_backend_name"):
        if url.get_backend_name() != "sqlite":
            raise RebuilderError(f"engine {url!r} is not a SQLite database; rebuilder works on SQLite only")
        if not url.database or url.database == ":memory:":
            return _borrow_engine(database)
        return Target(label=url.database, path=Path(url.database))
    if not isinstance(database, (str, os.PathLike)):
        raise RebuilderError(
            f"cannot use a {type(database).__name__} as the database; pass a path, a sqlite:/// URL, "
            "a SQLAlchemy Engine or a sqlite3.Connection"
        )
    text = str(os.fspath(database))
    scheme = text.split("://", 1)[0] if "://" in text else ""
    if scheme and not scheme.startswith("sqlite"):
        raise RebuilderError(f"{text} is not a SQLite URL; rebuilder works on SQLite files only")
    if text.startswith("sqlite:"):
        rest = text.split(":///", 1)[1] if ":///" in text else ""
        rest, _, query = rest.partition("?")
        if not rest or rest == ":memory:":
            raise RebuilderError(f"{text} names no database file; use sqlite:///path/to/file.db")
        return Target(label=rest, path=Path(rest), readonly="mode=ro" in query)
    return Target(label=text, path=Path(text))


def _borrow_engine(engine: Any) -> Target:
    """Borrow the one connection of an in-memory engine (it holds the whole database)."""
    proxy = engine.raw_connection()
    return Target(label="in-memory engine", conn=proxy.driver_connection, release=proxy.close)


def directory_not_writable(path: Path | None, text: str) -> DirectoryNotWritable | None:
    """Name the directory when SQLite's write failure comes from a directory that is not writable.

    Args:
        path: The database path, or None for a borrowed connection.
        text: SQLite's message.

    Returns:
        The error to raise instead, or None when the directory is not the cause.
    """
    words = ("readonly", "read-only", "unable to open")
    if path is None or not any(word in text.lower() for word in words):
        return None
    directory = path.absolute().parent
    if os.access(directory, os.W_OK | os.X_OK):
        return None
    return DirectoryNotWritable(str(path), str(directory))


def require_file(path: Path) -> None:
    """Check that ``path`` exists and is a SQLite database (a zero-byte file is an empty one).

    Raises:
        NoSuchDatabase: If there is no file at ``path``.
        NotADatabase: If it exists but is not a SQLite database.
    """
    if not path.exists() and path.parent.exists():
        raise NoSuchDatabase(str(path))
    if not check_file(path):
        raise NoSuchDatabase(str(path))


def check_file(path: Path) -> bool:
    """Check that ``path`` is a SQLite database, reading only its header.

    A zero-byte file is an empty database, as SQLite treats it.

    Returns:
        True if the file exists, False if it does not (it will be created).

    Raises:
        NotADatabase: If it exists but is not a SQLite database.
    """
    if not path.exists():
        if not path.parent.exists():
            raise NotADatabase(str(path), f"the directory {path.parent} does not exist")
        return False
    if path.is_dir():
        raise NotADatabase(str(path), "it is a directory")
    size = path.stat().st_size
    if size == 0:
        return True
    with path.open("rb") as handle:
        header = handle.read(100)
    if not header.startswith(HEADER):
        raise NotADatabase(str(path), "it does not start with the SQLite header")
    page = int.from_bytes(header[16:18], "big")
    page = 65536 if page == 1 else page
    if len(header) < 100 or size < page or page < 512:
        raise NotADatabase(str(path), "the file is truncated")
    return True


def create_database(path: Path) -> None:
    """Create an empty SQLite database at ``path``, atomically.

    The file is made under a private name, given a valid header, and linked
    into place, so another process never sees a half-made, zero-byte file.
    If another process created ``path`` first, its file is kept.
    """
    tmp = path.with_name(f".{path.name}.rebuilder-{os.getpid()}-{time.monotonic_ns()}")
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        conn.execute("VACUUM")
        conn.close()
        with suppress(FileExistsError):
            os.link(tmp, path)
    except (OSError, sqlite3.Error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise RebuilderError(
            f"cannot create the database {path} ({reason}); check that its directory is writable"
        ) from exc
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


def unreadable(label: str, exc: sqlite3.DatabaseError, path: Path | None = None) -> RebuilderError:
    """Turn an SQLite error that escaped the pipeline into one clear sentence."""
    text = str(exc)
    blocked = directory_not_writable(path, text)
    if blocked is not None:
        return blocked
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return NotADatabase(label, f"SQLite cannot read it: {text}")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return RebuilderError(
            f"cannot write to {label} ({text}); nothing was changed, check that the file "
            "and its directory are writable"
        )
    return RebuilderError(f"SQLite failed on {label}: {text}; nothing was changed")


def connect(path: Path, *, readonly: bool, timeout: float) -> sqlite3.Connection:
    """Open a dedicated autocommit connection to ``path``."""
    mode = "ro" if readonly else "rw"
    uri = f"file:{url_quote(str(path.absolute()))}?mode={mode}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=timeout, check_same_thread=False)
    except sqlite3.Error as exc:
        raise NotADatabase(str(path), f"it cannot be opened ({exc})") from exc
    return conn


def connect_to_read(target: Target, *, timeout: float) -> sqlite3.Connection:
    """Open a connection that only reads the target's file, and leaves no ``-wal`` or ``-shm`` behind.

    A read-only connection to a WAL database creates those two files but,
    unable to checkpoint, never removes them. So when neither exists (no other
    connection has the database open) and the file can be written, the
    connection is opened read-write: it still only reads, and closing it, as
    the last connection, removes them. Otherwise, or when the URL asks for
    ``mode=ro``, it is opened read-only.
    """
    path = target.path
    assert path is not None, "a borrowed connection is not opened here"
    if target.readonly:
        return connect(path, readonly=True, timeout=timeout)
    busy = any(path.with_name(path.name + end).exists() for end in ("-wal", "-shm"))
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    return connect(path, readonly=busy or not writable, timeout=timeout)


def pragma(conn: sqlite3.Connection, name: str) -> int:
    """Read an integer pragma."""
    return int(conn.execute(f"PRAGMA {name}").fetchone()[0])


def _is_locked(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _begin_immediate(conn: sqlite3.Connection, label: str, timeout: float, on_wait: Waiting | None) -> None:
    """``BEGIN IMMEDIATE``, waiting up to ``timeout`` seconds; calls ``on_wait()`` once if it must wait."""
    if on_wait is not None:
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc):
                raise
        on_wait()
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _is_locked(exc):
            raise DatabaseLocked(label, timeout) from exc
        raise


@contextmanager
def write_transaction(
    conn: sqlite3.Connection, label: str, timeout: float, on_wait: Waiting | None = None
) -> Iterator[sqlite3.Connection]:
    """Hold the write lock for the whole sync, with foreign keys off.

    ``PRAGMA foreign_keys=OFF`` is set before ``BEGIN IMMEDIATE`` and read
    back, so no ON DELETE action can fire while tables are dropped. The lock
    is awaited for up to ``timeout`` seconds. Inside the transaction the busy
    timeout is zero, so a page-cache spill that a reader blocks is skipped at
    once instead of waiting each time; COMMIT is then retried until the same
    deadline. On success the transaction commits; on any error it rolls back.
    Pragmas are restored on every path. When another connection holds the
    lock, ``on_wait()`` is called once before waiting for it.

    Raises:
        RebuilderError: If the connection is inside a transaction already.
        DatabaseLocked: If the lock, or the commit, cannot be had by the deadline.
    """
    if conn.in_transaction:
        raise RebuilderError(
            "the connection is inside an open transaction, so foreign keys cannot be "
            "switched off safely; commit or roll back first"
        )
    saved = {name: pragma(conn, name) for name in ("foreign_keys", "legacy_alter_table", "busy_timeout")}
    deadline = time.monotonic() + timeout
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("PRAGMA legacy_alter_table = OFF")
        if pragma(conn, "foreign_keys") != 0:
            raise RebuilderError("foreign keys could not be switched off; nothing was changed")
        _begin_immediate(conn, label, timeout, on_wait)
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            yield conn
            _commit(conn, label, timeout, deadline)
        except BaseException:
            _rollback(conn)
            raise
    finally:
        for name, value in saved.items():
            conn.execute(f"PRAGMA {name} = {value}")


def _commit(conn: sqlite3.Connection, label: str, timeout: float, deadline: float) -> None:
    """COMMIT, retrying while readers hold the database, until the deadline."""
    while True:
        try:
            conn.execute("COMMIT")
            return
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc) or not conn.in_transaction:
                raise
            if time.monotonic() >= deadline:
                raise DatabaseLocked(label, timeout) from exc
            time.sleep(0.02)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        # SQLite may already have rolled the transaction back itself.
        with suppress(sqlite3.OperationalError):
            conn.execute("ROLLBACK")


@contextmanager
def read_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A consistent read: ``BEGIN``, read, ``ROLLBACK``; writes nothing."""
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        yield conn
    finally:
        if own and conn.in_transaction:
            conn.execute("ROLLBACK")
