"""The compiled loops that a penalty's and softmax cross-entropy's call take on NumPy arrays
(``fused.penalty_gradient``, ``fused.softmax_cross_entropy``; ``fused=None``): the formula's
numbers, and the formula wherever the loop does not apply."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn
from warpnet._fast import fused, step

needs_numba = pytest.mark.skipif(not fused.available(), reason="numba is not installed")


def _params(dtype, rng: int = 0) -> list[nn.Parameter]:
    """A weight with exact zeros (sign 0), a non-contiguous one, a bias, all with gradients."""
    r = np.random.default_rng(rng)
    w = r.standard_normal((37, 29)).astype(dtype)
    w[::5] = 0.0
    strided = np.asfortranarray(r.standard_normal((6, 9)).astype(dtype))
    params = [nn.Parameter(w), nn.Parameter(strided), nn.Parameter(r.standard_normal(29).astype(dtype),
                                                                   regularize=False)]
    for p in params:
        p.grad = r.standard_normal(p.shape).astype(dtype)
    return params


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["l2", "l1"])
def test_the_loop_adds_the_formulas_gradient_and_returns_the_sum(dtype, kind):
    rng = np.random.default_rng(3)
    w = rng.standard_normal((300, 11)).astype(dtype)
    w[:, 0] = 0.0
    g = rng.standard_normal(w.shape).astype(dtype)
    expected = g + (2 * 0.3 * w if kind == "l2" else 0.3 * np.sign(w))
    total = fused.penalty_gradient(kind, w, g, 0.3)
    w64 = w.astype(np.float64)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(total, np.sum(w64 ** 2) if kind == "l2" else np.sum(np.abs(w64)), rtol=tol)
    np.testing.assert_allclose(g, expected, rtol=tol, atol=tol)


@needs_numba
@pytest.mark.parametrize("kind", ["l2", "l1"])
def test_a_large_array_split_over_threads_gives_the_same_gradient(monkeypatch, kind):
    rng = np.random.default_rng(4)
    w, g = (rng.standard_normal((447, 7)).astype(np.float32) for _ in range(2))
    g1 = g.copy()
    one = fused.penalty_gradient(kind, w, g1, 0.01)
    parts = []
    monkeypatch.setattr(fused, "PARALLEL_MIN_ELEMENTS", 100)
    monkeypatch.setattr(fused.blas, "num_threads", lambda: 2)
    monkeypatch.setattr(fused._threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(fused.blas, "release_idle_threads", lambda: True)
    monkeypatch.setattr(fused._threads, "run", lambda fn, ps: parts.extend(ps) or [fn(p) for p in ps])
    split = fused.penalty_gradient(kind, w, g, 0.01)
    assert len(parts) == 2
    np.testing.assert_array_equal(g, g1)
    np.testing.assert_allclose(split, one, rtol=1e-6)


@needs_numba
@pytest.mark.parametrize("case", ["strided", "read-only gradient", "other dtype", "other size", "list"])
def test_the_loop_refuses_what_it_cannot_do_and_changes_nothing(case):
    w = np.ones((4, 6), np.float32)
    g = np.zeros((4, 6), np.float32)
    if case == "strided":
        g = np.zeros((6, 4), np.float32).T
    elif case == "read-only gradient":
        g.flags.writeable = False
    elif case == "other dtype":
        w = w.astype(np.float64)
    elif case == "other size":
        w = np.ones(5, np.float32)
    elif case == "list":
        w = w.tolist()
    before = np.array(g, copy=True)
    assert fused.penalty_gradient("l2", w, g, 0.1) is None
    np.testing.assert_array_equal(g, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", [nn.L2, nn.L1])
def test_a_call_equals_the_formulas_with_or_without_the_loop(dtype, cls):
    fast, plain = _params(dtype), _params(dtype)
    value = cls(0.05)(fast)
    expected = cls(0.05, fused=False)(plain)
    assert value == pytest.approx(expected, rel=1e-6 if dtype == np.float32 else 1e-13)
    for a, b in zip(fast, plain, strict=True):
        np.testing.assert_array_equal(a.grad, b.grad)  # elementwise: the same rounding


@needs_numba
def test_a_call_on_numpy_arrays_takes_the_loop_and_the_formula_for_what_it_refuses(monkeypatch):
    taken = []
    real = fused.penalty_gradient
    monkeypatch.setattr(fused, "penalty_gradient",
                        lambda *args: taken.append(real(*args)) or taken[-1])
    params = _params(np.float32)
    nn.L2(0.1)(params)
    assert len(taken) == 2  # both weights offered, not the bias
    assert taken[0] is not None and taken[1] is None  # the strided weight: the formula
    taken.clear()
    nn.L2(0.1, fused=False)(params)
    assert not taken


def test_a_subclass_runs_its_own_formula():
    class Doubled(nn.L2):
        def _add_gradient(self, p):
            p.grad += 4.0 * self.strength * p.value

    p = nn.Parameter(np.ones((3, 2), np.float32))
    assert step.fused_penalty(Doubled(0.5), [p]) is None
    Doubled(0.5)([p])
    np.testing.assert_array_equal(p.grad, 2.0)


def test_zero_strength_adds_nothing():
    p = nn.Parameter(np.ones((3, 2), np.float32))
    assert nn.L2(0.0)([p]) == 0.0
    np.testing.assert_array_equal(p.grad, 0.0)


def test_fused_is_checked():
    with pytest.raises(TypeError, match="fused must be None, True or False, got 'yes'"):
        nn.L2(0.1, fused="yes")
    torch = pytest.importorskip("torch")
    p = nn.Parameter(torch.ones((3, 2), dtype=torch.float64))
    with pytest.raises(ValueError, match="fused=True needs parameters that are NumPy arrays"):
        nn.L2(0.1, fused=True)([p])
    assert nn.L2(0.1)([p]) == pytest.approx(0.6)  # None: the formula on PyTorch


def _scores(dtype, n=37, c=10, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c)) * 5).astype(dtype), rng.integers(0, c, n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, c", [(1, 2), (37, 10), (200, 10), (5, 1000)])
def test_the_loss_equals_its_formula_with_or_without_the_loop(dtype, n, c):
    scores, y = _scores(dtype, n, c)
    loss, dscores = nn.SoftmaxCrossEntropy()(scores, y)
    loss_f, dscores_f = nn.SoftmaxCrossEntropy(fused=False)(scores, y)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    assert loss.dtype == loss_f.dtype == dtype and dscores.dtype == dtype
    np.testing.assert_allclose(loss, loss_f, rtol=tol)
    np.testing.assert_allclose(dscores, dscores_f, rtol=tol, atol=tol / n)


@needs_numba
def test_the_loss_takes_the_loop_only_where_it_applies(monkeypatch):
    taken = []
    real = fused.softmax_cross_entropy
    monkeypatch.setattr(fused, "softmax_cross_entropy", lambda *a: taken.append(real(*a)) or taken[-1])
    scores, y = _scores(np.float32)
    nn.SoftmaxCrossEntropy()(scores, y)
    assert len(taken) == 1 and taken[0] is not None
    nn.SoftmaxCrossEntropy(fused=False)(scores, y)
    nn.SoftmaxCrossEntropy(label_smoothing=0.1)(scores, y)
    nn.SoftmaxCrossEntropy()(scores, y, sample_weight=np.ones(len(y)))
    assert len(taken) == 1


@pytest.mark.parametrize("case, error, match", [
    ("nan", ValueError, "scores.*NaN or inf"),
    ("label", ValueError, "labels must hold class labels in"),
    ("float labels", TypeError, "labels must hold integer class labels"),
])
def test_bad_scores_or_labels_get_the_formulas_message(case, error, match):
    scores, y = _scores(np.float32)
    if case == "nan":
        scores[3, 2] = np.nan
    elif case == "label":
        y[4] = 10
    else:
        y = y.astype(np.float64)
    with pytest.raises(error, match=match):
        nn.SoftmaxCrossEntropy()(scores, y)


def test_fused_of_the_loss_is_checked():
    with pytest.raises(TypeError, match="fused must be None, True or False, got 1"):
        nn.SoftmaxCrossEntropy(fused=1)
    if not fused.available():
        with pytest.raises(ValueError, match="fused=True needs numba"):
            nn.SoftmaxCrossEntropy(fused=True)
        return
    scores, y = _scores(np.float64)
    with pytest.raises(ValueError, match="fused=True needs NumPy scores, no sample_weight"):
        nn.SoftmaxCrossEntropy(fused=True)(scores, y, sample_weight=np.ones(len(y)))
    with pytest.raises(ValueError, match="no label smoothing"):
        nn.SoftmaxCrossEntropy(label_smoothing=0.1, fused=True)(scores, y)
    loss, _ = nn.SoftmaxCrossEntropy(fused=True)(scores, y)
    assert loss == pytest.approx(float(nn.SoftmaxCrossEntropy(fused=False)(scores, y)[0]), rel=1e-13)
