"""Two level-1 BLAS routines, ``axpy`` (``y += alpha * x``) and ``scal`` (``x *= alpha``), from the
BLAS that NumPy itself links.

An optimizer step is a few elementwise passes over every weight, its gradient and its state:
memory-bound work.  NumPy runs each pass on one core; OpenBLAS (the BLAS in NumPy's wheels) runs
``axpy`` and ``scal`` on all of its threads.  NumPy has no Python entry point for them, so they are
called here through ``ctypes`` -- in the same library, hence the same thread pool, as NumPy's
matrix products (a second OpenBLAS, such as SciPy's, would fight that pool for the cores).

Where that library is not found (another NumPy build or platform) or the arrays do not fit (not
NumPy, not float32/float64, not C-contiguous, different dtypes or sizes, partly overlapping, too
small to gain), the functions return False and the caller does the same arithmetic with NumPy.
``WARPNET_NUMPY_BLAS=0`` in the environment turns this path off.
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any

import numpy as np

__all__ = ["available", "axpy", "scal"]

_TYPES = {np.dtype(np.float32): ("s", ctypes.c_float), np.dtype(np.float64): ("d", ctypes.c_double)}


def _candidates() -> list[str]:
    """OpenBLAS libraries bundled with NumPy's wheels (Linux/Windows ``numpy.libs``, macOS ``.dylibs``)."""
    root = os.path.dirname(np.__file__)
    patterns = [os.path.join(root, "..", "numpy.libs", "*openblas*"),
                os.path.join(root, ".dylibs", "*openblas*")]
    return sorted(path for pattern in patterns for path in glob.glob(pattern))


def _load() -> dict[tuple[str, Any], Any]:
    """``{(routine, dtype): function}`` for axpy and scal in float32 and float64, or ``{}``."""
    if os.environ.get("WARPNET_NUMPY_BLAS", "1") == "0":
        return {}
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        # NumPy's wheels carry a 64-bit-integer OpenBLAS; its cblas symbols end in "64_" and, in
        # NumPy >= 2, start with "scipy_".
        for prefix in ("scipy_cblas_", "cblas_"):
            found = {}
            for dtype, (letter, real) in _TYPES.items():
                axpy = getattr(lib, f"{prefix}{letter}axpy64_", None)
                scal = getattr(lib, f"{prefix}{letter}scal64_", None)
                if axpy is None or scal is None:
                    break
                axpy.argtypes = [ctypes.c_int64, real, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                                 ctypes.c_int64]
                scal.argtypes = [ctypes.c_int64, real, ctypes.c_void_p, ctypes.c_int64]
                axpy.restype = scal.restype = None
                found["axpy", dtype], found["scal", dtype] = axpy, scal
            else:
                return found
    return {}


_ROUTINES = _load()

# Below these sizes NumPy's own single-threaded loop is as fast or faster (the call through
# ctypes costs a few microseconds and BLAS runs small vectors on one thread): measured with
# float32 on 2 cores, axpy wins from 64 Ki elements on, scal only from about 1 Mi.
MIN_SIZE = {"axpy": 1 << 16, "scal": 1 << 20}


def available() -> bool:
    """Whether ``axpy`` and ``scal`` run in NumPy's BLAS on this installation."""
    return bool(_ROUTINES)


def _large_writable_contiguous(a: Any, routine: str) -> bool:
    return (type(a) is np.ndarray and a.size >= MIN_SIZE[routine] and a.flags.c_contiguous
            and a.flags.writeable)


def axpy(alpha: float, x: Any, y: Any) -> bool:
    """``y += alpha * x`` in place, in NumPy's BLAS; False (nothing done) where it does not apply.

    Applies to C-contiguous NumPy float32/float64 arrays of the same dtype and size, ``y``
    writable, ``x`` either ``y`` itself or not overlapping it.
    """
    if (not _large_writable_contiguous(y, "axpy") or type(x) is not np.ndarray or x.dtype != y.dtype
            or x.size != y.size or not x.flags.c_contiguous):
        return False
    fn = _ROUTINES.get(("axpy", y.dtype))
    if fn is None:
        return False
    if x.ctypes.data != y.ctypes.data and np.may_share_memory(x, y):
        return False
    fn(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    return True


def scal(alpha: float, x: Any) -> bool:
    """``x *= alpha`` in place, in NumPy's BLAS; False (nothing done) where it does not apply
    (see ``axpy``)."""
    if not _large_writable_contiguous(x, "scal"):
        return False
    fn = _ROUTINES.get(("scal", x.dtype))
    if fn is None:
        return False
    fn(x.size, alpha, x.ctypes.data, 1)
    return True
