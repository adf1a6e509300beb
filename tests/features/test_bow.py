"""BagOfWords: codebook, encoding against a brute-force oracle, pooling, determinism."""

import contextlib

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from warpnet import _numba
from warpnet.features import BagOfWords, KMeansTriangle
from warpnet.features import bow as bow_module


def images(n=12, seed=0, shape=(16, 16, 3)):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def small(**kw):
    kw = {"n_words": 6, "n_patches": 400, "patch_size": 4, "stride": 4, "random_state": 0} | kw
    return BagOfWords(**kw)


def brute_force_histogram(bow, image):
    """Nearest word of every grid patch by explicit distances, counted, normalized."""
    p, s = bow.patch_size, bow.stride
    votes = np.zeros(bow.n_words)
    for r in range(0, image.shape[0] - p + 1, s):
        for c in range(0, image.shape[1] - p + 1, s):
            x = image[r : r + p, c : c + p].astype(np.float64).ravel()
            x = (x - x.mean()) / np.sqrt(x.var() + 10.0)
            votes[np.argmin(((bow.codebook_ - x) ** 2).sum(axis=1))] += 1
    return votes / votes.sum()


def test_codebook_shape_and_dtype():
    bow = small().fit(images())
    assert bow.codebook_.shape == (6, 4 * 4 * 3) and bow.codebook_.dtype == np.float32
    gray = small().fit(images(shape=(16, 16)))
    assert gray.codebook_.shape == (6, 16)


def test_hard_encoding_matches_brute_force_nearest_word():
    X = images(5, seed=1)
    bow = small().fit(images())
    out = bow.transform(X)
    assert out.shape == (5, 6) and out.dtype == np.float32
    ref = np.stack([brute_force_histogram(bow, im) for im in X])
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_triangle_encoding_is_a_normalized_nonnegative_histogram():
    out = small(encoding="triangle").fit(images()).transform(images(4, seed=2))
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_pooling_gives_one_normalized_histogram_per_quadrant():
    bow = small(pooling=2).fit(images())
    out = bow.transform(images(3, seed=3))
    assert out.shape == (3, 4 * 6)
    np.testing.assert_allclose(out.reshape(3, 4, 6).sum(axis=2), 1.0, rtol=1e-5)
    # a 16x16 image with 4x4 patches at stride 4: 16 patches, 4 per quadrant
    assert set(np.unique(np.round(out * 4))) <= {0.0, 1.0, 2.0, 3.0, 4.0}


def test_quadrant_histograms_follow_patch_positions():
    X = images(1, seed=4)
    bow = small(pooling=2).fit(images())
    quad = bow.transform(X).reshape(4, 6)
    top_left = brute_force_histogram(bow, X[0, :8, :8])
    np.testing.assert_allclose(quad[0], top_left, atol=1e-6)


def test_random_state_makes_the_codebook_reproducible():
    a = small(random_state=3).fit(images()).codebook_
    b = small(random_state=3).fit(images()).codebook_
    c = small(random_state=4).fit(images()).codebook_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_hog_descriptor():
    bow = small(descriptor="hog").fit(images())
    assert bow.codebook_.shape == (6, 36)
    out = bow.transform(images(2, seed=5))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_float64_input_gives_float64_and_same_words():
    bow = small().fit(images())
    X = images(3, seed=6)
    a, b = bow.transform(X), bow.transform(X.astype(np.float64))
    assert b.dtype == np.float64
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_bad_parameters_and_input():
    with pytest.raises(NotFittedError):
        small().transform(images())
    with pytest.raises(ValueError, match="patch_size"):
        small(patch_size=20).fit(images())
    with pytest.raises(ValueError, match="n_patches"):
        small(n_words=10, n_patches=5).fit(images())
    with pytest.raises(ValueError, match="descriptor"):
        small(descriptor="sift").fit(images())
    with pytest.raises(ValueError, match="encoding"):
        small(encoding="fuzzy").fit(images())
    with pytest.raises(ValueError, match="pooling"):
        small(pooling="thirds").fit(images())
    with pytest.raises(ValueError, match="whiten"):
        small(whiten="yes").fit(images())
    with pytest.raises(ValueError, match="normalize"):
        small(normalize=1).fit(images())
    with pytest.raises(ValueError, match="NaN|finite"):
        small().fit(np.full((2, 16, 16, 3), np.nan))
    with pytest.raises(ValueError, match="stride"):
        small(stride=0).fit(images())
    with pytest.raises(ValueError, match="shape"):
        small().fit(images()).transform(images(shape=(20, 20, 3)))


