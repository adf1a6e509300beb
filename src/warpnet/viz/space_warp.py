"""``space-warp``: how one hidden layer of two ReLU units bends the plane so a line can split it.

The network is ``Linear(2, 2) -> ReLU -> Linear(2, C)``.  Three panels follow a grid of lines and
the data through it: the input space; the space after ``h = W x + b`` (an affine map: lines stay
straight); and after ``h = ReLU(W x + b)``, where everything on the negative side of an axis is
folded onto it.  In that last space the output layer is linear, so its decision boundary is a
straight line; pulled back through the network it becomes the bent boundary drawn in the input
space.  Every point drawn is computed by the plotted model's own layers.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import nn
from ..backend import as_generator
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

__all__ = ["warp_data", "warp_model", "fit_space_warp", "plot_space_warp", "animate_space_warp"]

_GRID_LINES = 11          # grid lines per direction
_SAMPLES_PER_LINE = 120   # dense enough that the ReLU fold shows as a sharp corner


def warp_data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A wedge: ``x`` ``(n, 2)`` float64, ``y`` ``(n,)`` int64.

    Points are uniform in the square [-1, 1]^2; class 1 is the wedge above the V
    ``x2 = 1.5 |x1| - 0.5``, class 0 the rest; noise of standard deviation 0.03 blurs the edges.
    No line separates a wedge from both its sides (a linear classifier gets about 80-85 %), but
    two ReLU units can: each measures how far a point lies beyond one arm of the V, and the
    wedge is where both are zero, the corner of the hidden space.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (n, 2))
    y = (x[:, 1] > 1.5 * np.abs(x[:, 0]) - 0.5).astype(np.int64)
    return x + 0.03 * rng.standard_normal((n, 2)), y


def warp_model(n_classes: int = 2, seed: int | np.random.Generator = 0) -> nn.Sequential:
    """A fresh float64 ``Linear(2, 2) -> ReLU -> Linear(2, n_classes)``."""
    rng = as_generator(seed)
    return nn.Sequential(nn.Linear(2, 2, rng=rng, dtype="float64"), nn.ReLU(),
                         nn.Linear(2, n_classes, rng=rng, dtype="float64"))


def fit_space_warp(x: np.ndarray, y: np.ndarray, *, steps: int = 600, seed: int = 0,
                   snapshots: int = 0, restarts: int = 4
                   ) -> tuple[nn.Sequential, list[dict[str, np.ndarray]]]:
    """Train :func:`warp_model` on ``(x, y)`` with full-batch Adam, keeping the best of a few
    starts.

    With only two hidden units, a start whose unit dies (never positive on the data) ends in a
    near-linear solution; on the wedge that happened for 5 of 12 seeds.  So ``restarts``
    networks train from different initial weights (all drawn from ``seed``) and the one with
    the lowest final training loss is returned.

    Args:
        steps: Adam updates per start.
        snapshots: how many copies of the chosen run's weights to keep, evenly spaced over its
            training (the first is its initial state); 0 keeps none.
        restarts: number of starts, >= 1.

    Returns:
        ``(model, states)``: the trained model and the ``state_dict`` copies.
    """
    x = check_points(x)
    y = check_labels(y, len(x))
    if isinstance(restarts, bool) or not isinstance(restarts, int) or restarts < 1:
        raise ValueError(f"restarts must be a positive int, got {restarts!r}")
    keep = set(np.linspace(0, steps, snapshots).round().astype(int)) if snapshots else set()
    rng = as_generator(seed)
    best: tuple[float, nn.Sequential, list[dict[str, np.ndarray]]] | None = None
    for _ in range(restarts):
        model = warp_model(int(y.max()) + 1, rng)
        states: list[dict[str, np.ndarray]] = []

        def snapshot(step: int, m: nn.Module, states: list = states) -> None:
            if step + 1 in keep:
                states.append({k: np.array(v) for k, v in m.state_dict().items()})

        snapshot(-1, model)
        fit(model, x, y, steps=steps, lr=0.03, seed=seed, on_step=snapshot)
        loss = float(nn.SoftmaxCrossEntropy()(predict_scores(model, x), y)[0])
        if best is None or loss < best[0]:
            best = (loss, model, states)
    assert best is not None
    return best[1], best[2]


def _grid_lines(x: np.ndarray) -> list[np.ndarray]:
    """Horizontal and vertical lines over the data's box, each ``(_SAMPLES_PER_LINE, 2)``."""
    lo, hi = x.min(axis=0) - 0.2, x.max(axis=0) + 0.2
    t = np.linspace(0.0, 1.0, _SAMPLES_PER_LINE)
    lines = []
    for c in np.linspace(lo[0], hi[0], _GRID_LINES):
        lines.append(np.stack([np.full_like(t, c), lo[1] + t * (hi[1] - lo[1])], axis=1))
    for c in np.linspace(lo[1], hi[1], _GRID_LINES):
        lines.append(np.stack([lo[0] + t * (hi[0] - lo[0]), np.full_like(t, c)], axis=1))
    return lines


