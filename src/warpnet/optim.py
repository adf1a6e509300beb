"""Optimizers (update rules over explicit state) and learning-rate schedules.

Every optimizer keeps one dict of state arrays per parameter (e.g. the velocity of momentum);
``state_dict()`` returns that state and the hyper-parameters, so saving and resuming a run is
saving that dict.  Updates are made in place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from . import backend, blas, fused
from .backend import Array, array_namespace
from .nn.module import Parameter
from .registry import Registry

OPTIMIZERS: Registry[type[Optimizer]] = Registry("optimizer")


def _number(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False,
            hi_open: bool = True) -> float:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi))
    if not ok:
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must be a number in {left}{lo}, {hi}{right}, got {value!r}")
    return float(value)


def _sum_of_squares(w: Array) -> float:
    return float(backend.sum_of_squares(w))


class Optimizer:
    """Base class.  Subclasses implement ``_update(w, g, state, decay, sum_squares)``, the rule
    for one array.

    Args:
        params: the parameters to update (e.g. ``model.parameters()``).
        lr: learning rate, > 0.
        weight_decay: adds ``weight_decay * w`` to each gradient before the update (PyTorch's
            coupled weight decay).  The lecture's L2 penalty on weights only is ``warpnet.nn.L2``.
    """

    # Names of the per-parameter state arrays of this rule (e.g. the velocity of momentum).
    state_keys: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Parameter], lr: float, weight_decay: float = 0.0) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("params is empty: the optimizer has nothing to update")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"params[{i}] must be a warpnet Parameter, got {type(p).__name__}")
        self.lr = _number("lr", lr, 0.0, math.inf, lo_open=True)
        self.weight_decay = _number("weight_decay", weight_decay, 0.0, math.inf)
        self.state: list[dict[str, Array]] = [{} for _ in self.params]
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self, *, sum_squares: bool = False) -> list[float] | None:
        """Update every parameter from its gradient, in place.

        The gradient is ``.grad`` plus ``decay * w``: the lazily added part of an L2 penalty and
        the weight decay.  That part is used inside the update and never written into ``.grad``
        (which keeps the data gradient, as PyTorch's weight decay does).  The update rules are
        elementwise, so on NumPy they run block by block over cache-sized pieces of the
        parameter, its gradient and its state (``backend.blocks``): same result, each array read
        from memory once per step.  Where the update is one compiled loop (``warpnet.fused``, for
        all three rules; split over BLAS's threads for a large array) or threaded BLAS passes
        (``warpnet.blas``, for SGD) it takes whole arrays instead.

        With ``sum_squares=True`` it returns ``sum(w**2)`` of each parameter (in ``params`` order)
        as it was before the update: the value of an L2 penalty.  The compiled loops sum them in
        their own pass over the weights; elsewhere they cost a pass each (``backend.sum_of_squares``).
        """
        self.steps += 1
        size = self._block_size()
        squares: list[float] = []
        for p, state in zip(self.params, self.state, strict=True):
            g, decay = p.take_grad()
            decay += self.weight_decay
            if len(state) < len(self.state_keys):
                for key in self.state_keys:
                    state.setdefault(key, array_namespace(p.value).zeros_like(p.value))
            if size is None or not backend.is_numpy_array(g) or g.size <= size:  # in one piece
                squares.append(self._update(p.value, g, state, decay, sum_squares))
                continue
            keys = list(state)
            pieces = backend.blocks(p.value, g, *(state[k] for k in keys), size=size)
            squares.append(sum(self._update(w, gb, dict(zip(keys, parts, strict=True)), decay, sum_squares)
                               for w, gb, *parts in pieces))
        return squares if sum_squares else None

    def _update(self, w: Array, g: Array, state: dict[str, Array], decay: float,
                sum_squares: bool) -> float:
        """Update ``w`` in place from the gradient ``g + decay * w`` and the state arrays (all the
        same shape); with ``sum_squares``, return ``sum(w**2)`` from before the update (else any
        number: it is not read)."""
        raise NotImplementedError

    # Whether ``_update`` runs a compiled loop of ``warpnet.fused`` where numba is installed.
    _compiled = False

    def _block_size(self) -> int | None:
        """Elements per piece in which ``step`` updates a parameter (None: the whole array)."""
        return None if self._compiled and fused.available() else backend.BLOCK_ELEMENTS

    # -- saving ------------------------------------------------------------------------------
    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters, the step count and the per-parameter state arrays (not copies)."""
        return {"type": type(self).__name__, "hyperparameters": self.hyperparameters(),
                "steps": self.steps, "state": [dict(s) for s in self.state]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (arrays are copied into this optimizer's namespace)."""
        if state.get("type") != type(self).__name__:
            raise ValueError(f"state is for optimizer {state.get('type')!r}, not {type(self).__name__}")
        per_param = state["state"]
        if len(per_param) != len(self.params):
            raise ValueError(f"state holds {len(per_param)} parameters, the optimizer has "
                             f"{len(self.params)}")
        for key, value in state["hyperparameters"].items():
            setattr(self, key, tuple(value) if isinstance(value, list) else value)
        self.steps = int(state["steps"])
        for p, saved, own in zip(self.params, per_param, self.state, strict=True):
            own.clear()
            xp = array_namespace(p.value)
            for key, value in saved.items():
                arr = xp.asarray(backend.to_numpy(value), device=backend.device(p.value))
                if tuple(arr.shape) != p.shape:
                    raise ValueError(f"optimizer state {key!r} has shape {tuple(arr.shape)}, "
                                     f"the parameter has {p.shape}")
                own[key] = xp.astype(arr, p.value.dtype)


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    Plain: ``w -= lr * dw``.  Momentum (the lecture's update): ``v = rho * v + dw;
    w -= lr * v``.  Nesterov: ``v = rho * v + dw; w -= lr * (dw + rho * v)``.

    Args:
        momentum: rho in [0, 1).
        nesterov: use the Nesterov look-ahead (needs momentum > 0).
    """

    def __init__(self, params: Iterable[Parameter], lr: float, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = _number("momentum", momentum, 0.0, 1.0)
        if not isinstance(nesterov, bool):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        if nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = nesterov

    @property
    def state_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("velocity",) if self.momentum else ()

    def _block_size(self) -> int | None:
        # The compiled loop takes whole arrays; so does NumPy's BLAS (threaded passes).
        return None if fused.available() or blas.available() else backend.BLOCK_ELEMENTS

    def _update(self, w: Array, g: Array, state: dict[str, Array], decay: float,
                sum_squares: bool) -> float:
        # The rule below in one compiled pass over memory, where numba is installed (``warpnet.fused``).
        squares = fused.sgd(w, g, state.get("velocity"), self.lr, self.momentum, decay, self.nesterov)
        if squares is not None:
            return squares
        squares = _sum_of_squares(w) if sum_squares else 0.0
        if self.momentum == 0.0:
            if decay:
                backend.scale(w, 1.0 - self.lr * decay)  # w -= lr * decay * w, before w changes
            backend.add_scaled(w, -self.lr, g)
            return squares
        v = state["velocity"]
        backend.scale(v, self.momentum)
        backend.add_scaled(v, 1.0, g)
        if decay:
            backend.add_scaled(v, decay, w)  # v = rho * v + (g + decay * w)
        if self.nesterov:  # w -= lr * ((g + decay * w) + rho * v)
            if decay:
                backend.scale(w, 1.0 - self.lr * decay)
            backend.add_scaled(w, -self.lr, g)
            backend.add_scaled(w, -self.lr * self.momentum, v)
        else:
            backend.add_scaled(w, -self.lr, v)
        return squares

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "momentum": self.momentum, "nesterov": self.nesterov}


@OPTIMIZERS.register("rmsprop")
class RMSProp(Optimizer):
    """RMSProp: ``s = decay * s + (1 - decay) * dw**2;  w -= lr * dw / (sqrt(s) + eps)``."""

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, decay: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.decay = _number("decay", decay, 0.0, 1.0)
        self.eps = _number("eps", eps, 0.0, math.inf, lo_open=True)

    state_keys = ("square_avg",)

    _compiled = True  # ``_update`` runs a compiled loop, which takes whole arrays

    def _update(self, w: Array, g: Array, state: dict[str, Array], decay: float,
                sum_squares: bool) -> float:
        # The rule below in one compiled pass over memory, where numba is installed.
        squares = fused.rmsprop(w, g, state["square_avg"], self.lr, self.decay, self.eps, decay)
        if squares is not None:
            return squares
        squares = _sum_of_squares(w) if sum_squares else 0.0
        xp = array_namespace(g)
        if decay:
            g = g + decay * w
        s = state["square_avg"]
        s *= self.decay
        s += (1.0 - self.decay) * (g * g)
        w -= self.lr * g / (xp.sqrt(s) + self.eps)
        return squares

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "decay": self.decay, "eps": self.eps}


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba, 2015):
    ``m = b1 m + (1 - b1) dw;  v = b2 v + (1 - b2) dw**2;
    w -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)``."""

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_number("betas[0]", betas[0], 0.0, 1.0), _number("betas[1]", betas[1], 0.0, 1.0))
        self.eps = _number("eps", eps, 0.0, math.inf, lo_open=True)

    state_keys = ("exp_avg", "exp_avg_sq")

    _compiled = True  # ``_update`` runs a compiled loop, which takes whole arrays

    def _update(self, w: Array, g: Array, state: dict[str, Array], decay: float,
                sum_squares: bool) -> float:
        # The rule below in one compiled pass over memory, where numba is installed.
        squares = fused.adam(w, g, state["exp_avg"], state["exp_avg_sq"], self.lr, self.betas,
                             self.eps, self.steps, decay)
        if squares is not None:
            return squares
        squares = _sum_of_squares(w) if sum_squares else 0.0
        xp = array_namespace(g)
        if decay:
            g = g + decay * w
        b1, b2 = self.betas
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        m_hat = m / (1.0 - b1 ** self.steps)
        v_hat = v / (1.0 - b2 ** self.steps)
        w -= self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)
        return squares

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "betas": list(self.betas), "eps": self.eps}


def optimizer(name: str, params: Iterable[Parameter], **kwargs: Any) -> Optimizer:
    """An optimizer from its registered name ("sgd", "rmsprop", "adam")."""
    return OPTIMIZERS.get(name)(params, **kwargs)


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
        self.base_lr = float(state["base_lr"])
        self.epoch = int(state["epoch"])
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
    """``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / t_max)) / 2``, then eta_min."""

    def __init__(self, optimizer: Optimizer, t_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        if isinstance(t_max, bool) or not isinstance(t_max, int) or t_max < 1:
            raise ValueError(f"t_max must be a positive integer, got {t_max!r}")
        self.t_max = t_max
        self.eta_min = _number("eta_min", eta_min, 0.0, self.base_lr, hi_open=False)

    def lr_at(self, epoch: int) -> float:
        t = min(epoch, self.t_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.t_max)) / 2


SCHEDULES: Registry[type[LRSchedule]] = Registry("learning-rate schedule")
SCHEDULES.register("step")(StepLR)
SCHEDULES.register("cosine")(CosineLR)
