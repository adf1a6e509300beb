"""``make_figures``: train what each figure needs, draw it, and write ``DIR/NAME.png``.

Everything a figure shows comes from a short run of the engine made here, from a seed, so the
same call gives the same pictures.  Bad requests fail before any work: an unknown name
(``UsageError``), an output folder that cannot be written or a run folder without a history
(``DataError``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

from ..errors import DataError, UsageError
from ..io.atomic import atomic_write
from ..train.history import History
from ._common import save_png

__all__ = ["FIGURE_NAMES", "ANIMATION_NAME", "make_figures"]

FIGURE_NAMES: tuple[str, ...] = (
    "templates",
    "feature-transform",
    "image-features",
    "activations",
    "space-warp",
    "capacity",
    "universal-approximation",
    "loss-landscape",
    "training",
    "computational-graph",
    "random-wiring",
)
ANIMATION_NAME = "space-warp.gif"
DATA_FORMS = "None (digits), 'digits' or 'cifar10:PATH'"
# Images used from a CIFAR-10 source: enough for recognisable templates, quick to train on.
_CIFAR_IMAGES = 5000


@dataclass
class _Images:
    """Images for the figures that draw real pictures: ``x`` (N, H, W[, C]), labels, names."""

    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    pixel_max: float
    name: str


def _check_data_spec(data: str | None) -> tuple[str, Path | None]:
    """Parse ``data`` into ``("digits", None)`` or ``("cifar10", path)``; raises before any work."""
    if data is None or data == "digits":
        return "digits", None
    if not isinstance(data, str):
        raise UsageError(f"data must be {DATA_FORMS}, got {type(data).__name__}")
    kind, _, arg = data.partition(":")
    if kind != "cifar10" or not arg:
        raise UsageError(f"data must be {DATA_FORMS}, got {data!r}")
    path = Path(arg)
    if not path.exists():
        raise DataError(f"no CIFAR-10 data at {arg!r}")
    return "cifar10", path


def _load_images(kind: str, path: Path | None, seed: int) -> _Images:
    from ..data import load_cifar10, load_digits, load_npz

    if kind == "digits":
        d = load_digits()
        return _Images(d.x, d.y, d.class_names, 16.0, "digits")
    assert path is not None
    try:
        is_npz = path.suffix == ".npz" or (path.is_dir() and any(path.glob("train*.npz")))
        d = load_npz(path) if is_npz else load_cifar10(path)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot load CIFAR-10 from {str(path)!r}: {err}") from None
    if d.x.ndim != 4:
        raise DataError(f"{str(path)!r} holds {d.x.shape[1:]} samples, not (H, W, C) images")
    keep = np.sort(np.random.default_rng(seed).permutation(len(d.x))[:_CIFAR_IMAGES])
    return _Images(d.x[keep], d.y[keep], d.class_names, 255.0, "CIFAR-10")


def _check_out_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Create ``out_dir`` if needed and prove a file can be written there."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataError(f"output folder {str(out)!r} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        # A real probe file: permission bits miss read-only mounts, ACLs and running as root.
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe-"):
            pass
    except OSError as err:
        raise DataError(f"cannot write to output folder {str(out)!r}: "
                        f"{err.strerror or err}") from None
    return out


def _check_names(names: Sequence[str] | None) -> list[str]:
    if names is None:
        return list(FIGURE_NAMES)
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise UsageError(f"names must be a list of figure names, got {names!r}")
    unknown = [n for n in names if n not in FIGURE_NAMES]
    if unknown:
        raise UsageError(f"unknown figure {unknown[0]!r}; known figures: {', '.join(FIGURE_NAMES)}")
    return list(dict.fromkeys(names))  # keep order, drop repeats


@dataclass
class _Context:
    """What the figure builders share: the seed, the data source (loaded on first use), the run."""

    seed: int
    data_kind: str
    data_path: Path | None
    history: History | None
    run_dir: Path | None
    notes: list[str] = field(default_factory=list)

    @cached_property
    def images(self) -> _Images:
        return _load_images(self.data_kind, self.data_path, self.seed)


def _templates(ctx: _Context) -> Figure:
    from .templates import fit_templates, plot_templates, prepare_images

    imgs = ctx.images
    x, shape = prepare_images(imgs.x, imgs.pixel_max)
    # Many more inputs per weight on CIFAR-10: a smaller step keeps SGD stable.
    lr = 0.05 if imgs.name == "digits" else 0.005
    linear, net = fit_templates(x, imgs.y, lr=lr, seed=ctx.seed)
    fig = plot_templates(linear, net, shape, imgs.class_names)
    fig.suptitle(f"Templates learnt on {imgs.name}", fontsize=11)
    return fig


def _feature_transform(ctx: _Context) -> Figure:
    from .feature_transform import fit_feature_transform, plot_feature_transform, rings

    x, y = rings(seed=ctx.seed)
    return plot_feature_transform(x, y, *fit_feature_transform(x, y, seed=ctx.seed))


def _image_features(ctx: _Context) -> Figure:
    from .image_features import example_image, fit_image_features, plot_image_features

    image, patches_from = example_image(ctx.images, ctx.seed)
    return plot_image_features(image, fit_image_features(patches_from, seed=ctx.seed))


def _activations(ctx: _Context) -> Figure:
    from .activations import plot_activations

    return plot_activations()


def _space_warp(ctx: _Context) -> Figure:
    from .space_warp import fit_space_warp, plot_space_warp, warp_data

    x, y = warp_data(seed=ctx.seed)
    model, _ = fit_space_warp(x, y, seed=ctx.seed)
    return plot_space_warp(model, x, y)


def _capacity(ctx: _Context) -> Figure:
    from .capacity import capacity_data, fit_capacity, plot_capacity

    x, y = capacity_data(seed=ctx.seed)
    return plot_capacity(fit_capacity(x, y, seed=ctx.seed), x, y)


def _universal(ctx: _Context) -> Figure:
    from .universal import (
        UNITS_PER_BUMP,
        bump_network,
        default_target,
        fit_universal,
        plot_universal_approximation,
    )

    construction, centres = bump_network(default_target, np.linspace(-1.0, 1.0, 13))
    # as many hidden units as the construction's: UNITS_PER_BUMP per bump, one bump per centre
    trained = fit_universal(default_target, hidden=UNITS_PER_BUMP * len(centres), seed=ctx.seed)
    return plot_universal_approximation(construction, centres, trained)


def _loss_landscape(ctx: _Context) -> Figure:
    from .loss_landscape import fit_landscape_models, landscape_data, plot_loss_landscape

    x, y = landscape_data(seed=ctx.seed)
    linear, deep = fit_landscape_models(x, y, seed=ctx.seed)
    return plot_loss_landscape(linear, deep, x, y, seed=ctx.seed)


def _training(ctx: _Context) -> Figure:
    from .training import digits_history, plot_history

    if ctx.history is not None:
        return plot_history(ctx.history, title=f"Training curves of {ctx.run_dir}")
    ctx.notes.append("training: no run folder given, drew a short digits run trained just now")
    return plot_history(digits_history(seed=ctx.seed),
                        title="Training curves of a short digits run (64-100-10 ReLU net)")


def _computational_graph(ctx: _Context) -> Figure:
    from .computational_graph import plot_computational_graph

    return plot_computational_graph()
def _random_wiring(ctx: _Context) -> Figure:
    from .random_wiring import fit_random_wiring, plot_random_wiring

    net, wired, mlp, hidden = fit_random_wiring("ws", seed=ctx.seed)
    return plot_random_wiring(net, wired, mlp, mlp_label=f"MLP 64-{hidden}-10 (same size)",
                              title="WS(16 nodes, k=4, p=0.75) wired net against an MLP, digits")


_BUILDERS: dict[str, Callable[[_Context], Figure]] = {
    "templates": _templates,
    "feature-transform": _feature_transform,
    "image-features": _image_features,
    "activations": _activations,
    "space-warp": _space_warp,
    "capacity": _capacity,
    "universal-approximation": _universal,
    "loss-landscape": _loss_landscape,
    "training": _training,
    "computational-graph": _computational_graph,
    "random-wiring": _random_wiring,
}


def make_figures(names: Sequence[str] | None, out_dir: str | os.PathLike[str], *,
                 data: str | None = None, run_dir: str | os.PathLike[str] | None = None,
                 seed: int = 0, animate: bool = False,
                 log: Callable[[str], Any] | None = None) -> list[Path]:
    """Draw the named figures and write each as ``out_dir/NAME.png`` (atomically, dpi 80).

    Args:
        names: figure names from ``FIGURE_NAMES``, or None for all of them.
        out_dir: the folder to write into (created if missing).
        data: the images for ``templates`` and ``image-features``: None or ``"digits"`` for the
            digits that ship with scikit-learn, ``"cifar10:PATH"`` for CIFAR-10 (the official
            batches or a folder of ``train*.npz`` chunks; 5,000 images drawn with ``seed``).
        run_dir: a ``warpnet train --out`` folder whose ``history.json`` the ``training`` figure
            draws.  Without it, ``training`` draws a short digits run trained on the spot.
        seed: the one source of randomness (data, initial weights, minibatches).
        animate: also write ``space-warp.gif``, the space warp while the network trains.
        log: called with one line per written file and per note (e.g. ``print``); None is silent.

    Returns:
        The written paths, in the order of ``names`` (the GIF last).

    Raises:
        UsageError: an unknown figure name (the message lists the known ones), a bad ``data``
            form or seed.
        DataError: ``out_dir`` cannot be written, ``run_dir`` holds no readable history, or the
            data path is missing or invalid.  All checks run before any figure is drawn.
    """
    selected = _check_names(names)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    kind, path = _check_data_spec(data)
    out = _check_out_dir(out_dir)
    history = None
    if run_dir is not None:
        from .training import load_history

        history = load_history(Path(run_dir))  # DataError when there is no history
    ctx = _Context(seed=int(seed), data_kind=kind, data_path=path, history=history,
                   run_dir=None if run_dir is None else Path(run_dir))

    # The figures' matrix products are tiny: threads cannot speed them up, and on a busy machine
    # they spin waiting for each other (a (40, 3072) x (3072, 50) product measured 0.25 ms on one
    # thread and 16 ms on two while other processes used the cores).
    with threadpool_limits(limits=1, user_api="blas"):
        return _draw_all(selected, out, ctx, animate, log)


def _draw_all(selected: list[str], out: Path, ctx: _Context, animate: bool,
              log: Callable[[str], Any] | None) -> list[Path]:
    written = []
    for name in selected:
        target = save_png(_BUILDERS[name](ctx), out / f"{name}.png")
        written.append(target)
        if log is not None:
            log(f"wrote {target}")
    if animate:
        from .space_warp import animate_space_warp, warp_data

        target = out / ANIMATION_NAME
        atomic_write(target, animate_space_warp(*warp_data(seed=ctx.seed), seed=ctx.seed))
        written.append(target)
        if log is not None:
            log(f"wrote {target}")
    if log is not None:
        for note in ctx.notes:
            log(f"note: {note}")
    return written
