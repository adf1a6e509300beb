"""Checks every loader runs on what it read, so bad data fails early with a message that names
the source (file or argument), what was expected and what was found (built on
``warpnet.checks``, the one module of input checks; a ``DataError`` here)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

from ..checks import check_class_labels, check_finite, check_real
from ..errors import DataError

__all__ = [
    "check_class_names",
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
    check_real(x, f"{source}: x", error=DataError)
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
    check_finite(x, f"{source}: x", error=DataError, hint="the file holds invalid values")
    return x


def check_labels(y: np.ndarray, n_classes: int, source: str) -> np.ndarray:
    """Check class labels and return them as a new ``(N,)`` int64 array.

    Raises:
        DataError: ``y`` is not 1-D, not integer-valued (whole floats are accepted), or has a label
            outside [0, n_classes).
    """
    return check_class_labels(np.asarray(y), n_classes, f"{source}: y", error=DataError,
                              dtype_error=DataError, whole_floats=True)


def check_class_names(names: Sequence[str], source: str) -> None:
    """Raise DataError if two class names are the same once normalised.

    Names are compared after stripping surrounding white space and Unicode NFC normalisation,
    so ``"dog"`` and ``" dog "``, or a precomposed and a decomposed ``"café"``, count as one name:
    a user could not tell those classes apart in a report or a confusion matrix.

    Raises:
        DataError: naming ``source``, the repeated name and the two class indices.
    """
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        key = unicodedata.normalize("NFC", name.strip())
        if key in seen:
            raise DataError(
                f"{source}: class name {key!r} appears more than once (classes {seen[key]} and "
                f"{i}); every class needs a name of its own"
            )
        seen[key] = i


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
