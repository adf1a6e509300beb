"""Minibatches from an array that is not in memory, read one block at a time.

The in-memory path shuffles all N rows every epoch and gathers any row at any moment.  On a
chunked store (a Zarr array, a Dask array, an HDF5 dataset, any object with ``shape``, ``dtype``
and ``__getitem__`` on row slices) each random row would cost a read and the decoding of a whole
chunk, so an epoch here is a *block shuffle*::

    cut the rows into read units (the store's chunks, cut further to at most one block)
    -> shuffle the units -> group them k at a time into blocks (k units fit the block budget)
    -> block after block: read its k units, shuffle the block's rows, cut them into minibatches

Memory holds one block of rows (plus the unit being read and the minibatch), whatever the size
of the store, and every read asks for one unit: at most ``block_bytes``.  The whole epoch's order
is drawn from the trainer's generator before the epoch starts, so the same seed gives the same
minibatches, and a run resumed from a checkpoint redraws that order and reads from the block of
its next minibatch on: it ends bit-identical to a run that was never interrupted.

How the sampling differs from the in-memory full shuffle: every row is still seen exactly once
per epoch and the order changes every epoch, but a minibatch draws its rows from the k units of
one block (two blocks at a boundary), not from the whole set, so rows stored in one chunk meet in
the same minibatches more often.  Over an epoch the gradient is the same average; it is noisier
when the store is ordered (for example class by class: image folders are read class by class).
Then shuffle the rows before writing the store or give a larger ``block_bytes`` (more units, drawn
from all over the store, per block).  With a single block (a store smaller than the budget) the
batches are a full shuffle again, though not the same permutation as the in-memory path's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .inputs import is_row_source

__all__ = ["ChunkedRows", "EpochPlan", "DEFAULT_BLOCK_BYTES", "is_out_of_core"]

#: Default memory budget of one block: 16 Zarr chunks of 1,024 rows of 512 float32 features.
DEFAULT_BLOCK_BYTES = 32 * 2**20


def is_out_of_core(X: Any) -> bool:
    """True for the sources that ``Trainer.fit`` reads block by block instead of loading.

    That is a ``ChunkedRows``, a Zarr or Dask array, or any other object with ``shape``,
    ``dtype`` and ``__getitem__`` that is not an in-memory array (NumPy, PyTorch, ... : whatever
    ``array_api_compat`` knows). A row source (``inputs.is_row_source``: product-quantized
    features) is not one: it hands out whole minibatches itself.
    """
    if isinstance(X, ChunkedRows):
        return True
    if is_row_source(X):
        return False
    if isinstance(X, np.ndarray) or not all(hasattr(X, a) for a in ("shape", "dtype", "__getitem__")):
        return False
    if type(X).__module__.split(".")[0] in ("zarr", "dask", "h5py"):
        return True
    import array_api_compat

    try:
        array_api_compat.array_namespace(X)
    except TypeError:
        return True
    return False


class ChunkedRows:
    """Rows of a 2-D array-like, read a unit (a chunk, at most one block) at a time.

    Args:
        array: (N, D) source of real numbers with ``shape``, ``dtype`` and ``__getitem__``
            taking a row slice (``array[a:b]`` -> (b - a, D), anything ``np.asarray`` accepts),
            e.g. ``zarr.Array``, ``dask.array.Array``, ``h5py.Dataset``.  A ``chunks``
            attribute (Zarr: rows per chunk; Dask: sizes per axis) sets the read units; without
            one, units are blocks.
        rows: the rows to use, distinct indices into ``array`` (a split), or None for all; kept
            sorted (positions in this object follow the store's order).
        block_bytes: memory budget of one block: the rows of one read and of one shuffled block
            take at most this many bytes (at least one row).
        transform: None, or a function applied to each read (n, D) NumPy array before the cast,
            e.g. ``Standardizer.transform``; it must map rows independently.
        name: what messages call the source (``Trainer`` passes "X", "X_val").

    Attributes:
        shape: ``(len(rows), D)``; ``dtype``: the dtype reads come in (the source's, or
        ``transform``'s output, until ``Trainer`` sets the model's).

    Raises:
        TypeError: ``array`` lacks ``shape``/``dtype``/``__getitem__``, holds no real numbers,
            or ``transform`` is not callable.
        ValueError: ``array`` is not 2-D or empty, ``rows`` are out of range or repeated, or
            ``block_bytes`` is not a positive int.
    """

    def __init__(self, array: Any, rows: Any = None, *, block_bytes: int = DEFAULT_BLOCK_BYTES,
                 transform: Callable[[np.ndarray], np.ndarray] | None = None,
                 name: str = "array") -> None:
        if isinstance(array, ChunkedRows):
            raise TypeError(f"{name} is already a ChunkedRows; use its .take(rows) for a subset")
        for attr in ("shape", "dtype", "__getitem__"):
            if not hasattr(array, attr):
                raise TypeError(f"{name} must have shape, dtype and __getitem__ (an array-like), "
                                f"got {type(array).__name__} without {attr}")
        shape = tuple(int(s) for s in array.shape)
        if len(shape) != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {shape}")
        if shape[0] == 0 or shape[1] == 0:
            raise ValueError(f"{name} is empty (shape {shape})")
        dtype = np.dtype(array.dtype)
        if dtype == np.bool_ or not (np.issubdtype(dtype, np.floating)
                                     or np.issubdtype(dtype, np.integer)):
            raise TypeError(f"{name} must hold real numbers (integers or floats), got dtype {dtype}")
        if isinstance(block_bytes, bool) or not isinstance(block_bytes, (int, np.integer)) \
                or block_bytes <= 0:
            raise ValueError(f"block_bytes must be a positive int, got {block_bytes!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        self.array = array
        self.block_bytes = int(block_bytes)
        self.transform = transform
        self._n_total, D = shape
        self.dtype = np.dtype(np.float32) if transform is not None else dtype
        self._read_dtype = dtype
        self._rows = self._check_rows(rows)
        self.shape = (len(self._rows), D)
        self.name = name
        self._to_model: Callable[[np.ndarray], Any] | None = None
        self._cache: tuple[int, np.ndarray] | None = None  # the last unit read by __getitem__
        self._layout()

    def _check_rows(self, rows: Any) -> np.ndarray:
        if rows is None:
            return np.arange(self._n_total)
        r = np.asarray(rows)
        if r.ndim != 1 or not (np.issubdtype(r.dtype, np.integer) or r.size == 0):
            raise ValueError(f"rows must be a 1-D array of row indices, got shape {r.shape} "
                             f"dtype {r.dtype}")
        if r.size == 0:
            raise ValueError("rows is empty: choose at least one row")
        r = np.sort(r.astype(np.int64))
        if r[0] < 0 or r[-1] >= self._n_total:
            raise ValueError(f"rows must lie in [0, {self._n_total}), got {r[0]}..{r[-1]}")
        if np.any(r[1:] == r[:-1]):
            raise ValueError("rows holds a row more than once")
        return r

    def _layout(self) -> None:
        """Read units: row ranges ``[starts[u], starts[u + 1])`` of the store, each within one
        chunk and at most one block; ``first[u]``/``count[u]``: the positions of the selected
        rows in unit u."""
        N, D = self._n_total, self.shape[1]
        itemsize = max(self._read_dtype.itemsize, self.dtype.itemsize)  # a read, or the block
        self.block_rows = max(1, self.block_bytes // (D * itemsize))
        bounds = _chunk_bounds(self.array, N)
        if bounds is None:
            bounds = np.arange(0, N, self.block_rows)
        pieces = []  # cut chunks longer than a block
        ends = np.append(bounds[1:], N)
        for a, b in zip(bounds.tolist(), ends.tolist(), strict=True):
            pieces.append(np.arange(a, b, self.block_rows))
        self._starts = np.append(np.concatenate(pieces), N).astype(np.int64)
        unit = np.searchsorted(self._starts, self._rows, side="right") - 1
        self._unit_of = unit  # (n,) the unit of each position
        count = np.bincount(unit, minlength=len(self._starts) - 1)
        self._first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        self._count = count.astype(np.int64)
        self._units = np.flatnonzero(count)  # units holding selected rows, ascending
        longest = int((self._starts[1:] - self._starts[:-1]).max())
        self.units_per_block = max(1, self.block_rows // longest)

    # -- views ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return (f"ChunkedRows({type(self.array).__name__} {self._n_total}x{self.shape[1]}, "
                f"{len(self)} rows, block_bytes={self.block_bytes})")

    def take(self, positions: Any) -> ChunkedRows:
        """A view of the rows at ``positions`` (indices into this object, e.g. a split).

        Raises:
            ValueError: positions out of range, repeated or empty.
        """
        p = np.asarray(positions)
        if p.ndim != 1 or not np.issubdtype(p.dtype, np.integer) or p.size == 0 \
                or p.min() < 0 or p.max() >= len(self):
            raise ValueError(f"positions must be a non-empty 1-D array of indices in "
                             f"[0, {len(self)}), got shape {p.shape} dtype {p.dtype}")
        return ChunkedRows(self.array, self._rows[p], block_bytes=self.block_bytes,
                           transform=self.transform, name=self.name)

    def mapped(self, transform: Callable[[np.ndarray], np.ndarray]) -> ChunkedRows:
        """The same rows with ``transform`` applied to each read (after this one's own)."""
        inner = self.transform
        both = transform if inner is None else (lambda a: transform(inner(a)))
        return ChunkedRows(self.array, self._rows, block_bytes=self.block_bytes, transform=both,
                           name=self.name)

    def prepared(self, dtype: np.dtype, name: str, n_features: int | None,
                 to_model: Callable[[np.ndarray], Any] | None = None) -> ChunkedRows:
        """What ``Trainer`` reads from: reads cast to ``dtype`` and checked finite (errors name
        ``name``), handed to ``to_model`` (e.g. onto the model's device) when given.

        Raises:
            ValueError: the number of features is not ``n_features``.
        """
        if n_features is not None and self.shape[1] != n_features:
            raise ValueError(f"{name} has {self.shape[1]} features, but the model expects {n_features}")
        out = copy.copy(self)
        out.dtype, out.name, out._to_model, out._cache = np.dtype(dtype), name, to_model, None
        out._layout()  # the block in rows depends on the dtype
        return out

    # -- reading --------------------------------------------------------------------------------
    def read_unit(self, u: int) -> np.ndarray:
        """The selected rows of unit ``u`` as a (count, D) array of ``dtype``: one read of the
        unit's row range, then ``transform``, the cast and the finiteness check.

        Raises:
            ValueError: NaN or inf in a selected row (the message names the store row).
        """
        a, b = int(self._starts[u]), int(self._starts[u + 1])
        raw = np.asarray(self.array[a:b])
        if raw.shape != (b - a, self.shape[1]):
            raise ValueError(f"{self.name}[{a}:{b}] read back shape {raw.shape}, expected "
                             f"{(b - a, self.shape[1])}")
        first, count = int(self._first[u]), int(self._count[u])
        if count < b - a:
            raw = raw[self._rows[first:first + count] - a]
        if self.transform is not None:
            raw = self.transform(raw)
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.ascontiguousarray(raw, dtype=self.dtype)
        if not np.isfinite(out).all():
            bad = int(np.flatnonzero(~np.isfinite(out).all(axis=1))[0])
            raise ValueError(f"{self.name} holds NaN or infinite values (store row "
                             f"{int(self._rows[first + bad])}); remove or impute those values")
        return out

    def iter_units(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(position of the first row, rows)`` of every unit in store order, one read each."""
        for u in self._units.tolist():
            yield int(self._first[u]), self.read_unit(u)

    def __getitem__(self, key: slice) -> Any:
        """Rows ``[start:stop]`` (positions, step 1) as an (n, D) array, read unit by unit (the
        last unit read is kept, so consecutive slices read each unit once).

        Raises:
            TypeError: a key other than a slice of step 1.
        """
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError(f"ChunkedRows takes row slices of step 1, got {key!r}")
        start, stop, _ = key.indices(len(self))
        out = np.empty((max(0, stop - start), self.shape[1]), dtype=self.dtype)
        p = start
        while p < stop:
            u = int(self._unit_of[p])
            if self._cache is None or self._cache[0] != u:
                self._cache = (u, self.read_unit(u))
            rows = self._cache[1]
            end = min(stop, int(self._first[u] + self._count[u]))
            out[p - start:end - start] = rows[p - int(self._first[u]):end - int(self._first[u])]
            p = end
        return out if self._to_model is None else self._to_model(out)

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature mean and standard deviation (population, ``ddof=0``) in one streaming pass.

        Units are merged with Chan et al.'s pairwise update in float64 (each unit's own mean and
        sum of squared deviations, then ``M2 += M2_u + delta**2 * n * n_u / (n + n_u)``), which
        keeps the digits that a running sum of squares would cancel away.

        Returns:
            ``(mean, std)``: two (D,) float64 arrays.
        """
        D = self.shape[1]
        n, mean, m2 = 0, np.zeros(D), np.zeros(D)
        for _, rows in self.iter_units():
            x = rows.astype(np.float64, copy=False)
            n_u = len(x)
            mean_u = x.mean(axis=0)
            m2_u = ((x - mean_u) ** 2).sum(axis=0)
            delta = mean_u - mean
            total = n + n_u
            mean = mean + delta * (n_u / total)
            m2 = m2 + m2_u + delta**2 * (n * n_u / total)
            n = total
        return mean, np.sqrt(m2 / n)

    # -- an epoch -------------------------------------------------------------------------------
    def plan_epoch(self, rng: np.random.Generator) -> EpochPlan:
        """Draw an epoch's block shuffle from ``rng`` (the unit order, then each block's row
        order): the same generator state gives the same plan."""
        return EpochPlan(self, rng)

    def minibatches(self, plan: EpochPlan, y: Any, w: Any, order: np.ndarray,
                    batch_size: int) -> StreamedBatches:
        """The epoch's minibatches (``.get(b)`` -> ``(xb, yb, wb)``, a context manager like
        ``step.minibatches``): rows ``order[b * B:(b + 1) * B]``, which must come from ``plan``
        (``plan.order`` or this rank's share of it, in the same sequence)."""
        return StreamedBatches(self, plan, y, w, order, batch_size)


def _chunk_bounds(array: Any, N: int) -> np.ndarray | None:
    """Starts of the source's row chunks (Zarr: an int per axis; Dask: sizes per axis)."""
    chunks = getattr(array, "chunks", None)
    if not chunks:
        return None
    first = chunks[0]
    if isinstance(first, (int, np.integer)) and first > 0:
        return np.arange(0, N, int(first))
    if isinstance(first, tuple) and first and all(isinstance(c, (int, np.integer)) for c in first):
        sizes = np.asarray(first, dtype=np.int64)
        if sizes.sum() == N:
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            return starts[sizes > 0]
    return None


class EpochPlan:
    """One epoch's block shuffle of a ``ChunkedRows`` (see the module docstring).

    Attributes:
        order: (n,) int64 positions in epoch order (a permutation of ``range(n)``).
        blocks: the units of each block, in the order blocks are read.
        block_of: (n,) the block of each position; ``offset_of``: its row in that block.
    """

    def __init__(self, source: ChunkedRows, rng: np.random.Generator) -> None:
        units = source._units[rng.permutation(len(source._units))]
        k = source.units_per_block
        n = len(source)
        self.blocks = [np.sort(units[i:i + k]) for i in range(0, len(units), k)]
        self.block_of = np.empty(n, dtype=np.int64)
        self.offset_of = np.empty(n, dtype=np.int64)
        parts = []
        for j, group in enumerate(self.blocks):
            members = np.concatenate([np.arange(source._first[u], source._first[u] + source._count[u])
                                      for u in group.tolist()])
            self.block_of[members] = j
            self.offset_of[members] = np.arange(len(members))
            parts.append(members[rng.permutation(len(members))])
        self.order = np.concatenate(parts)
        self.block_rows = max(int(source._count[g].sum()) for g in self.blocks)


class StreamedBatches:
    """Minibatch ``b``: rows ``order[b * B:(b + 1) * B]`` of a ``ChunkedRows`` and of the
    in-memory ``y`` and ``w``, gathered from the block being read (one block in memory).

    Batches must be requested in increasing order (blocks are read forward); a returned batch
    stays valid until the next request.
    """

    def __init__(self, source: ChunkedRows, plan: EpochPlan, y: Any, w: Any, order: np.ndarray,
                 batch_size: int) -> None:
        self.source, self.plan, self.y, self.w = source, plan, y, w
        self.order, self.B = np.asarray(order), int(batch_size)
        D = source.shape[1]
        self._block = np.empty((plan.block_rows, D), dtype=source.dtype)  # (rows, D)
        self._current = -1
        self._out = np.empty((min(self.B, len(self.order)), D), dtype=source.dtype)

    def __enter__(self) -> StreamedBatches:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Let the block buffer go."""
        self._block = self._out = np.empty((0, 0), dtype=self.source.dtype)
        self._current = -1

    def _load(self, j: int) -> np.ndarray:
        """Block ``j``'s rows (its units read one after the other)."""
        if j != self._current:
            self._current = -1  # a failed read leaves no half-filled block behind
            pos = 0
            for u in self.plan.blocks[j].tolist():
                rows = self.source.read_unit(u)
                self._block[pos:pos + len(rows)] = rows
                pos += len(rows)
            self._current = j
        return self._block

    def get(self, b: int) -> tuple[Any, Any, Any]:
        """``(xb, yb, wb)`` of minibatch ``b``: (n, D), (n,) or (n, K), (n,) or None."""
        idx = self.order[b * self.B:(b + 1) * self.B]
        xb = self._out[:len(idx)]
        blocks = self.plan.block_of[idx]
        offsets = self.plan.offset_of[idx]
        if blocks[0] == blocks[-1]:
            np.take(self._load(int(blocks[0])), offsets, axis=0, out=xb, mode="clip")
        else:
            for j in np.unique(blocks).tolist():  # ascending: the order blocks are read in
                here = blocks == j
                xb[here] = self._load(j)[offsets[here]]
        to_model = self.source._to_model
        return ((xb if to_model is None else to_model(xb)), _take(self.y, idx),
                None if self.w is None else _take(self.w, idx))


def _take(a: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of an in-memory array of any namespace."""
    if isinstance(a, np.ndarray):
        return a[idx]
    from ..backend import array_namespace, device

    xp = array_namespace(a)
    return xp.take(a, xp.asarray(idx, device=device(a)), axis=0)
