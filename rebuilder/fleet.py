"""Many database files in one run: globs, shards, a pool of worker processes, one result per file.

A fleet is the same models applied to many files (a file per tenant, per
customer, per device). `expand` turns paths and quoted globs into a sorted
list of files, `in_shard` keeps the files of one shard of ``N``, and `run`
hands them to worker processes (`rebuilder.worker`) in chunks, each worker
loading the models once and planning once per distinct live schema. Every
file is its own transaction, exactly as in `rebuilder.sync`; a file's
refusal or failure is its `FileResult`, never an exception, and never stops
the others. `sync_many` is the library's entry point.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import pickle
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rebuilder.errors import BadShard, NoFilesMatched, UnexpectedError, WorkerDied
from rebuilder.options import Options, Renaming
from rebuilder.results import FORMAT_VERSION, Json
from rebuilder.worker import (
    CURRENT,
    DIFFERS,
    FAILED,
    PLANNED,
    REFUSED,
    SYNCED,
    Consent,
    Engine,
    FileResult,
    Settings,
    run_chunk,
    start,
)

if TYPE_CHECKING:
    from concurrent.futures import Future
    from multiprocessing.context import BaseContext

    from sqlalchemy import MetaData

log = logging.getLogger("rebuilder")

SIDE_SUFFIXES = ("-journal", "-wal", "-shm")
"""SQLite's files beside a database, which a glob such as ``tenants/*`` also matches."""

STATUSES = {
    "sync": (SYNCED, CURRENT, REFUSED, FAILED),
    "plan": (PLANNED, CURRENT, REFUSED, FAILED),
    "check": (CURRENT, DIFFERS, REFUSED, FAILED),
}
"""The statuses each command can give a file, in the order totals list them."""

MAX_CHUNK = 64
"""The most files one task hands a worker: large enough to make dispatch cheap, small enough to balance."""

OnResult = Callable[[FileResult], None]
"""Called with each file's result as it arrives (in no particular order)."""


@dataclass(frozen=True)
class Match:
    """One file a DATABASE argument names.

    Attributes:
        path: The file, as SQLite is given it.
        key: What ``--shard`` hashes: the path below the glob's fixed leading
            directories (``a.db`` for ``tenants/*.db``), or the argument as given.
    """

    path: str
    key: str


