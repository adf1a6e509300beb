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

The same library tells how many threads it runs on (``num_threads``) and can be asked to let its
idle worker threads go (``release_idle_threads``), so that elementwise loops may use those cores
between two matrix products.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
import threading
from typing import Any

import numpy as np

from . import _threads

__all__ = ["available", "axpy", "lendable_threads", "loop_threads", "num_threads",
           "release_idle_threads", "scal"]

_TYPES = {np.dtype(np.float32): ("s", ctypes.c_float), np.dtype(np.float64): ("d", ctypes.c_double)}


def _candidates() -> list[str]:
    """OpenBLAS libraries bundled with NumPy's wheels (Linux/Windows ``numpy.libs``, macOS ``.dylibs``)."""
    root = os.path.dirname(np.__file__)
    patterns = [os.path.join(root, "..", "numpy.libs", "*openblas*"),
                os.path.join(root, ".dylibs", "*openblas*")]
    return sorted(path for pattern in patterns for path in glob.glob(pattern))


def _open() -> Any:
    """NumPy's OpenBLAS as a ``ctypes`` library with cblas routines, or None."""
    if os.environ.get("WARPNET_NUMPY_BLAS", "1") == "0":
        return None
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if _routines(lib):
            return lib
    return None


def _routines(lib: Any) -> dict[tuple[str, Any], Any]:
    """``{(routine, dtype): function}`` for axpy and scal in float32 and float64, or ``{}``."""
    if lib is None:
        return {}
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


def _function(lib: Any, names: tuple[str, ...], restype: Any) -> Any:
    for name in names:
        fn = getattr(lib, name, None) if lib is not None else None
        if fn is not None:
            fn.argtypes, fn.restype = [], restype
            return fn
    return None


_LIB = _open()
_ROUTINES = _routines(_LIB)
_GET_NUM_THREADS = _function(_LIB, ("scipy_openblas_get_num_threads64_",
                                    "openblas_get_num_threads64_"), ctypes.c_int)
# OpenBLAS's own fork handler calls this: its worker threads exit, and the next threaded call
# starts them again.  Only the pthreads thread server (Linux) is known to behave so.
_SHUTDOWN_THREADS = (_function(_LIB, ("blas_thread_shutdown_",), ctypes.c_int)
                     if sys.platform.startswith("linux") else None)

# Below these sizes NumPy's own single-threaded loop is as fast or faster (the call through
# ctypes costs a few microseconds and BLAS runs small vectors on one thread): measured with
# float32 on 2 cores, axpy wins from 64 Ki elements on, scal only from about 1 Mi.
MIN_SIZE = {"axpy": 1 << 16, "scal": 1 << 20}


def available() -> bool:
    """Whether ``axpy`` and ``scal`` run in NumPy's BLAS on this installation."""
    return bool(_ROUTINES)


def num_threads() -> int:
    """The number of threads NumPy's BLAS runs a product on (as ``threadpoolctl`` sets it);
    1 where that BLAS is not found."""
    return max(1, int(_GET_NUM_THREADS())) if _GET_NUM_THREADS is not None else 1


def release_idle_threads() -> bool:
    """Make NumPy's BLAS worker threads exit now, freeing their cores; True when done.

    Between matrix products OpenBLAS's workers do not sleep: each spins on its core, waiting for
    the next product, for about 0.1 s.  A loop run on helper threads meanwhile shares those cores
    with the spinning workers and gains nothing (measured: the two-thread SGD update of a 3072 x
    1024 layer right after a product took as long as the one-thread update, 2.6 vs 2.5 ms; with
    the workers gone, 1.6 ms).  The workers come back by themselves at the next threaded call
    (measured: the next 256 x 3072 x 1024 product was no slower).

    A product running on another thread at that moment could lose its work, so this does nothing
    (False) unless every Python thread but the caller is known never to call BLAS (the helpers of
    ``warpnet._threads``, the monitor thread of a tqdm progress bar); nor off Linux or where
    NumPy's BLAS is not OpenBLAS.  (A thread started outside Python that calls NumPy without ever
    being known to ``threading`` would not be seen: run such a program with
    ``threadpoolctl.threadpool_limits(1)`` around training, or ``WARPNET_NUMPY_BLAS=0``.)
    """
    if _SHUTDOWN_THREADS is None:
        return False
    caller, helpers = threading.current_thread(), _threads.helper_threads()
    if any(t is not caller and t not in helpers and not _tqdm_monitor(t)
           for t in threading.enumerate()):
        return False
    _SHUTDOWN_THREADS()
    return True


def lendable_threads() -> int:
    """The most threads ``loop_threads`` can lend: as many as BLAS runs a product on and this
    process has cores for."""
    return min(num_threads(), _threads.usable_cores())


def loop_threads(wanted: int) -> int:
    """How many threads a memory-bound loop (an optimizer's update, a minibatch gather) may run on
    now, at most ``wanted`` and ``lendable_threads()``, once BLAS's idle workers have been let go
    (``release_idle_threads``); 1 where they cannot be (or where one thread is all there is)."""
    n = min(wanted, lendable_threads())
    return n if n > 1 and release_idle_threads() else 1


def _tqdm_monitor(thread: threading.Thread) -> bool:
    """Whether ``thread`` is the thread tqdm starts to watch its bars (it only reads clocks)."""
    return type(thread).__name__ == "TMonitor" and type(thread).__module__ == "tqdm._monitor"


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
