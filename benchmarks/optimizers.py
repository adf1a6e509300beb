"""Time one optimizer step (with the L2 value, as the Trainer takes it) over the parameters of
``engine.py``'s net (b), 3072-1024-1024-10 in float32: each rule as compiled loops
(``warpnet.fused``, the large layers on BLAS's threads) against its array path (NumPy block by
block; NumPy's BLAS passes for SGD), alternating the two in rounds and keeping each one's best.

Usage: python benchmarks/optimizers.py [--rounds N]
"""

from __future__ import annotations

import time

import engine
import numpy as np

from warpnet import fused, nn, optim

RULES = {"sgd (momentum)": ("sgd", {"lr": 1e-3, "momentum": 0.9}),
         "rmsprop": ("rmsprop", {"lr": 1e-3}), "adam": ("adam", {"lr": 1e-3})}


def step_seconds(name: str, kwargs: dict, compiled: bool, repeats: int = 15) -> float:
    """Median seconds of ``optimizer.step(sum_squares=True)``, each right after a matrix product
    (so NumPy's BLAS workers are as they are in a training step)."""
    model = nn.mlp(engine.CONFIGS["b"][0], rng=0)
    params = model.parameters()
    opt = optim.optimizer(name, params, **kwargs)
    x = engine._data(*engine.CONFIGS["b"])[0]
    product = np.empty((x.shape[0], params[0].value.shape[1]), np.float32)
    saved = fused._kernels
    fused._kernels = None if compiled else False  # False: as if numba were not installed
    try:
        times = []
        for _ in range(repeats + 2):
            for p in params:
                p.zero_grad()
                p.accumulate(np.full_like(p.value, 1e-3))
            np.matmul(x, params[0].value, out=product)
            t0 = time.perf_counter()
            opt.step(sum_squares=True)
            times.append(time.perf_counter() - t0)
        return float(np.median(times[2:]))
    finally:
        fused._kernels = saved


def main() -> None:
    rounds = engine.rounds_for_compiled_loops(__doc__, 3, "; parameters of 3072-1024-1024-10, float32")
    print(f"{'rule':<18}{'compiled ms':>12}{'array path ms':>15}{'speed-up':>10}")
    for label, (name, kwargs) in RULES.items():
        best = {True: float("inf"), False: float("inf")}
        for _ in range(rounds):
            for compiled in (True, False):
                best[compiled] = min(best[compiled], step_seconds(name, kwargs, compiled))
        print(f"{label:<18}{best[True] * 1e3:>12.2f}{best[False] * 1e3:>15.2f}"
              f"{best[False] / best[True]:>9.1f}x")


if __name__ == "__main__":
    main()
