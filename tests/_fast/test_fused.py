"""The compiled SGD loop: the lecture's formulas, and a clean refusal where it does not apply."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warpnet import nn, optim
from warpnet._fast import fused
from warpnet._fast.step import _compiled_update
from warpnet.train import make_step

needs_numba = pytest.mark.skipif(not fused.available(), reason="numba is not installed")


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
@pytest.mark.parametrize("decay", [0.0, 0.03])
def test_equals_the_formula(dtype, momentum, nesterov, decay):
    rng = np.random.default_rng(0)
    w, g, v = (rng.standard_normal((40, 30)).astype(dtype) for _ in range(3))
    w0, v0 = w.astype(np.float64), v.astype(np.float64)
    full = g + decay * w0
    if momentum:
        v_new = momentum * v0 + full
        w_new = w0 - 0.1 * ((full + momentum * v_new) if nesterov else v_new)
    else:
        v_new, w_new = v0, w0 - 0.1 * full
    squares = fused.sgd(w, g, v if momentum else None, 0.1, momentum, decay, nesterov)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(squares, np.sum(w0 ** 2), rtol=tol)  # of the weights before
    np.testing.assert_allclose(w, w_new, rtol=tol, atol=tol)
    np.testing.assert_allclose(v, v_new, rtol=tol, atol=tol)


def _pretend(monkeypatch, *, threads, cores=None, released=True):
    """Large updates from 100 elements on, with ``threads`` BLAS threads on ``cores`` usable cores
    (as many as threads by default) and BLAS's idle workers let go or not (``released``)."""
    monkeypatch.setattr(fused, "PARALLEL_MIN_ELEMENTS", 100)  # parts of 50 elements and up
    monkeypatch.setattr(fused.blas, "num_threads", lambda: threads)
    monkeypatch.setattr(fused._threads, "usable_cores", lambda: threads if cores is None else cores)
    monkeypatch.setattr(fused.blas, "release_idle_threads", lambda: released)


@needs_numba
@pytest.mark.parametrize("n_threads", [2, 3])
@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, True)])
def test_a_large_update_split_over_threads_equals_the_one_thread_update(monkeypatch, n_threads,
                                                                        momentum, nesterov):
    rng = np.random.default_rng(1)
    w, g, v = (rng.standard_normal((447, 7)).astype(np.float32) for _ in range(3))  # 3 blocks + 57
    w1, v1 = w.copy(), v.copy()
    one = fused.sgd(w1, g, v1 if momentum else None, 0.1, momentum, 0.01, nesterov)
    split = []
    _pretend(monkeypatch, threads=n_threads)
    monkeypatch.setattr(fused._threads, "run", lambda fn, parts: split.extend(parts) or
                        [fn(part) for part in parts])
    squares = fused.sgd(w, g, v if momentum else None, 0.1, momentum, 0.01, nesterov)
    assert len(split) == n_threads  # the update did go in parts, which cover every element once
    assert [p.start for p in split[1:]] == [p.stop for p in split[:-1]] and split[-1].stop == w.size
    assert all(p.start % fused._kernel("BLOCK") == 0 and p.stop > p.start for p in split)
    np.testing.assert_array_equal(w, w1)  # elementwise: the same numbers, bit for bit
    np.testing.assert_array_equal(v, v1)
    np.testing.assert_allclose(squares, one, rtol=1e-7)  # blocks summed in float32, not float64


@needs_numba
@pytest.mark.parametrize("update", ["sgd", "rmsprop", "adam"])
@pytest.mark.parametrize("zero", [np.float32(0), 0.0], ids=["float32 blocks", "float64 blocks"])
def test_the_sum_of_squares_of_many_float32_weights_is_nearly_exact(update, zero):
    # Summed in blocks: one float32 sum over a million squares would be off by 1e-6 or more.
    rng = np.random.default_rng(0)
    n = 1_000_003
    w = rng.standard_normal(n).astype(np.float32)
    exact = np.sum(w.astype(np.float64) ** 2)
    g, s1, s2 = (np.ones_like(w) for _ in range(3))
    f = np.float32
    args = {"sgd": (w, g, s1, f(0.1), f(0.9), f(0), False, True),
            "rmsprop": (w, g, s1, f(0.1), f(0.9), f(0.1), f(1e-8), f(0), f(1e-38)),
            "adam": (w, g, s1, s2, f(0.1), f(0.9), f(0.1), f(0.999), f(0.001), f(1e-8), f(0.1),
                     f(0.001), f(0), f(1e-38))}[update]
    squares = fused._kernel(update)(*args, zero)
    assert abs(squares - exact) <= 1e-8 * exact


