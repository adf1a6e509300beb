"""Argument types that reject out-of-range values while parsing, so a bad flag is a usage error
(exit 2) named after the flag, before any data is read."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _number(text: str, cast: Callable[[str], float]) -> float:
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (e.g. a seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (learning rate)."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (regularization strength)."""
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def fraction(text: str) -> float:
    """A number in [0, 1) (validation fraction, dropout, momentum)."""
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def hidden_sizes(text: str) -> list[int]:
    """Comma-separated hidden-layer widths, e.g. ``100`` or ``512,256``."""
    parts = [p.strip() for p in text.split(",")]
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers such as 100 or 512,256, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"every hidden size must be >= 1, got {text!r}")
    return sizes


def port(text: str) -> int:
    """A TCP port, 0..65535 (0: any free port)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be in 0..65535, got {value}")
    return value


def graph_spec(text: str) -> str:
    """A random-graph family with its node count and parameters, e.g. ``ws:32,4,0.75`` (Watts-
    Strogatz, 32 nodes, k=4, p=0.75), ``er:32,0.2`` or ``ba:32,5``; omitted values take the
    paper's defaults.  Checked here (ranges included), returned unchanged."""
    parse_graph_spec(text)
    return text


def parse_graph_spec(text: str) -> tuple[str, int, dict[str, float]]:
    """``(family, n_nodes, params)`` of a ``graph_spec``; ArgumentTypeError naming what is wrong."""
    from ..nn import GRAPHS
    from ..nn.wired import MAX_NODES, check_n_nodes

    family, colon, rest = text.partition(":")
    if family not in GRAPHS:
        raise argparse.ArgumentTypeError(f"expected FAMILY:NODES,PARAMS with FAMILY one of "
                                         f"{', '.join(GRAPHS.names())}, got {text!r}")
    if colon and not rest.strip():
        raise argparse.ArgumentTypeError(f"expected the number of nodes after {family + ':'!r}, e.g. "
                                         f"{family}:32, got {text!r}")
    names = list(GRAPHS.get(family).defaults)
    parts = [p.strip() for p in rest.split(",")] if rest else []
    if len(parts) > 1 + len(names):
        raise argparse.ArgumentTypeError(f"{family} takes NODES,{','.join(names).upper()}, got {text!r}")
    n_nodes = 32
    if parts:
        try:
            n_nodes = int(parts[0])
        except ValueError:
            raise argparse.ArgumentTypeError(f"the number of nodes must be a whole number, got "
                                             f"{parts[0]!r} in {text!r}") from None
        try:
            check_n_nodes(n_nodes)
        except ValueError:
            raise argparse.ArgumentTypeError(f"the number of nodes must be in 2..{MAX_NODES}, got "
                                             f"{parts[0]!r} in {text!r}") from None
    params: dict[str, float] = {}
    for name, part in zip(names, parts[1:], strict=False):
        cast = type(GRAPHS.get(family).defaults[name])
        try:
            params[name] = cast(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{family} parameter {name} must be "
                                             f"{'a whole number' if cast is int else 'a number'}, "
                                             f"got {part!r}") from None
    try:
        GRAPHS.get(family).check(n_nodes, {**GRAPHS.get(family).defaults, **params})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return family, n_nodes, params
