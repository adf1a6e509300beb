"""The ``warpnet`` command: ``train``, ``eval``, ``predict``, ``features``, ``figures``,
``playground`` and ``bench``, one module each.

Every failure ends as one line on stderr, ``warpnet: error: ...``, and an exit status: 2 for a
usage error (bad flag, unknown name, out-of-range value), 1 for a data or file problem, 130 when
interrupted (after training saved its checkpoint).  Set ``WARPNET_DEBUG=1`` to see the traceback
instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..errors import DataError, UsageError
from . import _bench, _eval, _extras, _features, _figures, _playground, _predict, _train

__all__ = ["main", "build_parser"]

_COMMANDS = (_train, _eval, _predict, _features, _figures, _playground, _bench)
EXIT_DATA, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors become ``UsageError`` (one line, exit 2) instead of a
    usage dump and ``sys.exit``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """The full ``warpnet`` parser; each sub-command stores its handler as ``args.handler``."""
    parser = _Parser(prog="warpnet", description="Image classification with neural networks, "
                     "every step visible.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"warpnet {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in _COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success)."""
    try:
        args = build_parser().parse_args(argv)
        if not hasattr(args, "handler"):
            names = ", ".join(c.NAME for c in _COMMANDS)
            raise UsageError(f"choose a command: {names} (see 'warpnet --help')")
        return int(args.handler(args))
    except KeyboardInterrupt as exc:
        if os.environ.get("WARPNET_DEBUG"):
            raise
        _say(str(exc) or "interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the one place that turns every failure into a line
        if os.environ.get("WARPNET_DEBUG"):
            raise
        code, message = _describe(exc)
        _say(message)
        return code


def _describe(exc: Exception) -> tuple[int, str]:
    """Exit status and message for an exception."""
    if isinstance(exc, UsageError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, DataError | ValueError):
        return EXIT_DATA, str(exc)
    if isinstance(exc, OSError):
        # OSError's str() is "[Errno 13] Permission denied: 'x'"; drop the errno noise.
        if exc.strerror and exc.filename is not None:
            return EXIT_DATA, f"{exc.strerror}: {str(exc.filename)!r}"
        return EXIT_DATA, str(exc) or type(exc).__name__
    if isinstance(exc, FloatingPointError):
        return EXIT_DATA, f"training diverged: {exc} (try a smaller --lr)"
    if isinstance(exc, ImportError):
        # A module of an optional part that is absent (not one present but broken): a usage
        # matter, the fix is one install line.
        extra = _extras.extra_for_module(exc.name) if isinstance(exc, ModuleNotFoundError) else None
        if extra is not None:
            return EXIT_USAGE, f"{exc.name} is not installed: {_extras.install_line(extra)}"
        return EXIT_DATA, f"a dependency is missing: {exc}"
    if isinstance(exc, MemoryError):
        return EXIT_DATA, "out of memory (try a smaller --batch-size or less data)"
    return EXIT_DATA, (f"unexpected {type(exc).__name__}: {exc} "
                       "(set WARPNET_DEBUG=1 to see the traceback)")


def _say(message: str) -> None:
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    print(f"warpnet: error: {line}", file=sys.stderr, flush=True)
