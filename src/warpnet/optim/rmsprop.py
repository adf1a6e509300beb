"""RMSProp: each weight's step divided by a running root mean square of its gradient."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..backend import Array, array_namespace
from ..nn.module import Parameter
from .optimizer import OPTIMIZERS, Optimizer, check_number, flush_subnormals


@OPTIMIZERS.register("rmsprop")
class RMSProp(Optimizer):
    """RMSProp: ``s = decay * s + (1 - decay) * dw**2;  w -= lr * dw / (sqrt(s) + eps)``.

    ``s`` and ``w`` are flushed to zero below the dtype's smallest normal number
    (``flush_subnormals``): with an L2 penalty, the weights of an input that is almost always zero
    shrink geometrically under this rule, into subnormal floats, which slow the matrix products.

    Args:
        lr: learning rate (default 1e-3).
        decay: the running average's factor in [0, 1).
        eps: added to the root mean square, > 0.
        weight_decay, fused: see ``Optimizer``.
    """

    default_lr = 1e-3
    state_keys = ("square_avg",)

    def __init__(self, params: Iterable[Parameter], lr: float | None = None, decay: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, fused: bool | None = None) -> None:
        super().__init__(params, lr, weight_decay, fused)
        self.decay = check_number("decay", decay, 0.0, 1.0)
        self.eps = check_number("eps", eps, 0.0, math.inf, lo_open=True)

    def update(self, w: Array, dw: Array, state: dict[str, Array]) -> None:
        xp = array_namespace(w)
        s = state["square_avg"]
        s *= self.decay  # s = decay * s + (1 - decay) * dw**2, in place
        s += (1.0 - self.decay) * (dw * dw)
        flush_subnormals(s)
        w -= self.lr * dw / (xp.sqrt(s) + self.eps)
        flush_subnormals(w)

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "decay": self.decay, "eps": self.eps}
