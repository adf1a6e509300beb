"""Hyper-parameter validation for the estimators.

Each estimator lists a table ``_parameter_constraints`` from parameter name to a constraint;
``validate_params`` checks every value at ``fit`` (``__init__`` only stores, as scikit-learn asks)
and raises ``warpnet.errors.UsageError`` (a ``ValueError``) naming the parameter, the allowed values
or range, and the value received.  Name-valued parameters read the engine's registries, so the
estimators accept exactly the activations, losses, penalties and optimizers the engine has.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UsageError


@dataclass(frozen=True)
class Interval:
    """A real (or integer) number in a range; ``closed`` is "both", "left", "right" or "neither"."""

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if not math.isfinite(value):
            return False
        number = int(value) if isinstance(value, numbers.Integral) else float(value)
        left_ok = self.low is None or (number >= self.low if self.closed in ("both", "left")
                                       else number > self.low)
        right_ok = self.high is None or (number <= self.high if self.closed in ("both", "right")
                                         else number < self.high)
        return left_ok and right_ok

    def describe(self) -> str:
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        noun = "an int" if self.kind is int else "a float"
        return f"{noun} in the range {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """One of a list of strings, read when checked (so registries added to later are honoured)."""

    names: Callable[[], Iterable[str]]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in list(self.names())

    def describe(self) -> str:
        return "one of " + ", ".join(repr(n) for n in self.names())


@dataclass(frozen=True)
class Boolean:
    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def describe(self) -> str:
        return "True or False"


@dataclass(frozen=True)
class LayerSizes:
    """A tuple or list of positive ints (may be empty: no hidden layer), or one positive int
    for a single hidden layer (as scikit-learn accepts)."""

    def accepts(self, value: Any) -> bool:
        if _positive_int(value):
            return True
        if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list, np.ndarray)):
            return False
        return all(_positive_int(v) for v in value)

    def describe(self) -> str:
        return "a positive int or a tuple of positive ints, e.g. (100,) or (64, 32)"


def _positive_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 1


@dataclass(frozen=True)
class ImageShape:
    """``(H, W)`` or ``(H, W, C)`` of positive ints: the shape of one image before flattening."""

    def accepts(self, value: Any) -> bool:
        return (isinstance(value, (tuple, list)) and len(value) in (2, 3)
                and all(_positive_int(v) for v in value))

    def describe(self) -> str:
        return "None or a tuple (H, W) or (H, W, C) of positive ints, e.g. (32, 32, 3)"


@dataclass(frozen=True)
class AugmentSpec:
    """Text such as "flip,shift=4,cutout=8" that ``warpnet.train.augment.parse_augment`` reads."""

    def accepts(self, value: Any) -> bool:
        from ..train.augment import parse_augment

        if not isinstance(value, str):
            return False
        try:  # the items alone; the image shape is checked against the data at fit
            parse_augment(value, (1 << 16, 1 << 16))
        except UsageError:
            return False
        return True

    def describe(self) -> str:
        return "None or comma-separated items flip, shift=S, cutout=L, e.g. 'flip,shift=4'"


@dataclass(frozen=True)
class NoneValue:
    def accepts(self, value: Any) -> bool:
        return value is None

    def describe(self) -> str:
        return "None"


@dataclass(frozen=True)
class RandomState:
    """None, a non-negative int seed, a ``numpy.random.Generator`` or ``RandomState``."""

    def accepts(self, value: Any) -> bool:
        if value is None or isinstance(value, (np.random.Generator, np.random.RandomState)):
            return True
        return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                and 0 <= int(value) < 2**32)

    def describe(self) -> str:
        return "None, an int in [0, 2**32), a numpy.random.Generator or RandomState"


def validate_params(estimator: Any) -> None:
    """Check every parameter of ``estimator`` against its ``_parameter_constraints``.

    A parameter may list several constraints (e.g. ``"auto"`` or an int); it is valid when one
    accepts it.

    Raises:
        UsageError: e.g. ``"The 'alpha' parameter of MLPClassifier must be a float in the range
            [0.0, inf); got -1."``
    """
    params = estimator.get_params(deep=False)
    for name, constraints in type(estimator)._parameter_constraints.items():
        value = params[name]
        if any(c.accepts(value) for c in constraints):
            continue
        allowed = " or ".join(c.describe() for c in constraints)
        raise UsageError(f"The {name!r} parameter of {type(estimator).__name__} must be {allowed}; "
                         f"got {value!r}.")
