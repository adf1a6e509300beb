"""The compiled training step of a ``Graph`` (a randomly wired network, say) on NumPy.

``compile_graph_step(model, loss, optimizer, penalty)`` returns a ``GraphStep`` for a ``Graph``
with NumPy parameters and the losses, optimizers and penalties that ``step.compile_step`` knows,
or None (then ``make_step`` runs the plain step).  It walks the graph as ``Graph.forward`` and
``Graph.backward`` do -- the nodes in topological order, then in reverse, the gradients of a node
with several consumers summed in the same order -- and computes the same numbers with fewer passes
over memory and no new arrays from step to step:

- a ``WiredNode`` (``Linear(ReLU(sum_i sigmoid(w_i) x_i))``): the weighted sum is one compiled
  pass per input into a buffer, ReLU applied in the last pass; ``x @ W`` goes into a buffer.  Its
  backward writes ``dW = h^T dout`` and ``db = 1^T dout`` straight into the gradients' buffers and
  ``dh = dout W^T`` into one buffer shared by all wired nodes; then one compiled pass per input
  (the first also applying ReLU's mask to dh) adds ``sigmoid(w_i) dh`` into that input's gradient
  buffer (fan-out summed in place) and sums ``<dh, x_i>`` for
  ``dL/dw_i = sigmoid(w_i) (1 - sigmoid(w_i)) <dh, x_i>``;
- a ``Linear`` node and the ``Linear`` layers and ReLUs of a ``Sequential`` node: the same
  products into buffers; a ``Mean``: sums in place into a buffer;
- any other node runs its module's own ``forward``/``backward`` (a normalisation after a wired
  node's Linear too), its gradients added into the buffers as above;
- the gradients being summed live in buffers taken from a pool and given back once their node
  has used them, so few of them are in use (and in cache) at a time;
- the loss is that of ``step.CompiledStep``; for the update, the parameters' values, gradients
  and optimizer states are gathered into flat arrays (``Parameter.value`` becomes a view into
  one, with the same values), one group for the regularized parameters and one for the others,
  and each group is one compiled loop of the optimizer's rule (``fused``).

The plan -- each node's kind, its predecessors' indices, whether it reads x -- is built once, at
construction.  numba is required (the weighted sums' loops); without it the plain step runs.

The core.  Where the graph allows it (``wired_core.find_core``: every wired node without
normalisation, of one width, with no other node between two of them), all its wired nodes run as
one compiled call per pass (``wired_core.WiredCore``, loops in ``_wired_kernels``): the same sums,
ReLUs and products (NumPy's own BLAS, called from the compiled loop) without a Python call per
node, which at width 64 cost more than the node's products.  The walk is then the nodes the core
reads from, the core, the rest; the other nodes run as described above.  Such a graph is not split
into lanes: its one walk keeps BLAS's threads for the other nodes' products, and only the core
runs on blocks of rows at once, one thread each (``_Lane.at_once``; ``MIN_CORE_LANE_WORK``), each
block's gradients added up by one compiled call.

Lanes. Only BLAS's products use a second core, and they get ~1.6x faster on two threads while the
rest of the step (weighted sums, ReLU masks, bias sums, the walk over the nodes) stays on one. So
where BLAS has two or more threads to lend, the step splits the batch's rows into blocks
(``MIN_LANE_WORK`` multiply-adds or more per node and block) and runs the forward and the backward
pass of each block at once, one thread each (``threads.run``), with BLAS set to one thread for
that time (``blas.set_num_threads``) and its idle workers let go: every pass runs on every core,
and no more threads compute than there are cores. Each block is a ``_Lane`` (its own node objects,
buffers and gradient arrays); the loss sees the whole batch's scores between the two passes (its
mean over the whole batch, its checks); the lanes' gradients of each layer are added into the
parameters' ``.grad`` by the lane that writes them last (``_Summer``), while they are in cache, so
``.grad`` is complete when ``gradients`` returns (what the ``Trainer``'s callbacks and gradient
clipping read before ``update``). The sums of rows are then added up in another order: results
equal the plain step's within rounding. This applies only where every node is one the step
computes itself without the module's own forward/backward (``Linear``, ``Mean``, a ``WiredNode``
without normalisation, a ``Sequential`` of ``Linear`` and ``ReLU`` layers) and no module sits at
two nodes: such a module keeps its input for its backward in itself, where lanes would overwrite
each other's, and ``BatchNorm1d`` couples the rows through its batch statistics. ``Dropout`` is
among the excluded modules (its masks come from its own generator, drawn for the whole batch).
"""

from __future__ import annotations

import operator
import threading
from typing import Any

import numpy as np

from .. import _numba, nn, optim
from ..backend import Array
from ..nn.wired import _sigmoid
from . import blas, fused, wired_core
from . import threads as _threads
from .step import CompiledStep, _compiled_update, compilable_training, reused_buffer

__all__ = ["GraphStep", "compile_graph_step"]

_DOT_ONLY, _WRITE, _ADD = 0, 1, 2  # the modes of _graph_kernels.weighted_input_backward

