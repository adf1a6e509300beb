"""``MLPRegressor``: a network trained with the mean squared error."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import Tags

from .. import nn
from ._base import COMMON_ATTRIBUTES, COMMON_PARAMETERS, BaseNetworkEstimator, hidden_sizes
from ._params import Interval, LayerSizes, NoneValue, Options


class MLPRegressor(RegressorMixin, BaseNetworkEstimator):
    __doc__ = f"""A multi-layer perceptron regressor on warpnet's engine, scikit-learn compatible.

    ``Linear -> activation [-> Dropout] -> ... -> Linear`` trained on the mean squared error
    (``warpnet.nn.MSE``; scikit-learn's MLP minimizes half of it, which only rescales the
    learning rate of "sgd").  One or several outputs.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int or int, default=(100,)
    activation : str, default="relu"
        One of ``warpnet.nn.ACTIVATIONS``.
    solver : default="adam"
    learning_rate_init : default=1e-3
    dropout : float in [0, 1), default=0
    normalization : {{None, "batch", "layer"}}, default=None
        A ``BatchNorm1d`` or ``LayerNorm`` between each hidden ``Linear`` and its activation.
{COMMON_PARAMETERS}
    Attributes
    ----------
    n_outputs_ : int
{COMMON_ATTRIBUTES}"""

    _parameter_constraints = {
        **BaseNetworkEstimator._parameter_constraints,
        "hidden_layer_sizes": [LayerSizes()],
        "activation": [Options(lambda: nn.ACTIVATIONS.names())],
        "dropout": [Interval(float, 0.0, 1.0, "left")],
        "normalization": [NoneValue(), Options(lambda: list(nn.NORMS))],
    }

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 alpha: float = 1e-4, penalty: str = "l2", solver: str = "adam",
                 learning_rate: str = "constant", learning_rate_init: float = 1e-3,
                 momentum: float = 0.9, nesterov: bool = True, batch_size: Any = "auto",
                 max_iter: int = 200, tol: float = 1e-4, n_iter_no_change: int = 10,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 dropout: float = 0.0, warm_start: bool = False, random_state: Any = None,
                 verbose: Any = False, dtype: str | None = None,
                 device: str = "cpu", normalization: str | None = None) -> None:
        self.normalization = normalization
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.penalty = penalty
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterov = nesterov
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.dropout = dropout
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.device = device

    def _architecture(self) -> tuple[list[int], str, float]:
        return hidden_sizes(self.hidden_layer_sizes), self.activation, float(self.dropout)

    def _loss_fn(self) -> nn.Loss:
        return nn.MSE()

    def _multi_output_targets(self) -> bool:
        return True

    def _numeric_targets(self) -> bool:
        return True

    def _prepare_targets(self, y: np.ndarray, dtype: np.dtype, classes: Any, continuing: bool
                         ) -> tuple[np.ndarray, int, dict[str, Any]]:
        y = np.asarray(y, dtype=dtype)
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y  # (N, K)
        if continuing and y2.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y2.shape[1]} outputs, but the model predicts "
                             f"{self.n_outputs_}")
        return y2, y2.shape[1], {"n_outputs_": y2.shape[1]}

    def _validation_score(self, scores: np.ndarray, y: np.ndarray,
                          sample_weight: np.ndarray | None) -> float:
        return float(r2_score(y, scores, sample_weight=sample_weight))

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Train from scratch (or from the current weights with ``warm_start=True``).

        Args:
            X: (n_samples, n_features) real numbers; float32 keeps the model in float32.
            y: (n_samples,) or (n_samples, n_outputs) real targets.
            sample_weight: (n_samples,) non-negative weights, not all zero.

        Returns:
            self.

        Raises:
            ValueError: invalid data (NaN/inf, wrong shapes, ...); ``warpnet.errors.UsageError``
                for an invalid hyper-parameter.
            FloatingPointError: training diverged (the message names the epoch).
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over (X, y), continuing from the current weights and optimizer state."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (N,) for one output, (N, n_outputs) otherwise, in the model's dtype."""
        scores = self._scores(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.allow_nan = False
        return tags


__all__ = ["MLPRegressor"]
