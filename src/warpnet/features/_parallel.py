"""Thread counts and the split of a batch into chunks for a small thread pool.

The feature kernels are chains of NumPy calls (ufuncs, ``take``, ``bincount``)
that release the GIL, so chunks of one batch run truly in parallel on threads,
without copying the images to other processes. Every image's features depend on
that image alone, so the split never changes a result.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

# Below this many pixels per thread, starting threads costs more than it saves.
_MIN_PIXELS_PER_THREAD = 1 << 15


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows: no affinity API
        return max(1, os.cpu_count() or 1)


def check_n_jobs(n_jobs: object) -> None:
    """Raise ValueError unless ``n_jobs`` is None or a non-zero int (joblib's convention)."""
    if n_jobs is None:
        return
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be None (all CPUs), a positive int or a negative int "
            f"(-1: all CPUs, -2: all but one), got {n_jobs!r}"
        )


def effective_n_jobs(n_jobs: int | None) -> int:
    """Threads to use: None or -1 -> all available CPUs, -k -> all but k - 1, k -> k.

    Never fewer than one; a positive ``n_jobs`` is taken as given (it may exceed
    the CPU count).
    """
    check_n_jobs(n_jobs)
    if n_jobs is None:
        return available_cpus()
    if n_jobs < 0:
        return max(1, available_cpus() + 1 + n_jobs)
    return n_jobs


def chunk_starts(n: int, per_image: int, max_pixels: int, n_threads: int) -> tuple[range, int]:
    """Split ``n`` images of ``per_image`` pixels into chunks: ``(starts, step)``.

    Chunks hold at most ``max_pixels`` pixels (one image at least). With several
    threads and enough work, there are at least ``n_threads`` chunks and their
    count is a multiple of ``n_threads``, so the threads finish together.
    """
    step = max(1, max_pixels // per_image)
    count = math.ceil(n / step)
    threads = min(n_threads, n, max(1, n * per_image // _MIN_PIXELS_PER_THREAD))
    if threads > 1:
        count = math.ceil(max(count, threads) / threads) * threads
        step = math.ceil(n / count)
    return range(0, n, step), step


def run_chunks(
    work: Callable[[int], None], starts: Iterable[int], n_threads: int
) -> Iterator[int]:
    """Call ``work(start)`` for every start, on ``n_threads`` threads; yield starts as done.

    The caller iterates the result to drive the work (a progress bar can wrap it).
    The first exception raised by ``work`` propagates; later chunks are cancelled.
    """
    starts = list(starts)
    if n_threads <= 1 or len(starts) <= 1:
        for s in starts:
            work(s)
            yield s
        return
    with ThreadPoolExecutor(max_workers=min(n_threads, len(starts))) as pool:
        futures = [(s, pool.submit(work, s)) for s in starts]
        try:
            for s, future in futures:
                future.result()
                yield s
        finally:
            for _, future in futures:
                future.cancel()
