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


def test_colour_keys_read_the_three_bytes_of_each_pixel():
    rgb = np.random.default_rng(6).integers(0, 256, (1001, 3), dtype=np.uint8)
    expected = rgb[:, 0].astype(np.intp) | rgb[:, 1].astype(np.intp) << 8 | rgb[:, 2].astype(np.intp) << 16
    np.testing.assert_array_equal(_hsv.colour_keys(rgb), expected)
    np.testing.assert_array_equal(_hsv.colour_keys(rgb[:1]), expected[:1])
    frozen = rgb.copy()
    frozen.flags.writeable = False  # read-only input (a memory map) works too
    np.testing.assert_array_equal(_hsv.colour_keys(frozen), expected)


@pytest.mark.parametrize("bins", [10, 7])
def test_colour_table_equals_reference_on_edge_hits_and_random_colours(bins):
    table = _hsv.hue_colour_table(bins, n_threads=2)
    assert table.shape == (1 << 24,) and table.dtype == np.uint8
    assert _hsv.cached_hue_colour_table(bins) is table
    rgb = np.concatenate(
        [edge_heavy_images(50, bins).reshape(-1, 3),
         np.random.default_rng(bins).integers(0, 256, (100_000, 3), dtype=np.uint8)]
    )
    ref = _hsv.bin_index(matplotlib.colors.rgb_to_hsv(rgb / 255)[:, 0] * 255, bins)
    np.testing.assert_array_equal(table[_hsv.colour_keys(rgb)], ref)


def test_large_batches_use_the_colour_table_and_still_match_reference(monkeypatch):
    from warpnet.features import color

    monkeypatch.setattr(color, "_COLOUR_TABLE_MIN_PIXELS", 1000)
    monkeypatch.setattr(_hsv, "_colour_tables", {})
    monkeypatch.setattr(ColorHistogram, "_chunk_pixels", 7 * 256)  # chunks start mid-array
    images = edge_heavy_images(30, 11)
    ref = np.stack([classic_hue_histogram(im, 9) for im in images])
    for jobs in (1, 2):
        out = ColorHistogram(bins=9, n_jobs=jobs).fit_transform(images)
        assert _hsv.cached_hue_colour_table(9) is not None
        assert np.array_equal(out, ref.astype(np.float32))


@pytest.mark.slow
def test_colour_table_equals_reference_on_every_colour():
    table = _hsv.hue_colour_table(10)
    for blue in range(0, 256, 32):
        keys = np.arange(blue << 16, (blue + 32) << 16)
        rgb = np.stack([keys & 255, keys >> 8 & 255, keys >> 16], axis=1)
        ref = _hsv.bin_index(matplotlib.colors.rgb_to_hsv(rgb / 255)[:, 0] * 255, 10)
        np.testing.assert_array_equal(table[keys], ref)


@pytest.mark.parametrize("bins", [1, 3, 16, 17, 40])
@pytest.mark.parametrize("pixels", [7, 70_000])
def test_per_bin_counts_equal_bincount(bins, pixels):
    from warpnet.features import color

    idx = np.random.default_rng(bins).integers(0, bins, (3, pixels)).astype(np.uint8)
    expected = np.stack([np.bincount(row, minlength=bins) for row in idx])
    np.testing.assert_array_equal(color._counts(idx, bins), expected)
    np.testing.assert_array_equal(color._counts(idx.astype(np.intp), bins), expected)
