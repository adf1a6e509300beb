"""Each optimizer's step equals its formula recomputed by hand, on the plain path (the rule in
``warpnet.optim``, ``fused=False``) and the compiled one (``warpnet._fast``, which ``step()`` takes
on NumPy by default); schedules; bad hyper-parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from warpnet import nn, optim
from warpnet._fast import fused
from warpnet._fast.step import update_parameters


def plain_step(opt: optim.Optimizer, l2: float = 0.0) -> None:
    opt.fused = False  # the formula, not its compiled twin
    opt.step()


PATHS = {"plain": plain_step, "compiled": update_parameters}


def make_param(seed: int = 0) -> nn.Parameter:
    rng = np.random.default_rng(seed)
    p = nn.Parameter(rng.standard_normal((3, 4)))
    p.grad[...] = rng.standard_normal((3, 4))
    return p


_path = "plain"  # which path ``run_steps`` and ``do_step`` take (set by the ``problem`` fixture)


def do_step(opt: optim.Optimizer, l2: float = 0.0) -> None:
    PATHS[_path](opt, l2)


def run_steps(opt_factory, grads: list[np.ndarray], w0: np.ndarray) -> np.ndarray:
    p = nn.Parameter(w0.copy())
    opt = opt_factory([p])
    for g in grads:
        opt.zero_grad()
        p.grad += g
        do_step(opt)
    return p.value


@pytest.fixture(params=[((3, 4), "plain"), ((3, 4), "compiled"), ((300, 250), "plain"),
                        ((1100, 1000), "compiled")],
                ids=["small", "small-compiled", "plain", "compiled-threads"])
def problem(request):
    """Weights and three gradients, updated on one of the two paths: the plain rule
    (``optimizer.step()``) or the compiled loops (``warpnet._fast``, needs numba; the largest
    shape split over BLAS's threads where it lends them)."""
    shape, path = request.param
    if path == "compiled" and not fused.available():
        pytest.skip("numba is not installed")
    global _path
    _path = path
    rng = np.random.default_rng(1)
    return rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(3)]


def test_sgd_plain(problem):
    w, grads = problem
    expected = w.copy()
    for g in grads:
        expected -= 0.1 * g
    got = run_steps(lambda p: optim.SGD(p, lr=0.1), grads, w)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


def test_sgd_momentum_is_the_lecture_update(problem):
    w, grads = problem
    expected, v = w.copy(), np.zeros_like(w)
    for g in grads:
        v = 0.9 * v + g
        expected -= 0.1 * v
    got = run_steps(lambda p: optim.SGD(p, lr=0.1, momentum=0.9), grads, w)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


def test_sgd_nesterov(problem):
    w, grads = problem
    expected, v = w.copy(), np.zeros_like(w)
    for g in grads:
        v = 0.9 * v + g
        expected -= 0.1 * (g + 0.9 * v)
    got = run_steps(lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), grads, w)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


def test_weight_decay(problem):
    w, grads = problem
    expected = w.copy()
    for g in grads:
        expected -= 0.1 * (g + 0.01 * expected)
    got = run_steps(lambda p: optim.SGD(p, lr=0.1, weight_decay=0.01), grads, w)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


def test_rmsprop(problem):
    w, grads = problem
    expected, s = w.copy(), np.zeros_like(w)
    for g in grads:
        s = 0.9 * s + 0.1 * g * g
        expected -= 0.01 * g / (np.sqrt(s) + 1e-8)
    got = run_steps(lambda p: optim.RMSProp(p, lr=0.01, decay=0.9), grads, w)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


def test_adam(problem):
    w, grads = problem
    expected, m, v = w.copy(), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        expected -= 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    got = run_steps(lambda p: optim.Adam(p, lr=0.01), grads, w)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", optim.OPTIMIZERS.names())
