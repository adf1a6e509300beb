import numpy as np
import pytest

from warpnet.viz._common import accuracy
from warpnet.viz.capacity import HIDDEN_SIZES, L2_STRENGTHS, capacity_data, fit_capacity, plot_capacity


@pytest.fixture(scope="module")
def trained():
    x, y = capacity_data(seed=0)
    return x, y, fit_capacity(x, y, seed=0)


def test_one_model_per_panel_in_order(trained):
    _, _, models = trained
    titles = list(models)
    assert len(titles) == len(HIDDEN_SIZES) + len(L2_STRENGTHS)
    assert titles[0] == "3 hidden units" and titles[-1] == "20 units, L2 0.1"
    assert [m[0].out_features for m in models.values()] == [3, 6, 20, 20, 20, 20]


def test_capacity_and_regularization_move_the_fit(trained):
    x, y, models = trained
    acc = {title: accuracy(m, x, y) for title, m in models.items()}
    # More units fit the spiral better; a stronger penalty fits it worse.
    assert acc["3 hidden units"] < acc["20 hidden units"]
    assert acc["20 units, L2 0.001"] > acc["20 units, L2 0.1"]
    # The penalty shrinks the weights it acts on.
    norms = [float(np.sum(np.asarray(models[f"20 units, L2 {s:g}"][0].weight.value) ** 2))
             for s in L2_STRENGTHS]
    assert norms[0] > norms[1] > norms[2]


def test_figure(trained, assert_not_blank):
    x, y, models = trained
    fig = plot_capacity(models, x, y)
    assert_not_blank(fig)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 6
    for ax, (title, model) in zip(visible, models.items(), strict=True):
        assert ax.get_title().startswith(title)
        assert f"{accuracy(model, x, y):.0%}" in ax.get_title()


def test_empty_models_are_refused(trained):
    x, y, _ = trained
    with pytest.raises(ValueError, match="empty"):
        plot_capacity({}, x, y)
