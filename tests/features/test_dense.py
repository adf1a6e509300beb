"""DenseSIFT and ColorStats: a pixel-by-pixel reference, known answers, OpenCV, bad input.

The SIFT tests run on the NumPy and on the compiled (numba) orientation planes.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from warpnet.features import ColorStats, DenseSIFT, _dense

skdata = pytest.importorskip("skimage.data")
COMPILED = _dense._COMPILED  # each test runs on the NumPy planes and on these kernels (``kernel_path``)
pytestmark = pytest.mark.usefixtures("kernel_path")


def reference_sift(img, cy, cx, s):
    """One SIFT descriptor by its definition, pixel by pixel (float64, no smoothing)."""
    H, W = img.shape
    w = s / 4
    hist = np.zeros((4, 4, 8))
    for y in range(1, H - 1):
        for x in range(1, W - 1):
            gx = img[y, x + 1] - img[y, x - 1]
            gy = img[y - 1, x] - img[y + 1, x]
            mag = math.hypot(gx, gy)
            if mag == 0:
                continue
            theta = math.atan2(gy, gx) % (2 * math.pi)
            window = math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * (s / 2) ** 2))
            o = theta / (2 * math.pi / 8)
            for by in range(4):
                wy = max(0.0, 1 - abs(y - (cy + (by - 1.5) * w)) / w)
                for bx in range(4):
                    wx = max(0.0, 1 - abs(x - (cx + (bx - 1.5) * w)) / w)
                    for ob in range(8):
                        d = abs(o - ob)
                        wo = max(0.0, 1 - min(d, 8 - d))
                        hist[by, bx, ob] += mag * window * wy * wx * wo
    v = hist.ravel()
    if np.linalg.norm(v) == 0:
        return v
    v = np.minimum(v / np.linalg.norm(v), 0.2)
    return v / np.linalg.norm(v)


@pytest.mark.parametrize("patch,step,scales", [(8, 3, None), (8, 5, (8, 12)), (12, 4, (6,))])
def test_sift_equals_pixel_by_pixel_definition(patch, step, scales):
    rng = np.random.default_rng(patch + step)
    images = rng.random((2, 21, 19)) * 255
    est = DenseSIFT(patch_size=patch, step=step, scales=scales, smoothing=0).fit(images)
    desc, centres = est.describe(images)
    n_scales = 1 if scales is None else len(scales)
    per_scale = len(centres) // n_scales
    assert desc.shape == (2, len(centres), 128) and desc.dtype == np.float64
    for i in range(2):
        for p in range(0, len(centres), 3):
            s = (scales or (patch,))[p // per_scale]
            ref = reference_sift(images[i], *centres[p], s)
            np.testing.assert_allclose(desc[i, p], ref, atol=1e-6)


@pytest.mark.parametrize("degrees,bins", [(0, {0}), (45, {1}), (90, {2}), (135, {3}), (180, {4}),
                                          (270, {6}), (30, {0, 1}), (200, {4, 5})])
def test_edge_at_known_angle_fills_matching_orientation_bins(degrees, bins):
    # a ramp rising along direction theta (y axis up): every gradient points at theta
    t = math.radians(degrees)
    y, x = np.mgrid[0:24, 0:24].astype(np.float64)
    img = 100 + 3 * (x * math.cos(t) - y * math.sin(t))
    desc, _ = DenseSIFT(patch_size=16, step=4, smoothing=0).fit(img[None]).describe(img[None])
    hist = desc[0].reshape(-1, 16, 8).sum(axis=(0, 1))
    assert set(np.flatnonzero(hist > 1e-9)) == bins
    if degrees == 30:  # 30 degrees is 2/3 of the way from bin 0 to bin 1
        assert hist[1] > hist[0]


def test_constant_patches_give_zeros_and_others_unit_norm_clipped():
    img = np.full((40, 40), 77, dtype=np.uint8)
    img[:, 30:] = 200  # an edge only on the right
    desc, centres = DenseSIFT(patch_size=8, step=4).fit(img[None]).describe(img[None])
    norms = np.linalg.norm(desc[0], axis=1)
    far = centres[:, 1] + 8 < 29  # patches (with their bins' reach) away from the edge
    assert (desc[0][far] == 0).all()
    np.testing.assert_allclose(norms[~far][norms[~far] > 0], 1, rtol=1e-5)
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (3, 32, 32), dtype=np.uint8)
    d, _ = DenseSIFT().fit(noisy).describe(noisy)
    np.testing.assert_allclose(np.linalg.norm(d, axis=2), 1, rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=128, max_size=128))
def test_normalize_is_l2_clip_l2(values):
    v = np.array(values)
    ours = _dense.normalize_sift(v.copy()[None])[0]
    n = np.linalg.norm(v)
    if n == 0:
        assert (ours == 0).all()
        return
    ref = np.minimum(v / n, 0.2)
    ref /= np.linalg.norm(ref)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)
    assert ours.max() <= 1.0 and np.isclose(np.linalg.norm(ours), 1)


def test_correlates_with_opencv_sift_compute():
    cv2 = pytest.importorskip("cv2")
    photo = skdata.camera()[100:228, 100:292]
    sift = cv2.SIFT_create()
    for size, smoothing, floor in ((16, 1.52, 0.95), (24, 1.52, 0.95), (16, 1.0, 0.9)):
        est = DenseSIFT(patch_size=size, step=8, smoothing=smoothing).fit(photo[None])
        desc, centres = est.describe(photo[None])
        # OpenCV's spatial bin is 3 * size / 2 pixels: size = patch side / 6
        kps = [cv2.KeyPoint(float(c[1]), float(c[0]), size / 6, 0) for c in centres]
        kept, ref = sift.compute(photo, kps)
        assert len(kept) == len(kps)
        corr = [np.corrcoef(a, b)[0, 1] for a, b in zip(desc[0], ref, strict=True)
                if a.std() > 0 and b.std() > 0]
        assert np.mean(corr) >= floor, (size, smoothing, np.mean(corr))


def _kornia_dense_sift(photo, pooling_width=None):
    """kornia's ``DenseSIFTDescriptor`` of ``photo`` (its pooling of each spatial bin a triangle
    ``pooling_width`` pixels wide where given; kornia's own: as wide as a bin, 4 pixels)."""
    kf = pytest.importorskip("kornia.feature")
    torch = pytest.importorskip("torch")
    module = kf.DenseSIFTDescriptor(rootsift=False, padding=0)
    if pooling_width is not None:
        from kornia.feature.siftdesc import get_sift_pooling_kernel

        pool = torch.nn.Conv2d(1, 1, pooling_width, padding=pooling_width // 2, bias=False)
        pool.weight.data.copy_(get_sift_pooling_kernel(pooling_width)[None, None])
        module.bin_pooling_kernel = pool
    with torch.no_grad():
        return module(torch.from_numpy(photo)[None, None]).numpy()[0]


@pytest.mark.parametrize("pooling_width, floor", [(None, 0.85), (8, 0.99)],
                         ids=["kornia's pooling", "Lowe's pooling"])
def test_correlates_with_kornia_dense_sift(pooling_width, floor):
    photo = skdata.camera()[100:228, 100:292].astype(np.float32)
    est = DenseSIFT(patch_size=16, step=4, smoothing=0, gaussian_window=False).fit(photo[None])
    desc, centres = est.describe(photo[None])
    ref = _kornia_dense_sift(photo, pooling_width)
    gy, gx = len(np.unique(centres[:, 0])), len(np.unique(centres[:, 1]))
    # kornia: output pixel (i, j) is the 16-pixel patch starting at (i - 2, j - 2); its values
    # are orientation-major and its orientation bins turn clockwise (y axis down)
    ref = ref[:, 2::4, 2::4][:, :gy, :gx].reshape(8, 4, 4, -1)
    ref = ref[(-np.arange(8)) % 8].transpose(3, 1, 2, 0).reshape(-1, 128)
    corr = [np.corrcoef(a, b)[0, 1] for a, b in zip(desc[0], ref, strict=True)
            if a.std() > 0 and b.std() > 0]
    # kornia pools each bin with a triangle one bin (4 pixels) wide: 0.88 on this photograph;
    # given Lowe's trilinear interpolation (a triangle two bins wide, as here) through kornia's own
    # pooling kernel, everything else agrees: 0.999
    assert np.mean(corr) >= floor, np.mean(corr)


def test_colour_images_use_their_grey_level():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (2, 20, 20, 3), dtype=np.uint8)
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    a = DenseSIFT(patch_size=8).fit_transform(rgb.astype(np.float64))
    b = DenseSIFT(patch_size=8).fit_transform(grey)
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_transform_is_flat_describe_and_threads_do_not_change_it():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (37, 24, 28), dtype=np.uint8)
    est = DenseSIFT(patch_size=8, step=4, scales=(8, 16), n_jobs=1).fit(images)
    flat = est.transform(images)
    desc, centres = est.describe(images)
    assert flat.dtype == np.float32 and flat.shape == (37, len(centres) * 128)
    np.testing.assert_array_equal(flat, desc.reshape(37, -1))
    est._chunk_pixels = 24 * 28 * 3  # many chunks on 2 threads
    np.testing.assert_array_equal(est.set_params(n_jobs=2).transform(images), flat)
    assert len(centres) == 2 * 5 * 6 and np.array_equal(centres[:30], centres[30:])
    np.testing.assert_array_equal(centres[0], [3.5, 3.5])


