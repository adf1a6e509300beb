"""NumPy's own BLAS through ctypes: same results as NumPy, and a clean refusal where it does not apply."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from warpnet import blas

needs_blas = pytest.mark.skipif(not blas.available(), reason="NumPy's BLAS not found on this installation")
N = 2 * blas.MIN_SIZE["scal"]


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_and_scal_equal_numpy(dtype):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(N).astype(dtype), rng.standard_normal(N).astype(dtype)
    expected = y.astype(np.float64) - 0.3 * x
    assert blas.axpy(-0.3, x, y)
    tol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(y, expected, rtol=tol, atol=tol)
    assert blas.scal(0.5, y)
    np.testing.assert_allclose(y, 0.5 * expected, rtol=tol, atol=tol)
    assert blas.axpy(1.0, y, y)  # x may be y itself
    np.testing.assert_allclose(y, expected, rtol=tol, atol=tol)


@needs_blas
def test_writes_through_contiguous_views_only_inside_them():
    base = np.zeros(3 * N, np.float32)
    assert blas.axpy(2.0, np.ones(N, np.float32), base[N:2 * N])
    assert blas.scal(3.0, base[N:2 * N])
    assert base[N:2 * N].min() == 6.0 and base[:N].max() == 0 and base[2 * N:].max() == 0
    matrix = base.reshape(3, N)
    assert blas.axpy(1.0, np.ones(N, np.float32), matrix[2])  # a contiguous row
    assert matrix[2].min() == 1.0


@pytest.mark.parametrize("case", ["small", "strided", "dtypes", "sizes", "overlap", "readonly", "ints",
                                  "not numpy"])
def test_refuses_what_it_cannot_do_and_changes_nothing(case):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(N).astype(np.float32), rng.standard_normal(N).astype(np.float32)
    if case == "small":
        x, y = x[:100], y[:100]
    elif case == "strided":
        x, y = np.ones(2 * N, np.float32)[::2], rng.standard_normal(2 * N).astype(np.float32)[::2]
    elif case == "dtypes":
        x = x.astype(np.float64)
    elif case == "sizes":
        x = x[:-1]
    elif case == "overlap":
        both = rng.standard_normal(N + 1).astype(np.float32)
        x, y = both[1:], both[:-1]
    elif case == "readonly":
        y.flags.writeable = False
    elif case == "ints":
        x, y = np.ones(N, np.int64), np.ones(N, np.int64)
    elif case == "not numpy":
        x = list(range(10))
    before = np.array(y, copy=True)
    assert not blas.axpy(0.5, x, y)
    assert case in ("dtypes", "sizes", "overlap", "not numpy") or not blas.scal(0.5, y)
    np.testing.assert_array_equal(y, before)


def test_environment_switch_turns_it_off():
    env = {**os.environ, "WARPNET_NUMPY_BLAS": "0"}
    out = subprocess.run([sys.executable, "-c", "from warpnet import blas; print(blas.available())"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@needs_blas
def test_reports_its_thread_count_as_threadpoolctl_sets_it():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert blas.num_threads() == 1
    assert blas.num_threads() >= 1


@pytest.mark.skipif(blas._SHUTDOWN_THREADS is None, reason="needs NumPy's OpenBLAS on Linux")
def test_idle_workers_go_only_when_no_other_thread_could_be_in_a_product():
    a = np.random.default_rng(0).standard_normal((300, 300))
    expected = a @ a
    assert blas.release_idle_threads()
    np.testing.assert_array_equal(a @ a, expected)  # the workers come back for the next product
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not blas.release_idle_threads()  # another thread might be inside BLAS
    finally:
        stop.set()
        other.join()
    assert blas.release_idle_threads()
    np.testing.assert_array_equal(a @ a, expected)


@pytest.mark.skipif(blas._SHUTDOWN_THREADS is None, reason="needs NumPy's OpenBLAS on Linux")
def test_a_tqdm_progress_bar_thread_does_not_keep_the_workers():
    tqdm = pytest.importorskip("tqdm")
    bar = tqdm.tqdm(total=3, disable=False, file=open(os.devnull, "w"))  # noqa: SIM115
    try:
        assert any(blas._tqdm_monitor(t) for t in threading.enumerate())  # tqdm started it
        assert blas.release_idle_threads()
    finally:
        bar.close()
        bar.fp.close()


def test_loop_threads_lends_at_most_what_blas_and_the_cores_allow(monkeypatch):
    monkeypatch.setattr(blas, "num_threads", lambda: 8)
    monkeypatch.setattr(blas._threads, "usable_cores", lambda: 4)
    released = []
    monkeypatch.setattr(blas, "release_idle_threads", lambda: released.append(1) or True)
    assert blas.lendable_threads() == 4
    assert blas.loop_threads(3) == 3 and blas.loop_threads(100) == 4
    assert blas.loop_threads(1) == 1 and len(released) == 2  # one thread: nothing to let go
    monkeypatch.setattr(blas, "release_idle_threads", lambda: False)
    assert blas.loop_threads(100) == 1
