"""Histogram of oriented gradients over a batch of images, numerically scikit-image's.

The stages follow ``skimage.feature.hog`` (Dalal & Triggs 2005 with scikit-image's
choices), each written for a whole batch at once:

1. optional power-law compression (``transform_sqrt``);
2. central-difference gradients, zero on the image border; for colour images the
   channel with the strongest gradient at each pixel (or a luma image first);
3. per cell, a histogram of gradient orientation weighted by magnitude, divided by
   the cell area (hard binning: a pixel votes for one bin only);
4. block normalization (L1, L1-sqrt, L2, L2-Hys) over every overlapping block;
5. flattening in the order (block_row, block_col, cell_row, cell_col, orientation).

Exactness. scikit-image bins the float64 angle ``rad2deg(arctan2(g_row, g_col)) %
180`` against float32 bin edges. The exact path here repeats that arithmetic. The
fast path (uint8 images without ``transform_sqrt``: integer gradients in
[-255, 255]) uses a float32 ``arctan2`` instead, and is taken only when a one-off
check over all 511 x 511 possible integer gradients shows it assigns every one to
the same bin as the exact path. Float images also bin in float32, and re-bin the
pixels whose float32 angle lies within 1e-3 bin of an edge with the exact path.

Compiled path. When numba is installed, stages 1-3 and 4 run instead in the
one-pass kernels of ``_hog_numba`` (same numbers, several times faster); set the
environment variable ``WARPNET_NUMBA=0`` before the first HOG, or run it within
``warpnet._numba.numpy_path()``, to use the NumPy path regardless.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import _numba

BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")
COLOR_MODES = ("max", "gray")
# Added to block norms so an all-zero block stays zero instead of 0/0 (scikit-image's eps).
_EPS = 1e-5
# ITU-R BT.601 luma weights for the "gray" colour mode.
_LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class HogConfig:
    """Validated HOG parameters (see ``warpnet.features.HOG`` for their meaning)."""

    orientations: int
    cell: tuple[int, int]
    block: tuple[int, int]
    block_norm: str
    transform_sqrt: bool
    signed: bool
    color: str


def grid_shape(hw: tuple[int, int], cfg: HogConfig) -> tuple[int, int, int, int]:
    """(cell rows, cell cols, block rows, block cols) for an image of ``hw`` pixels."""
    ncr, ncc = hw[0] // cfg.cell[0], hw[1] // cfg.cell[1]
    return ncr, ncc, ncr - cfg.block[0] + 1, ncc - cfg.block[1] + 1


def feature_length(hw: tuple[int, int], cfg: HogConfig) -> int:
    """Features per image: block rows * block cols * cells per block * orientations."""
    _, _, nbr, nbc = grid_shape(hw, cfg)
    return nbr * nbc * cfg.block[0] * cfg.block[1] * cfg.orientations


# -- which path runs ---------------------------------------------------------------
# The compiled kernels, used where ``_numba.kernels`` finds them.
_COMPILED = "warpnet.features._hog_numba"


def backend() -> str:
    """Which path computes HOG: ``"numba <version>"`` or ``"NumPy"``."""
    nb = _numba.kernels(_COMPILED)
    return "NumPy" if nb is None else f"numba {nb.VERSION}"


def hog_features(images: np.ndarray, cfg: HogConfig, out: np.ndarray) -> None:
    """Write the HOG vectors of ``images`` (B, H, W[, C]) into ``out`` (B, D), C-contiguous.

    NumPy path: blocks are copied straight into ``out`` and normalized there, in
    ``out``'s dtype (float32 keeps the normalization error near 1e-7, far inside
    scikit-image parity). Compiled path: normalized in float64, then stored.
    """
    nb = _numba.kernels(_COMPILED)
    if nb is not None:
        sums = _compiled_cell_sums(images, cfg, nb)
        method = BLOCK_NORMS.index(cfg.block_norm)
        area = cfg.cell[0] * cfg.cell[1]
        nb.normalize_blocks(sums, cfg.block[0], cfg.block[1], method, 1.0 / area, out)
        return
    hist = cell_histograms(images, cfg).astype(out.dtype, copy=False)  # (B, ncr, ncc, n)
    normalize_blocks(hist, cfg.block, cfg.block_norm, out=out)


# -- stages 1-3, compiled ------------------------------------------------------------
def _compiled_cell_sums(images: np.ndarray, cfg: HogConfig, nb: ModuleType) -> np.ndarray:
    """Summed magnitudes (B, cell rows, cell cols, n + 1) float64 via ``_hog_numba``.

    Slot ``n`` of each cell holds what belongs in no bin and is to be ignored.
    uint8 images without ``transform_sqrt`` keep their exact integer gradients and
    look bins up in ``_bin_table``. Everything else goes to the float kernel in
    scikit-image's working dtype, one cache-sized piece at a time; the pixels it
    leaves near bin edges are binned here by ``exact_bins`` and added.
    """
    images = _luma(images) if cfg.color == "gray" else images
    x = images if images.ndim == 4 else images[..., None]  # grey: one channel
    x = x.astype(x.dtype.newbyteorder("="), copy=False)  # compiled code reads native order
    B, H, W = x.shape[:3]
    n = cfg.orientations
    sums = np.empty((B, H // cfg.cell[0], W // cfg.cell[1], n + 1))
    if x.dtype == np.uint8 and not cfg.transform_sqrt:
        table = _bin_table(n, cfg.signed)
        nb.histograms_uint8(np.ascontiguousarray(x), table, cfg.cell[0], cfg.cell[1], sums)
        return sums
    step = max(1, _INNER_PIXELS // (H * W))
    size = min(step, B) * H * W
    cell = np.empty(size, dtype=np.intp)
    g_row, g_col, mag = np.empty(size), np.empty(size), np.empty(size)
    flat = sums.reshape(-1)
    for s in range(0, B, step):
        chunk = np.ascontiguousarray(_exact_input(x[s : s + step], cfg.transform_sqrt))
        count = nb.histograms_float(
            chunk, chunk.dtype == np.float32, cfg.signed, nb.near_edge(n),
            cfg.cell[0], cfg.cell[1], sums[s : s + step], cell, g_row, g_col, mag,
        )
        bins = exact_bins(g_row[:count], g_col[:count], n, cfg.signed)
        # bin n (no bin) lands in the ignored slot; cell indices count from image s
        np.add.at(flat, s * sums[0].size + cell[:count] + bins, mag[:count])
    return sums


@lru_cache(maxsize=64)
def _bin_table(n: int, signed: bool) -> np.ndarray:
    """``exact_bins`` of every integer gradient pair, (511 * 511,) int8 (int32 for n > 126).

    Entry ``(g_row + 255) * 511 + g_col + 255``; the value ``n`` means no bin.
    """
    g = np.arange(-255, 256, dtype=np.float64)
    g_row, g_col = (a.ravel() for a in np.meshgrid(g, g, indexing="ij"))
    table = exact_bins(g_row, g_col, n, signed).astype(np.int8 if n < 127 else np.int32)
    table.flags.writeable = False
    return table


def _luma(images: np.ndarray) -> np.ndarray:
    """Grey images (B, H, W) for the "gray" colour mode; grey input passes through."""
    if images.ndim == 3:
        return images
    dtype = np.float32 if images.dtype == np.float32 else np.float64
    return images[..., :3] @ _LUMA.astype(dtype) if images.shape[3] >= 3 else images[..., 0]


# -- stages 1-3: gradients and cell histograms ------------------------------------
# Pixels per inner chunk: the float32 temporaries of one chunk stay in the L2 cache.
_INNER_PIXELS = 1 << 16


def cell_histograms(images: np.ndarray, cfg: HogConfig) -> np.ndarray:
    """Orientation histograms (B, cell rows, cell cols, orientations), float64.

    Each entry is the summed gradient magnitude of the cell's pixels in that bin,
    divided by the cell area, as in scikit-image.
    """
    nb = _numba.kernels(_COMPILED)
    if nb is not None:
        sums = _compiled_cell_sums(images, cfg, nb)[..., :-1]  # drop the no-bin slot
        return sums / (cfg.cell[0] * cfg.cell[1])
    if cfg.color == "gray":
        images = _luma(images)
    B, H, W = images.shape[:3]
    n = cfg.orientations
    ncr, ncc = H // cfg.cell[0], W // cfg.cell[1]
    S = 2 * n + 2
    sums = np.empty((B, ncr * ncc, S))  # per (image, cell, slot)
    fast = images.dtype == np.uint8 and not cfg.transform_sqrt and _fast_bins_exact(n, cfg.signed)
    step = max(1, _INNER_PIXELS // images[0].size)
    work = _FastWorkspace(min(step, B), images.shape[1:]) if fast else None
    for s in range(0, B, step):
        chunk = images[s : s + step]
        if work is not None:
            slots, mag = work.slots_and_magnitudes(chunk, n, cfg.signed)
        else:
            slots, mag = _float_slots_and_magnitudes(chunk, n, cfg.signed, cfg.transform_sqrt)
        sums[s : s + step] = _slot_sums(slots, mag, S, cfg.cell)
    # Fold slots into bins (slot s is bin s % n; slot 2n + 1 is dropped) and divide
    # by the cell area, once for the whole batch.
    hist = sums[..., :n] + sums[..., n : 2 * n]
    hist[..., 0] += sums[..., 2 * n]
    hist /= cfg.cell[0] * cfg.cell[1]
    return hist.reshape(B, ncr, ncc, n)


class _FastWorkspace:
    """Reused float32/intp buffers for the uint8 fast path (fresh large arrays cost page faults).

    Images are held channel-major, (C, B, H, W): the channel selection then works
    on contiguous planes of the whole chunk instead of every third value.
    """

    def __init__(self, B: int, image_shape: tuple[int, ...]) -> None:
        H, W = image_shape[:2]
        C = image_shape[2] if len(image_shape) == 3 else 1
        size = C * B * H * W
        self.x = np.empty(size, dtype=np.float32)
        self.g_row = np.empty(size, dtype=np.float32)
        self.g_col = np.empty(size, dtype=np.float32)
        self.m = np.empty(size, dtype=np.float32)
        self.t = np.empty(B * H * W, dtype=np.float32)
        self.wins = np.empty(B * H * W, dtype=np.bool_)
        self.slots = np.empty(B * H * W, dtype=np.intp)
        # bincount wants float64 weights; converting into a buffer beats its own cast.
        self.mag = np.empty(B * H * W, dtype=np.float64)

    def slots_and_magnitudes(
        self, chunk: np.ndarray, n: int, signed: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Orientation slots (b, H, W) intp and magnitudes (b, H, W) float64 of ``chunk``."""
        b, H, W = chunk.shape[:3]
        C = chunk.shape[3] if chunk.ndim == 4 else 1
        planes = (C, b, H, W)  # the first elements of each buffer, contiguous
        x, g_row, g_col, m = (
            a[: C * b * H * W].reshape(planes) for a in (self.x, self.g_row, self.g_col, self.m)
        )
        t, wins, slots, mag = (a[: b * H * W].reshape(b, H, W) for a in (
            self.t, self.wins, self.slots, self.mag))
        # uint8 -> float32 is exact; colour images are transposed to planes on the way
        np.copyto(x, chunk.transpose(3, 0, 1, 2) if chunk.ndim == 4 else chunk[None])
        _gradients_into(x.reshape(-1, H, W), g_row.reshape(-1, H, W), g_col.reshape(-1, H, W))
        # squared magnitudes: integers below 2**17, exact in float32
        np.multiply(g_row, g_row, out=m)
        np.multiply(g_col, g_col, out=x)
        np.add(m, x, out=m)
        r, c, best = _select_plane(g_row, g_col, m, wins, t)
        _fast_slots(r, c, n, signed, t=t, slots=slots)
        np.copyto(mag, np.sqrt(best, out=best))
        return slots, mag


