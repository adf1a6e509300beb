"""Compiled Fisher encoding (numba): posteriors to normalized vectors, over non-zero posteriors.

Computes what the NumPy path of ``_fisher.encode`` computes (the statistics S0,
S1, S2 per group of patches, their region sums, the mean and variance gradients,
the signed square root and the L2 normalization per region). The NumPy path
multiplies the whole (P, K) posterior matrix; here each image's statistics
accumulate over its non-zero posteriors only (about 3% of them after
``_fisher.POSTERIOR_FLOOR``), and every output value is written once instead of
a dozen passes over (B, R, K, D) arrays. Before it, ``shift_rows`` and
``normalize_rows`` turn the products of ``_fisher.posteriors`` into posteriors one
row at a time. ``nogil`` so the chunk threads run them side by side; ``cache=True``
compiles once per machine.
"""

from __future__ import annotations

import math

import numba
import numpy as np

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
def normalize_rows(p: np.ndarray, floor: float) -> None:  # pragma: no cover - compiled
    """``p`` (n, K) in place: divide each row by its sum, then values below ``floor`` become 0."""
    n, K = p.shape
    for i in range(n):
        row = p[i]
        total = row[0] - row[0]  # the row's dtype: float32 stays float32
        for k in range(K):
            total += row[k]
        scale = 1 / total
        for k in range(K):
            v = row[k] * scale
            row[k] = v if v >= floor else 0 * v


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
def encode_sparse(gamma: np.ndarray, x: np.ndarray, bounds: np.ndarray, members: np.ndarray,
                  means: np.ndarray, inv_sigma: np.ndarray, inv_var: np.ndarray,
                  weights: np.ndarray, counts: np.ndarray, improved: bool,
                  out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fisher vectors ``out`` (B, R, 2, K, D) from posteriors and descriptors, skipping zeros.

    gamma: (B, P, K) posteriors and x: (B, P, D) descriptors, patches sorted by group
    (group g: ``bounds[g]:bounds[g + 1]``). Each image's statistics are accumulated
    only over its non-zero posteriors (most are exactly zero: a descriptor belongs to
    a few components), and a component no descriptor of a region touches has zero
    gradients there, so it is left at zero. Same numbers as the matrix products.
    """
    B, P, K = gamma.shape
    D = x.shape[2]
    G = len(bounds) - 1
    R = members.shape[0]
    s0 = np.zeros((G, K), dtype=x.dtype)
    s1 = np.zeros((G, K, D), dtype=x.dtype)  # kept zero between images: only touched rows are reset
    s2 = np.zeros((G, K, D), dtype=x.dtype)
    S0 = np.empty(K, dtype=x.dtype)
    S1 = np.empty(D, dtype=x.dtype)
    S2 = np.empty(D, dtype=x.dtype)
    for b in range(B):
        for g in range(G):
            for p in range(bounds[g], bounds[g + 1]):
                for k in range(K):
                    w = gamma[b, p, k]
                    if w != 0.0:
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
                    for d in range(D):
                        out[b, r, 0, k, d] = 0.0
                        out[b, r, 1, k, d] = 0.0
                    continue
                for d in range(D):
                    S1[d] = 0.0
                    S2[d] = 0.0
                for g in range(G):
                    if members[r, g] != 0:
                        for d in range(D):
                            S1[d] += s1[g, k, d]
                            S2[d] += s2[g, k, d]
                cu = 1.0 / (n * math.sqrt(weights[k]))
                cv = 1.0 / (n * math.sqrt(2.0 * weights[k]))
                for d in range(D):
                    mu = means[k, d]
                    u = (S1[d] - mu * S0[k]) * inv_sigma[k, d] * cu
                    v = ((S2[d] - 2.0 * mu * S1[d] + mu * mu * S0[k]) * inv_var[k, d] - S0[k]) * cv
                    if improved:
                        u = math.copysign(math.sqrt(abs(u)), u)
                        v = math.copysign(math.sqrt(abs(v)), v)
                    total += u * u + v * v
                    out[b, r, 0, k, d] = u
                    out[b, r, 1, k, d] = v
            if improved and total > 0.0:  # rescale the touched components only
                scale = 1.0 / math.sqrt(total)
                for k in range(K):
                    if S0[k] != 0.0:
                        for d in range(D):
                            out[b, r, 0, k, d] *= scale
                            out[b, r, 1, k, d] *= scale
        for g in range(G):  # reset what this image touched, for the next one
            for k in range(K):
                if s0[g, k] != 0.0:
                    s0[g, k] = 0.0
                    for d in range(D):
                        s1[g, k, d] = 0.0
                        s2[g, k, d] = 0.0
