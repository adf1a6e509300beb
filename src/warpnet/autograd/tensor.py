"""``Tensor``: an array that records the operations made with it, and ``backward()`` that walks
them in reverse to give every input its gradient (reverse-mode automatic differentiation).

Each operation below is one short function: its forward computes the result's array, and the
``vjp`` written right beside it turns the gradient of the result (``g``) into the gradient of each
operand (the vector-Jacobian product), ``None`` for operands that need none.  ``backward`` only
orders the recorded nodes and adds these contributions up, without recursion, so a graph of any
depth works.

Arrays come from any array-API namespace (NumPy, PyTorch, CuPy, array-api-strict), as in the
engine; one expression must stay in one namespace and on one device.
"""

from __future__ import annotations

import itertools
import math
import numbers
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from array_api_compat import is_cupy_array, is_torch_array

from .. import backend
from ..backend import Array
from ..nn.module import Parameter

__all__ = ["Tensor", "maximum", "exp", "log", "tanh", "sigmoid"]

# Every tensor gets the next number when it is made.  An operation's result is made after its
# operands, so ordering tensors by this number orders every result after what it was computed from.
_serial = itertools.count()


# A vector-Jacobian product: gradient of the result -> gradient of each operand (None: not needed).
VJP = Callable[[Array], Sequence[Any]]


_NUMPY = backend.array_namespace(np.empty(0))


def _xp(value: Array) -> Any:
    """The array namespace of ``value`` (NumPy's answered at once: it is asked at every operation)."""
    return _NUMPY if type(value) is np.ndarray else backend.array_namespace(value)


def _is_float(xp: Any, value: Array) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    return bool(xp.isdtype(value.dtype, "real floating"))


