"""The ``computational-graph`` figure: the lecture's total loss, drawn from its recorded graph."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn
from warpnet.autograd.tensor import graph_nodes
from warpnet.viz import make_figures
from warpnet.viz.computational_graph import lecture_loss, plot_computational_graph


def test_the_lecture_loss_has_its_inputs_and_equals_the_engine():
    loss = lecture_loss(sizes=(6, 5, 3), batch=8, reg=0.01, seed=0)
    names = {t.name for t in graph_nodes(loss) if t.name}
    assert {"x", "W1", "b1", "W2", "b2"} <= names
    leaves = {t.name: t for t in graph_nodes(loss) if t.name}
    rng = np.random.default_rng(0)  # the same draws as lecture_loss
    x, y = rng.standard_normal((8, 6)), rng.integers(0, 3, 8)
    model = nn.mlp([6, 5, 3], dtype="float64")
    for p, name in zip(model.parameters(), ["W1", "b1", "W2", "b2"], strict=True):
        p.value[...] = leaves[name].value
    data, _ = nn.MulticlassSVM()(model.forward(x), y)
    expected = float(data) + nn.L2(0.01).value(model.parameters())
    assert float(loss.value) == pytest.approx(expected, rel=1e-12)


def test_bad_sizes():
    with pytest.raises(ValueError, match="sizes and batch"):
        lecture_loss(sizes=(0, 5, 3))


def test_the_figure_is_written_by_make_figures(tmp_path):
    written = make_figures(["computational-graph"], tmp_path)
    assert written == [tmp_path / "computational-graph.png"]
    assert written[0].read_bytes().startswith(b"\x89PNG")
    fig = plot_computational_graph(engine="matplotlib")
    assert any("W1" in t.get_text() for t in fig.axes[0].texts)
