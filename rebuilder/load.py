"""Turn a MODELS spec or a Python object into SQLAlchemy MetaData.

A spec is ``pkg.module:attr`` or ``path/to/file.py:attr``. The attribute may
be a declarative Base, a ``MetaData``, anything with a ``.metadata`` MetaData
(Flask-SQLAlchemy's ``db``, SQLModel's ``SQLModel``), or a list of those.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import sysconfig
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from sqlalchemy import MetaData

from rebuilder.errors import BadModelSpec, NoTables


def metadata_of(target: object, spec: str = "") -> tuple[MetaData, ...]:
    """Return the MetaData objects a target stands for.

    Args:
        target: A Base, MetaData, object with ``.metadata``, or a list of them.
        spec: The spec it came from, for messages.

    Returns:
        One or more MetaData objects.

    Raises:
        BadModelSpec: If the target holds no MetaData.
    """
    if isinstance(target, MetaData):
        return (target,)
    if isinstance(target, (list, tuple)):
        return tuple(md for item in target for md in metadata_of(item, spec))
    found = getattr(target, "metadata", None)
    if isinstance(found, MetaData):
        return (found,)
    kind = type(target).__name__
    raise BadModelSpec(
        spec or repr(target),
        f"it is a {kind}, not a declarative Base, a MetaData or an object with .metadata",
    )


def require_tables(metadatas: tuple[MetaData, ...], spec: str = "") -> tuple[MetaData, ...]:
    """Refuse models that define no table, which would plan to drop every table.

    Args:
        metadatas: The models' MetaData objects.
        spec: The spec they came from, for the message.

    Returns:
        The same MetaData objects.

    Raises:
        NoTables: If none of them holds a table.
    """
    if not any(md.tables for md in metadatas):
        raise NoTables(spec)
    return metadatas


def _module_name(path: Path) -> tuple[Path, str]:
    """The directory to put on ``sys.path`` and the dotted name Python gives ``path`` from there.

    A file in a directory with ``__init__.py`` belongs to that package, so
    ``app/models.py`` beside ``app/__init__.py`` is ``app.models``, imported
    from the directory above ``app``; any other file is a top-level module
    named after its stem, imported from its own directory.
    """
    parts = [path.stem]
    root = path.parent
    while (root / "__init__.py").is_file() and root.name.isidentifier() and root.parent != root:
        parts.insert(0, root.name)
        root = root.parent
    return root, ".".join(parts)


def _same_file(module: ModuleType, path: Path) -> bool:
    found = getattr(module, "__file__", None)
    return found is not None and Path(found).resolve() == path


def _import_private(path: Path, spec: str) -> ModuleType:
    """Import ``path`` under a private name, when its real name is taken by another file."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    name = f"_rebuilder_models_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise BadModelSpec(spec, f"{path} cannot be imported as Python")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import_file(path: Path, spec: str) -> ModuleType:
    """Import a file as Python would import it: as its real module, from its root on ``sys.path``.

    So ``models.py:db`` and ``models:db`` are the same module, imported once,
    and a ``from models import ...`` inside the project finds it rather than
    running the file a second time.
    """
    if not path.is_file():
        raise BadModelSpec(spec, f"there is no file {path}")
    if not path.name.endswith(".py"):
        raise BadModelSpec(spec, f"{path} is not a .py file")
    path = path.resolve()
    root, name = _module_name(path)
    if not all(part.isidentifier() for part in name.split(".")):
        return _import_private(path, spec)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded if _same_file(loaded, path) else _import_private(path, spec)
    module = importlib.import_module(name)
    return module if _same_file(module, path) else _import_private(path, spec)


def _import(target: str, spec: str) -> ModuleType:
    if target.endswith(".py") or "/" in target or "\\" in target:
        return _import_file(Path(target), spec)
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and target.startswith(exc.name):
            raise BadModelSpec(
                spec, f"there is no module {exc.name!r} (check the name and the current directory)"
            ) from exc
        raise


_NOT_USER_CODE = tuple(
    {str(Path(p).resolve()) for key, p in sysconfig.get_paths().items() if key.endswith(("stdlib", "lib"))}
    | {str(Path(__file__).resolve().parent)}
)


