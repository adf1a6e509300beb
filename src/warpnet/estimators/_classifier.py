"""``MLPClassifier`` and ``LinearClassifier``: softmax or multiclass-SVM scores from a network."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils import Tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from .. import nn
from ..errors import UsageError
from ._base import COMMON_ATTRIBUTES, COMMON_PARAMETERS, BaseNetworkEstimator, hidden_sizes
from ._params import AugmentSpec, ImageShape, Interval, LayerSizes, NoneValue, Options

_CLASSIFICATION_LOSSES = ("softmax", "svm")
# multi_class: "joint" scores all classes in one loss (softmax cross-entropy, Weston-Watkins
# SVM); "ovr" trains one binary problem per class with the engine's one-vs-all hinge losses.
_MULTI_CLASS = ("joint", "ovr")
_OVR_LOSSES = {"svm": "svm_ovr", "squared_svm": "svm_ovr_squared"}


def _loss_names() -> list[str]:
    # The engine's losses that score classes (the regression loss "mse" is MLPRegressor's).
    return [name for name in nn.LOSSES.names() if name in _CLASSIFICATION_LOSSES]


def _has_probabilities(estimator: Any) -> bool:
    if estimator.loss != "softmax":
        raise AttributeError(f"predict_proba needs loss='softmax'; loss={estimator.loss!r} gives "
                             f"margins, not probabilities (use decision_function)")
    return True


class _NetworkClassifier(ClassifierMixin, BaseNetworkEstimator):
    """Target handling and prediction of the classifiers."""

    def _loss_fn(self) -> nn.Loss:
        smoothing = getattr(self, "label_smoothing", 0.0)
        if smoothing:
            if self.loss != "softmax":
                raise ValueError(f"label_smoothing applies to loss='softmax' only, not {self.loss!r}")
            return nn.SoftmaxCrossEntropy(label_smoothing=smoothing)
        return nn.loss(self.loss)

    def _prepare_targets(self, y: np.ndarray, dtype: np.dtype, classes: Any, continuing: bool
                         ) -> tuple[np.ndarray, int, dict[str, Any]]:
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__} takes one label per sample (binary or "
                             f"multiclass), got {kind} targets")
        if continuing:
            known = self.classes_
            if classes is not None and not np.array_equal(np.unique(classes), known):
                raise ValueError(f"classes={list(np.unique(classes))} differs from the classes of "
                                 f"the fitted model {list(known)}")
        else:
            known = np.unique(y if classes is None else classes)
        unseen = np.setdiff1d(y, known)
        if unseen.size:
            raise ValueError(f"y holds labels {list(unseen)} that are not among the classes "
                             f"{list(known)}")
        if known.size < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes to "
                             f"learn from, got only one class: {known[0]}")
        return np.searchsorted(known, y).astype(np.intp), known.size, {"classes_": known}

    def _check_effective_targets(self, y: np.ndarray, attrs: dict[str, Any]) -> None:
        present = np.unique(y)
        if present.size < 2 and not hasattr(self, "network_"):
            raise ValueError(f"only one class ({attrs['classes_'][present[0]]}) has samples with "
                             f"positive sample_weight; {type(self).__name__} needs at least 2 "
                             f"classes to learn from")

    def _stratify(self, y: np.ndarray) -> np.ndarray:
        return y

    def _validation_score(self, scores: np.ndarray, y: np.ndarray,
                          sample_weight: np.ndarray | None) -> float:
        return float(np.average(np.argmax(scores, axis=1) == y, weights=sample_weight))

    # -- public API --------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _NetworkClassifier:
        """Train from scratch (or from the current weights with ``warm_start=True``).

        Args:
            X: (n_samples, n_features) real numbers; float32 keeps the model in float32.
            y: (n_samples,) class labels (ints, strings, ...), at least two classes.
            sample_weight: (n_samples,) non-negative weights, not all zero; the loss is the
                weighted mean over each minibatch.

        Returns:
            self.

        Raises:
            ValueError: invalid data (NaN/inf, wrong shapes, one class, continuous y, ...);
                ``warpnet.errors.UsageError`` for an invalid hyper-parameter.
            FloatingPointError: training diverged (the message names the epoch); a fitted
                estimator keeps its previous weights.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> _NetworkClassifier:
        """One epoch over (X, y), continuing from the current weights and optimizer state.

        Args:
            classes: every class label that will ever be seen; needed on the first call when
                this batch does not hold them all (then defaults to ``np.unique(y)``).

        Raises:
            ValueError: as ``fit``; also a different number of features or unknown labels than on
                the first call.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def decision_function(self, X: Any) -> np.ndarray:
        """Class scores (N, n_classes); for two classes the margin ``s_1 - s_0``, shape (N,)."""
        scores = self._scores(X)
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict(self, X: Any) -> np.ndarray:
        """The class with the highest score, (N,) with the labels' dtype."""
        scores = self._scores(X)  # raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(scores, axis=1)]

    @available_if(_has_probabilities)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax probabilities (N, n_classes) in ``classes_`` order (``loss="softmax"`` only)."""
        return nn.softmax(self._scores(X))

    @available_if(_has_probabilities)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of ``predict_proba``, computed by log-sum-exp (no log of 0)."""
        scores = self._scores(X)
        shifted = scores - scores.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.input_tags.allow_nan = False
        return tags


