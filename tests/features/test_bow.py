"""BagOfWords: codebook, encoding against a brute-force oracle, pooling, determinism."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from warpnet.features import BagOfWords


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


def test_soft_encoding_is_a_normalized_nonnegative_histogram():
    out = small(assignment="soft").fit(images()).transform(images(4, seed=2))
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
    with pytest.raises(ValueError, match="assignment"):
        small(assignment="fuzzy").fit(images())
    with pytest.raises(ValueError, match="stride"):
        small(stride=0).fit(images())
    with pytest.raises(ValueError, match="shape"):
        small().fit(images()).transform(images(shape=(20, 20, 3)))
