import numpy as np
import pytest

from warpnet.data import load_digits
from warpnet.viz._common import accuracy
from warpnet.viz.templates import fit_templates, plot_templates, prepare_images


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    x, shape = prepare_images(data.x, 16)
    return data, x, shape


def test_prepare_images(digits):
    data, x, shape = digits
    assert shape == (8, 8) and x.shape == (len(data.x), 64) and x.dtype == np.float32
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(x[0] - x[1], (data.x[0].astype(float) - data.x[1]).ravel() / 16, atol=1e-6)
    with pytest.raises(ValueError, match="pixel_max"):
        prepare_images(data.x, 0)
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        prepare_images(np.zeros((3, 4)), 1)


def test_templates_are_the_weights(digits, assert_not_blank, artists):
    data, x, shape = digits
    linear, net = fit_templates(x, data.y, steps=150, seed=0)
    assert accuracy(linear, x, data.y) > 0.85 and accuracy(net, x, data.y) > 0.85
    fig = plot_templates(linear, net, shape, data.class_names, n_hidden=20)
    assert_not_blank(fig)
    images = artists(fig, "template")
    assert len(images) == 10 + 20
    W = np.asarray(linear.weight.value)
    W1 = np.asarray(net[0].weight.value)
    columns = [W[:, k] for k in range(10)] + [W1[:, j] for j in range(20)]
    for image, column in zip(images, columns, strict=True):
        np.testing.assert_array_equal(image.get_array(), column.reshape(8, 8))
        # The colour scale is centred at zero, so a weight's sign reads as red or blue.
        lo, hi = image.get_clim()
        assert lo == -hi == -np.abs(column).max()


def test_colour_templates_are_rescaled_weights(assert_not_blank, artists):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 4, 4, 3), dtype=np.uint8)
    y = np.arange(40) % 2
    x, shape = prepare_images(images, 255)
    linear, net = fit_templates(x, y, hidden=3, steps=5, batch_size=10)
    fig = plot_templates(linear, net, shape, ["a", "b"])
    assert_not_blank(fig)
    first = artists(fig, "template")[0].get_array()
    w = np.asarray(linear.weight.value, dtype=np.float64)[:, 0].reshape(4, 4, 3)  # as the plot
    np.testing.assert_allclose(first, (w - w.min()) / (w.max() - w.min()))


def test_mismatched_shapes_are_refused(digits):
    data, x, _ = digits
    linear, net = fit_templates(x[:50], data.y[:50], hidden=4, steps=1)
    with pytest.raises(ValueError, match="pixels"):
        plot_templates(linear, net, (4, 4), data.class_names)
    with pytest.raises(ValueError, match="class_names"):
        plot_templates(linear, net, (8, 8), ["a"])
