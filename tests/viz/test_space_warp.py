import io

import numpy as np
import pytest
from PIL import Image

from warpnet import nn
from warpnet.viz._common import accuracy, fit
from warpnet.viz.space_warp import (
    animate_space_warp,
    fit_space_warp,
    plot_space_warp,
    warp_data,
    warp_model,
)


@pytest.fixture(scope="module")
def trained():
    x, y = warp_data(seed=0)
    model, _ = fit_space_warp(x, y, seed=0)
    return x, y, model


def test_panels_use_the_plotted_models_weights(trained, artists, assert_not_blank):
    x, y, model = trained
    fig = plot_space_warp(model, x, y)
    assert_not_blank(fig)
    W1 = np.asarray(model[0].weight.value)
    b1 = np.asarray(model[0].bias.value)
    pre = x @ W1 + b1                       # recomputed here, not taken from the model
    inputs, affine, folded = artists(fig, "points")
    np.testing.assert_array_equal(inputs.get_offsets(), x)
    np.testing.assert_allclose(affine.get_offsets(), pre, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(folded.get_offsets(), np.maximum(pre, 0.0), rtol=1e-12, atol=1e-12)
    # The grid lines of the last panel are folded too: no coordinate is negative.
    grid = [line.get_xydata() for line in artists(fig, "grid")]
    assert len(grid) == 3 * 22
    assert min(g.min() for g in grid[-22:]) >= 0.0


def test_boundary_is_the_output_layers_line(trained, artists):
    x, y, model = trained
    fig = plot_space_warp(model, x, y)
    (boundary,) = artists(fig, "boundary")
    W2 = np.asarray(model[2].weight.value)
    b2 = np.asarray(model[2].bias.value)
    h = boundary.get_xydata()
    scores = h @ W2 + b2
    np.testing.assert_allclose(scores[:, 1] - scores[:, 0], 0.0, atol=1e-9)


def test_boundary_of_an_output_layer_without_bias(trained, artists):
    x, y, _ = trained
    model = nn.Sequential(nn.Linear(2, 2, dtype="float64", rng=0), nn.ReLU(),
                          nn.Linear(2, 2, bias=False, dtype="float64", rng=1))
    (boundary,) = artists(plot_space_warp(model, x, y), "boundary")
    W2 = np.asarray(model[2].weight.value)
    scores = boundary.get_xydata() @ W2  # b = 0: the line passes through the origin of h
    np.testing.assert_allclose(scores[:, 1] - scores[:, 0], 0.0, atol=1e-9)


def test_a_different_model_gives_different_panels(trained, artists):
    x, y, model = trained
    other, _ = fit_space_warp(x, y, seed=1)
    a = artists(plot_space_warp(model, x, y), "points")[1].get_offsets()
    b = artists(plot_space_warp(other, x, y), "points")[1].get_offsets()
    assert not np.allclose(a, b)


def test_two_relu_units_split_what_a_line_cannot(trained):
    x, y, model = trained
    line = fit(nn.Linear(2, 2, dtype="float64", rng=0), x, y, steps=600, lr=0.03)
    assert accuracy(line, x, y) < 0.9
    assert accuracy(model, x, y) > 0.95


def test_wrong_model_shape_is_refused(trained):
    x, y, _ = trained
    with pytest.raises(ValueError, match="Linear\\(2, 2\\)"):
        plot_space_warp(nn.mlp([2, 3, 2]), x, y)


def test_snapshots_and_animation():
    x, y = warp_data(n=60, seed=0)
    model, states = fit_space_warp(x, y, steps=20, seed=0, snapshots=5)
    assert len(states) == 5
    # The first snapshot is one of the untrained starts drawn from the seed, the last the
    # returned model.
    rng = np.random.default_rng(0)
    starts = [np.asarray(warp_model(2, rng)[0].weight.value) for _ in range(4)]
    assert any(np.array_equal(states[0]["0.weight"], w) for w in starts)
    np.testing.assert_array_equal(states[-1]["2.bias"], np.asarray(model[2].bias.value))
    gif = animate_space_warp(x, y, steps=20, frames=3, seed=0)
    image = Image.open(io.BytesIO(gif))
    assert image.format == "GIF" and image.n_frames == 3


def test_restarts_keep_the_lowest_loss():
    x, y = warp_data(n=100, seed=4)
    single, _ = fit_space_warp(x, y, seed=4, restarts=1)
    best, _ = fit_space_warp(x, y, seed=4, restarts=4)
    loss = nn.SoftmaxCrossEntropy()
    assert float(loss(best.forward(x), y)[0]) <= float(loss(single.forward(x), y)[0])
    with pytest.raises(ValueError, match="restarts"):
        fit_space_warp(x, y, restarts=0)
