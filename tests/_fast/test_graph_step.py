"""The compiled step of a ``Graph`` equals the plain step (``Graph.forward``/``backward`` and the
optimizer's rule): float64 to 1e-12, float32 close, on randomly wired nets and on graphs with every
kind of node, fan-in, fan-out, skip connections and several outputs."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from warpnet import nn, optim
from warpnet._fast import fused
from warpnet._fast.graph import GraphStep, compile_graph_step
from warpnet.nn.wired import Mean, WeightedSum, WiredNode
from warpnet.train import Step, make_step

pytestmark = pytest.mark.skipif(not fused.available(), reason="numba is not installed")

RULES = [("sgd", {"lr": 0.05}), ("sgd", {"lr": 0.05, "momentum": 0.9}),
         ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
         ("rmsprop", {"lr": 0.01, "decay": 0.9}),
         ("adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.01}),
         ("adamw", {"lr": 0.01, "weight_decay": 0.05})]


def wired(dtype="float64", graph="ws", norm=None, **params):
    """A small randomly wired net with random merge weights and biases (off their start at 0)."""
    net = nn.randomly_wired(10, 4, graph, n_nodes=9, width=6, seed=3, dtype=dtype, norm=norm,
                            **params)
    rng = np.random.default_rng(7)
    for name, p in net.named_parameters():
        if not name.endswith("linear.weight"):
            p.value[...] = rng.standard_normal(p.shape) * 0.5
    return net


def every_kind(dtype="float64"):
    """Wired nodes as input nodes (reading x) and inside, a Linear node with predecessors (its dx
    pushed back), a sum into a plain module, a Mean feeding a wired node that also reads the
    Mean's input (a gradient added to the Mean's), a WeightedSum and a Sequential run by their own
    backward, and two outputs."""
    rng = np.random.default_rng(1)
    nodes = {
        "in1": WiredNode(1, 10, rng=1, dtype=dtype),         # reads x
        "in2": nn.Linear(10, 10, rng=2, dtype=dtype),        # reads x
        "w": WiredNode(2, 10, rng=3, dtype=dtype),           # in1 + in2
        "lin": nn.Linear(10, 10, rng=4, dtype=dtype),        # w, with dx
        "t": nn.Tanh(),                                      # in1 + lin, a sum
        "mean": Mean(3),                                     # w, lin, t
        "v": WiredNode(2, 10, rng=5, dtype=dtype),           # mean and w: w's gradient adds up
        "ws": WeightedSum(2, dtype=dtype),                   # v, t
        "head": nn.Sequential(nn.ReLU(), nn.Linear(10, 3, rng=6, dtype=dtype)),
        "side": nn.Sequential(nn.Linear(10, 6, rng=7, dtype=dtype), nn.Tanh(), nn.ReLU(),
                              nn.Linear(6, 2, rng=8, dtype=dtype)),  # second output, from mean
    }
    edges = [("in1", "w"), ("in2", "w"), ("w", "lin"), ("in1", "t"), ("lin", "t"), ("w", "mean"),
             ("lin", "mean"), ("t", "mean"), ("mean", "v"), ("w", "v"), ("v", "ws"), ("t", "ws"),
             ("ws", "head"), ("mean", "side")]
    g = nn.Graph(nodes, edges, inputs=["in1", "in2"], outputs=["head", "side"])
    for name, p in g.named_parameters():
        p.value[...] = rng.standard_normal(p.shape) * (0.3 if name.endswith("weight") else 0.5)
    return g


def _data(dtype, in_features=10, classes=4, n=23, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, in_features)).astype(dtype), rng.integers(0, classes, n)


def _run(model, compiled, rule="sgd", kwargs=None, penalty=None, loss="softmax", steps=4,
         batches=None):
    model = copy.deepcopy(model)
    opt = optim.optimizer(rule, model.parameters(), **(kwargs or {"lr": 0.05, "momentum": 0.9}))
    step = make_step(model, loss, opt, penalty, compiled=compiled)
    assert step.compiled is compiled
    assert isinstance(step, GraphStep if compiled else Step)
    dtype = model.parameters()[0].value.dtype
    batches = batches or [_data(dtype, model.in_features, model.out_features)] * steps
    losses, scores = [], []
    for x, y in batches:
        losses.append(step(x, y))
        scores.append(np.array(step.scores))
    return (losses, scores, [p.value.copy() for p in model.parameters()],
            [p.grad.copy() for p in model.parameters()])


def _assert_equal(a, b, tol):
    for got, want in zip(a, b, strict=True):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


@pytest.mark.parametrize("rule, kwargs", RULES, ids=lambda v: str(v))
@pytest.mark.parametrize("penalty", [None, nn.L2(0.01), nn.L1(0.003)], ids=repr)
def test_the_compiled_graph_step_equals_the_plain_step_in_float64(rule, kwargs, penalty):
    if rule == "adamw" and type(penalty) is nn.L2:
        pytest.skip("AdamW with an L2 penalty runs the plain step (tested below)")
    net = wired()
    plain = _run(net, False, rule, kwargs, penalty)
    compiled = _run(net, True, rule, kwargs, penalty)
    if type(penalty) is nn.L2:  # the compiled .grad holds the data gradient only, as in CompiledStep
        plain, compiled = plain[:3], compiled[:3]
    _assert_equal(compiled, plain, 1e-12)


@pytest.mark.parametrize("graph, params", [("ws", {"k": 2, "p": 0.5}), ("er", {"p": 0.5}),
                                           ("ba", {"m": 2})])
@pytest.mark.parametrize("norm", [None, "batch", "layer"])
def test_every_graph_family_and_normalisation(graph, params, norm):
    # (Not Adam here: a normalisation leaves the Linear's bias a gradient of rounding noise only,
    # ~1e-17, which Adam's update scales up to full steps whose sign is the noise's.)
    net = wired(graph=graph, norm=norm, **params)
    _assert_equal(_run(net, True), _run(net, False), 1e-12)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_every_kind_of_node_fan_in_fan_out_and_two_outputs(loss):
    g = every_kind()
    plain = _run(g, False, loss=loss, penalty=nn.L1(0.001))
    compiled = _run(g, True, loss=loss, penalty=nn.L1(0.001))
    _assert_equal(compiled, plain, 1e-12)
    assert plain[1][0].shape == (23, 5)


def test_float32_is_close_to_the_plain_step():
    for net in (wired("float32"), every_kind("float32")):
        plain, compiled = _run(net, False), _run(net, True)
        _assert_equal(compiled[:3], plain[:3], 2e-5)
        _assert_equal(compiled[3:], plain[3:], 1e-4)


def test_batches_of_several_sizes_and_the_last_smaller_one():
    net = wired()
    batches = [_data("float64", n=n, seed=n) for n in (23, 23, 7, 23, 1)]
    _assert_equal(_run(net, True, batches=batches), _run(net, False, batches=batches), 1e-12)


def test_the_first_step_equals_the_graphs_own_forward_and_backward():
    """An oracle independent of the step classes: the model's forward, the loss, its backward."""
    net = every_kind()
    x, y = _data("float64", classes=5)
    reference = copy.deepcopy(net)
    scores = reference.forward(x)
    loss, dscores = nn.SoftmaxCrossEntropy()(scores, y)
    reference.backward(dscores, need_dx=False)
    step = make_step(net, "softmax", optim.SGD(net.parameters(), lr=0.1))
    got_loss, got_scores = step.gradients(x, y)
    np.testing.assert_allclose(got_loss, loss, rtol=1e-13)
    np.testing.assert_allclose(got_scores, scores, rtol=1e-13, atol=1e-14)
    for (name, p), q in zip(net.named_parameters(), reference.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-12, atol=1e-13, err_msg=name)


