"""CIFAR-10 test accuracy of warpnet's classifiers, on raw pixels and on image features.

Data: the 25,000-image training subset and the full 10,000-image test set in
../shared/data/cifar10 (``--data`` to point elsewhere); without it the script says so and exits 0.

Sections (``--section raw|features|wired|coates|svm|mlp|all``):
- raw: standardized pixels (3,072 values) with a linear SVM, a softmax classifier and a two-layer
  ReLU net (PyTorch with tuned SGD reaches 38.3 %, 40.0 % and 51.0-52.4 % on this subset);
- wired: randomly wired networks (WS(4, 0.75), ER(0.2), BA(5); 32 nodes of width 64) against a
  one-hidden-layer MLP with the same number of parameters, on standardized pixels, under one
  budget (20 epochs of SGD with momentum, one BLAS thread); the target of a wired net is the MLP's accuracy
  minus 2 points;
- features: the classic HOG + hue histogram (154 values), bag of visual words (256 words, one
  histogram per image and pooled over 2x2 quadrants), and a richer combination with a two-layer
  net;
- coates: the single-layer k-means features of Coates, Lee & Ng (``KMeansTriangle``: 6x6
  patches at stride 1, whitened, 1,600 words, triangle codes summed over quadrants: 6,400
  values) with one-vs-all linear SVMs, their strength chosen on a validation split;
- fisher: the 2011 ImageNet winner's system as ``warpnet train --model fisher-2011`` runs it
  (dense SIFT and colour Fisher vectors, training vectors product-quantized at 1 bit per value,
  one-vs-all SVMs trained from the codes, late fusion with weights chosen on 10 % held out):
  each system alone and the fusion, compressed against the same SVMs trained on the float32
  vectors, with the whole pipeline's time (fit, encode the 35,000 images, train, test);
  ``--fisher-set KEY=VALUE`` changes a setting, ``--n-train``/``--n-test`` take a subset;
- svm: one-vs-all SVMs (``LinearClassifier(loss="svm", multi_class="ovr")``) against
  scikit-learn's ``LinearSVC`` on digits and on the HOG features of CIFAR-10, and the classes
  trained as one matrix product against one binary fit per class on 2 threads;
- mlp: the best fully-connected recipe (``warpnet train --recipe mlp-best``: pixels standardized
  then ZCA-whitened (``--whiten-eps``, ``none`` for standardized pixels only), 3 x 1,024 hidden
  units with batch normalisation and dropout, AdamW, one warm-up epoch then cosine, label
  smoothing 0.1, random flips and shifts by up to 4 pixels of the whitened images): test
  accuracy, wall and CPU seconds, samples per second and the load average (``--parts best``); the
  same recipe written in PyTorch (same inputs, architecture, augmentation code, optimizer and
  epochs; ``torch``, after warpnet's run in the same process, or alone in a second process
  started beside it); short runs of both by turns with their ratio per round (``speed``); and a
  table of what each piece adds (plain, + BatchNorm, + augmentation, + schedule, + label
  smoothing, + dropout, + whitening; ``ablation``).  Both sides use ``--torch-threads`` threads
  (warpnet's BLAS through threadpoolctl).  ``--epochs`` and ``--hidden`` shrink it for a busy
  machine; ``--ablation-epochs`` and ``--ablation-hidden`` set
  the ablation rows' budget; ``--progress`` prints a line per epoch.

Every classifier trains with warpnet's Trainer (SGD with momentum, cosine learning rate, L2 on
the weights), features and standardization are fit on the training images only, and the table
gives test accuracy, the target and the seconds spent (feature extraction and training apart).

    python benchmarks/cifar10.py --section raw
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from warpnet import nn
from warpnet.data import Standardizer, load_npz
from warpnet.train import Trainer

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10"


@dataclass(frozen=True)
class Recipe:
    """One classifier and its tuned SGD settings."""

    hidden: tuple[int, ...]
    loss: str
    lr: float
    reg: float
    epochs: int
    batch_size: int = 200
    momentum: float = 0.9


# Tuned on this subset (learning rate, L2 strength, epochs, width); see the module docstring.
RAW_SVM = Recipe((), "svm", lr=1e-4, reg=0.1, epochs=20)
RAW_SOFTMAX = Recipe((), "softmax", lr=1e-3, reg=0.03, epochs=15)
RAW_NET = Recipe((500,), "softmax", lr=1e-2, reg=1e-3, epochs=20)
CLASSIC_SVM = Recipe((), "svm", lr=1e-3, reg=1e-2, epochs=20)
CLASSIC_NET = Recipe((500,), "softmax", lr=0.1, reg=3e-3, epochs=40)
WORDS_SVM = Recipe((), "svm", lr=3e-2, reg=1e-3, epochs=40)
POOLED_SVM = Recipe((), "svm", lr=3e-3, reg=3e-3, epochs=40)
COMBINED_NET = Recipe((500,), "softmax", lr=0.05, reg=1e-2, epochs=30)


def fit_and_score(recipe: Recipe, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                  y_test: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """Standardize (training statistics), train, return (test accuracy, training seconds)."""
    scaler = Standardizer().fit(x_train)
    xs_train, xs_test = scaler.transform(x_train), scaler.transform(x_test)
    model = nn.mlp([xs_train.shape[1], *recipe.hidden, 10], rng=seed)
    trainer = Trainer(model, recipe.loss, "sgd", lr=recipe.lr, momentum=recipe.momentum,
                      reg=recipe.reg, batch_size=recipe.batch_size, epochs=recipe.epochs,
                      seed=seed, schedule="cosine", verbose=0)
    started = time.perf_counter()
    trainer.fit(xs_train, y_train)
    seconds = time.perf_counter() - started
    return float(trainer.evaluate(xs_test, y_test)["accuracy"]), seconds


def describe(recipe: Recipe) -> str:
    kind = f"two-layer net ({recipe.hidden[0]} ReLU)" if recipe.hidden else \
        {"svm": "linear SVM", "softmax": "softmax"}[recipe.loss]
    return kind


class Table:
    """Rows printed as they finish (a long run shows progress) and again at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        print(self._header(), flush=True)

    @staticmethod
    def _header() -> str:
        return (f"{'input':<38} {'classifier':<26} {'dims':>5} {'test acc':>8} {'target':>7} "
                f"{'features s':>10} {'train s':>8}")

    @staticmethod
    def _line(row: tuple) -> str:
        name, classifier, dims, acc, target, feat_s, train_s = row
        ok = "" if acc >= target else "  (below target)"
        return (f"{name:<38} {classifier:<26} {dims:>5} {acc:>8.2%} {target:>7.0%} "
                f"{feat_s:>10.1f} {train_s:>8.1f}{ok}")

    def add(self, *row: object) -> None:
        self.rows.append(row)  # type: ignore[arg-type]
        print(self._line(row), flush=True)

    def show(self) -> None:
        print()
        print(self._header())
        for row in self.rows:
            print(self._line(row))


