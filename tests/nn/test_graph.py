"""``nn.Graph``: finite differences and PyTorch autograd as oracles, a chain equal to ``Sequential``
bit for bit, the construction checks, model files, and the array namespaces."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warpnet import io, nn
from warpnet.nn.wired import Mean, WeightedSum

RNG = np.random.default_rng(0)


def randomize(module: nn.Module, seed: int = 1) -> nn.Module:
    """Every parameter drawn from N(0, 0.7^2) (merge weights off their symmetric start at 0)."""
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        p.value[...] = rng.standard_normal(p.shape) * 0.7
    return module


def wired(*args, **kwargs) -> nn.Graph:
    """A randomly wired net with its He-initialized matrices, random merge weights and biases."""
    g = nn.randomly_wired(*args, dtype="float64", **kwargs)
    rng = np.random.default_rng(7)
    for name, p in g.named_parameters():
        if not name.endswith("linear.weight"):
            p.value[...] = rng.standard_normal(p.shape) * 0.5
    return g


def branching_graph(dtype: str = "float64") -> nn.Graph:
    """Two input nodes, fan-out (a feeds b, c and e), fan-in by sum (d = b + c), a skip connection
    (a -> e past b, c, d), a weighted-sum merge, and two outputs of widths 3 and 4."""
    nodes = {
        "a": nn.Linear(5, 4, rng=1, dtype=dtype),
        "p": nn.Linear(5, 4, rng=2, dtype=dtype),   # second input node
        "b": nn.Tanh(),
        "c": nn.Linear(4, 4, rng=3, dtype=dtype),
        "d": nn.Sigmoid(),                           # receives b + c + p
        "m": WeightedSum(2, dtype=dtype),            # merge of d and a (skip connection)
        "e": nn.Linear(4, 3, rng=4, dtype=dtype),    # output 1
        "f": nn.Softplus(),                          # output 2, fed by m
    }
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("p", "d"), ("d", "m"), ("a", "m"),
             ("m", "e"), ("m", "f")]
    return randomize(nn.Graph(nodes, edges, inputs=["a", "p"], outputs=["e", "f"]))


# -- gradients ----------------------------------------------------------------------------------

def test_gradcheck_fan_in_fan_out_skip_and_several_outputs():
    g = branching_graph()
    assert (g.in_features, g.out_features) == (5, 7)
    x = RNG.standard_normal((6, 5))
    errors = nn.gradcheck(g, x, per_array=True)
    assert set(errors) >= {"x", "a.weight", "p.weight", "c.weight", "m.weight", "e.bias"}
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("graph,params", [("ws", {"k": 2, "p": 0.5}), ("er", {"p": 0.5}),
                                          ("ba", {"m": 2})])
def test_gradcheck_randomly_wired(graph, params):
    g = wired(6, 3, graph, n_nodes=7, width=4, seed=3, **params)
    # Rounding dominates the difference quotient here (error 2e-7 at h=1e-6, 1e-7 at 1e-5, 1e-9
    # at 1e-4: it falls as h grows), so a larger step measures the analytic gradient best.
    assert nn.gradcheck(g, RNG.standard_normal((4, 6)), h=1e-4) < 1e-7


def test_chain_graph_equals_sequential_exactly():
    seq = nn.mlp([7, 9, 8, 5], activation="tanh", rng=0)
    chain = nn.Graph(copy.deepcopy(seq.layers), [(str(i), str(i + 1)) for i in range(4)],
                     inputs=["0"], outputs=["4"])
    x = RNG.standard_normal((10, 7)).astype(np.float32)
    dout = RNG.standard_normal((10, 5)).astype(np.float32)
    np.testing.assert_array_equal(chain.forward(x), seq.forward(x))
    seq.zero_grad()
    chain.zero_grad()
    np.testing.assert_array_equal(chain.backward(dout), seq.backward(dout))
    for (name, p), (name2, q) in zip(chain.named_parameters(), seq.named_parameters(), strict=True):
        assert name == name2
        np.testing.assert_array_equal(p.grad, q.grad)


def test_need_dx_false_gives_the_same_parameter_gradients():
    g = branching_graph()
    x = RNG.standard_normal((6, 5))
    dout = RNG.standard_normal((6, 7))
    g.forward(x)
    g.zero_grad()
    assert g.backward(dout) is not None
    first = [p.grad.copy() for p in g.parameters()]
    g.forward(x)
    g.zero_grad()
    assert g.backward(dout, need_dx=False) is None
    for a, p in zip(first, g.parameters(), strict=True):
        np.testing.assert_array_equal(a, p.grad)


def test_backward_does_not_write_into_dout():
    g = branching_graph()
    dout = RNG.standard_normal((3, 7))
    kept = dout.copy()
    g.forward(RNG.standard_normal((3, 5)))
    g.backward(dout)
    np.testing.assert_array_equal(dout, kept)


# -- PyTorch autograd on the same DAG -------------------------------------------------------------

torch = pytest.importorskip("torch")


def torch_forward(module: nn.Module, ins: list, params: dict, prefix: str):
    """The module's function written with torch operations (autograd differentiates it)."""
    F = torch.nn.functional
    if isinstance(module, nn.Graph):
        values: dict[str, object] = {}
        for n in module.order:
            node_ins = ([ins[0]] if n in module.inputs else []) + \
                [values[p] for p in module.predecessors(n)]
            values[n] = torch_forward(module.nodes[n], node_ins, params, f"{prefix}{n}.")
        return torch.cat([values[n] for n in module.outputs], dim=1)
    if isinstance(module, WeightedSum):
        s = torch.sigmoid(params[prefix + "weight"])
        return sum(s[i] * x for i, x in enumerate(ins))
    if isinstance(module, Mean):
        return sum(ins) / len(ins)
    if isinstance(module, nn.WiredNode):
        h = torch.relu(torch_forward(module.aggregate, ins, params, prefix + "aggregate."))
        return torch_forward(module.linear, [h], params, prefix + "linear.")
    x = sum(ins[1:], ins[0])  # a plain module with several inputs receives their sum
    if isinstance(module, nn.Sequential):
        for i, layer in enumerate(module):
            x = torch_forward(layer, [x], params, f"{prefix}{i}.")
        return x
    if isinstance(module, nn.Linear):
        return x @ params[prefix + "weight"] + params[prefix + "bias"]
    ops = {nn.ReLU: torch.relu, nn.Tanh: torch.tanh, nn.Sigmoid: torch.sigmoid, nn.Softplus: F.softplus}
    return ops[type(module)](x)


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.mark.parametrize("make", [
    branching_graph,
    lambda: wired(8, 7, "ws", n_nodes=12, width=6, seed=0),
    lambda: wired(8, 7, "ba", n_nodes=9, width=5, seed=1, m=3),
])
def test_same_loss_and_gradients_as_pytorch_autograd(make):
    g = make()
    x = RNG.standard_normal((11, g.in_features))
    y = RNG.integers(0, 7, 11)
    loss, dscores = nn.SoftmaxCrossEntropy()(g.forward(x), y)
    g.zero_grad()
    dx = g.backward(dscores)

    params = {n: torch.tensor(p.value, requires_grad=True) for n, p in g.named_parameters()}
    tx = torch.tensor(x, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(torch_forward(g, [tx], params, ""), torch.tensor(y))
    tloss.backward()
    assert abs(float(loss) - tloss.item()) <= 1e-10 * abs(tloss.item())
    assert relative(dx, tx.grad.numpy()) < 1e-10
    for name, p in g.named_parameters():
        assert relative(p.grad, params[name].grad.numpy()) < 1e-10, name


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 7), st.data())
def test_any_random_dag_of_linear_nodes_matches_autograd(n, data):
    """Hypothesis draws DAGs (edges from lower to higher index; every node reaches the last)."""
    edges = []
    for j in range(1, n):
        preds = data.draw(st.lists(st.integers(0, j - 1), min_size=1, max_size=j, unique=True))
        edges += [(str(i), str(j)) for i in sorted(preds)]
    for i in range(n - 1):  # a node without a successor feeds the last node
        if not any(a == str(i) for a, _ in edges):
            edges.append((str(i), str(n - 1)))
    nodes = [nn.Linear(3, 3, rng=i, dtype="float64") for i in range(n)]
    g = randomize(nn.Graph(nodes, edges, inputs=["0"], outputs=[str(n - 1)]), seed=n)
    x = RNG.standard_normal((4, 3))
    dout = RNG.standard_normal((4, 3))
    g.forward(x)
    g.zero_grad()
    dx = g.backward(dout)
    params = {k: torch.tensor(p.value, requires_grad=True) for k, p in g.named_parameters()}
    tx = torch.tensor(x, requires_grad=True)
    (torch_forward(g, [tx], params, "") * torch.tensor(dout)).sum().backward()
    assert relative(dx, tx.grad.numpy()) < 1e-10
    for k, p in g.named_parameters():
        assert relative(p.grad, params[k].grad.numpy()) < 1e-10