def test_scores_are_fresh_and_parameters_replaced_later_are_followed():
    net = wired()
    x, y = _data("float64")
    step = make_step(net, "softmax", optim.SGD(net.parameters(), lr=0.05, momentum=0.9))
    step(x, y)
    first = step.scores
    step(x, y)
    assert first is not step.scores and not np.shares_memory(first, step.scores)
    # Load other weights the way a checkpoint might: new arrays in place of the old ones.
    other = wired(graph="ws")
    for p, q in zip(net.parameters(), other.parameters(), strict=True):
        p.value = q.value.copy()
    twin = copy.deepcopy(other)
    twin_step = make_step(twin, "softmax", optim.SGD(twin.parameters(), lr=0.05, momentum=0.9),
                          compiled=False)
    twin_step.optimizer.state = copy.deepcopy(step.optimizer.state)
    twin_step.optimizer.steps = step.optimizer.steps
    for _ in range(2):
        np.testing.assert_allclose(step(x, y), twin_step(x, y), rtol=1e-12)
    for p, q in zip(net.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(p.value, q.value, rtol=1e-12, atol=1e-14)


def test_inputs_it_does_not_take_go_through_the_plain_step_and_its_checks():
    net = wired("float32")
    step = make_step(net, "softmax", optim.SGD(net.parameters(), lr=0.05))
    assert step.compiled
    assert np.isfinite(step(np.ones((4, 10)), np.array([0, 1, 2, 3])))  # float64: plain promotion
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 10\)"):
        step(np.ones((4, 5), np.float32), np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match=r"labels must hold class labels in \[0, 4\)"):
        step(np.ones((4, 10), np.float32), np.array([0, 1, 0, 7]))
    assert np.isfinite(step(np.ones((4, 10), np.float32), np.array([0, 1, 2, 3])))


