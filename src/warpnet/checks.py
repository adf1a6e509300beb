"""The input checks of warpnet's boundaries, in one place: the trainer's inputs
(``train/inputs.py``), the data loaders (``data/validation.py``) and the standardization
(``data/preprocessing.py``), the losses (``nn/losses.py``), and the image features
(``features/``: ``check_images``, the parameter checks ``check_int``, ``check_pair`` and
``check_choice``, and ``check_state_arrays`` for fitted arrays read from a model file) all call
these, so a bad array gets the same message wherever it enters.

Every message names the argument, what was expected and what was got.  Each check takes the
error class to raise for bad values (``ValueError`` by default; the loaders pass ``DataError``,
a ``ValueError`` too); a wrong kind of argument (not an array, not numbers) is a ``TypeError``.
The checks take any array-API array unless they say NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .backend import Array, array_namespace, is_numpy_array, to_numpy

__all__ = ["host_array", "check_real", "check_finite", "check_class_labels", "check_sample_weight",
           "check_images", "check_int", "check_pair", "check_choice", "check_state_arrays",
           "check_fused"]

_FLOAT_KINDS = ("f",)
_INT_KINDS = ("u", "i", "b")


def host_array(a: Any, name: str) -> np.ndarray:
    """``a`` (any array or nested sequence of numbers) as a NumPy array.

    Raises:
        TypeError: None, or something that is not an array of numbers.
    """
    if a is None:
        raise TypeError(f"{name} must be an array, got None")
    try:
        return to_numpy(a) if hasattr(a, "shape") else np.asarray(a)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__} ({err})") from None


def check_real(a: np.ndarray, name: str, error: type[Exception] = TypeError) -> None:
    """Raise ``error`` unless ``a`` holds integers or floats (not booleans, complex or objects)."""
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.floating)
                                   or np.issubdtype(a.dtype, np.integer)):
        raise error(f"{name} must hold real numbers (integers or floats), got dtype {a.dtype}")


def check_finite(a: Array, name: str, error: type[Exception] = ValueError,
                 hint: str = "remove or impute those values") -> None:
    """Raise ``error`` naming the first row (first axis) of ``a`` that holds a NaN or inf (and
    ``hint``, what to do about it).

    On a float NumPy array the check is one BLAS dot product: NaN or inf anywhere makes the sum of
    squares NaN or inf, so a finite one proves every element finite, without an array-sized
    boolean temporary (10,000 x 3072 float32: 7 ms; ``np.isfinite(a).all()`` 13 ms).  Only a
    non-finite sum (which may also be an overflow of finite values) looks at every element.
    """
    if is_numpy_array(a):
        if a.dtype.kind != "f" or a.size == 0:
            return
        flat = np.ascontiguousarray(a).reshape(-1)
        with np.errstate(over="ignore", invalid="ignore"):
            total = float(np.dot(flat, flat))
        if math.isfinite(total):
            return
        finite_rows = np.isfinite(a.reshape(len(a), -1)).all(axis=1) if a.ndim else np.isfinite(a)[None]
    else:
        xp = array_namespace(a)
        if not xp.isdtype(a.dtype, "real floating"):
            return
        if bool(xp.all(xp.isfinite(a))):
            return
        finite_rows = to_numpy(a)
        finite_rows = np.isfinite(finite_rows.reshape(len(finite_rows), -1)).all(axis=1)
    if finite_rows.all():
        return
    bad = np.flatnonzero(~finite_rows)
    raise error(f"{name} contains NaN or inf (first in row {int(bad[0])}); {hint}")


def check_class_labels(y: Array, n_classes: int | None, name: str = "y", *, n_samples: int | None = None,
                       x_name: str = "X", error: type[Exception] = ValueError,
                       dtype_error: type[Exception] = TypeError, whole_floats: bool = False) -> Array:
    """Class labels as an int64 (N,) array (in ``y``'s namespace) with values in [0, n_classes).

    Args:
        y: the labels.
        n_classes: C, or None for any non-negative labels.
        name, x_name: how the messages name the labels and the samples they belong to.
        n_samples: the N the labels must have, or None.
        error: raised for bad values; dtype_error: raised for a dtype that is not integers.
        whole_floats: accept floats with whole values (e.g. labels read from a CSV file).

    Raises:
        TypeError / ``dtype_error``: not integers (nor whole floats where accepted).
        ValueError / ``error``: not 1-D, the wrong length, or a label outside [0, n_classes).
    """
    xp = array_namespace(y)
    if len(y.shape) != 1:
        raise error(f"{name} must be a 1-D array of class labels, got shape {tuple(y.shape)}")
    if whole_floats and xp.isdtype(y.dtype, "real floating"):
        if not bool(xp.all(xp.isfinite(y))) or not bool(xp.all(y == xp.round(y))):
            raise error(f"{name} must hold whole-number class labels, got {y.dtype} values with a "
                        "fractional part, NaN or inf")
    elif y.dtype == xp.bool or not xp.isdtype(y.dtype, "integral"):
        expected = f"[0, {n_classes})" if n_classes is not None else "[0, inf)"
        raise dtype_error(f"{name} must hold integer class labels (integers in {expected}), "
                          f"got dtype {y.dtype}")
    if n_samples is not None and y.shape[0] != n_samples:
        raise error(f"{name} has {y.shape[0]} labels, but {x_name} has {n_samples} samples")
    if y.shape[0]:
        lo, hi = int(xp.min(y)), int(xp.max(y))
        if lo < 0 or (n_classes is not None and hi >= n_classes):
            expected = f"[0, {n_classes})" if n_classes is not None else "[0, inf)"
            bad = lo if lo < 0 else hi
            listed = f" (label {bad} is outside the class list 0..{n_classes - 1})" if n_classes else ""
            raise error(f"{name} must hold class labels in {expected}, got values in [{lo}, {hi}]{listed}")
    return xp.astype(y, xp.int64)


def check_sample_weight(w: Array, n_samples: int, name: str = "sample_weight") -> None:
    """Raise ValueError unless ``w`` is a finite, non-negative (N,) array, not all zero."""
    xp = array_namespace(w)
    if tuple(w.shape) != (n_samples,):
        raise ValueError(f"{name} must have shape ({n_samples},), got {tuple(w.shape)}")
    check_finite(w, name)
    if bool(xp.any(w < 0)) or not bool(xp.any(w > 0)):
        raise ValueError(f"{name} must be >= 0 with at least one weight > 0")


def check_images(
    X: object,
    *,
    image_shape: Sequence[int] | None = None,
    name: str = "X",
    allow_channels: tuple[int, ...] | None = None,
) -> tuple[np.ndarray, type]:
    """Return ``X`` as a validated image batch plus the dtype its features should have.

    The caller's array is never modified.

    Args:
        X: images, shape (N, H, W) or (N, H, W, C), any integer or float dtype; or
            (N, D) flattened images when ``image_shape`` is given.
        image_shape: (H, W) or (H, W, C) of one image; one entry may be -1 (inferred,
            as in ``numpy.reshape``). Needed for 2-D input, checked against 3-D/4-D input.
        name: argument name used in error messages.
        allow_channels: channel counts accepted for (N, H, W, C) input; ``None`` accepts any.

    Returns:
        ``(images, out_dtype)``: images of shape (N, H, W) or (N, H, W, C) where uint8
        stays uint8, other integers become float64, float16 becomes float32 and
        float32/float64 are kept (a view when possible); ``out_dtype`` is float64 for
        float64 input and float32 otherwise.

    Raises:
        TypeError: a sparse matrix, or a non-numeric dtype (strings, objects that are not numbers).
        ValueError: complex pixels, wrong rank, empty batch or empty images, NaN/inf pixels,
            ``image_shape`` inconsistent with the data.
    """
    if hasattr(X, "tocsr") or hasattr(X, "todense"):  # scipy.sparse, without importing it
        raise TypeError(
            f"{name} is a sparse matrix: sparse input is not supported, pass dense images"
        )
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise ValueError(f"{name} must be an array of images; could not convert: {exc}") from exc
    if arr.dtype == object:  # numbers held as Python objects: convert (numpy names the culprit)
        arr = arr.astype(np.float64)
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} must hold real pixels")
    if arr.dtype.kind not in _FLOAT_KINDS + _INT_KINDS:
        raise TypeError(
            f"{name} must hold integer or float pixels, got dtype {arr.dtype}"
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required."
        )
    if arr.ndim == 2:
        if image_shape is None:
            raise ValueError(
                f"{name} has shape {arr.shape}: expected images of shape (N, H, W) or "
                "(N, H, W, C); 2-D (N, D) input needs image_shape=(H, W) or (H, W, C)"
            )
        shape = _resolve_image_shape(image_shape, arr.shape[1], name)
        arr = arr.reshape((arr.shape[0], *shape))
    elif arr.ndim in (3, 4):
        if image_shape is not None:
            shape = _resolve_image_shape(image_shape, math.prod(arr.shape[1:]), name)
            if tuple(arr.shape[1:]) != shape:
                raise ValueError(
                    f"{name} holds images of shape {arr.shape[1:]}, but image_shape={shape}"
                )
    else:
        hint = " Reshape your data: a single image needs a leading axis." if arr.ndim < 2 else ""
        raise ValueError(
            f"{name} has {arr.ndim} dimensions (shape {arr.shape}): expected images of shape "
            f"(N, H, W) or (N, H, W, C), or (N, D) with image_shape.{hint}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: expected at least one image, got shape {arr.shape}")
    if min(arr.shape[1:]) == 0:
        raise ValueError(f"{name} holds empty images: shape {arr.shape}")
    if arr.ndim == 4 and allow_channels is not None and arr.shape[3] not in allow_channels:
        raise ValueError(
            f"{name} has {arr.shape[3]} channels (shape {arr.shape}): expected one of "
            f"{allow_channels} channels on the last axis"
        )
    # kind and size, not ``== np.float64``: a big-endian float64 array compares unequal to it.
    out_dtype = np.float64 if arr.dtype.kind == "f" and arr.dtype.itemsize == 8 else np.float32
    if arr.dtype.kind in _INT_KINDS and arr.dtype != np.uint8:
        arr = arr.astype(np.float64)
    elif arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite pixels: every pixel must be finite")
    return arr, out_dtype


def _resolve_image_shape(
    image_shape: Sequence[int], size: int, name: str
) -> tuple[int, ...]:
    """Turn ``image_shape`` (maybe with one -1) into the concrete shape of ``size`` pixels."""
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"image_shape must be a tuple (H, W) or (H, W, C) of ints, got {image_shape!r}"
        ) from exc
    if len(shape) not in (2, 3) or shape.count(-1) > 1 or any(
        s == 0 or s < -1 for s in shape
    ):
        raise ValueError(
            f"image_shape must be (H, W) or (H, W, C) of positive ints (one may be -1), "
            f"got {image_shape!r}"
        )
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if size % known:
            raise ValueError(
                f"{name} has {size} values per image, which image_shape={shape} cannot hold"
            )
        shape = tuple(size // known if s == -1 else s for s in shape)
    if math.prod(shape) != size:
        raise ValueError(
            f"{name} has {size} features, but image_shape={shape} expects {math.prod(shape)}"
        )
    return shape


def check_pair(value: object, name: str) -> tuple[int, int]:
    """Return ``value`` (an int or a pair of ints, each >= 1) as a pair ``(rows, cols)``.

    Raises:
        ValueError: not an int or a pair of ints, or an entry < 1.
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        try:
            items: tuple[Any, ...] = tuple(value)  # type: ignore[arg-type]
        except TypeError:
            items = ()
        if len(items) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items
        ):
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        pair = (int(items[0]), int(items[1]))
    if min(pair) < 1:
        raise ValueError(f"{name} must be >= 1 in both directions, got {value!r}")
    return pair


