"""Test-suite settings and small fixtures shared by every folder.

Hypothesis runs derandomized (the same examples on every run, so a CI result never depends on luck)
and without per-example deadlines (a shared 2-core machine makes timings unreliable); `blobs` and
`small_mlp` are the small data and nets of the trainer and compiled-step tests.  Set
``HYPOTHESIS_PROFILE=explore`` to search with fresh random examples instead.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings

from warpnet import nn

settings.register_profile("repeatable", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

@pytest.fixture
def blobs() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Three Gaussian classes in 12-D: 240 training and 60 validation samples (float32, int64)."""
    rng = np.random.default_rng(1)
    centers = rng.standard_normal((3, 12)) * 2.0
    y = rng.integers(0, 3, 300)
    X = (centers[y] + rng.standard_normal((300, 12))).astype(np.float32)
    return X[:240], y[:240], X[240:], y[240:]


@pytest.fixture
def small_mlp():
    """A factory of identical small nets (same seed -> same initial weights)."""

    def make(dropout: float = 0.0, dtype: str = "float32") -> nn.Sequential:
        return nn.mlp([12, 16, 16, 3], dropout=dropout, rng=3, dtype=dtype)

    return make
