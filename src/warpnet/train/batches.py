"""Shuffled minibatches, gathered into reused buffers (optionally one batch ahead on a thread).

Gathering the rows of a shuffled minibatch is the one cost of an epoch that a plain matrix
multiply benchmark does not have.  On NumPy the rows are copied with ``np.take(..., out=buffer)``
into buffers allocated once per epoch: ``mode="clip"`` lets NumPy write straight into ``out``
(``"raise"`` would stage the result in a temporary) and is safe because the order is a
permutation of valid rows.  A batch that fits the CPU cache is gathered and then multiplied while
it is still there.

With ``prefetch=True`` the next batch is gathered on a helper thread while the model works on the
current one (NumPy releases the GIL while it copies), into the second of two buffer sets.  That
pays when the step leaves a core idle (elementwise NumPy work runs on one core); the Trainer turns
it off where NumPy's BLAS is at hand (``warpnet.blas``), with which it measured no gain.  The
batches are the same either way: prefetching changes timing, never results.

Other array namespaces (PyTorch, CuPy, ...) use ``xp.take`` on the device, without buffers.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from .. import backend
from ..backend import Array, array_namespace

__all__ = ["Batches"]

Batch = tuple[Array, Array, Array | None]

# Below this many bytes per batch, handing the copy to a thread costs more than the copy itself.
PREFETCH_MIN_BYTES = 256 * 1024


class Batches:
    """Minibatch ``b`` of an epoch: rows ``order[b * B:(b + 1) * B]`` of X, y and the weights.

    Args:
        x, y, w: (N, ...) arrays of one namespace (``w`` may be None).
        order: (N,) NumPy permutation of the rows for this epoch.
        batch_size: B; the last batch may be smaller.
        prefetch: gather batch b + 1 on a thread while batch b is used (NumPy only, and only
            when a batch of X holds at least ``min_prefetch_bytes``, by default
            ``PREFETCH_MIN_BYTES``).

    Batches must be requested in increasing order; a returned batch stays valid until the next
    request (its buffers are then reused).  Call ``close()`` when done (also after an error).
    """

    def __init__(self, x: Array, y: Array, w: Array | None, order: np.ndarray, batch_size: int,
                 *, prefetch: bool = False, min_prefetch_bytes: int | None = None) -> None:
        self._arrays = [a for a in (x, y, w) if a is not None]
        self._has_w = w is not None
        self._N = int(x.shape[0])
        self._B = batch_size
        self.n_batches = -(-self._N // batch_size)
        self._numpy = backend.is_numpy_array(x)
        if self._numpy:
            self._order = order
            rows = min(batch_size, self._N)
            floor = PREFETCH_MIN_BYTES if min_prefetch_bytes is None else min_prefetch_bytes
            prefetch = prefetch and rows * x[:1].nbytes >= floor
            n_sets = 2 if prefetch else 1
            self._buffers = [[np.empty((rows, *a.shape[1:]), dtype=a.dtype) for a in self._arrays]
                             for _ in range(n_sets)]
        else:
            xp = array_namespace(x)
            self._order = xp.asarray(order, device=backend.device(x))
        self._pool = ThreadPoolExecutor(1) if (prefetch and self._numpy) else None
        self._pending: tuple[int, Future[Batch]] | None = None

    def get(self, b: int) -> Batch:
        """``(xb, yb, wb)`` of batch ``b`` (``wb`` None without weights)."""
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

    def _gather(self, b: int) -> Batch:
        start, stop = b * self._B, min(self._N, (b + 1) * self._B)
        idx = self._order[start:stop]
        if self._numpy:
            buffers = self._buffers[b % len(self._buffers)]
            out = [np.take(a, idx, axis=0, out=buf[:len(idx)], mode="clip")
                   for a, buf in zip(self._arrays, buffers, strict=True)]
        else:
            xp = array_namespace(self._arrays[0])
            out = [xp.take(a, idx, axis=0) for a in self._arrays]
        return out[0], out[1], (out[2] if self._has_w else None)

    def __enter__(self) -> Batches:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
