"""PyTorch autograd as an independent oracle: the same MLP (three hidden layers) in float64 gives
the same loss and parameter gradients to 1e-10 relative, for every registered activation and
every registered loss; each activation's forward and backward equal its PyTorch twin's."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import io, nn

torch = pytest.importorskip("torch")

SIZES = [7, 9, 8, 6, 5]
REG = 0.01


def torch_svm(scores, y, margin=1.0):
    n = scores.shape[0]
    correct = scores[torch.arange(n), y][:, None]
    margins = torch.clamp(scores - correct + margin, min=0)
    margins = margins * (1 - torch.nn.functional.one_hot(y, scores.shape[1]))
    return margins.sum() / n


def torch_svm_ovr(scores, y, margin=1.0, squared=False):
    t = 2.0 * torch.nn.functional.one_hot(y, scores.shape[1]).to(scores.dtype) - 1.0
    hinge = torch.clamp(margin - t * scores, min=0)
    return (hinge * hinge if squared else hinge).sum() / scores.shape[0]


TORCH_LOSSES = {
    "softmax": lambda s, y: torch.nn.functional.cross_entropy(s, y),
    "svm": torch_svm,
    "svm_ovr": torch_svm_ovr,
    "svm_ovr_squared": lambda s, y: torch_svm_ovr(s, y, squared=True),
    "mse": lambda s, t: torch.nn.functional.mse_loss(s, t),
}


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def test_every_registered_loss_has_a_pytorch_twin_here():
    assert set(nn.LOSSES.names()) <= set(TORCH_LOSSES)


@pytest.mark.parametrize("fused", [None, False], ids=["default", "formulas"])
@pytest.mark.parametrize("loss_name", nn.LOSSES.names())
@pytest.mark.parametrize("activation", nn.ACTIVATIONS.names())
def test_same_loss_and_gradients_as_pytorch(activation, loss_name, fused):
    """The default call (compiled loops for softmax cross-entropy and the penalty on NumPy,
    where numba is installed) and the formulas alone (``fused=False``) both equal PyTorch."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((11, SIZES[0]))
    target = (rng.standard_normal((11, SIZES[-1])) if nn.LOSSES.get(loss_name).regression
              else rng.integers(0, SIZES[-1], 11))
    model = nn.mlp(SIZES, activation, dtype="float64", rng=1)
    reference = io.to_torch(model)  # each activation's PyTorch twin (``torch_name``)

    scores = model.forward(x)
    loss_fn = nn.loss(loss_name)
    if hasattr(loss_fn, "fused"):
        loss_fn.fused = fused
    data_loss, dscores = loss_fn(scores, target)
    model.zero_grad()
    model.backward(dscores)
    loss = float(data_loss) + nn.L2(REG, fused=fused)(model.parameters())

    t_target = torch.from_numpy(target)
    t_scores = reference(torch.from_numpy(x))
    weights = [m.weight for m in reference if isinstance(m, torch.nn.Linear)]
    t_loss = TORCH_LOSSES[loss_name](t_scores, t_target) + REG * sum((w * w).sum() for w in weights)
    t_loss.backward()

    assert abs(loss - t_loss.item()) <= 1e-10 * abs(t_loss.item())
    t_linear = [m for m in reference if isinstance(m, torch.nn.Linear)]
    ours = [m for m in model if isinstance(m, nn.Linear)]
    for a, b in zip(ours, t_linear, strict=True):
        assert relative(a.weight.grad, b.weight.grad.numpy().T) < 1e-10
        assert relative(a.bias.grad, b.bias.grad.numpy()) < 1e-10


@pytest.mark.parametrize("layer", [cls() for _, cls in nn.ACTIVATIONS.items()] + [nn.GELU("tanh")],
                         ids=repr)
def test_each_activation_equals_its_pytorch_twin(layer):
    x = np.linspace(-6, 6, 241).reshape(1, -1)
    dout = np.random.default_rng(0).standard_normal(x.shape)
    twin = getattr(torch.nn, layer.torch_name)(**layer.torch_kwargs())
    t_x = torch.from_numpy(x.copy()).requires_grad_(True)
    t_y = twin(t_x)
    t_y.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(layer.forward(x), t_y.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.backward(dout), t_x.grad.numpy(), rtol=1e-10, atol=1e-12)
