"""The compiled forward and backward pass of a run of wired nodes (see ``wired_core``); imported
only where numba runs and NumPy's own BLAS is found.

Each wired node ``m`` computes ``h_m = ReLU(sum_k sigmoid(w_k) x_k)`` and ``y_m = h_m W_m + b_m``.
The loops walk every node of the run in one call, so a small node (64 units, say) costs no
Python at all: the weighted sums are the loops of ``_graph_kernels``, the products are NumPy's
own BLAS ``gemm`` (the library and function ``np.matmul`` calls, so the products are the same
numbers), called from compiled code by its C name.  Both passes take the rows to run on
(``row_start``, ``row_stop``): released from the interpreter lock (``nogil``), calls on separate
blocks of rows run at once, one thread each (``graph._Lane.at_once``).

The arrays, for a run of M nodes of one width W on R rows (one dtype throughout):

- ``acts`` (S, R, W): one slot per value the run reads or writes -- its nodes' outputs, and the
  values it reads from outside (a predecessor that is not in the run, or the graph's input);
- ``hs`` (M, R, W): each node's ReLU output, kept for the backward pass;
- ``dacts`` (S, R, W): the gradient of each slot's value, summed over its consumers;
- the edges of node m are ``first_edge[m]`` to ``first_edge[m + 1]`` (in the order of the node's
  inputs): ``edge_slot[e]`` is the slot the edge reads, ``edge_sig[e]`` the index of its
  ``sigmoid(w)`` in ``sig``, ``edge_mode[e]`` how the backward pass treats that slot's gradient
  (``_graph_kernels.DOT_ONLY``: none is wanted; ``WRITE``: the first contribution; ``ADD``);
- the parameters live in the step's flat arrays (``values``, ``grads``: one per group of
  parameters, see ``graph._FlatParameters``); ``locs[m]`` holds (group, start) of node m's
  ``linear.weight``, ``linear.bias`` (group -1: no bias) and ``aggregate.weight``.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from llvmlite import binding
from numba import types

from . import blas
from ._graph_kernels import weighted_input, weighted_input_backward

_ADDRESSES = blas.gemm_addresses()
if _ADDRESSES is None:
    raise ImportError("NumPy's BLAS gemm was not found")

# NumPy's OpenBLAS takes 64-bit integers (ILP64); its cblas_?gemm by a name of our own, which the
# compiled code (and numba's cache of it) links against.  (Typed Any: numba types the calls.)
binding.add_symbol("warpnet_cblas_sgemm", _ADDRESSES[0])
binding.add_symbol("warpnet_cblas_dgemm", _ADDRESSES[1])
_i32, _i64, _ptr = types.int32, types.int64, types.voidptr
_sgemm: Any = types.ExternalFunction("warpnet_cblas_sgemm", types.void(
    _i32, _i32, _i32, _i64, _i64, _i64, types.float32, _ptr, _i64, _ptr, _i64, types.float32, _ptr,
    _i64))
_dgemm: Any = types.ExternalFunction("warpnet_cblas_dgemm", types.void(
    _i32, _i32, _i32, _i64, _i64, _i64, types.float64, _ptr, _i64, _ptr, _i64, types.float64, _ptr,
    _i64))
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS's constants


@numba.njit(nogil=True, cache=True)
def matmul(a, b, out, trans_a, trans_b, add):  # pragma: no cover (compiled)
    """``out = op(a) @ op(b)``, or ``out += op(a) @ op(b)`` with ``add``; op = transpose where
    asked.  2-D arrays of one dtype whose rows are contiguous (``strides[1]`` = itemsize)."""
    m, n = out.shape
    k = a.shape[0] if trans_a else a.shape[1]
    ta = _TRANS if trans_a else _NO_TRANS
    tb = _TRANS if trans_b else _NO_TRANS
    size = out.itemsize
    lda, ldb, ldc = a.strides[0] // size, b.strides[0] // size, out.strides[0] // size
    if size == 4:  # float32
        _sgemm(_ROW_MAJOR, ta, tb, m, n, k, np.float32(1.0), a.ctypes.data, lda, b.ctypes.data,
               ldb, np.float32(1.0 if add else 0.0), out.ctypes.data, ldc)
    else:
        _dgemm(_ROW_MAJOR, ta, tb, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb,
               1.0 if add else 0.0, out.ctypes.data, ldc)


@numba.njit(nogil=True, cache=True)
def _weight(flats, loc, width):  # pragma: no cover (compiled)
    """A node's (W, W) weight in the flat arrays, at ``loc`` = (group, start)."""
    return flats[loc[0]][loc[1] : loc[1] + width * width].reshape((width, width))