def _glob_base(pattern: str) -> str:
    """The leading directories of a glob that hold no wildcard (``tenants`` for ``tenants/*/x.db``)."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else ""


def _is_side_file(path: str) -> bool:
    return any(path.endswith(s) and Path(path[: -len(s)]).is_file() for s in SIDE_SUFFIXES)


def _matches(argument: str) -> list[Match]:
    """The files one argument names: itself, or, for a glob that names no file as such, its matches.

    Raises:
        NoFilesMatched: If a glob matches no file.
    """
    if argument.startswith("sqlite:") or Path(argument).exists() or not glob.has_magic(argument):
        return [Match(argument, argument)]
    base = _glob_base(argument)
    found = sorted(
        p for p in glob.glob(argument, recursive=True) if Path(p).is_file() and not _is_side_file(p)
    )
    if not found:
        raise NoFilesMatched(argument)
    return [Match(p, os.path.relpath(p, base) if base else p) for p in found]


def expand(arguments: Iterable[str | os.PathLike[str]]) -> list[Match]:
    """Turn DATABASE arguments (paths, ``sqlite:///`` URLs and quoted globs) into files.

    A glob (``tenants/*.db``, ``**`` for any depth) is expanded here, sorted,
    skipping directories and the ``-journal``, ``-wal`` and ``-shm`` files
    beside a database; an argument that names an existing file is that file
    even if it holds ``*``, ``?`` or ``[``. A file named twice is kept once,
    where it first appears.

    Raises:
        NoFilesMatched: If a glob matches no file.
    """
    seen: set[str] = set()
    found: list[Match] = []
    for argument in arguments:
        for match in _matches(os.fspath(argument)):
            real = os.path.realpath(match.path) if not match.path.startswith("sqlite:") else match.path
            if real not in seen:
                seen.add(real)
                found.append(match)
    return found


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``K/N``: shard ``K`` (counting from 1) of ``N``.

    Raises:
        BadShard: If it is not two whole numbers with ``1 <= K <= N``.
    """
    index, slash, count = text.partition("/")
    if not slash or not index.strip().isdigit() or not count.strip().isdigit():
        raise BadShard(text, "expected K/N, shard K of N counting from 1, e.g. 2/4")
    k, n = int(index), int(count)
    if n < 1 or not 1 <= k <= n:
        raise BadShard(text, f"K must be from 1 to N (here N is {n})" if n >= 1 else "N must be at least 1")
    return k, n


def in_shard(matches: Sequence[Match], k: int, n: int) -> list[Match]:
    """The files of shard ``k`` of ``n``: each file's shard is a stable hash of its `Match.key`.

    Every file falls in exactly one shard, decided by its own name alone, so
    machines that list the same fleet split it the same way, and a file added
    later does not move the others.
    """
    return [m for m in matches if int(hashlib.sha256(m.key.encode()).hexdigest()[:16], 16) % n == k - 1]


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _chunks(paths: Sequence[str], workers: int) -> list[list[str]]:
    size = max(1, min(MAX_CHUNK, len(paths) // (workers * 8)))
    return [list(paths[i : i + size]) for i in range(0, len(paths), size)]


def run(
    command: str,
    settings: Settings,
    paths: Sequence[str],
    *,
    jobs: int,
    consent: Consent | None = None,
    on_result: OnResult | None = None,
    fast_start: bool = False,
) -> list[FileResult]:
    """Run ``sync``, ``plan`` or ``check`` on every file, ``jobs`` worker processes at a time.

    With one job (or one file) the files are worked on in this process.
    ``fast_start`` lets the workers fork from a server process (see `_context`):
    for a caller whose ``sys.path`` is a fresh interpreter's, such as the command line.

    Returns:
        One result per file, in the order of ``paths``.

    Raises:
        KeyboardInterrupt: On Ctrl-C, once the files in progress have rolled back.
    """
    report = on_result or (lambda result: None)
    consent = consent or Consent()
    if jobs <= 1 or len(paths) <= 1:
        engine = Engine(settings.metadatas(), settings.options, settings.relax_secure_delete)
        found = []
        for path in paths:
            found.append(engine.run(command, path, consent))
            report(found[-1])
        return found
    by_path = _pool(command, settings, paths, jobs, consent, report, fast_start)
    return [by_path[path] for path in paths]


def _pool(
    command: str,
    settings: Settings,
    paths: Sequence[str],
    jobs: int,
    consent: Consent,
    report: OnResult,
    fast_start: bool,
) -> dict[str, FileResult]:
    """Hand the files to a pool of worker processes, chunk by chunk."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    chunks = _chunks(paths, jobs)
    context = _context(fast_start)
    by_path: dict[str, FileResult] = {}
    pool = ProcessPoolExecutor(min(jobs, len(chunks)), context, initializer=start, initargs=(settings,))
    try:
        futures = {pool.submit(run_chunk, command, chunk, consent): chunk for chunk in chunks}
        for future in as_completed(futures):
            for result in _results(future, futures[future]):
                by_path[result.path] = result
                report(result)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return by_path


def _context(fast_start: bool) -> BaseContext:
    """Where the workers come from: spawned, or forked from a server that imported rebuilder once.

    Spawned workers start clean and import everything with this process's
    ``sys.path``. A forkserver saves each worker most of its start-up, but on
    Python 3.11 it imports rebuilder with a fresh interpreter's ``sys.path``
    (the current directory first), so it is used only when asked for by a
    caller whose ``sys.path`` is that one (the command line), and only when
    the current directory holds no other ``rebuilder`` package. Never a plain
    fork: the parent may run threads (the progress bar's).
    """
    import multiprocessing

    if not fast_start or "forkserver" not in multiprocessing.get_all_start_methods() or _shadowed():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["rebuilder.worker"])
    return context


def _shadowed() -> bool:
    """Whether the current directory holds a ``rebuilder`` package other than this one."""
    import importlib.machinery

    import rebuilder

    found = importlib.machinery.PathFinder.find_spec("rebuilder", [os.getcwd()])
    return found is not None and found.origin != rebuilder.__file__


def _results(future: Future[list[FileResult]], chunk: list[str]) -> list[FileResult]:
    """A chunk's results; when its worker died (or its results could not be sent), each file says so."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        return [FileResult(path, FAILED, error=WorkerDied(path)) for path in chunk]
    except Exception as exc:
        log.debug("a chunk of %d file(s) failed to report", len(chunk), exc_info=True)
        kind, detail = type(exc).__name__, str(exc)
        return [FileResult(path, FAILED, error=UnexpectedError(path, kind, detail)) for path in chunk]


def totals(command: str, results: Sequence[FileResult]) -> dict[str, int]:
    """How many files ended in each status the command gives, and in all."""
    counts = {status: 0 for status in STATUSES[command]}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return {"files": len(results), **counts}


def document(command: str, results: Sequence[FileResult], cli: bool = False) -> Json:
    """One JSON document for a run: a record per file and the totals (shape version `FORMAT_VERSION`)."""
    return {
        "format": FORMAT_VERSION,
        "command": command,
        "exit_code": 0 if all(r.ok for r in results) else 1,
        "ok": all(r.ok for r in results),
        "totals": totals(command, results),
        "files": [result.to_dict(cli) for result in results],
    }


def _metadatas(target: object) -> tuple[MetaData, ...]:
    from rebuilder.load import load_models, metadata_of, require_tables

    return load_models(target) if isinstance(target, str) else require_tables(metadata_of(target))


def _settings(target: object, metadatas: tuple[MetaData, ...], options: Options) -> Settings | None:
    """What the workers are given: a MODELS spec as it is, models in hand pickled.

    Returns:
        The settings, or None when the models cannot be pickled (a type
        defined where a worker cannot import it): then this process works alone.
    """
    if isinstance(target, str):
        return Settings(target, options)
    try:
        return Settings(pickle.dumps(metadatas), options)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        log.warning("the models cannot be sent to worker processes (%s); working in this process", exc)
        return None


def sync_many(
    target: object,
    databases: Iterable[str | os.PathLike[str]],
    *,
    jobs: int | None = None,
    allow_data_loss: bool = False,
    renames: Renaming = None,
    table_renames: Renaming = None,
    fills: Renaming = None,
    exclude: Iterable[str] = (),
    version_table: str = "rebuilder_version",
    timeout: float = 30.0,
) -> list[FileResult]:
    """Make many database files match the models: each file in its own transaction, in parallel.

    Args:
        target: A declarative Base, a MetaData, anything with ``.metadata``, a
            list of them, or a MODELS spec (``"app.models:Base"``), which each
            worker imports itself.
        databases: Paths, ``sqlite:///`` URLs and globs (``"tenants/*.db"``),
            expanded and sorted by `expand`.
        jobs: Worker processes (default: the number of cores); 1 works in this process.
        allow_data_loss: Apply steps that destroy stored values.
        renames: Column renames, as for `rebuilder.sync`.
        table_renames: Table renames, as for `rebuilder.sync`.
        fills: Values for existing rows, as for `rebuilder.sync`.
        exclude: Glob patterns of tables and indexes to leave alone.
        version_table: The version table's name.
        timeout: Seconds to wait for another writer's lock, per file.

    Returns:
        One `FileResult` per file, in the order of the expanded ``databases``:
        its status (``synced``, ``current``, ``refused`` or ``failed``) and its
        `SyncResult` or its error. A file's refusal or failure is never raised.

    Raises:
        NoFilesMatched: If a glob matches no file.
        BadModelSpec: If the models cannot be loaded.
        BadRename: If a rename or fill is malformed.
    """
    options = Options.of(exclude, version_table, renames, table_renames, timeout, fills)
    paths = [m.path for m in expand(databases)]
    metadatas, consent = _metadatas(target), Consent(allow_data_loss)
    wanted = default_jobs() if jobs is None else jobs
    if wanted > 1 and len(paths) > 1:
        settings = _settings(target, metadatas, options)
        if settings is not None:
            return run("sync", settings, paths, jobs=wanted, consent=consent)
    engine = Engine(metadatas, options)
    return [engine.run("sync", path, consent) for path in paths]


__all__ = [
    "STATUSES",
    "FileResult",
    "Match",
    "default_jobs",
    "document",
    "expand",
    "in_shard",
    "parse_shard",
    "run",
    "sync_many",
    "totals",
]
