"""``loss-landscape``: the softmax loss along straight lines through trained weights.

For a linear classifier the loss is a convex function of the weights, so every 1-D slice is
convex: one valley, no local minima.  For a deep net (10 inputs, three ReLU layers of 32, 10
classes) nothing guarantees that; its slices can bend both ways.  Each slice is
``L(theta + alpha * d)`` for a random direction ``d`` scaled parameter by parameter to the norm of
the trained parameter ("filter normalisation", Li et al. 2018), so nets of different sizes share
one alpha axis.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import nn
from ._common import check_labels, fit, new_figure

__all__ = ["DEEP_SIZES", "landscape_data", "fit_landscape_models", "loss_slices",
           "plot_loss_landscape"]

DEEP_SIZES = (10, 32, 32, 32, 10)


def landscape_data(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ten Gaussian classes in 10-D: ``x`` ``(n, 10)`` float64, ``y`` ``(n,)`` int64 in 0..9.

    Class centres are drawn with standard deviation 1.5 and points spread around them with
    standard deviation 1, so the classes overlap and neither model reaches zero loss.
    """
    rng = np.random.default_rng(seed)
    centres = 1.5 * rng.standard_normal((10, 10))
    y = rng.integers(0, 10, n)
    return centres[y] + rng.standard_normal((n, 10)), y.astype(np.int64)


def fit_landscape_models(x: np.ndarray, y: np.ndarray, *, steps: int = 300, seed: int = 0
                         ) -> tuple[nn.Module, nn.Module]:
    """Train the linear classifier ``Linear(10, 10)`` and the deep net :data:`DEEP_SIZES`.

    Returns:
        ``(linear, deep)``, both float64, trained with full-batch Adam on the softmax loss.
    """
    linear = nn.Linear(x.shape[1], DEEP_SIZES[-1], init="xavier", rng=seed, dtype="float64")
    deep = nn.mlp(list(DEEP_SIZES), rng=seed, dtype="float64")
    return (fit(linear, x, y, steps=steps, lr=0.02, seed=seed),
            fit(deep, x, y, steps=steps, lr=0.005, seed=seed))


def loss_slices(model: nn.Module, x: np.ndarray, y: np.ndarray, alphas: np.ndarray, *,
                directions: int = 3, seed: int = 0) -> np.ndarray:
    """The mean softmax loss at ``theta + alpha * d`` for each direction and alpha.

    Args:
        model: a classifier; its weights are restored before returning.
        x: ``(N, D)`` inputs; y: ``(N,)`` labels.
        alphas: ``(A,)`` step sizes along each direction.
        directions: number of random directions, drawn with ``seed``.

    Returns:
        ``(directions, A)`` float64 losses (data loss only, no penalty).
    """
    x = np.asarray(x)
    if x.ndim != 2 or len(x) == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"x must be a finite (N, D) array with N >= 1, got shape {x.shape}")
    y = check_labels(y, len(x))
    alphas = np.asarray(alphas, dtype=np.float64)
    if alphas.ndim != 1 or not np.all(np.isfinite(alphas)):
        raise ValueError(f"alphas must be a finite 1-D array, got shape {alphas.shape}")
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"directions must be a positive int, got {directions!r}")
    params = model.parameters()
    theta = [np.array(p.value) for p in params]
    rng = np.random.default_rng(seed)
    loss_fn = nn.SoftmaxCrossEntropy()
    xb = np.ascontiguousarray(x, dtype=theta[0].dtype)
    out = np.empty((directions, len(alphas)))
    model.eval()
    try:
        for i in range(directions):
            # A direction as large as the weights, parameter by parameter.
            d = []
            for t in theta:
                di = rng.standard_normal(t.shape)
                d.append(di * np.linalg.norm(t) / max(np.linalg.norm(di), 1e-12))
            for j, a in enumerate(alphas):
                for p, t, di in zip(params, theta, d, strict=True):
                    p.value[...] = t + a * di
                out[i, j] = float(loss_fn(model.forward(xb), y)[0])
    finally:
        for p, t in zip(params, theta, strict=True):
            p.value[...] = t
    return out


def plot_loss_landscape(linear: nn.Module, deep: nn.Module, x: np.ndarray, y: np.ndarray, *,
                        alphas: np.ndarray | None = None, directions: int = 3,
                        seed: int = 0) -> Figure:
    """Two panels of :func:`loss_slices`: the linear classifier and the deep net.

    Returns:
        The Figure; every slice line has gid ``"slice"`` and its y data are the losses.
    """
    alphas = np.linspace(-1.0, 1.0, 81) if alphas is None else np.asarray(alphas, dtype=np.float64)
    fig = new_figure(9.0, 3.8)
    axes = fig.subplots(1, 2)
    titles = ("linear classifier: every slice convex",
              "deep net 10-32-32-32-10: no such guarantee")
    for ax, model, title in zip(axes, (linear, deep), titles, strict=True):
        losses = loss_slices(model, x, y, alphas, directions=directions, seed=seed)
        for k, row in enumerate(losses):
            ax.plot(alphas, row, lw=1.5, label=f"direction {k + 1}", gid="slice")
        ax.axvline(0.0, color="0.7", lw=0.8, ls=":")
        ax.set_xlabel("alpha (step along d, |d| = |weights|)")
        ax.set_ylabel("mean softmax loss")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle("1-D slices of the loss through the trained weights")
    return fig
