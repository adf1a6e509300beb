"""Standardization and the preprocessing state stored in model files."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.preprocessing import StandardScaler

from warpnet.data import Preprocessor, Standardizer
from warpnet.data.preprocessing import ZCAWhitener
from warpnet.errors import DataError


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 30), st.integers(1, 6)),
              elements=st.floats(-1e3, 1e3).map(lambda v: round(v, 3))))
def test_standardizer_matches_scikit_learn(x):
    # Values on a 0.001 grid: a column is either constant or has a standard deviation far above
    # the threshold below which both libraries call it constant (their thresholds differ).
    ours = Standardizer().fit(x).transform(x)
    theirs = StandardScaler().fit(x).transform(x)
    # scikit-learn keeps constant columns at scale 1 as well; float32 output.
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-3)


def test_standardizer_uses_training_statistics_only():
    train = np.array([[0.0, 10.0], [2.0, 10.0]])
    s = Standardizer().fit(train)
    np.testing.assert_allclose(s.mean_, [1.0, 10.0])
    np.testing.assert_allclose(s.std_, [1.0, 1.0])  # the constant column keeps std 1, not 0
    np.testing.assert_allclose(s.transform(np.array([[4.0, 12.0]])), [[3.0, 2.0]])


def test_standardizer_does_not_modify_input():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    before = x.copy()
    s = Standardizer().fit(x)
    s.transform(x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((0, 3)), r"non-empty \(N, D\) array, got shape \(0, 3\)"),
    (np.zeros(3), r"got shape \(3,\)"),
    (np.array([[1.0, 2.0], [np.nan, 1.0]]), r"x contains NaN or inf \(first in row 1\)"),
    (np.array([["a", "b"]]), "x must hold real numbers .*got dtype <U1"),
    (np.array([[True, False]]), "x must hold real numbers .*got dtype bool"),
])
def test_standardizer_rejects_bad_input(bad, match):
    with pytest.raises(DataError, match=match):
        Standardizer().fit(bad)


def test_standardizer_refuses_values_beyond_float32_instead_of_returning_nan():
    # Finite in float64, inf in the float32 statistics: the output would be all NaN.
    big = np.array([[1e300, 0.0], [-1e300, 1.0]])
    with pytest.raises(DataError, match=r"values up to 1e\+300 .*beyond float32"):
        Standardizer().fit(big)
    s = Standardizer().fit(np.array([[0.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(DataError, match="beyond float32"):
        s.transform(big)
    with pytest.raises(DataError, match="beyond float32"):
        ZCAWhitener().fit(big)
    edge = np.array([[3e38, 0.0], [-3e38, 1.0]])  # the largest float32 values still pass
    assert np.isfinite(Standardizer().fit(edge).transform(edge)).all()


def test_preprocessor_names_bad_samples():
    with pytest.raises(DataError, match="samples contains NaN or inf"):
        Preprocessor().fit(np.full((2, 3, 3), np.inf))


def test_standardizer_checks_feature_count_and_fit():
    with pytest.raises(ValueError, match="before fit"):
        Standardizer().transform(np.ones((2, 2)))
    s = Standardizer().fit(np.ones((3, 2)))
    with pytest.raises(DataError, match="3 features, but the Standardizer was fit on 2"):
        s.transform(np.ones((3, 3)))


def test_preprocessor_flattens_images_and_round_trips_its_state():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 4, 4, 3), dtype=np.uint8)
    pre = Preprocessor(pixel_max=255).fit(images[:15])
    z = pre.transform(images)
    assert z.shape == (20, 48) and z.dtype == np.float32
    config, arrays_ = pre.get_state()
    again = Preprocessor.from_state(config, arrays_)
    assert again.image_shape == (4, 4, 3) and again.pixel_max == 255.0
    np.testing.assert_array_equal(again.transform(images), z)


def test_preprocessor_rejects_other_shapes_and_vectors_have_no_image_shape():
    pre = Preprocessor().fit(np.ones((5, 3)))
    assert pre.image_shape is None
    with pytest.raises(DataError, match=r"shape \(4,\), but the model expects \(3,\)"):
        pre.transform(np.ones((2, 4)))


@pytest.mark.parametrize("features, pixel_max", [("", None), (3, None), (None, 0), (None, True)])
def test_preprocessor_validates_arguments(features, pixel_max):
    with pytest.raises(ValueError):
        Preprocessor(features=features, pixel_max=pixel_max)


def test_preprocessor_from_malformed_state():
    with pytest.raises(DataError):
        Preprocessor.from_state({}, {})
    with pytest.raises(DataError):
        Preprocessor.from_state({"input_shape": [2]}, {"mean": np.zeros(2), "std": np.zeros(2)})


def test_seeded_features_seed_every_sampling_part():
    from warpnet.data.preprocessing import seeded_features

    union = seeded_features("hog+bow", 5)
    parts = dict(union.transformer_list)
    assert parts["bow"].get_params()["random_state"] == 5
    assert "random_state" not in parts["hog"].get_params()


def test_preprocessor_with_features_round_trips():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
    pre = Preprocessor("hog+color", pixel_max=255).fit(images)
    z = pre.transform(images)
    assert z.shape == (12, 2 * 2 * 9 + 10)
    config, arrays_ = pre.get_state()
    again = Preprocessor.from_state(config, arrays_)
    np.testing.assert_array_equal(again.transform(images), z)
    # A model file whose feature part is missing or broken is malformed data, not a usage error.
    with pytest.raises(DataError, match="need a feature_config mapping, got NoneType"):
        Preprocessor.from_state({**config, "feature_config": None}, arrays_)
    with pytest.raises(DataError, match="malformed preprocessing.*format"):
        Preprocessor.from_state({**config, "feature_config": {"format": "other/1"}}, arrays_)
    with pytest.raises(DataError, match="need images"):
        Preprocessor("hog").fit(np.ones((4, 3)))


# -- ZCA whitening ------------------------------------------------------------------------------
def _correlated(n: int, d: int, seed: int = 0) -> np.ndarray:
    """(n, d) samples with strongly correlated columns and a non-zero mean."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d) * 5


