"""Time one full training step of warpnet against PyTorch on the CPU, and a whole epoch against
scikit-learn's MLPClassifier; print ratios measured in one run.

A step is: forward, softmax cross-entropy + L2 penalty, backward, SGD-momentum update, float32,
as ``warpnet.train.make_step`` runs it (the compiled step, as the Trainer does); "plain loop ms"
times the same step written as the lecture's loop on the plain layers (``model.forward``,
``loss_fn``, ``model.backward(dscores, need_dx=False)``, ``penalty(params)``, ``opt.step()``, whose
loss, penalty and update on NumPy are compiled loops by default, ``fused=None``); "formula loop ms"
the same loop with ``fused=False`` for all three: every line the formula; "weight_decay
loop ms" the plain loop with the L2 gradient from ``SGD(weight_decay=2 * reg)`` instead of
``penalty(params)`` (PyTorch's way; it decays the biases too) and the penalty's value alone.
  (a) 3072-100-10, batch 200 (the classic CIFAR-10 two-layer net)
  (b) 3072-1024-1024-10, batch 256
"matmuls alone" times only the step's matrix products (with the fraction of peak they would
reach by themselves): the floor under any step on this BLAS.
"of peak" counts 6 x parameters x batch flops per step against the machine's float32 matrix-multiply
peak, measured as 2048^3 products timed the same way as the step (median of blocks of about the
same length), in the same process and in blocks taking turns with the step's; the column gives
the median over the rounds of each round's step against its own peak.
Each side is timed in a few rounds, alternating, and keeps its best round ("ratio"); "by round"
gives the lowest and highest ratio of a PyTorch round to the warpnet round just before it.  Every
round of either side (warpnet's step with its peak and products, or PyTorch's step) runs in a
fresh process with the same number of threads.

Usage: python benchmarks/engine.py [--quick] [--table | --wired]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc

import numpy as np

CONFIGS = {"a": ([3072, 100, 10], 200), "b": ([3072, 1024, 1024, 10], 256)}
LR, MOMENTUM, REG = 1e-3, 0.9, 1e-4
PEAK_N = 2048  # the peak is timed on PEAK_N^3 products


def _threads() -> int:
    from threadpoolctl import threadpool_info

    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return int(info[0]["num_threads"]) if info else os.cpu_count() or 1


def blas_description() -> str:
    from threadpoolctl import threadpool_info

    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not info:
        return "unknown BLAS"
    i = info[0]
    return (f"{i.get('internal_api')} {i.get('version')} "
            f"({i.get('architecture')}, {i.get('num_threads')} threads)")


def _data(sizes: list[int], batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, sizes[0]), dtype=np.float32),
            rng.integers(0, sizes[-1], batch))


def _time(step, n_steps: int, repeats: int) -> float:
    """Median seconds per step over ``repeats`` blocks of ``n_steps``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n_steps):
            step()
        times.append((time.perf_counter() - t0) / n_steps)
    return float(np.median(times))


def warpnet_step(sizes: list[int], batch: int, phase_seconds: dict[str, float] | None = None,
                 compiled: bool = True, fused: bool | None = None, weight_decay: bool = False):
    """One training step as a function: ``make_step``'s (as the Trainer makes it), or with
    ``compiled=False`` the plain loop (its loss, penalty and optimizer built with ``fused``; with
    ``weight_decay`` the L2 gradient comes from SGD's ``weight_decay=2*reg``, PyTorch's way, which
    decays the biases too, and the loop adds only the penalty's value); with ``phase_seconds``,
    each call of the compiled step adds the time of its two phases (forward, loss and backward;
    update with the L2 value) to it."""
    from warpnet import nn, optim
    from warpnet.train import make_step

    x, y = _data(sizes, batch)
    model = nn.mlp(sizes, rng=0)
    loss_fn, penalty = nn.SoftmaxCrossEntropy(fused=fused), nn.L2(REG, fused=fused)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, fused=fused,
                    weight_decay=2 * REG if weight_decay else 0.0)
    params = model.parameters()
    add_penalty = penalty.value if weight_decay else penalty
    if not compiled:
        def plain() -> float:
            opt.zero_grad()
            scores = model.forward(x)
            loss, dscores = loss_fn(scores, y)
            model.backward(dscores, need_dx=False)
            loss_value = float(loss) + add_penalty(params)
            opt.step()
            return loss_value

        return plain
    step_fn = make_step(model, loss_fn, opt, penalty)
    assert step_fn.compiled
    if phase_seconds is None:
        return lambda: step_fn(x, y)

    def step() -> float:
        t0 = time.perf_counter()
        loss, _ = step_fn.gradients(x, y)
        t1 = time.perf_counter()
        loss_value = float(loss) + step_fn.update()
        t2 = time.perf_counter()
        for phase, seconds in (("forward + loss + backward", t1 - t0), ("update + L2 value", t2 - t1)):
            phase_seconds[phase] = phase_seconds.get(phase, 0.0) + seconds
        return loss_value

    return step


