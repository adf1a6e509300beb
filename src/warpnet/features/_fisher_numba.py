"""Compiled Fisher encoding (numba): posteriors to normalized vectors, over non-zero posteriors.

Computes what the NumPy path of ``_fisher.encode`` computes (the statistics S0,
S1, S2 per group of patches, their region sums, the mean and variance gradients,
the signed square root and the L2 normalization per region). The NumPy path
multiplies the whole (P, K) posterior matrix; here ``shift_rows`` and
``compact_rows`` turn each block of the posteriors' product into sparse rows (CSR:
after ``_fisher.POSTERIOR_FLOOR`` a descriptor keeps 2-10% of its K posteriors),
and ``encode_sparse`` accumulates each image's statistics over those alone and
writes every output value once instead of a dozen passes over (B, R, K, D)
arrays. ``nogil`` so the chunk threads run them side by side; ``cache=True``
compiles once per machine.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

VERSION = numba.__version__


#: Shifted log-posteriors are raised to this: exp(-80) = 1.8e-35 is a normal float32, and
#: K of them added to a row sum >= 1 change it by less than float64's rounding; after the
#: division they fall below the floor and become exactly 0, as the formula's do.
LOWEST = -80.0

# "reassoc" lets the sums of squares and the accumulations run as SIMD lanes (the order of
# float additions changes by rounding only: equal to the NumPy path within 1e-6 relative).
_FAST = {"nnan", "ninf", "contract", "reassoc", "nsz", "arcp"}


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def shift_rows(log_p: np.ndarray, const: np.ndarray) -> None:  # pragma: no cover - compiled
    """``log_p`` (n, K) in place: add ``const`` (K,), then subtract each row's maximum.

    One pass per row (the row stays in cache) instead of three over the whole block.
    After it every value is <= 0, so ``exp`` cannot overflow, and >= ``LOWEST``, so
    ``exp`` never produces subnormals (NumPy's slow path: 6x on real descriptors, where
    40% of the values fall below -87). The maximum is kept in 8 running lanes (a plain
    ``max`` reduction does not become SIMD code: 2-3x slower).
    """
    n, K = log_p.shape
    L = 8
    lanes = np.empty(L, dtype=log_p.dtype)
    for i in range(n):
        row = log_p[i]
        lanes[:] = row[0] + const[0]
        k = 0
        while k + L <= K:
            for j in range(L):
                v = row[k + j] + const[k + j]
                lanes[j] = v if v > lanes[j] else lanes[j]
            k += L
        top = lanes[0]
        for j in range(L):
            top = lanes[j] if lanes[j] > top else top
        for j in range(k, K):
            v = row[j] + const[j]
            top = v if v > top else top
        for k in range(K):
            v = row[k] + const[k] - top
            row[k] = v if v > LOWEST else LOWEST


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def compact_rows(p: np.ndarray, floor: float, first: int, ptr: np.ndarray, idx: np.ndarray,
                 val: np.ndarray) -> None:  # pragma: no cover - compiled
    """Rows ``first .. first + n`` of sparse posteriors from ``p`` (n, K), the exps of a block.

    Each row is divided by its sum; the values >= ``floor`` go to ``val`` with their
    component in ``idx``, row ``i``'s at ``ptr[i]:ptr[i + 1]`` (CSR; ``ptr[first]`` is
    already set). Most of a row falls below the floor, so what follows reads a few
    (component, weight) pairs per descriptor instead of K values. The candidates of
    every 32 values are found as a bit mask (a compare per value, no branch) and
    visited bit by bit: a branch per value would be mispredicted at every kept one
    (2x slower at 8% kept).
    """
    n, K = p.shape
    at = ptr[first]
    one = np.uint32(1)
    W = 32  # values per mask: a fixed-length loop of 32 compiles to SIMD compares (2.5x a 64-bit one)
    full = K - K % W
    lim_ = np.empty(1, dtype=p.dtype)  # the threshold in the row's dtype: float32 compares stay float32
    for i in range(n):
        row = p[i]
        total = row[0] - row[0]  # the row's dtype: float32 stays float32
        for k in range(K):
            total += row[k]
        scale = 1 / total
        lim_[0] = floor * total * 0.999  # below it v * scale < floor: the kept ones are rechecked
        lim = lim_[0]
        for k0 in range(0, full, W):
            mask = np.uint32(0)
            for j in range(W):
                mask |= np.uint32(row[k0 + j] >= lim) << np.uint32(j)
            while mask != 0:
                # a numba intrinsic: numba passes its typing context, mypy sees one argument missing
                k = k0 + trailing_zeros(mask)  # type: ignore[call-arg]
                mask &= mask - one
                v = row[k] * scale
                if v >= floor:
                    idx[at] = k
                    val[at] = v
                    at += 1
        for k in range(full, K):
            v = row[k] * scale
            if v >= floor:
                idx[at] = k
                val[at] = v
                at += 1
        ptr[first + i + 1] = at


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def encode_sparse(ptr: np.ndarray, idx: np.ndarray, val: np.ndarray, x: np.ndarray,
                  order: np.ndarray, bounds: np.ndarray, members: np.ndarray, means: np.ndarray,
                  inv_sigma: np.ndarray, inv_var: np.ndarray, weights: np.ndarray,
                  counts: np.ndarray, improved: bool, out: np.ndarray) -> None:  # pragma: no cover
    """Fisher vectors ``out`` (B, R, 2, K, D) from sparse posteriors and descriptors x (B, P, D).

    Posteriors in CSR (see ``compact_rows``): descriptor ``p`` of image ``b`` is row
    ``b * P + p``. Group g holds the patches ``order[bounds[g]:bounds[g + 1]]``. Each
    image's statistics accumulate over its non-zero posteriors only; a component no
    descriptor of a region touches has zero gradients there. Per region the gradients
    go to a scratch block (in cache), the "improved" norm is summed on the way (after
    the signed square root a value's square is its absolute value), and every output
    value is written once, already normalized.
    """
    B, P, D = x.shape
    K = means.shape[0]
    G = len(bounds) - 1
    R = members.shape[0]
    dt = x.dtype
    s0 = np.zeros((G, K), dtype=dt)
    s1 = np.zeros((G, K, D), dtype=dt)  # kept zero between images: only touched rows are reset
    s2 = np.zeros((G, K, D), dtype=dt)
    S0 = np.empty(K, dtype=dt)
    scale_ = np.empty(1, dtype=dt)  # the normalization factor in x's dtype (float32 stays float32)
    U = np.empty((K, D), dtype=dt)  # the region's gradients before the normalization
    V = np.empty((K, D), dtype=dt)
    for b in range(B):
        for g in range(G):
            for j in range(bounds[g], bounds[g + 1]):
                p = order[j]
                row = b * P + p
                for e in range(ptr[row], ptr[row + 1]):
                    k = idx[e]
                    w = val[e]
                    s0[g, k] += w
                    for d in range(D):
                        v = x[b, p, d]
                        s1[g, k, d] += w * v
                        s2[g, k, d] += w * v * v
        for r in range(R):
            n = max(counts[r], 1.0)
            total = 0.0
            for k in range(K):
                S0[k] = 0.0
                for g in range(G):
                    if members[r, g] != 0:
                        S0[k] += s0[g, k]
                if S0[k] == 0.0:  # no descriptor of the region touches k: zero gradients
                    continue
                for d in range(D):
                    U[k, d] = 0.0
                    V[k, d] = 0.0
                for g in range(G):
                    if members[r, g] != 0:
                        for d in range(D):
                            U[k, d] += s1[g, k, d]
                            V[k, d] += s2[g, k, d]
                cu = 1.0 / (n * math.sqrt(weights[k]))
                cv = 1.0 / (n * math.sqrt(2.0 * weights[k]))
                for d in range(D):
                    mu = means[k, d]
                    S1 = U[k, d]
                    u = (S1 - mu * S0[k]) * inv_sigma[k, d] * cu
                    v = ((V[k, d] - 2.0 * mu * S1 + mu * mu * S0[k]) * inv_var[k, d] - S0[k]) * cv
                    U[k, d] = u
                    V[k, d] = v
                    total += abs(u) + abs(v)
            scale_[0] = 1.0 / total if improved and total > 0.0 else 1.0
            scale = scale_[0]
            for part in range(2):  # the mean part, then the variance part: written in order, once
                grads = U if part == 0 else V
                for k in range(K):
                    if S0[k] == 0.0:
                        for d in range(D):
                            out[b, r, part, k, d] = 0.0
                    elif improved:
                        for d in range(D):
                            value = grads[k, d]
                            out[b, r, part, k, d] = math.copysign(math.sqrt(abs(value) * scale), value)
                    else:
                        for d in range(D):
                            out[b, r, part, k, d] = grads[k, d]
        for g in range(G):  # reset what this image touched, for the next one
            for k in range(K):
                if s0[g, k] != 0.0:
                    s0[g, k] = 0.0
                    for d in range(D):
                        s1[g, k, d] = 0.0
                        s2[g, k, d] = 0.0
