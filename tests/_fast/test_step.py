"""The compiled step equals the plain step (the lecture's loop), and takes what it knows only."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from warpnet import nn, optim
from warpnet._fast import fused
from warpnet.train import Step, make_step

RULES = [("sgd", {"lr": 0.05}), ("sgd", {"lr": 0.05, "momentum": 0.9}),
         ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
         ("rmsprop", {"lr": 0.01, "decay": 0.9}),
         ("adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.01})]
PENALTIES = [None, nn.L2(0.01), nn.L1(0.003)]


def _data(dtype, n=37, d=12, c=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(dtype), rng.integers(0, c, n)


def _run(compiled, rule, kwargs, penalty, dtype, activation="relu", dropout=0.0, loss="softmax",
         steps=4, sample_weight=None):
    model = nn.mlp([12, 16, 10, 4], activation, dropout=dropout, rng=1, dtype=np.dtype(dtype).name)
    # the plain step with the optimizer's formula too (fused=False), not its compiled twin
    opt = optim.optimizer(rule, model.parameters(), fused=None if compiled else False, **kwargs)
    step = make_step(model, loss, opt, penalty, compiled=compiled)
    assert step.compiled is compiled
    x, y = _data(dtype)
    if loss == "mse":
        y = np.random.default_rng(5).standard_normal((len(y), 4)).astype(dtype)
    losses = [step(x, y, sample_weight) for _ in range(steps)]
    return losses, [p.value for p in model.parameters()], [p.grad.copy() for p in model.parameters()]


@pytest.mark.skipif(not fused.available(), reason="numba is not installed")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule, kwargs", RULES, ids=lambda v: str(v))
@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_compiled_step_equals_the_plain_step(dtype, rule, kwargs, penalty):
    plain = _run(False, rule, kwargs, penalty, dtype)
    compiled = _run(True, rule, kwargs, penalty, dtype)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(compiled[0], plain[0], rtol=tol)
    for a, b in zip(compiled[1], plain[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    if type(penalty) is not nn.L2:  # with L2 the compiled step's .grad is the data gradient only
        for a, b in zip(compiled[2], plain[2], strict=True):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("activation", nn.ACTIVATIONS.names())
@pytest.mark.parametrize("loss", ["softmax", "svm", "mse"])
def test_every_activation_and_loss_and_dropout_on_both_paths(activation, loss):
    kwargs = {"lr": 0.01, "momentum": 0.9}
    plain = _run(False, "sgd", kwargs, nn.L2(0.01), np.float64, activation, 0.2, loss)
    compiled = _run(True, "sgd", kwargs, nn.L2(0.01), np.float64, activation, 0.2, loss)
    np.testing.assert_allclose(compiled[0], plain[0], rtol=1e-12)
    for a, b in zip(compiled[1], plain[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_sample_weights_and_the_last_smaller_batch():
    w = np.random.default_rng(2).random(37) + 0.1
    plain = _run(False, "adam", {"lr": 0.01}, nn.L2(0.01), np.float64, sample_weight=w)
    compiled = _run(True, "adam", {"lr": 0.01}, nn.L2(0.01), np.float64, sample_weight=w)
    np.testing.assert_allclose(compiled[0], plain[0], rtol=1e-12)


class Doubler(nn.Module):
    """A module the compiled step does not know."""

    def forward(self, x):
        return 2 * x

    def backward(self, dout, need_dx=True):
        return 2 * dout if need_dx else None


@pytest.mark.parametrize("case", ["unknown module", "unknown layer type", "subset optimizer",
                                  "unknown optimizer", "unknown penalty", "torch"])
def test_what_it_does_not_know_runs_the_plain_step(case):
    model = nn.mlp([3, 5, 2], rng=0)
    params = model.parameters()
    penalty = None
    opt_cls: type = optim.SGD
    if case == "unknown module":
        model = Doubler()
        model.w = nn.Parameter(np.ones(1, np.float32))
        params = model.parameters()
    elif case == "unknown layer type":
        model = nn.Sequential(nn.Linear(3, 5, rng=0), Doubler(), nn.Linear(5, 2, rng=0))
        params = model.parameters()
    elif case == "subset optimizer":
        params = params[:2]
    elif case == "unknown optimizer":
        class MySGD(optim.SGD):
            pass
        opt_cls = MySGD
    elif case == "unknown penalty":
        class Half(nn.L2):
            pass
        penalty = Half(0.1)
    elif case == "torch":
        torch = pytest.importorskip("torch")
        model.to(torch)
        params = model.parameters()
    step = make_step(model, "softmax", opt_cls(params, lr=0.1), penalty)
    assert isinstance(step, Step)


def test_inputs_it_does_not_take_go_through_the_plain_step_and_its_checks():
    model = nn.mlp([3, 5, 2], rng=0)
    step = make_step(model, "softmax", optim.SGD(model.parameters(), lr=0.1))
    assert step.compiled
    x64 = np.ones((4, 3))  # float64 into a float32 model: the plain step's promotion
    assert np.isfinite(step(x64, np.array([0, 1, 0, 1])))
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 3\)"):
        step(np.ones((4, 5), np.float32), np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match=r"labels must hold class labels in \[0, 2\)"):
        step(np.ones((4, 3), np.float32), np.array([0, 1, 0, 7]))
    with pytest.raises(ValueError, match="NaN or inf"):
        step(np.full((4, 3), np.nan, np.float32), np.array([0, 1, 0, 1]))


def test_a_compiled_step_allocates_no_batch_sized_arrays(peak_new_bytes):
    model = nn.mlp([256, 512, 512, 10], rng=0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((128, 256), dtype=np.float32), rng.integers(0, 10, 128)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    step = make_step(model, nn.SoftmaxCrossEntropy(), opt, nn.L2(1e-4))
    new_peak = peak_new_bytes(step, x, y)
    batch_array = 128 * 512 * 4
    assert new_peak < batch_array / 2, f"{new_peak} bytes allocated per step"


def test_the_plain_engine_loads_no_speed_machinery():
    code = ("import sys, warpnet.nn, warpnet.optim\n"
            "bad = [m for m in sys.modules if m.split('.')[0] == 'numba' or m.startswith('warpnet._fast')]\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("rule", ["rmsprop", "adam"])
@pytest.mark.parametrize("compiled", [False, True])
def test_moments_of_a_gradient_that_stops_flush_to_zero_instead_of_subnormals(rule, compiled):
    """A weight whose gradient is zero after the first steps: its moments decay geometrically and
    would sit in subnormal floats (slow arithmetic; a factor near 1 rounds back to the same
    subnormal value) -- they go to zero instead."""
    if compiled and not fused.available():
        pytest.skip("numba is not installed")
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    factors = {"decay": 0.9} if rule == "rmsprop" else {"betas": (0.9, 0.9)}
    opt = optim.optimizer(rule, model.parameters(), lr=1e-3, **factors)
    step = make_step(model, "mse", opt, compiled=compiled)
    x_on, x_off = np.ones((1, 2), np.float32), np.array([[0.0, 1.0]], np.float32)
    step(x_on, np.zeros((1, 2), np.float32))
    tiny = np.finfo(np.float32).smallest_normal
    for _ in range(3000):  # 0.9**3000 is far below float32's normal range
        step(x_off, np.zeros((1, 2), np.float32))
    for state in opt.state:
        for arr in state.values():
            assert not np.any((arr != 0) & (np.abs(arr) < tiny)), "subnormal moments left"


@pytest.mark.parametrize("rule", ["rmsprop", "adam"])
@pytest.mark.parametrize("compiled", [False, True])
def test_subnormal_weights_are_flushed_to_zero(rule, compiled):
    """Under an adaptive rule with an L2 penalty, the weights of an input that is always zero
    shrink geometrically into subnormal floats (measured: 13,483 of a 784-256 layer's weights
    after four epochs of RMSProp on centred-object images), and those slow every product."""
    if compiled and not fused.available():
        pytest.skip("numba is not installed")
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    model[0].weight.value[0] = 1e-39  # subnormal weights of the first input, which stays 0
    opt = optim.optimizer(rule, model.parameters(), lr=1e-3)
    step = make_step(model, "mse", opt, nn.L2(1e-4), compiled=compiled)
    step(np.array([[0.0, 1.0]], np.float32), np.zeros((1, 2), np.float32))
    np.testing.assert_array_equal(model[0].weight.value[0], 0.0)
