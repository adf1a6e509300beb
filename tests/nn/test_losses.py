"""Losses: stable for extreme scores, correct starting value, clear errors for bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from warpnet import nn

LOSS_NAMES = ["softmax", "svm"]


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_extreme_float32_scores_are_finite_without_warnings(name):
    rng = np.random.default_rng(0)
    scores = (rng.choice([-1e4, 1e4], size=(64, 10)) * rng.random((64, 10))).astype(np.float32)
    scores[:, 0] = 1e4
    scores[:, 1] = -1e4
    y = rng.integers(0, 10, 64)
    # exp of a score far below its row's maximum underflows to 0 (its probability): no error
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dscores = nn.loss(name)(scores, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dscores))
    assert dscores.dtype == np.float32


def test_softmax_loss_of_extreme_scores_is_exact():
    scores = np.array([[1e4, -1e4]], dtype=np.float32)
    loss, _ = nn.SoftmaxCrossEntropy()(scores, np.array([1]))
    assert float(loss) == pytest.approx(2e4, rel=1e-6)  # not capped by the exp floor


def test_fresh_network_starts_near_ln_c():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 50)).astype(np.float32)
    y = rng.integers(0, 10, 500)
    for sizes in ([50, 100, 10], [50, 64, 64, 64, 10]):
        loss, _ = nn.SoftmaxCrossEntropy()(nn.mlp(sizes, rng=1)(x), y)
        assert abs(float(loss) - math.log(10)) < 0.05


def test_softmax_matches_definition():
    rng = np.random.default_rng(3)
    scores, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    p = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    loss, d = nn.SoftmaxCrossEntropy()(scores, y)
    assert float(loss) == pytest.approx(-np.log(p[np.arange(5), y]).mean())
    np.testing.assert_allclose(nn.softmax(scores), p)


def test_svm_matches_definition():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])  # the lecture's cat/car/frog example: losses 2.9, 0, 12.9
    loss, _ = nn.MulticlassSVM()(scores, y)
    assert float(loss) == pytest.approx((2.9 + 0 + 12.9) / 3)


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("scores, y, error, match", [
    (np.zeros((3, 4)), np.array([0, 1, 4]), ValueError, r"\[0, 4\)"),
    (np.zeros((3, 4)), np.array([0, -1, 2]), ValueError, r"\[0, 4\)"),
    (np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]), TypeError, "integers"),
    (np.zeros((3, 4)), np.array([0, 1]), ValueError, "2 labels, but scores has 3 samples"),
    (np.zeros((0, 4)), np.zeros(0, int), ValueError, "empty"),
    (np.array([[0.0, np.nan]]), np.array([0]), ValueError, "NaN"),
    (np.array([[0.0, np.inf]]), np.array([0]), ValueError, "NaN or inf"),
    (np.zeros(4), np.array([0]), ValueError, r"\(N, C\)"),
    (np.zeros((2, 3), dtype=int), np.array([0, 1]), TypeError, "floating"),
])
def test_bad_input(name, scores, y, error, match):
    with pytest.raises(error, match=match):
        nn.loss(name)(scores, y)


def test_losses_do_not_modify_inputs():
    rng = np.random.default_rng(0)
    scores, y, t = rng.standard_normal((6, 3)), rng.integers(0, 3, 6), rng.standard_normal((6, 3))
    copies = scores.copy(), y.copy(), t.copy()
    nn.SoftmaxCrossEntropy()(scores, y)
    nn.MulticlassSVM()(scores, y)
    nn.MSE()(scores, t)
    for a, b in zip((scores, y, t), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_unknown_loss_lists_names():
    with pytest.raises(ValueError, match="softmax, svm, mse"):
        nn.loss("hinge2")
    with pytest.raises(ValueError, match="margin"):
        nn.MulticlassSVM(margin=0)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSE("max")
