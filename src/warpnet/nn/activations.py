"""Elementwise activations, each with its derivative right beside it.

Every ``forward`` keeps what its ``backward`` needs (the input or the output) and ``backward``
returns ``dout * f'(x)``.  Formulas are arranged so that no ``exp`` can overflow.

An activation is one class registered in ``ACTIVATIONS``; everything else reads the class:
``mlp`` its initializer preference (``init``), ``warpnet.io.to_torch`` its PyTorch twin
(``torch_name``, ``torch_kwargs``, ``from_torch``), the model loader (``nn.LAYERS`` derives from
this registry), gradcheck and the PyTorch-oracle tests, the CLI, the playground and the figures
(its ``title``).  A class registered from outside the package works everywhere at once::

    @nn.ACTIVATIONS.register("square")
    class Square(nn.Activation):
        def forward(self, x): self._save(x); return x * x
        def backward(self, dout, need_dx=True): return 2 * self._cached() * dout if need_dx else None
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from array_api_compat import is_torch_array

from ..backend import Array, array_namespace, device, is_numpy_array, to_numpy
from ..registry import Registry
from .module import Module, check_float_input


class Activation(Module):
    """Base class of elementwise activations: remember one array in forward, refuse backward
    before forward.

    Class attributes read by the rest of warpnet:
        init: initializer of the ``Linear`` layer before it in ``mlp`` ("he" for ReLU-like
            functions, "xavier" for saturating ones).
        torch_name: the ``torch.nn`` class computing the same function (None: not exportable).
        title: a short label for figures and menus.
    """

    init = "he"
    torch_name: str | None = None
    title = ""

    _saved: Array | None = None

    def _save(self, x: Array) -> None:
        self._saved = x

    def _cached(self) -> Array:
        if self._saved is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        return self._saved

    def _reset_buffers(self) -> None:
        self._saved = None

    def get_config(self) -> dict[str, Any]:
        """``{"type": class name, **constructor arguments}`` (the arguments are attributes of the
        same names)."""
        return {"type": type(self).__name__,
                **{name: getattr(self, name) for name in _arguments(type(self))}}

    def torch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``torch.nn.<torch_name>`` for the same function."""
        return {k: v for k, v in self.get_config().items() if k != "type"}

    @classmethod
    def from_torch(cls, layer: Any) -> Activation:
        """This activation from an instance of its PyTorch twin (the same-named attributes)."""
        return cls(**{name: getattr(layer, name) for name in _arguments(cls)})

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "type")


def _arguments(cls: type[Any]) -> list[str]:
    """The named arguments of ``cls``'s constructor (none when it has no ``__init__`` of its own)."""
    if cls.__init__ is object.__init__:
        return []
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [name for name, p in list(inspect.signature(cls.__init__).parameters.items())[1:]
            if p.kind in kinds]


ACTIVATIONS: Registry[type[Activation]] = Registry("activation")


@ACTIVATIONS.register("relu")
class ReLU(Activation):
    """``max(0, x)``; derivative 1 where the output is positive, else 0."""

    torch_name, title = "ReLU", "ReLU"

    def forward(self, x: Array) -> Array:
        check_float_input(self, x)
        y = array_namespace(x).maximum(x, 0.0)
        self._save(y)
        return y

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        y = self._cached()
        if not need_dx:
            return None
        xp = array_namespace(dout)
        return dout * xp.astype(y > 0, dout.dtype)  # dout * (y > 0), the mask as 0.0 / 1.0


