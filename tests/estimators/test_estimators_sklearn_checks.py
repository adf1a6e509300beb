"""scikit-learn's own estimator checks, with no expected failures."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from warpnet import LinearClassifier, MLPClassifier, MLPRegressor
from warpnet.estimators import LateFusion

ESTIMATORS = [
    LinearClassifier(),
    LinearClassifier(loss="svm"),
    LinearClassifier(loss="svm", multi_class="ovr"),
    LateFusion([("softmax", LinearClassifier(random_state=0)),
                ("ovr", LinearClassifier(loss="svm", multi_class="ovr", random_state=0))],
               random_state=0),
    MLPClassifier(),
    MLPClassifier(clip_norm=5.0, ema_decay=0.5),
    MLPRegressor(),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
