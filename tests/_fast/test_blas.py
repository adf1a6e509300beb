"""NumPy's own BLAS through ctypes: its thread count, and letting its idle workers go only when safe."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from warpnet._fast import blas

needs_blas = pytest.mark.skipif(not blas.available(), reason="NumPy's BLAS not found on this installation")


def test_environment_switch_turns_it_off():
    env = {**os.environ, "WARPNET_NUMPY_BLAS": "0"}
    out = subprocess.run([sys.executable, "-c", "from warpnet._fast import blas; print(blas.available())"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@needs_blas
def test_reports_its_thread_count_as_threadpoolctl_sets_it():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert blas.num_threads() == 1
    assert blas.num_threads() >= 1


@pytest.fixture
def no_foreign_threads():
    """Skip when threads of other libraries are alive in this test process (zarr's I/O loop and
    Dask's offload thread outlive the tests that used them): with them the workers rightly stay."""
    foreign = [t.name for t in threading.enumerate()
               if t is not threading.current_thread() and t not in blas._threads.helper_threads()
               and not blas._tqdm_monitor(t)]
    if foreign:
        pytest.skip(f"other libraries' threads are alive in this process: {foreign}")


@pytest.mark.skipif(blas._SHUTDOWN_THREADS is None, reason="needs NumPy's OpenBLAS on Linux")
def test_idle_workers_go_only_when_no_other_thread_could_be_in_a_product(no_foreign_threads):
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
def test_a_tqdm_progress_bar_thread_does_not_keep_the_workers(no_foreign_threads):
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
