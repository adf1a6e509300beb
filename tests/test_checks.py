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
