"""``warpnet features --out FEATS.zarr``: a Zarr feature store written chunk by chunk through Dask.

The store is a Zarr group: ``x`` (N, D) float32 in chunks of ``chunk_size`` rows, ``y`` (N,),
and ``x_test``/``y_test`` when the source ships a test split; its attributes hold the feature
spec, the seed, the class names and ``complete`` once every chunk is in.  Feature chunks start
out as NaN (Zarr's fill value for chunks never written), and features are always finite, so a
chunk whose first row is NaN is missing: a run killed at any moment (Zarr writes each chunk
atomically) and started again computes and writes only the missing chunks, and ends with the
same store as an uninterrupted run.  A store of another shape, dtype, chunking, spec or seed is
refused unless ``overwrite`` is given.

``warpnet train --data zarr:PATH`` reads the store block by block (``open_streamed``,
``warpnet.train.streaming``): the features are never loaded whole, only the labels are.
``load_store`` loads a store whole, for the commands that need the arrays in memory.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, UsageError

STORE_FORMAT = "warpnet.feature-store/1"
_SCHEDULER_TIMEOUT_S = 3
_INSTALL = 'pip install "warpnet[dask]"'


def import_dask() -> tuple[Any, Any, Any]:
    """``(dask.array, distributed, zarr)``, or a DataError naming the extra to install."""
    try:
        import dask.array as da
        import distributed
        import zarr
    except ImportError as exc:
        raise DataError(f"a Zarr feature store needs dask, distributed and zarr ({exc.name} "
                        f"is missing): {_INSTALL}") from None
    return da, distributed, zarr


@contextmanager
def dask_client(scheduler: str | None) -> Iterator[Any]:
    """A ``distributed.Client`` on ``scheduler`` (``tcp://HOST:PORT``) or on a local cluster.

    Raises:
        DataError: the scheduler cannot be reached within a few seconds.
    """
    if scheduler is not None:
        probe_scheduler(scheduler)
    _, distributed, _ = import_dask()
    if scheduler is None:
        with distributed.LocalCluster(processes=False, dashboard_address=None, n_workers=1,
                                      threads_per_worker=_cpus()) as cluster, \
                distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout=_SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DataError(f"cannot reach the Dask scheduler at {scheduler!r} within "
                        f"{_SCHEDULER_TIMEOUT_S}s ({type(exc).__name__}): start one with "
                        "'dask scheduler' or leave --scheduler out for a local cluster") from None
    with client:
        yield client


def probe_scheduler(scheduler: str) -> None:
    """Fail fast (before importing distributed) when a ``tcp://`` scheduler refuses connections."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(scheduler)
    if parts.scheme != "tcp" or not parts.hostname:
        return
    try:
        with socket.create_connection((parts.hostname, parts.port or 8786),
                                      timeout=_SCHEDULER_TIMEOUT_S):
            pass
    except (OSError, ValueError) as exc:  # ValueError: a port out of range
        reason = (exc.strerror if isinstance(exc, OSError) else str(exc)) or type(exc).__name__
        raise DataError(f"cannot reach the Dask scheduler at {scheduler!r} "
                        f"({reason}): start one with 'dask scheduler' "
                        "or leave --scheduler out for a local cluster") from None


def _cpus() -> int:
    from ..features._parallel import available_cpus

    return available_cpus()


def open_store(path: Path, layout: dict[str, tuple[tuple[int, ...], int]], attrs: dict[str, Any],
               overwrite: bool) -> Any:
    """Open (or create) the group at ``path`` for ``layout`` {name: (shape, chunk rows)}.

    Raises:
        DataError: ``path`` holds something else (another layout, spec or seed, or not a
            warpnet feature store) and ``overwrite`` is False.
    """
    _, _, zarr = import_dask()
    if path.exists() and overwrite:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    if path.is_dir() and not any(path.iterdir()):  # a run killed before its first write
        path.rmdir()
    if path.exists():
        reason = _mismatch(path, layout, attrs)
        if reason:
            raise DataError(f"{str(path)!r} {reason}; pass --overwrite to replace it or choose "
                            "another --out")
        group = zarr.open_group(str(path), mode="r+")
    else:
        # The attributes go in with the group (one atomic write), so a run killed from here on
        # leaves a store that the next run recognizes and completes.
        group = zarr.open_group(str(path), mode="w",
                                attributes={**attrs, "format": STORE_FORMAT, "complete": False})
    for name, (shape, rows) in layout.items():
        if name.startswith("x") and name not in group:
            group.create_array(name, shape=shape, chunks=(rows, shape[1]), dtype="float32",
                               fill_value=np.nan)
    return group


def _mismatch(path: Path, layout: dict[str, tuple[tuple[int, ...], int]],
              attrs: dict[str, Any]) -> str | None:
    """Why the store at ``path`` cannot be resumed for ``layout``/``attrs`` (None: it can)."""
    _, _, zarr = import_dask()
    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception:  # noqa: BLE001 - any unreadable path is "not a store"
        return "exists and is not a Zarr group"
    if group.attrs.get("format") != STORE_FORMAT:
        return "is not a warpnet feature store"
    for key, value in attrs.items():
        if group.attrs.get(key) != value:
            return f"was written with {key}={group.attrs.get(key)!r}, not {value!r}"
    for name, (shape, rows) in layout.items():
        if not name.startswith("x"):
            continue
        if name not in group:
            continue  # created by open_store (the run that made the store was killed first)
        arr = group[name]
        if arr.shape != shape or arr.dtype != np.float32 or arr.chunks[0] != rows:
            return (f"holds {name} of shape {arr.shape}, dtype {arr.dtype}, chunks of "
                    f"{arr.chunks[0]} rows, not {shape} float32 in chunks of {rows}")
    return None


def missing_chunks(arr: Any) -> list[int]:
    """Indices of the row chunks of ``arr`` not written yet (their first row is NaN)."""
    rows = arr.chunks[0]
    starts = np.arange(0, arr.shape[0], rows)
    first = arr.get_orthogonal_selection((starts, slice(0, 1)))[:, 0]
    return [int(i) for i in np.flatnonzero(np.isnan(first))]


def write_features(group: Any, name: str, lazy: Any) -> tuple[int, int]:
    """Store the missing row chunks of the dask array ``lazy`` into ``group[name]``.

    Returns:
        ``(written, total)`` chunk counts.
    """
    da, _, _ = import_dask()
    arr = group[name]
    rows = arr.chunks[0]
    lazy = lazy.astype(np.float32).rechunk((rows, -1))
    todo = missing_chunks(arr)
    if todo:
        sources = [lazy.blocks[i] for i in todo]
        regions = [(slice(i * rows, min((i + 1) * rows, arr.shape[0])), slice(None)) for i in todo]
        da.store(sources, [arr] * len(todo), regions=regions, lock=False)
    return len(todo), len(lazy.chunks[0])


def check_scheduler(text: str | None) -> str | None:
    """``--scheduler``: None or ``tcp://HOST:PORT`` style address (UsageError otherwise)."""
    if text is None:
        return None
    if "://" not in text:
        raise UsageError(f"--scheduler must be an address like tcp://HOST:8786, got {text!r}")
    return text


def _open_complete(path: Path) -> tuple[Any, list[str]]:
    """The group of a complete feature store and its class names (DataError otherwise)."""
    import zarr  # reading needs neither dask nor distributed (the dask extra is checked first)

    try:
        group = zarr.open_group(str(path), mode="r")
    except Exception:  # noqa: BLE001 - any unreadable path is "not a store"
        raise DataError(f"{str(path)!r} is not a Zarr group") from None
    if group.attrs.get("format") != STORE_FORMAT:
        raise DataError(f"{str(path)!r} is not a warpnet feature store")
    if not group.attrs.get("complete"):
        raise DataError(f"{str(path)!r} is unfinished: run the same 'warpnet features ... --out "
                        f"{path}' again to write its missing chunks")
    if "x" not in group:
        raise DataError(f"{str(path)!r} lacks the array 'x'")
    names = group.attrs.get("class_names")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise DataError(f"{str(path)!r} has no list of class names (attribute 'class_names')")
    return group, list(names)


def open_streamed(path: Path, block_bytes: int | None = None) -> StoreRows:
    """The features of a complete store, left in the store: ``x``/``x_test`` as
    ``ChunkedRows`` that read ``block_bytes`` at most at a time (default
    ``streaming.DEFAULT_BLOCK_BYTES``), the labels in memory.

    Raises:
        DataError: not a warpnet feature store, an unfinished one, labels out of range, or
            arrays that do not fit (shape, dtype, lengths).
    """
    from ..data.validation import check_labels
    from ..train.streaming import DEFAULT_BLOCK_BYTES, ChunkedRows

    group, names = _open_complete(path)
    block_bytes = DEFAULT_BLOCK_BYTES if block_bytes is None else block_bytes
    parts: dict[str, tuple[Any, np.ndarray]] = {}
    for key in ("x", "x_test"):
        if key not in group:
            continue
        try:
            x = ChunkedRows(group[key], block_bytes=block_bytes, name=f"{path} ({key})")
        except (TypeError, ValueError) as exc:
            raise DataError(str(exc)) from None
        ykey = "y" + key[1:]
        if ykey not in group:
            raise DataError(f"{path}: has {key} but no {ykey}")
        y = check_labels(group[ykey][...], len(names), f"{path} ({ykey})")
        if len(y) != len(x):
            raise DataError(f"{path}: {key} has {len(x)} rows but {ykey} {len(y)}")
        parts[key] = (x, y)
    if "x_test" in parts and parts["x_test"][0].shape[1] != parts["x"][0].shape[1]:
        raise DataError(f"{path}: x_test has {parts['x_test'][0].shape[1]} features, x "
                        f"{parts['x'][0].shape[1]}")
    x, y = parts["x"]
    x_test, y_test = parts.get("x_test", (None, None))
    return StoreRows(x, y, x_test, y_test, names)


@dataclass(frozen=True)
class StoreRows:
    """A store's arrays, the features not loaded (``ChunkedRows``), the labels loaded."""

    x: Any
    y: np.ndarray
    x_test: Any | None
    y_test: np.ndarray | None
    class_names: list[str]


def fit_standardizer(pre: Any, rows: Any) -> None:
    """Fit the ``Preprocessor`` ``pre`` (no features: a store holds feature vectors already) on
    the ``ChunkedRows`` ``rows`` in one streaming pass: the same statistics as
    ``Standardizer.fit`` on the loaded rows (float64 mean and std, 1 where std is 0).

    Raises:
        DataError: ``pre`` asks for image features.
        ValueError: NaN or inf in the store (naming the row).
    """
    if pre.features is not None:
        raise DataError(f"features {pre.features!r} need images (N, H, W[, C]), but a feature "
                        f"store holds vectors of {rows.shape[1]} values; leave --features out")
    mean, std = rows.mean_std()
    std[std < 1e-12] = 1.0
    pre.input_shape_ = (int(rows.shape[1]),)
    pre.standardizer_.mean_ = mean.astype(np.float32)
    pre.standardizer_.std_ = std.astype(np.float32)


def load_store(path: Path):  # noqa: ANN201 - warpnet.data.Dataset
    """The features of a complete store as a ``warpnet.data.Dataset`` (with its test split).

    The rows are read chunk by chunk into one float32 array (features are small beside the
    images they come from).

    Raises:
        DataError: not a warpnet feature store, an unfinished one, or arrays that do not fit.
    """
    from ..data import Dataset
    from ..data.validation import check_features, check_labels

    group, names = _open_complete(path)
    parts = {}
    for key in ("x", "x_test"):
        if key not in group:
            continue
        x = np.empty(group[key].shape, dtype=np.float32)
        rows = group[key].chunks[0]
        for start in range(0, len(x), rows):  # chunk by chunk: one decoded chunk at a time
            x[start:start + rows] = group[key][start:start + rows]
        check_features(x, f"{path} ({key})")
        y = check_labels(group["y" + key[1:]][...], len(names), f"{path} (y{key[1:]})")
        if len(y) != len(x):
            raise DataError(f"{path}: {key} has {len(x)} rows but y{key[1:]} {len(y)}")
        parts[key] = Dataset(x=x, y=y, class_names=names)
    ds = parts["x"]
    return Dataset(x=ds.x, y=ds.y, class_names=names, test=parts.get("x_test"))
