"""Optional parts of the command line and the extra that installs each one.

A command that needs an optional package calls ``require(extra, what)`` before it does any work,
so a missing package costs one line and exit status 2 instead of a traceback halfway through a
run.  ``extra_for_module`` maps a missing module back to its extra for the error handler of
``warpnet.cli`` (a safety net for imports nobody checked beforehand).
"""

from __future__ import annotations

import importlib.util

from ..errors import UsageError

# extra -> the modules it installs that warpnet imports (top-level names).
EXTRAS: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "dask": ("dask", "dask.array", "distributed", "zarr"),
    "playground": ("starlette", "uvicorn", "websockets"),
}


def install_line(extra: str) -> str:
    """The shell command that installs ``extra``: ``pip install "warpnet[dask]"``."""
    return f'pip install "warpnet[{extra}]"'


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (found without importing them).

    Raises:
        ValueError: ``extra`` is not one of ``EXTRAS``.
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; expected one of {sorted(EXTRAS)}")
    missing = []
    for module in EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a parent package is missing, or a broken module
            found = False
        if not found:
            missing.append(module)
    return missing


def require(extra: str, what: str) -> None:
    """Raise ``UsageError`` (exit 2, one line) when a module of ``extra`` is missing.

    Args:
        extra: a key of ``EXTRAS`` (``"torch"``, ``"dask"``, ``"playground"``).
        what: the feature asking, as the user named it (``"warpnet playground"``, ``"--scheduler"``).

    Raises:
        UsageError: ``WHAT needs NAME, which is not installed: pip install "warpnet[EXTRA]"``.
        ValueError: ``extra`` is unknown.
    """
    missing = missing_modules(extra)
    if missing:
        names = sorted({m.split(".")[0] for m in missing})
        verb = "is" if len(names) == 1 else "are"
        raise UsageError(f"{what} needs {', '.join(names)}, which {verb} not installed: "
                         f"{install_line(extra)}")


def extra_for_module(module: str | None) -> str | None:
    """The extra that installs ``module`` (a missing import's name), or None."""
    if not module:
        return None
    top = module.split(".")[0]
    for extra, modules in EXTRAS.items():
        if any(m.split(".")[0] == top for m in modules):
            return extra
    return None
