"""One-vs-all hinge loss: one binary SVM per class, all trained by the same matrix product.

Column ``c`` of the scores is the margin of the binary problem "class c against the rest", with
target ``t_c = +1`` for rows of class ``c`` and ``-1`` otherwise.  The loss is the sum of the
``C`` binary hinge losses, so its gradient with respect to column ``c`` depends on column ``c``
alone: a step on the whole (D, C) weight matrix is exactly ``C`` independent binary SGD steps,
taken at once (one ``X @ W`` instead of ``C`` products ``X @ w_c``).  Every class is scored on
the same scale (a margin of 1 at the decision boundary plus one), so the highest score picks the
class, as in the one-vs-all SVMs of Perronnin et al. (2011) and scikit-learn's ``LinearSVC``.
"""

from __future__ import annotations

from typing import Any

from ..backend import Array
from .losses import LOSSES, Loss, _class_inputs, _one_hot


@LOSSES.register("svm_ovr")
class OneVsAllHinge(Loss):
    """One-vs-all hinge loss ``sum_c max(0, margin - t_c s_c)`` (``squared``: its square), averaged
    over the batch, with ``t_c = 1`` if ``y == c`` else ``-1``.

    Args:
        margin: the hinge's margin (> 0).
        squared: square each hinge (the "L2-SVM" of scikit-learn's ``LinearSVC`` default and of
            Coates & Ng); its gradient is continuous.

    Shape: scores (N, C) float, y (N,) integers in [0, C); returns (0-d loss, dscores (N, C)).

    Raises:
        ValueError: a non-positive margin, non-finite scores, labels out of range.
    """

    def __init__(self, margin: float = 1.0, squared: bool = False) -> None:
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not margin > 0:
            raise ValueError(f"margin must be a positive number, got {margin!r}")
        if not isinstance(squared, bool):
            raise ValueError(f"squared must be True or False, got {squared!r}")
        self.margin = float(margin)
        self.squared = squared

    def __call__(self, scores: Array, y: Array, sample_weight: Array | None = None
                 ) -> tuple[Array, Array]:
        xp, y, w = _class_inputs(scores, y, sample_weight)
        N, C = scores.shape
        t = 2.0 * _one_hot(xp, y, C, scores.dtype) - 1.0  # +1 for the row's class, -1 elsewhere
        hinge = xp.maximum(self.margin - t * scores, xp.zeros_like(scores))  # (N, C)
        if self.squared:
            per_entry, dscores = hinge * hinge, -2.0 * t * hinge
        else:
            per_entry, dscores = hinge, -t * xp.astype(hinge > 0, scores.dtype)
        if w is None:
            return xp.sum(per_entry) / N, dscores / N
        return xp.sum(per_entry * w), dscores * w

    def get_config(self) -> dict[str, Any]:
        return {"type": "OneVsAllHinge", "margin": self.margin, "squared": self.squared}

    def __repr__(self) -> str:
        return f"OneVsAllHinge(margin={self.margin}, squared={self.squared})"


@LOSSES.register("svm_ovr_squared")
class OneVsAllSquaredHinge(OneVsAllHinge):
    """``OneVsAllHinge(squared=True)`` by name: ``sum_c max(0, margin - t_c s_c)**2`` (L2-SVMs)."""

    def __init__(self, margin: float = 1.0) -> None:
        super().__init__(margin=margin, squared=True)