# -- construction checks -------------------------------------------------------------------------

def lin(i: int = 4, o: int = 4) -> nn.Linear:
    return nn.Linear(i, o)


@pytest.mark.parametrize("nodes,edges,inputs,outputs,match", [
    ({"a": lin(), "b": lin(), "c": lin()}, [("a", "b"), ("b", "c"), ("c", "b")], ["a"], ["c"],
     r"cycle 'b' -> 'c' -> 'b'"),
    ({"a": lin(), "b": lin()}, [("b", "b"), ("a", "b")], ["a"], ["b"], r"cycle 'b' -> 'b'"),
    # a node downstream of the cycle ('d') sorts before the cycle's nodes by name
    ({"d": lin(), "a": lin(), "b": lin(), "c": lin()}, [("a", "b"), ("b", "c"), ("c", "d"), ("c", "b")],
     ["a"], ["d"], r"cycle 'b' -> 'c' -> 'b'"),
    ({"a": lin(), "b": lin(), "c": lin(), "x": lin()}, [("a", "x"), ("x", "b"), ("b", "c"), ("c", "x")],
     ["a"], ["c"], r"cycle 'x' -> 'b' -> 'c' -> 'x'|cycle 'b' -> 'c' -> 'x' -> 'b'"),
    ({"a": lin(), "b": lin()}, [("a", "z")], ["a"], ["b"], r"unknown node 'z'"),
    ({"a": lin(), "b": lin()}, [("a", "b"), ("a", "b")], ["a"], ["b"], "listed twice"),
    ({"a": lin(), "b": lin(), "c": lin()}, [("a", "c")], ["a"], ["c"], r"node 'b' has no input"),
    ({"a": lin(), "b": lin(), "c": lin()}, [("a", "b"), ("a", "c")], ["a"], ["c"],
     r"node 'b' reaches no output"),
    ({"a": lin(4, 3), "b": lin(), "c": lin(3, 2)}, [("a", "c"), ("b", "c")], ["a", "b"], ["c"],
     r"node 'c' has inputs of different widths \('a': 3, 'b': 4\)"),
    ({"a": lin(4, 3), "b": nn.ReLU(), "c": lin(4, 2)}, [("a", "b"), ("b", "c")], ["a"], ["c"],
     r"node 'c' .* expects inputs of width 4, but its inputs have width 3"),
    ({"a": lin(3, 4), "b": lin(4, 4)}, [("a", "b")], ["a", "b"], ["b"], "input node 'b' has an"),
    ({"a": lin(), "m": Mean(3)}, [("a", "m")], ["a"], ["m"], r"node 'm' is a merge of 3 inputs, but 1"),
    ({"a": lin(3, 4), "b": lin(5, 4)}, [], ["a", "b"], ["a", "b"], "input nodes expect different"),
    ({"a": lin()}, [], ["x"], ["a"], r"inputs names an unknown node 'x'"),
    ({"a": lin()}, [], ["a"], [], "outputs must be a non-empty list"),
    ({"a.b": lin()}, [], ["a.b"], ["a.b"], "without '.'"),
])
def test_bad_graphs_are_refused_naming_the_node(nodes, edges, inputs, outputs, match):
    with pytest.raises(ValueError, match=match):
        nn.Graph(nodes, edges, inputs, outputs)


