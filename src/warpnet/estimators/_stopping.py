"""The stopping rule of scikit-learn's MLP, as a trainer callback.

After every epoch: if the training loss is not finite, stop with an error naming the epoch (the
estimator then keeps its previous state, never a network full of NaN).  Otherwise count the epochs
without improvement, as scikit-learn's ``_update_no_improvement_count`` does:

- without early stopping, an epoch "improves" when the training loss drops below the best so far
  by more than ``tol``;
- with early stopping, when the validation score (accuracy or R^2) rises above the best by more
  than ``tol``; the weights of the best-scoring epoch are kept and restored at the end.

Training stops once more than ``n_iter_no_change`` epochs in a row did not improve.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..nn import Module


class NoImprovementStop:
    """Callback with ``on_epoch_end(trainer, record)``; its lists become the estimator's curves.

    Args:
        network: the network being trained (snapshots of its parameters are taken from it).
        tol, n_iter_no_change: the rule above.
        first_epoch: number of epochs already run before this fit (for messages).
        validate: ``None``, or a function returning ``(validation loss, validation score)``
            for the current weights; when given, the rule follows the validation score.
        check_stop: apply the rule (False for ``partial_fit``, which runs one epoch by request).
        best_loss, best_score, no_improvement: state carried over from earlier calls.
    """

    def __init__(self, network: Module, *, tol: float, n_iter_no_change: int, first_epoch: int,
                 validate: Callable[[], tuple[float, float]] | None, check_stop: bool,
                 best_loss: float, best_score: float, no_improvement: int) -> None:
        self.network = network
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.epoch = first_epoch
        self.validate = validate
        self.check_stop = check_stop
        self.best_loss = best_loss
        self.best_score = best_score
        self.no_improvement = no_improvement
        self.loss_curve: list[float] = []
        self.validation_scores: list[float] = []
        self.validation_loss_curve: list[float] = []
        self.best_state: dict[str, np.ndarray] | None = None
        self.converged = False

    def on_epoch_end(self, trainer: Any, record: dict[str, Any]) -> None:
        self.epoch += 1
        loss = float(record["loss"])
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"training diverged at epoch {self.epoch}: the loss is {loss}; lower "
                f"learning_rate_init, standardize the features or raise alpha")
        self.loss_curve.append(loss)
        improved_loss = loss < self.best_loss - self.tol
        self.best_loss = min(self.best_loss, loss)
        if self.validate is None:
            improved = improved_loss
        else:
            val_loss, score = self.validate()
            self.validation_loss_curve.append(val_loss)
            self.validation_scores.append(score)
            improved = score > self.best_score + self.tol
            if score > self.best_score:
                self.best_score = score
                self.best_state = {name: np.array(value, copy=True)
                                   for name, value in self.network.state_dict().items()}
        self.no_improvement = 0 if improved else self.no_improvement + 1
        if self.check_stop and self.no_improvement > self.n_iter_no_change:
            self.converged = True
            trainer.stop_training = True

    def restore_best(self) -> None:
        """Load the best-scoring weights (early stopping) into the network."""
        if self.best_state is not None:
            self.network.load_state_dict(self.best_state)
