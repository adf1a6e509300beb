"""HOG: scikit-image parity over a parameter grid, known answers, visualization.

Every test runs twice: on the NumPy path and on the compiled (numba) path, the
latter skipped where the compiled kernels do not run.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warpnet.features import HOG, _hog

skfeature = pytest.importorskip("skimage.feature")
skdata = pytest.importorskip("skimage.data")

NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")
COMPILED = _hog._COMPILED  # each test runs on the NumPy path and on these kernels (``kernel_path``)
pytestmark = pytest.mark.usefixtures("kernel_path")


def reference(images, **kw):
    """skimage.feature.hog image by image (channel_axis=-1 for colour)."""
    axis = -1 if images.ndim == 4 else None
    return np.stack([skfeature.hog(im, channel_axis=axis, **kw) for im in images])


def grid_cases():
    """Every norm x transform_sqrt x gray/RGB x dtype, cycling orientations, cells, blocks."""
    orients = itertools.cycle([9, 4, 7, 12, 1, 6])
    cells = itertools.cycle([(8, 8), (4, 6), (5, 5), (3, 4)])
    blocks = itertools.cycle([(1, 1), (2, 2), (3, 2), (1, 3)])
    for norm, sqrt, rgb, dtype in itertools.product(
        NORMS, (False, True), (False, True), (np.uint8, np.float32, np.float64)
    ):
        yield norm, sqrt, rgb, dtype, next(orients), next(cells), next(blocks)


@pytest.mark.parametrize("norm,sqrt,rgb,dtype,orient,cell,block", list(grid_cases()))
def test_matches_skimage_on_random_images(norm, sqrt, rgb, dtype, orient, cell, block):
    rng = np.random.default_rng(orient * 31 + cell[0])
    shape = (3, 26, 31, 3) if rgb else (3, 26, 31)
    images = rng.integers(0, 256, shape).astype(dtype)
    if dtype != np.uint8:
        images += rng.random(shape).astype(dtype)  # non-integer gradients too
    kw = dict(orientations=orient, pixels_per_cell=cell, cells_per_block=block,
              block_norm=norm, transform_sqrt=sqrt)
    ours = HOG(**kw).fit_transform(images)
    ref = reference(images, **kw)
    assert ours.shape == ref.shape
    assert ours.dtype == (np.float64 if dtype == np.float64 else np.float32)
    assert np.abs(ours - ref).max() < 1e-5


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("sqrt", [False, True])
def test_matches_skimage_on_photographs(norm, sqrt):
    rgb = skdata.astronaut()[100:228, 150:310]  # a face: edges in every direction
    gray = skdata.camera()[200:296, 180:340]
    kw = dict(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(3, 3),
              block_norm=norm, transform_sqrt=sqrt)
    for images in (rgb[None], gray[None]):
        ours = HOG(**kw).fit_transform(images)
        assert np.abs(ours - reference(images, **kw)).max() < 1e-5


@pytest.mark.parametrize("orient", [4, 8, 9])
def test_float_images_with_angles_on_bin_edges_match_skimage(orient):
    # Integer-valued and /255-scaled photographs put many gradient angles exactly on
    # 0, 45, 90 and 135 degrees: bin edges for 4 and 8 orientations.
    image = skdata.camera()[:96, :128]
    kw = dict(orientations=orient, pixels_per_cell=(8, 8), cells_per_block=(2, 2))
    for images in (image[None].astype(np.float64), (image[None] / 255).astype(np.float32)):
        ours = HOG(**kw).fit_transform(images)
        assert np.abs(ours - reference(images, **kw)).max() < 1e-5


def test_float_angles_a_hair_from_bin_edges_match_skimage():
    # Ramps whose gradient angle is 20k degrees +- 1e-7 or 1e-9: float32 arithmetic
    # alone puts many of them in the neighbouring bin; the exact re-binning must not.
    images = []
    for k in range(1, 9):
        for eps in (-1e-7, -1e-9, 1e-9, 1e-7):
            theta = np.deg2rad(20.0 * k + eps)
            i, j = np.mgrid[:16, :16]
            images.append(100 + 3 * (np.sin(theta) * i + np.cos(theta) * j))
    images = np.stack(images)
    kw = dict(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(1, 1), block_norm="L1")
    assert np.abs(HOG(**kw).fit_transform(images) - reference(images, **kw)).max() < 1e-5


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(4, 20), w=st.integers(4, 20), orient=st.integers(1, 13),
    cr=st.integers(1, 4), cc=st.integers(1, 4), norm=st.sampled_from(NORMS),
    seed=st.integers(0, 2**16),
)
def test_matches_skimage_property(h, w, orient, cr, cc, norm, seed):
    images = np.random.default_rng(seed).integers(0, 256, (2, h, w), dtype=np.uint8)
    kw = dict(orientations=orient, pixels_per_cell=(cr, cc), cells_per_block=(1, 1),
              block_norm=norm)
    assert np.abs(HOG(**kw).fit_transform(images) - reference(images, **kw)).max() < 1e-5


def test_uint8_fast_path_bins_every_integer_gradient_exactly():
    # The fast float32 path is only taken after this exhaustive check passes.
    assert all(_hog._fast_bins_exact(n, False) for n in (1, 4, 8, 9, 12))
    g = np.arange(-255, 256, dtype=np.float64)
    g_row, g_col = (a.ravel() for a in np.meshgrid(g, g, indexing="ij"))
    theta = np.rad2deg(np.arctan2(g_row, g_col)) % 180
    edges = np.float32(20.0) * np.arange(10, dtype=np.float32)  # scikit-image's edges, n=9
    expected = np.searchsorted(edges.astype(np.float64), theta, side="right") - 1
    assert np.array_equal(_hog.exact_bins(g_row, g_col, 9, False), expected)


def test_uint8_and_float_copies_give_the_same_features():
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    hog = HOG(cells_per_block=2).fit(images)
    a = hog.transform(images)
    b = hog.transform(images.astype(np.float64))
    c = hog.transform(images.astype(np.float32))
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(a, c, atol=1e-6)


def test_vertical_edge_votes_in_the_horizontal_gradient_bin():
    images = np.zeros((1, 16, 16), dtype=np.uint8)
    images[:, :, 8:] = 200  # dark left, bright right: gradient along columns, angle 0
    hist = _hog.cell_histograms(images, HOG()._config())[0]  # (2, 2, 9)
    assert hist[:, :, 0].min() > 0  # both cell columns touch the edge (cols 7 and 8)
    assert np.all(hist[:, :, 1:] == 0)
    images_t = np.ascontiguousarray(images.transpose(0, 2, 1))  # horizontal edge: 90 degrees
    hist_t = _hog.cell_histograms(images_t, HOG()._config())[0]
    assert hist_t[:, :, 4].min() > 0 and np.all(np.delete(hist_t, 4, axis=2) == 0)


def test_signed_orientations_tell_edge_polarity():
    dark_to_bright = np.zeros((1, 8, 8), dtype=np.uint8)
    dark_to_bright[:, :, 4:] = 255
    bright_to_dark = 255 - dark_to_bright
    cfg = HOG(orientations=4, pixels_per_cell=8, signed=True)._config()
    a = _hog.cell_histograms(dark_to_bright, cfg)[0, 0, 0]
    b = _hog.cell_histograms(bright_to_dark, cfg)[0, 0, 0]
    assert a[0] > 0 and b[2] > 0 and a[2] == 0 and b[0] == 0
    unsigned = _hog.cell_histograms(dark_to_bright, HOG(orientations=2, pixels_per_cell=8)._config())
    assert unsigned[0, 0, 0, 0] == pytest.approx(a[0])


def test_constant_image_gives_finite_zeros():
    for norm in NORMS:
        out = HOG(block_norm=norm, cells_per_block=2).fit_transform(np.full((2, 24, 24), 77.0))
        assert np.isfinite(out).all() and np.all(out == 0)


def test_feature_length_formula():
    cfg = HOG()._config()
    assert _hog.feature_length((240, 320), cfg) == 40 * 30 * 9 == 10_800
    hog = HOG(cells_per_block=3).fit(np.zeros((1, 32, 32), np.uint8))
    assert hog.transform(np.zeros((1, 32, 32), np.uint8)).shape == (1, 2 * 2 * 3 * 3 * 9)


def test_gray_mode_is_hog_of_luma():
    rgb = np.random.default_rng(1).integers(0, 256, (2, 24, 24, 3), dtype=np.uint8)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    ours = HOG(color="gray").fit_transform(rgb)
    np.testing.assert_allclose(ours, reference(luma, cells_per_block=(1, 1)), atol=1e-5)


def test_visualize_matches_skimage():
    image = skdata.camera()[:96, :128]
    for cell in ((8, 8), (6, 10)):
        _, ref = skfeature.hog(image, pixels_per_cell=cell, cells_per_block=(1, 1), visualize=True)
        ours = HOG(pixels_per_cell=cell).visualize(image)
        # scikit-image accumulates cells in float32: compare relative to the picture's scale
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5 * ref.max())


def test_draw_line_matches_skimage():
    draw = pytest.importorskip("skimage.draw")
    rng = np.random.default_rng(3)
    for r0, c0, r1, c1 in rng.integers(0, 12, (200, 4)):
        ours = _hog.draw_line(int(r0), int(c0), int(r1), int(c1))
        ref = draw.line(int(r0), int(c0), int(r1), int(c1))
        assert np.array_equal(ours[0], ref[0]) and np.array_equal(ours[1], ref[1])


def test_does_not_modify_input_and_chunks_agree():
    images = np.random.default_rng(2).integers(0, 256, (70, 20, 20), dtype=np.uint8)
    before = images.copy()
    hog = HOG(pixels_per_cell=4, cells_per_block=2).fit(images)
    whole = hog.transform(images)
    np.testing.assert_array_equal(images, before)
    one_by_one = np.concatenate([hog.transform(images[i : i + 1]) for i in range(70)])
    np.testing.assert_allclose(whole, one_by_one, atol=1e-7)


def test_backend_names_the_path(kernel_path):
    if kernel_path == "numpy":
        assert _hog.backend() == "NumPy"
    else:
        assert _hog.backend().startswith("numba ")
