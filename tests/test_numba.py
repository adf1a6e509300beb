"""The loader of the optional compiled kernels: one cached answer per module, the switches that turn
them off, and the NumPy path their callers take then."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import numpy as np
import pytest

from warpnet import _numba
from warpnet._fast import fused, graph
from warpnet.features import HOG, _dense, _fisher, _hog, bow

skfeature = pytest.importorskip("skimage.feature")

# The compiled twin of every caller, as the caller names it.
KERNELS = (_hog._COMPILED, _dense._COMPILED, _fisher._COMPILED, bow._COMPILED, fused._COMPILED,
           graph._COMPILED)
HAS_NUMBA = importlib.util.find_spec("numba") is not None


@pytest.fixture
def fresh(monkeypatch):
    """An empty cache for the test, so ``kernels`` looks again; the real one comes back after."""
    monkeypatch.setattr(_numba, "_loaded", {})


def forget_imports(monkeypatch):
    """Drop the imported kernel modules for the test, so importing them runs their top again."""
    for name in KERNELS:
        parent, _, child = name.rpartition(".")
        monkeypatch.delitem(sys.modules, name, raising=False)
        monkeypatch.delattr(sys.modules[parent], child, raising=False)


def test_each_module_is_looked_for_once(fresh, monkeypatch):
    asked = []
    monkeypatch.setattr(_numba, "load", lambda name: asked.append(name) or None)
    assert _numba.kernels("warpnet.a") is None and _numba.kernels("warpnet.a") is None
    assert _numba.kernels("warpnet.b") is None
    assert asked == ["warpnet.a", "warpnet.b"]


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")
def test_every_caller_names_a_module_that_loads(fresh, monkeypatch):
    monkeypatch.setenv("WARPNET_NUMBA", "1")
    for name in KERNELS:
        assert _numba.kernels(name) is sys.modules[name]
    assert _hog.backend().startswith("numba ") and _dense.backend() == _fisher.backend() == _hog.backend()
    assert fused.available()


def test_the_environment_variable_turns_every_kernel_off(fresh, monkeypatch):
    monkeypatch.setenv("WARPNET_NUMBA", "0")
    assert [_numba.kernels(name) for name in KERNELS] == [None] * len(KERNELS)
    assert _hog.backend() == _dense.backend() == _fisher.backend() == "NumPy"
    assert not fused.available() and graph._kernel("weighted_input") is None


def test_without_numba_hog_takes_the_numpy_path(fresh, monkeypatch):
    monkeypatch.setenv("WARPNET_NUMBA", "1")
    monkeypatch.setitem(sys.modules, "numba", None)  # importing numba fails
    forget_imports(monkeypatch)
    assert [_numba.kernels(name) for name in KERNELS] == [None] * len(KERNELS)
    images = np.random.default_rng(4).integers(0, 256, (2, 16, 16), dtype=np.uint8)
    out = HOG().fit_transform(images)
    assert _hog.backend() == "NumPy"
    reference = np.stack([skfeature.hog(im, cells_per_block=(1, 1)) for im in images])
    assert np.abs(out - reference).max() < 1e-5


def test_a_numba_that_cannot_cache_leaves_the_array_path(fresh, monkeypatch):
    # numba raises RuntimeError while decorating when it finds no writable cache folder
    import_module = importlib.import_module

    def cannot_cache(name, package=None):
        if name in KERNELS:
            raise RuntimeError("cannot cache function: no locator available")
        return import_module(name, package)

    monkeypatch.setenv("WARPNET_NUMBA", "1")
    monkeypatch.setattr(_numba.importlib, "import_module", cannot_cache)
    assert not fused.available()
    assert fused.sgd(np.ones(10), np.ones(10), np.zeros(10), 0.5, 0.9, 0.0, False) is None


def test_numpy_path_turns_off_the_named_modules_within_the_block(fresh, monkeypatch):
    monkeypatch.setattr(_numba, "load", lambda name: sys.modules[__name__])  # a stand-in module
    a, b = "warpnet.a", "warpnet.b"
    with _numba.numpy_path(a):
        assert _numba.kernels(a) is None and _numba.kernels(b) is not None
        with _numba.numpy_path():  # names nothing: every module
            assert _numba.kernels(a) is None and _numba.kernels(b) is None
        assert _numba.kernels(b) is not None
        with _numba.numpy_path(a):  # the same name again, nested
            pass
        assert _numba.kernels(a) is None
    assert _numba.kernels(a) is not None and _numba.kernels(b) is not None


def test_numpy_path_ends_with_an_error_in_the_block(fresh, monkeypatch):
    monkeypatch.setattr(_numba, "load", lambda name: sys.modules[__name__])
    with pytest.raises(KeyError), _numba.numpy_path("warpnet.a"):
        raise KeyError("inside")
    assert _numba.kernels("warpnet.a") is not None


def test_numpy_path_takes_module_names_only():
    with pytest.raises(TypeError, match="module names"), _numba.numpy_path(_hog):
        pass
