import numpy as np
import pytest

from warpnet.viz._common import accuracy
from warpnet.viz.feature_transform import fit_feature_transform, plot_feature_transform, rings, to_polar


@pytest.fixture(scope="module")
def trained():
    x, y = rings(seed=0)
    return x, y, fit_feature_transform(x, y, seed=0)


def test_polar_coordinates_by_hand():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, -1.0]])
    np.testing.assert_allclose(to_polar(x), [[1, 0], [2, np.pi / 2], [3, np.pi], [1, -np.pi / 2]])


def test_rings_separable_in_polar_not_in_xy(trained):
    x, y, (model_xy, model_polar) = trained
    assert accuracy(model_polar, to_polar(x), y) == 1.0
    assert accuracy(model_xy, x, y) < 0.8


@pytest.mark.parametrize("seed", [1, 2])
def test_separation_holds_for_other_seeds(seed):
    x, y = rings(seed=seed)
    model_xy, model_polar = fit_feature_transform(x, y, seed=seed)
    assert accuracy(model_polar, to_polar(x), y) == 1.0
    assert accuracy(model_xy, x, y) < 0.8


def test_figure_shows_the_data_in_both_spaces(trained, assert_not_blank, artists):
    x, y, models = trained
    fig = plot_feature_transform(x, y, *models)
    assert_not_blank(fig)
    xy, polar = artists(fig, "points")
    np.testing.assert_array_equal(xy.get_offsets(), x)
    np.testing.assert_allclose(polar.get_offsets(), to_polar(x))
    assert "100%" in fig.axes[1].get_title()


def test_bad_points_are_refused(trained):
    _, _, models = trained
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot_feature_transform(np.zeros((4, 3)), np.zeros(4, int), *models)
    with pytest.raises(ValueError, match="class indices"):
        plot_feature_transform(np.zeros((4, 2)), np.zeros(3, int), *models)