def test_a_node_that_is_not_a_module_is_refused():
    with pytest.raises(TypeError, match="node 'a' must be a Module"):
        nn.Graph({"a": "relu"}, [], ["a"], ["a"])


def test_backward_before_forward_and_bad_dout():
    g = branching_graph()
    with pytest.raises(RuntimeError, match="before forward"):
        g.backward(np.zeros((2, 7)))
    g.forward(RNG.standard_normal((2, 5)))
    with pytest.raises(ValueError, match=r"dout must have shape \(N, 7\)"):
        g.backward(np.zeros((2, 6)))


def test_train_and_eval_reach_every_node():
    g = nn.Graph({"a": lin(), "d": nn.Dropout(0.5, rng=0)}, [("a", "d")], ["a"], ["d"])
    g.eval()
    assert not any(m.training for m in g.modules())
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(g.forward(x), g.nodes["a"].forward(x))
    g.train()
    assert all(m.training for m in g.modules())


# -- model files ----------------------------------------------------------------------------------

def test_saved_and_loaded_graph_predicts_identically(tmp_path):
    g = branching_graph("float32")
    path = tmp_path / "g.safetensors"
    io.save(g, path)
    loaded = io.load(path).model
    assert isinstance(loaded, nn.Graph)
    assert loaded.edges == g.edges and loaded.order == g.order
    x = RNG.standard_normal((9, 5)).astype(np.float32)
    np.testing.assert_array_equal(loaded.forward(x), g.eval().forward(x))


