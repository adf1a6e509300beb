"""Threaded transforms: thread counts, the chunk split, and results equal to one thread."""

import numpy as np
import pytest

from warpnet import _numba
from warpnet.features import HOG, ColorHistogram, _hog, _parallel


def test_effective_n_jobs_follows_joblib_convention(monkeypatch):
    monkeypatch.setattr(_parallel, "available_cpus", lambda: 4)
    assert _parallel.effective_n_jobs(None) == 4
    assert _parallel.effective_n_jobs(-1) == 4
    assert _parallel.effective_n_jobs(-2) == 3
    assert _parallel.effective_n_jobs(-9) == 1
    assert _parallel.effective_n_jobs(1) == 1
    assert _parallel.effective_n_jobs(7) == 7


def test_available_cpus_is_positive():
    assert _parallel.available_cpus() >= 1


@pytest.mark.parametrize("bad", [0, 1.5, True, "2"])
@pytest.mark.parametrize("cls", [HOG, ColorHistogram])
def test_bad_n_jobs(cls, bad):
    with pytest.raises(ValueError, match="n_jobs"):
        cls(n_jobs=bad).fit(np.zeros((1, 16, 16, 3), dtype=np.uint8))


@pytest.mark.parametrize("n", [1, 2, 5, 97, 1000])
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("per_image", [1024, 76_800])
def test_chunks_cover_the_batch_once_and_balance(n, threads, per_image):
    max_pixels = 1 << 20
    starts, step = _parallel.chunk_starts(n, per_image, max_pixels, threads)
    covered = np.concatenate([np.arange(s, min(s + step, n)) for s in starts])
    np.testing.assert_array_equal(covered, np.arange(n))
    assert step * per_image <= max(max_pixels, per_image)
    if n * per_image >= threads * _parallel._MIN_PIXELS_PER_THREAD:
        assert len(starts) >= min(threads, n)  # every thread gets work


def test_small_batches_stay_on_one_thread():
    starts, _ = _parallel.chunk_starts(4, 1024, 1 << 20, n_threads=8)
    assert len(starts) == 1


def test_run_chunks_calls_every_start_and_propagates_errors():
    seen = []
    assert list(_parallel.run_chunks(seen.append, range(0, 10, 2), 3)) == [0, 2, 4, 6, 8]
    assert sorted(seen) == [0, 2, 4, 6, 8]

    def fail_at_four(start):
        if start == 4:
            raise ValueError("chunk 4")

    with pytest.raises(ValueError, match="chunk 4"):
        list(_parallel.run_chunks(fail_at_four, range(0, 10, 2), 2))


def images(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, shape).astype(dtype)
    if dtype != np.uint8:
        x += rng.random(shape).astype(dtype)
    return x


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(203, 32, 32), (131, 32, 32, 3), (5, 120, 160)])
@pytest.mark.parametrize("block", [1, 3])
def test_hog_threads_give_the_single_thread_result(dtype, shape, block):
    x = images(shape, dtype)
    one = HOG(cells_per_block=block, n_jobs=1).fit(x[:1]).transform(x)
    for jobs in (2, 3, None, -1):
        many = HOG(cells_per_block=block, n_jobs=jobs).fit(x[:1]).transform(x)
        np.testing.assert_array_equal(many, one)


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
@pytest.mark.parametrize(
    "params", [{}, {"channels": ("h", "s", "v")}, {"space": "rgb", "channels": ("r", "g", "b")}]
)
def test_color_threads_give_the_single_thread_result(dtype, params):
    x = images((301, 32, 32, 3), dtype)
    np.clip(x, 0, 255, out=x)
    one = ColorHistogram(n_jobs=1, **params).fit(x[:1]).transform(x)
    for jobs in (2, 3, None):
        many = ColorHistogram(n_jobs=jobs, **params).fit(x[:1]).transform(x)
        np.testing.assert_array_equal(many, one)


def test_an_error_in_a_later_chunk_reaches_the_caller():
    x = images((300, 32, 32), np.float64)
    est = HOG(transform_sqrt=True, n_jobs=2).fit(x[:1])
    x[250, 3, 3] = -1.0  # only a late chunk sees it
    with pytest.raises(ValueError, match="transform_sqrt"):
        est.transform(x)


def test_default_threads_per_feature(monkeypatch):
    monkeypatch.setattr(_parallel, "available_cpus", lambda: 4)
    grey = np.zeros((1, 16, 16), dtype=np.uint8)
    rgb = np.zeros((1, 16, 16, 3), dtype=np.uint8)
    assert HOG().fit(grey)._n_threads() == 4
    with _numba.numpy_path(_hog._COMPILED):
        assert HOG().fit(rgb)._n_threads() == 1  # colour HOG on the NumPy path: one thread unless asked
    if _numba.kernels(_hog._COMPILED) is not None:
        assert HOG().fit(rgb)._n_threads() == 4  # the compiled path uses every CPU
    assert HOG(color="gray").fit(rgb)._n_threads() == 4
    assert HOG(n_jobs=-1).fit(rgb)._n_threads() == 4
    assert HOG(n_jobs=2).fit(rgb)._n_threads() == 2
    assert ColorHistogram().fit(rgb)._n_threads() == 4
