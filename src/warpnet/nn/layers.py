"""Layers with parameters or randomness: ``Linear`` and ``Dropout``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..backend import Array, array_namespace
from . import init as initializers
from .module import Module, Parameter, check_float_input

_FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64}


def _check_size(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_dtype(dtype: Any) -> str:
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _FLOAT_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(_FLOAT_DTYPES)}, got {dtype!r}")
    return name


class Linear(Module):
    """Affine map ``y = x @ W + b``.

    Args:
        in_features, out_features: sizes D and M.
        bias: learn the offset b.
        init: initializer name ("he", "xavier", "normal", "zeros") or a callable
            ``(fan_in, fan_out, rng) -> ndarray``.
        rng: seed or ``numpy.random.Generator`` for the initial weights.
        dtype: "float32" (default) or "float64".

    Shape:
        x: (N, D) -> y: (N, M).  ``weight.value`` is (D, M) as in the lecture's ``x.dot(w1)``;
        ``bias.value`` is (M,).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str | initializers.Initializer = "he",
                 rng: int | np.random.Generator | None = None, dtype: Any = "float32") -> None:
        self.in_features = _check_size("in_features", in_features)
        self.out_features = _check_size("out_features", out_features)
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        self.dtype = _check_dtype(dtype)
        draw = initializers.resolve(init)
        weight = draw(self.in_features, self.out_features, backend.as_generator(rng))
        self.weight = Parameter(np.ascontiguousarray(weight, dtype=_FLOAT_DTYPES[self.dtype]))
        self.bias = (Parameter(np.zeros(self.out_features, _FLOAT_DTYPES[self.dtype]),
                               regularize=False) if bias else None)
        self._x: Array | None = None

    def forward(self, x: Array) -> Array:
        check_float_input(self, x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self!r} expects input of shape (N, {self.in_features}), "
                             f"got {tuple(x.shape)}")
        self._x = x  # backward needs the input
        y = x @ self.weight.value  # (N, M)
        if self.bias is not None:
            y += self.bias.value  # in place: y is a new array, no second (N, M) copy
        return y

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        x = self._x
        if x is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        if tuple(dout.shape) != (x.shape[0], self.out_features):
            raise ValueError(f"{self!r}: dout must have shape {(x.shape[0], self.out_features)}, "
                             f"got {tuple(dout.shape)}")
        self.weight.accumulate(x.T @ dout)  # weight.grad += x^T dout: (D, M)
        if self.bias is not None:
            self.bias.accumulate(array_namespace(dout).sum(dout, axis=0))  # bias.grad += sum(dout): (M,)
        if not need_dx:
            return None
        return dout @ self.weight.value.T  # dx = dout W^T: (N, D)

    def get_config(self) -> dict[str, Any]:
        return {"type": "Linear", "in_features": self.in_features,
                "out_features": self.out_features, "bias": self.bias is not None,
                "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Linear:
        args = {k: v for k, v in config.items() if k != "type"}
        return cls(init="zeros", **args)

    def _reset_buffers(self) -> None:
        self._x = None

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}" + ("" if self.bias else ", bias=False")


class Dropout(Module):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the rest by
    ``1 / (1 - p)`` so the expected activation is unchanged; in eval mode, the identity.

    Args:
        p: probability of dropping a unit, in [0, 1).
        rng: seed or generator for the masks (drawn in NumPy, then moved to the input's device).
    """

    def __init__(self, p: float = 0.5, rng: int | np.random.Generator | None = None) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ValueError(f"dropout p must be a probability in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = backend.as_generator(rng)
        self._mask: Array | None = None
        self._ready = False

    def forward(self, x: Array) -> Array:
        check_float_input(self, x)
        self._ready = True
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        xp = array_namespace(x)
        keep = self.rng.random(tuple(x.shape), dtype=np.float32) >= self.p
        mask = (keep / (1.0 - self.p)).astype(np.float64 if x.dtype == xp.float64 else np.float32)
        self._mask = mask if backend.is_numpy_array(x) else xp.asarray(mask, device=backend.device(x))
        return x * self._mask

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        if not self._ready:
            raise RuntimeError(f"{self!r}: backward called before forward")
        if not need_dx:
            return None
        return dout if self._mask is None else dout * self._mask

    def get_config(self) -> dict[str, Any]:
        return {"type": "Dropout", "p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"
