"""CIFAR-10 in its two official forms, read without extracting or trusting anything.

* python version: ``cifar-10-batches-py/`` with pickled ``data_batch_1..5``, ``test_batch`` and
  ``batches.meta``; each batch a dict ``{data: (N, 3072) uint8, labels: [int]}`` whose rows hold
  the red, green then blue 32x32 planes. Read through :mod:`._safe_pickle`, so a hostile batch
  cannot run code.
* binary version: ``cifar-10-batches-bin/`` with ``data_batch_1..5.bin`` and ``test_batch.bin``,
  each a run of 3073-byte records (1 label byte + the same 3072 pixel bytes), and
  ``batches.meta.txt`` with one class name per line.

Either can be a folder or the official ``.tar.gz``, read member by member in memory (no
extraction, so no path tricks inside the archive can write anywhere).
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io.atomic import atomic_writer
from ._safe_pickle import safe_unpickle
from .dataset import Dataset
from .validation import check_class_names, check_dataset

__all__ = ["load_cifar10"]

_SIDE = 32
_PIXELS = 3 * _SIDE * _SIDE  # 3072 bytes per image: R plane, G plane, B plane
_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
_TEST = "test_batch"
# An official batch is about 31 MB; anything far larger is not CIFAR-10 (or is a zip bomb).
_MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class _Layout:
    """Where one of the two official versions keeps its files."""

    folder: str
    suffix: str
    meta: str


_PYTHON = _Layout(folder="cifar-10-batches-py", suffix="", meta="batches.meta")
_BINARY = _Layout(folder="cifar-10-batches-bin", suffix=".bin", meta="batches.meta.txt")


@dataclass(frozen=True)
class _Archive:
    """An official archive and the checksums its home page publishes (MD5) or that are widely
    recorded for it (SHA-256)."""

    url: str
    filename: str
    md5: str
    sha256: str


_PYTHON_ARCHIVE = _Archive(
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    filename="cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
    sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
)
_BINARY_ARCHIVE_NAME = "cifar-10-binary.tar.gz"

# What reading a damaged .tar.gz can raise (a truncated gzip stream ends in EOFError).
_TAR_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error)

# A reader maps a member name (e.g. "data_batch_1") to its bytes.
_Reader = Callable[[str], bytes]


def load_cifar10(path: str | os.PathLike[str], download: bool = False) -> Dataset:
    """Load CIFAR-10 (50,000 training and 10,000 test images of 10 classes).

    Args:
        path: a ``cifar-10-batches-py`` or ``cifar-10-batches-bin`` folder, one of the official
            archives (``cifar-10-python.tar.gz``, ``cifar-10-binary.tar.gz``), or a folder that
            holds any of these.
        download: when nothing is found at ``path``, fetch the python version from the data
            set's home page into the folder ``path`` (created if needed) and check its MD5 and
            SHA-256 before using it.

    Returns:
        Dataset with ``x`` ``(50000, 32, 32, 3)`` uint8 RGB channels-last, ``y`` int64 in 0..9,
        the class names from the batches' meta file, and ``test`` the 10,000 test images.

    Raises:
        FileNotFoundError: nothing CIFAR-10-like at ``path`` and ``download`` is False.
        DataError: a missing or malformed batch, a hostile pickle, a class name given twice,
            labels outside the class list, or a download whose checksum does not match (the file is not kept).
    """
    root = Path(path)
    found = _find(root)
    if found is None:
        if not download:
            raise FileNotFoundError(
                f"no CIFAR-10 data at {str(root)!r}: expected a cifar-10-batches-py or "
                "cifar-10-batches-bin folder or an official .tar.gz "
                "(pass download=True to fetch it)"
            )
        root.mkdir(parents=True, exist_ok=True)
        found = _download(_PYTHON_ARCHIVE, root / _PYTHON_ARCHIVE.filename)
    if found.is_dir():
        layout = _detect_dir(found)
        if layout is None:
            raise DataError(f"{str(found)!r} holds neither data_batch_1 nor data_batch_1.bin "
                            "(an incomplete copy?)")
        return _load_layout(_dir_reader(found), layout, str(found))
    return _load_archive(found)


def _find(root: Path) -> Path | None:
    """Return the batches folder or archive that ``root`` is or contains."""
    if root.is_file():
        return root
    if not root.is_dir():
        return None
    if _detect_dir(root) is not None:
        return root
    for candidate in (
        _PYTHON.folder, _BINARY.folder, _PYTHON_ARCHIVE.filename, _BINARY_ARCHIVE_NAME
    ):
        if (root / candidate).exists():
            return root / candidate
    return None


def _detect_dir(folder: Path) -> _Layout | None:
    for layout in (_PYTHON, _BINARY):
        if (folder / f"{_TRAIN[0]}{layout.suffix}").is_file():
            return layout
    return None


def _dir_reader(folder: Path) -> _Reader:
    def read(name: str) -> bytes:
        file = folder / name
        if not file.is_file():
            raise DataError(f"{str(folder)!r}: missing CIFAR-10 file {name!r}")
        if file.stat().st_size > _MAX_FILE_BYTES:
            raise DataError(f"{str(file)!r} is too large for a CIFAR-10 batch")
        return file.read_bytes()

    return read


def _load_archive(archive: Path) -> Dataset:
    source = str(archive)
    try:
        tar = tarfile.open(archive, mode="r:*")
    except _TAR_ERRORS as exc:
        raise DataError(f"{source}: not a readable tar archive ({exc})") from None
    with tar:
        try:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
        except _TAR_ERRORS as exc:
            raise DataError(f"{source}: corrupt tar archive ({exc})") from None
        layout = next(
            (lay for lay in (_PYTHON, _BINARY)
             if f"{lay.folder}/{_TRAIN[0]}{lay.suffix}" in members),
            None,
        )
        if layout is None:
            raise DataError(
                f"{source}: archive holds neither {_PYTHON.folder}/ nor {_BINARY.folder}/"
            )

        def read(name: str) -> bytes:
            member = members.get(f"{layout.folder}/{name}")
            if member is None:
                raise DataError(f"{source}: archive lacks {layout.folder}/{name}")
            if member.size > _MAX_FILE_BYTES:
                raise DataError(f"{source}: {member.name} is too large for a CIFAR-10 batch")
            try:
                f = tar.extractfile(member)
                if f is None:
                    raise DataError(f"{source}: {member.name} is not a regular file")
                return f.read()
            except _TAR_ERRORS as exc:
                raise DataError(f"{source}: cannot read {member.name} ({exc})") from None

        return _load_layout(read, layout, source)


def _load_layout(read: _Reader, layout: _Layout, source: str) -> Dataset:
    if layout is _PYTHON:
        class_names = _python_meta(read(layout.meta), f"{source}/{layout.meta}")
        parse = _python_batch
    else:
        class_names = _binary_meta(read(layout.meta), f"{source}/{layout.meta}")
        parse = _binary_batch

    def split(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for name in names:
            x, y = parse(read(name + layout.suffix), f"{source}/{name}{layout.suffix}")
            check_dataset(x, y, len(class_names), f"{source}/{name}{layout.suffix}")
            xs.append(x)
            ys.append(y)
        return np.concatenate(xs), np.concatenate(ys).astype(np.int64)

    x_train, y_train = split(_TRAIN)
    x_test, y_test = split([_TEST])
    test = Dataset(x=x_test, y=y_test, class_names=class_names)
    return Dataset(x=x_train, y=y_train, class_names=class_names, test=test)


def _to_images(rows: np.ndarray) -> np.ndarray:
    """(N, 3072) planar rows -> (N, 32, 32, 3) channels-last, a fresh contiguous array."""
    return np.ascontiguousarray(rows.reshape(-1, 3, _SIDE, _SIDE).transpose(0, 2, 3, 1))


def _str_keys(obj: object, source: str) -> dict[str, object]:
    if not isinstance(obj, dict):
        raise DataError(f"{source}: expected a dict, got {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _python_batch(raw: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    batch = _str_keys(safe_unpickle(raw, source), source)
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != _PIXELS:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{source}: 'data' must be a (N, {_PIXELS}) uint8 array, got {got}")
    if not isinstance(labels, list | np.ndarray) or not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in labels
    ):
        raise DataError(f"{source}: 'labels' must be a list of ints")
    try:
        y = np.asarray(labels, dtype=np.int64).reshape(-1)
    except OverflowError:
        raise DataError(f"{source}: 'labels' holds a value beyond 64-bit integers; CIFAR-10 "
                        "labels are 0..9") from None
    if len(y) != len(data):
        raise DataError(f"{source}: {len(data)} images but {len(y)} labels")
    return _to_images(data), y


def _python_meta(raw: bytes, source: str) -> list[str]:
    names = _str_keys(safe_unpickle(raw, source), source).get("label_names")
    if not isinstance(names, list) or not names or not all(
        isinstance(n, bytes | str) for n in names
    ):
        raise DataError(f"{source}: 'label_names' must be a non-empty list of strings")
    decoded = [n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names]
    check_class_names(decoded, source)
    return decoded


def _binary_batch(raw: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    record = 1 + _PIXELS
    if len(raw) == 0 or len(raw) % record:
        raise DataError(
            f"{source}: size {len(raw)} bytes is not a positive multiple of the "
            f"{record}-byte record (1 label byte + {_PIXELS} pixel bytes)"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
    return _to_images(records[:, 1:]), records[:, 0].astype(np.int64)


def _binary_meta(raw: bytes, source: str) -> list[str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{source}: class names are not UTF-8 text") from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise DataError(f"{source}: no class names")
    check_class_names(names, source)
    return names


def _download(archive: _Archive, dest: Path) -> Path:
    """Stream ``archive.url`` to ``dest``, keeping the file only if both checksums match."""
    import urllib.request  # only here: it pulls in http and ssl, which loading never needs

    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    try:
        with urllib.request.urlopen(archive.url, timeout=60) as response, \
                atomic_writer(dest) as out:
            while chunk := response.read(1 << 20):
                md5.update(chunk)
                sha256.update(chunk)
                out.write(chunk)
            # Raising inside the block discards the temporary file: a bad download is never
            # left where the next call would find it.
            if md5.hexdigest() != archive.md5 or sha256.hexdigest() != archive.sha256:
                raise DataError(
                    f"download of {archive.url} failed its checksum: MD5 {md5.hexdigest()} "
                    f"(expected {archive.md5}), SHA-256 {sha256.hexdigest()} "
                    f"(expected {archive.sha256}); the file was not kept"
                )
    except OSError as exc:  # URLError is an OSError
        raise OSError(f"cannot download {archive.url} to {str(dest)!r}: {exc}") from exc
    return dest
