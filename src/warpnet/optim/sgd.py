"""Stochastic gradient descent, with the lecture's momentum and Nesterov's look-ahead."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..backend import Array
from ..nn.module import Parameter
from .optimizer import OPTIMIZERS, Optimizer, check_number


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    Plain: ``w -= lr * dw``.  Momentum (the lecture's update): ``v = rho * v + dw;
    w -= lr * v``.  Nesterov: ``v = rho * v + dw; w -= lr * (dw + rho * v)``.

    Args:
        lr: learning rate (default 0.05).
        momentum: rho in [0, 1).
        nesterov: use the Nesterov look-ahead (needs momentum > 0).
        weight_decay, fused: see ``Optimizer``.
    """

    default_lr = 0.05
    takes_momentum = True
    default_momentum = 0.9

    def __init__(self, params: Iterable[Parameter], lr: float | None = None, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, fused: bool | None = None) -> None:
        super().__init__(params, lr, weight_decay, fused)
        self.momentum = check_number("momentum", momentum, 0.0, 1.0)
        if not isinstance(nesterov, bool):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        if nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = nesterov

    @property
    def state_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("velocity",) if self.momentum else ()

    def update(self, w: Array, dw: Array, state: dict[str, Array]) -> None:
        if not self.momentum:
            w -= self.lr * dw
            return
        rho, v = self.momentum, state["velocity"]
        v *= rho  # v = rho * v + dw, in place
        v += dw
        if self.nesterov:
            w -= self.lr * (dw + rho * v)
        else:
            w -= self.lr * v

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "momentum": self.momentum, "nesterov": self.nesterov}
