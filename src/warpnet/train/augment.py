"""Data augmentation of image minibatches, inside the trainer's gather.

Rows of the (N, D) input are images flattened from ``image_shape`` = (H, W) or (H, W, C)
(channels last, as the data loaders and ``warpnet.features`` use).  Each minibatch is transformed
independently, with draws from a generator seeded by ``(seed, epoch, batch)``: the same seed gives
the same batches, and a resumed run redraws exactly what the interrupted one drew.

Transforms, in this order:

- flip: each image is mirrored left-right (``img[:, ::-1]``) with probability 1/2;
- shift s: the image is padded with s zeros on every side and an H x W window is cut at a
  uniform offset in [0, 2s] each way (a translation by up to s pixels; what moves in is zero,
  which after per-pixel standardisation is the mean image);
- cutout L: a square of side L centred on a uniform pixel (clipped at the borders) is set to
  zero (DeVries & Taylor, 2017).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UsageError

__all__ = ["Augmentation", "parse_augment"]


@dataclass(frozen=True)
class Augmentation:
    """Random flips, shifts and cutout of flattened images (see the module's notes).

    Attributes:
        image_shape: (H, W) or (H, W, C) of one image; D = H * W * C.
        flip: mirror left-right with probability 1/2.
        shift: largest translation in pixels (zero padding), >= 0.
        cutout: side of the zeroed square, >= 0 (0: none).

    Raises:
        UsageError: a bad image shape, a negative shift or cutout, or a shift/cutout larger than
            the image.
    """

    image_shape: tuple[int, ...]
    flip: bool = True
    shift: int = 0
    cutout: int = 0

    def __post_init__(self) -> None:
        shape = self.image_shape
        if (not isinstance(shape, (tuple, list)) or len(shape) not in (2, 3)
                or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1
                           for v in shape)):
            raise UsageError(f"image_shape must be (H, W) or (H, W, C) of positive integers, "
                             f"got {shape!r}")
        object.__setattr__(self, "image_shape", tuple(int(v) for v in shape))
        H, W = self.image_shape[:2]
        for name, value in (("shift", self.shift), ("cutout", self.cutout)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise UsageError(f"augmentation {name} must be an integer >= 0, got {value!r}")
            if value > max(H, W):
                raise UsageError(f"augmentation {name}={value} is larger than the {H}x{W} image")

    @property
    def n_features(self) -> int:
        return math.prod(self.image_shape)

    def spec(self) -> str:
        """The text form ``parse_augment`` reads back, e.g. "flip,shift=4,cutout=8"."""
        parts = (["flip"] if self.flip else []) + ([f"shift={self.shift}"] if self.shift else []) \
            + ([f"cutout={self.cutout}"] if self.cutout else [])
        return ",".join(parts) or "none"

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A new (n, D) array of augmented images; ``x`` is not modified.

        Raises:
            ValueError: ``x`` is not (n, D) with D = prod(image_shape).
        """
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"augmentation of images of shape {self.image_shape} needs input of "
                             f"shape (n, {self.n_features}), got {tuple(x.shape)}")
        n = int(x.shape[0])
        H, W = self.image_shape[:2]
        img = x.reshape(n, H, W, -1)  # (n, H, W, C), a view
        # The draws, always in this order (the same seed gives the same batches).
        mirror = rng.random(n) < 0.5 if self.flip else np.zeros(n, bool)
        s = self.shift
        # Offsets in [0, 2s] of the H x W window in the image padded by s: shift by (dy - s, dx - s).
        dy = rng.integers(0, 2 * s + 1, n) - s if s else np.zeros(n, np.int64)
        dx = rng.integers(0, 2 * s + 1, n) - s if s else np.zeros(n, np.int64)
        out = np.zeros_like(img) if s else np.empty_like(img)
        for i in range(n):  # slices per image: far cheaper than a gather over every pixel
            src = img[i, :, ::-1] if mirror[i] else img[i]
            sy, sx = int(dy[i]), int(dx[i])  # out[y, x] = src[y + sy, x + sx], zero outside
            out[i, max(0, -sy):H - max(0, sy), max(0, -sx):W - max(0, sx)] = \
                src[max(0, sy):H + min(0, sy), max(0, sx):W + min(0, sx)]
        if self.cutout:
            L = self.cutout
            cy = rng.integers(0, H, n) - L // 2
            cx = rng.integers(0, W, n) - L // 2
            for i in range(n):
                y0, x0 = int(cy[i]), int(cx[i])
                out[i, max(0, y0):max(0, y0 + L), max(0, x0):max(0, x0 + L)] = 0
        return out.reshape(n, -1)


_ITEM = re.compile(r"^(flip|shift|cutout)(?:=(\d+))?$")


def parse_augment(spec: str, image_shape: Any) -> Augmentation | None:
    """An ``Augmentation`` from text such as "flip,shift=4,cutout=8" ("none" or "": None).

    Args:
        spec: comma-separated items ``flip``, ``shift=S``, ``cutout=L``.
        image_shape: (H, W) or (H, W, C) of the inputs, or None when the data has none recorded.

    Raises:
        UsageError: an unknown item, or augmentation asked for without an image shape.
    """
    if not isinstance(spec, str):
        raise UsageError(f"augment must be a text such as 'flip,shift=4', got {spec!r}")
    items = [item.strip() for item in spec.split(",") if item.strip()]
    if not items or items == ["none"]:
        return None
    args: dict[str, Any] = {"flip": False}
    for item in items:
        match = _ITEM.match(item)
        if match is None or (match.group(1) == "flip") != (match.group(2) is None):
            raise UsageError(f"augment item {item!r} is not one of flip, shift=S, cutout=L")
        args[match.group(1)] = True if match.group(1) == "flip" else int(match.group(2))
    if image_shape is None:
        raise UsageError("augment needs image inputs, but no image shape is recorded for this "
                         "data; give image_shape=(H, W) or (H, W, C)")
    return Augmentation(tuple(image_shape), **args)