@ACTIVATIONS.register("leaky_relu")
class LeakyReLU(Activation):
    """``x`` for x > 0, ``negative_slope * x`` otherwise (0.2 by default, as in the lecture)."""

    torch_name, title = "LeakyReLU", "leaky ReLU"

    def __init__(self, negative_slope: float = 0.2) -> None:
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)) \
                or not 0.0 <= negative_slope < 1.0:
            raise ValueError(f"negative_slope must be in [0, 1), got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, x: Array) -> Array:
        check_float_input(self, x)
        self._save(x)
        return array_namespace(x).where(x > 0, x, x * self.negative_slope)

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        x = self._cached()
        if not need_dx:
            return None
        return array_namespace(dout).where(x > 0, dout, dout * self.negative_slope)


def _sigmoid(x: Array) -> Array:
    """Logistic function without overflow: uses exp(-|x|) <= 1 on both sides of zero."""
    xp = array_namespace(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@ACTIVATIONS.register("sigmoid")
class Sigmoid(Activation):
    """``1 / (1 + exp(-x))``; derivative ``s * (1 - s)`` from the saved output."""

    init, torch_name, title = "xavier", "Sigmoid", "sigmoid"

    def forward(self, x: Array) -> Array:
        check_float_input(self, x)
        s = _sigmoid(x)
        self._save(s)
        return s

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        s = self._cached()
        return dout * (s * (1.0 - s)) if need_dx else None


@ACTIVATIONS.register("tanh")
class Tanh(Activation):
    """``tanh(x)``; derivative ``1 - y**2`` from the saved output."""

    init, torch_name, title = "xavier", "Tanh", "tanh"

    def forward(self, x: Array) -> Array:
        check_float_input(self, x)
        y = array_namespace(x).tanh(x)
        self._save(y)
        return y

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        y = self._cached()
        return dout * (1.0 - y * y) if need_dx else None


# torch.nn.Softplus returns x itself above ``threshold`` (an approximation of log(1 + e^x) whose
# error is about e^-threshold).  At 40 the error, ~4e-18, is below float64 rounding of x, so the
# exported network matches the exact softplus here; exp(40) still fits float32.
_SOFTPLUS_THRESHOLD = 40.0


@ACTIVATIONS.register("softplus")
class Softplus(Activation):
    """``log(1 + exp(x))`` computed as ``max(x, 0) + log1p(exp(-|x|))``; derivative sigmoid(x)."""

    torch_name, title = "Softplus", "softplus"

    def forward(self, x: Array) -> Array:
        check_float_input(self, x)
        xp = array_namespace(x)
        self._save(x)
        return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        x = self._cached()
        return dout * _sigmoid(x) if need_dx else None

    def torch_kwargs(self) -> dict[str, Any]:
        return {"beta": 1.0, "threshold": _SOFTPLUS_THRESHOLD}

    @classmethod
    def from_torch(cls, layer: Any) -> Softplus:
        if float(layer.beta) != 1.0:
            raise ValueError(f"{layer!r}: warpnet's Softplus has beta = 1, got beta={layer.beta}")
        return cls()


@ACTIVATIONS.register("elu")
class ELU(Activation):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise; derivative 1 or ``y + alpha``."""

    torch_name, title = "ELU", "ELU"

    def __init__(self, alpha: float = 1.0) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"ELU alpha must be a positive number, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, x: Array) -> Array:
        check_float_input(self, x)
        xp = array_namespace(x)
        # expm1 of min(x, 0): the branch not taken can never overflow.
        y = xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0.0)))
        self._save(y)
        return y

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        y = self._cached()
        if not need_dx:
            return None
        return array_namespace(dout).where(y > 0, dout, dout * (y + self.alpha))


@ACTIVATIONS.register("gelu")
class GELU(Activation):
    """``x * Phi(x)``, Phi the standard normal CDF (Hendrycks & Gimpel, 2016), as PyTorch's
    ``GELU``: ``approximate="none"`` with ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``, or "tanh" with
    ``Phi(x) ~ (1 + tanh(u)) / 2``, ``u = sqrt(2 / pi) * (x + 0.044715 x**3)``.

    Derivative: ``Phi(x) + x * phi(x)`` (phi the normal density); for "tanh",
    ``(1 + t) / 2 + x / 2 * (1 - t**2) * du/dx`` with ``t = tanh(u)``.
    """

    torch_name, title = "GELU", "GELU"

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Array) -> Array:
        check_float_input(self, x)
        xp = array_namespace(x)
        self._save(x)
        if self.approximate == "tanh":
            u = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1.0 + xp.tanh(u))
        return x * _normal_cdf(x)

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        x = self._cached()
        if not need_dx:
            return None
        xp = array_namespace(x)
        if self.approximate == "tanh":
            c = math.sqrt(2.0 / math.pi)
            t = xp.tanh(c * (x + 0.044715 * x * x * x))
            return dout * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * x * x))
        density = xp.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
        return dout * (_normal_cdf(x) + x * density)


def _normal_cdf(x: Array) -> Array:
    """``(1 + erf(x / sqrt 2)) / 2`` elementwise, in ``x``'s namespace, dtype and device.

    ``erf`` is not in the array API standard: it comes from the namespace where it has one
    (PyTorch, CuPy) and from SciPy on the host otherwise (NumPy, array-api-strict)."""
    xp = array_namespace(x)
    z = x / math.sqrt(2.0)
    if is_torch_array(x):
        import torch

        return 0.5 * (1.0 + torch.special.erf(z))
    erf = getattr(xp, "erf", None)
    if erf is not None:
        return 0.5 * (1.0 + erf(z))
    from scipy.special import erf as host_erf

    if is_numpy_array(x):
        return 0.5 * (1.0 + host_erf(z))
    return 0.5 * (1.0 + xp.asarray(host_erf(to_numpy(z)), device=device(x)))


@ACTIVATIONS.register("silu")
class SiLU(Activation):
    """``x * sigmoid(x)`` (the swish of Ramachandran et al., 2017); derivative
    ``s * (1 + x * (1 - s))`` with ``s = sigmoid(x)``."""

    torch_name, title = "SiLU", "SiLU"

    def forward(self, x: Array) -> Array:
        check_float_input(self, x)
        self._save(x)
        return x * _sigmoid(x)

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        x = self._cached()
        if not need_dx:
            return None
        s = _sigmoid(x)
        return dout * (s * (1.0 + x * (1.0 - s)))


def activation(name: str, **kwargs: Any) -> Activation:
    """A fresh activation module from its registered name, e.g. ``activation("leaky_relu")``."""
    return ACTIVATIONS.get(name)(**kwargs)
