import numpy as np
import pytest

from warpnet import nn
from warpnet.viz.loss_landscape import (
    DEEP_SIZES,
    fit_landscape_models,
    landscape_data,
    loss_slices,
    plot_loss_landscape,
)

ALPHAS = np.linspace(-1.0, 1.0, 41)


@pytest.fixture(scope="module")
def trained():
    x, y = landscape_data(n=300, seed=0)
    return x, y, fit_landscape_models(x, y, steps=150, seed=0)


def _softmax_loss(scores, y):
    """Mean cross-entropy written out again (an oracle independent of the engine's loss)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean()


def test_the_deep_net_is_the_lectures(trained):
    _, _, (linear, deep) = trained
    linears = [m for m in deep.modules() if isinstance(m, nn.Linear)]
    sizes = [linears[0].in_features] + [m.out_features for m in linears]
    assert sizes == list(DEEP_SIZES)
    assert sum(isinstance(m, nn.ReLU) for m in deep.modules()) == 3
    assert (linear.in_features, linear.out_features) == (10, 10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_slices_are_convex(trained, seed):
    x, y, (linear, _) = trained
    losses = loss_slices(linear, x, y, ALPHAS, directions=4, seed=seed)
    second = np.diff(losses, n=2, axis=1)
    assert np.all(second >= -1e-10 * np.abs(losses[:, 1:-1]).max())


def test_slice_values_are_the_loss_at_the_moved_weights(trained):
    x, y, (linear, _) = trained
    W = np.array(linear.weight.value)
    b = np.array(linear.bias.value)
    losses = loss_slices(linear, x, y, ALPHAS, directions=1, seed=5)
    # The slice passes through the trained weights at alpha = 0.
    assert losses[0, len(ALPHAS) // 2] == pytest.approx(_softmax_loss(x @ W + b, y), rel=1e-10)
    # and the weights are restored afterwards.
    np.testing.assert_array_equal(np.asarray(linear.weight.value), W)
    np.testing.assert_array_equal(np.asarray(linear.bias.value), b)
    # The direction has each parameter's norm: rebuild it from the same seed and check one point.
    rng = np.random.default_rng(5)
    dW, db = rng.standard_normal(W.shape), rng.standard_normal(b.shape)
    dW *= np.linalg.norm(W) / np.linalg.norm(dW)
    db *= np.linalg.norm(b) / np.linalg.norm(db)
    a = ALPHAS[-1]
    assert losses[0, -1] == pytest.approx(_softmax_loss(x @ (W + a * dW) + (b + a * db), y),
                                          rel=1e-10)


def test_training_found_a_minimum_along_the_slices(trained):
    x, y, (linear, deep) = trained
    for model in (linear, deep):
        losses = loss_slices(model, x, y, ALPHAS, directions=3, seed=0)
        centre = losses[:, len(ALPHAS) // 2]
        assert np.all(losses[:, [0, -1]] > centre[:, None])


def test_figure_draws_the_slices(trained, assert_not_blank, artists):
    x, y, (linear, deep) = trained
    fig = plot_loss_landscape(linear, deep, x, y, alphas=ALPHAS, directions=2, seed=3)
    assert_not_blank(fig)
    lines = artists(fig, "slice")
    assert len(lines) == 4
    expected = np.concatenate([loss_slices(m, x, y, ALPHAS, directions=2, seed=3)
                               for m in (linear, deep)])
    np.testing.assert_allclose([line.get_ydata() for line in lines], expected)


def test_bad_arguments(trained):
    x, y, (linear, _) = trained
    with pytest.raises(ValueError, match="alphas"):
        loss_slices(linear, x, y, np.array([0.0, np.inf]))
    with pytest.raises(ValueError, match="directions"):
        loss_slices(linear, x, y, ALPHAS, directions=0)