class Tensor:
    """An array (``.value``) and, after ``backward()``, its gradient (``.grad``).

    Args:
        value: an array of any array-API namespace, a Python number or nested list (made a NumPy
            array), or a ``warpnet.nn.Parameter``: the tensor then wraps ``parameter.value`` (no
            copy), requires gradients, and ``backward`` also adds its gradient into
            ``parameter.grad``.
        requires_grad: record operations on this tensor and give it a gradient; only for
            floating-point arrays.
        name: a label for ``draw`` (e.g. ``"W1"``).

    Attributes:
        value: the array (never copied).
        grad: None until a ``backward()`` reaches this tensor, then an array of ``value``'s shape,
            dtype, namespace and device; later ``backward()`` calls add into it (set it to None to
            start again).  It may share memory with other tensors' gradients: read it, or replace
            it, but do not write into it.
        op: the operation that made the tensor (``"@"``, ``"exp"``, ...), None for a leaf.

    Raises:
        TypeError: ``value`` is not an array, or gradients are asked of a non-floating tensor.

    Operations take tensors, arrays, parameters and numbers, and raise ``TypeError`` when their
    operands mix array namespaces, ``RuntimeError`` when they mix devices, and ``ValueError`` when
    shapes do not fit; each message names the operation and the shapes.
    """

    __slots__ = ("value", "_grad", "op", "name", "_requires_grad", "_parents", "_vjp", "_views",
                 "_elementwise", "_param", "_freed", "_serial", "_pending", "_owned")
    # NumPy must hand ``array <op> tensor`` to the tensor's reflected operator, not loop over it.
    __array_ufunc__ = None

    def __init__(self, value: Any, requires_grad: bool = False, name: str | None = None) -> None:
        self._param: Parameter | None = None
        if isinstance(value, Parameter):
            self._param, value, requires_grad = value, value.value, True
        elif isinstance(value, Tensor):
            raise TypeError("Tensor(value) takes an array, got a Tensor (use tensor.detach() for a "
                            "copy that records nothing)")
        elif isinstance(value, (numbers.Number, list, tuple)):
            value = np.asarray(value)
        try:
            backend.array_namespace(value)
        except TypeError:
            raise TypeError(f"Tensor(value) takes an array, got {type(value).__name__}") from None
        self.value = value
        self._grad: Array | None = None
        self.op: str | None = None
        self.name = name
        self._parents: tuple[Tensor, ...] = ()
        self._vjp: VJP | None = None
        self._views = self._elementwise = False
        self._freed = False
        self._serial = next(_serial)
        self._pending: Array | None = None  # the gradient being summed up during backward
        self._owned = False
        self._requires_grad = False
        self.requires_grad = requires_grad

    # -- properties ------------------------------------------------------------------------------
    @property
    def grad(self) -> Array | None:
        """The gradient (see the class's notes)."""
        g = self._grad
        if g is not None and g.shape != self.value.shape:
            # Kept as a sum's gradient arrived (size 1 along the summed axes) until read.
            g = self._grad = _xp(g).broadcast_to(g, self.value.shape)
        return g

    @grad.setter
    def grad(self, value: Array | None) -> None:
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        """Whether ``backward`` computes a gradient for this tensor (settable on leaves)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"requires_grad must be True or False, got {flag!r}")
        if self._vjp is not None or self._parents:
            raise RuntimeError(f"requires_grad can only be set on a leaf, not on {self._describe()}")
        if flag and not _is_float(backend.array_namespace(self.value), self.value):
            raise TypeError(f"only floating-point tensors can require gradients, got "
                            f"{self._describe()} of dtype {self.value.dtype}")
        self._requires_grad = bool(flag)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def ndim(self) -> int:
        return len(self.value.shape)

    @property
    def dtype(self) -> Any:
        return self.value.dtype

    @property
    def is_leaf(self) -> bool:
        """True for a tensor made by the user rather than by an operation."""
        return self.op is None

    @property
    def parents(self) -> tuple[Tensor, ...]:
        """The operands this tensor was computed from (empty for a leaf)."""
        return self._parents

    def _describe(self) -> str:
        if self.op is None:
            label = f"leaf tensor {self.name!r}" if self.name else "leaf tensor"
            return f"{label} of shape {self.shape}"
        return f"tensor of shape {self.shape} made by {self.op!r}"

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        made = f", op={self.op!r}" if self.op else ""
        name = f", name={self.name!r}" if self.name else ""
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{made}{name}{grad})"

    def detach(self) -> Tensor:
        """The same array as a new leaf that records nothing (a constant in an expression)."""
        return _constant(self.value)

    # -- reverse mode ----------------------------------------------------------------------------
    def backward(self, grad: Any = None, *, retain_graph: bool = False) -> None:
        """Add the gradient of this tensor with respect to every tensor it was computed from into
        their ``.grad`` (and into ``.grad`` of the parameters behind ``Tensor(parameter)`` leaves).

        Args:
            grad: the seed ``dL/dself``: an array of this tensor's shape; may be left out only
                for a tensor with one element (a loss), where it is 1.
            retain_graph: keep what the operations saved, so that ``backward`` can run through
                this graph again; by default it is freed.

        Raises:
            RuntimeError: this tensor does not require gradients, it has more than one element and
                no ``grad`` was given, or the graph was freed by an earlier ``backward``.
            TypeError, ValueError: ``grad`` is not a floating array of this tensor's shape and
                namespace.
        """
        if not self._requires_grad:
            raise RuntimeError(f"backward() on {self._describe()}, which does not require "
                               "gradients (no input of it was created with requires_grad=True)")
        seed = self._seed(grad)
        order = _reverse_topological(self)
        for node in order:
            node._pending = None
        self._pending, self._owned = seed, False
        for node in order:
            g = node._pending
            if g is None:
                continue  # every path from here to the output was cut (e.g. a constant operand)
            node._pending = None
            if not node._elementwise and g.shape != node.value.shape:
                # A gradient spread lazily (a sum's: size 1 along the summed axes): elementwise
                # operations take it as it is (``2 * g * W`` scales one number), the others get
                # every entry, as a view (and ``.grad`` when it is read).
                g = _xp(g).broadcast_to(g, node.value.shape)
            node._grad = g if node._grad is None else node._grad + g  # never written into
            if node._param is not None:
                node._param.grad += g
            vjp = node._vjp
            if vjp is None:
                continue
            views = node._views
            for parent, contribution in zip(node._parents, vjp(g), strict=True):
                if contribution is not None and parent._requires_grad:
                    # Added in place only into an array this pass made and nobody else holds:
                    # not the incoming gradient itself, nor a view of it.
                    _add_contribution(parent, contribution, not views and contribution is not g)
            if not retain_graph:
                node._vjp, node._freed = None, True  # what the vjp saved can go now

    def _seed(self, grad: Any) -> Array:
        xp = backend.array_namespace(self.value)
        if grad is None:
            if math.prod(self.shape) != 1:
                raise RuntimeError(f"backward() on {self._describe()} needs a seed gradient "
                                   f"grad of shape {self.shape}: only a one-element tensor "
                                   "(a loss) has the implicit seed 1")
            return xp.ones_like(self.value)
        if isinstance(grad, Tensor):
            grad = grad.value
        try:
            gxp = backend.array_namespace(grad)
        except TypeError:
            raise TypeError(f"backward(grad) on {self._describe()}: grad must be an array, got "
                            f"{type(grad).__name__}") from None
        if gxp is not xp:
            raise TypeError(f"backward(grad) on {self._describe()}: grad is a "
                            f"{type(grad).__name__}, not of the tensor's array namespace")
        if backend.device(grad) != backend.device(self.value):
            raise RuntimeError(f"backward(grad) on {self._describe()}: grad is on "
                               f"{backend.device(grad)}, the tensor on {backend.device(self.value)}")
        if tuple(grad.shape) != self.shape:
            raise ValueError(f"backward(grad) on {self._describe()}: grad must have shape "
                             f"{self.shape}, got {tuple(grad.shape)}")
        if not _is_float(xp, grad):
            raise TypeError(f"backward(grad) on {self._describe()}: grad must be floating point, "
                            f"got dtype {grad.dtype}")
        return grad

    # -- arithmetic ------------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        a, b = _pair(self, other, "+")
        value = a.value + b.value
        out = tuple(value.shape)

        def vjp(g: Array) -> tuple[Array | None, Array | None]:
            return (_unbroadcast(g, a.shape, out) if a._requires_grad else None,
                    _unbroadcast(g, b.shape, out) if b._requires_grad else None)

        return _result("+", value, (a, b), vjp, elementwise=True)

    def __radd__(self, other: Any) -> Tensor:
        return _lift(other, self, "+") + self

    def __sub__(self, other: Any) -> Tensor:
        a, b = _pair(self, other, "-")
        value = a.value - b.value
        out = tuple(value.shape)

        def vjp(g: Array) -> tuple[Array | None, Array | None]:
            return (_unbroadcast(g, a.shape, out) if a._requires_grad else None,
                    _unbroadcast(-g, b.shape, out) if b._requires_grad else None)

        return _result("-", value, (a, b), vjp, elementwise=True)

    def __rsub__(self, other: Any) -> Tensor:
        return _lift(other, self, "-") - self

    def __neg__(self) -> Tensor:
        a = self
        return _result("neg", -a.value, (a,), lambda g: (-g,), elementwise=True)

    def __mul__(self, other: Any) -> Tensor:
        a, b = _pair(self, other, "*")
        value = a.value * b.value
        out = tuple(value.shape)

        def vjp(g: Array) -> tuple[Array | None, Array | None]:
            return (_unbroadcast(g * b.value, a.shape, out) if a._requires_grad else None,
                    _unbroadcast(g * a.value, b.shape, out) if b._requires_grad else None)

        return _result("*", value, (a, b), vjp, elementwise=True)

    def __rmul__(self, other: Any) -> Tensor:
        return _lift(other, self, "*") * self

    def __truediv__(self, other: Any) -> Tensor:
        a, b = _pair(self, other, "/")
        value = a.value / b.value
        out = tuple(value.shape)

        def vjp(g: Array) -> tuple[Array | None, Array | None]:
            # d(a/b)/db = -a / b**2
            return (_unbroadcast(g / b.value, a.shape, out) if a._requires_grad else None,
                    _unbroadcast(-g * a.value / (b.value * b.value), b.shape, out)
                    if b._requires_grad else None)

        return _result("/", value, (a, b), vjp, elementwise=True)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _lift(other, self, "/") / self

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
            raise TypeError(f"'**': the exponent must be a number, got {type(exponent).__name__} "
                            f"(raising {self._describe()})")
        a, p = self, float(exponent)

        def vjp(g: Array) -> tuple[Array]:
            # p * g first: a sum's gradient (one number, spread lazily) is scaled once, and the
            # full-size arrays are gone over once.
            if p == 0.0:  # x**0 is constant, even at x = 0 where p * x**(p-1) would be 0 * inf
                return ((g * 0.0) * a.value,)
            if p == 2.0:  # the common square: no power function
                return ((2.0 * g) * a.value,)
            return ((p * g) * a.value ** (p - 1.0),)

        value = a.value * a.value if p == 2.0 else a.value ** p
        return _result(f"**{exponent:g}", value, (a,), vjp, elementwise=True)

    def __matmul__(self, other: Any) -> Tensor:
        a, b = _pair(self, other, "@")
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"'@' needs operands with at least one axis, got shapes {a.shape} "
                             f"and {b.shape}")
        xp = _xp(a.value)
        # A vector is a one-row (left) or one-column (right) matrix; its axis is dropped after.
        A = a.value if a.ndim > 1 else xp.reshape(a.value, (1, -1))
        B = b.value if b.ndim > 1 else xp.reshape(b.value, (-1, 1))
        if A.shape[-1] != B.shape[-2]:
            raise ValueError(f"'@': shapes {a.shape} and {b.shape} do not match "
                             f"({A.shape[-1]} != {B.shape[-2]})")
        C = A @ B

        def vjp(g: Array) -> tuple[Array | None, Array | None]:
            G = xp.reshape(g, C.shape) if a.ndim == 1 or b.ndim == 1 else g
            dA = _unbroadcast(G @ _mT(xp, B), A.shape) if a._requires_grad else None
            dB = _unbroadcast(_mT(xp, A) @ G, B.shape) if b._requires_grad else None
            if a.ndim == 1 and dA is not None:
                dA = xp.reshape(dA, a.shape)
            if b.ndim == 1 and dB is not None:
                dB = xp.reshape(dB, b.shape)
            return dA, dB

        value = C
        if a.ndim == 1 or b.ndim == 1:
            shape = C.shape[:-2] + (C.shape[-2],) * (a.ndim > 1) + (C.shape[-1],) * (b.ndim > 1)
            value = xp.reshape(C, shape)
        return _result("@", value, (a, b), vjp)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _lift(other, self, "@") @ self

    # -- reductions ------------------------------------------------------------------------------
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes when None); the gradient is ``g`` spread back over them."""
        a, axes = self, _axes(self, axis, "sum")
        xp = _xp(a.value)

        def vjp(g: Array) -> tuple[Array]:
            # Spread over the summed axes lazily: size 1 there (see ``backward``).
            return (xp.reshape(g, _kept(a.shape, axes)),)

        value = _sum_numpy(a.value, axes, keepdims) if isinstance(a.value, np.ndarray) \
            else xp.sum(a.value, axis=axes, keepdims=keepdims)
        return _result(_reduce_label("sum", axis), value, (a,), vjp, views=True)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all axes when None); each entry gets ``g / n``."""
        a, axes = self, _axes(self, axis, "mean")
        xp = _xp(a.value)
        n = math.prod(a.shape[i] for i in axes)

        def vjp(g: Array) -> tuple[Array]:
            return (xp.reshape(g / n, _kept(a.shape, axes)),)  # spread lazily, as sum's

        # NumPy's mean is its sum divided by n, with Python's overhead of a general function.
        # (numpy's stub types keepdims only as a literal True or False, hence the ignore.)
        value = (np.add.reduce(a.value, axis=axes, keepdims=keepdims) / n  # type: ignore[call-overload]
                 if isinstance(a.value, np.ndarray) else xp.mean(a.value, axis=axes, keepdims=keepdims))
        return _result(_reduce_label("mean", axis), value, (a,), vjp)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis``; the gradient goes to the maximal entries, shared equally between
        ties (as ``torch.amax``)."""
        a, axes = self, _axes(self, axis, "max")
        xp = _xp(a.value)
        if any(a.shape[i] == 0 for i in axes):
            raise ValueError(f"max of {a._describe()} over an empty axis")
        top = np.maximum.reduce(a.value, axis=axes, keepdims=True) if isinstance(a.value, np.ndarray) \
            else xp.max(a.value, axis=axes, keepdims=True)

        def vjp(g: Array) -> tuple[Array]:
            mask = xp.astype(a.value == top, a.value.dtype)
            count = xp.sum(mask, axis=axes, keepdims=True)
            return (mask * (xp.reshape(g, top.shape) / count),)

        value = top if keepdims else xp.reshape(top, tuple(n for i, n in enumerate(a.shape)
                                                           if i not in axes))
        return _result(_reduce_label("max", axis), value, (a,), vjp)

    # -- shape -----------------------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same entries in a new shape (``t.reshape(2, 3)`` or ``t.reshape((2, 3))``)."""
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = tuple(shape[0])  # type: ignore[arg-type]
        a = self
        xp = _xp(a.value)
        try:
            value = xp.reshape(a.value, tuple(int(n) for n in shape))  # type: ignore[arg-type]
        except (ValueError, RuntimeError, TypeError) as err:
            raise ValueError(f"cannot reshape {a._describe()} to {shape}: {err}") from None
        return _result(f"reshape {tuple(value.shape)}", value, (a,),
                       lambda g: (xp.reshape(g, a.shape),), views=True)

    @property
    def T(self) -> Tensor:
        """The axes in reverse order (the transpose of a matrix)."""
        a = self
        xp = _xp(a.value)
        order = tuple(range(a.ndim - 1, -1, -1))
        flip = (lambda v: v.T) if isinstance(a.value, np.ndarray) else (
            lambda v: xp.permute_dims(v, order))
        return _result("T", flip(a.value), (a,), lambda g: (flip(g),), views=True)

    def __getitem__(self, key: Any) -> Tensor:
        """Indexing as the array does: integers, slices, and integer arrays (``s[arange(N), y]``
        picks one entry per row).  The gradient adds ``g`` back at the picked places, twice where
        a place is picked twice."""
        a = self
        key = _plain_key(key)
        try:
            value = a.value[key]
        except (IndexError, TypeError, ValueError) as err:
            raise IndexError(f"cannot index {a._describe()} with {key!r}: {err}") from None
        return _result("index", value, (a,), lambda g: (_scatter_add(a.value, key, g),))


