"""``computational-graph``: the lecture's total loss as the graph that autograd records.

    L = 1/N sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg * sum(W1**2) + reg * sum(W2**2)
    s = max(0, x W1 + b1) W2 + b2

written as one expression of ``warpnet.autograd`` tensors on a CIFAR-10-sized batch; the figure
is what ``autograd.draw`` makes of it: every operation with the shape of its result.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import autograd
from ..autograd import Tensor
from ..backend import as_generator

__all__ = ["lecture_loss", "plot_computational_graph"]

TITLE = ("L = 1/N sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg (|W1|^2 + |W2|^2),  "
         "s = max(0, x W1 + b1) W2 + b2")


def lecture_loss(sizes: tuple[int, int, int] = (3072, 100, 10), batch: int = 200,
                 reg: float = 1e-3, seed: int | np.random.Generator | None = 0) -> Tensor:
    """The lecture's SVM total loss of a two-layer net on random data, as a recorded Tensor.

    Args:
        sizes: (D, H, C), input, hidden and class counts.
        batch: N, the number of samples.
        reg: the L2 strength on W1 and W2.
        seed: seed or generator for the data and weights.

    Returns:
        The loss, a 0-d float64 Tensor whose graph reaches the named leaves x, W1, b1, W2, b2.

    Raises:
        ValueError: a size or ``batch`` below 1, or a negative ``reg``.
    """
    D, H, C = (int(n) for n in sizes)
    if min(D, H, C, batch) < 1 or not reg >= 0:
        raise ValueError(f"sizes and batch must be >= 1 and reg >= 0, got sizes={sizes}, "
                         f"batch={batch}, reg={reg}")
    rng = as_generator(seed)
    N = batch
    x = Tensor(rng.standard_normal((N, D)), name="x")
    y = rng.integers(0, C, N)
    W1 = Tensor(rng.standard_normal((D, H)) * np.sqrt(2.0 / D), requires_grad=True, name="W1")
    b1 = Tensor(np.zeros(H), requires_grad=True, name="b1")
    W2 = Tensor(rng.standard_normal((H, C)) * np.sqrt(2.0 / H), requires_grad=True, name="W2")
    b2 = Tensor(np.zeros(C), requires_grad=True, name="b2")
    not_y = Tensor(1.0 - np.eye(C)[y], name="[j != y]")  # the sum runs over j != y_i

    s = autograd.maximum(x @ W1 + b1, 0.0) @ W2 + b2  # scores: (N, C)
    correct = s[np.arange(N), y].reshape(N, 1)  # s_{y_i}: (N, 1)
    data_loss = (autograd.maximum(s - correct + 1.0, 0.0) * not_y).sum() / N
    return data_loss + reg * (W1 ** 2).sum() + reg * (W2 ** 2).sum()


def plot_computational_graph(loss: Tensor | None = None, engine: str = "auto") -> Figure:
    """The recorded graph of ``loss`` (by default the lecture's total loss, ``lecture_loss()``).

    Args:
        loss: any Tensor; None draws ``lecture_loss()``.
        engine: as ``autograd.draw``: "auto", "graphviz" or "matplotlib".

    Raises:
        TypeError, ValueError, RuntimeError: as ``autograd.draw``.
    """
    if loss is None:
        loss = lecture_loss()
        return autograd.draw(loss, engine=engine, title=TITLE)
    return autograd.draw(loss, engine=engine)
