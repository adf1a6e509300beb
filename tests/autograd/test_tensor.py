"""The Tensor on every array namespace, the walk over the graph, and what bad input raises."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from warpnet import autograd, backend, nn
from warpnet.autograd import Tensor

NAMESPACES = ["numpy", "array_api_strict", "torch"]


@pytest.fixture(params=NAMESPACES)
def xp(request):
    return np if request.param == "numpy" else pytest.importorskip(request.param)


def lecture_loss(xp, x, y, w1, b1, w2, b2, reg):
    """SVM + softmax + L2 on the weights, every operation of the lecture once."""
    n = x.shape[0]
    s = autograd.maximum(x @ w1 + b1, 0.0) @ w2 + b2
    rows = xp.arange(n)
    correct = s[rows, y].reshape(n, 1)
    hinge = (autograd.maximum(s - correct + 1.0, 0.0).sum() - n) / n  # the j = y terms are 1 each
    shifted = s - s.max(axis=1, keepdims=True)
    softmax = (autograd.log(autograd.exp(shifted).sum(axis=1)) - shifted[rows, y]).mean()
    smooth = (autograd.tanh(s) * autograd.sigmoid(-s)).mean(axis=0).sum()
    return hinge + softmax + smooth + reg * ((w1 ** 2).sum() + (w2 ** 2).sum())


def test_any_namespace_gives_numpy_s_gradients(xp):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in [(5, 4), (4, 3), (3,), (3, 3), (3,)]]
    y = rng.integers(0, 3, 5)

    def run(ns):
        x, *ws = (Tensor(ns.asarray(a), requires_grad=i > 0) for i, a in enumerate(arrays))
        loss = lecture_loss(ns, x, ns.asarray(y), *ws, reg=0.1)
        loss.backward()
        assert all(backend.array_namespace(w.grad) is backend.array_namespace(w.value) for w in ws)
        return float(loss.value), [backend.to_numpy(w.grad) for w in ws]

    ref_loss, ref_grads = run(np)
    loss, grads = run(xp)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for g, r in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)


def test_float32_stays_float32_and_gradients_have_the_tensor_s_dtype():
    w = Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    loss = ((np.ones((4, 3), np.float64) @ w) * 0.5).sum() + (w ** 2).sum()
    loss.backward()
    assert w.grad.dtype == np.float32 and w.grad.shape == (3, 2)
    v = Tensor(np.ones(3, np.float32), requires_grad=True)
    ((v * 2.0).sum()).backward()
    assert v.grad.dtype == np.float32 and (v * 2.0).dtype == np.float32


def test_gradients_add_up_over_backward_calls_and_retain_graph():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (a * a).sum()
    loss.backward(retain_graph=True)
    first = a.grad
    loss.backward()
    np.testing.assert_array_equal(a.grad, 4 * np.array([1.0, 2.0]))
    np.testing.assert_array_equal(first, 2 * np.array([1.0, 2.0]))  # not written into
    a.grad = None
    (a + a).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])


def test_gradient_arrays_shared_between_tensors_are_never_written_into():
    a = Tensor(np.zeros(3), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    loss = (a + b).sum()
    loss.backward(retain_graph=True)
    loss.backward()  # b's second contribution must not change a's gradient through a shared array
    np.testing.assert_array_equal(a.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0])


def test_intermediate_tensors_keep_their_gradient():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    h = x * 3.0
    loss = (h * h).sum()
    loss.backward()
    np.testing.assert_allclose(h.grad, 2 * h.value)
    np.testing.assert_allclose(x.grad, 18 * x.value)


def test_constant_operands_get_no_gradient_and_no_graph():
    x = Tensor(np.ones((2, 3)))
    w = Tensor(np.ones((3, 1)), requires_grad=True)
    out = (x @ w).sum()
    out.backward()
    assert x.grad is None and w.grad is not None
    c = autograd.exp(x) * 2.0
    assert not c.requires_grad and c.parents == ()


def test_a_ten_thousand_node_chain_runs_backward_without_recursion():
    limit = sys.getrecursionlimit()
    x = Tensor(np.array(0.5), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    assert 10_000 > limit
    y.backward()
    assert float(x.grad) == pytest.approx(1.0001 ** 10_000, rel=1e-9)
    del y  # freeing the chain must not recurse either


def test_a_parameter_leaf_adds_its_gradient_into_the_parameter():
    p = nn.Parameter(np.array([[1.0, 2.0]]))
    p.grad = np.array([[10.0, 10.0]])
    t = Tensor(p)
    assert t.requires_grad and t.value is p.value
    (t * t).sum().backward()
    np.testing.assert_array_equal(p.grad, [[12.0, 14.0]])
    (Tensor(np.ones((3, 1))) @ p).sum().backward()  # a parameter next to a tensor: a leaf
    np.testing.assert_array_equal(p.grad, [[15.0, 17.0]])


def test_a_sum_s_gradient_reaches_every_namespace_s_leaves_and_parameters_whole(xp):
    # A sum's gradient travels spread lazily (size 1 along the summed axes); every .grad and
    # parameter gradient read afterwards has its tensor's full shape.
    w = Tensor(xp.asarray(np.arange(6.0).reshape(2, 3)), requires_grad=True)
    p = nn.Parameter(np.array([[1.0, -2.0, 0.5]]))
    b, q = Tensor(xp.asarray(np.ones(3)), requires_grad=True), Tensor(p)
    ((w ** 2).sum() + 3.0 * (w + b).sum() + w.mean(axis=0, keepdims=True).sum()).backward()
    (q ** 2).sum().backward()  # parameters are NumPy arrays
    expected = 2 * np.arange(6.0).reshape(2, 3) + 3.0 + 0.5
    assert tuple(w.grad.shape) == (2, 3) and tuple(b.grad.shape) == (3,)
    np.testing.assert_allclose(backend.to_numpy(w.grad), expected)
    np.testing.assert_allclose(backend.to_numpy(b.grad), [6.0, 6.0, 6.0])
    np.testing.assert_array_equal(p.grad, [[2.0, -4.0, 1.0]])
    np.testing.assert_array_equal(q.grad, [[2.0, -4.0, 1.0]])


def test_detach_cuts_the_graph():
    a = Tensor(np.array([1.0, 3.0]), requires_grad=True)
    loss = (a - a.max().detach()).sum()
    loss.backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0])


# -- bad input ------------------------------------------------------------------------------------
def test_backward_on_a_non_scalar_without_seed_names_shape_and_operation():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\) made by 'exp'.*seed"):
        autograd.exp(a).backward()


def test_backward_on_a_tensor_without_gradients():
    with pytest.raises(RuntimeError, match=r"shape \(2,\) made by '\*'.*does not require"):
        (Tensor(np.ones(2)) * 2.0).backward(np.ones(2))


def test_backward_twice_on_a_freed_graph():
    a = Tensor(np.ones(2), requires_grad=True)
    loss = autograd.tanh(a).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"shape \(\) made by 'sum' a second time.*retain_graph"):
        loss.backward()
    h = a * 2.0
    out = h.sum()
    out.backward()
    with pytest.raises(RuntimeError, match=r"shape \(2,\) made by '\*'"):
        (h * 1.0).sum().backward()


def test_integer_tensors_cannot_require_gradients():
    with pytest.raises(TypeError, match=r"shape \(3,\).*int"):
        Tensor(np.arange(3), requires_grad=True)
    t = Tensor(np.arange(3))
    with pytest.raises(TypeError, match="floating-point"):
        t.requires_grad = True


def test_mixing_namespaces_names_the_operation_and_shapes():
    strict = pytest.importorskip("array_api_strict")
    a = Tensor(np.ones((2, 2)), requires_grad=True)
    b = Tensor(strict.ones((2, 2), dtype=strict.float64))
    with pytest.raises(TypeError, match=r"'@' mixes array namespaces.*\(2, 2\)"):
        a @ b
    with pytest.raises(TypeError, match="maximum"):
        autograd.maximum(b, a)


def test_mixing_devices_names_the_operation_and_devices():
    strict = pytest.importorskip("array_api_strict")
    other = strict.Device("device1")
    a = Tensor(strict.ones((2,), dtype=strict.float64), requires_grad=True)
    b = Tensor(strict.ones((2,), dtype=strict.float64, device=other))
    with pytest.raises(RuntimeError, match=r"'\+' mixes devices.*shape \(2,\)"):
        a + b


def test_bad_seed_gradients():
    a = Tensor(np.ones((2, 2)), requires_grad=True)
    out = a * 2.0
    with pytest.raises(ValueError, match=r"shape \(2, 2\), got \(3,\)"):
        out.backward(np.ones(3))
    with pytest.raises(TypeError, match="floating point"):
        out.backward(np.ones((2, 2), dtype=int))
    with pytest.raises(TypeError, match="must be an array"):
        out.backward("ones")


def test_other_bad_operands():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match="exponent must be a number"):
        a ** a
    with pytest.raises(ValueError, match=r"'@': shapes \(2, 3\) and \(2, 3\)"):
        a @ a
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        a.sum(axis=2)
    with pytest.raises(TypeError, match="takes an array"):
        Tensor(object())
    with pytest.raises(TypeError, match="cannot combine"):
        a + object()
    with pytest.raises(IndexError, match=r"cannot index .*\(2, 3\)"):
        a[5]
    with pytest.raises(RuntimeError, match="only be set on a leaf"):
        (a * 1.0).requires_grad = False


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_penalty_gradients_are_added_to_any_other_contribution(dtype):
    rng = np.random.default_rng(2)
    v = rng.standard_normal((4, 3)).astype(dtype)
    x = rng.standard_normal((5, 4)).astype(dtype)
    cases = {
        "square + square": (lambda w: 0.5 * (w ** 2).sum() + 2.0 * (w ** 2).sum(), 5.0 * v),
        "square + view": (lambda w: (w ** 2).sum() + w.sum(), 2.0 * v + 1.0),
        "view + square": (lambda w: w.sum() + (w ** 2).sum(), 2.0 * v + 1.0),
        "product + square": (lambda w: (Tensor(x) @ w).sum() + 3.0 * (w ** 2).sum(),
                             x.sum(axis=0)[:, None] + 6.0 * v),
        "square alone": (lambda w: (w ** 2).sum(), 2.0 * v),
    }
    for name, (f, expected) in cases.items():
        w = Tensor(v.copy(), requires_grad=True)
        f(w).backward()
        assert w.grad.dtype == dtype, name
        np.testing.assert_allclose(w.grad, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   err_msg=name)


def test_shapes_that_do_not_broadcast_name_the_operation():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    for op, f in {"+": lambda: a + np.ones(2), "*": lambda: np.ones((4, 3)) * a,
                  "maximum": lambda: autograd.maximum(a, np.ones((3, 2)))}.items():
        with pytest.raises(ValueError, match=re.escape(f"'{op}': shapes (") + r".*do not broadcast"):
            f()


def test_every_operation_on_any_namespace_gives_numpy_s_gradients(xp):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((3, 4)), rng.uniform(0.5, 2.0, (4,)), rng.standard_normal((4,))]

    def run(ns):
        a, b, v = (Tensor(ns.asarray(x), requires_grad=True) for x in arrays)
        h = (a.T.reshape(2, 6).reshape((4, 3)).T / b - (-a) ** 3) * autograd.sigmoid(a)
        out = (autograd.tanh(h).mean(axis=0) + autograd.log(b ** 0.5) + h.max(axis=0)).sum() \
            + (a @ v).mean() + (v @ v) + h[1:, :2].sum() + autograd.exp(a[0, :]).max() + 1.0 / b.sum()
        out.backward()
        return float(out.value), [backend.to_numpy(t.grad) for t in (a, b, v)]

    ref_value, ref_grads = run(np)
    value, grads = run(xp)
    assert value == pytest.approx(ref_value, rel=1e-12)
    for g, r in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-11, atol=1e-13)