class _Faked:
    """An object io.dumps accepts, with a config written by hand."""

    def __init__(self, config, state):
        self.config, self.state = config, state

    def get_config(self):
        return self.config

    def state_dict(self):
        return self.state


def test_model_file_whose_edges_are_not_a_dag_is_refused(tmp_path):
    g = nn.Graph({"a": lin(), "b": lin()}, [("a", "b")], ["a"], ["b"])
    config = g.get_config()
    config["nodes"]["c"] = lin().get_config()
    config["edges"] += [["b", "c"], ["c", "b"]]
    state = {**g.state_dict(), "c.weight": np.zeros((4, 4), np.float32),
             "c.bias": np.zeros(4, np.float32)}
    path = tmp_path / "cyclic.safetensors"
    path.write_bytes(io.dumps(_Faked(config, state)))
    with pytest.raises(ValueError, match=r"cycle 'b' -> 'c' -> 'b'"):
        io.load(path)


def test_from_config_refuses_malformed_configs():
    with pytest.raises(ValueError, match="'nodes'"):
        nn.build({"type": "Graph", "nodes": [], "edges": []})
    with pytest.raises(ValueError, match="'edges'"):
        nn.build({"type": "Graph", "nodes": {}, "edges": "ab"})


# -- array namespaces ------------------------------------------------------------------------------

def test_runs_on_every_namespace(xp):
    g = branching_graph()
    x = RNG.standard_normal((5, 5))
    dout = RNG.standard_normal((5, 7))
    ref_y = g.forward(x)
    g.zero_grad()
    ref_dx = g.backward(dout)
    ref_grads = [np.array(p.grad) for p in g.parameters()]
    g.to(xp)
    y = g.forward(xp.asarray(x))
    g.zero_grad()
    dx = g.backward(xp.asarray(dout))
    np.testing.assert_allclose(np.asarray(y), ref_y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(dx), ref_dx, rtol=1e-12, atol=1e-12)
    for a, p in zip(ref_grads, g.parameters(), strict=True):
        np.testing.assert_allclose(np.asarray(p.grad), a, rtol=1e-12, atol=1e-12)


# -- export to PyTorch and back ----------------------------------------------------------------------

@pytest.mark.parametrize("make", [branching_graph, lambda: wired(8, 4, "er", n_nodes=10, width=5,
                                                                   seed=2, p=0.4)])
def test_to_torch_and_back(make):
    from warpnet.io import from_torch, to_torch

    g = make().eval()
    x = RNG.standard_normal((6, g.in_features))
    t = to_torch(g)
    tx = torch.tensor(x, requires_grad=True)
    ty = t(tx)
    np.testing.assert_allclose(ty.detach().numpy(), g.forward(x), rtol=1e-12, atol=1e-12)
    dout = RNG.standard_normal(tuple(ty.shape))
    (ty * torch.tensor(dout)).sum().backward()
    g.zero_grad()
    np.testing.assert_allclose(tx.grad.numpy(), g.backward(dout), rtol=1e-10, atol=1e-12)
    back = from_torch(t)[0]
    assert isinstance(back, nn.Graph) and back.edges == g.edges
    np.testing.assert_array_equal(back.forward(x), g.forward(x))