def raw_section(table: Table, x_train, y_train, x_test, y_test) -> None:
    f_train = x_train.reshape(len(x_train), -1).astype(np.float32)
    f_test = x_test.reshape(len(x_test), -1).astype(np.float32)
    for recipe, target in ((RAW_SVM, 0.38), (RAW_SOFTMAX, 0.39), (RAW_NET, 0.51)):
        acc, seconds = fit_and_score(recipe, f_train, y_train, f_test, y_test)
        table.add("raw pixels (standardized)", describe(recipe), f_train.shape[1], acc, target,
                  0.0, seconds)


def _extract(transform, x_train, x_test) -> tuple[np.ndarray, np.ndarray, float]:
    started = time.perf_counter()
    transform.fit(x_train)
    f_train, f_test = transform.transform(x_train), transform.transform(x_test)
    return np.asarray(f_train), np.asarray(f_test), time.perf_counter() - started


def features_section(table: Table, x_train, y_train, x_test, y_test) -> None:
    from sklearn.pipeline import FeatureUnion

    from warpnet.features import HOG, BagOfWords, ColorHistogram, classic_features

    classic = _extract(classic_features(), x_train, x_test)
    for recipe, target in ((CLASSIC_SVM, 0.43), (CLASSIC_NET, 0.52)):
        acc, seconds = fit_and_score(recipe, classic[0], y_train, classic[1], y_test)
        table.add("HOG + hue histogram", describe(recipe), classic[0].shape[1], acc, target,
                  classic[2], seconds)

    # Triangle ("soft") encoding: with the same codebook and SVM settings, hard votes reach
    # 43.1 % pooled where soft ones reach 52.9 % on this subset.
    words = _extract(BagOfWords(n_words=256, encoding="triangle", random_state=0), x_train, x_test)
    acc, seconds = fit_and_score(WORDS_SVM, words[0], y_train, words[1], y_test)
    table.add("bag of words (256, soft)", describe(WORDS_SVM), words[0].shape[1], acc, 0.44,
              words[2], seconds)
    pooled = _extract(BagOfWords(n_words=256, pooling=2, encoding="triangle", random_state=0),
                      x_train, x_test)
    acc, seconds = fit_and_score(POOLED_SVM, pooled[0], y_train, pooled[1], y_test)
    table.add("bag of words (256, soft, 2x2 pooled)", describe(POOLED_SVM), pooled[0].shape[1],
              acc, 0.50, pooled[2], seconds)

    # Richer: HOG on 4x4 cells with 2x2 blocks, all HSV channels, and the pooled words.
    rich = FeatureUnion([
        ("hog", HOG(orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2))),
        ("color", ColorHistogram(bins=10, channels=("h", "s", "v"))),
    ])
    rich_f = _extract(rich, x_train, x_test)
    f_train = np.concatenate([rich_f[0], pooled[0]], axis=1)
    f_test = np.concatenate([rich_f[1], pooled[1]], axis=1)
    acc, seconds = fit_and_score(COMBINED_NET, f_train, y_train, f_test, y_test)
    table.add("HOG 4x4 + HSV hist + pooled words", describe(COMBINED_NET), f_train.shape[1], acc,
              0.56, rich_f[2] + pooled[2], seconds)


# -- randomly wired networks against an MLP of the same size ------------------------------------

