from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian classes in 5-D, 90 samples (float64, int labels)."""
    rng = np.random.default_rng(0)
    centers = rng.normal(0.0, 3.0, (3, 5))
    y = np.repeat(np.arange(3), 30)
    X = centers[y] + rng.normal(0.0, 1.0, (90, 5))
    return X, y
