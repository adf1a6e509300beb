"""Label smoothing against torch.nn.functional.cross_entropy(label_smoothing=...)."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.35, 0.99])
@pytest.mark.parametrize("weighted", [False, True])
def test_equals_torch(eps, weighted):
    rng = np.random.default_rng(int(eps * 100))
    scores = rng.normal(0, 3, size=(9, 5))
    y = rng.integers(0, 5, 9)
    w = rng.uniform(0.1, 2.0, 9) if weighted else None
    loss, dscores = nn.SoftmaxCrossEntropy(label_smoothing=eps)(scores, y, sample_weight=w)
    st = torch.tensor(scores, requires_grad=True)
    per_row = torch.nn.functional.cross_entropy(st, torch.tensor(y), label_smoothing=eps,
                                                reduction="none")
    ref = (per_row * torch.tensor(w / w.sum())).sum() if weighted else per_row.mean()
    ref.backward()
    assert abs(float(loss) - ref.item()) < 1e-12
    np.testing.assert_allclose(dscores, st.grad.numpy(), rtol=0, atol=1e-12)
    assert nn.gradcheck(nn.SoftmaxCrossEntropy(label_smoothing=eps), scores, y) < 1e-7


@pytest.mark.parametrize("eps", [-0.1, 1.0, 2, True, "0.1"])
def test_bad_values(eps):
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.SoftmaxCrossEntropy(label_smoothing=eps)
