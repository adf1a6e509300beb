"""AdamW against torch.optim.AdamW, step for step; CosineLR's warm-up."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn, optim

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_adamw_equals_torch_step_for_step(wd):
    rng = np.random.default_rng(0)
    model = nn.mlp([5, 7, 3], norm="batch", rng=0, dtype="float64")
    params = model.parameters()
    opt = optim.AdamW(params, lr=0.01, betas=(0.8, 0.99), eps=1e-7, weight_decay=wd)
    tensors = [torch.tensor(p.value.copy(), requires_grad=True) for p in params]
    decayed = [t for t, p in zip(tensors, params, strict=True) if p.regularize]
    others = [t for t, p in zip(tensors, params, strict=True) if not p.regularize]
    ref = torch.optim.AdamW([{"params": decayed, "weight_decay": wd},
                             {"params": others, "weight_decay": 0.0}],
                            lr=0.01, betas=(0.8, 0.99), eps=1e-7)
    for _ in range(6):
        grads = [rng.normal(size=p.shape) for p in params]
        for p, t, g in zip(params, tensors, grads, strict=True):
            p.grad = g.copy()
            t.grad = torch.tensor(g)
        opt.step()
        ref.step()
        for p, t in zip(params, tensors, strict=True):
            np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=0, atol=1e-12)


def test_adamw_registered_and_validated():
    assert optim.OPTIMIZERS.get("adamw") is optim.AdamW
    model = nn.mlp([3, 2])
    with pytest.raises(ValueError, match="weight_decay"):
        optim.AdamW(model.parameters(), weight_decay=-1.0)
    assert optim.AdamW(model.parameters()).weight_decay == 0.01


def test_cosine_warmup():
    model = nn.mlp([3, 2])
    opt = optim.SGD(model.parameters(), lr=0.3)
    sched = optim.CosineLR(opt, t_max=10, warmup=2)
    lrs = [opt.lr]
    for _ in range(10):
        sched.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs[:3], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(lrs[2:], [0.3 * (1 + np.cos(np.pi * t / 8)) / 2 for t in range(9)])
    assert optim.CosineLR(optim.SGD(model.parameters(), lr=0.3), t_max=4).optimizer.lr == 0.3
    with pytest.raises(ValueError, match="warmup"):
        optim.CosineLR(opt, t_max=3, warmup=3)