def check_int(value: object, name: str, minimum: int) -> int:
    """Return ``value`` as an int >= ``minimum``; raise ValueError naming ``name`` otherwise."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_choice(value: object, name: str, choices: Sequence[object]) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is one of ``choices``."""
    if not any(value == c and type(value) is type(c) for c in choices):
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def check_state_arrays(owner: object, expected: Mapping[str, tuple[int, ...]], name: str,
                       context: str = "") -> None:
    """Raise ValueError unless every attribute of ``owner`` listed in ``expected`` is a finite
    array of the listed shape: the fitted arrays a model file gave back to a transformer.

    Args:
        owner: the object holding the arrays (e.g. a ``FisherVector`` being restored).
        expected: attribute name -> the shape it must have, e.g. ``{"means_": (K, D)}``.
        name: how the messages name ``owner`` (``"<name>.<attribute> must be ..."``).
        context: what the shapes follow from, appended to the expected shape in the message
            (e.g. ``" (whiten=True)"``).

    Raises:
        ValueError: the first attribute with another shape or a NaN or inf.
    """
    for attr, shape in expected.items():
        value = getattr(owner, attr)
        if value.shape != shape or not np.isfinite(value).all():
            raise ValueError(f"{name}.{attr} must be finite with shape {shape}{context}, "
                             f"got shape {value.shape}")


def check_fused(fused: object) -> bool | None:
    """``fused`` of an optimizer, a penalty or a loss (None, True or False), checked: TypeError for
    anything else, ValueError for True where the compiled loops do not run (numba missing)."""
    if not (fused is None or isinstance(fused, bool)):
        raise TypeError(f"fused must be None, True or False, got {fused!r}")
    if fused:
        from ._fast import fused as compiled  # only asked for here: importing it loads numba

        if not compiled.available():
            raise ValueError("fused=True needs numba (pip install 'warpnet[fast]'); use fused=None "
                             "or False")
    return fused
