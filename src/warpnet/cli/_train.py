"""``warpnet train``: fit a linear classifier or an MLP and fill a run folder.

The run, top to bottom: check the flags and the output folder, load the data and split it
(test: fixed; validation: ``--seed``), fit the preprocessing on the training part only, build the
model, train with checkpoints, then write config, history, model file and training curve, and print
one line of accuracies.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from . import _args, _data, _run_folder
from ._curve import write_training_curve
from ._recipes import RECIPES

NAME = "train"


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as ``config.json`` and reused by ``--resume``.

    The defaults train the two-layer ReLU net on digits to 97.5-98 % test accuracy (seeds 0-3)
    in a few seconds.
    """

    data: str = "digits"
    features: str | None = None
    image_size: int = 32
    model: str = "mlp"
    hidden: list[int] = field(default_factory=lambda: [100])
    graph: str = "ws:32,4,0.75"  # --model wired: random-graph family, nodes, parameters
    width: int = 64  # --model wired: units per node
    activation: str = "relu"
    dropout: float = 0.0
    loss: str = "softmax"
    reg: float = 3e-3
    optimizer: str = "sgd"
    lr: float | None = None  # None: the optimizer class's default_lr
    momentum: float | None = None  # only for optimizers that take momentum (default_momentum)
    schedule: str | None = None
    epochs: int = 30
    batch_size: int = 64
    early_stopping: int | None = None
    val_fraction: float = 0.1
    seed: int = 0
    norm: str | None = None
    weight_decay: float | None = None  # None: the optimizer's default
    label_smoothing: float = 0.0
    clip_norm: float | None = None
    warmup: int = 0
    ema: float | None = None
    augment: str | None = None
    whiten: str | None = None
    whiten_eps: float = 0.1
    recipe: str | None = None
    set: list[str] = field(default_factory=list)  # --model fisher-2011: KEY=VALUE settings


# Flags that may change when a run is resumed: they do not alter what was already trained.
_RESUMABLE = {"epochs", "early_stopping"}


