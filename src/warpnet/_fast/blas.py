"""The BLAS that NumPy itself links (OpenBLAS in NumPy's wheels), through ``ctypes``: how many
threads it runs a product on (``num_threads``), and letting its idle worker threads go
(``release_idle_threads``) so that memory-bound loops (an optimizer's update, a minibatch gather)
may use those cores between two matrix products.  The same library, hence the same thread pool,
as NumPy's matrix products.

Where that library is not found (another NumPy build or platform), ``available()`` is False and
nothing is lent: the loops stay on one thread.  ``WARPNET_NUMPY_BLAS=0`` in the environment turns
this off.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
import threading
from typing import Any

import numpy as np

from . import threads as _threads

__all__ = ["available", "gemm_addresses", "lendable_threads", "loop_threads", "num_threads",
           "release_idle_threads", "set_num_threads"]

def _candidates() -> list[str]:
    """OpenBLAS libraries bundled with NumPy's wheels (Linux/Windows ``numpy.libs``, macOS ``.dylibs``)."""
    root = os.path.dirname(np.__file__)
    patterns = [os.path.join(root, "..", "numpy.libs", "*openblas*"),
                os.path.join(root, ".dylibs", "*openblas*")]
    return sorted(path for pattern in patterns for path in glob.glob(pattern))


# NumPy's wheels carry a 64-bit-integer OpenBLAS; its symbols end in "64_" and, in NumPy >= 2,
# start with "scipy_".
_NUM_THREADS_NAMES = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_")


def _open() -> Any:
    """NumPy's OpenBLAS as a ``ctypes`` library, or None."""
    if os.environ.get("WARPNET_NUMPY_BLAS", "1") == "0":
        return None
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if any(getattr(lib, name, None) is not None for name in _NUM_THREADS_NAMES):
            return lib
    return None


def _function(lib: Any, names: tuple[str, ...], restype: Any) -> Any:
    for name in names:
        fn = getattr(lib, name, None) if lib is not None else None
        if fn is not None:
            fn.argtypes, fn.restype = [], restype
            return fn
    return None


_LIB = _open()
_GET_NUM_THREADS = _function(_LIB, _NUM_THREADS_NAMES, ctypes.c_int)
# OpenBLAS's own fork handler calls this: its worker threads exit, and the next threaded call
# starts them again.  Only the pthreads thread server (Linux) is known to behave so.
_SHUTDOWN_THREADS = (_function(_LIB, ("blas_thread_shutdown_",), ctypes.c_int)
                     if sys.platform.startswith("linux") else None)

def _setter(lib: Any) -> Any:
    for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_"):
        fn = getattr(lib, name, None) if lib is not None else None
        if fn is not None:
            fn.argtypes, fn.restype = [ctypes.c_int], None
            return fn
    return None


_SET_NUM_THREADS = _setter(_LIB)


def gemm_addresses() -> tuple[int, int] | None:
    """The addresses of that library's ``cblas_sgemm`` and ``cblas_dgemm`` (64-bit integers), for
    compiled code to call the very products ``np.matmul`` runs; None where they are not found."""
    found = []
    for letter in "sd":
        names = (f"scipy_cblas_{letter}gemm64_", f"cblas_{letter}gemm64_")
        fn = next((getattr(_LIB, name) for name in names if hasattr(_LIB, name)), None)
        if fn is None:
            return None
        found.append(int(ctypes.cast(fn, ctypes.c_void_p).value or 0))
    return (found[0], found[1]) if all(found) else None


def available() -> bool:
    """Whether NumPy's BLAS was found (and can lend its threads) on this installation."""
    return _GET_NUM_THREADS is not None


def num_threads() -> int:
    """The number of threads NumPy's BLAS runs a product on (as ``threadpoolctl`` sets it);
    1 where that BLAS is not found."""
    return max(1, int(_GET_NUM_THREADS())) if _GET_NUM_THREADS is not None else 1


def set_num_threads(n: int) -> bool:
    """Make NumPy's BLAS run its products on ``n`` >= 1 threads (what ``threadpoolctl`` does,
    without looking the libraries up again: a few microseconds); False (nothing done) where that
    BLAS is not found.  Raises ValueError for ``n`` < 1."""
    if n < 1:
        raise ValueError(f"n must be a positive number of threads, got {n}")
    if _SET_NUM_THREADS is None or _GET_NUM_THREADS is None:
        return False
    _SET_NUM_THREADS(int(n))
    return True


def release_idle_threads() -> bool:
    """Make NumPy's BLAS worker threads exit now, freeing their cores; True when done.

    Between matrix products OpenBLAS's workers do not sleep: each spins on its core, waiting for
    the next product, for about 0.1 s.  A loop run on helper threads meanwhile shares those cores
    with the spinning workers and gains nothing (measured: the two-thread SGD update of a 3072 x
    1024 layer right after a product took as long as the one-thread update, 2.6 vs 2.5 ms; with
    the workers gone, 1.6 ms).  The workers come back by themselves at the next threaded call
    (measured: the next 256 x 3072 x 1024 product was no slower).

    A product running on another thread at that moment could lose its work, so this does nothing
    (False) unless every Python thread but the caller is known not to be in BLAS now (the helpers
    of ``threads``, which call it only while their caller waits for them in ``threads.run``; the
    monitor thread of a tqdm progress bar); nor off Linux or where
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
