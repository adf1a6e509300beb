"""The engine runs on any array-API namespace: tests take ``xp`` and run on NumPy, on
array-api-strict (which rejects anything outside the standard) and on PyTorch CPU tensors."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

NAMESPACES = ["numpy", "array_api_strict", "torch"]


def _load(name: str):
    if name == "numpy":
        return np
    return pytest.importorskip(name)


@pytest.fixture(params=NAMESPACES)
def xp(request):
    """An array namespace; ``xp.asarray`` turns NumPy test data into its arrays."""
    return _load(request.param)


@pytest.fixture
def to_xp():
    def convert(xp, *arrays):
        out = tuple(xp.asarray(a) for a in arrays)
        return out if len(out) > 1 else out[0]

    return convert


def namespace_module(name: str):
    return importlib.import_module(name)
