"""BatchNorm1d and LayerNorm: finite differences, the PyTorch oracle, saving, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import io, nn
from warpnet.io import from_torch, to_torch
from warpnet.train import Trainer

torch = pytest.importorskip("torch")


def _deep(norm: str, seed: int = 0) -> nn.Sequential:
    model = nn.mlp([6, 9, 7, 8, 4], activation=["tanh", "relu", "gelu"], norm=norm, rng=seed,
                   dtype="float64")
    rng = np.random.default_rng(seed + 1)
    for m in model.modules():  # non-trivial scale and shift
        if isinstance(m, (nn.BatchNorm1d, nn.LayerNorm)):
            m.weight.value[:] = rng.uniform(0.5, 1.5, m.num_features)
            m.bias.value[:] = rng.normal(0, 0.3, m.num_features)
    return model


@pytest.mark.parametrize("layer", [nn.BatchNorm1d, nn.LayerNorm])
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_single_layer(layer, training):
    rng = np.random.default_rng(3)
    m = layer(5, dtype="float64")
    m.weight.value[:] = rng.uniform(0.5, 2, 5)
    m.bias.value[:] = rng.normal(size=5)
    if isinstance(m, nn.BatchNorm1d):
        m.running_mean[:] = rng.normal(size=5)
        m.running_var[:] = rng.uniform(0.5, 2, 5)
    m.train(training)
    x = rng.normal(1.0, 2.0, size=(7, 5))
    assert nn.gradcheck(m, x) < 1e-6


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_gradcheck_deep_net(norm):
    model = _deep(norm)
    x = np.random.default_rng(5).normal(size=(8, 6))
    errors = nn.gradcheck(model, x, per_array=True)
    for name, err in errors.items():
        if norm == "batch" and name in ("0.bias", "3.bias", "6.bias"):
            continue  # a bias right before BatchNorm has gradient 0: its relative error is noise
        assert err < 1e-6, (name, err)


@pytest.mark.parametrize("norm", ["batch", "layer"])
@pytest.mark.parametrize("training", [True, False])
def test_torch_oracle_deep_net(norm, training):
    model = _deep(norm)
    rng = np.random.default_rng(7)
    if not training:  # give eval mode non-trivial running statistics first
        for _ in range(3):
            model.forward(rng.normal(0.5, 2.0, size=(10, 6)))
    model.train(training)
    ref = to_torch(model)
    assert ref.training == training
    for _ in range(4):  # several steps: running statistics follow PyTorch's
        x = rng.normal(0.5, 2.0, size=(10, 6))
        dout = rng.normal(size=(10, 4))
        model.zero_grad()
        y = model.forward(x)
        dx = model.backward(dout)
        xt = torch.tensor(x, requires_grad=True)
        yt = ref(xt)
        yt.backward(torch.tensor(dout))
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-10)
        torch_params = dict(ref.named_parameters())
        for name, p in model.named_parameters():
            expected = torch_params[name].grad.numpy()
            if expected.ndim == 2:  # torch.nn.Linear stores (out, in)
                expected = expected.T
            np.testing.assert_allclose(p.grad, expected, rtol=0, atol=1e-10)
            torch_params[name].grad = None
        torch_buffers = dict(ref.named_buffers())
        for name, value in model.named_buffers():
            np.testing.assert_allclose(value, torch_buffers[name].numpy(), rtol=0, atol=1e-12)


def test_running_statistics_formula():
    bn = nn.BatchNorm1d(3, momentum=0.25, dtype="float64")
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(5, 3))
    bn.forward(x)
    np.testing.assert_allclose(bn.running_mean, 0.75 * 0 + 0.25 * x.mean(0))
    np.testing.assert_allclose(bn.running_var, 0.75 * 1 + 0.25 * x.var(0, ddof=1))
    bn.eval()
    before = bn.running_mean.copy()
    y = bn.forward(x)  # eval mode: fixed statistics, no update
    np.testing.assert_array_equal(bn.running_mean, before)
    np.testing.assert_allclose(y, (x - bn.running_mean) / np.sqrt(bn.running_var + 1e-5))


def test_float32_stays_float32():
    for layer in (nn.BatchNorm1d(4), nn.LayerNorm(4)):
        y = layer.forward(np.ones((3, 4), np.float32) * np.arange(3, dtype=np.float32)[:, None])
        assert y.dtype == np.float32
        assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert layer.weight.regularize is False and layer.bias.regularize is False


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_model_file_and_torch_round_trip(tmp_path, norm):
    model = _deep(norm)
    model.forward(np.random.default_rng(0).normal(size=(6, 6)))  # move the running statistics
    model.eval()
    path = tmp_path / "m.safetensors"
    io.save(model, path)
    loaded = io.load(path).model
    x = np.random.default_rng(1).normal(size=(5, 6))
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    back = from_torch(to_torch(model))
    np.testing.assert_array_equal(back.forward(x), model.forward(x))
    assert nn.build(model.get_config()).get_config() == model.get_config()


def test_trainer_trains_and_evaluates_in_eval_mode():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    for norm in ("batch", "layer"):
        model = nn.mlp([6, 16, 2], norm=norm, rng=0)
        trainer = Trainer(model, "softmax", "sgd", lr=0.1, momentum=0.9, epochs=15, batch_size=20,
                          verbose=0)
        assert trainer.step.compiled  # normalisation layers run inside the compiled step
        trainer.fit(X, y)
        assert trainer.evaluate(X, y)["accuracy"] > 0.9
        assert model.training


@pytest.mark.parametrize("bad, match", [
    (dict(num_features=0), "num_features"),
    (dict(num_features=3, eps=0.0), "eps"),
    (dict(num_features=3, eps=-1e-5), "eps"),
    (dict(num_features=3, momentum=-0.1), "momentum"),
    (dict(num_features=3, momentum=1.5), "momentum"),
])
def test_bad_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        nn.BatchNorm1d(**bad)


def test_bad_inputs():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="at least 2 samples"):
        bn.forward(np.ones((1, 3), np.float32))
    bn.eval()
    assert bn.forward(np.ones((1, 3), np.float32)).shape == (1, 3)  # fine in eval mode
    for layer in (bn, nn.LayerNorm(3)):
        with pytest.raises(ValueError, match=r"\(N, 3\)"):
            layer.forward(np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match="eps"):
        nn.LayerNorm(3, eps=0)
    with pytest.raises(ValueError, match="norm"):
        nn.mlp([3, 4, 2], norm="group")


def test_trainer_refuses_batches_of_one_with_batchnorm():
    from warpnet.errors import UsageError

    X = np.random.default_rng(0).normal(size=(21, 3)).astype(np.float32)
    y = np.arange(21) % 2
    trainer = Trainer(nn.mlp([3, 4, 2], norm="batch"), batch_size=1, epochs=1, verbose=0)
    with pytest.raises(UsageError, match="batch_size=1"):
        trainer.fit(X, y)
    # a last minibatch of one is dropped instead (tests/train/test_batchnorm_batches.py)
    Trainer(nn.mlp([3, 4, 2], norm="batch"), batch_size=10, epochs=1, verbose=0).fit(X, y)


@pytest.mark.parametrize("norm", ["batch", "layer"])
@pytest.mark.parametrize("opt_name", ["adamw", "sgd"])
def test_compiled_step_equals_plain_step(norm, opt_name):
    from warpnet import optim
    from warpnet.train.step import make_step

    rng = np.random.default_rng(0)
    models = [nn.mlp([6, 9, 8, 4], norm=norm, rng=1, dtype="float64") for _ in range(2)]
    steps = []
    for compiled, model in zip((True, False), models, strict=True):
        opt = optim.optimizer(opt_name, model.parameters(), lr=0.01,
                              **({"momentum": 0.9, "weight_decay": 1e-3} if opt_name == "sgd"
                                 else {"weight_decay": 0.1}))
        steps.append(make_step(model, nn.SoftmaxCrossEntropy(0.1), opt, compiled=compiled))
    assert steps[0].compiled and not steps[1].compiled
    for _ in range(5):
        x, y = rng.normal(size=(12, 6)), rng.integers(0, 4, 12)
        assert steps[0](x, y) == pytest.approx(steps[1](x, y), rel=1e-12)
    for (name, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values(), strict=True):
        # (a bias right before BatchNorm has a gradient of rounding noise, which Adam scales up)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, err_msg=name)
