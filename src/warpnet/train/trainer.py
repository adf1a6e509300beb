"""``Trainer``: minibatch training over shuffled epochs, read top to bottom.

One optimizer step is the lecture's loop, made explicit::

    gather a shuffled minibatch  ->  zero_grad  ->  forward  ->  data loss  ->  backward
    ->  reg * dR/dW into the gradients  ->  [callbacks: on_after_backward]  ->  optimizer.step()

and the step's loss is the data loss + reg * sum_k R(W_k) of the weights the update read (for L2,
the update sums their squares in its own pass over them).

After each epoch: validation, a ``History`` record, the learning-rate schedule, early stopping,
``on_epoch_end`` callbacks and a checkpoint.  All randomness of a run comes from one NumPy
generator seeded with ``seed`` (the shuffling) and the model's own dropout generators; both go
into every checkpoint, so ``fit(..., resume=True)`` ends bit-identical to a run that was never
interrupted.

Speed notes (NumPy): X is cast to the model's dtype once; each minibatch is gathered with
``np.take(..., out=buffer)`` into reused buffers, one batch ahead on a helper thread
(``batches.py``); the first layer skips the gradient with respect to the data.  Reading the loss
once per step costs nothing extra, because the loss function has already inspected the scores on
the host; the training accuracy is counted from the minibatch scores, so it needs no extra pass
(it is the accuracy of the weights as they were during the epoch, not at its end).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend, nn
from ..backend import Array, array_namespace
from ..errors import DataError, UsageError
from ..optim import OPTIMIZERS, SCHEDULES, LRSchedule, Optimizer
from ..progress import Progress, make_progress
from . import inputs
from .checkpoint import CHECKPOINT_NAME, read_checkpoint, write_checkpoint
from .history import History
from .interrupt import InterruptFlag, TrainingInterrupted, catch_signals
from .step import make_step, minibatches

__all__ = ["Trainer", "TrainConfig", "DIGITS_DEFAULTS"]

# Settings for small image sets such as the 8x8 digits (standardized with per-pixel mean and std
# of the training split): ``Trainer(model, "softmax", **DIGITS_DEFAULTS)`` takes the two-layer
# ReLU net (hidden 100) to >= 97% and a linear softmax classifier to >= 95% test accuracy on a
# stratified 80/20 split, in about a second on two cores (checked by the tests).
DIGITS_DEFAULTS: dict[str, Any] = {
    "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "reg": 1e-3, "batch_size": 50, "epochs": 40,
}

# Rows per forward pass in evaluate/predict_scores: large enough for fast matrix products, small
# enough that CIFAR-sized inputs do not need an (N, hidden) array at once.
_EVAL_BATCH = 2048

# Settings a checkpoint must share with the run that resumes it (epochs may grow).
_RESUME_KEYS = ("batch_size", "seed", "reg", "penalty", "early_stopping")


@dataclass(frozen=True)
class TrainConfig:
    """The plain settings of a run (validated on construction).

    Attributes:
        batch_size: samples per optimizer step (the last batch of an epoch may be smaller).
        epochs: total number of epochs of the run (a resumed run counts the ones already done).
        seed: seeds the generator that shuffles the samples each epoch.
        reg: strength of the weight penalty, ``loss = mean data loss + reg * sum_k R(W_k)``.
        penalty: "l2" (sum of squares) or "l1", on weights only.
        early_stopping: patience in epochs, or None.  The monitored value is the validation loss
            (the training loss when no validation set is given): training stops after
            ``early_stopping`` epochs without a new minimum, and the weights of the best epoch are
            restored when ``fit`` returns.  Loss rather than accuracy: it exists for regression
            too and keeps moving after the accuracy has plateaued.
        checkpoint_dir: folder for ``checkpoint.npz`` (created if missing), or None.
        verbose: 0 silent, 1 progress bar on a terminal (plain lines otherwise), 2 plain lines.
    """

    batch_size: int = 200
    epochs: int = 10
    seed: int = 0
    reg: float = 0.0
    penalty: str = "l2"
    early_stopping: int | None = None
    checkpoint_dir: str | None = None
    verbose: int = 1

    def __post_init__(self) -> None:
        _positive_int("batch_size", self.batch_size)
        _positive_int("epochs", self.epochs)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise UsageError(f"seed must be an integer >= 0, got {self.seed!r}")
        if (isinstance(self.reg, bool) or not isinstance(self.reg, (int, float))
                or not math.isfinite(self.reg) or self.reg < 0):
            raise UsageError(f"reg must be a finite number >= 0, got {self.reg!r}")
        if self.penalty not in nn.PENALTIES:
            raise UsageError(f"unknown penalty {self.penalty!r}; expected one of: "
                             f"{', '.join(nn.PENALTIES.names())}")
        if self.early_stopping is not None:
            _positive_int("early_stopping", self.early_stopping)
        if self.verbose not in (0, 1, 2) or isinstance(self.verbose, bool):
            raise UsageError(f"verbose must be 0, 1 or 2, got {self.verbose!r}")
        # Stored as plain Python values so the config goes into JSON unchanged.
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "reg", float(self.reg))
        if self.checkpoint_dir is not None:
            object.__setattr__(self, "checkpoint_dir", str(self.checkpoint_dir))


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise UsageError(f"{name} must be an integer >= 1, got {value!r}")


@dataclass
class _Position:
    """Where the running epoch stands: enough to continue it exactly after an interruption."""

    rng_state: dict[str, Any] | None = None  # shuffling generator at the start of the epoch
    batch: int = 0          # minibatches done
    loss_sum: float = 0.0   # sum over done batches of (batch loss * batch size)
    correct: Any = 0        # correctly classified samples so far (int or 0-d array)
    seconds: float = 0.0    # time spent on the epoch before this process


@dataclass
class _Data:
    """Validated arrays of one split, in the model's namespace and dtype."""

    x: Array
    y: Array
    w: Array | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass
