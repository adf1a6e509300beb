import json

import numpy as np
import pytest

from warpnet.data import load_npz


def _images(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 4, 4, 3), dtype=np.uint8), rng.integers(0, 3, n)


def test_single_file_images(tmp_path):
    x, y = _images(6, 0)
    y[0] = 2  # make sure the class count is 3
    np.savez(tmp_path / "d.npz", x=x, y=y.astype(np.uint8))
    ds = load_npz(tmp_path / "d.npz")
    np.testing.assert_array_equal(ds.x, x)
    np.testing.assert_array_equal(ds.y, y)
    assert ds.y.dtype == np.int64 and ds.class_names == ["0", "1", "2"] and ds.test is None


def test_single_file_features_with_names(tmp_path):
    x = np.linspace(0, 1, 10, dtype=np.float32).reshape(5, 2)
    np.savez(tmp_path / "d.npz", x=x, y=[0, 1, 0, 1, 0], class_names=np.array(["no", "yes"]))
    ds = load_npz(tmp_path / "d.npz")
    assert ds.class_names == ["no", "yes"] and ds.x.dtype == np.float32


def test_folder_with_meta_and_extra_keys(tmp_path):
    parts = [_images(3, s) for s in range(4)]
    for i, (x, y) in enumerate(parts[:3]):
        np.savez(tmp_path / f"train_{i:02d}.npz", x=x, y=y, src=np.arange(3, dtype=np.uint16))
    np.savez(tmp_path / "test_00.npz", x=parts[3][0], y=parts[3][1])
    (tmp_path / "meta.json").write_text(json.dumps({"label_names": ["a", "b", "c"]}))
    ds = load_npz(tmp_path)
    np.testing.assert_array_equal(ds.x, np.concatenate([p[0] for p in parts[:3]]))
    np.testing.assert_array_equal(ds.y, np.concatenate([p[1] for p in parts[:3]]))
    assert ds.class_names == ["a", "b", "c"]
    np.testing.assert_array_equal(ds.test.x, parts[3][0])
    assert ds.test.class_names == ["a", "b", "c"]


def test_folder_without_meta_counts_classes_over_both_splits(tmp_path):
    np.savez(tmp_path / "train.npz", x=np.zeros((2, 3)), y=[0, 1])
    np.savez(tmp_path / "test.npz", x=np.zeros((1, 3)), y=[4])
    ds = load_npz(tmp_path)
    assert ds.class_names == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((2, 3))}, r"missing array\(s\) \['y'\]"),
        ({"x": np.zeros((2, 3)), "y": [0, 1, 2]}, r"y must have shape \(2,\)"),
        ({"x": np.zeros((2, 3)), "y": [0, -1]}, "label -1 is outside"),
        ({"x": np.zeros((2, 3)), "y": [0.5, 1]}, "whole-number"),
        ({"x": np.array([[0.0, np.nan]]), "y": [0]}, "NaN or inf"),
        ({"x": np.zeros((2, 3, 3)), "y": [0, 1]}, r"\(N, H, W, C\) uint8 images or \(N, D\)"),
        ({"x": np.zeros((2, 3, 3, 3), np.float32), "y": [0, 1]}, "uint8"),
        ({"x": np.zeros((0, 3)), "y": np.zeros(0, int)}, "no samples"),
        ({"x": np.array([["a", "b"]]), "y": [0]}, "integers or floats"),
        ({"x": np.zeros((2, 3)), "y": [0, 5], "class_names": np.array(["a", "b"])},
         "label 5 is outside the class list 0..1"),
    ],
)
def test_file_errors_name_the_file(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=message) as info:
        load_npz(tmp_path / "bad.npz")
    assert "bad.npz" in str(info.value)


def test_pickled_objects_are_refused(tmp_path):
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object), y=[0])
    with pytest.raises(ValueError, match="obj.npz"):
        load_npz(tmp_path / "obj.npz")


def test_not_an_npz(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"PK\x03\x04 broken zip")
    with pytest.raises(ValueError, match="x.npz"):
        load_npz(tmp_path / "x.npz")
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "missing.npz")


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="no train"):
        load_npz(tmp_path)
    np.savez(tmp_path / "train_0.npz", x=np.zeros((2, 3)), y=[0, 1])
    np.savez(tmp_path / "train_1.npz", x=np.zeros((2, 4)), y=[0, 1])
    with pytest.raises(ValueError, match="disagree"):
        load_npz(tmp_path)
    np.savez(tmp_path / "train_1.npz", x=np.zeros((2, 3)), y=[0, 1])
    np.savez(tmp_path / "test_0.npz", x=np.zeros((2, 5)), y=[0, 1])
    with pytest.raises(ValueError, match="test samples have shape"):
        load_npz(tmp_path)
    np.savez(tmp_path / "test_0.npz", x=np.zeros((2, 3)), y=[0, 2])
    (tmp_path / "meta.json").write_text(json.dumps({"label_names": ["a", "b"]}))
    with pytest.raises(ValueError, match="label 2 is outside"):
        load_npz(tmp_path)
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(ValueError, match="meta.json"):
        load_npz(tmp_path)


def test_other_files_are_named_as_not_npz(tmp_path):
    (tmp_path / "notes.npz").write_text("plain text, not an archive")
    with pytest.raises(ValueError, match="notes.npz: not a valid .npz file"):
        load_npz(tmp_path / "notes.npz")
    np.save(tmp_path / "bare.npy", np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"bare.npy: a .npy array, not a .npz archive"):
        load_npz(tmp_path / "bare.npy")


def test_huge_labels_without_class_names_are_refused_at_once(tmp_path):
    # The names would be "0".."10**12": a list no machine holds.
    np.savez(tmp_path / "big.npz", x=np.zeros((2, 3)), y=np.array([0, 10**12]))
    with pytest.raises(ValueError, match=r"big.npz: labels go up to 1000000000000.*class_names"):
        load_npz(tmp_path / "big.npz")
    # With class names the same labels are simply outside the class list.
    np.savez(tmp_path / "named.npz", x=np.zeros((2, 3)), y=np.array([0, 10**12]),
             class_names=np.array(["a", "b"]))
    with pytest.raises(ValueError, match="outside the class list"):
        load_npz(tmp_path / "named.npz")


def test_duplicate_class_names_are_refused(tmp_path):
    x, y = _images(6, 0)
    np.savez(tmp_path / "d.npz", x=x, y=y, class_names=np.array(["a", "b", "a"]))
    with pytest.raises(ValueError, match=r"d.npz.*'a'.*more than once"):
        load_npz(tmp_path / "d.npz")
    folder = tmp_path / "f"
    folder.mkdir()
    np.savez(folder / "train.npz", x=x, y=y)
    (folder / "meta.json").write_text(json.dumps({"label_names": ["x", "y", "y"]}))
    with pytest.raises(ValueError, match=r"meta.json.*'y'.*more than once"):
        load_npz(folder)
