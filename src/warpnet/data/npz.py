"""Arrays saved with ``numpy.savez``: one file, or a folder of ``train*.npz`` / ``test*.npz``
chunks with an optional ``meta.json`` holding ``label_names``."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import Dataset
from .validation import check_class_names, check_features, check_labels

__all__ = ["load_npz"]

# Without stored class names the names are "0".."C-1" with C = max(y) + 1: a label of 10**12
# would build a list of 10**12 names.  No data set has more classes than this.
_MAX_UNNAMED_CLASSES = 1_000_000

# (x, y, class names or None) read from one file or joined from chunks.
_Split = tuple[np.ndarray, np.ndarray, list[str] | None]


def load_npz(path: str | os.PathLike[str]) -> Dataset:
    """Load samples ``x`` and labels ``y`` from ``.npz`` files (never unpickling anything).

    Args:
        path: either one ``.npz`` file with arrays ``x`` (``(N, H, W, C)`` uint8 images or
            ``(N, D)`` features) and ``y`` (``(N,)`` integer labels), and optionally
            ``class_names`` (a 1-D string array); or a folder of ``train*.npz`` files (concatenated
            in name order) and optional ``test*.npz`` files (the test split). Other keys in the
            files (such as ``src``) are ignored.

    Class names come from ``label_names`` in the folder's ``meta.json``, else a ``class_names``
    array stored in the file(s), else ``"0"`` .. ``"C-1"`` with ``C = max(y) + 1`` over all
    splits.

    Returns:
        Dataset (with ``test`` set when the folder has test files); ``y`` is int64.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataError: a missing key, bad shapes or dtypes, NaN/inf, labels outside the class list,
            a folder without ``train*.npz`` files, or a file that is not a valid ``.npz``
            (each message names the file).
    """
    root = Path(path)
    if root.is_dir():
        train_files = sorted(root.glob("train*.npz"))
        test_files = sorted(root.glob("test*.npz"))
        if not train_files:
            raise DataError(f"{str(root)!r} holds no train*.npz files")
        train = _concat([_read(f) for f in train_files])
        test = _concat([_read(f) for f in test_files]) if test_files else None
        if test is not None and test[0].shape[1:] != train[0].shape[1:]:
            raise DataError(
                f"{root}: test samples have shape {test[0].shape[1:]} but training samples "
                f"have {train[0].shape[1:]}"
            )
        names = _meta_names(root / "meta.json") or train[2]
        source_train, source_test = f"{root}/train*.npz", f"{root}/test*.npz"
    elif root.is_file():
        train = _read(root)
        names, test, source_train, source_test = train[2], None, str(root), ""
    else:
        raise FileNotFoundError(f"npz path {str(root)!r} does not exist")

    if names is None:
        top = max(int(s[1].max()) for s in (train, test) if s is not None and len(s[1]))
        if top >= _MAX_UNNAMED_CLASSES:
            raise DataError(
                f"{source_train}: labels go up to {top}, but without class names the labels must "
                f"be 0..C-1 with C <= {_MAX_UNNAMED_CLASSES}; store a 'class_names' array (or "
                "meta.json label_names) or renumber the labels"
            )
        names = [str(i) for i in range(top + 1)]
    y_train = check_labels(train[1], len(names), source_train)
    test_set = None
    if test is not None:
        y_test = check_labels(test[1], len(names), source_test)
        test_set = Dataset(x=test[0], y=y_test, class_names=names)
    return Dataset(x=train[0], y=y_train, class_names=names, test=test_set)


def _read(file: Path) -> _Split:
    """Read and check ``x``, ``y`` (and ``class_names`` if present) from one file."""
    source = str(file)
    try:
        data = np.load(file, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):  # a .npy file holds one bare array
            raise DataError(f"{source}: a .npy array, not a .npz archive; save x and y with "
                            "numpy.savez(path, x=..., y=...)")
        with data:
            missing = {"x", "y"} - set(data.files)
            if missing:
                raise DataError(
                    f"{source}: missing array(s) {sorted(missing)}; found {sorted(data.files)}"
                )
            x, y = data["x"], data["y"]
            names = data["class_names"] if "class_names" in data.files else None
    except ValueError as exc:
        # allow_pickle=False turns an object array into a ValueError as well; a file that is
        # neither a zip archive nor a .npy array is taken for a pickle and refused the same way.
        msg = str(exc)
        if "pickled" in msg:
            raise DataError(f"{source}: not a valid .npz file (not a zip archive of arrays)") \
                from None
        raise DataError(msg if msg.startswith(source) else f"{source}: {msg}") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{source}: not a valid .npz file ({exc})") from None
    if x.ndim == 3 or (x.ndim == 4 and x.dtype != np.uint8):
        raise DataError(
            f"{source}: x must be (N, H, W, C) uint8 images or (N, D) features, "
            f"got {x.dtype} {x.shape}"
        )
    check_features(x, source)
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{source}: y must have shape ({len(x)},) to match x, got {y.shape}")
    # Dtype and sign now; the upper bound once the class list is known.
    y = check_labels(y, np.iinfo(np.int64).max, source)
    class_names = None
    if names is not None:
        if names.ndim != 1 or names.dtype.kind not in "US" or len(names) == 0:
            raise DataError(f"{source}: class_names must be a non-empty 1-D string array")
        class_names = [n.decode() if isinstance(n, bytes) else str(n) for n in names.tolist()]
        check_class_names(class_names, source)
    return x, y, class_names


def _concat(parts: list[_Split]) -> _Split:
    """Join chunks; class names survive only if every chunk carries the same list."""
    shapes = {(p[0].shape[1:], p[0].dtype) for p in parts}
    if len(shapes) > 1:
        raise DataError(f"npz chunks disagree on sample shape/dtype: {sorted(map(str, shapes))}")
    names = parts[0][2] if all(p[2] == parts[0][2] for p in parts) else None
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), names


def _meta_names(meta: Path) -> list[str] | None:
    if not meta.is_file():
        return None
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{meta}: not valid JSON ({exc})") from None
    names = info.get("label_names") if isinstance(info, dict) else None
    if names is None:
        return None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise DataError(f"{meta}: label_names must be a non-empty list of strings")
    check_class_names(names, str(meta))
    return names
