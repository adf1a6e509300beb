"""``Function``: a layer written as its forward alone, in ``Tensor`` operations, that behaves as an
``nn.Module``; its backward is the recorded graph run in reverse.

    class Square(autograd.Function, register=True):
        def __init__(self, features: int):
            self.scale = nn.Parameter(np.ones(features))

        def forward(self, x):          # x: Tensor (N, features)
            return x * x * self.scale  # a Parameter enters an expression as a leaf tensor

``Square(3).forward(array)`` returns an array and keeps the graph; ``backward(dout)`` adds the
parameters' gradients into their ``.grad`` and returns ``dx``, so ``nn.gradcheck``, ``Sequential``
and the ``Trainer`` take it as any layer.  Called with a ``Tensor``, ``forward`` returns a
``Tensor``: the layer then becomes part of a larger expression.

``register=True`` adds the class to ``nn.LAYERS`` under its name, so model files that contain it
can be loaded (``nn.build``); ``get_config`` records the arguments the layer was built with.
"""

from __future__ import annotations

import functools
import inspect
import json
from typing import Any

from ..backend import Array
from ..nn.module import Module, check_float_input
from .tensor import Tensor

__all__ = ["Function"]


class Function(Module):
    """Base class of layers defined by ``forward(self, x: Tensor) -> Tensor`` alone.

    Subclasses write ``__init__`` (creating ``nn.Parameter`` attributes as any layer does) and
    ``forward`` with ``Tensor`` operations.  A ``Parameter`` can be used directly next to a
    tensor (``x @ self.weight``); alone, wrap it: ``Tensor(self.weight)``.

    As a module:
        forward(x): x an array (N, ...) of floats -> the output array; the graph is kept for
            ``backward``.
        backward(dout): dout of the output's shape -> dx of x's shape; adds into ``.grad`` of
            the parameters.

    Class keyword:
        register: add the class to ``warpnet.nn.LAYERS`` under its name, so ``nn.build`` and
            model files can rebuild it (a name can be registered once).

    Raises:
        TypeError: ``forward`` gets a non-floating array or returns something else than a Tensor.
        RuntimeError: ``backward`` is called without a ``forward`` before it.
        ValueError: ``dout`` does not have the output's shape.
    """

    _x: Tensor | None = None
    _out: Tensor | None = None

    def __init_subclass__(cls, register: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:
            cls.forward = _array_forward(cls.__dict__["forward"])  # type: ignore[method-assign]
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording_init(cls.__dict__["__init__"])  # type: ignore[method-assign]
        if register:
            from ..nn import LAYERS

            LAYERS.register(cls.__name__)(cls)

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        x, y = self._x, self._out
        if x is None or y is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        if tuple(dout.shape) != y.shape:
            raise ValueError(f"{self!r}: dout must have shape {y.shape}, got {tuple(dout.shape)}")
        self._x = self._out = None  # the graph is freed by this backward
        x.requires_grad = need_dx  # without dx, the products that only feed it are skipped
        if y.requires_grad:
            y.backward(dout)
        if not need_dx:
            return None
        if x.grad is None:  # the output does not depend on x
            return x.value * 0
        return x.grad

    def get_config(self) -> dict[str, Any]:
        """``{"type": class name, **arguments of __init__}``; arguments that are not JSON values
        (a random generator) are left out, and the rebuilt layer takes their defaults."""
        args = self.__dict__.get("_init_args", {})
        return {"type": type(self).__name__, **{k: v for k, v in args.items() if _is_json(v)}}

    def _reset_buffers(self) -> None:
        self._x = self._out = None


def _array_forward(expression: Any) -> Any:
    """The module's ``forward`` around the user's Tensor ``expression``."""

    @functools.wraps(expression)
    def forward(self: Function, x: Any) -> Any:
        if isinstance(x, Tensor):  # inside a larger expression: a tensor in, a tensor out
            return _checked(self, expression(self, x))
        check_float_input(self, x)
        leaf = Tensor(x, requires_grad=True, name="x")
        result = _checked(self, expression(self, leaf))
        self._x, self._out = leaf, result
        return result.value

    return forward


def _checked(layer: Function, result: Any) -> Tensor:
    if not isinstance(result, Tensor):
        raise TypeError(f"{layer!r}: forward must return a Tensor, got {type(result).__name__}")
    return result


def _recording_init(init: Any) -> Any:
    """``__init__`` that also records its arguments for ``get_config`` (the outermost call wins,
    so a subclass's arguments are the ones kept)."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self: Function, *args: Any, **kwargs: Any) -> None:
        if "_init_args" not in self.__dict__:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            recorded: dict[str, Any] = {}
            for name, value in list(bound.arguments.items())[1:]:
                kind = signature.parameters[name].kind
                if kind is inspect.Parameter.VAR_KEYWORD:
                    recorded.update(value)
                elif kind is not inspect.Parameter.VAR_POSITIONAL:
                    recorded[name] = value
            self.__dict__["_init_args"] = recorded
        init(self, *args, **kwargs)

    return __init__


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
