"""``Graph``: modules wired as any directed acyclic graph, backpropagation on a computational graph.

Forward runs the nodes in topological order; backward runs them in reverse, and where a node's
output feeds several consumers (fan-out) the gradients coming back along each edge are summed:
the chain rule of the lecture, applied one node at a time.

A node with several predecessors receives their sum, unless its module is a ``Merge`` (a module
with several inputs, such as the weighted sum of a randomly wired network), which receives the
list of its inputs in the order their edges are listed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..backend import Array, array_namespace
from .module import Module


class Merge(Module):
    """A module with ``n_inputs`` inputs: ``forward_many(xs)`` and ``backward_many(dout)``.

    ``forward(x)``/``backward(dout)`` are the one-input case, so a one-input merge can stand
    anywhere a module can.  Subclasses set ``n_inputs`` and implement the two ``_many`` methods.
    """

    n_inputs: int = 1
    preserves_width: bool = False  # True when the output has the inputs' width (sums, means)

    def forward_many(self, xs: Sequence[Array]) -> Array:
        """``xs``: ``n_inputs`` arrays of one shape (N, D) -> output (N, M)."""
        raise NotImplementedError

    def backward_many(self, dout: Array, need_dx: bool = True) -> list[Array] | None:
        """Gradients with respect to each input, in the order of ``xs`` (None if not ``need_dx``)."""
        raise NotImplementedError

    def forward(self, x: Array) -> Array:
        if self.n_inputs != 1:
            raise ValueError(f"{self!r} takes {self.n_inputs} inputs; call forward_many")
        return self.forward_many([x])

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        dxs = self.backward_many(dout, need_dx)
        return None if dxs is None else dxs[0]


def _check_names(what: str, names: Any, known: Mapping[str, Module]) -> list[str]:
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise ValueError(f"{what} must be a non-empty list of node names, got {names!r}")
    out = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{what} must list node names (strings), got {type(name).__name__} "
                            f"{name!r}")
        if name not in known:
            raise ValueError(f"{what} names an unknown node {name!r}; nodes are {list(known)}")
        if name in out:
            raise ValueError(f"{what} lists node {name!r} twice")
        out.append(name)
    return out


def _find_cycle(remaining: set[str], pred: Mapping[str, list[str]]) -> list[str]:
    """One cycle among ``remaining``, the nodes Kahn's algorithm could not order, in edge order.

    Each of them has a predecessor among them (the one that kept it waiting), so walking back
    along predecessors never stops and must come round to a node already on the path; walking
    forward could end at a node downstream of a cycle that has no successor left.
    """
    start = min(remaining)
    path, seen = [start], {start: 0}
    while True:
        back = next(p for p in pred[path[-1]] if p in remaining)
        if back in seen:
            return (path[seen[back]:] + [back])[::-1]
        seen[back] = len(path)
        path.append(back)


# Modules that keep the width of their input (elementwise maps, dropout), by class name.
_WIDTH_PRESERVING = {"ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softplus", "ELU", "Dropout", "GELU",
                     "SiLU", "BatchNorm1d", "LayerNorm"}


def widths(module: Module) -> tuple[int | None, int | None, bool]:
    """``(in_width, out_width, preserves)`` of a module, as far as it declares them.

    ``preserves`` is True for modules whose output has their input's width (activations);
    ``None`` means unknown.  Used for the shape checks at construction.
    """
    if isinstance(module, Graph):
        return module.in_features, module.out_features, False
    if type(module).__name__ in _WIDTH_PRESERVING or getattr(module, "preserves_width", False):
        return None, None, True
    layers = getattr(module, "layers", None)
    if isinstance(layers, list) and all(isinstance(m, Module) for m in layers):  # a Sequential
        first_in: int | None = None
        width: int | None = None
        known = True  # False once the width flowing through is unknown
        preserves = True
        for layer in layers:
            lin, lout, lpres = widths(layer)
            if preserves and lin is not None:
                first_in = lin
            if lpres:
                continue
            preserves = False
            width, known = (lout, lout is not None)
        if preserves:
            return None, None, True
        return first_in, width if known else None, False
    i, o = getattr(module, "in_features", None), getattr(module, "out_features", None)
    return (i if isinstance(i, int) else None), (o if isinstance(o, int) else None), False


class Graph(Module):
    """Modules wired as a directed acyclic graph; one input array, one output array.

    Args:
        nodes: ``{name: module}`` (names are non-empty strings without ".") or a list of modules,
            named "0", "1", ...
        edges: ``(source, target)`` pairs of node names: the output of ``source`` feeds
            ``target``.  A node with several incoming edges receives their sum, or, if it is a
            ``Merge``, the list of them in the order the edges are listed here.
        inputs: the nodes that receive the graph's input x (they have no incoming edges).
        outputs: the nodes whose outputs the graph returns; several are concatenated along the
            feature axis, in this order.

    Shape:
        x: (N, D) -> (N, M), M the sum of the outputs' widths.  ``backward(dout)`` takes (N, M)
        and returns dx (N, D): the sum of the gradients reaching x through every input node.

    Raises:
        ValueError: at construction, naming the node: an edge to or from an unknown node, a
            duplicated edge, a cycle (its nodes are listed), a node neither an input nor the target
            of an edge, a node from which no output can be reached, an input node with incoming
            edges, a node whose inputs have different widths or whose module expects another
            width, a ``Merge`` whose ``n_inputs`` is not its number of incoming edges.
        TypeError: a node that is not a ``Module``; an edge end, input or output that is not a
            node name (a string).
    """

    def __init__(self, nodes: Mapping[str, Module] | Sequence[Module],
                 edges: Sequence[tuple[str, str]], inputs: Sequence[str],
                 outputs: Sequence[str]) -> None:
        if isinstance(nodes, Mapping):
            named = dict(nodes)
        elif isinstance(nodes, Sequence) and not isinstance(nodes, str):
            named = {str(i): m for i, m in enumerate(nodes)}
        else:
            raise TypeError(f"nodes must be a dict of name -> Module or a list of Modules, "
                            f"got {type(nodes).__name__}")
        if not named:
            raise ValueError("nodes must hold at least one module, got none")
        for name, module in named.items():
            if not isinstance(name, str) or not name or "." in name:
                raise ValueError(f"node names must be non-empty strings without '.', got {name!r}")
            if not isinstance(module, Module):
                raise TypeError(f"node {name!r} must be a Module, got {type(module).__name__}")
        self.nodes: dict[str, Module] = named
        self.inputs = _check_names("inputs", inputs, named)
        self.outputs = _check_names("outputs", outputs, named)
        self.edges = self._check_edges(edges)
        pred: dict[str, list[str]] = {n: [] for n in named}
        succ: dict[str, list[str]] = {n: [] for n in named}
        for a, b in self.edges:
            succ[a].append(b)
            pred[b].append(a)
        self.order = self._topological_order(pred, succ)
        self._check_connected(pred, succ)
        self.in_features, self.out_features = self._check_widths(pred)
        # The plan: one tuple per node in topological order, holding indices, not names, so that
        # a step does no dictionary look-ups.
        index = {n: i for i, n in enumerate(self.order)}
        # (index, module, predecessors' indices, whether a Merge, whether it reads x)
        self._plan: list[tuple[int, Any, list[int], bool, bool]] = [
            (index[n], named[n], [index[p] for p in pred[n]], isinstance(named[n], Merge),
             n in self.inputs) for n in self.order]
        self._out_index = [index[n] for n in self.outputs]
        self._out_widths: list[int] | None = None

    # -- construction checks ----------------------------------------------------------------
    def _check_edges(self, edges: Any) -> list[tuple[str, str]]:
        if isinstance(edges, str) or not isinstance(edges, Sequence):
            raise ValueError(f"edges must be a list of (source, target) pairs, got {edges!r}")
        out: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for edge in edges:
            if isinstance(edge, str | bytes) or not isinstance(edge, Sequence) or len(edge) != 2:
                raise ValueError(f"each edge must be a (source, target) pair, got {edge!r}")
            a, b = edge
            for end in (a, b):
                if not isinstance(end, str):
                    raise TypeError(f"edge ({a!r}, {b!r}): node names are strings, got "
                                    f"{type(end).__name__} {end!r}")
                if end not in self.nodes:
                    raise ValueError(f"edge ({a!r}, {b!r}) names an unknown node {end!r}; "
                                     f"nodes are {list(self.nodes)}")
            if (a, b) in seen:
                raise ValueError(f"edge ({a!r}, {b!r}) is listed twice")
            if b in self.inputs:
                raise ValueError(f"input node {b!r} has an incoming edge from {a!r}; input nodes "
                                 "receive the graph's input only")
            seen.add((a, b))
            out.append((a, b))
        return out

    def _topological_order(self, pred: dict[str, list[str]], succ: dict[str, list[str]]) -> list[str]:
        """Kahn's algorithm; ties keep the order in which the nodes were given."""
        missing = {n: len(p) for n, p in pred.items()}
        ready = deque(n for n in self.nodes if missing[n] == 0)
        order: list[str] = []
        while ready:
            n = ready.popleft()
            order.append(n)
            for s in succ[n]:
                missing[s] -= 1
                if missing[s] == 0:
                    ready.append(s)
        if len(order) < len(self.nodes):
            cycle = _find_cycle({n for n in self.nodes if missing[n] > 0}, pred)
            raise ValueError("the edges must form a directed acyclic graph, but they contain the "
                             f"cycle {' -> '.join(map(repr, cycle))}")
        return order

    def _check_connected(self, pred: dict[str, list[str]], succ: dict[str, list[str]]) -> None:
        for n in self.order:
            if not pred[n] and n not in self.inputs:
                raise ValueError(f"node {n!r} has no input: it is neither in inputs nor the target "
                                 "of an edge")
        reaches = set(self.outputs)
        for n in reversed(self.order):
            if any(s in reaches for s in succ[n]):
                reaches.add(n)
        for n in self.order:
            if n not in reaches:
                raise ValueError(f"node {n!r} reaches no output: its result would be unused "
                                 f"(outputs are {self.outputs})")
        for n in self.order:
            module = self.nodes[n]
            if isinstance(module, Merge):
                k = len(pred[n]) + (n in self.inputs)
                if module.n_inputs != k:
                    raise ValueError(f"node {n!r} is a merge of {module.n_inputs} inputs, but "
                                     f"{k} edges lead into it")

    def _check_widths(self, pred: dict[str, list[str]]) -> tuple[int | None, int | None]:
        """Propagate the known widths through the graph; return (in_features, out_features)."""
        claims = {n: widths(self.nodes[n])[0] for n in self.inputs}
        known_in = {w for w in claims.values() if w is not None}
        if len(known_in) > 1:
            raise ValueError(f"the input nodes expect different widths: {claims}")
        in_features = known_in.pop() if known_in else None
        width: dict[str, int | None] = {}
        for n in self.order:
            incoming = {p: width[p] for p in pred[n]}
            if n in self.inputs:
                incoming["<input>"] = in_features
            known = {w for w in incoming.values() if w is not None}
            if len(known) > 1:
                listed = ", ".join(f"{p!r}: {w}" for p, w in incoming.items())
                raise ValueError(f"node {n!r} has inputs of different widths ({listed}); "
                                 "the inputs of a node must have one width")
            w_in = known.pop() if known else None
            expects, gives, preserves = widths(self.nodes[n])
            if expects is not None and w_in is not None and expects != w_in:
                raise ValueError(f"node {n!r} ({self.nodes[n]!r}) expects inputs of width "
                                 f"{expects}, but its inputs have width {w_in}")
            width[n] = w_in if preserves else gives
        outs = [width[n] for n in self.outputs]
        return in_features, (sum(outs) if all(w is not None for w in outs) else None)  # type: ignore

    # -- structure ----------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self.nodes.items()

    def predecessors(self, name: str) -> list[str]:
        """The nodes feeding ``name``, in the order of the edge list (a merge's input order)."""
        return [a for a, b in self.edges if b == name]

    def depths(self) -> dict[str, int]:
        """Each node's depth: the length of the longest path to it from an input node."""
        pred: dict[str, list[str]] = {n: [] for n in self.nodes}
        for a, b in self.edges:  # once: predecessors() per node would cost nodes x edges
            pred[b].append(a)
        depth: dict[str, int] = {}
        for n in self.order:
            depth[n] = max((depth[p] + 1 for p in pred[n]), default=0)
        return depth

    # -- forward / backward -------------------------------------------------------------------
    def forward(self, x: Array) -> Array:
        values: list[Any] = [None] * len(self._plan)
        for i, module, preds, merge, takes_x in self._plan:
            ins = [x] if takes_x else []
            ins += [values[p] for p in preds]
            if merge:
                values[i] = module.forward_many(ins)
                continue
            h = ins[0]
            for extra in ins[1:]:  # several inputs into a plain module: their sum
                h = h + extra
            values[i] = module.forward(h)
        results = [values[i] for i in self._out_index]
        self._out_widths = [int(r.shape[1]) for r in results]
        if len(results) == 1:
            return results[0]
        return array_namespace(x).concat(results, axis=1)  # (N, M1 + M2 + ...)

    def backward(self, dout: Array, need_dx: bool = True) -> Array | None:
        if self._out_widths is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        if dout.ndim != 2 or dout.shape[1] != sum(self._out_widths):
            raise ValueError(f"Graph backward: dout must have shape (N, {sum(self._out_widths)}), "
                             f"got {tuple(dout.shape)}")
        grads: list[Any] = [None] * len(self._plan)
        owned: set[int] = set()  # gradients this method allocated, safe to add into in place

        def add(j: int, g: Array) -> None:
            if grads[j] is None:
                grads[j] = g  # maybe another module's array (or dout): never written into
            elif j in owned:
                grads[j] += g
            else:
                grads[j] = grads[j] + g
                owned.add(j)

        start = 0
        for i, w in zip(self._out_index, self._out_widths, strict=True):
            add(i, dout if len(self._out_index) == 1 else dout[:, start:start + w])
            start += w
        dx: Any = None
        for i, module, preds, merge, takes_x in reversed(self._plan):
            g, grads[i] = grads[i], None
            wants = bool(preds) or (takes_x and need_dx)
            if merge:
                dins = module.backward_many(g, need_dx=wants)
            else:
                d = module.backward(g, need_dx=wants)
                dins = None if d is None else [d] * (len(preds) + takes_x)
            if dins is None:
                continue
            if takes_x:
                if need_dx:
                    dx = dins[0] if dx is None else dx + dins[0]
                dins = dins[1:]
            for p, d in zip(preds, dins, strict=True):
                add(p, d)
        return dx

    # -- saving -------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"type": "Graph",
                "nodes": {n: m.get_config() for n, m in self.nodes.items()},
                "edges": [[a, b] for a, b in self.edges],
                "inputs": list(self.inputs), "outputs": list(self.outputs)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Graph:
        """Rebuild from ``get_config()``; the edges are checked again (cycles, unknown nodes)."""
        from . import build

        if not isinstance(config, dict):
            raise ValueError(f"Graph config must be a dict, got {type(config).__name__}")
        nodes = config.get("nodes")
        if not isinstance(nodes, dict):
            raise ValueError("Graph config needs a dict 'nodes' of name -> layer config")
        edges = config.get("edges")
        if not isinstance(edges, list):
            raise ValueError("Graph config needs a list 'edges' of [source, target] pairs")
        inputs, outputs = config.get("inputs"), config.get("outputs")
        if not isinstance(inputs, list) or not isinstance(outputs, list):
            raise ValueError("Graph config needs lists 'inputs' and 'outputs' of node names")
        return cls({name: build(c) for name, c in nodes.items()}, [tuple(e) if isinstance(e, list)
                   else e for e in edges], inputs, outputs)

    def extra_repr(self) -> str:
        return f"{len(self.nodes)} nodes, {len(self.edges)} edges"
