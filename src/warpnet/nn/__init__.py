"""The neural-network engine: layers with explicit forward/backward, losses, penalties.

Public names: ``Module``, ``Parameter``, ``Linear``, ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``,
``Softplus``, ``ELU``, ``Dropout``, ``Sequential``, ``mlp``; losses ``SoftmaxCrossEntropy``,
``MulticlassSVM``, ``MSE``; penalties ``L2``, ``L1``; ``gradcheck``; the registries ``LAYERS``,
``ACTIVATIONS``, ``LOSSES``, ``PENALTIES``, ``INITIALIZERS``; ``build`` to rebuild a model from
``model.get_config()``.
"""

from __future__ import annotations

from typing import Any

from ..registry import Registry
from .activations import ACTIVATIONS, ELU, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh, activation
from .containers import Sequential, mlp
from .gradcheck import gradcheck
from .init import INITIALIZERS
from .layers import Dropout, Linear
from .losses import LOSSES, MSE, Loss, MulticlassSVM, SoftmaxCrossEntropy, loss, softmax
from .module import Module, Parameter
from .ovr import OneVsAllHinge
from .regularizers import L1, L2, PENALTIES, Penalty, penalty

LAYERS: Registry[type[Module]] = Registry("layer")
for _cls in (Linear, Dropout, Sequential, ReLU, LeakyReLU, Sigmoid, Tanh, Softplus, ELU):
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
    "Module", "Parameter", "Linear", "Dropout", "Sequential", "mlp",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softplus", "ELU", "activation",
    "Loss", "SoftmaxCrossEntropy", "MulticlassSVM", "OneVsAllHinge", "MSE", "loss", "softmax",
    "Penalty", "L2", "L1", "penalty", "gradcheck", "build",
    "LAYERS", "ACTIVATIONS", "LOSSES", "PENALTIES", "INITIALIZERS",
]