def _user_frame(exc: BaseException) -> traceback.FrameSummary | None:
    """The innermost frame of the traceback that is the user's code, not Python's or a library's."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        name = frame.filename
        if name.startswith("<") or "site-packages" in name or "dist-packages" in name:
            continue
        if any(Path(name).resolve().is_relative_to(root) for root in _NOT_USER_CODE):
            continue
        return frame
    return None


def _shown(filename: str) -> str:
    path = Path(filename).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"{_shown(exc.filename or '?')}, line {exc.lineno} has a syntax error: {exc.msg}"
    frame = _user_frame(exc)
    where = f" at {_shown(frame.filename)}, line {frame.lineno}" if frame else ""
    return f"importing it raised {type(exc).__name__}: {exc}{where}"


_IN_HAND: dict[str, object] = {}


@contextmanager
def models_in_hand(spec: str, target: object) -> Iterator[None]:
    """Let ``load_models(spec)`` return a target already in memory, for as long as the block runs.

    ``flask rebuilder`` uses it to hand the app's own ``db`` to the same
    commands the ``rebuilder`` program runs, under a spec that names it.

    Args:
        spec: The name the commands and their messages use for the target.
        target: A Base, a MetaData, or an object with ``.metadata``.
    """
    _IN_HAND[spec] = target
    try:
        yield
    finally:
        del _IN_HAND[spec]


def load_models(spec: str, *, create: bool = True) -> tuple[MetaData, ...]:
    """Import a MODELS spec and return its MetaData.

    Args:
        spec: ``pkg.module:attr`` or ``path/to/file.py:attr``.
        create: Create the models in an in-memory database now, so that a
            table or index SQLite cannot create is named at once. A command
            on one database passes False and runs inside `named`: its plan
            creates every table that differs from the database anyway, and a
            table stored exactly as the models compile it needs no proof.

    Returns:
        One or more MetaData objects.

    Raises:
        BadModelSpec: With one sentence naming what is wrong: the spec as
            given, and the user's file and line when importing it failed.
        NoTables: If the models define no table.
    """
    if spec in _IN_HAND:
        return validate(metadata_of(_IN_HAND[spec], spec), spec, create=create)
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise BadModelSpec(spec, "expected MODULE:ATTRIBUTE, e.g. app.models:Base or models.py:Base")
    try:
        module = _import(target, spec)
    except BadModelSpec:
        raise
    except (Exception, SystemExit) as exc:
        raise BadModelSpec(spec, _describe(exc)) from exc
    obj: object = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise BadModelSpec(spec, f"{target} has no attribute {part!r}")
        obj = getattr(obj, part)
    return validate(metadata_of(obj, spec), spec, create=create)


def validate(metadatas: tuple[MetaData, ...], spec: str, *, create: bool = True) -> tuple[MetaData, ...]:
    """Check that the models define tables and, with ``create``, that SQLite accepts their DDL.

    Args:
        metadatas: The models' MetaData objects.
        spec: Where they came from, named in messages as the user wrote it.
        create: Whether to create them in an in-memory database; without it,
            only the names are checked (tables and indexes share a namespace).

    Returns:
        The same MetaData objects.

    Raises:
        NoTables: If the models define no table.
        BadModelSpec: If a table or index cannot be created, naming it and why.
    """
    require_tables(metadatas, spec)
    from rebuilder.declare import create_models_db, name_clash

    if create:
        create_models_db(metadatas, spec).close()
    elif clash := name_clash(metadatas):
        raise BadModelSpec(spec, f"the models' tables cannot be created: {clash}")
    return metadatas


@contextmanager
def named(spec: str) -> Iterator[None]:
    """Name the models ``spec`` in a `BadModelSpec` the library raises inside the block.

    The library is given MetaData, not a spec, and names the models it cannot
    create `UNNAMED`; a command that loaded them with ``create=False`` says
    which models the user meant.
    """
    from rebuilder.declare import UNNAMED

    try:
        yield
    except BadModelSpec as exc:
        if exc.spec != UNNAMED:
            raise
        raise BadModelSpec(spec, exc.reason) from exc
