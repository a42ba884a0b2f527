"""atio: write data files all-or-nothing, from Python.

Every write is staged next to its target, encoded by a sandboxed WebAssembly encoder, fsynced,
atomically renamed into place and described by a ``<name>._SUCCESS`` manifest. A crash, Ctrl-C,
full disk or failing encoder never leaves a half-written file, never loses the previous one, and
never leaves a temporary file behind. This package is a thin layer over the Rust library (the
same engine, encoders, manifests and locks as the ``atio`` command)::

    import atio
    atio.write(df, "out/data.parquet")                   # pandas, polars, pyarrow, DuckDB
    atio.write(array, "out/array.npy")                   # NumPy: byte for byte np.save's file
    atio.write(df, "out/table/", partition_by=["dt"])    # hive partitions, each swapped as a unit
    with atio.open("out/report.txt", "w") as f:          # commit on clean exit, discard on error
        f.write("hello\\n")
    atio.update_json("state.json", lambda s: {**s, "n": s["n"] + 1}, default={"n": 0})

Errors are :class:`atio.Error` subclasses that are also the matching built-ins
(``PermissionError``, ``FileNotFoundError``, ``FileExistsError``, ``OSError``, ``ValueError``,
``TimeoutError``), carrying ``kind``, ``step``, ``path`` and ``hint``.
"""

from __future__ import annotations

import builtins
import copy
import dataclasses
import json
import logging
import os
import sys
import time
from datetime import timedelta
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from . import _atio, _errors
from ._errors import *  # noqa: F403 (the error classes: _errors.__all__)

__version__: str = _atio.__version__

__all__ = [
    "write",
    "write_bytes",
    "write_json",
    "open",
    "update",
    "update_json",
    "lock",
    "verify",
    "clean",
    "recover",
    "versions",
    "rollback",
    "tag",
    "prune",
    "formats",
    "Report",
    "DatasetReport",
    "StepTimings",
    "Encoder",
    "AtomicWriter",
    "TargetLock",
]
__all__ += _errors.__all__

logger = logging.getLogger("atio")

PathLike = Union[str, "os.PathLike[str]"]
Seconds = Union[float, int, timedelta]

#: How long ``lock=True`` and ``update``/``update_json`` wait for a target's lock by default.
DEFAULT_LOCK_TIMEOUT = 60.0


# --------------------------------------------------------------------------------------------
# Reports


@dataclasses.dataclass(frozen=True)
class StepTimings:
    """Milliseconds spent in each step of a commit."""

    setup: float = 0.0
    write: float = 0.0
    encode: float = 0.0  # CPU inside encoders, added up over every instance
    read: float = 0.0  # reading the input (overlaps encoding with several instances)
    fsync: float = 0.0
    rename: float = 0.0
    dir_fsync: float = 0.0
    upload: float = 0.0
    marker: float = 0.0
    total: float = 0.0


@dataclasses.dataclass(frozen=True)
class Encoder:
    """The encoder that produced a file."""

    name: str
    version: str
    sha256: str


@dataclasses.dataclass(frozen=True)
class Report:
    """One committed file: what ``atio.write``, ``write_bytes``, ``write_json`` and
    ``AtomicWriter.commit`` return."""

    path: str
    bytes: int
    hash: str
    rows: Optional[int]
    format: Optional[str]
    encoder: Optional[Encoder]
    durability: str
    marker: Optional[str]
    run_id: str
    timings: StepTimings
    e_tag: Optional[str] = None
    #: Encoder instances that encoded the file at once (1: one session).
    instances: Optional[int] = None
    #: With ``keep_versions``: the version number the replaced content was kept as.
    kept_version: Optional[int] = None
    #: With ``keep_versions``: versions removed beyond the limit after this commit.
    pruned_versions: tuple = ()

    @classmethod
    def _from_json(cls, raw: str) -> "Report":
        data = json.loads(raw)
        encoder = data.get("encoder")
        return cls(
            path=data["path"],
            bytes=data["bytes"],
            hash=data["hash"],
            rows=data.get("rows"),
            format=data.get("format"),
            encoder=Encoder(**encoder) if encoder else None,
            durability=data["durability"],
            marker=data.get("marker"),
            run_id=data["run_id"],
            timings=StepTimings(**data["timings"]),
            e_tag=data.get("e_tag"),
            instances=data.get("instances"),
            kept_version=data.get("kept_version"),
            pruned_versions=tuple(data.get("pruned_versions") or ()),
        )


