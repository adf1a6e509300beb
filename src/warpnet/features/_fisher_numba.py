"""Compiled last step of the Fisher encoding (numba): statistics to normalized vectors in one pass.

Computes what ``_fisher.finish`` computes with NumPy (region sums of the group
statistics, the mean and variance gradients, the signed square root and the L2
normalization per region), reading every statistic once and writing every output
value once, instead of a dozen passes over (B, R, K, D) arrays. ``nogil`` so the
chunk threads run it side by side; ``cache=True`` compiles once per machine.
"""

from __future__ import annotations

import math

import numba
import numpy as np

VERSION = numba.__version__


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"nnan", "ninf", "contract"})
def finish(s0: np.ndarray, s12: np.ndarray, members: np.ndarray, means: np.ndarray,
           inv_sigma: np.ndarray, inv_var: np.ndarray, weights: np.ndarray, counts: np.ndarray,
           improved: bool, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fill ``out`` (B, R, 2, K, D) from group statistics s0 (G, B, K), s12 (G, B, K, 2D).

    ``members`` (R, G) says which groups make up each region.
    """
    G, B, K, D2 = s12.shape
    D = D2 // 2
    R = members.shape[0]
    S1 = np.empty(D, dtype=s12.dtype)
    S2 = np.empty(D, dtype=s12.dtype)
    for b in range(B):
        for r in range(R):
            n = max(counts[r], 1.0)
            total = 0.0
            for k in range(K):
                S0 = 0.0
                for d in range(D):
                    S1[d] = 0.0
                    S2[d] = 0.0
                for g in range(G):
                    if members[r, g] != 0:
                        S0 += s0[g, b, k]
                        for d in range(D):
                            S1[d] += s12[g, b, k, d]
                            S2[d] += s12[g, b, k, D + d]
                cu = 1.0 / (n * math.sqrt(weights[k]))
                cv = 1.0 / (n * math.sqrt(2.0 * weights[k]))
                for d in range(D):
                    mu = means[k, d]
                    u = (S1[d] - mu * S0) * inv_sigma[k, d] * cu
                    v = ((S2[d] - 2.0 * mu * S1[d] + mu * mu * S0) * inv_var[k, d] - S0) * cv
                    if improved:
                        u = math.copysign(math.sqrt(abs(u)), u)
                        v = math.copysign(math.sqrt(abs(v)), v)
                    total += u * u + v * v
                    out[b, r, 0, k, d] = u
                    out[b, r, 1, k, d] = v
            if improved and total > 0.0:
                scale = 1.0 / math.sqrt(total)
                for i in range(2):
                    for k in range(K):
                        for d in range(D):
                            out[b, r, i, k, d] *= scale
