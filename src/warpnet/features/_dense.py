"""Dense patch descriptors as matrix products: the grid, SIFT and colour statistics.

Both descriptors pool per-pixel maps (gradient-orientation planes for SIFT,
colour values and their squares for the colour statistics) over the 4 x 4
spatial bins of every patch of a dense grid. Because every patch of one scale
uses the same pooling kernel, shifted, and that kernel is separable (a product of
a row weight and a column weight), the pooling of a whole image is two matrix
products: ``maps (H, W) @ Ax.T (W, 4 * Gx)`` contracts the columns, then
``Ay (4 * Gy, H) @ ...`` the rows. Pixels outside the image simply have no
column in the matrices: patches that reach past the border see zeros there.

Coordinates: pixel ``i`` has its centre at ``i``; the patch of side ``s``
starting at pixel ``r0`` covers pixels ``r0 .. r0 + s - 1`` and has its centre at
``r0 + (s - 1) / 2``; its spatial bin ``b`` (0..3) is centred at
``centre + (b - 1.5) * s / 4``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .. import _numba

N_BINS = 4  # spatial bins per side
N_ORIENTATIONS = 8
SIFT_LENGTH = N_BINS * N_BINS * N_ORIENTATIONS  # 128
COLOR_LENGTH = N_BINS * N_BINS * 2 * 3  # 96: mean and std of R, G, B per bin
CLIP = 0.2  # Lowe (2004): no gradient magnitude dominates a descriptor
GREY = np.array([0.299, 0.587, 0.114])


def grid_starts(size: int, patch_size: int, step: int) -> np.ndarray:
    """First pixel of every patch along one axis: ``0, step, ...`` while the patch fits."""
    return np.arange(0, size - patch_size + 1, step)


def grid_centres(shape: tuple[int, int], patch_size: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Patch centres along rows and columns: ``(cy (Gy,), cx (Gx,))`` float64."""
    half = (patch_size - 1) / 2
    return (grid_starts(shape[0], patch_size, step) + half,
            grid_starts(shape[1], patch_size, step) + half)


def all_centres(shape: tuple[int, int], patch_size: int, step: int, n_scales: int) -> np.ndarray:
    """(n_scales * Gy * Gx, 2) float64 (row, col) centres, scale-major then row-major."""
    cy, cx = grid_centres(shape, patch_size, step)
    grid = np.stack(np.meshgrid(cy, cx, indexing="ij"), axis=-1).reshape(-1, 2)
    return np.tile(grid, (n_scales, 1))


# -- pooling matrices ------------------------------------------------------------------
def sift_weights(centres: np.ndarray, scale: float, size: int, window: bool = True) -> np.ndarray:
    """Row (or column) weights (4 * G, size) of the SIFT bins of patches of side ``scale``.

    Entry ``[b * G + g, y]`` is the share of pixel ``y`` in spatial bin ``b`` of
    patch ``g``: the triangle ``max(0, 1 - |y - bin centre| / w)`` of the bin width
    ``w = scale / 4`` (linear interpolation between neighbouring bins) times the
    Gaussian window ``exp(-d^2 / (2 sigma^2))`` of the distance ``d`` to the patch
    centre, ``sigma = scale / 2`` (half the descriptor width, Lowe 2004); without
    ``window`` every pixel counts fully (VLFeat's flat window, kornia's dense SIFT).
    """
    w = scale / N_BINS
    y = np.arange(size, dtype=np.float64)
    d = y[None, :] - centres[:, None]  # (G, size) offset from the patch centre
    offsets = (np.arange(N_BINS) - (N_BINS - 1) / 2) * w  # bin centres relative to the patch's
    tri = np.maximum(0.0, 1.0 - np.abs(d[None] - offsets[:, None, None]) / w)  # (4, G, size)
    if not window:
        return tri.reshape(N_BINS * len(centres), size)
    gaussian = np.exp(-(d**2) / (2 * (scale / 2) ** 2))
    return (tri * gaussian[None]).reshape(N_BINS * len(centres), size)


