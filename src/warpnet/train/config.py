"""The plain settings of a training run, validated on construction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn
from ..errors import UsageError

__all__ = ["TrainConfig", "DIGITS_DEFAULTS", "RESUME_KEYS"]

# Settings for small image sets such as the 8x8 digits (standardized with per-pixel mean and std
# of the training split): ``Trainer(model, "softmax", **DIGITS_DEFAULTS)`` takes the two-layer
# ReLU net (hidden 100) to >= 97% and a linear softmax classifier to >= 95% test accuracy on a
# stratified 80/20 split, in about a second on two cores (checked by the tests).
DIGITS_DEFAULTS: dict[str, Any] = {
    "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "reg": 1e-3, "batch_size": 50, "epochs": 40,
}

# Settings a checkpoint must share with the run that resumes it (epochs may grow).
RESUME_KEYS = ("batch_size", "seed", "reg", "penalty", "early_stopping", "clip_norm", "ema", "augment")



@dataclass(frozen=True)
class TrainConfig:
    """The plain settings of a run (validated on construction).

    Attributes:
        batch_size: samples per optimizer step (the last batch of an epoch may be smaller).
        epochs: total number of epochs of the run (a resumed run counts the ones already done).
        seed: seeds the generator that shuffles the samples each epoch.
        reg: strength of the weight penalty, ``loss = mean data loss + reg * sum_k R(W_k)``.
        penalty: "l2" (sum of squares) or "l1", on weights only.
        early_stopping: patience in epochs, or None.  The monitored value is the validation loss
            (the training loss when no validation set is given): training stops after
            ``early_stopping`` epochs without a new minimum, and the weights of the best epoch are
            restored when ``fit`` returns.  Loss rather than accuracy: it exists for regression
            too and keeps moving after the accuracy has plateaued.
        checkpoint_dir: folder for ``checkpoint.npz`` (created if missing), or None.
        verbose: 0 silent, 1 progress bar on a terminal (plain lines otherwise), 2 plain lines.
        clip_norm: scale the gradients down to this global norm before each update, or None.
        warmup: epochs of linear learning-rate warm-up before the cosine schedule (0: none).
        ema: decay of an exponential moving average of the weights used for validation and
            left in the model when ``fit`` returns, in [0, 1), or None.
        augment: image augmentation, e.g. "flip,shift=4,cutout=8" (``train.augment``), or None.
        image_shape: (H, W) or (H, W, C) of the input rows; needed by ``augment``.
    """

    batch_size: int = 200
    epochs: int = 10
    seed: int = 0
    reg: float = 0.0
    penalty: str = "l2"
    early_stopping: int | None = None
    checkpoint_dir: str | None = None
    verbose: int = 1
    clip_norm: float | None = None
    warmup: int = 0
    ema: float | None = None
    augment: str | None = None
    image_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        positive_int("batch_size", self.batch_size)
        positive_int("epochs", self.epochs)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise UsageError(f"seed must be an integer >= 0, got {self.seed!r}")
        if (isinstance(self.reg, bool) or not isinstance(self.reg, (int, float))
                or not math.isfinite(self.reg) or self.reg < 0):
            raise UsageError(f"reg must be a finite number >= 0, got {self.reg!r}")
        if self.penalty not in nn.PENALTIES:
            raise UsageError(f"unknown penalty {self.penalty!r}; expected one of: "
                             f"{', '.join(nn.PENALTIES.names())}")
        if self.early_stopping is not None:
            positive_int("early_stopping", self.early_stopping)
        if self.verbose not in (0, 1, 2) or isinstance(self.verbose, bool):
            raise UsageError(f"verbose must be 0, 1 or 2, got {self.verbose!r}")
        if self.clip_norm is not None and (
                isinstance(self.clip_norm, bool) or not isinstance(self.clip_norm, (int, float))
                or not math.isfinite(self.clip_norm) or self.clip_norm <= 0):
            raise UsageError(f"clip_norm must be a finite number > 0 or None, got {self.clip_norm!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, (int, np.integer)) \
                or not 0 <= self.warmup < self.epochs:
            raise UsageError(f"warmup must be an integer in [0, epochs={self.epochs}), got {self.warmup!r}")
        if self.ema is not None and (isinstance(self.ema, bool) or not isinstance(self.ema, (int, float))
                                     or not 0.0 <= self.ema < 1.0):
            raise UsageError(f"ema must be a decay in [0, 1) or None, got {self.ema!r}")
        if self.augment is not None:
            from .augment import parse_augment

            aug = parse_augment(self.augment, self.image_shape)
            object.__setattr__(self, "augment", None if aug is None else aug.spec())
            object.__setattr__(self, "image_shape", None if aug is None else aug.image_shape)
        # Stored as plain Python values so the config goes into JSON unchanged.
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "reg", float(self.reg))
        if self.checkpoint_dir is not None:
            object.__setattr__(self, "checkpoint_dir", str(self.checkpoint_dir))


def positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise UsageError(f"{name} must be an integer >= 1, got {value!r}")