@pytest.mark.parametrize("edges,inputs,outputs,match", [
    ([(["a"], "b")], ["a"], ["b"], r"edge \(\['a'\], 'b'\): node names are strings, got list"),
    ([("a", {"b": 1})], ["a"], ["b"], r"node names are strings, got dict"),
    ([(0, "b")], ["a"], ["b"], r"node names are strings, got int"),
    ([("a", "b")], [["a"]], ["b"], r"inputs must list node names \(strings\), got list"),
    ([("a", "b")], ["a"], [("b",)], r"outputs must list node names \(strings\), got tuple"),
])
def test_node_names_of_the_wrong_type_are_named(edges, inputs, outputs, match):
    with pytest.raises(TypeError, match=match):
        nn.Graph({"a": lin(), "b": lin()}, edges, inputs, outputs)


def test_an_edge_given_as_bytes_is_not_taken_for_a_pair_of_numbers():
    with pytest.raises(ValueError, match=r"each edge must be a \(source, target\) pair, got b'ab'"):
        nn.Graph({"a": lin(), "b": lin()}, [b"ab"], ["a"], ["b"])


@pytest.mark.parametrize("config", [["Graph"], "Graph", None])
def test_from_config_of_something_not_a_dict_is_named(config):
    with pytest.raises(ValueError, match="Graph config must be a dict"):
        nn.Graph.from_config(config)


def test_an_output_that_is_also_an_input_is_a_valid_graph():
    # one node both reads x and is returned: the graph is that module
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    g = nn.Graph({"a": lin()}, [], ["a"], ["a"])
    np.testing.assert_array_equal(g.forward(x), g.nodes["a"].forward(x))
    # an input node returned beside a later node: both outputs, concatenated
    g = nn.Graph({"a": lin(), "b": lin()}, [("a", "b")], ["a"], ["a", "b"])
    ya = g.nodes["a"].forward(x)
    np.testing.assert_array_equal(g.forward(x), np.concatenate([ya, g.nodes["b"].forward(ya)], 1))


def test_depths_of_a_long_chain_are_its_positions_and_come_at_once():
    import time

    n = 20_000
    g = nn.Graph({str(i): nn.ReLU() for i in range(n)}, [(str(i), str(i + 1)) for i in range(n - 1)],
                 ["0"], [str(n - 1)])
    start = time.perf_counter()
    depth = g.depths()
    assert depth == {str(i): i for i in range(n)}
    # linear in nodes + edges: well under a second (a scan of the edges per node took minutes)
    assert time.perf_counter() - start < 5.0


def test_depths_are_longest_path_lengths():
    nx = pytest.importorskip("networkx")
    g = wired(8, 4, "er", n_nodes=12, width=3, seed=3, p=0.4)
    dag = nx.DiGraph(g.edges)
    want = {n: max((len(p) - 1 for s in g.inputs for p in nx.all_simple_paths(dag, s, n)), default=0)
            for n in g.nodes}
    assert g.depths() == want


def _returns_an_input_node() -> nn.Graph:
    return nn.Graph({"a": nn.Linear(4, 3, rng=1), "b": nn.Linear(3, 3, rng=2)}, [("a", "b")], ["a"],
                    ["a", "b"])


def _returns_a_node_twice_over() -> nn.Graph:
    return nn.Graph({"a": nn.Linear(4, 3, rng=1), "b": nn.Tanh()}, [("a", "b")], ["a"], ["b", "a"])


@pytest.mark.parametrize("make", [_returns_an_input_node, _returns_a_node_twice_over])
@pytest.mark.parametrize("layout", ["fortran", "strided", "one row", "float16"])
def test_compiled_and_plain_steps_agree_on_unusual_graphs_and_inputs(make, layout):
    from warpnet import optim
    from warpnet.train import make_step

    x = RNG.standard_normal((7, 8)).astype(np.float32)
    x = {"fortran": np.asfortranarray(x[:, :4]), "strided": x[:, ::2], "one row": x[:1, :4],
         "float16": x[:, :4].astype(np.float16)}[layout]
    y = np.arange(len(x)) % 6
    runs = []
    for compiled in (False, True):
        g = make()
        step = make_step(g, "softmax", optim.SGD(g.parameters(), lr=0.1, momentum=0.9),
                         compiled=compiled)
        if compiled:
            pytest.importorskip("numba")
            assert step.compiled  # the graph's compiled step, not the plain one again
        losses = [step(x, y) for _ in range(3)]
        runs.append((losses, [np.asarray(p.value) for p in g.parameters()]))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    for plain, fast in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_allclose(plain, fast, rtol=1e-4, atol=1e-6)
