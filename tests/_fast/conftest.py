"""Shared by the compiled-step tests."""

from __future__ import annotations

import tracemalloc

import pytest


@pytest.fixture
def peak_new_bytes():
    """A function ``(step, x, y, steps=3) -> bytes``: after one warm-up call, the peak of memory
    newly allocated over ``steps`` more calls of ``step(x, y)`` (buffers kept from the first call
    are not counted)."""
    def measure(step, x, y, steps: int = 3) -> int:
        step(x, y)
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            for _ in range(steps):
                step(x, y)
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    return measure
