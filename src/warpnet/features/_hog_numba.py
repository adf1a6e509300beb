"""Compiled HOG kernels (numba): gradients to cell histograms in one pass per image.

The NumPy path in ``_hog`` streams every pixel through memory several times
(gradients, channel choice, angle, ``bincount``). These kernels walk each image
once, row by row: a row's gradients and bins go into small reused buffers (loops
the compiler vectorizes), then every pixel's magnitude is added to its cell's
histogram. Block normalization is a second, small pass. The numbers are
``skimage.feature.hog``'s:

* gradients are central differences in the image's working dtype (uint8 as
  exact integers, float32 in float32, float64 in float64), zero on the border;
* colour images use, per pixel, the channel with the largest gradient magnitude
  as scikit-image compares it (``hypot`` in the working dtype; the first channel
  wins ties);
* the orientation bin is the one ``_hog.exact_bins`` gives. uint8 images look it
  up in a table of all 511 x 511 integer gradient pairs built by ``exact_bins``.
  Float images estimate the angle with a polynomial ``atan2`` and hand the few
  pixels within ``near_edge(n)`` bin of an edge back to the caller, which bins
  them with ``exact_bins``.

Histograms carry ``n + 1`` slots per cell: slot ``n`` collects what belongs in
no bin (angles at or above the float32 top edge, pixels handed back), so the
inner loop needs no branch; it is dropped afterwards.

Every kernel is ``nogil`` (the chunk threads of ``_parallel`` run them side by
side) and ``cache=True`` (compiled once per machine, for uint8, float32 and
float64 images). They take C-contiguous (B, H, W, C) images, grey ones with
C = 1, and do no input validation: ``HOG`` validates at its boundary.
"""

from __future__ import annotations

import math

import numba
import numpy as np

VERSION = numba.__version__
# error_model="numpy": a float division by zero gives inf/nan instead of raising, so
# divisions need no check that would stop the compiler from vectorizing the loop.
_jit = numba.njit(nogil=True, cache=True, error_model="numpy")
# For loops that sum: the sums may be reordered (vectorized), which changes their
# rounding by a few ulps, far below the 1e-5 parity with scikit-image.
_jit_sum = numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})

# Block norms by code, in ``_hog.BLOCK_NORMS`` order.
L1, L1_SQRT, L2, L2_HYS = 0, 1, 2, 3
# Added to block norms so an all-zero block stays zero instead of 0/0 (scikit-image's eps).
_EPS = 1e-5


def near_edge(n: int) -> float:
    """Fraction of a bin around each edge where the polynomial angle is not trusted.

    Two errors move a polynomial angle's position (in bins) against scikit-image's
    comparison: the polynomial's (below 1e-7 radian, i.e. n * 3.2e-8 bin) and the
    float32 rounding of the edges (up to n * 1.2e-7 bin). 1e-4 + n * 1e-6 bin
    covers both many times over; the pixels inside it are binned exactly.
    """
    return 1e-4 + n * 1e-6


@_jit
def _add_row_to_cells(cells, k, mag, cell_cols):
    """Add pixel ``t``'s ``mag[t]`` to slot ``k[t]`` of its cell ``cells[t // cell_cols]``.

    ``cells`` is one cell row's histograms (cell cols, n + 1); pixels right of the
    last whole cell are ignored, as scikit-image ignores them.
    """
    for cj in range(cells.shape[0]):
        h = cells[cj]
        for t in range(cj * cell_cols, (cj + 1) * cell_cols):
            h[k[t]] += mag[t]


# -- uint8 images: integer gradients, bins from a table ---------------------------
@_jit
def _int_row_gradients(img, r, tr, tc, gr, gc, m):
    """Strongest-channel gradients of row ``r`` of ``img`` (H, W, C) uint8.

    Writes ``gr``, ``gc`` (W,) int32 and the squared magnitude ``m`` (W,) int32;
    ``tr``, ``tc`` are scratch. Integer squared magnitudes order the channels as
    ``hypot`` does, exactly; the strict ``>`` keeps the first channel on ties.
    """
    H, W, C = img.shape
    inside = 0 < r < H - 1
    for ch in range(C):
        if inside:  # rows 0 and H - 1 have no row gradient
            up, down = img[r - 1], img[r + 1]
            for c in range(W):
                tr[c] = np.int32(down[c, ch]) - np.int32(up[c, ch])
        else:
            tr[:] = 0
        row = img[r]
        tc[0] = 0  # nor columns 0 and W - 1 a column gradient
        tc[W - 1] = 0
        for c in range(1, W - 1):
            tc[c] = np.int32(row[c + 1, ch]) - np.int32(row[c - 1, ch])
        if ch == 0:
            for c in range(W):
                gr[c], gc[c], m[c] = tr[c], tc[c], tr[c] * tr[c] + tc[c] * tc[c]
            continue
        for c in range(W):  # branch-free selection, so the loop vectorizes
            mm = tr[c] * tr[c] + tc[c] * tc[c]
            win = mm > m[c]
            gr[c] = tr[c] if win else gr[c]
            gc[c] = tc[c] if win else gc[c]
            m[c] = mm if win else m[c]


