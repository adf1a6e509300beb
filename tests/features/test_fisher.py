"""FisherVector: scikit-image's fisher_vector given the same mixture, regions, state, bad input."""

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.mixture import GaussianMixture

from warpnet import _numba
from warpnet.features import (
    ColorFisherVector,
    ColorStats,
    DenseSIFT,
    FisherVector,
    _fisher,
    features_from_state,
    features_to_state,
    make_features,
)

skfeature = pytest.importorskip("skimage.feature")


def images(n=12, shape=(24, 24, 3), seed=0):
    """Smooth random colour images (blocks of noise), so descriptors are not all alike."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (n, shape[0] // 4, shape[1] // 4, 3))
    return np.repeat(np.repeat(small, 4, axis=1), 4, axis=2).astype(np.uint8)


def skimage_mixture(fv):
    """A scikit-learn GaussianMixture holding ``fv``'s mixture, for skimage.feature.fisher_vector."""
    g = GaussianMixture(len(fv.weights_), covariance_type="diag")
    g.weights_ = fv.weights_.astype(np.float64)
    g.means_ = fv.means_.astype(np.float64)
    g.covariances_ = fv.variances_.astype(np.float64)
    g.precisions_cholesky_ = 1 / np.sqrt(g.covariances_)
    return g


@pytest.fixture(scope="module")
def fitted():
    x = images()
    fv = FisherVector(n_components=5, pca_components=None, regions=((1, 1), (1, 3)),
                      improved=False, n_descriptors=300, random_state=0,
                      descriptor=DenseSIFT(patch_size=8, step=4)).fit(x)
    return fv, x


