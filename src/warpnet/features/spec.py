"""Feature registry, ``"hog+color+bow"`` specs, and a pickle-free state round trip.

A model file stores fitted features as ``features_to_state(t) -> (config, arrays)``:
``config`` is plain JSON (feature names, ``get_params()``, fitted shapes) and
``arrays`` maps names to NumPy arrays (the bag-of-words codebook), both safe to
write as JSON + safetensors/npz. ``features_from_state(config, arrays)`` rebuilds
an equal transformer without executing anything from the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.pipeline import FeatureUnion
from sklearn.utils.validation import check_is_fitted

from ..checks import check_state_arrays
from ..registry import Registry
from ._base import ImageTransformer
from .bow import BagOfWords, KMeansTriangle
from .color import ColorHistogram
from .dense import ColorStats, DenseDescriptor, DenseSIFT
from .fisher import STATE_ARRAYS, ColorFisherVector, FisherVector
from .hog import HOG

#: Feature name -> transformer class: the one table the CLI, model files and docs read.
FEATURES: Registry[type[ImageTransformer]] = Registry("feature")
for _name, _cls in [("hog", HOG), ("color", ColorHistogram), ("bow", BagOfWords),
                    ("dense-sift", DenseSIFT), ("color-stats", ColorStats),
                    ("fisher-sift", FisherVector), ("fisher-color", ColorFisherVector),
                    ("kmeans-triangle", KMeansTriangle)]:
    FEATURES.register(_name)(_cls)

STATE_FORMAT = "warpnet.features/1"
# Fitted attributes per class that are arrays (stored in ``arrays``, not the JSON config).
_ARRAY_ATTRS: dict[type, tuple[str, ...]] = {
    BagOfWords: ("codebook_",), FisherVector: STATE_ARRAYS, ColorFisherVector: STATE_ARRAYS,
}
# Constructor parameters that are tuples (JSON turns them into lists).
_TUPLE_PARAMS = ("pixels_per_cell", "cells_per_block", "channels", "image_shape", "scales",
                 "regions")


def make_features(
    spec: str, params: Mapping[str, Mapping[str, Any]] | None = None
) -> FeatureUnion:
    """Build an unfitted ``FeatureUnion`` from a spec such as ``"hog+color+bow"``.

    Args:
        spec: feature names from ``FEATURES`` joined by "+", each at most once.
        params: optional constructor arguments per name, e.g. ``{"hog": {"orientations": 12}}``.

    Returns:
        ``FeatureUnion([(name, FEATURES.get(name)(**params[name])), ...])`` whose output
        concatenates the features in spec order.

    Raises:
        ValueError: empty spec, unknown or repeated names, params for names not in spec.
        TypeError: ``spec`` is not a string.
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a string like 'hog+color', got {type(spec).__name__}")
    names = [part.strip() for part in spec.split("+")]
    if not spec.strip() or any(not n for n in names):
        raise ValueError(f"spec must be feature names joined by '+', got {spec!r}")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(
            f"unknown feature {unknown[0]!r} in {spec!r}: expected names from {sorted(FEATURES)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"spec {spec!r} names a feature twice")
    params = dict(params or {})
    extra = sorted(set(params) - set(names))
    if extra:
        raise ValueError(f"params given for {extra}, which spec {spec!r} does not include")
    return FeatureUnion([(n, FEATURES.get(n)(**dict(params.get(n, {})))) for n in names])


def classic_features() -> FeatureUnion:
    """The classic CIFAR-10 pipeline: grey HOG (9 orientations, 8x8 cells) + 10-bin hue histogram.

    On 32x32 RGB images this gives 4 * 4 * 9 = 144 HOG values plus 10 hue values:
    154 per image. HOG runs on luma (0.299 R + 0.587 G + 0.114 B) with one-cell
    blocks, L2-Hys normalized per cell.
    """
    return FeatureUnion(
        [
            ("hog", HOG(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(1, 1), color="gray")),
            ("color", ColorHistogram(bins=10, space="hsv", channels=("h",))),
        ]
    )


def features_to_state(
    transformer: ImageTransformer | FeatureUnion,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Describe fitted features as a JSON-able ``config`` and a dict of ``arrays``.

    Raises:
        TypeError: not a warpnet feature or a FeatureUnion of them.
        sklearn.exceptions.NotFittedError: a part is not fitted.
        ValueError: a parameter cannot be stored (a Generator ``random_state``).
    """
    parts = _parts(transformer)
    config: dict[str, Any] = {
        "format": STATE_FORMAT,
        "union": isinstance(transformer, FeatureUnion),
        "parts": [],
    }
    arrays: dict[str, np.ndarray] = {}
    for name, est in parts:
        check_is_fitted(est)
        key = _registry_name(est)
        params = est.get_params(deep=False)
        if isinstance(params.get("random_state"), np.random.Generator):
            raise ValueError(
                f"{name}: random_state must be an int or None to be stored, got a Generator"
            )
        config["parts"].append(
            {
                "name": name,
                "feature": key,
                "params": {k: _jsonable(v) for k, v in params.items()},
                "image_shape_": list(est.image_shape_),
            }
        )
        for attr in _array_attrs(est):
            arrays[f"{name}.{attr}"] = np.asarray(getattr(est, attr))
    return config, arrays


def features_from_state(
    config: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> ImageTransformer | FeatureUnion:
    """Rebuild fitted features from ``features_to_state`` output.

    Raises:
        ValueError: unknown format or feature name, bad parameters, missing or
            mis-shaped arrays.
    """
    if not isinstance(config, Mapping) or config.get("format") != STATE_FORMAT:
        got = config.get("format") if isinstance(config, Mapping) else type(config).__name__
        raise ValueError(f"config['format'] must be {STATE_FORMAT!r}, got {got!r}")
    parts = config.get("parts")
    if not isinstance(parts, list) or not parts:
        raise ValueError("config['parts'] must be a non-empty list of features")
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a dict of named arrays, got {type(arrays).__name__}")
    built = []
    for i, part in enumerate(parts):
        _check_part(part, i)
        key = part.get("feature")
        if key not in FEATURES:
            raise ValueError(f"unknown feature {key!r} in config: expected one of {sorted(FEATURES)}")
        cls = FEATURES.get(key)
        params = dict(_params_from_json(part.get("params", {})))
        if issubclass(cls, BagOfWords) and "assignment" in params:  # files from before "encoding"
            old = params.pop("assignment")
            params["encoding"] = "triangle" if old == "soft" else old
        try:
            est = cls(**params)
        except TypeError as exc:
            raise ValueError(f"bad parameters for {key!r}: {exc}") from exc
        est._check_params()
        shape = tuple(part["image_shape_"])
        if len(shape) not in (2, 3) or min(shape) < 1:
            raise ValueError(f"{part.get('name')}: image_shape_ must be (H, W[, C]), got {shape}")
        est._check_image_shape(shape)
        name = str(part.get("name", key))
        for attr in _array_attrs(est):
            k = f"{name}.{attr}"
            if k not in arrays:
                raise ValueError(f"arrays lacks {k!r}, needed by feature {name!r}")
            with np.errstate(over="ignore"):  # values beyond float32 become inf, refused below
                setattr(est, attr, np.asarray(arrays[k], dtype=np.float32))
        est.image_shape_ = shape
        est.n_features_in_ = int(np.prod(shape))
        est._n_features_out = est._n_outputs(shape)
        if isinstance(est, BagOfWords):
            _check_codebook(est, name, shape)
        if isinstance(est, FisherVector):
            est._restore_state(name)
        built.append((name, est))
    if not config.get("union", True) and len(built) == 1:
        return built[0][1]
    return FeatureUnion(built)


def _check_part(part: object, i: int) -> None:
    """Raise ValueError unless ``part`` has the layout ``features_to_state`` writes."""
    where = f"config['parts'][{i}]"
    if not isinstance(part, Mapping):
        raise ValueError(f"{where} must be a dict, got {type(part).__name__}")
    if not isinstance(part.get("params", {}), Mapping):
        raise ValueError(f"{where}['params'] must be a dict, got {type(part['params']).__name__}")
    shape = part.get("image_shape_")
    if not isinstance(shape, list | tuple) or len(shape) not in (2, 3) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape
    ):
        raise ValueError(f"{where}['image_shape_'] must be (H, W) or (H, W, C) of ints >= 1, "
                         f"got {shape!r}")


def _array_attrs(est: ImageTransformer) -> tuple[str, ...]:
    """Names of the fitted array attributes of ``est`` (the whitening only where it whitens)."""
    if isinstance(est, BagOfWords):
        return ("codebook_", "zca_mean_", "zca_matrix_") if est.whiten else ("codebook_",)
    return _ARRAY_ATTRS.get(type(est), ())


def _check_codebook(est: BagOfWords, name: str, shape: tuple[int, ...]) -> None:
    if not est.whiten:
        est.zca_mean_ = np.zeros(0, dtype=np.float32)
        est.zca_matrix_ = np.zeros((0, 0), dtype=np.float32)
    dim = est._descriptor_length(shape)
    zca = dim if est.whiten else 0
    expected = {"codebook_": (est.n_words, dim), "zca_mean_": (zca,), "zca_matrix_": (zca, zca)}
    check_state_arrays(est, expected, name, f" (whiten={est.whiten})")


def _parts(transformer: object) -> list[tuple[str, ImageTransformer]]:
    if isinstance(transformer, FeatureUnion):
        parts = [(n, t) for n, t in transformer.transformer_list]
    else:
        parts = [(_registry_name(transformer), transformer)]
    for name, t in parts:
        if not isinstance(t, ImageTransformer):
            raise TypeError(
                f"{name}: expected a warpnet feature ({sorted(FEATURES)}), got {type(t).__name__}"
            )
    return parts


def _registry_name(est: object) -> str:
    for key, cls in FEATURES.items():
        if type(est) is cls:
            return key
    raise TypeError(f"expected a warpnet feature ({sorted(FEATURES)}), got {type(est).__name__}")


def _params_from_json(params: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments from stored params: lists back to tuples, descriptors rebuilt."""
    out = {}
    for k, v in dict(params).items():
        if k in _TUPLE_PARAMS and isinstance(v, list):
            v = _tupled(v)
        elif isinstance(v, Mapping) and "feature" in v:  # a nested descriptor (FisherVector)
            cls = FEATURES.get(v["feature"]) if v["feature"] in FEATURES else None
            if cls is None or not issubclass(cls, DenseDescriptor):
                raise ValueError(f"{k}: unknown descriptor {v['feature']!r}")
            try:
                v = cls(**_params_from_json(v.get("params", {})))
            except TypeError as exc:
                raise ValueError(f"bad parameters for {k} {v['feature']!r}: {exc}") from exc
        out[k] = v
    return out


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def _jsonable(value: Any) -> Any:
    if isinstance(value, DenseDescriptor):
        return {"feature": _registry_name(value),
                "params": {k: _jsonable(v) for k, v in value.get_params(deep=False).items()}}
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value
