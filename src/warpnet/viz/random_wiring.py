"""``random-wiring``: a randomly wired network, drawn, and how it trains next to a plain MLP.

Left: the generated graph, nodes placed by depth (the longest path from the input projection),
each edge as thick as its learned aggregation weight ``sigmoid(w)`` after training (thin: the
node learned to listen less to that input).  Right: validation loss and accuracy per epoch of the
wired net and of a one-hidden-layer MLP with the same number of parameters, trained on digits
with the same budget (epochs, optimizer, learning rate, batches, seed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .. import nn
from ..train.history import History
from ._common import new_figure

__all__ = ["edge_weights", "fit_random_wiring", "layout", "plot_random_wiring"]

_WIRED_COLOR, _MLP_COLOR = "#D55E00", "#0072B2"


def edge_weights(graph: nn.Graph) -> dict[tuple[str, str], float]:
    """The weight each edge carries into its target: ``sigmoid(w)`` into a ``WiredNode``, 1/k into
    a ``Mean`` of k inputs, 1 into any other node."""
    weights = {}
    for a, b in graph.edges:
        node = graph.nodes[b]
        if isinstance(node, nn.WiredNode):
            w = np.asarray(node.aggregate.weight.value, dtype=np.float64)
            s = 1.0 / (1.0 + np.exp(-w))
            weights[(a, b)] = float(s[graph.predecessors(b).index(a)])
        elif isinstance(node, nn.Mean):
            weights[(a, b)] = 1.0 / node.n_inputs
        else:
            weights[(a, b)] = 1.0
    return weights


def layout(graph: nn.Graph) -> dict[str, tuple[float, float]]:
    """Positions ``(depth, height)``: x is a node's depth, the nodes of one depth spread evenly
    over [0, 1] in topological order."""
    depth = graph.depths()
    columns: dict[int, list[str]] = {}
    for n in graph.order:
        columns.setdefault(depth[n], []).append(n)
    pos = {}
    for d, names in columns.items():
        for i, n in enumerate(names):
            pos[n] = (float(d), 0.5 if len(names) == 1 else i / (len(names) - 1))
    return pos


def fit_random_wiring(graph: str = "ws", n_nodes: int = 16, width: int = 32, *, epochs: int = 20,
                      seed: int = 0, **graph_params: Any) -> tuple[nn.Graph, History, History, int]:
    """Train a randomly wired net and an MLP of equal size on digits (80 % train, 20 % validation).

    Returns:
        ``(wired net, its History, the MLP's History, the MLP's hidden width)``; both trained with
        Adam (lr 3e-3), batch 64, ``epochs`` epochs, from ``seed``.

    Raises:
        ValueError: bad graph parameters (see ``nn.randomly_wired``).
    """
    from ..data import load_digits
    from ..nn.wired import count_parameters
    from ..train import Trainer

    data = load_digits()
    x = (data.x.reshape(len(data.x), -1) / 16.0).astype(np.float32)  # (N, 64) in [0, 1]
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = len(x) // 5
    val, train = order[:n_val], order[n_val:]
    C = data.n_classes
    net = nn.randomly_wired(x.shape[1], C, graph, n_nodes=n_nodes, width=width, seed=seed,
                            **graph_params)
    # one hidden layer h: (D + 1) h + (h + 1) C parameters, as many as the wired net's
    hidden = max(1, round((count_parameters(net) - C) / (x.shape[1] + 1 + C)))
    mlp = nn.mlp([x.shape[1], hidden, C], rng=seed)
    histories = []
    for model in (net, mlp):
        trainer = Trainer(model, "softmax", "adam", lr=3e-3, batch_size=64, epochs=epochs,
                          seed=seed, verbose=0)
        histories.append(trainer.fit(x[train], data.y[train], validation=(x[val], data.y[val])))
    return net, histories[0], histories[1], hidden


def plot_random_wiring(graph: nn.Graph, wired: History, mlp: History, *,
                       title: str | None = None, mlp_label: str = "MLP") -> Figure:
    """The graph (left) and both nets' validation curves (right).

    Args:
        graph: a trained ``nn.randomly_wired`` network (or any ``Graph``).
        wired, mlp: the two training histories (with validation).
        title: figure title.

    Returns:
        The Figure; artists have gids ``"edge"`` (one line per edge, in ``graph.edges`` order),
        ``"node"``, ``"wired_val_accuracy"``, ``"mlp_val_accuracy"``, ``"wired_val_loss"``,
        ``"mlp_val_loss"``.

    Raises:
        TypeError: ``graph`` is not a ``Graph``.
        ValueError: a history without validation accuracy.
    """
    if not isinstance(graph, nn.Graph):
        raise TypeError(f"graph must be a warpnet.nn.Graph, got {type(graph).__name__}")
    for name, hist in (("wired", wired), ("mlp", mlp)):
        if not hist.records or hist.records[0].get("val_accuracy") is None:
            raise ValueError(f"the {name} history has no validation accuracy to plot")
    fig = new_figure(12.0, 4.2)
    grid = fig.add_gridspec(2, 2, width_ratios=[1.6, 1.0])
    ax_graph = fig.add_subplot(grid[:, 0])
    ax_loss, ax_acc = fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 1])

    pos = layout(graph)
    weights = edge_weights(graph)
    for a, b in graph.edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax_graph.plot([x0, x1], [y0, y1], color="#555555", alpha=0.65, lw=0.3 + 3.0 * weights[(a, b)],
                      gid="edge", zorder=1)
    special = {n for n in graph.nodes if not isinstance(graph.nodes[n], nn.WiredNode)}
    xs = [pos[n][0] for n in graph.order]
    ys = [pos[n][1] for n in graph.order]
    colors = ["#E69F00" if n in special else "#009E73" for n in graph.order]
    ax_graph.scatter(xs, ys, s=60, c=colors, edgecolors="black", linewidths=0.5, zorder=2,
                     gid="node")
    for n in special:
        ax_graph.annotate(n, pos[n], textcoords="offset points", xytext=(0, 7), ha="center",
                          fontsize=7)
    ax_graph.set_xlabel("depth (longest path from the input)")
    ax_graph.set_yticks([])
    ax_graph.set_title(f"{len(graph.nodes) - len(special)} nodes, {len(graph.edges)} edges; "
                       "edge width = learned weight sigmoid(w)", fontsize=9)

    for hist, key, color, label in ((wired, "wired", _WIRED_COLOR, "wired"),
                                    (mlp, "mlp", _MLP_COLOR, mlp_label)):
        epochs = [r["epoch"] for r in hist.records]
        ax_loss.plot(epochs, [r["val_loss"] for r in hist.records], "-", color=color, label=label,
                     gid=f"{key}_val_loss")
        ax_acc.plot(epochs, [r["val_accuracy"] for r in hist.records], "-", color=color,
                    label=label, gid=f"{key}_val_accuracy")
    ax_loss.set_ylabel("validation loss", fontsize=8)
    ax_acc.set_ylabel("validation accuracy", fontsize=8)
    ax_acc.set_xlabel("epoch")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title or "A randomly wired network", fontsize=11)
    return fig
