"""Fisher-vector encoding of a chunk of images as matrix products (VLFeat's layout).

For descriptors ``x_i`` (after PCA) of one image region with ``n`` descriptors and a
diagonal Gaussian mixture (weights ``pi_k``, means ``mu_k``, variances
``sigma_k^2``), with posteriors ``gamma_ik``::

    u_k = 1 / (n sqrt(pi_k))   sum_i gamma_ik (x_i - mu_k) / sigma_k
    v_k = 1 / (n sqrt(2 pi_k)) sum_i gamma_ik ((x_i - mu_k)^2 / sigma_k^2 - 1)

(Perronnin, Sanchez & Mensink 2010). The region's vector is ``[u_1 .. u_K,
v_1 .. v_K]`` (2 K D values). Both sums follow from three statistics per
component, ``S0 = sum_i gamma_ik``, ``S1 = sum_i gamma_ik x_i`` and ``S2 = sum_i
gamma_ik x_i^2``, which are matrix products ``gamma.T @ [x, x^2]``:
``u = (S1 - mu S0) / sigma`` and ``v = (S2 - 2 mu S1 + mu^2 S0) / sigma^2 - S0``,
each then scaled. The patches of a dense grid sit at the same places in every
image, so which regions a patch belongs to is known once: the statistics are
summed per *group* of patches that share all their regions (the common refinement
of the region grids, e.g. 3 stripes for whole image + 3 stripes), and regions add
their groups up.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from .. import _numba

# The compiled kernels, used where ``_numba.kernels`` finds them.
_COMPILED = "warpnet.features._fisher_numba"
#: Posteriors below this count as zero (VLFeat's threshold); on PCA-64 SIFT with 256
#: components 92-98% of them are, and the total they drop is below K * 1e-6.
POSTERIOR_FLOOR = 1e-6
# Descriptors per block of the compiled posteriors: a (1024, 256) float32 block is 1 MiB,
# so the product's output is still in L2 for the passes that follow.
_ROWS = 1024
# Per-thread buffers of the compiled path, reused from chunk to chunk: fresh memory from
# the OS costs a page fault per 4 KiB touched (on CIFAR-10 a quarter of the posteriors' time).
_SCRATCH = threading.local()


def backend() -> str:
    """Which path finishes the Fisher vectors: ``"numba <version>"`` or ``"NumPy"``."""
    nb = _numba.kernels(_COMPILED)
    return "NumPy" if nb is None else f"numba {nb.VERSION}"


@dataclass(frozen=True)
class Layout:
    """Where each patch goes: groups of patches and the regions made of them.

    Attributes:
        order: (P,) patch indices sorted by group.
        bounds: (G + 1,) group g holds ``order[bounds[g]:bounds[g + 1]]``.
        members: (R, G) 1.0 where region r contains group g.
        counts: (R,) descriptors per region.
    """

    order: np.ndarray
    bounds: np.ndarray
    members: np.ndarray
    counts: np.ndarray

    @property
    def sorted(self) -> bool:
        """True where the patches already come in group order (``order`` is the identity)."""
        return bool(np.array_equal(self.order, np.arange(len(self.order))))


def region_cells(centres: np.ndarray, shape: tuple[int, int],
                 regions: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(P, L) index of the cell of every patch centre in every level's grid.

    Level ``(nx, ny)`` cuts the image into ``nx`` columns and ``ny`` rows of equal
    size; cells are numbered row-major; a centre on a boundary goes to the later cell.
    """
    H, W = shape
    cells = []
    for nx, ny in regions:
        row = np.minimum((centres[:, 0] + 0.5) * ny // H, ny - 1).astype(np.intp)
        col = np.minimum((centres[:, 1] + 0.5) * nx // W, nx - 1).astype(np.intp)
        cells.append(row * nx + col)
    return np.stack(cells, axis=1)


def layout(centres: np.ndarray, shape: tuple[int, int],
           regions: tuple[tuple[int, int], ...]) -> Layout:
    """The groups and regions of patches at ``centres`` (P, 2) in images of ``shape`` (H, W)."""
    cells = region_cells(centres, shape, regions)
    keys, group = np.unique(cells, axis=0, return_inverse=True)
    group = group.ravel()
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(keys) + 1))
    offsets = np.cumsum([0] + [nx * ny for nx, ny in regions])
    members = np.zeros((offsets[-1], len(keys)))
    for level in range(len(regions)):
        members[offsets[level] + keys[:, level], np.arange(len(keys))] = 1.0
    counts = members @ np.diff(bounds)
    return Layout(order, bounds, members, counts)