def test_state_dict_resumes_exactly(problem, name):
    w, grads = problem
    kwargs = {"lr": 0.05, **({"momentum": 0.9} if name == "sgd" else {})}
    straight = run_steps(lambda p: optim.optimizer(name, p, **kwargs), grads, w)

    p = nn.Parameter(w.copy())
    first = optim.optimizer(name, [p], **kwargs)
    for g in grads[:2]:
        first.zero_grad()
        p.grad += g
        do_step(first)
    saved = {k: v for k, v in first.state_dict().items()}
    saved["state"] = [{k: a.copy() for k, a in s.items()} for s in saved["state"]]
    second = optim.optimizer(name, [p], lr=1.0, **({"momentum": 0.5} if name == "sgd" else {}))
    second.load_state_dict(saved)
    second.zero_grad()
    p.grad += grads[2]
    do_step(second)
    np.testing.assert_array_equal(p.value, straight)


def test_step_lr_and_cosine_lr():
    opt = optim.SGD([make_param()], lr=1.0)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(5):
        sched.step()
        lrs.append(opt.lr)
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25]
    opt = optim.SGD([make_param()], lr=1.0)
    cos = optim.CosineLR(opt, t_max=4, eta_min=0.1)
    for epoch in range(1, 7):
        cos.step()
        expected = 0.1 + 0.9 * (1 + math.cos(math.pi * min(epoch, 4) / 4)) / 2
        assert opt.lr == pytest.approx(expected)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0.0}, "lr"), ({"lr": -1.0}, "lr"), ({"lr": float("nan")}, "lr"),
    ({"lr": 0.1, "momentum": 1.0}, "momentum"), ({"lr": 0.1, "momentum": -0.1}, "momentum"),
    ({"lr": 0.1, "nesterov": True}, "nesterov"), ({"lr": 0.1, "weight_decay": -1}, "weight_decay"),
])
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optim.SGD([make_param()], **kwargs)


def test_bad_params_and_names():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="Parameter"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="sgd, rmsprop, adam"):
        optim.optimizer("lbfgs", [make_param()], lr=0.1)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([make_param()], betas=(0.9, 1.0))


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_with_weight_decay_and_l2_penalty(problem, nesterov):
    """Weight decay and an L2 penalty enter the update as part of the gradient, g + c * w: the
    plain path adds the penalty's part into ``.grad``, the compiled one folds it into its loop."""
    w, grads = problem
    c = 0.05 + 2 * 0.02  # weight_decay + the penalty's 2 * reg
    expected, v = w.copy(), np.zeros_like(w)
    for g in grads:
        full = g + c * expected
        v = 0.9 * v + full
        expected = expected - 0.1 * ((full + 0.9 * v) if nesterov else v)
    p = nn.Parameter(w.copy())
    opt = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=nesterov, weight_decay=0.05)
    for g in grads:
        opt.zero_grad()
        p.grad += g
        if _path == "plain":
            nn.L2(0.02)([p])
            opt.step()
        else:
            update_parameters(opt, 2 * 0.02)
    np.testing.assert_allclose(p.value, expected, rtol=1e-12, atol=1e-13)


def test_l2_penalty_adds_its_gradient_into_grad():
    p = nn.Parameter(np.array([1.0, -2.0, 3.0]))
    p.grad += np.array([0.5, 0.5, 0.5])
    nn.L2(0.1)([p])
    np.testing.assert_allclose(p.grad, [0.5 + 0.2, 0.5 - 0.4, 0.5 + 0.6])


@pytest.mark.parametrize("name", ["sgd", "sgd-momentum", "sgd-nesterov", "rmsprop", "adam"])
def test_compiled_update_sums_the_squares_of_the_weights_it_updates(problem, name):
    if _path != "compiled":
        pytest.skip("the sum of squares comes from the compiled loops")
    w, grads = problem
    kwargs = {"sgd": {"lr": 0.1}, "sgd-momentum": {"lr": 0.1, "momentum": 0.9},
              "sgd-nesterov": {"lr": 0.1, "momentum": 0.9, "nesterov": True},
              "rmsprop": {"lr": 0.1}, "adam": {"lr": 0.1}}[name]
    kind = "sgd" if name.startswith("sgd") else name
    params = [nn.Parameter(w.copy()), nn.Parameter(2 * w), nn.Parameter(w[0].copy(), regularize=False)]
    opt = optim.optimizer(kind, params, **kwargs)
    for g in grads:
        before = sum(float(np.sum(p.value ** 2)) for p in params[:2])
        opt.zero_grad()
        for p in params[:2]:
            p.grad += g
        params[2].grad += g[0]
        np.testing.assert_allclose(update_parameters(opt, 0.02), before, rtol=1e-12)


