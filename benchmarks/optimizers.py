"""The optimizers: the speed of one update, and epochs on images whose borders are blank.

Section "step": one optimizer step with the L2 penalty's gradient and value, over the parameters
of ``engine.py``'s net (b), 3072-1024-1024-10 in float32: the compiled loops of ``warpnet._fast``
(one pass per parameter, the large layers on BLAS's threads) against the plain rule of
``warpnet.optim`` (``penalty(params)``, then ``optimizer.step()``, both ``fused=False``: the
formulas), alternating the two in rounds
and keeping each one's best.

Section "epochs": the Trainer's epochs on 60,000 synthetic 28 x 28 images of centred objects
(``centred.py``: border pixels non-zero in a few images only), 784-256-10, batch 200, 20 epochs,
with SGD-momentum, Adam and RMSProp: the seconds of the 2nd and the 20th epoch and the slowest
epoch against SGD's.  Running averages tied to blank pixels would decay into subnormal floats
(100x slower arithmetic on x86) without the flush to zero of ``optim.flush_subnormals``.

Section "mlp": ``MLPClassifier(solver="adam")`` against scikit-learn's on 50,000 of those images
(10,000 held back), same architecture, epochs, batch size and learning rate, 3 seeds: fit seconds
and held-back accuracy per seed, warpnet with its default ``alpha`` and with scikit-learn's penalty
(``alpha / (2 * batch_size)``; see ``mlp_section``).

The "epochs" and "mlp" sections use only the public API, so the same script times an older
checkout too (``PYTHONPATH=that/src python benchmarks/optimizers.py --section epochs``).

On a busy machine, ``--threads 1`` makes the CPU seconds per epoch the work itself (several BLAS
threads spin while they wait, and that counts as CPU time too).

Usage: python benchmarks/optimizers.py [--section step|epochs|mlp|all] [--rounds N] [--quick]
                                       [--threads N]
"""

from __future__ import annotations

import argparse
import time
import warnings

import centred
import engine
import numpy as np

from warpnet import nn, optim

RULES = {"sgd (momentum)": ("sgd", {"lr": 1e-3, "momentum": 0.9}),
         "rmsprop": ("rmsprop", {"lr": 1e-3}), "adam": ("adam", {"lr": 1e-3})}
REG = 1e-4


def step_seconds(name: str, kwargs: dict, compiled: bool, repeats: int = 15) -> float:
    """Median seconds of one update with the L2 penalty's gradient and value, each right after a
    matrix product (so NumPy's BLAS workers are as they are in a training step)."""
    from warpnet._fast.step import update_parameters

    model = nn.mlp(engine.CONFIGS["b"][0], rng=0)
    params = model.parameters()
    opt = optim.optimizer(name, params, fused=None if compiled else False, **kwargs)
    penalty = nn.L2(REG, fused=False)  # the plain rule's: the formula
    x = engine._data(*engine.CONFIGS["b"])[0]
    product = np.empty((x.shape[0], params[0].value.shape[1]), np.float32)
    times = []
    for _ in range(repeats + 2):
        for p in params:
            p.grad = np.full_like(p.value, 1e-3)
        np.matmul(x, params[0].value, out=product)
        t0 = time.perf_counter()
        if compiled:
            REG * update_parameters(opt, 2 * REG)
        else:
            penalty(params)
            opt.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[2:]))


def step_section(rounds: int) -> None:
    print("one update over the parameters of 3072-1024-1024-10, float32, with L2 gradient and value")
    print(f"{'rule':<18}{'compiled ms':>12}{'plain ms':>10}{'speed-up':>10}")
    for label, (name, kwargs) in RULES.items():
        best = {True: float("inf"), False: float("inf")}
        for _ in range(rounds):
            for compiled in (True, False):
                best[compiled] = min(best[compiled], step_seconds(name, kwargs, compiled))
        print(f"{label:<18}{best[True] * 1e3:>12.2f}{best[False] * 1e3:>10.2f}"
              f"{best[False] / best[True]:>9.1f}x")


