"""Compiled orientation planes for dense SIFT (numba): one pass over each image.

Computes exactly what ``_dense.orientation_planes_numpy`` computes (central
differences, zero on the border; the magnitude split linearly between the two
nearest of 8 orientations), without the NumPy path's temporaries. ``nogil`` so
the chunk threads run it side by side; ``cache=True`` compiles once per machine.
"""

from __future__ import annotations

import math

import numba
import numpy as np

VERSION = numba.__version__


@numba.njit(cache=True, nogil=True, error_model="numpy")
def orientation_planes(img: np.ndarray, planes: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fill ``planes`` (B, 8, H, W), zeroed by the caller, from ``img`` (B, H, W)."""
    B, H, W = img.shape
    scale = 8.0 / (2.0 * math.pi)
    for b in range(B):
        for y in range(1, H - 1):
            for x in range(1, W - 1):
                gx = img[b, y, x + 1] - img[b, y, x - 1]
                gy = img[b, y - 1, x] - img[b, y + 1, x]
                mag = math.sqrt(gx * gx + gy * gy)
                if mag == 0.0:
                    continue
                pos = math.atan2(gy, gx) * scale
                if pos < 0.0:
                    pos += 8.0
                lower = math.floor(pos)
                frac = pos - lower
                o = int(lower) % 8
                planes[b, o, y, x] = mag * (1.0 - frac)
                planes[b, (o + 1) % 8, y, x] = mag * frac
