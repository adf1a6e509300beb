"""Data losses.  Each takes raw scores (logits) and targets and returns ``(loss, dscores)``:
the mean loss over the batch as a 0-d array, and its gradient with respect to the scores.

Inputs are validated here, at the boundary between the network and the labels (with
``warpnet.checks``): scores must be a finite 2-D float array with at least one row, class labels
integers in [0, C).
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..backend import Array, array_namespace
from ..checks import check_class_labels, check_finite, check_fused, check_sample_weight
from ..registry import Registry

LOSSES: Registry[type[Loss]] = Registry("loss")


def _check_scores(scores: Any) -> Any:
    try:
        xp = array_namespace(scores)
    except TypeError:
        raise TypeError(f"scores must be an array, got {type(scores).__name__}") from None
    if not xp.isdtype(scores.dtype, "real floating"):
        raise TypeError(f"scores must be floating point, got dtype {scores.dtype}")
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (N, C), got {tuple(scores.shape)}")
    if scores.shape[0] == 0:
        raise ValueError("scores is an empty batch (N = 0)")
    check_finite(scores, "scores", hint="the network diverged or the input is not finite")
    return xp


def _row_weights(xp: Any, sample_weight: Any, n: int, like: Array) -> Array | None:
    """Per-row weights normalised to sum to 1, shape (N, 1); None means the plain mean (1/N)."""
    if sample_weight is None:
        return None
    w = xp.astype(xp.asarray(sample_weight), like.dtype)
    check_sample_weight(w, n)
    return xp.reshape(w / xp.sum(w), (n, 1))


def _class_inputs(scores: Any, y: Any, sample_weight: Any) -> tuple[Any, Array, Array | None]:
    """Validated ``(xp, labels, row weights)`` for a classification loss."""
    xp = _check_scores(scores)
    N, C = scores.shape
    try:
        y = xp.asarray(y)
    except Exception:
        raise TypeError(f"labels must be an array of integers, got {type(y).__name__}") from None
    y = check_class_labels(y, C, "labels", n_samples=N, x_name="scores")
    return xp, y, _row_weights(xp, sample_weight, N, scores)


def _one_hot(xp: Any, y: Array, n_classes: int, dtype: Any) -> Array:
    """(N, C) rows of the identity picked by the labels (a gather: faster than comparing)."""
    return xp.take(xp.eye(n_classes, dtype=dtype, device=backend.device(y)), y, axis=0)


class Loss:
    """Base class: ``loss_fn(scores, y) -> (loss, dscores)``.

    Class attribute ``regression``: whether the targets are real values (N, K) rather than class
    labels (N,) -- read by the trainer (accuracy or not), the estimators and the tests.
    """

    regression = False

    def __call__(self, scores: Array, y: Array, sample_weight: Array | None = None
                 ) -> tuple[Array, Array]:
        """Loss and its gradient; with ``sample_weight`` (N,), the weighted mean over rows."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@LOSSES.register("softmax")
