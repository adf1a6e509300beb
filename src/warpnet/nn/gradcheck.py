"""Numerical gradient checking by centred differences, in float64.

``gradcheck`` compares the analytic gradients that warpnet computes by hand with
``(f(x + h) - f(x - h)) / 2h`` for every entry and returns the largest relative error,
``max |analytic - numeric| / max(max |analytic|, max |numeric|)`` taken over each gradient array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..backend import Array, array_namespace
from .module import Module, Parameter
from .regularizers import Penalty


def _rel_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(float(np.max(np.abs(analytic), initial=0.0)),
                float(np.max(np.abs(numeric), initial=0.0)))
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(analytic - numeric))) / scale


def _numeric(f: Callable[[], float], arr: Array, h: float) -> np.ndarray:
    """d f / d arr by centred differences, perturbing ``arr`` in place and restoring it."""
    grad = np.zeros(tuple(arr.shape))
    for idx in np.ndindex(*arr.shape):
        old = float(arr[idx])
        arr[idx] = old + h
        plus = f()
        arr[idx] = old - h
        minus = f()
        arr[idx] = old
        grad[idx] = (plus - minus) / (2 * h)
    return grad


def _require_float64(name: str, arr: Array) -> None:
    if arr.dtype != array_namespace(arr).float64:
        raise ValueError(f"gradcheck works in float64; {name} has dtype {arr.dtype} "
                         "(build the layer with dtype='float64')")


def _check_module(module: Module, x: Array, h: float, rng: np.random.Generator,
                  per_array: bool) -> float | dict[str, float]:
    xp = array_namespace(x)
    _require_float64("x", x)
    for name, p in module.named_parameters():
        _require_float64(name, p.value)
    # Modules that draw random numbers (dropout) must see the same draws in every evaluation.
    generators = [g for g in (getattr(m, "rng", None) for m in module.modules())
                  if isinstance(g, np.random.Generator)]
    states = [g.bit_generator.state for g in generators]

    def restore() -> None:
        for g, s in zip(generators, states, strict=True):
            g.bit_generator.state = s

    restore()
    out = module.forward(x)
    dout = xp.asarray(rng.standard_normal(tuple(out.shape)), device=backend.device(x))
    module.zero_grad()
    dx = module.backward(dout)

    def f() -> float:
        restore()
        return float(xp.sum(module.forward(x) * dout))

    errors = {"x": _rel_error(backend.to_numpy(dx), _numeric(f, x, h))}
    for name, p in module.named_parameters():
        errors[name] = _rel_error(backend.to_numpy(p.grad), _numeric(f, p.value, h))
    return errors if per_array else max(errors.values())


def _check_penalty(penalty: Penalty, x: Array, h: float) -> float:
    _require_float64("x", x)
    p = Parameter(x)
    penalty([p])
    analytic = backend.to_numpy(p.grad)

    def f() -> float:
        return penalty([Parameter(x)])

    return _rel_error(analytic, _numeric(f, x, h))


def gradcheck(target: Module | Penalty | Callable[..., tuple[Any, Array]], x: Array, *args: Any,
              h: float = 1e-5, rng: int | np.random.Generator | None = 0,
              per_array: bool = False) -> float | dict[str, float]:
    """Largest relative error between analytic and numerical gradients.

    Args:
        target: a ``Module`` (checks the input gradient and every parameter's gradient of
            ``sum(forward(x) * dout)`` for a random ``dout``), a penalty (its gradient with respect
            to a weight array ``x``), or a function ``f(x, *args) -> (value, grad_x)`` such as a loss:
            ``gradcheck(SoftmaxCrossEntropy(), scores, y)``.
        x: float64 input array; it is perturbed in place during the check and restored.
        h: finite-difference step.
        rng: seed for the random upstream gradient of a module.
        per_array: for a module, return ``{"x": err, "0.weight": err, ...}`` instead of the maximum.

    Raises:
        ValueError: if x or a parameter is not float64.
    """
    if not (isinstance(h, float) and h > 0):
        raise ValueError(f"h must be a positive float, got {h!r}")
    if isinstance(target, Module):
        return _check_module(target, x, h, backend.as_generator(rng), per_array)
    if isinstance(target, Penalty):
        return _check_penalty(target, x, h)
    if not callable(target):
        raise TypeError(f"target must be a Module, a penalty or a callable, got {type(target).__name__}")
    _require_float64("x", x)
    _, analytic = target(x, *args)
    analytic = backend.to_numpy(analytic)
    return _rel_error(analytic, _numeric(lambda: float(target(x, *args)[0]), x, h))