@dataclasses.dataclass(frozen=True)
class DatasetReport:
    """A directory or partitioned write: one entry per committed directory (partition), each
    with its manifest (``files``: path, bytes, hash, rows)."""

    root: str
    rows: int
    partitions: list

    @property
    def bytes(self) -> int:
        return sum(f["bytes"] for p in self.partitions for f in p["manifest"]["files"])

    @property
    def files(self) -> list:
        return [
            os.path.join(p["path"], f["path"]) for p in self.partitions for f in p["manifest"]["files"]
        ]

    @classmethod
    def _from_json(cls, raw: str) -> "DatasetReport":
        data = json.loads(raw)
        return cls(root=data["root"], rows=data["rows"], partitions=data["partitions"])


# --------------------------------------------------------------------------------------------
# Options: every public function builds its options here, so a new keyword is one line.


def _seconds(value: Seconds) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _options(
    *,
    durability: str = "full",
    marker: bool = True,
    no_clobber: bool = False,
    if_match: Optional[str] = None,
    lock: Union[bool, Seconds] = False,
    follow_symlinks: bool = True,
    keep_versions: Optional[int] = None,
    storage_options: Optional[Mapping[str, Any]] = None,
    **encoder: Any,
) -> dict:
    """The keyword dictionary the extension reads (`dataset_options` in
    python/src/lib.rs); unknown keys are refused there. A new option is one keyword in the
    public function's signature passed on here, and one match arm there."""
    if durability not in ("full", "none"):
        raise InvalidInput(
            f'durability must be "full" or "none", not {durability!r}',
            kind="invalid-input",
            step="resolve",
            hint='durability="none" skips fsync (scratch data)',
        )
    options: dict = {
        "durability": durability,
        "marker": bool(marker),
        "no_clobber": bool(no_clobber),
        "if_match": if_match,
        "follow_symlinks": bool(follow_symlinks),
        "keep_versions": keep_versions,
    }
    if lock is True or lock is False:
        options["lock"] = lock
    else:
        options["lock"] = _seconds(lock)
    for key, value in (storage_options or {}).items():
        options[key] = _seconds(value) if key == "retry_timeout" else value
    options.update(encoder)
    return options


def _encoder_options(options: Optional[Mapping[str, Any]]) -> Optional[list]:
    """``{"compression": "zstd", "level": 3}`` as the encoder's ``key=value`` pairs."""
    if not options:
        return None
    pairs = []
    for key, value in options.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        pairs.append((str(key), str(value)))
    return pairs


def _is_url(path: str) -> bool:
    scheme, sep, _ = path.partition("://")
    return bool(sep) and scheme.isalnum()


# --------------------------------------------------------------------------------------------
# Data sources


def _is_numpy(data: Any) -> bool:
    return type(data).__module__ == "numpy" and hasattr(data, "__array_interface__")