# The least work a lane gets, in multiply-adds of the forward products per node (its rows times
# the mean number of weights of a node; see ``GraphStep.lanes_for``).  Each lane walks every node
# in Python, the walks taking turns on the interpreter lock, so small lanes lose.  Measured on 2
# idle cores, WS(32 nodes), float32, ``gradients`` on 2 BLAS threads, one lane against two, taking
# turns in one process: width 256 (85,000 weights a node), 256 rows: 28.6 ms against 25.4 (a lane
# 11 million); 128 rows: 16.5 against 15.9 (5.4 million: even); width 64 (9,600 a node), 256 rows:
# 5.6 against 9.2 (1.2 million: lanes lose); 64 rows: 2.7 against 6.1.
MIN_LANE_WORK = 8_000_000
# Where the wired nodes run as one compiled call (``wired_core``), the step walks the graph once
# and only the core runs on blocks of rows at once, one thread each (``_Lane.at_once``): its calls
# release the interpreter lock, and the other nodes' products keep BLAS's threads.  Measured on 2
# idle cores, WS(32 nodes), float32, whole steps on 2 BLAS threads, the core on one block against
# two (a block's work per node, its rows): width 32, 256 rows (0.5 million, 128): 1.92 against 1.67
# ms; 128 rows (0.24 million, 64): 1.20 against 1.45; width 64, 128 rows (0.6 million, 64): 2.29
# against 2.07; 64 rows (32): 1.50 against 1.71; width 128, 64 rows (0.8 million, 32): 4.15
# against 3.39; width 256, 64 rows (2.6 million, 32): 8.1 against 9.4; 128 rows (64): 13.5
# against 13.4; 256 rows: 24.0 against 22.4.
MIN_CORE_LANE_WORK = 400_000
MIN_CORE_LANE_ROWS = 64

_COMPILED = "warpnet._fast._graph_kernels"  # the module of compiled loops


def _kernel(name: str) -> Any:
    """The compiled loop ``name``, or None where the compiled loops do not run."""
    module = _numba.kernels(_COMPILED)
    return None if module is None else getattr(module, name)


def compile_graph_step(model: nn.Module, loss: nn.Loss, optimizer: optim.Optimizer,
                       penalty: nn.Penalty | None = None) -> GraphStep | None:
    """A ``GraphStep`` for this graph, loss, optimizer and penalty, or None where it does not
    apply: not a ``Graph``, numba not running, a loss, optimizer or penalty type that
    ``step.compile_step`` does not know, parameters that are not C-contiguous writable NumPy
    float32/float64 arrays of one dtype, or an optimizer that does not update exactly the
    model's parameters.  The step replaces each parameter's ``value`` and ``grad`` arrays and the
    optimizer's state arrays by views into flat arrays (same values, same shapes)."""
    if type(model) is not nn.Graph or not fused.available() or not _kernel("weighted_input"):
        return None
    if not compilable_training(model, loss, optimizer, penalty):
        return None
    return GraphStep(model, loss, optimizer, penalty)


