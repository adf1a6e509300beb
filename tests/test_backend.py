"""The array helpers of the plain path: namespaces, devices, generators, copies to NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import backend


def test_numpy_arrays_get_the_array_api_namespace_of_numpy():
    xp = backend.array_namespace(np.ones(3), np.zeros((2, 2)))
    assert xp.isdtype(np.ones(3).dtype, "real floating")
    assert backend.device(np.ones(2)) == "cpu"
    assert backend.is_numpy_array(np.ones(2)) and not backend.is_numpy_array(np.float32(1))


def test_other_namespaces_are_found_and_copied_back():
    torch = pytest.importorskip("torch")
    t = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    xp = backend.array_namespace(t)
    assert xp.sum(t) == 15
    np.testing.assert_array_equal(backend.to_numpy(t), np.arange(6).reshape(2, 3))
    strict = pytest.importorskip("array_api_strict")
    np.testing.assert_array_equal(backend.to_numpy(strict.asarray([1.0, 2.0])), [1.0, 2.0])


def test_generators_come_from_explicit_seeds_only():
    a, b = backend.as_generator(3), backend.as_generator(3)
    assert a.random() == b.random()
    g = np.random.default_rng(0)
    assert backend.as_generator(g) is g
    with pytest.raises(ValueError, match="non-negative"):
        backend.as_generator(-1)
    with pytest.raises(TypeError, match="rng must be"):
        backend.as_generator(1.5)
