"""Every operation's gradient against ``torch.autograd`` in float64, to 1e-10, over shapes drawn
by hypothesis (broadcasting included) and with a tensor used more than once."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from warpnet import autograd
from warpnet.autograd import Tensor

torch = pytest.importorskip("torch")

TOL = 1e-10
# Few distinct values, so ties (max, maximum) and repeated entries are common.
VALUES = st.floats(-4.0, 4.0, allow_nan=False, allow_subnormal=False, width=64)
COARSE = st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])


def arrays(shape, elements=VALUES):
    return hnp.arrays(np.float64, shape, elements=elements)


def compare(ours, theirs, *inputs: np.ndarray, seed: int = 0) -> None:
    """Run ``ours`` on Tensors and ``theirs`` on torch tensors made from ``inputs``; backpropagate
    the same random seed gradient and compare the values and every input's gradient."""
    mine = [Tensor(a.copy(), requires_grad=True) for a in inputs]
    ref = [torch.tensor(a, requires_grad=True) for a in inputs]
    out, tout = ours(*mine), theirs(*ref)
    np.testing.assert_allclose(out.value, tout.detach().numpy(), rtol=TOL, atol=TOL)
    seed_grad = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(seed_grad)
    tout.backward(torch.tensor(seed_grad))
    for m, r in zip(mine, ref, strict=True):
        expected = np.zeros(m.shape) if r.grad is None else r.grad.numpy()
        got = np.zeros(m.shape) if m.grad is None else m.grad
        assert got.shape == m.shape
        np.testing.assert_allclose(got, expected, rtol=TOL, atol=TOL)


BINARY = {
    "+": (lambda a, b: a + b, lambda a, b: a + b),
    "-": (lambda a, b: a - b, lambda a, b: a - b),
    "*": (lambda a, b: a * b, lambda a, b: a * b),
    "maximum": (autograd.maximum, torch.maximum),
}


@pytest.mark.parametrize("op", sorted(BINARY))
@settings(max_examples=40)
@given(data=st.data(), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
def test_binary_operations_with_broadcasting(op, data, shapes):
    a = data.draw(arrays(shapes.input_shapes[0], COARSE if op == "maximum" else VALUES))
    b = data.draw(arrays(shapes.input_shapes[1], COARSE if op == "maximum" else VALUES))
    compare(*BINARY[op], a, b)


@settings(max_examples=40)
@given(data=st.data(), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
def test_division_with_broadcasting(data, shapes):
    a = data.draw(arrays(shapes.input_shapes[0]))
    b = data.draw(arrays(shapes.input_shapes[1], st.floats(0.5, 3.0)))
    sign = np.where(np.arange(b.size).reshape(b.shape) % 2 == 0, 1.0, -1.0)
    compare(lambda x, y: x / y, lambda x, y: x / y, a, b * sign)


@settings(max_examples=30)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
def test_numbers_on_either_side(data, shape):
    a = data.draw(arrays(shape))
    compare(lambda x: 2.0 - x * 3 + 1.5 / (x * x + 1.0) - (-x) + autograd.maximum(0.5, x),
            lambda x: 2.0 - x * 3 + 1.5 / (x * x + 1.0) - (-x)
            + torch.maximum(torch.full_like(x, 0.5), x), a)  # a tie at 0.5 splits, as torch's


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.0, 1, 0])
@settings(max_examples=20)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
def test_power(exponent, data, shape):
    a = data.draw(arrays(shape, st.floats(0.25, 3.0)))
    compare(lambda x: x ** exponent, lambda x: x ** exponent, a)
    compare(lambda x: (-x) ** exponent, lambda x: (-x) ** exponent, a) if float(exponent).is_integer() \
        else None


UNARY = {
    "exp": (autograd.exp, torch.exp, VALUES),
    "log": (autograd.log, torch.log, st.floats(0.05, 5.0)),
    "tanh": (autograd.tanh, torch.tanh, VALUES),
    "sigmoid": (autograd.sigmoid, torch.sigmoid, st.floats(-40.0, 40.0)),
}


@pytest.mark.parametrize("op", sorted(UNARY))
@settings(max_examples=25)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=5))
def test_elementwise_functions(op, data, shape):
    ours, theirs, elements = UNARY[op]
    compare(ours, theirs, data.draw(arrays(shape, elements)))