# -- functions -----------------------------------------------------------------------------------
def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise ``max(a, b)`` of tensors, arrays or numbers (``maximum(x, 0)`` is ReLU).

    The gradient goes to the larger operand, half to each where they are equal (as
    ``torch.maximum``).

    Raises:
        TypeError: the operands come from different array namespaces.
        RuntimeError: the operands are on different devices.
    """
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = _lift(a, None, "maximum")
    a, b = (a, _lift(b, a, "maximum")) if isinstance(a, Tensor) else (_lift(a, b, "maximum"), b)
    _check_same(a, b, "maximum")
    _check_broadcast(a, b, "maximum")
    xp = _xp(a.value)
    value = xp.maximum(a.value, b.value)
    out = tuple(value.shape)

    def vjp(g: Array) -> tuple[Array | None, Array | None]:
        # 1 where a wins, 1/2 on ties, 0 where b wins; b gets the rest.
        dtype = g.dtype
        share = xp.astype(a.value > b.value, dtype) + 0.5 * xp.astype(a.value == b.value, dtype)
        return (_unbroadcast(g * share, a.shape, out) if a._requires_grad else None,
                _unbroadcast(g * (1.0 - share), b.shape, out) if b._requires_grad else None)

    return _result("maximum", value, (a, b), vjp, elementwise=True)


def exp(x: Any) -> Tensor:
    """Elementwise ``e**x``; its derivative is itself."""
    a = _lift(x, None, "exp")
    xp = _xp(a.value)
    out = xp.exp(a.value)
    return _result("exp", out, (a,), lambda g: (g * out,), elementwise=True)


def log(x: Any) -> Tensor:
    """Elementwise natural logarithm; derivative ``1 / x``."""
    a = _lift(x, None, "log")
    xp = _xp(a.value)
    return _result("log", xp.log(a.value), (a,), lambda g: (g / a.value,), elementwise=True)


def tanh(x: Any) -> Tensor:
    """Elementwise ``tanh``; derivative ``1 - tanh(x)**2``, from the saved output."""
    a = _lift(x, None, "tanh")
    xp = _xp(a.value)
    out = xp.tanh(a.value)
    return _result("tanh", out, (a,), lambda g: (g * (1.0 - out * out),), elementwise=True)


def sigmoid(x: Any) -> Tensor:
    """Elementwise ``1 / (1 + e**-x)``; derivative ``s * (1 - s)``, from the saved output ``s``."""
    a = _lift(x, None, "sigmoid")
    xp = _xp(a.value)
    e = xp.exp(-xp.abs(a.value))  # in (0, 1]: no overflow for any x
    out = xp.where(a.value >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return _result("sigmoid", out, (a,), lambda g: (g * (out * (1.0 - out)),), elementwise=True)


def _add_contribution(t: Tensor, c: Any, fresh: bool) -> None:
    """``t._pending += c`` during ``backward``; ``fresh``: ``c`` may be written into.  Either may
    be spread lazily (size 1 on some axes of ``t``); the sum is added in place into whichever of
    the two has every entry and may be written into, a new array otherwise."""
    pending = t._pending
    if c.dtype != t.value.dtype:
        c, fresh = _xp(c).astype(c, t.value.dtype), True
    if pending is None:
        t._pending, t._owned = c, fresh
    elif t._owned and pending.shape == t.value.shape:
        pending += c  # in place (NumPy's 0-d results are scalars: their sum is a new one)
        t._pending = pending
    elif fresh and c.shape == t.value.shape:
        c += pending
        t._pending, t._owned = c, True
    else:
        t._pending, t._owned = pending + c, True


# -- walking the graph ---------------------------------------------------------------------------
_by_serial = operator.attrgetter("_serial")


def _reverse_topological(root: Tensor) -> list[Tensor]:
    """The tensors ``root`` depends on through tensors that require gradients, ``root`` first and
    each before its operands (newest first: see ``_serial``).  A loop over a stack, not recursion,
    so a graph of any depth works.

    Raises:
        RuntimeError: a tensor on the way had its graph freed by an earlier ``backward``.
    """
    found = {id(root): root}
    stack = [root]
    while stack:
        node = stack.pop()
        if node._freed:
            raise RuntimeError(f"backward() through {node._describe()} a second time: an earlier "
                               "backward() freed its graph (pass retain_graph=True to the first "
                               "call to go through it again)")
        for parent in node._parents:
            if parent._requires_grad and id(parent) not in found:
                found[id(parent)] = parent
                stack.append(parent)
    return sorted(found.values(), key=_by_serial, reverse=True)


def graph_nodes(root: Tensor) -> list[Tensor]:
    """Every tensor of ``root``'s recorded graph (constants included), ``root`` first, each once."""
    if not isinstance(root, Tensor):
        raise TypeError(f"expected a Tensor, got {type(root).__name__}")
    nodes, seen, stack = [], {id(root)}, [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        for parent in node._parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return nodes


# -- building nodes ------------------------------------------------------------------------------
def _result(op: str, value: Array, parents: tuple[Tensor, ...], vjp: VJP,
            views: bool = False, elementwise: bool = False) -> Tensor:
    """The tensor of an operation; it records its operands and vjp only when one of them needs a
    gradient.  ``views``: the vjp may return views of ``g`` (to be copied before adding into).
    ``elementwise``: the vjp also takes a ``g`` spread lazily (size 1 on some axes of the result:
    it broadcasts to it) and returns contributions that broadcast to their operands' shapes;
    every other vjp gets ``g`` of the result's shape."""
    if isinstance(value, np.generic):  # NumPy's full reductions give scalars: keep 0-d arrays
        value = np.asarray(value)
    out = _constant(value)
    out.op, out._views, out._elementwise = op, views, elementwise
    for p in parents:
        if p._requires_grad:
            out._requires_grad, out._parents, out._vjp = True, parents, vjp
            break
    return out


def _constant(value: Array) -> Tensor:
    """A leaf that records nothing, around an array known to be one (``Tensor(value)`` without
    its checks)."""
    out = Tensor.__new__(Tensor)
    out.value, out._grad, out.op, out.name = value, None, None, None
    out._param, out._freed, out._views, out._elementwise = None, False, False, False
    out._serial, out._pending, out._owned = next(_serial), None, False
    out._requires_grad, out._parents, out._vjp = False, (), None
    return out


def _lift(other: Any, like: Tensor | None, op: str) -> Tensor:
    """``other`` as a Tensor: tensors as they are, parameters as gradient-carrying leaves, arrays
    and numbers as constants (numbers take ``like``'s floating dtype, namespace and device)."""
    if isinstance(other, Tensor):
        return other
    if isinstance(other, Parameter):
        return Tensor(other)
    if isinstance(other, numbers.Number) and not isinstance(other, bool) and like is not None:
        xp = _xp(like.value)
        dtype = like.value.dtype if _is_float(xp, like.value) or isinstance(other, numbers.Integral) \
            else None
        if isinstance(like.value, np.ndarray):
            return _constant(np.asarray(other, dtype=dtype))
        return _constant(xp.asarray(other, dtype=dtype, device=backend.device(like.value)))
    try:
        return Tensor(other)
    except TypeError:
        raise TypeError(f"{op!r}: cannot combine {like._describe() if like else 'a tensor'} with "
                        f"{type(other).__name__}") from None


def _pair(a: Tensor, other: Any, op: str) -> tuple[Tensor, Tensor]:
    b = _lift(other, a, op)
    _check_same(a, b, op)
    if op != "@":
        _check_broadcast(a, b, op)
    return a, b


def _check_broadcast(a: Tensor, b: Tensor, op: str) -> None:
    """ValueError naming ``op`` and both shapes unless they broadcast together."""
    sa, sb = a.value.shape, b.value.shape
    if sa == sb:
        return
    for m, n in zip(reversed(sa), reversed(sb), strict=False):  # the trailing axes of both
        if m != n and m != 1 and n != 1:
            raise ValueError(f"{op!r}: shapes {tuple(sa)} and {tuple(sb)} do not broadcast together "
                             f"({a._describe()}, {b._describe()})")


def _check_same(a: Tensor, b: Tensor, op: str) -> None:
    """Both operands in one array namespace and on one device (the common all-NumPy case is free)."""
    if type(a.value) is np.ndarray and type(b.value) is np.ndarray:
        return
    try:
        backend.array_namespace(a.value, b.value)
    except TypeError:
        raise TypeError(f"{op!r} mixes array namespaces: {a._describe()} is a "
                        f"{type(a.value).__module__}.{type(a.value).__name__}, {b._describe()} a "
                        f"{type(b.value).__module__}.{type(b.value).__name__}") from None
    da, db = backend.device(a.value), backend.device(b.value)
    if da != db:
        raise RuntimeError(f"{op!r} mixes devices: {a._describe()} is on {da}, {b._describe()} "
                           f"on {db}")


def _unbroadcast(g: Array, shape: tuple[int, ...], out: tuple[int, ...] | None = None) -> Array:
    """The gradient of an operand of ``shape`` that broadcasting stretched to ``out`` (default:
    ``g``'s shape): ``g`` summed over the axes broadcasting added or stretched.  ``g`` broadcasts
    to ``out``; where the operand has the result's shape, ``g`` is returned as it is, spread
    lazily or not."""
    if out is None:
        out = tuple(g.shape)
    if shape == out:
        return g
    xp = _xp(g)
    if tuple(g.shape) != out:  # spread lazily: every entry counts in the sum
        g = xp.broadcast_to(g, out)
    lead = len(out) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and out[lead + i] != 1)
    if isinstance(g, np.ndarray):
        return np.add.reduce(g, axis=axes).reshape(shape)
    return xp.reshape(xp.sum(g, axis=axes), shape)