class _EarlyStopping:
    patience: int
    best_value: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    best_state: dict[str, np.ndarray] = field(default_factory=dict)


class Trainer:
    """Train a ``warpnet.nn`` model with minibatch gradient descent.

    Args:
        model: the network (a ``warpnet.nn.Module``).
        loss: "softmax", "svm", "mse" or a ``warpnet.nn.Loss``.
        optimizer: an ``Optimizer`` built on ``model.parameters()``, or a name ("sgd", "rmsprop",
            "adam") built here with ``lr``/``momentum`` (defaults: the class's ``defaults()``).
        lr, momentum: only with an optimizer name.
        schedule: None, an ``LRSchedule`` on this optimizer, "cosine" (down to 0 over ``epochs``)
            or "step" (x0.1 every third of ``epochs``); stepped once per epoch.  A named
            schedule spans this trainer's ``epochs``: resuming a run with more epochs stretches
            it from the resumed epoch on.
        callbacks: objects with ``on_epoch_end(trainer, record)`` (may set
            ``trainer.stop_training = True``) and/or ``on_after_backward(trainer)`` (runs between
            backward and the optimizer step, with every ``Parameter.grad`` complete, e.g. for a
            gradient all-reduce in data-parallel training).
        reg, penalty, batch_size, epochs, seed, early_stopping, checkpoint_dir, verbose: see
            ``TrainConfig``.

    Attributes:
        config, model, loss_fn, optimizer, schedule, callbacks; during and after ``fit``:
        ``history``, ``epoch`` (completed epochs), ``batch`` (0-based index of the running
        minibatch in its epoch), ``stop_training``.

    Raises:
        TypeError / ValueError (``UsageError`` for bad settings): at construction.
    """

    def __init__(self, model: nn.Module, loss: str | nn.Loss = "softmax",
                 optimizer: str | Optimizer = "sgd", *, lr: float | None = None,
                 momentum: float | None = None, reg: float = 0.0, penalty: str = "l2",
                 batch_size: int = 200, epochs: int = 10, seed: int = 0,
                 schedule: str | LRSchedule | None = None, early_stopping: int | None = None,
                 checkpoint_dir: str | Path | None = None, verbose: int = 1,
                 callbacks: Iterable[Any] = ()) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a warpnet.nn.Module, got {type(model).__name__}")
        self.model = model
        self._params = model.parameters()
        if not self._params:
            raise ValueError("model has no parameters to train")
        self.config = TrainConfig(batch_size=batch_size, epochs=epochs, seed=seed, reg=reg,
                                  penalty=penalty, early_stopping=early_stopping,
                                  checkpoint_dir=checkpoint_dir, verbose=verbose)
        self.loss_fn = self._make_loss(loss)
        self.optimizer = self._make_optimizer(optimizer, lr, momentum)
        self.schedule = self._make_schedule(schedule)
        self.penalty = nn.penalty(self.config.penalty, self.config.reg)
        self.callbacks = tuple(callbacks)
        for cb in self.callbacks:
            if not (callable(getattr(cb, "on_epoch_end", None))
                    or callable(getattr(cb, "on_after_backward", None))):
                raise TypeError(f"callback {cb!r} has neither on_epoch_end nor on_after_backward")
        self._after_backward = [cb for cb in self.callbacks if hasattr(cb, "on_after_backward")]
        self._epoch_end = [cb for cb in self.callbacks if hasattr(cb, "on_epoch_end")]
        self._dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
        self._regression = self.loss_fn.regression
        # The step: compiled where ``warpnet._fast`` knows the model, else the plain loop.
        self.step = make_step(model, self.loss_fn, self.optimizer, self.penalty)
        self._batch_buffers: dict[Any, Any] = {}  # the minibatch buffers, shared by a fit's epochs
        first = self._params[0].value
        self._xp = array_namespace(first)
        self._on_numpy = backend.is_numpy_array(first)
        self._dtype = backend.to_numpy(first[:0]).dtype  # parameters' dtype as a NumPy dtype
        self._n_features, self._n_outputs = inputs.model_io_sizes(model)
        self.history = History()
        self.epoch = 0
        self.batch = 0
        self.stop_training = False
        self._early = self._new_early_stopping()
        self._train_shape = (0, 0)

    # -- construction helpers --------------------------------------------------------------------
    @staticmethod
    def _make_loss(loss: str | nn.Loss) -> nn.Loss:
        if isinstance(loss, str):
            return nn.loss(loss)  # an unknown name raises UsageError
        if not isinstance(loss, nn.Loss):
            raise TypeError(f"loss must be a name or a warpnet.nn.Loss, got {type(loss).__name__}")
        return loss

    def _make_optimizer(self, optimizer: str | Optimizer, lr: float | None,
                        momentum: float | None) -> Optimizer:
        if isinstance(optimizer, Optimizer):
            if lr is not None or momentum is not None:
                raise UsageError("lr and momentum go with an optimizer name; this optimizer "
                                 "instance already has its own")
            own = {id(p) for p in self._params}
            if not all(id(p) in own for p in optimizer.params):
                raise ValueError("optimizer updates parameters that are not this model's; build "
                                 "it on model.parameters()")
            return optimizer
        if not isinstance(optimizer, str):
            raise TypeError(f"optimizer must be a name or a warpnet.optim.Optimizer, "
                            f"got {type(optimizer).__name__}")
        cls = OPTIMIZERS.get(optimizer)
        kwargs: dict[str, Any] = cls.defaults()
        if lr is not None:
            kwargs["lr"] = lr
        if momentum is not None:
            if not cls.takes_momentum:
                takes = [name for name, c in OPTIMIZERS.items() if c.takes_momentum]
                raise UsageError(f"momentum applies to {', '.join(takes)} only, not to {optimizer!r}")
            kwargs["momentum"] = momentum
        try:
            return cls(self._params, **kwargs)
        except ValueError as err:
            raise UsageError(str(err)) from None

    def _make_schedule(self, schedule: str | LRSchedule | None) -> LRSchedule | None:
        if schedule is None:
            return None
        if isinstance(schedule, LRSchedule):
            if schedule.optimizer is not self.optimizer:
                raise ValueError("schedule must be built on this trainer's optimizer")
            return schedule
        if not isinstance(schedule, str):
            raise TypeError(f"schedule must be None, a name or an LRSchedule, got "
                            f"{type(schedule).__name__}")
        cls = SCHEDULES.get(schedule)
        epochs = self.config.epochs
        if schedule == "cosine":
            return cls(self.optimizer, t_max=epochs)
        return cls(self.optimizer, step_size=max(1, math.ceil(epochs / 3)))

    def _new_early_stopping(self) -> _EarlyStopping | None:
        patience = self.config.early_stopping
        return None if patience is None else _EarlyStopping(patience)

    # -- training ------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, *, validation: tuple[Any, Any] | None = None,
            sample_weight: Any = None, resume: bool = False) -> History:
        """Train for ``config.epochs`` epochs (or until early stopping) and return the history.

        Args:
            X: (N, D) real-valued features; cast once to the model's dtype (float32 stays float32).
            y: (N,) integer class labels in [0, C) for "softmax"/"svm"; (N,) or (N, K) real targets
                for "mse".
            validation: ``(X_val, y_val)`` evaluated after every epoch, or None.
            sample_weight: (N,) non-negative weights; each minibatch's loss is their weighted mean.
            resume: continue from ``checkpoint_dir/checkpoint.npz`` when it exists (the run must
                use the same data and settings; ``epochs`` may be larger), ending bit-identical
                to a run that was never interrupted.  Without a checkpoint the run starts from
                the beginning.  Without ``resume`` a new run starts from the model's current
                weights and optimizer state, and overwrites the checkpoint after its first
                epoch.

        Returns:
            ``self.history``.

        Raises:
            TypeError / ValueError: invalid inputs (named in the message).
            UsageError: ``resume`` with a checkpoint of other settings, model or data.
            DataError: the checkpoint folder is unwritable or the checkpoint corrupt.
            FloatingPointError: the loss or the scores became NaN or inf (names epoch and batch);
                the step that would have used them is not taken.
            TrainingInterrupted: SIGINT/SIGTERM arrived; the current step was finished and a
                checkpoint saved first.
        """
        cfg = self.config
        train = self._prepare(X, y, sample_weight, "X", "y")
        self._train_shape = (len(train), int(train.x.shape[1]))
        val = self._prepare_validation(validation, train)
        path = self._checkpoint_path()

        # Start: a fresh run, or the exact state of the last checkpoint.
        rng = np.random.default_rng(cfg.seed)
        self.history, self.epoch, self.batch = History(), 0, 0
        self.stop_training = False
        self._early = self._new_early_stopping()
        position = _Position()
        if resume and path is not None and path.exists():
            position = self._load_checkpoint(path, rng, train)

        progress = make_progress(cfg.verbose, cfg.epochs)
        try:
            # A diverging network is reported once, as FloatingPointError naming epoch and
            # batch, instead of through NumPy's overflow warnings on the way there.
            with catch_signals() as interrupt, np.errstate(over="ignore", invalid="ignore"):
                while self.epoch < cfg.epochs and not self.stop_training:
                    self._train_epoch(train, val, rng, position, progress, interrupt, path)
                    position = _Position()
        finally:
            progress.close()
            self._batch_buffers.clear()
        if self._early is not None and self._early.best_state:
            self.model.load_state_dict(self._early.best_state)
        return self.history

    def _train_epoch(self, train: _Data, val: _Data | None, rng: np.random.Generator,
                     pos: _Position, progress: Progress, interrupt: InterruptFlag,
                     path: Path | None) -> None:
        """One pass over the shuffled training set, continuing from ``pos``, then the epoch's
        bookkeeping (validation, history, schedule, early stopping, callbacks, checkpoint)."""
        cfg = self.config
        N, B = len(train), cfg.batch_size
        n_batches = -(-N // B)
        epoch = self.epoch + 1
        started = time.perf_counter()

        # The epoch's order of samples; a resumed epoch redraws the same order from the state the
        # generator had when the epoch began.
        if pos.rng_state is None:
            pos.rng_state = rng.bit_generator.state
        else:
            rng.bit_generator.state = pos.rng_state
        order = rng.permutation(N)  # (N,) int64

        progress.start_epoch(epoch, N, done=min(pos.batch * B, N))
        self.model.train()
        with minibatches(train.x, train.y, train.w, order, B, buffers=self._batch_buffers) as batches:
            for b in range(pos.batch, n_batches):
                self.batch = b
                xb, yb, wb = batches.get(b)  # (n, D), (n,) or (n, K), (n,) or None
                loss, scores = self._gradients(xb, yb, wb, epoch, b, n_batches)
                for cb in self._after_backward:
                    cb.on_after_backward(self)
                loss_value = float(loss) + self.step.update()  # data loss + penalty
                if not math.isfinite(loss_value):
                    raise FloatingPointError(f"the training loss became {loss_value} in epoch "
                                             f"{epoch}, batch {b + 1}/{n_batches} (the weight "
                                             "penalty overflowed); lower reg or the learning rate")

                n = int(xb.shape[0])
                pos.batch, pos.loss_sum = b + 1, pos.loss_sum + loss_value * n
                if not self._regression:
                    pos.correct = pos.correct + self._count_correct(scores, yb)
                if progress.wants_postfix():
                    done = min(N, pos.batch * B)
                    acc = None if self._regression else int(pos.correct) / done
                    progress.update(n, pos.loss_sum / done, acc)
                else:
                    progress.update(n)
                if interrupt.signum is not None:
                    pos.seconds += time.perf_counter() - started
                    self._save_checkpoint(path, rng, pos)
                    raise TrainingInterrupted(interrupt.signum, epoch, _str(path))
        self.batch = n_batches
        train_seconds = pos.seconds + time.perf_counter() - started

        # End of the epoch: validation, record, schedule, early stopping, callbacks, checkpoint.
        val_loss = val_accuracy = None
        if val is not None:
            val_loss, val_accuracy = self._evaluate(val)
        record = {
            "epoch": epoch,
            "loss": pos.loss_sum / N,
            "train_accuracy": None if self._regression else int(pos.correct) / N,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "lr": float(self.optimizer.lr),
            "seconds": pos.seconds + time.perf_counter() - started,
        }
        self.history.append(record)
        self.epoch = epoch
        if self.schedule is not None:
            self.schedule.step()
        self._update_early_stopping(record)
        for cb in self._epoch_end:
            cb.on_epoch_end(self, record)
        self._save_checkpoint(path, rng, _Position(rng_state=rng.bit_generator.state))
        progress.end_epoch({**record, "samples_per_second": N / max(train_seconds, 1e-9)})
        if interrupt.signum is not None:
            raise TrainingInterrupted(interrupt.signum, epoch, _str(path))

    def _gradients(self, xb: Array, yb: Array, wb: Array | None, epoch: int, b: int,
                   n_batches: int) -> tuple[Array, Array]:
        """The step's forward, loss and backward, with a diverged network reported by epoch and
        batch."""
        try:
            loss, scores = self.step.gradients(xb, yb, wb)
        except ValueError:
            scores = self.step.scores
            if scores is not None:
                xp = array_namespace(scores)
                if not bool(xp.all(xp.isfinite(scores))):
                    raise FloatingPointError(
                        f"the network's scores became NaN or inf in epoch {epoch}, batch "
                        f"{b + 1}/{n_batches}: training diverged; lower the learning rate") from None
            raise
        if not math.isfinite(float(loss)):
            raise FloatingPointError(f"the training loss became {float(loss)} in epoch {epoch}, "
                                     f"batch {b + 1}/{n_batches}: training diverged; lower the "
                                     "learning rate")
        return loss, scores

    def _count_correct(self, scores: Array, yb: Array) -> Any:
        if self._on_numpy:
            return int(np.count_nonzero(np.argmax(scores, axis=1) == yb))
        xp = self._xp
        return xp.sum(xp.astype(xp.argmax(scores, axis=1) == yb, xp.int64))

    def _update_early_stopping(self, record: dict[str, Any]) -> None:
        es = self._early
        if es is None:
            return
        value = record["val_loss"] if record["val_loss"] is not None else record["loss"]
        if value < es.best_value:
            es.best_value, es.best_epoch, es.bad_epochs = value, record["epoch"], 0
            es.best_state = {k: backend.to_numpy(v).copy() for k, v in self.model.state_dict().items()}
        else:
            es.bad_epochs += 1
            if es.bad_epochs >= es.patience:
                self.stop_training = True

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, X: Any, y: Any) -> dict[str, float | None]:
        """Mean data loss (no weight penalty) and accuracy on ``(X, y)``, in eval mode.

        Returns:
            ``{"loss": float, "accuracy": float}``; accuracy is None for regression losses.
        """
        loss, accuracy = self._evaluate(self._prepare(X, y, None, "X", "y"))
        return {"loss": loss, "accuracy": accuracy}

    def predict_scores(self, X: Any) -> Array:
        """Raw scores (logits) of shape (N, C) for ``X`` (N, D), computed in eval mode in batches;
        an array of the model's namespace and dtype."""
        x = self._to_model(inputs.check_features(X, self._n_features, self._dtype, "X"))
        chunks = [scores for scores, _, _ in self._forward_chunks(x)]
        if self._on_numpy:
            return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        return chunks[0] if len(chunks) == 1 else self._xp.concat(chunks)

    def _forward_chunks(self, x: Array) -> Any:
        """Yield ``(scores, start, stop)`` over ``x`` in eval mode (the mode is restored after)."""
        was_training = self.model.training
        self.model.eval()
        try:
            for start in range(0, int(x.shape[0]), _EVAL_BATCH):
                stop = min(int(x.shape[0]), start + _EVAL_BATCH)
                yield self.model.forward(x[start:stop]), start, stop
        finally:
            self.model.train(was_training)

    def _evaluate(self, data: _Data) -> tuple[float, float | None]:
        loss_sum, correct = 0.0, 0
        for scores, start, stop in self._forward_chunks(data.x):
            yb = data.y[start:stop]
            loss, _ = self.loss_fn(scores, yb)
            loss_sum += float(loss) * (stop - start)
            if not self._regression:
                correct += int(self._count_correct(scores, yb))
        N = len(data)
        return loss_sum / N, None if self._regression else correct / N

    # -- inputs --------------------------------------------------------------------------------
    def _prepare(self, X: Any, y: Any, sample_weight: Any, xname: str, yname: str) -> _Data:
        x = inputs.check_features(X, self._n_features, self._dtype, xname)
        N = len(x)
        if self._regression:
            t = inputs.check_targets(y, N, self._n_outputs, self._dtype, yname, xname)
        else:
            t = inputs.check_labels(y, N, self._n_outputs, yname, xname)
        w = None if sample_weight is None else inputs.check_sample_weight(sample_weight, N, self._dtype)
        return _Data(self._to_model(x), self._to_model(t), None if w is None else self._to_model(w))

    def _prepare_validation(self, validation: Any, train: _Data) -> _Data | None:
        if validation is None:
            return None
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError("validation must be a pair (X_val, y_val) or None")
        return self._prepare(validation[0], validation[1], None, "X_val", "y_val")

    def _to_model(self, a: np.ndarray) -> Array:
        """Move a validated host array to the model's namespace and device (once per fit)."""
        if self._on_numpy:
            return a
        return self._xp.asarray(a, device=backend.device(self._params[0].value))

    # -- checkpoints ---------------------------------------------------------------------------
    def _checkpoint_path(self) -> Path | None:
        folder = self.config.checkpoint_dir
        if folder is None:
            return None
        folder_path = Path(folder)
        try:
            folder_path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DataError(f"cannot create checkpoint folder {folder!r}: {err}") from None
        if not folder_path.is_dir():
            raise DataError(f"checkpoint folder {folder!r} is not a folder")
        return folder_path / CHECKPOINT_NAME

    def _save_checkpoint(self, path: Path | None, rng: np.random.Generator, pos: _Position) -> None:
        """Write everything a resumed run needs to continue exactly from ``pos``."""
        if path is None:
            return
        arrays: dict[str, np.ndarray] = {}
        for name, value in self.model.state_dict().items():
            arrays[f"model:{name}"] = backend.to_numpy(value)
        opt = self.optimizer.state_dict()
        for i, state in enumerate(opt["state"]):
            for key, value in state.items():
                arrays[f"optim:{i}:{key}"] = backend.to_numpy(value)
        es = self._early
        if es is not None:
            for name, value in es.best_state.items():
                arrays[f"best:{name}"] = value
        meta = {
            "config": {k: v for k, v in dataclasses.asdict(self.config).items()
                       if k not in ("checkpoint_dir", "verbose")},
            "model": self.model.get_config(),
            "loss": self.loss_fn.get_config(),
            "optimizer": {"type": opt["type"], "hyperparameters": opt["hyperparameters"],
                          "steps": opt["steps"], "keys": [sorted(s) for s in opt["state"]]},
            "schedule": None if self.schedule is None else
                        {"type": type(self.schedule).__name__, **self.schedule.state_dict()},
            "data": {"n_samples": self._train_shape[0], "n_features": self._train_shape[1]},
            "epoch": self.epoch,
            "stop_training": self.stop_training,
            "position": {"rng_state": pos.rng_state or rng.bit_generator.state,
                         "batch": pos.batch, "loss_sum": pos.loss_sum,
                         "correct": int(pos.correct), "seconds": pos.seconds},
            "dropout": [d.rng.bit_generator.state for d in self._dropouts],
            "early_stopping": None if es is None else
                              {"best_value": es.best_value, "best_epoch": es.best_epoch,
                               "bad_epochs": es.bad_epochs},
            "history": self.history.records,
        }
        try:
            write_checkpoint(path, arrays, meta)
        except OSError as err:
            raise DataError(f"cannot write checkpoint {str(path)!r}: {err}") from None

    def _load_checkpoint(self, path: Path, rng: np.random.Generator, train: _Data) -> _Position:
        """Restore model, optimizer, schedule, generators, history and early stopping."""
        arrays, meta = read_checkpoint(path)
        where = f"checkpoint {str(path)!r}"
        try:
            saved = meta["config"]
            for key in _RESUME_KEYS:
                ours = getattr(self.config, key)
                if saved[key] != ours:
                    raise UsageError(f"{where} was written with {key}={saved[key]!r}, but this "
                                     f"run has {key}={ours!r}; resume with the same settings")
            if meta["model"] != self.model.get_config():
                raise UsageError(f"{where} was written for a different model architecture")
            if meta["loss"] != self.loss_fn.get_config():
                raise UsageError(f"{where} was written for loss {meta['loss']}, not "
                                 f"{self.loss_fn.get_config()}")
            data = meta["data"]
            if (data["n_samples"], data["n_features"]) != (len(train), int(train.x.shape[1])):
                raise UsageError(f"{where} was trained on {data['n_samples']} samples of "
                                 f"{data['n_features']} features, but X has shape "
                                 f"{tuple(train.x.shape)}")
            if (meta["schedule"] is None) != (self.schedule is None) or (
                    self.schedule is not None
                    and meta["schedule"]["type"] != type(self.schedule).__name__):
                raise UsageError(f"{where} was written with schedule "
                                 f"{(meta['schedule'] or {}).get('type')}, this run has "
                                 f"{type(self.schedule).__name__ if self.schedule else None}")
            opt = meta["optimizer"]
            if opt["type"] != type(self.optimizer).__name__:
                raise UsageError(f"{where} was written with optimizer {opt['type']}, this run "
                                 f"uses {type(self.optimizer).__name__}")
            self.model.load_state_dict({name[len("model:"):]: value for name, value in arrays.items()
                                        if name.startswith("model:")})
            self.optimizer.load_state_dict({
                "type": opt["type"], "hyperparameters": opt["hyperparameters"],
                "steps": opt["steps"],
                "state": [{key: arrays[f"optim:{i}:{key}"] for key in keys}
                          for i, keys in enumerate(opt["keys"])],
            })
            if self.schedule is not None:
                self.schedule.load_state_dict(meta["schedule"])
            if len(meta["dropout"]) != len(self._dropouts):
                raise UsageError(f"{where} holds {len(meta['dropout'])} dropout layers, the model "
                                 f"has {len(self._dropouts)}")
            for layer, state in zip(self._dropouts, meta["dropout"], strict=True):
                layer.rng.bit_generator.state = state
            if self._early is not None:
                es = meta["early_stopping"]
                self._early.best_value = float(es["best_value"])
                self._early.best_epoch = int(es["best_epoch"])
                self._early.bad_epochs = int(es["bad_epochs"])
                self._early.best_state = {name[len("best:"):]: value for name, value in arrays.items()
                                          if name.startswith("best:")}
            self.history = History(meta["history"])
            self.epoch = int(meta["epoch"])
            self.stop_training = bool(meta["stop_training"])
            p = meta["position"]
            rng.bit_generator.state = p["rng_state"]
            position = _Position(rng_state=p["rng_state"] if p["batch"] else None,
                                 batch=int(p["batch"]), loss_sum=float(p["loss_sum"]),
                                 correct=int(p["correct"]), seconds=float(p["seconds"]))
        except (KeyError, TypeError, IndexError) as err:
            raise DataError(f"{where} is incomplete or malformed ({type(err).__name__}: {err})"
                            ) from None
        except ValueError as err:
            if isinstance(err, UsageError):
                raise
            raise DataError(f"{where} does not fit this run: {err}") from None
        return position



def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)
