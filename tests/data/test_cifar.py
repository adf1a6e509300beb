import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from warpnet.data import cifar, load_cifar10

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck"]
TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def _expected(splits):
    x = np.concatenate([splits[n][0] for n in TRAIN])
    y = np.concatenate([splits[n][1] for n in TRAIN])
    return x, y, splits["test_batch"][0], splits["test_batch"][1]


def _check(ds, splits):
    x, y, xt, yt = _expected(splits)
    assert ds.x.dtype == np.uint8 and ds.x.shape == (15, 32, 32, 3)
    np.testing.assert_array_equal(ds.x, x)
    np.testing.assert_array_equal(ds.y, y)
    assert ds.y.dtype == np.int64
    assert ds.class_names == CLASS_NAMES
    assert ds.test is not None and ds.test.test is None
    np.testing.assert_array_equal(ds.test.x, xt)
    np.testing.assert_array_equal(ds.test.y, yt)
    assert ds.test.class_names == CLASS_NAMES


@pytest.mark.parametrize("writer", ["python2-style", "protocol2", "protocol5"])
def test_python_batches_folder(tmp_path, cifar_files, writer):
    dumps = {"python2-style": cifar_files.py2_pickle,
             "protocol2": lambda o: pickle.dumps(o, protocol=2),
             "protocol5": lambda o: pickle.dumps(o, protocol=5)}[writer]
    splits = cifar_files.official_splits()
    folder = cifar_files.write_python_batches(tmp_path, splits, dumps=dumps)
    _check(load_cifar10(folder), splits)
    _check(load_cifar10(tmp_path), splits)  # the parent folder works too


def test_python_pickle_names_numpy_core_like_the_official_files(cifar_files):
    # Guard the fixture itself: it must exercise the numpy 1.x path the real batches use.
    raw = cifar_files.py2_pickle({b"data": np.zeros((1, 3072), np.uint8)})
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in raw
    assert b"_codecs" not in raw


def test_python_archive(tmp_path, cifar_files):
    splits = cifar_files.official_splits()
    folder = cifar_files.write_python_batches(tmp_path / "src", splits)
    archive = cifar_files.tar_folder(folder, tmp_path / "cifar-10-python.tar.gz")
    _check(load_cifar10(archive), splits)
    only_archive = tmp_path / "only"
    only_archive.mkdir()
    os.replace(archive, only_archive / archive.name)
    _check(load_cifar10(only_archive), splits)


def test_binary_folder_and_archive(tmp_path, cifar_files):
    splits = cifar_files.official_splits()
    folder = cifar_files.write_binary_batches(tmp_path / "src", splits)
    _check(load_cifar10(folder), splits)
    archive = cifar_files.tar_folder(folder, tmp_path / "cifar-10-binary.tar.gz")
    _check(load_cifar10(archive), splits)


def test_python_and_binary_agree(tmp_path, cifar_files):
    splits = cifar_files.official_splits()
    a = load_cifar10(cifar_files.write_python_batches(tmp_path / "py", splits))
    b = load_cifar10(cifar_files.write_binary_batches(tmp_path / "bin", splits))
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.test.y, b.test.y)


