"""warpnet.checks, the one module of input checks: each check against a hand-made case, on NumPy
and on another array namespace."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet import checks
from warpnet.errors import DataError


def test_check_finite_names_the_first_bad_row_on_every_namespace():
    a = np.zeros((5, 3), np.float32)
    checks.check_finite(a, "X")
    a[3, 1] = np.nan
    a[4, 0] = np.inf
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(first in row 3\); fix it"):
        checks.check_finite(a, "X", hint="fix it")
    big = np.full((2, 2), 1e30, np.float32)  # the sum of squares overflows, the values do not
    checks.check_finite(big, "X")
    torch = pytest.importorskip("torch")
    with pytest.raises(DataError, match="row 3"):
        checks.check_finite(torch.from_numpy(a), "X", error=DataError)


@pytest.mark.parametrize("y, n_classes, kwargs, error, match", [
    (np.array([0, 2, 1]), 3, {}, None, None),
    (np.array([0, 3]), 3, {}, ValueError, r"got values in \[0, 3\] \(label 3 is outside"),
    (np.array([-1, 0]), None, {}, ValueError, r"in \[0, inf\), got values in \[-1, 0\]"),
    (np.array([0.0, 1.0]), 3, {}, TypeError, "integer class labels"),
    (np.array([0.0, 1.0]), 3, {"whole_floats": True}, None, None),
    (np.array([0.0, 1.5]), 3, {"whole_floats": True}, ValueError, "whole-number"),
    (np.array([True]), 3, {}, TypeError, "integer class labels"),
    (np.zeros((2, 1), int), 3, {}, ValueError, "1-D"),
    (np.array([0, 1]), 3, {"n_samples": 3}, ValueError, "2 labels, but X has 3 samples"),
])
def test_check_class_labels(y, n_classes, kwargs, error, match):
    if error is None:
        out = checks.check_class_labels(y, n_classes, **kwargs)
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out, y)
    else:
        with pytest.raises(error, match=match):
            checks.check_class_labels(y, n_classes, **kwargs)


def test_check_sample_weight_and_real():
    checks.check_sample_weight(np.array([0.0, 1.0]), 2)
    for w, match in [(np.array([1.0]), r"shape \(2,\)"), (np.array([0.0, 0.0]), ">= 0 with at least one"),
                     (np.array([-1.0, 2.0]), ">= 0"), (np.array([np.nan, 1.0]), "NaN or inf")]:
        with pytest.raises(ValueError, match=match):
            checks.check_sample_weight(w, 2)
    with pytest.raises(TypeError, match="real numbers"):
        checks.check_real(np.array(["a"]), "X")
    with pytest.raises(TypeError, match="got None"):
        checks.host_array(None, "X")


@pytest.mark.parametrize("value, minimum, error, match", [
    (3, 1, None, None),
    (np.int64(2), 2, None, None),
    (0, 1, ValueError, "n must be >= 1, got 0"),
    (True, 0, ValueError, "n must be an int >= 0, got True"),
    (2.0, 1, ValueError, "n must be an int >= 1, got 2.0"),
])
def test_check_int(value, minimum, error, match):
    if error is None:
        out = checks.check_int(value, "n", minimum)
        assert out == value and type(out) is int
    else:
        with pytest.raises(error, match=match):
            checks.check_int(value, "n", minimum)


@pytest.mark.parametrize("value, expected, match", [
    (4, (4, 4), None),
    ((2, np.int32(3)), (2, 3), None),
    ([5, 1], (5, 1), None),
    ((2, 0), None, "cell must be >= 1 in both directions"),
    ((2, 3, 4), None, "cell must be an int or a pair of ints, got"),
    ((True, 2), None, "an int or a pair of ints"),
    ("ab", None, "an int or a pair of ints"),
])
def test_check_pair(value, expected, match):
    if expected is not None:
        assert checks.check_pair(value, "cell") == expected
    else:
        with pytest.raises(ValueError, match=match):
            checks.check_pair(value, "cell")


def test_check_choice_compares_value_and_type():
    checks.check_choice("L2", "norm", ("L1", "L2"))
    checks.check_choice(True, "flag", (False, True))
    with pytest.raises(ValueError, match=r"norm must be one of \('L1', 'L2'\), got 'l2'"):
        checks.check_choice("l2", "norm", ("L1", "L2"))
    with pytest.raises(ValueError, match="flag must be one of"):  # 1 == True, but is no bool
        checks.check_choice(1, "flag", (False, True))


def test_check_images_shapes_and_dtypes():
    x = np.arange(2 * 4 * 6, dtype=np.uint8).reshape(2, 4, 6)
    out, dtype = checks.check_images(x)
    assert out is x and dtype is np.float32
    flat, _ = checks.check_images(x.reshape(2, -1), image_shape=(4, -1))  # -1 is inferred
    np.testing.assert_array_equal(flat, x)
    out, dtype = checks.check_images(x.astype(np.int16))
    assert out.dtype == np.float64 and dtype is np.float32
    out, dtype = checks.check_images(x.astype(np.float16))
    assert out.dtype == np.float32 and dtype is np.float32
    assert checks.check_images(x.astype(">f8"))[1] is np.float64
    for bad, error, match in [
        (x.reshape(2, -1), ValueError, "needs image_shape"),
        (x, ValueError, r"images of shape \(4, 6\), but image_shape=\(6, 4\)"),
        (x.astype(np.complex64), ValueError, "Complex data not supported"),
        (np.array([["a"]]), TypeError, "dtype <U1"),
        (np.zeros((0, 4, 4)), ValueError, "empty"),
        (np.zeros((2, 4, 4, 5)), ValueError, "5 channels"),
        (np.full((1, 2, 2), np.nan), ValueError, "NaN or infinite pixels"),
    ]:
        shape = (6, 4) if bad is x else None
        with pytest.raises(error, match=match):
            checks.check_images(bad, image_shape=shape, allow_channels=(1, 3))
    with pytest.raises(ValueError, match="image_shape=\\(5, -1\\) cannot hold"):
        checks.check_images(x.reshape(2, -1), image_shape=(5, -1))


def test_check_state_arrays_names_the_owner_the_attribute_and_the_shape():
    class Fitted:
        means_ = np.zeros((3, 2), np.float32)
        weights_ = np.ones(3, np.float32)

    checks.check_state_arrays(Fitted(), {"means_": (3, 2), "weights_": (3,)}, "fisher")
    with pytest.raises(ValueError, match=r"fisher\.weights_ must be finite with shape \(4,\) for K=4, "
                                         r"got shape \(3,\)"):
        checks.check_state_arrays(Fitted(), {"means_": (3, 2), "weights_": (4,)}, "fisher", " for K=4")
    bad = Fitted()
    bad.means_ = np.full((3, 2), np.nan, np.float32)
    with pytest.raises(ValueError, match=r"fisher\.means_ must be finite with shape \(3, 2\), got shape"):
        checks.check_state_arrays(bad, {"means_": (3, 2)}, "fisher")
