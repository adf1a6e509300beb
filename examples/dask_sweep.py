"""A sweep over hidden sizes and L2 strength on a local Dask cluster.

The lecture's advice: more hidden units give more capacity; control overfitting with the
regularization strength lambda (``alpha``), not by shrinking the network.  ``GridSearchCV``
fits every (hidden size, alpha) pair with 3-fold cross-validation; under
``joblib.parallel_backend("dask")`` the fits run as tasks on the cluster's workers (here a
``LocalCluster`` on this machine; pass a scheduler address to ``Client`` for a real one).

Run: python examples/dask_sweep.py        (needs pip install "warpnet[dask]"; about a minute)
"""

from __future__ import annotations

import warnings

from joblib import parallel_backend
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from warpnet.estimators import MLPClassifier

HIDDEN = [(16,), (64,), (256,)]
ALPHAS = [1e-4, 1e-2, 1e-1]


def sweep(X, y, hidden=HIDDEN, alphas=ALPHAS, max_iter: int = 30, workers: int = 2):
    """Fit the grid on a local cluster of ``workers`` processes; returns the fitted search."""
    from distributed import Client, LocalCluster

    grid = {"hidden_layer_sizes": hidden, "alpha": alphas}
    est = MLPClassifier(solver="sgd", learning_rate_init=0.1, max_iter=max_iter, random_state=0)
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster), parallel_backend("dask"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GridSearchCV(est, grid, cv=3, n_jobs=-1, return_train_score=True).fit(X, y)


def main() -> None:
    X, y = load_digits(return_X_y=True)
    search = sweep(X / 16.0, y)
    r = search.cv_results_
    print(f"{'hidden':>8} {'alpha':>8} {'train':>7} {'valid':>7}")
    for params, train, valid in zip(r["params"], r["mean_train_score"], r["mean_test_score"],
                                    strict=True):
        print(f"{params['hidden_layer_sizes'][0]:>8} {params['alpha']:>8g} {train:>7.3f} {valid:>7.3f}")
    print(f"best: {search.best_params_} (cross-validated accuracy {search.best_score_:.3f})")


if __name__ == "__main__":
    main()
