"""``universal-approximation``: a two-layer ReLU net can follow any continuous 1-D function.

The construction, unit by unit: a *step* that climbs from 0 to 1 over a short ramp of width d is
``(relu(x - a) - relu(x - a - d)) / d``, two ReLU units.  A *bump* (a tower of height h on the
interval [a, b]) is a step up at a minus a step down at b: four units,

    h/d * (relu(x - a) - relu(x - a - d) - relu(x - b) + relu(x - b - d)).

One bump per interval between knots, each as tall as the target at the interval's centre, gives a
network with 4 hidden units per bump whose output equals the target at every centre (only one
bump is non-zero there, at full height) and interpolates linearly on the ramps in between.  The
construction is a real ``warpnet.nn`` network with hand-set weights; a network of the same size
trained by gradient descent is drawn beside it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from .. import nn
from ._common import CLASS_COLORS, fit, new_figure, predict_scores

__all__ = ["default_target", "bump_network", "fit_universal", "plot_universal_approximation"]

UNITS_PER_BUMP = 4


def default_target(x: np.ndarray) -> np.ndarray:
    """The function the figure approximates: a smooth wiggle on [-1, 1]."""
    return np.sin(3.0 * x) + 0.5 * np.cos(7.0 * x) * np.exp(-x**2)


def bump_network(target: Callable[[np.ndarray], np.ndarray], knots: np.ndarray,
                 ramp: float | None = None) -> tuple[nn.Sequential, np.ndarray]:
    """The network ``Linear(1, 4K) -> ReLU -> Linear(4K, 1)`` that sums K ReLU bumps.

    Args:
        target: the function to follow, called on a float64 array.
        knots: ``(K + 1,)`` increasing interval edges; bump k covers ``[knots[k], knots[k+1]]``
            (plus a ramp of width ``ramp`` after each edge).
        ramp: width d of each step's ramp, ``0 < d < min interval / 2`` (default: a quarter of the
            narrowest interval), so every centre lies on the flat top of exactly one bump.

    Returns:
        ``(model, centres)``: the float64 network, whose hidden units come in groups of four, one
        group per bump, in the order ``relu(x-a), relu(x-a-d), relu(x-b), relu(x-b-d)``; and the
        ``(K,)`` evaluation points (interval centres shifted by d/2 onto the flat tops) where the
        output equals the target.

    Raises:
        ValueError: fewer than two knots, knots not increasing, or a ramp out of range.
    """
    knots = np.asarray(knots, dtype=np.float64)
    if knots.ndim != 1 or len(knots) < 2 or not np.all(np.diff(knots) > 0):
        raise ValueError(f"knots must be an increasing 1-D array of at least 2 edges, got {knots}")
    narrowest = float(np.min(np.diff(knots)))
    d = narrowest / 4.0 if ramp is None else float(ramp)
    if not 0.0 < d < narrowest / 2.0:
        raise ValueError(f"ramp must be in (0, {narrowest / 2}), got {ramp}")
    a, b = knots[:-1], knots[1:]
    # The top of bump k is flat on [a + d, b]; its middle is where the target is matched.
    centres = (a + d + b) / 2.0
    heights = np.asarray(target(centres), dtype=np.float64)
    K = len(a)

    # Hidden unit j computes relu(x - offset_j): weight 1, bias -offset_j.
    offsets = np.stack([a, a + d, b, b + d], axis=1).ravel()             # (4K,)
    signs = np.tile([1.0, -1.0, -1.0, 1.0], K)                           # (4K,)
    first = nn.Linear(1, UNITS_PER_BUMP * K, dtype="float64")
    last = nn.Linear(UNITS_PER_BUMP * K, 1, dtype="float64")
    model = nn.Sequential(first, nn.ReLU(), last)
    assert first.bias is not None and last.bias is not None  # Linear's default: bias=True
    first.weight.value[...] = 1.0
    first.bias.value[...] = -offsets
    last.weight.value[:, 0] = signs * np.repeat(heights, UNITS_PER_BUMP) / d
    last.bias.value[...] = 0.0
    return model, centres


def fit_universal(target: Callable[[np.ndarray], np.ndarray], hidden: int, *,
                  steps: int = 1500, seed: int = 0) -> nn.Sequential:
    """A two-layer ReLU net with ``hidden`` units trained (Adam, MSE) to follow ``target`` on [-1, 1]."""
    x = np.linspace(-1.0, 1.0, 256)[:, None]
    model = nn.mlp([1, hidden, 1], rng=seed, dtype="float64")
    return fit(model, x, target(x), loss=nn.MSE(), steps=steps, lr=0.01, seed=seed)


def plot_universal_approximation(construction: nn.Sequential, centres: np.ndarray,
                                 trained: nn.Module,
                                 target: Callable[[np.ndarray], np.ndarray] = default_target,
                                 x_range: tuple[float, float] = (-1.0, 1.0)) -> Figure:
    """Four panels: one bump's four ReLU units, bumps added one by one, the full construction
    with the knots, and the trained network.

    Args:
        construction, centres: from :func:`bump_network`.
        trained: any network mapping ``(N, 1)`` to ``(N, 1)``.
        target: the function both approximate.

    Returns:
        The Figure; the full construction's line has gid ``"construction"``, the trained net's
        ``"trained"``, the knot markers ``"knots"``.
    """
    out_layer = construction[2] if len(construction) == 3 else None
    if not isinstance(out_layer, nn.Linear):
        raise TypeError(f"construction must be bump_network's Sequential(Linear, ReLU, Linear), "
                        f"got {construction!r}")
    x = np.linspace(*x_range, 800)
    col = x[:, None]
    hidden = np.asarray(construction[1].forward(construction[0].forward(col)))   # (N, 4K)
    out_w = np.asarray(out_layer.weight.value)[:, 0]                             # (4K,)
    contributions = hidden * out_w                                               # (N, 4K)
    K = len(centres)
    bumps = contributions.reshape(len(x), K, UNITS_PER_BUMP).sum(axis=2)         # (N, K)

    fig = new_figure(10.0, 6.5)
    (ax_units, ax_sum), (ax_full, ax_fit) = fig.subplots(2, 2, sharex=True)
    k = K // 2
    for j in range(UNITS_PER_BUMP):
        ax_units.plot(x, contributions[:, UNITS_PER_BUMP * k + j], lw=1.2,
                      color=CLASS_COLORS[j], label=f"unit {j + 1}")
    ax_units.plot(x, bumps[:, k], color="k", lw=2, label="their sum: one bump")
    ax_units.set_title(f"bump {k + 1}: four ReLU units (weighted)", fontsize=10)
    ax_units.set_ylim(-3.0 * abs(bumps[:, k]).max() - 0.1, 3.0 * abs(bumps[:, k]).max() + 0.1)
    ax_units.legend(fontsize=7, loc="lower left")

    ax_sum.plot(x, target(x), color="0.6", lw=3, label="target")
    partial = np.cumsum(bumps, axis=1)
    for i in range(0, K, max(1, K // 6)):
        ax_sum.plot(x, partial[:, i], lw=1, color=CLASS_COLORS[i % len(CLASS_COLORS)],
                    label=f"{i + 1} bumps")
    ax_sum.set_title("bumps added one by one", fontsize=10)
    ax_sum.legend(fontsize=7, ncol=2, loc="lower left")

    ax_full.plot(x, target(x), color="0.6", lw=3, label="target")
    ax_full.plot(x, np.asarray(construction.forward(col))[:, 0], color="#0072B2", lw=1.5,
                 label=f"{K} bumps = {UNITS_PER_BUMP * K} ReLU units", gid="construction")
    ax_full.plot(centres, target(centres), "o", color="#D55E00", ms=4, label="matched points",
                 gid="knots")
    ax_full.set_title("the construction equals the target at the bump centres", fontsize=10)
    ax_full.legend(fontsize=7, loc="lower left")

    n_hidden = trained.parameters()[0].value.shape[1]
    ax_fit.plot(x, target(x), color="0.6", lw=3, label="target")
    ax_fit.plot(x, predict_scores(trained, col)[:, 0], color="#009E73", lw=1.5,
                label=f"trained net, {n_hidden} hidden units", gid="trained")
    ax_fit.set_title("gradient descent finds its own bumps", fontsize=10)
    ax_fit.legend(fontsize=7, loc="lower left")
    for ax in (ax_full, ax_fit):
        ax.set_xlabel("x")
    fig.suptitle("Universal approximation: a sum of ReLU bumps follows any continuous function")
    return fig
