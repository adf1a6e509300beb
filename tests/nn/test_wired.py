"""``nn.randomly_wired``: the graph it builds, its seeds, its parameter checks, and that it learns."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from warpnet import nn
from warpnet.nn.wired import Mean, WeightedSum, count_parameters, random_dag

nx = pytest.importorskip("networkx")


def test_importing_the_engine_does_not_import_networkx():
    code = "import sys, warpnet.nn; print('networkx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("graph,params", [("ws", {}), ("er", {}), ("ba", {}), ("ws", {"k": 6}),
                                          ("er", {"p": 0.5}), ("ba", {"m": 2})])
def test_structure_follows_the_random_graph(graph, params):
    g = nn.randomly_wired(10, 4, graph, n_nodes=16, width=8, seed=5, **params)
    dag = random_dag(graph, 16, np.random.default_rng(5), **params)
    # the DAG: every edge from a lower to a higher index, the undirected graph connected
    assert all(a < b for a, b in dag)
    assert nx.is_connected(nx.Graph(dag))
    inner = [(int(a), int(b)) for a, b in g.edges if a.isdigit() and b.isdigit()]
    assert sorted(inner) == dag
    sources = {b for a, b in g.edges if a == "input"}
    sinks = {a for a, b in g.edges if b == "output"}
    assert sources == {str(j) for j in range(16) if all(b != j for _, b in dag)}
    assert sinks == {str(i) for i in range(16) if all(a != i for a, _ in dag)}
    for j in range(16):
        node = g.nodes[str(j)]
        assert isinstance(node, nn.WiredNode)
        assert node.n_inputs == len(g.predecessors(str(j)))
    assert isinstance(g.nodes["output"], Mean) and g.nodes["output"].n_inputs == len(sinks)
    assert (g.in_features, g.out_features) == (10, 4)
    assert g.forward(np.ones((3, 10), np.float32)).shape == (3, 4)


def test_paper_defaults():
    family = nn.GRAPHS.get
    assert family("ws").defaults == {"k": 4, "p": 0.75}
    assert family("er").defaults == {"p": 0.2}
    assert family("ba").defaults == {"m": 5}


def test_same_seed_same_graph_and_weights_other_seed_other_graph():
    a = nn.randomly_wired(12, 3, "ws", n_nodes=20, width=8, seed=11)
    b = nn.randomly_wired(12, 3, "ws", n_nodes=20, width=8, seed=11)
    c = nn.randomly_wired(12, 3, "ws", n_nodes=20, width=8, seed=12)
    assert a.edges == b.edges and a.get_config() == b.get_config()
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value, err_msg=name)
    assert a.edges != c.edges


def test_weighted_sum_weights_stay_positive_and_start_at_one_half():
    ws = WeightedSum(3, dtype="float64")
    xs = [np.full((2, 4), float(i + 1)) for i in range(3)]
    np.testing.assert_allclose(ws.forward_many(xs), np.full((2, 4), 0.5 * (1 + 2 + 3)))
    ws.weight.value[...] = [-800.0, 0.0, 800.0]  # the sigmoid stays finite and in [0, 1]
    with np.errstate(over="raise"):
        np.testing.assert_allclose(ws.forward_many(xs), np.full((2, 4), 0.5 * 2 + 3))


def test_parameter_count():
    g = nn.randomly_wired(30, 5, "ba", n_nodes=8, width=6, seed=0, m=2)
    dag = random_dag("ba", 8, np.random.default_rng(0), m=2)
    n_in = sum(max(1, sum(b == j for _, b in dag)) for j in range(8))
    expected = (30 * 6 + 6) + 8 * (6 * 6 + 6) + n_in + (6 * 5 + 5)
    assert count_parameters(g) == expected


@pytest.mark.parametrize("graph,params,match", [
    ("ws", {"k": 3}, "k must be an even integer"),
    ("ws", {"k": 16}, r"2 <= k < n_nodes = 16"),
    ("ws", {"k": 0}, "k must be an even"),
    ("ws", {"p": 1.5}, r"p must be a probability in \[0, 1\], got p=1.5"),
    ("er", {"p": -0.1}, "Erdos-Renyi p must be a probability"),
    ("er", {"p": float("nan")}, "Erdos-Renyi p must be a probability"),
    ("ba", {"m": 16}, r"1 <= m < n_nodes = 16"),
    ("ba", {"m": 0}, "Barabasi-Albert m"),
    ("ws", {"m": 2}, r"take parameters \['k', 'p'\], got unknown \['m'\]"),
    ("xx", {}, "unknown random graph 'xx'"),
    ("er", {"p": 0.01}, "gave no connected graph in 100 draws"),
    ("ws", {"p": "0.5"}, r"p must be a probability in \[0, 1\], got p='0.5'"),
    ("ws", {"k": 4.0}, "k must be an even integer"),
    ("ws", {"k": "4"}, "k must be an even integer"),
    ("ba", {"m": 2.0}, "Barabasi-Albert m must be an integer"),
    ("er", {"p": np.float32(np.nan)}, "Erdos-Renyi p must be a probability"),
])
def test_bad_graph_parameters_name_the_parameter(graph, params, match):
    with pytest.raises(ValueError, match=match):
        nn.randomly_wired(8, 2, graph, n_nodes=16, width=4, seed=0, **params)


@pytest.mark.parametrize("kwargs,match", [
    ({"n_nodes": 1}, r"n_nodes must be an integer in 2..10000, got 1"),
    ({"width": 0}, "width must be a positive integer"),
    ({"in_features": 2.5}, "in_features must be a positive integer"),
    ({"dtype": "int8"}, "dtype must be one of"),
    # refused before anything is drawn or allocated (these would hang or exhaust memory)
    ({"n_nodes": 10**7}, r"n_nodes must be an integer in 2..10000, got 10000000"),
    ({"n_nodes": 10**30}, r"n_nodes must be an integer in 2..10000"),
    ({"n_nodes": 8.0}, r"n_nodes must be an integer in 2..10000, got 8.0"),
    ({"n_nodes": True}, r"n_nodes must be an integer in 2..10000, got True"),
    ({"width": 10**12}, r"width=1000000000000 with n_nodes=6 gives about .* parameters, more than"),
    ({"width": 20_000, "n_nodes": 6}, r"width=20000 with n_nodes=6 .* use a smaller width"),
    ({"width": True}, "width must be a positive integer, got True"),
    ({"width": -1}, "width must be a positive integer, got -1"),
])
def test_bad_sizes(kwargs, match):
    args = {"in_features": 8, "out_features": 2, "graph": "ba", "n_nodes": 6, "width": 4,
            "m": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        nn.randomly_wired(**args)


def test_a_wired_net_learns_spirals_with_the_trainer():
    from warpnet.data import make_toy
    from warpnet.train import Trainer

    data = make_toy("spiral", 300, noise=0.1, seed=0)
    x, y = data.x, data.y
    net = nn.randomly_wired(2, int(y.max()) + 1, "ws", n_nodes=8, width=32, seed=0)
    trainer = Trainer(net, "softmax", "adam", lr=0.01, epochs=60, batch_size=32, seed=0, verbose=0)
    history = trainer.fit(x.astype(np.float32), y)
    assert history.loss[-1] < 0.4 * history.loss[0]
    assert trainer.evaluate(x.astype(np.float32), y)["accuracy"] > 0.9


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_nodes_with_normalisation_pass_gradcheck_save_and_export(norm, tmp_path):
    net = nn.randomly_wired(5, 3, "ws", n_nodes=6, width=4, seed=0, dtype="float64", norm=norm,
                            k=2, p=0.5)
    assert all(type(net.nodes[str(j)].norm) is nn.NORMS.get(norm) for j in range(6))
    rng = np.random.default_rng(1)
    for name, p in net.named_parameters():  # zero biases would put whole rows on ReLU's kink
        if name.endswith("bias"):
            p.value[...] = rng.normal(0.0, 0.5, p.shape)
    x = rng.normal(size=(7, 5))
    errors = nn.gradcheck(net, x, h=1e-4, per_array=True)
    if norm == "batch":
        # Batch normalisation undoes a shift (the Linear's bias) and a scale (a one-input node's
        # aggregation weight, through ReLU and Linear) of its input: those gradients are zero up
        # to rounding, where relative errors mean nothing; check them absolutely instead.
        for name, p in net.named_parameters():
            if np.abs(p.grad).max() < 1e-9:
                errors.pop(name)
        assert any(name.endswith("linear.bias") for name in dict(net.named_parameters())
                   if name not in errors)
    # Near-invariant directions leave the aggregation weights' gradients small, so centred
    # differences carry a few 1e-5 of relative error there; a wrong gradient is off by ~1.
    assert max(errors.values()) < (1e-4 if norm == "batch" else 1e-6)
    net.forward(x)  # running statistics move away from their start
    rebuilt = nn.build(net.get_config())
    rebuilt.load_state_dict(net.state_dict())
    net.eval(), rebuilt.eval()
    np.testing.assert_array_equal(rebuilt.forward(x), net.forward(x))
    torch = pytest.importorskip("torch")
    from warpnet import io

    twin = io.to_torch(net)
    np.testing.assert_allclose(twin(torch.from_numpy(x)).detach().numpy(), net.forward(x), rtol=1e-10,
                               atol=1e-12)
    back = io.from_torch(twin)
    back.eval()
    np.testing.assert_allclose(back.forward(x), net.forward(x), rtol=1e-12, atol=1e-12)


def test_an_unknown_norm_is_refused():
    with pytest.raises(ValueError, match="norm must be None or one of"):
        nn.randomly_wired(5, 3, "ws", n_nodes=6, width=4, seed=0, norm="group", k=2, p=0.5)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_mean_and_weighted_sum_leave_their_inputs_alone(k):
    """Both add into a new array in place: their inputs (other nodes' outputs) keep their values."""
    rng = np.random.default_rng(k)
    xs = [rng.standard_normal((4, 3)) for _ in range(k)]
    kept = [x.copy() for x in xs]
    np.testing.assert_allclose(Mean(k).forward_many(xs), sum(kept) / k, rtol=1e-15)
    ws = WeightedSum(k, dtype="float64")
    s = 1 / (1 + np.exp(-ws.weight.value))
    want = sum(si * x for si, x in zip(s, kept, strict=True))
    np.testing.assert_allclose(ws.forward_many(xs), want, rtol=1e-15)
    for x, before in zip(xs, kept, strict=True):
        np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("graph,params", [("ws", {"k": np.int64(2), "p": np.float32(0.5)}),
                                          ("er", {"p": np.float32(0.5)}), ("ba", {"m": np.int32(2)})])
def test_numpy_scalars_are_graph_parameters_like_python_numbers(graph, params):
    as_python = {k: v.item() for k, v in params.items()}
    a = nn.randomly_wired(8, 2, graph, n_nodes=10, width=4, seed=0, **params)
    b = nn.randomly_wired(8, 2, graph, n_nodes=10, width=4, seed=0, **as_python)
    assert a.edges == b.edges


@pytest.mark.parametrize("seed,error,match", [
    ("x", TypeError, "rng must be an int seed"), (1.5, TypeError, "rng must be an int seed"),
    (True, TypeError, "rng must be an int seed"), (-1, ValueError, "non-negative seed"),
])
def test_seeds_of_the_wrong_kind_are_named(seed, error, match):
    with pytest.raises(error, match=match):
        nn.randomly_wired(8, 2, "ba", n_nodes=6, width=4, seed=seed, m=2)