class _Hostile:
    """Pickles to os.system(<touch marker>): what a malicious batch file would contain."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 5])
def test_hostile_batch_never_runs(tmp_path, cifar_files, protocol):
    marker = tmp_path / "pwned"
    splits = cifar_files.official_splits()
    folder = cifar_files.write_python_batches(tmp_path / "d", splits)
    evil = {b"data": _Hostile(marker), b"labels": [0]}
    (folder / "data_batch_3").write_bytes(pickle.dumps(evil, protocol=protocol))
    with pytest.raises(ValueError, match="data_batch_3.*refusing to load (posix|nt).system"):
        load_cifar10(folder)
    assert not marker.exists()
    archive = cifar_files.tar_folder(folder, tmp_path / "cifar-10-python.tar.gz")
    with pytest.raises(ValueError, match="refusing"):
        load_cifar10(archive)
    assert not marker.exists()


def test_hostile_meta_never_runs(tmp_path, cifar_files):
    marker = tmp_path / "pwned"
    folder = cifar_files.write_python_batches(tmp_path / "d", cifar_files.official_splits())
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": _Hostile(marker)}))
    with pytest.raises(ValueError, match="batches.meta"):
        load_cifar10(folder)
    assert not marker.exists()


def test_plain_pickle_would_run_the_hostile_payload(tmp_path):
    # The hostile fixture is real: the standard unpickler executes it.
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Hostile(marker)))
    assert marker.exists()


@pytest.mark.parametrize(
    "payload, message",
    [
        # names outside the allow-list
        (b"cbuiltins\neval\n(S'1'\ntR.", "refusing to load builtins.eval"),
        (b"cnumpy\nload\n(S'x'\ntR.", "refusing to load numpy.load"),
        # numpy's reconstructor asked to build something other than ndarray
        (b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\ndtype\n(S'u1'\ntR(K\x00tS'b'\ntR.",
         "only rebuild numpy.ndarray"),
        # calling the ndarray class directly (could allocate any size) is refused
        (b"cnumpy\nndarray\n((J\x00\x00\x00\x40tS'u1'\ntR.", "only be rebuilt through"),
        (pickle.dumps({b"data": b"x" * 50})[:30], "not a valid CIFAR-10 python batch"),  # cut
        (b"cnumpy\ndtype\n(S'O'\ntR.", "object dtypes"),
        (b"c_codecs\nencode\n(S'x'\nS'rot13'\ntR.", "latin1"),
    ],
)
def test_restricted_unpickler_refuses(tmp_path, cifar_files, payload, message):
    folder = cifar_files.write_python_batches(tmp_path, cifar_files.official_splits())
    (folder / "data_batch_1").write_bytes(payload)
    with pytest.raises(ValueError, match=message):
        load_cifar10(folder)


@pytest.mark.parametrize(
    "batch, message",
    [
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "label 10 is outside"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, -1]}, "label -1 is outside"),
        ({b"data": np.zeros((2, 3071), np.uint8), b"labels": [0, 1]}, r"\(N, 3072\) uint8"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "uint8"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "2 images but 1 labels"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": ["a", "b"]}, "list of ints"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 2**70]}, "beyond 64-bit"),
        ({b"labels": [0]}, "'data' must be"),
        ([1, 2, 3], "expected a dict"),
    ],
)
def test_malformed_python_batch(tmp_path, cifar_files, batch, message):
    folder = cifar_files.write_python_batches(tmp_path, cifar_files.official_splits())
    (folder / "test_batch").write_bytes(cifar_files.py2_pickle(batch))
    with pytest.raises(ValueError, match=f"test_batch.*{message}|{message}"):
        load_cifar10(folder)


def test_missing_batch_is_named(tmp_path, cifar_files):
    folder = cifar_files.write_python_batches(tmp_path, cifar_files.official_splits())
    (folder / "data_batch_4").unlink()
    with pytest.raises(ValueError, match="data_batch_4"):
        load_cifar10(folder)


def test_binary_errors(tmp_path, cifar_files):
    splits = cifar_files.official_splits()
    folder = cifar_files.write_binary_batches(tmp_path, splits)
    good = (folder / "data_batch_2.bin").read_bytes()
    (folder / "data_batch_2.bin").write_bytes(good[:-1])
    with pytest.raises(ValueError, match="data_batch_2.bin.*multiple of the 3073-byte record"):
        load_cifar10(folder)
    bad_label = bytearray(good)
    bad_label[0] = 10
    (folder / "data_batch_2.bin").write_bytes(bytes(bad_label))
    with pytest.raises(ValueError, match="label 10 is outside"):
        load_cifar10(folder)


def test_not_cifar(tmp_path, cifar_files):
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_cifar10(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_cifar10(tmp_path / "missing")
    junk = tmp_path / "cifar-10-python.tar.gz"
    junk.write_bytes(b"not a tar archive at all")
    with pytest.raises(ValueError, match="not a readable tar archive"):
        load_cifar10(junk)
    other = tmp_path / "other"
    other.mkdir()
    (other / "readme.txt").write_text("hello")
    with pytest.raises(ValueError, match="neither"):
        load_cifar10(cifar_files.tar_folder(other, tmp_path / "other.tar.gz"))


def _fake_archive(tmp_path, cifar_files):
    splits = cifar_files.official_splits()
    folder = cifar_files.write_python_batches(tmp_path / "src", splits)
    archive = cifar_files.tar_folder(folder, tmp_path / "served.tar.gz")
    raw = archive.read_bytes()
    return splits, archive, hashlib.md5(raw).hexdigest(), hashlib.sha256(raw).hexdigest()


def test_download_checks_checksums_and_loads(tmp_path, cifar_files, monkeypatch):
    splits, archive, md5, sha = _fake_archive(tmp_path, cifar_files)
    monkeypatch.setattr(cifar, "_PYTHON_ARCHIVE", cifar._Archive(
        url=archive.as_uri(), filename="cifar-10-python.tar.gz", md5=md5, sha256=sha))
    target = tmp_path / "new" / "data"
    _check(load_cifar10(target, download=True), splits)
    assert (target / "cifar-10-python.tar.gz").read_bytes() == archive.read_bytes()
    # A second call finds the archive and does not download again.
    monkeypatch.setattr(cifar, "_download", None)
    _check(load_cifar10(target, download=True), splits)


@pytest.mark.parametrize("which", ["md5", "sha256"])
def test_download_with_bad_checksum_keeps_nothing(tmp_path, cifar_files, monkeypatch, which):
    _, archive, md5, sha = _fake_archive(tmp_path, cifar_files)
    sums = {"md5": md5, "sha256": sha}
    sums[which] = "0" * len(sums[which])
    monkeypatch.setattr(cifar, "_PYTHON_ARCHIVE", cifar._Archive(
        url=archive.as_uri(), filename="cifar-10-python.tar.gz", **sums))
    target = tmp_path / "dl"
    with pytest.raises(ValueError, match="checksum"):
        load_cifar10(target, download=True)
    assert list(target.iterdir()) == []  # neither the archive nor a temporary file


def test_download_failure_is_an_oserror(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar, "_PYTHON_ARCHIVE", cifar._Archive(
        url=(tmp_path / "nowhere.tar.gz").as_uri(), filename="cifar-10-python.tar.gz",
        md5="", sha256=""))
    with pytest.raises(OSError, match="cannot download"):
        load_cifar10(tmp_path / "dl", download=True)
    assert list((tmp_path / "dl").iterdir()) == []


def test_published_checksums_are_well_formed():
    a = cifar._PYTHON_ARCHIVE
    assert a.url.startswith("https://") and a.url.endswith(a.filename)
    assert len(a.md5) == 32 and len(a.sha256) == 64
    int(a.md5, 16), int(a.sha256, 16)


def test_incomplete_copies(tmp_path, cifar_files, monkeypatch):
    folder = cifar_files.write_python_batches(tmp_path / "src", cifar_files.official_splits())
    archive = cifar_files.tar_folder(folder, tmp_path / "cifar-10-python.tar.gz")
    raw = archive.read_bytes()
    for cut in (10, len(raw) // 3, len(raw) // 2):
        archive.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match="cifar-10-python.tar.gz"):
            load_cifar10(archive)
    empty = tmp_path / "empty" / "cifar-10-batches-py"
    empty.mkdir(parents=True)
    with pytest.raises(ValueError, match="neither data_batch_1"):
        load_cifar10(empty.parent)
    archive.write_bytes(raw)
    monkeypatch.setattr(cifar, "_MAX_FILE_BYTES", 1000)
    with pytest.raises(ValueError, match="too large"):
        load_cifar10(archive)
    with pytest.raises(ValueError, match="too large"):
        load_cifar10(folder)


@pytest.mark.parametrize(
    "names, duplicate",
    [
        ([b"cat", b"dog", b"cat"], "cat"),
        ([b"cat", "cat"], "cat"),  # a byte string and a text string that decode alike
        ([b"\xff", b"\xfe"], "\ufffd"),  # two invalid byte strings both decode to U+FFFD
        ([b"caf\xc3\xa9", "cafe\u0301"], "café"),  # NFC and NFD spellings of one name
    ],
)
def test_duplicate_python_class_names_are_refused(tmp_path, cifar_files, names, duplicate):
    folder = cifar_files.write_python_batches(tmp_path, cifar_files.official_splits())
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}))
    with pytest.raises(ValueError, match=f"batches.meta.*{duplicate!r}.*more than once"):
        load_cifar10(folder)


def test_duplicate_binary_class_names_are_refused(tmp_path, cifar_files):
    folder = cifar_files.write_binary_batches(tmp_path, cifar_files.official_splits())
    # the loader strips each line, so " dog" and "dog" name one class
    (folder / "batches.meta.txt").write_text("cat\ndog\n dog \n")
    with pytest.raises(ValueError, match=r"batches.meta.txt.*'dog'.*more than once"):
        load_cifar10(folder)