def add_parser(sub: Any) -> None:
    from .. import nn, optim
    from ..data.preprocessing import WHITENINGS

    p = sub.add_parser(NAME, help="train a classifier and write a run folder",
                       description="Train a linear classifier or an MLP; writes config.json, "
                       "history.json/.csv, model.safetensors, training-curve.png and checkpoints "
                       "into --out.")
    d = TrainConfig()
    # Defaults are None here so that --resume can tell given flags from defaults.
    p.add_argument("--data", help=f"{_data.DATA_FORMS} (default: {d.data})")
    p.add_argument("--features", help="image features computed before the classifier, e.g. "
                   "hog+color+bow (default: raw values)")
    p.add_argument("--image-size", type=_args.positive_int,
                   help=f"side length images of folder:PATH are resized to (default {d.image_size})")
    p.add_argument("--model", choices=["linear", "mlp", "wired", "fisher-2011"],
                   help=f"default: {d.model}; wired: a randomly wired network (--graph, --width); "
                   "fisher-2011: the 2011 ImageNet winner (SIFT and colour Fisher vectors, "
                   "product quantization, one-vs-all SVMs, late fusion)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a setting of --model fisher-2011, for both systems (n_components=128) or "
                   "one (fisher-sift.step=2); VALUE in JSON; repeatable")
    p.add_argument("--hidden", type=_args.hidden_sizes,
                   help="hidden-layer widths of the mlp, e.g. 100 or 512,256 (default: 100)")
    p.add_argument("--graph", type=_args.graph_spec, help="random graph of --model wired: ws:NODES,K,P "
                   "(Watts-Strogatz), er:NODES,P (Erdos-Renyi) or ba:NODES,M (Barabasi-Albert) "
                   f"(default: {d.graph})")
    p.add_argument("--width", type=_args.positive_int, help=f"units per node of --model wired "
                   f"(default: {d.width})")
    p.add_argument("--activation", choices=nn.ACTIVATIONS.names(), help=f"default: {d.activation}")
    p.add_argument("--dropout", type=_args.fraction, help="drop probability after each hidden "
                   "layer (default: 0)")
    p.add_argument("--loss", choices=[n for n, cls in nn.LOSSES.items() if not cls.regression],
                   help=f"default: {d.loss}")
    p.add_argument("--reg", type=_args.non_negative_float,
                   help=f"L2 strength on the weights (default: {d.reg:g})")
    p.add_argument("--optimizer", choices=optim.OPTIMIZERS.names(), help=f"default: {d.optimizer}")
    p.add_argument("--lr", type=_args.positive_float,
                   help="learning rate (default: " + ", ".join(
                       f"{cls.default_lr:g} for {name}" for name, cls in optim.OPTIMIZERS.items()) + ")")
    p.add_argument("--momentum", type=_args.fraction,
                   help="momentum (default: " + ", ".join(
                       f"{cls.default_momentum:g} for {name}" for name, cls in optim.OPTIMIZERS.items()
                       if cls.takes_momentum) + "; other optimizers take none)")
    p.add_argument("--schedule", choices=optim.SCHEDULES.names(),
                   help="learning-rate schedule (default: constant)")
    p.add_argument("--epochs", type=_args.positive_int, help=f"default: {d.epochs}")
    p.add_argument("--batch-size", type=_args.positive_int, help=f"default: {d.batch_size}")
    p.add_argument("--early-stopping", type=_args.positive_int, metavar="PATIENCE",
                   help="stop after this many epochs without a better validation loss and keep "
                   "the best weights")
    p.add_argument("--val-fraction", type=_args.fraction,
                   help=f"share of the training part held out for validation (default: "
                   f"{d.val_fraction:g})")
    p.add_argument("--seed", type=_args.non_negative_int, help=f"default: {d.seed}")
    p.add_argument("--recipe", choices=RECIPES.names(),
                   help="named settings replacing the defaults (flags given override them): "
                   "mlp-best is the best fully-connected net for colour images")
    p.add_argument("--norm", choices=[*nn.NORMS.names(), "none"],
                   help="normalisation after each hidden Linear, or after each node's Linear of a wired "
                        "net (default: none)")
    p.add_argument("--weight-decay", type=_args.non_negative_float,
                   help="the optimizer's weight decay (decoupled for adamw; default: the "
                   "optimizer's own, 0.01 for adamw, 0 otherwise)")
    p.add_argument("--label-smoothing", type=_args.fraction,
                   help="label smoothing of the softmax loss, in [0, 1) (default: 0)")
    p.add_argument("--clip-norm", type=_args.positive_float,
                   help="clip the gradients to this global norm (default: none)")
    p.add_argument("--warmup", type=_args.non_negative_int,
                   help="epochs of linear learning-rate warm-up before --schedule cosine (default: 0)")
    p.add_argument("--ema", type=_args.fraction, metavar="DECAY",
                   help="evaluate and keep an exponential moving average of the weights (default: none)")
    p.add_argument("--augment", help="image augmentation, e.g. flip,shift=4,cutout=8 "
                   "(needs image inputs; default: none)")
    p.add_argument("--whiten", choices=[*WHITENINGS.names(), "none"],
                   help="whiten the standardized inputs, fit on the training part and stored in the "
                   "model file (zca: ZCA whitening; default: none)")
    p.add_argument("--whiten-eps", type=_args.positive_float,
                   help=f"variance added to each eigenvalue by --whiten zca: larger keeps less fine "
                   f"detail (default: {d.whiten_eps:g})")
    p.add_argument("--out", type=Path, default=Path("runs/latest"),
                   help="run folder (default: runs/latest)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel training under torchrun (--batch-size is the global batch; "
                   "rank 0 writes the run folder)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cpu (NumPy) or cuda (the engine on PyTorch CUDA tensors); default cpu")
    verbosity = p.add_mutually_exclusive_group()
    verbosity.add_argument("--verbose", "-v", dest="verbose", action="store_const", const=2,
                           default=1, help="more output")
    verbosity.add_argument("--quiet", "-q", dest="verbose", action="store_const", const=0,
                           help="only the final line")
    p.set_defaults(handler=run)


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Defaults, overridden by the saved config when resuming, overridden by the given flags.

    Raises:
        UsageError: a flag contradicts the run being resumed, or flags that do not fit together.
    """
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    given = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    values = dataclasses.asdict(TrainConfig())
    recipe = given.get("recipe")
    if args.resume and recipe is None:
        recipe = _run_folder.read_config(args.out).get("config", {}).get("recipe")
    if recipe is not None:
        values.update(RECIPES.get(recipe))
    if args.resume:
        saved = _run_folder.read_config(args.out).get("config", {})
        values.update({k: v for k, v in saved.items() if k in values})
        for key, value in given.items():
            if key not in _RESUMABLE and value != values[key]:
                raise UsageError(f"--{key.replace('_', '-')} {value} differs from the run being "
                                 f"resumed ({values[key]}); only --epochs and --early-stopping "
                                 "may change")
    values.update(given)
    from .. import optim

    rule = optim.OPTIMIZERS.get(values["optimizer"])
    if not rule.takes_momentum and values["momentum"] is not None:
        takes = [name for name, cls in optim.OPTIMIZERS.items() if cls.takes_momentum]
        raise UsageError(f"--momentum applies to --optimizer {' or '.join(takes)}, "
                         f"not {values['optimizer']}")
    values.update({k: v for k, v in rule.defaults().items() if values[k] is None})
    for key in ("norm", "whiten"):
        if values[key] == "none":
            values[key] = None
    config = TrainConfig(**values)
    if config.label_smoothing and config.loss != "softmax":
        raise UsageError(f"--label-smoothing applies to --loss softmax, not {config.loss}")
    if config.warmup and config.schedule != "cosine":
        raise UsageError("--warmup goes with --schedule cosine")
    if config.warmup >= config.epochs:
        raise UsageError(f"--warmup {config.warmup} must be smaller than --epochs {config.epochs}")
    if config.augment is not None:
        from ..train.augment import parse_augment

        # The items only (any image is large enough here); the image shape comes with the data.
        parse_augment(config.augment, (1 << 16, 1 << 16))
        if config.features is not None:
            raise UsageError("--augment transforms images, but --features gives feature vectors")
    if config.whiten is not None and config.features is not None:
        raise UsageError("--whiten applies to raw values, not to --features")
    if "whiten_eps" in given and config.whiten is None:
        raise UsageError("--whiten-eps goes with --whiten zca")
    if config.model == "linear" and ("hidden" in given or "dropout" in given):
        raise UsageError("--hidden and --dropout apply to --model mlp, not linear")
    if config.model != "wired" and ("graph" in given or "width" in given):
        raise UsageError(f"--graph and --width apply to --model wired, not {config.model}")
    if config.model == "wired" and ("hidden" in given or "dropout" in given
                                    or "activation" in given):
        raise UsageError("--hidden, --dropout and --activation apply to --model mlp, not wired")
    if config.set and config.model != "fisher-2011":
        raise UsageError(f"--set applies to --model fisher-2011, not {config.model}")
    if config.early_stopping is not None and config.val_fraction == 0:
        raise UsageError("--early-stopping needs a validation split (--val-fraction > 0)")
    _data.parse_spec(config.data)
    if config.features is not None:
        _check_feature_spec(config.features)
    return config


def _check_feature_spec(spec: str) -> None:
    """Unknown feature names are usage errors, found before any data is read."""
    from ..features import make_features

    try:
        make_features(spec)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--features {spec!r}: {exc}") from None


def _check_scale_flags(args: argparse.Namespace) -> bool:
    """Check --distributed, --device and a zarr: --data before anything is written; True where
    this process writes the run folder (always, except on the ranks other than 0 of a distributed
    run).

    Raises:
        UsageError: --distributed outside torchrun or in a world of one process; a missing extra
            (torch for --device cuda and --distributed, dask for --data zarr:PATH).
        DataError: --device cuda without a GPU.
    """
    from . import _extras

    if str(getattr(args, "data", "") or "").startswith("zarr:"):
        _extras.require("dask", "--data zarr:PATH")
    if args.device != "cpu":
        from ..train.device import check_device

        _extras.require("torch", f"--device {args.device}")
        check_device(args.device)
    if not args.distributed:
        return True
    _extras.require("torch", "--distributed")
    from ..train.distributed import torchrun_world

    world = torchrun_world()
    if world is None:
        raise UsageError("--distributed runs under torchrun, e.g. 'torchrun --nproc-per-node 2 "
                         "-m warpnet train --distributed ...'; this process was not started by "
                         "torchrun")
    if world[1] < 2:
        raise UsageError("--distributed needs at least 2 processes, torchrun started 1: use "
                         "--nproc-per-node 2 or more, or leave --distributed out")
    return world[0] == 0


def build_model(config: TrainConfig, n_inputs: int, n_classes: int):  # noqa: ANN201 - nn.Module
    """The network the config describes, initialized from ``config.seed``."""
    from .. import nn

    if config.model == "wired":
        family, n_nodes, params = _args.parse_graph_spec(config.graph)
        try:
            return nn.randomly_wired(n_inputs, n_classes, family, n_nodes=n_nodes,
                                     width=config.width, seed=config.seed, norm=config.norm,
                                     **params)
        except ValueError as exc:
            raise UsageError(f"--graph {config.graph} --width {config.width}: {exc}") from None
    hidden = config.hidden if config.model == "mlp" else []
    dropout = config.dropout if config.model == "mlp" else 0.0
    return nn.mlp([n_inputs, *hidden, n_classes], activation=config.activation, dropout=dropout,
                  rng=config.seed, norm=config.norm if config.model == "mlp" else None)


def run(args: argparse.Namespace) -> int:
    from .. import io
    from ..data.preprocessing import Preprocessor
    from ..train import Trainer, TrainingInterrupted

    config = resolve_config(args)
    if config.model == "fisher-2011":
        from . import _fisher2011

        return _fisher2011.run(args, config)
    out: Path = args.out
    writer = _check_scale_flags(args)  # before anything is written
    if writer:
        _run_folder.prepare(out)  # before any data is read or any epoch is spent

    source = _data.load_source(config.data, image_size=config.image_size, stream=True)
    if config.val_fraction > 0:
        kept, held = _data.split_indices(source.y, config.val_fraction, config.seed,
                                         "the validation split")
    else:
        kept, held = np.arange(len(source.y)), np.arange(0)
    pre = Preprocessor(config.features, pixel_max=source.pixel_max, random_state=config.seed,
                       whiten=config.whiten, whiten_eps=config.whiten_eps)
    y_train, y_val, y_test = source.y[kept], source.y[held], source.y_test
    if isinstance(source.x, np.ndarray):
        pre.fit(source.x[kept])
        x_train = pre.transform(source.x[kept])
        x_val = pre.transform(source.x[held]) if len(held) else None
        x_test = pre.transform(source.x_test)
    elif config.whiten is not None:
        raise UsageError(f"--whiten needs data held in memory, not the feature store {config.data}")
    else:  # a feature store, read block by block: standardized as each block is read
        from ._feature_store import fit_standardizer

        fit_standardizer(pre, source.x.take(kept))
        standardize = pre.standardizer_.transform
        x_train = source.x.take(kept).mapped(standardize)
        x_val = source.x.take(held).mapped(standardize) if len(held) else None
        x_test = source.x_test.mapped(standardize)

    model = build_model(config, x_train.shape[1], len(source.class_names))
    if config.augment is not None and pre.image_shape is None:
        raise UsageError(f"--augment needs image inputs, but --data {config.data} gives "
                         "feature vectors")
    if args.device != "cpu":
        from ..train.device import to_device

        to_device(model, args.device)
    trainer = Trainer(model, config.loss, config.optimizer, lr=config.lr,
                      momentum=config.momentum, reg=config.reg, batch_size=config.batch_size,
                      epochs=config.epochs, seed=config.seed, schedule=config.schedule,
                      early_stopping=config.early_stopping,
                      checkpoint_dir=out / _run_folder.CHECKPOINTS, verbose=args.verbose,
                      distributed=args.distributed,
                      weight_decay=config.weight_decay, label_smoothing=config.label_smoothing,
                      clip_norm=config.clip_norm, warmup=config.warmup, ema=config.ema,
                      augment=config.augment, image_shape=pre.image_shape)
    # The config goes first: a run interrupted in its first epoch can already be resumed.
    if writer:
        _run_folder.write_json(out / _run_folder.CONFIG, {"config": dataclasses.asdict(config)})

    started = time.perf_counter()
    try:
        history = trainer.fit(x_train, y_train,
                              validation=(x_val, y_val) if x_val is not None else None,
                              resume=args.resume)
    except TrainingInterrupted as exc:
        raise KeyboardInterrupt(f"{exc}; continue with: warpnet train --resume --out {out}") from None
    seconds = time.perf_counter() - started
    if args.distributed:
        import torch.distributed as dist

        dist.destroy_process_group()
    if not writer:
        return 0
    if args.device != "cpu":  # model files hold NumPy arrays, whatever trained them
        from ..train.device import to_device

        to_device(model, "cpu")
    accuracy = {"train": trainer.evaluate(x_train, y_train)["accuracy"],
                "validation": trainer.evaluate(x_val, y_val)["accuracy"] if x_val is not None
                else None,
                "test": trainer.evaluate(x_test, y_test)["accuracy"]}
    pre_config, pre_arrays = pre.get_state()
    io.save(model, out / _run_folder.MODEL,
            preprocessing={"config": pre_config, "arrays": pre_arrays},
            class_names=source.class_names,
            metadata={"config": dataclasses.asdict(config), "accuracy": accuracy})
    history.save_json(out / _run_folder.HISTORY_JSON)
    history.save_csv(out / _run_folder.HISTORY_CSV)
    _run_folder.write_json(out / _run_folder.CONFIG, {
        "config": dataclasses.asdict(config), "accuracy": accuracy,
        "samples": {"train": int(len(y_train)), "validation": int(len(y_val)),
                    "test": int(len(y_test))},
        "seconds": round(seconds, 3)})
    write_training_curve(history, out / _run_folder.CURVE, title=f"{config.data}: {config.model}")

    val = f"{accuracy['validation']:.4f}" if accuracy["validation"] is not None else "n/a"
    print(f"train accuracy {accuracy['train']:.4f}  validation {val}  test {accuracy['test']:.4f}  "
          f"({seconds:.1f}s, model in {out / _run_folder.MODEL})")
    return 0

