"""What happens to raw samples before the network sees them, fit on the training split only.

``Standardizer`` maps each feature to zero mean and unit variance with the training split's
statistics (the lecture's "zero-center and normalize"); ``ZCAWhitener`` decorrelates the features
as well (ZCA whitening, the rotation-free whitening that keeps images looking like images);
``Preprocessor`` chains the optional feature transform (HOG, colour histogram, bag of words, ...),
flattening, standardization and optional whitening, and turns itself into a JSON config plus
named arrays so the model file carries it and ``predict`` on a raw image applies exactly what
training applied.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..checks import check_finite, check_real
from ..errors import DataError
from ..registry import Registry

_FLOAT32_MAX = float(np.finfo(np.float32).max)

__all__ = ["Standardizer", "ZCAWhitener", "Preprocessor", "WHITENINGS", "seeded_features"]


class Standardizer:
    """Per-feature standardization ``z = (x - mean_) / std_``.

    Features that are constant on the training split (``std == 0``, e.g. the always-blank border
    pixels of the digits) get ``std_ = 1``: they become 0 instead of NaN.

    Attributes (after ``fit``):
        mean_: ``(D,)`` float32 training mean.
        std_: ``(D,)`` float32 training standard deviation (1 where it was 0).
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> Standardizer:
        """Learn mean and std from ``x`` of shape ``(N, D)`` (N >= 1, finite); returns ``self``.

        Raises:
            DataError: ``x`` is not 2-D, empty, not numeric, or holds NaN/inf.
        """
        xc, mean = _centered(_check_matrix(x, "x"))
        xc *= xc  # the squared deviations, in place: no second (N, D) array
        std = np.sqrt(xc.mean(axis=0))
        std[std < 1e-12] = 1.0
        self.mean_ = mean.astype(np.float32)
        self.std_ = std.astype(np.float32)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(N, D)`` -> standardized ``(N, D)`` float32 (a new array; ``x`` is not modified).

        Raises:
            ValueError: called before ``fit``.
            DataError: ``x`` is not ``(N, D)`` with the fitted ``D``, or holds NaN/inf.
        """
        x = _check_fitted_input(self, x, self.std_)
        assert self.mean_ is not None and self.std_ is not None  # checked just above
        out = x.astype(np.float32)  # a copy, so the in-place ops below never touch the input
        out -= self.mean_
        out /= self.std_
        return out


class ZCAWhitener:
    """ZCA whitening ``z = (x - mean_) @ matrix_`` with ``matrix_ = U diag(1 / sqrt(lambda + eps)) U^T``.

    ``lambda`` and ``U`` are the eigenvalues and eigenvectors of the training covariance
    ``C = (x - mean)^T (x - mean) / N``.  Without ``eps`` the output would have identity covariance;
    ``eps`` damps the directions whose variance is below it (for images: the fine, noisy detail),
    so it sets how strongly the high frequencies are boosted.  ZCA is linear and its rotation is
    symmetric, so whitened images still look like images (edges on a grey background): flips and
    shifts of whitened images stay meaningful.  Give it standardized features (unit variance), so
    that ``eps`` is measured against a variance of 1 per feature.

    Args:
        eps: the variance added to every eigenvalue, > 0 (0.1 suits standardized pixels).

    Attributes (after ``fit``):
        mean_: ``(D,)`` float32 training mean.
        matrix_: ``(D, D)`` float32 symmetric whitening matrix.

    Raises:
        ValueError: ``eps`` is not a finite number > 0.
    """

    max_features = 8192  # the covariance is D x D and its eigendecomposition O(D^3)

    def __init__(self, eps: float = 0.1) -> None:
        if isinstance(eps, bool) or not isinstance(eps, int | float) or not math.isfinite(eps) \
                or eps <= 0:
            raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
        self.eps = float(eps)
        self.mean_: np.ndarray | None = None
        self.matrix_: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> ZCAWhitener:
        """Learn the mean and the whitening matrix from ``x`` of shape ``(N, D)``; returns ``self``.

        Raises:
            DataError: ``x`` is not a non-empty finite 2-D array, or has more than
                ``max_features`` columns.
        """
        x = _check_matrix(x, "x")
        D = x.shape[1]
        if D > self.max_features:
            raise DataError(f"ZCA whitening takes at most {self.max_features} features (its "
                            f"covariance is D x D), got {D}")
        xc, mean = _centered(x)
        cov = xc.T @ xc / len(xc)  # (D, D)
        lam, U = np.linalg.eigh(cov)  # cov = U diag(lam) U^T
        lam = np.maximum(lam, 0.0)  # round-off can make the smallest slightly negative
        self.mean_ = mean.astype(np.float32)
        self.matrix_ = ((U / np.sqrt(lam + self.eps)) @ U.T).astype(np.float32)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(N, D)`` -> whitened ``(N, D)`` float32 (a new array; ``x`` is not modified).

        Raises:
            ValueError: called before ``fit``.
            DataError: ``x`` is not ``(N, D)`` with the fitted ``D``, or holds NaN/inf.
        """
        x = _check_fitted_input(self, x, self.matrix_)
        assert self.mean_ is not None and self.matrix_ is not None  # checked just above
        return (x.astype(np.float32) - self.mean_) @ self.matrix_


