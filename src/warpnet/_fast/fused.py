"""Compiled single-pass loops (numba, when installed) for the parts of a training step that NumPy
does in several passes or many small calls; the loops are in ``_kernels``.

SGD's update is memory-bound: with momentum and an L2 part it reads the weight, its gradient and
its velocity and writes two of them.  Written as array operations (the plain rule of
``optim.SGD``) it makes four passes over memory; the loop makes one, element by element, exactly
as the formula reads::

    v = rho * v + (g + decay * w)
    w = w - lr * v                      (Nesterov: w - lr * ((g + decay * w) + rho * v))

and, reading each weight anyway, it sums their squares: the value of an L2 penalty, which would
otherwise cost a pass of its own.  RMSProp's and Adam's updates are loops of the same kind, with
the plain rules' flush of subnormal running averages to zero (NumPy makes some ten passes and
temporaries for Adam; ``benchmarks/optimizers.py --section step`` times both).

Softmax cross-entropy on a batch of a few classes is some twenty NumPy calls on (N, C) arrays,
each costing more in its call than in its arithmetic; the loop goes row by row through the same
formula once, checking the scores and labels as it goes.

Batch normalisation in training mode is, in NumPy, some ten passes over the (N, F) batch with
as many temporaries (mean, centring, variance, scaling, the affine map; in backward the two sums
and the formula of dx); the loops make three passes forward and two backward.

ReLU's backward pass ``dout * (y > 0)`` is, in NumPy, a comparison into a boolean mask and a
multiplication that converts the mask back to floats; the loop does both in one pass.

The loss and ReLU loops run on one thread.  An update of a large array (``PARALLEL_MIN_ELEMENTS``
and up) is split over as many threads as NumPy's BLAS uses (``threads``): memory
bandwidth grows with the cores that draw on it.  It first lets BLAS's idle workers go
(``blas.release_idle_threads``), which otherwise spin on those cores; where that cannot be done
safely the update stays on one thread.  The split changes nothing in the result but the order in
which the sum of squares is added up.

numba is optional (the ``fast`` extra, also in ``features`` and ``all``): where the compiled loops
do not run (``warpnet._numba``: numba absent or without a cache folder, ``WARPNET_NUMBA=0``), or
for arrays they do not take, the functions here return None and the caller runs the plain rule
instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _numba
from . import blas
from . import threads as _threads

__all__ = ["adam", "available", "batchnorm_backward", "batchnorm_forward", "penalty_gradient",
           "relu_backward", "rmsprop", "sgd", "softmax_cross_entropy"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# From this many elements on, an update (SGD, RMSProp, Adam) is split over BLAS's threads.
# Measured on 2 cores, step (b) of benchmarks/engine.py: splitting its 3072 x 1024 layer saves
# 1.2 ms, its 1024 x 1024 layer 0.2 ms more; splitting the 3072 x 100 layer of step (a) costs
# 0.24 ms (letting BLAS's workers go and starting them again at the next product costs more than
# the split saves).
PARALLEL_MIN_ELEMENTS = 1 << 20
_COMPILED = "warpnet._fast._kernels"  # the module of compiled loops


def _kernel(name: str) -> Any:
    """The compiled loop (or constant) ``name``, or None where the compiled loops do not run."""
    module = _numba.kernels(_COMPILED)
    return None if module is None else getattr(module, name)


def available() -> bool:
    """Whether the compiled kernels are used on this installation."""
    return _numba.kernels(_COMPILED) is not None


def _fits(a: Any, like: np.ndarray) -> bool:
    return (type(a) is np.ndarray and a.dtype == like.dtype and a.size == like.size
            and a.flags.c_contiguous)


def _updatable(w: Any, g: Any, *state: Any) -> bool:
    """``w`` a writable C-contiguous float32/64 NumPy array, the gradient ``g`` and each state
    array one of the same dtype and size (the state writable too), and the compiled loops at
    hand."""
    if not (type(w) is np.ndarray and w.dtype in _FLOATS and w.flags.c_contiguous
            and w.flags.writeable and _fits(g, w) and available()):
        return False
    for a in state:
        if not (_fits(a, w) and a.flags.writeable):
            return False
    return True


def _update(name: str, arrays: tuple[np.ndarray, ...], args: tuple[Any, ...]) -> float:
    """Run the update loop ``name`` over the flat ``arrays`` (the weights first), split over
    threads for a large array (``_parallel_parts``); the sum of squares it returns."""
    kernel = _kernel(name)
    flat = [a.reshape(-1) for a in arrays]
    size = flat[0].size
    n_parts = _parallel_parts(size)
    # The loops sum the squares in blocks, each in the type of their last argument.  Measured in
    # the steps of benchmarks/engine.py, the same loop over float32 weights with float32 block
    # sums instead of float64 ones: split over two threads, (b)'s updates took 2.6-2.8 ms instead
    # of 3.3-3.6; on one thread, (a)'s 3072 x 100 layer 0.29-0.31 ms instead of 0.18-0.20.
    if n_parts == 1:
        return float(kernel(*flat, *args, 0.0))
    zero = flat[0].dtype.type(0)
    # Parts start at multiples of the loops' blocks: their blocks are the whole array's, so the
    # sum of squares adds up the same block sums (and no two parts share a cache line).
    align = _kernel("BLOCK")
    ends = [size * i // n_parts // align * align for i in range(n_parts)] + [size]
    parts = [slice(start, stop) for start, stop in zip(ends[:-1], ends[1:], strict=True)]
    return float(sum(_threads.run(lambda part: kernel(*(a[part] for a in flat), *args, zero),
                                  parts)))


def sgd(w: Any, g: Any, v: Any | None, lr: float, rho: float, decay: float,
        nesterov: bool) -> float | None:
    """One SGD step on ``w`` in place (velocity ``v`` with momentum ``rho``; ``v`` None without
    momentum).  Returns ``sum(w**2)`` of the weights before the step, summed in the same pass (the
    value of an L2 penalty), or None (nothing done) where the compiled loop does not apply."""
    momentum = v is not None
    if not _updatable(w, g, *((v,) if momentum else ())):
        return None
    t = w.dtype.type
    return _update("sgd", (w, g, v if v is not None else w),
                   (t(lr), t(rho), t(decay), nesterov, momentum))


def rmsprop(w: Any, g: Any, s: Any, lr: float, rho: float, eps: float,
            decay: float) -> float | None:
    """One RMSProp step on ``w`` and its mean square ``s`` in place (as ``optim.RMSProp``, the
    flush of subnormals included); returns ``sum(w**2)`` from before, or None where the compiled
    loop does not apply."""
    if not _updatable(w, g, s):
        return None
    t = w.dtype.type
    return _update("rmsprop", (w, g, s), (t(lr), t(rho), t(1.0 - rho), t(eps), t(decay),
                                          np.finfo(w.dtype).smallest_normal))


def adam(w: Any, g: Any, m: Any, v: Any, lr: float, betas: tuple[float, float], eps: float,
         step: int, decay: float) -> float | None:
    """Adam's step ``step`` (from 1) on ``w`` and its moments ``m`` and ``v`` in place (as
    ``optim.Adam``, the flush of subnormals included); returns ``sum(w**2)`` from before, or None
    where the compiled loop does not apply."""
    if not _updatable(w, g, m, v):
        return None
    t = w.dtype.type
    b1, b2 = betas
    return _update("adam", (w, g, m, v),
                   (t(lr), t(b1), t(1.0 - b1), t(b2), t(1.0 - b2), t(eps), t(1.0 - b1 ** step),
                    t(1.0 - b2 ** step), t(decay), np.finfo(w.dtype).smallest_normal))


def penalty_gradient(kind: str, w: Any, g: Any, strength: float) -> float | None:
    """Add a penalty's gradient into ``g`` in place, ``2 * strength * w`` for ``kind="l2"`` or
    ``strength * sign(w)`` for ``"l1"``, in one pass that also sums ``w**2`` (L2) or ``|w|``
    (L1): the penalty's value over ``strength``.  None (nothing done) where the loop does not
    apply.  As a formula it is three passes and a temporary the size of ``w``."""
    if not _updatable(g, w):  # g is written, w only read
        return None
    coef = 2.0 * strength if kind == "l2" else strength
    return _update(f"{kind}_gradient", (w, g), (w.dtype.type(coef),))


def _parallel_parts(size: int) -> int:
    """How many threads to update ``size`` elements on: for a large array, as many as BLAS lends
    (``blas.loop_threads``; at most one per ``PARALLEL_MIN_ELEMENTS / 2`` elements); else 1."""
    if size < PARALLEL_MIN_ELEMENTS:
        return 1
    return blas.loop_threads(size // (PARALLEL_MIN_ELEMENTS // 2))


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
    status, loss = _kernel("softmax_cross_entropy")(scores, labels, dscores)
    return (scores.dtype.type(loss), dscores) if status == 0 else None


def _apart_or_same(a: np.ndarray, b: np.ndarray) -> bool:
    """An elementwise loop may write ``a`` while reading ``b``: the same array, or no shared memory."""
    return a is b or not np.may_share_memory(a, b)


def relu_backward(dout: Any, y: Any, out: Any | None = None) -> np.ndarray | None:
    """``dout * (y > 0)`` (into ``out`` when it is a writable C-contiguous array of the result's
    shape and dtype, else into a new array); None where the compiled loop does not apply: not
    NumPy, not float32/64 and C-contiguous, or ``y`` of another shape or dtype."""
    if not (type(dout) is np.ndarray and dout.dtype in _FLOATS and dout.flags.c_contiguous
            and type(y) is np.ndarray and y.dtype == dout.dtype and y.shape == dout.shape
            and y.flags.c_contiguous and available()):
        return None
    if not (type(out) is np.ndarray and out.dtype == dout.dtype and out.shape == dout.shape
            and out.flags.c_contiguous and out.flags.writeable and _apart_or_same(out, dout)
            and _apart_or_same(out, y)):
        out = np.empty_like(dout)
    _kernel("relu_backward")(dout.reshape(-1), y.reshape(-1), out.reshape(-1))
    return out


def _matrix(a: Any, dtype: np.dtype, shape: tuple[int, ...], writeable: bool = False) -> bool:
    return (type(a) is np.ndarray and a.dtype == dtype and a.shape == shape and a.flags.c_contiguous
            and (a.flags.writeable or not writeable))


def batchnorm_forward(x: Any, weight: Any, bias: Any, eps: float, x_hat: np.ndarray,
                      out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Training-mode batch normalisation of ``x`` (N, F), N >= 2, into ``x_hat`` and ``out`` (N, F)
    (as ``nn.BatchNorm1d.forward``); returns the batch's ``(mean, var, inv_std)`` (F,) as new
    arrays, or None where the compiled loop does not apply (not NumPy float32/64 C-contiguous
    arrays of one dtype and matching shapes, fewer than two rows, or numba missing)."""
    if not (type(x) is np.ndarray and x.dtype in _FLOATS and x.ndim == 2 and x.shape[0] >= 2
            and x.flags.c_contiguous and available()):
        return None
    F = (x.shape[1],)
    if not (_matrix(weight, x.dtype, F) and _matrix(bias, x.dtype, F)
            and _matrix(x_hat, x.dtype, x.shape, True) and _matrix(out, x.dtype, x.shape, True)
            and not np.may_share_memory(x_hat, x) and not np.may_share_memory(out, x)
            and not np.may_share_memory(out, x_hat)):
        return None
    mean, var, inv_std = (np.empty(F, x.dtype) for _ in range(3))
    _kernel("batchnorm_forward")(x, weight, bias, x.dtype.type(eps), x_hat, out, mean, var, inv_std)
    return mean, var, inv_std


