"""The training-curve PNG of a run folder: loss and accuracy per epoch."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..io_atomic import atomic_write


def write_training_curve(history: Any, path: Path) -> None:
    """Plot loss (left) and train/validation accuracy (right) per epoch into a PNG at ``path``.

    ``history`` is a ``warpnet.train.History``; missing values (no validation split) are skipped.
    """
    # The Agg canvas directly: no pyplot state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    records = history.records
    epochs = [r["epoch"] for r in records]
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, keys, title in ((ax_loss, (("loss", "train"), ("val_loss", "validation")), "loss"),
                            (ax_acc, (("train_accuracy", "train"), ("val_accuracy", "validation")),
                             "accuracy")):
        for key, label in keys:
            points = [(e, r.get(key)) for e, r in zip(epochs, records, strict=True)
                      if r.get(key) is not None]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    atomic_write(path, buffer.getvalue())
