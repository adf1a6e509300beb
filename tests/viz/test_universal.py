import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warpnet.viz.universal import (
    UNITS_PER_BUMP,
    bump_network,
    default_target,
    fit_universal,
    plot_universal_approximation,
)


def _relu(z):
    return np.maximum(z, 0.0)


def _bumps_by_hand(x, knots, heights, d):
    """The sum of towers h/d * (relu(x-a) - relu(x-a-d) - relu(x-b) + relu(x-b-d))."""
    total = np.zeros_like(x)
    for a, b, h in zip(knots[:-1], knots[1:], heights, strict=True):
        total += h / d * (_relu(x - a) - _relu(x - a - d) - _relu(x - b) + _relu(x - b - d))
    return total


@settings(max_examples=30, deadline=None)
@given(n_bumps=st.integers(1, 25), lo=st.floats(-3, 0), width=st.floats(0.5, 5),
       phase=st.floats(0, 6))
def test_construction_equals_the_target_at_the_knots(n_bumps, lo, width, phase):
    def target(x):
        return np.sin(2 * x + phase) + 0.3 * x

    knots = np.linspace(lo, lo + width, n_bumps + 1)
    model, centres = bump_network(target, knots)
    assert model[0].out_features == UNITS_PER_BUMP * n_bumps
    out = np.asarray(model.forward(centres[:, None]))[:, 0]
    np.testing.assert_allclose(out, target(centres), atol=1e-9)


def test_construction_is_the_sum_of_hand_written_bumps():
    knots = np.linspace(-1, 1, 9)
    d = 0.05
    model, centres = bump_network(default_target, knots, ramp=d)
    x = np.linspace(-1.5, 1.5, 1001)
    expected = _bumps_by_hand(x, knots, default_target(centres), d)
    np.testing.assert_allclose(np.asarray(model.forward(x[:, None]))[:, 0], expected, atol=1e-9)
    # Outside the knots every bump is zero.
    assert np.all(expected[x < knots[0]] == 0) and np.all(np.abs(expected[x > 1 + d]) < 1e-12)


def test_bad_knots_and_ramps_are_refused():
    with pytest.raises(ValueError, match="increasing"):
        bump_network(default_target, np.array([0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="ramp"):
        bump_network(default_target, np.linspace(0, 1, 3), ramp=0.3)


def test_trained_net_follows_the_target():
    model = fit_universal(default_target, hidden=48, seed=0)
    x = np.linspace(-1, 1, 200)[:, None]
    err = np.abs(np.asarray(model.forward(x)) - default_target(x)).max()
    assert err < 0.15


def test_figure_draws_the_models(assert_not_blank, artists):
    construction, centres = bump_network(default_target, np.linspace(-1, 1, 13))
    trained = fit_universal(default_target, hidden=48, steps=200, seed=0)
    fig = plot_universal_approximation(construction, centres, trained)
    assert_not_blank(fig)
    (line,) = artists(fig, "construction")
    x = line.get_xdata()
    np.testing.assert_allclose(line.get_ydata(), np.asarray(construction.forward(x[:, None]))[:, 0])
    (fit_line,) = artists(fig, "trained")
    np.testing.assert_allclose(fit_line.get_ydata(),
                               np.asarray(trained.forward(x[:, None]))[:, 0], rtol=1e-12)
    (knots,) = artists(fig, "knots")
    np.testing.assert_allclose(knots.get_ydata(), default_target(centres))


def test_figure_refuses_a_construction_of_another_shape():
    from warpnet import nn

    _, centres = bump_network(default_target, np.linspace(-1, 1, 5))
    trained = nn.mlp([1, 4, 1], rng=0, dtype="float64")
    with pytest.raises(TypeError, match="Sequential\\(Linear, ReLU, Linear\\)"):
        plot_universal_approximation(nn.mlp([1, 4, 4, 1], rng=0, dtype="float64"), centres, trained)
