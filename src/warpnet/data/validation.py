"""Checks every loader runs on what it read, so bad data fails early with a message that names
the source (file or argument), what was expected and what was found."""

from __future__ import annotations

import numpy as np

from ..errors import DataError

__all__ = [
    "check_features",
    "check_labels",
    "check_nonempty",
    "check_dataset",
]


def check_nonempty(x: np.ndarray, source: str) -> None:
    """Raise DataError if ``x`` holds no samples."""
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError(f"{source}: no samples (x has shape {x.shape})")


def check_features(x: np.ndarray, source: str) -> np.ndarray:
    """Check that ``x`` is a non-empty batch of images or feature vectors.

    Accepted: ``(N, D)`` real numbers, ``(N, H, W)`` or ``(N, H, W, C)`` with ``C`` in 1..4.
    Floating-point data must be finite. Returns ``x`` unchanged.

    Raises:
        DataError: wrong number of dimensions, a non-numeric dtype, no samples, NaN or inf.
    """
    if not isinstance(x, np.ndarray):
        raise DataError(f"{source}: x must be a numpy array, got {type(x).__name__}")
    if x.dtype == np.bool_ or not (
        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
    ):
        raise DataError(f"{source}: x must hold integers or floats, got dtype {x.dtype}")
    if x.ndim not in (2, 3, 4):
        raise DataError(
            f"{source}: x must have shape (N, D), (N, H, W) or (N, H, W, C), got shape {x.shape}"
        )
    if x.ndim == 4 and not 1 <= x.shape[3] <= 4:
        raise DataError(
            f"{source}: images must be channels-last (N, H, W, C) with C in 1..4, "
            f"got shape {x.shape}"
        )
    check_nonempty(x, source)
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise DataError(f"{source}: x contains {bad} NaN or infinite values")
    return x


def check_labels(y: np.ndarray, n_classes: int, source: str) -> np.ndarray:
    """Check class labels and return them as a new ``(N,)`` int64 array.

    Raises:
        DataError: ``y`` is not 1-D, not integer-valued, or has a label outside 0..n_classes-1.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{source}: y must be 1-D (N,), got shape {y.shape}")
    if np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all() or not np.array_equal(y, np.round(y)):
            raise DataError(f"{source}: y must hold whole-number class labels, got {y.dtype} "
                             "values with a fractional part, NaN or inf")
    elif y.dtype == np.bool_ or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{source}: y must hold integer class labels, got dtype {y.dtype}")
    if y.size:
        lo, hi = y.min(), y.max()
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise DataError(
                f"{source}: label {int(bad)} is outside the class list 0..{n_classes - 1} "
                f"({n_classes} classes)"
            )
    return y.astype(np.int64)


def check_dataset(x: np.ndarray, y: np.ndarray, n_classes: int, source: str) -> np.ndarray:
    """Run :func:`check_features` and :func:`check_labels` and check that the lengths agree.

    Returns the labels as int64.

    Raises:
        DataError: as for the two checks, or when ``x`` and ``y`` differ in length.
    """
    if n_classes < 1:
        raise DataError(f"{source}: need at least one class, got {n_classes}")
    check_features(x, source)
    y = check_labels(y, n_classes, source)
    if len(x) != len(y):
        raise DataError(
            f"{source}: x has {len(x)} samples but y has {len(y)} labels"
        )
    return y
