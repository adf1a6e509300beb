"""The neural-network engine: layers with explicit forward/backward, losses, penalties.

Public names: ``Module``, ``Parameter``, ``Linear``, ``Activation`` and the registered
activations ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``, ``Softplus``, ``ELU``, ``GELU``, ``SiLU``;
``Dropout``, ``BatchNorm1d``, ``LayerNorm``, ``Sequential``, ``mlp``; ``Graph`` (any DAG of
modules) and ``randomly_wired`` (with ``WiredNode``, ``WeightedSum``, ``Mean``, ``GRAPHS``); losses
``SoftmaxCrossEntropy``,
``MulticlassSVM``, ``MSE``; penalties ``L2``, ``L1``; ``gradcheck``; the registries ``LAYERS``,
``ACTIVATIONS``, ``LOSSES``, ``PENALTIES``, ``INITIALIZERS``; ``build`` to rebuild a model from
``model.get_config()``.
"""

from __future__ import annotations

from typing import Any

from ..registry import DerivedRegistry
from .activations import (
    ACTIVATIONS,
    ELU,
    GELU,
    Activation,
    LeakyReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
    activation,
)
from .containers import NORMS, Sequential, mlp
from .gradcheck import gradcheck
from .graph import Graph, Merge
from .init import INITIALIZERS
from .layers import Dropout, Linear
from .losses import LOSSES, MSE, Loss, MulticlassSVM, SoftmaxCrossEntropy, loss, softmax
from .module import Module, Parameter
from .normalization import BatchNorm1d, LayerNorm
from .ovr import OneVsAllHinge
from .regularizers import L1, L2, PENALTIES, Penalty, penalty
from .wired import GRAPHS, Mean, WeightedSum, WiredNode, randomly_wired

# Layers by class name, as ``get_config`` writes them: the ones below, and every registered
# activation and normalisation class (derived from ``ACTIVATIONS`` and ``NORMS`` at each lookup).
LAYERS: DerivedRegistry[type[Module]] = DerivedRegistry("layer", ACTIVATIONS, NORMS)
for _cls in (Linear, Dropout, Sequential, Graph, WeightedSum, Mean, WiredNode):
    LAYERS.register(_cls.__name__)(_cls)


def build(config: dict[str, Any]) -> Module:
    """Rebuild a module from ``module.get_config()``, only through the ``LAYERS`` registry.

    Nothing named in the config is imported or evaluated: an unknown type or a bad argument
    raises ``ValueError``.  Weights start at zero (or their defaults); load them afterwards.
    """
    if not isinstance(config, dict) or not isinstance(config.get("type"), str):
        raise ValueError(f"a layer config must be a dict with a 'type' name, got {config!r}")
    cls = LAYERS.get(config["type"])
    try:
        return cls.from_config(config)
    except TypeError as err:
        raise ValueError(f"bad arguments for layer {config['type']!r}: {err}") from None


__all__ = [
    "Module", "Parameter", "Linear", "Dropout", "BatchNorm1d", "LayerNorm", "Sequential", "mlp",
    "Activation", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softplus", "ELU", "GELU", "SiLU",
    "activation",
    "Loss", "SoftmaxCrossEntropy", "MulticlassSVM", "OneVsAllHinge", "MSE", "loss", "softmax",
    "Penalty", "L2", "L1", "penalty", "gradcheck", "build",
    "NORMS", "LAYERS", "ACTIVATIONS", "LOSSES", "PENALTIES", "INITIALIZERS",
    "Graph", "Merge", "randomly_wired", "WiredNode", "WeightedSum", "Mean", "GRAPHS",
]
