"""What a playground session is configured with, validated at the boundary.

The page sends a plain dict (the same one it keeps in its URL); :func:`parse_settings` checks every
field against the caps below and against the engine's registries, and returns a frozen
:class:`Settings`.  The choices the page offers (activations, losses, optimizers, data sets and their
class counts) are read from those registries by :func:`choices`, so the page never carries its own
copy of the names.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from ..data import TOY_CLASSIFICATION
from ..nn import ACTIVATIONS, LOSSES
from ..optim import OPTIMIZERS

MAX_POINTS = 10_000
MAX_LAYERS = 8
MAX_UNITS = 256
MAX_CLASSES = 5
WARP_MODES = ("units", "pca")


@cache
def classification_losses() -> tuple[str, ...]:
    """The registered losses that train on integer class labels (softmax and SVM, not MSE).

    Found by asking each loss to score a tiny labelled batch rather than by listing names, so a
    classification loss added to the registry shows up in the page without touching this module.
    """
    scores = np.zeros((2, 3), dtype=np.float32)
    labels = np.array([0, 2], dtype=np.int64)
    names = []
    for name in LOSSES.names():
        try:
            LOSSES.get(name)()(scores, labels)
        except (TypeError, ValueError):
            continue
        names.append(name)
    return tuple(names)


def optimizer_takes_momentum(name: str) -> bool:
    """Whether the registered optimizer ``name`` takes momentum (its class says so: SGD does)."""
    return OPTIMIZERS.get(name).takes_momentum


@dataclass(frozen=True)
class Settings:
    """One session's data, network and training settings (all JSON-able).

    Data: ``dataset`` (a toy set name), ``classes`` (2..5 where the set allows), ``noise`` (0..1),
    ``points`` (number generated, 10..10,000), ``test_share`` (held-out fraction, 0..0.9), ``seed``.
    Network: ``hidden`` (units per hidden layer, 0..8 layers of 1..256), ``activations`` (one
    registered name per hidden layer), ``loss``, ``l2`` (penalty strength on weights), ``dropout``.
    Training: ``optimizer``, ``lr``, ``momentum`` (used by optimizers that take one), ``batch``.
    Display: ``warp_layer`` (0 = input space, k = output of hidden layer k) and ``warp_mode``
    ("units": its first two units, "pca": its 2-D principal-component projection).
    """

    dataset: str = "spiral"
    classes: int = 3
    noise: float = 0.05
    points: int = 300
    test_share: float = 0.3
    seed: int = 0
    hidden: tuple[int, ...] = (32, 32)
    activations: tuple[str, ...] = ("relu", "relu")
    loss: str = "softmax"
    l2: float = 0.0
    dropout: float = 0.0
    optimizer: str = "adam"
    lr: float = 0.01
    momentum: float = 0.9
    batch: int = 32
    warp_layer: int = 2
    warp_mode: str = "pca"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden"], d["activations"] = list(self.hidden), list(self.activations)
        return d

    def data_key(self) -> tuple:
        """The fields that decide the generated points (equal keys, equal points)."""
        return (self.dataset, self.classes, self.noise, self.points, self.test_share, self.seed)


_FIELDS = {f.name for f in dataclasses.fields(Settings)}


def _int(d: dict, name: str, lo: int, hi: int) -> int:
    v = d[name]
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def _float(d: dict, name: str, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False
           ) -> float:
    v = d[name]
    ok = (not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)
          and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi))
    if not ok:
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must be a number in {left}{lo}, {hi}{right}, got {v!r}")
    return float(v)


def _name(d: dict, name: str, allowed: list[str] | tuple[str, ...]) -> str:
    v = d[name]
    if not isinstance(v, str) or v not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {v!r}")
    return v


def parse_settings(raw: Any, base: Settings | None = None) -> Settings:
    """Validate a settings dict from the page; missing fields come from ``base`` (or the defaults).

    Raises:
        TypeError: ``raw`` is not a dict.
        ValueError: an unknown field, or a value outside its range or registry (the message names
            the field, what was expected and what was got).
    """
    if not isinstance(raw, dict):
        raise TypeError(f"settings must be an object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(map(str, unknown))}")
    d = {**(base or Settings()).to_dict(), **raw}

    dataset = _name(d, "dataset", list(TOY_CLASSIFICATION))
    allowed_classes = TOY_CLASSIFICATION[dataset][1]
    classes = d["classes"]
    if isinstance(classes, bool) or not isinstance(classes, int) or classes not in allowed_classes:
        raise ValueError(f"{dataset} supports classes in {list(allowed_classes)}, got {classes!r}")
    hidden = d["hidden"]
    if not isinstance(hidden, list | tuple) or len(hidden) > MAX_LAYERS:
        raise ValueError(f"hidden must list at most {MAX_LAYERS} layer sizes, got {hidden!r}")
    for units in hidden:
        if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= MAX_UNITS:
            raise ValueError(f"each hidden layer needs 1 to {MAX_UNITS} units, got {units!r}")
    acts = d["activations"]
    if not isinstance(acts, list | tuple) or len(acts) != len(hidden):
        raise ValueError(f"activations must name one activation per hidden layer ({len(hidden)}), "
                         f"got {acts!r}")
    for act in acts:
        if not isinstance(act, str) or act not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS.names())}, got {act!r}")
    warp_layer = _int(d, "warp_layer", 0, MAX_LAYERS)

    return Settings(
        dataset=dataset,
        classes=classes,
        noise=_float(d, "noise", 0.0, 1.0),
        points=_int(d, "points", 10, MAX_POINTS),
        test_share=_float(d, "test_share", 0.0, 0.9),
        seed=_int(d, "seed", 0, 2**31 - 1),
        hidden=tuple(hidden),
        activations=tuple(acts),
        loss=_name(d, "loss", classification_losses()),
        l2=_float(d, "l2", 0.0, 1.0),
        dropout=_float(d, "dropout", 0.0, 0.9),
        optimizer=_name(d, "optimizer", OPTIMIZERS.names()),
        lr=_float(d, "lr", 0.0, 10.0, lo_open=True),
        momentum=_float(d, "momentum", 0.0, 1.0, hi_open=True),
        batch=_int(d, "batch", 1, MAX_POINTS),
        # A warp layer past the last hidden layer shows the last one (the page may shrink the net).
        warp_layer=min(warp_layer, len(hidden)),
        warp_mode=_name(d, "warp_mode", WARP_MODES),
    )


def choices() -> dict[str, Any]:
    """What the page may offer, read from the registries (sent to the page when it connects)."""
    return {
        "datasets": {name: list(spec[1]) for name, spec in TOY_CLASSIFICATION.items()},
        "activations": ACTIVATIONS.names(),
        "losses": list(classification_losses()),
        "optimizers": {name: {"momentum": optimizer_takes_momentum(name)}
                       for name in OPTIMIZERS.names()},
        "warp_modes": list(WARP_MODES),
        "limits": {"points": MAX_POINTS, "layers": MAX_LAYERS, "units": MAX_UNITS,
                   "classes": MAX_CLASSES},
        "defaults": Settings().to_dict(),
    }