# One budget for every net of the section: SGD with momentum 0.9, cosine learning rate, L2 on the
# weights, batch 200, WIRED_EPOCHS epochs (under a minute per net on one BLAS thread).  The
# learning rate 3e-2 was the better of 1e-2 and 3e-2 for both kinds of net (after 3 epochs on
# 5,000 images with 32 nodes of width 128: wired 27-29 % -> 35-36 %, MLP 38 % -> 43 %; after 20
# epochs here: MLP 50.1 % -> 50.9 %, WS 48.5 % -> 50.2 %).  With 10 epochs instead of 20 the MLP
# reached 51.5 % and the wired nets 49.2-49.5 %: the deeper wired nets need the longer budget,
# the MLP starts to overfit.
WIRED_NODES, WIRED_WIDTH, WIRED_EPOCHS = 32, 64, 20
WIRED_RECIPE = Recipe((), "softmax", lr=3e-2, reg=1e-3, epochs=WIRED_EPOCHS)
WIRED_GRAPHS = (("ws", {"k": 4, "p": 0.75}), ("er", {"p": 0.2}), ("ba", {"m": 5}))


def equal_mlp_hidden(n_params: int, n_in: int, n_out: int) -> int:
    """The hidden width h of a one-hidden-layer MLP ``n_in -> h -> n_out`` with the parameter count
    closest to ``n_params`` (it has (n_in + 1) h + (h + 1) n_out parameters)."""
    return max(1, round((n_params - n_out) / (n_in + 1 + n_out)))


def _train_net(model: nn.Module, recipe: Recipe, xs_train, y_train, xs_test, y_test,
               seed: int) -> tuple[float, float, list[float]]:
    trainer = Trainer(model, recipe.loss, "sgd", lr=recipe.lr, momentum=recipe.momentum,
                      reg=recipe.reg, batch_size=recipe.batch_size, epochs=recipe.epochs,
                      seed=seed, schedule="cosine", verbose=0)
    started = time.perf_counter()
    history = trainer.fit(xs_train, y_train)
    seconds = time.perf_counter() - started
    return float(trainer.evaluate(xs_test, y_test)["accuracy"]), seconds, list(history.loss)


def wired_section(table: Table, x_train, y_train, x_test, y_test, *, recipe: Recipe = WIRED_RECIPE,
                  n_nodes: int = WIRED_NODES, width: int = WIRED_WIDTH, seed: int = 0) -> dict:
    """An MLP with one hidden layer, then WS(4, 0.75), ER(0.2) and BA(5) wired nets with about as
    many parameters (the MLP's width is fit to their mean count), on standardized pixels, under
    one budget; the target of a wired net is the MLP's accuracy minus 2 points.  Returns the rows."""
    from warpnet.nn.wired import count_parameters

    f_train = x_train.reshape(len(x_train), -1).astype(np.float32)
    f_test = x_test.reshape(len(x_test), -1).astype(np.float32)
    scaler = Standardizer().fit(f_train)
    xs_train, xs_test = scaler.transform(f_train), scaler.transform(f_test)
    D = xs_train.shape[1]
    nets = {f"{g.upper()}({', '.join(f'{v:g}' for v in params.values())})":
            nn.randomly_wired(D, 10, g, n_nodes=n_nodes, width=width, seed=seed, **params)
            for g, params in WIRED_GRAPHS}
    hidden = equal_mlp_hidden(int(np.mean([count_parameters(n) for n in nets.values()])), D, 10)
    mlp_label = f"MLP {D}-{hidden}-10"
    budget = f"{recipe.epochs} ep SGD"
    rows: dict[str, dict] = {}
    # The MLP first: its accuracy is the wired nets' target.  Every net trains on one BLAS thread:
    # a wired net makes some hundred small products per step ((200, 64) x (64, 64)), and on a
    # shared 2-core machine two BLAS threads wait for each other at every one of them (a step of
    # the 32-node net measured 800-980 ms with two threads, 55-76 ms with one, at load 14).
    # threadpoolctl comes with scikit-learn, a dependency of warpnet.
    for label, net in {mlp_label: nn.mlp([D, hidden, 10], rng=seed), **nets}.items():
        with threadpool_limits(limits=1, user_api="blas"):
            acc, seconds, losses = _train_net(net, recipe, xs_train, y_train, xs_test, y_test, seed)
        rows[label] = {"accuracy": acc, "seconds": seconds, "params": count_parameters(net),
                       "loss": losses}
        kind = "mlp" if label == mlp_label else f"wired {n_nodes}x{width}"
        target = rows[mlp_label]["accuracy"] - (0.0 if label == mlp_label else 0.02)
        table.add(f"raw pixels, {kind} ({rows[label]['params'] / 1e6:.3f}M params)",
                  f"{label}, {budget}", D, acc, target, 0.0, seconds)
    mlp_acc = rows[mlp_label]["accuracy"]
    best_acc, best = max((r["accuracy"], k) for k, r in rows.items() if k != mlp_label)
    print(f"wired nets ({n_nodes} nodes of width {width}) against the MLP of equal size: "
          + (f"{best} beats the MLP ({best_acc:.2%} vs {mlp_acc:.2%})" if best_acc > mlp_acc
             else f"none beats the MLP ({mlp_acc:.2%}; the best wired net, {best}, {best_acc:.2%})"),
          flush=True)
    return rows


