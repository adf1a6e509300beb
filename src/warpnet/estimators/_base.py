"""What the classifiers and the regressor share: building the network, the fit loop through
``warpnet.train.Trainer``, ``partial_fit``, warm starts and the forward pass for prediction.

The estimator contract follows scikit-learn: ``__init__`` only stores its arguments, ``fit``
validates them and the data and returns ``self``, and everything learned ends in ``_``.  A fit that
fails (bad input, divergence) leaves a fitted estimator exactly as it was.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import nn, optim
from ..errors import UsageError
from ..nn import Linear, Module
from ._params import Boolean, Interval, NoneValue, Options, RandomState, validate_params
from ._stopping import NoImprovementStop

# What MLPClassifier's learning_rate_init="auto" means for each solver.  Softmax and hinge
# gradients are bounded (|dL/dscore| <= 1), so plain SGD takes ten times Adam's step: at 1e-3,
# scikit-learn's one rate for every solver, SGD is far from trained after the usual epochs (20
# seeds, 50 epochs, batch 200, one hidden layer of 100: digits 95.5 % at 1e-3, 97.1 % at 1e-2;
# make_moons 82 / 86 %, make_circles 65 / 86 %).  Adam and RMSProp scale their own steps, and
# keep scikit-learn's 1e-3 (Keras has the same defaults).
_AUTO_SGD_LEARNING_RATE, _AUTO_LEARNING_RATE = 1e-2, 1e-3

# Prediction runs the network on slices of this many rows, so memory stays bounded on large X.
_PREDICT_ROWS = 8192

_CONSTANT_LR = "constant"


def _schedule_names() -> list[str]:
    return [_CONSTANT_LR, *optim.SCHEDULES.names()]


def hidden_sizes(value: Any) -> list[int]:
    """``hidden_layer_sizes`` (validated) as a list; a single int is one hidden layer."""
    if isinstance(value, numbers.Integral):
        return [int(value)]
    return [int(h) for h in value]


def _root_rng(random_state: Any) -> np.random.Generator:
    """A generator from ``random_state`` without touching NumPy's global state.

    A ``RandomState`` instance (scikit-learn's convention) is asked for one seed, like
    scikit-learn does with it; ``None`` draws fresh entropy from the operating system.
    """
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(int(random_state.randint(0, 2**31 - 1)))
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


class BaseNetworkEstimator(BaseEstimator):
    """Base class; subclasses set ``_parameter_constraints`` and the target handling."""

    # Set by fit (declared here so that the type checker knows them before fit assigns them).
    network_: Module
    network_dtype_: np.dtype
    layer_sizes_: list[int]
    loss_curve_: list[float]
    n_iter_: int
    best_loss_: float
    _optimizer: optim.Optimizer | None
    _rng: np.random.Generator
    _no_improvement: int

    _parameter_constraints: dict[str, list[Any]] = {
        "alpha": [Interval(float, 0.0, None, "left")],
        "penalty": [Options(lambda: nn.PENALTIES.names())],
        "solver": [Options(lambda: optim.OPTIMIZERS.names())],
        "learning_rate": [Options(_schedule_names)],
        "learning_rate_init": [Interval(float, 0.0, None, "neither")],
        "momentum": [Interval(float, 0.0, 1.0, "left")],
        "nesterov": [Boolean()],
        "batch_size": [Options(lambda: ["auto"]), Interval(int, 1, None, "left")],
        "max_iter": [Interval(int, 1, None, "left")],
        "tol": [Interval(float, 0.0, None, "left")],
        "n_iter_no_change": [Interval(int, 1, None, "left")],
        "early_stopping": [Boolean()],
        "validation_fraction": [Interval(float, 0.0, 1.0, "neither")],
        "warm_start": [Boolean()],
        "random_state": [RandomState()],
        "verbose": [Boolean(), Interval(int, 0, None, "left")],
        "dtype": [NoneValue(), Options(lambda: ["float32", "float64"])],
        "device": [Options(lambda: ["cpu", "cuda"])],
    }

    # -- what subclasses provide ------------------------------------------------------------
    def _architecture(self) -> tuple[list[int], str, float]:
        """(hidden layer sizes, activation name, dropout probability)."""
        raise NotImplementedError

    def _loss_fn(self) -> nn.Loss:
        raise NotImplementedError

    def _new_network(self, sizes: list[int], activation: str, dropout: float,
                     rng: np.random.Generator, dtype: str) -> Module:
        """A freshly initialized network for ``fit`` (an MLP with Glorot-uniform weights)."""
        return _glorot_uniform(nn.mlp(sizes, activation, dropout=dropout, init="zeros", rng=rng,
                                      dtype=dtype, norm=getattr(self, "normalization", None)), rng)

    def _prepare_targets(self, y: np.ndarray, dtype: np.dtype, classes: Any, continuing: bool
                         ) -> tuple[np.ndarray, int, dict[str, Any]]:
        """(targets for the loss, number of network outputs, attributes to set on success)."""
        raise NotImplementedError

    def _check_effective_targets(self, y: np.ndarray, attrs: dict[str, Any]) -> None:
        """Raise if the rows with positive weight cannot be learned from (e.g. one class)."""

    def _validation_score(self, scores: np.ndarray, y: np.ndarray,
                          sample_weight: np.ndarray | None) -> float:
        raise NotImplementedError

    def _stratify(self, y: np.ndarray) -> np.ndarray | None:
        return None

    # -- fitting ------------------------------------------------------------------------------
    def _fit(self, X: Any, y: Any, sample_weight: Any, *, incremental: bool,
             classes: Any = None) -> BaseNetworkEstimator:
        # Validation records n_features_in_ early; a fit that fails puts every attribute back.
        # (A shallow copy suffices: training works on new or copied networks and optimizers.)
        before = dict(vars(self))
        try:
            return self._fit_or_raise(X, y, sample_weight, incremental=incremental,
                                      classes=classes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_or_raise(self, X: Any, y: Any, sample_weight: Any, *, incremental: bool,
                      classes: Any) -> BaseNetworkEstimator:
        validate_params(self)
        if incremental and self.early_stopping:
            raise UsageError("partial_fit does not support early_stopping=True (there is no "
                             "held-out set across calls); set early_stopping=False")
        fitted = hasattr(self, "network_")
        continuing = fitted and (incremental or self.warm_start)
        if continuing:
            dtype: Any = self.network_dtype_
        else:
            dtype = (np.float64, np.float32) if self.dtype is None else np.dtype(self.dtype)
        if is_row_source(X):  # rows decoded minibatch by minibatch (e.g. CompressedFeatures)
            y = self._validate_row_source(X, y, dtype, reset=not continuing)
        else:
            X, y = validate_data(self, X, y, reset=not continuing, dtype=dtype,
                                 multi_output=self._multi_output_targets(),
                                 y_numeric=self._numeric_targets())
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype,
                                                 ensure_non_negative=True)
            # Rows of weight 0 contribute nothing; dropping them keeps every minibatch's weights
            # from summing to zero and makes weight 0 exactly "sample removed".
            keep = sample_weight > 0
            if not keep.all():
                X = X.subset(keep) if is_row_source(X) else X[keep]
                y, sample_weight = y[keep], sample_weight[keep]
        targets, n_outputs, attrs = self._prepare_targets(y, X.dtype, classes, continuing)
        if sample_weight is not None:
            self._check_effective_targets(targets, attrs)

        hidden, activation, dropout = self._architecture()
        sizes = [X.shape[1], *hidden, n_outputs]
        rng = _root_rng(self.random_state)
        if continuing:
            if self.layer_sizes_ != sizes:
                raise UsageError(f"cannot continue training: the fitted network has layer sizes "
                                 f"{self.layer_sizes_}, the parameters ask for {sizes}; "
                                 f"set warm_start=False to start over")
            # Train copies so that a failure leaves the fitted model untouched.
            keep_optimizer = incremental and self._optimizer is not None
            network, optimizer = copy.deepcopy(
                (self.network_, self._optimizer if keep_optimizer else None))
            trainer_rng = self._rng if incremental else rng
            history: dict[str, Any] = dict(loss_curve=list(self.loss_curve_), n_iter=self.n_iter_,
                           best_loss=self.best_loss_, no_improvement=self._no_improvement)
        else:
            network = self._new_network(sizes, activation, dropout, rng, X.dtype.name)
            optimizer = None
            trainer_rng = rng
            history = dict(loss_curve=[], n_iter=0, best_loss=math.inf, no_improvement=0)
        if optimizer is None:
            optimizer = self._make_optimizer(network)

        validation = None
        if self.early_stopping:
            targets, validation, sample_weight = self._split(X, targets, sample_weight,
                                                             trainer_rng)
            X = validation.pop("X_train")
        stopper = NoImprovementStop(
            network, tol=self.tol, n_iter_no_change=self.n_iter_no_change,
            first_epoch=history["n_iter"],
            validate=None if validation is None else self._validator(network, **validation),
            check_stop=not incremental, best_loss=history["best_loss"],
            best_score=-math.inf, no_improvement=0 if not incremental else history["no_improvement"])
        epochs = 1 if incremental else self.max_iter
        self._run_trainer(network, optimizer, X, targets, sample_weight, epochs, trainer_rng, stopper)
        if validation is not None:
            stopper.restore_best()

        # Success: publish everything at once.
        for m in network.modules():
            m._reset_buffers()  # drop cached batches so the estimator pickles small
        network.eval()
        self.network_ = network
        self._optimizer = optimizer
        self._rng = trainer_rng
        self._no_improvement = stopper.no_improvement
        for key, value in attrs.items():
            setattr(self, key, value)
        self.layer_sizes_ = sizes
        self.network_dtype_ = X.dtype
        linears = [m for m in network.modules() if isinstance(m, Linear)]
        self.coefs_ = [m.weight.value for m in linears]
        self.intercepts_ = [m.bias.value for m in linears if m.bias is not None]  # every Linear has one
        self.loss_curve_ = history["loss_curve"] + stopper.loss_curve
        self.loss_ = self.loss_curve_[-1]
        self.best_loss_ = stopper.best_loss
        self.n_iter_ = history["n_iter"] + len(stopper.loss_curve)
        if validation is None:
            self.validation_scores_ = self.validation_loss_curve_ = None
            self.best_validation_score_ = None
        else:
            self.validation_scores_ = stopper.validation_scores
            self.validation_loss_curve_ = stopper.validation_loss_curve
            self.best_validation_score_ = stopper.best_score
        if not incremental and not stopper.converged:
            warnings.warn(f"{type(self).__name__} stopped after max_iter={self.max_iter} epochs "
                          f"before the loss stopped improving (tol={self.tol}); raise max_iter "
                          f"to train longer", ConvergenceWarning, stacklevel=3)
        return self

    def _validate_row_source(self, X: Any, y: Any, dtype: Any, *, reset: bool) -> np.ndarray:
        """Check a row source X (shape, dtype; see ``warpnet.train.inputs``) and validate y.

        Raises:
            ValueError: X not (N, D) with N matching y, another D than the fitted one, a dtype
                other than the one asked for, or ``early_stopping`` (it would split X).
        """
        shape = tuple(X.shape)
        allowed = tuple(np.dtype(d) for d in (dtype if isinstance(dtype, tuple) else (dtype,)))
        if len(shape) != 2 or shape[0] == 0:
            raise ValueError(f"X must give (n_samples, n_features) rows with n_samples >= 1, got "
                             f"shape {shape}")
        if np.dtype(X.dtype) not in allowed:
            raise ValueError(f"X gives {np.dtype(X.dtype)} rows, but this fit takes "
                             f"{' or '.join(str(d) for d in allowed)}")
        if self.early_stopping:
            raise ValueError(f"early_stopping=True would split X, which {type(X).__name__} "
                             "cannot do without decoding it; set early_stopping=False")
        y = validate_data(self, y=y, multi_output=self._multi_output_targets(),
                          y_numeric=self._numeric_targets())
        if len(y) != shape[0]:
            raise ValueError(f"X has {shape[0]} samples, but y has {len(y)}")
        if reset:
            self.n_features_in_ = shape[1]
        elif shape[1] != self.n_features_in_:
            raise ValueError(f"X has {shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        return y

    def _make_optimizer(self, network: Module) -> optim.Optimizer:
        kwargs: dict[str, Any] = {"lr": self._learning_rate_init()}
        if optim.OPTIMIZERS.get(self.solver).takes_momentum:
            kwargs["momentum"] = self.momentum
            if self.nesterov and self.momentum > 0:
                kwargs["nesterov"] = True
        return optim.optimizer(self.solver, network.parameters(), **kwargs)

    def _learning_rate_init(self) -> float:
        """``learning_rate_init``, with "auto" resolved for the solver."""
        if self.learning_rate_init == "auto":
            return _AUTO_SGD_LEARNING_RATE if self.solver == "sgd" else _AUTO_LEARNING_RATE
        return float(self.learning_rate_init)

    def _make_schedule(self, optimizer: optim.Optimizer, epochs: int) -> optim.LRSchedule | None:
        if self.learning_rate == _CONSTANT_LR or epochs == 1:
            return None
        if self.learning_rate == "step":
            # Three stages of ten-fold decreasing learning rate over the epoch budget.
            return optim.StepLR(optimizer, step_size=max(1, math.ceil(epochs / 3)), gamma=0.1)
        return optim.SCHEDULES.get(self.learning_rate)(optimizer, epochs)

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(int(self.batch_size), n_samples)

    def _split(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None,
               rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any], np.ndarray | None]:
        """Hold out ``validation_fraction`` of the rows (stratified for classifiers)."""
        arrays = [X, y] + ([sample_weight] if sample_weight is not None else [])
        try:
            parts = train_test_split(*arrays, test_size=self.validation_fraction,
                                     stratify=self._stratify(y),
                                     random_state=int(rng.integers(2**31 - 1)))
        except ValueError as err:
            raise ValueError(f"cannot hold out validation_fraction={self.validation_fraction} of "
                             f"{X.shape[0]} samples for early stopping: {err}") from None
        X_train, X_val, y_train, y_val = parts[:4]
        sw_train, sw_val = parts[4:] if sample_weight is not None else (None, None)
        validation = {"X_train": X_train, "X_val": X_val, "y_val": y_val, "sw_val": sw_val}
        return y_train, validation, sw_train

    def _validator(self, network: Module, X_val: np.ndarray, y_val: np.ndarray,
                   sw_val: np.ndarray | None) -> Any:
        loss_fn = self._loss_fn()

        def validate() -> tuple[float, float]:
            scores = _forward(network, X_val)
            network.train()
            loss, _ = loss_fn(scores, y_val, sample_weight=sw_val)
            return float(loss), self._validation_score(scores, y_val, sw_val)

        return validate

    def _run_trainer(self, network: Module, optimizer: optim.Optimizer, X: np.ndarray,
                     y: np.ndarray, sample_weight: np.ndarray | None, epochs: int,
                     rng: np.random.Generator, stopper: NoImprovementStop) -> None:
        from ..train import Trainer
        from ..train.device import to_device

        device = getattr(self, "device", "cpu")
        if device != "cpu":  # train on the device; the fitted network_ stays in NumPy
            to_device(network, device)
        image_shape = getattr(self, "image_shape", None)
        if image_shape is not None and math.prod(image_shape) != X.shape[1]:
            raise UsageError(f"image_shape {tuple(image_shape)} holds {math.prod(image_shape)} values "
                             f"per image, but X has {X.shape[1]} features")
        trainer = Trainer(network, loss=self._loss_fn(), optimizer=optimizer, reg=self.alpha,
                          penalty=self.penalty, batch_size=self._batch_size(X.shape[0]),
                          epochs=epochs, seed=int(rng.integers(2**31 - 1)),
                          schedule=self._make_schedule(optimizer, epochs),
                          verbose=min(int(self.verbose), 2), callbacks=(stopper,),
                          clip_norm=getattr(self, "clip_norm", None),
                          ema=getattr(self, "ema_decay", None), augment=getattr(self, "augment", None),
                          image_shape=None if image_shape is None else tuple(image_shape))
        # Overflow shows up as non-finite scores or loss, which the trainer reports as a
        # FloatingPointError naming the epoch and batch; NumPy's own warnings add nothing.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            try:
                trainer.fit(X, y, sample_weight=sample_weight)
                if device != "cpu":
                    to_device(network, "cpu")
            except FloatingPointError as err:
                # Count epochs over the estimator's whole life (partial_fit, warm starts) and
                # name the estimator's own parameters.
                raise FloatingPointError(
                    f"{type(self).__name__}: training diverged in epoch {stopper.epoch + 1} "
                    f"({err}); lower learning_rate_init, standardize X or raise alpha") from None

    # -- prediction ---------------------------------------------------------------------------
    def _scores(self, X: Any) -> np.ndarray:
        """Network outputs (N, n_outputs) for validated X, in the network's dtype."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=self.network_dtype_)
        return _forward(self.network_, X)

    def _multi_output_targets(self) -> bool:
        return False

    def _numeric_targets(self) -> bool:
        return False


def is_row_source(X: Any) -> bool:
    """``warpnet.train.inputs.is_row_source``, imported when first needed (not with the module)."""
    from ..train.inputs import is_row_source as check

    return check(X)


def _glorot_uniform(network: Module, rng: np.random.Generator) -> Module:
    """Initialize every ``Linear`` as scikit-learn's MLP does: weights and biases from U(-b, b),
    b = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010).

    Random biases matter: with zero biases every hidden unit's boundary passes through the
    origin, so a ReLU network starts as a function with f(c x) = c f(x) and cannot tell a small
    circle from a large one until the biases have moved.  Glorot's scale (rather than He's larger
    one) also generalizes better on small tabular sets in the epochs an MLP usually gets.
    """
    for layer in network.modules():
        if isinstance(layer, Linear):
            bound = math.sqrt(6.0 / (layer.in_features + layer.out_features))
            layer.weight.value[...] = rng.uniform(-bound, bound, layer.weight.shape)
            if layer.bias is not None:
                layer.bias.value[...] = rng.uniform(-bound, bound, layer.out_features)
    return network


def _forward(network: Module, X: np.ndarray) -> np.ndarray:
    """Eval-mode forward pass in slices of rows; leaves no cached batch behind."""
    network.eval()
    first = network.parameters()[0].value
    if isinstance(first, np.ndarray):
        parts = [network.forward(X[i:i + _PREDICT_ROWS]) for i in range(0, X.shape[0], _PREDICT_ROWS)]
    else:  # a network training on another device (device="cuda"): rows there, scores back
        from .. import backend

        xp, where = backend.array_namespace(first), backend.device(first)
        parts = [backend.to_numpy(network.forward(xp.asarray(X[i:i + _PREDICT_ROWS], device=where)))
                 for i in range(0, X.shape[0], _PREDICT_ROWS)]
    for m in network.modules():
        m._reset_buffers()
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


# Shared docstring text for the parameters every estimator has.
COMMON_PARAMETERS = """
    alpha : float >= 0, default=1e-4
        Strength of the weight penalty: the objective is ``mean data loss + alpha * R(W)`` with
        ``R`` the sum of squared weights (``penalty="l2"``) or of absolute weights ("l1"), over
        weights and not biases, as in the lecture.  scikit-learn's ``alpha`` is scaled by
        ``1 / (2 * batch size)`` instead: its ``alpha=a`` is this ``alpha = a / (2 * batch_size)``.
    penalty : {"l2", "l1"}, default="l2"
        The weight penalty, from ``warpnet.nn.PENALTIES``.
    solver : {"sgd", "rmsprop", "adam"}
        The optimizer, from ``warpnet.optim.OPTIMIZERS`` (scikit-learn's ``solver``; "lbfgs" does
        not exist here, "rmsprop" does).
    learning_rate : {"constant", "step", "cosine"}, default="constant"
        Learning-rate schedule over the ``max_iter`` epochs of ``fit`` (scikit-learn's
        ``learning_rate`` names the schedule too): "step" divides the rate by 10 after each third
        of the epochs, "cosine" anneals it to 0.  ``partial_fit`` always uses the constant rate.
    learning_rate_init : float > 0 (MLPClassifier also takes "auto")
        The step size (the lecture's ``learning_rate``; same name as scikit-learn).
        MLPClassifier's "auto" is 1e-2 for ``solver="sgd"`` and 1e-3 (scikit-learn's value) for
        "adam" and "rmsprop": classification gradients are bounded, and at 1e-3 plain SGD is far
        from trained after ``max_iter`` epochs.
    momentum : float in [0, 1), default=0.9
        Momentum of ``solver="sgd"``, as in scikit-learn.
    nesterov : bool, default=True
        Nesterov momentum for ``solver="sgd"`` (scikit-learn's ``nesterovs_momentum``).
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)`` as in scikit-learn.
    max_iter : int >= 1, default=200
        Number of epochs of ``fit`` at most (scikit-learn's name; the lecture's ``max_epochs``).
    tol, n_iter_no_change : float >= 0, default=1e-4; int >= 1, default=10
        Training stops when for more than ``n_iter_no_change`` epochs in a row the training loss
        (or, with early stopping, the validation score) did not improve by ``tol`` -- the rule of
        scikit-learn's MLP.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for classifiers), record its loss
        and score each epoch, stop by the rule above on the score and keep the best weights.
    validation_fraction : float in (0, 1), default=0.1
    warm_start : bool, default=False
        ``fit`` continues from the current weights (with a fresh optimizer), as in scikit-learn.
    random_state : None, int, numpy Generator or RandomState
        Seeds the initial weights, the dropout masks, the shuffling and the validation split.
        The same int gives bit-identical models; NumPy's global random state is never used.
    verbose : bool or int, default=False
        Print one line (or a progress bar) per epoch.
    dtype : None, "float32" or "float64", default=None
        Precision of the network.  None follows the training data: float32 input trains a
        float32 model end to end, float64 (or integer) input a float64 one.  "float32" trains in
        float32 whatever the input (about twice as fast; scikit-learn's ``StandardScaler`` in a
        pipeline hands on float64).  Prediction casts X to the model's dtype.
    device : {"cpu", "cuda"}, default="cpu"
        Where training runs: "cuda" trains the network on PyTorch CUDA tensors (the same
        engine; the data moves to the GPU once per fit) and moves the fitted ``network_`` back
        to NumPy, so prediction and pickles are the same as for "cpu".  Needs PyTorch and a GPU
        (a ``DataError`` says which is missing).

    scikit-learn's ``shuffle`` is always on here; Adam's ``beta_1``, ``beta_2``, ``epsilon`` are
    fixed at its defaults 0.9, 0.999, 1e-8; ``power_t`` and ``max_fun`` belong to a schedule and a
    solver that do not exist here.
"""

COMMON_ATTRIBUTES = """
    network_ : warpnet.nn.Sequential
        The trained network (export it with ``warpnet.io.to_torch``).
    coefs_, intercepts_ : list of arrays
        Weights ``(n_in, n_out)`` and biases ``(n_out,)`` of each ``Linear`` layer (the network's
        own arrays, same layout as scikit-learn).  float32 input gives a float32 model.
    n_features_in_ : int
    layer_sizes_ : list of int
        Input, hidden and output widths.
    network_dtype_ : numpy dtype
        float32 or float64: the network's precision (the training data's unless ``dtype`` says).
    loss_ : float
        Training loss of the last epoch.
    loss_curve_ : list of float
        Training loss (data loss + penalty) per epoch.
    best_loss_ : float
        Lowest training loss seen.
    validation_scores_, validation_loss_curve_ : list of float or None
        Validation score and validation data loss per epoch with ``early_stopping=True``.
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run (accumulated over ``partial_fit`` calls and warm starts).
"""
