"""Two training aids around the optimizer step: gradient clipping by global norm and an
exponential moving average (EMA) of the weights for evaluation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..backend import Array, array_namespace
from ..nn.module import Module, Parameter

__all__ = ["clip_grad_norm", "WeightEMA"]


def clip_grad_norm(params: Sequence[Parameter], max_norm: float) -> float:
    """Scale every gradient by ``min(1, max_norm / (total + 1e-6))`` where ``total`` is the norm
    of all gradients together, ``sqrt(sum_k ||grad_k||^2)`` (as ``torch.nn.utils.clip_grad_norm_``).

    Args:
        params: the parameters whose ``.grad`` is clipped in place.
        max_norm: the largest global norm, > 0.

    Returns:
        The global norm before clipping, as a float.

    Raises:
        ValueError: max_norm not a finite number > 0.
    """
    if (isinstance(max_norm, bool) or not isinstance(max_norm, (int, float))
            or not math.isfinite(max_norm) or max_norm <= 0):
        raise ValueError(f"max_norm must be a finite number > 0, got {max_norm!r}")
    total = math.sqrt(sum(float(array_namespace(p.grad).sum(p.grad * p.grad)) for p in params))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for p in params:
            p.grad *= scale
    return total


class WeightEMA:
    """An exponential moving average of a model's parameters, for evaluation::

        shadow = decay * shadow + (1 - decay) * w        after every optimizer step

    The shadow starts at the weights it is created with.  ``swap(model)`` exchanges the model's
    parameters with the shadow (call it again to swap back); buffers such as BatchNorm's running
    statistics are the model's own (they already are running averages).

    Args:
        model: the network whose parameters are averaged.
        decay: in [0, 1); 0.999 averages over roughly the last 1,000 steps.

    Raises:
        ValueError: decay outside [0, 1).
    """

    def __init__(self, model: Module, decay: float) -> None:
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay must be a number in [0, 1), got {decay!r}")
        self.decay = float(decay)
        self.names = [name for name, _ in model.named_parameters()]
        self.shadow: list[Array] = [array_namespace(p.value).asarray(p.value, copy=True)
                                    for p in model.parameters()]

    def update(self, params: Sequence[Parameter]) -> None:
        """Move the shadow towards the current weights (after an optimizer step)."""
        d = self.decay
        for s, p in zip(self.shadow, params, strict=True):
            s *= d
            s += (1.0 - d) * p.value

    def swap(self, model: Module) -> None:
        """Exchange the model's parameter values with the shadow, in place."""
        for s, p in zip(self.shadow, model.parameters(), strict=True):
            tmp = array_namespace(s).asarray(p.value, copy=True)
            p.value[...] = s
            s[...] = tmp

    def state(self) -> dict[str, np.ndarray]:
        """The shadow arrays by parameter name, on the host (for checkpoints)."""
        return {name: backend.to_numpy(s) for name, s in zip(self.names, self.shadow, strict=True)}

    def load(self, state: dict[str, Any]) -> None:
        """Copy saved shadow arrays back in (names and shapes must match)."""
        if sorted(state) != sorted(self.names):
            raise ValueError(f"EMA state holds {sorted(state)}, the model has {sorted(self.names)}")
        for name, s in zip(self.names, self.shadow, strict=True):
            value = np.asarray(backend.to_numpy(state[name]))
            if value.shape != tuple(s.shape):
                raise ValueError(f"EMA state {name!r} has shape {value.shape}, expected {tuple(s.shape)}")
            s[...] = array_namespace(s).asarray(value, device=backend.device(s))
