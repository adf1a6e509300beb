"""Learning-rate schedules: set ``optimizer.lr`` from the epoch count."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..registry import Registry
from .optimizer import Optimizer
from .optimizer import check_number as _number


class LRSchedule:
    """Sets ``optimizer.lr`` from the epoch count; call ``step()`` once at the end of each epoch."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a warpnet Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)

    def state_dict(self) -> dict[str, Any]:
        return {"base_lr": self.base_lr, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned; ValueError/TypeError name what does not fit."""
        if not isinstance(state, dict):
            raise TypeError(f"state must be the dict of a schedule's state_dict(), got "
                            f"{type(state).__name__}")
        base_lr, epoch = state.get("base_lr"), state.get("epoch")
        if isinstance(base_lr, bool) or not isinstance(base_lr, (int, float)) \
                or not math.isfinite(base_lr) or base_lr <= 0:
            raise ValueError(f"state['base_lr'] must be a finite number > 0, got {base_lr!r}")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"state['epoch'] must be an integer >= 0, got {epoch!r}")
        self.base_lr = float(base_lr)
        self.epoch = epoch
        self.optimizer.lr = self.lr_at(self.epoch)


class StepLR(LRSchedule):
    """``lr = base_lr * gamma ** (epoch // step_size)``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size!r}")
        self.step_size = step_size
        self.gamma = _number("gamma", gamma, 0.0, 1.0, lo_open=True, hi_open=False)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineLR(LRSchedule):
    """Linear warm-up for ``warmup`` epochs, then cosine annealing over the remaining epochs::

        epoch < warmup:  lr = base_lr * (epoch + 1) / (warmup + 1)
        afterwards:      lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T)) / 2,
                         t = epoch - warmup, T = t_max - warmup (eta_min once t >= T)

    ``epoch`` counts the completed epochs, so the first epoch runs at ``lr_at(0)`` (set on
    construction).  Without warm-up this is ``torch.optim.lr_scheduler.CosineAnnealingLR``.

    Raises:
        ValueError: t_max < 1, warmup outside [0, t_max), eta_min outside [0, base_lr].
    """

    def __init__(self, optimizer: Optimizer, t_max: int, eta_min: float = 0.0, warmup: int = 0) -> None:
        super().__init__(optimizer)
        if isinstance(t_max, bool) or not isinstance(t_max, int) or t_max < 1:
            raise ValueError(f"t_max must be a positive integer, got {t_max!r}")
        if isinstance(warmup, bool) or not isinstance(warmup, int) or not 0 <= warmup < t_max:
            raise ValueError(f"warmup must be an integer in [0, t_max={t_max}), got {warmup!r}")
        self.t_max = t_max
        self.warmup = warmup
        self.eta_min = _number("eta_min", eta_min, 0.0, self.base_lr, hi_open=False)
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:
        if epoch < self.warmup:
            return self.base_lr * (epoch + 1) / (self.warmup + 1)
        span = self.t_max - self.warmup
        t = min(epoch - self.warmup, span)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / span)) / 2


SCHEDULES: Registry[Callable[..., LRSchedule]] = Registry("learning-rate schedule")
SCHEDULES.register("step")(StepLR)
SCHEDULES.register("cosine")(CosineLR)
