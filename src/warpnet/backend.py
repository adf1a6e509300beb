"""Array namespaces, devices and random generators.

The engine is written against the Python array API standard: every function asks the arrays it
gets for their namespace (``xp``) and uses only the standard (NumPy, PyTorch, CuPy,
array-api-strict).  Buffers, ``out=`` arguments and compiled loops live in ``warpnet._fast``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import array_api_compat
import array_api_compat.numpy as _numpy_namespace
import numpy as np
from array_api_compat import is_cupy_array, is_torch_array

__all__ = ["array_namespace", "device", "as_generator", "to_numpy", "is_numpy_array"]

Array = Any


# The engine asks every array for its namespace and device many times per training step; for
# NumPy arrays (the common case) these answers are known without array-api-compat's general checks.
def is_numpy_array(x: Any) -> bool:
    """Whether ``x`` is a NumPy array (not a NumPy scalar or another library's array)."""
    return isinstance(x, np.ndarray)


def all_numpy(arrays: Iterable[Any]) -> bool:
    """Whether every one of ``arrays`` is exactly a NumPy array (what warpnet's compiled loops
    take; a subclass such as ``np.memmap`` goes to the formulas)."""
    return all(type(a) is np.ndarray for a in arrays)


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
