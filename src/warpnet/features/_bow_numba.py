"""Compiled triangle encoding and sum pooling (numba): one pass over each patch's distances.

The NumPy path of ``BagOfWords`` (``_triangle`` then ``np.add.reduceat``) walks the
(patches, words) distance matrix seven times (add the squared norms, clip, square root,
mean, subtract, clip, sum per region); here each patch's row of distances is read once
while it sits in the L1 cache, its codes are added straight into the pooled sums of
its region, and the images of a chunk are shared among threads.
"""

from __future__ import annotations

import math

import numba
import numpy as np

VERSION = numba.__version__


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "nsz", "arcp"},
            parallel=True)
def triangle_pool(half_d2, xx, cc, region, pooled):  # pragma: no cover - compiled
    """Add the triangle codes of every patch into the sums of its image region.

    Args:
        half_d2: (B * P, K) float32 ``-2 x.c`` per patch and word (overwritten).
        xx: (B * P,) float32 ``|x|^2`` per patch.
        cc: (K,) float32 ``|c|^2`` per word.
        region: (P,) int64 region of each of an image's P patches.
        pooled: (B, R, K) float32 sums, added to.
    """
    B = pooled.shape[0]
    K = cc.shape[0]
    P = region.shape[0]
    for b in numba.prange(B):
        for p in range(P):
            i = b * P + p
            row = half_d2[i]
            x2 = xx[i]
            total = np.float32(0.0)
            for k in range(K):
                z = math.sqrt(max(row[k] + cc[k] + x2, np.float32(0.0)))
                row[k] = z
                total += z
            mean = total / np.float32(K)
            acc = pooled[b, region[p]]
            for k in range(K):
                acc[k] += max(mean - row[k], np.float32(0.0))
