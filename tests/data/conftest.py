"""Writers for tiny CIFAR-10 files in the official formats, offered to the tests as the
``cifar_files`` fixture."""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck"]
TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


class Py2Pickler(pickle._Pickler):
    """Writes pickles the way Python 2's cPickle wrote the official batches: every string (str or
    bytes) as a byte string (SHORT_BINSTRING/BINSTRING), so that ``encoding="bytes"`` brings it
    back as bytes, exactly as with the real files."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_string(self, obj: str | bytes) -> None:
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_py2_string
    dispatch[bytes] = save_py2_string


def py2_pickle(obj: object) -> bytes:
    """Protocol-2 pickle with Python 2 strings and the numpy 1.x module path of the real files."""
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    # numpy >= 2 names its reconstructor numpy._core.multiarray; the official files (pickled with
    # numpy 1.x) say numpy.core.multiarray. GLOBAL is newline-terminated text, so this is safe.
    return buf.getvalue().replace(
        b"cnumpy._core.multiarray\n_reconstruct\n", b"cnumpy.core.multiarray\n_reconstruct\n"
    )


def make_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random (n, 32, 32, 3) uint8 images and labels covering several classes."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, n)
    return x, y


def planar_rows(x: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) -> (N, 3072) rows of R plane, G plane, B plane (the official layout),
    written out with explicit loops as an independent check of the loader's reshape."""
    n = len(x)
    rows = np.empty((n, 3072), dtype=np.uint8)
    for i in range(n):
        for ch in range(3):
            rows[i, ch * 1024:(ch + 1) * 1024] = x[i, :, :, ch].ravel()
    return rows


def write_python_batches(
    folder: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]], dumps=py2_pickle
) -> Path:
    """Write ``cifar-10-batches-py`` under ``folder``: one pickled dict per batch + meta."""
    out = folder / "cifar-10-batches-py"
    out.mkdir(parents=True)
    for name, (x, y) in splits.items():
        batch = {b"batch_label": f"{name} of 5".encode(), b"labels": [int(v) for v in y],
                 b"data": planar_rows(x),
                 b"filenames": [f"img_{i}.png".encode() for i in range(len(y))]}
        (out / name).write_bytes(dumps(batch))
    meta = {b"num_cases_per_batch": 10000, b"num_vis": 3072,
            b"label_names": [n.encode() for n in CLASS_NAMES]}
    (out / "batches.meta").write_bytes(dumps(meta))
    return out


def write_binary_batches(folder: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """Write ``cifar-10-batches-bin`` under ``folder``: 3073-byte records + batches.meta.txt."""
    out = folder / "cifar-10-batches-bin"
    out.mkdir(parents=True)
    for name, (x, y) in splits.items():
        records = np.concatenate([np.asarray(y, np.uint8)[:, None], planar_rows(x)], axis=1)
        (out / f"{name}.bin").write_bytes(records.tobytes())
    (out / "batches.meta.txt").write_text("\n".join(CLASS_NAMES) + "\n\n")
    return out


def tar_folder(folder: Path, archive: Path) -> Path:
    """Pack ``folder`` into ``archive`` (.tar.gz) under its own name, like the official ones."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return archive


def official_splits(n_train: int = 3, n_test: int = 4) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    splits = {name: make_split(n_train, seed=i) for i, name in enumerate(TRAIN)}
    splits["test_batch"] = make_split(n_test, seed=99)
    return splits


@pytest.fixture
def cifar_files() -> SimpleNamespace:
    return SimpleNamespace(
        CLASS_NAMES=CLASS_NAMES, TRAIN=TRAIN, py2_pickle=py2_pickle, official_splits=official_splits,
        tar_folder=tar_folder, write_binary_batches=write_binary_batches,
        write_python_batches=write_python_batches,
    )