def box_weights(centres: np.ndarray, scale: int, size: int) -> np.ndarray:
    """Row (or column) indicators (4 * G, size) of the 4 sub-regions of patches of side ``scale``.

    Sub-region ``b`` of the patch centred at ``c`` holds the pixels ``y`` with
    ``floor(b * scale / 4) <= y - c + (scale - 1) / 2 < floor((b + 1) * scale / 4)``.
    """
    y = np.arange(size, dtype=np.float64)
    rel = y[None, :] - centres[:, None] + (scale - 1) / 2  # (G, size), integer-valued
    edges = np.floor(np.arange(N_BINS + 1) * scale / N_BINS)
    inside = (rel[None] >= edges[:-1, None, None]) & (rel[None] < edges[1:, None, None])
    return inside.reshape(N_BINS * len(centres), size).astype(np.float64)


def pool(maps: np.ndarray, Ay: np.ndarray, Ax: np.ndarray) -> np.ndarray:
    """Pool per-pixel maps over every bin of every patch.

    Args:
        maps: (B, M, H, W) maps (M of them per image).
        Ay: (4 * Gy, H) row weights; Ax: (4 * Gx, W) column weights.

    Returns:
        (B, Gy * Gx, 4, 4, M): per patch (row-major), bin row, bin column, map.
    """
    B, M, H, W = maps.shape
    by_gy, bx_gx = Ay.shape[0], Ax.shape[0]
    cols = maps.reshape(B * M * H, W) @ Ax.T  # contract columns: (B * M * H, 4 * Gx)
    # rows next, as one product over all images and maps: (H, B * M * 4 * Gx)
    cols = cols.reshape(B * M, H, bx_gx).transpose(1, 0, 2).reshape(H, B * M * bx_gx)
    pooled = Ay @ cols  # (4 * Gy, B * M * 4 * Gx)
    Gy, Gx = by_gy // N_BINS, bx_gx // N_BINS
    pooled = pooled.reshape(N_BINS, Gy, B, M, N_BINS, Gx)
    return pooled.transpose(2, 1, 5, 0, 4, 3).reshape(B, Gy * Gx, N_BINS, N_BINS, M)


# -- SIFT ------------------------------------------------------------------------------
def grey(images: np.ndarray, dtype: type[np.floating]) -> np.ndarray:
    """(B, H, W) grey level in ``dtype``: luma 0.299 R + 0.587 G + 0.114 B of colour images."""
    if images.ndim == 3:
        return images.astype(dtype)
    if images.shape[3] == 1:
        return images[..., 0].astype(dtype)
    return (images[..., :3] @ GREY.astype(dtype)).astype(dtype, copy=False)


# The compiled kernels, used where ``_numba.kernels`` finds them.
_COMPILED = "warpnet.features._dense_numba"


def backend() -> str:
    """Which path computes the orientation planes: ``"numba <version>"`` or ``"NumPy"``."""
    nb = _numba.kernels(_COMPILED)
    return "NumPy" if nb is None else f"numba {nb.VERSION}"


def orientation_planes(img: np.ndarray, smoothing: float) -> np.ndarray:
    """Gradient magnitude split over 8 orientation planes: (B, 8, H, W).

    Gradients are central differences, zero on the image's outer pixels; the angle is
    counter-clockwise with the y axis pointing up (``atan2(I[y-1] - I[y+1],
    I[x+1] - I[x-1])``, OpenCV's and Lowe's convention), and the magnitude goes
    to the two nearest of the 8 orientations (bin ``o`` centred at ``o * 45``
    degrees) by linear interpolation.
    """
    if smoothing > 0:
        img = gaussian_filter1d(img, smoothing, axis=1, mode="nearest")
        img = gaussian_filter1d(img, smoothing, axis=2, mode="nearest")
    nb = _numba.kernels(_COMPILED)
    if nb is not None:
        planes = np.zeros((img.shape[0], N_ORIENTATIONS, *img.shape[1:]), dtype=img.dtype)
        nb.orientation_planes(np.ascontiguousarray(img), planes)
        return planes
    return orientation_planes_numpy(img)


