from types import SimpleNamespace

import numpy as np
import pytest

from warpnet.viz.image_features import example_image, fit_image_features, plot_image_features


@pytest.fixture(scope="module")
def colour_images():
    # Smooth random colour images: blocks of 4x4 pixels, so patches have structure.
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (60, 8, 8, 3))
    return np.repeat(np.repeat(small, 4, axis=1), 4, axis=2).astype(np.uint8)


def test_figure_shows_the_features_of_the_image(colour_images, assert_not_blank, artists):
    image, codebook_from = example_image(SimpleNamespace(x=colour_images), seed=0)
    assert image.shape == (32, 32, 3) and len(codebook_from) == 59
    feats = fit_image_features(codebook_from, n_words=9, seed=0)
    fig = plot_image_features(image, feats)
    assert_not_blank(fig)
    (hog,) = artists(fig, "hog")
    np.testing.assert_array_equal(hog.get_array(), feats.hog.visualize(image))
    bars = artists(fig, "hue")
    np.testing.assert_allclose([b.get_height() for b in bars],
                               feats.hue.transform(image[None])[0])
    words = artists(fig, "word")
    assert len(words) == 9
    first = feats.bow.codebook_[0].reshape(8, 8, 3).astype(np.float64)
    np.testing.assert_allclose(words[0].get_array(),
                               (first - first.min()) / (first.max() - first.min()))


def test_hue_histogram_of_a_known_image(colour_images):
    # Left half pure red (hue 0), right half pure blue (hue 2/3): two bins of one half each.
    image = np.zeros((16, 16, 3), np.uint8)
    image[:, :8, 0] = 255
    image[:, 8:, 2] = 255
    feats = fit_image_features(colour_images, n_words=4, seed=0)
    hist = feats.hue.fit(image[None]).transform(image[None])[0]
    expected = np.zeros(12)
    expected[0] = expected[8] = 0.5
    np.testing.assert_allclose(hist, expected)


def test_gray_digits_fall_back_to_a_photo():
    image, tiles = example_image(SimpleNamespace(x=np.zeros((5, 8, 8), np.uint8)), seed=0)
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    assert image.std() > 10  # a real photo, not a constant
    assert tiles.shape[1:] == (64, 64, 3)


def test_one_image_only(colour_images):
    feats = fit_image_features(colour_images, n_words=4, seed=0)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        plot_image_features(colour_images, feats)
