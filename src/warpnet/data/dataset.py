"""The one return type of every loader: arrays plus class names, and an optional test split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError

__all__ = ["Dataset"]


@dataclass(frozen=True)
class Dataset:
    """Samples, targets and class names as one value.

    Attributes:
        x: samples, ``(N, H, W, C)`` images (uint8 for the image loaders), ``(N, H, W)`` gray
            images (digits) or ``(N, D)`` feature vectors.
        y: ``(N,)`` int64 class indices in ``0..len(class_names)-1``, or float64 targets for the
            regression toy sets (whose ``class_names`` is empty).
        class_names: the name of each class index, e.g. ``["airplane", "automobile", ...]``.
        test: the held-out split for sources that ship one (CIFAR-10, an npz folder), else None.

    Raises:
        TypeError: ``x`` or ``y`` not an array, ``class_names`` not a list of strings, ``test``
            not a Dataset.
        DataError: ``x`` and ``y`` differ in length.
    """

    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    test: Dataset | None = None

    def __post_init__(self) -> None:
        for name in ("x", "y"):
            value = getattr(self, name)
            if not (hasattr(value, "shape") and hasattr(value, "__len__")) or len(value.shape) == 0:
                raise TypeError(f"Dataset {name} must be an array with a first axis of samples, got "
                                f"{type(value).__name__}")
        if not isinstance(self.class_names, (list, tuple)) \
                or not all(isinstance(c, str) for c in self.class_names):
            raise TypeError(f"Dataset class_names must be a list of strings, got {self.class_names!r:.80}")
        if self.test is not None and not isinstance(self.test, Dataset):
            raise TypeError(f"Dataset test must be a Dataset or None, got {type(self.test).__name__}")
        if len(self.x) != len(self.y):
            raise DataError(
                f"x and y must have the same length, got {len(self.x)} samples and "
                f"{len(self.y)} targets"
            )

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for a regression set)."""
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.x)

    def __repr__(self) -> str:
        test = f", test={len(self.test)} samples" if self.test is not None else ""
        return (
            f"Dataset(x={self.x.shape} {self.x.dtype}, y={self.y.shape} {self.y.dtype}, "
            f"{self.n_classes} classes{test})"
        )