# -- Coates, Lee & Ng (2011): k-means triangle features + one-vs-all linear SVMs ----------------
# Losses and strengths of the penalty (mean hinge + alpha |W|^2) tried on the validation split;
# on 10,000 training images (no mirrors) hinges with alpha from 1e-5 to 1e-2 gave 65.3-66.4 %,
# squared hinges 66.4 % (ridge regression: 67.5 %).
# (loss, alpha, learning rate): squared hinges have unbounded gradients and diverge at 1e-2.
COATES_CANDIDATES = (("svm", 1e-5, 1e-2), ("svm", 1e-4, 1e-2), ("squared_svm", 1e-5, 1e-3),
                     ("squared_svm", 1e-4, 1e-3))
COATES_SVM = {"learning_rate_init": 1e-2, "max_iter": 20, "learning_rate": "cosine",
              "batch_size": 200}
COATES_TUNE_EPOCHS = 10


def _ovr_svm(alpha: float, loss: str = "svm", **kw: object):
    from warpnet.estimators import LinearClassifier

    return LinearClassifier(loss, multi_class="ovr", alpha=alpha, random_state=0,
                            dtype="float32", **{**COATES_SVM, **kw})


def coates_section(table: Table, x_train, y_train, x_test, y_test,
                   cache: Path | None = None) -> None:
    """KMeansTriangle features of the training images and their mirror images, standardized,
    then one-vs-all SVMs whose loss and strength are chosen on 5,000 held-out images (and not
    their mirrors). ``cache``: an .npz file that keeps the features (and their time) between
    runs."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    from warpnet.features import KMeansTriangle

    if cache is not None and cache.is_file():
        stored = np.load(cache)
        f_train, f_test, feat_s = stored["train"], stored["test"], float(stored["seconds"])
    else:
        started = time.perf_counter()
        features = KMeansTriangle(random_state=0).fit(x_train)
        f_train = np.concatenate([features.transform(x_train),
                                  features.transform(x_train[:, :, ::-1])])  # + mirrors
        f_test = features.transform(x_test)
        feat_s = time.perf_counter() - started
        if cache is not None:
            np.savez(cache, train=f_train, test=f_test, seconds=feat_s)
    print(f"  coates: features of {len(f_train)} training and {len(f_test)} test images in "
          f"{feat_s:.0f} s", flush=True)
    scaler = Standardizer().fit(f_train)
    f_train, f_test = scaler.transform(f_train), scaler.transform(f_test)
    y_both = np.concatenate([y_train, y_train])
    n = len(y_train)
    started = time.perf_counter()
    fit_idx, val_idx = train_test_split(np.arange(n), test_size=5000, random_state=0,
                                        stratify=y_train)
    fit_rows = np.concatenate([fit_idx, fit_idx + n])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = {}
        for loss, alpha, lr in COATES_CANDIDATES:
            try:
                model = _ovr_svm(alpha, loss, learning_rate_init=lr,
                                 max_iter=COATES_TUNE_EPOCHS).fit(f_train[fit_rows],
                                                                  y_both[fit_rows])
            except FloatingPointError as err:  # a diverged candidate is a bad candidate
                print(f"  coates: {loss} alpha={alpha:g} lr={lr:g}: {err}", flush=True)
                continue
            scores[loss, alpha, lr] = model.score(f_train[val_idx], y_train[val_idx])
            print(f"  coates: {loss} alpha={alpha:g} lr={lr:g} validation accuracy "
                  f"{scores[loss, alpha, lr]:.4f}", flush=True)
        loss, alpha, lr = max(scores, key=scores.get)
        model = _ovr_svm(alpha, loss, learning_rate_init=lr).fit(f_train, y_both)
    acc = model.score(f_test, y_test)
    table.add(f"k-means triangle 1600 (+mirrors, a={alpha:g})", f"one-vs-all {loss}",
              f_train.shape[1], acc, 0.72, feat_s, time.perf_counter() - started)


def fisher_section(table: Table, x_train, y_train, x_test, y_test, sets: list[str]) -> None:
    """The fisher-2011 pipeline of the command line, timed whole; then, beside it, the same SVMs
    trained on the float32 vectors instead of the codes (not part of the timed pipeline)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from warpnet.cli import _fisher2011 as f2011

    settings = f2011.parse_sets(sets, f2011.settings_for(x_train.shape[1:]), f2011.SYSTEMS)
    for name, s in settings.items():
        print(f"  fisher: {name}: {s}", flush=True)
    started = time.perf_counter()
    systems, weights, validation = f2011.fit_systems(
        x_train, y_train, settings, 0.1, 0, lambda m: None if "encoded" in m else print(
            f"  fisher: {m}", flush=True), keep_floats=True)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    test_features = [s.fisher.transform(x_test) for s in systems]
    scores = [s.scores(f) for s, f in zip(systems, test_features, strict=True)]
    fused = sum(w * t for w, t in zip(weights, scores, strict=True))
    test_s = time.perf_counter() - started
    total = fit_s + test_s
    print(f"  fisher: validation {validation}, weights {weights}; whole pipeline {total:.0f} s "
          f"(fit + encode {len(x_train) + len(x_test)} images + train {fit_s:.0f} s, test "
          f"{test_s:.0f} s)", flush=True)
    floats_scores = []
    for s, f_test, sc in zip(systems, test_features, scores, strict=True):
        s_set = settings[s.name]
        t = s.seconds
        table.add(f"{s.name}: Fisher K={s_set.n_components} D={s_set.pca_components} R=4 "
                  f"(PQ {s_set.sub_dim}x{s_set.bits_per_value}b)", f"one-vs-all {s_set.loss}",
                  f_test.shape[1], float(np.mean(sc.argmax(1) == y_test)), 0.0,
                  t["fit"] + t["encode"], t["train"])
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            dense = f2011.make_classifier(s_set, 0).fit(s.floats, y_train)
        s.floats = None  # 1.6 GB per system on the full set
        floats_scores.append(np.asarray(dense.decision_function(f_test), dtype=np.float64))
        table.add(f"{s.name}: same, trained on float32", f"one-vs-all {s_set.loss}",
                  f_test.shape[1], float(np.mean(floats_scores[-1].argmax(1) == y_test)), 0.0,
                  0.0, time.perf_counter() - started)
    fused_floats = sum(w * t for w, t in zip(weights, floats_scores, strict=True))
    table.add(f"late fusion ({', '.join(f'{w:.2f}' for w in weights)}), compressed",
              "weighted scores", sum(f.shape[1] for f in test_features),
              float(np.mean(fused.argmax(1) == y_test)), 0.60, fit_s, test_s)
    table.add("late fusion, trained on float32", "weighted scores",
              sum(f.shape[1] for f in test_features),
              float(np.mean(fused_floats.argmax(1) == y_test)), 0.60, 0.0, 0.0)


