"""``--data`` specs (``digits``, ``cifar10:PATH``, ``folder:PATH``, ``npz:PATH``, ``toy:NAME``) and
the train / validation / test splits every command agrees on.

The test split of a source that ships none is always the same stratified 20 % (seed 0), whatever
``--seed`` says, so ``warpnet eval MODEL --data digits`` scores exactly the images ``train`` held
out.  The validation split is carved from the rest with the run's seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, UsageError

# Fixed so that train, eval and features agree on the held-out images without being told.
TEST_FRACTION = 0.2
TEST_SEED = 0
TOY_POINTS = 1000
TOY_NOISE = 0.1
DATA_FORMS = "digits, cifar10:PATH, folder:PATH, npz:PATH, zarr:PATH or toy:NAME"


@dataclass(frozen=True)
class Source:
    """A loaded data set with its held-out test split.

    Attributes:
        x, y: the training part (everything except the test split).
        x_test, y_test: the test split.
        (``x`` and ``x_test`` are ``warpnet.train.streaming.ChunkedRows``, left in the store,
        for ``zarr:PATH`` loaded with ``stream=True``; the labels are always in memory.)
        class_names: names of the classes, index = label.
        pixel_max: value of a white pixel (255 for 8-bit images, 16 for digits), None for vectors.
    """

    x: Any
    y: np.ndarray
    x_test: Any
    y_test: np.ndarray
    class_names: list[str]
    pixel_max: float | None


def load_dataset(spec: str, *, image_size: int = 32):  # noqa: ANN201 - (Dataset, pixel_max)
    """Load the data named by ``spec``: ``(warpnet.data.Dataset, pixel_max)``.

    ``pixel_max`` is the value of a white pixel (255 for 8-bit images, 16 for the digits) or None
    when the samples are not images.

    Raises:
        UsageError: an unknown form or toy name.
        FileNotFoundError: a missing path.
        DataError / ValueError: unreadable or invalid data (the message names the file).
    """
    from .. import data

    kind, arg = parse_spec(spec)
    if kind == "digits":
        return data.load_digits(), 16.0
    if kind == "cifar10":
        return data.load_cifar10(_existing(arg)), 255.0
    if kind == "folder":
        return data.load_image_folder(_existing(arg), image_size), 255.0
    if kind == "npz":
        ds = _load_npz(_existing(arg))
        return ds, (255.0 if ds.x.ndim == 4 and ds.x.dtype == np.uint8 else None)
    if kind == "zarr":
        from . import _extras
        from ._feature_store import load_store

        _extras.require("dask", "--data zarr:PATH")

        return load_store(Path(_existing(arg))), None
    return data.make_toy(arg, TOY_POINTS, TOY_NOISE, TEST_SEED), None


def parse_spec(spec: str) -> tuple[str, str]:
    """``"npz:PATH"`` -> ``("npz", "PATH")``, checking the form without touching any file.

    Raises:
        UsageError: an unknown kind, a missing or extra path, an unknown toy set.
    """
    from ..data import TOY_CLASSIFICATION

    kind, _, arg = spec.partition(":")
    if kind not in ("digits", "cifar10", "folder", "npz", "zarr", "toy"):
        raise UsageError(f"--data {spec!r}: unknown kind {kind!r}; expected {DATA_FORMS}")
    if (kind == "digits") == bool(arg):
        raise UsageError(f"--data {spec!r}: expected {DATA_FORMS}")
    if kind == "toy" and arg not in TOY_CLASSIFICATION:
        raise UsageError(f"--data {spec!r}: unknown toy set {arg!r}; expected one of: "
                         f"{', '.join(TOY_CLASSIFICATION)}")
    return kind, arg


def load_source(spec: str, *, image_size: int = 32, stream: bool = False) -> Source:
    """Load the data named by ``spec`` and split off its test part (errors as ``load_dataset``).

    With ``stream``, the features of a ``zarr:PATH`` store stay in the store (``ChunkedRows``
    read block by block); other sources are loaded as always.
    """
    if stream and parse_spec(spec)[0] == "zarr":
        return _stream_store(parse_spec(spec)[1])
    ds, pixel_max = load_dataset(spec, image_size=image_size)
    if ds.test is not None:
        return Source(ds.x, ds.y, ds.test.x, ds.test.y, list(ds.class_names), pixel_max)
    train_idx, test_idx = fixed_test_split(ds.y)
    return Source(ds.x[train_idx], ds.y[train_idx], ds.x[test_idx], ds.y[test_idx],
                  list(ds.class_names), pixel_max)


def _stream_store(path: str) -> Source:
    """A feature store's ``Source`` with the features left in the store."""
    from . import _extras
    from ._feature_store import open_streamed

    _extras.require("dask", "--data zarr:PATH")
    store = open_streamed(Path(_existing(path)))
    if store.x_test is not None:
        assert store.y_test is not None  # open_streamed reads the two together
        return Source(store.x, store.y, store.x_test, store.y_test, store.class_names, None)
    train_idx, test_idx = fixed_test_split(store.y)
    return Source(store.x.take(train_idx), store.y[train_idx], store.x.take(test_idx),
                  store.y[test_idx], store.class_names, None)


def fixed_test_split(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(training, test) indices of a source without its own test split: always the same."""
    return split_indices(y, TEST_FRACTION, TEST_SEED, "the test split")


def _existing(path: str) -> str:
    if not Path(path).exists():
        raise FileNotFoundError(f"data path {path!r} does not exist")
    return path


def _load_npz(path: str):  # noqa: ANN202 - returns warpnet.data.Dataset
    """``warpnet.data.load_npz``, plus the ``x_test``/``y_test`` arrays that ``warpnet features``
    stores beside ``x``/``y`` when the source had its own test split."""
    from ..data import Dataset, load_npz
    from ..data.validation import check_features, check_labels

    ds = load_npz(path)
    if not Path(path).is_file():
        return ds
    with np.load(path, allow_pickle=False) as f:
        if "x_test" not in f.files:
            return ds
        if "y_test" not in f.files:
            raise DataError(f"{path}: has x_test but no y_test")
        x_test, y_test = f["x_test"], f["y_test"]
    check_features(x_test, f"{path} (x_test)")
    y_test = check_labels(y_test, len(ds.class_names), f"{path} (y_test)")
    if x_test.shape[1:] != ds.x.shape[1:] or len(x_test) != len(y_test):
        raise DataError(f"{path}: x_test {x_test.shape} / y_test {y_test.shape} do not match "
                        f"x {ds.x.shape}")
    test = Dataset(x=x_test, y=y_test, class_names=ds.class_names)
    return Dataset(x=ds.x, y=ds.y, class_names=ds.class_names, test=test)


def split_indices(y: np.ndarray, fraction: float, seed: int, what: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of ``range(len(y))`` into (kept, held-out) index arrays.

    Falls back to a plain random split when some class has too few samples to be stratified.

    Raises:
        DataError: too few samples to hold ``fraction`` of them out.
    """
    from sklearn.model_selection import train_test_split

    n = len(y)
    n_out = int(np.ceil(fraction * n))
    if n_out < 1 or n - n_out < 1:
        raise DataError(f"{n} samples are too few for {what} ({fraction:g} of them held out)")
    idx = np.arange(n)
    counts = np.bincount(y)
    n_classes = np.count_nonzero(counts)
    stratifiable = counts[counts > 0].min() >= 2 and min(n_out, n - n_out) >= n_classes
    stratify = y if stratifiable else None
    kept, held = train_test_split(idx, test_size=n_out, random_state=seed, stratify=stratify)
    return np.sort(kept), np.sort(held)
