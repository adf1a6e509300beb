"""Bad data and bad hyper-parameters give clear errors, and no call modifies its inputs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from warpnet import LinearClassifier, MLPClassifier, MLPRegressor, nn, optim
from warpnet.errors import UsageError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [LinearClassifier, MLPClassifier, MLPRegressor]


def _data(n: int = 40, d: int = 3):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] > 0).astype(int)


def _small(cls, **kw):
    return cls(max_iter=2, random_state=0, **kw)


def _nan_at(X, value):
    X = X.copy()
    X[3, 1] = value
    return X


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("make_X, message", [
    (lambda X: _nan_at(X, np.nan), "NaN"),
    (lambda X: _nan_at(X, np.inf), "infinity"),
    (lambda X: X[:0], "0 sample"),
    (lambda X: X[:, :0], "0 feature"),
    (lambda X: X[:, 0], "Expected 2D array"),
    (lambda X: X[:, :, None], "dim 3"),
    (lambda X: X + 1j, "Complex data not supported"),
    (lambda X: X.astype(str).astype(object) + "x", "could not convert|string"),
])
def test_bad_X_at_fit(cls, make_X, message):
    X, y = _data()
    with pytest.raises(ValueError, match=message):
        _small(cls).fit(make_X(X), y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_bad_y_at_fit(cls):
    X, y = _data()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        _small(cls).fit(X, y[:-1])
    with pytest.raises(ValueError, match="requires y to be passed"):
        _small(cls).fit(X, None)
    y_nan = y.astype(float)
    y_nan[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _small(cls).fit(X, y_nan)
    y_inf = y.astype(float)
    y_inf[0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        _small(cls).fit(X, y_inf)


@pytest.mark.parametrize("cls", [LinearClassifier, MLPClassifier])
def test_classifier_targets(cls):
    X, y = _data()
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        _small(cls).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="at least 2 classes.*one class"):
        _small(cls).fit(X, np.zeros(len(X), int))
    with pytest.raises(ValueError, match="one class"):
        _small(cls).fit(X, y, sample_weight=(y == 1).astype(float))
    with pytest.raises(ValueError, match="multilabel|1d array"):
        _small(cls).fit(X, np.column_stack([y, 1 - y]))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_sample_weight_errors(cls):
    X, y = _data()
    with pytest.raises(ValueError, match="zero"):
        _small(cls).fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="(?i)negative"):
        _small(cls).fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="shape"):
        _small(cls).fit(X, y, sample_weight=np.ones(len(y) + 1))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_predict_before_fit_and_feature_count(cls):
    X, y = _data()
    est = _small(cls)
    with pytest.raises(NotFittedError):
        est.predict(X)
    est.fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but .* is expecting 3"):
        est.predict(X[:, :2])
    with pytest.raises(ValueError, match="X has 4 features"):
        est.partial_fit(np.hstack([X, X[:, :1]]), y)
    with pytest.raises(ValueError, match="Expected 2D array"):
        est.predict(X[0])
    with pytest.raises(ValueError, match="NaN"):
        est.predict(_nan_at(X, np.nan))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_no_input_array_is_modified(cls):
    X, y = _data()
    X32 = X.astype(np.float32)
    w = np.linspace(0.0, 2.0, len(y))
    copies = [a.copy() for a in (X, X32, y, w)]
    est = cls(max_iter=3, early_stopping=True, random_state=0).fit(X, y, sample_weight=w)
    est.predict(X)
    est.score(X, y, sample_weight=w)
    cls(max_iter=3, random_state=0).fit(X32, y).predict(X32)
    cls(random_state=0).partial_fit(X, y, sample_weight=w).partial_fit(X, y)
    for a, b in zip((X, X32, y, w), copies, strict=True):
        np.testing.assert_array_equal(a, b)


BAD_PARAMS = [
    ("alpha", -1.0, "[0.0, inf)"),
    ("alpha", float("nan"), "[0.0, inf)"),
    ("learning_rate_init", 0.0, "(0.0, inf)"),
    ("momentum", 1.0, "[0.0, 1.0)"),
    ("max_iter", 0, "an int in the range [1, inf)"),
    ("max_iter", 2.5, "an int in the range [1, inf)"),
    ("batch_size", 0, "'auto' or an int"),
    ("batch_size", "big", "'auto' or an int"),
    ("tol", -1e-3, "[0.0, inf)"),
    ("n_iter_no_change", 0, "[1, inf)"),
    ("validation_fraction", 1.0, "(0.0, 1.0)"),
    ("early_stopping", "yes", "True or False"),
    ("nesterov", 1, "True or False"),
    ("warm_start", None, "True or False"),
    ("random_state", -1, "None, an int in [0, 2**32)"),
    ("random_state", "seed", "None, an int in [0, 2**32)"),
    ("verbose", -1, "[0, inf)"),
    ("solver", "lbfgs", "one of " + ", ".join(repr(n) for n in optim.OPTIMIZERS.names())),
    ("penalty", "l3", "one of " + ", ".join(repr(n) for n in nn.PENALTIES.names())),
    ("learning_rate", "adaptive", "one of 'constant', "
     + ", ".join(repr(n) for n in optim.SCHEDULES.names())),
]


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("name, value, allowed", BAD_PARAMS)
def test_invalid_hyper_parameters_are_named_at_fit(cls, name, value, allowed):
    X, y = _data()
    est = cls(**{name: value})  # __init__ only stores
    with pytest.raises(UsageError) as info:
        est.fit(X, y)
    message = str(info.value)
    assert f"'{name}' parameter of {cls.__name__}" in message
    assert allowed in message
    assert f"got {value!r}" in message


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("name, value, allowed", [
    ("activation", "swish", ", ".join(repr(n) for n in nn.ACTIVATIONS.names())),
    ("hidden_layer_sizes", (10, 0), "a positive int or a tuple of positive ints"),
    ("hidden_layer_sizes", "100", "a positive int or a tuple of positive ints"),
    ("hidden_layer_sizes", 0, "a positive int or a tuple of positive ints"),
    ("dropout", 1.0, "[0.0, 1.0)"),
])
def test_network_hyper_parameters(cls, name, value, allowed):
    X, y = _data()
    with pytest.raises(UsageError, match=name) as info:
        cls(**{name: value}).fit(X, y)
    assert allowed in str(info.value)


def test_loss_lists_the_classification_losses():
    X, y = _data()
    with pytest.raises(UsageError, match="'loss' parameter .* one of 'softmax', 'svm'; got 'mse'"):
        MLPClassifier(loss="mse").fit(X, y)


def test_divergence_names_the_epoch_and_leaves_no_nan_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4)) * 100
    y = rng.normal(size=100) * 1e3
    wild = dict(solver="sgd", learning_rate_init=1.0, max_iter=50, random_state=0)
    est = MLPRegressor(**wild)
    with pytest.raises(FloatingPointError, match="epoch [0-9]+"):
        est.fit(X, y)
    assert not hasattr(est, "coefs_")  # nothing half-trained is published

    good = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X / 100, y / 1e3)
    before = [w.copy() for w in good.coefs_ + good.intercepts_]
    good.set_params(warm_start=True, **wild)
    with pytest.raises(FloatingPointError, match="epoch"):
        good.fit(X, y)
    for w, b in zip(good.coefs_ + good.intercepts_, before, strict=True):
        np.testing.assert_array_equal(w, b)
    assert np.all(np.isfinite(good.predict(X)))


def test_divergence_in_partial_fit_counts_every_epoch_so_far():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4)) * 100
    y = rng.normal(size=100) * 1e3
    est = MLPRegressor(solver="sgd", learning_rate_init=1.0, random_state=0)
    with pytest.raises(FloatingPointError) as info:
        for _ in range(50):
            est.partial_fit(X, y)
    assert est.n_iter_ >= 1  # some calls succeeded before the blow-up
    assert f"diverged in epoch {est.n_iter_ + 1} " in str(info.value)
    assert all(np.all(np.isfinite(w)) for w in est.coefs_ + est.intercepts_)


def test_a_failed_refit_leaves_the_fitted_estimator_as_it_was():
    X, y = _data()
    clf = _small(MLPClassifier).fit(X, y)
    state = dict(vars(clf))
    with pytest.raises(ValueError, match="one class"):
        clf.fit(np.hstack([X, X]), np.zeros(len(X), int))  # 6 features, then a target error
    assert vars(clf).keys() == state.keys()
    assert all(vars(clf)[k] is v for k, v in state.items())
    assert clf.predict(X).shape == (len(X),)