def _select_plane(
    g_row: np.ndarray, g_col: np.ndarray, m: np.ndarray, wins: np.ndarray, tmp: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel, the gradient of the channel plane with the largest magnitude (first on ties).

    ``g_row``, ``g_col`` and ``m`` (squared magnitudes) are (C, B, H, W) float32
    integer values; the result ``(row, col, m)`` is three (B, H, W) views into
    plane 0 of the inputs, overwritten with the selected values. Comparing exact
    squared magnitudes orders channels exactly as scikit-image's float64 ``hypot``
    does; the selection is a blend ``a + win * (b - a)`` with ``win`` in {0, 1},
    exact for these small integers and cheaper than masked copies.
    """
    r, c, best = g_row[0], g_col[0], m[0]
    for ch in range(1, m.shape[0]):
        np.greater(m[ch], best, out=wins)  # strict: the first channel wins ties
        np.maximum(best, m[ch], out=best)
        for sel, plane in ((r, g_row[ch]), (c, g_col[ch])):
            np.subtract(plane, sel, out=tmp)
            np.multiply(tmp, wins, out=tmp)
            np.add(sel, tmp, out=sel)
    return r, c, best


# Float32 angles within this fraction of a bin from an edge are re-binned exactly; the
# float32 error is below 1e-5 bin, so every other angle is binned as in float64.
_NEAR_EDGE = 1e-3


def _float_slots_and_magnitudes(
    chunk: np.ndarray, n: int, signed: bool, transform_sqrt: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Slots (see ``_fast_slots``; ``2n + 1``: no bin) and float64 magnitudes, float input.

    Gradients and the colour channel are computed in scikit-image's working dtype.
    The angle is binned in float32 (``arctan2`` is several times faster there), and
    the few pixels whose float32 angle lies near a bin edge get ``exact_bins``, so
    the result is scikit-image's binning.
    """
    x = _exact_input(chunk, transform_sqrt)
    g_row = np.empty(x.shape, dtype=x.dtype)
    g_col = np.empty(x.shape, dtype=x.dtype)
    _gradients_into(x, g_row, g_col)
    g_row, g_col = _select_channel_exact(g_row, g_col)
    r32 = g_row.astype(np.float32)
    c32 = g_col.astype(np.float32)
    scale = np.float32(n / (2 * np.pi) if signed else n / np.pi)
    t = np.arctan2(r32, c32)
    t *= scale
    t += np.float32(n)
    frac, whole = np.modf(t)
    slots = whole.astype(np.intp)
    np.multiply(r32, r32, out=r32)
    np.multiply(c32, c32, out=c32)
    np.add(r32, c32, out=r32)
    # zero gradients add nothing, whatever their bin: leave them out of the re-binning
    near = np.flatnonzero(((frac < _NEAR_EDGE) | (frac > 1 - _NEAR_EDGE)) & (r32 > 0))
    if near.size:
        exact = exact_bins(
            g_row.reshape(-1)[near].astype(np.float64),
            g_col.reshape(-1)[near].astype(np.float64),
            n,
            signed,
        )
        exact[exact == n] = 2 * n + 1  # the dropped slot
        slots.reshape(-1)[near] = exact
    return slots, np.sqrt(r32, out=r32).astype(np.float64)


def _exact_input(images: np.ndarray, transform_sqrt: bool) -> np.ndarray:
    """Images in scikit-image's working dtype (float32 stays, the rest float64), sqrt'ed."""
    if images.dtype == np.uint8:
        if transform_sqrt:  # a lookup table gives the same float64 values as np.sqrt
            return np.sqrt(np.arange(256, dtype=np.float64))[images]
        return images.astype(np.float64)
    return np.sqrt(images) if transform_sqrt else images


def _gradients_into(x: np.ndarray, g_row: np.ndarray, g_col: np.ndarray) -> None:
    """Central differences along rows and columns, zero on the first and last row/col.

    Computed on the flattened batch (contiguous, so SIMD-fast); the differences that
    straddle two rows or two images land exactly on the border pixels, which are
    then zeroed.
    """
    W = x.shape[2]
    step = W * (x.shape[3] if x.ndim == 4 else 1)  # one image row, in flat elements
    cstep = step // W  # one pixel
    xf, rf, cf = x.reshape(-1), g_row.reshape(-1), g_col.reshape(-1)
    np.subtract(xf[2 * step :], xf[: -2 * step], out=rf[step:-step])
    np.subtract(xf[2 * cstep :], xf[: -2 * cstep], out=cf[cstep:-cstep])
    g_row[:, 0] = 0
    g_row[:, -1] = 0
    g_col[:, :, 0] = 0
    g_col[:, :, -1] = 0


def _select_channel_exact(g_row: np.ndarray, g_col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Channel selection on ``hypot`` in the working dtype, as scikit-image compares."""
    if g_row.ndim == 3:
        return g_row, g_col
    magn = np.hypot(g_row, g_col)
    best, r, c = magn[..., 0], g_row[..., 0], g_col[..., 0]
    for ch in range(1, g_row.shape[3]):
        wins = magn[..., ch] > best
        best = np.where(wins, magn[..., ch], best)
        r = np.where(wins, g_row[..., ch], r)
        c = np.where(wins, g_col[..., ch], c)
    return r, c


def exact_bins(g_row: np.ndarray, g_col: np.ndarray, n: int, signed: bool) -> np.ndarray:
    """Orientation bin of each pixel with scikit-image's float64 arithmetic, as intp.

    The angle ``rad2deg(arctan2(g_row, g_col)) % period`` falls in bin ``i`` when
    ``edge[i] <= angle < edge[i + 1]`` with float32 edges ``float32(period / n) * i``.
    An angle at or above the top edge (float32 rounding can put it below the period)
    belongs to no bin: it gets index ``n``, a slot that is discarded.
    """
    period = 360.0 if signed else 180.0
    theta = np.rad2deg(np.arctan2(g_row, g_col)) % period
    edges = _bin_edges(n, period)
    # The estimate is off by at most one bin because the float32 edges differ from
    # i * period / n by a few ulps only; the two comparisons settle it exactly.
    b = np.floor(theta * (n / period)).astype(np.intp)
    np.clip(b, 0, n, out=b)
    b -= theta < edges[b]
    b += theta >= edges[b + 1]
    return b


@lru_cache(maxsize=64)
def _bin_edges(n: int, period: float) -> np.ndarray:
    """Float64 copies of the float32 bin edges [0, e1, ..., en, inf] scikit-image uses."""
    width = np.float32(period / n)
    edges = np.empty(n + 2, dtype=np.float64)
    edges[0] = 0.0
    edges[1 : n + 1] = width * np.arange(1, n + 1, dtype=np.float32)
    edges[n + 1] = np.inf
    return edges


def _fast_slots(
    g_row: np.ndarray,
    g_col: np.ndarray,
    n: int,
    signed: bool,
    t: np.ndarray | None = None,
    slots: np.ndarray | None = None,
) -> np.ndarray:
    """Orientation slots 0..2n from a float32 angle; slot ``s`` is bin ``s % n``.

    ``arctan2`` lies in (-pi, pi]; scaling by n/pi (n/2pi when signed) and adding n
    makes it positive, so truncation is floor and no modulo pass is needed.
    ``t`` (float32) and ``slots`` (intp) are optional output buffers.
    """
    scale = np.float32(n / (2 * np.pi) if signed else n / np.pi)
    t = np.arctan2(g_row, g_col, out=t)
    t *= scale
    t += np.float32(n)
    if slots is None:
        return t.astype(np.intp)
    np.copyto(slots, t, casting="unsafe")
    return slots


@lru_cache(maxsize=64)
def _fast_bins_exact(n: int, signed: bool) -> bool:
    """True when the float32 slots bin every integer gradient pair like ``exact_bins``."""
    g = np.arange(-255, 256, dtype=np.float32)
    g_row, g_col = (a.ravel() for a in np.meshgrid(g, g, indexing="ij"))
    moving = (g_row != 0) | (g_col != 0)  # zero gradients add zero: their bin is moot
    fast = _fast_slots(g_row, g_col, n, signed) % n
    exact = exact_bins(g_row.astype(np.float64), g_col.astype(np.float64), n, signed)
    return bool(np.array_equal(fast[moving], exact[moving]))


def _slot_sums(slots: np.ndarray, mag: np.ndarray, S: int, cell: tuple[int, int]) -> np.ndarray:
    """Summed magnitudes (B, cells, S) per (image, cell, slot), from one bincount."""
    B, H, W = slots.shape
    ncells = (H // cell[0]) * (W // cell[1])
    slots += _slot_base(B, H, W, cell, S)
    kept = B * ncells * S
    sums = np.bincount(slots.ravel(), weights=mag.ravel(), minlength=kept + S)
    return sums[:kept].reshape(B, ncells, S)


@lru_cache(maxsize=8)
def _slot_base(B: int, H: int, W: int, cell: tuple[int, int], S: int) -> np.ndarray:
    """Offset of each pixel's cell in the flat (image, cell, slot) table.

    Pixels right of or below the last whole cell go to ``S`` extra trailing slots
    that are discarded, as scikit-image ignores them.
    """
    ncr, ncc = H // cell[0], W // cell[1]
    rows = np.arange(H) // cell[0]
    cols = np.arange(W) // cell[1]
    cell_id = rows[:, None] * ncc + cols[None, :]
    inside = (rows < ncr)[:, None] & (cols < ncc)[None, :]
    trash = B * ncr * ncc * S
    image_off = (np.arange(B) * (ncr * ncc * S))[:, None, None]
    base = np.where(inside[None], image_off + cell_id[None] * S, trash).astype(np.intp)
    base.flags.writeable = False
    return base


# -- stage 4: block normalization -------------------------------------------------
def normalize_blocks(
    hist: np.ndarray, block: tuple[int, int], method: str, out: np.ndarray | None = None
) -> np.ndarray:
    """Normalized blocks (B, block rows, block cols, br, bc, n) from cell histograms.

    Args:
        hist: (B, cell rows, cell cols, n) float cell histograms.
        block: cells per block (rows, cols).
        method: one of ``BLOCK_NORMS``.
        out: optional C-contiguous array of B * (all block values) elements, same
            dtype as ``hist``, that receives the result (e.g. the feature matrix).
    """
    B, _, _, n = hist.shape
    br, bc = block
    windows = sliding_window_view(hist, block, axis=(1, 2))  # (B, nbr, nbc, n, br, bc)
    blocks = np.moveaxis(windows, 3, -1)  # (B, nbr, nbc, br, bc, n)
    if out is None:
        out = np.empty(blocks.shape, dtype=hist.dtype)
    result = out.reshape(blocks.shape)
    np.copyto(result, blocks)  # blocks overlap: each cell is copied once per block
    v = out.reshape(-1, br * bc * n)
    # einsum reduces the short last axis several times faster than .sum(-1).
    if method == "L1":
        v /= (np.einsum("ij->i", np.abs(v)) + _EPS)[:, None]
    elif method == "L1-sqrt":
        v /= (np.einsum("ij->i", np.abs(v)) + _EPS)[:, None]
        np.sqrt(v, out=v)
    else:
        v /= np.sqrt(np.einsum("ij,ij->i", v, v) + _EPS**2)[:, None]
        if method == "L2-Hys":  # clip at 0.2 (Lowe), renormalize
            np.minimum(v, 0.2, out=v)
            v /= np.sqrt(np.einsum("ij,ij->i", v, v) + _EPS**2)[:, None]
    return result


# -- visualization ----------------------------------------------------------------
def hog_image(hist: np.ndarray, cell: tuple[int, int], hw: tuple[int, int]) -> np.ndarray:
    """Star-glyph picture (H, W) of one image's cell histograms (ncr, ncc, n).

    In each cell, one line per orientation through the cell centre, perpendicular
    to the bin's mid-angle, adds that bin's value to the pixels it covers (as
    ``skimage.feature.hog(..., visualize=True)`` draws it).
    """
    ncr, ncc, n = hist.shape
    c_row, c_col = cell
    radius = min(c_row, c_col) // 2 - 1
    mid = np.pi * (np.arange(n) + 0.5) / n
    dr = radius * np.sin(mid)
    dc = radius * np.cos(mid)
    picture = np.zeros(hw, dtype=np.float64)
    for r in range(ncr):
        for c in range(ncc):
            cr0, cc0 = r * c_row + c_row // 2, c * c_col + c_col // 2
            for o in range(n):
                rr, cc = draw_line(
                    int(cr0 - dc[o]), int(cc0 + dr[o]), int(cr0 + dc[o]), int(cc0 - dr[o])
                )
                picture[rr, cc] += hist[r, c, o]
    return picture


def draw_line(r0: int, c0: int, r1: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of the Bresenham line from (r0, c0) to (r1, c1), both ends included."""
    steep = abs(r1 - r0) > abs(c1 - c0)
    if steep:  # iterate along the longer axis
        r0, c0, r1, c1 = c0, r0, c1, r1
    dc, dr = abs(c1 - c0), abs(r1 - r0)
    sc = 1 if c1 > c0 else -1
    sr = 1 if r1 > r0 else -1
    rows, cols = [], []
    r, d = r0, 2 * dr - dc
    for i in range(dc):
        rows.append(r)
        cols.append(c0 + i * sc)
        while d >= 0:
            r += sr
            d -= 2 * dc
        d += 2 * dr
    rows.append(r1)
    cols.append(c1)
    rr, cc = np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)
    return (cc, rr) if steep else (rr, cc)
