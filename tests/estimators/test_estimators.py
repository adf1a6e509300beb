"""Behaviour of LinearClassifier, MLPClassifier and MLPRegressor beyond scikit-learn's checks:
dtypes, determinism, RNG hygiene, partial_fit, warm starts, early stopping, sample weights."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from warpnet import LinearClassifier, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _params(est):
    return [p.copy() for p in est.coefs_ + est.intercepts_]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [
    lambda: MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0),
    lambda: LinearClassifier(max_iter=5, random_state=0),
])
def test_the_input_dtype_is_kept_end_to_end(blobs, make, dtype):
    X, y = blobs
    clf = make().fit(X.astype(dtype), y)
    assert all(w.dtype == dtype for w in clf.coefs_ + clf.intercepts_)
    assert clf.network_dtype_ == dtype
    assert clf.decision_function(X).dtype == dtype  # float64 X is cast to the model's dtype
    assert clf.predict_proba(X.astype(dtype)).dtype == dtype


def test_regressor_keeps_float32(blobs):
    X, y = blobs
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    reg.fit(X.astype(np.float32), y.astype(np.float32))
    assert reg.predict(X).dtype == np.float32


def test_dtype_parameter_overrides_the_input_dtype(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, dtype="float32", random_state=0)
    clf.fit(X, y)  # float64 input
    assert clf.coefs_[0].dtype == np.float32 and clf.predict_proba(X).dtype == np.float32
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, dtype="float64", random_state=0)
    assert reg.fit(X.astype(np.float32), y).predict(X).dtype == np.float64


def test_hidden_layer_sizes_forms(blobs):
    X, y = blobs
    for sizes, expected in [(7, [5, 7, 3]), ([6, 4], [5, 6, 4, 3]), ((), [5, 3])]:
        clf = MLPClassifier(hidden_layer_sizes=sizes, max_iter=2, random_state=0).fit(X, y)
        assert clf.layer_sizes_ == expected
        assert [w.shape for w in clf.coefs_] == list(zip(expected[:-1], expected[1:],
                                                         strict=True))


def test_integer_input_trains_a_float64_model(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(
        np.round(X).astype(np.int32), y)
    assert clf.coefs_[0].dtype == np.float64


def test_same_random_state_gives_bit_identical_models(blobs):
    X, y = blobs
    # Dropout, shuffling and the validation split all draw from random_state.
    kw = dict(hidden_layer_sizes=(16, 8), dropout=0.2, early_stopping=True, max_iter=8,
              random_state=7)
    a, b = MLPClassifier(**kw).fit(X, y), MLPClassifier(**kw).fit(X, y)
    for wa, wb in zip(_params(a), _params(b), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert a.loss_curve_ == b.loss_curve_
    c = MLPClassifier(**{**kw, "random_state": 8}).fit(X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


@pytest.mark.parametrize("random_state", [None, 3])
def test_global_numpy_random_state_is_never_read_or_changed(blobs, random_state):
    X, y = blobs
    np.random.seed(1234)
    before = np.random.get_state()
    clf = MLPClassifier(hidden_layer_sizes=(8,), dropout=0.1, early_stopping=True, max_iter=3,
                        random_state=random_state).fit(X, y)
    clf.predict_proba(X)
    MLPClassifier(hidden_layer_sizes=(8,), random_state=random_state).partial_fit(X, y)
    MLPRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=random_state).fit(X, y * 1.0)
    after = np.random.get_state()
    assert before[0] == after[0] and before[2:] == after[2:]
    np.testing.assert_array_equal(before[1], after[1])
    # The global generator would also leave a trace in the model if it were used.
    np.random.seed(99)
    other = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=3).fit(X, y)
    if random_state == 3:
        np.testing.assert_array_equal(other.coefs_[0], MLPClassifier(
            hidden_layer_sizes=(8,), max_iter=3, random_state=3).fit(X, y).coefs_[0])


def test_partial_fit_runs_one_epoch_per_call_and_learns(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.02, random_state=0)
    clf.partial_fit(X[:45], y[:45], classes=[0, 1, 2])
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 1
    for _ in range(30):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 31
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="not among the classes"):
        clf.partial_fit(X[:3], np.array([0, 1, 5]))


def test_partial_fit_batches_equal_in_sequence_to_the_same_calls(blobs):
    X, y = blobs
    a = MLPClassifier(hidden_layer_sizes=(8,), random_state=1)
    b = MLPClassifier(hidden_layer_sizes=(8,), random_state=1)
    for est in (a, b):
        est.partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X[::-1], y[::-1])
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])


def test_warm_start_continues_from_the_fitted_weights(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, warm_start=True, random_state=0)
    clf.fit(X, y)
    first = clf.coefs_[0].copy()
    clf.fit(X, y)
    assert clf.n_iter_ == 6 and len(clf.loss_curve_) == 6
    assert not np.array_equal(first, clf.coefs_[0])
    cold = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(cold.fit(X, y).coefs_[0], first)  # refit starts over
    clf.set_params(hidden_layer_sizes=(9,))
    with pytest.raises(ValueError, match="layer sizes"):
        clf.fit(X, y)


def test_tol_stops_training_after_n_iter_no_change(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(8,), tol=1e9, n_iter_no_change=3, max_iter=100,
                        random_state=0).fit(X, y)
    # The first epoch improves on an infinite best loss; nothing after improves by 1e9:
    # epochs 2..5 count 1..4 > 3 -> stop after the 5th epoch (as scikit-learn's MLP).
    assert clf.n_iter_ == 5


def test_early_stopping_records_validation_and_keeps_the_best_weights(blobs):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True, validation_fraction=0.2,
                        n_iter_no_change=2, max_iter=50, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert all(0.0 <= s <= 1.0 for s in clf.validation_scores_)
    assert np.all(np.isfinite(clf.validation_loss_curve_))
    plain = MLPClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(X, y)
    assert plain.validation_scores_ is None and plain.validation_loss_curve_ is None
    with pytest.raises(ValueError, match="early_stopping"):
        clf.partial_fit(X, y)


def test_zero_weight_is_removal_and_weights_shift_the_decision(blobs):
    X, y = blobs
    kw = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0, batch_size=200)
    w = np.ones(len(y))
    w[::3] = 0.0
    weighted = MLPClassifier(**kw).fit(X, y, sample_weight=w)
    removed = MLPClassifier(**kw).fit(X[w > 0], y[w > 0])
    np.testing.assert_allclose(weighted.predict_proba(X), removed.predict_proba(X), rtol=1e-10)

    heavy = np.where(y == 0, 50.0, 1.0)
    base = MLPClassifier(**kw).fit(X, y).predict_proba(X)[:, 0].mean()
    favoured = MLPClassifier(**kw).fit(X, y, sample_weight=heavy).predict_proba(X)[:, 0].mean()
    assert favoured > base


def test_svm_loss_has_no_probabilities(blobs):
    X, y = blobs
    clf = LinearClassifier(loss="svm", max_iter=20, random_state=0).fit(X, y)
    assert not hasattr(clf, "predict_proba")
    assert clf.score(X, y) > 0.9
    assert clf.decision_function(X).shape == (90, 3)
    assert len(clf.coefs_) == 1 and clf.coefs_[0].shape == (5, 3)


def test_binary_decision_function_is_the_margin_of_class_one(blobs):
    X, y = blobs
    X2, y2 = X[y < 2], np.where(y[y < 2] == 1, "yes", "no")
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X2, y2)
    margin = clf.decision_function(X2)
    assert margin.shape == (60,)
    np.testing.assert_array_equal(clf.predict(X2), np.where(margin > 0, "yes", "no"))
    np.testing.assert_allclose(clf.predict_proba(X2)[:, 1], 1 / (1 + np.exp(-margin)), rtol=1e-9)
    np.testing.assert_allclose(clf.predict_log_proba(X2), np.log(clf.predict_proba(X2)),
                               rtol=1e-9)


def test_every_activation_and_solver_trains(blobs):
    X, y = blobs
    from warpnet import nn, optim

    for activation in nn.ACTIVATIONS.names():
        for solver in optim.OPTIMIZERS.names():
            clf = MLPClassifier(hidden_layer_sizes=(16,), activation=activation, solver=solver,
                                learning_rate_init=0.01, max_iter=30, random_state=0)
            assert clf.fit(X, y).score(X, y) > 0.9, (activation, solver)


@pytest.mark.parametrize("solver, rate", [("sgd", 1e-2), ("adam", 1e-3), ("rmsprop", 1e-3)])
def test_auto_learning_rate_is_the_solvers(blobs, solver, rate):
    X, y = blobs
    settings = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=2, random_state=0)
    auto = MLPClassifier(**settings).fit(X, y)
    assert auto.learning_rate_init == "auto"  # get_params keeps what was given
    assert auto._optimizer.lr == rate
    explicit = MLPClassifier(**settings, learning_rate_init=rate).fit(X, y)
    for a, b in zip(_params(auto), _params(explicit), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("schedule", ["step", "cosine"])
def test_learning_rate_schedules(blobs, schedule):
    X, y = blobs
    clf = MLPClassifier(hidden_layer_sizes=(8,), learning_rate=schedule, learning_rate_init=1e-3,
                        max_iter=9, tol=0.0, random_state=0).fit(X, y)
    lr = clf._optimizer.lr
    assert lr < clf.learning_rate_init


def test_regressor_fits_one_and_several_outputs():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=200,
                       random_state=0).fit(X, y)
    assert reg.predict(X).shape == (200,) and reg.score(X, y) > 0.9
    Y = np.column_stack([y, -y])
    reg2 = MLPRegressor(hidden_layer_sizes=(32,), max_iter=20, random_state=0).fit(X, Y)
    assert reg2.predict(X).shape == (200, 2) and reg2.n_outputs_ == 2
    es = MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=5,
                      random_state=0).fit(X, y)
    assert len(es.validation_scores_) == es.n_iter_  # R^2 per epoch


def test_pipeline_grid_search_clone_and_pickle(blobs):
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), MLPClassifier(learning_rate_init=0.05, max_iter=20,
                                                          random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(4,), (8,)],
                                 "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    assert search.best_score_ > 0.8
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    fresh = clone(clf)
    assert not hasattr(fresh, "coefs_") and fresh.get_params() == clf.get_params()
