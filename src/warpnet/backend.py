"""Array namespaces, devices, random generators and the few in-place kernels the engine needs.

The engine is written against the Python array API standard: every function asks the arrays it
gets for their namespace (``xp``) and uses only the standard.  The standard has no ``out=``
argument, so a training step would allocate a fresh array for every intermediate result.  The
kernels below take an optional ``out`` array and write into it when the namespace supports that
(NumPy, CuPy and PyTorch do); on any other namespace they fall back to the standard operation and
return a new array.  Callers must always use the returned array, which may or may not be ``out``.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import array_api_compat
import array_api_compat.numpy as _numpy_namespace
import numpy as np
from array_api_compat import is_cupy_array, is_torch_array

from . import blas, fused

__all__ = [
    "array_namespace",
    "device",
    "as_generator",
    "to_numpy",
    "matmul",
    "relu",
    "relu_backward",
    "column_sum",
    "add_scaled",
    "scale",
    "sum_of_squares",
    "row_max",
    "row_sum",
    "blocks",
]

# Elements per block in ``blocks``: a few arrays of this many float32 values fit in a core's L2
# cache together, so a chain of elementwise operations on one block reads memory once.
BLOCK_ELEMENTS = 32_768

Array = Any


# The engine asks every array for its namespace and device many times per training step; for
# NumPy arrays (the common case) these answers are known without array-api-compat's general checks.
def is_numpy_array(x: Any) -> bool:
    """Whether ``x`` is a NumPy array (not a NumPy scalar or another library's array)."""
    return isinstance(x, np.ndarray)


def array_namespace(*arrays: Any) -> Any:
    """The array-API namespace of ``arrays`` (array-api-compat's, with a fast path for NumPy)."""
    if all(isinstance(a, np.ndarray) for a in arrays):
        return _numpy_namespace
    return array_api_compat.array_namespace(*arrays)


def device(x: Any) -> Any:
    """The device of ``x`` ("cpu" for NumPy)."""
    if isinstance(x, np.ndarray):
        return "cpu"
    return array_api_compat.device(x)


def as_generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    """Return a NumPy ``Generator`` from a seed, a generator or ``None`` (fresh entropy).

    Randomness in warpnet is always an explicit argument; the global NumPy state is never used.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise ValueError(f"rng must be a non-negative seed, got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be an int seed, a numpy.random.Generator or None, got {type(rng).__name__}")


def to_numpy(x: Array) -> np.ndarray:
    """Copy any array-API array (NumPy, PyTorch on any device, CuPy, array-api-strict) to NumPy."""
    if is_numpy_array(x):
        return np.asarray(x)
    if is_torch_array(x):
        return x.detach().cpu().numpy()
    if is_cupy_array(x):
        return x.get()
    if isinstance(x, (int, float, list, tuple)):
        return np.asarray(x)
    return np.from_dlpack(x) if hasattr(x, "__dlpack__") else np.asarray(x)


def _native(x: Array) -> Any | None:
    """The array library whose functions accept ``out=`` for ``x``, or None."""
    if is_numpy_array(x):
        return np
    if is_cupy_array(x):
        import cupy

        return cupy
    if is_torch_array(x):
        import torch

        return torch
    return None


def _fits(out: Array | None, shape: tuple[int, ...], dtype: Any) -> bool:
    return out is not None and tuple(out.shape) == tuple(shape) and out.dtype == dtype


def matmul(a: Array, b: Array, out: Array | None = None) -> Array:
    """``a @ b``, written into ``out`` when it has the result's shape and dtype."""
    lib = _native(a)
    if lib is not None and type(a) is type(b) and _fits(out, (a.shape[0], b.shape[1]), a.dtype):
        return lib.matmul(a, b, out=out)
    return a @ b


def relu(x: Array, out: Array | None = None) -> Array:
    """``max(x, 0)``, written into ``out`` when possible."""
    if is_numpy_array(x):
        return np.maximum(x, 0, out=out if _fits(out, x.shape, x.dtype) else None)
    xp = array_namespace(x)
    return xp.maximum(x, xp.zeros_like(x))


def relu_backward(dout: Array, y: Array, scratch: Array | None, out: Array | None = None) -> Array:
    """``dout * (y > 0)``; ``scratch`` is a reusable boolean buffer for the mask (NumPy only)."""
    if is_numpy_array(dout) and is_numpy_array(y):
        compiled = fused.relu_backward(dout, y, out)  # one pass, where numba runs
        if compiled is not None:
            return compiled
        mask = np.greater(y, 0, out=scratch) if _fits(scratch, y.shape, np.bool_) else y > 0
        return np.multiply(dout, mask, out=out if _fits(out, dout.shape, dout.dtype) else None)
    xp = array_namespace(dout, y)
    return xp.where(y > 0, dout, xp.zeros_like(dout))


# Temporaries up to this many elements are cheaper to allocate than to look up in ``_scratch``.
SCRATCH_MIN_ELEMENTS = 4096

_per_thread = threading.local()


def _scratch(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A NumPy array of ``shape`` to overwrite freely: a view of this thread's buffer for ``dtype``,
    grown to the largest size asked for (so repeated calls allocate nothing)."""
    buffers = _per_thread.__dict__.setdefault("scratch", {})
    size = math.prod(shape)
    buffer = buffers.get(dtype)
    if buffer is None or buffer.size < size:
        buffer = buffers[dtype] = np.empty(size, dtype)
    return buffer[:size].reshape(shape)


def add_scaled(y: Array, alpha: float, x: Array) -> Array:
    """``y += alpha * x`` in place and return ``y``, with no temporary array on NumPy.

    Large NumPy arrays go through NumPy's own BLAS (``warpnet.blas``: one pass, on all of BLAS's
    threads)."""
    if blas.axpy(alpha, x, y):
        return y
    if alpha == 1.0:
        y += x
    elif is_numpy_array(x) and x.size > SCRATCH_MIN_ELEMENTS:
        y += np.multiply(x, alpha, out=_scratch(x.shape, x.dtype))
    else:
        y += alpha * x
    return y


def scale(y: Array, beta: float) -> Array:
    """``y *= beta`` in place and return ``y`` (in NumPy's BLAS where it can, as ``add_scaled``)."""
    if not blas.scal(beta, y):
        y *= beta
    return y


def row_max(x: Array) -> Array:
    """Maximum of each row of a 2-D array, shape (N, 1).

    NumPy reduces along the last axis one row at a time (about 60 ns a row for ten classes);
    reducing a transposed copy along its first axis runs down whole rows at once, ~4x faster.
    """
    if is_numpy_array(x) and x.ndim == 2:
        return np.max(np.ascontiguousarray(x.T), axis=0).reshape(-1, 1)
    return array_namespace(x).max(x, axis=1, keepdims=True)


def row_sum(x: Array) -> Array:
    """Sum of each row of a 2-D float array, shape (N, 1): a matrix-vector product with ones on
    NumPy (5x faster than ``sum(axis=1)`` for a few columns, see ``row_max``)."""
    if is_numpy_array(x) and x.ndim == 2 and x.dtype.kind == "f":
        return x @ np.ones((x.shape[1], 1), x.dtype)
    return array_namespace(x).sum(x, axis=1, keepdims=True)


def column_sum(x: Array) -> Array:
    """Sum of each column of a 2-D array, shape (M,): a bias's gradient from the batch's rows.
    NumPy's own reduction is called directly (the namespace's ``sum`` wraps it in a Python
    function that costs more than the sum of a small batch)."""
    if is_numpy_array(x):
        return np.add.reduce(x, axis=0)
    return array_namespace(x).sum(x, axis=0)


def sum_of_squares(w: Array) -> Array:
    """``sum(w**2)`` without a temporary of w's size on NumPy."""
    if is_numpy_array(w):
        flat = w.reshape(-1)
        return np.dot(flat, flat)
    xp = array_namespace(w)
    return xp.sum(w * w)


def blocks(*arrays: Array, size: int = BLOCK_ELEMENTS):
    """Yield matching pieces of same-shaped arrays, for a chain of in-place elementwise updates.

    NumPy arrays that are C-contiguous and larger than ``size`` are cut into flat views of
    ``size`` elements: applying the whole chain to one cache-sized piece before the next reads
    each array from memory once instead of once per operation.  Anything else is yielded whole.
    Every array must be writable through the views (they alias the originals).
    """
    first = arrays[0]
    if (not is_numpy_array(first) or first.size <= size
            or not all(is_numpy_array(a) and a.flags.c_contiguous and a.shape == first.shape
                       for a in arrays)):
        yield arrays
        return
    flat = [a.reshape(-1) for a in arrays]
    for start in range(0, first.size, size):
        yield tuple(f[start:start + size] for f in flat)
