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
import traceback
from pathlib import Path
from types import ModuleType

from sqlalchemy import MetaData

from rebuilder.errors import BadModelSpec


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


def _import_file(path: Path, spec: str) -> ModuleType:
    if not path.is_file():
        raise BadModelSpec(spec, f"there is no file {path}")
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"_rebuilder_models_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise BadModelSpec(spec, f"{path} cannot be imported as Python")
    module = importlib.util.module_from_spec(loader_spec)
    sys.path.insert(0, str(path.resolve().parent))
    sys.modules[name] = module
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"{exc.filename}, line {exc.lineno} has a syntax error: {exc.msg}"
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"importing it raised {type(exc).__name__}: {exc}{where}"


def load_models(spec: str) -> tuple[MetaData, ...]:
    """Import a MODELS spec and return its MetaData.

    Args:
        spec: ``pkg.module:attr`` or ``path/to/file.py:attr``.

    Returns:
        One or more MetaData objects.

    Raises:
        BadModelSpec: With one sentence naming what is wrong.
    """
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
    return metadata_of(obj, spec)