class _CpuClock:
    """Trainer callback: the CPU seconds of this process in each epoch (training and
    bookkeeping), which a busy shared machine inflates far less than the wall-clock seconds."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._last = time.process_time()

    def on_epoch_end(self, trainer, record) -> None:
        now = time.process_time()
        self.seconds.append(now - self._last)
        self._last = now


def epoch_seconds(name: str, kwargs: dict, X: np.ndarray, y: np.ndarray,
                  epochs: int) -> tuple[list[float], list[float]]:
    """(wall-clock seconds, CPU seconds) of each epoch of the Trainer."""
    from warpnet.train import Trainer

    model = nn.mlp([X.shape[1], 256, 10], rng=0)
    clock = _CpuClock()
    trainer = Trainer(model, "softmax", optim.optimizer(name, model.parameters(), **kwargs),
                      reg=REG, batch_size=200, epochs=epochs, seed=0, verbose=0, callbacks=[clock])
    clock._last = time.process_time()
    history = trainer.fit(X, y)
    return [record["seconds"] for record in history.records], clock.seconds


def epochs_section(quick: bool, threads: int | None) -> None:
    if threads is not None:  # one BLAS thread: CPU seconds are then the work, not spinning
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads, user_api="blas"):
            print(f"(NumPy's BLAS on {threads} thread{'s' if threads > 1 else ''})")
            return epochs_section(quick, None)
    X, y = centred.centred_objects(20_000 if quick else 60_000)
    epochs = 6 if quick else 20
    print(f"Trainer epochs on {len(X):,} centred-object images 784-256-10, batch 200, {epochs} epochs; "
          "CPU seconds of the process per epoch (wall-clock seconds in brackets)")
    print(f"{'rule':<18}{'epoch 2':>14}{f'epoch {epochs}':>14}{'last/2nd':>10}{'slowest':>14}"
          f"{'slowest / SGD mean':>20}")
    sgd_mean = None
    for label, (name, kwargs) in RULES.items():
        wall, cpu = epoch_seconds(name, kwargs, X, y, epochs)
        if sgd_mean is None:
            sgd_mean = float(np.mean(cpu[1:]))
        slowest = int(np.argmax(cpu[1:])) + 1
        print(f"{label:<18}{cpu[1]:>7.2f} ({wall[1]:>4.1f}){cpu[-1]:>7.2f} ({wall[-1]:>4.1f})"
              f"{cpu[-1] / cpu[1]:>9.2f}x{cpu[slowest]:>7.2f} ({wall[slowest]:>4.1f})"
              f"{cpu[slowest] / sgd_mean:>19.2f}x")
        print(f"{'':<18}CPU s by epoch: {' '.join(f'{c:.2f}' for c in cpu)}")


def mlp_section(quick: bool, threads: int | None = None) -> None:
    """``MLPClassifier(solver="adam")`` against scikit-learn's, seed by seed: fit seconds and
    held-back accuracy, warpnet with its own default ``alpha`` and with scikit-learn's penalty.

    The two estimators run the same algorithm (Glorot-uniform weights and biases with factor 6,
    minibatches of a fresh permutation each epoch, the mean softmax cross-entropy, Adam with
    b1 = 0.9, b2 = 0.999, eps = 1e-8 and bias correction, float32 throughout, no early stopping),
    except for the scale of ``alpha``: scikit-learn's objective per minibatch of B rows is
    ``mean loss + alpha / (2 B) * sum W**2`` (its gradient ``(X^T delta + alpha W) / B``), warpnet's
    is the lecture's ``mean loss + alpha * sum W**2``.  The same ``alpha=1e-4`` is therefore a
    penalty 2 B = 400 times stronger in warpnet at batch 200; ``alpha=1e-4 / (2 * 200)`` is
    scikit-learn's penalty exactly.  (Two more differences change no digit that matters: where
    ``eps`` meets the bias correction, ``lr * sqrt(1 - b2**t) / (1 - b1**t) * m / (sqrt(v) + eps)``
    in scikit-learn against ``lr * m_hat / (sqrt(v_hat) + eps)``, and warpnet's flush to zero of
    moments and weights below float32's smallest normal number.)
    """
    if threads is not None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads, user_api="blas"):
            print(f"(NumPy's BLAS on {threads} thread{'s' if threads > 1 else ''})")
            return mlp_section(quick, None)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLP

    from warpnet.estimators import MLPClassifier

    n_train, batch, sk_alpha = (15_000 if quick else 50_000), 200, 1e-4
    X, y = centred.centred_objects(n_train + 10_000)
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    epochs, seeds = (5, [0]) if quick else (20, [0, 1, 2])
    common = {"hidden_layer_sizes": (256,), "batch_size": batch, "max_iter": epochs,
              "learning_rate_init": 1e-3, "tol": 0.0, "n_iter_no_change": 10**6}
    fits = {"warpnet": lambda seed: MLPClassifier(solver="adam", random_state=seed, verbose=0, **common),
            "warpnet (sk alpha)": lambda seed: MLPClassifier(
                solver="adam", random_state=seed, alpha=sk_alpha / (2 * batch), verbose=0, **common),
            "sklearn": lambda seed: SkMLP(solver="adam", random_state=seed, alpha=sk_alpha, **common)}
    print(f"MLPClassifier(solver='adam'), {n_train:,} centred-object images, 784-256-10, "
          f"batch {batch}, {epochs} epochs, lr 1e-3, held-back 10,000; seeds {seeds}; alpha: warpnet "
          f"{MLPClassifier().alpha:g} (its default, the lecture's scale), warpnet (sk alpha) "
          f"{sk_alpha / (2 * batch):g} = scikit-learn's {sk_alpha:g} / (2 x batch)")
    print(f"{'seed':<6}" + "".join(f"{name + ' s':>22}" for name in fits)
          + "".join(f"{name + ' acc':>24}" for name in fits))
    rows = []
    for seed in seeds:
        seconds, accuracy = [], []
        for make in fits.values():
            model = make(seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t0 = time.perf_counter()
                model.fit(Xtr, ytr)
                seconds.append(time.perf_counter() - t0)
            accuracy.append(model.score(Xte, yte))
        rows.append(seconds + accuracy)
        print(f"{seed:<6}" + "".join(f"{s:>22.1f}" for s in seconds)
              + "".join(f"{a:>24.2%}" for a in accuracy))
    mean = np.mean(rows, axis=0)
    k = len(fits)
    print(f"{'mean':<6}" + "".join(f"{s:>22.1f}" for s in mean[:k])
          + "".join(f"{a:>24.2%}" for a in mean[k:]))
    for i, name in enumerate(list(fits)[:-1]):
        print(f"{name}: {mean[k - 1] / mean[i]:.2f}x scikit-learn's fit speed, accuracy "
              f"{100 * (mean[k + i] - mean[-1]):+.2f} points against scikit-learn's (mean of {len(seeds)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--section", choices=["step", "epochs", "mlp", "all"], default="all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer epochs and seeds")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads in the epochs and mlp sections (default: as configured)")
    args = parser.parse_args()
    print(f"BLAS: {engine.blas_description()}")
    if args.section in ("step", "all"):
        step_section(args.rounds)
    if args.section in ("epochs", "all"):
        epochs_section(args.quick, args.threads)
    if args.section in ("mlp", "all"):
        mlp_section(args.quick, args.threads)


if __name__ == "__main__":
    main()
