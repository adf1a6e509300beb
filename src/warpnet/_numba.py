"""Whether warpnet's optional compiled kernels run, and loading them.

The kernels (``features._hog_numba``, ``_fast._kernels``, ...) are modules that import numba at
their top; each has a NumPy twin that runs where they do not: numba is not installed, it finds no
writable folder for its compilation cache (it raises RuntimeError while decorating), or
``WARPNET_NUMBA=0`` is set in the environment before their first use.

Their callers ask ``kernels(name)`` at each use: the module is imported on the first ask (importing
numba takes a noticeable fraction of a second, so a program that never uses them never pays it),
and the answer is kept per name. ``numpy_path()`` makes callers take the NumPy twin within a block,
for tests and benchmarks that compare both paths.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

# The answer of ``load`` per module name, once asked.
_loaded: dict[str, ModuleType | None] = {}
# The module names of the ``numpy_path`` blocks now open, innermost last; () stands for all.
_forced: list[tuple[str, ...]] = []


def load(module: str) -> ModuleType | None:
    """The compiled-kernel module named ``module`` (absolute), or None where it cannot run.

    Looks again at every call; ``kernels`` keeps the answer.
    """
    if os.environ.get("WARPNET_NUMBA", "1") == "0":
        return None
    try:
        return importlib.import_module(module)
    except (ImportError, RuntimeError):
        return None


def kernels(module: str) -> ModuleType | None:
    """The compiled-kernel module named ``module`` (absolute, e.g. ``"warpnet.features._hog_numba"``),
    or None where the caller takes its NumPy path.

    Loaded on the first call for that name (``load``) and kept; None within a ``numpy_path``
    block that names it or names nothing.
    """
    if _forced and any(not names or module in names for names in _forced):
        return None
    try:
        return _loaded[module]
    except KeyError:
        found = _loaded[module] = load(module)
        return found


@contextmanager
def numpy_path(*modules: str) -> Iterator[None]:
    """Within the block, ``kernels`` answers None for the named modules (all of them if none is
    named), so their callers run the NumPy path; blocks nest.

    Raises:
        TypeError: a module name is not a string.
    """
    for name in modules:
        if not isinstance(name, str):
            raise TypeError(f"numpy_path takes module names (str), got {type(name).__name__}")
    _forced.append(modules)
    try:
        yield
    finally:
        _forced.remove(modules)
