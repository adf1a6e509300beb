"""Evaluation: the model's scores over a split in eval mode, chunk by chunk, and the mean loss and
accuracy they give."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend, nn
from ..backend import Array, array_namespace

__all__ = ["Data", "forward_chunks", "evaluate", "count_correct"]

# Rows per forward pass in evaluate/predict_scores: large enough for fast matrix products, small
# enough that CIFAR-sized inputs do not need an (N, hidden) array at once.
_EVAL_BATCH = 2048


@dataclass
class Data:
    """Validated arrays of one split, in the model's namespace and dtype."""

    x: Array
    y: Array
    w: Array | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])


def forward_chunks(model: nn.Module, x: Array) -> Iterator[tuple[Array, int, int]]:
    """Yield ``(scores, start, stop)`` over ``x`` in eval mode (the mode is restored after)."""
    was_training = model.training
    model.eval()
    try:
        for start in range(0, int(x.shape[0]), _EVAL_BATCH):
            stop = min(int(x.shape[0]), start + _EVAL_BATCH)
            yield model.forward(x[start:stop]), start, stop
    finally:
        model.train(was_training)


def count_correct(scores: Array, y: Array) -> Any:
    """How many rows of ``scores`` (N, C) have their maximum at the label ``y`` (an int, or a 0-d
    array off NumPy)."""
    if backend.is_numpy_array(scores):
        return int(np.count_nonzero(np.argmax(scores, axis=1) == y))
    xp = array_namespace(scores)
    return xp.sum(xp.astype(xp.argmax(scores, axis=1) == y, xp.int64))


def evaluate(model: nn.Module, loss_fn: nn.Loss, data: Data) -> tuple[float, float | None]:
    """Mean data loss over ``data`` and the accuracy (None for a regression loss), in eval mode."""
    loss_sum, correct = 0.0, 0
    for scores, start, stop in forward_chunks(model, data.x):
        yb = data.y[start:stop]
        loss, _ = loss_fn(scores, yb)
        loss_sum += float(loss) * (stop - start)
        if not loss_fn.regression:
            correct += int(count_correct(scores, yb))
    N = len(data)
    return loss_sum / N, None if loss_fn.regression else correct / N
