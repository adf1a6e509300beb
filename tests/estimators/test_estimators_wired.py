"""``WiredClassifier``: the scikit-learn contract, seeds, accuracy on digits, bad parameters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from warpnet import WiredClassifier, nn

pytest.importorskip("networkx")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([WiredClassifier(graph="ba", n_nodes=4, width=16, graph_params={"m": 1})])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return train_test_split(x / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_learns_digits_and_the_seed_fixes_graph_and_weights(digits):
    x_train, x_test, y_train, y_test = digits
    a = WiredClassifier(n_nodes=8, width=32, max_iter=30, learning_rate_init=3e-3,
                        random_state=0).fit(x_train, y_train)
    b = WiredClassifier(n_nodes=8, width=32, max_iter=30, learning_rate_init=3e-3,
                        random_state=0).fit(x_train, y_train)
    assert isinstance(a.network_, nn.Graph) and a.network_.edges == b.network_.edges
    np.testing.assert_array_equal(a.predict_proba(x_test), b.predict_proba(x_test))
    assert a.score(x_test, y_test) > 0.93


@pytest.mark.parametrize("params,match", [
    ({"graph": "xx"}, "graph"),
    ({"n_nodes": 1}, "n_nodes"),
    ({"graph_params": {"k": 3}}, "k must be an even integer"),
    ({"graph": "ba", "graph_params": {"m": 9}}, r"1 <= m < n_nodes = 6"),
    ({"graph_params": "k=4"}, "graph_params"),
])
def test_bad_parameters(params, match):
    x = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValueError, match=match):
        WiredClassifier(**{"n_nodes": 6, "width": 4, "max_iter": 1, **params}).fit(x, np.arange(20) % 2)
