"""The wired core of a graph step (all wired nodes in one compiled call per pass): where it applies,
and that the step it runs equals the plain step -- float64 to 1e-12 -- on graphs whose wired nodes
read x, feed nodes outside, are outputs themselves, lack a bias, or run on blocks of rows, on one
lane and on several."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import _numba, nn, optim
from warpnet._fast import blas, fused, wired_core
from warpnet._fast import graph as fast_graph
from warpnet._fast.graph import GraphStep
from warpnet.nn.wired import Mean, WiredNode
from warpnet.train import make_step

from .test_graph_step import _assert_equal, _data, _run, every_kind, wired

pytestmark = pytest.mark.skipif(
    not fused.available() or _numba.kernels(wired_core._COMPILED) is None,
    reason="numba or NumPy's own BLAS is not available")


def _core(model):
    step = make_step(model, "softmax", optim.SGD(model.parameters(), lr=0.05))
    assert isinstance(step, GraphStep)
    return step._lanes[0].core


def around_the_core(dtype="float64", bias=True):
    """Wired nodes of width 8: "a" reads x, "b" reads a and the Linear "lin" (outside, upstream,
    reading x), "c" reads b and lin, "d" reads a and c; "c" also feeds a Tanh outside
    (downstream, with d), and "d" is an output of the graph itself, beside the head."""
    rng = np.random.default_rng(4)
    nodes = {
        "a": WiredNode(1, 8, rng=1, dtype=dtype),
        "lin": nn.Linear(8, 8, rng=2, dtype=dtype),
        "b": WiredNode(2, 8, rng=3, dtype=dtype),
        "c": WiredNode(2, 8, rng=4, dtype=dtype),
        "d": WiredNode(2, 8, rng=5, dtype=dtype),
        "t": nn.Tanh(),
        "mean": Mean(2),
        "head": nn.Sequential(nn.ReLU(), nn.Linear(8, 3, rng=6, dtype=dtype)),
    }
    if not bias:
        nodes["c"].linear = nn.Linear(8, 8, bias=False, rng=7, dtype=dtype)
    edges = [("a", "b"), ("lin", "b"), ("b", "c"), ("lin", "c"), ("a", "d"), ("c", "d"),
             ("c", "t"), ("t", "mean"), ("d", "mean"), ("mean", "head")]
    g = nn.Graph(nodes, edges, inputs=["a", "lin"], outputs=["head", "d"])
    for name, p in g.named_parameters():
        p.value[...] = rng.standard_normal(p.shape) * (0.3 if name.endswith("weight") else 0.5)
    return g


def test_a_randomly_wired_net_runs_all_its_wired_nodes_as_the_core():
    net = wired()
    core = _core(net)
    assert core is not None
    assert sorted(int(n.name) for n in core.members) == list(range(9))
    assert [n.name for n in core.before] == ["input"]
    assert [n.name for n in core.after] == ["output", "classifier"]


def test_the_core_of_a_graph_with_nodes_around_it():
    core = _core(around_the_core())
    assert [n.name for n in core.members] == ["a", "b", "c", "d"]
    assert [n.name for n in core.before] == ["lin"]
    assert [n.name for n in core.after] == ["t", "mean", "head"]
    lin = next(n.index for n in core.before if n.name == "lin")
    assert core.external == [None, lin]  # x (read by a) and lin
    # d: an output; c: read by t outside
    assert [core.members[m].name for m in core.fed] == ["c", "d"]


@pytest.mark.parametrize("make", [every_kind, lambda: wired(norm="layer"), lambda: wired(norm="batch")],
                         ids=["a Linear between wired nodes", "layer norm", "batch norm"])
def test_graphs_it_does_not_take_run_node_by_node(make):
    assert _core(make()) is None


def test_a_module_at_two_nodes_has_no_core():
    node = WiredNode(1, 6, rng=0, dtype="float64")
    g = nn.Graph({"a": node, "b": node, "head": nn.Linear(6, 2, rng=1, dtype="float64")},
                 [("a", "b"), ("b", "head")], inputs=["a"], outputs=["head"])
    step = make_step(g, "softmax", optim.SGD(g.parameters(), lr=0.05))
    assert not isinstance(step, GraphStep) or step._lanes[0].core is None


def test_wired_nodes_of_another_width_stay_outside():
    rng = 0
    nodes = {"a": WiredNode(1, 6, rng=rng, dtype="float64"),
             "b": WiredNode(1, 6, rng=1, dtype="float64"),
             "up": nn.Linear(6, 4, rng=2, dtype="float64"),
             "c": WiredNode(1, 4, rng=3, dtype="float64"),
             "head": nn.Linear(4, 2, rng=4, dtype="float64")}
    g = nn.Graph(nodes, [("a", "b"), ("b", "up"), ("up", "c"), ("c", "head")], inputs=["a"],
                 outputs=["head"])
    core = _core(g)
    assert [n.name for n in core.members] == ["a", "b"]
    _assert_equal(_run(g, True), _run(g, False), 1e-12)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("rule, kwargs", [("sgd", {"lr": 0.05, "momentum": 0.9}),
                                          ("adam", {"lr": 0.01})])
def test_the_core_equals_the_plain_step(bias, rule, kwargs):
    g = around_the_core(bias=bias)
    plain = _run(g, False, rule, kwargs, penalty=nn.L1(0.001))
    compiled = _run(g, True, rule, kwargs, penalty=nn.L1(0.001))
    _assert_equal(compiled, plain, 1e-12)


def test_float32_is_close():
    g = around_the_core("float32")
    plain, compiled = _run(g, False), _run(g, True)
    _assert_equal(compiled[:3], plain[:3], 2e-5)
    _assert_equal(compiled[3:], plain[3:], 1e-4)


@pytest.mark.parametrize("block", [1, 5, 8])
def test_blocks_of_rows_equal_one_block(monkeypatch, block):
    monkeypatch.setattr(wired_core, "BLOCK_ROWS", block)
    monkeypatch.setattr(wired_core, "BLOCKED_WIDTH", 10**6)
    for g in (wired(), around_the_core()):
        batches = [_data("float64", g.in_features, g.out_features, n=n, seed=n) for n in (23, 16, 3)]
        _assert_equal(_run(g, True, batches=batches), _run(g, False, batches=batches), 1e-12)


@pytest.mark.parametrize("at_once", [True, False], ids=["threads", "one after the other"])
@pytest.mark.parametrize("n_blocks", [2, 3])
def test_the_core_on_blocks_of_rows_at_once(monkeypatch, n_blocks, at_once):
    # (one after the other: where BLAS's threads cannot be set to one each)
    monkeypatch.setattr(GraphStep, "lanes_for", lambda self, rows: min(n_blocks, rows))
    monkeypatch.setattr(fast_graph, "_one_blas_thread_each",
                        (lambda: blas.num_threads()) if at_once else (lambda: None))
    monkeypatch.setattr(wired_core, "BLOCK_ROWS", 4)
    for g in (wired(), around_the_core()):
        batches = [_data("float64", g.in_features, g.out_features, n=n, seed=n) for n in (23, 2, 9)]
        plain = _run(g, False, batches=batches)
        compiled = _run(g, True, batches=batches)
        _assert_equal(compiled, plain, 1e-12)


def test_the_blocks_sum_of_the_core_gradients_covers_every_core_parameter():
    net = wired()
    step = make_step(net, "softmax", optim.SGD(net.parameters(), lr=0.05))
    core, flat = step._lanes[0].core, step._flat
    covered = {(g, i) for g, start, stop in core.ranges(flat) for i in range(start, stop)}
    expected = {(g, start + i) for params in core.parameters for p in params if p is not None
                for g, start in [flat.where(p)] for i in range(p.value.size)}
    assert covered == expected
    assert len(core.ranges(flat)) == 2  # the weights, then the merge weights and biases


def test_without_the_compiled_core_the_nodes_run_one_by_one():
    with _numba.numpy_path(wired_core._COMPILED):
        assert _core(wired()) is None
        _assert_equal(_run(wired(), True), _run(wired(), False), 1e-12)


def test_an_input_of_the_wrong_width_is_named():
    # A Tanh's width is known only when it runs: x of width 10 into a wired node of width 8.
    nodes = {"t": nn.Tanh(), "w": WiredNode(1, 8, rng=0, dtype="float64"),
             "head": nn.Linear(8, 2, rng=1, dtype="float64")}
    g = nn.Graph(nodes, [("t", "w"), ("w", "head")], inputs=["t"], outputs=["head"])
    g.in_features = 10
    step = make_step(g, "softmax", optim.SGD(g.parameters(), lr=0.1))
    x, y = _data("float64", in_features=10, classes=2)
    with pytest.raises(ValueError, match="node 'w'"):
        step(x, y)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, False), (False, True)])
def test_the_compiled_product_is_numpys(dtype, trans_a, trans_b):
    kernels = _numba.kernels(wired_core._COMPILED)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 5) if not trans_a else (5, 7)).astype(dtype)
    b = rng.standard_normal((5, 6) if not trans_b else (6, 5)).astype(dtype)
    want = (a.T if trans_a else a) @ (b.T if trans_b else b)
    out = np.empty((7, 6), dtype)
    kernels.matmul(a, b, out, trans_a, trans_b, False)
    np.testing.assert_array_equal(out, want)
    kernels.matmul(a, b, out, trans_a, trans_b, True)  # out += op(a) op(b)
    np.testing.assert_allclose(out, 2 * want, rtol=1e-6)
    rows = np.empty((10, 6), dtype)  # a block of rows of a larger array
    kernels.matmul(a, b, rows[2:9], trans_a, trans_b, False)
    np.testing.assert_array_equal(rows[2:9], want)
