import numpy as np
import pytest
from scipy.special import erf

from warpnet import nn
from warpnet.viz.activations import activation_curves, activation_panels, plot_activations

X = np.linspace(-4.0, 4.0, 401)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# Independent formulas: (f, f') per registered name.
FORMULAS = {
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.2 * x), lambda x: np.where(x > 0, 1.0, 0.2)),
    "softplus": (lambda x: np.logaddexp(0.0, x), _sigmoid),
    "elu": (lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
            lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0)))),
    "gelu": (lambda x: x * (1 + erf(x / np.sqrt(2))) / 2,
             lambda x: (1 + erf(x / np.sqrt(2))) / 2 + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)),
    "silu": (lambda x: x * _sigmoid(x), lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
}


def test_curves_match_the_formulas():
    curves = activation_curves(X)
    assert set(curves) == set(nn.ACTIVATIONS.names()) == set(FORMULAS)
    for name, (f, df) in FORMULAS.items():
        value, slope = curves[name]
        np.testing.assert_allclose(value, f(X), atol=1e-12, err_msg=name)
        keep = X != 0.0  # the kink of ReLU-like units: either one-sided slope is fine
        np.testing.assert_allclose(slope[keep], df(X)[keep], atol=1e-12, err_msg=name)


def test_figure_draws_the_curves(assert_not_blank, artists):
    fig = plot_activations(X)
    assert_not_blank(fig)
    values, slopes = artists(fig, "value"), artists(fig, "derivative")
    assert len(values) == len(slopes) == len(activation_panels()) == len(nn.ACTIVATIONS)
    curves = activation_curves(X)
    for line_v, line_d, (_, name) in zip(values, slopes, activation_panels(), strict=True):
        np.testing.assert_array_equal(line_v.get_ydata(), curves[name][0])
        np.testing.assert_array_equal(line_d.get_ydata(), curves[name][1])


def test_input_is_not_modified_and_bad_input_is_refused():
    x = X.copy()
    activation_curves(x)
    np.testing.assert_array_equal(x, X)
    with pytest.raises(ValueError, match="1-D"):
        activation_curves(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        activation_curves(np.array([0.0, np.nan]))
