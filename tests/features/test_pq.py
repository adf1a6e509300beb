"""ProductQuantizer and CompressedFeatures: nearest-centroid codes, k-means, batch reading."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from warpnet.features import CompressedFeatures, ProductQuantizer


def data(n=600, d=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32)


@pytest.mark.parametrize("sub_dim,bits", [(8, 1), (4, 2), (2, 3), (1, 1), (3, 3)])
def test_codes_are_nearest_centroids_by_brute_force(sub_dim, bits):
    X = data(700, 24)
    pq = ProductQuantizer(sub_dim=sub_dim, bits_per_value=bits, max_iter=4, random_state=0).fit(X)
    M, K = 24 // sub_dim, 2 ** (sub_dim * bits)
    assert pq.codebooks_.shape == (M, K, sub_dim) and pq.codebooks_.dtype == np.float32
    codes = pq.encode(X[:50])
    assert codes.dtype == (np.uint8 if sub_dim * bits <= 8 else np.uint16)
    assert codes.shape == (50, M)
    sub = X[:50].reshape(50, M, sub_dim).astype(np.float64)
    d2 = ((sub[:, :, None, :] - pq.codebooks_[None].astype(np.float64)) ** 2).sum(-1)  # (50, M, K)
    best = d2.min(axis=2)
    # the chosen centroid is a nearest one (float32 ties aside)
    chosen = np.take_along_axis(d2, codes[:, :, None].astype(np.intp), axis=2)[..., 0]
    np.testing.assert_allclose(chosen, best, rtol=1e-5, atol=1e-5)
    rebuilt = pq.decode(codes)
    np.testing.assert_array_equal(rebuilt, pq.transform(X[:50]))
    np.testing.assert_array_equal(
        rebuilt.reshape(50, M, sub_dim), pq.codebooks_[np.arange(M), codes])
    err = ((rebuilt - X[:50]) ** 2).sum(axis=1)
    np.testing.assert_allclose(err, best.sum(axis=1), rtol=1e-4, atol=1e-4)


def test_kmeans_lowers_the_error_and_matches_a_plain_lloyd_step():
    X = data(400, 16, seed=1)
    one = ProductQuantizer(sub_dim=4, bits_per_value=1, max_iter=1, random_state=5).fit(X)
    many = ProductQuantizer(sub_dim=4, bits_per_value=1, max_iter=15, random_state=5).fit(X)
    err = [((p.transform(X) - X) ** 2).sum() for p in (one, many)]
    assert err[1] < err[0]
    # after one iteration: each centroid is the mean of the rows nearest to the initial one
    rng = np.random.default_rng(5)
    rows = np.sort(rng.choice(400, 400, replace=False))
    init = rng.choice(400, 16, replace=False)
    sub = X[rows].reshape(400, 4, 4)
    for m in range(4):
        c0 = sub[init, m]
        assign = ((sub[:, m, None] - c0[None]) ** 2).sum(-1).argmin(1)
        for k in range(16):
            if (assign == k).any():
                np.testing.assert_allclose(one.codebooks_[m, k], sub[assign == k, m].mean(0),
                                           rtol=1e-5, atol=1e-6)


def test_sixteen_bit_codes():
    X = data(300, 8)
    pq = ProductQuantizer(sub_dim=2, bits_per_value=4, n_samples=300, max_iter=2, random_state=0)
    assert pq.fit(X).encode(X).dtype == np.uint8
    big = ProductQuantizer(sub_dim=3, bits_per_value=3, max_iter=1, random_state=0).fit(data(600, 9))
    assert big.encode(data(5, 9)).dtype == np.uint16 and big.n_centroids == 512


def test_compressed_features_read_batch_by_batch():
    X = data(1000, 64)
    pq = ProductQuantizer(random_state=0).fit(X[:500])
    store = pq.compress(X[i : i + 300] for i in range(0, 1000, 300))
    assert isinstance(store, CompressedFeatures)
    assert store.shape == (1000, 64) and len(store) == 1000 and store.dtype == np.float32
    assert store.nbytes * 32 == X.nbytes  # 1 bit per value
    full = pq.transform(X)
    np.testing.assert_array_equal(np.asarray(store), full)
    np.testing.assert_array_equal(store[[3, 999, 0]], full[[3, 999, 0]])
    np.testing.assert_array_equal(store[7], full[7])
    np.testing.assert_array_equal(np.concatenate(list(store.batches(128))), full)


def test_sgd_from_compressed_batches_equals_sgd_on_decoded_floats():
    rng = np.random.default_rng(0)
    X = data(900, 32)
    y = (X[:, :4].sum(1) > 0).astype(int) + (X[:, 4] > 0.5)
    pq = ProductQuantizer(random_state=0).fit(X)
    store = pq.compress(X)
    decoded = pq.transform(X)
    a = SGDClassifier(loss="hinge", random_state=0)
    b = SGDClassifier(loss="hinge", random_state=0)
    classes = np.unique(y)
    for _ in range(3):
        order = rng.permutation(900)
        for i in range(0, 900, 100):
            rows = order[i : i + 100]
            a.partial_fit(store[rows], y[rows], classes=classes)
            b.partial_fit(decoded[rows], y[rows], classes=classes)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.predict(store[:]), b.predict(decoded))


def test_state_round_trip_and_refusals():
    X = data(400, 16)
    pq = ProductQuantizer(sub_dim=4, random_state=0).fit(X)
    config, arrays = pq.to_state()
    back = ProductQuantizer.from_state(config, arrays)
    np.testing.assert_array_equal(back.encode(X), pq.encode(X))
    with pytest.raises(ValueError, match=r"codebooks_ must be finite with shape \(4, 16, 4\)"):
        ProductQuantizer.from_state(config, {"codebooks_": np.zeros((4, 16, 2))})
    with pytest.raises(ValueError, match="bad product-quantizer config"):
        ProductQuantizer.from_state({"params": {"sub_dim": 4}}, arrays)


@pytest.mark.parametrize("kw,match", [
    ({"sub_dim": 0}, "sub_dim must be >= 1"),
    ({"bits_per_value": 0}, "bits_per_value must be >= 1"),
    ({"sub_dim": 8, "bits_per_value": 3}, r"sub_dim \* bits_per_value must be <= 16"),
    ({"n_samples": 100}, "n_samples must be >= 256"),
    ({"random_state": "x"}, "random_state"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        ProductQuantizer(**kw).fit(data(600, 32))


def test_bad_data():
    with pytest.raises(ValueError, match="sub_dim=8 does not divide the 30 features"):
        ProductQuantizer().fit(data(600, 30))
    with pytest.raises(ValueError, match="X has 100 sample"):
        ProductQuantizer().fit(data(100, 32))
    X = data(600, 32)
    X[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ProductQuantizer().fit(X)
    with pytest.raises(NotFittedError):
        ProductQuantizer().encode(data(2, 32))
    pq = ProductQuantizer(random_state=0).fit(data(600, 32))
    with pytest.raises(ValueError, match="32 features"):
        pq.encode(data(2, 16))
    with pytest.raises(ValueError, match=r"codes must be an integer array \(N, 4\)"):
        pq.decode(np.zeros((2, 5), np.uint8))
    with pytest.raises(ValueError, match="codes must lie in 0..255"):
        pq.decode(np.full((2, 4), 300))


@parametrize_with_checks([ProductQuantizer(sub_dim=1, n_samples=2, max_iter=2, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_ovr_svm_trained_from_the_store_equals_training_on_decoded_floats(monkeypatch):
    """The classifier reads the codes minibatch by minibatch through the Trainer: the same
    weights as on the decoded float32 matrix, and no decode larger than a minibatch."""
    from warpnet import LinearClassifier

    rng = np.random.default_rng(1)
    X = data(700, 48, seed=2)
    y = (X[:, :3].sum(1) > 0).astype(int) + 2 * (X[:, 5] > 0.3)
    w = rng.uniform(0.5, 2.0, len(y))
    w[::7] = 0.0  # rows of weight 0 are dropped: the store is cut without decoding
    pq = ProductQuantizer(random_state=0).fit(X)
    store = pq.compress(X)
    decoded = pq.transform(X)
    kw = dict(loss="svm", multi_class="ovr", batch_size=64, max_iter=4, alpha=1e-4,
              random_state=3, dtype="float32")
    dense = LinearClassifier(**kw).fit(decoded, y, sample_weight=w)

    sizes = []
    take = CompressedFeatures.take

    def spy(self, rows):
        sizes.append(len(rows))
        return take(self, rows)

    def refuse(self, *a, **k):
        raise AssertionError("the whole store was decoded")

    monkeypatch.setattr(CompressedFeatures, "take", spy)
    monkeypatch.setattr(CompressedFeatures, "__array__", refuse)
    compressed = LinearClassifier(**kw).fit(store, y, sample_weight=w)
    monkeypatch.undo()
    assert sizes and max(sizes) <= 64
    np.testing.assert_array_equal(compressed.coefs_[0], dense.coefs_[0])
    np.testing.assert_array_equal(compressed.intercepts_[0], dense.intercepts_[0])
    np.testing.assert_array_equal(compressed.predict(store), dense.predict(decoded))
    assert compressed.n_features_in_ == 48


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_trainer_reads_a_store_and_refuses_what_it_cannot():
    from warpnet import LinearClassifier, nn
    from warpnet.train import Trainer

    X = data(300, 16)
    y = (X[:, 0] > 0).astype(int)
    pq = ProductQuantizer(sub_dim=4, random_state=0).fit(X)
    store = pq.compress(X)
    runs = []
    for features in (store, pq.transform(X)):
        model = nn.mlp([16, 2], rng=0, dtype="float32")
        Trainer(model, "svm_ovr", "sgd", lr=0.1, batch_size=50, epochs=2, seed=0,
                verbose=0).fit(features, y, validation=(store, y))
        runs.append(model.state_dict())
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name])
    with pytest.raises(ValueError, match="early_stopping"):
        LinearClassifier(loss="svm", multi_class="ovr", early_stopping=True).fit(store, y)
    with pytest.raises(ValueError, match="300 samples, but y has 299"):
        LinearClassifier(loss="svm", multi_class="ovr").fit(store, y[:-1])
    with pytest.raises(ValueError, match="float64"):
        LinearClassifier(loss="svm", multi_class="ovr", dtype="float64").fit(store, y)
    clf = LinearClassifier(loss="svm", multi_class="ovr", max_iter=1).fit(store, y)
    with pytest.raises(ValueError, match="16 features"):
        clf.partial_fit(ProductQuantizer(sub_dim=4, random_state=0).fit(data(300, 8)).compress(
            data(300, 8)), y)
