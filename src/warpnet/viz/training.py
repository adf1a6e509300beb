"""``training``: the loss and accuracy curves of a run, from its ``History``.

The left panel is the training objective per epoch (mean data loss plus weight penalty) and the
validation data loss; the right panel the training and validation accuracy.  A widening gap
between the two accuracy curves is overfitting; a loss that falls slowly or not at all points at
the learning rate.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..errors import DataError
from ..train.history import History
from ._common import new_figure

__all__ = ["HISTORY_FILE", "load_history", "plot_history", "digits_history"]

# The file ``warpnet train --out DIR`` writes the history to.
HISTORY_FILE = "history.json"


def load_history(source: History | dict | str | os.PathLike[str]) -> History:
    """A ``History`` from itself, its ``to_dict()``, a ``history.json`` file or a run folder.

    Raises:
        DataError: a path without a readable warpnet history (a run folder without
            ``history.json``, a file that is not a history).
        TypeError: any other kind of object.
    """
    if isinstance(source, History):
        return source
    if isinstance(source, dict):
        return History.from_dict(source)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            if not (path / HISTORY_FILE).is_file():
                raise DataError(f"run folder {str(path)!r} holds no {HISTORY_FILE} "
                                "(was it written by 'warpnet train --out'?)")
            path = path / HISTORY_FILE
        return History.load_json(path)
    raise TypeError("history must be a History, a dict, a history.json path or a run folder, "
                    f"got {type(source).__name__}")


def digits_history(epochs: int = 15, seed: int = 0) -> History:
    """A short real run: a 64-100-10 ReLU net on digits (80 % train, 20 % validation).

    ``warpnet figures`` draws this run when it is asked for the training figure without a run
    folder, so the figure always shows curves the engine actually produced.
    """
    from .. import nn
    from ..data import load_digits
    from ..train import Trainer
    from .templates import prepare_images

    data = load_digits()
    x, _ = prepare_images(data.x, 16)
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = len(x) // 5
    val, train = order[:n_val], order[n_val:]
    model = nn.mlp([x.shape[1], 100, data.n_classes], rng=seed)
    trainer = Trainer(model, "softmax", "sgd", lr=0.05, momentum=0.9, reg=1e-4, batch_size=100,
                      epochs=epochs, seed=seed, verbose=0)
    return trainer.fit(x[train], data.y[train], validation=(x[val], data.y[val]))


def _column(history: History, key: str) -> tuple[list[int], list[float]]:
    """Epochs and values of ``key`` where the value is a finite number."""
    pairs = [(r["epoch"], r[key]) for r in history.records
             if isinstance(r[key], int | float) and math.isfinite(r[key])]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def plot_history(history: History | dict | str | os.PathLike[str], title: str | None = None
                 ) -> Figure:
    """Loss and accuracy curves per epoch.

    Args:
        history: a ``History``, its dict, a ``history.json`` path or a run folder holding one.
        title: the figure title (default: "Training curves").

    Returns:
        The Figure; the lines have gids ``"loss"``, ``"val_loss"``, ``"train_accuracy"`` and
        ``"val_accuracy"`` (those with at least one finite value).

    Raises:
        DataError: no readable history, or a history with no epochs.
    """
    hist = load_history(history)
    if not hist.records:
        raise DataError("the history holds no epochs: nothing to plot")
    fig = new_figure(9.0, 3.6)
    ax_loss, ax_acc = fig.subplots(1, 2)
    styles: dict[str, tuple[Any, str, str]] = {
        "loss": (ax_loss, "#0072B2", "training objective"),
        "val_loss": (ax_loss, "#D55E00", "validation loss"),
        "train_accuracy": (ax_acc, "#0072B2", "train"),
        "val_accuracy": (ax_acc, "#D55E00", "validation"),
    }
    for key, (ax, color, label) in styles.items():
        epochs, values = _column(hist, key)
        if values:
            ax.plot(epochs, values, "o-" if len(values) < 30 else "-", color=color, ms=3,
                    label=label, gid=key)
    ax_loss.set_title("loss", fontsize=10)
    ax_acc.set_title("accuracy", fontsize=10)
    ax_acc.set_ylim(0.0, 1.02)
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.suptitle(title or "Training curves")
    return fig
