import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from warpnet.data import TOY_CLASSIFICATION, TOY_REGRESSION, make_toy

CASES = [(name, c) for name, (_, allowed, _) in TOY_CLASSIFICATION.items() for c in allowed]


@pytest.mark.parametrize("name, n_classes", CASES)
def test_shapes_balance_and_determinism(name, n_classes):
    ds = make_toy(name, n=103, noise=0.1, seed=7, n_classes=n_classes)
    assert ds.x.shape == (103, 2) and ds.x.dtype == np.float64
    assert ds.y.dtype == np.int64 and ds.class_names == [str(k) for k in range(n_classes)]
    counts = np.bincount(ds.y, minlength=n_classes)
    assert len(counts) == n_classes
    if name != "xor":  # xor labels follow the quadrant the point falls in
        assert counts.max() - counts.min() <= 1
    again = make_toy(name, n=103, noise=0.1, seed=7, n_classes=n_classes)
    np.testing.assert_array_equal(ds.x, again.x)
    np.testing.assert_array_equal(ds.y, again.y)
    other = make_toy(name, n=103, noise=0.1, seed=8, n_classes=n_classes)
    assert not np.array_equal(ds.x, other.x)


def test_labels_are_shuffled():
    y = make_toy("gauss", n=60, seed=0).y
    assert not np.array_equal(y, np.sort(y))


def test_noise_free_geometry():
    c = make_toy("circle", n=90, noise=0.0, n_classes=3)
    np.testing.assert_allclose(np.hypot(*c.x.T), (c.y + 1) / 3)
    x = make_toy("xor", n=200, noise=0.0)
    np.testing.assert_array_equal(x.y, (x.x[:, 0] * x.x[:, 1] < 0).astype(int))
    m = make_toy("moons", n=100, noise=0.0)
    up, lo = m.x[m.y == 0], m.x[m.y == 1]
    np.testing.assert_allclose(np.hypot(*up.T), 1.0)
    np.testing.assert_allclose(np.hypot(lo[:, 0] - 1, lo[:, 1] - 0.5), 1.0)
    s = make_toy("spiral", n=90, noise=0.0, n_classes=3)
    t = np.hypot(*s.x.T)
    expected = np.mod(4 * t + 2 * np.pi * s.y / 3, 2 * np.pi)
    got = np.mod(np.arctan2(s.x[:, 0], s.x[:, 1]), 2 * np.pi)
    diff = np.angle(np.exp(1j * (got - expected)))  # compare angles on the circle
    np.testing.assert_allclose(diff[t > 1e-9], 0.0, atol=1e-9)


def test_gauss_centres():
    g = make_toy("gauss", n=3000, noise=0.0, n_classes=4, seed=1)
    for k in range(4):
        centre = [np.cos(np.pi * k / 2), np.sin(np.pi * k / 2)]
        np.testing.assert_allclose(g.x[g.y == k].mean(axis=0), centre, atol=0.03)


def test_xor_needs_a_nonlinear_model():
    # Independent check with scikit-learn: a line cannot separate xor, neighbours can.
    ds = make_toy("xor", n=400, noise=0.02, seed=0)
    linear = LogisticRegression().fit(ds.x, ds.y).score(ds.x, ds.y)
    knn = KNeighborsClassifier(5).fit(ds.x, ds.y).score(ds.x, ds.y)
    assert linear < 0.7 and knn > 0.95


@pytest.mark.parametrize("name", list(TOY_REGRESSION))
def test_regression_targets(name):
    ds = make_toy(name, n=50, noise=0.0, seed=3)
    assert ds.x.shape == (50, 1) and ds.y.shape == (50,) and ds.y.dtype == np.float64
    assert ds.class_names == [] and ds.n_classes == 0
    assert np.all(np.abs(ds.x) <= 1)
    by_hand = {"sine": np.sin(np.pi * ds.x[:, 0]), "abs": np.abs(ds.x[:, 0]),
               "step": (ds.x[:, 0] > 0).astype(float)}[name]
    np.testing.assert_allclose(ds.y, by_hand)
    noisy = make_toy(name, n=2000, noise=0.5, seed=3)
    residual = noisy.y - TOY_REGRESSION[name](noisy.x[:, 0])
    assert 0.45 < residual.std() < 0.55


def test_generator_seed_and_global_state_untouched():
    state = np.random.get_state()[1].copy()
    rng = np.random.default_rng(5)
    a = make_toy("spiral", seed=rng)
    b = make_toy("spiral", seed=rng)  # the generator advanced
    assert not np.array_equal(a.x, b.x)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"name": "donut"}, ValueError, "unknown toy data set 'donut'"),
        ({"name": "xor", "n_classes": 3}, ValueError, r"supports n_classes in \[2\]"),
        ({"name": "spiral", "n_classes": 6}, ValueError, "supports n_classes"),
        ({"name": "circle", "n_classes": 1}, ValueError, "supports n_classes"),
        ({"name": "gauss", "n_classes": 2.0}, TypeError, "n_classes must be an int"),
        ({"name": "sine", "n_classes": 2}, ValueError, "regression"),
        ({"name": "gauss", "n": 2, "n_classes": 3}, ValueError, "at least n_classes"),
        ({"name": "sine", "n": 0}, ValueError, "n must be >= 1"),
        ({"name": "moons", "n": 10.0}, TypeError, "n must be an int"),
        ({"name": "moons", "noise": -0.1}, ValueError, "noise"),
        ({"name": "moons", "noise": float("nan")}, ValueError, "noise"),
        ({"name": "moons", "seed": 1.5}, TypeError, "seed"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_toy(**kwargs)
