"""A result cache: a page already recognised is not recognised again.

Results are keyed by content, not by path: the pixels the model reads, the task, and what the
engine says determines its output (``OCREngine.cache_identity``: for ``GOTEngine`` the model,
its revision or local weight files, the dtype and every generation setting). Renaming or
copying a file keeps its pages cached; changing a page, the task or the model misses.

The store is one SQLite file in WAL mode: several processes can read and write it at once,
each batch of results is one transaction, and a killed run leaves every committed result
intact and nothing half-written, so the rerun resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from .errors import GOTError
from .images import to_rgb
from .results import FinishReason, OCRResult
from .tasks import OCRRequest, OCRTask

if TYPE_CHECKING:
    from PIL import Image

    from .engine import OCREngine

logger = logging.getLogger("got_model")

APP_NAME = "got-loaders"
CACHE_FILE_NAME = "results.sqlite3"
KEY_VERSION = 1  # bump when the key's recipe changes: old entries then simply miss
SCHEMA_VERSION = 1
APPLICATION_ID = 0x474F5452  # "GOTR": marks a SQLite file as a got-loaders result cache
DEFAULT_TIMEOUT = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS got_ocr_results (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    generated_tokens INTEGER NOT NULL,
    repeated_tokens_cut INTEGER NOT NULL,
    seconds REAL NOT NULL,
    model TEXT NOT NULL,
    task TEXT NOT NULL,
    created REAL NOT NULL
) WITHOUT ROWID
"""


class CacheError(GOTError):
    """The result cache cannot be opened or read (the path and the fix are in the message)."""


def default_cache_path() -> Path:
    """``results.sqlite3`` in the user cache directory (platformdirs), e.g.
    ``~/.cache/got-loaders/`` on Linux, ``~/Library/Caches/got-loaders/`` on macOS."""
    from platformdirs import user_cache_path

    return user_cache_path(APP_NAME, appauthor=False) / CACHE_FILE_NAME


