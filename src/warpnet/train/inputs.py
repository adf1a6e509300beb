"""Checks on what ``Trainer.fit``/``evaluate``/``predict_scores`` receive, done once per call
(built on ``warpnet.checks``, the one module of input checks).

Features become one C-contiguous (N, D) array of the model's parameter dtype (copied only when the
dtype or layout differs, never modified); class labels become int64; regression targets become
(N, K) arrays of the parameter dtype.  Every message names the argument, what was expected and
what was got.

Features may also be a *row source* instead of an array: an object with ``shape`` (N, D), a float
``dtype``, ``take(rows) -> (n, D) ndarray`` (the rows at integer indices, e.g. decoded on demand)
and ``subset(rows)`` (a row source of those rows only), such as
``warpnet.features.CompressedFeatures``.  The trainer then gathers each minibatch through
``take`` and never holds the whole (N, D) matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import check_class_labels, check_finite, check_real
from ..checks import check_sample_weight as _weights
from ..checks import host_array as _host
from ..nn import Module

__all__ = ["model_io_sizes", "is_row_source", "check_features", "check_labels", "check_targets",
           "check_sample_weight"]


def model_io_sizes(model: Module) -> tuple[int | None, int | None]:
    """``(input features, output width)`` of a network made of ``Linear`` layers, else None."""
    pairs = [(getattr(m, "in_features", None), getattr(m, "out_features", None)) for m in model.modules()]
    sizes = [(n_in, n_out) for n_in, n_out in pairs if isinstance(n_in, int) and isinstance(n_out, int)]
    if not sizes:
        return None, None
    return sizes[0][0], sizes[-1][1]


def is_row_source(X: Any) -> bool:
    """True for a row source (see the module docstring), False for arrays and everything else."""
    return (not hasattr(X, "__array_namespace__") and not isinstance(X, np.ndarray)
            and callable(getattr(X, "take", None)) and callable(getattr(X, "subset", None))
            and hasattr(X, "shape") and hasattr(X, "dtype"))


def check_features(X: Any, n_features: int | None, dtype: np.dtype, name: str = "X") -> Any:
    """``X`` as a C-contiguous (N, D) array of ``dtype`` with N >= 1 and only finite values; a row
    source (see the module docstring) is checked (shape, dtype) and returned as it is.

    Raises:
        TypeError: not an array of real numbers; a row source of another dtype than ``dtype``.
        ValueError: not 2-D, empty, the wrong number of features, or NaN/inf present (also after
            the cast to ``dtype``, e.g. 1e300 does not fit float32).
    """
    if is_row_source(X):
        shape = tuple(X.shape)
        if len(shape) != 2 or shape[0] == 0:
            raise ValueError(f"{name} must give (n_samples, n_features) rows, n_samples >= 1, "
                             f"got shape {shape}")
        if n_features is not None and shape[1] != n_features:
            raise ValueError(f"{name} has {shape[1]} features, but the model expects {n_features}")
        if np.dtype(X.dtype) != np.dtype(dtype):
            raise TypeError(f"{name} gives {np.dtype(X.dtype)} rows, but the model's parameters "
                            f"are {np.dtype(dtype)}")
        return X
    a = _host(X, name)
    check_real(a, name)
    if a.ndim != 2:
        hint = "; flatten images first, e.g. X.reshape(len(X), -1)" if a.ndim > 2 else ""
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features), got shape "
                         f"{a.shape}{hint}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 samples)")
    if n_features is not None and a.shape[1] != n_features:
        raise ValueError(f"{name} has {a.shape[1]} features, but the model expects {n_features}")
    with np.errstate(over="ignore"):  # values too large for dtype become inf, reported below
        a = np.ascontiguousarray(a, dtype=dtype)
    check_finite(a, name)
    return a


def check_labels(y: Any, n_samples: int, n_classes: int | None, name: str = "y",
                 x_name: str = "X") -> np.ndarray:
    """Class labels as an int64 (N,) array with values in [0, n_classes).

    Raises:
        TypeError: not integers.
        ValueError: wrong shape or length, or a label outside [0, n_classes).
    """
    a = _host(y, name)
    return np.ascontiguousarray(check_class_labels(a, n_classes, name, n_samples=n_samples,
                                                   x_name=x_name))


def check_targets(y: Any, n_samples: int, n_outputs: int | None, dtype: np.dtype,
                  name: str = "y", x_name: str = "X") -> np.ndarray:
    """Regression targets as a finite (N, K) array of ``dtype`` ((N,) is read as K = 1).

    Raises:
        TypeError: not real numbers.
        ValueError: wrong shape or length, or NaN/inf present.
    """
    a = _host(y, name)
    check_real(a, name)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"{name} must be (n_samples,) or (n_samples, n_outputs), got shape {a.shape}")
    if len(a) != n_samples:
        raise ValueError(f"{name} has {len(a)} targets, but {x_name} has {n_samples} samples")
    if n_outputs is not None and a.shape[1] != n_outputs:
        raise ValueError(f"{name} has {a.shape[1]} target columns, but the model has {n_outputs} "
                         "outputs")
    with np.errstate(over="ignore"):
        a = np.ascontiguousarray(a, dtype=dtype)
    check_finite(a, name)
    return a


def check_sample_weight(w: Any, n_samples: int, dtype: np.dtype) -> np.ndarray:
    """Per-sample weights as a finite, non-negative (N,) array of ``dtype``, not all zero.

    Raises:
        TypeError / ValueError: as for the other checks.
    """
    a = _host(w, "sample_weight")
    check_real(a, "sample_weight")
    if a.shape != (n_samples,):  # before the cast, which needs the shape
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {a.shape}")
    with np.errstate(over="ignore"):
        a = np.ascontiguousarray(a, dtype=dtype)
    _weights(a, n_samples)
    return a
