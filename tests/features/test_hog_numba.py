"""The compiled HOG kernels: equal to the NumPy path and to scikit-image where they differ in method."""

import contextlib
import itertools

import numpy as np
import pytest

from warpnet import _numba
from warpnet.features import HOG, _hog

pytest.importorskip("numba")
from warpnet.features import _hog_numba  # noqa: E402

if _numba.kernels(_hog._COMPILED) is None:
    pytest.skip("compiled kernels are off here", allow_module_level=True)

skfeature = pytest.importorskip("skimage.feature")

NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")


def on_path(compiled, images, **kw):
    """HOG features of ``images`` computed on the compiled path or on the NumPy path."""
    with contextlib.nullcontext() if compiled else _numba.numpy_path(_hog._COMPILED):
        return HOG(**kw).fit_transform(images)


def reference(images, **kw):
    axis = -1 if images.ndim == 4 else None
    return np.stack([skfeature.hog(im, channel_axis=axis, **kw) for im in images])


@pytest.mark.parametrize(
    "dtype,rgb,signed,norm",
    list(itertools.product((np.uint8, np.float32, np.float64), (False, True), (False, True), NORMS)),
)
def test_compiled_path_equals_numpy_path(dtype, rgb, signed, norm):
    rng = np.random.default_rng(len(norm) + 7 * signed + 3 * rgb)
    shape = (4, 21, 27, 3) if rgb else (4, 21, 27)
    images = rng.integers(0, 256, shape).astype(dtype)
    if dtype != np.uint8:
        images += rng.random(shape).astype(dtype)
    kw = dict(orientations=7, pixels_per_cell=(4, 5), cells_per_block=(2, 3), block_norm=norm,
              transform_sqrt=dtype == np.float32, signed=signed)
    ours, numpy = on_path(True, images, **kw), on_path(False, images, **kw)
    assert ours.dtype == numpy.dtype
    np.testing.assert_allclose(ours, numpy, atol=1e-6)


def test_polynomial_angle_error_fits_inside_the_near_edge_margin():
    # The float kernel trusts its polynomial arctan2 outside near_edge(n) of an edge:
    # its error, in bins, must stay far below that margin.
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.standard_normal(20_000), rng.integers(-255, 256, 20_000), [0, 1, -1]])
    x = np.concatenate([rng.standard_normal(20_000), rng.integers(-255, 256, 20_000), [1, 0, -1]])
    ours = np.empty_like(y)
    _hog_numba._row_angles(y, x, 1.0, 0, ours)  # 1 bin per radian, no offset: arctan2
    err = np.abs(ours - np.arctan2(y, x))
    err = np.minimum(err, 2 * np.pi - err)  # -pi and pi are the same direction
    assert err.max() < 1e-7
    for n in (1, 9, 180, 1000):
        assert err.max() * n / np.pi < _hog_numba.near_edge(n) / 100


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_equal_channel_magnitudes_pick_the_first_channel(dtype):
    # Inside the image, channel 0 has gradient (row 6, col 8) and channel 1 (row 8,
    # col -6): both of magnitude 10, in bins 1 and 6. scikit-image's argmax keeps
    # channel 0.
    r, c = np.mgrid[:8, :8]
    img = np.stack([3 * r + 4 * c, 4 * r - 3 * c + 30], axis=-1)[None].astype(dtype)
    kw = dict(orientations=9, pixels_per_cell=(4, 4), cells_per_block=(1, 1), block_norm="L1")
    assert np.abs(on_path(True, img, **kw) - reference(img, **kw)).max() < 1e-6


def test_float32_magnitude_ties_follow_float32_rounding():
    # Channel 1's gradient (-2**-13, 1) is longer than channel 0's (0, 1) in float64
    # but not in float32 hypot, which scikit-image uses for float32 images: there
    # channel 0 wins (angle 0, bin 0); for float64 images channel 1 wins (bin 8).
    img = np.zeros((1, 8, 8, 2), dtype=np.float64)
    img[0, :, :, 0] = np.arange(8) / 2  # column gradient 1
    img[0, :, :, 1] = np.arange(8) / 2 - np.arange(8)[:, None] * 2.0**-14
    kw = dict(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(1, 1), block_norm="L1")
    for images in (img.astype(np.float32), img):
        ref = reference(images, **kw)
        assert np.abs(on_path(True, images, **kw) - ref).max() < 1e-6
    assert reference(img.astype(np.float32), **kw)[0, 0] > 0.5  # the cases differ
    assert reference(img, **kw)[0, 8] > 0.5


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_many_orientations_use_a_wider_bin_table(dtype):
    images = np.random.default_rng(5).integers(0, 256, (2, 24, 24)).astype(dtype)
    kw = dict(orientations=150, pixels_per_cell=(6, 6), cells_per_block=(2, 2))
    assert np.abs(on_path(True, images, **kw) - reference(images, **kw)).max() < 1e-5


def test_float_pieces_and_their_near_edge_pixels_land_in_their_own_images():
    # 90 images of 40x40 pixels span three inner pieces; integer-valued floats put
    # many angles exactly on the edges of 4 orientations (0, 45, 90, 135 degrees).
    images = np.random.default_rng(6).integers(0, 4, (90, 40, 40)).astype(np.float64)
    kw = dict(orientations=4, pixels_per_cell=(8, 8), cells_per_block=(1, 1), block_norm="L1")
    ours = on_path(True, images, **kw)
    np.testing.assert_allclose(ours, on_path(False, images, **kw), atol=1e-6)
    assert np.abs(ours[::30] - reference(images[::30], **kw)).max() < 1e-5


def test_bin_table_is_exact_bins_of_every_integer_gradient():
    table = _hog._bin_table(9, False)
    g = np.arange(-255, 256, dtype=np.float64)
    g_row, g_col = (a.ravel() for a in np.meshgrid(g, g, indexing="ij"))
    theta = np.rad2deg(np.arctan2(g_row, g_col)) % 180
    edges = np.float32(20.0) * np.arange(10, dtype=np.float32)  # scikit-image's, n = 9
    expected = np.searchsorted(edges.astype(np.float64), theta, side="right") - 1
    assert table.dtype == np.int8 and np.array_equal(table, expected)


def test_zero_row_gradients_are_in_bin_zero_for_unsigned_angles():
    # The float kernel puts every gradient with g_row == +-0 in bin 0 without
    # computing its angle (arctan2 gives 0 or +-pi: 0 degrees after "% 180").
    g_row = np.array([0.0, 0.0, -0.0, -0.0, 0.0])
    g_col = np.array([1.0, -1.0, 1.0, -1.0, -1e-300])
    for n in (1, 2, 4, 9, 12, 180):
        assert np.all(_hog.exact_bins(g_row, g_col, n, signed=False) == 0)


@pytest.mark.parametrize("dtype", [">f4", ">f8"])
def test_big_endian_floats_give_the_native_features(dtype):
    images = np.random.default_rng(7).random((2, 16, 16, 3)).astype(dtype)
    native = images.astype(images.dtype.newbyteorder("="))
    np.testing.assert_allclose(on_path(True, images), on_path(True, native), atol=1e-6)
