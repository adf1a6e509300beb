"""``Parameter``: its gradient is cleared by ``zero_grad`` and summed by ``accumulate``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warpnet import nn


def test_accumulate_right_after_zero_grad_takes_the_array_itself():
    p = nn.Parameter(np.ones((3, 2), np.float32))
    p.grad += 5.0
    p.zero_grad()
    g = np.full((3, 2), 2.0, np.float32)
    p.accumulate(g)
    assert p.grad is g  # no clearing pass, no adding pass
    p.accumulate(np.ones((3, 2), np.float32))
    np.testing.assert_array_equal(p.grad, 3.0)


def test_a_gradient_read_after_zero_grad_is_zero_and_then_added_to():
    p = nn.Parameter(np.ones((3, 2)))
    p.grad += 5.0
    p.zero_grad()
    kept = p.grad
    np.testing.assert_array_equal(kept, 0.0)
    g = np.full((3, 2), 2.0)
    p.accumulate(g)
    assert p.grad is kept  # the array already handed out stays the gradient
    np.testing.assert_array_equal(kept, 2.0)


@pytest.mark.parametrize("g", [np.ones(2, np.float32), np.ones((3, 2), np.float64), np.float32(1.0)],
                         ids=["broadcast row", "float64", "scalar"])
def test_an_array_of_another_shape_or_dtype_is_added_in(g):
    p = nn.Parameter(np.ones((3, 2), np.float32))
    p.zero_grad()
    p.accumulate(g)
    assert p.grad.dtype == np.float32 and p.grad.shape == (3, 2)
    np.testing.assert_array_equal(p.grad, 1.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["zero", "add", "read"]), max_size=12))
def test_any_sequence_of_calls_gives_the_running_sum(calls):
    p = nn.Parameter(np.zeros(4))
    expected = np.zeros(4)
    for i, call in enumerate(calls):
        if call == "zero":
            p.zero_grad()
            expected = np.zeros(4)
        elif call == "add":
            g = np.arange(4.0) + i
            p.accumulate(g)
            expected = expected + (np.arange(4.0) + i)
        else:
            np.testing.assert_array_equal(p.grad, expected)
    np.testing.assert_array_equal(p.grad, expected)


def test_two_backward_passes_without_zero_grad_sum_their_gradients():
    layer = nn.Linear(4, 3, rng=0)
    x, dout = np.ones((2, 4), np.float32), np.ones((2, 3), np.float32)
    layer.forward(x)
    layer.backward(dout)
    once = layer.weight.grad.copy()
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_array_equal(layer.weight.grad, 2 * once)
    layer.zero_grad()
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_array_equal(layer.weight.grad, once)
