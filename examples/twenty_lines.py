"""The lecture's 20-line neural network, twice: in plain NumPy and with warpnet.

A two-layer net (N=64, D_in=1000, H=100, D_out=10) with a sigmoid hidden layer, squared-error
loss and plain SGD (learning rate 1e-4) fits random targets.  Both versions draw the same data and
weights from the same seed and print the same loss at every step: warpnet's layers are the same
arithmetic, just put into reusable pieces.

Run: python examples/twenty_lines.py [--steps 10000]
"""

from __future__ import annotations

import argparse

import numpy as np

N, D_in, H, D_out = 64, 1000, 100, 10


def numpy_losses(steps: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((N, D_in)), rng.standard_normal((N, D_out))
    w1, w2 = rng.standard_normal((D_in, H)), rng.standard_normal((H, D_out))
    losses = []
    for _ in range(steps):
        h = 1 / (1 + np.exp(-x.dot(w1)))
        y_pred = h.dot(w2)
        loss = np.square(y_pred - y).sum()
        losses.append(float(loss))
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h.T.dot(grad_y_pred)
        grad_h = grad_y_pred.dot(w2.T)
        grad_w1 = x.T.dot(grad_h * h * (1 - h))
        w2 -= 1e-4 * grad_w2
        w1 -= 1e-4 * grad_w1
    return losses


def warpnet_losses(steps: int, seed: int = 0) -> list[float]:
    from warpnet import nn, optim
    from warpnet.nn.init import normal

    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((N, D_in)), rng.standard_normal((N, D_out))
    model = nn.Sequential(
        nn.Linear(D_in, H, bias=False, init=normal(1.0), rng=rng, dtype="float64"),
        nn.Sigmoid(),
        nn.Linear(H, D_out, bias=False, init=normal(1.0), rng=rng, dtype="float64"),
    )
    loss_fn, opt = nn.MSE(reduction="sum"), optim.SGD(model.parameters(), lr=1e-4)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss, dscores = loss_fn(model.forward(x), y)
        losses.append(float(loss))
        model.backward(dscores, need_dx=False)
        opt.step()
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    plain, ours = numpy_losses(args.steps, args.seed), warpnet_losses(args.steps, args.seed)
    for t in sorted({0, 1, 10, 100, 1000, args.steps - 1} & set(range(args.steps))):
        print(f"step {t:>5}: numpy {plain[t]:.6f}  warpnet {ours[t]:.6f}")
    worst = max(abs(a - b) / abs(a) for a, b in zip(plain, ours, strict=True))
    print(f"largest relative difference over {args.steps} steps: {worst:.1e}")


if __name__ == "__main__":
    main()
