"""Features on Dask arrays: lazy map_blocks, bit-identical to NumPy, sampled fit, one thread per task."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from warpnet.features import FEATURES, ColorStats, DenseSIFT  # noqa: E402
from warpnet.features._dask import fit_sample  # noqa: E402

# Small, fast parameters for features that learn (the others use their defaults).
SMALL = {
    "bow": {"n_words": 6, "n_patches": 400, "patch_size": 4, "stride": 4, "random_state": 0},
    "kmeans-triangle": {"n_words": 6, "n_patches": 400, "random_state": 0},
    "fisher-sift": {"n_components": 2, "pca_components": 8, "regions": ((1, 1), (1, 2)),
                    "descriptor": DenseSIFT(patch_size=8, step=4), "random_state": 0},
    "fisher-color": {"n_components": 2, "pca_components": 8, "regions": ((1, 1), (1, 2)),
                     "descriptor": ColorStats(patch_size=8, step=4), "random_state": 0},
}


def images(n=20, seed=0, shape=(16, 16, 3), dtype=np.uint8):
    x = np.random.default_rng(seed).integers(0, 256, (n, *shape))
    x[:, :3] = 0  # constant borders, as in real photographs
    return x.astype(dtype)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:
        yield c


def build(name):
    return FEATURES.get(name)(**SMALL.get(name, {}))


@pytest.mark.parametrize("name", sorted(FEATURES))
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_every_feature_on_dask_equals_numpy_bit_for_bit(client, name, dtype):
    X = images(dtype=dtype)
    est = build(name).fit(X)
    lazy = est.transform(da.from_array(X, chunks=(7, 8, 16, 3)))  # uneven, split inside images
    assert isinstance(lazy, da.Array)
    expected = est.transform(X)
    assert lazy.chunks == ((7, 7, 6), (expected.shape[1],))
    assert lazy.dtype == expected.dtype and type(lazy._meta) is np.ndarray
    got = lazy.compute()
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_fit_on_dask_equals_fit_on_numpy_for_small_arrays(client, name):
    X = images()
    a = build(name).fit(da.from_array(X, chunks=5))
    b = build(name).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_fit_samples_a_bounded_subset_without_loading_the_whole_array():
    X = da.from_array(images(50), chunks=10)
    bow = build("bow")
    bow.dask_fit_images = 12
    sample = fit_sample(bow, X)
    assert sample.shape == (12, 16, 16, 3)
    # the sample is a set of distinct rows of X, reproducible with random_state
    rows = {r.tobytes() for r in X.compute()}
    assert all(r.tobytes() in rows for r in sample)
    assert len({r.tobytes() for r in sample}) == 12
    np.testing.assert_array_equal(sample, fit_sample(bow, X))
    # a feature that learns nothing from pixels loads a single image
    assert fit_sample(build("hog"), X).shape == (1, 16, 16, 3)


def test_flat_rows_with_image_shape_and_feature_union(client):
    from warpnet.features import classic_features

    X = images(9, shape=(32, 32, 3))
    union = classic_features().fit(X)
    lazy = union.transform(da.from_array(X, chunks=4))
    np.testing.assert_array_equal(np.asarray(lazy), union.transform(X))
    hog = FEATURES.get("hog")(image_shape=(32, 32, 3)).fit(X.reshape(9, -1))
    flat = hog.transform(da.from_array(X.reshape(9, -1), chunks=(4, 1000)))
    np.testing.assert_array_equal(flat.compute(), hog.transform(X.reshape(9, -1)))


def test_dask_transform_checks_shape_before_computing_and_pixels_per_block():
    hog = build("hog").fit(images())
    with pytest.raises(ValueError, match="expecting"):
        hog.transform(da.zeros((4, 8, 8, 3), chunks=2))
    bad = images().astype(np.float64)
    bad[3, 0, 0, 0] = np.nan
    lazy = hog.transform(da.from_array(bad, chunks=5))
    with pytest.raises(ValueError, match="NaN|inf|finite"):
        lazy.compute(scheduler="synchronous")


def test_tasks_run_blas_and_numba_on_one_thread():
    from threadpoolctl import threadpool_info

    from warpnet.features import _dask

    seen = []

    class Probe:
        def transform(self, block):
            seen.append([p["num_threads"] for p in threadpool_info()])
            return block

    _dask._transform_block(np.zeros(2), Probe())
    assert seen and all(n == 1 for n in seen[0])


def test_two_inputs_of_one_shape_computed_together_keep_their_own_features(client):
    import dask

    hog = build("hog").fit(images())
    a, b = images(seed=1), images(seed=2)
    fa, fb = dask.compute(hog.transform(da.from_array(a, chunks=5)),
                          hog.transform(da.from_array(b, chunks=5)))
    np.testing.assert_array_equal(fa, hog.transform(a))
    np.testing.assert_array_equal(fb, hog.transform(b))
    # a slice of a persisted array and the whole array in one session
    persisted = client.persist(da.from_array(a, chunks=5))
    part = hog.transform(persisted[:10]).compute()
    whole = hog.transform(persisted).compute()
    np.testing.assert_array_equal(part, whole[:10])
    np.testing.assert_array_equal(whole, hog.transform(a))



@pytest.mark.parametrize("name", ["bow", "kmeans-triangle", "fisher-sift", "fisher-color"])
def test_fit_loads_only_the_images_it_draws_and_equals_numpy(client, name, monkeypatch):
    X = images(300)
    params = dict(SMALL[name])
    if name.startswith("fisher"):
        params["n_descriptors"] = 40  # 9 patches an image: 4 * 40 / 9 -> 18 of 300 images
    else:
        params["n_patches"] = 30  # patches from at most 30 of 300 images
    from warpnet.features import _dask

    loaded = []
    original = _dask.LazyImages.__getitem__

    def counting(self, key):
        out = original(self, key)
        loaded.append(len(out))
        return out

    monkeypatch.setattr(_dask.LazyImages, "__getitem__", counting)
    a = FEATURES[name](**params).fit(da.from_array(X, chunks=50))
    b = FEATURES[name](**params).fit(X)
    np.testing.assert_array_equal(a.transform(X[:20]), b.transform(X[:20]))
    assert 0 < sum(loaded) <= 31  # the drawn images (plus one for the descriptor's shape)


def test_features_that_learn_nothing_load_one_image():
    from warpnet.features import HOG, ColorHistogram

    X = da.from_array(images(40), chunks=10)
    for est in (HOG(), ColorHistogram(), DenseSIFT(patch_size=8, step=4), ColorStats(patch_size=8)):
        assert fit_sample(est, X).shape == (1, 16, 16, 3), type(est).__name__


def test_product_quantizer_fit_loads_the_drawn_rows_only(client, monkeypatch):
    from warpnet.features import ProductQuantizer, pq

    rows = np.random.default_rng(0).standard_normal((2000, 16)).astype(np.float32)
    seen = []
    original = pq.validate_data

    def recording(est, X, **kw):
        seen.append((type(X), np.shape(X)))
        return original(est, X, **kw)

    monkeypatch.setattr(pq, "validate_data", recording)
    a = ProductQuantizer(sub_dim=4, bits_per_value=1, n_samples=100, random_state=0)
    b = ProductQuantizer(sub_dim=4, bits_per_value=1, n_samples=100, random_state=0)
    a.fit(da.from_array(rows, chunks=(250, 16)))
    assert seen == [(np.ndarray, (100, 16))]  # the drawn rows, computed; never the whole array
    b.fit(rows)
    np.testing.assert_array_equal(a.codebooks_, b.codebooks_)
    assert a.n_features_in_ == 16
    with pytest.raises(ValueError, match="sub_dim=3 does not divide"):
        ProductQuantizer(sub_dim=3, n_samples=10).fit(da.from_array(rows))
    with pytest.raises(ValueError, match="0 sample"):
        ProductQuantizer(sub_dim=4, bits_per_value=1, n_samples=100).fit(da.from_array(rows[:0]))
