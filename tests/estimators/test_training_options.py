"""MLPClassifier's clip_norm, ema_decay and augment/image_shape parameters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from warpnet.errors import UsageError
from warpnet.estimators import MLPClassifier

ONE_STEP = dict(hidden_layer_sizes=(6,), solver="sgd", momentum=0.0, learning_rate_init=0.5,
                max_iter=1, alpha=0.0, random_state=0)


def _blobs(n: int = 40):
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    return rng.normal(size=(n, 4)) + 2.0 * y[:, None], y


def _initial_weights(clf: MLPClassifier, X, y) -> list[np.ndarray]:
    """The weights ``fit`` starts from (the same seed builds the same network)."""
    net = clf._new_network([X.shape[1], *clf.hidden_layer_sizes, 2], clf.activation, 0.0,
                           np.random.default_rng(clf.random_state), "float64")
    return [p.value.copy() for p in net.parameters()]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_clip_norm_bounds_the_step():
    X, y = _blobs()
    clf = MLPClassifier(**ONE_STEP, batch_size=len(X), clip_norm=1e-3).fit(X, y)  # one update
    w0 = _initial_weights(clf, X, y)
    moved = np.sqrt(sum(np.sum((p.value - w) ** 2) for p, w in
                        zip(clf.network_.parameters(), w0, strict=True)))
    assert 0 < moved <= 0.5 * 1e-3 * (1 + 1e-6)  # lr * max_norm
    free = MLPClassifier(**ONE_STEP, batch_size=len(X)).fit(X, y)
    assert not np.allclose(free.coefs_[0], clf.coefs_[0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_ema_decay_leaves_the_average_in_the_model():
    X, y = _blobs()
    plain = MLPClassifier(**ONE_STEP, batch_size=len(X)).fit(X, y)  # w1 after one update
    averaged = MLPClassifier(**ONE_STEP, batch_size=len(X), ema_decay=0.75).fit(X, y)
    w0 = _initial_weights(plain, X, y)
    for p, q, w in zip(averaged.network_.parameters(), plain.network_.parameters(), w0, strict=True):
        np.testing.assert_allclose(p.value, 0.75 * w + 0.25 * q.value, rtol=1e-12, atol=1e-14)
    same = MLPClassifier(**ONE_STEP, batch_size=len(X), ema_decay=0.0).fit(X, y)
    np.testing.assert_array_equal(same.coefs_[0], plain.coefs_[0])


def _mirror_task(n: int = 200):
    """4x4 one-channel images; the class is which half (left or right) is bright."""
    rng = np.random.default_rng(1)
    y = np.arange(n) % 2
    bright = rng.uniform(0.5, 1.5, size=(n, 1, 1))  # the same brightnesses in both classes
    img = np.zeros((n, 4, 4))
    img[:, :, :2] = np.where(y[:, None, None] == 0, bright, 0.0)
    img[:, :, 2:] = np.where(y[:, None, None] == 1, bright, 0.0)
    return img.reshape(n, 16), y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_flips_hide_a_left_right_difference():
    X, y = _mirror_task()
    kw = dict(hidden_layer_sizes=(16,), max_iter=30, random_state=0, learning_rate_init=1e-2)
    plain = MLPClassifier(**kw).fit(X, y)
    assert plain.score(X, y) == 1.0 and plain.loss_ < 0.2
    flipped = MLPClassifier(**kw, augment="flip", image_shape=(4, 4)).fit(X, y)
    assert flipped.loss_ > 0.6  # near log 2: a mirrored image is as likely in either class
    again = MLPClassifier(**kw, augment="flip", image_shape=(4, 4)).fit(X, y)
    np.testing.assert_array_equal(flipped.coefs_[0], again.coefs_[0])  # drawn from random_state
    c = clone(flipped)
    assert (c.augment, c.image_shape) == ("flip", (4, 4))


@pytest.mark.parametrize("kwargs, match", [
    (dict(clip_norm=0.0), "'clip_norm'"),
    (dict(clip_norm=float("inf")), "'clip_norm'"),
    (dict(ema_decay=1.0), "'ema_decay'"),
    (dict(ema_decay=-0.1), "'ema_decay'"),
    (dict(augment="rotate", image_shape=(4, 4)), "'augment'"),
    (dict(augment=3, image_shape=(4, 4)), "'augment'"),
    (dict(augment="flip", image_shape=(4, 0)), "'image_shape'"),
    (dict(augment="flip", image_shape=(2, 2, 2, 2)), "'image_shape'"),
    (dict(augment="flip"), "image_shape"),
    (dict(augment="flip", image_shape=(3, 5)), "image_shape"),
    (dict(image_shape=(3, 5)), r"image_shape \(3, 5\) holds 15 values per image, but X has 16"),
])
def test_bad_values_name_the_parameter(kwargs, match):
    X, y = _mirror_task(20)
    clf = MLPClassifier(max_iter=1, **kwargs)
    with pytest.raises(UsageError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "network_")