class _FlatParameters:
    """The parameters' values, gradients and optimizer states as views into a few flat arrays,
    one group for the regularized parameters and one for the others, so that the optimizer's
    compiled update runs once per group instead of once per parameter (a wired net has some
    hundred parameters, most of them small: measured, 3.9 ms for the per-parameter update of
    the 2.9 million parameters of WS(32 nodes), width 256, and 1.0 ms for one flat update).

    ``Parameter.value``, ``.grad`` and the optimizer's state arrays are re-pointed at the views,
    their values copied.  Anything may replace them later (loading a checkpoint, the plain rule's
    new velocity): ``intact()`` then says False and the step gathers them again.
    """

    def __init__(self, opt: optim.Optimizer, dtype: np.dtype) -> None:
        self.opt = opt
        self.dtype = dtype
        self.layout: list[tuple[int, list[tuple[nn.Parameter, slice]]]] = []  # per group: size, parts
        # The gradients of more lanes (``lane_grads``): views by ``id`` of the parameter, flat arrays.
        self.extra: list[tuple[dict[int, np.ndarray], tuple[np.ndarray, ...]]] = []
        self.positions: dict[int, tuple[int, int]] = {}  # (group, start) by ``id`` of the parameter
        self.groups: list[tuple[bool, np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []
        self.views: list[tuple[nn.Parameter, np.ndarray, np.ndarray, dict[str, Any],
                               dict[str, np.ndarray]]] = []
        self.grads: dict[int, np.ndarray] = {}
        for regularize in (True, False):
            members = [(p, state) for p, state in zip(opt.params, opt.state, strict=True)
                       if bool(p.regularize) is regularize]
            if not members:
                continue
            size = sum(int(p.value.size) for p, _ in members)
            value, grad = np.empty(size, dtype), np.empty(size, dtype)
            states = {key: np.empty(size, dtype) for key in opt.state_keys}
            self.layout.append((size, []))
            start = 0
            for p, state in members:
                opt.init_state(p, state)
                part = slice(start, start + p.value.size)
                self.positions[id(p)] = (len(self.layout) - 1, start)
                start = part.stop
                self.layout[-1][1].append((p, part))

                def view(flat: np.ndarray, array: Any, part: slice = part, p: Any = p) -> np.ndarray:
                    out = flat[part].reshape(p.value.shape)
                    out[...] = array
                    return out

                own_states = {key: view(states[key], state[key]) for key in opt.state_keys}
                g = view(grad, p.grad)
                p.value = view(value, p.value)
                p.grad = g
                state.update(own_states)
                self.grads[id(p)] = g
                self.views.append((p, p.value, g, state, own_states))
            self.groups.append((regularize, value, grad, states))
        self.value_flats = tuple(value for _, value, _, _ in self.groups)
        self.grad_flats = tuple(grad for _, _, grad, _ in self.groups)
        # What ``intact`` compares, in its order: the values, the gradients, the states.
        self.params = [p for p, *_ in self.views]
        self.states = [(state, key) for _, _, _, state, own in self.views for key in own]
        self.arrays = ([value for _, value, *_ in self.views] + [grad for _, _, grad, *_ in self.views]
                       + [own[key] for _, _, _, _, own in self.views for key in own])

    def where(self, p: nn.Parameter) -> tuple[int, int]:
        """The group (index into ``value_flats``) and first element of ``p`` in the flat arrays."""
        return self.positions[id(p)]

    def lane_grads(self, count: int) -> list[tuple[dict[int, np.ndarray], tuple[np.ndarray, ...]]]:
        """Gradient arrays for ``count`` lanes besides the first (by ``id`` of the parameter, laid
        out as the flat gradients), with their flat arrays; allocated on first use and kept."""
        while len(self.extra) < count:
            grads, flats = {}, []
            for size, parts in self.layout:
                flat = np.empty(size, self.dtype)
                flats.append(flat)
                for p, part in parts:
                    grads[id(p)] = flat[part].reshape(p.value.shape)
            self.extra.append((grads, tuple(flats)))
        return self.extra[:count]

    def intact(self) -> bool:
        """Whether every value, gradient and state array is still its view."""
        now = ([p.value for p in self.params] + [p.grad for p in self.params]
               + [state.get(key) for state, key in self.states])
        return all(map(operator.is_, now, self.arrays))

    def update(self, l2_decay: float) -> float:
        """``update_parameters(opt, l2_decay)`` on the flat arrays, one compiled loop per group."""
        opt = self.opt
        decoupled = type(opt) is optim.AdamW
        opt.steps += 1
        squares = 0.0
        for regularize, value, grad, states in self.groups:
            if decoupled:
                if opt.weight_decay and regularize:
                    value *= 1.0 - opt.lr * opt.weight_decay
                decay = l2_decay if regularize else 0.0
            else:
                decay = opt.weight_decay + (l2_decay if regularize else 0.0)
            found = _compiled_update(opt, value, grad, states, decay)
            if found is None:  # the step is built only where the loops run on such arrays
                raise RuntimeError(f"no compiled update of {type(opt).__name__} for the flat "
                                   f"{value.dtype} parameters")
            if regularize:
                squares += found
        return squares if l2_decay else 0.0


class _Gradients:
    """The gradient of each node's output during one backward pass, as ``Graph.backward`` sums
    them: the first contribution is kept as it comes (an array the step does not own is never
    written into); the next ones are added into a buffer of the node's own.

    The buffers come from a pool kept from step to step (``step._free``, by shape); a node that
    has used its gradient gives its buffer back (``release``), and a later node takes it: the
    gradients being summed stay few, in cache, instead of one array per node."""

    def __init__(self, step: _Lane, n: int) -> None:
        self.step = step
        self.arrays: list[Any] = [None] * n
        self.owned = [False] * n
        self.lent: dict[int, np.ndarray] = {}  # the buffers taken from the pool this pass, by id

    def _own(self, j: int, shape: tuple[int, ...]) -> np.ndarray:
        """A buffer for node j's gradient, from the pool."""
        free = self.step._free.setdefault(shape, [])
        buf = free.pop() if free else np.empty(shape, self.step._dtype)
        self.lent[id(buf)] = buf
        self.owned[j] = True
        return buf

    def take(self, j: int) -> tuple[Array, bool]:
        """Node j's gradient, and whether it is a buffer of the step (to ``release`` after use)."""
        g, self.arrays[j] = self.arrays[j], None
        return g, self.owned[j]

    def release(self, g: np.ndarray) -> None:
        """Give a node's gradient buffer back to the pool (nothing refers to it any more)."""
        del self.lent[id(g)]
        self.step._free[g.shape].append(g)

    def finish(self) -> None:
        """Give back the buffers still lent (gradients of nodes run by their own backward)."""
        for buf in self.lent.values():
            self.step._free[buf.shape].append(buf)
        self.lent = {}

    def add(self, j: int, g: Array) -> None:
        """Add ``g`` into node ``j``'s gradient."""
        if self.arrays[j] is None:
            self.arrays[j] = g
        elif self.owned[j]:
            self.arrays[j] += g
        else:
            self.arrays[j] = np.add(self.arrays[j], g, out=self._own(j, g.shape))

    def add_weighted(self, j: int | None, dh: np.ndarray, x: np.ndarray, s: Any,
                     relu_output: np.ndarray | None = None) -> float:
        """Add ``s * dh`` into node ``j``'s gradient (nothing for j None: the graph's input) and
        return ``sum(dh * x)``, in one compiled pass over flat (C-contiguous) arrays.  With
        ``relu_output`` y, ``dh`` is first multiplied in place by ReLU's mask ``y > 0``."""
        kernel = _kernel("weighted_input_backward")
        flat_dh, flat_x = dh.reshape(-1), x.reshape(-1)
        relu = relu_output is not None
        y = flat_dh if relu_output is None else relu_output.reshape(-1)
        if j is None:
            return float(kernel(flat_dh, flat_x, s, flat_dh, _DOT_ONLY, relu, y))
        g = self.arrays[j]
        if self.owned[j]:
            out, mode = g, _ADD
        else:
            out = self._own(j, dh.shape)
            mode = _WRITE if g is None else _ADD
            if g is not None:  # an array the step does not own: its values, then the sum
                np.copyto(out, g)
        dot = kernel(flat_dh, flat_x, s, out.reshape(-1), mode, relu, y)
        self.arrays[j] = out
        return float(dot)


class _Node:
    """One node of the plan: ``index`` in topological order, its ``module``, the indices of its
    predecessors (``preds``, in the order of the edges) and whether it reads the graph's input."""

    def __init__(self, index: int, name: str, module: Any, preds: list[int],
                 takes_x: bool) -> None:
        # ``module`` is any Module; each kind of node knows its type (a WiredNode, a Linear...).
        self.index, self.name, self.module, self.preds, self.takes_x = (index, name, module, preds,
                                                                         takes_x)
        # The input each gradient goes to, in the order of the module's inputs (None: x).
        self.sources: list[int | None] = ([None] if takes_x else []) + list(preds)

    # Whether the node's backward is done with its gradient array when it returns (it passes on
    # no reference to it); a module's own backward may pass it on.
    releases = False

    def splittable(self) -> bool:
        """Whether lanes may run this node at once on their rows: the step computes it itself
        (a module's own forward/backward keeps its inputs in the module, where two lanes would
        overwrite each other's), and nothing in it couples rows."""
        return False

    def own_parameters(self) -> list[nn.Parameter]:
        """Parameters whose gradients the module's own backward adds up (zeroed each step)."""
        return self.module.parameters()

    def run_forward(self, step: _Lane, values: list[Any], x: np.ndarray) -> None:
        """The node's step in the lane's forward walk: its value from its inputs'."""
        ins = [x] if self.takes_x else []
        ins += [values[p] for p in self.preds]
        values[self.index] = self.forward(step, ins)

    def run_backward(self, step: _Lane, grads: _Gradients) -> None:
        """The node's step in the lane's backward walk: its gradient to its inputs'."""
        g, owned = grads.take(self.index)
        self.backward(step, g, grads)
        if owned and self.releases:
            grads.release(g)

    def forward(self, step: _Lane, ins: list[Array]) -> Array:
        if isinstance(self.module, nn.Merge):
            return self.module.forward_many(ins)
        return self.module.forward(_sum(ins))

    def backward(self, step: _Lane, g: Array, grads: _Gradients) -> None:
        wants = bool(self.preds)
        if isinstance(self.module, nn.Merge):
            dins = self.module.backward_many(g, need_dx=wants)
        else:
            d = self.module.backward(g, need_dx=wants)
            dins = None if d is None else [d] * len(self.sources)
        _push(self.sources, dins, grads)


def _sum(ins: list[Array]) -> Array:
    """Several inputs into a one-input module: their sum, as ``Graph.forward`` adds them."""
    h = ins[0]
    for extra in ins[1:]:
        h = h + extra
    return h


def _push(sources: list[int | None], dins: list[Array] | None, grads: _Gradients) -> None:
    if dins is None:
        return
    for j, d in zip(sources, dins, strict=True):
        if j is not None:
            grads.add(j, d)


def _linear_forward(step: _Lane, key: Any, layer: nn.Linear, h: np.ndarray) -> np.ndarray:
    W = layer.weight.value
    if h.ndim != 2 or h.shape[1] != W.shape[0]:
        raise ValueError(f"{layer!r} expects input of shape (N, {W.shape[0]}), got {tuple(h.shape)}")
    y = np.matmul(h, W, out=step._buffer(("forward", key), (h.shape[0], W.shape[1])))
    if layer.bias is not None:
        y += layer.bias.value
    return y


def _linear_backward(step: _Lane, key: Any, layer: nn.Linear, h: np.ndarray, g: np.ndarray,
                     need_dx: bool) -> np.ndarray | None:
    """dW = h^T g and db into the gradients' buffers; dx = g W^T into a buffer when asked."""
    W, grads = layer.weight.value, step.grads
    np.matmul(h.T, g, out=grads[id(layer.weight)])
    if layer.bias is not None:
        # db = the sum of g's rows, as the product 1^T g: measured on a 256 x 256 float32 array,
        # 7 us where np.add.reduce takes 38 (the sums' order differs, within rounding).
        np.matmul(step._ones(g.shape[0]), g, out=grads[id(layer.bias)])
    if step.summer is not None:
        step.summer.written(layer.parameters())
    if not need_dx:
        return None
    return np.matmul(g, W.T, out=step._buffer(("dx", key), (g.shape[0], W.shape[0])))


class _LinearNode(_Node):
    releases = True

    def splittable(self) -> bool:
        return True

    def own_parameters(self) -> list[nn.Parameter]:
        return []

    def forward(self, step: _Lane, ins: list[Array]) -> Array:
        self.h = _sum(ins)
        return _linear_forward(step, self.index, self.module, self.h)

    def backward(self, step: _Lane, g: Array, grads: _Gradients) -> None:
        d = _linear_backward(step, self.index, self.module, self.h, g, bool(self.preds))
        _push(self.sources, None if d is None else [d] * len(self.sources), grads)


class _MeanNode(_Node):
    releases = True

    def splittable(self) -> bool:
        return True

    def forward(self, step: _Lane, ins: list[Array]) -> Array:
        y = step._buffer(("forward", self.index), ins[0].shape)
        if len(ins) == 1:
            return np.divide(ins[0], len(ins), out=y)
        np.add(ins[0], ins[1], out=y)
        for x in ins[2:]:
            y += x
        y /= len(ins)
        return y

    def backward(self, step: _Lane, g: Array, grads: _Gradients) -> None:
        d = np.divide(g, len(self.sources), out=step._buffer(("dx", self.index), g.shape))
        _push(self.sources, [d] * len(self.sources), grads)  # one array for all: never written


class _WiredNode(_Node):
    """``Linear(ReLU(sum_i sigmoid(w_i) x_i))`` (then the node's normalisation, if any)."""

    releases = True
    weights: slice  # this node's part of the step's sigmoid(w) (set by ``_Lane``)

    def splittable(self) -> bool:
        return self.module.norm is None  # BatchNorm1d couples rows; both norms keep their inputs

    def own_parameters(self) -> list[nn.Parameter]:
        norm = self.module.norm
        return [] if norm is None else norm.parameters()

    def forward(self, step: _Lane, ins: list[Array]) -> Array:
        node = self.module
        kernel = _kernel("weighted_input")
        s = step._sigmoids[self.weights]  # sigmoid(w): (k,)
        h = step._buffer(("relu", self.index), ins[0].shape)
        flat, last = h.reshape(-1), len(ins) - 1
        for k, x in enumerate(ins):
            if x.shape != h.shape:
                raise ValueError(f"node {self.name!r}: the inputs of a weighted sum must have one "
                                 f"shape, got {tuple(ins[0].shape)} and {tuple(x.shape)}")
            kernel(x.reshape(-1), s[k], flat, k > 0, k == last)
        self.s, self.ins, self.h = s, ins, h
        y = _linear_forward(step, self.index, node.linear, h)
        return y if node.norm is None else node.norm.forward(y)

    def backward(self, step: _Lane, g: Array, grads: _Gradients) -> None:
        node = self.module
        if node.norm is not None:
            g = node.norm.backward(g)
        # dh: one buffer for every wired node (it is used up here), so it stays in cache
        dh = _linear_backward(step, "wired", node.linear, self.h, g, True)
        assert dh is not None  # asked for (need_dx True)
        s = self.s
        # The first pass also applies ReLU's mask to dh (self.h is ReLU's output).
        dots = np.array([grads.add_weighted(j, dh, x, s[k], self.h if k == 0 else None)
                         for k, (j, x) in enumerate(zip(self.sources, self.ins, strict=True))])
        np.multiply(dots.astype(s.dtype), s * (1.0 - s), out=step.grads[id(node.aggregate.weight)])
        if step.summer is not None:
            step.summer.written([node.aggregate.weight])
        self.ins = []  # the step keeps no reference to the inputs past the backward pass


class _SequentialNode(_Node):
    """A ``Sequential`` (a classifier head, say): its ``Linear`` layers and ReLUs into buffers as
    above, any other layer through its own forward/backward."""

    def splittable(self) -> bool:
        return all(type(layer) in (nn.Linear, nn.ReLU) for layer in self.module.layers)

    def own_parameters(self) -> list[nn.Parameter]:
        return [p for layer in self.module.layers if type(layer) is not nn.Linear
                for p in layer.parameters()]

    def forward(self, step: _Lane, ins: list[Array]) -> Array:
        h = _sum(ins)
        self.inputs = []  # what each layer's backward reads: its input (ReLU: its output)
        for i, layer in enumerate(self.module.layers):
            if type(layer) is nn.Linear:
                self.inputs.append(h)
                h = _linear_forward(step, (self.index, i), layer, h)
            elif type(layer) is nn.ReLU and type(h) is np.ndarray and h.dtype == step._dtype:
                h = np.maximum(h, 0, out=step._buffer(("relu", self.index, i), h.shape))
                self.inputs.append(h)
            else:
                self.inputs.append(None)
                h = layer.forward(h)
        return h

    def backward(self, step: _Lane, g: Array, grads: _Gradients) -> None:
        wants = bool(self.preds)
        for i in range(len(self.module.layers) - 1, -1, -1):
            layer, need = self.module.layers[i], wants or i > 0
            if type(layer) is nn.Linear:
                g = _linear_backward(step, (self.index, i), layer, self.inputs[i], g, need)
            elif self.inputs[i] is not None:  # a ReLU run above
                if not need:
                    return
                out = step._buffer(("drelu", self.index, i), g.shape)
                g = fused.relu_backward(g, self.inputs[i], out)
            else:
                g = layer.backward(g, need_dx=need)
        self.inputs = []
        _push(self.sources, None if g is None else [g] * len(self.sources), grads)


_KINDS = {nn.Linear: _LinearNode, nn.WiredNode: _WiredNode, nn.Mean: _MeanNode,
          nn.Sequential: _SequentialNode}



class _Lane:
    """One walk through the graph over a block of the batch's rows: its own node objects (what
    each node keeps from its forward for its backward), buffers and pool of gradient buffers, and
    the parameters' gradient arrays its backward writes (``grads``, by ``id`` of the parameter).
    The step runs one lane over the whole batch, or several at once, one per thread, over blocks
    of rows (``GraphStep``)."""

    def __init__(self, model: nn.Graph, dtype: np.dtype) -> None:
        names = model.order
        self.nodes = [_KINDS.get(type(module), _Node)(i, names[i], module, preds, takes_x)
                      for i, module, preds, _merge, takes_x in model._plan]
        start = 0
        for node in self.nodes:  # each wired node's slice of the step's sigmoid(w)
            if isinstance(node, _WiredNode):
                node.weights = slice(start, start + node.module.n_inputs)
                start = node.weights.stop
        self.outputs = list(model._out_index)
        # The walk: the nodes in topological order, or those before the wired core, the core (all
        # wired nodes in one compiled call: ``wired_core``), the rest.
        self.core = wired_core.find_core(self.nodes, _WiredNode, self.outputs)
        self.walk: list[Any] = (list(self.nodes) if self.core is None
                                else [*self.core.before, self.core, *self.core.after])
        self._dtype = dtype
        self._buffers: dict[Any, np.ndarray] = {}
        self._free: dict[tuple[int, ...], list[np.ndarray]] = {}  # gradient buffers, by shape
        self._sigmoids = np.empty(0, dtype)
        self.grads: dict[int, np.ndarray] = {}
        # The flat arrays of the parameters' values and of this lane's gradients (the core's).
        self.flat: _FlatParameters | None = None
        self.flat_values: tuple[np.ndarray, ...] = ()
        self.flat_grads: tuple[np.ndarray, ...] = ()
        # The wired core may run on blocks of rows at once, one thread each (``GraphStep``): how
        # many, and the flat gradient arrays of the blocks after the first.
        self.core_split = 1
        self.more_flat_grads: list[tuple[np.ndarray, ...]] = []
        self.summer: _Summer | None = None  # with several lanes: adds their gradients up

    def use(self, flat: _FlatParameters, grads: dict[int, np.ndarray],
            grad_flats: tuple[np.ndarray, ...], sigmoids: np.ndarray) -> None:
        """Before a walk: the parameters' flat arrays, the gradient arrays this lane writes (by
        ``id`` of the parameter, and flat) and the wired nodes' sigmoid(w) for this step."""
        self.flat, self.flat_values, self.flat_grads = flat, flat.value_flats, grad_flats
        self.grads, self._sigmoids = grads, sigmoids

    def _buffer(self, key: Any, shape: tuple[int, ...]) -> np.ndarray:
        return reused_buffer(self._buffers, key, shape, self._dtype)

    @staticmethod
    def at_once(fn: Any, n: int) -> None:
        """``fn(k)`` for k < n, at once on n threads (``threads.run``) with NumPy's BLAS on one
        thread each for that time; one after the other where BLAS's threads cannot be set so
        (``_one_blas_thread_each``)."""
        restore = _one_blas_thread_each()
        if restore is None:
            for k in range(n):
                fn(k)
            return
        try:
            _threads.run(fn, list(range(n)))
        finally:
            blas.set_num_threads(restore)

    def _ones(self, n: int) -> np.ndarray:
        ones = self._buffers.get(("ones", n))
        if ones is None:
            ones = self._buffers["ones", n] = np.ones(n, self._dtype)
        return ones

    def forward(self, x: np.ndarray) -> list[Array]:
        """The nodes in topological order on ``x`` (n, D); the output nodes' values."""
        values: list[Any] = [None] * len(self.nodes)
        for node in self.walk:
            node.run_forward(self, values, x)
        return [values[i] for i in self.outputs]

    def backward(self, douts: list[Array]) -> None:
        """The nodes in reverse order, from the gradient of each output (in ``forward``'s order)."""
        grads = _Gradients(self, len(self.nodes))
        for i, d in zip(self.outputs, douts, strict=True):
            grads.add(i, d)
        for node in reversed(self.walk):
            node.run_backward(self, grads)
        grads.finish()


class _Summer:
    """With several lanes: adds the other lanes' gradient of each parameter into the first lane's
    (the parameters' own ``.grad``) as soon as every lane has written it, while it is still in
    cache -- the lane that writes it last does the sum -- instead of one more pass over all the
    gradients after the backward pass."""

    def __init__(self, lanes: list[_Lane]) -> None:
        self.first = lanes[0].grads
        self.others = [lane.grads for lane in lanes[1:]]
        self.count: dict[int, int] = {}  # the parameters written by some lanes so far, by id
        self.lock = threading.Lock()

    def written(self, params: list[nn.Parameter]) -> None:
        """A lane has written the gradients of ``params`` (one layer's)."""
        key = id(params[0])
        with self.lock:
            count = self.count.get(key, 0) + 1
            if count <= len(self.others):
                self.count[key] = count
                return
            del self.count[key]
        for p in params:
            g = self.first[id(p)]
            for other in self.others:
                g += other[id(p)]


def _one_blas_thread_each() -> int | None:
    """Set NumPy's BLAS to one thread and let its idle workers go, so that lanes running at once
    each run their products on their own core (no more threads than cores at any moment); returns
    the thread count to set back afterwards, or None, having changed nothing, where BLAS runs on
    one thread already or its workers cannot be let go safely (``blas.release_idle_threads``)."""
    before = blas.num_threads()
    if before < 2 or not blas.set_num_threads(1):
        return None
    if not blas.release_idle_threads():
        blas.set_num_threads(before)
        return None
    return before


class GraphStep(CompiledStep):
    """One training step of a ``Graph`` on NumPy (see the module's notes); built by
    ``compile_graph_step``.  Same interface as ``warpnet.train.step.Step``: ``gradients``,
    ``update`` and ``__call__``.  ``lanes_used``: how many lanes (threads) the last compiled
    ``gradients`` ran on."""

    def __init__(self, model: nn.Graph, loss: nn.Loss, optimizer: optim.Optimizer,
                 penalty: nn.Penalty | None) -> None:
        self._start(model, loss, optimizer, penalty)
        self._graph = model
        self._lanes = [_Lane(model, self._dtype)]
        nodes = self._lanes[0].nodes
        self._zeroed = [p for node in nodes for p in node.own_parameters()]
        self._flat = _FlatParameters(optimizer, self._dtype)
        # Each wired node's sigmoid(w), computed for all of them at once at each step.
        self._aggregates = [node.module.aggregate.weight for node in nodes
                            if isinstance(node, _WiredNode)]
        modules = {id(node.module) for node in nodes}
        self._splittable = len(modules) == len(nodes) and all(node.splittable() for node in nodes)
        weights = sum(layer.weight.value.size for node in nodes for layer in node.module.modules()
                      if type(layer) is nn.Linear)
        self._weights_per_node = weights / len(nodes)
        self.lanes_used = 0

    def _input_width(self) -> int | None:
        return self._graph.in_features

    def lanes_for(self, rows: int) -> int:
        """How many lanes to split a batch of ``rows`` rows over -- where the wired nodes run as
        one call, how many blocks of rows the core runs on at once -- : as many as BLAS has
        threads and this process cores (``blas.lendable_threads``), each with ``MIN_LANE_WORK``
        multiply-adds per node or more, where every node may run on blocks of rows at once
        (``_Node.splittable``); with a core, ``MIN_CORE_LANE_WORK`` and ``MIN_CORE_LANE_ROWS``
        rows each, whatever the other nodes; else 1."""
        if self._lanes[0].core is not None:
            most = min(int(rows * self._weights_per_node // MIN_CORE_LANE_WORK),
                       rows // MIN_CORE_LANE_ROWS)
        elif self._splittable:
            most = int(rows * self._weights_per_node // MIN_LANE_WORK)
        else:
            return 1
        return max(1, min(blas.lendable_threads(), most, rows))

    def _compiled_gradients(self, x: np.ndarray, y: Array, sample_weight: Array | None
                            ) -> tuple[Array, Array]:
        """``gradients`` (``CompiledStep``'s, which sends inputs the loops do not take to the
        plain step) for an input the compiled loops take: the nodes in topological order, the
        loss, the nodes in reverse -- on one lane, or on several at once over blocks of rows."""
        if not self._flat.intact():
            self._flat = _FlatParameters(self.optimizer, self._dtype)
        for p in self._zeroed:  # cleared in place: the gradient stays its view of the flat array
            p.grad[...] = 0
        sigmoids = (_sigmoid(np.concatenate([w.value for w in self._aggregates]))
                    if self._aggregates else np.empty(0, self._dtype))
        n_lanes = self.lanes_for(x.shape[0])
        core = self._lanes[0].core is not None
        restore = _one_blas_thread_each() if n_lanes > 1 and not core else None
        try:
            if core:  # one walk, the core on n_lanes blocks of rows at once
                loss, scores = self._one_lane(x, y, sample_weight, sigmoids, n_lanes)
            elif restore is None:
                loss, scores = self._one_lane(x, y, sample_weight, sigmoids)
            else:
                loss, scores = self._lanes_at_once(x, y, sample_weight, sigmoids, n_lanes)
        finally:
            if restore is not None:
                blas.set_num_threads(restore)
        self._penalty_value = 0.0
        if self.penalty is not None and type(self.penalty) is not nn.L2:
            self._penalty_value = self.penalty(self.params)  # L1: its gradient into .grad now
        return loss, scores

    def _one_lane(self, x: np.ndarray, y: Array, sample_weight: Array | None,
                  sigmoids: np.ndarray, core_split: int = 1) -> tuple[Array, Array]:
        """One walk over the whole batch; the wired core (if any) on ``core_split`` blocks of rows
        at once (``_Lane.at_once``), the other nodes' products on BLAS's own threads."""
        lane = self._lanes[0]
        lane.use(self._flat, self._flat.grads, self._flat.grad_flats, sigmoids)
        lane.core_split = core_split
        lane.more_flat_grads = [flats for _, flats in self._flat.lane_grads(core_split - 1)]
        results = lane.forward(x)
        self.lanes_used = core_split
        if len(results) == 1:
            kept = any(results[0] is b for b in lane._buffers.values())
            scores = np.array(results[0]) if kept or results[0] is x else results[0]
        else:
            scores = np.concatenate(results, axis=1)
        self.scores = scores
        loss, dscores = self.loss(scores, y, sample_weight=sample_weight)
        lane.backward(_split_columns(dscores, [r.shape[1] for r in results]))
        return loss, scores

    def _lanes_at_once(self, x: np.ndarray, y: Array, sample_weight: Array | None,
                       sigmoids: np.ndarray, n_lanes: int) -> tuple[Array, Array]:
        """Lane k runs the forward and the backward of the k-th block of rows on a thread of its
        own (``threads.run``) with its products on one BLAS thread, writing its parameters'
        gradients into arrays of its own (the first lane: the parameters' ``.grad``), which
        ``_Summer`` adds up layer by layer.  The loss sees the whole batch's scores between the
        two passes, so its mean, weights and checks are those of one lane."""
        while len(self._lanes) < n_lanes:
            self._lanes.append(_Lane(self._graph, self._dtype))
        lanes = self._lanes[:n_lanes]
        own = [(self._flat.grads, self._flat.grad_flats), *self._flat.lane_grads(n_lanes - 1)]
        for lane, (grads, grad_flats) in zip(lanes, own, strict=True):
            lane.use(self._flat, grads, grad_flats, sigmoids)
        n = x.shape[0]
        blocks = [slice(n * k // n_lanes, n * (k + 1) // n_lanes) for k in range(n_lanes)]
        parts = list(range(n_lanes))
        results = _threads.run(lambda k: lanes[k].forward(x[blocks[k]]), parts)
        self.lanes_used = n_lanes
        widths = [r.shape[1] for r in results[0]]
        scores = np.empty((n, sum(widths)), self._dtype)
        for block, outs in zip(blocks, results, strict=True):
            start = 0
            for r in outs:
                scores[block, start:start + r.shape[1]] = r
                start += r.shape[1]
        self.scores = scores
        loss, dscores = self.loss(scores, y, sample_weight=sample_weight)
        summer = _Summer(lanes)
        for lane in lanes:
            lane.summer = summer
        try:
            _threads.run(lambda k: lanes[k].backward(_split_columns(dscores[blocks[k]], widths)),
                         parts)
        finally:
            for lane in lanes:
                lane.summer = None
        return loss, scores

    # -- update ------------------------------------------------------------------------------
    def update(self) -> float:
        """The optimizer's step on the flat arrays, with the L2 penalty's gradient folded in;
        returns the penalty's value for the weights as the step found them (0.0 without a
        penalty)."""
        if self._used_plain:
            return self._plain.update()
        if not self._flat.intact():  # a value, gradient or state replaced since: gather again
            self._flat = _FlatParameters(self.optimizer, self._dtype)
        l2 = self.penalty.strength if type(self.penalty) is nn.L2 else 0.0
        squares = self._flat.update(2.0 * l2)
        return l2 * squares if l2 else self._penalty_value


def _split_columns(dscores: Array, widths: list[int]) -> list[Array]:
    """The gradient of the scores, one part per output node (their widths, in order)."""
    if len(widths) == 1:
        return [dscores]
    parts, start = [], 0
    for width in widths:
        parts.append(dscores[:, start:start + width])
        start += width
    return parts
