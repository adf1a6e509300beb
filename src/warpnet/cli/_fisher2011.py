"""``warpnet train --model fisher-2011``: the 2011 ImageNet winner's system, whole, from the command line.

The system of Perronnin, Sanchez et al. (XRCE, ImageNet 2011), top to bottom:

1. two descriptor types on a dense grid of patches at several scales: SIFT (``DenseSIFT``) and
   colour statistics (``ColorStats``; RGB images only, grey images get the SIFT system alone);
2. per type, a PCA and a diagonal Gaussian mixture fitted on a sample of the training descriptors,
   then improved Fisher vectors over the spatial regions (``FisherVector``);
3. product quantization of the training vectors (``ProductQuantizer``: sub-vectors of ``sub_dim``
   values, ``bits_per_value`` bits per value), chunk by chunk in a random order, so the float32
   training matrix never exists: only the codes (32x smaller at 1 bit per value) are kept;
4. per type, one-vs-all linear SVMs learned by SGD from the codes (``LinearClassifier(loss="svm",
   multi_class="ovr")``, each minibatch decoded as it is drawn);
5. late fusion: the weighted sum of the systems' class scores, weights on a grid of the simplex
   chosen for the best accuracy on the validation split (``--val-fraction``); the classifiers are
   then trained again on every training image.

Test images are encoded without compression (as in the original system: only the training set is
stored compressed).  The settings follow the images' size (``settings_for``); ``--set KEY=VALUE``
overrides one for both systems, ``--set fisher-sift.KEY=VALUE`` for one.

The model file is a plain warpnet model file.  Late fusion of linear classifiers is itself linear:
``sum_m w_m (x_m W_m + b_m) = [x_1, x_2] [w_1 W_1; w_2 W_2] + sum_m w_m b_m``, so the network is one
``Linear`` over the concatenated Fisher vectors, and the preprocessing holds the two fitted
``FisherVector`` transforms (PCA, mixture, descriptor settings).  The entry ``fisher_2011`` of the
preprocessing keeps each system's own classifier, fusion weight and product-quantization codebooks;
loading checks that these pieces fit together (``check_pieces``), so ``warpnet eval`` and ``warpnet
predict`` run the whole pipeline on raw images.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, UsageError

NAME = "fisher-2011"
FORMAT = "warpnet.fisher-2011/1"
SYSTEMS = ("fisher-sift", "fisher-color")
# Flags of ``warpnet train`` that this model reads; every other one given is a usage error.
_FLAGS = {"data", "image_size", "model", "epochs", "batch_size", "lr", "reg", "val_fraction",
          "seed", "set"}
# Settings that may differ between the two systems (``--set fisher-sift.KEY=VALUE``).
_PER_SYSTEM = ("patch_size", "step", "scales", "n_components", "pca_components", "regions",
               "n_descriptors", "gmm_iter")


@dataclass
class Settings:
    """One system's settings (``settings_for`` picks them from the image size).

    Descriptors: ``patch_size``, ``step`` and ``scales`` of the dense grid.  Fisher vectors:
    ``n_components`` Gaussians on ``pca_components`` PCA dimensions, ``regions`` (whole image and
    3 horizontal stripes), mixture and PCA fitted on ``n_descriptors`` sampled descriptors with
    ``gmm_iter`` EM steps.  Compression: ``sub_dim`` values per sub-vector at ``bits_per_value``,
    codebooks from ``pq_samples`` training vectors with ``pq_iter`` Lloyd steps.  SVMs: ``loss``
    ("squared_svm": squared hinge, "svm": hinge), ``alpha`` (L2 strength), ``epochs``,
    ``batch_size``, ``lr`` (SGD with momentum 0.9).  ``chunk``: images encoded at a time.
    The SVM defaults were chosen on 5,000 CIFAR-10 training images (2,000 test, float32 vectors):
    squared hinge at lr 0.05 beat the hinge at lr 0.01-0.1 and alpha 1e-5-1e-3 by 1-6 points.
    """

    patch_size: int = 8
    step: int = 4
    scales: tuple[int, ...] = (8, 12)
    n_components: int = 64
    pca_components: int = 32
    regions: tuple[tuple[int, int], ...] = ((1, 1), (1, 3))
    n_descriptors: int = 50_000
    gmm_iter: int = 20
    sub_dim: int = 8
    bits_per_value: int = 1
    pq_samples: int = 2000
    pq_iter: int = 5
    loss: str = "squared_svm"
    alpha: float = 1e-5
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.05
    chunk: int = 1000


# The first row whose side is >= the image's smaller side.  Small images get small patches at a
# fine step (a 32x32 image holds 49 + 36 patches at sizes 8 and 12, step 4) and fewer Gaussians;
# large ones approach the 2011 system (patches of 16-32 pixels, 256 Gaussians on 64 dimensions;
# it used 1,024: ``--set n_components=1024``).
_BY_SIZE: tuple[tuple[float, dict[str, Any]], ...] = (
    (48, dict(patch_size=8, step=4, scales=(8, 12), n_components=64, pca_components=32)),
    (128, dict(patch_size=12, step=4, scales=(12, 16, 24), n_components=128, pca_components=48)),
    (math.inf, dict(patch_size=16, step=6, scales=(16, 24, 32), n_components=256,
                    pca_components=64)),
)


def settings_for(image_shape: tuple[int, ...]) -> Settings:
    """Settings suited to images of ``image_shape`` (H, W[, C]) (see ``_BY_SIZE``)."""
    side = min(image_shape[:2])
    chosen = next(values for limit, values in _BY_SIZE if side <= limit)
    return Settings(**chosen)


def parse_sets(items: list[str], base: Settings, systems: tuple[str, ...]) -> dict[str, Settings]:
    """Each system's settings: ``base`` with ``KEY=VALUE`` (both systems) and
    ``SYSTEM.KEY=VALUE`` (one) applied; VALUE is JSON (lists become tuples) or a bare word.

    Raises:
        UsageError: a malformed item, an unknown key or system, a value of the wrong type.
    """
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    out = {name: dataclasses.replace(base) for name in systems}
    for item in items:
        key, sep, text = item.partition("=")
        system, dot, key = key.rpartition(".")
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE or SYSTEM.KEY=VALUE, got {item!r}")
        if key not in fields:
            raise UsageError(f"--set {item!r}: unknown setting {key!r}; expected one of "
                             f"{sorted(fields)}")
        if dot and system not in SYSTEMS:
            raise UsageError(f"--set {item!r}: unknown system {system!r}; expected one of {SYSTEMS}")
        if dot and key not in _PER_SYSTEM:
            raise UsageError(f"--set {item!r}: {key} is shared by both systems; set it as {key}=...")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        value = _tupled(value)
        default = getattr(base, key)
        if isinstance(default, bool) or type(value) is not type(default) and not (
                isinstance(default, float) and isinstance(value, int)):
            raise UsageError(f"--set {item!r}: {key} takes a {type(default).__name__}, got "
                             f"{value!r}")
        for name in ([system] if dot else systems):
            if name in out:
                setattr(out[name], key, float(value) if isinstance(default, float) else value)
    return out


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


# -- the pipeline ------------------------------------------------------------------------------

@dataclass
class System:
    """One descriptor type's fitted pieces."""

    name: str
    fisher: Any  # FisherVector
    quantizer: Any  # ProductQuantizer
    classifier: Any = None  # LinearClassifier
    seconds: dict[str, float] = field(default_factory=dict)
    store: Any = None  # CompressedFeatures of the training images
    floats: np.ndarray | None = None  # their float32 vectors (``keep_floats`` only)

    def scores(self, features: Any) -> np.ndarray:
        """(N, C) one-vs-all scores of features (an array or a CompressedFeatures)."""
        return np.asarray(self.classifier.decision_function(features), dtype=np.float64).reshape(
            len(features), -1)


