"""Hand a trained network to PyTorch and back.

``to_torch(model)`` builds a ``torch.nn.Sequential`` that computes the same function as a warpnet
network (or a fitted warpnet estimator); ``from_torch(module)`` rebuilds a warpnet network from the
PyTorch layer types warpnet has.  Weights are copied, never shared.

One difference in conventions matters: a warpnet ``Linear`` stores its weight as
``(in_features, out_features)`` and computes ``x @ W + b`` (the lecture's layout), while
``torch.nn.Linear`` stores ``(out_features, in_features)`` and computes ``x @ W.T + b``; the
conversion transposes.

PyTorch is imported only when one of these functions is called (``pip install warpnet[torch]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..nn import ACTIVATIONS, Activation, BatchNorm1d, Dropout, LayerNorm, Linear, Module, Sequential


def _supported() -> str:
    """The layer types with a PyTorch twin: Linear, Dropout, Sequential, every registered
    activation that names one (``torch_name``), and a Graph of those."""
    twins = [cls.__name__ for _, cls in ACTIVATIONS.items() if cls.torch_name is not None]
    return ", ".join(["Linear", "Dropout", "BatchNorm1d", "LayerNorm", "Sequential", *twins,
                      "Graph (with WiredNode, WeightedSum, Mean)"])


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("warpnet.io.to_torch and from_torch need PyTorch; install it with "
                          "`pip install warpnet[torch]` (or `pip install torch`)") from None
    return torch


def _network_of(model: Any) -> Module:
    """The warpnet network inside ``model``: the module itself, or a fitted estimator's ``network_``."""
    if isinstance(model, Module):
        return model
    if hasattr(model, "get_params") and hasattr(model, "fit"):  # a scikit-learn style estimator
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "network_")
        return model.network_
    raise TypeError(f"model must be a warpnet Module or a fitted warpnet estimator, "
                    f"got {type(model).__name__}")


def to_torch(model: Any) -> Any:
    """A ``torch.nn.Sequential`` computing the same function as ``model``.

    Args:
        model: a warpnet ``Module`` (``Sequential`` or a single layer) or a fitted warpnet
            estimator (its ``network_`` is exported: the scores, before softmax).

    Returns:
        ``torch.nn.Sequential`` on the CPU, with the parameters' dtype (float32 or float64) and
        the same train/eval mode as ``model``.  A single layer is wrapped in a ``Sequential``.

    Raises:
        ImportError: PyTorch is not installed.
        TypeError: ``model`` is not a warpnet module or estimator, or contains a layer type with
            no PyTorch counterpart.
        sklearn.exceptions.NotFittedError: an estimator that has not been fitted.
    """
    torch = _torch()
    network = _network_of(model)
    converted = _layer_to_torch(torch, network)
    if not isinstance(converted, torch.nn.Sequential):
        converted = torch.nn.Sequential(converted)
    converted.train(network.training)
    return converted


def _layer_to_torch(torch: Any, layer: Module) -> Any:
    nn = torch.nn
    from ..nn import _graph_torch  # Graph and its merges (randomly wired networks)

    if (graph := _graph_torch.to_torch(torch, layer, lambda m: _layer_to_torch(torch, m))) is not None:
        return graph
    if isinstance(layer, Sequential):
        return nn.Sequential(*(_layer_to_torch(torch, child) for child in layer))
    if isinstance(layer, Linear):
        weight = backend.to_numpy(layer.weight.value)  # (in, out)
        out = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None,
                        dtype=torch.float64 if weight.dtype == np.float64 else torch.float32)
        with torch.no_grad():
            out.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight.T)))  # (out, in)
            if layer.bias is not None:
                out.bias.copy_(torch.from_numpy(np.array(backend.to_numpy(layer.bias.value))))
        return out
    if isinstance(layer, Activation) and layer.torch_name is not None:
        return getattr(nn, layer.torch_name)(**layer.torch_kwargs())
    if isinstance(layer, Dropout):
        return nn.Dropout(layer.p)
    if isinstance(layer, (BatchNorm1d, LayerNorm)):
        return _norm_to_torch(torch, layer)
    raise TypeError(f"cannot export layer {layer!r} to PyTorch; supported: {_supported()}")


