"""Input checks shared by the feature transformers.

Every public entry point of ``warpnet.features`` funnels its images through
:func:`check_images`, so the kernels behind it can assume a non-empty, finite
batch of shape (N, H, W) or (N, H, W, C) in uint8, float32 or float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_FLOAT_KINDS = ("f",)
_INT_KINDS = ("u", "i", "b")


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
        TypeError: non-numeric dtype (complex, object, strings).
        ValueError: wrong rank, empty batch or empty images, NaN/inf pixels,
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
            items = tuple(value)  # type: ignore[arg-type]
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