def batchnorm_backward(dout: Any, x_hat: Any, weight: Any, inv_std: Any, dweight: np.ndarray,
                       dbias: np.ndarray, dx: np.ndarray | None) -> bool:
    """The backward pass of ``batchnorm_forward`` (as ``nn.BatchNorm1d.backward`` in training
    mode): ``dweight`` and ``dbias`` (F,) written (not added to), and ``dx`` (N, F) unless it is
    None.  False (nothing written) where the compiled loop does not apply."""
    if not (type(dout) is np.ndarray and dout.dtype in _FLOATS and dout.ndim == 2
            and dout.flags.c_contiguous and available()):
        return False
    t, F = dout.dtype, (dout.shape[1],)
    if not (_matrix(x_hat, t, dout.shape) and _matrix(weight, t, F) and _matrix(inv_std, t, F)
            and _matrix(dweight, t, F, True) and _matrix(dbias, t, F, True)
            and (dx is None or (_matrix(dx, t, dout.shape, True)
                                and not np.may_share_memory(dx, dout)
                                and not np.may_share_memory(dx, x_hat)))):
        return False
    need_dx = dx is not None
    _kernel("batchnorm_backward")(dout, x_hat, weight, inv_std, dweight, dbias,
                                  dx if need_dx else dweight.reshape(1, -1), need_dx)
    return True
