"""Small data sets and models for the tests of the compiled path (as the trainer tests' own)."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import nn


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