def test_equals_skimage_fisher_vector_per_region(fitted):
    fv, x = fitted
    desc, centres = fv.descriptor_.describe(x[:4].astype(np.float64))
    ours = fv.encode(desc)
    K, D = 5, 128
    assert ours.shape == (4, 4 * 2 * K * D) and ours.dtype == np.float64
    gmm = skimage_mixture(fv)
    # regions: the whole image, then 3 horizontal stripes by patch centre row
    stripe = np.minimum((centres[:, 0] + 0.5) * 3 // 24, 2).astype(int)
    masks = [np.ones(len(centres), bool)] + [stripe == s for s in range(3)]
    for i in range(4):
        for r, mask in enumerate(masks):
            ref = skfeature.fisher_vector(desc[i][mask], gmm, improved=False)
            block = ours[i, r * 2 * K * D : (r + 1) * 2 * K * D]
            np.testing.assert_allclose(block[: K * D], ref[K : K + K * D], atol=1e-5, rtol=1e-5)
            # scikit-image's variance part has the opposite sign of VLFeat's
            np.testing.assert_allclose(block[K * D :], -ref[K + K * D :], atol=1e-5, rtol=1e-5)


def test_improved_is_signed_sqrt_then_l2_per_region(fitted):
    fv, x = fitted
    raw = fv.transform(x[:3].astype(np.float64)).reshape(3, 4, -1)
    improved = clone(fv).set_params(improved=True)
    for attr in ("descriptor_", "pca_mean_", "pca_components_", "weights_", "means_",
                 "variances_", "image_shape_", "n_features_in_", "_n_features_out"):
        setattr(improved, attr, getattr(fv, attr))
    ours = improved.transform(x[:3].astype(np.float64)).reshape(3, 4, -1)
    ref = np.sign(raw) * np.sqrt(np.abs(raw))
    ref /= np.linalg.norm(ref, axis=2, keepdims=True)
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_float32_path_is_close_to_float64_and_pca_is_applied():
    x = images(20, seed=1)
    fv = FisherVector(n_components=4, pca_components=16, n_descriptors=400, random_state=0,
                      descriptor=DenseSIFT(patch_size=8)).fit(x)
    assert fv.pca_components_.shape == (16, 128) and fv.means_.shape == (4, 16)
    f32 = fv.transform(x)
    f64 = fv.transform(x.astype(np.float64))
    assert f32.dtype == np.float32 and f32.shape == (20, 4 * 2 * 4 * 16)
    np.testing.assert_allclose(f32, f64, atol=2e-4)
    desc, _ = fv.descriptor_.describe(x.astype(np.float64))
    proj = (desc - fv.pca_mean_) @ fv.pca_components_.T
    layout = fv._layout()
    out = np.empty_like(f64)
    _fisher.encode(proj, fv.weights_, fv.means_, fv.variances_, layout, True, out)
    np.testing.assert_allclose(out, f64, atol=1e-9)


def test_region_layout_groups():
    centres = np.array([[1.5, 1.5], [1.5, 10.5], [10.5, 1.5], [22.5, 22.5]])
    lay = _fisher.layout(centres, (24, 24), ((1, 1), (1, 3), (2, 1)))
    assert lay.members.shape == (1 + 3 + 2, len(lay.bounds) - 1)
    np.testing.assert_array_equal(lay.counts, [4, 2, 1, 1, 3, 1])


def test_colour_fisher_vector_and_threads():
    x = images(16, seed=2)
    fv = ColorFisherVector(n_components=3, pca_components=8, regions=((1, 1),),
                           n_descriptors=200, random_state=0,
                           descriptor=ColorStats(patch_size=8, step=8), n_jobs=1).fit(x)
    a = fv.transform(x)
    assert a.shape == (16, 2 * 3 * 8) and np.isfinite(a).all()
    fv2 = clone(fv).set_params(n_jobs=2).fit(x)
    np.testing.assert_array_equal(fv2.transform(x), a)
    assert type(ColorFisherVector()._descriptor()) is ColorStats
    assert type(FisherVector()._descriptor()) is DenseSIFT


def test_state_round_trip_through_json():
    x = images(10, seed=3)
    union = make_features("fisher-sift+fisher-color", {
        "fisher-sift": {"n_components": 3, "pca_components": 8, "n_descriptors": 200,
                        "random_state": 0, "descriptor": DenseSIFT(patch_size=8, scales=(8, 12))},
        "fisher-color": {"n_components": 2, "pca_components": 4, "n_descriptors": 200,
                         "random_state": 0, "regions": ((1, 1), (2, 2))},
    }).fit(x)
    config, arrays = features_to_state(union)
    back = features_from_state(json.loads(json.dumps(config)), arrays)
    np.testing.assert_array_equal(back.transform(x), union.transform(x))
    sift_part = back.transformer_list[0][1]
    assert sift_part.descriptor.scales == (8, 12) and sift_part.regions == ((1, 1), (1, 3))


def test_state_with_pieces_that_do_not_fit_is_refused():
    x = images(10, seed=4)
    fv = FisherVector(n_components=3, pca_components=8, n_descriptors=200, random_state=0,
                      descriptor=DenseSIFT(patch_size=8)).fit(x)
    config, arrays = features_to_state(fv)
    bad = dict(arrays, **{"fisher-sift.means_": np.zeros((3, 9), np.float32)})
    with pytest.raises(ValueError, match=r"means_ must be finite with shape \(3, 8\)"):
        features_from_state(config, bad)
    bad = dict(arrays, **{"fisher-sift.variances_": -np.ones((3, 8), np.float32)})
    with pytest.raises(ValueError, match="must be > 0"):
        features_from_state(config, bad)
    cfg = json.loads(json.dumps(config))
    cfg["parts"][0]["params"]["descriptor"]["feature"] = "hog"
    with pytest.raises(ValueError, match="unknown descriptor 'hog'"):
        features_from_state(cfg, arrays)


@pytest.mark.parametrize("kw,match", [
    ({"pca_components": 200}, "pca_components=200 is larger than the descriptor: DenseSIFT gives 128"),
    ({"n_components": 50, "n_descriptors": 10}, r"n_descriptors \(10\) must be >= n_components \(50\)"),
    ({"regions": ((1, 0),)}, "regions must be a non-empty tuple"),
    ({"regions": ()}, "regions must be a non-empty tuple"),
    ({"n_components": 0}, "n_components must be >= 1"),
    ({"descriptor": "sift"}, "descriptor must be None, a DenseSIFT or a ColorStats"),
    ({"improved": "yes"}, "improved must be one of"),
    ({"max_iter": 0}, "max_iter must be >= 1"),
    ({"descriptor": DenseSIFT(step=0)}, "step must be >= 1"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        FisherVector(**kw).fit(images(2, (32, 32, 3)))


def test_bad_data():
    with pytest.raises(ValueError, match="needs at least as many descriptors"):
        FisherVector(n_components=30, n_descriptors=100, regions=((1, 1),),
                     descriptor=DenseSIFT(patch_size=16)).fit(images(2, (20, 20, 3)))  # 2 x 4
    # More PCA dimensions than sampled descriptors: named as pca_components, not as the
    # n_components of scikit-learn's PCA.
    with pytest.raises(ValueError, match=r"pca_components=64 needs at least as many descriptors, "
                                         r"but only 10 are sampled \(n_descriptors=10"):
        FisherVector(n_components=2, pca_components=64, n_descriptors=10,
                     descriptor=DenseSIFT(patch_size=16)).fit(images(2, (32, 32, 3)))
    with pytest.raises(ValueError, match="smaller than one patch"):
        FisherVector().fit(images(2, (12, 12, 3)))
    with pytest.raises(ValueError, match=r"leaves 2 region\(s\) without patches"):
        FisherVector(descriptor=DenseSIFT(patch_size=16)).fit(images(2, (16, 16, 3)))
    x = images(2, (32, 32, 3)).astype(np.float32)
    x[1, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        FisherVector().fit(x)
    with pytest.raises(NotFittedError):
        FisherVector().transform(images(2))
    with pytest.raises(ValueError, match="RGB"):
        ColorFisherVector().fit(np.zeros((2, 32, 32)))


def test_encode_checks_its_descriptors(fitted):
    fv, _ = fitted
    P = fv.descriptor_._n_patches(fv.image_shape_)
    with pytest.raises(ValueError, match=rf"descriptors must be a numeric array \(N, {P}, 128\)"):
        fv.encode(np.zeros((2, P + 1, 128)))
    bad = np.zeros((1, P, 128))
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fv.encode(bad)


@pytest.mark.parametrize("improved", [True, False])
def test_compiled_and_numpy_paths_agree(fitted, improved):
    pytest.importorskip("numba")
    if _numba.kernels(_fisher._COMPILED) is None:
        pytest.skip("compiled kernels are off here")
    fv, x = fitted
    est = clone(fv).set_params(improved=improved, regions=((1, 1), (2, 2), (1, 3)))
    est.fit(x)
    x = x.copy()
    x[0] = 0  # a black image: every descriptor zero, a few components touched
    x[1, :12] = 255  # a constant top half: the top stripe's descriptors all alike
    for dtype in (np.float32, np.float64):
        compiled = est.transform(x.astype(dtype))
        with _numba.numpy_path(_fisher._COMPILED):
            plain = est.transform(x.astype(dtype))
        scale = 1.0 if improved else np.abs(plain).max()
        np.testing.assert_allclose(compiled, plain,
                                   atol=(1e-5 if dtype == np.float32 else 1e-12) * scale)
        assert (compiled == 0).sum() >= (plain == 0).sum() - 5  # untouched components stay 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_posteriors_are_the_kept_posteriors_row_by_row(dtype):
    nb = _numba.kernels(_fisher._COMPILED)
    if nb is None:
        pytest.skip("compiled kernels are off here")
    rng = np.random.default_rng(4)
    K, D, n = 70, 6, 2100  # two 32-value masks and a tail of 6; more rows than one block
    weights = rng.dirichlet(np.ones(K)).astype(dtype)
    means = (2 * rng.standard_normal((K, D))).astype(dtype)
    variances = rng.uniform(0.05, 2.0, (K, D)).astype(dtype)
    x = rng.standard_normal((n, D)).astype(dtype)
    A, const = _fisher._mixture_terms(weights, means, variances)
    ptr, idx, val = _fisher._sparse_posteriors(nb, x, A, const)
    plain = _fisher.posteriors(x, weights, means, variances, compiled=False)
    assert ptr[0] == 0 and (np.diff(ptr) >= 1).all() and val.dtype == dtype
    for i in range(0, n, 97):
        cols = idx[ptr[i] : ptr[i + 1]]
        np.testing.assert_array_equal(cols, np.flatnonzero(plain[i]))  # in component order
        np.testing.assert_allclose(val[ptr[i] : ptr[i + 1]], plain[i, cols],
                                   rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_posteriors_equal_the_formula(dtype):
    pytest.importorskip("numba")
    if _numba.kernels(_fisher._COMPILED) is None:
        pytest.skip("compiled kernels are off here")
    rng = np.random.default_rng(3)
    K, D = 37, 5  # K not a multiple of the kernel's 8 lanes
    weights = rng.dirichlet(np.ones(K)).astype(dtype)
    means = rng.standard_normal((K, D)).astype(dtype)
    variances = rng.uniform(0.05, 2.0, (K, D)).astype(dtype)
    x = rng.standard_normal((200, D)).astype(dtype)
    x[:3] = 1e3 * x[:3]  # far from every component: log-densities near -1e7, one winner
    x[3] = means[4]  # on a mean
    compiled = _fisher.posteriors(x, weights, means, variances)
    plain = _fisher.posteriors(x, weights, means, variances, compiled=False)
    np.testing.assert_allclose(compiled, plain, atol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_array_equal(compiled == 0, plain == 0)  # the same posteriors dropped
    assert compiled.dtype == plain.dtype == dtype
    mixed = _fisher.posteriors(x, *(a.astype(np.float64) for a in (weights, means, variances)))
    assert mixed.dtype == np.float64  # as the formula's products promote
    # the oracle: scikit-learn's posteriors of the same mixture, floored
    gmm = GaussianMixture(K, covariance_type="diag")
    gmm.weights_, gmm.means_, gmm.covariances_ = (a.astype(np.float64) for a in (weights, means, variances))
    gmm.precisions_cholesky_ = 1 / np.sqrt(gmm.covariances_)
    expected = gmm.predict_proba(x.astype(np.float64))
    np.testing.assert_allclose(compiled, np.where(expected < _fisher.POSTERIOR_FLOOR, 0, expected),
                               atol=1e-4 if dtype == np.float32 else 1e-9)


@pytest.fixture(scope="module", params=[FisherVector, ColorFisherVector])
def fitted_state(request):
    """A small fitted FisherVector or ColorFisherVector, its saved state and its images."""
    rng = np.random.default_rng(5)
    x = np.repeat(np.repeat(rng.integers(0, 256, (8, 12, 12, 3)), 4, 1), 4, 2).astype(np.uint8)
    fv = request.param(n_components=3, pca_components=8, n_descriptors=200, random_state=0).fit(x)
    config, arrays = features_to_state(fv)
    prefix = next(k for k in arrays if k.endswith(".variances_")).rsplit(".", 1)[0]
    return fv, config, arrays, prefix, x


@pytest.mark.parametrize("attr, value, match", [
    ("variances_", 1e-300, r"variances_ must be > 0"),  # 0 once stored as float32
    ("variances_", 1e-36, r"variances_ must lie in \[1e-30, 1e\+30\]"),
    ("variances_", 1e31, r"variances_ must lie in \[1e-30, 1e\+30\]"),
    ("variances_", 1e300, r"variances_ must be finite"),  # inf once stored as float32
    ("variances_", -1.0, r"variances_ must be > 0"),
    ("means_", 1e200, r"means_ must be finite"),
    ("weights_", 1.0, r"weights_ must sum to 1.*got 3"),
    ("weights_", -0.5, r"weights_ must be > 0"),
    ("pca_components_", 1e39, r"pca_components_ must be finite"),
])
def test_restored_mixture_outside_what_float32_can_encode_is_refused(fitted_state, attr, value, match):
    fv, config, arrays, prefix, _ = fitted_state
    bad = dict(arrays, **{f"{prefix}.{attr}": np.full_like(arrays[f"{prefix}.{attr}"], value,
                                                           dtype=np.float64)})
    with pytest.raises(ValueError, match=match):
        features_from_state(config, bad)


def test_mixture_set_by_hand_is_checked_at_transform(fitted_state):
    fv, _, _, _, x = fitted_state
    fv = clone(fv).fit(x)
    fv.weights_ = np.array([0.2, 0.2, 0.2], np.float32)
    with pytest.raises(ValueError, match="weights_ must sum to 1"):
        fv.transform(x)
    fv.weights_ = np.full(3, 1 / 3, np.float32)
    fv.means_ = np.full_like(fv.means_, np.nan)
    with pytest.raises(ValueError, match="means_ must be finite"):
        fv.encode(np.zeros((1, 1, 1)))  # the state is checked before the descriptors


@pytest.mark.parametrize("variance", [1e-30, 1e30])
@pytest.mark.parametrize("mean", [0.0, 1e30])
@pytest.mark.parametrize("improved", [True, False])
def test_valid_extreme_mixtures_give_finite_vectors(fitted_state, variance, mean, improved):
    fv, config, arrays, prefix, x = fitted_state
    state = dict(arrays, **{f"{prefix}.variances_": np.full_like(arrays[f"{prefix}.variances_"], variance),
                            f"{prefix}.means_": np.full_like(arrays[f"{prefix}.means_"], mean)})
    cfg = json.loads(json.dumps(config))
    (cfg["parts"][0] if "parts" in cfg else cfg)["params"]["improved"] = improved
    back = features_from_state(cfg, state)
    assert np.isfinite(back.transform(x.astype(np.float64))).all()
    for images in (x, x.astype(np.float32)):
        if improved or mean**2 / variance < 3e38:
            assert np.isfinite(back.transform(images)).all()
        else:  # (x - 1e30)^2 / 1e-30 is beyond float32: said, never returned as inf
            with pytest.raises(ValueError, match="overflow float32.*as float64"):
                back.transform(images)


@pytest.mark.parametrize("scale", [1e18, 1e30])
def test_huge_finite_pixels_give_finite_vectors_or_a_clear_error(fitted_state, scale):
    fv, _, _, _, x = fitted_state
    wide = fv.transform(x.astype(np.float64) * scale)
    assert np.isfinite(wide).all()
    if fv.improved:  # unit-length blocks fit float32 whatever the pixels
        out = fv.transform(x.astype(np.float32) * np.float32(scale))
        assert np.isfinite(out).all()
        np.testing.assert_allclose(out, wide, atol=1e-5)


def test_pixels_whose_descriptors_overflow_float64_are_named_not_left_unwritten(fitted_state):
    # 1e200 squared is beyond float64: the descriptors are not finite even there, and the
    # vectors of such images were once returned unwritten (whatever the memory held).
    fv, _, _, _, x = fitted_state
    images = x[:3].astype(np.float64)
    images[0, 2:20, 2:20] = 1e200
    with pytest.raises(ValueError, match="descriptors of these images are not finite even in "
                                         "float64"):
        fv.transform(images)
