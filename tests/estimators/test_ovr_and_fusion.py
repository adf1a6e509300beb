"""One-vs-all SVMs (against scikit-learn's LinearSVC) and LateFusion (weights, errors)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC

from warpnet import nn
from warpnet.errors import UsageError
from warpnet.estimators import LateFusion, LinearClassifier
from warpnet.estimators._fusion import _best_weights


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0,
                                                        stratify=y)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def ovr(**kw):
    kw = {"alpha": 1e-3, "max_iter": 30, "learning_rate": "cosine", "random_state": 0} | kw
    return LinearClassifier("svm", multi_class="ovr", **kw)


def test_one_vs_all_svm_is_within_one_point_of_linear_svc_on_digits():
    """Mean test accuracy over three splits: ours vs the better of LinearSVC's two losses."""
    X, y = load_digits(return_X_y=True)
    ours, ref = [], []
    for seed in range(3):
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3,
                                                            random_state=seed, stratify=y)
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        ref.append(max(LinearSVC(loss=loss, max_iter=50_000).fit(X_train, y_train)
                       .score(X_test, y_test) for loss in ("hinge", "squared_hinge")))
        model = ovr(alpha=1e-2, learning_rate_init=3e-2, max_iter=50).fit(X_train, y_train)
        ours.append(model.score(X_test, y_test))
    assert np.mean(ours) >= np.mean(ref) - 0.01
    assert model.decision_function(X_test).shape == (len(y_test), 10)
    assert isinstance(model._loss_fn(), nn.OneVsAllHinge)


def test_one_vs_all_columns_are_the_binary_svms(digits):
    """Column c of the scores separates class c from the rest on its own (sign = membership)."""
    X_train, _, y_train, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = ovr().fit(X_train, y_train)
    scores = model.decision_function(X_train)
    for c in range(10):
        binary_accuracy = np.mean((scores[:, c] > 0) == (y_train == c))
        assert binary_accuracy > 0.95


def test_multi_class_validation(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(UsageError, match="multi_class='ovr' needs loss"):
        LinearClassifier("softmax", multi_class="ovr").fit(X_train, y_train)
    with pytest.raises(UsageError, match="multi_class"):
        LinearClassifier("svm", multi_class="crammer").fit(X_train, y_train)
    assert LinearClassifier().get_params()["multi_class"] == "joint"


# -- LateFusion --------------------------------------------------------------------------------
def half(columns: slice, seed: int = 0):
    """A system that sees only some pixels of a digit."""
    return make_pipeline(FunctionTransformer(lambda a: a[:, columns]), StandardScaler(),
                         ovr(max_iter=20, random_state=seed))


def test_best_weights_against_exhaustive_search():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(2, 200, 4))
    y = rng.integers(0, 4, 200)
    scores[0, np.arange(100), y[:100]] += 3.0  # system 0 knows the first half
    scores[1, np.arange(100, 200), y[100:]] += 3.0  # system 1 the second
    w, acc = _best_weights(scores, y)
    best = max((np.mean(np.argmax(a * scores[0] + (1 - a) * scores[1], axis=1) == y), -abs(a - 0.5))
               for a in np.linspace(0, 1, 21))
    assert acc == pytest.approx(best[0]) and w.sum() == pytest.approx(1.0)
    assert abs(w[0] - 0.5) == pytest.approx(-best[1])
    # three systems: the grid covers the simplex
    w3, acc3 = _best_weights(np.concatenate([scores, rng.normal(size=(1, 200, 4))]), y)
    assert acc3 >= acc and w3.sum() == pytest.approx(1.0) and np.all(w3 >= 0)
    assert len(list(itertools.product(range(21), repeat=3))) > 0


def test_late_fusion_beats_each_half_of_the_digits(digits):
    X_train, X_test, y_train, y_test = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fusion = LateFusion([("top", half(slice(0, 32))), ("bottom", half(slice(32, 64)))],
                            random_state=0).fit(X_train, y_train)
    alone = [est.score(X_test, y_test) for est in fusion.estimators_]
    assert fusion.score(X_test, y_test) > max(alone)
    assert set(fusion.validation_scores_) == {"top", "bottom", "fusion"}
    assert fusion.validation_scores_["fusion"] >= max(fusion.validation_scores_["top"],
                                                      fusion.validation_scores_["bottom"])
    assert fusion.weights_.sum() == pytest.approx(1.0)
    # the fused scores are the weighted sum of the systems' scores
    expected = sum(w * est.decision_function(X_test)
                   for w, est in zip(fusion.weights_, fusion.estimators_, strict=True))
    np.testing.assert_allclose(fusion.decision_function(X_test), expected)