@pytest.mark.parametrize("case", ["unknown optimizer", "subset optimizer", "unknown loss",
                                  "AdamW with L2", "mixed dtypes", "not a graph"])
def test_what_it_does_not_know_runs_the_plain_step(case):
    net = wired()
    params, loss, penalty = net.parameters(), nn.SoftmaxCrossEntropy(), None
    opt: optim.Optimizer = optim.SGD(params, lr=0.1)
    if case == "unknown optimizer":
        class MySGD(optim.SGD):
            pass
        opt = MySGD(params, lr=0.1)
    elif case == "subset optimizer":
        opt = optim.SGD(params[:3], lr=0.1)
    elif case == "unknown loss":
        class MyLoss(nn.SoftmaxCrossEntropy):
            pass
        loss = MyLoss()
    elif case == "AdamW with L2":
        opt, penalty = optim.AdamW(params, lr=0.1), nn.L2(0.1)
    elif case == "mixed dtypes":
        params[0].value = params[0].value.astype(np.float32)
    else:
        assert compile_graph_step(nn.mlp([3, 4, 2]), loss, opt) is None
        return
    assert compile_graph_step(net, loss, opt, penalty) is None
    assert isinstance(make_step(net, loss, opt, penalty), Step)


def test_a_graph_step_allocates_no_batch_sized_arrays(peak_new_bytes):
    net = nn.randomly_wired(64, 10, "ws", n_nodes=8, width=128, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((128, 64), dtype=np.float32), rng.integers(0, 10, 128)
    step = make_step(net, "softmax", optim.SGD(net.parameters(), lr=0.01, momentum=0.9))
    new_peak = peak_new_bytes(step, x, y)
    batch_array = 128 * 128 * 4
    assert new_peak < batch_array, f"{new_peak} bytes allocated per step"


def test_the_optimizer_state_and_values_stay_the_parameters_own():
    """The flat arrays are views: the optimizer's state_dict, the parameters' values and a model
    built from the same config and values all see the step's numbers."""
    net, twin = wired(), wired()
    x, y = _data("float64")
    before = [p.value.copy() for p in net.parameters()]
    opts = [optim.Adam(m.parameters(), lr=0.01) for m in (net, twin)]
    fast = make_step(net, "softmax", opts[0])
    for p, b in zip(net.parameters(), before, strict=True):  # building the step changes no value
        np.testing.assert_array_equal(p.value, b)
    plain = make_step(twin, "softmax", opts[1], compiled=False)
    for _ in range(3):
        fast(x, y)
        plain(x, y)
    mine, theirs = opts[0].state_dict(), opts[1].state_dict()
    assert mine["steps"] == theirs["steps"] == 3
    for a, b in zip(mine["state"], theirs["state"], strict=True):
        assert a.keys() == b.keys() == {"exp_avg", "exp_avg_sq"}
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(net.forward(x), twin.forward(x), rtol=1e-12)
