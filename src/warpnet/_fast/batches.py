"""Shuffled minibatches, gathered into reused buffers (several batches at once on BLAS's threads,
or one batch ahead on a thread).

Gathering the rows of a shuffled minibatch is the one cost of an epoch that a plain matrix
multiply benchmark does not have.  On NumPy the rows are copied with ``np.take(..., out=buffer)``
into buffers allocated once per epoch: ``mode="clip"`` lets NumPy write straight into ``out``
(``"raise"`` would stage the result in a temporary) and is safe because the order is a
permutation of valid rows.

The copy is memory-bound, and one core draws only part of the machine's bandwidth.  Where NumPy's
BLAS runs on several threads and can let its idle workers go (``blas.loop_threads``), the rows of
the next few batches (``CHUNK_BYTES`` of them) are gathered at once, split over that many
threads; the workers come back at the next product.  Measured on 2 cores, the Trainer's epoch of
benchmarks/engine.py (10,000 x 3072 float32, batch 200; 2.4 MB a batch), best of 8: gathering
each batch on its own 0.116 s, six at once on two threads 0.110 s, and 0.104 s with the
buffers kept from one epoch to the next (``buffers``) instead of new each epoch.  Letting the
workers go and starting them again costs about as much as a split saves on one such batch
(0.33 ms a batch on one thread, 0.45 on two), hence the chunks; a batch of ``CHUNK_BYTES`` or
more is split on its own.  Where the workers cannot be let go, each batch is gathered on its
own right before its use, while it still fits the CPU cache.

Without NumPy's BLAS at hand, ``prefetch=True`` gathers the next batch on a helper thread while
the model works on the current one (NumPy releases the GIL while it copies), into the second of
two buffer sets.  That pays when the step leaves a core idle (elementwise NumPy work runs on one
core).  The batches are the same in every mode: how they are gathered changes timing, never
results.

Other array namespaces (PyTorch, CuPy, ...) use ``xp.take`` on the device, without buffers.  A row
source (``warpnet.train.inputs.is_row_source``, e.g. product-quantized features) hands out each
batch of X through its own ``take`` (decoding just those rows), y and the weights by ``np.take``.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from .. import backend
from ..backend import Array, array_namespace
from . import blas
from . import threads as _threads

__all__ = ["Batches"]

Batch = tuple[Array, Array, Array | None]

# Below this many bytes per batch, handing the copy to other threads costs more than it saves.
THREADED_MIN_BYTES = 256 * 1024
# Gathering on BLAS's threads takes as many batches at once as fit this many bytes (at least one).
CHUNK_BYTES = 16 * 2**20


class Batches:
    """Minibatch ``b`` of an epoch: rows ``order[b * B:(b + 1) * B]`` of X, y and the weights.

    Args:
        x, y, w: (N, ...) arrays of one namespace (``w`` may be None).
        order: (N,) NumPy permutation of the rows for this epoch.
        batch_size: B; the last batch may be smaller.
        parallel: gather the next few batches at once, split over the threads that NumPy's BLAS
            lends (``blas.loop_threads``); where it lends none, each batch on its own.
        prefetch: gather batch b + 1 on a helper thread while batch b is used.
        min_threaded_bytes: ``parallel`` and ``prefetch`` apply to NumPy arrays only, and only
            when a batch of X holds at least this many bytes (default ``THREADED_MIN_BYTES``).
        buffers: a dict to keep the NumPy buffers in and take them from, so that the epochs of a
            run share them (the Batches of one epoch must be closed before the next one's are
            used).  New memory costs its first write: a fresh 16 MB buffer took 4-17 ms to fill
            the first time and 1 ms afterwards.

    Batches must be requested in increasing order; a returned batch stays valid until the next
    request (its buffers may then be reused).  Call ``close()`` when done (also after an error).
    """

    def __init__(self, x: Array, y: Array, w: Array | None, order: np.ndarray, batch_size: int,
                 *, parallel: bool = False, prefetch: bool = False,
                 min_threaded_bytes: int | None = None,
                 buffers: dict[Any, np.ndarray] | None = None) -> None:
        if parallel and prefetch:
            raise ValueError("Batches: choose parallel or prefetch, not both")
        self._arrays = [a for a in (x, y, w) if a is not None]
        self._has_w = w is not None
        self._N = int(x.shape[0])
        self._B = batch_size
        self.n_batches = -(-self._N // batch_size)
        from ..train.inputs import is_row_source

        self._source = is_row_source(x)
        self._numpy = backend.is_numpy_array(x)
        self._parallel = False
        self._per_chunk = 1  # batches gathered at once (parallel mode)
        self._chunk = (0, 0)  # the batches [first, stop) that the buffers hold (parallel mode)
        if self._source:  # the source decodes (gathers) X's rows itself, y and w are small
            self._order = order
            prefetch = prefetch and rows_bytes(x, batch_size) >= THREADED_MIN_BYTES
        elif self._numpy:
            self._order = order
            rows = min(batch_size, self._N)
            floor = THREADED_MIN_BYTES if min_threaded_bytes is None else min_threaded_bytes
            threaded = rows * x[:1].nbytes >= floor
            prefetch = prefetch and threaded
            self._parallel = parallel and threaded and blas.lendable_threads() > 1
            if self._parallel:
                batch_bytes = sum(rows * a[:1].nbytes for a in self._arrays)
                self._per_chunk = min(self.n_batches, max(1, CHUNK_BYTES // max(batch_bytes, 1)))
            n_sets = 2 if prefetch else 1
            pool = {} if buffers is None else buffers
            self._buffers = [[_buffer(pool, (i, j, rows * self._per_chunk, *a.shape[1:]), a.dtype)
                              for j, a in enumerate(self._arrays)] for i in range(n_sets)]
        else:
            xp = array_namespace(x)
            self._order = xp.asarray(order, device=backend.device(x))
            prefetch = False
        self._pool = ThreadPoolExecutor(1) if prefetch else None
        self._pending: tuple[int, Future[Batch]] | None = None

    def get(self, b: int) -> Batch:
        """``(xb, yb, wb)`` of batch ``b`` (``wb`` None without weights)."""
        if self._parallel:
            return self._from_chunk(b)
        if self._pool is None:
            return self._gather(b)
        if self._pending is not None and self._pending[0] == b:
            batch = self._pending[1].result()
        else:
            self._wait()
            batch = self._gather(b)
        self._pending = None
        if b + 1 < self.n_batches:
            self._pending = (b + 1, self._pool.submit(self._gather, b + 1))
        return batch

    def close(self) -> None:
        """Wait for a batch still being gathered and stop the helper thread."""
        if self._pool is not None:
            self._wait()
            self._pool.shutdown(wait=True)
            self._pool = None

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending[1].result()
            self._pending = None

    def _rows(self, first: int, stop: int) -> np.ndarray:
        """The rows of X in batches [first, stop)."""
        return self._order[first * self._B:min(self._N, stop * self._B)]

    def _from_chunk(self, b: int) -> Batch:
        """Batch ``b`` as a view of the chunk that holds it, gathered first if need be."""
        first, stop = self._chunk
        if not first <= b < stop:
            first, stop = b, self._fill(b)
            self._chunk = (first, stop)
        start = (b - first) * self._B
        n = min(self._N, (b + 1) * self._B) - b * self._B
        out = [buf[start:start + n] for buf in self._buffers[0]]
        return out[0], out[1], (out[2] if self._has_w else None)

    def _fill(self, b: int) -> int:
        """Gather batch ``b`` and up to ``per_chunk - 1`` more into the buffers, split over the
        threads BLAS lends (only batch ``b`` where it lends none); the batch after the last."""
        stop = min(self.n_batches, b + self._per_chunk)
        idx = self._rows(b, stop)
        n_threads = blas.loop_threads(len(idx))
        if n_threads == 1:
            stop, idx = b + 1, self._rows(b, b + 1)
        ends = [len(idx) * i // n_threads for i in range(n_threads + 1)]

        _threads.run(lambda part: self._take(idx[part], self._buffers[0], part),
                     [slice(lo, hi) for lo, hi in zip(ends[:-1], ends[1:], strict=True)])
        return stop

    def _take(self, idx: np.ndarray, buffers: list[np.ndarray], rows: slice) -> list[np.ndarray]:
        """Rows ``idx`` of each NumPy array copied into ``rows`` of its buffer; those views."""
        return [np.take(a, idx, axis=0, out=buf[rows], mode="clip")
                for a, buf in zip(self._arrays, buffers, strict=True)]

    def _gather(self, b: int) -> Batch:
        idx = self._rows(b, b + 1)
        if self._source:
            out = [self._arrays[0].take(idx)] + [np.take(a, idx, axis=0) for a in self._arrays[1:]]
        elif self._numpy:
            out = self._take(idx, self._buffers[b % len(self._buffers)], slice(0, len(idx)))
        else:
            xp = array_namespace(self._arrays[0])
            out = [xp.take(a, idx, axis=0) for a in self._arrays]
        return out[0], out[1], (out[2] if self._has_w else None)

    def __enter__(self) -> Batches:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def rows_bytes(x: Any, rows: int) -> int:
    """Bytes of ``rows`` decoded rows of a row source ``x`` (N, D)."""
    return int(min(rows, x.shape[0]) * x.shape[1] * np.dtype(x.dtype).itemsize)


def _buffer(pool: dict[Any, np.ndarray], key: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The array of ``pool`` for ``key`` (set, array, rows, *row shape) and ``dtype``; a new one
    kept there when it has none."""
    buf = pool.get(key)
    if buf is None or buf.dtype != dtype:
        buf = pool[key] = np.empty(key[2:], dtype=dtype)
    return buf
