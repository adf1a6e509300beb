"""``Sequential`` and the ``mlp`` builder."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import backend
from ..backend import Array
from ..registry import Registry
from . import init as initializers
from .activations import ACTIVATIONS
from .layers import Dropout, Linear
from .module import Module
from .normalization import BatchNorm1d, LayerNorm

# Normalisation layers ``mlp`` and ``randomly_wired`` can put after each hidden Linear; the model
# loader (``nn.LAYERS``) derives from this registry too.
NORMS: Registry[Callable[..., Module]] = Registry("normalization")
NORMS.register("batch")(BatchNorm1d)
NORMS.register("layer")(LayerNorm)


class Sequential(Module):
    """Modules applied one after another; backward runs them in reverse."""

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential layer {i} must be a Module, got {type(layer).__name__}")
        self.layers: list[Module] = list(layers)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def forward(self, x: Array) -> Array:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        for i in range(len(self.layers) - 1, -1, -1):
            # Only the first layer may skip dx: the others' dx is the next dout.
            dout = self.layers[i].backward(dout, need_dx=need_dx or i > 0)
        return dout

    def get_config(self) -> dict[str, Any]:
        return {"type": "Sequential", "layers": [layer.get_config() for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        from . import build

        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ValueError("Sequential config needs a list 'layers'")
        return cls(*(build(layer) for layer in layers))

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


def mlp(sizes: Sequence[int], activation: str | Sequence[str] = "relu", *, dropout: float = 0.0,
        init: str | None = None, rng: int | np.random.Generator | None = None,
        dtype: Any = "float32", norm: str | None = None) -> Sequential:
    """A fully-connected network ``Linear -> act -> ... -> Linear``.

    Args:
        sizes: layer widths from input to output, e.g. ``[3072, 100, 10]`` for the classic
            two-layer CIFAR-10 net (at least two entries).
        activation: one registered activation name for every hidden layer, or one per hidden layer.
        dropout: probability of dropping hidden units (a ``Dropout`` after each activation), 0 = none.
        init: initializer of the hidden layers; by default each activation class's preference
            (its ``init``: "he" for ReLU-like activations, "xavier" for sigmoid/tanh).  The output
            layer starts ten times smaller, so a fresh classifier predicts nearly uniform
            probabilities (loss close to ln C).
        rng: seed or generator for the weights (and the dropout masks).
        dtype: "float32" or "float64".
        norm: None, "batch" (a ``BatchNorm1d``) or "layer" (a ``LayerNorm``) between each hidden
            ``Linear`` and its activation.

    Raises:
        ValueError: fewer than two sizes, a wrong number of activations, an unknown name.
    """
    if norm is not None and norm not in NORMS:
        raise ValueError(f"norm must be None or one of {', '.join(NORMS)}, got {norm!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least the input and output sizes, got {sizes}")
    n_hidden = len(sizes) - 2
    if isinstance(activation, str):
        ACTIVATIONS.get(activation)  # an unknown name is refused even without hidden layers
    acts = [activation] * n_hidden if isinstance(activation, str) else list(activation)
    if len(acts) != n_hidden:
        raise ValueError(f"activation lists {len(acts)} names, but there are {n_hidden} hidden layers")
    for name in acts:
        ACTIVATIONS.get(name)
    rng = backend.as_generator(rng)
    layers: list[Module] = []
    for i in range(n_hidden):
        layer_init = init or ACTIVATIONS.get(acts[i]).init
        layers.append(Linear(sizes[i], sizes[i + 1], init=layer_init, rng=rng, dtype=dtype))
        if norm is not None:
            layers.append(NORMS.get(norm)(sizes[i + 1], dtype=dtype))
        layers.append(ACTIVATIONS.get(acts[i])())
        if dropout:
            layers.append(Dropout(dropout, rng=rng))
    out_init = init or (ACTIVATIONS.get(acts[-1]).init if n_hidden else "he")
    out_draw = initializers.INITIALIZERS.get(out_init)(gain=0.1) if out_init in ("he", "xavier") \
        else initializers.resolve(out_init)
    layers.append(Linear(sizes[-2], sizes[-1], init=out_draw, rng=rng, dtype=dtype))
    return Sequential(*layers)
