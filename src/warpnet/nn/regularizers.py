"""Weight penalties ``reg * sum_k R(W_k)`` over the weights (not the biases), as in the lecture:
R = L2 (sum of squares, gradient ``2 * reg * W``) or L1 (sum of absolute values, gradient
``reg * sign(W)``).  Calling a penalty on a list of parameters returns its value and adds its
gradient into each weight's ``.grad``.  On NumPy arrays that call runs, by default, one compiled
loop per weight (``fused``, as the optimizers' update): the formula reads every weight three times
and builds a temporary the size of it, the loop reads it once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .. import backend
from ..backend import Array, array_namespace
from ..checks import check_fused
from ..registry import Registry
from .module import Parameter

PENALTIES: Registry[type[Penalty]] = Registry("penalty")


class Penalty:
    """Base of the weight penalties: ``strength * sum_k R(W_k)`` over the regularized parameters.

    Args:
        strength: ``reg``, a finite number >= 0.
        fused: how a call runs.  False: the formulas (``value`` and ``add_gradient``) on any
            array library.  None (default): on NumPy arrays, ``L2``'s and ``L1``'s compiled loop
            from ``warpnet._fast`` where numba is installed, else the formulas.  True: as None,
            but a call on parameters that are not NumPy arrays, or without numba, raises
            ValueError.  Both give the same numbers up to rounding.

    Raises:
        ValueError: ``strength`` is not a finite number >= 0; ``fused=True`` without numba.
        TypeError: ``fused`` is not None, True or False.
    """

    def __init__(self, strength: float, fused: bool | None = None) -> None:
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) \
                or not math.isfinite(strength) or strength < 0:
            raise ValueError(f"regularization strength must be a finite number >= 0, got {strength!r}")
        self.strength = float(strength)
        self.fused = check_fused(fused)

    def __call__(self, params: Iterable[Parameter]) -> float:
        """Value of the penalty; adds its gradient into ``.grad`` of each regularized parameter."""
        params = list(params)
        if self.strength == 0.0:
            return 0.0
        if self.fused is not False and backend.all_numpy(p.value for p in params):
            from .._fast.step import fused_penalty  # one compiled pass per weight

            value = fused_penalty(self, params)
            if value is not None:
                return value
        if self.fused:
            raise ValueError("fused=True needs parameters that are NumPy arrays, numba installed "
                             "(pip install 'warpnet[fast]') and L2 or L1; use fused=None or False")
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
    """``strength * sum(W**2)``; gradient ``2 * strength * W``."""

    def _r(self, w: Array) -> Array:
        xp = array_namespace(w)
        flat = xp.reshape(w, (-1,))
        return xp.vecdot(flat, flat)  # sum(w * w) as one dot product: no temporary the size of w

    def _add_gradient(self, p: Parameter) -> None:
        p.grad += 2.0 * self.strength * p.value


@PENALTIES.register("l1")
class L1(Penalty):
    """``strength * sum(|W|)``; gradient ``strength * sign(W)`` (0 at W = 0)."""

    def _r(self, w: Array) -> Array:
        xp = array_namespace(w)
        return xp.sum(xp.abs(w))

    def _add_gradient(self, p: Parameter) -> None:
        p.grad += self.strength * array_namespace(p.value).sign(p.value)


def penalty(name: str, strength: float, **kwargs: Any) -> Penalty:
    """A penalty from its registered name ("l2" or "l1")."""
    return PENALTIES.get(name)(strength, **kwargs)
