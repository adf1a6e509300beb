"""The ``Optimizer`` base class: update rules over explicit per-parameter state.

A rule (``SGD``, ``RMSProp``, ``Adam``, one module each) is a subclass that writes its update of
one parameter as the whole-array formula, in ``update(w, dw, state)``: that is what ``step()``
runs.  On NumPy arrays the built-in rules also have a compiled twin, one loop per parameter that
reads and writes each array once where the formula makes four to ten passes; ``step()`` takes it
by default there (``fused``, as PyTorch's optimizers offer), and the tests hold the two equal.

Every optimizer keeps one dict of state arrays per parameter (e.g. the velocity of momentum);
``state_dict()`` returns that state and the hyper-parameters, so saving and resuming a run is
saving that dict.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend
from ..backend import Array, array_namespace
from ..checks import check_fused
from ..nn.module import Parameter
from ..registry import Registry

OPTIMIZERS: Registry[type[Optimizer]] = Registry("optimizer")


def check_number(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False,
                 hi_open: bool = True) -> float:
    """``value`` as a float if it is a finite number in the interval, else ValueError naming it."""
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi))
    if not ok:
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must be a number in {left}{lo}, {hi}{right}, got {value!r}")
    return float(value)


def flush_subnormals(x: Array) -> Array:
    """Set the values of ``x`` below the dtype's smallest normal number (in magnitude) to 0, in
    place; returns ``x``.

    A running average of a gradient that is zero in most steps (a weight of a pixel that is
    blank in almost every image) decays geometrically into subnormal floats, where arithmetic is
    some 100x slower on x86 and where a decay factor close to 1 rounds back to the same value, so
    it stays there; under an adaptive rule with an L2 penalty such a weight itself shrinks
    geometrically, and a subnormal weight slows every matrix product it is in.  Below that size
    a value changes no update and no output anyway.
    """
    xp = array_namespace(x)
    # In place, by a mask: half the time of building a new array with ``where``.
    x[xp.abs(x) < xp.finfo(x.dtype).smallest_normal] = 0.0
    return x


class Optimizer:
    """Base class.  Subclasses implement ``update(w, dw, state)``, the rule for one array.

    Args:
        params: the parameters to update (e.g. ``model.parameters()``).
        lr: learning rate, > 0 (default: the class's ``default_lr``).
        weight_decay: adds ``weight_decay * w`` to each gradient before the update (PyTorch's
            coupled weight decay).  The lecture's L2 penalty on weights only is ``warpnet.nn.L2``.
        fused: how ``step()`` runs the rule.  False: the formula (``update``) on any array
            library.  None (default): on NumPy float arrays, the rule's compiled loop from
            ``warpnet._fast`` where it has one (the built-in rules, numba installed), else the
            formula.  True: as None, but refuses parameters that are not NumPy arrays and a
            missing numba.  Both give the same numbers up to rounding.

    Class attributes read by the trainer, the estimators and the command line:
        default_lr: the learning rate used when none is given.
        takes_momentum: whether the rule has a ``momentum`` argument (and ``default_momentum``,
            what the trainer and the command line use when none is given).
        state_keys: names of the per-parameter state arrays (e.g. the velocity of momentum).

    Raises:
        ValueError: empty ``params``, a hyper-parameter out of range (named in the message), or
            ``fused=True`` where the compiled loops cannot run.
        TypeError: an element of ``params`` is not a ``Parameter``; ``fused`` not None/True/False.
    """

    default_lr: float = 1e-3
    takes_momentum: bool = False
    default_momentum: float = 0.0
    state_keys: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Parameter], lr: float | None = None,
                 weight_decay: float = 0.0, fused: bool | None = None) -> None:
        try:
            self.params = list(params)
        except TypeError:
            raise TypeError(f"params must be an iterable of Parameters (e.g. model.parameters()), "
                            f"got {type(params).__name__}") from None
        if not self.params:
            raise ValueError("params is empty: the optimizer has nothing to update")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"params[{i}] must be a warpnet Parameter, got {type(p).__name__}")
        self.lr = check_number("lr", self.default_lr if lr is None else lr, 0.0, math.inf, lo_open=True)
        self.weight_decay = check_number("weight_decay", weight_decay, 0.0, math.inf)
        self.state: list[dict[str, Array]] = [{} for _ in self.params]
        self.steps = 0
        self.fused = check_fused(fused)
        if fused and not backend.all_numpy(p.value for p in self.params):
            raise ValueError("fused=True needs parameters that are NumPy arrays; use fused=None or "
                             "False for other array libraries")

    @classmethod
    def defaults(cls) -> dict[str, float]:
        """The hyper-parameters a name alone stands for: ``lr``, and ``momentum`` where the rule
        takes one (e.g. ``{"lr": 0.05, "momentum": 0.9}`` for SGD)."""
        return {"lr": cls.default_lr, **({"momentum": cls.default_momentum} if cls.takes_momentum else {})}

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter in place from its ``.grad`` (plus ``weight_decay * w``): the
        rule's formula, or its compiled loop (see ``fused``)."""
        if self.fused is not False and backend.all_numpy(p.value for p in self.params):
            from .._fast.step import fused_step  # the compiled loops of the built-in rules

            if fused_step(self):
                return
        self.steps += 1
        self._plain_step()

    def _plain_step(self) -> None:
        """The formula: ``update`` for each parameter (``self.steps`` already counts this step)."""
        for p, state in zip(self.params, self.state, strict=True):
            self.init_state(p, state)
            dw = p.grad
            if self.weight_decay:
                dw = dw + self.weight_decay * p.value
            self.update(p.value, dw, state)

    def init_state(self, p: Parameter, state: dict[str, Array]) -> None:
        """Fill ``state`` with zero arrays like ``p.value`` for the keys it lacks."""
        for key in self.state_keys:
            if key not in state:
                state[key] = array_namespace(p.value).zeros_like(p.value)

    def update(self, w: Array, dw: Array, state: dict[str, Array]) -> None:
        """Update the weights ``w`` in place from their gradient ``dw`` and the state arrays (all
        of one shape); the state may be updated in place or replaced in the dict."""
        raise NotImplementedError

    # -- saving ------------------------------------------------------------------------------
    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters, the step count and the per-parameter state arrays (not copies)."""
        return {"type": type(self).__name__, "hyperparameters": self.hyperparameters(),
                "steps": self.steps, "state": [dict(s) for s in self.state]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (arrays are copied into this optimizer's namespace).

        The hyper-parameters pass the constructor's checks again (a checkpoint may have been
        edited or damaged).

        Raises:
            TypeError: ``state`` is not a dict.
            ValueError: a key missing or of the wrong kind, another optimizer's state, a
                hyper-parameter the constructor refuses (named), or state arrays that do not fit.
        """
        if not isinstance(state, dict):
            raise TypeError(f"state must be the dict of an optimizer's state_dict(), got "
                            f"{type(state).__name__}")
        missing = [k for k in ("type", "hyperparameters", "steps", "state") if k not in state]
        if missing:
            raise ValueError(f"state lacks {missing}: not the dict of an optimizer's state_dict()")
        if state["type"] != type(self).__name__:
            raise ValueError(f"state is for optimizer {state['type']!r}, not {type(self).__name__}")
        per_param, hyper, steps = state["state"], state["hyperparameters"], state["steps"]
        if not isinstance(hyper, dict):
            raise ValueError(f"state['hyperparameters'] must be a dict, got {type(hyper).__name__}")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"state['steps'] must be an integer >= 0, got {steps!r}")
        if not isinstance(per_param, (list, tuple)) or not all(isinstance(s, dict) for s in per_param):
            raise ValueError("state['state'] must be a list of dicts of arrays, one per parameter")
        if len(per_param) != len(self.params):
            raise ValueError(f"state holds {len(per_param)} parameters, the optimizer has "
                             f"{len(self.params)}")
        hyper = {key: tuple(value) if isinstance(value, list) else value for key, value in hyper.items()}
        # A schedule may have set lr to 0 (a warm-up's first epoch), which a constructor refuses.
        lr = check_number("lr", hyper["lr"], 0.0, math.inf) if "lr" in hyper else None
        try:  # the constructor's checks, naming the value
            checked = type(self)(self.params, **{**hyper, "lr": lr or None})
        except TypeError as err:
            raise ValueError(f"state['hyperparameters'] do not fit {type(self).__name__}: {err}") from None
        for key in hyper:
            setattr(self, key, lr if key == "lr" else getattr(checked, key))
        self.steps = int(steps)
        for p, saved, own in zip(self.params, per_param, self.state, strict=True):
            own.clear()
            xp = array_namespace(p.value)
            for key, value in saved.items():
                arr = xp.asarray(backend.to_numpy(value), device=backend.device(p.value))
                if tuple(arr.shape) != p.shape:
                    raise ValueError(f"optimizer state {key!r} has shape {tuple(arr.shape)}, "
                                     f"the parameter has {p.shape}")
                own[key] = xp.astype(arr, p.value.dtype)


def optimizer(name: str, params: Iterable[Parameter], **kwargs: Any) -> Optimizer:
    """An optimizer from its registered name (e.g. "sgd", "rmsprop", "adam")."""
    return OPTIMIZERS.get(name)(params, **kwargs)