class SoftmaxCrossEntropy(Loss):
    """Softmax cross-entropy ``-log(exp(s_y) / sum_j exp(s_j))`` averaged over the batch.

    Shape: scores (N, C) float, y (N,) integers in [0, C).  Computed with log-sum-exp after
    subtracting each row's maximum, so scores of any finite size give a finite loss.

    Args:
        label_smoothing: eps in [0, 1): the target is ``(1 - eps) * onehot + eps / C`` instead of
            the one-hot row, so the loss is ``-sum_j target_j log p_j`` and its gradient
            ``softmax - target`` (as ``torch.nn.functional.cross_entropy(label_smoothing=eps)``).
        fused: how a call runs.  False: the formula below, on any array library.  None
            (default): on NumPy arrays without ``sample_weight`` or label smoothing, one compiled
            loop over the rows from ``warpnet._fast`` where numba is installed (the formula is
            some twenty array operations, on a batch of ten classes each costing more in its
            call than in its arithmetic), else the formula.  True: as None, but a call the loop
            cannot take (other arrays, ``sample_weight``, label smoothing, no numba) raises
            ValueError.  Both give the same numbers up to rounding; bad scores or labels always
            reach the formula, which names the problem.

    Raises:
        ValueError: label_smoothing outside [0, 1); ``fused=True`` without numba.
        TypeError: ``fused`` is not None, True or False.
    """

    def __init__(self, label_smoothing: float = 0.0, fused: bool | None = None) -> None:
        if (isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float))
                or not 0.0 <= label_smoothing < 1.0):
            raise ValueError(f"label_smoothing must be a number in [0, 1), got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)
        self.fused = check_fused(fused)

    def __call__(self, scores: Array, y: Array, sample_weight: Array | None = None
                 ) -> tuple[Array, Array]:
        if self.fused is not False and sample_weight is None and not self.label_smoothing \
                and backend.is_numpy_array(scores):
            from .._fast.fused import softmax_cross_entropy  # one compiled pass over the rows

            compiled = softmax_cross_entropy(scores, y)
            if compiled is not None:
                return compiled
        elif self.fused:
            raise ValueError("fused=True needs NumPy scores, no sample_weight and no label "
                             "smoothing; use fused=None or False")
        xp, y, w = _class_inputs(scores, y, sample_weight)
        N, C = scores.shape
        # log softmax by log-sum-exp: subtract each row's maximum, so exp cannot overflow.
        shifted = scores - xp.max(scores, axis=1, keepdims=True)  # (N, C)
        exp = xp.exp(shifted)
        sum_exp = xp.sum(exp, axis=1, keepdims=True)  # (N, 1)
        log_probs = shifted - xp.log(sum_exp)
        onehot = _one_hot(xp, y, C, scores.dtype)  # (N, C)
        if self.label_smoothing:
            onehot = (1.0 - self.label_smoothing) * onehot + self.label_smoothing / C  # the target
        per_row = -xp.sum(log_probs * onehot, axis=1, keepdims=True)  # -log p_y: (N, 1)
        dscores = exp / sum_exp - onehot  # softmax - onehot
        if w is None:
            return xp.sum(per_row) / N, dscores / N
        return xp.sum(per_row * w), dscores * w

    def get_config(self) -> dict[str, Any]:
        return {"type": "SoftmaxCrossEntropy",
                **({"label_smoothing": self.label_smoothing} if self.label_smoothing else {})}

    def __repr__(self) -> str:
        return f"SoftmaxCrossEntropy(label_smoothing={self.label_smoothing})" if self.label_smoothing \
            else "SoftmaxCrossEntropy()"


@LOSSES.register("svm")
class MulticlassSVM(Loss):
    """Multiclass SVM (Weston-Watkins) hinge loss ``sum_{j != y} max(0, s_j - s_y + margin)``,
    averaged over the batch.

    Shape: scores (N, C) float, y (N,) integers in [0, C).
    """

    def __init__(self, margin: float = 1.0) -> None:
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not margin > 0:
            raise ValueError(f"margin must be a positive number, got {margin!r}")
        self.margin = float(margin)

    def __call__(self, scores: Array, y: Array, sample_weight: Array | None = None
                 ) -> tuple[Array, Array]:
        xp, y, w = _class_inputs(scores, y, sample_weight)
        N, C = scores.shape
        onehot = _one_hot(xp, y, C, scores.dtype)
        correct = xp.sum(scores * onehot, axis=1, keepdims=True)  # s_y: (N, 1)
        margins = (scores - correct + self.margin) * (1.0 - onehot)  # the j = y term is excluded
        active = xp.astype(margins > 0, scores.dtype)
        # Each active margin pushes s_j up by 1 and s_y down by 1.
        dscores = active - onehot * xp.sum(active, axis=1, keepdims=True)
        if w is None:
            return xp.sum(margins * active) / N, dscores / N
        return xp.sum(margins * active * w), dscores * w

    def get_config(self) -> dict[str, Any]:
        return {"type": "MulticlassSVM", "margin": self.margin}

    def __repr__(self) -> str:
        return f"MulticlassSVM(margin={self.margin})"


@LOSSES.register("mse")
class MSE(Loss):
    """Squared error between predictions and real-valued targets.

    Args:
        reduction: "mean" averages ``(pred - target)**2`` over every element (as PyTorch's
            ``MSELoss``); "sum" adds them up (the lecture's 20-line network).

    Shape: pred (N, K), target (N, K); a target of shape (N,) is accepted when K = 1.
    """

    regression = True

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction

    def __call__(self, scores: Array, y: Array, sample_weight: Array | None = None
                 ) -> tuple[Array, Array]:
        xp = _check_scores(scores)
        y = xp.asarray(y)
        if y.ndim == 1 and scores.shape[1] == 1:
            y = xp.reshape(y, (-1, 1))
        if tuple(y.shape) != tuple(scores.shape):
            raise ValueError(f"targets must have shape {tuple(scores.shape)}, got {tuple(y.shape)}")
        if not xp.isdtype(y.dtype, "real floating"):
            y = xp.astype(y, scores.dtype)
        check_finite(y, "targets")
        diff = scores - y
        N, K = diff.shape
        w = _row_weights(xp, sample_weight, N, scores)
        if w is not None:  # weighted mean over rows (times N for "sum")
            scale = w * (N if self.reduction == "sum" else 1.0 / K)
            return xp.sum(diff * diff * scale), diff * (2.0 * scale)
        if self.reduction == "sum":
            return xp.sum(diff * diff), 2.0 * diff
        return xp.sum(diff * diff) / (N * K), diff * (2.0 / (N * K))

    def get_config(self) -> dict[str, Any]:
        return {"type": "MSE", "reduction": self.reduction}

    def __repr__(self) -> str:
        return f"MSE(reduction={self.reduction!r})"


def loss(name: str, **kwargs: Any) -> Loss:
    """A loss from its registered name: "softmax", "svm" or "mse"."""
    return LOSSES.get(name)(**kwargs)


def softmax(scores: Array) -> Array:
    """Class probabilities from scores (N, C), row by row (for prediction; training takes the
    loss's gradient, never "softmax, then log")."""
    xp = array_namespace(scores)
    exp = xp.exp(scores - xp.max(scores, axis=1, keepdims=True))  # row max 0: no overflow
    return exp / xp.sum(exp, axis=1, keepdims=True)