def breakdown(sizes: list[int], batch: int, n_steps: int) -> dict[str, float]:
    """Milliseconds per step spent in each phase, averaged over ``n_steps`` after a warm-up."""
    seconds: dict[str, float] = {}
    step = warpnet_step(sizes, batch, seconds)
    for _ in range(3):
        step()
    seconds.clear()
    for _ in range(n_steps):
        step()
    return {phase: total / n_steps * 1e3 for phase, total in seconds.items()}


def plain_breakdown(sizes: list[int], batch: int, n_steps: int) -> dict[str, float]:
    """Milliseconds per step of each stage of the plain loop (``warpnet_step(compiled=False)``),
    averaged over ``n_steps`` after a warm-up, and of the matrix products alone
    (``matmul_only_step``) timed in turns with it: where the plain loop's time goes beyond the
    products.  Forward includes ``zero_grad`` (which only marks the gradients), backward the
    gradients' ``accumulate`` (which takes each new gradient as it is)."""
    from warpnet import nn, optim

    x, y = _data(sizes, batch)
    model = nn.mlp(sizes, rng=0)
    loss_fn, penalty = nn.SoftmaxCrossEntropy(), nn.L2(REG)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    params = model.parameters()
    floor_step = matmul_only_step(sizes, batch)
    seconds: dict[str, float] = {}

    def step() -> None:
        t0 = time.perf_counter()
        opt.zero_grad()
        scores = model.forward(x)
        t1 = time.perf_counter()
        _, dscores = loss_fn(scores, y)
        t2 = time.perf_counter()
        model.backward(dscores, need_dx=False)
        t3 = time.perf_counter()
        penalty(params)
        t4 = time.perf_counter()
        opt.step()
        t5 = time.perf_counter()
        floor_step()
        t6 = time.perf_counter()
        for stage, dt in (("forward", t1 - t0), ("loss", t2 - t1), ("backward", t3 - t2),
                          ("L2 penalty", t4 - t3), ("SGD step", t5 - t4), ("matmuls alone", t6 - t5)):
            seconds[stage] = seconds.get(stage, 0.0) + dt

    for _ in range(3):
        step()
    seconds.clear()
    for _ in range(n_steps):
        step()
    return {stage: total / n_steps * 1e3 for stage, total in seconds.items()}


