"""Layers and containers: shapes, modes, errors, configs, and that nothing changes its inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warpnet import nn

ALL_LAYERS = [lambda: nn.Linear(4, 3), nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.ELU,
              lambda: nn.Dropout(0.5, rng=0), lambda: nn.mlp([4, 5, 3])]

def test_linear_shape_error_names_layer_and_shapes():
    layer = nn.Linear(3072, 100)
    with pytest.raises(ValueError, match=r"Linear\(3072 -> 100\).*\(N, 3072\).*\(8, 3071\)"):
        layer.forward(np.zeros((8, 3071), np.float32))
    with pytest.raises(ValueError, match=r"\(N, 3072\)"):
        layer.forward(np.zeros(3072, np.float32))
    with pytest.raises(TypeError, match="floating"):
        layer.forward(np.zeros((2, 3072), np.int64))
    with pytest.raises(TypeError, match="array"):
        layer.forward([[0.0] * 3072])

@pytest.mark.parametrize("factory", ALL_LAYERS)
def test_backward_before_forward(factory):
    with pytest.raises(RuntimeError, match="before forward"):
        factory().backward(np.ones((2, 3), np.float32))

@pytest.mark.parametrize("kwargs", [{"p": 1.0}, {"p": -0.1}, {"p": 1.5}, {"p": "0.5"}])
def test_dropout_p_validated(kwargs):
    with pytest.raises(ValueError, match="dropout p"):
        nn.Dropout(**kwargs)

@pytest.mark.parametrize("args", [(0, 3), (3, -1), (2.5, 3)])
def test_linear_sizes_validated(args):
    with pytest.raises(ValueError, match="positive integer"):
        nn.Linear(*args)

def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match="relu, leaky_relu, sigmoid, tanh, softplus, elu"):
        nn.mlp([2, 3, 2], "swish")
    with pytest.raises(ValueError, match="he, xavier, normal, zeros"):
        nn.Linear(2, 3, init="orthogonal")

def test_dropout_train_and_eval():
    x = np.ones((2000, 50), np.float32)
    layer = nn.Dropout(0.25, rng=0)
    y = layer.forward(x)
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.01
    assert abs(y.mean() - 1.0) < 0.02  # inverted scaling keeps the expectation
    np.testing.assert_array_equal(layer.backward(x), y)
    layer.eval()
    assert layer.forward(x) is x

@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5), seed=st.integers(0, 1000))
def test_no_layer_changes_its_inputs(n, seed):
    rng = np.random.default_rng(seed)
    for factory in ALL_LAYERS:
        layer = factory()
        x = rng.standard_normal((n, 4)).astype(np.float32)
        x_copy = x.copy()
        y = layer.forward(x)
        dout = rng.standard_normal(y.shape).astype(np.float32)
        dout_copy = dout.copy()
        layer.backward(dout)
        np.testing.assert_array_equal(x, x_copy)
        np.testing.assert_array_equal(dout, dout_copy)

def test_sequential_returns_fresh_arrays():
    model = nn.mlp([4, 6, 6, 3], rng=0)
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((5, 4), dtype=np.float32), rng.standard_normal((5, 4), dtype=np.float32)
    y1 = model(x1)
    y1_copy = y1.copy()
    dx1 = model.backward(np.ones_like(y1))
    dx1_copy = dx1.copy()
    model(x2)
    model.backward(2 * np.ones_like(y1))
    np.testing.assert_array_equal(y1, y1_copy)
    np.testing.assert_array_equal(dx1, dx1_copy)
    np.testing.assert_array_equal(model(x1), y1)  # buffers reused without changing results

def test_config_round_trip_and_state_dict():
    model = nn.Sequential(nn.Linear(4, 5, rng=0), nn.LeakyReLU(0.1), nn.Dropout(0.3), nn.Linear(5, 6),
                          nn.ELU(0.7), nn.Linear(6, 2, bias=False, dtype="float64"), nn.Tanh())
    clone = nn.build(model.get_config())
    assert clone.get_config() == model.get_config()
    clone.load_state_dict(model.state_dict())
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    model.eval(), clone.eval()
    np.testing.assert_array_equal(clone(x), model(x))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias", "5.weight"]

@pytest.mark.parametrize("config, match", [
    ({"type": "os.system"}, "unknown layer"),
    ({"type": "Linear", "in_features": 2}, "bad arguments"),
    ({"type": "Linear", "in_features": 2, "out_features": 3, "evil": 1}, "bad arguments"),
    ({"layers": []}, "'type'"),
    ({"type": "Sequential", "layers": "Linear"}, "list"),
])
def test_build_rejects_bad_configs(config, match):
    with pytest.raises(ValueError, match=match):
        nn.build(config)

def test_load_state_dict_checks_names_and_shapes():
    model = nn.mlp([3, 4, 2])
    with pytest.raises(ValueError, match="missing"):
        model.load_state_dict({})
    bad = {k: np.zeros((1, 1)) for k in model.state_dict()}
    with pytest.raises(ValueError, match="shape"):
        model.load_state_dict(bad)

def test_l2_penalty_equals_formula():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((300, 250)).astype(np.float32)
    p = nn.Parameter(w.copy())
    p.grad += np.ones_like(w)
    value = nn.L2(0.5)([p])
    assert value == pytest.approx(0.5 * float(np.sum(w.astype(np.float64) ** 2)), rel=1e-5)
    np.testing.assert_allclose(p.grad, 1.0 + 2 * 0.5 * w, rtol=1e-6)

@pytest.mark.parametrize("penalty", [nn.L2(0.3), nn.L1(0.7)], ids=repr)
def test_penalty_call_is_value_plus_add_gradient(penalty):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((5, 4))
    called, split = nn.Parameter(w.copy()), nn.Parameter(w.copy())
    bias = nn.Parameter(rng.standard_normal(4), regularize=False)
    value = penalty([called, bias])
    assert penalty.value([split, bias]) == pytest.approx(value, rel=1e-14)
    penalty.add_gradient([split, bias])
    np.testing.assert_array_equal(split.grad, called.grad)
    np.testing.assert_array_equal(bias.grad, 0.0)  # biases are not penalized


def test_an_unknown_activation_is_refused_even_without_hidden_layers():
    with pytest.raises(ValueError, match="unknown activation 'bogus'"):
        nn.mlp([4, 3], activation="bogus")


@pytest.mark.parametrize("bias", ["x", "no", 1, None])
def test_bias_must_be_a_bool(bias):
    with pytest.raises(TypeError, match="bias must be True or False"):
        nn.Linear(4, 3, bias=bias)