@needs_numba
def test_a_large_update_goes_in_parts_of_half_the_threshold_and_up(monkeypatch):
    _pretend(monkeypatch, threads=16, cores=64)
    assert fused._parallel_parts(99) == 1
    assert fused._parallel_parts(100) == 2
    assert fused._parallel_parts(349) == 6
    assert fused._parallel_parts(10_000) == 16
    _pretend(monkeypatch, threads=16, cores=4)  # more BLAS threads than cores
    assert fused._parallel_parts(10_000) == 4


@needs_numba
def test_a_large_update_stays_on_one_thread_where_blas_workers_cannot_be_let_go(monkeypatch):
    _pretend(monkeypatch, threads=2, released=False)
    monkeypatch.setattr(fused._threads, "run", lambda fn, parts: pytest.fail("split"))
    w = np.ones(1000, np.float32)
    assert fused.sgd(w, np.ones_like(w), None, 0.5, 0.0, 0.0, False) == 1000.0
    assert w.max() == 0.5


@needs_numba
def test_a_large_update_really_split_over_helper_threads(monkeypatch):
    _pretend(monkeypatch, threads=2)
    w, v = np.ones(10_000, np.float32), np.zeros(10_000, np.float32)
    assert fused.sgd(w, np.full_like(w, 2.0), v, 0.25, 0.9, 0.0, False) == 10_000.0
    assert np.all(w == 0.5) and np.all(v == 2.0)


@needs_numba
def test_training_with_the_threaded_update_ends_with_the_same_weights(monkeypatch):
    """End to end, with the real helper threads and (on Linux with NumPy's OpenBLAS, when no other
    thread runs) the real release of BLAS's workers: every parameter of 300 elements and up is
    updated in two parts."""
    from warpnet.train import Trainer

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((120, 30)).astype(np.float32), rng.integers(0, 4, 120)

    def train():
        model = nn.mlp([30, 40, 40, 4], rng=1)
        trainer = Trainer(model, "softmax", optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                          reg=1e-3, batch_size=32, epochs=3, seed=0, verbose=0)
        trainer.fit(X, y)
        return [p.value.copy() for p in model.parameters()], trainer.history

    one_thread, history_one = train()
    monkeypatch.setattr(fused, "PARALLEL_MIN_ELEMENTS", 300)
    monkeypatch.setattr(fused.blas, "num_threads", lambda: 2)
    monkeypatch.setattr(fused._threads, "usable_cores", lambda: 2)
    release = fused.blas.release_idle_threads  # tried for real; split even where it cannot act
    monkeypatch.setattr(fused.blas, "release_idle_threads", lambda: release() or True)
    calls = []
    real_run = fused._threads.run
    monkeypatch.setattr(fused._threads, "run", lambda fn, parts: calls.append(len(parts))
                        or real_run(fn, parts))
    threaded, history_threaded = train()
    assert calls and set(calls) == {2}  # the 30 x 40 and 40 x 40 weights went in two parts
    for a, b in zip(one_thread, threaded, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(history_threaded.loss, history_one.loss, rtol=1e-6)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, kwargs", [("rmsprop", {"lr": 0.01, "decay": 0.9}),
                                          ("adam", {"lr": 0.01, "betas": (0.8, 0.99)})])
