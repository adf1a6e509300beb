"""scikit-learn compatible estimators on warpnet's engine: ``LinearClassifier``,
``MLPClassifier``, ``MLPRegressor`` and ``WiredClassifier`` (a randomly wired network); they work
in ``Pipeline``, ``GridSearchCV``, ``cross_val_score``; their ``network_`` exports to PyTorch
with ``warpnet.io.to_torch``; and ``LateFusion``, a weighted average of the class scores of
separately trained classifiers.
"""

from ._classifier import LinearClassifier, MLPClassifier
from ._fusion import LateFusion
from ._regressor import MLPRegressor
from ._wired import WiredClassifier

__all__ = ["LateFusion", "LinearClassifier", "MLPClassifier", "MLPRegressor", "WiredClassifier"]
