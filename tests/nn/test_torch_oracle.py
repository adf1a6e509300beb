"""PyTorch autograd as an independent oracle: the same MLP (three hidden layers) in float64 gives
the same loss and parameter gradients to 1e-10 relative, for every activation and every loss."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn

torch = pytest.importorskip("torch")

ACTIVATIONS = {
    "relu": lambda: torch.nn.ReLU(),
    "leaky_relu": lambda: torch.nn.LeakyReLU(0.2),
    "sigmoid": lambda: torch.nn.Sigmoid(),
    "tanh": lambda: torch.nn.Tanh(),
    "softplus": lambda: torch.nn.Softplus(),
    "elu": lambda: torch.nn.ELU(1.0),
}
SIZES = [7, 9, 8, 6, 5]
REG = 0.01


def torch_svm(scores, y, margin=1.0):
    n = scores.shape[0]
    correct = scores[torch.arange(n), y][:, None]
    margins = torch.clamp(scores - correct + margin, min=0)
    margins = margins * (1 - torch.nn.functional.one_hot(y, scores.shape[1]))
    return margins.sum() / n


TORCH_LOSSES = {
    "softmax": lambda s, y: torch.nn.functional.cross_entropy(s, y),
    "svm": torch_svm,
    "mse": lambda s, t: torch.nn.functional.mse_loss(s, t),
}


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def to_torch(model: nn.Sequential, activation: str) -> torch.nn.Sequential:
    layers = []
    for layer in model:
        if isinstance(layer, nn.Linear):
            t = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(layer.weight.value.T.copy()))
                t.bias.copy_(torch.from_numpy(layer.bias.value.copy()))
            layers.append(t)
        else:
            layers.append(ACTIVATIONS[activation]())
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("loss_name", ["softmax", "svm", "mse"])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_same_loss_and_gradients_as_pytorch(activation, loss_name):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((11, SIZES[0]))
    target = rng.integers(0, SIZES[-1], 11) if loss_name != "mse" else rng.standard_normal((11, SIZES[-1]))
    model = nn.mlp(SIZES, activation, dtype="float64", rng=1)
    reference = to_torch(model, activation)

    scores = model.forward(x)
    data_loss, dscores = nn.loss(loss_name)(scores, target)
    model.zero_grad()
    model.backward(dscores)
    loss = float(data_loss) + nn.L2(REG)(model.parameters())

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