def test_fixed_weights_and_nested_parameters(digits):
    X_train, X_test, y_train, y_test = digits
    systems = [("top", half(slice(0, 32))), ("bottom", half(slice(32, 64)))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        only_top = LateFusion(systems, weights=[2.0, 0.0]).fit(X_train, y_train)
    np.testing.assert_array_equal(only_top.weights_, [1.0, 0.0])
    assert only_top.validation_scores_ is None
    np.testing.assert_array_equal(only_top.predict(X_test),
                                  only_top.named_estimators_["top"].predict(X_test))
    fusion = LateFusion(systems)
    fusion.set_params(top__linearclassifier__alpha=0.5)
    assert fusion.get_params()["top__linearclassifier__alpha"] == 0.5


class _WeightRecorder(ClassifierMixin, BaseEstimator):
    """Checks that each row keeps its own sample weight: column 0 of X is the row's id."""

    def fit(self, X, y, sample_weight=None):
        np.testing.assert_array_equal(sample_weight, X[:, 0] + 1)
        self.classes_ = np.unique(y)
        self.n_fits_ = len(y)
        return self

    def decision_function(self, X):
        return np.stack([np.cos(X[:, 0] * (k + 1)) for k in range(len(self.classes_))], axis=1)


def test_sample_weight_follows_the_rows_of_the_validation_split():
    n = 40
    X = np.column_stack([np.arange(n, dtype=float), np.ones(n)])
    y = np.arange(n) % 2
    fusion = LateFusion([("a", _WeightRecorder()), ("b", _WeightRecorder())], random_state=0)
    fusion.fit(X, y, sample_weight=np.arange(n) + 1.0)  # split fit on 32 rows, refit on 40
    assert fusion.estimators_[0].n_fits_ == n
    LateFusion([("a", _WeightRecorder())], weights=[1.0]).fit(X, y, sample_weight=np.arange(n) + 1.0)
    with pytest.raises(ValueError, match=r"sample_weight leaves samples of 1 class\(es\) \[1\]"):
        fusion.fit(X, y, sample_weight=y.astype(float))


def test_late_fusion_errors(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(NotFittedError):
        LateFusion([("a", ovr())]).predict(X_train)
    bad = [
        ([], "estimators"),
        ([("a", ovr()), ("a", ovr())], "distinct names"),
        ([("a", StandardScaler())], "decision_function"),
    ]
    for systems, message in bad:
        with pytest.raises(ValueError, match=message):
            LateFusion(systems).fit(X_train, y_train)
    for kw, message in [({"weights": [1.0]}, "weights"), ({"weights": [-1.0, 2.0]}, "weights"),
                        ({"weights": [0.0, 0.0]}, "weights"),
                        ({"validation_fraction": 1.5}, "validation_fraction"),
                        ({"refit": "yes"}, "refit")]:
        with pytest.raises(ValueError, match=message):
            LateFusion([("a", ovr()), ("b", ovr())], **kw).fit(X_train, y_train)
    with pytest.raises(ValueError, match="validation_fraction"):
        LateFusion([("a", ovr())], validation_fraction=0.01).fit(X_train[:30], y_train[:30])


def test_squared_hinge_one_vs_all(digits):
    X_train, X_test, y_train, y_test = digits
    model = LinearClassifier(
        "squared_svm", multi_class="ovr", alpha=1e-3, learning_rate_init=3e-3, max_iter=30,
        learning_rate="cosine", random_state=0).fit(X_train, y_train)
    assert model._loss_fn().squared and model.score(X_test, y_test) > 0.93
    with pytest.raises(UsageError, match="needs multi_class='ovr'"):
        LinearClassifier("squared_svm").fit(X_train, y_train)
