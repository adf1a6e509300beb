"""Analytic gradients equal centred differences (float64, max relative error < 1e-7) for every
layer, every registered activation and loss, and every penalty, over shapes drawn by hypothesis
and on every array namespace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from warpnet import nn

TOL = 1e-7
ACTIVATIONS = nn.ACTIVATIONS.names()  # every registered activation is checked
SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], gap: float = 0.05) -> np.ndarray:
    """Normal draws pushed at least ``gap`` away from 0, where ReLU-like layers have their kink."""
    x = rng.standard_normal(shape)
    return np.where(x >= 0, x + gap, x - gap)


@SETTINGS
@given(n=st.integers(1, 4), d=st.integers(1, 5), m=st.integers(1, 5), bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_linear(xp, to_xp, n, d, m, bias, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(d, m, bias=bias, dtype="float64", rng=seed).to(xp)
    assert nn.gradcheck(layer, to_xp(xp, rng.standard_normal((n, d)))) < TOL


@pytest.mark.parametrize("name", ACTIVATIONS)
@SETTINGS
@given(n=st.integers(1, 4), d=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_activation(xp, to_xp, name, n, d, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, (n, d)) * 2  # ReLU-like activations have their kink at 0
    # Deep in saturation (|x| > 4) the derivative is so small that the finite differences measure
    # rounding noise, not the gradient.
    x = np.clip(x, -4, 4)
    assert nn.gradcheck(nn.activation(name), to_xp(xp, x)) < TOL


@pytest.mark.parametrize("layer", [nn.LeakyReLU(0.05), nn.ELU(alpha=0.5), nn.Dropout(0.3, rng=1)],
                         ids=repr)
def test_layers_with_arguments(xp, to_xp, layer):
    x = away_from_zero(np.random.default_rng(0), (5, 7))
    assert nn.gradcheck(layer, to_xp(xp, x)) < TOL


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_deep_network(xp, to_xp, activation):
    model = nn.mlp([6, 8, 7, 5, 4], activation, dtype="float64", rng=3, dropout=0.2).to(xp)
    errors = nn.gradcheck(model, to_xp(xp, np.random.default_rng(1).standard_normal((5, 6))),
                          per_array=True)
    assert set(errors) == {"x"} | {name for name, _ in model.named_parameters()}
    assert max(errors.values()) < TOL


def loss_inputs(name: str, rng: np.random.Generator, n: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores (n, c) and targets for a registered loss: labels, or real values for regression."""
    scores = rng.standard_normal((n, c)) * 2
    if nn.LOSSES.get(name).regression:
        return scores, rng.standard_normal((n, c))
    return scores, rng.integers(0, c, n)


@pytest.mark.parametrize("name", nn.LOSSES.names())  # every registered loss
@SETTINGS
@given(n=st.integers(1, 6), c=st.integers(2, 6), seed=st.integers(0, 2**16))
def test_loss(xp, to_xp, name, n, c, seed):
    scores, target = loss_inputs(name, np.random.default_rng(seed), n, c)
    loss = nn.loss(name)
    if name == "svm":  # away from the kinks of the hinge
        hinge = scores - scores[np.arange(n), target][:, None] + 1.0
        hinge[np.arange(n), target] = 1.0
        assume(np.min(np.abs(hinge)) > 1e-3)
    assert nn.gradcheck(loss, *to_xp(xp, scores, target)) < TOL


@pytest.mark.parametrize("loss", [nn.MulticlassSVM(0.5), nn.MSE("sum")], ids=repr)
def test_losses_with_arguments(xp, to_xp, loss):
    rng = np.random.default_rng(2)
    scores, target = loss_inputs("mse" if loss.regression else "svm", rng, 5, 3)
    scores = scores + 0.01  # off the hinge's kinks for this draw
    assert nn.gradcheck(loss, *to_xp(xp, scores, target)) < TOL


def test_weighted_losses(xp, to_xp):
    rng = np.random.default_rng(0)
    scores, y, w = rng.standard_normal((6, 4)) * 3, rng.integers(0, 4, 6), rng.random(6) + 0.1
    s, yy, ww = to_xp(xp, scores, y, w)
    for loss in (nn.SoftmaxCrossEntropy(), nn.MulticlassSVM()):
        assert nn.gradcheck(lambda a, t, f=loss: f(a, t, sample_weight=ww), s, yy) < TOL


@pytest.mark.parametrize("penalty", [nn.L2(0.3), nn.L1(0.7)], ids=repr)
@SETTINGS
@given(shape=st.tuples(st.integers(1, 5), st.integers(1, 5)), seed=st.integers(0, 2**16))
def test_penalties(xp, to_xp, penalty, shape, seed):
    w = away_from_zero(np.random.default_rng(seed), shape)  # L1 has its kink at 0
    assert nn.gradcheck(penalty, to_xp(xp, w)) < TOL


def test_gradcheck_catches_a_wrong_gradient():
    class Broken(nn.ReLU):
        def backward(self, dout, need_dx=True):
            return 1.5 * super().backward(dout, need_dx)

    assert nn.gradcheck(Broken(), away_from_zero(np.random.default_rng(0), (3, 4))) > 0.1


def test_gradcheck_requires_float64():
    with pytest.raises(ValueError, match="float64"):
        nn.gradcheck(nn.Linear(3, 2), np.ones((2, 3), np.float32))
