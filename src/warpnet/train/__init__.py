"""Training: ``Trainer``, its ``TrainConfig``, ``History``, checkpoints and interruption.

    from warpnet.train import Trainer
    trainer = Trainer(model, "softmax", "sgd", lr=0.1, momentum=0.9, reg=1e-4, epochs=30)
    history = trainer.fit(X, y, validation=(X_val, y_val))
"""

from __future__ import annotations

from .checkpoint import CHECKPOINT_NAME, read_checkpoint, write_checkpoint
from .history import RECORD_KEYS, History
from .interrupt import TrainingInterrupted
from .step import Step, make_step
from .trainer import DIGITS_DEFAULTS, TrainConfig, Trainer

__all__ = [
    "Trainer", "TrainConfig", "History", "RECORD_KEYS", "TrainingInterrupted",
    "DIGITS_DEFAULTS", "Step", "make_step", "CHECKPOINT_NAME", "read_checkpoint", "write_checkpoint",
]
