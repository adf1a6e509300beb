"""Helper threads for memory-bound elementwise loops (an optimizer's update of a large weight).

One core cannot draw all of the machine's memory bandwidth: the update of the 3072 x 1024 layer of
``benchmarks/engine.py``'s net (b) runs at about 23 GB/s on one core here and about 40 GB/s on
two.  ``run(fn, parts)`` calls ``fn(part)`` for each part, the first on the calling thread and the
others on helper threads, and returns the results in order.  The loops handed to it release the
GIL (compiled with ``nogil=True``), so the parts run at once.

The helpers are created on first use, kept (a thread costs more to start than a small part costs
to run) and forgotten in a forked child, where they do not exist.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["helper_threads", "run", "usable_cores"]


class _Helper:
    """One daemon thread that runs ``fn(part)`` for each task it is handed."""

    def __init__(self) -> None:
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="warpnet-helper", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            fn, part, result, done = self.tasks.get()
            try:
                result.append((True, fn(part)))
            except BaseException as err:  # handed back to the caller, which raises it
                result.append((False, err))
            done.release()


_helpers: list[_Helper] = []
_lock = threading.Lock()


def _forget_helpers() -> None:
    global _lock
    _helpers.clear()
    _lock = threading.Lock()  # it may have been held by a thread that the child does not have


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers)


def usable_cores() -> int:
    """The cores this process may run on (more threads than that would only take turns)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def helper_threads() -> frozenset[threading.Thread]:
    """The helper threads started so far.  They call into BLAS only inside ``run`` (a graph
    step's lanes), while the thread that called it runs its own part and then waits for theirs."""
    return frozenset(h.thread for h in _helpers)


def run(fn: Callable[[Any], Any], parts: Sequence[Any]) -> list[Any]:
    """``[fn(part) for part in parts]``, the first part on this thread and each other on a helper
    thread of its own, at the same time.  Waits for all of them; an exception raised by any part
    is raised here (the first in part order) once every part has finished."""
    if len(parts) <= 1:
        return [fn(part) for part in parts]
    with _lock:
        while len(_helpers) < len(parts) - 1:
            _helpers.append(_Helper())
        helpers = _helpers[:len(parts) - 1]
    done = threading.Semaphore(0)
    results: list[list[tuple[bool, Any]]] = [[] for _ in helpers]
    for helper, part, result in zip(helpers, parts[1:], results, strict=True):
        helper.tasks.put((fn, part, result, done))
    try:
        first = fn(parts[0])
    finally:
        _wait(done, len(helpers))
    for ok, value in (result[0] for result in results):
        if not ok:
            raise value
    return [first] + [result[0][1] for result in results]


def _wait(done: threading.Semaphore, count: int) -> None:
    """Acquire ``done`` ``count`` times, even through a KeyboardInterrupt (raised afterwards): the
    parts share the caller's arrays, so nothing may return while one of them still runs."""
    interrupted: BaseException | None = None
    while count:
        try:
            done.acquire()
            count -= 1
        except KeyboardInterrupt as err:
            interrupted = err
    if interrupted is not None:
        raise interrupted
