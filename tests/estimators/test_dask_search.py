"""Model selection on a Dask cluster: GridSearchCV under joblib's "dask" backend."""

from __future__ import annotations

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from joblib import parallel_backend  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.multiclass import OneVsRestClassifier  # noqa: E402

from warpnet.estimators import LinearClassifier, MLPClassifier  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def digits(n=300):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def test_grid_search_on_dask_finds_what_the_default_backend_finds(client):
    X, y = digits()
    grid = {"hidden_layer_sizes": [(8,), (32,)], "alpha": [1e-4, 1e-1]}

    def search():
        est = MLPClassifier(max_iter=15, random_state=0, solver="sgd", learning_rate_init=0.1)
        return GridSearchCV(est, grid, cv=3, n_jobs=-1).fit(X, y)

    default = search()
    with parallel_backend("dask"):
        on_dask = search()
    assert on_dask.best_params_ == default.best_params_
    np.testing.assert_array_equal(on_dask.cv_results_["mean_test_score"],
                                  default.cv_results_["mean_test_score"])
    assert on_dask.best_score_ == default.best_score_


def test_one_vs_rest_spreads_its_classes_on_dask(client):
    X, y = digits(200)
    est = OneVsRestClassifier(LinearClassifier(max_iter=10, random_state=0), n_jobs=-1)
    expected = est.fit(X, y).predict(X)
    with parallel_backend("dask"):
        got = est.fit(X, y).predict(X)
    np.testing.assert_array_equal(got, expected)
