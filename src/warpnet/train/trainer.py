"""``Trainer``: minibatch training over shuffled epochs, read top to bottom.

One optimizer step is the lecture's loop (``step.py``: ``make_step``, compiled where
``warpnet._fast`` knows the model)::

    gather a shuffled minibatch  ->  zero_grad  ->  forward  ->  data loss  ->  backward
    ->  reg * dR/dW into the gradients  ->  [callbacks: on_after_backward]  ->  optimizer.step()

and the step's loss is the data loss + reg * sum_k R(W_k) of the weights the update read.  The
settings are a ``TrainConfig`` (``config.py``), evaluation is ``evaluation.py``, and what a
checkpoint holds is ``state.py``.

After each epoch: validation, a ``History`` record, the learning-rate schedule, early stopping,
``on_epoch_end`` callbacks and a checkpoint.  All randomness of a run comes from one NumPy
generator seeded with ``seed`` (the shuffling) and the model's own dropout generators; both go
into every checkpoint, so ``fit(..., resume=True)`` ends bit-identical to a run that was never
interrupted.

Speed notes (NumPy): X is cast to the model's dtype once; each minibatch is gathered into reused
buffers (``step.minibatches``); the first layer skips the gradient with respect to the data.  Reading the loss
once per step costs nothing extra, because the loss function has already inspected the scores on
the host; the training accuracy is counted from the minibatch scores, so it needs no extra pass
(it is the accuracy of the weights as they were during the epoch, not at its end).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend, nn
from ..backend import Array, array_namespace
from ..errors import DataError, UsageError
from ..optim import OPTIMIZERS, SCHEDULES, LRSchedule, Optimizer
from ..progress import Progress, make_progress
from . import inputs
from .augment import parse_augment
from .checkpoint import CHECKPOINT_NAME
from .config import DIGITS_DEFAULTS, TrainConfig
from .distributed import DataParallel, device_kind
from .evaluation import Data, count_correct, evaluate, forward_chunks
from .history import History
from .interrupt import InterruptFlag, TrainingInterrupted, catch_signals
from .regularize import WeightEMA, clip_grad_norm
from .state import EarlyStopping, Position, load_state, save_state
from .step import make_step, minibatches
from .streaming import ChunkedRows, is_out_of_core

__all__ = ["Trainer", "TrainConfig", "DIGITS_DEFAULTS"]


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
        weight_decay: the optimizer's weight decay (decoupled for "adamw"), with an optimizer name.
        label_smoothing: in [0, 1), for loss "softmax" (``SoftmaxCrossEntropy(label_smoothing)``).
        reg, penalty, batch_size, epochs, seed, early_stopping, checkpoint_dir, verbose,
            clip_norm, warmup (with schedule "cosine"), ema, augment, image_shape: see
            ``TrainConfig``.  Clipping runs the plain step (on the whole gradient, penalty
            included); augmentation transforms each gathered minibatch (``train.augment``).
            With a ``BatchNorm1d`` in the model, an epoch whose last minibatch would hold one
            sample drops it (PyTorch's ``drop_last``); the order is reshuffled every epoch, so
            that sample is trained on in the others.

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
                 callbacks: Iterable[Any] = (), weight_decay: float | None = None,
                 label_smoothing: float = 0.0, clip_norm: float | None = None, warmup: int = 0,
                 ema: float | None = None, augment: str | None = None,
                 image_shape: tuple[int, ...] | None = None,
                 distributed: bool = False) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a warpnet.nn.Module, got {type(model).__name__}")
        self.model = model
        self._params = model.parameters()
        if not self._params:
            raise ValueError("model has no parameters to train")
        self.config = TrainConfig(batch_size=batch_size, epochs=epochs, seed=seed, reg=reg,
                                  penalty=penalty, early_stopping=early_stopping,
                                  checkpoint_dir=None if checkpoint_dir is None else str(checkpoint_dir),
                                  verbose=verbose,
                                  clip_norm=clip_norm, warmup=warmup, ema=ema, augment=augment,
                                  image_shape=image_shape)
        self.loss_fn = self._make_loss(loss, label_smoothing)
        self.optimizer = self._make_optimizer(optimizer, lr, momentum, weight_decay)
        self.schedule = self._make_schedule(schedule)
        self.penalty = nn.penalty(self.config.penalty, self.config.reg)
        if callbacks is None or isinstance(callbacks, str) or not hasattr(callbacks, "__iter__"):
            raise TypeError(f"callbacks must be a list of callback objects (wrap a single one "
                            f"in a list), got {type(callbacks).__name__}")
        self.callbacks = tuple(callbacks)
        for cb in self.callbacks:
            if not (callable(getattr(cb, "on_epoch_end", None))
                    or callable(getattr(cb, "on_after_backward", None))):
                raise TypeError(f"callback {cb!r} has neither on_epoch_end nor on_after_backward")
        self._after_backward = [cb for cb in self.callbacks if hasattr(cb, "on_after_backward")]
        # Data parallel: gradients are averaged over the ranks first, before any user callback.
        self._dist = DataParallel(device_kind(model.parameters()[0].value)) if distributed else None
        if self._dist is not None:
            self._after_backward.insert(0, self._dist)
        self._epoch_end = [cb for cb in self.callbacks if hasattr(cb, "on_epoch_end")]
        self._dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
        if self._dist is not None:
            self._dist.reseed_dropout(self._dropouts, seed, 0)
            if not self._dist.is_writer:
                self.config = dataclasses.replace(self.config, verbose=0)
        self._regression = self.loss_fn.regression
        # The step: compiled where ``warpnet._fast`` knows the model, else the plain loop.
        self.step = make_step(model, self.loss_fn, self.optimizer, self.penalty,
                              compiled=self.config.clip_norm is None)
        self.ema: WeightEMA | None = None  # made by ``fit`` when ``config.ema`` is set
        self._augment = None if self.config.augment is None else \
            parse_augment(self.config.augment, self.config.image_shape)
        self._batch_buffers: dict[Any, Any] = {}  # the minibatch buffers, shared by a fit's epochs
        first = self._params[0].value
        self._xp = array_namespace(first)
        self._on_numpy = backend.is_numpy_array(first)
        self._dtype = backend.to_numpy(first[:0]).dtype  # parameters' dtype as a NumPy dtype
        self._n_features, self._n_outputs = inputs.model_io_sizes(model)
        if self._augment is not None and self._n_features not in (None, self._augment.n_features):
            raise UsageError(f"image_shape {self._augment.image_shape} has "
                             f"{self._augment.n_features} values, the model takes {self._n_features}")
        self.history = History()
        self.epoch = 0
        self.batch = 0
        self.stop_training = False
        self._early = self._new_early_stopping()
        self._train_shape = (0, 0)
        self._drop_one = 0  # 1 while a fit skips each epoch's last sample (BatchNorm1d, see fit)

    # -- construction helpers --------------------------------------------------------------------
    @staticmethod
    def _make_loss(loss: str | nn.Loss, label_smoothing: float = 0.0) -> nn.Loss:
        if isinstance(loss, str):
            loss_fn = nn.loss(loss)  # an unknown name raises UsageError
            if label_smoothing != 0.0:
                if not isinstance(loss_fn, nn.SoftmaxCrossEntropy):
                    raise UsageError(f"label_smoothing applies to loss 'softmax' only, not {loss!r}")
                try:
                    loss_fn = nn.SoftmaxCrossEntropy(label_smoothing)
                except ValueError as err:
                    raise UsageError(str(err)) from None
            return loss_fn
        if not isinstance(loss, nn.Loss):
            raise TypeError(f"loss must be a name or a warpnet.nn.Loss, got {type(loss).__name__}")
        if label_smoothing != 0.0:
            raise UsageError("label_smoothing goes with a loss name; give the loss instance its own")
        return loss

    def _make_optimizer(self, optimizer: str | Optimizer, lr: float | None,
                        momentum: float | None, weight_decay: float | None = None) -> Optimizer:
        if isinstance(optimizer, Optimizer):
            if lr is not None or momentum is not None or weight_decay is not None:
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
        if weight_decay is not None:
            kwargs["weight_decay"] = weight_decay
        try:
            return cls(self._params, **kwargs)
        except ValueError as err:
            raise UsageError(str(err)) from None

    def _make_schedule(self, schedule: str | LRSchedule | None) -> LRSchedule | None:
        if self.config.warmup and schedule != "cosine":
            raise UsageError(f"warmup goes with schedule 'cosine', not {schedule!r}")
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
            return cls(self.optimizer, t_max=epochs, warmup=self.config.warmup)
        return cls(self.optimizer, step_size=max(1, math.ceil(epochs / 3)))

    def _new_early_stopping(self) -> EarlyStopping | None:
        patience = self.config.early_stopping
        return None if patience is None else EarlyStopping(patience)

    # -- training ------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, *, validation: tuple[Any, Any] | None = None,
            sample_weight: Any = None, resume: bool = False) -> History:
        """Train for ``config.epochs`` epochs (or until early stopping) and return the history.

        Args:
            X: (N, D) real-valued features; cast once to the model's dtype (float32 stays float32).
                A source not in memory (a Zarr or Dask array, a ``streaming.ChunkedRows``, any
                object with ``shape``, ``dtype`` and row-slice ``__getitem__``) is read block by
                block instead, as is ``validation``'s (``train.streaming``: a block shuffle).
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
            UsageError: ``resume`` with a checkpoint of other settings, model or data; a model
                with ``BatchNorm1d`` and ``batch_size`` 1 or a single sample.
            DataError: the checkpoint folder is unwritable or the checkpoint corrupt.
            FloatingPointError: the loss or the scores became NaN or inf (names epoch and batch);
                the step that would have used them is not taken.
            TrainingInterrupted: SIGINT/SIGTERM arrived; the current step was finished and a
                checkpoint saved first.
        """
        cfg = self.config
        train = self._prepare(X, y, sample_weight, "X", "y")
        self._train_shape = (len(train), int(train.x.shape[1]))
        self._drop_one = self._drops_last_sample(len(train))
        val = self._prepare_validation(validation, train)
        path = self._checkpoint_path()
        if self._dist is not None:
            self._dist.check_batches(len(train) - self._drop_one, cfg.batch_size)

        # Start: a fresh run, or the exact state of the last checkpoint.
        rng = np.random.default_rng(cfg.seed)
        self.history, self.epoch, self.batch = History(), 0, 0
        self.stop_training = False
        self._early = self._new_early_stopping()
        position = Position()
        self.ema = None if cfg.ema is None else WeightEMA(self.model, cfg.ema)
        if resume and path is not None and path.exists():
            position = load_state(self, path, rng, train)
            if self._dist is not None:  # the checkpoint holds rank 0's masks: each rank its own
                self._dist.reseed_dropout(self._dropouts, cfg.seed, self.epoch)
                if not self._dist.is_writer:  # the saved sums cover every rank: count them once
                    position.loss_sum, position.correct = 0.0, 0

        progress = make_progress(cfg.verbose, cfg.epochs)
        try:
            # A diverging network is reported once, as FloatingPointError naming epoch and
            # batch, instead of through NumPy's overflow warnings on the way there.
            with catch_signals() as interrupt, np.errstate(over="ignore", invalid="ignore"):
                while self.epoch < cfg.epochs and not self.stop_training:
                    self._train_epoch(train, val, rng, position, progress, interrupt,
                                      path if self.writes_files else None)
                    position = Position()
        finally:
            progress.close()
            self._batch_buffers.clear()
        if self._early is not None and self._early.best_state:
            self.model.load_state_dict(self._early.best_state)
        elif self.ema is not None:
            self.ema.swap(self.model)  # leave the averaged weights in the model
        return self.history

    def _drops_last_sample(self, N: int) -> int:
        """1 when each epoch skips its last sample, else 0.

        BatchNorm1d cannot normalise a minibatch of one sample in training mode, so when the
        model has one and ``N % batch_size == 1``, the epoch's last minibatch (one sample) is
        dropped, as ``DataLoader(drop_last=True)`` would; the order is reshuffled every epoch, so
        that sample is seen in the others.

        Raises:
            UsageError: a model with BatchNorm1d and ``batch_size == 1`` or a single sample.
        """
        B = self.config.batch_size
        if not any(isinstance(m, nn.BatchNorm1d) for m in self.model.modules()):
            return 0
        if B == 1 or N == 1:
            raise UsageError(f"batch_size={B} with {N} samples gives minibatches of one sample, "
                             "which BatchNorm1d cannot normalise in training mode; choose "
                             "batch_size >= 2 and at least 2 samples")
        return int(N % B == 1)

    def _train_epoch(self, train: Data, val: Data | None, rng: np.random.Generator,
                     pos: Position, progress: Progress, interrupt: InterruptFlag,
                     path: Path | None) -> None:
        """One pass over the shuffled training set, continuing from ``pos``, then the epoch's
        bookkeeping (validation, history, schedule, early stopping, callbacks, checkpoint)."""
        cfg = self.config
        N, B = len(train) - self._drop_one, cfg.batch_size  # N: the samples this epoch trains on
        n_batches = -(-N // B)
        epoch = self.epoch + 1
        started = time.perf_counter()

        # The epoch's order of samples; a resumed epoch redraws the same order from the state the
        # generator had when the epoch began.
        if pos.rng_state is None:
            pos.rng_state = rng.bit_generator.state
        else:
            rng.bit_generator.state = pos.rng_state
        # A source that is not in memory is read block by block (``streaming``: a block shuffle).
        plan = train.x.plan_epoch(rng) if isinstance(train.x, ChunkedRows) else None
        order = rng.permutation(len(train)) if plan is None else plan.order
        order = order[:N]  # (N,) int64; a dropped last sample (BatchNorm) is left out
        if self._dist is not None:  # this rank's share of every global batch
            order, local_sizes, global_sizes = self._dist.shard(order, B)
            B = local_sizes[0]

        progress.start_epoch(epoch, N, done=min(pos.batch * B, N))
        self.model.train()
        batches_of = minibatches(train.x, train.y, train.w, order, B, buffers=self._batch_buffers) \
            if plan is None else train.x.minibatches(plan, train.y, train.w, order, B)
        with batches_of as batches:
            for b in range(pos.batch, n_batches):
                self.batch = b
                if self._dist is not None:
                    self._dist.set_batch(local_sizes[b], global_sizes[b])
                xb, yb, wb = batches.get(b)  # (n, D), (n,) or (n, K), (n,) or None
                if self._augment is not None:
                    xb = self._augment_batch(xb, epoch, b)
                loss, scores = self._gradients(xb, yb, wb, epoch, b, n_batches)
                for cb in self._after_backward:
                    cb.on_after_backward(self)
                if cfg.clip_norm is not None:
                    clip_grad_norm(self._params, cfg.clip_norm)
                loss_value = float(loss) + self.step.update()  # data loss + penalty
                if self.ema is not None:
                    self.ema.update(self._params)
                if not math.isfinite(loss_value):
                    raise FloatingPointError(f"the training loss became {loss_value} in epoch "
                                             f"{epoch}, batch {b + 1}/{n_batches} (the weight "
                                             "penalty overflowed); lower reg or the learning rate")

                n = int(xb.shape[0])
                pos.batch, pos.loss_sum = b + 1, pos.loss_sum + loss_value * n
                if not self._regression:
                    pos.correct = pos.correct + count_correct(scores, yb)
                if progress.wants_postfix():
                    done = min(N, pos.batch * B)
                    acc = None if self._regression else int(pos.correct) / done
                    progress.update(n, pos.loss_sum / done, acc)
                else:
                    progress.update(n)
                signum = self._stop_signal(interrupt)
                if signum is not None:
                    pos.seconds += time.perf_counter() - started
                    if self._dist is not None:  # rank 0 saves the sums over every rank
                        pos.loss_sum, correct = self._dist.sum(pos.loss_sum, int(pos.correct))
                        pos.correct = int(correct)
                    save_state(self, path, rng, pos)
                    raise TrainingInterrupted(signum, epoch, _str(path))
        self.batch = n_batches
        train_seconds = pos.seconds + time.perf_counter() - started
        if self._dist is not None:  # the epoch's loss and accuracy over every rank's samples
            pos.loss_sum, pos.correct = self._dist.sum(pos.loss_sum, int(pos.correct))
            pos.correct = int(pos.correct)

        # End of the epoch: validation, record, schedule, early stopping, callbacks, checkpoint.
        val_loss = val_accuracy = None
        if val is not None:
            if self.ema is not None:
                self.ema.swap(self.model)
            val_loss, val_accuracy = evaluate(self.model, self.loss_fn, val)
            if self.ema is not None:
                self.ema.swap(self.model)
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
        save_state(self, path, rng, Position(rng_state=rng.bit_generator.state))
        progress.end_epoch({**record, "samples_per_second": N / max(train_seconds, 1e-9)})
        signum = self._stop_signal(interrupt)
        if signum is not None:
            raise TrainingInterrupted(signum, epoch, _str(path))

    def _stop_signal(self, interrupt: InterruptFlag) -> int | None:
        """The signal to stop on; in a distributed run the ranks agree, so all stop together."""
        if self._dist is None:
            return interrupt.signum
        signum = int(self._dist.max(interrupt.signum or 0))
        return signum or None

    def _augment_batch(self, xb: Array, epoch: int, b: int) -> Array:
        """The minibatch with the augmentation's draws for ``(seed, epoch, batch)``."""
        rng = np.random.default_rng([self.config.seed, epoch, b])
        assert self._augment is not None
        if self._on_numpy:
            return self._augment(xb, rng)
        out = self._augment(backend.to_numpy(xb), rng)
        return self._xp.asarray(out, device=backend.device(xb))

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
        loss, accuracy = evaluate(self.model, self.loss_fn, self._prepare(X, y, None, "X", "y"))
        return {"loss": loss, "accuracy": accuracy}

    def predict_scores(self, X: Any) -> Array:
        """Raw scores (logits) of shape (N, C) for ``X`` (N, D), computed in eval mode in batches;
        an array of the model's namespace and dtype."""
        x = self._streamed(X, "X") if is_out_of_core(X) else \
            self._to_model(inputs.check_features(X, self._n_features, self._dtype, "X"))
        chunks = [scores for scores, _, _ in forward_chunks(self.model, x)]
        if self._on_numpy:
            return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        return chunks[0] if len(chunks) == 1 else self._xp.concat(chunks)

    # -- inputs --------------------------------------------------------------------------------
    def _prepare(self, X: Any, y: Any, sample_weight: Any, xname: str, yname: str) -> Data:
        streamed = is_out_of_core(X)  # read block by block, never loaded whole
        x = self._streamed(X, xname) if streamed else \
            inputs.check_features(X, self._n_features, self._dtype, xname)
        N = len(x)
        if self._regression:
            t = inputs.check_targets(y, N, self._n_outputs, self._dtype, yname, xname)
        else:
            t = inputs.check_labels(y, N, self._n_outputs, yname, xname)
        w = None if sample_weight is None else inputs.check_sample_weight(sample_weight, N, self._dtype)
        return Data(x if isinstance(x, ChunkedRows) else self._to_model(x), self._to_model(t),
                    None if w is None else self._to_model(w))

    def _streamed(self, X: Any, name: str) -> ChunkedRows:
        """An out-of-core source (``is_out_of_core``) read as the model's dtype and device."""
        rows = X if isinstance(X, ChunkedRows) else ChunkedRows(X, name=name)
        return rows.prepared(self._dtype, name, self._n_features,
                             None if self._on_numpy else self._to_model)

    def _prepare_validation(self, validation: Any, train: Data) -> Data | None:
        if validation is None:
            return None
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError("validation must be a pair (X_val, y_val) or None")
        return self._prepare(validation[0], validation[1], None, "X_val", "y_val")

    def _to_model(self, a: np.ndarray) -> Array:
        """Move a validated host array to the model's namespace and device (once per fit)."""
        if self._on_numpy:
            return a
        if inputs.is_row_source(a):
            raise TypeError(f"a row source ({type(a).__name__}) trains on NumPy only; the model's "
                            "parameters live elsewhere")
        return self._xp.asarray(a, device=backend.device(self._params[0].value))

    @property
    def world_size(self) -> int:
        """Processes training together (1 unless ``distributed=True``)."""
        return 1 if self._dist is None else self._dist.world_size

    @property
    def writes_files(self) -> bool:
        """False on the ranks other than 0 of a distributed run (rank 0 alone writes)."""
        return self._dist is None or self._dist.is_writer

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



def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)
