"""A run's state in a checkpoint: everything a resumed run needs to continue bit-identically
(model, optimizer, schedule, generators, history, early stopping, the position in the epoch)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend
from ..errors import DataError, UsageError
from .checkpoint import read_checkpoint, write_checkpoint
from .config import RESUME_KEYS
from .history import History

__all__ = ["Position", "EarlyStopping", "save_state", "load_state"]


@dataclass
class Position:
    """Where the running epoch stands: enough to continue it exactly after an interruption."""

    rng_state: Mapping[str, Any] | None = None  # shuffling generator at the start of the epoch
    batch: int = 0          # minibatches done
    loss_sum: float = 0.0   # sum over done batches of (batch loss * batch size)
    correct: Any = 0        # correctly classified samples so far (int or 0-d array)
    seconds: float = 0.0    # time spent on the epoch before this process


@dataclass
class EarlyStopping:
    """The early-stopping record of a run: stop after ``patience`` epochs without a better
    validation value; ``best_state`` holds the weights of ``best_epoch`` (restored at the end)."""

    patience: int
    best_value: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    best_state: dict[str, np.ndarray] = field(default_factory=dict)


def save_state(trainer: Any, path: Path | None, rng: np.random.Generator, pos: Position) -> None:
    """Write everything a resumed run needs to continue exactly from ``pos``."""
    if path is None:
        return
    arrays: dict[str, np.ndarray] = {}
    for name, value in trainer.model.state_dict().items():
        arrays[f"model:{name}"] = backend.to_numpy(value)
    opt = trainer.optimizer.state_dict()
    for i, state in enumerate(opt["state"]):
        for key, value in state.items():
            arrays[f"optim:{i}:{key}"] = backend.to_numpy(value)
    if trainer.ema is not None:
        for name, value in trainer.ema.state().items():
            arrays[f"ema:{name}"] = value
    es = trainer._early
    if es is not None:
        for name, value in es.best_state.items():
            arrays[f"best:{name}"] = value
    meta = {
        "config": {k: v for k, v in dataclasses.asdict(trainer.config).items()
                   if k not in ("checkpoint_dir", "verbose")},
        "model": trainer.model.get_config(),
        "loss": trainer.loss_fn.get_config(),
        "optimizer": {"type": opt["type"], "hyperparameters": opt["hyperparameters"],
                      "steps": opt["steps"], "keys": [sorted(s) for s in opt["state"]]},
        "schedule": None if trainer.schedule is None else
                    {"type": type(trainer.schedule).__name__, **trainer.schedule.state_dict()},
        "data": {"n_samples": trainer._train_shape[0], "n_features": trainer._train_shape[1]},
        "world_size": getattr(trainer, "world_size", 1),
        "epoch": trainer.epoch,
        "stop_training": trainer.stop_training,
        "position": {"rng_state": pos.rng_state or rng.bit_generator.state,
                     "batch": pos.batch, "loss_sum": pos.loss_sum,
                     "correct": int(pos.correct), "seconds": pos.seconds},
        "dropout": [d.rng.bit_generator.state for d in trainer._dropouts],
        "early_stopping": None if es is None else
                          {"best_value": es.best_value, "best_epoch": es.best_epoch,
                           "bad_epochs": es.bad_epochs},
        "history": trainer.history.records,
    }
    try:
        write_checkpoint(path, arrays, meta)
    except OSError as err:
        raise DataError(f"cannot write checkpoint {str(path)!r}: {err}") from None


def load_state(trainer: Any, path: Path, rng: np.random.Generator, train: Any) -> Position:
    """Restore model, optimizer, schedule, generators, history and early stopping."""
    arrays, meta = read_checkpoint(path)
    where = f"checkpoint {str(path)!r}"
    try:
        saved = meta["config"]
        for key in RESUME_KEYS:
            ours = getattr(trainer.config, key)
            if saved[key] != ours:
                raise UsageError(f"{where} was written with {key}={saved[key]!r}, but this "
                                 f"run has {key}={ours!r}; resume with the same settings")
        ranks, ours = int(meta.get("world_size", 1)), getattr(trainer, "world_size", 1)
        if ranks != ours:
            raise UsageError(f"{where} was written by {ranks} process(es), but this run has "
                             f"{ours}: resume with the same world size (torchrun --nproc-per-node "
                             f"{ranks})" if ranks > 1 else f"{where} was written by one process, "
                             f"but this run has {ours}: resume it without --distributed")
        if meta["model"] != trainer.model.get_config():
            raise UsageError(f"{where} was written for a different model architecture")
        if meta["loss"] != trainer.loss_fn.get_config():
            raise UsageError(f"{where} was written for loss {meta['loss']}, not "
                             f"{trainer.loss_fn.get_config()}")
        data = meta["data"]
        if (data["n_samples"], data["n_features"]) != (len(train), int(train.x.shape[1])):
            raise UsageError(f"{where} was trained on {data['n_samples']} samples of "
                             f"{data['n_features']} features, but X has shape "
                             f"{tuple(train.x.shape)}")
        if (meta["schedule"] is None) != (trainer.schedule is None) or (
                trainer.schedule is not None
                and meta["schedule"]["type"] != type(trainer.schedule).__name__):
            raise UsageError(f"{where} was written with schedule "
                             f"{(meta['schedule'] or {}).get('type')}, this run has "
                             f"{type(trainer.schedule).__name__ if trainer.schedule else None}")
        opt = meta["optimizer"]
        if opt["type"] != type(trainer.optimizer).__name__:
            raise UsageError(f"{where} was written with optimizer {opt['type']}, this run "
                             f"uses {type(trainer.optimizer).__name__}")
        trainer.model.load_state_dict({name[len("model:"):]: value for name, value in arrays.items()
                                    if name.startswith("model:")})
        trainer.optimizer.load_state_dict({
            "type": opt["type"], "hyperparameters": opt["hyperparameters"],
            "steps": opt["steps"],
            "state": [{key: arrays[f"optim:{i}:{key}"] for key in keys}
                      for i, keys in enumerate(opt["keys"])],
        })
        if trainer.schedule is not None:
            trainer.schedule.load_state_dict(meta["schedule"])
        if trainer.ema is not None:
            trainer.ema.load({name[len("ema:"):]: value for name, value in arrays.items()
                              if name.startswith("ema:")})
        if len(meta["dropout"]) != len(trainer._dropouts):
            raise UsageError(f"{where} holds {len(meta['dropout'])} dropout layers, the model "
                             f"has {len(trainer._dropouts)}")
        for layer, state in zip(trainer._dropouts, meta["dropout"], strict=True):
            layer.rng.bit_generator.state = state
        if trainer._early is not None:
            es = meta["early_stopping"]
            trainer._early.best_value = float(es["best_value"])
            trainer._early.best_epoch = int(es["best_epoch"])
            trainer._early.bad_epochs = int(es["bad_epochs"])
            trainer._early.best_state = {name[len("best:"):]: value for name, value in arrays.items()
                                      if name.startswith("best:")}
        trainer.history = History(meta["history"])
        trainer.epoch = int(meta["epoch"])
        trainer.stop_training = bool(meta["stop_training"])
        p = meta["position"]
        rng.bit_generator.state = p["rng_state"]
        position = Position(rng_state=p["rng_state"] if p["batch"] else None,
                             batch=int(p["batch"]), loss_sum=float(p["loss_sum"]),
                             correct=int(p["correct"]), seconds=float(p["seconds"]))
    except (KeyError, TypeError, IndexError, AttributeError) as err:
        # AttributeError: a part of the JSON that should be an object is a string or a number.
        raise DataError(f"{where} is incomplete or malformed ({type(err).__name__}: {err})"
                        ) from None
    except ValueError as err:
        if isinstance(err, UsageError):
            raise
        raise DataError(f"{where} does not fit this run: {err}") from None
    return position
