"""One training step, and the one door to the compiled step.

The plain step is the lecture's loop, one line per stage::

    zero_grad -> scores = model.forward(x) -> loss, dscores = loss_fn(scores, y)
    -> model.backward(dscores, need_dx=False) -> penalty(params) -> optimizer.step()

``make_step(model, loss, optimizer, penalty)`` returns the compiled step of ``warpnet._fast`` where
it applies (a ``Sequential`` of known layers on NumPy, as ``torch.compile`` beside eager mode) and
this plain step otherwise.  Both have the same interface and give the same numbers.
"""

from __future__ import annotations

from typing import Any, Protocol

from .. import nn
from ..backend import Array
from ..optim import Optimizer

__all__ = ["Step", "TrainingStep", "make_step"]


class TrainingStep(Protocol):
    """What ``make_step`` returns."""

    scores: Array | None

    def gradients(self, x: Array, y: Array, sample_weight: Array | None = None) -> tuple[Array, Array]:
        ...

    def update(self) -> float:
        ...

    def __call__(self, x: Array, y: Array, sample_weight: Array | None = None) -> float:
        ...


class Step:
    """The plain training step (any module, any array namespace).

    Args:
        model: a ``warpnet.nn.Module``.
        loss: a ``warpnet.nn.Loss``.
        optimizer: an ``Optimizer`` on the model's parameters.
        penalty: a ``warpnet.nn.Penalty`` on the model's parameters (its gradient goes into
            ``.grad`` before the update), or None.
    """

    compiled = False

    def __init__(self, model: nn.Module, loss: nn.Loss, optimizer: Optimizer,
                 penalty: nn.Penalty | None = None) -> None:
        self.model, self.loss, self.optimizer, self.penalty = model, loss, optimizer, penalty
        self.params = model.parameters()
        self.scores: Array | None = None  # the last forward's scores (also when the loss raised)
        self._penalty_value = 0.0

    def gradients(self, x: Array, y: Array, sample_weight: Array | None = None) -> tuple[Array, Array]:
        """Forward, loss and backward for the batch ``(x, y)``, then the penalty's gradient: each
        ``.grad`` holds the batch's gradient.  Returns ``(data loss, scores)``; the scores (N, C)
        are also kept in ``self.scores``.

        Raises:
            TypeError / ValueError: from the layers and the loss (bad shapes, dtypes, labels,
                non-finite scores).
        """
        for p in self.params:
            p.zero_grad()
        self.scores = None
        scores = self.scores = self.model.forward(x)  # (N, C)
        loss, dscores = self.loss(scores, y, sample_weight=sample_weight)
        self.model.backward(dscores, need_dx=False)  # nothing needs dL/dx
        self._penalty_value = 0.0 if self.penalty is None else self.penalty(self.params)
        return loss, scores

    def update(self) -> float:
        """The optimizer's step; returns the penalty's value for the weights before it (0.0
        without a penalty)."""
        self.optimizer.step()
        return self._penalty_value

    def __call__(self, x: Array, y: Array, sample_weight: Array | None = None) -> float:
        """``gradients`` then ``update``: the step's loss (data loss + penalty) as a float."""
        loss, _ = self.gradients(x, y, sample_weight)
        return float(loss) + self.update()


def make_step(model: nn.Module, loss: nn.Loss | str, optimizer: Optimizer,
              penalty: nn.Penalty | None = None, *, compiled: bool = True) -> TrainingStep:
    """A training step for ``model``: ``step(x, y)`` runs forward, loss, backward and the update
    and returns the loss (data loss + penalty) as a float.

    Args:
        model, optimizer, penalty: as ``Step``.
        loss: a ``warpnet.nn.Loss`` or a registered loss name.
        compiled: try the compiled step of ``warpnet._fast`` first (False: always the plain step).

    Returns:
        ``warpnet._fast.step.CompiledStep`` for a ``Sequential`` of ``Linear``, ``Dropout`` and
        warpnet's activations with NumPy parameters, a loss, optimizer and penalty of warpnet's
        own (``warpnet._fast.graph.GraphStep`` for a ``Graph`` of any modules with the same);
        otherwise ``Step``.  ``step.compiled`` tells which.

    Raises:
        TypeError: an argument of the wrong kind (named in the message).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a warpnet.nn.Module, got {type(model).__name__}")
    if isinstance(loss, str):
        loss = nn.loss(loss)
    if not isinstance(loss, nn.Loss):
        raise TypeError(f"loss must be a warpnet.nn.Loss or a name, got {type(loss).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a warpnet.optim.Optimizer, got {type(optimizer).__name__}")
    if penalty is not None and not isinstance(penalty, nn.Penalty):
        raise TypeError(f"penalty must be a warpnet.nn.Penalty or None, got {type(penalty).__name__}")
    if compiled:
        fast: TrainingStep | None
        if isinstance(model, nn.Graph):  # a DAG of modules (a randomly wired net)
            from .._fast.graph import compile_graph_step

            fast = compile_graph_step(model, loss, optimizer, penalty)
        else:
            from .._fast.step import compile_step

            fast = compile_step(model, loss, optimizer, penalty)
        if fast is not None:
            return fast
    return Step(model, loss, optimizer, penalty)


def minibatches(x: Array, y: Array, w: Array | None, order: Any, batch_size: int,
                buffers: dict[Any, Any] | None = None) -> Any:
    """The minibatches of an epoch: rows ``order[b * B:(b + 1) * B]`` of x, y and w (a context
    manager, ``.get(b)`` -> ``(xb, yb, wb)``; see ``warpnet._fast.batches.Batches``: on NumPy,
    gathered into reused ``buffers``, a few at once on BLAS's threads where it lends them or one
    batch ahead on a helper thread otherwise; ``xp.take`` elsewhere)."""
    from .._fast import blas
    from .._fast.batches import Batches

    # Timing only: the batches, and so the results, are the same either way.  Prefetching on a
    # thread pays when the step leaves a core idle; with BLAS's threads spinning between
    # products it gained nothing or slowed the step (epoch of benchmarks/engine.py: 124-128 ms
    # without, 135-143 ms with).
    threaded = blas.available()
    return Batches(x, y, w, order, batch_size, parallel=threaded, prefetch=not threaded,
                   buffers=buffers)