def _check_model(model: nn.Module) -> None:
    layers = list(model) if isinstance(model, nn.Sequential) else []
    if len(layers) != 3 or not isinstance(layers[0], nn.Linear) or layers[0].in_features != 2 \
            or layers[0].out_features != 2 or not isinstance(layers[2], nn.Linear):
        raise ValueError("model must be Sequential(Linear(2, 2), activation, Linear(2, C)), "
                         f"got {model!r}")


def _linear(model: nn.Sequential, i: int) -> nn.Linear:
    """Layer ``i`` (0 or 2) of a model that ``_check_model`` accepted: a ``Linear``."""
    layer = model[i]
    assert isinstance(layer, nn.Linear), layer
    return layer


def _hidden(model: nn.Sequential, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pre-activation ``W x + b`` and activation of the hidden layer for ``(N, 2)`` points."""
    dtype = _linear(model, 0).weight.value.dtype
    pre = np.array(model[0].forward(np.ascontiguousarray(points, dtype=dtype)))
    return pre, np.array(model[1].forward(pre))


def _limits(arrays: list[np.ndarray]) -> tuple[tuple[float, float], tuple[float, float]]:
    stacked = np.concatenate(arrays)
    lo, hi = stacked.min(axis=0), stacked.max(axis=0)
    pad = 0.08 * np.maximum(hi - lo, 1e-6)
    return (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])


def _draw(fig: Figure, model: nn.Sequential, x: np.ndarray, y: np.ndarray,
          limits: list | None = None, title: str = "") -> None:
    colors = [CLASS_COLORS[k % len(CLASS_COLORS)] for k in y]
    lines = _grid_lines(x)
    pre_x, act_x = _hidden(model, x)
    warped = [_hidden(model, line) for line in lines]
    axes = fig.subplots(1, 3)

    # Panel 1: input space, decision regions and the bent boundary.
    ax = axes[0]
    gx, gy, grid = grid_over(x, steps=150, margin=0.1)
    scores = predict_scores(model, grid)
    ax.contourf(gx, gy, scores.argmax(axis=1).reshape(gx.shape), alpha=0.15,
                colors=CLASS_COLORS[:scores.shape[1]], levels=np.arange(scores.shape[1] + 1) - 0.5)
    if scores.shape[1] == 2:
        ax.contour(gx, gy, (scores[:, 1] - scores[:, 0]).reshape(gx.shape), levels=[0.0],
                   colors="k", linewidths=1.5)
    for line in lines:
        ax.plot(line[:, 0], line[:, 1], color="0.75", lw=0.6, gid="grid")
    ax.scatter(x[:, 0], x[:, 1], c=colors, s=8, zorder=3, gid="points")
    ax.set_title(f"input x (accuracy {accuracy(model, x, y):.0%})", fontsize=9)

    # Panels 2 and 3: the affine map, then the ReLU fold.
    for ax, which, label in ((axes[1], 0, "h = W x + b"), (axes[2], 1, "h = ReLU(W x + b)")):
        for pair in warped:
            ax.plot(pair[which][:, 0], pair[which][:, 1], color="0.75", lw=0.6, gid="grid")
        pts = pre_x if which == 0 else act_x
        ax.scatter(pts[:, 0], pts[:, 1], c=colors, s=8, zorder=3, gid="points")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("h1")
        ax.set_ylabel("h2")
    if limits is None:
        limits = [_limits([x]), _limits([pre_x]), _limits([act_x])]
    for ax, (xlim, ylim) in zip(axes, limits, strict=True):
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)

    # The output layer is linear in h: its boundary (score_1 = score_0) is a line there.
    out = _linear(model, 2)
    if out.out_features == 2:
        W = np.asarray(out.weight.value)
        b = np.zeros(2) if out.bias is None else np.asarray(out.bias.value)  # bias=False: b = 0
        w, c = W[:, 1] - W[:, 0], b[1] - b[0]          # boundary: w . h + c = 0
        (x0, x1), (y0, y1) = limits[2]
        span = 4.0 * max(x1 - x0, y1 - y0)
        anchor = -c * w / max(float(w @ w), 1e-12)    # the line's point nearest the origin
        direction = np.array([-w[1], w[0]]) / max(float(np.hypot(*w)), 1e-12)
        ends = anchor + np.outer([-span, span], direction)
        axes[2].plot(ends[:, 0], ends[:, 1], color="k", lw=1.5, gid="boundary")
    if title:
        fig.suptitle(title)


def plot_space_warp(model: nn.Sequential, x: np.ndarray, y: np.ndarray) -> Figure:
    """Three panels: input space, ``W x + b``, ``ReLU(W x + b)`` with the output boundary.

    Args:
        model: ``Sequential(Linear(2, 2), activation, Linear(2, C))`` (e.g. from
            :func:`fit_space_warp`); the boundary line is drawn when C = 2.
        x: ``(N, 2)`` points; y: ``(N,)`` class indices.

    Returns:
        The Figure.  In every panel the data scatter has gid ``"points"`` (offsets = the points
        as the model maps them), the grid lines gid ``"grid"``; the last panel's boundary line
        has gid ``"boundary"``.

    Raises:
        ValueError: a model of another shape, or bad ``x`` / ``y``.
    """
    _check_model(model)
    x = check_points(x)
    y = check_labels(y, len(x))
    fig = new_figure(11.0, 3.9)
    _draw(fig, model, x, y, title="A ReLU layer warps the plane; a line in the warped space is "
                                  "a bent boundary in the input")
    return fig


def animate_space_warp(x: np.ndarray, y: np.ndarray, *, steps: int = 600, frames: int = 30,
                       seed: int = 0, dpi: int = 50) -> bytes:
    """An animated GIF of :func:`plot_space_warp` while the network trains.

    Args:
        steps: training updates; frames: pictures, evenly spaced from the initial weights on;
        dpi: resolution of each frame (small keeps the file small).

    Returns:
        The GIF file content (loops forever; the last frame is held longer).
    """
    from PIL import Image

    x = check_points(x)
    y = check_labels(y, len(x))
    model, states = fit_space_warp(x, y, steps=steps, seed=seed, snapshots=frames)
    # One set of axis limits for every frame, so the motion is the warp, not the zoom.
    hidden = []
    for state in states:
        model.load_state_dict(state)
        hidden.append(_hidden(model, x))
    limits = [_limits([x]), _limits([h[0] for h in hidden]), _limits([h[1] for h in hidden])]
    images = []
    for i, state in enumerate(states):
        model.load_state_dict(state)
        fig = new_figure(11.0, 3.9)
        step = round(i * steps / max(len(states) - 1, 1))
        _draw(fig, model, x, y, limits=limits, title=f"training step {step}")
        fig.set_dpi(dpi)
        canvas = fig.canvas
        assert isinstance(canvas, FigureCanvasAgg)  # new_figure's
        canvas.draw()
        rgb = np.asarray(canvas.buffer_rgba())[..., :3]
        images.append(Image.fromarray(rgb).quantize(colors=64, dither=Image.Dither.NONE))
    buf = io.BytesIO()
    durations = [120] * (len(images) - 1) + [1500]
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=durations, loop=0, optimize=True)
    return buf.getvalue()
