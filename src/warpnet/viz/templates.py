"""``templates``: what a linear classifier and a two-layer net's first layer look for.

A linear classifier scores class k as ``x . W[:, k] + b[k]``: one *template* per class, matched
against the image by a dot product, so ``W[:, k]`` reshaped to the image's shape shows what the
class "looks like" to the model.  A two-layer net's first-layer columns are templates too, but
many more of them, shared by all classes and combined by the second layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .. import nn
from ._common import check_labels, fit, new_figure

__all__ = ["prepare_images", "fit_templates", "plot_templates"]


def prepare_images(images: Any, pixel_max: float) -> tuple[np.ndarray, tuple[int, ...]]:
    """Flatten images to float32 rows scaled to [0, 1] with the mean image subtracted.

    Args:
        images: ``(N, H, W)`` gray or ``(N, H, W, C)`` colour images (any real dtype).
        pixel_max: the value of a white pixel (16 for digits, 255 for 8-bit images), > 0.

    Returns:
        ``(x, image_shape)``: ``x`` ``(N, H*W[*C])`` float32 (a new array) and ``(H, W[, C])``.

    Raises:
        ValueError: wrong number of dimensions, no images, or a non-positive ``pixel_max``.
    """
    arr = np.asarray(images)
    if arr.ndim not in (3, 4) or len(arr) == 0:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, C) with N >= 1, got {arr.shape}")
    if not pixel_max > 0:
        raise ValueError(f"pixel_max must be > 0, got {pixel_max!r}")
    x = arr.reshape(len(arr), -1).astype(np.float32) / np.float32(pixel_max)
    x -= x.mean(axis=0)  # centred pixels: a template's sign then means brighter / darker than average
    return x, tuple(arr.shape[1:])


def fit_templates(x: np.ndarray, y: np.ndarray, *, hidden: int = 50, steps: int = 300,
                  batch_size: int = 200, lr: float = 0.05, reg: float = 0.01, seed: int = 0
                  ) -> tuple[nn.Linear, nn.Sequential]:
    """Train a linear softmax classifier and a two-layer ReLU net on the rows of ``x``.

    Args:
        x: ``(N, D)`` float32 rows from :func:`prepare_images`; y: ``(N,)`` labels.
        hidden: hidden units of the two-layer net.
        steps, batch_size, lr: minibatch SGD (momentum 0.9) updates for each model.
        reg: L2 strength on the weights; it smooths the templates as in the lecture.

    The linear classifier starts at zero and the net's first layer at tiny random weights
    (std 0.001), so what the pictures show is what training put there, not the initial noise;
    plain SGD rather than Adam, because Adam's per-pixel step sizes amplify the noise in pixels
    the data rarely lights up.

    Returns:
        ``(linear, net)``: ``Linear(D, C)`` and ``Sequential(Linear(D, hidden), ReLU, Linear)``.
    """
    y = check_labels(y, len(x))
    D, C = x.shape[1], int(y.max()) + 1
    rng = np.random.default_rng(seed)
    linear = nn.Linear(D, C, init="zeros")
    net = nn.Sequential(nn.Linear(D, hidden, init=nn.INITIALIZERS.get("normal")(std=1e-3), rng=rng),
                        nn.ReLU(), nn.Linear(hidden, C, rng=rng))
    for model in (linear, net):
        fit(model, x, y, steps=steps, lr=lr, reg=reg, batch_size=batch_size, seed=seed,
            optimizer="sgd")
    return linear, net


def _template_image(column: np.ndarray, image_shape: tuple[int, ...]) -> tuple[np.ndarray, dict]:
    """A weight column as a picture and the imshow arguments that draw it faithfully.

    Gray: the raw weights on a diverging colour map centred at 0 (red brighter than average,
    blue darker).  Colour: the weights rescaled to [0, 1] per template, as RGB.
    """
    picture = column.reshape(image_shape).astype(np.float64)
    if len(image_shape) == 2:
        bound = float(np.abs(picture).max()) or 1.0
        return picture, {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}
    lo, hi = picture.min(), picture.max()
    return (picture - lo) / ((hi - lo) or 1.0), {}


def plot_templates(linear: nn.Linear, net: nn.Module, image_shape: tuple[int, ...],
                   class_names: list[str], n_hidden: int = 20) -> Figure:
    """The linear classifier's class templates above the net's first-layer templates.

    Args:
        linear: a ``Linear(D, C)`` classifier of flattened images.
        net: a network whose first layer is ``Linear(D, H)``.
        image_shape: ``(H, W)`` or ``(H, W, 3)`` with ``H * W [* 3] = D``.
        class_names: the C class names (panel titles).
        n_hidden: how many first-layer units to show (the first ones, up to H).

    Returns:
        The Figure; every template is an image with gid ``"template"`` whose array is the weight
        column reshaped (gray) or rescaled to [0, 1] (colour).

    Raises:
        ValueError: shapes that do not fit together.
    """
    W = np.asarray(linear.weight.value)
    first = net.parameters()[0]
    W1 = np.asarray(first.value)
    D = int(np.prod(image_shape))
    if W.shape[0] != D or W1.shape[0] != D:
        raise ValueError(f"image_shape {image_shape} has {D} pixels, but the models take "
                         f"{W.shape[0]} and {W1.shape[0]} inputs")
    if len(class_names) != W.shape[1]:
        raise ValueError(f"class_names has {len(class_names)} names for {W.shape[1]} classes")
    n_hidden = min(n_hidden, W1.shape[1])
    columns = max(W.shape[1], 10)
    hidden_rows = -(-n_hidden // columns)
    fig = new_figure(1.0 * columns, 1.25 * (1 + hidden_rows) + 0.6)
    top, bottom = fig.subfigures(2, 1, squeeze=False, height_ratios=[1, hidden_rows])[:, 0]
    top.suptitle("linear classifier: one template per class", fontsize=10)
    bottom.suptitle(f"two-layer net: first {n_hidden} of its {W1.shape[1]} first-layer templates",
                    fontsize=10)
    for k, ax in enumerate(top.subplots(1, columns, squeeze=False)[0]):
        ax.set_axis_off()
        if k < W.shape[1]:
            picture, style = _template_image(W[:, k], image_shape)
            ax.imshow(picture, interpolation="nearest", gid="template", **style)
            ax.set_title(class_names[k], fontsize=8)
    for j, ax in enumerate(bottom.subplots(hidden_rows, columns, squeeze=False).ravel()):
        ax.set_axis_off()
        if j < n_hidden:
            picture, style = _template_image(W1[:, j], image_shape)
            ax.imshow(picture, interpolation="nearest", gid="template", **style)
    return fig
