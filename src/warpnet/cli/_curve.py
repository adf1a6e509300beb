"""The training-curve PNG of a run folder, drawn by ``warpnet.viz.plot_history``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..io.atomic import atomic_write


def write_training_curve(history: Any, path: Path, title: str | None = None) -> None:
    """Write the loss and accuracy curves of ``history`` (a ``warpnet.train.History``) as a PNG,
    atomically, so an interrupted write never leaves a broken image."""
    from ..viz import plot_history

    fig = plot_history(history, title=title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    atomic_write(path, buffer.getvalue())