def matmul_only_step(sizes: list[int], batch: int):
    """The matrix products of one step and nothing else (forward x @ W; backward x^T @ dout for
    every layer and dout @ W^T for all but the first): the floor a step cannot go below."""
    rng = np.random.default_rng(0)
    acts = [rng.standard_normal((batch, n), dtype=np.float32) for n in sizes]
    weights = [rng.standard_normal((a, b), dtype=np.float32)
               for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    grads = [np.empty_like(w) for w in weights]

    def step() -> None:
        for i, w in enumerate(weights):
            np.matmul(acts[i], w, out=acts[i + 1])
        for i in range(len(weights) - 1, -1, -1):
            np.matmul(acts[i].T, acts[i + 1], out=grads[i])
            if i:
                np.matmul(acts[i + 1], weights[i].T, out=acts[i])

    return step


def peak_memory_after_first_step(sizes: list[int], batch: int) -> tuple[int, int]:
    """(bytes newly allocated at the peak of steps 2..6, bytes of one batch-sized hidden array)."""
    step = warpnet_step(sizes, batch)
    step()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    for _ in range(5):
        step()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, batch * max(sizes[1:-1]) * 4


TORCH_SCRIPT = r"""
import json, sys, time, numpy as np, torch
sizes, batch, threads, n_steps, repeats, lr, mom, reg = json.loads(sys.argv[1])
torch.set_num_threads(threads)
rng = np.random.default_rng(0)
x = torch.from_numpy(rng.standard_normal((batch, sizes[0]), dtype=np.float32))
y = torch.from_numpy(rng.integers(0, sizes[-1], batch))
layers = []
for i in range(len(sizes) - 1):
    layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
    if i < len(sizes) - 2:
        layers.append(torch.nn.ReLU())
model = torch.nn.Sequential(*layers)
weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=mom)
ce = torch.nn.CrossEntropyLoss()
def step():
    opt.zero_grad()
    loss = ce(model(x), y) + reg * sum((w * w).sum() for w in weights)
    loss.backward()
    opt.step()
for _ in range(3):
    step()
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    for _ in range(n_steps):
        step()
    times.append((time.perf_counter() - t0) / n_steps)
print(json.dumps({"seconds": float(np.median(times)), "version": torch.__version__}))
"""


def _in_fresh_process(*args: str) -> dict:
    """Run this Python with ``args``; the JSON object its last line of output prints."""
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def torch_step_seconds(sizes: list[int], batch: int, threads: int, n_steps: int, repeats: int) -> dict:
    args = json.dumps([sizes, batch, threads, n_steps, repeats, LR, MOMENTUM, REG])
    return _in_fresh_process("-c", TORCH_SCRIPT, args)


def matmul_peak_step(n: int):
    """One n x n x n float32 matrix product (2 n^3 flops): timed like a training step, in the same
    process, it gives the machine's matrix-multiply peak as the step sees it."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)

    def step() -> None:
        np.matmul(a, b, out=c)

    step()
    return step


def warpnet_round(key: str, n_steps: int, repeats: int) -> dict[str, float]:
    """One round of warpnet's side for net ``key``, in this process: seconds per step of the
    matrix-multiply peak, the training step and its matrix products alone.

    The three are timed in turns, a block of each ``repeats`` times, and each keeps the median of
    its blocks: the peak is measured in the same moments as the step it is compared with (the
    speed of this shared machine drifts by 10 % and more within minutes).  A peak block is about
    as long as a step block (a product of 2048^3 takes some 50 ms, a block of (b)'s steps some
    400 ms): the best of short blocks catches moments of turbo speed that a sustained rate never
    sees (measured: 330-362 GFLOP/s in blocks of one product, 328-354 in blocks of eight, best of
    3 rounds each).
    """
    sizes, batch = CONFIGS[key]
    peak_step = matmul_peak_step(PEAK_N)
    step = warpnet_step(sizes, batch)
    plain_step = warpnet_step(sizes, batch, compiled=False)
    formula_step = warpnet_step(sizes, batch, compiled=False, fused=False)
    decay_step = warpnet_step(sizes, batch, compiled=False, weight_decay=True)
    floor_step = matmul_only_step(sizes, batch)
    for _ in range(3):
        step()
        plain_step()
        formula_step()
        decay_step()
        floor_step()
    peak_block = max(1, round(n_steps * _time(step, 1, 3) / _time(peak_step, 1, 1)))
    blocks: dict[str, list[float]] = {"peak": [], "step": [], "plain": [], "formula": [], "decay": [],
                                      "matmuls": []}
    for _ in range(repeats):
        blocks["peak"].append(_time(peak_step, peak_block, 1))
        # One untimed call after the turn of another: its data back in the caches, as in
        # training, where a step follows a step.
        step()
        blocks["step"].append(_time(step, n_steps, 1))
        plain_step()
        blocks["plain"].append(_time(plain_step, n_steps, 1))
        formula_step()
        blocks["formula"].append(_time(formula_step, n_steps, 1))
        decay_step()
        blocks["decay"].append(_time(decay_step, n_steps, 1))
        floor_step()
        blocks["matmuls"].append(_time(floor_step, n_steps, 1))
    return {name: float(np.median(times)) for name, times in blocks.items()}


def warpnet_round_seconds(key: str, n_steps: int, repeats: int) -> dict[str, float]:
    """``warpnet_round`` in a fresh process (as each PyTorch round is)."""
    return _in_fresh_process(__file__, "--round", key, "--n-steps", str(n_steps),
                             "--repeats", str(repeats))


def _median_of_peak(rounds: list[dict[str, float]], timed: str, flops: float) -> float:
    """Median over ``rounds`` (as ``warpnet_round`` returns them) of ``flops`` done in the round's
    ``timed`` seconds, as a fraction of the peak timed in that same round."""
    return float(np.median([flops / r[timed] * r["peak"] / (2 * PEAK_N**3) for r in rounds]))


def epoch_comparison(n: int = 10_000, epochs: int = 3) -> dict:
    """Seconds per epoch (shuffling included) of warpnet's Trainer and scikit-learn's MLPClassifier
    on n samples of shape (a), float32, SGD with momentum, batch 200."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from warpnet import nn, optim
    from warpnet.train import Trainer

    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, 3072), dtype=np.float32)
    y = rng.integers(0, 10, n)

    model = nn.mlp([3072, 100, 10], rng=0)
    trainer = Trainer(model, "softmax", optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM),
                      reg=REG, batch_size=200, epochs=epochs, seed=0, verbose=0)
    t0 = time.perf_counter()
    trainer.fit(X, y)
    ours = (time.perf_counter() - t0) / epochs

    clf = MLPClassifier(hidden_layer_sizes=(100,), solver="sgd", learning_rate_init=LR,
                        momentum=MOMENTUM, nesterovs_momentum=False, alpha=REG, batch_size=200,
                        max_iter=epochs, shuffle=True, random_state=0, tol=0.0, n_iter_no_change=10**6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        clf.fit(X, y)
        theirs = (time.perf_counter() - t0) / epochs
    return {"warpnet": ours, "sklearn": theirs}


def rounds_for_compiled_loops(doc: str, default_rounds: int, what: str = "") -> int:
    """The command line of a benchmark of warpnet's compiled loops: parse ``--rounds``, stop
    where numba is missing, print the BLAS (and ``what`` after it); the number of rounds."""
    from warpnet._fast import fused

    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=default_rounds)
    args = parser.parse_args()
    if not fused.available():
        raise SystemExit("needs numba (the compiled loops): pip install warpnet[fast]")
    print(f"BLAS: {blas_description()}{what}")
    return args.rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    # One round of warpnet's side, run by the benchmark itself in a fresh process.
    parser.add_argument("--round", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--n-steps", type=int, default=20, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=7, help=argparse.SUPPRESS)
    parser.add_argument("--wired", action="store_true", help="only the randomly wired net's lines")
    parser.add_argument("--table", action="store_true",
                        help="only the table of steps (a) and (b) and the epoch line")
    args = parser.parse_args()
    if args.wired:
        wired_lines(rounds=2 if args.quick else 5)
        return
    if args.round:
        print(json.dumps(warpnet_round(args.round, args.n_steps, args.repeats)))
        return
    n_steps, repeats, rounds, epoch_rounds = (5, 3, 1, 1) if args.quick else (20, 7, 5, 5)
    threads = _threads()
    from warpnet._fast import fused

    print(f"BLAS: {blas_description()}; compiled loops (numba): {'yes' if fused.available() else 'no'}")
    print(f"{'net':<24}{'batch':>6}{'warpnet ms':>12}{'torch ms':>10}{'ratio':>8}{'by round':>13}"
          f"{'peak GF/s':>10}{'of peak':>9}{'new MB/step':>13}{'batch-array MB':>16}{'matmuls alone ms':>18}"
          f"{'plain loop ms':>15}{'formula loop ms':>17}{'weight_decay loop ms':>22}")
    for key, (sizes, batch) in CONFIGS.items():
        # Alternate the sides and keep each one's best of 5 rounds: a busy moment of this shared
        # machine may last a whole round of one side (seconds), so each needs a few.  Every round
        # of either side runs in a fresh process, so a process that happens to run slow as a
        # whole (seen here: a whole run of one process 20 % slower) costs that side one round,
        # as it costs PyTorch one, not the whole comparison.  "by round" gives the spread of the
        # ratio of each PyTorch round to the warpnet round just before it.
        mine, theirs = [], []
        for _ in range(rounds):
            mine.append(warpnet_round_seconds(key, n_steps, repeats))
            theirs.append(torch_step_seconds(sizes, batch, threads, n_steps, repeats)["seconds"])
        ours = min(r["step"] for r in mine)
        by_round = [t / r["step"] for r, t in zip(mine, theirs, strict=True)]
        # The fraction of peak pairs each round's step with the peak timed alongside it (same
        # process, same moments), and takes the median over the rounds.
        n_params = sum(sizes[i] * sizes[i + 1] + sizes[i + 1] for i in range(len(sizes) - 1))
        flops = 6 * n_params * batch
        peak = float(np.median([2 * PEAK_N**3 / r["peak"] for r in mine]))
        floor = min(r["matmuls"] for r in mine)
        plain = min(r["plain"] for r in mine)
        formula = min(r["formula"] for r in mine)
        decay = min(r["decay"] for r in mine)
        decay_of_peak = _median_of_peak(mine, "decay", flops)
        plain_of_peak = _median_of_peak(mine, "plain", flops)
        step_of_peak, floor_of_peak = (_median_of_peak(mine, timed, flops) for timed in ("step", "matmuls"))
        new_bytes, batch_bytes = peak_memory_after_first_step(sizes, batch)
        print(f"({key}) {'-'.join(map(str, sizes)):<20}{batch:>6}{ours * 1e3:>12.2f}"
              f"{min(theirs) * 1e3:>10.2f}{min(theirs) / ours:>7.2f}x"
              f"{min(by_round):>8.2f}-{max(by_round):.2f}{peak / 1e9:>10.0f}{step_of_peak:>8.0%}"
              f"{new_bytes / 2**20:>13.3f}{batch_bytes / 2**20:>16.2f}"
              f"{floor * 1e3:>12.2f} ({floor_of_peak:.0%})"
              f"{plain * 1e3:>7.2f} ({min(theirs) / plain:.2f}x, {plain_of_peak:.0%})"
              f"{formula * 1e3:>10.2f} ({min(theirs) / formula:.2f}x)"
              f"{decay * 1e3:>9.2f} ({min(theirs) / decay:.2f}x, {decay_of_peak:.0%})")
    try:
        # Each side's best of 5 rounds (a round is about 1 s).
        eps = [epoch_comparison(epochs=2 if args.quick else 3) for _ in range(epoch_rounds)]
        ours, theirs = min(e["warpnet"] for e in eps), min(e["sklearn"] for e in eps)
        print(f"epoch, 10,000 x 3072 -> 100 -> 10, batch 200: warpnet {ours:.3f} s, "
              f"scikit-learn MLPClassifier {theirs:.3f} s, ratio {theirs / ours:.2f}x")
    except ImportError as err:
        print(f"epoch comparison skipped: {err}")
    if args.table:
        return
    print("where warpnet's step goes (ms):")
    for key, (sizes, batch) in CONFIGS.items():
        phases = breakdown(sizes, batch, 10 if args.quick else 40)
        print(f"({key}) " + ", ".join(f"{name} {ms:.2f}" for name, ms in phases.items()))
    print("where the plain loop goes (ms; the step's matrix products alone timed in turns with it):")
    for key, (sizes, batch) in CONFIGS.items():
        stages = plain_breakdown(sizes, batch, 10 if args.quick else 40)
        print(f"({key}) " + ", ".join(f"{name} {ms:.2f}" for name, ms in stages.items()))
    import resource

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {rss_mb:.0f} MB")
    autograd_comparison(rounds=1 if args.quick else 5)
    wired_lines(rounds=2 if args.quick else 5)


def wired_lines(rounds: int = 5) -> None:
    """The wired net's step against its matrix products, for widths 256 and 64 on one and two
    BLAS threads."""
    for width in (256, 64):
        for threads in (1, 2):
            wired_step_against_its_matmuls(width=width, rounds=rounds, blas_threads=threads)


# -- the same step with the loss written as one warpnet.autograd expression ---------------------
def autograd_step(sizes: list[int], batch: int):
    """``warpnet_step``'s training step with its total loss (softmax cross-entropy + L2) written as
    one ``warpnet.autograd`` expression and ``loss.backward()`` instead of the layers' own
    backward.  The update is the explicit step's own: the autograd gradients (the L2 term's
    included) go into the parameters' ``.grad`` and ``make_step``'s ``update()`` runs the same
    compiled SGD-momentum loop on them, with no penalty of its own (the explicit step folds its L2
    gradient ``2 * reg * W`` into that loop; here the expression already holds it)."""
    from warpnet import autograd, nn, optim
    from warpnet.train import make_step

    x, y = _data(sizes, batch)
    model = nn.mlp(sizes, rng=0)
    params = model.parameters()
    opt = optim.SGD(params, lr=LR, momentum=MOMENTUM)
    update = make_step(model, nn.SoftmaxCrossEntropy(), opt).update
    leaves = [autograd.Tensor(p.value, requires_grad=True) for p in params]  # the same arrays
    weights, biases = leaves[0::2], leaves[1::2]
    X, rows = autograd.Tensor(x), np.arange(batch)

    def step() -> float:
        for t in leaves:
            t.grad = None
        h = X
        for W, b in zip(weights[:-1], biases[:-1], strict=True):
            h = autograd.maximum(h @ W + b, 0.0)
        s = h @ weights[-1] + biases[-1]
        shifted = s - s.max(axis=1, keepdims=True).detach()  # a constant shift: no gradient
        loss = (autograd.log(autograd.exp(shifted).sum(axis=1)) - shifted[rows, y]).mean()
        for W in weights:
            loss = loss + REG * (W ** 2).sum()
        loss.backward()
        for p, t in zip(params, leaves, strict=True):
            p.grad = t.grad
        update()
        return float(loss.value)

    return step


def autograd_comparison(rounds: int = 5, n_steps: int = 20) -> dict[str, dict[str, float]]:
    """Print the autograd step against the explicit engine's (same process, blocks taking turns,
    the ratio taken block by block) and PyTorch's (fresh processes), on shape (a): with BLAS's
    threads as configured, then with every side on one thread (on a busy machine, threads that
    wait for each other slow whichever step is running; one thread keeps the comparison to the
    work itself).  Returns each line's numbers by thread count ("default", "1")."""
    from threadpoolctl import threadpool_limits

    results = {}
    for threads in (None, 1):
        if threads is None:
            results["default"] = _autograd_against_explicit(rounds, n_steps)
        else:
            with threadpool_limits(limits=threads, user_api="blas"):
                results[str(threads)] = _autograd_against_explicit(rounds, n_steps)
    return results


def _autograd_against_explicit(rounds: int, n_steps: int) -> dict[str, float]:
    sizes, batch = CONFIGS["a"]
    threads = _threads()
    first = autograd_step(sizes, batch)(), warpnet_step(sizes, batch)()
    auto_step, explicit_step = autograd_step(sizes, batch), warpnet_step(sizes, batch)
    for _ in range(3):
        auto_step()
        explicit_step()
    auto, explicit, ratios, torch_s = [], [], [], []
    for _ in range(rounds):
        for _ in range(5):
            auto.append(_time(auto_step, n_steps, 1))
            explicit.append(_time(explicit_step, n_steps, 1))
            ratios.append(auto[-1] / explicit[-1])
        torch_s.append(torch_step_seconds(sizes, batch, threads, n_steps, 5)["seconds"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"autograd step, ({'-'.join(map(str, sizes))}, batch {batch}), {threads} BLAS thread"
          f"{'s' if threads > 1 else ''}: autograd {min(auto) * 1e3:.2f} ms, explicit engine "
          f"{min(explicit) * 1e3:.2f} ms, PyTorch {min(torch_s) * 1e3:.2f} ms; autograd / explicit "
          f"{np.median(ratios):.2f}x (median of {len(ratios)} block pairs, {min(ratios):.2f}-"
          f"{max(ratios):.2f}; the bound is 1.5x); load average {load:.1f}; first-step losses "
          f"{first[0]:.6f} and {first[1]:.6f}")
    return {"autograd_ms": min(auto) * 1e3, "explicit_ms": min(explicit) * 1e3,
            "torch_ms": min(torch_s) * 1e3, "ratio": float(np.median(ratios)),
            "ratio_low": min(ratios), "ratio_high": max(ratios)}


def wired_step_against_its_matmuls(graph: str = "ws", n_nodes: int = 32, width: int = 256,
                                   batch: int = 256, rounds: int = 5,
                                   blas_threads: int | None = None) -> dict[str, float]:
    """A randomly wired net's training step (forward, softmax cross-entropy, backward, SGD with
    momentum; float32, 3072 inputs, 10 classes) as ``make_step`` runs it (the compiled step of
    ``warpnet._fast.graph``), the plain step beside it (``Graph.forward``/``backward`` and the
    optimizer's rule), against the matrix products the step contains: how much the graph's
    bookkeeping (weighted sums, sums at fan-out, ReLUs, the walk in topological order, the update)
    adds on top of its Linear layers.  The three are timed in rounds taking turns, in this process;
    "by round" gives the lowest and highest ratio of a round's step to that round's products.
    With BLAS on two threads or more the compiled step splits the batch's rows over threads
    (``GraphStep.lanes_for``: with a wired core, the core's rows only); the line says so.
    Where the step's compiled core runs narrow nodes on blocks of rows
    (``wired_core.BLOCK_ROWS``), the line also gives the same products run on those blocks (on
    one lane), and the step's ratio to them.
    ``blas_threads`` limits BLAS's threads for all three (None: as configured)."""
    import contextlib

    from threadpoolctl import threadpool_limits

    from warpnet import nn, optim
    from warpnet._fast import wired_core
    from warpnet.train import make_step

    def build(compiled: bool):
        net = nn.randomly_wired(3072, 10, graph, n_nodes=n_nodes, width=width, seed=0)
        opt = optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        return net, make_step(net, nn.SoftmaxCrossEntropy(), opt, compiled=compiled)

    net, fast = build(True)
    _, plain = build(False)
    x, y = _data([3072, 10], batch)

    # The same products on arrays of the same shapes: x @ W forward, x^T @ dout and dout @ W^T
    # backward (the first layer needs no dout @ W^T).
    rng = np.random.default_rng(0)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    shapes = [(m.in_features, m.out_features) for m in linears]
    work = [(rng.standard_normal((batch, i), dtype=np.float32),
             rng.standard_normal((i, o), dtype=np.float32),
             np.empty((batch, o), np.float32), np.empty((i, o), np.float32),
             np.empty((batch, i), np.float32), k > 0) for k, (i, o) in enumerate(shapes)]

    def products() -> None:
        for a, w, out, *_ in work:
            np.matmul(a, w, out=out)
        for a, w, out, gw, ga, needs_dx in reversed(work):
            np.matmul(a.T, out, out=gw)
            if needs_dx:
                np.matmul(out, w.T, out=ga)

    # The same products with the wired nodes' ones on blocks of rows, as the step's compiled core
    # runs them (``wired_core.BLOCK_ROWS``): x^T dout summed over the blocks.
    core = fast._lanes[0].core if hasattr(fast, "_lanes") else None
    block = (min(wired_core.BLOCK_ROWS, batch)
             if core is not None and core.width <= wired_core.BLOCKED_WIDTH else batch)
    wired_ids = {id(n.module.linear) for n in core.members} if core is not None else set()
    in_core = [id(m) in wired_ids for m in linears]

    def products_in_blocks() -> None:
        for (a, w, out, *_), blocked in zip(work, in_core, strict=True):
            step = block if blocked else batch
            for r in range(0, batch, step):
                np.matmul(a[r:r + step], w, out=out[r:r + step])
        for (a, w, out, gw, ga, needs_dx), blocked in zip(reversed(work), reversed(in_core),
                                                          strict=True):
            step = block if blocked else batch
            for r in range(0, batch, step):
                if r == 0:
                    np.matmul(a[:step].T, out[:step], out=gw)
                else:
                    gw += a[r:r + step].T @ out[r:r + step]
                if needs_dx:
                    np.matmul(out[r:r + step], w.T, out=ga[r:r + step])

    # The limit applies to the BLAS libraries loaded by now (building the nets loads them all).
    limit = (contextlib.nullcontext() if blas_threads is None
             else threadpool_limits(limits=blas_threads, user_api="blas"))
    times: dict[str, list[float]] = {"step": [], "plain": [], "matmuls": [], "blocks": []}
    cpu_times: dict[str, list[float]] = {"step": [], "plain": [], "matmuls": [], "blocks": []}
    with limit:
        threads = _threads()
        for _ in range(2):  # warm up: compiled loops loaded, buffers allocated
            fast(x, y)
            plain(x, y)
            products()
        for _ in range(rounds):  # take turns, so a busy moment of a shared machine hits all three
            for name, fn in (("step", lambda: fast(x, y)), ("plain", lambda: plain(x, y)),
                             ("matmuls", products), ("blocks", products_in_blocks)):
                cpu = time.thread_time()
                times[name].append(_time(fn, 3, 3))
                cpu_times[name].append((time.thread_time() - cpu) / 9)
    ratios = [s / f for s, f in zip(times["step"], times["matmuls"], strict=True)]
    best = {name: min(t) for name, t in times.items()}
    # On one thread, the CPU time of this thread counts the work alone, not the moments another
    # process held the core: the ratio a busy shared machine disturbs least.
    cpu_ratio = min(cpu_times["step"]) / min(cpu_times["matmuls"])
    result = {"step_ms": best["step"] * 1e3, "plain_ms": best["plain"] * 1e3,
              "cpu_ratio": cpu_ratio,
              "plain_cpu_ratio": min(cpu_times["plain"]) / min(cpu_times["matmuls"]),
              "matmuls_ms": best["matmuls"] * 1e3, "ratio": best["step"] / best["matmuls"],
              "plain_ratio": best["plain"] / best["matmuls"], "ratio_low": min(ratios),
              "ratio_high": max(ratios), "compiled": float(fast.compiled), "nodes": n_nodes,
              "edges": len(net.edges), "linears": len(linears)}
    lanes = getattr(fast, "lanes_used", 1)
    result["lanes"] = float(lanes)
    result["blocks_ms"] = best["blocks"] * 1e3
    lanes_note = ("" if lanes <= 1 else f", the core's rows split over {lanes} threads"
                  if core is not None else f", rows split over {lanes} threads")
    blocks_note = ("" if block >= batch or lanes > 1 else
                   f"; the core runs its products on blocks of {block} rows: those products "
                   f"{result['blocks_ms']:.1f} ms, the step {best['step'] / best['blocks']:.2f}x them")
    print(f"wired net {graph.upper()}({n_nodes} nodes, {len(net.edges)} edges), width {width}, batch "
          f"{batch}, {threads} BLAS threads: step (make_step, {type(fast).__name__}"
          f"{lanes_note}) "
          f"{result['step_ms']:.1f} ms, its {len(linears)} layers' matrix products alone "
          f"{result['matmuls_ms']:.1f} ms: {result['ratio']:.2f}x (by round {result['ratio_low']:.2f}-"
          f"{result['ratio_high']:.2f}; the bound is 1.3x); plain step {result['plain_ms']:.1f} ms "
          f"({result['plain_ratio']:.2f}x)" + blocks_note
          + (f"; CPU time of the one thread: step {cpu_ratio:.2f}x, plain "
             f"{result['plain_cpu_ratio']:.2f}x the products'" if threads == 1 else ""))
    return result


if __name__ == "__main__":
    main()
