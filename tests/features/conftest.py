"""Shared by the feature tests."""

from __future__ import annotations

import pytest

from warpnet import _numba


@pytest.fixture(params=["numpy", "numba"])
def kernel_path(request):
    """Run the test once on each path of the test module's ``COMPILED`` kernels (a module name, as
    ``warpnet._numba.kernels`` takes it): "numpy" forces the NumPy path, "numba" is skipped where
    the compiled kernels do not run."""
    compiled = request.module.COMPILED
    if request.param == "numba":
        if _numba.kernels(compiled) is None:
            pytest.skip("compiled kernels are off here")
        yield request.param
    else:
        with _numba.numpy_path(compiled):
            yield request.param