class MLPClassifier(_NetworkClassifier):
    __doc__ = f"""A multi-layer perceptron classifier on warpnet's engine, scikit-learn compatible.

    ``Linear -> activation [-> Dropout] -> ... -> Linear`` scores trained with the softmax
    cross-entropy or the multiclass SVM loss by minibatch ``solver`` steps.  Compared with
    scikit-learn's ``MLPClassifier``: every activation of ``warpnet.nn.ACTIVATIONS``, the SVM loss,
    dropout, L1 or L2 penalties, a validation-loss curve, float32 end to end, export to PyTorch.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int or int, default=(100,)
        Widths of the hidden layers; ``()`` is a linear classifier, an int one hidden layer.
    activation : str, default="relu"
        One of ``warpnet.nn.ACTIVATIONS``: "relu", "leaky_relu", "sigmoid" (scikit-learn's
        "logistic"), "tanh", "softplus", "elu".
    loss : {{"softmax", "svm"}}, default="softmax"
        Softmax cross-entropy (scikit-learn's log-loss; gives ``predict_proba``) or the multiclass
        SVM hinge loss.
    solver : default="adam"
    learning_rate_init : float > 0 or "auto", default="auto"
        "auto": 1e-2 for ``solver="sgd"``, 1e-3 for "adam" and "rmsprop" (see below).
    dropout : float in [0, 1), default=0
        Probability of dropping each hidden unit during training (none at prediction).
    normalization : {{None, "batch", "layer"}}, default=None
        A ``BatchNorm1d`` or ``LayerNorm`` between each hidden ``Linear`` and its activation.
    label_smoothing : float in [0, 1), default=0
        Target ``(1 - eps) * onehot + eps / n_classes`` for loss "softmax".
    clip_norm : float > 0 or None, default=None
        Scale the gradients (of all parameters together, penalty included) down to this global
        L2 norm before each update, as ``torch.nn.utils.clip_grad_norm_``.
    ema_decay : float in [0, 1) or None, default=None
        Keep an exponential moving average of the weights, ``avg = d * avg + (1 - d) * w`` after
        every update, and leave it in ``network_`` when ``fit`` returns (the average spans one
        call of ``fit`` or ``partial_fit``; early stopping judges the raw weights).
    augment : str or None, default=None
        Random changes of each training minibatch of images, drawn from ``random_state``:
        "flip" (mirror left-right with probability 1/2), "shift=S" (translate by up to S pixels,
        zeros move in), "cutout=L" (zero an L x L square), comma-separated, e.g.
        "flip,shift=4".  Needs ``image_shape``; rows of X are images flattened in C order.
    image_shape : tuple or None, default=None
        ``(H, W)`` or ``(H, W, C)`` (channels last) of the images whose flattened pixels are the
        rows of X; ``H * W * C`` must equal ``n_features``.  Only ``augment`` uses it.
{COMMON_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray (n_classes,)
{COMMON_ATTRIBUTES}"""

    _parameter_constraints = {
        **BaseNetworkEstimator._parameter_constraints,
        "hidden_layer_sizes": [LayerSizes()],
        "activation": [Options(lambda: nn.ACTIVATIONS.names())],
        "loss": [Options(_loss_names)],
        "dropout": [Interval(float, 0.0, 1.0, "left")],
        "learning_rate_init": [Options(lambda: ["auto"]), Interval(float, 0.0, None, "neither")],
        "normalization": [NoneValue(), Options(lambda: list(nn.NORMS))],
        "label_smoothing": [Interval(float, 0.0, 1.0, "left")],
        "clip_norm": [NoneValue(), Interval(float, 0.0, None, "neither")],
        "ema_decay": [NoneValue(), Interval(float, 0.0, 1.0, "left")],
        "augment": [NoneValue(), AugmentSpec()],
        "image_shape": [NoneValue(), ImageShape()],
    }

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu",
                 loss: str = "softmax", *, alpha: float = 1e-4, penalty: str = "l2",
                 solver: str = "adam", learning_rate: str = "constant",
                 learning_rate_init: float | str = "auto", momentum: float = 0.9, nesterov: bool = True,
                 batch_size: Any = "auto", max_iter: int = 200, tol: float = 1e-4,
                 n_iter_no_change: int = 10, early_stopping: bool = False,
                 validation_fraction: float = 0.1, dropout: float = 0.0, warm_start: bool = False,
                 random_state: Any = None, verbose: Any = False, dtype: str | None = None,
                 device: str = "cpu", normalization: str | None = None,
                 label_smoothing: float = 0.0, clip_norm: float | None = None,
                 ema_decay: float | None = None, augment: str | None = None,
                 image_shape: tuple[int, ...] | None = None) -> None:
        self.normalization = normalization
        self.label_smoothing = label_smoothing
        self.clip_norm = clip_norm
        self.ema_decay = ema_decay
        self.augment = augment
        self.image_shape = image_shape
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.alpha = alpha
        self.penalty = penalty
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterov = nesterov
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.dropout = dropout
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.device = device

    def _architecture(self) -> tuple[list[int], str, float]:
        return hidden_sizes(self.hidden_layer_sizes), self.activation, float(self.dropout)