def make_fisher(name: str, s: Settings, seed: int) -> Any:
    """The unfitted ``FisherVector`` of system ``name`` with settings ``s``.

    Raises:
        ValueError: settings the transform refuses (named in the message).
    """
    from ..features import ColorStats, DenseSIFT, FisherVector

    kind = DenseSIFT if name == "fisher-sift" else ColorStats
    descriptor = kind(patch_size=s.patch_size, step=s.step, scales=s.scales)
    fv = FisherVector(n_components=s.n_components, pca_components=s.pca_components,
                      regions=s.regions, descriptor=descriptor, n_descriptors=s.n_descriptors,
                      max_iter=s.gmm_iter, random_state=seed)
    fv._check_params()
    return fv


def make_classifier(s: Settings, seed: int) -> Any:
    """The one-vs-all SVMs (SGD, momentum 0.9, float32) of settings ``s``."""
    from ..estimators import LinearClassifier

    return LinearClassifier(loss=s.loss, multi_class="ovr", alpha=s.alpha, max_iter=s.epochs,
                            batch_size=s.batch_size, learning_rate_init=s.lr, momentum=0.9,
                            random_state=seed, dtype="float32")


def encode_compressed(fisher: Any, quantizer: Any, images: np.ndarray, chunk: int, seed: int,
                      keep_floats: bool = False, log: Any = None) -> tuple[Any, np.ndarray | None]:
    """Fisher vectors of ``images`` (N, H, W[, C]), compressed chunk by chunk.

    Chunks follow a random order of the images, so the first chunk (from which ``quantizer`` is
    fitted, when it is not yet) is a random sample.  Returns ``(CompressedFeatures (N, D), floats
    (N, D) float32 or None)``; the floats only with ``keep_floats``.
    """
    from sklearn.utils.validation import check_is_fitted

    from ..features import CompressedFeatures

    N = len(images)
    order = np.random.default_rng(seed).permutation(N)
    codes = floats = None
    for start in range(0, N, chunk):
        rows = np.sort(order[start:start + chunk])
        f = fisher.transform(images[rows])
        try:
            check_is_fitted(quantizer)
        except ValueError:
            quantizer.fit(f)
        c = quantizer.encode(f)
        if codes is None:
            codes = np.empty((N, c.shape[1]), dtype=c.dtype)
            floats = np.empty((N, f.shape[1]), dtype=np.float32) if keep_floats else None
        codes[rows] = c
        if floats is not None:
            floats[rows] = f
        if log is not None:
            log(f"{min(start + chunk, N)}/{N} images encoded")
    if codes is None:
        raise ValueError("encode_compressed needs at least one image, got 0")
    return CompressedFeatures(codes, quantizer), floats


