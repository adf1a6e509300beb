"""Step (b) of ``engine.py`` (3072-1024-1024-10, batch 256, float32) written other ways, timed
beside warpnet's own step: the record of ideas for closing the gap between the step and its
matrix products, the one adopted and those measured and not adopted.

  plain     the step as raw NumPy calls in one function, no layers: warpnet's step minus its
            module structure (the control: how much the layers themselves cost)
  blocked   plain, but each hidden layer's weight gradient is computed in blocks of rows and
            every block is applied by the SGD update at once, while it is still in cache, so the
            gradient never travels to memory and back
  split     every large product and update split in halves over two threads
            (``warpnet._fast.threads``), NumPy's BLAS held to one thread meanwhile
  matmuls   the step's matrix products alone (the floor, as in engine.py)

warpnet's step (and so plain) runs the update of a large array on BLAS's threads, once BLAS's idle
workers are gone (``warpnet._fast.fused``); "warpnet, 1-thread update" is the same step with every
update on one thread, as before that was done: 0.92-0.95x warpnet's step.
Each variant alternates with the others in rounds and keeps its best round (median of blocks).
Measured here (2 cores): blocked 0.88-0.96x warpnet's step (its small products cost more than the
memory traffic it saves); split 0.99-1.04x (the update on both cores, as warpnet's, and its
products no faster as two one-thread calls than as one two-thread call, with a hand-over between
threads about ten times a step).

Usage: python benchmarks/step_alternatives.py [--rounds N]
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

import engine
import numpy as np
from threadpoolctl import threadpool_limits

from warpnet._fast import fused
from warpnet._fast import threads as _threads

SIZES, BATCH = [3072, 1024, 1024, 10], 256
LR, RHO, REG = engine.LR, engine.MOMENTUM, engine.REG


def _half(n: int, i: int) -> slice:
    return slice(0, n // 2) if i == 0 else slice(n // 2, n)


def raw_step(mode: str, block_rows: int = 512) -> Callable[[], float]:
    """The step of ``engine.warpnet_step`` for (b), as raw NumPy calls; ``mode`` is "plain",
    "blocked" or "split" (see the module docstring)."""
    rng = np.random.default_rng(0)
    x, y = engine._data(SIZES, BATCH)
    ws = [(rng.standard_normal((a, b), dtype=np.float32) * np.float32(np.sqrt(2 / a)))
          for a, b in zip(SIZES[:-1], SIZES[1:], strict=True)]
    bs = [np.zeros(b, np.float32) for b in SIZES[1:]]
    gws, vws = [np.zeros_like(w) for w in ws], [np.zeros_like(w) for w in ws]
    vbs = [np.zeros_like(b) for b in bs]
    hs = [np.empty((BATCH, n), np.float32) for n in SIZES[1:]]
    dhs = [np.empty((BATCH, n), np.float32) for n in SIZES[1:-1]]
    split = mode == "split"
    decay = 2 * REG  # L2's gradient, folded into the update's pass

    def hidden_forward(i: int, inp: np.ndarray) -> None:
        w, b, h = ws[i], bs[i], hs[i]

        def part(t: int) -> None:
            cols = _half(w.shape[1], t)
            np.matmul(inp, w[:, cols], out=h[:, cols])
            h[:, cols] += b[cols]
            np.maximum(h[:, cols], 0, out=h[:, cols])

        if not split:
            np.matmul(inp, w, out=h)
            h += b
            np.maximum(h, 0, out=h)
        else:
            _threads.run(part, [0, 1])

    def hidden_input_grad(i: int) -> None:
        """dhs[i - 1] = (dhs[i] @ ws[i].T) * (hs[i - 1] > 0), with the weights before the update."""
        dout, w, dx, h = dhs[i], ws[i], dhs[i - 1], hs[i - 1]

        def part(t: int) -> None:
            cols = _half(w.shape[0], t)
            np.matmul(dout, w[cols].T, out=dx[:, cols])
            np.multiply(dx[:, cols], h[:, cols] > 0, out=dx[:, cols])

        if not split:
            np.matmul(dout, w.T, out=dx)
            fused.relu_backward(dx, h, dx)
        else:
            _threads.run(part, [0, 1])

    def weight_grad_and_update(i: int, inp: np.ndarray) -> float:
        """gws[i] = inp.T @ dhs[i], then the SGD update of ws[i]; returns sum(w^2) before it."""
        dout, w, g, v = dhs[i], ws[i], gws[i], vws[i]

        def rows_update(rows: slice) -> float:
            np.matmul(inp[:, rows].T, dout, out=g[rows])
            return fused.sgd(w[rows], g[rows], v[rows], LR, RHO, decay, False)

        if mode == "plain":
            return rows_update(slice(None))
        if mode == "blocked":
            return sum(rows_update(slice(r, r + block_rows)) for r in range(0, w.shape[0], block_rows))
        return sum(_threads.run(rows_update, [_half(w.shape[0], 0), _half(w.shape[0], 1)]))

    def step() -> float:
        hidden_forward(0, x)
        hidden_forward(1, hs[0])
        np.matmul(hs[1], ws[2], out=hs[2])
        hs[2] += bs[2]
        loss, dscores = fused.softmax_cross_entropy(hs[2], y)
        np.matmul(hs[1].T, dscores, out=gws[2])
        gb = [None, None, dscores.sum(0)]
        np.matmul(dscores, ws[2].T, out=dhs[1])
        fused.relu_backward(dhs[1], hs[1], dhs[1])
        gb[1] = dhs[1].sum(0)
        hidden_input_grad(1)
        gb[0] = dhs[0].sum(0)
        squares = fused.sgd(ws[2], gws[2], vws[2], LR, RHO, decay, False)
        squares += weight_grad_and_update(1, hs[0])
        squares += weight_grad_and_update(0, x)
        for b, g, v in zip(bs, gb, vbs, strict=True):
            fused.sgd(b, g, v, LR, RHO, 0.0, False)
        return float(loss) + REG * squares

    return step


@contextlib.contextmanager
def _variant(name: str) -> Iterator[None]:
    """The setting a variant runs under: BLAS on one thread for "split" (it owns the threads),
    the update of every array on one thread for "warpnet, 1-thread update"."""
    if name == "split":
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    elif name == "warpnet, 1-thread update":
        saved, fused.PARALLEL_MIN_ELEMENTS = fused.PARALLEL_MIN_ELEMENTS, sys.maxsize
        try:
            yield
        finally:
            fused.PARALLEL_MIN_ELEMENTS = saved
    else:
        yield


def main() -> None:
    rounds = engine.rounds_for_compiled_loops(__doc__, 5)
    steps = {"warpnet": engine.warpnet_step(SIZES, BATCH),
             "warpnet, 1-thread update": engine.warpnet_step(SIZES, BATCH),
             "plain": raw_step("plain"), "blocked 512": raw_step("blocked", 512),
             "blocked 1024": raw_step("blocked", 1024), "split": raw_step("split"),
             "matmuls": engine.matmul_only_step(SIZES, BATCH)}
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(rounds):
        for name, step in steps.items():
            with _variant(name):
                for _ in range(3):
                    step()
                best[name] = min(best[name], engine._time(step, 10, 5))
    for name, seconds in best.items():
        print(f"{name:<26}{seconds * 1e3:8.2f} ms  {best['warpnet'] / seconds:5.2f}x warpnet's step")


if __name__ == "__main__":
    main()
