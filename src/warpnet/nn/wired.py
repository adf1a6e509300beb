"""Randomly wired networks (Xie, Kirillov, Girshick, He, "Exploring Randomly Wired Neural Networks
for Image Recognition", ICCV 2019), built as a ``Graph`` of fully-connected nodes.

A random undirected graph (Erdos-Renyi, Barabasi-Albert or Watts-Strogatz, drawn by networkx) is
made a DAG by directing every edge from the lower to the higher node index.  Each node computes

    h = sum_i sigmoid(w_i) * x_i    (one learned weight per incoming edge, kept positive)
    y = Linear(ReLU(h))             (width -> width)

The nodes without predecessors read a projection ``Linear(in_features, width)`` of x; the output is
the mean of the nodes without successors, followed by ``ReLU -> Linear(width, out_features)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend
from ..backend import Array, array_namespace
from ..registry import Registry
from . import init as initializers
from .activations import ReLU
from .containers import NORMS, Sequential
from .graph import Graph, Merge
from .layers import Linear, _check_dtype, _check_size
from .module import Parameter, check_float_input


def _sigmoid(w: Array) -> Array:
    """Logistic function without overflow (exp of a non-positive number only)."""
    xp = array_namespace(w)
    e = xp.exp(-xp.abs(w))
    return xp.where(w >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class WeightedSum(Merge):
    """``y = sum_i sigmoid(w_i) * x_i``: a sum of the inputs with learned positive weights.

    Args:
        n_inputs: number of inputs k.
        dtype: "float32" or "float64".

    Shape:
        xs: k arrays (N, D) -> y: (N, D).  ``weight.value`` is (k,), starting at 0 (every input
        weighted sigmoid(0) = 1/2); it is not weight-decayed (``regularize=False``).
    """

    preserves_width = True

    def __init__(self, n_inputs: int, dtype: Any = "float32") -> None:
        self.n_inputs = _check_size("n_inputs", n_inputs)
        self.dtype = _check_dtype(dtype)
        self.weight = Parameter(np.zeros(self.n_inputs, dtype=self.dtype), regularize=False)
        self._xs: list[Array] | None = None
        self._s: Array | None = None

    def forward_many(self, xs: Sequence[Array]) -> Array:
        if len(xs) != self.n_inputs:
            raise ValueError(f"{self!r} takes {self.n_inputs} inputs, got {len(xs)}")
        for x in xs:
            check_float_input(self, x)
        s = _sigmoid(self.weight.value)  # (k,)
        y = s[0] * xs[0]  # a new array: adding into it in place touches no input
        for i in range(1, self.n_inputs):
            y += s[i] * xs[i]
        self._xs, self._s = list(xs), s
        return y

    def backward_many(self, dout: Array, need_dx: bool = True) -> list[Array] | None:
        if self._xs is None or self._s is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        xp = array_namespace(dout)
        s = self._s
        # dL/dw_i = sigmoid'(w_i) * <dout, x_i>, sigmoid' = s (1 - s); the inner product of the
        # flattened arrays, without an (N, D) temporary
        flat = xp.reshape(dout, (-1,))
        dots = xp.stack([xp.vecdot(flat, xp.reshape(x, (-1,))) for x in self._xs])  # (k,)
        self.weight.accumulate(dots * (s * (1.0 - s)))  # weight.grad += dots * sigmoid'(w)
        if not need_dx:
            return None
        return [s[i] * dout for i in range(self.n_inputs)]  # dx_i = sigmoid(w_i) dout

    def get_config(self) -> dict[str, Any]:
        return {"type": "WeightedSum", "n_inputs": self.n_inputs, "dtype": self.dtype}

    def _reset_buffers(self) -> None:
        self._xs = self._s = None

    def extra_repr(self) -> str:
        return f"n_inputs={self.n_inputs}"


class Mean(Merge):
    """``y = (x_1 + ... + x_k) / k``.  Shape: k arrays (N, D) -> (N, D)."""

    preserves_width = True

    def __init__(self, n_inputs: int) -> None:
        self.n_inputs = _check_size("n_inputs", n_inputs)
        self._ready = False

    def forward_many(self, xs: Sequence[Array]) -> Array:
        if len(xs) != self.n_inputs:
            raise ValueError(f"{self!r} takes {self.n_inputs} inputs, got {len(xs)}")
        for x in xs:
            check_float_input(self, x)
        y = xs[0] + xs[1] if self.n_inputs > 1 else xs[0]
        for x in xs[2:]:
            y += x  # a new array: adding into it in place touches no input
        self._ready = True
        return y / self.n_inputs

    def backward_many(self, dout: Array, need_dx: bool = True) -> list[Array] | None:
        if not self._ready:
            raise RuntimeError(f"{self!r}: backward called before forward")
        if not need_dx:
            return None
        d = dout / self.n_inputs
        return [d] * self.n_inputs  # one array for every input: the Graph never writes into it

    def get_config(self) -> dict[str, Any]:
        return {"type": "Mean", "n_inputs": self.n_inputs}

    def extra_repr(self) -> str:
        return f"n_inputs={self.n_inputs}"


class WiredNode(Merge):
    """A node of a randomly wired network: ``Linear(ReLU(WeightedSum(xs)))``, then a
    normalisation layer when ``norm`` names one (the paper's ReLU -> conv -> BN, fully connected).

    Args:
        n_inputs: number of incoming edges k.
        width: the width W of every input and of the output.
        rng: seed or generator for the Linear's weights (He initialization, scaled by
            ``2 / sqrt(k)``: see below).
        dtype: "float32" or "float64".
        norm: None, "batch" (``BatchNorm1d``) or "layer" (``LayerNorm``) after the Linear.

    Shape:
        xs: k arrays (N, W) -> (N, W).  Parameters ``aggregate.weight`` (k,), ``linear.weight``
        (W, W), ``linear.bias`` (W,).
    """

    def __init__(self, n_inputs: int, width: int, rng: int | np.random.Generator | None = None,
                 dtype: Any = "float32", init: str | initializers.Initializer = "he",
                 norm: str | None = None) -> None:
        if norm is not None and norm not in NORMS:
            raise ValueError(f"norm must be None or one of {', '.join(NORMS)}, got {norm!r}")
        self.n_inputs = _check_size("n_inputs", n_inputs)
        self.width = _check_size("width", width)
        self.in_features = self.out_features = self.width
        self.dtype = _check_dtype(dtype)
        self.aggregate = WeightedSum(self.n_inputs, dtype=self.dtype)
        self.relu = ReLU()
        if init == "he":
            # The weighted sum starts as (x_1 + ... + x_k) / 2; a He gain of 2 / sqrt(k) makes up
            # for it, so that a signal keeps its scale through a path of any depth at the start
            # (with gain 1 it would halve at every single-input node).
            init = initializers.INITIALIZERS.get("he")(gain=2.0 / math.sqrt(self.n_inputs))
        self.linear = Linear(self.width, self.width, init=init, rng=rng, dtype=self.dtype)
        self.norm = None if norm is None else NORMS.get(norm)(self.width, dtype=self.dtype)

    def forward_many(self, xs: Sequence[Array]) -> Array:
        y = self.linear.forward(self.relu.forward(self.aggregate.forward_many(xs)))
        return y if self.norm is None else self.norm.forward(y)

    def backward_many(self, dout: Array, need_dx: bool = True) -> list[Array] | None:
        if self.norm is not None:
            dout = self.norm.backward(dout)
        dh = self.relu.backward(self.linear.backward(dout))
        return self.aggregate.backward_many(dh, need_dx=need_dx)

    def norm_name(self) -> str | None:
        """The ``norm`` argument this node was built with (None, "batch" or "layer")."""
        if self.norm is None:
            return None
        return next(name for name, cls in NORMS.items() if type(self.norm) is cls)

    def get_config(self) -> dict[str, Any]:
        config = {"type": "WiredNode", "n_inputs": self.n_inputs, "width": self.width,
                  "dtype": self.dtype}
        if self.norm is not None:
            config["norm"] = self.norm_name()
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WiredNode:
        args = {k: v for k, v in config.items() if k != "type"}
        return cls(init="zeros", **args)

    def extra_repr(self) -> str:
        return f"n_inputs={self.n_inputs}, width={self.width}"


# -- the random graphs ------------------------------------------------------------------------

def _even_k(k: Any, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2 or k % 2 or k >= n:
        raise ValueError(f"Watts-Strogatz k must be an even integer with 2 <= k < n_nodes = {n}, "
                         f"got k={k!r}")
    return int(k)


def _probability(name: str, p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) \
            or not (math.isfinite(p) and 0 <= p <= 1):
        raise ValueError(f"{name} p must be a probability in [0, 1], got p={p!r}")
    return float(p)


def _attachments(m: Any, n: int) -> int:
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 1 <= m < n:
        raise ValueError(f"Barabasi-Albert m must be an integer with 1 <= m < n_nodes = {n}, "
                         f"got m={m!r}")
    return int(m)


@dataclass(frozen=True)
class RandomGraph:
    """A random-graph family: its parameters in order (name -> default), their check, and the
    networkx generator ``draw(nx, n, params, seed)``."""

    title: str
    defaults: dict[str, float]
    check: Callable[[int, dict[str, Any]], dict[str, Any]]
    draw: Callable[[Any, int, dict[str, Any], int], Any]
    always_connected: bool = False


GRAPHS: Registry[RandomGraph] = Registry("random graph")
GRAPHS.register("ws")(RandomGraph(
    "Watts-Strogatz", {"k": 4, "p": 0.75},
    lambda n, a: {"k": _even_k(a["k"], n), "p": _probability("Watts-Strogatz", a["p"])},
    lambda nx, n, a, seed: nx.watts_strogatz_graph(n, a["k"], a["p"], seed=seed)))
GRAPHS.register("er")(RandomGraph(
    "Erdos-Renyi", {"p": 0.2},
    lambda n, a: {"p": _probability("Erdos-Renyi", a["p"])},
    lambda nx, n, a, seed: nx.gnp_random_graph(n, a["p"], seed=seed)))
GRAPHS.register("ba")(RandomGraph(
    "Barabasi-Albert", {"m": 5},
    lambda n, a: {"m": _attachments(a["m"], n)},
    lambda nx, n, a, seed: nx.barabasi_albert_graph(n, a["m"], seed=seed), always_connected=True))

_TRIES = 100  # draws of a graph family before giving up on a connected one
# The paper's graphs have 32 nodes; drawing and ordering 10**4 takes about a second, while 10**7
# would run for hours before any check could fail.
MAX_NODES = 10_000
# Learned numbers a network may have: 2**30 float32 values are 4 GiB, before their gradients and
# the optimizer's state; more is a typo (--width 1000000), not a network to train here.
MAX_PARAMETERS = 2**30


def check_n_nodes(n_nodes: Any) -> int:
    """``n_nodes`` as an int in ``2 .. MAX_NODES``; ValueError naming it otherwise."""
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, (int, np.integer)) \
            or not 2 <= n_nodes <= MAX_NODES:
        raise ValueError(f"n_nodes must be an integer in 2..{MAX_NODES}, got {n_nodes!r}")
    return int(n_nodes)


def random_dag(graph: str, n_nodes: int, rng: int | np.random.Generator | None = None,
               **graph_params: Any) -> list[tuple[int, int]]:
    """The edges ``(i, j)``, ``i < j``, of a connected random graph on nodes ``0 .. n_nodes-1``.

    Args:
        graph: "ws", "er" or "ba" (the ``GRAPHS`` registry).
        n_nodes: number of nodes (2..``MAX_NODES``; Watts-Strogatz needs > k, Barabasi-Albert > m).
        rng: seed or generator; the same seed gives the same edges.
        graph_params: the family's parameters (``k``, ``p`` for ws; ``p`` for er; ``m`` for ba),
            defaulting to the paper's WS(4, 0.75), ER(0.2), BA(5).

    Raises:
        ValueError: an unknown family or parameter, a parameter outside its range, or no connected
            graph in 100 draws (say, ER with a small p).
    """
    family = GRAPHS.get(graph)
    n = check_n_nodes(n_nodes)
    unknown = sorted(set(graph_params) - set(family.defaults))
    if unknown:
        raise ValueError(f"{family.title} graphs take parameters {list(family.defaults)}, got "
                         f"unknown {unknown}")
    params = family.check(n, {**family.defaults, **graph_params})
    import networkx as nx  # only here: importing warpnet.nn does not need networkx

    generator = backend.as_generator(rng)
    for _ in range(_TRIES):
        g = family.draw(nx, n, params, int(generator.integers(2**31 - 1)))
        if family.always_connected or nx.is_connected(g):
            return sorted((min(a, b), max(a, b)) for a, b in g.edges())
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    raise ValueError(f"{family.title}(n_nodes={n}, {shown}) gave no connected graph in {_TRIES} "
                     "draws; raise the edge density (p, k or m) or the number of nodes")


def randomly_wired(in_features: int, out_features: int, graph: str = "ws", n_nodes: int = 32,
                   width: int = 64, seed: int | np.random.Generator | None = None,
                   dtype: Any = "float32", norm: str | None = None, **graph_params: Any) -> Graph:
    """A randomly wired fully-connected network, as a ``Graph``.

    Args:
        in_features: input width D.
        out_features: number of scores C.
        graph: random-graph family, "ws" (Watts-Strogatz), "er" (Erdos-Renyi) or "ba"
            (Barabasi-Albert).
        n_nodes: nodes of the random graph (each a ``WiredNode`` of ``width`` units).
        width: the width W of every node.
        seed: seed or generator for the graph and the weights: the same seed gives the same graph
            and the same weights.
        dtype: "float32" or "float64".
        norm: None, "batch" or "layer": a normalisation layer after each node's Linear.
        graph_params: ``k``, ``p`` (ws, default 4, 0.75), ``p`` (er, default 0.2), ``m`` (ba,
            default 5).

    Returns:
        A ``Graph`` with nodes "input" (``Linear(D, W)``), "0" .. "n_nodes-1" (``WiredNode``),
        "output" (``Mean`` of the nodes without successors) and "classifier"
        (``Sequential(ReLU, Linear(W, C))``).  Shape: x (N, D) -> scores (N, C).

    Raises:
        ValueError: a size that is not a positive integer, ``n_nodes`` outside 2..``MAX_NODES``,
            more than ``MAX_PARAMETERS`` parameters, a bad dtype, an unknown graph family or
            parameter, a parameter outside its range, no connected graph found.
        ImportError: networkx is not installed (``pip install warpnet[graphs]``).
    """
    in_features = _check_size("in_features", in_features)
    out_features = _check_size("out_features", out_features)
    width = _check_size("width", width)
    dtype = _check_dtype(dtype)
    if norm is not None and norm not in NORMS:
        raise ValueError(f"norm must be None or one of {', '.join(NORMS)}, got {norm!r}")
    n = check_n_nodes(n_nodes)
    # every node's Linear is width x width: count before drawing or allocating anything
    estimate = (in_features + 1) * width + n * (width + 1) * width + (width + 1) * out_features
    if estimate > MAX_PARAMETERS:
        raise ValueError(f"width={width} with n_nodes={n} gives about {estimate:.3g} parameters, more "
                         f"than the {MAX_PARAMETERS:.3g} (4 GiB of float32) a network may have; "
                         "use a smaller width or fewer nodes")
    rng = backend.as_generator(seed)
    try:
        dag = random_dag(graph, n, rng, **graph_params)
    except ImportError:
        raise ImportError("randomly_wired needs networkx; install it with "
                          "`pip install warpnet[graphs]` (or `pip install networkx`)") from None
    preds: list[list[int]] = [[] for _ in range(n)]
    has_succ = [False] * n
    for a, b in dag:
        preds[b].append(a)
        has_succ[a] = True
    nodes: dict[str, Any] = {"input": Linear(in_features, width, rng=rng, dtype=dtype)}
    edges: list[tuple[str, str]] = []
    for j in range(n):
        nodes[str(j)] = WiredNode(max(1, len(preds[j])), width, rng=rng, dtype=dtype, norm=norm)
        edges += [(str(i), str(j)) for i in preds[j]] if preds[j] else [("input", str(j))]
    sinks = [str(j) for j in range(n) if not has_succ[j]]
    nodes["output"] = Mean(len(sinks))
    edges += [(s, "output") for s in sinks]
    # The classifier starts ten times smaller, so a fresh network predicts nearly uniform scores.
    small = initializers.INITIALIZERS.get("he")(gain=0.1)
    nodes["classifier"] = Sequential(ReLU(), Linear(width, out_features, init=small, rng=rng,
                                                    dtype=dtype))
    edges.append(("output", "classifier"))
    return Graph(nodes, edges, inputs=["input"], outputs=["classifier"])


def count_parameters(module: Any) -> int:
    """The number of learned numbers in a module."""
    return sum(int(np.prod(p.shape)) for p in module.parameters())
