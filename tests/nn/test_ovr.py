"""OneVsAllHinge: hand formula, PyTorch, finite differences, independence of the classes."""

import numpy as np
import pytest
import torch

from warpnet import nn
from warpnet.nn import OneVsAllHinge


def data(n=7, c=4, seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=scale, size=(n, c)), rng.integers(0, c, n)


def hand_loss(scores, y, margin=1.0, squared=False):
    """sum over classes of binary hinges with targets +1 / -1, averaged over rows, by loops."""
    total = 0.0
    for i in range(scores.shape[0]):
        for c in range(scores.shape[1]):
            t = 1.0 if y[i] == c else -1.0
            h = max(0.0, margin - t * scores[i, c])
            total += h * h if squared else h
    return total / scores.shape[0]


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_loss_matches_hand_formula_and_torch(squared, margin):
    scores, y = data()
    loss, dscores = OneVsAllHinge(margin=margin, squared=squared)(scores, y)
    assert float(loss) == pytest.approx(hand_loss(scores, y, margin, squared), rel=1e-12)
    s = torch.tensor(scores, requires_grad=True)
    t = 2.0 * torch.nn.functional.one_hot(torch.tensor(y), scores.shape[1]).double() - 1.0
    hinge = torch.clamp(margin - t * s, min=0.0)
    ref = ((hinge**2 if squared else hinge).sum(dim=1)).mean()
    ref.backward()
    assert float(loss) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dscores, s.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("squared", [False, True])
def test_gradcheck(squared):
    scores, y = data(n=9, c=5, seed=1)
    # keep every hinge away from its kink, where the finite difference straddles two pieces
    t = 2.0 * np.eye(5)[y] - 1.0
    near = np.abs(1.0 - t * scores) < 1e-3
    scores[near] += 0.1
    assert nn.gradcheck(OneVsAllHinge(squared=squared), scores, y) < 1e-6


def test_sample_weight_is_a_weighted_mean():
    scores, y = data(n=6)
    w = np.array([1.0, 2.0, 0.0, 1.0, 3.0, 1.0])
    loss, d = OneVsAllHinge()(scores, y, sample_weight=w)
    rows = [OneVsAllHinge()(scores[i:i + 1], y[i:i + 1])[0] for i in range(6)]
    assert float(loss) == pytest.approx(float(np.dot(w, rows) / w.sum()))
    assert np.all(d[2] == 0)


def test_classes_are_independent_binary_problems():
    """The gradient of column c equals that of the binary hinge of class c against the rest."""
    scores, y = data(n=10, c=3, seed=2)
    _, d = OneVsAllHinge()(scores, y)
    for c in range(3):
        margin = np.where(y == c, 1.0, -1.0) * scores[:, c]
        binary = -np.where(y == c, 1.0, -1.0) * (margin < 1.0) / len(y)
        np.testing.assert_allclose(d[:, c], binary)


def test_registered_and_validated():
    assert isinstance(nn.loss("svm_ovr"), OneVsAllHinge)
    assert OneVsAllHinge(squared=True).get_config() == {
        "type": "OneVsAllHinge", "margin": 1.0, "squared": True}
    with pytest.raises(ValueError, match="margin"):
        OneVsAllHinge(margin=0)
    with pytest.raises(ValueError, match="squared"):
        OneVsAllHinge(squared="yes")
    with pytest.raises(ValueError, match="NaN"):
        OneVsAllHinge()(np.array([[np.nan, 1.0]]), np.array([0]))
    with pytest.raises(ValueError, match="labels"):
        OneVsAllHinge()(np.zeros((2, 3)), np.array([0, 3]))


def test_float32_stays_float32():
    scores, y = data()
    loss, d = OneVsAllHinge()(scores.astype(np.float32), y)
    assert d.dtype == np.float32


def test_squared_variant_by_name():
    scores, y = data()
    a = nn.loss("svm_ovr_squared")(scores, y)
    b = OneVsAllHinge(squared=True)(scores, y)
    assert float(a[0]) == float(b[0])
    np.testing.assert_array_equal(a[1], b[1])
