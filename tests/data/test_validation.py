import numpy as np
import pytest

from warpnet.data import Dataset
from warpnet.data.validation import check_dataset, check_features, check_labels


def test_valid_inputs_pass_and_are_not_modified():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = np.array([0, 2, 1], dtype=np.uint8)
    x0, y0 = x.copy(), y.copy()
    out = check_dataset(x, y, 3, "arg")
    assert out.dtype == np.int64 and out is not y
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize(
    "x, message",
    [
        (np.zeros(3), r"shape \(N, D\)"),
        (np.zeros((2, 4, 4, 5), np.uint8), "C in 1..4"),
        (np.zeros((0, 4)), "no samples"),
        (np.array([[1.0, np.inf]]), r"NaN or inf \(first in row 0\)"),
        (np.zeros((2, 2), bool), "integers or floats"),
        (np.zeros((2, 2), complex), "integers or floats"),
        ([[1, 2]], "numpy array"),
    ],
)
def test_feature_errors(x, message):
    with pytest.raises(ValueError, match=f"src.npz: .*{message}"):
        check_features(x, "src.npz")


@pytest.mark.parametrize(
    "y, message",
    [
        (np.zeros((2, 1), int), "1-D"),
        (np.array([0, 3]), r"class labels in \[0, 3\), got values in \[0, 3\] "
                           r"\(label 3 is outside the class list 0..2\)"),
        (np.array([-2, 0]), "label -2 is outside"),
        (np.array([0.0, 1.5]), "whole-number"),
        (np.array([0.0, np.nan]), "whole-number"),
        (np.array(["a"]), "integer class labels"),
        (np.array([True]), "integer class labels"),
    ],
)
def test_label_errors(y, message):
    with pytest.raises(ValueError, match=f"labels.bin: .*{message}"):
        check_labels(y, 3, "labels.bin")


def test_whole_float_labels_are_accepted():
    np.testing.assert_array_equal(check_labels(np.array([0.0, 2.0]), 3, "y"), [0, 2])


def test_length_mismatch_and_no_classes():
    with pytest.raises(ValueError, match="2 samples but y has 3 labels"):
        check_dataset(np.zeros((2, 2)), np.zeros(3, int), 2, "f")
    with pytest.raises(ValueError, match="at least one class"):
        check_dataset(np.zeros((2, 2)), np.zeros(2, int), 0, "f")


def test_dataset_checks_lengths():
    with pytest.raises(ValueError, match="same length"):
        Dataset(x=np.zeros((2, 2)), y=np.zeros(3), class_names=["a"])
    ds = Dataset(x=np.zeros((2, 2)), y=np.zeros(2, int), class_names=["a", "b"])
    assert len(ds) == 2 and ds.n_classes == 2 and "2 classes" in repr(ds)


def test_error_kinds_tell_data_from_usage_problems():
    from warpnet.data import make_toy
    from warpnet.errors import DataError, UsageError

    with pytest.raises(DataError):
        check_labels(np.array([5]), 3, "y")
    with pytest.raises(UsageError):
        make_toy("donut")
