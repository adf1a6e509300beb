"""The compiled loops of a training step (see ``fused``); imported only where numba runs.

Each loop goes once over its arrays, element by element or row by row, and reads as the formula
it computes; ``fused`` checks the arrays before handing them over.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# exp(-60) ~ 9e-27 is far above the smallest normal float32 (1e-38): scores more than 60 below the
# row maximum get that floor inside exp, so nothing underflows into slow subnormals; their
# probability is negligible either way, and the loss itself uses the unclipped scores.
EXP_FLOOR = -60.0


@numba.njit(nogil=True, cache=True, error_model="numpy")
def softmax_cross_entropy(scores, labels, dscores):  # pragma: no cover (compiled)
    """Mean over the rows of ``-log softmax(scores)[label]``, with its gradient written into
    ``dscores``; row by row, the formula of ``nn.SoftmaxCrossEntropy``.

    Returns ``(status, loss)``: status 0, or 1 where a score is NaN or inf, or 2 where a label is
    outside [0, C) (then ``dscores`` holds nothing useful and the caller takes the array path,
    which names the problem).
    """
    n, c = scores.shape
    weight = 1.0 / n  # each row's share of the mean
    floor = scores.dtype.type(EXP_FLOOR)
    loss = 0.0
    for i in range(n):
        label = labels[i]
        if label < 0 or label >= c:
            return 2, 0.0
        top = scores[i, 0]
        for j in range(c):
            s = scores[i, j]
            if not math.isfinite(s):
                return 1, 0.0
            top = max(top, s)
        # sum_j exp(s_j - top) = n_top + rest, n_top >= 1 entries at the top: the log of it
        # as log(n_top) + log1p(rest / n_top) stays accurate when rest is tiny.
        n_top = 0.0
        rest = 0.0
        for j in range(c):
            shifted = scores[i, j] - top
            e = math.exp(max(shifted, floor))
            dscores[i, j] = e
            if shifted == 0:
                n_top += 1.0
            else:
                rest += e
        total = n_top + rest
        for j in range(c):
            dscores[i, j] = dscores[i, j] / total * weight  # softmax / N
        dscores[i, label] -= weight  # minus the one-hot / N
        log_sum = math.log1p(rest) if n_top == 1.0 else math.log(n_top) + math.log1p(rest / n_top)
        loss += log_sum - (scores[i, label] - top)
    return 0, loss * weight


# The updates sum the squares of the weights they read in blocks of BLOCK elements, each block in
# the type of their ``zero`` argument ("reassoc" lets the compiler reorder that sum, and nothing
# else in the loops, so a float32 one runs in vector lanes), then the blocks' sums in float64: as
# exact as a float64 sum (relative error 1e-9 over a million float32 squares, where one float32
# sum is off by 1e-6 or more).  Which type is faster depends on where the loop runs; the caller
# picks (``fused._update``).  The indices are unsigned: with signed ones numba checks each for a
# negative value, and a block of variable length then runs 6x slower.
BLOCK = 1024


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def sgd(w, g, v, lr, rho, decay, nesterov, momentum, zero):  # pragma: no cover (compiled)
    """Update the flat arrays ``w`` and (with ``momentum``) ``v`` in place from the gradient ``g``;
    return ``sum(w**2)`` of the weights as they were before (an L2 penalty's value, on the way).
    ``zero``: 0 in the type the blocks' sums are added up in."""
    n, block = np.uintp(w.size), np.uintp(BLOCK)
    squares = 0.0
    for start in range(np.uintp(0), n, block):
        part = zero
        for i in range(start, min(n, start + block)):
            wi = w[i]
            part += wi * wi
            d = g[i] + decay * wi  # the gradient with its L2 / weight-decay part
            if not momentum:
                w[i] = wi - lr * d
                continue
            vi = rho * v[i] + d
            v[i] = vi
            w[i] = wi - (lr * (d + rho * vi) if nesterov else lr * vi)
        squares += part
    return squares


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def rmsprop(w, g, s, lr, rho, one_minus_rho, eps, decay, tiny, zero):  # pragma: no cover (compiled)
    """RMSProp's update of the flat arrays ``w`` and ``s`` in place, in the order of the plain
    rule's operations (``s`` and ``w`` below ``tiny``, the smallest normal number, flushed to zero
    as there);
    returns ``sum(w**2)`` of the weights before it."""
    n, block = np.uintp(w.size), np.uintp(BLOCK)
    squares = 0.0
    for start in range(np.uintp(0), n, block):
        part = zero
        for i in range(start, min(n, start + block)):
            wi = w[i]
            part += wi * wi
            d = g[i] + decay * wi
            si = rho * s[i] + one_minus_rho * (d * d)
            if si < tiny:
                si = tiny - tiny
            s[i] = si
            wi = wi - lr * d / (np.sqrt(si) + eps)
            if abs(wi) < tiny:
                wi = tiny - tiny
            w[i] = wi
        squares += part
    return squares


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def adam(w, g, m, v, lr, b1, one_minus_b1, b2, one_minus_b2, eps, c1, c2, decay, tiny,
         zero):  # pragma: no cover (compiled)
    """Adam's update of the flat arrays ``w``, ``m`` and ``v`` in place (``c1 = 1 - b1**t`` and
    ``c2 = 1 - b2**t``, the bias corrections of step t), in the order of the plain rule's
    operations (moments and weights below ``tiny``, the smallest normal number, flushed to zero as
    there);
    returns ``sum(w**2)`` of the weights before it."""
    n, block = np.uintp(w.size), np.uintp(BLOCK)
    squares = 0.0
    for start in range(np.uintp(0), n, block):
        part = zero
        for i in range(start, min(n, start + block)):
            wi = w[i]
            part += wi * wi
            d = g[i] + decay * wi
            mi = b1 * m[i] + one_minus_b1 * d
            vi = b2 * v[i] + one_minus_b2 * (d * d)
            if abs(mi) < tiny:
                mi = tiny - tiny
            if vi < tiny:
                vi = tiny - tiny
            m[i] = mi
            v[i] = vi
            wi = wi - lr * (mi / c1) / (np.sqrt(vi / c2) + eps)
            if abs(wi) < tiny:
                wi = tiny - tiny
            w[i] = wi
        squares += part
    return squares


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def l2_gradient(w, g, coef, zero):  # pragma: no cover (compiled)
    """``g += coef * w`` over the flat arrays (an L2 penalty's gradient, ``coef = 2 * reg``);
    returns ``sum(w**2)`` (its value before ``reg``), summed in blocks as the updates do."""
    n, block = np.uintp(w.size), np.uintp(BLOCK)
    squares = 0.0
    for start in range(np.uintp(0), n, block):
        part = zero
        for i in range(start, min(n, start + block)):
            wi = w[i]
            part += wi * wi
            g[i] += coef * wi
        squares += part
    return squares


@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def l1_gradient(w, g, coef, zero):  # pragma: no cover (compiled)
    """``g += coef * sign(w)`` over the flat arrays (an L1 penalty's gradient, ``coef = reg``;
    ``sign(0) = 0``); returns ``sum(|w|)``, summed in blocks as the updates do."""
    n, block = np.uintp(w.size), np.uintp(BLOCK)
    total = 0.0
    for start in range(np.uintp(0), n, block):
        part = zero
        for i in range(start, min(n, start + block)):
            wi = w[i]
            part += abs(wi)
            g[i] += coef * np.sign(wi)
        total += part
    return total


@numba.njit(nogil=True, cache=True, error_model="numpy")
def relu_backward(dout, y, dx):  # pragma: no cover (compiled)
    """``dx = dout * (y > 0)`` over flat arrays, where ``y = max(x, 0)`` is ReLU's output.

    A product, not a choice between ``dout`` and 0: it gives what NumPy's ``dout * mask`` gives
    (also for an infinite ``dout``), and it stays a vector loop when ``dx`` is ``dout`` (a choice
    compiled to a branch there: 9x slower on random signs)."""
    for i in range(dout.size):
        dx[i] = dout[i] * (y[i] > 0)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def batchnorm_forward(x, weight, bias, eps, x_hat, out, mean, var, inv_std):  # pragma: no cover
    """Batch normalisation of the (N, F) batch ``x`` with its own statistics, the formula of
    ``nn.BatchNorm1d.forward`` in training mode: writes the batch ``mean``, biased ``var`` and
    ``inv_std = 1 / sqrt(var + eps)`` (F,), ``x_hat = (x - mean) * inv_std`` and
    ``out = x_hat * weight + bias`` (N, F).  Row by row, so the inner loops run along the
    contiguous features; the sums are float64."""
    n, f = x.shape
    acc = np.zeros(f)
    for i in range(n):
        for j in range(f):
            acc[j] += x[i, j]
    for j in range(f):
        mean[j] = acc[j] / n
        acc[j] = 0.0
    for i in range(n):  # the variance from the centred values (two passes: no cancellation)
        for j in range(f):
            d = x[i, j] - mean[j]
            acc[j] += d * d
    for j in range(f):
        var[j] = acc[j] / n
        inv_std[j] = 1.0 / np.sqrt(var[j] + eps)
    for i in range(n):
        for j in range(f):
            h = (x[i, j] - mean[j]) * inv_std[j]
            x_hat[i, j] = h
            out[i, j] = h * weight[j] + bias[j]


@numba.njit(nogil=True, cache=True, error_model="numpy")
def batchnorm_backward(dout, x_hat, weight, inv_std, dweight, dbias, dx, need_dx):  # pragma: no cover
    """The backward pass of ``batchnorm_forward``, the formula of ``nn.BatchNorm1d.backward``:
    ``dbias = sum(dout)``, ``dweight = sum(dout * x_hat)`` over the batch (F,), and (with
    ``need_dx``) ``dx = weight * inv_std / N * (N * dout - dbias - x_hat * dweight)`` (N, F),
    which is ``(N g - sum(g) - x_hat sum(g x_hat)) * inv_std / N`` with ``g = dout * weight``."""
    n, f = dout.shape
    s = np.zeros(f)
    sx = np.zeros(f)
    for i in range(n):
        for j in range(f):
            d = dout[i, j]
            s[j] += d
            sx[j] += d * x_hat[i, j]
    for j in range(f):
        dbias[j] = s[j]
        dweight[j] = sx[j]
    if not need_dx:
        return
    scale = np.empty(f)
    for j in range(f):
        scale[j] = weight[j] * inv_std[j] / n
    for i in range(n):
        for j in range(f):
            dx[i, j] = scale[j] * (n * dout[i, j] - s[j] - x_hat[i, j] * sx[j])
