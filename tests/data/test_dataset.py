"""``Dataset``: what it refuses to hold."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet.data import Dataset
from warpnet.errors import DataError


@pytest.mark.parametrize("kwargs, match", [
    ({"x": None}, "Dataset x must be an array"),
    ({"y": [0, 1]}, "Dataset y must be an array"),
    ({"x": np.float32(1.0)}, "Dataset x must be an array with a first axis"),
    ({"class_names": "ab"}, "class_names must be a list of strings"),
    ({"class_names": [0, 1]}, "class_names must be a list of strings"),
    ({"test": (np.zeros((1, 2)), np.zeros(1))}, "test must be a Dataset or None"),
], ids=["x None", "y list", "x scalar", "names str", "names ints", "test tuple"])
def test_bad_fields_are_named(kwargs, match):
    fields = {"x": np.zeros((2, 3)), "y": np.array([0, 1]), "class_names": ["a", "b"], **kwargs}
    with pytest.raises(TypeError, match=match):
        Dataset(**fields)


def test_lengths_must_match():
    with pytest.raises(DataError, match="same length"):
        Dataset(x=np.zeros((2, 3)), y=np.array([0]), class_names=["a"])


def test_a_good_dataset_with_a_test_split():
    test = Dataset(x=np.zeros((1, 3)), y=np.array([1]), class_names=["a", "b"])
    ds = Dataset(x=np.zeros((2, 3)), y=np.array([0, 1]), class_names=("a", "b"), test=test)
    assert len(ds) == 2 and ds.n_classes == 2 and ds.test is test
