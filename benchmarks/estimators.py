"""Fit speed and test accuracy of warpnet's MLPClassifier against scikit-learn's, in one run.

The same two-layer net on both sides: 100 ReLU hidden units, SGD with Nesterov momentum 0.9,
learning rate 0.01, batch 200, a fixed number of epochs (the tolerance rule is switched off so both
run every epoch), alpha 1e-4 in each library's own convention.  Data: scikit-learn's digits and
10,000 CIFAR-10 training images of ../shared/data/cifar10 (skipped with a message when absent),
standardized with the training split's statistics; tested on a held-out split.  Each fit runs in
float32 and in float64 input (each library then trains in that dtype), and once more with float64
input and warpnet's ``dtype="float32"`` (what a scikit-learn pipeline ending in StandardScaler
hands on); the runs alternate between the libraries and the best of ``--repeats`` is kept, so a
busy machine hurts both alike.

Usage: python benchmarks/estimators.py [--cifar PATH] [--epochs-cifar 10] [--epochs-digits 50]
                                       [--repeats 2] [--repeats-digits 9] [--threads N]
"""

from __future__ import annotations

import argparse
import glob
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from threadpoolctl import threadpool_info, threadpool_limits

from warpnet import MLPClassifier

DEFAULT_CIFAR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "cifar10")


def _standardize(X_tr: np.ndarray, X_te: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = X_tr.mean(axis=0)
    std = X_tr.std(axis=0)
    std[std == 0] = 1.0
    return (X_tr - mean) / std, (X_te - mean) / std


def digits() -> tuple[np.ndarray, ...]:
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    return (*_standardize(X_tr, X_te), y_tr, y_te)


def cifar(folder: str, n_train: int = 10_000, n_test: int = 5_000) -> tuple[np.ndarray, ...] | None:
    train = sorted(glob.glob(os.path.join(folder, "train_*.npz")))
    test = sorted(glob.glob(os.path.join(folder, "test_*.npz")))
    if not train or not test:
        return None
    x_parts, y_parts = [], []
    for path in train:
        with np.load(path) as f:
            x_parts.append(f["x"])
            y_parts.append(f["y"])
        if sum(len(p) for p in y_parts) >= n_train:
            break
    with np.load(test[0]) as f:
        X_te, y_te = f["x"][:n_test], f["y"][:n_test]
    X_tr = np.concatenate(x_parts)[:n_train].reshape(n_train, -1).astype(np.float64)
    y_tr = np.concatenate(y_parts)[:n_train].astype(np.int64)
    X_tr, X_te = _standardize(X_tr, X_te.reshape(len(X_te), -1).astype(np.float64))
    return X_tr, X_te, y_tr, y_te.astype(np.int64)


def _settings(epochs: int) -> dict:
    # tol=0 with n_iter_no_change > epochs: every epoch runs on both sides.
    return dict(hidden_layer_sizes=(100,), solver="sgd", learning_rate_init=0.01, momentum=0.9,
                alpha=1e-4, batch_size=200, max_iter=epochs, tol=0.0,
                n_iter_no_change=epochs + 1, random_state=0)


def _fit(make, X_tr, y_tr, X_te, y_te) -> tuple[float, float, int]:
    """(seconds, test accuracy, epochs run) of one fit."""
    model = make()
    t0 = time.perf_counter()
    model.fit(X_tr, y_tr)
    seconds = time.perf_counter() - t0
    return seconds, model.score(X_te, y_te), model.n_iter_


def compare(name: str, data: tuple[np.ndarray, ...], epochs: int, repeats: int) -> list[dict]:
    """Rows for float32 input, float64 input, and float64 input with warpnet's dtype="float32"
    (scikit-learn trains in float64 on float64 input either way)."""
    X_tr64, X_te64, y_tr, y_te = data
    runs = {  # label -> (input dtype, warpnet's dtype parameter)
        "float32": (np.float32, None),
        "float64": (np.float64, None),
        "float64 -> dtype=float32": (np.float64, "float32"),
    }
    best: dict[tuple[str, str], tuple[float, float, int]] = {}
    for _ in range(repeats):  # alternate, so load on the machine hits both alike
        for label, (dtype, wn_dtype) in runs.items():
            X_tr, X_te = X_tr64.astype(dtype), X_te64.astype(dtype)
            makers = {"warpnet": lambda d=wn_dtype: MLPClassifier(**_settings(epochs), dtype=d)}
            if wn_dtype is None:
                makers["scikit-learn"] = lambda: SklearnMLP(**_settings(epochs))
            for lib, make in makers.items():
                result = _fit(make, X_tr, y_tr, X_te, y_te)
                if result[0] < best.get((label, lib), (np.inf,))[0]:
                    best[label, lib] = result
    rows = []
    for label, (dtype, _) in runs.items():
        tw, aw, ew = best[label, "warpnet"]
        ts, as_, es = best[np.dtype(dtype).name, "scikit-learn"]
        rate_w, rate_s = len(y_tr) * ew / tw, len(y_tr) * es / ts
        rows.append({"data": name, "input": label, "n_train": len(y_tr), "epochs": ew,
                     "warpnet_sps": rate_w, "sklearn_sps": rate_s, "speedup": rate_w / rate_s,
                     "warpnet_acc": aw, "sklearn_acc": as_})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cifar", default=DEFAULT_CIFAR)
    parser.add_argument("--epochs-cifar", type=int, default=10)
    parser.add_argument("--epochs-digits", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2, help="rounds per CIFAR-10 fit")
    parser.add_argument("--repeats-digits", type=int, default=9,
                        help="rounds per digits fit (a fit takes ~0.1 s: short enough for a busy "
                             "moment to decide it, so more rounds)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for both libraries (default: the BLAS default)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    with threadpool_limits(limits=args.threads, user_api="blas"):
        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        threads = blas[0]["num_threads"] if blas else "?"
        print(f"BLAS: {blas[0]['internal_api'] if blas else 'unknown'}, {threads} threads; "
              f"{os.cpu_count()} CPUs visible")
        rows = compare("digits", digits(), args.epochs_digits, args.repeats_digits)
        data = cifar(args.cifar)
        if data is None:
            print(f"CIFAR-10 not found under {os.path.abspath(args.cifar)}: skipping that part")
        else:
            rows += compare("cifar10", data, args.epochs_cifar, args.repeats)

    header = (f"{'data':8} {'input':25} {'n_train':>7} {'epochs':>6} {'warpnet samples/s':>18} "
              f"{'sklearn samples/s':>18} {'speedup':>8} {'warpnet acc':>11} {'sklearn acc':>11}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['data']:8} {r['input']:25} {r['n_train']:>7} {r['epochs']:>6} "
              f"{r['warpnet_sps']:>18,.0f} {r['sklearn_sps']:>18,.0f} {r['speedup']:>7.2f}x "
              f"{r['warpnet_acc']:>11.4f} {r['sklearn_acc']:>11.4f}")


if __name__ == "__main__":
    main()
