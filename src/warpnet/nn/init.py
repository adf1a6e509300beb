"""Weight initializers.  Each returns a float64 NumPy array of shape (fan_in, fan_out) drawn from
an explicit random generator; the layer converts it to its dtype and namespace.

- ``he``: N(0, gain * sqrt(2 / fan_in)), for ReLU-like activations (He et al., 2015).
- ``xavier``: N(0, gain * sqrt(2 / (fan_in + fan_out))), for tanh/sigmoid (Glorot & Bengio, 2010;
  PyTorch's ``xavier_normal_``).
- ``normal``: N(0, std), the "scaled normal" ``weight_scale * randn`` of the lecture's code.
- ``zeros``: all zeros (linear classifiers; layers rebuilt from a file before loading weights).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..registry import Registry

Initializer = Callable[[int, int, np.random.Generator], np.ndarray]

INITIALIZERS: Registry[Callable[..., Initializer]] = Registry("initializer")


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


@INITIALIZERS.register("he")
def he(gain: float = 1.0) -> Initializer:
    """N(0, gain * sqrt(2 / fan_in)) draws, for ReLU-like activations (He et al., 2015)."""
    _check_positive("gain", gain)

    def draw(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((fan_in, fan_out)) * (gain * math.sqrt(2.0 / fan_in))

    return draw


@INITIALIZERS.register("xavier")
def xavier(gain: float = 1.0) -> Initializer:
    """N(0, gain * sqrt(2 / (fan_in + fan_out))) draws, for tanh and sigmoid (Glorot & Bengio)."""
    _check_positive("gain", gain)

    def draw(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((fan_in, fan_out)) * (gain * math.sqrt(2.0 / (fan_in + fan_out)))

    return draw


@INITIALIZERS.register("normal")
def normal(std: float = 0.01) -> Initializer:
    """N(0, std) draws: the lecture's ``weight_scale * randn``."""
    _check_positive("std", std)

    def draw(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((fan_in, fan_out)) * std

    return draw


@INITIALIZERS.register("zeros")
def zeros() -> Initializer:
    """All zeros (linear classifiers; layers rebuilt from a file before loading weights)."""
    def draw(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        return np.zeros((fan_in, fan_out))

    return draw


def resolve(init: str | Initializer) -> Initializer:
    """An initializer from a registered name (default arguments) or a callable."""
    if callable(init):
        return init
    return INITIALIZERS.get(init)()
