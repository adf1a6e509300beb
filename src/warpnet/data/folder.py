"""Images in class folders: ``root/<class name>/<image>.png|.jpg|.jpeg``, read through Pillow."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError, UsageError
from .dataset import Dataset
from .validation import check_class_names, check_dataset

__all__ = ["IMAGE_SUFFIXES", "load_image", "load_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

# The largest image Pillow opens without a decompression-bomb warning; a resized image of more
# pixels than that (3 bytes each, for every image of a folder) would exhaust memory.
_MAX_PIXELS = 89_478_485


def _pillow():  # noqa: ANN202 - returns the PIL.Image module
    try:
        from PIL import Image  # imported lazily: Pillow is an optional extra
    except ImportError as exc:
        raise ImportError("reading images needs Pillow: pip install 'warpnet[images]'") from exc
    return Image


def _size_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, bool):
        raise TypeError("size must be an int or a (height, width) pair, got bool")
    if isinstance(size, int | np.integer):
        size = (int(size), int(size))
    if (
        not isinstance(size, tuple | list)
        or len(size) != 2
        or not all(isinstance(s, int | np.integer) and not isinstance(s, bool) for s in size)
    ):
        raise TypeError(f"size must be an int or a (height, width) pair of ints, got {size!r}")
    h, w = int(size[0]), int(size[1])
    if h < 1 or w < 1:
        raise UsageError(f"size must be positive, got (height, width) = ({h}, {w})")
    if h * w > _MAX_PIXELS:
        raise UsageError(f"size must be at most {_MAX_PIXELS} pixels per image (Pillow's "
                         f"decompression-bomb limit), got (height, width) = ({h}, {w})")
    return h, w


def load_image(path: str | os.PathLike[str], size: int | tuple[int, int]) -> np.ndarray:
    """Read one image file as RGB and resize it.

    Args:
        path: a PNG or JPEG file (any format Pillow reads is accepted).
        size: ``S`` for ``S x S`` or ``(height, width)``.

    Returns:
        ``(height, width, 3)`` uint8 array.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataError: the file is not a readable image (the message names it).
        TypeError: ``size`` is not an int or a pair of ints.
    """
    h, w = _size_hw(size)
    Image = _pillow()
    file = Path(path)
    if not file.is_file():
        what = "is a folder, not a file" if file.is_dir() else "does not exist"
        raise FileNotFoundError(f"image file {str(file)!r} {what}")
    try:
        with Image.open(file) as img:
            # convert() forces a full decode, so a truncated file fails here, named.
            rgb = img.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read image {str(file)!r}: {exc}") from None
    if rgb.size != (w, h):  # Pillow sizes are (width, height)
        rgb = rgb.resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8).copy()


def load_image_folder(path: str | os.PathLike[str], size: int | tuple[int, int]) -> Dataset:
    """Load a folder with one sub-folder of images per class.

    Class names are the sub-folder names, sorted; class ``i`` is the ``i``-th name. Files whose
    suffix is not .png/.jpg/.jpeg (any case) and hidden entries (starting with ".") are skipped.

    Args:
        path: the root folder.
        size: every image is resized to ``S x S`` (an int) or ``(height, width)``.

    Returns:
        Dataset with ``x`` ``(N, height, width, 3)`` uint8 RGB, ``y`` int64, and the class names.

    Raises:
        FileNotFoundError: ``path`` is not a folder.
        DataError: no class sub-folders, two folder names alike once normalised (NFC, white
            space stripped), a class folder with no images, or a corrupt image
            (the message names the file).
        TypeError: ``size`` is not an int or a pair of ints.
    """
    h, w = _size_hw(size)
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist or is not a folder")
    class_dirs = sorted(
        (d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")),
        key=lambda d: d.name,
    )
    if not class_dirs:
        raise DataError(
            f"{str(root)!r} has no class sub-folders (expected {root}/<class>/<image>.png)"
        )
    check_class_names([d.name for d in class_dirs], str(root))
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, class_dir in enumerate(class_dirs):
        files = sorted(
            f for f in class_dir.iterdir()
            if f.is_file() and not f.name.startswith(".")
            and f.suffix.lower() in IMAGE_SUFFIXES
        )
        if not files:
            raise DataError(
                f"class folder {str(class_dir)!r} has no images "
                f"(expected files ending in {', '.join(IMAGE_SUFFIXES)})"
            )
        for file in files:
            images.append(load_image(file, (h, w)))
            labels.append(label)
    class_names = [d.name for d in class_dirs]
    x = np.stack(images)
    y = check_dataset(x, np.asarray(labels), len(class_names), str(root))
    return Dataset(x=x, y=y, class_names=class_names)