class LinearClassifier(_NetworkClassifier):
    __doc__ = f"""A linear classifier ``scores = X @ W + b`` trained with the softmax or the
    multiclass SVM loss (the lecture's linear classifiers), scikit-learn compatible.

    Parameters
    ----------
    loss : {{"softmax", "svm", "squared_svm"}}, default="softmax"
        "squared_svm" (squared hinges, scikit-learn's ``LinearSVC`` default) needs
        ``multi_class="ovr"``.
    multi_class : {{"joint", "ovr"}}, default="joint"
        "joint": one loss over all class scores (softmax cross-entropy, or the Weston-Watkins
        multiclass SVM).  "ovr" (``loss="svm"`` only): one-vs-all linear SVMs, one binary hinge
        problem per class (``warpnet.nn.OneVsAllHinge``) as in scikit-learn's ``LinearSVC``
        and the SGD-trained SVMs of Perronnin et al. (2011).  The binary problems share nothing
        but the minibatches: the gradient of column ``c`` of ``W`` depends on column ``c``
        alone, so training them together as one ``X @ W`` per step is exactly training them
        apart, in one matrix product instead of ``n_classes`` (faster than ``n_classes`` fits
        on parallel workers; ``benchmarks/cifar10.py --section svm`` measures it).  Every
        class's score is a margin on the same scale, and ``predict`` takes the largest.
    solver : default="sgd"
    learning_rate_init : default=1e-2
{COMMON_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray (n_classes,)
{COMMON_ATTRIBUTES}"""

    _parameter_constraints = {
        **BaseNetworkEstimator._parameter_constraints,
        "loss": [Options(lambda: [*_loss_names(), "squared_svm"])],
        "multi_class": [Options(lambda: _MULTI_CLASS)],
    }

    def __init__(self, loss: str = "softmax", *, multi_class: str = "joint", alpha: float = 1e-4,
                 penalty: str = "l2", solver: str = "sgd", learning_rate: str = "constant",
                 learning_rate_init: float = 1e-2, momentum: float = 0.9, nesterov: bool = True,
                 batch_size: Any = "auto", max_iter: int = 200, tol: float = 1e-4,
                 n_iter_no_change: int = 10, early_stopping: bool = False,
                 validation_fraction: float = 0.1, warm_start: bool = False,
                 random_state: Any = None, verbose: Any = False, dtype: str | None = None,
                 device: str = "cpu") -> None:
        self.loss = loss
        self.multi_class = multi_class
        self.alpha = alpha
        self.penalty = penalty
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterov = nesterov
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.device = device

    def _architecture(self) -> tuple[list[int], str, float]:
        if self.multi_class == "ovr" and self.loss not in _OVR_LOSSES:
            raise UsageError(f"multi_class='ovr' needs loss in {sorted(_OVR_LOSSES)}, got "
                             f"loss={self.loss!r}; use multi_class='joint' for {self.loss!r}")
        if self.multi_class == "joint" and self.loss not in _CLASSIFICATION_LOSSES:
            raise UsageError(f"loss={self.loss!r} needs multi_class='ovr' (it is a one-vs-all "
                             f"loss), got multi_class='joint'")
        return [], "relu", 0.0  # no hidden layer: the activation is never used

    def _loss_fn(self) -> nn.Loss:
        if self.multi_class == "ovr":
            return nn.loss(_OVR_LOSSES[self.loss])
        return nn.loss(self.loss)


__all__ = ["MLPClassifier", "LinearClassifier"]
