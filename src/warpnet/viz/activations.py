"""``activations``: every registered activation and its derivative, both taken from the engine.

The curve is the layer's ``forward``; the derivative is its ``backward`` applied to a gradient of
ones, so the figure shows exactly what the network computes, not a textbook formula.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import nn
from ._common import new_figure

__all__ = ["activation_panels", "activation_curves", "plot_activations"]


def activation_panels() -> list[tuple[str, str]]:
    """``(title, registered name)`` of each panel: one per activation in ``nn.ACTIVATIONS``, in
    registration order, each with its constructor's defaults."""
    return [(cls.title or name, name) for name, cls in nn.ACTIVATIONS.items()]


def activation_curves(x: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Value and derivative of each activation at the points ``x``.

    Args:
        x: 1-D array of finite inputs (converted to float64, not modified).

    Returns:
        ``{registered name: (f(x), f'(x))}``, each ``(len(x),)`` float64, computed by the engine's
        layers: ``forward(x)`` and ``backward(ones)``.

    Raises:
        ValueError: ``x`` is not a non-empty finite 1-D array.
    """
    x = np.array(x, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"x must be a non-empty finite 1-D array, got shape {x.shape}")
    col = x[:, None]  # layers take (N, D) batches
    curves = {}
    for _, name in activation_panels():
        layer = nn.ACTIVATIONS.get(name)()
        value = np.array(layer.forward(col))[:, 0]
        slope = np.array(layer.backward(np.ones_like(col)))[:, 0]
        curves[name] = (value, slope)
    return curves


def plot_activations(x: np.ndarray | None = None) -> Figure:
    """One panel per registered activation: f(x) (solid) and f'(x) (dashed).

    Args:
        x: the inputs to draw at (default 401 points in [-4, 4]).

    Returns:
        The Figure; each panel's lines carry the gids ``"value"`` and ``"derivative"``.
    """
    x = np.linspace(-4.0, 4.0, 401) if x is None else np.asarray(x, dtype=np.float64)
    curves = activation_curves(x)
    panels = activation_panels()
    cols = 4 if len(panels) > 6 else 3
    rows = -(-len(panels) // cols)
    fig = new_figure(3.0 * cols, 2.6 * rows)
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for ax, (title, name) in zip(axes.ravel(), panels, strict=False):
        value, slope = curves[name]
        ax.axhline(0.0, color="0.8", lw=0.8)
        ax.axvline(0.0, color="0.8", lw=0.8)
        ax.plot(x, value, color="#0072B2", lw=2, label="f(x)", gid="value")
        ax.plot(x, slope, color="#D55E00", lw=1.5, ls="--", label="f'(x)", gid="derivative")
        ax.set_title(title)
        ax.set_ylim(-1.6, 4.1)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper left")
    fig.suptitle("Activation functions and their derivatives (forward and backward of the engine)")
    return fig