def orientation_planes_numpy(img: np.ndarray) -> np.ndarray:
    """The NumPy path of ``orientation_planes`` (no smoothing)."""
    gx = np.zeros_like(img)
    gy = np.zeros_like(img)
    gx[:, 1:-1, 1:-1] = img[:, 1:-1, 2:] - img[:, 1:-1, :-2]
    gy[:, 1:-1, 1:-1] = img[:, :-2, 1:-1] - img[:, 2:, 1:-1]
    mag = np.hypot(gx, gy)
    pos = np.arctan2(gy, gx) * (N_ORIENTATIONS / (2 * math.pi))  # in bins, -4..4
    pos %= N_ORIENTATIONS
    lower = np.floor(pos)
    frac = (pos - lower).astype(img.dtype)
    lower = lower.astype(np.intp) % N_ORIENTATIONS
    upper = (lower + 1) % N_ORIENTATIONS
    B, H, W = img.shape
    planes = np.zeros((B, N_ORIENTATIONS, H, W), dtype=img.dtype)
    b, y, x = np.indices((B, H, W), sparse=True)
    planes[b, lower, y, x] = mag * (1 - frac)
    planes[b, upper, y, x] += mag * frac  # "+=": both shares land in one plane when frac is 0
    return planes


def normalize_sift(desc: np.ndarray) -> np.ndarray:
    """L2-normalize, clip at 0.2, L2-normalize again, in place on (..., 128); zeros stay zero."""
    for _ in range(2):
        norm = np.sqrt(np.einsum("...i,...i->...", desc, desc))[..., None]
        np.divide(desc, norm, out=desc, where=norm > 0)
        if _ == 0:
            np.minimum(desc, CLIP, out=desc)
    return desc


def sift(images: np.ndarray, centres_yx: tuple[np.ndarray, np.ndarray], scales: tuple[int, ...],
         smoothing: float, dtype: type[np.floating], window: bool = True) -> np.ndarray:
    """Dense SIFT descriptors (B, S * Gy * Gx, 128) of a chunk, scale-major.

    Layout of the 128 values: (bin row, bin column, orientation), as OpenCV's.
    """
    img = grey(images, dtype)
    planes = orientation_planes(img, smoothing)
    H, W = img.shape[1:]
    out = []
    for s in scales:
        Ay = sift_weights(centres_yx[0], s, H, window).astype(dtype)
        Ax = sift_weights(centres_yx[1], s, W, window).astype(dtype)
        desc = pool(planes, Ay, Ax).reshape(len(img), -1, SIFT_LENGTH)
        out.append(normalize_sift(desc))
    return out[0] if len(out) == 1 else np.concatenate(out, axis=1)


# -- colour statistics -----------------------------------------------------------------
def color_stats(images: np.ndarray, centres_yx: tuple[np.ndarray, np.ndarray],
                scales: tuple[int, ...], dtype: type[np.floating]) -> np.ndarray:
    """Mean and standard deviation of R, G, B per sub-region: (B, S * Gy * Gx, 96).

    Layout of the 96 values: (bin row, bin column, statistic (mean, std), channel).
    Sums run in float64 so that a flat region has a standard deviation of exactly 0.
    """
    x = np.moveaxis(images, 3, 1).astype(np.float64)  # (B, 3, H, W)
    maps = np.concatenate([x, x * x], axis=1)  # (B, 6, H, W)
    B, _, H, W = maps.shape
    out = []
    for s in scales:
        Ay = box_weights(centres_yx[0], s, H)
        Ax = box_weights(centres_yx[1], s, W)
        sums = pool(maps, Ay, Ax)  # (B, P, 4, 4, 6)
        count = pool(np.ones((1, 1, H, W)), Ay, Ax)[0, :, :, :, 0]  # pixels per sub-region
        count = np.maximum(count, 1.0)[None, :, :, :, None]
        mean = sums[..., :3] / count
        var = np.maximum(sums[..., 3:] / count - mean * mean, 0.0)
        stats = np.stack([mean, np.sqrt(var)], axis=-2)  # (B, P, 4, 4, 2, 3)
        out.append(stats.reshape(B, -1, COLOR_LENGTH).astype(dtype))
    return out[0] if len(out) == 1 else np.concatenate(out, axis=1)