def _numpy_source(array: Any, path: str, format: Optional[str]) -> tuple:
    """(dtype, columns, iterator of C-order byte chunks of whole rows)."""
    import numpy as np

    def refuse(message: str, cls: type = InvalidInput) -> Error:
        return cls(message, kind="invalid-input" if cls is InvalidInput else "unsupported-format",
                   step="read input", path=path,
                   hint="NumPy arrays are written as 1-D or 2-D numeric/boolean arrays")

    if array.ndim not in (1, 2):
        raise refuse(f"a {array.ndim}-D NumPy array cannot be written: atio takes 1-D and 2-D arrays")
    if array.dtype.kind not in "biuf" or array.dtype.fields is not None:
        raise refuse(f"NumPy dtype {array.dtype} is not supported (bool, ints, floats are)",
                     UnsupportedFormat)
    npy = (format or "").lower() == "npy" or (format is None and path.lower().endswith(".npy"))
    if array.ndim == 2 and array.shape[1] == 1 and npy:
        raise refuse("a 2-D array of one column would be written as a 1-D .npy array; "
                     "write array.reshape(-1) (or array[:, 0]) instead")
    if array.ndim == 2 and array.shape[1] == 0:
        raise refuse("a 2-D array with no columns cannot be written")
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    array = np.ascontiguousarray(array)
    columns = 1 if array.ndim == 1 else array.shape[1]
    row_bytes = max(1, array.itemsize * columns)
    rows_per_chunk = max(1, (4 << 20) // row_bytes)  # 4 MiB chunks

    def chunks() -> Iterable[bytes]:
        for start in range(0, array.shape[0], rows_per_chunk):
            yield array[start:start + rows_per_chunk].tobytes()

    return (array.dtype.str, columns, iter(chunks()))


def _arrow_stream(data: Any, path: str) -> Any:
    """An object with ``__arrow_c_stream__`` for ``data``."""
    if hasattr(data, "__arrow_c_stream__"):
        return data
    module = type(data).__module__
    if module.startswith("pandas"):  # pandas before 2.2: through pyarrow
        import pyarrow as pa

        if hasattr(data, "to_frame"):
            data = data.to_frame()
        return pa.Table.from_pandas(data)
    if hasattr(data, "fetch_record_batch"):  # DuckDB relations and results
        return data.fetch_record_batch()
    if hasattr(data, "to_arrow"):
        return data.to_arrow()
    raise TypeError(
        "atio.write takes Arrow data (an object with __arrow_c_stream__: a pyarrow Table or "
        "RecordBatchReader, a polars or pandas DataFrame, a DuckDB relation, ...) or a NumPy "
        f"array, not {type(data).__module__}.{type(data).__qualname__}"
    )


def _row_count(data: Any) -> Optional[int]:
    """Rows, when known without running anything (for the progress bar's total)."""
    rows = getattr(data, "num_rows", None)
    if isinstance(rows, int):
        return rows
    if type(data).__module__.split(".")[0] in ("pandas", "polars", "numpy"):
        try:
            return len(data)
        except TypeError:
            return None
    return None


class _Progress:
    """Rows, bytes and rate: tqdm (terminal or Jupyter) when importable, else one stderr line."""

    def __init__(self, total: Optional[int], path: str) -> None:
        self.started = time.monotonic()
        self.shown = 0.0
        self.rows = 0
        self.bytes = 0
        try:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit=" rows", unit_scale=True,
                            desc=os.path.basename(path.rstrip("/")) or path, leave=False)
        except ImportError:
            self.bar = None

    def __call__(self, rows: int, bytes: int) -> None:
        new_rows, self.rows, self.bytes = rows - self.rows, rows, bytes
        if self.bar is not None:
            self.bar.update(new_rows)
            if bytes:
                self.bar.set_postfix_str(f"{bytes / 2**20:.1f} MiB", refresh=False)
            return
        now = time.monotonic()
        if now - self.shown >= 0.2:
            self.shown = now
            self._line(now)

    def _line(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        sys.stderr.write(
            f"\ratio: {self.rows:,} rows, {self.bytes / 2**20:.1f} MiB, "
            f"{self.rows / elapsed:,.0f} rows/s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.shown:
            self._line(time.monotonic())
            sys.stderr.write("\n")


def _verbose() -> None:
    """verbose=True: make the ``atio`` logger's INFO records visible if nobody configured it."""
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not logger.hasHandlers():
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("atio: %(message)s"))
        logger.addHandler(handler)


def _log_report(report: Union[Report, DatasetReport]) -> None:
    if isinstance(report, DatasetReport):
        logger.info("wrote %s: %d rows, %d partition(s), %d file(s), %d bytes", report.root,
                    report.rows, len(report.partitions), len(report.files), report.bytes)
        for partition in report.partitions:
            logger.info("  %s: %d file(s), swap %s, %.1f ms", partition["path"],
                        len(partition["manifest"]["files"]), partition["method"],
                        partition["total_ms"])
        return
    encoder = f", encoder {report.encoder.name} {report.encoder.version}" if report.encoder else ""
    logger.info("wrote %s: %d bytes, %s rows, %s%s, durability %s, marker %s", report.path,
                report.bytes, report.rows if report.rows is not None else "?", report.hash,
                encoder, report.durability, report.marker or "none")
    for step in dataclasses.fields(StepTimings):
        logger.info("  %-10s %9.2f ms", step.name, getattr(report.timings, step.name))


# --------------------------------------------------------------------------------------------
# Writes


def write(
    data: Any,
    path: PathLike,
    *,
    format: Optional[str] = None,
    options: Optional[Mapping[str, Any]] = None,
    partition_by: Optional[Union[str, Sequence[str]]] = None,
    durability: str = "full",
    marker: bool = True,
    no_clobber: bool = False,
    if_match: Optional[str] = None,
    lock: Union[bool, Seconds] = False,
    verbose: bool = False,
    progress: bool = False,
    plugin: Optional[PathLike] = None,
    rows_per_file: Optional[int] = None,
    if_changed: bool = False,
    plugin_timeout: Optional[Seconds] = None,
    plugin_memory: Optional[int] = None,
    threads: Optional[int] = None,
    keep_versions: Optional[int] = None,
    storage_options: Optional[Mapping[str, Any]] = None,
) -> Union[Report, DatasetReport]:
    """Encodes ``data`` into ``path`` and commits it atomically; returns a :class:`Report`
    (a :class:`DatasetReport` for directory targets).

    ``data``: anything with ``__arrow_c_stream__`` (pyarrow Table/RecordBatchReader, polars and
    pandas DataFrames, DuckDB relations), streamed batch by batch with bounded memory; or a
    1-D/2-D NumPy array (to ``.npy``: byte for byte what ``np.save`` writes). ``path``: a local
    path or an ``s3://``, ``gs://``, ``az://`` URL; a path ending in ``/``, an existing directory
    or ``partition_by`` makes a directory write (Parquet unless ``format`` says otherwise).
    ``format`` defaults to the extension's; ``options`` are the encoder's (``{"compression":
    "zstd"}``; ``atio plugins inspect FORMAT`` lists them). ``lock``: ``True`` or a timeout in
    seconds holds the target's lock for the whole write. ``verbose`` logs the steps and their
    timings on the ``atio`` logger; ``progress`` shows rows, bytes and rate. ``plugin`` is an
    encoder component file (``.wasm``) instead of a format; ``plugin_timeout`` (seconds per
    call) and ``plugin_memory`` (bytes) are the sandbox's limits. ``threads``: most encoder
    instances encoding the file at once (default: the cores available; the file is the same
    bytes for any number). ``keep_versions``: keep the content this write replaces as a
    version (at most that many; see :func:`versions`, :func:`rollback`).

    The GIL is released while atio encodes and commits; Ctrl-C raises ``KeyboardInterrupt``
    at the next batch, with the previous content intact and no staging file left.
    """
    path = os.fspath(path)
    if isinstance(partition_by, str):
        partition_by = [partition_by]
    directory = bool(partition_by) or path.endswith("/") or (
        not _is_url(path) and os.path.isdir(path))
    opts = _options(
        durability=durability,
        marker=marker,
        no_clobber=no_clobber,
        if_match=if_match,
        lock=lock,
        keep_versions=keep_versions,
        storage_options=storage_options,
        threads=threads,
        format=format,
        plugin=os.fspath(plugin) if plugin is not None else None,
        encoder_options=_encoder_options(options),
        partition_by=list(partition_by) if partition_by else None,
        rows_per_file=rows_per_file,
        if_changed=if_changed or None,
        plugin_timeout=_seconds(plugin_timeout) if plugin_timeout is not None else None,
        plugin_memory=plugin_memory,
    )
    if _is_numpy(data):
        numpy, stream = _numpy_source(data, path, format), None
    else:
        numpy, stream = None, _arrow_stream(data, path)
    if verbose:
        _verbose()
        logger.info("writing %s (%s)", path, format or "format from the extension")
    bar = _Progress(_row_count(data), path) if progress else None
    try:
        raw = _atio.write(stream, path, opts, directory, numpy, bar)
    finally:
        if bar is not None:
            bar.close()
    report = DatasetReport._from_json(raw) if directory else Report._from_json(raw)
    if verbose:
        _log_report(report)
    return report


def write_bytes(
    data: Union[bytes, bytearray, memoryview],
    path: PathLike,
    *,
    durability: str = "full",
    marker: bool = True,
    no_clobber: bool = False,
    if_match: Optional[str] = None,
    lock: Union[bool, Seconds] = False,
    verbose: bool = False,
    keep_versions: Optional[int] = None,
    storage_options: Optional[Mapping[str, Any]] = None,
) -> Report:
    """Commits ``data`` to ``path`` atomically (staged, fsynced, renamed, manifest)."""
    path = os.fspath(path)
    opts = _options(durability=durability, marker=marker, no_clobber=no_clobber,
                    if_match=if_match, lock=lock, keep_versions=keep_versions,
                    storage_options=storage_options)
    report = Report._from_json(_atio.write_bytes(bytes(data), path, opts))
    if verbose:
        _verbose()
        _log_report(report)
    return report


def write_json(obj: Any, path: PathLike, *, indent: Optional[int] = 2, **kwargs: Any) -> Report:
    """``obj`` as JSON (UTF-8, a final newline), committed atomically. Takes ``write_bytes``'s
    keywords."""
    text = json.dumps(obj, indent=indent, ensure_ascii=False) + "\n"
    return write_bytes(text.encode("utf-8"), path, **kwargs)


class AtomicWriter:
    """A file being written atomically (``atio.open``): nothing is visible at ``path`` until
    ``commit()`` (or a clean exit from the ``with`` block); ``abort()``, an exception in the
    block, or garbage collection discard it and leave the previous content."""

    def __init__(self, path: str, mode: str, encoding: str, options: dict) -> None:
        if mode not in ("w", "wb", "wt"):
            raise InvalidInput(f'mode must be "w" or "wb", not {mode!r}', kind="invalid-input",
                               step="resolve", path=path, hint="atio files are write-only")
        self.name = path
        self.mode = mode
        self.encoding = encoding
        self.report: Optional[Report] = None
        self._text = mode != "wb"
        self._file = _atio.Output(path, options)

    def write(self, data: Union[str, bytes, bytearray, memoryview]) -> int:
        if self._text:
            if not isinstance(data, str):
                raise TypeError(f"write() argument must be str, not {type(data).__name__}")
            self._file.write(data.encode(self.encoding))
            return len(data)
        if isinstance(data, str):
            raise TypeError("write() argument must be a bytes-like object, not str (open with \"w\")")
        if not isinstance(data, bytes):
            data = bytes(data)
        return self._file.write(data)

    def writelines(self, lines: Iterable[Any]) -> None:
        for line in lines:
            self.write(line)

    def tell(self) -> int:
        return self._file.tell()

    def flush(self) -> None:
        """Nothing to do: the data is flushed (and fsynced) by ``commit``."""

    def writable(self) -> bool:
        return not self._file.closed

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self._file.closed

    @property
    def staging_path(self) -> str:
        return os.fspath(self._file.staging)

    def commit(self) -> Report:
        """Makes the file visible at ``path``: fsync, rename, directory fsync, manifest."""
        self.report = Report._from_json(self._file.commit())
        return self.report

    def close(self) -> None:
        """Commits, as leaving the ``with`` block does (a no-op once committed or aborted)."""
        if not self._file.closed:
            self.commit()

    def abort(self) -> None:
        """Discards what was written; the target is untouched."""
        self._file.abort()

    def __enter__(self) -> "AtomicWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<atio.AtomicWriter {self.name!r} mode={self.mode!r} {state}>"


def open(
    path: PathLike,
    mode: str = "wb",
    *,
    encoding: str = "utf-8",
    durability: str = "full",
    marker: bool = True,
    no_clobber: bool = False,
    if_match: Optional[str] = None,
    lock: Union[bool, Seconds] = False,
    storage_options: Optional[Mapping[str, Any]] = None,
) -> AtomicWriter:
    """Opens ``path`` for an atomic write (``"w"`` text, ``"wb"`` bytes)::

        with atio.open("out/report.csv", "w") as f:
            f.write("a,b\\n1,2\\n")      # committed when the block exits cleanly
    """
    path = os.fspath(path)
    opts = _options(durability=durability, marker=marker, no_clobber=no_clobber,
                    if_match=if_match, lock=lock, storage_options=storage_options)
    return AtomicWriter(path, mode, encoding, opts)


# --------------------------------------------------------------------------------------------
# Read-modify-write and locks


def update(
    path: PathLike,
    fn: Callable[[Optional[bytes]], bytes],
    *,
    timeout: Seconds = DEFAULT_LOCK_TIMEOUT,
    durability: str = "full",
    marker: bool = True,
) -> Report:
    """Locked read-modify-write of raw bytes: ``fn(old)`` (``None`` if missing) returns the new
    content, computed and committed while the target's lock is held. If ``fn`` raises, nothing
    is written and the exception propagates."""
    path = os.fspath(path)
    opts = _options(durability=durability, marker=marker, lock=_seconds(timeout))
    return Report._from_json(_atio.update(path, fn, opts))


def update_json(
    path: PathLike,
    fn: Callable[[Any], Any],
    default: Any = None,
    *,
    timeout: Seconds = 30,
    indent: Optional[int] = 2,
    durability: str = "full",
    marker: bool = True,
) -> Any:
    """Locked read-modify-write of a JSON document; returns the new value.

    ``fn`` gets the parsed document (a copy of ``default`` when the file does not exist) and
    returns the new one, or ``None`` to keep the value it changed in place. Concurrent updates
    from any number of threads and processes never lose each other's changes. A file that is not
    valid JSON raises :class:`atio.InvalidInput` and is never replaced::

        atio.update_json("counter.json", lambda c: {"n": c["n"] + 1}, default={"n": 0})
    """
    path = os.fspath(path)
    result: list = []

    def change(old: Optional[bytes]) -> bytes:
        if old is None:
            value = copy.deepcopy(default)
        else:
            try:
                value = json.loads(old)
            except ValueError as error:
                raise InvalidInput(
                    f"update `{path}`: the existing content is not valid JSON ({error}); "
                    "refusing to replace it",
                    kind="invalid-input", step="update", path=path,
                    hint="fix or remove the file; it was left as it is",
                ) from None
        new = fn(value)
        if new is None:
            new = value
        result[:] = [new]
        return (json.dumps(new, indent=indent, ensure_ascii=False) + "\n").encode("utf-8")

    update(path, change, timeout=timeout, durability=durability, marker=marker)
    return result[0]


class TargetLock:
    """A target's lock (``.<name>.atio-lock``, the one ``lock=True`` writes hold), as a context
    manager: ``with atio.lock(path, timeout=10): ...``. Taken on ``__enter__`` (or ``acquire``),
    released on exit. A timeout raises :class:`atio.LockTimeout` (a ``TimeoutError``) naming
    the holder. Don't write the same path with ``lock=True`` while holding it: that write would
    wait for this lock."""

    def __init__(self, path: PathLike, timeout: Seconds = DEFAULT_LOCK_TIMEOUT) -> None:
        self.path = os.fspath(path)
        self.timeout = _seconds(timeout)
        self._lock: Any = None

    def acquire(self) -> "TargetLock":
        if self._lock is not None and self._lock.locked:
            raise RuntimeError(f"the lock of {self.path} is already held by this object")
        self._lock = _atio.Lock(self.path, self.timeout)
        return self

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()

    @property
    def locked(self) -> bool:
        return self._lock is not None and self._lock.locked

    def __enter__(self) -> "TargetLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def lock(path: PathLike, timeout: Seconds = DEFAULT_LOCK_TIMEOUT) -> TargetLock:
    """The lock of ``path``, to use as ``with atio.lock(path, timeout=10):``."""
    return TargetLock(path, timeout)


# --------------------------------------------------------------------------------------------
# Checks and sweeps


def verify(path: PathLike, *, storage_options: Optional[Mapping[str, Any]] = None) -> dict:
    """Checks a file against its ``_SUCCESS`` marker (size, content hash), or a directory against
    its manifest (every listed file, no unlisted one). Returns what was verified (with the
    manifest); raises :class:`atio.VerificationError` on any difference or a missing marker."""
    return json.loads(_atio.verify(os.fspath(path), _options(storage_options=storage_options)))


def clean(
    path: PathLike,
    *,
    older_than: Seconds = 24 * 3600,
    dry_run: bool = False,
    recursive: bool = False,
    storage_options: Optional[Mapping[str, Any]] = None,
) -> dict:
    """Removes the staging files of writers that died (local directories; a live writer's are
    kept), or the parts of crashed partition runs no manifest lists (object prefixes, older than
    ``older_than``). Returns ``{"removed": [...], "kept": [[path, why], ...], "recovered": ...}``."""
    opts = _options(storage_options=storage_options)
    return json.loads(_atio.clean(os.fspath(path), _seconds(older_than), dry_run, recursive, opts))


def recover(path: PathLike) -> dict:
    """Completes or rolls back an interrupted directory swap; returns ``{"path", "recovery",
    "detail"}``."""
    return json.loads(_atio.recover(os.fspath(path), _options()))


def versions(path: PathLike, *, verify: bool = False,
             storage_options: Optional[Mapping[str, Any]] = None) -> dict:
    """The versions kept for a file, directory, object or prefix written with ``keep_versions``:
    the target, its store, the current content and each stored version: ``number``,
    ``current``, ``data`` (the stored file or object) and ``record`` (time, bytes, hash, rows,
    run id, encoder, tags). ``verify`` also checks every version's data against its record
    (raising :class:`atio.VerificationError` on a difference)."""
    opts = _options(storage_options=storage_options)
    return json.loads(_atio.versions(os.fspath(path), opts, verify))


def rollback(path: PathLike, *, to: Optional[int] = None, tag: Optional[str] = None,
             durability: str = "full",
             storage_options: Optional[Mapping[str, Any]] = None) -> dict:
    """Makes a stored version current again: the newest (undo the last versioned write), number
    ``to``, or the one tagged ``tag``. An atomic commit like any write; the content it replaces
    is kept as a new version, so a rollback can be rolled back."""
    opts = _options(durability=durability, storage_options=storage_options)
    return json.loads(_atio.rollback(os.fspath(path), opts, to, tag))


def tag(path: PathLike, name: str, *, version: Optional[int] = None, force: bool = False,
        storage_options: Optional[Mapping[str, Any]] = None) -> dict:
    """Names a stored version (the newest unless ``version``); tagged versions are never pruned
    automatically. ``force`` moves a tag that is already on another version."""
    opts = _options(storage_options=storage_options)
    return json.loads(_atio.tag(os.fspath(path), name, opts, version, force))


def prune(path: PathLike, keep: int, *,
          storage_options: Optional[Mapping[str, Any]] = None) -> list:
    """Removes all but the newest ``keep`` untagged versions; returns the numbers removed."""
    return _atio.prune(os.fspath(path), keep, _options(storage_options=storage_options))


def formats() -> list:
    """The built-in format names."""
    return list(_atio.formats())


# `open` shadows the builtin inside this module on purpose (atio.open); keep a handle on it.
_builtin_open = builtins.open
