"""The 8x8 handwritten digits that ship inside scikit-learn: the default data set, no download."""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .dataset import Dataset
from .validation import check_dataset

__all__ = ["load_digits"]


def load_digits() -> Dataset:
    """Load scikit-learn's 1,797 handwritten digit images.

    Returns:
        Dataset with ``x`` of shape ``(1797, 8, 8)`` uint8 gray levels in 0..16 (the data set's own
        scale: each pixel counts the set bits of a 4x4 block of the 32x32 original, so nothing is
        lost by storing integers), ``y`` int64 in 0..9, and class names ``"0"`` .. ``"9"``.
        There is no separate test split; split it yourself.

    Raises:
        ImportError: scikit-learn is missing (install the ``sklearn`` extra:
            ``pip install 'warpnet[sklearn]'``).
    """
    try:
        # Imported here: scikit-learn is an optional extra and slow to import.
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as exc:
        raise ImportError(
            "load_digits needs scikit-learn: pip install 'warpnet[sklearn]'"
        ) from exc
    bunch = _sk_load_digits()
    images = np.asarray(bunch.images)
    if not np.array_equal(images, np.round(images)) or images.min() < 0 or images.max() > 16:
        raise DataError("scikit-learn digits: expected whole-number gray levels in 0..16")
    x = images.astype(np.uint8)
    class_names = [str(i) for i in range(10)]
    y = check_dataset(x, bunch.target, len(class_names), "scikit-learn digits")
    return Dataset(x=x, y=y, class_names=class_names)
