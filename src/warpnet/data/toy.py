"""Small 2-D classification and 1-D regression sets for seeing a network learn.

Each generator is a pure function of ``(n, noise, n_classes, rng)``: same seed, same points.
Classes are balanced (sizes differ by at most one) and the points are shuffled, so any prefix is a
fair sample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import UsageError
from .dataset import Dataset

__all__ = ["TOY_CLASSIFICATION", "TOY_REGRESSION", "make_toy"]


def _balanced_labels(n: int, n_classes: int) -> np.ndarray:
    """Balanced class labels for ``n`` points: (n,) int64, sorted, sizes differ by at most one."""
    return np.arange(n, dtype=np.int64) * n_classes // n


def _circle(n: int, noise: float, n_classes: int, rng: np.random.Generator) -> tuple:
    # Concentric rings: class k lies on radius (k + 1) / C, so all rings fit the unit disc.
    y = _balanced_labels(n, n_classes)
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    radius = (y + 1.0) / n_classes
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return x + noise * rng.standard_normal((n, 2)), y


def _xor(n: int, noise: float, n_classes: int, rng: np.random.Generator) -> tuple:
    # Label is 1 where the coordinates have opposite signs: no line separates the classes.
    x = rng.uniform(-1.0, 1.0, (n, 2))
    # Keep points off the axes so noise=0 gives a clean margin.
    x += np.sign(x) * 0.05
    y = (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int64)
    return x + noise * rng.standard_normal((n, 2)), y


def _gauss(n: int, noise: float, n_classes: int, rng: np.random.Generator) -> tuple:
    # One round blob per class, centres evenly spaced on a circle of radius 1; noise is the
    # blob's standard deviation on top of a base spread of 0.2.
    y = _balanced_labels(n, n_classes)
    angle = 2.0 * np.pi * y / n_classes
    centres = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return centres + (0.2 + noise) * rng.standard_normal((n, 2)), y


def _spiral(n: int, noise: float, n_classes: int, rng: np.random.Generator) -> tuple:
    # One arm per class (the CS231n spiral): radius grows 0..1 while the angle turns 4 radians,
    # arm k rotated by 2*pi*k/C.
    y = _balanced_labels(n, n_classes)
    t = rng.uniform(0.0, 1.0, n)
    angle = 4.0 * t + 2.0 * np.pi * y / n_classes
    x = np.stack([t * np.sin(angle), t * np.cos(angle)], axis=1)
    return x + noise * rng.standard_normal((n, 2)), y


def _moons(n: int, noise: float, n_classes: int, rng: np.random.Generator) -> tuple:
    # Two interleaving half circles, as in scikit-learn's make_moons.
    y = _balanced_labels(n, n_classes)
    t = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where((y == 0)[:, None], upper, lower)
    return x + noise * rng.standard_normal((n, 2)), y


# name -> (generator, allowed class counts, default class count)
TOY_CLASSIFICATION: dict[str, tuple[Callable, tuple[int, ...], int]] = {
    "circle": (_circle, (2, 3, 4, 5), 2),
    "xor": (_xor, (2,), 2),
    "gauss": (_gauss, (2, 3, 4, 5), 3),
    "spiral": (_spiral, (2, 3, 4, 5), 3),
    "moons": (_moons, (2,), 2),
}

# name -> target function of x in [-1, 1]
TOY_REGRESSION: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sine": lambda x: np.sin(np.pi * x),
    "abs": np.abs,
    "step": lambda x: (x > 0).astype(np.float64),
}


def make_toy(
    name: str,
    n: int = 200,
    noise: float = 0.1,
    seed: int | np.random.Generator = 0,
    n_classes: int | None = None,
) -> Dataset:
    """Make a toy data set.

    Args:
        name: a classification set (``"circle"``, ``"xor"``, ``"gauss"``, ``"spiral"``,
            ``"moons"``) or a 1-D regression target (``"sine"``, ``"abs"``, ``"step"``).
        n: number of points, at least ``n_classes``.
        noise: standard deviation of the Gaussian noise added to the points (classification) or
            to the targets (regression); >= 0.
        seed: an int seed or a ``numpy.random.Generator``; the only source of randomness.
        n_classes: 2..5 for circle, gauss and spiral (defaults 2, 3, 3); 2 for xor and moons;
            must be None for regression.

    Returns:
        Classification: Dataset with ``x`` ``(n, 2)`` float64, ``y`` ``(n,)`` int64 in
        0..n_classes-1, class names ``"0"``..; regression: ``x`` ``(n, 1)`` float64 uniform in
        [-1, 1], ``y`` ``(n,)`` float64, and no class names.

    Raises:
        UsageError: unknown name, ``n`` too small, negative or non-finite noise, or a class count
            the set does not support.
        TypeError: ``n`` or ``n_classes`` not an int, ``seed`` not an int or Generator.
    """
    if not isinstance(name, str) or name not in TOY_CLASSIFICATION | TOY_REGRESSION:
        known = ", ".join([*TOY_CLASSIFICATION, *TOY_REGRESSION])
        raise UsageError(f"unknown toy data set {name!r}; expected one of: {known}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if isinstance(noise, bool) or not isinstance(noise, int | float | np.number) \
            or not np.isfinite(noise) or noise < 0:
        raise UsageError(f"noise must be a finite number >= 0, got {noise!r}")
    if isinstance(seed, np.random.Generator):
        rng = seed
    elif isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        rng = np.random.default_rng(int(seed))
    else:
        raise TypeError(f"seed must be an int or numpy.random.Generator, got {type(seed).__name__}")

    if name in TOY_REGRESSION:
        if n_classes is not None:
            raise UsageError(f"{name!r} is a regression set; n_classes must be None")
        if n < 1:
            raise UsageError(f"n must be >= 1, got {n}")
        x = rng.uniform(-1.0, 1.0, (int(n), 1))
        y = TOY_REGRESSION[name](x[:, 0]) + noise * rng.standard_normal(int(n))
        return Dataset(x=x, y=y.astype(np.float64), class_names=[])

    generate, allowed, default = TOY_CLASSIFICATION[name]
    if n_classes is None:
        n_classes = default
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer):
        raise TypeError(f"n_classes must be an int, got {type(n_classes).__name__}")
    if n_classes not in allowed:
        raise UsageError(
            f"{name!r} supports n_classes in {list(allowed)}, got {n_classes}"
        )
    if n < n_classes:
        raise UsageError(f"n must be at least n_classes={n_classes}, got {n}")
    x, y = generate(int(n), float(noise), int(n_classes), rng)
    order = rng.permutation(int(n))
    return Dataset(
        x=np.ascontiguousarray(x[order], dtype=np.float64),
        y=y[order].astype(np.int64),
        class_names=[str(k) for k in range(n_classes)],
    )
