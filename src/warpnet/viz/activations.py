"""``activations``: the six activation functions and their derivatives, both taken from the engine.

The curve is the layer's ``forward``; the derivative is its ``backward`` applied to a gradient of
ones, so the figure shows exactly what the network computes, not a textbook formula.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import nn
from ._common import new_figure

__all__ = ["ACTIVATION_PANELS", "activation_curves", "plot_activations"]

# (title, registered activation name, constructor keyword arguments)
ACTIVATION_PANELS: list[tuple[str, str, dict[str, float]]] = [
    ("sigmoid", "sigmoid", {}),
    ("tanh", "tanh", {}),
    ("ReLU", "relu", {}),
    ("leaky ReLU (0.2)", "leaky_relu", {"negative_slope": 0.2}),
    ("softplus", "softplus", {}),
    ("ELU (alpha=1)", "elu", {"alpha": 1.0}),
]


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
    for _, name, kwargs in ACTIVATION_PANELS:
        layer = nn.ACTIVATIONS.get(name)(**kwargs)
        value = np.array(layer.forward(col))[:, 0]
        slope = np.array(layer.backward(np.ones_like(col)))[:, 0]
        curves[name] = (value, slope)
    return curves


def plot_activations(x: np.ndarray | None = None) -> Figure:
    """Six panels, one per activation: f(x) (solid) and f'(x) (dashed).

    Args:
        x: the inputs to draw at (default 401 points in [-4, 4]).

    Returns:
        The Figure; each panel's lines carry the gids ``"value"`` and ``"derivative"``.
    """
    x = np.linspace(-4.0, 4.0, 401) if x is None else np.asarray(x, dtype=np.float64)
    curves = activation_curves(x)
    fig = new_figure(9.0, 5.2)
    axes = fig.subplots(2, 3, sharex=True)
    for ax, (title, name, _) in zip(axes.ravel(), ACTIVATION_PANELS, strict=True):
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
