"""The lecture's total loss written as one autograd expression equals warpnet's explicit engine
(``nn.mlp`` + ``MulticlassSVM`` or ``SoftmaxCrossEntropy`` + ``nn.L2``): loss and every gradient
to 1e-12 in float64."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import autograd, nn
from warpnet.autograd import Tensor


def autograd_loss(kind, x, y, W1, b1, W2, b2, reg):
    """L = 1/N sum_i loss_i(s) + reg * (sum W1**2 + sum W2**2),  s = max(0, x W1 + b1) W2 + b2."""
    N, C = x.shape[0], W2.shape[1]
    s = autograd.maximum(x @ W1 + b1, 0.0) @ W2 + b2  # (N, C)
    if kind == "svm":
        not_y = 1.0 - np.eye(C)[y]  # the sum runs over j != y_i
        correct = s[np.arange(N), y].reshape(N, 1)  # s_{y_i}: (N, 1)
        data = (autograd.maximum(s - correct + 1.0, 0.0) * not_y).sum() / N
    else:
        shifted = s - s.max(axis=1, keepdims=True)  # row max 0: exp cannot overflow
        data = (autograd.log(autograd.exp(shifted).sum(axis=1)) - shifted[np.arange(N), y]).mean()
    return data + reg * (W1 ** 2).sum() + reg * (W2 ** 2).sum()


@pytest.mark.parametrize("kind", ["svm", "softmax"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lecture_total_loss_equals_the_explicit_engine(kind, seed):
    rng = np.random.default_rng(seed)
    N, D, H, C, reg = 16, 7, 9, 4, 0.05
    x, y = rng.standard_normal((N, D)), rng.integers(0, C, N)
    model = nn.mlp([D, H, C], rng=seed, dtype="float64")
    for p in model.parameters():  # non-zero biases, so their gradients are tested too
        p.value[...] = rng.standard_normal(p.shape)
    loss_fn = nn.MulticlassSVM() if kind == "svm" else nn.SoftmaxCrossEntropy()

    model.zero_grad()
    data_loss, dscores = loss_fn(model.forward(x), y)
    model.backward(dscores)
    explicit_loss = float(data_loss) + nn.L2(reg)(model.parameters())
    explicit = {name: p.grad.copy() for name, p in model.named_parameters()}

    W1, b1, W2, b2 = (Tensor(p.value, requires_grad=True) for p in model.parameters())
    loss = autograd_loss(kind, Tensor(x), y, W1, b1, W2, b2, reg)
    loss.backward()

    assert float(loss.value) == pytest.approx(explicit_loss, rel=1e-12, abs=1e-12)
    for name, t in zip(["0.weight", "0.bias", "2.weight", "2.bias"], (W1, b1, W2, b2), strict=True):
        np.testing.assert_allclose(t.grad, explicit[name], rtol=1e-12, atol=1e-12, err_msg=name)
