"""Optimizers (update rules over explicit state) and learning-rate schedules.

One module per rule, each its whole-array formula: ``SGD`` (momentum, Nesterov), ``RMSProp``,
``Adam``, ``AdamW`` (decoupled weight decay); the ``Optimizer`` base class and the
``OPTIMIZERS`` registry; ``optimizer(name, params)``;
schedules ``StepLR`` and ``CosineLR`` (with optional linear warm-up) in ``SCHEDULES``.
"""

from __future__ import annotations  # noqa: I001

# The rules register in this order, the order every menu lists them in.
from .optimizer import OPTIMIZERS, Optimizer, flush_subnormals, optimizer
from .sgd import SGD
from .rmsprop import RMSProp
from .adam import Adam
from .adamw import AdamW
from .schedules import SCHEDULES, CosineLR, LRSchedule, StepLR

__all__ = ["Optimizer", "SGD", "RMSProp", "Adam", "AdamW", "optimizer", "OPTIMIZERS", "flush_subnormals",
           "LRSchedule", "StepLR", "CosineLR", "SCHEDULES"]