def image_digest(image: Image.Image) -> str:
    """SHA-256 of an image's pixels as the model reads them (8-bit RGB, see ``to_rgb``), and
    its size: equal exactly when the model input is."""
    image = to_rgb(image)  # a palette or transparency changes what the model sees
    digest = hashlib.sha256(f"{image.mode}:{image.width}x{image.height}:".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def task_identity(task: OCRTask) -> dict[str, Any]:
    """Every field of a task, as JSON-ready values."""
    return {
        "output": task.output.value,
        "box": list(task.box) if task.box is not None else None,
        "color": task.color.value if task.color is not None else None,
        "crop_to_patches": task.crop_to_patches,
        # The tile limit only matters with multi-crop: without it, any limit reads the same.
        "max_patches": task.max_patches if task.crop_to_patches else None,
    }


def result_key(
    engine_identity: Mapping[str, Any], task: OCRTask, image_digests: Sequence[str]
) -> str:
    """The cache key of one request: a SHA-256 over the engine, the task and the images."""
    recipe = {
        "version": KEY_VERSION,
        "engine": engine_identity,
        "task": task_identity(task),
        "images": list(image_digests),
    }
    encoded = json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def request_key(
    engine_identity: Mapping[str, Any], task: OCRTask, images: Sequence[Image.Image]
) -> str:
    """The cache key of reading ``images`` with ``task`` on the engine so identified."""
    return result_key(engine_identity, task, [image_digest(image) for image in images])


@dataclass(frozen=True)
class CacheInfo:
    """What ``ResultCache.info`` reports."""

    path: Path
    exists: bool
    entries: int = 0
    size_bytes: int = 0
    """The database and its WAL file on disk."""
    models: Mapping[str, int] = field(default_factory=dict)
    """Entries per model id."""
    oldest: float | None = None
    newest: float | None = None
    """Creation times (seconds since the epoch) of the oldest and newest entries."""


class ResultCache:
    """OCR results in a SQLite file, shared by threads and processes.

    Nothing touches the disk until the first lookup or store; the directory and the database
    are created then. A copy pickled into another process reopens the same file.

    Args:
        path: the database file; default ``default_cache_path()``.
        timeout: seconds to wait for another process's write lock before giving up.

    Raises:
        CacheError: (on first use) the file cannot be created, is not a database, or was
            written by a newer, incompatible got-loaders.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_cache_path()
        self.timeout = timeout
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0

    # -- connection -------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """The open connection (opened on first use, reopened in a forked child)."""
        if self._connection is not None and self._pid == os.getpid():
            return self._connection
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=self.timeout, check_same_thread=False, isolation_level=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(f"Cannot open the result cache {self.path}: {exc}.") from exc
        try:
            _prepare(connection, self.path, self.timeout)
        except BaseException:
            connection.close()
            raise
        self._connection, self._pid = connection, os.getpid()
        return connection

    def open(self) -> None:
        """Open (and create, if need be) the database now rather than on first use.

        Raises:
            CacheError: the file cannot be created or opened, or is not a result cache.
        """
        with self._lock:
            self._connect()

    def close(self) -> None:
        """Close the database; the next use opens it again."""
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (type(self), self.path, self.timeout))

    def __repr__(self) -> str:
        return f"ResultCache({str(self.path)!r})"

    # -- results ----------------------------------------------------------------------

    def get_many(self, keys: Sequence[str], tasks: Sequence[OCRTask]) -> list[OCRResult | None]:
        """The cached result of each key (``None`` where there is none), rebuilt for its task."""
        if not keys:
            return []
        rows: dict[str, tuple[Any, ...]] = {}
        with self._lock:
            connection = self._connect()
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 500):  # SQLite's bound-parameter limit
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                try:
                    found = connection.execute(
                        "SELECT key, text, finish_reason, generated_tokens, repeated_tokens_cut,"
                        f" seconds FROM got_ocr_results WHERE key IN ({marks})",
                        chunk,
                    ).fetchall()
                except sqlite3.Error as exc:
                    raise CacheError(f"Cannot read the result cache {self.path}: {exc}.") from exc
                rows.update((row[0], row[1:]) for row in found)
        results: list[OCRResult | None] = []
        for key, task in zip(keys, tasks, strict=True):
            row = rows.get(key)
            results.append(None if row is None else _result(row, task))
        return results

    def get(self, key: str, task: OCRTask) -> OCRResult | None:
        """The cached result for ``key``, or None."""
        return self.get_many([key], [task])[0]

    def put_many(self, items: Iterable[tuple[str, OCRResult]], model: str = "") -> None:
        """Store results, all in one transaction: after a crash either all are there or none."""
        now = time.time()
        rows = [
            (
                key,
                result.text,
                result.finish_reason.value,
                result.generated_tokens,
                result.repeated_tokens_cut,
                result.seconds,
                model,
                result.task.describe(),
                now,
            )
            for key, result in items
        ]
        if not rows:
            return
        with self._lock:
            connection = self._connect()
            try:
                with _transaction(connection):
                    connection.executemany(
                        "INSERT OR REPLACE INTO got_ocr_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows,
                    )
            except sqlite3.Error as exc:
                raise CacheError(f"Cannot write to the result cache {self.path}: {exc}.") from exc

    def put(self, key: str, result: OCRResult, model: str = "") -> None:
        """Store one result."""
        self.put_many([(key, result)], model)

    # -- maintenance ------------------------------------------------------------------

    def info(self) -> CacheInfo:
        """Entries, size on disk and models; creates nothing when there is no cache yet."""
        if not self.path.exists():
            return CacheInfo(self.path, exists=False)
        with self._lock:
            connection = self._connect()
            try:
                entries, oldest, newest = connection.execute(
                    "SELECT COUNT(*), MIN(created), MAX(created) FROM got_ocr_results"
                ).fetchone()
                models = dict(
                    connection.execute(
                        "SELECT model, COUNT(*) FROM got_ocr_results GROUP BY model ORDER BY 2 DESC"
                    ).fetchall()
                )
            except sqlite3.Error as exc:
                raise CacheError(f"Cannot read the result cache {self.path}: {exc}.") from exc
        size = sum(
            candidate.stat().st_size
            for candidate in (self.path, self.path.with_name(self.path.name + "-wal"))
            if candidate.exists()
        )
        return CacheInfo(self.path, True, entries, size, models, oldest, newest)

    def clear(self) -> int:
        """Delete every entry and give the space back; returns how many were deleted.

        Safe while other processes use the cache: they simply miss afterwards.
        """
        if not self.path.exists():
            return 0
        with self._lock:
            connection = self._connect()
            try:
                with _transaction(connection):
                    deleted = connection.execute("DELETE FROM got_ocr_results").rowcount
                connection.execute("VACUUM")
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise CacheError(f"Cannot clear the result cache {self.path}: {exc}.") from exc
        return int(deleted)


CacheArgument = Union["ResultCache", str, "os.PathLike[str]", bool, None]
"""What ``cache=`` takes: ``True`` for the default file, a path, a ``ResultCache``, or
``False`` / ``None`` for no cache."""


def open_cache(cache: CacheArgument) -> ResultCache | None:
    """The ``ResultCache`` a ``cache=`` argument names (nothing is opened yet)."""
    if cache is None or cache is False:
        return None
    if cache is True:
        return ResultCache()
    if isinstance(cache, ResultCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return ResultCache(cache)
    raise TypeError(
        f"cache must be True, False, None, a path or a ResultCache, not {type(cache).__name__}."
    )


def recognize_cached(
    engine: OCREngine, requests: Sequence[OCRRequest], cache: ResultCache | None
) -> list[OCRResult]:
    """``engine.recognize_batch(requests)``, reading and filling ``cache`` on the way.

    Only the requests the cache misses reach the engine, in one batch. A cache that cannot be
    read or written costs time, never results: the error is logged and the engine runs.
    """
    if cache is None:
        return engine.recognize_batch(requests)
    identity = engine.cache_identity()
    keys = [request_key(identity, request.task, request.images) for request in requests]
    try:
        results = cache.get_many(keys, [request.task for request in requests])
    except CacheError as error:
        logger.warning("Result cache lookup failed, reading again: %s", error)
        results = [None] * len(requests)
    missing = [index for index, result in enumerate(results) if result is None]
    if missing:
        fresh = engine.recognize_batch([requests[index] for index in missing])
        try:
            cache.put_many(
                ((keys[i], r) for i, r in zip(missing, fresh, strict=True)), engine.model_id
            )
        except CacheError as error:
            logger.warning("Result cache not updated: %s", error)
        for index, result in zip(missing, fresh, strict=True):
            results[index] = result
    return [result for result in results if result is not None]


def _prepare(connection: sqlite3.Connection, path: Path, timeout: float) -> None:
    """Check the format, switch to WAL and create the table, waiting out other writers.

    Switching a new file to WAL does not wait on SQLite's busy timeout: when several
    processes open a new cache at once, retry until ``timeout`` runs out.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            _set_up(connection, path)
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if busy and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            if busy:
                raise CacheError(
                    f"The result cache {path} stayed locked by another process for "
                    f"{timeout:g} s; try again, or raise the cache's timeout."
                ) from exc
            raise CacheError(f"Cannot open the result cache {path}: {exc}.") from exc
        except sqlite3.DatabaseError as exc:
            raise CacheError(
                f"The result cache {path} is not a usable SQLite database ({exc}): point the "
                "cache at another file (if this one is a damaged cache, delete it)."
            ) from exc


def _set_up(connection: sqlite3.Connection, path: Path) -> None:
    # One snapshot: another process may be setting the file up at this very moment, and it
    # creates the table and sets the marker in one transaction.
    with _transaction(connection, write=False):
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
    if application_id != APPLICATION_ID:
        if application_id != 0 or tables:
            raise CacheError(
                f"{path} is a SQLite database, but not a got-loaders result cache: it is left "
                "untouched; point the cache at another file."
            )
        version = 0  # a new, empty file: ours to set up
    elif version > SCHEMA_VERSION:
        raise CacheError(
            f"The result cache {path} was written by a newer got-loaders (format {version}); "
            "upgrade got-loaders, or point the cache at another file."
        )
    connection.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL loses no committed transaction when the process is killed; only a
    # power cut may drop the last ones, and never corrupts the file.
    connection.execute("PRAGMA synchronous=NORMAL")
    if version < SCHEMA_VERSION:
        with _transaction(connection):
            connection.execute(_SCHEMA)
            connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _reopen(cls: type[ResultCache], path: Path, timeout: float) -> ResultCache:
    return cls(path, timeout=timeout)


class _transaction:
    """``BEGIN IMMEDIATE`` (a write) or ``BEGIN`` (a consistent read) ... ``COMMIT``, rolled
    back on any error (autocommit connection)."""

    def __init__(self, connection: sqlite3.Connection, *, write: bool = True) -> None:
        self.connection = connection
        self.begin = "BEGIN IMMEDIATE" if write else "BEGIN"

    def __enter__(self) -> None:
        self.connection.execute(self.begin)

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            try:
                self.connection.execute("COMMIT")
                return
            except sqlite3.Error:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")


def _result(row: tuple[Any, ...], task: OCRTask) -> OCRResult:
    text, finish_reason, generated_tokens, repeated_tokens_cut, seconds = row
    return OCRResult(
        text=text,
        finish_reason=FinishReason(finish_reason),
        generated_tokens=generated_tokens,
        seconds=seconds,
        task=task,
        repeated_tokens_cut=repeated_tokens_cut,
    )
