"""Compiled single-pass kernels (numba, when installed) for two parts of a training step that
NumPy does in many passes or many small calls.

SGD's update is memory-bound: with momentum and an L2 part it reads the weight, its gradient and
its velocity and writes two of them.  Written as array operations (NumPy, or the BLAS passes of
``warpnet.blas``) it makes four passes over memory; the loop (``_sgd_numba``) makes one, element
by element, exactly as the formula reads::

    v = rho * v + (g + decay * w)
    w = w - lr * v                      (Nesterov: w - lr * ((g + decay * w) + rho * v))

and, reading each weight anyway, it sums their squares: the value of an L2 penalty, which would
otherwise cost a pass of its own (``Optimizer.step(sum_squares=True)``).

Softmax cross-entropy on a batch of a few classes is some twenty NumPy calls on (N, C) arrays,
each costing more in its call than in its arithmetic; the loop (``_softmax_numba``) goes row by row
through the same formula once, checking the scores and labels as it goes.

Both run on one thread (NumPy's BLAS threads own the other cores between matrix products; a
second thread pool would fight them).

numba is optional (the ``fast`` extra, also in ``features`` and ``all``): where the compiled loops
do not run (``warpnet._numba``: numba absent or without a cache folder, ``WARPNET_NUMBA=0``), or
for arrays they do not take, the functions here return None and the caller runs its
array operations instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _numba

__all__ = ["available", "sgd", "softmax_cross_entropy"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_kernels: Any = None  # the loaded kernel modules (name -> module), once looked for; False: none


def _kernel(name: str) -> Any:
    global _kernels
    if _kernels is None:
        sgd_module = _numba.load("warpnet._sgd_numba")
        softmax_module = _numba.load("warpnet._softmax_numba")
        _kernels = False if sgd_module is None or softmax_module is None else {
            "sgd": sgd_module.sgd, "softmax": softmax_module.softmax_cross_entropy}
    return _kernels and _kernels[name]


def available() -> bool:
    """Whether the compiled kernels are used on this installation."""
    return _kernel("sgd") is not False


def _fits(a: Any, like: np.ndarray) -> bool:
    return (type(a) is np.ndarray and a.dtype == like.dtype and a.size == like.size
            and a.flags.c_contiguous)


def sgd(w: Any, g: Any, v: Any | None, lr: float, rho: float, decay: float,
        nesterov: bool) -> float | None:
    """One SGD step on ``w`` in place (velocity ``v`` with momentum ``rho``; ``v`` None without
    momentum).  Returns ``sum(w**2)`` of the weights before the step, summed in the same pass (the
    value of an L2 penalty), or None (nothing done) where the compiled loop does not apply."""
    if not (type(w) is np.ndarray and w.dtype in _FLOATS and w.flags.c_contiguous
            and w.flags.writeable and _fits(g, w) and (v is None or (_fits(v, w) and v.flags.writeable))
            and available()):
        return None
    momentum = v is not None
    t = w.dtype.type
    return float(_kernel("sgd")(w.reshape(-1), g.reshape(-1), (v if momentum else w).reshape(-1),
                                t(lr), t(rho), t(decay), nesterov, momentum))


def softmax_cross_entropy(scores: Any, labels: Any) -> tuple[Any, np.ndarray] | None:
    """``(mean loss, dscores)`` of softmax cross-entropy (as ``nn.SoftmaxCrossEntropy``): the loss
    a NumPy scalar and ``dscores`` a new (N, C) array, both in the scores' dtype.  None where the
    compiled loop does not apply: not NumPy, scores not a non-empty C-contiguous 2-D float32/64
    array, labels not an (N,) integer array, or a score that is not finite or a label outside
    [0, C) (the caller's array path then raises, naming the problem)."""
    if not (type(scores) is np.ndarray and scores.dtype in _FLOATS and scores.ndim == 2
            and scores.shape[0] > 0 and scores.flags.c_contiguous
            and type(labels) is np.ndarray and labels.dtype.kind in "iu"
            and labels.shape == scores.shape[:1] and available()):
        return None
    dscores = np.empty_like(scores)
    status, loss = _kernel("softmax")(scores, labels, dscores)
    return (scores.dtype.type(loss), dscores) if status == 0 else None