def reference_color(img, cy, cx, s):
    """Mean and std of R, G, B in each of the 4 x 4 sub-regions, pixel lists by hand."""
    r0, c0 = cy - (s - 1) / 2, cx - (s - 1) / 2
    edges = [int(math.floor(b * s / 4)) for b in range(5)]
    out = np.zeros((4, 4, 2, 3))
    for by in range(4):
        for bx in range(4):
            ys = [int(r0) + e for e in range(edges[by], edges[by + 1])]
            xs = [int(c0) + e for e in range(edges[bx], edges[bx + 1])]
            ys = [y for y in ys if 0 <= y < img.shape[0]]
            xs = [x for x in xs if 0 <= x < img.shape[1]]
            if ys and xs:
                block = img[np.ix_(ys, xs)].reshape(-1, 3).astype(np.float64)
                out[by, bx, 0], out[by, bx, 1] = block.mean(0), block.std(0)
    return out.ravel()


@pytest.mark.parametrize("patch,step,scales", [(16, 4, None), (8, 6, (8, 12)), (10, 3, None)])
def test_color_stats_equal_per_patch_statistics(patch, step, scales):
    rng = np.random.default_rng(patch)
    images = rng.integers(0, 256, (2, 23, 26, 3), dtype=np.uint8)
    est = ColorStats(patch_size=patch, step=step, scales=scales).fit(images)
    desc, centres = est.describe(images.astype(np.float64))
    per_scale = len(centres) // (1 if scales is None else len(scales))
    for i in range(2):
        for p in range(0, len(centres), 2):
            s = (scales or (patch,))[p // per_scale]
            np.testing.assert_allclose(desc[i, p], reference_color(images[i], *centres[p], s),
                                       atol=1e-7)


def test_color_stats_of_flat_colour_are_exact():
    img = np.zeros((1, 16, 16, 3), dtype=np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 10, 200, 255
    d = ColorStats(patch_size=16).fit_transform(img).reshape(16, 2, 3)
    assert (d[:, 0] == [10, 200, 255]).all() and (d[:, 1] == 0).all()


@pytest.mark.parametrize("kw,match", [
    ({"patch_size": 2}, "patch_size must be >= 4"),
    ({"step": 0}, "step must be >= 1"),
    ({"scales": (16, 2)}, "scales must be None or a non-empty tuple"),
    ({"scales": ()}, "scales must be None or a non-empty tuple"),
    ({"scales": (8, 8)}, "must not repeat"),
    ({"smoothing": -1.0}, "smoothing must be a finite float >= 0"),
    ({"gaussian_window": 1}, "gaussian_window must be one of"),
    ({"n_jobs": 0}, "n_jobs"),
])
def test_bad_parameters_name_themselves(kw, match):
    with pytest.raises(ValueError, match=match):
        DenseSIFT(**kw).fit(np.zeros((1, 32, 32)))


def test_bad_images():
    with pytest.raises(ValueError, match="smaller than one patch: patch_size=16 needs at least 16x16"):
        DenseSIFT().fit(np.zeros((2, 15, 40)))
    bad = np.zeros((2, 20, 20))
    bad[0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        DenseSIFT().fit(bad)
    with pytest.raises(ValueError, match="RGB images"):
        ColorStats().fit(np.zeros((2, 20, 20)))
    with pytest.raises(ValueError, match="channels"):
        ColorStats().fit(np.zeros((2, 20, 20, 4)))
    est = DenseSIFT().fit(np.zeros((1, 20, 20)))
    with pytest.raises(ValueError, match="features"):
        est.transform(np.zeros((1, 24, 20)))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        DenseSIFT().describe(np.zeros((1, 20, 20)))


def test_clone_and_flattened_input():
    est = DenseSIFT(patch_size=8, scales=(8, 12), image_shape=(16, 16))
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    x = np.random.default_rng(3).random((4, 256))
    np.testing.assert_array_equal(est.fit_transform(x), twin.fit_transform(x.reshape(4, 16, 16)))
