"""A 3-layer and a 5-layer net reach 100% training accuracy on 50 samples within 20 epochs."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn, optim


@pytest.mark.parametrize("sizes", [[20, 64, 64, 5], [20, 64, 64, 64, 64, 5]], ids=["3-layer", "5-layer"])
@pytest.mark.parametrize("loss_name", ["softmax", "svm"])
def test_overfits_small_data(sizes, loss_name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 20)).astype(np.float32)
    y = rng.integers(0, 5, 50)
    model = nn.mlp(sizes, rng=0)
    loss_fn = nn.loss(loss_name)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for _epoch in range(20):
        for i in range(0, 50, 10):
            opt.zero_grad()
            _, d = loss_fn(model.forward(x[i:i + 10]), y[i:i + 10])
            model.backward(d, need_dx=False)
            opt.step()
    model.eval()
    assert np.mean(np.argmax(model(x), axis=1) == y) == 1.0
