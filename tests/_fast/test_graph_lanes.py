"""The compiled step of a ``Graph`` split over lanes (blocks of the batch's rows run at once, one per
thread) equals the plain step: float64 to 1e-12 for every optimizer rule and penalty, odd batch
sizes, one-row blocks, fan-in, fan-out and several outputs; graphs with a layer it may not split
run on one lane; an error in a lane's thread is raised in the caller; BLAS's threads are set
back."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from warpnet import nn, optim
from warpnet._fast import blas, fused, threads, wired_core
from warpnet._fast import graph as fast_graph
from warpnet._fast.graph import GraphStep
from warpnet.nn.wired import Mean, WiredNode
from warpnet.train import make_step

from .test_graph_step import RULES, _assert_equal, _data, _run, every_kind, wired

pytestmark = pytest.mark.skipif(not fused.available(), reason="numba is not installed")


@pytest.fixture
def lanes(monkeypatch):
    """``lanes(n)``: every graph step splits its batches over n lanes (fewer for fewer rows), on
    any machine: BLAS keeps its threads (nothing to set back)."""
    def force(n: int) -> None:
        monkeypatch.setattr(GraphStep, "lanes_for",
                            lambda self, rows: min(n, rows) if self._splittable else 1)
        monkeypatch.setattr(fast_graph, "_one_blas_thread_each", lambda: blas.num_threads())
    return force


def splittable(dtype="float64"):
    """Every kind of node the lanes run: wired nodes reading x and inside, a Linear node with
    predecessors, a Mean with fan-in, a node whose gradient comes from three consumers, a
    Sequential of ReLU and Linear layers, and two outputs."""
    rng = np.random.default_rng(2)
    nodes = {
        "in1": WiredNode(1, 10, rng=1, dtype=dtype),
        "in2": nn.Linear(10, 10, rng=2, dtype=dtype),
        "w": WiredNode(2, 10, rng=3, dtype=dtype),            # in1 + in2
        "lin": nn.Linear(10, 10, rng=4, dtype=dtype),         # w + in1: a sum into a Linear
        "mean": Mean(3),                                      # w, lin, in2
        "v": WiredNode(3, 10, rng=5, dtype=dtype),            # mean, w, lin
        "head": nn.Sequential(nn.ReLU(), nn.Linear(10, 3, rng=6, dtype=dtype)),
        "side": nn.Sequential(nn.Linear(10, 6, rng=7, dtype=dtype), nn.ReLU(),
                              nn.Linear(6, 2, rng=8, dtype=dtype)),
    }
    edges = [("in1", "w"), ("in2", "w"), ("w", "lin"), ("in1", "lin"), ("w", "mean"),
             ("lin", "mean"), ("in2", "mean"), ("mean", "v"), ("w", "v"), ("lin", "v"),
             ("v", "head"), ("mean", "side")]
    g = nn.Graph(nodes, edges, inputs=["in1", "in2"], outputs=["head", "side"])
    for name, p in g.named_parameters():
        p.value[...] = rng.standard_normal(p.shape) * (0.3 if name.endswith("weight") else 0.5)
    return g


def _lanes_used(model, n_rows=23, **kwargs):
    model = model if isinstance(model, nn.Graph) else model()
    step = make_step(model, "softmax", optim.SGD(model.parameters(), lr=0.05))
    x, y = _data(model.parameters()[0].value.dtype, model.in_features, model.out_features, n=n_rows)
    step(x, y)
    return step.lanes_used


@pytest.mark.parametrize("rule, kwargs", RULES, ids=lambda v: str(v))
@pytest.mark.parametrize("penalty", [None, nn.L2(0.01), nn.L1(0.003)], ids=repr)
def test_two_lanes_equal_the_plain_step_in_float64(lanes, rule, kwargs, penalty):
    if rule == "adamw" and type(penalty) is nn.L2:
        pytest.skip("AdamW with an L2 penalty runs the plain step")
    net = wired()
    plain = _run(net, False, rule, kwargs, penalty)
    lanes(2)
    assert _lanes_used(wired()) == 2
    compiled = _run(net, True, rule, kwargs, penalty)
    if type(penalty) is nn.L2:  # the compiled .grad holds the data gradient only
        plain, compiled = plain[:3], compiled[:3]
    _assert_equal(compiled, plain, 1e-12)


@pytest.mark.parametrize("n_lanes", [2, 3])
@pytest.mark.parametrize("loss", ["softmax", "svm", "mse"])
def test_fan_in_fan_out_two_outputs_odd_batches_and_one_row_blocks(lanes, n_lanes, loss):
    g = splittable()
    # 23 and 7 rows: blocks of unequal sizes; 2 and 3 rows: blocks of one row (and 2 rows on
    # 3 lanes: two lanes of one row); 1 row: one lane.
    batches = [_data("float64", 10, 5, n=n, seed=n) for n in (23, 7, 2, 3, 1, 23)]
    if loss == "mse":
        batches = [(x, np.random.default_rng(0).standard_normal((len(x), 5))) for x, _ in batches]
    plain = _run(g, False, loss=loss, penalty=nn.L1(0.001), batches=batches)
    lanes(n_lanes)
    assert _lanes_used(splittable()) == n_lanes
    compiled = _run(g, True, loss=loss, penalty=nn.L1(0.001), batches=batches)
    _assert_equal(compiled, plain, 1e-12)


def test_the_first_step_on_lanes_equals_the_graphs_own_forward_and_backward(lanes):
    g = splittable()
    x, y = _data("float64", classes=5, n=31)
    weights = np.linspace(0.5, 2.0, 31)  # sample weights: the loss's mean over the whole batch
    reference = splittable()
    scores = reference.forward(x)
    loss, dscores = nn.SoftmaxCrossEntropy()(scores, y, sample_weight=weights)
    reference.backward(dscores, need_dx=False)
    lanes(2)
    step = make_step(g, "softmax", optim.SGD(g.parameters(), lr=0.1))
    got_loss, got_scores = step.gradients(x, y, weights)
    assert step.lanes_used == 2
    np.testing.assert_allclose(got_loss, loss, rtol=1e-13)
    np.testing.assert_allclose(got_scores, scores, rtol=1e-13, atol=1e-14)
    for (name, p), q in zip(g.named_parameters(), reference.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-12, atol=1e-13, err_msg=name)


def test_float32_on_lanes_is_close_to_the_plain_step(lanes):
    net = wired("float32")
    plain = _run(net, False)
    lanes(2)
    compiled = _run(net, True)
    _assert_equal(compiled[:3], plain[:3], 2e-5)
    _assert_equal(compiled[3:], plain[3:], 1e-4)


@pytest.mark.parametrize("make", [
    every_kind,                                   # Tanh, WeightedSum, a Sequential with Tanh
    lambda: wired(norm="batch"),                  # BatchNorm1d couples the rows
    lambda: wired(norm="layer"),                  # LayerNorm keeps its input in the module
    lambda: nn.Graph({"a": nn.Linear(10, 6, rng=0, dtype="float64"), "d": nn.Dropout(0.5, rng=0),
                      "b": nn.Linear(6, 4, rng=1, dtype="float64")},
                     [("a", "d"), ("d", "b")], ["a"], ["b"]),  # Dropout draws from its module
], ids=["other modules", "batchnorm", "layernorm", "dropout"])
def test_graphs_with_a_layer_it_may_not_split_run_on_one_lane(lanes, make):
    lanes(2)
    assert _lanes_used(make) == 1
    assert _lanes_used(wired()) == 2


def test_a_module_at_two_nodes_runs_on_one_lane(lanes):
    shared = nn.Linear(10, 10, rng=0, dtype="float64")
    g = nn.Graph({"a": shared, "b": shared, "c": nn.Linear(10, 4, rng=1, dtype="float64")},
                 [("a", "b"), ("b", "c")], ["a"], ["c"])
    lanes(2)
    step = make_step(g, "softmax", optim.SGD(g.parameters(), lr=0.05))
    if step.compiled:
        assert step.lanes_for(64) == 1


def test_an_error_in_a_lanes_thread_is_raised_here_and_the_step_goes_on(lanes, monkeypatch):
    lanes(2)
    net = splittable()  # no core: every node runs on both lanes
    step = make_step(net, "softmax", optim.SGD(net.parameters(), lr=0.05))
    x, y = _data("float64", classes=5)
    real = fast_graph._MeanNode.forward

    def failing(self, lane, ins):
        if threading.current_thread() in threads.helper_threads():
            raise FloatingPointError("lane failed")
        return real(self, lane, ins)

    monkeypatch.setattr(fast_graph._MeanNode, "forward", failing)
    with pytest.raises(FloatingPointError, match="lane failed"):
        step(x, y)
    monkeypatch.setattr(fast_graph._MeanNode, "forward", real)
    twin = splittable()
    plain = make_step(twin, "softmax", optim.SGD(twin.parameters(), lr=0.05), compiled=False)
    for _ in range(2):
        np.testing.assert_allclose(step(x, y), plain(x, y), rtol=1e-12)
    assert step.lanes_used == 2


def test_an_error_in_a_block_of_the_core_is_raised_here_and_the_step_goes_on(lanes, monkeypatch):
    lanes(2)
    net = wired()
    step = make_step(net, "softmax", optim.SGD(net.parameters(), lr=0.05))
    assert step._lanes[0].core is not None
    x, y = _data("float64")
    real = wired_core._kernels()

    class Failing:
        def __getattr__(self, name):
            return getattr(real, name)

        @staticmethod
        def forward(*args):
            if threading.current_thread() in threads.helper_threads():
                raise FloatingPointError("block failed")
            return real.forward(*args)

    monkeypatch.setattr(wired_core, "_kernels", Failing)
    with pytest.raises(FloatingPointError, match="block failed"):
        step(x, y)
    monkeypatch.setattr(wired_core, "_kernels", lambda: real)
    twin = wired()
    plain = make_step(twin, "softmax", optim.SGD(twin.parameters(), lr=0.05), compiled=False)
    for _ in range(2):
        np.testing.assert_allclose(step(x, y), plain(x, y), rtol=1e-12)
    assert step.lanes_used == 2


def test_bad_labels_are_named_and_blas_gets_its_threads_back(monkeypatch):
    if threads.usable_cores() < 2:
        pytest.skip("one core: no lanes")
    monkeypatch.setattr(fast_graph, "MIN_CORE_LANE_WORK", 1)  # lanes for a small net
    net = nn.randomly_wired(16, 4, "ws", n_nodes=6, width=8, seed=0, dtype="float64")
    step = make_step(net, "softmax", optim.SGD(net.parameters(), lr=0.05))
    x = np.random.default_rng(0).standard_normal((128, 16))
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas.num_threads()
        with pytest.raises(ValueError, match=r"labels must hold class labels in \[0, 4\)"):
            step(x, np.full(128, 9))
        assert blas.num_threads() == before
        step(x, np.zeros(128, int))
        assert blas.num_threads() == before
        if blas.available() and threads.usable_cores() >= 2:
            assert step.lanes_used == 2  # BLAS on 2 threads, 2 cores, 64 rows per lane
    with threadpool_limits(limits=1, user_api="blas"):
        step(x, np.zeros(128, int))
        assert step.lanes_used == 1  # BLAS on one thread: no thread to lend


def test_lanes_get_enough_work_each():
    net = nn.randomly_wired(100, 10, "ws", n_nodes=8, width=40, seed=0)
    step = make_step(net, "softmax", optim.SGD(net.parameters(), lr=0.01))
    assert step._lanes[0].core is not None  # the wired nodes run as one call
    # The input Linear, 8 wired nodes and the classifier; with the output Mean, 11 nodes.
    per_node = (100 * 40 + 8 * 40 * 40 + 40 * 10) / 11
    assert step._weights_per_node == per_node
    with threadpool_limits(limits=2, user_api="blas"):
        two = 2 if blas.lendable_threads() >= 2 else 1
        # rows for two lanes: a million multiply-adds per node and 64 rows each
        enough = max(-(-2 * fast_graph.MIN_CORE_LANE_WORK // per_node),
                     2 * fast_graph.MIN_CORE_LANE_ROWS)
        assert step.lanes_for(int(enough)) == two
        assert step.lanes_for(int(enough) - 1) == 1
        assert step.lanes_for(10**9) == two  # never more than BLAS's threads
    with threadpool_limits(limits=1, user_api="blas"):
        assert step.lanes_for(10**9) == 1


def test_lanes_of_a_graph_walked_node_by_node_get_more_work_each():
    model = splittable()  # a Linear between two wired nodes: no core
    step = make_step(model, "softmax", optim.SGD(model.parameters(), lr=0.01))
    assert step._lanes[0].core is None
    with threadpool_limits(limits=2, user_api="blas"):
        two = 2 if blas.lendable_threads() >= 2 else 1
        enough = -(-2 * fast_graph.MIN_LANE_WORK // step._weights_per_node)
        assert step.lanes_for(int(enough)) == two
        assert step.lanes_for(int(enough) - 1) == 1


def test_lanes_allocate_no_batch_sized_arrays(lanes, peak_new_bytes):
    lanes(2)
    net = nn.randomly_wired(64, 10, "ws", n_nodes=8, width=128, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((512, 64), dtype=np.float32), rng.integers(0, 10, 512)
    step = make_step(net, "softmax", optim.SGD(net.parameters(), lr=0.01, momentum=0.9))
    new_peak = peak_new_bytes(step, x, y)
    assert step.lanes_used == 2
    # Allowed: the scores, their gradient and NumPy's own 8192-element buffer of a broadcast sum.
    lane_array = 256 * 128 * 4
    assert new_peak < lane_array, f"{new_peak} bytes allocated per step"


def test_set_num_threads_sets_what_num_threads_reads():
    if not blas.available():
        pytest.skip("NumPy's BLAS not found")
    with threadpool_limits(limits=2, user_api="blas"):
        assert blas.set_num_threads(1) and blas.num_threads() == 1
        assert blas.set_num_threads(2) and blas.num_threads() == 2
    with pytest.raises(ValueError, match="n must be a positive number of threads, got 0"):
        blas.set_num_threads(0)