@pytest.mark.parametrize("name", optim.OPTIMIZERS.names())
def test_class_attributes_answer_defaults_and_momentum(name):
    cls = optim.OPTIMIZERS.get(name)
    defaults = cls.defaults()
    assert defaults["lr"] == cls.default_lr > 0
    assert ("momentum" in defaults) == cls.takes_momentum
    opt = cls([make_param()])  # the class's default learning rate
    assert opt.lr == cls.default_lr


NAMESPACES = ["numpy", "array_api_strict", "torch"]
RULE_KWARGS = {"sgd": {"lr": 0.1, "momentum": 0.9}, "rmsprop": {"lr": 0.01}, "adam": {"lr": 0.01},
               "adamw": {"lr": 0.01}}


def _namespace(name: str):
    if name == "numpy":
        import array_api_compat.numpy as xp

        return xp
    pytest.importorskip(name)
    if name == "torch":
        import array_api_compat.torch as xp

        return xp
    import array_api_strict as xp

    return xp


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("name", optim.OPTIMIZERS.names())
def test_every_rule_runs_in_place_on_every_namespace(namespace, name):
    """The plain rules (and the L2 penalty before them) are array-API code: on array-api-strict
    and PyTorch they give NumPy's numbers, updating the weights and the state in place."""
    xp = _namespace(namespace)
    rng = np.random.default_rng(3)
    w0, grads = rng.standard_normal((5, 4)), [rng.standard_normal((5, 4)) for _ in range(3)]
    results = []
    for space in (np, xp):
        p = nn.Parameter(space.asarray(w0.copy()))
        value = p.value
        opt = optim.optimizer(name, [p], **RULE_KWARGS.get(name, {"lr": 0.01}))
        for g in grads:
            opt.zero_grad()
            p.grad += space.asarray(g)
            nn.L2(0.01)([p])
            plain_step(opt)
        assert p.value is value  # updated in place
        state = [np.asarray(a) for a in opt.state[0].values()]
        results.append((np.asarray(p.value), state))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12, atol=1e-14)
    for got, expected in zip(results[1][1], results[0][1], strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_flush_subnormals_zeroes_in_place(namespace):
    xp = _namespace(namespace)
    tiny = float(np.finfo(np.float32).smallest_normal)
    values = [tiny / 4, -tiny / 2, tiny, -2 * tiny, 0.0, 1.5, -1e-39]
    x = xp.asarray(np.array(values, np.float32))
    out = optim.flush_subnormals(x)
    assert out is x
    np.testing.assert_array_equal(np.asarray(x), np.array([0, 0, tiny, -2 * tiny, 0, 1.5, 0], np.float32))



@pytest.mark.skipif(not fused.available(), reason="numba is not installed")
@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam", "adamw"])
def test_step_takes_the_compiled_loop_on_numpy_unless_fused_is_false(name, monkeypatch):
    """``step()`` on NumPy parameters runs ``warpnet._fast``'s loop by default (the numbers of
    ``update_parameters``) and the formula (``update``) with ``fused=False``; the two agree to
    rounding."""
    rng = np.random.default_rng(4)
    w0, grads = rng.standard_normal((40, 30)), [rng.standard_normal((40, 30)) for _ in range(3)]
    kwargs = {**RULE_KWARGS.get(name, {"lr": 0.01}), "weight_decay": 0.01}
    cls = optim.OPTIMIZERS.get(name)
    formula_calls = []
    original = cls.update
    monkeypatch.setattr(cls, "update", lambda self, w, dw, state: formula_calls.append(1)
                        or original(self, w, dw, state))
    results = {}
    for how in ("default", "formula", "compiled"):
        p = nn.Parameter(w0.copy())
        opt = optim.optimizer(name, [p], fused=False if how == "formula" else None, **kwargs)
        formula_calls.clear()
        for g in grads:
            opt.zero_grad()
            p.grad += g
            if how == "compiled":
                update_parameters(opt)
            else:
                opt.step()
        assert len(formula_calls) == (3 if how == "formula" else 0), how
        results[how] = p.value
    np.testing.assert_array_equal(results["default"], results["compiled"])
    np.testing.assert_allclose(results["formula"], results["compiled"], rtol=1e-12, atol=1e-14)


def test_a_subclass_steps_by_its_own_formula():
    """The compiled loops know the built-in rules only: a subclass that changes ``update`` gets
    its own formula under the default ``fused=None``."""
    class HalfSGD(optim.SGD):
        def update(self, w, dw, state):
            w -= 0.5 * self.lr * dw

    p = nn.Parameter(np.ones((3, 2)))
    opt = HalfSGD([p], lr=0.2)
    p.grad += 1.0
    opt.step()
    np.testing.assert_allclose(p.value, 0.9)


def test_fused_true_refuses_what_the_loops_cannot_run():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="fused=True needs parameters that are NumPy arrays"):
        optim.SGD([nn.Parameter(torch.ones(3, dtype=torch.float64))], lr=0.1, fused=True)
    p = nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = optim.Adam([p], lr=0.1)  # fused=None: the formula on other libraries
    p.grad += 1.0
    opt.step()
    assert float(p.value[0]) == pytest.approx(0.9)
    for bad in (1, "yes", 0.0):
        with pytest.raises(TypeError, match="fused must be None, True or False"):
            optim.SGD([nn.Parameter(np.ones(3))], lr=0.1, fused=bad)


