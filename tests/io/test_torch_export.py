"""warpnet.io.to_torch / from_torch against PyTorch itself as the oracle."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from warpnet import nn
from warpnet.io import from_torch, to_torch

torch = pytest.importorskip("torch")


def _random_net(activation: str, dtype: str = "float64", seed: int = 0) -> nn.Sequential:
    """A 3-layer net with random weights and non-zero biases (so bias handling is tested)."""
    rng = np.random.default_rng(seed)
    net = nn.mlp([6, 9, 7, 4], activation, rng=rng, dtype=dtype)
    for p in net.parameters():
        p.value[...] = rng.normal(0.0, 1.0, p.shape)
    return net.eval()


def _inputs(dtype: str = "float64", seed: int = 1) -> np.ndarray:
    # Wide range: exercises both branches of every activation, softplus up to |x| ~ 60.
    return np.random.default_rng(seed).normal(0.0, 8.0, (50, 6)).astype(dtype)


@pytest.mark.parametrize("activation", nn.ACTIVATIONS.names())
def test_to_torch_computes_the_same_function_in_float64(activation):
    net = _random_net(activation)
    x = _inputs()
    module = to_torch(net)
    assert isinstance(module, torch.nn.Sequential)
    with torch.no_grad():
        got = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, net.forward(x), rtol=0, atol=1e-10)
    assert got.dtype == np.float64


@pytest.mark.parametrize("activation", nn.ACTIVATIONS.names())
def test_round_trip_is_exact(activation):
    net = _random_net(activation)
    back = from_torch(to_torch(net))
    assert back.get_config() == net.get_config()
    for (name, a), (name_b, b) in zip(net.state_dict().items(), back.state_dict().items(),
                                      strict=True):
        assert name == name_b
        np.testing.assert_array_equal(a, b)
    x = _inputs()
    np.testing.assert_array_equal(back.eval().forward(x), net.forward(x))


def test_linear_weight_is_transposed_for_torch():
    layer = nn.Linear(3, 2, rng=0, dtype="float64")
    module = to_torch(layer)
    assert tuple(module[0].weight.shape) == (2, 3)
    np.testing.assert_array_equal(module[0].weight.detach().numpy(), layer.weight.value.T)


def test_parameters_of_activations_and_dropout_survive():
    net = nn.Sequential(nn.Linear(4, 4, rng=0), nn.LeakyReLU(0.05), nn.ELU(0.7), nn.Dropout(0.3),
                        nn.Linear(4, 2, bias=False, rng=1))
    module = to_torch(net)
    assert module[1].negative_slope == pytest.approx(0.05)
    assert module[2].alpha == pytest.approx(0.7)
    assert module[3].p == pytest.approx(0.3)
    assert module[4].bias is None
    assert module.training and module[0].weight.dtype == torch.float32
    back = from_torch(module)
    assert back.get_config() == net.get_config()


def test_train_eval_mode_follows_the_source():
    net = _random_net("relu").eval()
    assert not to_torch(net).training
    module = to_torch(net.train())
    assert module.training
    assert not from_torch(module.eval()).layers[0].training


def test_from_torch_module_built_in_torch_float32_nested():
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.Tanh(),
        torch.nn.Sequential(torch.nn.Linear(8, 8, bias=False), torch.nn.Softplus()),
        torch.nn.Linear(8, 3), torch.nn.Sigmoid(),
    ).eval()
    net = from_torch(module)
    assert isinstance(net.layers[2], nn.Sequential)
    x = np.random.default_rng(0).normal(size=(20, 5)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    got = net.forward(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_single_layer_is_wrapped():
    net = from_torch(torch.nn.Linear(3, 2))
    assert isinstance(net, nn.Sequential) and len(net) == 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fitted_estimator_exports_its_network():
    from warpnet import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(8,), activation="elu", max_iter=5,
                        random_state=0).fit(X, y)
    with torch.no_grad():
        scores = to_torch(clf)(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(scores[:, 1] - scores[:, 0], clf.decision_function(X), atol=1e-10)
    with pytest.raises(NotFittedError):
        to_torch(MLPClassifier())


def test_unsupported_inputs_are_refused():
    with pytest.raises(TypeError, match="Conv2d"):
        from_torch(torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3)))
    with pytest.raises(ValueError, match="beta"):
        from_torch(torch.nn.Softplus(beta=2.0))
    with pytest.raises(ValueError, match="float16"):
        from_torch(torch.nn.Linear(2, 2).half())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        from_torch(np.zeros(3))
    with pytest.raises(TypeError, match="warpnet Module"):
        to_torch("not a model")


def test_missing_torch_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="pip install"):
        to_torch(nn.Linear(2, 2, rng=0))
