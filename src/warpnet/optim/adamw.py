"""AdamW: Adam with decoupled weight decay."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..nn.module import Parameter
from .adam import Adam
from .optimizer import OPTIMIZERS, check_number


@OPTIMIZERS.register("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``::

        w -= lr * weight_decay * w          (only weights with ``regularize=True``)
        then Adam's update from the gradient alone (see ``Adam``)

    The decay shrinks the weights directly instead of entering the gradient, so Adam's
    per-coordinate scaling does not weaken it where gradients are large.  Biases and the scale
    and shift of normalisation layers (``Parameter.regularize`` False) are not decayed, which
    equals PyTorch with those in a parameter group of ``weight_decay=0``.

    Args:
        lr: learning rate (default 1e-3).
        betas, eps, fused: as ``Adam``.
        weight_decay: decoupled decay per step, relative to ``lr`` (default 0.01, PyTorch's), >= 0.
    """

    def __init__(self, params: Iterable[Parameter], lr: float | None = None,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, 0.0, fused)
        self.weight_decay = check_number("weight_decay", weight_decay, 0.0, math.inf)

    def _plain_step(self) -> None:
        """Decay every regularised weight by ``1 - lr * weight_decay``, then Adam's update."""
        shrink = 1.0 - self.lr * self.weight_decay
        for p, state in zip(self.params, self.state, strict=True):
            self.init_state(p, state)
            if self.weight_decay and p.regularize:
                p.value *= shrink
            self.update(p.value, p.grad, state)
