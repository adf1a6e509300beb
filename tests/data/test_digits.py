import numpy as np
import pytest

from warpnet.data import load_digits


def test_matches_scikit_learn():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    ref = sklearn_datasets.load_digits()
    ds = load_digits()
    assert ds.x.shape == (1797, 8, 8) and ds.x.dtype == np.uint8
    np.testing.assert_array_equal(ds.x, ref.images)  # exact: the gray levels are whole numbers
    np.testing.assert_array_equal(ds.y, ref.target)
    assert ds.y.dtype == np.int64
    assert ds.class_names == [str(d) for d in range(10)]
    assert ds.x.max() == 16 and ds.test is None
    np.testing.assert_array_equal(np.bincount(ds.y) > 170, True)


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match=r"warpnet\[sklearn\]"):
        load_digits()