def _scratch(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """This thread's buffer ``name`` viewed as ``shape``, grown when too small (contents undefined).

    The sparse posteriors reserve room for all n * K of them but write the few kept:
    only those pages are ever touched, so a large reservation costs address space only.
    """
    size = math.prod(shape)
    buf = getattr(_SCRATCH, name, None)
    if buf is None or buf.dtype != dtype or buf.size < size:
        buf = np.empty(size, dtype=dtype)
        setattr(_SCRATCH, name, buf)
    return buf[:size].reshape(shape)


def _mixture_terms(weights: np.ndarray, means: np.ndarray,
                   variances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A`` (2D, K) and ``const`` (K,): log-densities are ``[x^2, x] @ A + const``."""
    inv = 1.0 / variances  # (K, D)
    const = (np.log(weights) - 0.5 * np.log(2 * math.pi * variances).sum(axis=1)
             - 0.5 * (means * means * inv).sum(axis=1))
    A = np.concatenate([-0.5 * inv, means * inv], axis=1).T  # (2D, K)
    return A, const


def posteriors(x: np.ndarray, weights: np.ndarray, means: np.ndarray,
               variances: np.ndarray, compiled: bool = True) -> np.ndarray:
    """Posterior of every component for every descriptor: (n, K) from x (n, D).

    The log-densities come from two products, ``x^2 @ (-1 / (2 var)).T + x @
    (mu / var).T``, plus a constant per component; the row maximum is subtracted
    before ``exp`` so nothing overflows. Posteriors below ``POSTERIOR_FLOOR`` are
    set to zero (not renormalized), as VLFeat does: a descriptor then touches a few
    components, and the compiled path sums over those alone.

    ``compiled`` (where the compiled kernels run): the sparse posteriors that
    ``encode`` uses (see ``_sparse_posteriors``), scattered into the (n, K) matrix;
    equal to the formula within rounding (float32: 1e-6), the same posteriors set to
    zero except ones within rounding of the floor. Returns the dtype the formula's
    products give.
    """
    A, const = _mixture_terms(weights, means, variances)
    nb = _numba.kernels(_COMPILED) if compiled else None
    if nb is not None:
        ptr, idx, val = _sparse_posteriors(nb, x, A, const)
        out = np.zeros((len(x), len(weights)), dtype=val.dtype)  # scattered before the next call
        out[np.repeat(np.arange(len(x)), np.diff(ptr)), idx[: ptr[-1]]] = val[: ptr[-1]]
        return out
    log_p = np.concatenate([x * x, x], axis=1) @ A
    log_p += const
    log_p -= log_p.max(axis=1, keepdims=True)
    np.exp(log_p, out=log_p)
    log_p /= log_p.sum(axis=1, keepdims=True)
    log_p[log_p < POSTERIOR_FLOOR] = 0.0
    return log_p


def _sparse_posteriors(nb, x: np.ndarray, A: np.ndarray,  # noqa: ANN001
                       const: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero posteriors of descriptors x (n, D) in CSR: ``(ptr, idx, val)``.

    Row i's components are ``idx[ptr[i]:ptr[i + 1]]`` (int32), their posteriors
    ``val[...]`` (the formula's dtype; ``idx`` and ``val`` are this thread's buffers,
    valid until its next call). By blocks of ``_ROWS`` descriptors, each
    block's steps while it is in cache: ``[x^2, x]`` into a reused buffer, the
    product, then ``shift_rows`` (+ const, - row max), NumPy's exp (SIMD, unlike
    numba's) and ``compact_rows`` (/ row sum, keep what reaches the floor). ``idx``
    and ``val`` have room for every posterior, but only the few kept are written,
    so the memory touched is that of the kept ones.
    """
    n, D = x.shape
    dt = np.result_type(x.dtype, A.dtype)  # the formula's dtype
    A = np.ascontiguousarray(A, dtype=dt)
    const = const.astype(dt, copy=False)
    K = A.shape[1]
    ptr = np.zeros(n + 1, dtype=np.int64)
    idx = _scratch("idx", (n * K,), np.dtype(np.int32))
    val = _scratch("val", (n * K,), dt)
    rows = min(n, _ROWS)
    both = _scratch("both", (rows, 2 * D), dt)
    block = _scratch("block", (rows, K), dt)
    for lo in range(0, n, _ROWS):
        hi = min(n, lo + _ROWS)
        xb, ob = both[: hi - lo], block[: hi - lo]
        np.multiply(x[lo:hi], x[lo:hi], out=xb[:, :D])
        xb[:, D:] = x[lo:hi]
        np.matmul(xb, A, out=ob)
        nb.shift_rows(ob, const)  # + const, - row max, raised to LOWEST
        np.exp(ob, out=ob)
        nb.compact_rows(ob, POSTERIOR_FLOOR, lo, ptr, idx, val)
    return ptr, idx, val


def encode(x: np.ndarray, weights: np.ndarray, means: np.ndarray, variances: np.ndarray,
           lay: Layout, improved: bool, out: np.ndarray) -> None:
    """Fisher vectors of a chunk: ``out`` (B, R * 2 * K * D) from descriptors ``x`` (B, P, D).

    Everything is computed in ``x``'s dtype. ``improved``: signed square root of every
    value, then each region's block is L2-normalized (an all-zero block stays zero).
    The compiled path (where its kernels run) computes the same numbers from the
    sparse posteriors, writing each output value once.
    """
    B, P, D = x.shape
    K = len(weights)
    dt = x.dtype
    weights, means, variances = (a.astype(dt, copy=False) for a in (weights, means, variances))
    counts = lay.counts.astype(dt)
    R = len(counts)
    contiguous = out.flags.c_contiguous
    fv = out.reshape(B, R, 2, K, D) if contiguous else np.empty((B, R, 2, K, D), dtype=out.dtype)
    nb = _numba.kernels(_COMPILED)
    if nb is not None:
        x = np.ascontiguousarray(x)
        ptr, idx, val = _sparse_posteriors(nb, x.reshape(B * P, D),
                                           *_mixture_terms(weights, means, variances))
        inv_var = 1 / variances
        nb.encode_sparse(ptr, idx, val, x, lay.order, lay.bounds, lay.members.astype(dt), means,
                         np.sqrt(inv_var), inv_var, weights, counts, improved, fv)
    else:
        gamma = posteriors(x.reshape(B * P, D), weights, means, variances).reshape(B, P, K)
        if not lay.sorted:  # patches in group order (a copy only where the grid's order differs)
            x, gamma = x[:, lay.order], gamma[:, lay.order]
        members = lay.members.astype(dt)
        both = np.concatenate([x, x * x], axis=2)  # (B, P, 2D): S1 and S2 in one product
        G = len(lay.bounds) - 1
        s0 = np.empty((G, B, K), dtype=dt)
        s12 = np.empty((G, B, K, 2 * D), dtype=dt)
        for g in range(G):
            lo, hi = lay.bounds[g], lay.bounds[g + 1]
            s0[g] = gamma[:, lo:hi].sum(axis=1)
            s12[g] = np.matmul(gamma[:, lo:hi].transpose(0, 2, 1), both[:, lo:hi])
        S0 = np.einsum("rg,gbk->brk", members, s0)  # (B, R, K): region sums of the groups
        S12 = np.einsum("rg,gbkd->brkd", members, s12)
        finish(S0, S12[..., :D], S12[..., D:], means, variances, weights, counts, improved, fv)
    if not contiguous:
        out[...] = fv.reshape(B, -1)


def finish(S0: np.ndarray, S1: np.ndarray, S2: np.ndarray, means: np.ndarray,
           variances: np.ndarray, weights: np.ndarray, counts: np.ndarray, improved: bool,
           out: np.ndarray) -> None:
    """Gradients from the statistics, then "improved" normalization: ``out`` (B, R, 2, K, D).

    S0: (B, R, K); S1, S2: (B, R, K, D) per region; counts: (R,) descriptors per region.
    """
    S0 = S0[..., None]
    n = np.maximum(counts, 1)[None, :, None, None]  # (1, R, 1, 1)
    u = (S1 - means * S0) / (np.sqrt(variances) * (n * np.sqrt(weights)[:, None]))
    v = ((S2 - 2 * means * S1 + means * means * S0) / variances - S0) / (
        n * np.sqrt(2 * weights)[:, None]
    )
    out[:, :, 0] = u
    out[:, :, 1] = v
    if improved:
        np.copysign(np.sqrt(np.abs(out)), out, out=out)
        B, R = out.shape[:2]
        flat = out.reshape(B, R, -1)
        norm = np.sqrt(np.einsum("brj,brj->br", flat, flat))[..., None]
        np.divide(flat, norm, out=flat, where=norm > 0)
