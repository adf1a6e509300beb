"""``Sequential`` and the ``mlp`` builder."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .. import backend
from ..backend import Array
from . import init as initializers
from .activations import ACTIVATIONS
from .layers import Dropout, Linear
from .module import Module


class Sequential(Module):
    """Modules applied one after another; backward runs them in reverse.

    Intermediate activations and gradients are written into arrays the container keeps and reuses
    from one call to the next (as long as the batch shape stays the same), so a training step
    allocates no new batch-sized arrays after the first.  What ``forward`` and ``backward`` return
    is always a fresh array owned by the caller.
    """

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential layer {i} must be a Module, got {type(layer).__name__}")
        self.layers: list[Module] = list(layers)
        self._fwd: dict[int, Array] = {}
        self._bwd: dict[int, Array] = {}

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def forward(self, x: Array, out: Array | None = None) -> Array:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            if i == last:
                return self._fresh(layer.forward(x, out=out), self._fwd)
            y = layer.forward(x, out=self._fwd.get(i))
            if y is not x:  # a layer that passes its input through (eval dropout) owns no buffer
                self._fwd[i] = y
            x = y
        return x  # an empty Sequential is the identity

    def backward(self, dout: Array, out: Array | None = None, need_dx: bool = True) -> Array | None:
        for i in range(len(self.layers) - 1, -1, -1):
            if i == 0:
                dx = self.layers[0].backward(dout, out=out, need_dx=need_dx)
                return None if dx is None else self._fresh(dx, self._bwd)
            dx = self.layers[i].backward(dout, out=self._bwd.get(i))
            if dx is not dout:
                self._bwd[i] = dx
            dout = dx
        return dout

    @staticmethod
    def _fresh(y: Array, buffers: dict[int, Array]) -> Array:
        """``y``, copied if it is one of the reused buffers, so callers never see them change."""
        if any(y is b for b in buffers.values()):
            return backend.array_namespace(y).asarray(y, copy=True)
        return y

    def get_config(self) -> dict[str, Any]:
        return {"type": "Sequential", "layers": [layer.get_config() for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        from . import build

        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ValueError("Sequential config needs a list 'layers'")
        return cls(*(build(layer) for layer in layers))

    def _reset_buffers(self) -> None:
        self._fwd.clear()
        self._bwd.clear()

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


_SATURATING = {"sigmoid", "tanh"}


def mlp(sizes: Sequence[int], activation: str | Sequence[str] = "relu", *, dropout: float = 0.0,
        init: str | None = None, rng: int | np.random.Generator | None = None,
        dtype: Any = "float32") -> Sequential:
    """A fully-connected network ``Linear -> act -> ... -> Linear``.

    Args:
        sizes: layer widths from input to output, e.g. ``[3072, 100, 10]`` for the classic
            two-layer CIFAR-10 net (at least two entries).
        activation: one registered activation name for every hidden layer, or one per hidden layer.
        dropout: probability of dropping hidden units (a ``Dropout`` after each activation), 0 = none.
        init: initializer of the hidden layers; by default "he" for ReLU-like activations and
            "xavier" for sigmoid/tanh.  The output layer starts ten times smaller, so a fresh
            classifier predicts nearly uniform probabilities (loss close to ln C).
        rng: seed or generator for the weights (and the dropout masks).
        dtype: "float32" or "float64".
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least the input and output sizes, got {sizes}")
    n_hidden = len(sizes) - 2
    acts = [activation] * n_hidden if isinstance(activation, str) else list(activation)
    if len(acts) != n_hidden:
        raise ValueError(f"activation lists {len(acts)} names, but there are {n_hidden} hidden layers")
    for name in acts:
        ACTIVATIONS.get(name)
    rng = backend.as_generator(rng)
    layers: list[Module] = []
    for i in range(n_hidden):
        layer_init = init or ("xavier" if acts[i] in _SATURATING else "he")
        layers.append(Linear(sizes[i], sizes[i + 1], init=layer_init, rng=rng, dtype=dtype))
        layers.append(ACTIVATIONS.get(acts[i])())
        if dropout:
            layers.append(Dropout(dropout, rng=rng))
    out_init = init or ("xavier" if n_hidden and acts[-1] in _SATURATING else "he")
    out_draw = initializers.INITIALIZERS.get(out_init)(gain=0.1) if out_init in ("he", "xavier") \
        else initializers.resolve(out_init)
    layers.append(Linear(sizes[-2], sizes[-1], init=out_draw, rng=rng, dtype=dtype))
    return Sequential(*layers)