@_jit
def histograms_uint8(images, table, cell_rows, cell_cols, hist):
    """Summed gradient magnitudes per cell and bin of uint8 images.

    Args:
        images: (B, H, W, C) uint8, C-contiguous.
        table: (511 * 511,) int8/int32; entry ``(g_row + 255) * 511 + g_col + 255``
            is the bin of that integer gradient, ``n`` for no bin.
        cell_rows, cell_cols: cell size in pixels.
        hist: (B, cell rows, cell cols, n + 1) float64, overwritten.
    """
    B, H, W, _ = images.shape
    ncr = hist.shape[1]
    tr, tc, gr, gc, m = (np.empty(W, np.int32), np.empty(W, np.int32), np.empty(W, np.int32),
                         np.empty(W, np.int32), np.empty(W, np.int32))  # row buffers
    k = np.empty(W, np.intp)
    mag = np.empty(W)
    hist[:] = 0.0
    for b in range(B):
        img = images[b]
        for r in range(ncr * cell_rows):  # rows below the last whole cell are ignored
            _int_row_gradients(img, r, tr, tc, gr, gc, m)
            for c in range(W):
                k[c] = table[(gr[c] + 255) * 511 + gc[c] + 255]
                mag[c] = math.sqrt(m[c])
            _add_row_to_cells(hist[b, r // cell_rows], k, mag, cell_cols)


# -- float images: working-dtype gradients, polynomial angle, exact near edges ----
@_jit
def _float_row_gradients(img, r, single, tr, tc, gr, gc, m):
    """Strongest-channel gradients of row ``r`` of ``img`` (H, W, C) float32/float64.

    Differences are taken in ``img``'s dtype, then held in float64: ``gr``, ``gc``
    and the magnitude ``m`` (W,); ``tr``, ``tc`` (W,) of ``img``'s dtype are
    scratch. Channels are compared as scikit-image compares them: the float32
    ``hypot`` is the float32 rounding of the float64 root (``single``); float64
    magnitudes within 1e-12 of each other are settled by ``math.hypot`` itself.
    """
    H, W, C = img.shape
    inside = 0 < r < H - 1
    for ch in range(C):
        if inside:
            up, down = img[r - 1], img[r + 1]
            for c in range(W):
                tr[c] = down[c, ch] - up[c, ch]
        else:
            tr[:] = 0
        row = img[r]
        tc[0] = 0
        tc[W - 1] = 0
        for c in range(1, W - 1):
            tc[c] = row[c + 1, ch] - row[c - 1, ch]
        if ch == 0:
            for c in range(W):
                gr[c], gc[c] = tr[c], tc[c]
            if C > 1:
                _channel_magnitudes(gr, gc, single, m)
            continue
        for c in range(W):
            a, b = np.float64(tr[c]), np.float64(tc[c])
            mm = math.sqrt(a * a + b * b)
            if single:
                mm = np.float64(np.float32(mm))
                win = mm > m[c]
            elif abs(mm - m[c]) <= 1e-12 * mm:
                win = math.hypot(a, b) > math.hypot(gr[c], gc[c])
            else:
                win = mm > m[c]
            if win:
                gr[c], gc[c], m[c] = a, b, mm
    for c in range(W):  # the magnitude that is summed: of the float64 gradient
        m[c] = math.sqrt(gr[c] * gr[c] + gc[c] * gc[c])


@_jit
def _channel_magnitudes(gr, gc, single, m):
    """The magnitudes channels are compared by: float64, or float32-rounded (``single``)."""
    for c in range(gr.size):
        mm = math.sqrt(gr[c] * gr[c] + gc[c] * gc[c])
        m[c] = np.float64(np.float32(mm)) if single else mm


@_jit
def _row_angles(gr, gc, scale, n, u):
    """Angle of each gradient as a position in bins, ``u`` in [0, n] (W,) float64.

    arctan2 to about 1e-7 radian, branch-free so the loop vectorizes (Cephes'
    atanf polynomial): min(|y|, |x|) / max(|y|, |x|) lies in [0, 1]; above
    tan(pi/8) it is reduced with atan(t) = pi/4 + atan((t - 1) / (t + 1)); on
    |t| <= tan(pi/8) an odd degree-9 polynomial is accurate to single precision.
    The angle in (-pi, pi] times ``scale`` (bins per radian), plus n when
    negative, gives ``u``: arctan2's range covers the bins twice (unsigned) or
    once (signed).
    """
    for c in range(gr.size):
        y, x = gr[c], gc[c]
        ax, ay = abs(x), abs(y)
        hi, lo = max(ax, ay), min(ax, ay)
        t = lo / hi if hi > 0.0 else 0.0
        big = t > 0.4142135623730950
        t = (t - 1.0) / (t + 1.0) if big else t
        z = t * t
        p = (((8.05374449538e-2 * z - 1.38776856032e-1) * z + 1.99777106478e-1) * z
             - 3.33329491539e-1)
        a = (math.pi / 4 if big else 0.0) + t + p * z * t
        a = math.pi / 2 - a if ay > ax else a
        a = math.pi - a if x < 0.0 else a
        a = -a if y < 0.0 else a
        v = a * scale
        u[c] = v + n if v < 0.0 else v


@_jit
def histograms_float(images, single, signed, near, cell_rows, cell_cols, hist,
                     near_cell, near_gr, near_gc, near_mag):
    """Summed gradient magnitudes per cell and bin, leaving pixels near bin edges out.

    Args:
        images: (B, H, W, C) float32 or float64, C-contiguous (already square-rooted
            for ``transform_sqrt``).
        single: True for float32 images (channels compared in float32).
        signed: bin angles over 360 degrees instead of 180.
        near: ``near_edge(n)``.
        cell_rows, cell_cols: cell size in pixels.
        hist: (B, cell rows, cell cols, n + 1) float64, overwritten.
        near_cell, near_gr, near_gc, near_mag: (B * H * W,) buffers that receive, for
            each pixel whose angle lies within ``near`` bin of an edge, the flat index
            of its cell's slot 0 in ``hist``, its gradient and its magnitude.

    Returns:
        How many pixels were written to the ``near_*`` buffers.
    """
    B, H, W, _ = images.shape
    _, ncr, ncc, S = hist.shape
    n = S - 1
    scale = n / (2 * math.pi) if signed else n / math.pi  # bins per radian
    tr, tc = np.empty(W, images.dtype), np.empty(W, images.dtype)
    gr, gc, m, u = np.empty(W), np.empty(W), np.empty(W), np.empty(W)
    k = np.empty(W, np.intp)
    hist[:] = 0.0
    count = 0
    for b in range(B):
        img = images[b]
        for r in range(ncr * cell_rows):
            _float_row_gradients(img, r, single, tr, tc, gr, gc, m)
            _row_angles(gr, gc, scale, n, u)
            ci = r // cell_rows
            for c in range(ncc * cell_cols):
                k[c] = min(int(u[c]), n)
                frac = u[c] - k[c]
                if gr[c] == 0.0 and not signed:
                    # arctan2(+-0, x) is 0 or +-pi: 0 degrees after "% 180", bin 0
                    # (a common case in integer-valued images, settled here)
                    k[c] = 0
                elif m[c] > 0.0 and (frac < near or frac > 1.0 - near or k[c] == n):
                    near_cell[count] = ((b * ncr + ci) * ncc + c // cell_cols) * S
                    near_gr[count], near_gc[count], near_mag[count] = gr[c], gc[c], m[c]
                    count += 1
                    k[c] = n  # binned by the caller instead
            _add_row_to_cells(hist[b, ci], k, m, cell_cols)
    return count


# -- block normalization ----------------------------------------------------------
@_jit_sum
def normalize_blocks(hist, block_rows, block_cols, method, inv_area, out):
    """Normalized blocks of cell histograms, flattened into the feature rows ``out``.

    As scikit-image's ``_hog_normalize_block``, block by block, in float64.

    Args:
        hist: (B, cell rows, cell cols, n + 1) float64 summed magnitudes (slot n
            is ignored).
        block_rows, block_cols: cells per block.
        method: ``L1``, ``L1_SQRT``, ``L2`` or ``L2_HYS``.
        inv_area: 1 / cell area: turns sums into scikit-image's cell means.
        out: (B, D) float32 or float64, receives the blocks in the order (block row,
            block col, cell row, cell col, orientation).
    """
    B, ncr, ncc, S = hist.shape
    n = S - 1
    size = block_rows * block_cols * n
    v = np.empty(size)  # one block
    for b in range(B):
        pos = 0
        for i in range(ncr - block_rows + 1):
            for j in range(ncc - block_cols + 1):
                # gather the block (overlapping blocks copy each cell again) and its
                # L1 and squared L2 norms
                q, l1, l2 = 0, 0.0, 0.0
                for bi in range(block_rows):
                    for bj in range(block_cols):
                        for o in range(n):
                            x = hist[b, i + bi, j + bj, o] * inv_area
                            v[q] = x
                            l1 += abs(x)
                            l2 += x * x
                            q += 1
                # multiply by the reciprocal: one division per block instead of
                # one per value (the results differ from dividing by one ulp)
                if method == L1 or method == L1_SQRT:
                    f = 1.0 / (l1 + _EPS)
                else:
                    f = 1.0 / math.sqrt(l2 + _EPS * _EPS)
                if method == L2_HYS:  # clip at 0.2 (Lowe), renormalize
                    l2 = 0.0
                    for q in range(size):
                        x = min(v[q] * f, 0.2)
                        v[q] = x
                        l2 += x * x
                    f = 1.0 / math.sqrt(l2 + _EPS * _EPS)
                if method == L1_SQRT:
                    for q in range(size):
                        out[b, pos + q] = math.sqrt(v[q] * f)
                else:
                    for q in range(size):
                        out[b, pos + q] = v[q] * f
                pos += size