def test_rmsprop_and_adam_loops_equal_the_array_path(monkeypatch, dtype, name, kwargs):
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((37, 29)).astype(dtype)
    grads = [rng.standard_normal(w0.shape).astype(dtype) for _ in range(4)]

    def train(compiled):
        p = nn.Parameter(w0.copy())
        opt = optim.optimizer(name, [p], weight_decay=0.01, **kwargs)
        squares = []
        for g in grads:
            p.grad = g.copy()
            if compiled:  # the compiled step's update
                opt.steps += 1
                opt.init_state(p, opt.state[0])
                squares.append(_compiled_update(opt, p.value, p.grad, opt.state[0],
                                                opt.weight_decay))
            else:  # the plain rule
                squares.append(float(np.sum(p.value.astype(np.float64) ** 2)))
                opt.step()
        return p.value, opt.state[0], squares

    compiled = train(True)
    arrays = train(False)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    assert compiled[0].dtype == dtype
    np.testing.assert_allclose(compiled[0], arrays[0], rtol=tol, atol=tol)
    for key in arrays[1]:
        np.testing.assert_allclose(compiled[1][key], arrays[1][key], rtol=tol, atol=tol)
    np.testing.assert_allclose(compiled[2], arrays[2], rtol=tol)


@needs_numba
@pytest.mark.parametrize("update", ["rmsprop", "adam"])
def test_rmsprop_and_adam_loops_refuse_what_they_cannot_do(update):
    w, g = np.ones((4, 6)), np.ones((4, 6))
    state = np.ones((4, 6), np.float32)  # another dtype than the weights
    if update == "rmsprop":
        assert fused.rmsprop(w, g, state, 0.1, 0.9, 1e-8, 0.0) is None
    else:
        assert fused.adam(w, g, state, state, 0.1, (0.9, 0.999), 1e-8, 1, 0.0) is None
    assert np.all(w == 1)


@pytest.mark.parametrize("case", ["strided", "dtypes", "sizes", "readonly", "ints", "not numpy"])
def test_refuses_what_it_cannot_do_and_changes_nothing(case):
    rng = np.random.default_rng(1)
    w, g, v = (rng.standard_normal(100) for _ in range(3))
    if case == "strided":
        w = rng.standard_normal(200)[::2]
    elif case == "dtypes":
        g = g.astype(np.float32)
    elif case == "sizes":
        v = v[:-1]
    elif case == "readonly":
        w.flags.writeable = False
    elif case == "ints":
        w, g, v = (np.arange(100) for _ in range(3))
    elif case == "not numpy":
        g = list(g)
    before = (np.array(w, copy=True), np.array(v, copy=True))
    assert fused.sgd(w, g, v, 0.1, 0.9, 0.0, False) is None
    np.testing.assert_array_equal(w, before[0])
    np.testing.assert_array_equal(v, before[1])


