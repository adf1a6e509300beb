"""`Parameter` and `Module`: the contract every layer follows.

A module's ``forward(x)`` computes its output and keeps exactly what ``backward`` needs;
``backward(dout)`` adds the gradients of its parameters into ``Parameter.grad`` and returns the
gradient with respect to its input.  There is no global tape: the chain rule is applied by hand,
one module at a time, as in the lecture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import backend
from ..backend import Array, array_namespace


class Parameter:
    """A learnable array and the gradient of the loss with respect to it.

    Attributes:
        value: the array (NumPy, PyTorch, CuPy or any array-API array).
        grad: an array of the same shape, namespace and device; ``backward`` adds into it
            (``p.accumulate(x.T @ dout)``, that is ``p.grad += x.T @ dout``) and ``zero_grad``
            clears it.
        regularize: whether weight penalties (L2/L1) apply; True for weights, False for biases.
    """

    def __init__(self, value: Array, *, regularize: bool = True) -> None:
        xp = array_namespace(value)
        self.value = value
        self._grad = xp.zeros_like(value)
        self.regularize = regularize
        # ``zero_grad`` only marks the gradient as zero; it is cleared when it is next read, so a
        # step that never reads it (a frozen layer) never pays for clearing it.
        self._zero_pending = False

    @property
    def grad(self) -> Array:
        """The gradient array (same shape, namespace and device as ``value``)."""
        if self._zero_pending:
            self._grad[...] = 0
            self._zero_pending = False
        return self._grad

    @grad.setter
    def grad(self, value: Array) -> None:
        self._grad = value
        self._zero_pending = False

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    def zero_grad(self) -> None:
        """Set the gradient to zero (when it is next read)."""
        self._zero_pending = True

    def accumulate(self, g: Array) -> None:
        """``grad += g``: how ``backward`` adds a gradient in.

        Right after ``zero_grad`` the sum is ``g`` itself, so ``g`` becomes the gradient, as in
        PyTorch's autograd: no pass clearing the old array and none adding into it (on a
        3072 x 1024 weight those two passes cost about as much as a tenth of its product).
        ``g`` must be a new array that nothing else keeps, such as the result of ``x.T @ dout``;
        one of another shape or dtype (broadcast or cast by ``+=``) is added in.
        """
        if (self._zero_pending and type(g) is type(self._grad) and g.dtype == self._grad.dtype
                and tuple(g.shape) == tuple(self._grad.shape)):
            self.grad = g
        else:
            self.grad += g

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.value.dtype})"


class Module:
    """Base class of layers and containers.

    Subclasses implement ``forward(x)`` and ``backward(dout, need_dx=True)``.  ``need_dx=False``
    lets the first layer of a network skip the gradient with respect to the data (it returns
    None).
    """

    training: bool = True
    # Names of array attributes that are state but not learned (e.g. BatchNorm's running
    # statistics): saved and loaded with the parameters, moved by ``to``, never optimized.
    buffer_names: tuple[str, ...] = ()

    def forward(self, x: Array) -> Array:
        raise NotImplementedError

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        raise NotImplementedError

    def __call__(self, x: Array) -> Array:
        return self.forward(x)

    # -- structure ------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs, e.g. ``("0.weight", ...)``, in a stable order."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Array]]:
        """``(name, array)`` pairs of the non-learned state arrays (``buffer_names``), depth first."""
        for name in self.buffer_names:
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, depth first."""
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Switch training mode (dropout active) on or off for this module and its children."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    # -- saving -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Array]:
        """Parameter values and buffers by name (the arrays themselves, not copies)."""
        return {**{name: p.value for name, p in self.named_parameters()}, **dict(self.named_buffers())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy values into the parameters in place; names, shapes must match exactly."""
        own: dict[str, Any] = dict(self.named_parameters())
        own.update({name: _Buffer(array) for name, array in self.named_buffers()})
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(
                f"state does not fit the model: missing {missing or 'none'}, "
                f"unexpected {unexpected or 'none'}"
            )
        for name, p in own.items():
            xp = array_namespace(p.value)
            value = state[name]
            if not _same_namespace(value, p.value):
                value = xp.asarray(backend.to_numpy(value), device=backend.device(p.value))
            if tuple(value.shape) != p.shape:
                raise ValueError(f"parameter {name!r} has shape {p.shape}, but the state holds "
                                 f"shape {tuple(value.shape)}")
            p.value[...] = xp.astype(value, p.value.dtype)
            p.zero_grad()

    def get_config(self) -> dict[str, Any]:
        """A JSON-able description from which ``warpnet.nn.build`` rebuilds the architecture."""
        return {"type": type(self).__name__}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Module:
        args = {k: v for k, v in config.items() if k != "type"}
        return cls(**args)

    def to(self, xp: Any, device: Any = None) -> Module:
        """Move every parameter to namespace ``xp`` (e.g. ``torch``) and ``device``, in place."""
        for _, p in self.named_parameters():
            host = backend.to_numpy(p.value)
            p.value = xp.asarray(host, device=device) if device is not None else xp.asarray(host)
            p.grad = array_namespace(p.value).zeros_like(p.value)
        for m in self.modules():
            for name in m.buffer_names:
                host = backend.to_numpy(getattr(m, name))
                setattr(m, name, xp.asarray(host, device=device) if device is not None else xp.asarray(host))
            m._reset_buffers()
        return self

    def _reset_buffers(self) -> None:
        """Forget cached arrays (after a move to another namespace or device)."""

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def _repr_html_(self) -> str:
        """A table of layers and parameter counts for Jupyter (``warpnet._display``)."""
        from .._display import module_html

        return module_html(self)


class _Buffer:
    """A buffer seen as a parameter by ``load_state_dict`` (its value is written in place)."""

    def __init__(self, value: Array) -> None:
        self.value = value

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    def zero_grad(self) -> None:
        pass


def _same_namespace(a: Any, b: Any) -> bool:
    try:
        return array_namespace(a) is array_namespace(b)
    except TypeError:
        return False


def check_float_input(layer: Module, x: Array) -> None:
    """Raise TypeError unless ``x`` is a floating-point array (the message names the layer)."""
    if type(x) is np.ndarray and x.dtype.kind == "f":  # the common case, answered at once
        return
    try:
        xp = array_namespace(x)
    except TypeError:
        raise TypeError(f"{layer!r} expects an array, got {type(x).__name__}") from None
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(f"{layer!r} expects a floating-point array, got dtype {x.dtype}")

