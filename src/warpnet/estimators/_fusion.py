"""``LateFusion``: a weighted average of the class scores of separately trained classifiers."""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, clone
from sklearn.exceptions import DataConversionWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import Tags, _safe_indexing, assert_all_finite
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples, check_is_fitted

from ..errors import UsageError

# Weight candidates are multiples of 1 / _GRID_STEPS on the simplex; past _MAX_CANDIDATES
# of them (many systems), the search goes one coordinate at a time instead.
_GRID_STEPS = 20
_MAX_CANDIDATES = 20_000


def _param_rows(params: dict[str, Any], rows: np.ndarray, n: int) -> dict[str, Any]:
    """``params`` for a fit on ``rows`` of the data: a value with one entry per sample (such as
    ``sample_weight``) keeps those rows, anything else passes unchanged."""
    out = {}
    for key, value in params.items():
        per_sample = (not isinstance(value, str | bytes) and hasattr(value, "__len__")
                      and np.ndim(value) >= 1 and _num_samples(value) == n)
        out[key] = _safe_indexing(value, rows) if per_sample else value
    return out


class LateFusion(ClassifierMixin, _BaseComposition):
    """Late fusion: ``scores = sum_m w_m * scores_m`` over separately trained classifiers.

    Each system (for example one-vs-all SVMs on SIFT Fisher vectors and on colour Fisher
    vectors, each a ``Pipeline`` from the same raw input) is trained on its own; the fusion
    averages their per-class scores (``decision_function``, else ``predict_proba``) with
    non-negative weights summing to 1, and predicts the class of the highest fused score.

    With ``weights=None`` the weights are chosen on a validation split: every system is fit
    on the other ``1 - validation_fraction`` of the rows (stratified), and the weights on a
    grid of step 1/20 over the simplex that give the highest validation accuracy win (ties:
    the weights nearest to equal).  With ``refit=True`` the systems are then fit again on all
    rows.  Given ``weights`` are used as they are (normalised to sum 1), with no split.

    Parameters
    ----------
    estimators : list of (str, classifier)
        The systems, each with ``fit`` and ``decision_function`` or ``predict_proba``; they
        are cloned, never fitted in place, and must agree on the classes they see.
    weights : None or sequence of float >= 0, default=None
        None: chosen on the validation split.  Otherwise one weight per system, not all zero.
    validation_fraction : float in (0, 1), default=0.2
    refit : bool, default=True
        Fit the systems again on all rows after the weights are chosen.
    random_state : None or int, default=None
        Seeds the validation split.

    Attributes
    ----------
    estimators_ : list of fitted classifiers
    named_estimators_ : dict name -> fitted classifier
    weights_ : ndarray (n_systems,)
    validation_scores_ : dict or None
        Validation accuracy of each system alone and of the fusion (``weights=None`` only).
    classes_ : ndarray (n_classes,)

    Raises
    ------
    ValueError
        (``fit``) an empty or malformed ``estimators`` list, repeated names, bad ``weights``,
        ``validation_fraction`` or ``refit``; systems that disagree on the classes; a
        validation split too small for every class; ``NotFittedError`` before ``fit``.
    """

    def __init__(self, estimators: list[tuple[str, Any]], *, weights: Any = None,
                 validation_fraction: float = 0.2, refit: bool = True,
                 random_state: int | None = None) -> None:
        self.estimators = estimators
        self.weights = weights
        self.validation_fraction = validation_fraction
        self.refit = refit
        self.random_state = random_state

    # -- nested parameters (``name__param``), as scikit-learn's VotingClassifier ---------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters, with each system's own as ``name__param`` when ``deep``."""
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params: Any) -> LateFusion:
        """Set parameters, including a system's own as ``name__param``; return ``self``."""
        self._set_params("estimators", **params)
        return self

    # -- validation ----------------------------------------------------------------------
    def _check_params(self) -> list[tuple[str, Any]]:
        systems = self.estimators
        if not isinstance(systems, (list, tuple)) or not systems or not all(
                isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str) for s in systems):
            raise UsageError(f"estimators must be a non-empty list of (name, classifier) pairs, "
                             f"got {systems!r}")
        names = [name for name, _ in systems]
        if len(set(names)) != len(names):
            raise UsageError(f"estimators must have distinct names, got {names}")
        for name, est in systems:
            if not hasattr(est, "fit") or not (hasattr(est, "decision_function")
                                               or hasattr(est, "predict_proba")):
                raise UsageError(f"estimators[{name!r}] must have fit and decision_function or "
                                 f"predict_proba, got {type(est).__name__}")
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=float) if _is_number_list(self.weights) else None
            if w is None or w.shape != (len(systems),) or not np.all(np.isfinite(w)) \
                    or np.any(w < 0) or not w.sum() > 0:
                raise UsageError(f"weights must be None or {len(systems)} finite numbers >= 0, "
                                 f"not all zero, got {self.weights!r}")
        f = self.validation_fraction
        if isinstance(f, bool) or not isinstance(f, numbers.Real) or not 0 < f < 1:
            raise UsageError(f"validation_fraction must be a float in the range (0, 1), got {f!r}")
        if not isinstance(self.refit, (bool, np.bool_)):
            raise UsageError(f"refit must be True or False, got {self.refit!r}")
        if self.random_state is not None and not isinstance(self.random_state, numbers.Integral):
            raise UsageError(f"random_state must be None or an int, got {self.random_state!r}")
        return list(systems)

    # -- fitting --------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, **fit_params: Any) -> LateFusion:
        """Fit every system (and choose the weights on a validation split); return ``self``.

        Args:
            X: what every system takes (an (N, D) array, a batch of images, ...), N rows.
            y: (N,) class labels, at least two classes.
            **fit_params: passed to every system's ``fit``.

        Raises:
            ValueError: see the class docstring; errors of the systems' own ``fit``.
        """
        systems = self._check_params()
        # Row-indexable input; each system validates X itself (and says if it takes sparse X).
        X = X.tocsr() if sp.issparse(X) else np.asarray(X)
        if y is None:
            raise ValueError("LateFusion requires y to be passed, but the target y is None")
        y = np.asarray(y)
        if y.size == 0:
            raise ValueError("LateFusion needs at least one sample, got 0 (empty y)")
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected: LateFusion "
                          "ravels it to shape (n,)", DataConversionWarning, stacklevel=2)
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"y must be a 1-D array of labels, got shape {y.shape}")
        if y.dtype.kind == "f":
            assert_all_finite(y, input_name="y")
        check_classification_targets(y)
        if len(y) != _num_samples(X):
            raise ValueError(f"X has {_num_samples(X)} rows but y has {len(y)} labels")
        classes = np.unique(y)
        if classes.size < 2:
            raise ValueError(f"LateFusion needs samples of at least 2 classes, got only one class: "
                             f"{classes[0]}")
        weight = fit_params.get("sample_weight")
        if weight is not None and np.ndim(weight) == 1 and len(weight) == len(y):
            kept = np.unique(y[np.asarray(weight, dtype=float) > 0])
            if kept.size < 2:
                raise ValueError(f"sample_weight leaves samples of {kept.size} class(es) "
                                 f"{kept.tolist()} with a positive weight; LateFusion needs at "
                                 "least 2 classes")
        if self.weights is not None:
            fitted = self._fit_all(systems, X, y, fit_params)
            weights = np.asarray(self.weights, dtype=float)
            self.weights_ = weights / weights.sum()
            self.validation_scores_ = None
        else:
            try:
                idx_train, idx_val = train_test_split(
                    np.arange(len(y)), test_size=self.validation_fraction, stratify=y,
                    random_state=self.random_state)
            except ValueError as err:
                raise ValueError(f"cannot hold out validation_fraction="
                                 f"{self.validation_fraction} of {len(y)} samples with every "
                                 f"class on both sides: {err}") from None
            fitted = self._fit_all(systems, _safe_indexing(X, idx_train), y[idx_train],
                                   _param_rows(fit_params, idx_train, len(y)))
            scores = np.stack([_scores(est, _safe_indexing(X, idx_val), classes) for est in fitted])
            y_val = np.searchsorted(classes, y[idx_val])
            self.weights_, fused_acc = _best_weights(scores, y_val)
            self.validation_scores_ = {
                **{name: float(np.mean(s.argmax(axis=1) == y_val))
                   for (name, _), s in zip(systems, scores, strict=True)},
                "fusion": fused_acc}
            if self.refit:
                fitted = self._fit_all(systems, X, y, fit_params)
        self.estimators_ = fitted
        self.named_estimators_ = {name: est for (name, _), est in zip(systems, fitted, strict=True)}
        self.classes_ = classes
        n_features = getattr(fitted[0], "n_features_in_", None)
        if n_features is not None:
            self.n_features_in_ = n_features
        return self

    @staticmethod
    def _fit_all(systems: list[tuple[str, Any]], X: Any, y: np.ndarray,
                 fit_params: dict[str, Any]) -> list[Any]:
        fitted = [clone(est).fit(X, y, **fit_params) for _, est in systems]
        for (name, _), est in zip(systems, fitted, strict=True):
            if not np.array_equal(getattr(est, "classes_", np.unique(y)), np.unique(y)):
                raise ValueError(f"estimators[{name!r}] learned classes {list(est.classes_)}, "
                                 f"expected {list(np.unique(y))}")
        return fitted

    # -- prediction -------------------------------------------------------------------------
    def decision_function(self, X: Any) -> np.ndarray:
        """Fused scores (N, n_classes), ``sum_m weights_[m] * scores_m``; for two classes the
        margin of the second class, shape (N,)."""
        fused = self._fused(X)
        return fused[:, 1] - fused[:, 0] if fused.shape[1] == 2 else fused

    def predict(self, X: Any) -> np.ndarray:
        """The class of the highest fused score, (N,)."""
        fused = self._fused(X)  # raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(fused, axis=1)]

    def _fused(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        return sum(w * _scores(est, X, self.classes_)
                   for w, est in zip(self.weights_, self.estimators_, strict=True))

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


def _is_number_list(value: Any) -> bool:
    try:
        return all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
    except TypeError:
        return False


def _scores(est: Any, X: Any, classes: np.ndarray) -> np.ndarray:
    """(N, n_classes) float64 per-class scores of a fitted system."""
    if hasattr(est, "decision_function"):
        s = np.asarray(est.decision_function(X), dtype=np.float64)
        if s.ndim == 1:  # binary margin of the second class: +s/2 for it, -s/2 for the first
            s = np.stack([-s / 2, s / 2], axis=1)
    else:
        s = np.asarray(est.predict_proba(X), dtype=np.float64)
    if s.shape[1] != len(classes):
        raise ValueError(f"a system gave {s.shape[1]} class scores, expected {len(classes)}")
    return s


def _best_weights(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights on the simplex with the highest accuracy of ``sum_m w_m scores[m]``.

    Args:
        scores: (M, N, C) per-system scores; y: (N,) class indices.

    Returns:
        (weights (M,), accuracy); ties go to the weights nearest to equal.
    """
    M = scores.shape[0]
    if math.comb(_GRID_STEPS + M - 1, M - 1) <= _MAX_CANDIDATES:
        grid = np.array([c for c in itertools.product(range(_GRID_STEPS + 1), repeat=M)
                         if sum(c) == _GRID_STEPS], dtype=float) / _GRID_STEPS
    else:  # one system at a time against the rest, from equal weights
        grid = np.full((1, M), 1.0 / M)
        for m in range(M):
            for a in np.linspace(0.0, 1.0, _GRID_STEPS + 1):
                w = np.full(M, (1.0 - a) / (M - 1))
                w[m] = a
                grid = np.vstack([grid, w])
    fused = np.einsum("gm,mnc->gnc", grid, scores)  # (G, N, C)
    accuracy = (fused.argmax(axis=2) == y).mean(axis=1)
    distance = np.abs(grid - 1.0 / M).sum(axis=1)
    best = np.lexsort((distance, -accuracy))[0]
    return grid[best], float(accuracy[best])
