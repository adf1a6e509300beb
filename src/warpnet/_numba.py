"""Whether warpnet's optional compiled kernels run, and loading them.

The kernels (``features._hog_numba``, ``_fast._kernels``) are modules that import numba at their top;
each has a NumPy twin that runs where they do not: numba is not installed, it finds no writable
folder for its compilation cache (it raises RuntimeError while decorating), or ``WARPNET_NUMBA=0``
is set in the environment.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def load(module: str) -> ModuleType | None:
    """The compiled-kernel module named ``module`` (absolute), or None where it cannot run."""
    if os.environ.get("WARPNET_NUMBA", "1") == "0":
        return None
    try:
        return importlib.import_module(module)
    except (ImportError, RuntimeError):
        return None
