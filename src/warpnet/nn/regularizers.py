"""Weight penalties ``reg * sum_k R(W_k)`` over the weights (not the biases), as in the lecture:
R = L2 (sum of squares, gradient ``2 * reg * W``) or L1 (sum of absolute values, gradient
``reg * sign(W)``).  Calling a penalty on a list of parameters returns its value and adds its
gradient into each weight's ``.grad``.  L2 adds it lazily: reading ``.grad`` includes it, and an
optimizer step uses it inside its own pass over the weights without writing it into ``.grad``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .. import backend
from ..backend import Array, array_namespace
from ..registry import Registry
from .module import Parameter

PENALTIES: Registry[type[Penalty]] = Registry("penalty")


class Penalty:
    """Base of the weight penalties: ``strength * sum_k R(W_k)`` over the regularized parameters.

    Raises:
        ValueError: ``strength`` is not a finite number >= 0.
    """

    def __init__(self, strength: float) -> None:
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) \
                or not math.isfinite(strength) or strength < 0:
            raise ValueError(f"regularization strength must be a finite number >= 0, got {strength!r}")
        self.strength = float(strength)

    def __call__(self, params: Iterable[Parameter]) -> float:
        """Value of the penalty; adds its gradient into ``.grad`` of each regularized parameter."""
        params = list(params)
        self.add_gradient(params)
        return self.value(params)

    def value(self, params: Iterable[Parameter]) -> float:
        """``strength * sum_k R(W_k)`` over the regularized parameters."""
        if self.strength == 0.0:
            return 0.0
        return sum(self.strength * float(self._r(p.value)) for p in params if p.regularize)

    def add_gradient(self, params: Iterable[Parameter]) -> None:
        """Add ``strength * dR/dW`` into ``.grad`` of each regularized parameter."""
        if self.strength == 0.0:
            return
        for p in params:
            if p.regularize:
                self._add_gradient(p)

    def _r(self, w: Array) -> Array:
        raise NotImplementedError

    def _add_gradient(self, p: Parameter) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.strength})"


@PENALTIES.register("l2")
class L2(Penalty):
    """``strength * sum(W**2)``; gradient ``2 * strength * W``.

    An optimizer step reads every weight, so it can also sum their squares on the way
    (``Optimizer.step(sum_squares=True)``): the ``Trainer`` takes this penalty's value from there
    instead of paying a pass over the weights for it.
    """

    def value_from_squares(self, params: Iterable[Parameter], squares: Iterable[float]) -> float:
        """The value from ``sum(W**2)`` of each parameter, already summed (``squares``, in
        ``params`` order, as ``Optimizer.step(sum_squares=True)`` returns them)."""
        return self.strength * sum(s for p, s in zip(params, squares, strict=True) if p.regularize)

    def _r(self, w: Array) -> Array:
        return backend.sum_of_squares(w)

    def _add_gradient(self, p: Parameter) -> None:
        # Added lazily: an optimizer step folds it into its own pass.
        p.add_decay(2.0 * self.strength)


@PENALTIES.register("l1")
class L1(Penalty):
    """``strength * sum(|W|)``; gradient ``strength * sign(W)`` (0 at W = 0)."""

    def _r(self, w: Array) -> Array:
        xp = array_namespace(w)
        return xp.sum(xp.abs(w))

    def _add_gradient(self, p: Parameter) -> None:
        p.accumulate_scaled(self.strength, array_namespace(p.value).sign(p.value))


def penalty(name: str, strength: float, **kwargs: Any) -> Penalty:
    """A penalty from its registered name ("l2" or "l1")."""
    return PENALTIES.get(name)(strength, **kwargs)