def test_zca_matches_the_svd_formula():
    # Oracle: the SVD of the centred data, x_c = U S V^T, has covariance V diag(S^2 / N) V^T,
    # so the ZCA matrix is V diag(1 / sqrt(S^2 / N + eps)) V^T (no eigendecomposition).
    x = _correlated(200, 12)
    eps = 0.3
    xc = x - x.mean(0)
    _, S, Vt = np.linalg.svd(xc, full_matrices=False)
    W = (Vt.T / np.sqrt(S ** 2 / len(x) + eps)) @ Vt
    z = ZCAWhitener(eps).fit(x).transform(x)
    assert z.dtype == np.float32 and z.shape == x.shape
    np.testing.assert_allclose(z, xc @ W, rtol=1e-4, atol=1e-4)


def test_zca_with_tiny_eps_whitens_as_scikit_learn_pca_rotated_back():
    # Oracle: PCA(whiten=True) whitens in the eigenvector basis (with N - 1 in the variance);
    # rotating back by its components gives ZCA.
    from sklearn.decomposition import PCA

    x = _correlated(500, 8, seed=1)
    z = ZCAWhitener(eps=1e-9).fit(x).transform(x)
    pca = PCA(whiten=True).fit(x)
    theirs = pca.transform(x) @ pca.components_ * np.sqrt(len(x) / (len(x) - 1))
    np.testing.assert_allclose(z, theirs, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(np.cov(z.T, bias=True), np.eye(8), atol=1e-3)  # white


def test_zca_matrix_is_symmetric_and_eps_damps_small_variances():
    x = _correlated(300, 10, seed=2)
    w = ZCAWhitener(0.1).fit(x)
    np.testing.assert_allclose(w.matrix_, w.matrix_.T, atol=1e-6)
    var = np.var(w.transform(x), axis=0)
    strong = np.var(ZCAWhitener(100.0).fit(x).transform(x), axis=0)
    assert np.all(var <= 1 + 1e-4) and np.all(strong < var)  # a larger eps whitens less


def test_zca_of_constant_images_is_finite():
    # Real images have constant border pixels: a singular covariance must not give NaN.
    x = _correlated(50, 6)
    x[:, 0] = 3.0
    z = ZCAWhitener(0.01).fit(x).transform(x)
    assert np.all(np.isfinite(z)) and np.allclose(z[:, 0], 0, atol=1e-3)


@pytest.mark.parametrize("eps", [0, -1.0, float("nan"), float("inf"), True, "0.1"])
def test_zca_rejects_bad_eps(eps):
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        ZCAWhitener(eps)


def test_zca_checks_its_input():
    with pytest.raises(ValueError, match="before fit"):
        ZCAWhitener().transform(np.ones((2, 2)))
    w = ZCAWhitener().fit(_correlated(20, 3))
    with pytest.raises(DataError, match="x has 4 features, but the ZCAWhitener was fit on 3"):
        w.transform(np.ones((2, 4)))
    with pytest.raises(DataError, match="x contains NaN or inf"):
        w.fit(np.array([[1.0, np.inf]]))
    with pytest.raises(DataError, match="at most 8192 features"):
        ZCAWhitener().fit(np.zeros((2, 8193), np.float32))


def test_preprocessor_whitens_after_standardizing_and_round_trips(tmp_path):
    from warpnet import io, nn

    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (40, 4, 4, 3), dtype=np.uint8)
    pre = Preprocessor(pixel_max=255, whiten="zca", whiten_eps=0.05).fit(images[:30])
    plain = Preprocessor(pixel_max=255).fit(images[:30])
    expected = ZCAWhitener(0.05).fit(plain.transform(images[:30])).transform(plain.transform(images))
    np.testing.assert_allclose(pre.transform(images), expected, rtol=1e-5, atol=1e-5)
    # Through a model file, as eval and predict read it: the same inputs for the network.
    config, arrays_ = pre.get_state()
    io.save(nn.Linear(48, 2), tmp_path / "m.safetensors",
            preprocessing={"config": config, "arrays": arrays_})
    saved = io.load(tmp_path / "m.safetensors").preprocessing
    again = Preprocessor.from_state(saved["config"], saved["arrays"])
    assert again.whiten == "zca" and again.whiten_eps == 0.05
    np.testing.assert_array_equal(again.transform(images), pre.transform(images))
    arrays_["whiten.matrix"] = arrays_["whiten.matrix"][:5]
    with pytest.raises(DataError, match="whitening of 48 features"):
        Preprocessor.from_state(config, arrays_)


def test_preprocessor_rejects_unknown_whitening():
    with pytest.raises(ValueError, match="unknown whitening 'pca'; expected one of: zca"):
        Preprocessor(whiten="pca")
    with pytest.raises(ValueError, match="eps must be"):
        Preprocessor(whiten="zca", whiten_eps=0.0)