def _axis(data, ndim):
    """None, one axis (maybe negative) or a tuple of distinct axes of an ndim-array."""
    if ndim == 0:
        return None
    kind = data.draw(st.sampled_from(["none", "one", "tuple"]))
    if kind == "none":
        return None
    if kind == "one":
        return data.draw(st.integers(-ndim, ndim - 1))
    return tuple(data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)))


@pytest.mark.parametrize("op", ["sum", "mean", "max"])
@settings(max_examples=40)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4),
       keepdims=st.booleans())
def test_reductions(op, data, shape, keepdims):
    a = data.draw(arrays(shape, COARSE if op == "max" else VALUES))  # COARSE: ties in max
    axis = _axis(data, len(shape))
    torch_op = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax}[op]

    def theirs(x):
        dims = tuple(range(x.ndim)) if axis is None else axis
        return torch_op(x, dim=dims, keepdim=keepdims)

    compare(lambda x: getattr(x, op)(axis=axis, keepdims=keepdims), theirs, a)


@settings(max_examples=30)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
def test_reshape_and_transpose(data, shape):
    a = data.draw(arrays(shape))
    flat = (int(np.prod(shape)),)
    compare(lambda x: x.reshape(flat).reshape(*shape[::-1]).T * x + x.T.reshape(flat).sum(),
            lambda x: x.reshape(flat).reshape(*shape[::-1]).permute(*range(len(shape) - 1, -1, -1))
            * x + x.permute(*range(len(shape) - 1, -1, -1)).reshape(flat).sum(), a)


@settings(max_examples=30)
@given(data=st.data(), n=st.integers(1, 6), c=st.integers(1, 5))
def test_picking_one_entry_per_row_and_repeated_places(data, n, c):
    s = data.draw(arrays((n, c)))
    y = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    rows = np.asarray(data.draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n)))  # repeats
    compare(lambda t: t[np.arange(n), y] * 2.0 + t[rows, y] + t[rows] .sum(axis=1),
            lambda t: t[torch.arange(n), torch.tensor(y)] * 2.0 + t[torch.tensor(rows), torch.tensor(y)]
            + t[torch.tensor(rows)].sum(dim=1), s)


@settings(max_examples=20)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=4))
def test_basic_indexing(data, shape):
    a = data.draw(arrays(shape))
    compare(lambda t: t[1:, ::2] * t[0, ::2] + t[-1].sum(), lambda t: t[1:, ::2] * t[0, ::2] + t[-1].sum(), a)


@pytest.mark.parametrize("case", ["matrix", "vector-matrix", "matrix-vector", "vector-vector", "batched"])
@settings(max_examples=20)
@given(data=st.data(), n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4),
       batch=st.integers(1, 3))
def test_matmul(case, data, n, k, m, batch):
    shapes = {"matrix": ((n, k), (k, m)), "vector-matrix": ((k,), (k, m)),
              "matrix-vector": ((n, k), (k,)), "vector-vector": ((k,), (k,)),
              "batched": ((batch, n, k), (k, m))}[case]
    a, b = (data.draw(arrays(s)) for s in shapes)
    compare(lambda x, w: x @ w, lambda x, w: x @ w, a, b)


@settings(max_examples=25)
@given(data=st.data(), n=st.integers(1, 4))
def test_a_tensor_used_several_times_sums_its_gradients(data, n):
    a = data.draw(arrays((n, n), COARSE))
    compare(lambda x: (x * x + x) @ x.T + autograd.maximum(x, x) - autograd.exp(x).sum(axis=0),
            lambda x: (x * x + x) @ x.T + torch.maximum(x, x) - torch.exp(x).sum(dim=0), a)


