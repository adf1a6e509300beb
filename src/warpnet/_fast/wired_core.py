"""The wired nodes of a graph as one compiled call per pass: the "core" of ``graph.GraphStep``.

A randomly wired net of width 64 spends more time walking its 32 nodes in Python (some fifteen
NumPy and compiled calls per node and pass, a few microseconds each) than in their matrix
products (256 x 64 x 64: about 15 us each).  ``WiredCore`` runs all the wired nodes of a graph,
forward and then backward, in one call of ``_wired_kernels`` each: the same weighted sums, ReLUs
and products (NumPy's own BLAS, called from the compiled loop), in the same order within each
node, with no Python between the nodes.  Called with the GIL released, it runs on blocks of the
batch's rows at once, one thread each, where BLAS has threads to lend (``GraphStep.lanes_for``).

Its members are the ``WiredNode``s without normalisation whose ``Linear`` is square, of one width
W (the first such node's).  It applies where no module sits at two nodes and no other node lies
between two members (downstream of one and upstream of another): the graph is then "the nodes
before the core, the core, the nodes after it", a topological order in which the core is one
step.  Otherwise (a Linear between two wired nodes, say) ``find_core`` answers None and every
node runs on its own, as before.  Gradients of a value read both inside and outside the core are
added up in another order than the plain step's (outside first): equal within rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _numba, nn
from ._graph_kernels import ADD, DOT_ONLY, WRITE

__all__ = ["WiredCore", "find_core"]

_COMPILED = "warpnet._fast._wired_kernels"  # the compiled passes (None where they do not run)


def _kernels() -> Any:
    """The compiled passes (``find_core`` made a core only where they run)."""
    module = _numba.kernels(_COMPILED)
    if module is None:
        raise RuntimeError("the wired core's compiled passes are not available")
    return module

# Narrow nodes run on blocks of rows: every node on 128 rows, then the next 128 (their values stay
# in cache from one node to the next).  Measured on one core, WS(32 nodes), the core's two passes against its
# 96 products on the whole batch: width 64, 256 rows: 1.23x in blocks of 128 rows, 1.31-1.41x in
# one block; 512 rows: 1.19x and 1.27x.  Wider nodes lose by it (width 128, 256 rows: 1.23x in
# blocks of 128, 1.14x in one block; width 256: 1.23x and 1.13x): they run in one block.
BLOCK_ROWS = 128
BLOCKED_WIDTH = 64  # the widest nodes that run in blocks of rows


def _eligible(node: Any, width: int | None) -> bool:
    """Whether a plan node is a wired node the core runs: no normalisation, a square Linear of
    ``width`` (any width if None) with a bias of that width or none."""
    module = node.module
    if type(module) is not nn.WiredNode or module.norm is not None:
        return False
    linear = module.linear
    if type(linear) is not nn.Linear:
        return False
    w = linear.weight.value
    if w.ndim != 2 or w.shape[0] != w.shape[1] or (width is not None and w.shape[0] != width):
        return False
    return linear.bias is None or tuple(linear.bias.value.shape) == (w.shape[0],)


def find_core(nodes: list[Any], wired_kind: type, outputs: list[int]) -> WiredCore | None:
    """The core of a lane's plan ``nodes`` (topological order; ``wired_kind`` the plan class of
    wired nodes), or None where it does not apply (see the module's notes) or its compiled
    passes do not run."""
    if _numba.kernels(_COMPILED) is None:
        return None
    candidates: list[Any] = [n for n in nodes if isinstance(n, wired_kind) and _eligible(n, None)]
    if not candidates:
        return None
    width = candidates[0].module.linear.weight.value.shape[0]
    members = [n for n in candidates if _eligible(n, width)]
    modules = [id(n.module) for n in nodes]
    if len(set(modules)) != len(modules):
        return None
    inside = {n.index for n in members}
    upstream = _upstream(nodes, inside)
    downstream = set(inside)  # members and every node that depends on some member
    for node in nodes:
        if any(p in downstream for p in node.preds):
            downstream.add(node.index)
    if any(n.index not in inside and n.index in upstream and n.index in downstream for n in nodes):
        return None
    return WiredCore(members, nodes, width, outputs)


def _upstream(nodes: list[Any], start: set[int]) -> set[int]:
    """The indices ``start`` and every node they depend on (``nodes`` in topological order)."""
    found = set(start)
    for node in reversed(nodes):
        if node.index in found:
            found.update(node.preds)
    return found


class WiredCore:
    """The core's plan (slots, edges, the backward pass's modes) and its two passes, as a step of
    a lane's walk (``run_forward``, ``run_backward``; see ``graph._Lane``).

    ``before`` and ``after``: the lane's other nodes, those the core depends on (in topological
    order) and the rest, so that ``before + [core] + after`` is the lane's walk."""

    def __init__(self, members: list[Any], nodes: list[Any], width: int, outputs: list[int]
                 ) -> None:
        self.members = members
        self.width = width
        inside = {n.index: m for m, n in enumerate(members)}
        consumers_outside = {j for n in nodes if n.index not in inside for j in n.preds}
        # Slots: the members' outputs, then each value read from outside (None: the graph's x).
        self.external: list[int | None] = []
        slot_of: dict[int | None, int] = {}
        first_edge, edge_slot, edge_sig, sources = [0], [], [], []
        for node in members:
            for k, j in enumerate(node.sources):
                if j in inside:
                    slot = inside[j]
                else:
                    if j not in slot_of:
                        slot_of[j] = len(members) + len(self.external)
                        self.external.append(j)
                    slot = slot_of[j]
                edge_slot.append(slot)
                edge_sig.append(node.weights.start + k)
                sources.append(j)
            first_edge.append(len(edge_slot))
        self.n_slots = len(members) + len(self.external)
        self.external_slots = [slot_of[j] for j in self.external]
        # Members whose gradient comes (also) from outside: consumed by another node, or an output.
        self.fed = [m for m, n in enumerate(members)
                    if n.index in consumers_outside or n.index in outputs]
        # The backward pass's mode per edge, walking the members in reverse: a slot's first
        # contribution is written, the next ones added; x's gradient is not wanted.
        filled = set(self.fed)
        modes = [0] * len(edge_slot)
        for m in range(len(members) - 1, -1, -1):
            for e in range(first_edge[m], first_edge[m + 1]):
                slot = edge_slot[e]
                if sources[e] is None:
                    modes[e] = DOT_ONLY
                elif slot in filled:
                    modes[e] = ADD
                else:
                    modes[e] = WRITE
                    filled.add(slot)
        self.first_edge, self.edge_slot, self.edge_sig, self.edge_mode, self.out_slot = (
            np.asarray(v, dtype=np.int64)
            for v in (first_edge, edge_slot, edge_sig, modes, range(len(members))))
        self.parameters = [(n.module.linear.weight, n.module.linear.bias, n.module.aggregate.weight)
                           for n in members]
        depends = _upstream(nodes, set(inside))
        self.before = [n for n in nodes if n.index in depends and n.index not in inside]
        self.after = [n for n in nodes if n.index not in depends]
        # Computed for the step's flat arrays (``graph._FlatParameters``), kept with them.
        self._locs: tuple[Any, np.ndarray] | None = None
        self._ranges: tuple[Any, np.ndarray] | None = None
        self.rows = self.block = 0  # of the last forward pass: its rows, the rows of a block

    def locations(self, flat: Any) -> np.ndarray:
        """(M, 3, 2): (group, start) of each member's weight, bias (group -1: none) and merge
        weights in the step's flat arrays ``flat`` (``graph._FlatParameters``), kept per ``flat``."""
        if self._locs is None or self._locs[0] is not flat:
            locs = np.full((len(self.members), 3, 2), -1, dtype=np.int64)
            for m, params in enumerate(self.parameters):
                for i, p in enumerate(params):
                    if p is not None:
                        locs[m, i] = flat.where(p)
            self._locs = (flat, locs)
        return self._locs[1]

    def ranges(self, flat: Any) -> np.ndarray:
        """(n, 3): the members' parameters as (group, start, stop) ranges of the flat arrays
        ``flat``, adjacent ranges merged (a wired net's weights are one range, its merge weights
        and biases another), kept per ``flat``."""
        if self._ranges is None or self._ranges[0] is not flat:
            parts = sorted((group, start, start + int(p.value.size))
                           for params in self.parameters for p in params if p is not None
                           for group, start in [flat.where(p)])
            merged: list[list[int]] = []
            for group, start, stop in parts:
                if merged and merged[-1][0] == group and merged[-1][2] == start:
                    merged[-1][2] = stop
                else:
                    merged.append([group, start, stop])
            self._ranges = (flat, np.asarray(merged, dtype=np.int64).reshape(-1, 3))
        return self._ranges[1]

    def add_gradients(self, into: tuple[np.ndarray, ...], other: tuple[np.ndarray, ...],
                      flat: Any) -> None:
        """Add another block's gradients of the members' parameters into ``into`` (flat arrays
        laid out as ``flat``'s), in one compiled call."""
        _kernels().add_ranges(into, other, self.ranges(flat))

    def _buffers(self, lane: Any, rows: int) -> tuple[np.ndarray, ...]:
        shape = (rows, self.width)
        return (lane._buffer(("core", "acts"), (self.n_slots, *shape)),
                lane._buffer(("core", "relu"), (len(self.members), *shape)),
                lane._buffer(("core", "grads"), (self.n_slots, *shape)))

    def _parts(self, lane: Any) -> list[tuple[int, int]]:
        """The blocks of rows the passes run on at once (``lane.core_split`` of them), each a
        whole number of blocks of ``self.block`` rows where it can be."""
        n = max(1, min(lane.core_split, self.rows))
        if n == 1:
            return [(0, self.rows)]
        step = -(-self.rows // n)
        if step > self.block:
            step = -(-step // self.block) * self.block
        ends = [min(self.rows, k * step) for k in range(n + 1)]
        return [(a, b) for a, b in zip(ends[:-1], ends[1:], strict=True) if b > a]

    def run_forward(self, lane: Any, values: list[Any], x: np.ndarray) -> None:
        """Copy the values read from outside into their slots, run the members, and leave each
        member's output (a view of its slot) in ``values``."""
        rows = self.rows = x.shape[0]
        self.block = BLOCK_ROWS if self.width <= BLOCKED_WIDTH else max(rows, 1)
        acts, hs, _ = self._buffers(lane, rows)
        for j, slot in zip(self.external, self.external_slots, strict=True):
            v = x if j is None else values[j]
            if getattr(v, "shape", None) != (rows, self.width):
                reader = next(n for n in self.members if j in n.sources)
                raise ValueError(f"node {reader.name!r}: the inputs of a weighted sum must have one "
                                 f"shape, got {(rows, self.width)} and {tuple(np.shape(v))}")
            np.copyto(acts[slot], v)
        args = (acts, hs, lane._sigmoids, self.first_edge, self.edge_slot, self.edge_sig,
                self.out_slot, lane.flat_values, self.locations(lane.flat), self.block)
        parts = self._parts(lane)
        forward = _kernels().forward
        if len(parts) == 1:
            forward(*args, 0, rows)
        else:
            lane.at_once(lambda k: forward(*args, *parts[k]), len(parts))
        for m, node in enumerate(self.members):
            values[node.index] = acts[m]

    def run_backward(self, lane: Any, grads: Any) -> None:
        """Put the members' gradients from outside into their slots, run the members in reverse
        order, and hand each value read from outside its gradient (a view of its slot)."""
        acts, hs, dacts = self._buffers(lane, self.rows)
        for m in self.fed:
            g, owned = grads.take(self.members[m].index)
            if g is None:
                dacts[m].fill(0)
            else:
                np.copyto(dacts[m], g)
                if owned:
                    grads.release(g)
        parts = self._parts(lane)
        # Each part writes the members' gradients for its rows into flat arrays of its own (the
        # first: the parameters' own), added up afterwards.
        flats = [lane.flat_grads, *lane.more_flat_grads[: len(parts) - 1]]
        dhs = [lane._buffer(("core", "dh", k), (min(self.block, b - a), self.width))
               for k, (a, b) in enumerate(parts)]
        args = (acts, hs, dacts)
        rest = (lane._sigmoids, self.first_edge, self.edge_slot, self.edge_sig, self.edge_mode,
                self.out_slot, lane.flat_values)
        locs, backward = self.locations(lane.flat), _kernels().backward
        if len(parts) == 1:
            backward(*args, dhs[0], *rest, flats[0], locs, self.block, 0, self.rows)
        else:
            lane.at_once(lambda k: backward(*args, dhs[k], *rest, flats[k], locs, self.block,
                                            *parts[k]), len(parts))
            for other in flats[1:]:
                self.add_gradients(flats[0], other, lane.flat)
        for j, slot in zip(self.external, self.external_slots, strict=True):
            if j is not None:
                grads.add(j, dacts[slot])
