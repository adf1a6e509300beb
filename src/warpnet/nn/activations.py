"""Elementwise activations, each with its derivative right beside it.

Every ``forward`` keeps what its ``backward`` needs (the input or the output) and ``backward``
returns ``dout * f'(x)``.  Formulas are arranged so that no ``exp`` can overflow.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..backend import Array, array_namespace
from ..registry import Registry
from .module import Module, check_float_input

ACTIVATIONS: Registry[type[Module]] = Registry("activation")


class _Elementwise(Module):
    """Shared bookkeeping: remember one array in forward, refuse backward before forward."""

    _saved: Array | None = None

    def _save(self, x: Array) -> None:
        self._saved = x

    def _cached(self) -> Array:
        if self._saved is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        return self._saved

    def _reset_buffers(self) -> None:
        self._saved = None


@ACTIVATIONS.register("relu")
class ReLU(_Elementwise):
    """``max(0, x)``; derivative 1 where the output is positive, else 0."""

    def __init__(self) -> None:
        self._mask: Array | None = None

    def forward(self, x: Array, out: Array | None = None) -> Array:
        check_float_input(self, x)
        y = backend.relu(x, out=out)
        self._save(y)
        return y

    def backward(self, dout: Array, out: Array | None = None, need_dx: bool = True) -> Array | None:
        y = self._cached()
        if not need_dx:
            return None
        if self._mask is None or self._mask.shape != y.shape:
            self._mask = y > 0  # a reusable boolean buffer of the right shape
        return backend.relu_backward(dout, y, self._mask, out=out)

    def _reset_buffers(self) -> None:
        self._saved = self._mask = None


@ACTIVATIONS.register("leaky_relu")
class LeakyReLU(_Elementwise):
    """``x`` for x > 0, ``negative_slope * x`` otherwise (0.2 by default, as in the lecture)."""

    def __init__(self, negative_slope: float = 0.2) -> None:
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)) \
                or not 0.0 <= negative_slope < 1.0:
            raise ValueError(f"negative_slope must be in [0, 1), got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, x: Array, out: Array | None = None) -> Array:
        check_float_input(self, x)
        xp = array_namespace(x)
        self._save(x)
        return xp.where(x > 0, x, x * self.negative_slope)

    def backward(self, dout: Array, out: Array | None = None, need_dx: bool = True) -> Array | None:
        x = self._cached()
        if not need_dx:
            return None
        xp = array_namespace(dout)
        return xp.where(x > 0, dout, dout * self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {"type": "LeakyReLU", "negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


def _sigmoid(x: Array) -> Array:
    """Logistic function without overflow: uses exp(-|x|) <= 1 on both sides of zero."""
    xp = array_namespace(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@ACTIVATIONS.register("sigmoid")
class Sigmoid(_Elementwise):
    """``1 / (1 + exp(-x))``; derivative ``s * (1 - s)`` from the saved output."""

    def forward(self, x: Array, out: Array | None = None) -> Array:
        check_float_input(self, x)
        s = _sigmoid(x)
        self._save(s)
        return s

    def backward(self, dout: Array, out: Array | None = None, need_dx: bool = True) -> Array | None:
        s = self._cached()
        return dout * (s * (1.0 - s)) if need_dx else None


@ACTIVATIONS.register("tanh")
class Tanh(_Elementwise):
    """``tanh(x)``; derivative ``1 - y**2`` from the saved output."""

    def forward(self, x: Array, out: Array | None = None) -> Array:
        check_float_input(self, x)
        y = array_namespace(x).tanh(x)
        self._save(y)
        return y

    def backward(self, dout: Array, out: Array | None = None, need_dx: bool = True) -> Array | None:
        y = self._cached()
        return dout * (1.0 - y * y) if need_dx else None


@ACTIVATIONS.register("softplus")
class Softplus(_Elementwise):
    """``log(1 + exp(x))`` computed as ``max(x, 0) + log1p(exp(-|x|))``; derivative sigmoid(x)."""

    def forward(self, x: Array, out: Array | None = None) -> Array:
        check_float_input(self, x)
        xp = array_namespace(x)
        self._save(x)
        return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, dout: Array, out: Array | None = None, need_dx: bool = True) -> Array | None:
        x = self._cached()
        return dout * _sigmoid(x) if need_dx else None


@ACTIVATIONS.register("elu")
class ELU(_Elementwise):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise; derivative 1 or ``y + alpha``."""

    def __init__(self, alpha: float = 1.0) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"ELU alpha must be a positive number, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, x: Array, out: Array | None = None) -> Array:
        check_float_input(self, x)
        xp = array_namespace(x)
        # expm1 of min(x, 0): the branch not taken can never overflow.
        y = xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, xp.zeros_like(x))))
        self._save(y)
        return y

    def backward(self, dout: Array, out: Array | None = None, need_dx: bool = True) -> Array | None:
        y = self._cached()
        if not need_dx:
            return None
        xp = array_namespace(dout)
        return xp.where(y > 0, dout, dout * (y + self.alpha))

    def get_config(self) -> dict[str, Any]:
        return {"type": "ELU", "alpha": self.alpha}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


def activation(name: str, **kwargs: Any) -> Module:
    """A fresh activation module from its registered name, e.g. ``activation("leaky_relu")``."""
    return ACTIVATIONS.get(name)(**kwargs)