@numba.njit(nogil=True, cache=True, error_model="numpy")
def forward(acts, hs, sig, first_edge, edge_slot, edge_sig, out_slot, values, locs, block,
            row_start, row_stop):  # pragma: no cover (compiled)
    """The nodes in order: ``hs[m] = ReLU(sum_k sig_k acts[slot_k])``, ``acts[out] = hs[m] W + b``,
    on rows ``row_start`` to ``row_stop``, ``block`` rows at a time (every node on a block of
    rows, then the next block: the block's values stay in cache from one node to the next)."""
    width = acts.shape[2]
    for r0 in range(row_start, row_stop, block):
        r1 = min(row_stop, r0 + block)
        for m in range(out_slot.size):
            h = hs[m, r0:r1]
            flat_h = h.reshape(-1)
            first, stop = first_edge[m], first_edge[m + 1]
            for e in range(first, stop):
                weighted_input(acts[edge_slot[e], r0:r1].reshape(-1), sig[edge_sig[e]], flat_h,
                               e > first, e == stop - 1)
            y = acts[out_slot[m], r0:r1]
            matmul(h, _weight(values, locs[m, 0], width), y, False, False, False)
            if locs[m, 1, 0] >= 0:
                start = locs[m, 1, 1]
                b = values[locs[m, 1, 0]][start : start + width]
                for r in range(y.shape[0]):
                    for c in range(width):
                        y[r, c] += b[c]


@numba.njit(nogil=True, cache=True, error_model="numpy")
def backward(acts, hs, dacts, dh, sig, first_edge, edge_slot, edge_sig, edge_mode, out_slot,
             values, grads, locs, block, row_start, row_stop):  # pragma: no cover (compiled)
    """The nodes in reverse order, from ``dacts[out]`` = dL/dy of each node:
    ``dW = h^T dy``, ``db = 1^T dy``, ``dh = (dy W^T) * (h > 0)``, and for each input k
    ``dacts[slot_k] (+)= sig_k dh`` and ``dL/dw_k = sig_k (1 - sig_k) <dh, x_k>``; on rows
    ``row_start`` to ``row_stop``, ``block`` rows at a time as in ``forward`` (dW, db and the inner
    products summed over the blocks; ``dh`` holds a block)."""
    width = acts.shape[2]
    one = dh.dtype.type(1)
    dots = np.zeros(edge_slot.size)  # <dh, x_k> of every edge, summed over the blocks
    for r0 in range(row_start, row_stop, block):
        r1 = min(row_stop, r0 + block)
        later = r0 > row_start  # add into dW and db the products of this block's rows
        for m in range(out_slot.size - 1, -1, -1):
            dy, h, d = dacts[out_slot[m], r0:r1], hs[m, r0:r1], dh[: r1 - r0]
            matmul(h, dy, _weight(grads, locs[m, 0], width), True, False, later)
            if locs[m, 1, 0] >= 0:  # db = 1^T dy: a loop costs less than a call of gemm here
                start = locs[m, 1, 1]
                db = grads[locs[m, 1, 0]][start : start + width]
                if not later:
                    db[:] = 0
                for r in range(r1 - r0):
                    for c in range(width):
                        db[c] += dy[r, c]
            matmul(dy, _weight(values, locs[m, 0], width), d, False, True, False)
            flat_dh, flat_h = d.reshape(-1), h.reshape(-1)
            for e in range(first_edge[m], first_edge[m + 1]):
                slot = edge_slot[e]
                dots[e] += weighted_input_backward(
                    flat_dh, acts[slot, r0:r1].reshape(-1), sig[edge_sig[e]],
                    dacts[slot, r0:r1].reshape(-1), edge_mode[e], e == first_edge[m], flat_h)
    for m in range(out_slot.size):
        first = first_edge[m]
        group, start = locs[m, 2, 0], locs[m, 2, 1]
        for e in range(first, first_edge[m + 1]):
            s = sig[edge_sig[e]]
            grads[group][start + e - first] = dh.dtype.type(dots[e]) * (s * (one - s))


@numba.njit(nogil=True, cache=True)
def add_ranges(into, other, ranges):  # pragma: no cover (compiled)
    """``into[g][start:stop] += other[g][start:stop]`` for each row (g, start, stop) of ``ranges``."""
    for r in range(ranges.shape[0]):
        a, b = into[ranges[r, 0]], other[ranges[r, 0]]
        for i in range(ranges[r, 1], ranges[r, 2]):
            a[i] += b[i]
