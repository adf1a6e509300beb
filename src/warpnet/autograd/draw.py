"""The graph a ``Tensor`` recorded, as a picture: one box per tensor, labelled with the operation
that made it (or its name, for an input) and its shape, an arrow from each operand to the result.

``draw`` lays the graph out with Graphviz's ``dot`` where that program is installed and with
matplotlib alone otherwise; both give a ``matplotlib.figure.Figure``.  ``to_dot`` returns the
Graphviz source itself.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
from matplotlib.figure import Figure

from .. import backend
from .tensor import Tensor, graph_nodes

__all__ = ["draw", "to_dot", "node_label"]

ENGINES = ("auto", "matplotlib", "graphviz")
MAX_NODES = 300
# Fill colours: inputs that get gradients, constants, operations, the tensor drawn.
_COLORS = {"input": "#cfe8ff", "constant": "#e6e6e6", "op": "#ffffff", "root": "#ffe0b3"}


def node_label(t: Tensor) -> str:
    """Two lines: what the tensor is (operation, name, or a constant's value) and its shape."""
    if t.op is not None:
        what = t.op
    elif t.name:
        what = t.name
    elif t.ndim == 0 and not t.requires_grad:
        what = f"{float(backend.to_numpy(t.value)):g}"
    else:
        what = "input" if t.requires_grad else "constant"
    return f"{what}\n{t.shape}"


def _kind(t: Tensor, root: Tensor) -> str:
    if t is root:
        return "root"
    if t.op is not None:
        return "op"
    return "input" if t.requires_grad else "constant"


def _edges(nodes: list[Tensor]) -> list[tuple[int, int]]:
    """(operand index, result index) pairs; an operand used twice gives two arrows."""
    index = {id(t): i for i, t in enumerate(nodes)}
    return [(index[id(p)], index[id(t)]) for t in nodes for p in t.parents]


def to_dot(root: Tensor) -> str:
    """The recorded graph of ``root`` as Graphviz ``dot`` source (left to right, inputs first).

    Raises:
        TypeError: ``root`` is not a Tensor.
    """
    nodes = graph_nodes(root)
    lines = ["digraph autograd {", "  rankdir=LR;",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];']
    for i, t in enumerate(nodes):
        label = node_label(t).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'  n{i} [label="{label}", fillcolor="{_COLORS[_kind(t, root)]}"];')
    lines += [f"  n{a} -> n{b};" for a, b in _edges(nodes)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(root: Tensor, engine: str = "auto", title: str | None = None,
         max_nodes: int = MAX_NODES) -> Figure:
    """A figure of the graph recorded by ``root`` (operations and shapes in the boxes).

    Args:
        root: the tensor whose computation is drawn (usually a loss).
        engine: "graphviz" (needs the ``dot`` program), "matplotlib" (always works), or "auto":
            graphviz where ``dot`` is found, matplotlib otherwise.
        title: a title above the graph.
        max_nodes: refuse larger graphs (a picture of thousands of boxes is unreadable, and too
            large for matplotlib's renderer).

    Returns:
        A ``matplotlib.figure.Figure`` rendered by Agg (``warpnet.viz.save_png`` writes it).

    Raises:
        TypeError: ``root`` is not a Tensor.
        ValueError: an unknown ``engine``, or more than ``max_nodes`` tensors in the graph.
        RuntimeError: engine "graphviz" without a working ``dot`` program.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw() expects a Tensor, got {type(root).__name__}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    n = len(graph_nodes(root))
    if n > max_nodes:
        raise ValueError(f"the graph of {root._describe()} has {n} tensors; draw() shows at most "
                         f"max_nodes={max_nodes} (draw a smaller expression)")
    dot = shutil.which("dot")
    if engine == "graphviz" and dot is None:
        raise RuntimeError("engine 'graphviz' needs Graphviz's 'dot' program on the PATH "
                           "(use engine='matplotlib')")
    if engine != "matplotlib" and dot is not None:
        try:
            return _draw_graphviz(root, dot, title)
        except (OSError, subprocess.SubprocessError, ValueError):
            if engine == "graphviz":
                raise RuntimeError("Graphviz's 'dot' failed to draw the graph") from None
    return _draw_matplotlib(root, title)


def _draw_graphviz(root: Tensor, dot: str, title: str | None) -> Figure:
    from matplotlib.image import imread

    from ..viz._common import new_figure

    png = subprocess.run([dot, "-Tpng", "-Gdpi=100"], input=to_dot(root).encode(),
                         capture_output=True, check=True, timeout=60).stdout
    image = imread(io.BytesIO(png), format="png")
    h, w = image.shape[:2]
    fig = new_figure(max(w / 100, 2.0), h / 100 + (0.4 if title else 0.0))
    ax = fig.add_subplot()
    ax.imshow(image)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=11)
    return fig


def layout(root: Tensor) -> tuple[list[Tensor], np.ndarray]:
    """Positions for matplotlib: column = longest path to ``root`` counted from the right (inputs
    on the left, ``root`` rightmost), rows ordered by where each tensor's results sit.

    Returns:
        The nodes (``root`` first) and their (x, y) positions, shape (n, 2).
    """
    nodes = graph_nodes(root)
    index = {id(t): i for i, t in enumerate(nodes)}
    consumers: list[list[int]] = [[] for _ in nodes]
    for a, b in _edges(nodes):
        consumers[a].append(b)
    # Longest distance to the root, by Kahn's algorithm from the root outward.
    waiting = [len(set(c)) for c in consumers]
    depth = [0] * len(nodes)
    ready, order = [0], []
    while ready:
        i = ready.pop()
        order.append(i)
        for p in dict.fromkeys(index[id(q)] for q in nodes[i].parents):
            depth[p] = max(depth[p], depth[i] + 1)
            waiting[p] -= 1
            if waiting[p] == 0:
                ready.append(p)
    columns: dict[int, list[int]] = {}
    for i in order:
        columns.setdefault(depth[i], []).append(i)
    pos = np.zeros((len(nodes), 2))
    top = max(columns)
    for d in sorted(columns):
        members = columns[d]
        if d > 0:  # next to the results they feed (the barycentre), to keep arrows short
            members.sort(key=lambda i: float(np.mean([pos[c, 1] for c in consumers[i]])))
        for rank, i in enumerate(members):
            pos[i] = (top - d, rank - (len(members) - 1) / 2)
    return nodes, pos


def _draw_matplotlib(root: Tensor, title: str | None) -> Figure:
    from ..viz._common import new_figure

    nodes, pos = layout(root)
    n_cols = int(pos[:, 0].max()) + 1
    n_rows = max(int(np.sum(pos[:, 0] == c)) for c in range(n_cols))
    fig = new_figure(max(1.05 * n_cols, 3.0), max(0.75 * n_rows, 1.5) + (0.4 if title else 0.0))
    ax = fig.add_subplot()
    ax.set_xlim(-0.6, n_cols - 0.4)
    ax.set_ylim(pos[:, 1].min() - 0.7, pos[:, 1].max() + 0.7)
    ax.set_axis_off()
    boxes = [ax.text(x, y, node_label(t), ha="center", va="center", fontsize=8, zorder=3,
                     bbox={"boxstyle": "round,pad=0.3", "fc": _COLORS[_kind(t, root)],
                           "ec": "#333333", "lw": 0.7})
             for t, (x, y) in zip(nodes, pos, strict=True)]
    for a, b in _edges(nodes):
        # From the right edge of the operand's box to the left edge of the result's; an arrow
        # that skips columns bends, so it does not run along a row of boxes.
        span = pos[b, 0] - pos[a, 0]
        bend = 0.0 if span <= 1 else (0.25 if pos[b, 1] >= pos[a, 1] else -0.25)
        ax.annotate("", xy=(0.0, 0.5), xycoords=boxes[b], xytext=(1.0, 0.5), textcoords=boxes[a],
                    arrowprops={"arrowstyle": "->", "color": "#555555", "lw": 0.8, "shrinkA": 4,
                                "shrinkB": 4, "connectionstyle": f"arc3,rad={bend}"}, zorder=2)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