def test_environment_switch_turns_it_off():
    env = {**os.environ, "WARPNET_NUMBA": "0"}
    out = subprocess.run([sys.executable, "-c", "from warpnet._fast import fused; print(fused.available())"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- softmax cross-entropy ------------------------------------------------------------------------

def _array_path(scores, y):
    return nn.SoftmaxCrossEntropy()(scores, y)  # the plain formula


@needs_numba
@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), c=st.integers(1, 12), scale=st.sampled_from([1e-3, 1.0, 30.0, 1e4]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_softmax_equals_the_array_path(n, c, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    scores = (rng.standard_normal((n, c)) * scale).astype(dtype)
    scores[rng.random((n, c)) < 0.2] = scores.max()  # ties at the row maximum
    y = rng.integers(0, c, n)
    compiled = fused.softmax_cross_entropy(scores, y)
    assert compiled is not None
    expected = _array_path(scores, y)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    assert compiled[0].dtype == compiled[1].dtype == dtype
    np.testing.assert_allclose(compiled[0], expected[0], rtol=tol, atol=tol)
    np.testing.assert_allclose(compiled[1], expected[1], rtol=tol, atol=tol)


@needs_numba
def test_softmax_loss_takes_the_compiled_path(monkeypatch):
    calls = []
    real = fused.softmax_cross_entropy
    monkeypatch.setattr(fused, "softmax_cross_entropy", lambda *a: calls.append(a) or real(*a))
    model = nn.mlp([4, 3], rng=0)
    step = make_step(model, nn.SoftmaxCrossEntropy(), optim.SGD(model.parameters(), lr=0.1))
    step(np.zeros((3, 4), np.float32), np.array([0, 1, 2]))
    assert len(calls) == 1


@pytest.mark.parametrize("case", ["list", "fortran", "int scores", "float labels", "label shape",
                                  "empty", "nan", "inf", "label too big", "negative label", "1-D"])
def test_softmax_refuses_what_it_cannot_do(case):
    scores, y = np.zeros((3, 4)), np.array([0, 1, 2])
    if case == "list":
        scores = scores.tolist()
    elif case == "fortran":
        scores = np.asfortranarray(np.zeros((3, 4)))[:, :3]
    elif case == "int scores":
        scores = np.zeros((3, 4), int)
    elif case == "float labels":
        y = y.astype(float)
    elif case == "label shape":
        y = y[:2]
    elif case == "empty":
        scores, y = np.zeros((0, 4)), np.zeros(0, int)
    elif case == "nan":
        scores[1, 2] = np.nan
    elif case == "inf":
        scores[2, 0] = -np.inf
    elif case == "label too big":
        y[1] = 4
    elif case == "negative label":
        y[0] = -1
    elif case == "1-D":
        scores = np.zeros(3)
    assert fused.softmax_cross_entropy(scores, y) is None


# -- ReLU backward --------------------------------------------------------------------------------

@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_is_dout_where_the_output_is_positive(dtype):
    rng = np.random.default_rng(4)
    y = np.maximum(rng.standard_normal((37, 23)), 0).astype(dtype)
    dout = rng.standard_normal((37, 23)).astype(dtype)
    before = dout.copy(), y.copy()
    dx = fused.relu_backward(dout, y)
    np.testing.assert_array_equal(dx, dout * (y > 0))
    assert dx.dtype == dtype
    np.testing.assert_array_equal(dout, before[0])  # inputs untouched
    np.testing.assert_array_equal(y, before[1])
    out = np.empty_like(dout)
    assert fused.relu_backward(dout, y, out) is out  # the given buffer is used
    np.testing.assert_array_equal(out, dx)


@needs_numba
def test_relu_backward_never_writes_into_memory_it_still_reads():
    buffer = np.arange(1.0, 11.0)
    dout, y = buffer[:8], np.ones(8)
    dx = fused.relu_backward(dout, y, out=buffer[2:])  # overlaps dout, shifted: not used
    assert not np.shares_memory(dx, buffer)
    np.testing.assert_array_equal(dx, np.arange(1.0, 9.0))
    assert fused.relu_backward(dout.copy(), y, out=y) is y  # the same array is fine elementwise


@needs_numba
def test_relu_backward_in_place_and_with_infinite_gradients_equals_numpys_product():
    rng = np.random.default_rng(5)
    y = np.maximum(rng.standard_normal(1000), 0).astype(np.float32)
    dout = rng.standard_normal(1000).astype(np.float32)
    dout[:4] = [np.inf, -np.inf, np.inf, np.nan]
    y[:4] = [0.0, 0.0, 1.0, 1.0]
    with np.errstate(invalid="ignore"):
        expected = dout * (y > 0)  # NumPy's own path: inf * 0 is NaN
        assert fused.relu_backward(dout, y, out=dout) is dout
    np.testing.assert_array_equal(dout, expected)


@pytest.mark.parametrize("case", ["strided", "ints", "dtypes", "shapes", "not numpy"])
def test_relu_backward_refuses_what_it_cannot_do(case):
    dout, y = np.ones((4, 6)), np.ones((4, 6))
    if case == "strided":
        dout = np.ones((4, 12))[:, ::2]
    elif case == "ints":
        dout, y = np.ones((4, 6), int), np.ones((4, 6), int)
    elif case == "dtypes":
        y = y.astype(np.float32)
    elif case == "shapes":
        y = np.ones((6, 4))
    elif case == "not numpy":
        dout = dout.tolist()
    assert fused.relu_backward(dout, y) is None