@pytest.mark.parametrize("state, error, match", [
    (None, TypeError, "state must be the dict of an optimizer's state_dict"),
    ([], TypeError, "got list"),
    ({"type": "SGD"}, ValueError, "state lacks"),
    ({"type": "SGD", "hyperparameters": None, "steps": 0, "state": []}, ValueError,
     r"state\['hyperparameters'\] must be a dict"),
    ({"type": "SGD", "hyperparameters": {"lr": -1}, "steps": 0, "state": [{}, {}]}, ValueError,
     r"lr must be a number in \[0.0, inf\), got -1"),
    ({"type": "SGD", "hyperparameters": {"momentum": 5}, "steps": 0, "state": [{}, {}]}, ValueError,
     "momentum must be a number"),
    ({"type": "SGD", "hyperparameters": {"lr": 0.1, "colour": 1}, "steps": 0, "state": [{}, {}]},
     ValueError, "do not fit SGD"),
    ({"type": "SGD", "hyperparameters": {}, "steps": -2, "state": [{}, {}]}, ValueError,
     r"state\['steps'\] must be an integer >= 0"),
    ({"type": "SGD", "hyperparameters": {}, "steps": 0, "state": "x"}, ValueError,
     "must be a list of dicts"),
], ids=["none", "list", "keys", "hyper", "lr", "momentum", "unknown", "steps", "per-param"])
def test_load_state_dict_refuses_damaged_state_naming_it(state, error, match):
    opt = optim.SGD(nn.mlp([4, 3]).parameters(), lr=0.1, momentum=0.5)
    with pytest.raises(error, match=match):
        opt.load_state_dict(state)
    assert opt.lr == 0.1 and opt.momentum == 0.5  # nothing half-loaded


def test_load_state_dict_takes_a_warm_up_learning_rate_of_zero():
    opt = optim.SGD(nn.mlp([4, 3]).parameters(), lr=0.1)
    state = opt.state_dict()
    state["hyperparameters"]["lr"] = 0.0
    opt.load_state_dict(state)
    assert opt.lr == 0.0


def test_params_that_are_not_iterable_are_named():
    with pytest.raises(TypeError, match="params must be an iterable of Parameters"):
        optim.SGD(None, lr=0.1)


@pytest.mark.parametrize("state, match", [
    (None, "state must be the dict of a schedule's state_dict"),
    ({"base_lr": "x", "epoch": 1}, r"state\['base_lr'\] must be a finite number > 0"),
    ({"base_lr": 0.1, "epoch": -1}, r"state\['epoch'\] must be an integer >= 0"),
])
def test_schedule_load_state_dict_refuses_damaged_state(state, match):
    schedule = optim.StepLR(optim.SGD(nn.mlp([4, 3]).parameters(), lr=0.1), step_size=2)
    with pytest.raises((TypeError, ValueError), match=match):
        schedule.load_state_dict(state)
