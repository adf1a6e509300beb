"""Adam: momentum on the gradient and on its square, with bias correction."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..backend import Array, array_namespace
from ..nn.module import Parameter
from .optimizer import OPTIMIZERS, Optimizer, check_number, flush_subnormals


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba, 2015), at step t = 1, 2, ...::

        m = b1 * m + (1 - b1) * dw
        v = b2 * v + (1 - b2) * dw**2
        w -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)

    ``m``, ``v`` and ``w`` are flushed to zero below the dtype's smallest normal number
    (``flush_subnormals``).

    Args:
        lr: learning rate (default 1e-3).
        betas: (b1, b2), each in [0, 1).
        eps: added to the root of the second moment, > 0.
        weight_decay, fused: see ``Optimizer``.
    """

    default_lr = 1e-3
    state_keys = ("exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Parameter], lr: float | None = None,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, fused: bool | None = None) -> None:
        super().__init__(params, lr, weight_decay, fused)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (check_number("betas[0]", betas[0], 0.0, 1.0),
                      check_number("betas[1]", betas[1], 0.0, 1.0))
        self.eps = check_number("eps", eps, 0.0, math.inf, lo_open=True)

    def update(self, w: Array, dw: Array, state: dict[str, Array]) -> None:
        xp = array_namespace(w)
        b1, b2 = self.betas
        t = self.steps
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1  # m = b1 * m + (1 - b1) * dw, in place
        m += (1.0 - b1) * dw
        v *= b2  # v = b2 * v + (1 - b2) * dw**2, in place
        v += (1.0 - b2) * (dw * dw)
        flush_subnormals(m)
        flush_subnormals(v)
        m_hat = m / (1.0 - b1 ** t)
        v_hat = v / (1.0 - b2 ** t)
        w -= self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)
        flush_subnormals(w)

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "betas": list(self.betas), "eps": self.eps}
