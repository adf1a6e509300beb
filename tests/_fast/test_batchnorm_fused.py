"""The compiled loops of BatchNorm1d (training mode) equal the layer's plain formulas, alone and
inside the compiled step."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn, optim
from warpnet._fast import fused
from warpnet.train import make_step

pytestmark = pytest.mark.skipif(not fused.available(), reason="numba is not installed")


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("n, f", [(2, 1), (7, 5), (128, 64)])
def test_loops_equal_the_layer(dtype, tol, n, f):
    rng = np.random.default_rng(n * f)
    x = (rng.standard_normal((n, f)) * 3 + 5).astype(dtype)
    dout = rng.standard_normal((n, f)).astype(dtype)
    bn = nn.BatchNorm1d(f, dtype=np.dtype(dtype).name)
    bn.weight.value[...] = rng.standard_normal(f)
    bn.bias.value[...] = rng.standard_normal(f)
    y = bn.forward(x)
    dx = bn.backward(dout)

    x_hat, out = np.empty_like(x), np.empty_like(x)
    mean, var, inv_std = fused.batchnorm_forward(x, bn.weight.value, bn.bias.value, bn.eps, x_hat, out)
    np.testing.assert_allclose(out, y, rtol=tol, atol=tol)
    np.testing.assert_allclose(mean, x.mean(0, dtype=np.float64), rtol=tol, atol=tol)
    np.testing.assert_allclose(var, x.var(0, dtype=np.float64), rtol=tol, atol=tol)
    np.testing.assert_allclose(inv_std, bn._inv_std, rtol=tol)
    dw, db, dx2 = np.empty(f, dtype), np.empty(f, dtype), np.empty_like(x)
    assert fused.batchnorm_backward(dout, x_hat, bn.weight.value, inv_std, dw, db, dx2)
    np.testing.assert_allclose(dx2, dx, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(dw, bn.weight.grad, rtol=tol, atol=tol)
    np.testing.assert_allclose(db, bn.bias.grad, rtol=tol, atol=tol)
    assert fused.batchnorm_backward(dout, x_hat, bn.weight.value, inv_std, dw, db, None)
    np.testing.assert_allclose(db, bn.bias.grad, rtol=tol, atol=tol)


def test_arrays_the_loops_do_not_take():
    x = np.ones((4, 3))
    w, b = np.ones(3), np.zeros(3)
    assert fused.batchnorm_forward(x[:1], w, b, 1e-5, np.empty((1, 3)), np.empty((1, 3))) is None
    assert fused.batchnorm_forward(x.astype(np.float32), w, b, 1e-5, np.empty_like(x),
                                   np.empty_like(x)) is None  # mixed dtypes
    assert fused.batchnorm_forward(x, w, b, 1e-5, x, np.empty_like(x)) is None  # x_hat is x
    assert fused.batchnorm_forward(np.ones((3, 4)).T, w, b, 1e-5, np.empty_like(x),
                                   np.empty_like(x)) is None  # not C-contiguous
    assert not fused.batchnorm_backward(x, x, w, w, np.empty(3), np.empty(3), x)  # dx is dout


def _run(compiled: bool, dtype: str, norm: str, steps: int = 5, train: bool = True):
    model = nn.mlp([12, 16, 10, 4], norm=norm, rng=1, dtype=dtype)
    if not train:
        model.eval()
    # A Linear's bias before BatchNorm1d has a gradient of zero up to rounding; Adam scales that
    # rounding noise up to steps of size lr in float32, differently on each path: SGD there.
    opt = (optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.05) if dtype == "float64"
           else optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    step = make_step(model, nn.SoftmaxCrossEntropy(label_smoothing=0.1), opt, compiled=compiled)
    assert step.compiled is compiled
    rng = np.random.default_rng(0)
    losses = []
    for k in range(steps):
        n = 37 if k % 2 else 16  # batches of two sizes: buffers of both
        x = rng.standard_normal((n, 12)).astype(dtype)
        losses.append(step(x, rng.integers(0, 4, n)))
    buffers = {k: v.copy() for k, v in model.state_dict().items()}
    return losses, buffers, [p.grad.copy() for p in model.parameters()]


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("norm, train", [("batch", True), ("batch", False), ("layer", True)])
def test_compiled_step_with_norms_equals_the_plain_step(dtype, tol, norm, train):
    plain = _run(False, dtype, norm, train=train)
    compiled = _run(True, dtype, norm, train=train)
    np.testing.assert_allclose(compiled[0], plain[0], rtol=tol)
    assert compiled[1].keys() == plain[1].keys()
    for key in plain[1]:  # weights and running statistics
        np.testing.assert_allclose(compiled[1][key], plain[1][key], rtol=tol, atol=tol, err_msg=key)
    for a, b in zip(compiled[2], plain[2], strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
