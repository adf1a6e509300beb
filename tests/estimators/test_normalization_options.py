"""MLPClassifier's normalization and label_smoothing parameters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from warpnet import nn
from warpnet.estimators import MLPClassifier


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_normalization_and_label_smoothing(norm):
    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16.0
    y = y[:600]
    clf = MLPClassifier((32,), normalization=norm, label_smoothing=0.1, solver="adamw",
                        max_iter=30, batch_size=64, random_state=0, learning_rate_init=1e-2)
    clf.fit(X[:500], y[:500])
    assert any(isinstance(m, nn.NORMS.get(norm)) for m in clf.network_.modules())
    assert clf.score(X[500:], y[500:]) > 0.85
    assert clf._loss_fn().label_smoothing == 0.1


def test_bad_values():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match="normalization"):
        MLPClassifier(normalization="group").fit(X, y)
    with pytest.raises(ValueError, match="label_smoothing"):
        MLPClassifier(label_smoothing=1.0).fit(X, y)
    with pytest.raises(ValueError, match="label_smoothing"):
        MLPClassifier(label_smoothing=0.1, loss="svm").fit(X, y)


def test_regressor_normalization():
    from warpnet.estimators import MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=300)
    reg = MLPRegressor((16,), normalization="layer", max_iter=60, random_state=0,
                       learning_rate_init=1e-2).fit(X, y)
    assert any(isinstance(m, nn.LayerNorm) for m in reg.network_.modules())
    assert reg.score(X, y) > 0.9