def from_torch(module: Any, *, rng: int | np.random.Generator | None = None) -> Sequential:
    """A warpnet ``Sequential`` computing the same function as a PyTorch module.

    Args:
        module: ``torch.nn.Sequential`` (nested ones are kept nested) or a single supported layer:
            ``Linear``, ``Dropout`` and the twin of every registered activation (``torch_name``;
            ``Softplus`` with beta=1).  Weights must be float32 or float64.
        rng: seed or generator for the dropout masks of the warpnet network.

    Returns:
        A warpnet ``Sequential`` on NumPy with the module's dtype and train/eval mode; a single
        layer is wrapped in a ``Sequential``.  A ``Softplus``'s ``threshold`` (PyTorch's switch
        to the identity for large inputs) is not carried over: warpnet computes softplus exactly,
        which differs by less than 3e-9 at PyTorch's default threshold of 20.

    Raises:
        ImportError: PyTorch is not installed.
        TypeError: ``module`` is not a torch module, or holds a layer warpnet does not have.
        ValueError: a Softplus with beta != 1, or weights that are not float32/float64.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    generator = backend.as_generator(rng)
    converted = _layer_from_torch(torch, module, generator)
    if not isinstance(converted, Sequential):
        converted = Sequential(converted)
    converted.train(module.training)
    return converted


def _layer_from_torch(torch: Any, layer: Any, rng: np.random.Generator) -> Module:
    nn = torch.nn
    from ..nn import _graph_torch  # Graph and its merges (randomly wired networks)

    if (graph := _graph_torch.from_torch(torch, layer, lambda m: _layer_from_torch(torch, m, rng))) \
            is not None:
        return graph
    if isinstance(layer, nn.Sequential):
        return Sequential(*(_layer_from_torch(torch, child, rng) for child in layer))
    if isinstance(layer, nn.Linear):
        weight = layer.weight.detach().cpu().numpy()  # (out, in)
        if weight.dtype not in (np.float32, np.float64):
            raise ValueError(f"{layer!r} has {weight.dtype} weights; warpnet takes float32 or "
                             f"float64 (convert with module.float() or module.double())")
        out = Linear(layer.in_features, layer.out_features, bias=layer.bias is not None,
                     init="zeros", dtype=weight.dtype.name)
        out.load_state_dict({"weight": weight.T, **(
            {"bias": layer.bias.detach().cpu().numpy()} if layer.bias is not None else {})})
        return out
    for _, cls in ACTIVATIONS.items():  # the registered activation whose twin this is
        if cls.torch_name is not None and type(layer) is getattr(nn, cls.torch_name, None):
            return cls.from_torch(layer)
    if isinstance(layer, nn.Dropout):
        return Dropout(float(layer.p), rng=rng)
    if type(layer) in (nn.BatchNorm1d, nn.LayerNorm):
        return _norm_from_torch(torch, layer)
    raise TypeError(f"cannot import {type(layer).__name__} from PyTorch; supported: {_supported()}")


__all__ = ["to_torch", "from_torch"]


def _norm_to_torch(torch: Any, layer: BatchNorm1d | LayerNorm) -> Any:
    state = {name: torch.from_numpy(np.array(backend.to_numpy(value)))
             for name, value in layer.state_dict().items()}
    dtype = torch.float64 if layer.dtype == "float64" else torch.float32
    if isinstance(layer, BatchNorm1d):
        out = torch.nn.BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum, dtype=dtype)
        state["num_batches_tracked"] = out.num_batches_tracked
    else:
        out = torch.nn.LayerNorm(layer.num_features, eps=layer.eps, dtype=dtype)
    out.load_state_dict(state)
    return out


def _norm_from_torch(torch: Any, layer: Any) -> Module:
    nn = torch.nn
    if isinstance(layer, nn.BatchNorm1d):
        if not (layer.affine and layer.track_running_stats) or layer.momentum is None:
            raise ValueError(f"{layer!r}: warpnet's BatchNorm1d has affine=True, "
                             "track_running_stats=True and a numeric momentum")
        names: tuple[str, ...] = ("weight", "bias", "running_mean", "running_var")
        dtype = layer.weight.dtype
    else:
        shape = tuple(layer.normalized_shape)
        if len(shape) != 1 or not layer.elementwise_affine or layer.bias is None:
            raise ValueError(f"{layer!r}: warpnet's LayerNorm normalises one trailing dimension "
                             "with a learned weight and bias")
        names = ("weight", "bias")
        dtype = layer.weight.dtype
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"{layer!r} has {dtype} weights; warpnet takes float32 or float64")
    name = "float64" if dtype == torch.float64 else "float32"
    if isinstance(layer, nn.BatchNorm1d):
        out: Module = BatchNorm1d(layer.num_features, momentum=float(layer.momentum),
                                  eps=float(layer.eps), dtype=name)
    else:
        out = LayerNorm(shape[0], eps=float(layer.eps), dtype=name)
    sd = layer.state_dict()
    out.load_state_dict({k: sd[k].detach().cpu().numpy() for k in names})
    return out
