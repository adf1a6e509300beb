"""``feature-transform``: a change of coordinates can make a linear classifier sufficient.

Two classes on concentric rings cannot be split by a line in (x, y); in polar coordinates
(r, theta) the rings become two vertical bands and a line at r = const splits them.  The same
linear classifier (softmax, one ``Linear`` layer) is trained in both spaces; its boundary is
drawn in both, the polar one mapped back to the input plane, where it is a circle.
"""

from __future__ import annotations

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

__all__ = ["rings", "to_polar", "fit_feature_transform", "plot_feature_transform"]


def rings(n: int = 300, noise: float = 0.05, seed: int | np.random.Generator = 0
          ) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric rings (radii 0.5 and 1.0): ``x`` ``(n, 2)`` float64, ``y`` ``(n,)`` int64."""
    data = make_toy("circle", n=n, noise=noise, seed=seed, n_classes=2)
    return data.x, data.y


def to_polar(x: np.ndarray) -> np.ndarray:
    """``(N, 2)`` points (x, y) -> ``(N, 2)`` float64 (r, theta), theta in (-pi, pi]."""
    x = check_points(x)
    return np.stack([np.hypot(x[:, 0], x[:, 1]), np.arctan2(x[:, 1], x[:, 0])], axis=1)


def fit_feature_transform(x: np.ndarray, y: np.ndarray, *, steps: int = 400,
                          seed: int = 0) -> tuple[nn.Linear, nn.Linear]:
    """Train one linear softmax classifier on (x, y) and one on (r, theta).

    Returns:
        ``(model_xy, model_polar)``, two float64 ``Linear(2, C)`` layers.
    """
    x = check_points(x)
    y = check_labels(y, len(x))
    n_classes = int(y.max()) + 1
    models = []
    for offset, features in enumerate((x, to_polar(x))):
        model = nn.Linear(2, n_classes, init="xavier", rng=seed + offset, dtype="float64")
        models.append(fit(model, features, y, steps=steps, lr=0.05, seed=seed))
    return models[0], models[1]


def plot_feature_transform(x: np.ndarray, y: np.ndarray, model_xy: nn.Module,
                           model_polar: nn.Module) -> Figure:
    """The data and each classifier's boundary in the input plane and in polar coordinates.

    Args:
        x: ``(N, 2)`` points; y: ``(N,)`` class indices.
        model_xy: classifier of (x, y); model_polar: classifier of ``to_polar(x)``.

    Returns:
        The Figure: left the input plane (the (x, y) classifier's boundary solid, the polar one's
        mapped back dashed), right the (r, theta) plane with the polar classifier's boundary.
        The scatter of each panel has gid ``"points"``.
    """
    x = check_points(x)
    y = check_labels(y, len(x))
    polar = to_polar(x)
    colors = [CLASS_COLORS[k % len(CLASS_COLORS)] for k in y]
    fig = new_figure(9.0, 4.2)
    ax_xy, ax_polar = fig.subplots(1, 2)

    gx, gy, grid = grid_over(x, steps=250, margin=0.1)
    for model, space, style in ((model_xy, grid, "-"), (model_polar, to_polar(grid), "--")):
        scores = predict_scores(model, space)
        margin = (scores[:, 1] - scores[:, 0]).reshape(gx.shape)
        ax_xy.contour(gx, gy, margin, levels=[0.0], colors="k", linestyles=style, linewidths=1.5)
    ax_xy.scatter(x[:, 0], x[:, 1], c=colors, s=10, gid="points")
    ax_xy.set_aspect("equal")
    ax_xy.set_title(f"input (x, y): linear accuracy {accuracy(model_xy, x, y):.0%}\n"
                    "solid: boundary learnt in (x, y); dashed: learnt in (r, theta)", fontsize=9)
    ax_xy.set_xlabel("x")
    ax_xy.set_ylabel("y")

    gr, gt, pgrid = grid_over(polar, steps=250, margin=0.05)
    scores = predict_scores(model_polar, pgrid)
    ax_polar.contour(gr, gt, (scores[:, 1] - scores[:, 0]).reshape(gr.shape), levels=[0.0],
                     colors="k", linestyles="--", linewidths=1.5)
    ax_polar.scatter(polar[:, 0], polar[:, 1], c=colors, s=10, gid="points")
    ax_polar.set_title(f"polar (r, theta): linear accuracy {accuracy(model_polar, polar, y):.0%}",
                       fontsize=9)
    ax_polar.set_xlabel("r")
    ax_polar.set_ylabel("theta")
    fig.suptitle("A feature transform makes the rings linearly separable")
    return fig