# Full sums of large NumPy arrays run as products with a block of ones (see ``_sum_numpy``).
_SUM_BLOCK = 16_384
_ONES: dict[Any, np.ndarray] = {}


def _sum_numpy(v: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """``sum(v, axes)``.  The sum of every entry of a large contiguous float array (an L2 penalty)
    is a matrix-vector product of its blocks with ones: BLAS, 3x faster than NumPy's pairwise sum
    (as ``backend.row_sum``); anything else is NumPy's own reduction, called directly."""
    if len(axes) < v.ndim or v.size < 4 * _SUM_BLOCK or v.dtype.kind != "f" or not v.flags.c_contiguous:
        # numpy's stub types keepdims only as a literal True or False
        return np.add.reduce(v, axis=axes, keepdims=keepdims)  # type: ignore[call-overload]
    ones = _ONES.get(v.dtype)
    if ones is None:
        ones = _ONES[v.dtype] = np.ones(_SUM_BLOCK, v.dtype)
    flat = v.reshape(-1)
    whole = flat.size - flat.size % _SUM_BLOCK
    total = np.add.reduce(flat[:whole].reshape(-1, _SUM_BLOCK) @ ones) + np.add.reduce(flat[whole:])
    return np.asarray(total, dtype=v.dtype).reshape((1,) * v.ndim if keepdims else ())


def _mT(xp: Any, m: Array) -> Array:
    """Swap the last two axes (a view on NumPy)."""
    if isinstance(m, np.ndarray):
        return m.T if m.ndim == 2 else np.swapaxes(m, -1, -2)
    return xp.matrix_transpose(m)


def _axes(t: Tensor, axis: int | tuple[int, ...] | None, op: str) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes of ``t``; ValueError naming ``op`` else."""
    ndim = t.value.ndim
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, answered at once
        return (axis % ndim,)
    items = axis if isinstance(axis, tuple) else (axis,)
    out: list[int] = []
    for ax in items:
        if isinstance(ax, bool) or not isinstance(ax, numbers.Integral) or not -t.ndim <= ax < t.ndim:
            raise ValueError(f"{op}: axis {axis!r} is out of range for {t._describe()}")
        out.append(int(ax) % t.ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis!r} repeats an axis")
    return tuple(sorted(out))


def _kept(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with the reduced ``axes`` kept as size 1."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduce_label(name: str, axis: Any) -> str:
    return name if axis is None else f"{name}(axis={axis})"


def _plain_key(key: Any) -> Any:
    """An index with tensors replaced by their arrays and lists by NumPy arrays."""
    if isinstance(key, tuple):
        return tuple(_plain_key(k) for k in key)
    if isinstance(key, Tensor):
        if key.requires_grad:
            raise TypeError(f"an index must be integers, not {key._describe()} that requires gradients")
        return key.value
    if isinstance(key, list):
        return np.asarray(key)
    return key


def _is_basic(key: Any) -> bool:
    """Integers, slices, None and Ellipsis only: every place is picked at most once."""
    keys = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (slice, numbers.Integral)) for k in keys)


def _scatter_add(a: Array, key: Any, g: Array) -> Array:
    """Zeros of ``a``'s shape with ``g`` added at ``a[key]`` (repeated places add up)."""
    xp = backend.array_namespace(a)
    if isinstance(a, np.ndarray):
        out = np.zeros(a.shape, dtype=g.dtype)
        if _is_basic(key):
            out[key] = g
        else:
            np.add.at(out, key, g)
        return out
    out = xp.zeros(a.shape, dtype=g.dtype, device=backend.device(a))
    if _is_basic(key):
        out[key] = g
        return out
    size = math.prod(a.shape)
    # The flat position of each picked entry: index an array of positions with the same key.
    where = xp.reshape(xp.reshape(xp.arange(size, device=backend.device(a)), a.shape)[key], (-1,))
    flat_g = xp.reshape(g, (-1,))
    if is_torch_array(a):
        return xp.reshape(xp.reshape(out, (-1,)).index_add_(0, where, flat_g), a.shape)
    if is_cupy_array(a):
        import cupyx

        cupyx.scatter_add(out, key, g)
        return out
    # The array API has no scatter: add through a one-hot matrix, a block of rows at a time.
    flat = xp.reshape(out, (1, size))
    positions = xp.reshape(xp.arange(size, device=backend.device(a)), (1, size))
    rows = max(1, (1 << 22) // max(size, 1))
    for start in range(0, where.shape[0], rows):
        stop = min(start + rows, where.shape[0])
        onehot = xp.astype(xp.reshape(where[start:stop], (-1, 1)) == positions, g.dtype)
        flat = flat + xp.reshape(flat_g[start:stop], (1, -1)) @ onehot
    return xp.reshape(flat, a.shape)
