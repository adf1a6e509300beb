"""ColorHistogram: bit-for-bit equality with the classic float64 hue histogram."""

import matplotlib.colors
import numpy as np
import pytest

from warpnet.features import ColorHistogram, _hsv


def classic_hue_histogram(im, nbin=10, channel=0):
    """The classic CIFAR-10 feature (``color_histogram_hsv``), written out as reference."""
    bins = np.linspace(0, 255, nbin + 1)
    hsv = matplotlib.colors.rgb_to_hsv(im / 255) * 255
    hist, edges = np.histogram(hsv[:, :, channel], bins=bins, density=True)
    return hist * np.diff(edges)


def edge_heavy_images(n, seed):
    """Random images whose top half holds colours with a hue exactly on a 10-bin edge.

    With delta = max - min = 5m, hue = k/10 means a sector offset plus a channel
    difference of a whole multiple of m: red max with g - b in {0, 3m, -3m}, green
    max with b - r in {-4m, -m, 2m}, blue max with r - g in {-2m, m, 4m}.
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)
    shape = (n, 8, 16)
    m = rng.integers(1, 51, shape)
    lo = rng.integers(0, 256 - 5 * m)
    hi = lo + 5 * m
    sector = rng.integers(0, 3, shape)
    choice = rng.integers(0, 3, shape)
    diffs = np.array([[0, 3, -3], [-4, -1, 2], [-2, 1, 4]])[sector, choice] * m
    top = np.zeros((*shape, 3), dtype=np.int64)
    for s, (first, second, third) in enumerate([(0, 1, 2), (1, 2, 0), (2, 0, 1)]):
        # max channel `first`; diff = second - third, the smaller of the two is lo
        sel = sector == s
        d = diffs[sel]
        top[sel, first] = hi[sel]
        top[sel, second] = np.where(d >= 0, lo[sel] + d, lo[sel])
        top[sel, third] = np.where(d >= 0, lo[sel], lo[sel] - d)
    images[:, :8] = top
    return images


def test_edge_hits_break_a_float32_shortcut():
    # Guards the exactness tests: on these images float32 arithmetic bins differently.
    images = edge_heavy_images(20, 0)
    hue = matplotlib.colors.rgb_to_hsv(images / 255)[..., 0] * 255
    hue32 = matplotlib.colors.rgb_to_hsv((images / 255).astype(np.float32))[..., 0]
    wrong = _hsv.bin_index(hue32.ravel() * np.float32(255), 10) != _hsv.bin_index(hue.ravel(), 10)
    assert wrong.mean() > 0.02


@pytest.mark.parametrize("bins", [10, 7, 16, 1])
def test_hue_histogram_equals_reference_bit_for_bit(bins):
    images = edge_heavy_images(40, bins)
    ref = np.stack([classic_hue_histogram(im, bins) for im in images])
    hist = ColorHistogram(bins=bins).fit(images)
    assert np.array_equal(hist.transform(images.astype(np.float64)), ref)
    assert np.array_equal(hist.transform(images), ref.astype(np.float32))


@pytest.mark.parametrize("channel", [0, 1, 2])
def test_every_hsv_channel_equals_reference(channel):
    images = edge_heavy_images(20, channel)
    name = "hsv"[channel]
    ref = np.stack([classic_hue_histogram(im, 10, channel) for im in images])
    out = ColorHistogram(channels=(name,)).fit_transform(images.astype(np.float64))
    assert np.array_equal(out, ref)
    out_u8 = ColorHistogram(channels=(name,)).fit_transform(images)
    assert np.array_equal(out_u8, ref.astype(np.float32))


def test_uint8_path_matches_reference_on_many_random_colours():
    rgb = np.random.default_rng(5).integers(0, 256, (400_000, 3), dtype=np.uint8)
    for bins in (10, 9, 256):
        ref = _hsv.bin_index(matplotlib.colors.rgb_to_hsv(rgb / 255)[:, 0] * 255, bins)
        assert np.array_equal(_hsv.hue_bins_uint8(rgb, bins), ref)


def test_all_channels_concatenate_and_each_sums_to_one():
    images = edge_heavy_images(5, 9)
    out = ColorHistogram(bins=8, channels=("h", "s", "v")).fit_transform(images)
    assert out.shape == (5, 24)
    np.testing.assert_allclose(out.reshape(5, 3, 8).sum(axis=2), 1.0, rtol=1e-6)


def test_joint_rgb_histogram_counts():
    images = np.random.default_rng(2).integers(0, 256, (6, 10, 12, 3), dtype=np.uint8)
    out = ColorHistogram(bins=4, space="rgb", channels=("r", "g", "b")).fit_transform(images)
    edges = [np.linspace(0, 255, 5)] * 3
    ref = np.stack(
        [np.histogramdd(im.reshape(-1, 3).astype(float), bins=edges)[0].ravel() / 120 for im in images]
    )
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    two = ColorHistogram(bins=3, space="rgb", channels=("b", "r")).fit_transform(images)
    assert two.shape == (6, 9)
    np.testing.assert_allclose(two.sum(axis=1), 1.0, rtol=1e-6)


def test_uint8_and_float_give_same_features():
    images = edge_heavy_images(8, 4)
    hist = ColorHistogram(channels=("h", "s", "v")).fit(images)
    np.testing.assert_array_equal(hist.transform(images), hist.transform(images.astype(np.float32)))


def test_bad_colour_input():
    with pytest.raises(ValueError, match="RGB images"):
        ColorHistogram().fit(np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="0..255 scale"):
        ColorHistogram().fit(np.full((2, 8, 8, 3), 300.0))
    with pytest.raises(ValueError, match="channels"):
        ColorHistogram(space="rgb").fit(np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="bins"):
        ColorHistogram(bins=0).fit(np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="space"):
        ColorHistogram(space="lab").fit(np.zeros((2, 8, 8, 3), np.uint8))