# -- Coates & Ng: whitening, triangle codes, sum pooling ---------------------------------------
def brute_force_triangle(bow, image):
    """Sum over each quadrant of max(0, mean(z) - z) with z the explicit distances to the words."""
    p, s, H, W = bow.patch_size, bow.stride, image.shape[0], image.shape[1]
    k = 2
    pooled = np.zeros((k, k, bow.n_words))
    for r in range(0, H - p + 1, s):
        for c in range(0, W - p + 1, s):
            x = image[r : r + p, c : c + p].astype(np.float64).ravel()
            x = (x - x.mean()) / np.sqrt(x.var() + 10.0)
            if bow.whiten:
                x = (x - bow.zca_mean_) @ bow.zca_matrix_
            z = np.sqrt(((bow.codebook_.astype(np.float64) - x) ** 2).sum(axis=1))
            code = np.maximum(z.mean() - z, 0.0)
            pooled[min(int((r + p / 2) * k // H), k - 1), min(int((c + p / 2) * k // W), k - 1)] += code
    return pooled.ravel()


def coates(**kw):
    kw = {"n_words": 8, "n_patches": 500, "patch_size": 5, "stride": 2, "random_state": 0} | kw
    return KMeansTriangle(**kw)


@pytest.mark.parametrize("whiten", [True, False])
@pytest.mark.parametrize("compiled", [True, False])
def test_triangle_sum_pooling_matches_brute_force(whiten, compiled):
    if compiled and _numba.kernels(bow_module._COMPILED) is None:
        pytest.skip("compiled kernels are off here")
    X = images(3, seed=7, shape=(15, 17, 3))
    bow = coates(whiten=whiten).fit(images(shape=(15, 17, 3)))
    with contextlib.nullcontext() if compiled else _numba.numpy_path(bow_module._COMPILED):
        out = bow.transform(X)
        out64 = bow.transform(X.astype(np.float64))
    assert out.shape == (3, 4 * 8) and out.dtype == np.float32
    ref = np.stack([brute_force_triangle(bow, im) for im in X])
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(out64, ref, rtol=1e-5, atol=1e-4)


def test_compiled_and_numpy_paths_agree():
    if _numba.kernels(bow_module._COMPILED) is None:
        pytest.skip("compiled kernels are off here")
    bow = coates().fit(images())
    X = images(5, seed=8)
    with _numba.numpy_path(bow_module._COMPILED):
        plain = bow.transform(X)
    np.testing.assert_allclose(bow.transform(X), plain, rtol=1e-5, atol=1e-4)


def test_zca_whitening_from_its_definition():
    fitted = coates().fit(images(20)).zca_matrix_
    np.testing.assert_allclose(fitted, fitted.T, atol=1e-5)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 75)) @ rng.normal(size=(75, 75))  # correlated descriptors
    mean, P = bow_module._zca(X.astype(np.float32))
    np.testing.assert_allclose(P, P.T, atol=1e-5)  # ZCA: symmetric, unlike PCA whitening
    lam, V = np.linalg.eigh(np.cov(X, rowvar=False))
    white = (X - mean) @ P.astype(np.float64)
    expected = (V * (lam / (lam + 0.1))) @ V.T
    np.testing.assert_allclose(np.cov(white, rowvar=False), expected, atol=2e-3)


def test_kmeans_triangle_defaults_are_coates_settings():
    est = KMeansTriangle()
    assert (est.n_words, est.patch_size, est.stride, est.encoding, est.pooling, est.whiten,
            est.normalize) == (1600, 6, 1, "triangle", "quadrants", True, False)
    assert isinstance(est, BagOfWords)
    fitted = coates().fit(images())
    assert fitted.zca_matrix_.shape == (75, 75) and fitted.codebook_.shape == (8, 75)


def test_named_pooling_equals_its_grid():
    X = images(2, seed=9)
    a = small(pooling="quadrants").fit(images()).transform(X)
    b = small(pooling=2).fit(images()).transform(X)
    np.testing.assert_array_equal(a, b)
    assert small(pooling="none").fit(images()).transform(X).shape == (2, 6)


def test_sum_pooling_of_hard_votes_counts_patches_per_region():
    out = small(pooling=2, normalize=False).fit(images()).transform(images(3, seed=3))
    # 16x16 images, 4x4 patches at stride 4: 4 patches in each quadrant
    np.testing.assert_array_equal(out.reshape(3, 4, 6).sum(axis=2), 4.0)


def test_whitening_off_stores_empty_arrays():
    bow = small().fit(images())
    assert bow.zca_mean_.shape == (0,) and bow.zca_matrix_.shape == (0, 0)
