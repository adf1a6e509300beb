"""``random-wiring``: the graph drawn by depth with edges as thick as their learned weights, and the
curves of the wired net beside the MLP of the same size."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn
from warpnet.nn.wired import count_parameters
from warpnet.train.history import History
from warpnet.viz.random_wiring import edge_weights, fit_random_wiring, layout, plot_random_wiring

pytest.importorskip("networkx")


@pytest.fixture(scope="module")
def trained():
    return fit_random_wiring("ba", n_nodes=6, width=8, epochs=3, seed=0, m=2)


def test_both_nets_train_with_the_same_budget_and_size(trained):
    net, wired, mlp, hidden = trained
    assert len(wired) == len(mlp) == 3
    mlp_params = (64 + 1) * hidden + (hidden + 1) * 10
    assert abs(mlp_params - count_parameters(net)) <= 64 + 1 + 10  # the closest whole width
    assert wired.val_accuracy[-1] > 0.3 and mlp.val_accuracy[-1] > 0.3  # chance: 0.1


def test_layout_puts_each_node_at_its_depth(trained):
    net = trained[0]
    pos = layout(net)
    for a, b in net.edges:
        assert pos[a][0] < pos[b][0]  # every edge points to a deeper node
    assert pos["input"][0] == 0 and pos["classifier"][0] == max(x for x, _ in pos.values())


def test_edge_widths_follow_the_learned_weights(trained, artists, assert_not_blank):
    net, wired, mlp, _ = trained
    weights = edge_weights(net)
    node = next(n for n in net.nodes if isinstance(net.nodes[n], nn.WiredNode)
                and net.nodes[n].n_inputs > 1)
    w = net.nodes[node].aggregate.weight.value
    for i, p in enumerate(net.predecessors(node)):
        assert weights[(p, node)] == pytest.approx(1 / (1 + np.exp(-w[i])))
    fig = plot_random_wiring(net, wired, mlp)
    edges = artists(fig, "edge")
    assert len(edges) == len(net.edges)
    for line, edge in zip(edges, net.edges, strict=True):
        assert line.get_linewidth() == pytest.approx(0.3 + 3.0 * weights[edge])
    for gid in ("wired_val_accuracy", "mlp_val_accuracy", "wired_val_loss", "mlp_val_loss", "node"):
        assert artists(fig, gid)
    assert_not_blank(fig)


def test_bad_input(trained):
    net, wired, mlp, _ = trained
    with pytest.raises(TypeError, match="Graph"):
        plot_random_wiring(nn.mlp([2, 2]), wired, mlp)
    with pytest.raises(ValueError, match="no validation accuracy"):
        plot_random_wiring(net, History([{"epoch": 1, "loss": 1.0, "train_accuracy": 0.5,
                                          "val_loss": None, "val_accuracy": None, "lr": 0.1,
                                          "seconds": 1.0}]), mlp)
