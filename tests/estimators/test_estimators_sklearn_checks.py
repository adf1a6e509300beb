"""scikit-learn's own estimator checks, with no expected failures."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from warpnet import LinearClassifier, MLPClassifier, MLPRegressor

ESTIMATORS = [
    LinearClassifier(),
    LinearClassifier(loss="svm"),
    MLPClassifier(),
    MLPRegressor(),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
