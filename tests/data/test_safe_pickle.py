import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warpnet.data._safe_pickle import safe_unpickle


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, ">f8"])
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_arrays_round_trip(protocol, dtype):
    a = np.arange(24).reshape(2, 3, 4).astype(dtype)
    fortran = np.asfortranarray(a)
    raw = pickle.dumps({"a": a, "f": fortran, "n": [1, 2.5, b"x"]}, protocol=protocol)
    out = safe_unpickle(raw, "t")
    reference = pickle.loads(raw)  # the standard unpickler on trusted data is the oracle
    for key in ("a", "f"):
        np.testing.assert_array_equal(out[key], a)
        assert out[key].dtype == reference[key].dtype
        assert out[key].flags.f_contiguous == reference[key].flags.f_contiguous
    assert out["n"] == [1, 2.5, b"x"]


def test_python2_strings_come_back_as_bytes(cifar_files):
    out = safe_unpickle(cifar_files.py2_pickle({"key": "value", "arr": np.ones(3, np.uint8)}), "t")
    assert out[b"key"] == b"value"
    np.testing.assert_array_equal(out[b"arr"], np.ones(3, np.uint8))


def test_builtin_dtype_singletons_are_not_mutated():
    # BUILD calls __setstate__ on the dtype the pickle made; it must be a copy, never the
    # process-wide uint8 dtype.
    before = np.dtype(np.uint8)
    safe_unpickle(pickle.dumps(np.zeros(2, np.uint8), protocol=2), "t")
    assert np.dtype(np.uint8) is before and before.byteorder == "|"


_VALID = pickle.dumps({b"data": np.arange(12, dtype=np.uint8).reshape(2, 6), b"labels": [1, 2]},
                      protocol=2)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), max_size=4),
       st.integers(1, len(_VALID)))
def test_corrupted_pickles_only_raise_value_error(flips, cut):
    raw = bytearray(_VALID)
    for pos, value in flips:
        raw[pos] = value
    try:
        safe_unpickle(bytes(raw[:cut]), "fuzz")
    except ValueError as exc:
        assert "fuzz" in str(exc)
