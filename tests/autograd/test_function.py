"""``autograd.Function``: a layer written as its forward alone works as an ``nn.Module``."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import autograd, io, nn, optim
from warpnet.autograd import Tensor
from warpnet.train import Trainer


class AutogradReLU(autograd.Function, register=True):
    """max(0, x), with the derivative left to autograd."""

    def forward(self, x):
        return autograd.maximum(x, 0.0)


class AutogradAffine(autograd.Function, register=True):
    """x @ W + b with a hand-made parameter pair, as ``nn.Linear``."""

    def __init__(self, in_features: int, out_features: int, scale: float = 1.0, rng=None):
        rng = np.random.default_rng(rng)
        self.weight = nn.Parameter(scale * rng.standard_normal((in_features, out_features)))
        self.bias = nn.Parameter(np.zeros(out_features), regularize=False)

    def forward(self, x):
        return x @ self.weight + self.bias


class Swish(autograd.Function):
    def forward(self, x):
        return x * autograd.sigmoid(x)


def test_gradcheck_passes_for_layers_with_and_without_parameters():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    assert nn.gradcheck(AutogradReLU(), x + np.sign(x) * 0.1) < 1e-7  # no input at the kink
    layer = AutogradAffine(4, 3, rng=1)
    layer.bias.value[...] = rng.standard_normal(3)
    errors = nn.gradcheck(layer, x, per_array=True)
    assert set(errors) == {"x", "weight", "bias"} and max(errors.values()) < 1e-7
    assert nn.gradcheck(nn.Sequential(AutogradAffine(4, 6, rng=2), Swish(), nn.Linear(6, 2, dtype="float64")),
                        x) < 1e-7


def test_the_autograd_affine_layer_equals_nn_linear():
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    ours, ref = AutogradAffine(4, 3, rng=0), nn.Linear(4, 3, dtype="float64")
    ref.weight.value[...] = ours.weight.value
    ref.bias.value[...] = ours.bias.value = rng.standard_normal(3)
    np.testing.assert_allclose(ours.forward(x), ref.forward(x), rtol=1e-14)
    np.testing.assert_allclose(ours.backward(dout), ref.backward(dout), rtol=1e-13)
    np.testing.assert_allclose(ours.weight.grad, ref.weight.grad, rtol=1e-13)
    np.testing.assert_allclose(ours.bias.grad, ref.bias.grad, rtol=1e-13)
    assert ours.backward is not None and ours.forward(x).shape == (6, 3)
    assert ours.backward(dout, need_dx=False) is None


def _two_layer(relu: nn.Module) -> nn.Sequential:
    model = nn.mlp([8, 16, 3], rng=0, dtype="float64")
    return nn.Sequential(model[0], relu, model[2])


def test_an_autograd_relu_trains_to_the_same_weights_as_nn_relu():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((40, 8)), rng.integers(0, 3, 40)
    runs = []
    for relu in (nn.ReLU(), AutogradReLU()):
        model = _two_layer(relu)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loss_fn, penalty = nn.SoftmaxCrossEntropy(), nn.L2(1e-3)
        for step in range(30):
            batch = slice(10 * (step % 4), 10 * (step % 4) + 10)
            opt.zero_grad()
            loss, dscores = loss_fn(model.forward(x[batch]), y[batch])
            model.backward(dscores)
            penalty(model.parameters())
            opt.step()
        runs.append([p.value.copy() for p in model.parameters()])
    for ours, ref in zip(runs[1], runs[0], strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-14)


def test_the_trainer_and_model_files_take_a_function_layer(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((60, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    histories = []
    for relu in (nn.ReLU(), AutogradReLU()):
        model = nn.Sequential(nn.Linear(8, 16, rng=0), relu, nn.Linear(16, 2, rng=1))
        trainer = Trainer(model, "softmax", "sgd", lr=0.1, reg=1e-3, batch_size=20, epochs=5,
                          seed=0, verbose=0)
        histories.append(trainer.fit(x, y))
    ours, ref = (h.loss[-1] for h in histories)
    assert ours == pytest.approx(ref, rel=1e-5)

    io.save(model, tmp_path / "m.safetensors")
    loaded = io.load(tmp_path / "m.safetensors").model
    assert isinstance(loaded[1], AutogradReLU)
    np.testing.assert_allclose(loaded.forward(x), model.forward(x), rtol=1e-6)


def test_get_config_records_the_arguments_and_build_rebuilds_the_layer():
    layer = AutogradAffine(4, 2, scale=0.5, rng=np.random.default_rng(0))
    config = layer.get_config()
    assert config == {"type": "AutogradAffine", "in_features": 4, "out_features": 2, "scale": 0.5}
    rebuilt = nn.build(config)
    assert isinstance(rebuilt, AutogradAffine) and rebuilt.weight.shape == (4, 2)
    assert "AutogradReLU" in nn.LAYERS and "Swish" not in nn.LAYERS


def test_a_tensor_in_gives_a_tensor_out_inside_a_larger_expression():
    layer = AutogradAffine(3, 2, rng=0)
    x = Tensor(np.ones((4, 3)), requires_grad=True)
    loss = (AutogradReLU()(layer(x)) ** 2).sum()
    assert isinstance(loss, Tensor)
    loss.backward()
    assert x.grad.shape == (4, 3) and np.any(layer.weight.grad != 0)


def test_bad_use_of_a_function_layer():
    layer = AutogradReLU()
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.ones((2, 2)))
    layer.forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 2\)"):
        layer.backward(np.ones(3))
    with pytest.raises(TypeError, match="floating-point"):
        layer.forward(np.ones((2, 2), dtype=int))

    class Broken(autograd.Function):
        def forward(self, x):
            return x.value

    with pytest.raises(TypeError, match="must return a Tensor"):
        Broken().forward(np.ones(2))


@pytest.mark.parametrize("namespace", ["numpy", "array_api_strict", "torch"])
def test_a_function_layer_runs_on_any_namespace(namespace):
    xp = np if namespace == "numpy" else pytest.importorskip(namespace)
    rng = np.random.default_rng(6)
    x, dout = (xp.asarray(rng.standard_normal((4, 5))) for _ in range(2))
    ours, ref = nn.Sequential(AutogradReLU(), Swish()), nn.Sequential(nn.ReLU(), nn.ReLU())
    y = ours.forward(x)
    assert type(y) is type(x)
    np.testing.assert_allclose(np.asarray(y), np.asarray(ref.forward(x)) * (1 / (1 + np.exp(
        -np.asarray(ref.forward(x))))), rtol=1e-12)
    dx = ours.backward(dout)
    assert type(dx) is type(x) and tuple(dx.shape) == (4, 5)
