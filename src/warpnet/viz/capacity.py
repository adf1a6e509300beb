"""``capacity``: more hidden units bend the decision boundary more; L2 regularization straightens it.

Two rows of decision regions on the same 2-D data (three interleaved spiral arms): a two-layer
ReLU net with 3, 6 and 20 hidden units, then the 20-unit net with L2 strength 0.001, 0.01 and 0.1
(the lecture's classify2d panels).  Every net starts from the same seed and trains the same number
of full-batch Adam steps.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from .. import nn
from ..data import make_toy
from ._common import (
    CLASS_COLORS,
    accuracy,
    check_labels,
    check_points,
    fit,
    grid_over,
    new_figure,
    predict_scores,
)

__all__ = ["HIDDEN_SIZES", "L2_STRENGTHS", "capacity_data", "fit_capacity", "plot_capacity"]

HIDDEN_SIZES = (3, 6, 20)
L2_STRENGTHS = (0.001, 0.01, 0.1)


def capacity_data(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three spiral arms with noise 0.05, scaled to radius 4: ``x`` ``(n, 2)`` float64, ``y``
    ``(n,)`` int64.

    The scale matters for the L2 row: on the unit disc the net needs weights so large that
    strength 0.1 flattens it to one class; at radius 4 the three strengths show the gradual
    smoothing the lecture shows.
    """
    data = make_toy("spiral", n=n, noise=0.05, seed=seed, n_classes=3)
    return 4.0 * data.x, data.y


def fit_capacity(x: np.ndarray, y: np.ndarray, *, steps: int = 800, seed: int = 0,
                 hidden_sizes: tuple[int, ...] = HIDDEN_SIZES,
                 strengths: tuple[float, ...] = L2_STRENGTHS,
                 ) -> dict[str, nn.Sequential]:
    """Train one net per panel.

    Returns:
        ``{panel title: trained float64 model}``: first the hidden sizes (L2 strength 0), then
        the strengths with ``max(hidden_sizes)`` units, in that order.
    """
    x = check_points(x)
    y = check_labels(y, len(x))
    C = int(y.max()) + 1
    runs = [(f"{h} hidden units", h, 0.0) for h in hidden_sizes]
    runs += [(f"{max(hidden_sizes)} units, L2 {s:g}", max(hidden_sizes), s) for s in strengths]
    models = {}
    for title, hidden, reg in runs:
        model = nn.mlp([2, hidden, C], rng=seed, dtype="float64")
        models[title] = fit(model, x, y, steps=steps, lr=0.02, reg=reg, seed=seed)
    return models


def plot_capacity(models: Mapping[str, nn.Module], x: np.ndarray, y: np.ndarray,
                  columns: int = 3) -> Figure:
    """Decision regions of each model over the data, one panel per model.

    Args:
        models: ``{panel title: classifier of 2-D points}``, drawn in order, ``columns`` per row.
        x: ``(N, 2)`` points; y: ``(N,)`` class indices.

    Returns:
        The Figure; each panel's filled regions come from the model's predictions on a grid and
        its title gives the training accuracy.
    """
    if not models:
        raise ValueError("models is empty: nothing to draw")
    x = check_points(x)
    y = check_labels(y, len(x))
    rows = -(-len(models) // columns)
    fig = new_figure(3.2 * columns, 3.0 * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False).ravel())
    gx, gy, grid = grid_over(x, steps=160, margin=0.1)
    colors = [CLASS_COLORS[k % len(CLASS_COLORS)] for k in y]
    for ax, (title, model) in zip(axes, models.items(), strict=False):
        scores = predict_scores(model, grid)
        C = scores.shape[1]
        ax.contourf(gx, gy, scores.argmax(axis=1).reshape(gx.shape), levels=np.arange(C + 1) - 0.5,
                    colors=CLASS_COLORS[:C], alpha=0.25)
        ax.scatter(x[:, 0], x[:, 1], c=colors, s=6, edgecolors="none")
        ax.set_title(f"{title}\ntrain accuracy {accuracy(model, x, y):.0%}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(models):]:
        ax.set_visible(False)
    fig.suptitle("Capacity and regularization: decision regions of a two-layer ReLU net")
    return fig