def test_lecture_losses_written_as_one_expression_match_torch():
    rng = np.random.default_rng(0)
    n, d, h, c = 6, 5, 4, 3
    x, y = rng.standard_normal((n, d)), rng.integers(0, c, n)
    mask = 1.0 - np.eye(c)[y]

    def ours(w1, b1, w2, b2):
        s = autograd.maximum(x @ w1 + b1, 0.0) @ w2 + b2
        hinge = (autograd.maximum(s - s[np.arange(n), y].reshape(n, 1) + 1.0, 0.0) * mask).sum() / n
        shifted = s - s.max(axis=1, keepdims=True)
        softmax = (autograd.log(autograd.exp(shifted).sum(axis=1)) - shifted[np.arange(n), y]).mean()
        return hinge + softmax + 0.1 * (w1 ** 2).sum() + 0.1 * (w2 ** 2).sum()

    def theirs(w1, b1, w2, b2):
        s = torch.relu(torch.tensor(x) @ w1 + b1) @ w2 + b2
        correct = s[torch.arange(n), torch.tensor(y)].reshape(n, 1)
        hinge = (torch.clamp(s - correct + 1.0, min=0.0) * torch.tensor(mask)).sum() / n
        softmax = torch.nn.functional.cross_entropy(s, torch.tensor(y))
        return hinge + softmax + 0.1 * (w1 ** 2).sum() + 0.1 * (w2 ** 2).sum()

    compare(ours, theirs, *(rng.standard_normal(s) for s in [(d, h), (h,), (h, c), (c,)]))


# What a reduction's gradient reaches: it arrives spread lazily (size 1 along the reduced axes),
# each operation below takes it as it is, broadcasting included.
AFTER_A_REDUCTION = {
    "+": (lambda a, b: a + b, lambda a, b: a + b),
    "-": (lambda a, b: a - b, lambda a, b: a - b),
    "*": (lambda a, b: a * b, lambda a, b: a * b),
    "/": (lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    "maximum": (autograd.maximum, torch.maximum),
    "neg, **2, **3": (lambda a, b: -(a ** 2) * b + b ** 3, lambda a, b: -(a ** 2) * b + b ** 3),
    "exp, log, tanh, sigmoid": (
        lambda a, b: autograd.exp(a) + autograd.log(b * b + 1.0) * autograd.tanh(a) - autograd.sigmoid(b),
        lambda a, b: torch.exp(a) + torch.log(b * b + 1.0) * torch.tanh(a) - torch.sigmoid(b)),
}


@pytest.mark.parametrize("op", sorted(AFTER_A_REDUCTION))
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@settings(max_examples=30)
@given(data=st.data(), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4),
       keepdims=st.booleans())
def test_a_reduction_s_gradient_through_each_elementwise_operation(op, reduction, data, shapes, keepdims):
    a = data.draw(arrays(shapes.input_shapes[0], COARSE if op == "maximum" else VALUES))
    b = data.draw(arrays(shapes.input_shapes[1], COARSE if op == "maximum" else VALUES))
    axis = _axis(data, len(shapes.result_shape))
    ours, theirs = AFTER_A_REDUCTION[op]
    torch_op = {"sum": torch.sum, "mean": torch.mean}[reduction]

    def reduced_theirs(x, y):
        out = theirs(x, y)
        dims = tuple(range(out.ndim)) if axis is None else axis
        return torch_op(out, dim=dims, keepdim=keepdims) * 1.5

    compare(lambda x, y: getattr(ours(x, y), reduction)(axis=axis, keepdims=keepdims) * 1.5,
            reduced_theirs, a, b)


@settings(max_examples=30)
@given(data=st.data(), n=st.integers(1, 4), k=st.integers(1, 4))
def test_a_reduction_s_gradient_into_products_shapes_indexing_and_repeated_uses(data, n, k):
    # Operations that need every entry of their gradient, fed by sums; and one tensor whose
    # gradient adds up lazily spread parts (two sums) and full ones, in either order.
    a, w = data.draw(arrays((n, k), COARSE)), data.draw(arrays((k, n)))
    rows = np.asarray(data.draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n)))

    def ours(x, v):
        return ((x @ v).sum() + x.T.sum(axis=0).mean() + x.reshape(-1).sum() + x.max(axis=1).sum()
                + x[rows].sum() + x.sum(axis=0).sum() + x.sum() * x.mean(axis=1, keepdims=True)
                + (v * v).sum(axis=1, keepdims=True).T)

    def theirs(x, v):
        return ((x @ v).sum() + x.T.sum(dim=0).mean() + x.reshape(-1).sum() + x.amax(dim=1).sum()
                + x[torch.tensor(rows)].sum() + x.sum(dim=0).sum() + x.sum() * x.mean(dim=1, keepdim=True)
                + (v * v).sum(dim=1, keepdim=True).T)

    compare(ours, theirs, a, w)
