"""Backend kernels: in-place results equal the plain formulas on every path."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from warpnet import backend


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 3), (300, 200), (600, 2000)], ids=["small", "mid", "large"])
@pytest.mark.parametrize("alpha", [0.25, 1.0])
def test_add_scaled_and_scale_are_in_place_and_exact(dtype, shape, alpha):
    rng = np.random.default_rng(0)
    y, x = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    expected = y.astype(np.float64) + alpha * x.astype(np.float64)
    assert backend.add_scaled(y, alpha, x) is y
    np.testing.assert_allclose(y, expected, rtol=1e-6 if dtype == np.float32 else 1e-14)
    assert backend.scale(y, -0.5) is y
    np.testing.assert_allclose(y, -0.5 * expected, rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_scratch_is_reused_per_thread():
    a = backend._scratch((10, 10), np.float32)
    b = backend._scratch((5,), np.float32)
    assert np.shares_memory(a, b) and a.shape == (10, 10) and b.shape == (5,)
    other = []
    thread = threading.Thread(target=lambda: other.append(backend._scratch((5,), np.float32)))
    thread.start()
    thread.join()
    assert not np.shares_memory(other[0], b)


def test_add_scaled_writes_through_views():
    base = np.zeros(50_000, np.float32)
    backend.add_scaled(base[10_000:20_000], 2.0, np.ones(10_000, np.float32))
    assert base[10_000:20_000].min() == 2.0 and base[:10_000].max() == 0 and base[20_000:].max() == 0


def test_blocks_cover_every_element_once():
    a = np.arange(100_000, dtype=np.float32)
    b = np.zeros_like(a)
    for x, y in backend.blocks(a, b, size=30_000):
        y += x
    np.testing.assert_array_equal(a, b)
    small = np.ones(5)
    assert list(backend.blocks(small)) == [(small,)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (200, 10), (7, 300)])
def test_row_max_and_row_sum_equal_the_reductions(dtype, shape):
    x = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    np.testing.assert_array_equal(backend.row_max(x), x.max(axis=1, keepdims=True))
    tol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(backend.row_sum(x), x.sum(axis=1, keepdims=True), rtol=tol, atol=tol)
    assert backend.row_max(x).shape == backend.row_sum(x).shape == (shape[0], 1)
    strided = np.asfortranarray(x)[:, ::2]
    np.testing.assert_array_equal(backend.row_max(strided), strided.max(axis=1, keepdims=True))


@pytest.mark.parametrize("shape", [(1, 1), (200, 10), (7, 300)])
def test_column_sum_is_the_sum_over_rows(shape):
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(backend.column_sum(x), x.sum(axis=0))
    assert backend.column_sum(x).shape == (shape[1],)
