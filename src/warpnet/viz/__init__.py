"""The lecture's pictures, drawn from real runs of the engine (matplotlib, Agg, no pyplot state).

Each ``plot_*`` function takes the trained model(s) and data it draws and returns a
``matplotlib.figure.Figure``; the ``fit_*`` helpers next to them make those models from a seed.
``make_figures(names, out_dir, ...)`` does both for the figures named in ``FIGURE_NAMES`` and
writes ``out_dir/NAME.png``; ``warpnet figures`` is its command line.  ``plot_history`` draws
the training curves of a run (``warpnet train`` writes them next to the model);
``save_png(fig, path)`` writes any of these figures atomically.

Figures are rendered by their own Agg canvas: importing this package never changes pyplot's
backend, and no figure is registered with pyplot, so nothing needs closing.
"""

from __future__ import annotations

from ._common import save_png
from .activations import plot_activations
from .capacity import plot_capacity
from .feature_transform import plot_feature_transform
from .image_features import plot_image_features
from .loss_landscape import plot_loss_landscape
from .make import ANIMATION_NAME, FIGURE_NAMES, make_figures
from .space_warp import animate_space_warp, plot_space_warp
from .templates import plot_templates
from .training import load_history, plot_history
from .universal import plot_universal_approximation

__all__ = [
    "FIGURE_NAMES",
    "ANIMATION_NAME",
    "make_figures",
    "plot_templates",
    "plot_feature_transform",
    "plot_image_features",
    "plot_activations",
    "plot_space_warp",
    "animate_space_warp",
    "plot_capacity",
    "plot_universal_approximation",
    "plot_loss_landscape",
    "plot_history",
    "load_history",
    "save_png",
]
