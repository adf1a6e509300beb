"""SGD's update as one compiled loop over the weights (numba, when installed).

An optimizer step is memory-bound: with momentum and an L2 part it reads the weight, its gradient
and its velocity and writes two of them.  Written as array operations (NumPy, or the BLAS passes
of ``warpnet.blas``) it makes four passes over memory; the loop (``_sgd_numba``) makes one, element by
element, exactly as the formula reads::

    v = rho * v + (g + decay * w)
    w = w - lr * v                      (Nesterov: w - lr * ((g + decay * w) + rho * v))

It runs on one thread (NumPy's BLAS threads own the other cores between matrix products; a second
thread pool would fight them) and, being a single pass, still beats four threaded passes.

numba is optional (the ``fast`` extra, also in ``features`` and ``all``): where the compiled loop
does not run (``warpnet._numba``: numba absent or without a cache folder, ``WARPNET_NUMBA=0``), or
for arrays it does not take (not NumPy, not float32/float64, not C-contiguous, dtypes or sizes that
differ), ``sgd`` returns False and the optimizer runs its array operations instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _numba

__all__ = ["available", "sgd"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_kernel: Any = None  # the compiled loop, once loaded; False where it does not run


def available() -> bool:
    """Whether the compiled update is used on this installation."""
    global _kernel
    if _kernel is None:
        module = _numba.load("warpnet._sgd_numba")
        _kernel = False if module is None else module.sgd
    return _kernel is not False


def _fits(a: Any, like: np.ndarray) -> bool:
    return (type(a) is np.ndarray and a.dtype == like.dtype and a.size == like.size
            and a.flags.c_contiguous)


def sgd(w: Any, g: Any, v: Any | None, lr: float, rho: float, decay: float, nesterov: bool) -> bool:
    """One SGD step on ``w`` in place (velocity ``v`` with momentum ``rho``; ``v`` None without
    momentum); False (nothing done) where the compiled loop does not apply."""
    if not (type(w) is np.ndarray and w.dtype in _FLOATS and w.flags.c_contiguous
            and w.flags.writeable and _fits(g, w) and (v is None or (_fits(v, w) and v.flags.writeable))
            and available()):
        return False
    momentum = v is not None
    t = w.dtype.type
    _kernel(w.reshape(-1), g.reshape(-1), (v if momentum else w).reshape(-1), t(lr), t(rho), t(decay),
            nesterov, momentum)
    return True
