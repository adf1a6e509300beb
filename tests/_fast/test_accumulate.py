"""The compiled steps and ``Parameter.accumulate``: a layer that runs its own backward inside a
compiled step adds into the step's gradient buffers instead of replacing them."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn, optim
from warpnet._fast import fused
from warpnet.train import make_step


@pytest.mark.skipif(not fused.available(), reason="numba is not installed")
def test_a_wired_net_with_normalisation_keeps_its_flat_gradients_from_step_to_step():
    model = nn.randomly_wired(20, 4, n_nodes=6, width=8, seed=0, norm="batch")
    step = make_step(model, nn.SoftmaxCrossEntropy(), optim.SGD(model.parameters(), lr=0.01,
                                                                momentum=0.9), nn.L2(1e-3))
    x = np.random.default_rng(0).standard_normal((16, 20)).astype(np.float32)
    y = np.arange(16) % 4
    step(x, y)
    flat = step._flat
    for _ in range(3):
        step(x, y)
    assert step._flat is flat and flat.intact()  # gathered once, not again at every step