def fuse_weights(scores: list[np.ndarray], y: np.ndarray) -> tuple[np.ndarray, float]:
    """Fusion weights on the simplex with the best accuracy of ``sum_m w_m scores[m]`` (see
    ``LateFusion``): (weights (M,), accuracy)."""
    from ..estimators._fusion import _best_weights

    return _best_weights(np.stack(scores), y)


def check_memory(n_images: int, image_shape: tuple[int, ...], settings: dict[str, Settings],
                 seed: int = 0) -> str:
    """Refuse a run whose compressed training set would not fit in memory; a line describing it.

    Raises:
        DataError: the codes (plus one chunk of float32 vectors) need more than half the memory.
    """
    floats = codes = chunk = 0
    for name, s in settings.items():
        D = make_fisher(name, s, seed)._n_outputs(image_shape)
        floats += n_images * D * 4
        codes += n_images * (D // s.sub_dim) * (1 if s.sub_dim * s.bits_per_value <= 8 else 2)
        chunk = max(chunk, s.chunk * D * 4)
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        memory = None
    if memory is not None and codes + chunk > memory // 2:
        raise DataError(f"the compressed features of {n_images} images need "
                        f"{(codes + chunk) / 2**30:.1f} GiB, more than half of this machine's "
                        "memory: use fewer Gaussians (--set n_components=...), fewer PCA "
                        "dimensions or larger sub-vectors (--set sub_dim=16)")
    return (f"{n_images} training images: {floats / 2**30:.2f} GiB as float32, "
            f"{codes / 2**20:.1f} MiB compressed")


def fit_systems(x: np.ndarray, y: np.ndarray, settings: dict[str, Settings], val_fraction: float,
                seed: int, log: Any, keep_floats: bool = False
                ) -> tuple[list[System], np.ndarray, dict[str, float] | None]:
    """Fit every system on images ``x`` (N, H, W[, C]) and labels ``y`` (N,) int; choose the fusion
    weights on a held-out ``val_fraction`` and train the classifiers again on all N images.
    ``keep_floats``: keep each system's float32 training vectors too (``System.floats``), to
    compare with training on them.

    Returns ``(systems, weights (M,), validation accuracies or None)``.

    Raises:
        ValueError / DataError: images the features refuse, too few images for the codebooks.
    """
    from ..features import ProductQuantizer
    from . import _data

    if val_fraction > 0:
        kept, held = _data.split_indices(y, val_fraction, seed, "the validation split")
    else:
        kept, held = np.arange(len(y)), np.arange(0)
    log(check_memory(len(y), x.shape[1:], settings, seed))
    systems, stores = [], []
    for name, s in settings.items():
        started = time.perf_counter()
        fv = make_fisher(name, s, seed).fit(x[kept])
        fit_s = time.perf_counter() - started
        n_codes = 2 ** (s.sub_dim * s.bits_per_value)
        if len(y) < n_codes:
            raise DataError(f"{len(y)} training images are too few for {n_codes} centroids per "
                            f"sub-vector (sub_dim={s.sub_dim}, bits_per_value={s.bits_per_value}):"
                            f" use --set sub_dim=4 or more images")
        pq = ProductQuantizer(sub_dim=s.sub_dim, bits_per_value=s.bits_per_value,
                              n_samples=min(s.pq_samples, len(y)), max_iter=s.pq_iter,
                              random_state=seed)
        started = time.perf_counter()
        store, floats = encode_compressed(fv, pq, x, max(s.chunk, n_codes), seed, keep_floats,
                                          log=lambda m, name=name: log(f"{name}: {m}"))
        encode_s = time.perf_counter() - started
        log(f"{name}: {fv._n_features_out} values per image, {store.nbytes // len(y)} bytes "
            f"stored ({fit_s:.0f} s to fit, {encode_s:.0f} s to encode)")
        systems.append(System(name, fv, pq, seconds={"fit": fit_s, "encode": encode_s},
                              store=store, floats=floats))
        stores.append(store)
    validation = None
    if len(held) and len(systems) > 1:
        val_scores = []
        for system, store in zip(systems, stores, strict=True):
            clf = _train(make_classifier(settings[system.name], seed), store.subset(kept), y[kept])
            val_scores.append(np.asarray(clf.decision_function(store.subset(held)),
                                         dtype=np.float64).reshape(len(held), -1))
        classes = np.unique(y)
        y_val = np.searchsorted(classes, y[held])
        weights, fused = fuse_weights(val_scores, y_val)
        validation = {s.name: float(np.mean(v.argmax(1) == y_val))
                      for s, v in zip(systems, val_scores, strict=True)}
        validation["fusion"] = fused
    else:
        weights = np.full(len(systems), 1.0 / len(systems))
    for system, store in zip(systems, stores, strict=True):
        started = time.perf_counter()
        system.classifier = _train(make_classifier(settings[system.name], seed), store, y)
        system.seconds["train"] = time.perf_counter() - started
        log(f"{system.name}: SVMs trained from the codes ({system.seconds['train']:.0f} s)")
    return systems, weights, validation


def _train(clf: Any, features: Any, y: np.ndarray) -> Any:
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # max_iter is the epoch budget asked for
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(features, y)


def fused_linear(systems: list[System], weights: np.ndarray) -> Any:
    """One ``nn.Linear`` over the concatenated Fisher vectors computing the fused scores."""
    from .. import nn

    W = np.concatenate([w * s.classifier.coefs_[0] for s, w in zip(systems, weights, strict=True)])
    b = sum(w * s.classifier.intercepts_[0] for s, w in zip(systems, weights, strict=True))
    layer = nn.Linear(W.shape[0], W.shape[1], dtype="float32")
    assert layer.bias is not None  # Linear's default: bias=True
    layer.weight.value[...] = W
    layer.bias.value[...] = b
    return layer


def model_state(systems: list[System], weights: np.ndarray, image_shape: tuple[int, ...],
                pixel_max: float | None) -> dict[str, Any]:
    """The preprocessing dict of the model file: features, identity standardization, pieces."""
    from sklearn.pipeline import FeatureUnion

    from ..features import features_to_state

    union = FeatureUnion([(s.name, s.fisher) for s in systems])
    feature_config, feature_arrays = features_to_state(union)
    D = sum(s.fisher._n_features_out for s in systems)
    config = {"input_shape": list(image_shape), "pixel_max": pixel_max,
              "features": "+".join(s.name for s in systems), "feature_config": feature_config}
    arrays = {"mean": np.zeros(D, dtype=np.float32), "std": np.ones(D, dtype=np.float32)}
    arrays.update({f"features.{k}": np.asarray(v) for k, v in feature_arrays.items()})
    pieces: dict[str, Any] = {"format": FORMAT, "systems": []}
    for s, w in zip(systems, weights, strict=True):
        pq_config, pq_arrays = s.quantizer.to_state()
        pieces["systems"].append({
            "name": s.name, "weight": float(w), "quantizer": pq_config,
            "codebooks": pq_arrays["codebooks_"], "coef": s.classifier.coefs_[0],
            "intercept": s.classifier.intercepts_[0]})
    return {"config": config, "arrays": arrays, "fisher_2011": pieces}


def check_pieces(model: Any, pre: Any, pieces: Any, where: str) -> None:
    """Check that a fisher-2011 model file's pieces fit together.

    The systems must be the preprocessing's features in order, each quantizer must code its
    system's vectors, each classifier must take them and give the network's classes, the weights
    must lie on the simplex, and the network must equal the fused classifiers.

    Raises:
        DataError: the first piece that does not fit, named.
    """
    from ..features import ProductQuantizer

    def bad(message: str) -> DataError:
        return DataError(f"{where}: a fisher-2011 model whose pieces do not fit together: {message}")

    if not isinstance(pieces, dict) or pieces.get("format") != FORMAT:
        raise bad(f"format must be {FORMAT!r}, got "
                  f"{pieces.get('format') if isinstance(pieces, dict) else type(pieces).__name__!r}")
    systems = pieces.get("systems")
    parts = getattr(pre.feature_transform_, "transformer_list", None)
    if not isinstance(systems, list) or not systems or parts is None:
        raise bad("it needs a non-empty list of systems and Fisher-vector features")
    names = [s.get("name") if isinstance(s, dict) else None for s in systems]
    if names != [n for n, _ in parts]:
        raise bad(f"systems {names} differ from the features {[n for n, _ in parts]}")
    in_features, out_features = model.weight.value.shape if hasattr(model, "weight") else (0, 0)
    W: list[np.ndarray] = []
    b: float | np.ndarray = 0.0  # the weighted sum of the systems' biases
    offset = 0
    weights = []
    for system, (name, fv) in zip(systems, parts, strict=True):
        D = fv._n_features_out
        try:
            pq = ProductQuantizer.from_state(system["quantizer"], {"codebooks_": system["codebooks"]})
            weight = float(system["weight"])
            coef = np.asarray(system["coef"], dtype=np.float32)
            intercept = np.asarray(system["intercept"], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise bad(f"system {name!r}: {exc}") from None
        if pq.n_features_in_ != D:
            raise bad(f"the quantizer of {name!r} codes {pq.n_features_in_} values, its Fisher "
                      f"vectors have {D}")
        if coef.shape != (D, out_features) or intercept.shape != (out_features,):
            raise bad(f"the classifier of {name!r} must be ({D}, {out_features}) with "
                      f"({out_features},) biases, got {coef.shape} and {intercept.shape}")
        W.append(weight * coef)
        b = b + weight * intercept
        weights.append(weight)
        offset += D
    w = np.asarray(weights)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not math.isclose(w.sum(), 1.0, abs_tol=1e-6):
        raise bad(f"the fusion weights must be >= 0 and sum to 1, got {weights}")
    if in_features != offset:
        raise bad(f"the fused classifier takes {in_features} values, the features give {offset}")
    fused_w, fused_b = np.concatenate(W), np.asarray(b)
    if not (np.allclose(model.weight.value, fused_w, rtol=1e-5, atol=1e-7)
            and np.allclose(model.bias.value, fused_b, rtol=1e-5, atol=1e-7)):
        raise bad("the fused classifier differs from the systems' classifiers and weights")


# -- the command ---------------------------------------------------------------------------------

def run(args: argparse.Namespace, config: Any) -> int:
    """``warpnet train --model fisher-2011``: fit, evaluate and save the system (see the module).

    Raises:
        UsageError: flags of network models, bad ``--set`` items.
        DataError: data that is not images, too little memory or data for the settings.
    """
    from .. import io
    from . import _data, _run_folder

    given = {k for k in dataclasses.asdict(config) if getattr(args, k, None) is not None}
    other = sorted(given - _FLAGS)
    extra = [flag for flag, on in (("resume", args.resume), ("distributed", args.distributed),
                                   ("device", args.device != "cpu")) if on]
    if other or extra:
        flags = ", ".join(f"--{n.replace('_', '-')}" for n in other + extra)
        raise UsageError(f"{flags} do(es) not apply to --model fisher-2011 (it takes --data, "
                         "--image-size, --val-fraction, --seed, --epochs, --batch-size, --lr, "
                         "--reg and --set KEY=VALUE)")
    _data.parse_spec(config.data)
    parse_sets(config.set, Settings(), SYSTEMS)  # usage errors before any data is read
    out: Path = args.out
    _run_folder.prepare(out)
    source = _data.load_source(config.data, image_size=config.image_size)
    if source.x.ndim < 3:
        raise DataError(f"--model fisher-2011 needs images (N, H, W[, C]), but {config.data} "
                        f"holds samples of shape {source.x.shape[1:]}")
    shape = tuple(int(s) for s in source.x.shape[1:])
    colour = len(shape) == 3 and shape[2] == 3
    names = SYSTEMS if colour else SYSTEMS[:1]
    base = settings_for(shape)
    for flag, key in (("epochs", "epochs"), ("batch_size", "batch_size"), ("lr", "lr"),
                      ("reg", "alpha")):
        if flag in given:
            setattr(base, key, type(getattr(base, key))(getattr(config, flag)))
    settings = parse_sets(config.set, base, names)
    try:
        for name, s in settings.items():
            make_fisher(name, s, config.seed)
            make_classifier(s, config.seed)._architecture()
    except ValueError as exc:
        raise UsageError(f"--set: {exc}") from None
    verbose = args.verbose

    def log(message: str) -> None:
        if verbose:
            print(message, flush=True)

    if not colour:
        log(f"{shape} images are not RGB: the SIFT system alone (no colour descriptor)")
    _run_folder.write_json(out / _run_folder.CONFIG, {"config": dataclasses.asdict(config)})
    started = time.perf_counter()
    labels = np.asarray(source.y)
    systems, weights, validation = fit_systems(source.x, labels, settings, config.val_fraction,
                                               config.seed, log)
    seconds = time.perf_counter() - started
    model = fused_linear(systems, weights)
    state = model_state(systems, weights, shape, source.pixel_max)
    from ..data.preprocessing import Preprocessor

    pre = Preprocessor.from_state(state["config"], state["arrays"])
    test_started = time.perf_counter()
    test_scores = [s.scores(s.fisher.transform(source.x_test)) for s in systems]
    fused = sum(w * t for w, t in zip(weights, test_scores, strict=True))
    classes = np.unique(labels)
    y_test = np.asarray(source.y_test)
    accuracy: dict[str, Any] = {"test": float(np.mean(classes[fused.argmax(1)] == y_test)),
                "validation": None if validation is None else validation["fusion"],
                "systems": {s.name: float(np.mean(classes[t.argmax(1)] == y_test))
                            for s, t in zip(systems, test_scores, strict=True)}}
    test_s = time.perf_counter() - test_started
    del pre  # built to fail here, before saving, if the state cannot be read back
    io.save(model, out / _run_folder.MODEL, preprocessing=state, class_names=source.class_names,
            metadata={"config": dataclasses.asdict(config), "accuracy": accuracy,
                      "fisher_2011": {s.name: dataclasses.asdict(settings[s.name]) for s in systems},
                      "weights": [float(w) for w in weights]})
    _run_folder.write_json(out / _run_folder.CONFIG, {
        "config": dataclasses.asdict(config), "accuracy": accuracy,
        "settings": {s.name: dataclasses.asdict(settings[s.name]) for s in systems},
        "fusion_weights": {s.name: float(w) for s, w in zip(systems, weights, strict=True)},
        "validation": validation,
        "samples": {"train": int(len(labels)), "test": int(len(y_test))},
        "seconds": {"fit": round(seconds, 3), "test": round(test_s, 3),
                    **{s.name: {k: round(v, 3) for k, v in s.seconds.items()} for s in systems}}})
    parts = "  ".join(f"{name} {acc:.4f}" for name, acc in accuracy["systems"].items())
    print(f"test accuracy {accuracy['test']:.4f} (late fusion, weights "
          f"{', '.join(f'{w:.2f}' for w in weights)}; {parts})  ({seconds + test_s:.1f}s, model "
          f"in {out / _run_folder.MODEL})")
    return 0
