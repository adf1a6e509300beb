"""``draw`` and ``to_dot``: every recorded tensor appears once, labelled by operation and shape."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from matplotlib.figure import Figure

from warpnet import autograd
from warpnet.autograd import Tensor
from warpnet.autograd.draw import layout, node_label
from warpnet.autograd.tensor import graph_nodes


def small_loss() -> Tensor:
    w = Tensor(np.ones((3, 2)), requires_grad=True, name="W")
    x = Tensor(np.ones((4, 3)), name="x")
    h = autograd.maximum(x @ w, 0.0)
    return (h * h).sum() + 0.5 * (w ** 2).sum()


def test_labels_give_operation_or_name_and_shape():
    loss = small_loss()
    labels = [node_label(t) for t in graph_nodes(loss)]
    assert labels[0] == "+\n()"
    for expected in ["W\n(3, 2)", "x\n(4, 3)", "@\n(4, 2)", "maximum\n(4, 2)", "**2\n(3, 2)", "0.5\n()",
                     "sum\n()", "*\n(4, 2)"]:
        assert expected in labels
    assert len(labels) == len(set(map(id, graph_nodes(loss))))


def test_dot_source_has_one_node_per_tensor_and_one_arrow_per_operand():
    loss = small_loss()
    nodes = graph_nodes(loss)
    dot = autograd.to_dot(loss)
    assert dot.startswith("digraph") and dot.count("[label=") == len(nodes)
    assert dot.count(" -> ") == sum(len(t.parents) for t in nodes)  # h * h: two arrows
    assert '"@\\n(4, 2)"' in dot


def test_layout_puts_every_operand_left_of_its_result():
    nodes, pos = layout(small_loss())
    index = {id(t): i for i, t in enumerate(nodes)}
    for i, t in enumerate(nodes):
        for p in t.parents:
            assert pos[index[id(p)], 0] < pos[i, 0]
    assert pos[0, 0] == pos[:, 0].max()  # the loss is rightmost
    assert len({tuple(p) for p in pos}) == len(nodes)  # no two boxes on one spot


def test_matplotlib_drawing_shows_every_label():
    loss = small_loss()
    fig = autograd.draw(loss, engine="matplotlib", title="a loss")
    assert isinstance(fig, Figure)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]  # arrows are empty texts
    assert sorted(texts) == sorted(node_label(t) for t in graph_nodes(loss))
    assert len(fig.axes[0].texts) - len(texts) == sum(len(t.parents) for t in graph_nodes(loss))
    fig.canvas.draw()  # renders without error


def test_draw_after_backward_still_shows_the_graph():
    loss = small_loss()
    loss.backward()
    assert len(graph_nodes(loss)) == len(graph_nodes(small_loss()))
    autograd.draw(loss, engine="matplotlib")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_drawing():
    fig = autograd.draw(small_loss(), engine="graphviz")
    assert fig.axes[0].images


def test_bad_arguments():
    with pytest.raises(TypeError, match="expects a Tensor"):
        autograd.draw(np.ones(2))
    with pytest.raises(ValueError, match="engine must be one of"):
        autograd.draw(small_loss(), engine="tikz")
    if shutil.which("dot") is None:
        with pytest.raises(RuntimeError, match="dot"):
            autograd.draw(small_loss(), engine="graphviz")


def test_a_graph_too_large_to_draw_is_refused_with_its_size():
    x = Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(400):
        y = y * 1.0
    with pytest.raises(ValueError, match=r"has 801 tensors.*max_nodes=300"):
        autograd.draw(y)
    assert autograd.to_dot(y).count("->") == 800  # the source has no such limit
