"""A ``Graph`` (and the merges of randomly wired networks) as PyTorch modules and back; used by
``warpnet.io.to_torch``/``from_torch``.  PyTorch is passed in by the caller, never imported here.

The PyTorch side: ``TorchGraph`` runs its ``ModuleDict`` of nodes in topological order, summing the
inputs of a plain node and handing a merge the list of them, as ``Graph`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from .. import backend
from .containers import NORMS
from .graph import Graph, Merge
from .layers import Linear
from .module import Module
from .wired import Mean, WeightedSum, WiredNode


@cache
def torch_classes(torch: Any) -> dict[str, Any]:
    """The PyTorch counterparts, built once per torch module: TorchGraph, TorchWeightedSum,
    TorchMean, TorchWiredNode (the last three take a list of inputs)."""
    nn = torch.nn
    TorchModule: Any = nn.Module  # the base class, from the torch passed in (typed as Any)

    class TorchWeightedSum(TorchModule):
        """``sum_i sigmoid(w_i) * x_i``."""

        def __init__(self, weight: Any) -> None:
            super().__init__()
            self.weight = nn.Parameter(weight)

        def forward(self, xs: list[Any]) -> Any:
            s = torch.sigmoid(self.weight)
            return sum((s[i] * x for i, x in enumerate(xs[1:], 1)), s[0] * xs[0])

    class TorchMean(TorchModule):
        """``(x_1 + ... + x_k) / k``."""

        def __init__(self, n_inputs: int) -> None:
            super().__init__()
            self.n_inputs = n_inputs

        def forward(self, xs: list[Any]) -> Any:
            return sum(xs[1:], xs[0]) / len(xs)

    class TorchWiredNode(TorchModule):
        """``linear(relu(aggregate(xs)))``, then ``norm`` when there is one."""

        def __init__(self, aggregate: Any, linear: Any, norm: Any = None) -> None:
            super().__init__()
            self.aggregate, self.relu, self.linear = aggregate, nn.ReLU(), linear
            self.norm = norm

        def forward(self, xs: list[Any]) -> Any:
            y = self.linear(self.relu(self.aggregate(xs)))
            return y if self.norm is None else self.norm(y)

    merges = (TorchWeightedSum, TorchMean, TorchWiredNode)

    class TorchGraph(TorchModule):
        """Modules wired as a DAG: ``order`` is topological, ``preds[n]`` the inputs of ``n`` in
        edge order, ``inputs`` read x, ``outputs`` are concatenated along dim 1."""

        def __init__(self, nodes: dict[str, Any], edges: list[tuple[str, str]], order: list[str],
                     inputs: list[str], outputs: list[str]) -> None:
            super().__init__()
            self.nodes = nn.ModuleDict(nodes)
            self.edges, self.order = list(edges), list(order)
            self.inputs, self.outputs = list(inputs), list(outputs)
            self.preds = {n: [a for a, b in edges if b == n] for n in order}

        def forward(self, x: Any) -> Any:
            values: dict[str, Any] = {}
            for n in self.order:
                ins = ([x] if n in self.inputs else []) + [values[p] for p in self.preds[n]]
                module = self.nodes[n]
                values[n] = module(ins) if isinstance(module, merges) else module(sum(ins[1:], ins[0]))
            return torch.cat([values[n] for n in self.outputs], dim=1)

    return {"TorchGraph": TorchGraph, "TorchWeightedSum": TorchWeightedSum,
            "TorchMean": TorchMean, "TorchWiredNode": TorchWiredNode}


def to_torch(torch: Any, layer: Module, convert: Callable[[Module], Any]) -> Any | None:
    """The PyTorch module for a ``Graph`` or a merge (``convert`` handles the plain nodes);
    None for any other layer."""
    classes = torch_classes(torch)
    if isinstance(layer, Graph):
        return classes["TorchGraph"]({n: convert(m) for n, m in layer.nodes.items()}, layer.edges,
                                     layer.order, layer.inputs, layer.outputs)
    if isinstance(layer, WeightedSum):
        return classes["TorchWeightedSum"](torch.from_numpy(np.array(backend.to_numpy(
            layer.weight.value))))
    if isinstance(layer, Mean):
        return classes["TorchMean"](layer.n_inputs)
    if isinstance(layer, WiredNode):
        return classes["TorchWiredNode"](convert(layer.aggregate), convert(layer.linear),
                                         None if layer.norm is None else convert(layer.norm))
    if isinstance(layer, Merge):
        raise TypeError(f"cannot export merge {layer!r} to PyTorch")
    return None


def from_torch(torch: Any, module: Any, convert: Callable[[Any], Module]) -> Module | None:
    """The warpnet module for a module ``to_torch`` made; None for any other module."""
    classes = torch_classes(torch)
    if isinstance(module, classes["TorchGraph"]):
        nodes = {n: convert(m) for n, m in module.nodes.items()}
        return Graph(nodes, module.edges, module.inputs, module.outputs)
    if isinstance(module, classes["TorchWeightedSum"]):
        weight = module.weight.detach().cpu().numpy()
        out = WeightedSum(int(weight.shape[0]), dtype=weight.dtype.name)
        out.load_state_dict({"weight": weight})
        return out
    if isinstance(module, classes["TorchMean"]):
        return Mean(module.n_inputs)
    if isinstance(module, classes["TorchWiredNode"]):
        aggregate, linear = convert(module.aggregate), convert(module.linear)
        assert isinstance(aggregate, (WeightedSum, Mean)) and isinstance(linear, Linear)  # to_torch's
        norm = None if module.norm is None else convert(module.norm)
        norm_name = None if norm is None else next(
            name for name, cls in NORMS.items() if type(norm) is cls)
        node = WiredNode(aggregate.n_inputs, linear.in_features, init="zeros", dtype=linear.dtype,
                         norm=norm_name)
        state = ({f"aggregate.{k}": v for k, v in aggregate.state_dict().items()}
                 | {f"linear.{k}": v for k, v in linear.state_dict().items()})
        if norm is not None:
            state |= {f"norm.{k}": v for k, v in norm.state_dict().items()}
        node.load_state_dict(state)
        node.train(module.training)
        return node
    return None
