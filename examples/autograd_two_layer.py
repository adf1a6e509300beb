"""The lecture's two-layer net trained with its total loss written as one autograd expression.

    L = 1/N sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg * (sum W1**2 + sum W2**2)
    s = max(0, x W1 + b1) W2 + b2

``loss.backward()`` gives dL/dW1, dL/db1, dL/dW2, dL/db2 "and then we can optimize with SGD".
At every step the same gradients are also computed by warpnet's explicit engine (each layer's
hand-written backward) on the same weights, and the largest difference is printed: it stays at
the level of float64 rounding.  Data: the 8x8 digits that ship with scikit-learn.

Run: python examples/autograd_two_layer.py [--steps 200]
"""

from __future__ import annotations

import argparse

import numpy as np

from warpnet import autograd, nn, optim
from warpnet.autograd import Tensor
from warpnet.data import load_digits


def svm_total_loss(x, y, W1, b1, W2, b2, reg: float) -> Tensor:
    """The lecture's total loss, one expression (x: (N, D), y: (N,) integer labels)."""
    N, C = x.shape[0], W2.shape[1]
    s = autograd.maximum(x @ W1 + b1, 0.0) @ W2 + b2  # scores: (N, C)
    correct = s[np.arange(N), y].reshape(N, 1)  # s_{y_i}: (N, 1)
    not_y = 1.0 - np.eye(C)[y]  # the sum runs over j != y_i
    return (autograd.maximum(s - correct + 1.0, 0.0) * not_y).sum() / N \
        + reg * (W1 ** 2).sum() + reg * (W2 ** 2).sum()


def train(steps: int = 200, hidden: int = 50, batch: int = 100, lr: float = 0.05,
          reg: float = 1e-3, seed: int = 0, log=print) -> list[tuple[float, float]]:
    """SGD with momentum on the autograd gradients; returns (loss, largest gradient difference
    from the explicit engine) per step and logs one line per step (``log=None`` is silent)."""
    data = load_digits()
    X = data.x.reshape(len(data.x), -1) / 16.0  # (1797, 64) in [0, 1], float64
    y = data.y
    rng = np.random.default_rng(seed)
    model = nn.mlp([X.shape[1], hidden, 10], rng=seed, dtype="float64")  # Linear, ReLU, Linear
    params = model.parameters()  # W1 (64, H), b1 (H,), W2 (H, 10), b2 (10,)
    # The autograd leaves wrap the very arrays the engine's layers hold (no copies).
    W1, b1, W2, b2 = (Tensor(p.value, requires_grad=True, name=n)
                      for p, n in zip(params, ["W1", "b1", "W2", "b2"], strict=True))
    opt = optim.SGD(params, lr=lr, momentum=0.9)
    svm, penalty = nn.MulticlassSVM(), nn.L2(reg)
    out = []
    for step in range(steps):
        rows = rng.choice(len(X), batch, replace=False)
        xb, yb = X[rows], y[rows]

        for t in (W1, b1, W2, b2):
            t.grad = None
        loss = svm_total_loss(Tensor(xb), yb, W1, b1, W2, b2, reg)
        loss.backward()

        opt.zero_grad()  # the explicit engine on the same weights
        data_loss, dscores = svm(model.forward(xb), yb)
        model.backward(dscores, need_dx=False)
        explicit_loss = float(data_loss) + penalty(params)
        diff = max(float(np.max(np.abs(t.grad - p.grad))) for t, p in zip((W1, b1, W2, b2), params,
                                                                           strict=True))
        diff = max(diff, abs(float(loss.value) - explicit_loss))
        out.append((float(loss.value), diff))
        if log is not None:
            log(f"step {step:4d}  loss {float(loss.value):.6f}  largest difference from the "
                f"explicit backward {diff:.2e}")

        for p, t in zip(params, (W1, b1, W2, b2), strict=True):
            p.grad = t.grad  # SGD steps on the autograd gradients
        opt.step()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    history = train(args.steps, seed=args.seed)
    print(f"loss {history[0][0]:.4f} -> {history[-1][0]:.4f}; largest difference over all steps "
          f"{max(d for _, d in history):.2e}")


if __name__ == "__main__":
    main()
