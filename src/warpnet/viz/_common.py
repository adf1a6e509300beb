"""Shared pieces of the figure modules: an Agg figure that never touches pyplot's global state,
PNG rendering, a short explicit training loop for the small demos, and decision-region grids.

Every figure is a ``matplotlib.figure.Figure`` attached to its own ``FigureCanvasAgg``: nothing is
registered with ``pyplot``, so there is nothing to close and no figure leaks between calls, and
the interactive backend of the user's session is never changed.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import nn
from ..backend import as_generator
from ..io.atomic import atomic_write
from ..optim import SGD, Adam
from ..train.step import make_step

__all__ = ["new_figure", "png_bytes", "save_png", "fit", "predict_scores", "accuracy",
           "grid_over", "CLASS_COLORS", "check_points", "check_labels"]

# One colour per class, readable on white and for the common colour-vision deficiencies
# (the Okabe-Ito palette).
CLASS_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442",
                "#000000"]


def new_figure(width: float, height: float) -> Figure:
    """A Figure of ``width`` x ``height`` inches rendered by Agg, independent of ``pyplot``."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, dpi: int = 80) -> bytes:
    """The figure as PNG file content (no timestamp in the metadata, so reruns give equal bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def save_png(fig: Figure, path: str | os.PathLike[str], dpi: int = 80) -> Path:
    """Write ``fig`` as a PNG file at ``path`` atomically (its folder must exist).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        TypeError: ``fig`` is not a matplotlib Figure.
        OSError: the file cannot be written (an existing file is left untouched).
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib.figure.Figure, got {type(fig).__name__}")
    target = Path(path)
    atomic_write(target, png_bytes(fig, dpi=dpi))
    return target


def check_points(x: Any, name: str = "x", dim: int = 2) -> np.ndarray:
    """``x`` as a finite float64 ``(N, dim)`` array (a copy); raises ValueError/TypeError."""
    try:
        arr = np.array(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from None
    if arr.ndim != 2 or arr.shape[1] != dim or len(arr) == 0:
        raise ValueError(f"{name} must have shape (N, {dim}) with N >= 1, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def check_labels(y: Any, n: int, name: str = "y") -> np.ndarray:
    """``y`` as an int64 ``(n,)`` array of non-negative class indices; raises ValueError."""
    arr = np.asarray(y)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer) or (n and arr.min() < 0):
        raise ValueError(f"{name} must be {n} non-negative integer class indices, "
                         f"got shape {arr.shape} dtype {arr.dtype}")
    return arr.astype(np.int64)


ModuleT = TypeVar("ModuleT", bound=nn.Module)


def fit(model: ModuleT, x: np.ndarray, y: np.ndarray, *, loss: nn.Loss | None = None,
        steps: int = 500, lr: float = 0.01, reg: float = 0.0, batch_size: int | None = None,
        seed: int | np.random.Generator = 0, on_step: Any = None, optimizer: str = "adam",
        ) -> ModuleT:
    """Train ``model`` in place with the trainer's step (``warpnet.train.make_step``).

    Args:
        model: the network; its parameters are updated in place.
        x: ``(N, D)`` float inputs in the model's dtype; y: ``(N,)`` labels or ``(N, M)`` targets.
        loss: a ``warpnet.nn`` loss (softmax cross-entropy by default).
        steps: number of parameter updates.
        lr: the learning rate.
        reg: L2 strength on the weights (not the biases).
        batch_size: minibatch size drawn with ``seed``; None uses the full batch every step.
        on_step: optional ``on_step(step, model)`` called after each update (for snapshots).
        optimizer: ``"adam"``, or ``"sgd"`` (momentum 0.9), whose updates follow the averaged
            gradient and so leave smoother weights where the data gives little signal.

    Returns:
        ``model`` itself.
    """
    loss_fn = loss if loss is not None else nn.SoftmaxCrossEntropy()
    penalty = nn.L2(reg)
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    opt = Adam(model.parameters(), lr=lr) if optimizer == "adam" \
        else SGD(model.parameters(), lr=lr, momentum=0.9)
    step_fn = make_step(model, loss_fn, opt, penalty)
    rng = as_generator(seed)
    model.train()
    for step in range(steps):
        if batch_size is None or batch_size >= len(x):
            xb, yb = x, y
        else:
            idx = rng.choice(len(x), batch_size, replace=False)
            xb, yb = x[idx], y[idx]
        step_fn(xb, yb)  # forward, loss, backward, 2 * reg * W, update
        if on_step is not None:
            on_step(step, model)
    model.eval()
    return model


def predict_scores(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Scores of ``model`` on ``x`` in eval mode, as a NumPy array in the model's dtype."""
    model.eval()
    dtype = model.parameters()[0].value.dtype
    return np.asarray(model.forward(np.ascontiguousarray(x, dtype=dtype)))


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of the rows of ``x`` whose highest score is the label in ``y``."""
    return float(np.mean(np.argmax(predict_scores(model, x), axis=1) == y))


def grid_over(x: np.ndarray, steps: int = 200, margin: float = 0.25
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A regular grid covering the points ``x`` (N, 2) plus a margin.

    Returns:
        ``(gx, gy, points)``: two ``(steps, steps)`` coordinate arrays and their ``(steps**2, 2)``
        float64 points, row-major, for evaluating a model and drawing contours.
    """
    lo = x.min(axis=0) - margin * np.ptp(x, axis=0).clip(min=1e-9)
    hi = x.max(axis=0) + margin * np.ptp(x, axis=0).clip(min=1e-9)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    return gx, gy, np.stack([gx.ravel(), gy.ravel()], axis=1)