def svm_section(x_train, y_train, x_test, y_test) -> None:
    """One-vs-all SVMs against LinearSVC (digits, HOG of CIFAR-10); one product vs per-class fits."""
    import warnings

    from joblib import Parallel, delayed
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.svm import LinearSVC

    from warpnet.features import HOG

    X, y = load_digits(return_X_y=True)
    d_train, d_test, dy_train, dy_test = train_test_split(X, y, test_size=0.3, random_state=0,
                                                          stratify=y)
    digits = Standardizer().fit(d_train)
    hog = HOG(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2))
    h_train, h_test, _ = _extract(hog, x_train, x_test)
    cifar = Standardizer().fit(h_train)
    # Squared hinges with alpha = 1 / (2 N): the objective of LinearSVC's defaults (C=1,
    # squared_hinge), 0.5 |w|^2 + C sum(hinge^2), divided by C N.
    a_digits, a_cifar = digits.transform(d_train), cifar.transform(h_train)
    cases = {
        "digits": (a_digits, dy_train, digits.transform(d_test), dy_test,
                   {"alpha": 0.5 / len(dy_train), "learning_rate_init": 1e-2, "max_iter": 30}),
        "CIFAR-10 HOG": (a_cifar, y_train, cifar.transform(h_test), y_test,
                         {"alpha": 0.5 / len(y_train), "learning_rate_init": 1e-3,
                          "max_iter": 20}),
    }
    print(f"\n{'data':<18} {'dims':>5} {'one-vs-all L2-SVM':>17} {'LinearSVC':>10} {'ovr s':>7} "
          f"{'LinearSVC s':>11}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, (a, ya, b, yb, kw) in cases.items():
            started = time.perf_counter()
            ours = _ovr_svm(loss="squared_svm", **kw).fit(a, ya).score(b, yb)
            ours_s = time.perf_counter() - started
            started = time.perf_counter()
            ref = LinearSVC(max_iter=5000, random_state=0).fit(a, ya).score(b, yb)
            ref_s = time.perf_counter() - started
            print(f"{name:<18} {a.shape[1]:>5} {ours:>17.2%} {ref:>10.2%} {ours_s:>7.1f} "
                  f"{ref_s:>11.1f}", flush=True)
        # The classes as one (D, 10) matrix product per step, against ten binary problems
        # fitted apart (each a 2-column one-vs-all problem) on 2 threads.
        a, ya, b, yb, kw = cases["CIFAR-10 HOG"]
        started = time.perf_counter()
        _ovr_svm(**kw).fit(a, ya)
        together = time.perf_counter() - started
        started = time.perf_counter()
        Parallel(n_jobs=2, prefer="threads")(
            delayed(_ovr_svm(**kw).fit)(a, (ya == c).astype(int)) for c in range(10))
        apart = time.perf_counter() - started
    print(f"10 classes on CIFAR-10 HOG: one product {together:.1f} s, ten binary fits on 2 "
          f"threads {apart:.1f} s ({apart / together:.1f}x)")


# The mlp-best recipe (as ``warpnet.cli._recipes``), one piece per flag for the ablation table.
@dataclass(frozen=True)
class MLPRecipe:
    hidden: tuple[int, ...] = (1024, 1024, 1024)
    norm: str | None = "batch"
    augment: str | None = "flip,shift=4"
    schedule: bool = True  # cosine after one warm-up epoch (else a constant learning rate)
    label_smoothing: float = 0.1
    lr: float = 2e-3
    weight_decay: float = 0.05
    epochs: int = 80
    batch_size: int = 128
    dropout: float = 0.2
    whiten_eps: float | None = 0.1  # ZCA whitening of the standardized pixels with this eps (None: none)


class Inputs:
    """The network inputs of each preprocessing a recipe asks for (standardized pixels, or
    standardized then ZCA-whitened with some eps), fit on the training images, computed once.
    Both warpnet and PyTorch train on these same arrays."""

    def __init__(self, x_train: np.ndarray, x_test: np.ndarray) -> None:
        self.x_train, self.x_test = x_train, x_test
        self._cache: dict[float | None, tuple[np.ndarray, np.ndarray]] = {}

    def get(self, r: MLPRecipe) -> tuple[np.ndarray, np.ndarray]:
        if r.whiten_eps not in self._cache:
            from warpnet.data import Preprocessor

            clock = Clock()
            whiten = None if r.whiten_eps is None else "zca"
            pre = Preprocessor(pixel_max=255, whiten=whiten, whiten_eps=r.whiten_eps or 0.1)
            pre.fit(self.x_train)
            self._cache[r.whiten_eps] = (pre.transform(self.x_train), pre.transform(self.x_test))
            seconds, cpu = clock.read()
            what = "standardize" if whiten is None else f"standardize, ZCA eps {r.whiten_eps:g}"
            print(f"preprocessing ({what}): {seconds:.1f} s ({cpu:.1f} CPU s)", flush=True)
        return self._cache[r.whiten_eps]


class Clock:
    """Wall and CPU seconds (this process, every thread) since it was made."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def _load() -> str:
    import os

    return "load average " + ", ".join(f"{v:.1f}" for v in os.getloadavg())


VERBOSE = 0  # 2 with --progress: a line per epoch from both sides


def _warpnet_mlp(r: MLPRecipe, xs_train, y_train, xs_test, y_test, seed: int = 0):
    """Train the recipe with warpnet: (test accuracy, wall seconds, CPU seconds, history)."""
    model = nn.mlp([xs_train.shape[1], *r.hidden, 10], norm=r.norm, dropout=r.dropout, rng=seed)
    trainer = Trainer(model, "softmax", "adamw", lr=r.lr, weight_decay=r.weight_decay,
                      batch_size=r.batch_size, epochs=r.epochs, seed=seed,
                      schedule="cosine" if r.schedule else None,
                      warmup=1 if r.schedule and r.epochs > 1 else 0,
                      label_smoothing=r.label_smoothing, augment=r.augment,
                      image_shape=(32, 32, 3), verbose=VERBOSE)
    clock = Clock()
    history = trainer.fit(xs_train, y_train)
    seconds, cpu = clock.read()
    return float(trainer.evaluate(xs_test, y_test)["accuracy"]), seconds, cpu, history


def _torch_mlp(r: MLPRecipe, xs_train, y_train, xs_test, y_test, seed: int = 0):
    """The same recipe in PyTorch (eager, float32): (test accuracy, wall seconds, CPU seconds)."""
    import torch

    from warpnet.train.augment import parse_augment

    torch.manual_seed(seed)
    layers: list = []
    width = xs_train.shape[1]
    for h in r.hidden:
        layers += [torch.nn.Linear(width, h)]
        if r.norm == "batch":
            layers += [torch.nn.BatchNorm1d(h)]
        elif r.norm == "layer":
            layers += [torch.nn.LayerNorm(h)]
        layers += [torch.nn.ReLU()]
        if r.dropout:
            layers += [torch.nn.Dropout(r.dropout)]
        width = h
    layers += [torch.nn.Linear(width, 10)]
    model = torch.nn.Sequential(*layers)
    decay = [p for n, p in model.named_parameters() if p.ndim == 2]
    rest = [p for n, p in model.named_parameters() if p.ndim != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": r.weight_decay},
                             {"params": rest, "weight_decay": 0.0}], lr=r.lr)
    warm = 1 if r.schedule and r.epochs > 1 else 0

    def factor(epoch: int) -> float:
        if not r.schedule:
            return 1.0
        if epoch < warm:
            return (epoch + 1) / (warm + 1)
        return (1 + np.cos(np.pi * (epoch - warm) / (r.epochs - warm))) / 2

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    aug = None if r.augment is None else parse_augment(r.augment, (32, 32, 3))
    rng = np.random.default_rng(seed)
    n = len(xs_train)
    # As warpnet's Trainer with BatchNorm: a last minibatch of one sample is dropped.
    n_used = n - 1 if r.norm == "batch" and n % r.batch_size == 1 else n
    clock = Clock()
    for epoch in range(r.epochs):
        model.train()
        order = rng.permutation(n)[:n_used]
        for b, start in enumerate(range(0, n_used, r.batch_size)):
            idx = order[start:start + r.batch_size]
            xb = xs_train[idx]
            if aug is not None:
                xb = aug(xb, np.random.default_rng([seed, epoch + 1, b]))
            loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(xb)),
                                                     torch.from_numpy(y_train[idx]),
                                                     label_smoothing=r.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if VERBOSE:
            wall, cpu = clock.read()
            print(f"PyTorch epoch {epoch + 1}/{r.epochs}: {wall:.1f} s ({cpu:.1f} CPU s) so far",
                  flush=True)
    seconds, cpu = clock.read()
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(torch.from_numpy(xs_test[i:i + 2000])).argmax(1)
                          for i in range(0, len(xs_test), 2000)]).numpy()
    return float((pred == y_test).mean()), seconds, cpu


def mlp_section(x_train, y_train, x_test, y_test, best: MLPRecipe, ablation_epochs: int,
                torch_threads: int | None, ablation_hidden: tuple[int, ...] | None = None,
                parts: str = "best,torch,ablation", rounds: int = 3) -> None:
    inputs = Inputs(x_train, x_test)
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: no side-by-side run")
    if torch is not None and torch_threads:
        torch.set_num_threads(torch_threads)
    # warpnet's BLAS on as many threads as PyTorch's (both from this process's cores otherwise).
    threads = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=threads, user_api="blas"):
        if "best" in parts or "torch" in parts:
            _best_rows(best, inputs, y_train, y_test, "best" in parts,
                       torch is not None and "torch" in parts)
        if "speed" in parts and torch is not None:
            _speed_rows(best, inputs, y_train, y_test, rounds)
        if "ablation" in parts:
            _ablation_rows(ablation_hidden or best.hidden, ablation_epochs, best, inputs, y_train,
                           y_test)


def _best_rows(best: MLPRecipe, inputs: Inputs, y_train, y_test, with_warpnet: bool,
               with_torch: bool) -> None:
    xs_train, xs_test = inputs.get(best)
    n, epochs, hidden = len(xs_train), best.epochs, best.hidden
    print(f"\nmlp-best: hidden {hidden}, {epochs} epochs, batch {best.batch_size}, dropout "
          f"{best.dropout}, ZCA eps {best.whiten_eps} ({n} training images; {_load()})", flush=True)
    if with_warpnet:
        acc, seconds, cpu, _ = _warpnet_mlp(best, xs_train, y_train, xs_test, y_test)
        print(f"warpnet  test acc {acc:.2%}  {seconds:.1f} s ({cpu:.1f} CPU s)  "
              f"{seconds / epochs:.2f} s/epoch  {n * epochs / seconds:,.0f} samples/s  "
              f"(target >= 62 %, aim 65 %; {_load()})", flush=True)
    if not with_torch:
        return
    import torch

    t_acc, t_seconds, t_cpu = _torch_mlp(best, xs_train, y_train, xs_test, y_test)
    print(f"PyTorch  test acc {t_acc:.2%}  {t_seconds:.1f} s ({t_cpu:.1f} CPU s)  "
          f"{t_seconds / epochs:.2f} s/epoch  {n * epochs / t_seconds:,.0f} samples/s "
          f"({torch.get_num_threads()} threads; {_load()})")
    if with_warpnet:
        print(f"warpnet's speed / PyTorch's (time per epoch, PyTorch's over warpnet's): "
              f"{t_seconds / seconds:.2f}x (>= 1.0: warpnet at least as fast); accuracy "
              f"difference {100 * (acc - t_acc):+.2f} points", flush=True)


def _speed_rows(best: MLPRecipe, inputs: Inputs, y_train, y_test, rounds: int) -> None:
    """Short runs of the recipe (2 epochs) by turns, warpnet then PyTorch, ``rounds`` times: the
    ratio of their times per epoch round by round (load changes between rounds, less within)."""
    import dataclasses

    short = dataclasses.replace(best, epochs=2)
    xs_train, xs_test = inputs.get(short)
    print(f"\ntime per epoch of the recipe, {rounds} rounds of 2 epochs each, by turns ({_load()}):")
    ratios = []
    for r in range(rounds):
        _, w_s, w_cpu, _ = _warpnet_mlp(short, xs_train, y_train, xs_test, y_test)
        _, t_s, t_cpu = _torch_mlp(short, xs_train, y_train, xs_test, y_test)
        ratios.append(t_s / w_s)
        print(f"round {r + 1}: warpnet {w_s / 2:.2f} s/epoch ({w_cpu / 2:.1f} CPU s), PyTorch "
              f"{t_s / 2:.2f} s/epoch ({t_cpu / 2:.1f} CPU s): {t_s / w_s:.2f}x  ({_load()})",
              flush=True)
    print(f"warpnet's speed / PyTorch's: median {np.median(ratios):.2f}x "
          f"(rounds {', '.join(f'{v:.2f}' for v in ratios)})", flush=True)


def _ablation_rows(hidden, ablation_epochs, best: MLPRecipe, inputs: Inputs, y_train,
                   y_test) -> None:
    import dataclasses

    # Each row adds one piece of the recipe to the row above it (pieces the recipe lacks are left out).
    row = dataclasses.replace(best, hidden=hidden, epochs=ablation_epochs, norm=None, augment=None,
                              schedule=False, label_smoothing=0.0, dropout=0.0, whiten_eps=None)
    steps = [("plain (AdamW, constant lr)", row)]
    for name, change in [
            ("+ BatchNorm", {"norm": best.norm}),
            (f"+ augmentation ({best.augment})", {"augment": best.augment}),
            ("+ warm-up and cosine schedule", {"schedule": best.schedule}),
            (f"+ label smoothing {best.label_smoothing}", {"label_smoothing": best.label_smoothing}),
            (f"+ dropout {best.dropout}", {"dropout": best.dropout}),
            (f"+ ZCA whitening (eps {best.whiten_eps})", {"whiten_eps": best.whiten_eps})]:
        if all(getattr(row, k) == v for k, v in change.items()):
            continue
        row = dataclasses.replace(row, **change)
        steps.append((name, row))
    print(f"\nwhat each piece adds (hidden {hidden}, {ablation_epochs} epochs each, warpnet; "
          f"{_load()}):")
    print(f"{'recipe':<34} {'test acc':>8} {'seconds':>8} {'CPU s':>8}")
    for name, recipe in steps:
        acc, seconds, cpu, _ = _warpnet_mlp(recipe, inputs.get(recipe)[0], y_train,
                                            inputs.get(recipe)[1], y_test)
        print(f"{name:<34} {acc:>8.2%} {seconds:>8.1f} {cpu:>8.1f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the cifar10 npz folder")
    parser.add_argument("--section", default="all",
                        choices=["raw", "features", "wired", "coates", "fisher", "svm", "mlp",
                                 "all"])
    parser.add_argument("--fisher-set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting of the fisher section (as warpnet train --set)")
    parser.add_argument("--n-train", type=int, default=None, help="first N training images only")
    parser.add_argument("--n-test", type=int, default=None, help="first N test images only")
    parser.add_argument("--coates-cache", type=Path, default=None,
                        help="an .npz file keeping the k-means triangle features between runs")
    parser.add_argument("--epochs", type=int, default=MLPRecipe.epochs,
                        help="epochs of the mlp-best runs")
    parser.add_argument("--hidden", default=",".join(map(str, MLPRecipe.hidden)),
                        help="hidden widths of mlp-best")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the mlp speed part")
    parser.add_argument("--dropout", type=float, default=MLPRecipe.dropout,
                        help="drop probability after each hidden layer (mlp section)")
    parser.add_argument("--whiten-eps", type=lambda v: None if v == "none" else float(v),
                        default=MLPRecipe.whiten_eps,
                        help="ZCA whitening eps of the mlp section's inputs, or none")
    parser.add_argument("--ablation-epochs", type=int, default=10, help="epochs of each ablation row")
    parser.add_argument("--ablation-hidden", default=None,
                        help="hidden widths of the ablation rows (default: --hidden)")
    parser.add_argument("--parts", default="best,torch,ablation",
                        help="of the mlp section, comma-separated: best (warpnet), torch (the same "
                             "recipe in PyTorch after it), speed (short runs of both by turns), "
                             "ablation")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="threads of the PyTorch run (default: PyTorch's own choice)")
    parser.add_argument("--progress", action="store_true", help="a line per epoch (mlp section)")
    args = parser.parse_args(argv)
    global VERBOSE
    VERBOSE = 2 if args.progress else 0
    if not args.data.is_dir():
        print(f"CIFAR-10 not found at {args.data}: nothing to benchmark (pass --data PATH)")
        return 0
    data = load_npz(args.data)
    x_train, y_train, x_test, y_test = data.x, data.y, data.test.x, data.test.y
    x_train, y_train = x_train[:args.n_train], y_train[:args.n_train]
    x_test, y_test = x_test[:args.n_test], y_test[:args.n_test]
    print(f"CIFAR-10: {len(x_train)} training and {len(x_test)} test images")
    if args.section in ("raw", "features", "wired", "coates", "fisher", "all"):
        table = Table()
        if args.section in ("raw", "all"):
            raw_section(table, x_train, y_train, x_test, y_test)
        if args.section in ("features", "all"):
            features_section(table, x_train, y_train, x_test, y_test)
        if args.section in ("wired", "all"):
            wired_section(table, x_train, y_train, x_test, y_test)
        if args.section in ("coates", "all"):
            coates_section(table, x_train, y_train, x_test, y_test, cache=args.coates_cache)
        if args.section in ("fisher", "all"):
            fisher_section(table, x_train, y_train, x_test, y_test, args.fisher_set)
        table.show()
    if args.section in ("svm", "all"):
        svm_section(x_train, y_train, x_test, y_test)
    if args.section in ("mlp", "all"):
        hidden = tuple(int(h) for h in args.hidden.split(","))
        ablation_hidden = None if args.ablation_hidden is None else \
            tuple(int(h) for h in args.ablation_hidden.split(","))
        best = MLPRecipe(hidden=hidden, epochs=args.epochs, dropout=args.dropout,
                         whiten_eps=args.whiten_eps)
        mlp_section(x_train, y_train, x_test, y_test, best, args.ablation_epochs,
                    args.torch_threads, ablation_hidden, args.parts, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