# Whitening steps after standardization, by name (``Preprocessor(whiten=...)``, ``--whiten``).
WHITENINGS: Registry[type[ZCAWhitener]] = Registry("whitening")
WHITENINGS.register("zca")(ZCAWhitener)


def _check_fitted_input(step: Any, x: Any, fitted: np.ndarray | None) -> np.ndarray:
    """``x`` as a checked ``(N, D)`` array for ``step.transform``, ``D`` the fitted ``mean_``'s;
    ValueError before ``fit`` (``fitted`` or ``mean_`` still None), DataError otherwise."""
    name = type(step).__name__
    if step.mean_ is None or fitted is None:
        raise ValueError(f"{name}.transform called before fit")
    x = _check_matrix(x, "x")
    if x.shape[1] != step.mean_.shape[0]:
        raise DataError(f"x has {x.shape[1]} features, but the {name} was fit on "
                        f"{step.mean_.shape[0]}")
    return x


def _centered(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A checked ``(N, D)`` training matrix ``x`` minus its column mean, ``(N, D)`` float64 (a new
    array), and that mean ``(D,)`` float64."""
    # float64: float32 sums over 50,000 rows lose digits of the mean, and the covariance's small
    # eigenvalues, the ones ZCA's eps damps.
    xc = x.astype(np.float64)  # a copy: centered in place
    mean = xc.mean(axis=0)
    xc -= mean
    return xc, mean


def _check_matrix(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"{name} must be a non-empty (N, D) array, got shape {x.shape}")
    x = _check_finite_numbers(x, name)
    # The statistics and the output are float32: a larger finite value would become inf there
    # and every standardized value NaN.
    if x.dtype.kind == "f" and x.dtype.itemsize > 4:
        top = max(-float(x.min()), float(x.max()))
        if top > _FLOAT32_MAX:
            raise DataError(f"{name} holds values up to {top:.3g} in magnitude, beyond float32's "
                            f"range ({_FLOAT32_MAX:.3g}); rescale the data first")
    return x


def _check_finite_numbers(x: np.ndarray, name: str) -> np.ndarray:
    """``x`` if it holds finite integers or floats; DataError naming ``name`` otherwise."""
    check_real(x, name, error=DataError)
    check_finite(x, name, error=DataError)
    return x


class Preprocessor:
    """Raw samples -> ``(N, D)`` float32 network inputs: features (optional), flatten, standardize,
    whiten (optional).

    Args:
        features: a feature spec such as ``"hog+color"`` understood by
            ``warpnet.features.make_features``, or None for raw values (pixels or given vectors).
        pixel_max: the value of a white pixel in the training images (255 for 8-bit images, 16
            for the scikit-learn digits), so image files can be brought to the training scale;
            None when the samples are not images.
        random_state: seed of the features that draw random samples (the bag-of-words patches),
            so a run is reproducible.
        whiten: a name of ``WHITENINGS`` ("zca"), applied to the standardized vectors, or None.
        whiten_eps: the whitening's ``eps`` (see :class:`ZCAWhitener`), > 0.

    Attributes (after ``fit``):
        input_shape_: shape of one raw sample, e.g. ``(32, 32, 3)``, ``(8, 8)`` or ``(154,)``.
        feature_transform_: the fitted feature transformer, or None.
        standardizer_: the fitted :class:`Standardizer`.
        whitener_: the fitted whitening (e.g. :class:`ZCAWhitener`), or None.

    Raises:
        ValueError: a bad ``features``, ``pixel_max`` or ``whiten_eps``; ``UsageError`` (a
            ``ValueError``) for an unknown ``whiten``.
    """

    def __init__(self, features: str | None = None, pixel_max: float | None = None,
                 random_state: int = 0, whiten: str | None = None, whiten_eps: float = 0.1) -> None:
        if features is not None and (not isinstance(features, str) or not features.strip()):
            raise ValueError(f"features must be a non-empty spec string or None, got {features!r}")
        if pixel_max is not None and (isinstance(pixel_max, bool)
                                      or not isinstance(pixel_max, int | float)
                                      or not math.isfinite(pixel_max) or pixel_max <= 0):
            raise ValueError(f"pixel_max must be a positive number or None, got {pixel_max!r}")
        self.features = features
        self.pixel_max = None if pixel_max is None else float(pixel_max)
        self.random_state = random_state
        # Built here so that a bad name or eps fails before any data is read.
        self.whitener_: ZCAWhitener | None = None if whiten is None else \
            WHITENINGS.get(whiten)(whiten_eps)
        self.whiten = whiten
        self.whiten_eps = whiten_eps if self.whitener_ is None else self.whitener_.eps
        self.input_shape_: tuple[int, ...] | None = None
        self.feature_transform_: Any = None
        self.standardizer_ = Standardizer()

    @property
    def image_shape(self) -> tuple[int, ...] | None:
        """``(H, W)`` or ``(H, W, C)`` when the model takes images, else None."""
        if self.input_shape_ is None or self.pixel_max is None or len(self.input_shape_) < 2:
            return None
        return self.input_shape_

    def fit(self, x: np.ndarray) -> Preprocessor:
        """Fit the feature transform, the standardizer and the whitening on training samples ``x``.

        Args:
            x: ``(N, ...)`` raw samples (images or vectors), N >= 1.

        Raises:
            DataError: empty or non-finite data, or features asked for on non-image data.
        """
        x = _check_samples(x)
        self.input_shape_ = tuple(int(s) for s in x.shape[1:])
        if self.features is not None:
            if x.ndim < 3:
                raise DataError(f"features {self.features!r} need images (N, H, W[, C]), but the "
                                f"data has shape {x.shape}")
            self.feature_transform_ = seeded_features(self.features, self.random_state)
            self.feature_transform_.fit(x)
        vectors = self._vectors(x)
        self.standardizer_.fit(vectors)
        if self.whitener_ is not None:
            self.whitener_.fit(self.standardizer_.transform(vectors))
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Raw samples ``(N, *input_shape_)`` -> standardized (and whitened) ``(N, D)`` float32.

        Raises:
            ValueError: called before ``fit``.
            DataError: the samples have another shape than the training samples, or NaN/inf.
        """
        if self.input_shape_ is None:
            raise ValueError("Preprocessor.transform called before fit")
        x = _check_samples(x)
        if tuple(x.shape[1:]) != self.input_shape_:
            raise DataError(f"samples have shape {tuple(x.shape[1:])}, but the model expects "
                            f"{self.input_shape_}")
        z = self.standardizer_.transform(self._vectors(x))
        return z if self.whitener_ is None else self.whitener_.transform(z)

    def _vectors(self, x: np.ndarray) -> np.ndarray:
        if self.feature_transform_ is not None:
            return np.asarray(self.feature_transform_.transform(x))
        return x.reshape(len(x), -1)

    # -- saving -----------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """``(config, arrays)``: JSON-able settings and named arrays that rebuild this object.

        Raises:
            ValueError: called before ``fit``.
        """
        if self.input_shape_ is None or self.standardizer_.mean_ is None:
            raise ValueError("Preprocessor.get_state called before fit")
        config: dict[str, Any] = {
            "input_shape": list(self.input_shape_),
            "pixel_max": self.pixel_max,
            "features": self.features,
            "feature_config": None,
        }
        assert self.standardizer_.std_ is not None  # fit sets mean_ and std_ together
        arrays = {"mean": self.standardizer_.mean_, "std": self.standardizer_.std_}
        if self.whitener_ is not None:
            assert self.whitener_.mean_ is not None and self.whitener_.matrix_ is not None  # fitted
            config["whiten"], config["whiten_eps"] = self.whiten, self.whiten_eps
            arrays["whiten.mean"], arrays["whiten.matrix"] = self.whitener_.mean_, self.whitener_.matrix_
        if self.feature_transform_ is not None:
            from ..features import features_to_state

            feature_config, feature_arrays = features_to_state(self.feature_transform_)
            config["feature_config"] = feature_config
            arrays.update({f"features.{k}": np.asarray(v) for k, v in feature_arrays.items()})
        return config, arrays

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Preprocessor:
        """Rebuild from :meth:`get_state`'s output (e.g. read back from a model file).

        Raises:
            DataError: a missing or malformed entry.
        """
        try:
            shape = tuple(int(s) for s in config["input_shape"])
            pre = cls(features=config.get("features"), pixel_max=config.get("pixel_max"),
                      whiten=config.get("whiten"), whiten_eps=config.get("whiten_eps", 0.1))
            mean = np.asarray(arrays["mean"], dtype=np.float32)
            std = np.asarray(arrays["std"], dtype=np.float32)
            if pre.whitener_ is not None:
                pre.whitener_.mean_ = np.asarray(arrays["whiten.mean"], dtype=np.float32)
                pre.whitener_.matrix_ = np.asarray(arrays["whiten.matrix"], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"malformed preprocessing in the model file: {exc!r}") from None
        if mean.ndim != 1 or mean.shape != std.shape or not np.all(std > 0):
            raise DataError("malformed preprocessing in the model file: mean/std must be equal-length "
                            "1-D arrays with std > 0")
        whitener = pre.whitener_
        if whitener is not None:
            assert whitener.mean_ is not None and whitener.matrix_ is not None  # read just above
            if whitener.mean_.shape != mean.shape or whitener.matrix_.shape != mean.shape * 2:
                raise DataError(f"malformed preprocessing in the model file: the whitening of "
                                f"{mean.shape[0]} features needs a ({mean.shape[0]},) mean and a "
                                f"{mean.shape * 2} matrix, got {whitener.mean_.shape} and "
                                f"{whitener.matrix_.shape}")
        pre.input_shape_ = shape
        pre.standardizer_.mean_, pre.standardizer_.std_ = mean, std
        if pre.features is not None:
            from ..features import features_from_state

            prefix = "features."
            feature_arrays = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            feature_config = config.get("feature_config")
            if not isinstance(feature_config, Mapping):
                raise DataError(f"malformed preprocessing in the model file: features "
                                f"{pre.features!r} need a feature_config mapping, got "
                                f"{type(feature_config).__name__}")
            try:
                pre.feature_transform_ = features_from_state(feature_config, feature_arrays)
            except ValueError as exc:
                raise DataError(f"malformed preprocessing in the model file: {exc}") from None
        return pre


def seeded_features(spec: str, random_state: int) -> Any:
    """``warpnet.features.make_features(spec)`` with ``random_state`` set on every part that has
    one, so that fitting is reproducible.

    Raises:
        ValueError / TypeError: a bad spec (as ``make_features``).
    """
    from ..features import make_features

    union = make_features(spec)
    for _, part in union.transformer_list:
        if "random_state" in part.get_params(deep=False):
            part.set_params(random_state=random_state)
    return union


def _check_samples(x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise DataError(f"expected a non-empty batch of samples (N, ...), got shape {x.shape}")
    return _check_finite_numbers(x, "samples")
