import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warpnet import nn
from warpnet.errors import DataError
from warpnet.io import ModelFileError, load, save
from warpnet.io import model_file as wio


@pytest.fixture
def safetensors_numpy():
    """The reference implementation of the format, as an independent reader and writer."""
    return pytest.importorskip("safetensors.numpy")


def _model(dtype="float32", seed=0):
    return nn.Sequential(
        nn.Linear(6, 9, rng=seed, dtype=dtype), nn.LeakyReLU(0.1), nn.Dropout(0.3),
        nn.Linear(9, 7, rng=seed + 1, dtype=dtype), nn.ELU(alpha=0.5),
        nn.Linear(7, 4, bias=False, rng=seed + 2, dtype=dtype),
    )


def _x(dtype="float32"):
    return np.random.default_rng(1).standard_normal((11, 6)).astype(dtype)


def _predict(model, x):
    model.eval()
    return np.asarray(model(x)).copy()


PREPROCESSING = {
    "kind": "standardize",
    "mean": np.linspace(-1, 1, 6),
    "std": np.full(6, 2.0, np.float32),
    "features": {"name": "bow", "n_words": 3, "codebook": np.arange(12, dtype=np.float32)
                 .reshape(3, 4), "levels": [np.array([1, 2], np.int64), 0.5, None, True]},
}


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.safetensors"
    save(_model(), path, preprocessing=PREPROCESSING, class_names=["a", "b", "c", "d"],
         metadata={"epochs": 3, "accuracy": 0.75})
    return path


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_same_predictions(tmp_path, dtype):
    model = _model(dtype)
    path = tmp_path / "m.safetensors"
    save(model, path)
    loaded = load(path)
    np.testing.assert_array_equal(_predict(loaded.model, _x(dtype)), _predict(model, _x(dtype)))
    assert loaded.model.get_config() == model.get_config()
    for name, value in model.state_dict().items():
        got = loaded.model.state_dict()[name]
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, value)
    assert not loaded.model.training
    assert loaded.preprocessing == {} and loaded.class_names is None and loaded.metadata == {}
    assert loaded.format_version == wio.FORMAT_VERSION


def test_mlp_round_trip(tmp_path):
    model = nn.mlp([5, 8, 8, 3], activation=["tanh", "sigmoid"], rng=3)
    save(model, tmp_path / "m.safetensors")
    x = _x()[:, :5]
    np.testing.assert_array_equal(_predict(load(tmp_path / "m.safetensors").model, x),
                                  _predict(model, x))


def test_preprocessing_class_names_metadata(saved):
    loaded = load(saved)
    pre = loaded.preprocessing
    assert pre["kind"] == "standardize"
    for key in ("mean", "std"):
        np.testing.assert_array_equal(pre[key], PREPROCESSING[key])
        assert pre[key].dtype == PREPROCESSING[key].dtype
    np.testing.assert_array_equal(pre["features"]["codebook"],
                                  PREPROCESSING["features"]["codebook"])
    levels = pre["features"]["levels"]
    np.testing.assert_array_equal(levels[0], [1, 2])
    assert levels[1:] == [0.5, None, True] and pre["features"]["n_words"] == 3
    assert loaded.class_names == ["a", "b", "c", "d"]
    assert loaded.metadata == {"epochs": 3, "accuracy": 0.75}


def test_torch_parameters_are_saved_as_numpy(tmp_path):
    torch = pytest.importorskip("torch")
    model = _model("float64")
    expected = _predict(model, _x("float64"))
    model.to(torch)
    save(model, tmp_path / "m.safetensors",
         preprocessing={"mean": torch.arange(3, dtype=torch.float32)})
    loaded = load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(_predict(loaded.model, _x("float64")), expected)
    np.testing.assert_array_equal(loaded.preprocessing["mean"], [0, 1, 2])


# -- compatibility with the safetensors package ----------------------------------------------


def test_safetensors_package_reads_our_files(saved, safetensors_numpy):
    from safetensors import safe_open

    tensors = safetensors_numpy.load_file(saved)
    model = _model()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(tensors[name], value)
    np.testing.assert_array_equal(tensors["preprocessing.features.codebook"],
                                  PREPROCESSING["features"]["codebook"])
    np.testing.assert_array_equal(tensors["preprocessing.features.levels.0"], [1, 2])
    with safe_open(saved, framework="np") as f:
        meta = f.metadata()
    assert meta["format"] == "warpnet.model" and meta["format_version"] == "1"
    assert json.loads(meta["architecture"]) == model.get_config()
    assert json.loads(meta["class_names"]) == ["a", "b", "c", "d"]
    (n,) = struct.unpack("<Q", saved.read_bytes()[:8])
    assert (8 + n) % 8 == 0  # the data section is aligned


def test_we_read_files_written_by_the_safetensors_package(tmp_path, safetensors_numpy):
    rng = np.random.default_rng(0)
    tensors = {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f64": rng.standard_normal(5),
        "f16": rng.standard_normal((2, 2)).astype(np.float16),
        "i64": np.arange(-3, 3, dtype=np.int64),
        "u8": np.arange(7, dtype=np.uint8).reshape(7, 1, 1),
        "flag": np.array([True, False]),
        "empty": np.zeros((0, 3), np.float32),
        "scalar": np.array(2.5, np.float32),
    }
    path = tmp_path / "foreign.safetensors"
    safetensors_numpy.save_file(tensors, path, metadata={"k": "v"})
    got, meta = wio._read_safetensors(path.read_bytes())
    assert meta == {"k": "v"} and set(got) == set(tensors)
    for name, value in tensors.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape
        np.testing.assert_array_equal(got[name], value)


def test_model_written_by_the_safetensors_package_loads(tmp_path, safetensors_numpy):
    # The same tensors and metadata written by another writer load as the same model.
    model = _model()
    tensors = {k: np.asarray(v) for k, v in model.state_dict().items()}
    tensors["preprocessing.mean"] = np.ones(6)
    meta = {"format": "warpnet.model", "format_version": "1",
            "architecture": json.dumps(model.get_config()),
            "preprocessing": json.dumps({"mean": {"__tensor__": "preprocessing.mean"}}),
            "class_names": "null", "metadata": "{}"}
    meta["sha256"] = wio._checksum(tensors, meta)
    path = tmp_path / "other-writer.safetensors"
    safetensors_numpy.save_file(tensors, path, metadata=meta)
    loaded = load(path)
    np.testing.assert_array_equal(_predict(loaded.model, _x()), _predict(model, _x()))
    np.testing.assert_array_equal(loaded.preprocessing["mean"], np.ones(6))


def test_plain_safetensors_file_is_not_a_model(tmp_path, safetensors_numpy):
    path = tmp_path / "plain.safetensors"
    safetensors_numpy.save_file({"w": np.ones(2, np.float32)}, path)
    with pytest.raises(ModelFileError, match="not a warpnet model"):
        load(path)


# -- hostile and damaged files ---------------------------------------------------------------


class _Hostile:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_named_model_safetensors_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    payload = pickle.dumps(_Hostile(marker))
    pickle.loads(payload)  # the payload is real: plain unpickling runs it
    assert marker.exists()
    marker.unlink()
    for protocol in (0, 2, 5):
        path.write_bytes(pickle.dumps({"state": _Hostile(marker)}, protocol=protocol))
        with pytest.raises(ModelFileError, match="model.safetensors"):
            load(path)
    assert not marker.exists()


def test_torch_checkpoint_named_model_safetensors(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.safetensors"
    torch.save({"w": torch.zeros(3)}, path)
    with pytest.raises(ModelFileError, match="model.safetensors"):
        load(path)


@pytest.mark.parametrize("content", [
    b"",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00",
    b"PK\x03\x04" + b"\x00" * 40,
    b"\xff" * 8 + b"{}",
    struct.pack("<Q", 2) + b"{}",  # valid safetensors, no tensors, no metadata
    struct.pack("<Q", 2) + b"[]",
])
def test_foreign_files(tmp_path, content):
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="model.safetensors"):
        load(path)


def test_missing_file_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="nope.safetensors"):
        load(tmp_path / "nope.safetensors")
    assert issubclass(ModelFileError, DataError) and issubclass(ModelFileError, ValueError)


# The loops below check the bytes in memory (``_load_bytes`` is ``load`` minus reading the file):
# writing thousands of files would dominate the run time; a few go through the file path too.


def test_truncated_anywhere(saved):
    raw = saved.read_bytes()
    cuts = sorted(set(range(0, len(raw), 3)) | set(range(len(raw) - 16, len(raw))))
    for cut in cuts:
        with pytest.raises(ModelFileError):
            wio._load_bytes(raw[:cut])
    for cut in (0, 7, 8, 100, len(raw) - 1):
        saved.write_bytes(raw[:cut])
        with pytest.raises(ModelFileError, match="model.safetensors"):
            load(saved)


def test_every_byte_flipped(saved):
    raw = saved.read_bytes()
    for pos in range(len(raw)):
        for bit in {pos % 8, 7 - pos % 8}:
            damaged = bytearray(raw)
            damaged[pos] ^= 1 << bit
            with pytest.raises(ModelFileError):
                wio._load_bytes(bytes(damaged))


def test_appended_bytes(saved):
    saved.write_bytes(saved.read_bytes() + b"\x00")
    with pytest.raises(ModelFileError, match="1 bytes after the last tensor"):
        load(saved)


@pytest.fixture(scope="module")
def small_file_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "m.safetensors"
    save(_model(), path, class_names=["a", "b", "c", "d"], preprocessing={"mean": np.ones(6)})
    return path.read_bytes()


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_damage_gives_one_error_type(small_file_bytes, data):
    raw = bytearray(small_file_bytes)
    for _ in range(data.draw(st.integers(1, 5))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255).filter(lambda b, p=pos: b != raw[p]))
    with pytest.raises(ModelFileError):
        wio._load_bytes(bytes(raw))


def _craft(path, tensors, meta_overrides=None, header_edit=None, fix_checksum=True):
    """Write a file our way but with chosen metadata, optionally re-signing it (as an attacker
    who knows the format would), so the checks after the checksum are exercised."""
    model = _model()
    tensors = {k: np.asarray(v) for k, v in model.state_dict().items()} if tensors is None \
        else tensors
    meta = {"format": "warpnet.model", "format_version": "1",
            "architecture": json.dumps(model.get_config()), "preprocessing": "{}",
            "class_names": "null", "metadata": "{}"}
    if not fix_checksum:  # signed before the change, as a tampered file would be
        meta["sha256"] = wio._checksum(tensors, meta)
    meta.update(meta_overrides or {})
    if fix_checksum:
        meta["sha256"] = wio._checksum(tensors, meta)
    raw = wio._serialize(tensors, meta)
    if header_edit is not None:
        (n,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + n])
        header_edit(header)
        text = json.dumps(header).encode()
        raw = struct.pack("<Q", len(text)) + text + raw[8 + n:]
    path.write_bytes(raw)
    return path


def test_crafted_file_baseline_loads(tmp_path):
    load(_craft(tmp_path / "m.safetensors", None))


def test_newer_version(tmp_path):
    path = _craft(tmp_path / "m.safetensors", None, {"format_version": "2"})
    with pytest.raises(ModelFileError, match="written by a newer warpnet"):
        load(path)
    path = _craft(tmp_path / "m.safetensors", None, {"format_version": "1.0"})
    with pytest.raises(ModelFileError, match="bad format version"):
        load(path)


def test_hostile_architecture_names_are_not_resolved(tmp_path):
    marker = tmp_path / "pwned"
    for layer_type in ("os.system", "__import__", "eval", "Module", "mlp"):
        arch = {"type": "Sequential", "layers": [{"type": layer_type, "command": f"touch {marker}"}]}
        path = _craft(tmp_path / "m.safetensors", {}, {"architecture": json.dumps(arch)})
        with pytest.raises(ModelFileError, match="cannot rebuild"):
            load(path)
    assert not marker.exists()


@pytest.mark.parametrize("arch, message", [
    ({"type": "Linear", "in_features": 10**6, "out_features": 10**6}, "more than"),
    ({"type": "Linear", "in_features": 6, "out_features": 9, "bogus": 1}, "cannot rebuild"),
    ({"type": "Linear", "in_features": 6, "out_features": 9, "dtype": "float16"}, "cannot rebuild"),
    ({"type": "Linear", "in_features": 6, "out_features": 8}, "does not match|expects"),
    ({"type": "Sequential", "layers": "no"}, "cannot rebuild"),
    (["Linear"], "JSON object"),
])
def test_bad_architectures(tmp_path, arch, message):
    tensors = {"weight": np.zeros((6, 9), np.float32), "bias": np.zeros(9, np.float32)}
    path = _craft(tmp_path / "m.safetensors", tensors, {"architecture": json.dumps(arch)})
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_an_architecture_error_without_a_message_still_says_what_failed(tmp_path, monkeypatch):
    from warpnet import nn

    def broken(config):
        raise StopIteration  # what a builder's bug may raise: no message of its own

    monkeypatch.setattr(nn, "build", broken)
    with pytest.raises(ModelFileError, match="cannot rebuild the architecture: StopIteration"):
        load(_craft(tmp_path / "m.safetensors", None))


def test_deeply_nested_architecture(tmp_path):
    arch = {"type": "ReLU"}
    for _ in range(200):
        arch = {"type": "Sequential", "layers": [arch]}
    path = _craft(tmp_path / "m.safetensors", {}, {"architecture": json.dumps(arch)})
    with pytest.raises(ModelFileError, match="nested|JSON"):
        load(path)


def test_wrong_dtype_for_architecture(tmp_path):
    tensors = {k: np.asarray(v, np.float64) for k, v in _model().state_dict().items()}
    with pytest.raises(ModelFileError, match="float64.*expects float32"):
        load(_craft(tmp_path / "m.safetensors", tensors))


@pytest.mark.parametrize("edit, message", [
    (lambda h: h["0.bias"].update(dtype="O"), "dtype 'O'"),
    (lambda h: h["0.bias"].update(dtype="BF16"), "dtype 'BF16'"),
    (lambda h: h["0.bias"].update(shape=[10]), "needs 40 bytes"),
    (lambda h: h["0.bias"].update(shape=[-9]), "bad shape"),
    (lambda h: h["0.bias"].update(shape=[True] * 9), "bad shape"),
    (lambda h: h["0.bias"].update(data_offsets=[4, 40]), "starts at byte 4, expected 0"),
    (lambda h: h["0.bias"].update(data_offsets=[40, 4]), "bad data_offsets"),
    (lambda h: h["0.bias"].update(extra=1), "expected keys"),
    (lambda h: h.update(__metadata__={"format": 1}), "strings to strings"),
    (lambda h: h.update(__metadata__=[]), "strings to strings"),
    (lambda h: h["__metadata__"].pop("sha256"), "lacks"),
    (lambda h: h["__metadata__"].update(class_names='["x"]'), "checksum"),
    (lambda h: h["__metadata__"].update(format="other"), "not a warpnet model"),
    (lambda h: h.pop("3.bias"), "starts at byte|after the last tensor"),
])
def test_bad_headers(tmp_path, edit, message):
    with pytest.raises(ModelFileError, match=message):
        load(_craft(tmp_path / "m.safetensors", None, header_edit=edit))


@pytest.mark.parametrize("text", [
    b'{"a":1,"a":2}',  # duplicate keys could hide a second value
    b'{"x":NaN}',
    b'{"x":1',
    b'\xff\xfe{}',
])
def test_bad_header_json(tmp_path, text):
    path = tmp_path / "m.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text)
    with pytest.raises(ModelFileError, match="JSON"):
        load(path)


def test_header_length_bounds(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(struct.pack("<Q", 2**63) + b"{}")
    with pytest.raises(ModelFileError, match="header length"):
        load(path)


def test_tampered_metadata_fails_the_checksum(tmp_path):
    path = _craft(tmp_path / "m.safetensors", None, {"class_names": '["x"]'}, fix_checksum=False)
    with pytest.raises(ModelFileError, match="checksum"):
        load(path)


def test_bad_metadata_json_after_a_valid_checksum(tmp_path):
    for overrides, message in [({"class_names": "[1, 2]"}, "class_names"),
                               ({"metadata": "[]"}, "JSON objects"),
                               ({"preprocessing": "{bad"}, "not valid JSON"),
                               ({"preprocessing": '{"m": {"__tensor__": "nope"}}'},
                                "missing tensor")]:
        with pytest.raises(ModelFileError, match=message):
            load(_craft(tmp_path / "m.safetensors", None, overrides))


def test_unreferenced_preprocessing_tensor(tmp_path):
    tensors = {k: np.asarray(v) for k, v in _model().state_dict().items()}
    tensors["preprocessing.extra"] = np.ones(2)
    with pytest.raises(ModelFileError, match="unreferenced"):
        load(_craft(tmp_path / "m.safetensors", tensors))


# -- saving errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, message", [
    ({"preprocessing": {"mean": np.array([np.nan])}}, None, None),  # arrays may hold NaN
    ({"metadata": {"loss": float("nan")}}, ValueError, "NaN"),
    ({"metadata": {"obj": object()}}, TypeError, "JSON-able"),
    ({"metadata": ["not", "a", "dict"]}, TypeError, "metadata must be a dict"),
    ({"preprocessing": {"c": np.zeros(2, complex)}}, ValueError, "cannot be stored"),
    ({"preprocessing": {"f": open}}, TypeError, r"preprocessing\['f'\]"),
    ({"preprocessing": {1: "x"}}, TypeError, "keys must be strings"),
    ({"preprocessing": {"__tensor__": "x"}}, ValueError, "reserved"),
    ({"preprocessing": {"a.b": np.ones(1), "a": {"b": np.ones(1)}}}, ValueError, "unique"),
    ({"class_names": "abc"}, TypeError, "class_names"),
    ({"class_names": ["a", 1]}, TypeError, "class_names"),
])
def test_save_argument_errors(tmp_path, kwargs, error, message):
    path = tmp_path / "m.safetensors"
    if error is None:
        save(_model(), path, **kwargs)
        assert np.isnan(load(path).preprocessing["mean"][0])
        return
    with pytest.raises(error, match=message):
        save(_model(), path, **kwargs)
    assert not path.exists()


def test_save_rejects_non_models_and_missing_folders(tmp_path):
    with pytest.raises(TypeError, match="warpnet.nn.Module"):
        save({"w": np.ones(2)}, tmp_path / "m.safetensors")
    with pytest.raises(FileNotFoundError):
        save(_model(), tmp_path / "no" / "m.safetensors")


def test_save_does_not_modify_inputs(tmp_path):
    model = _model()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    pre = {"mean": np.arange(3.0), "nested": {"k": [1, 2]}}
    save(model, tmp_path / "m.safetensors", preprocessing=pre)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    assert pre["nested"] == {"k": [1, 2]} and isinstance(pre["mean"], np.ndarray)


# -- interrupted saves -----------------------------------------------------------------------

_KILLER = """
import os, signal, sys
import numpy as np
from warpnet import io, nn

def model(seed):
    return nn.Sequential(nn.Linear(300, 400, rng=seed), nn.ReLU(), nn.Linear(400, 10, rng=seed))

path, when = sys.argv[1], sys.argv[2]
io.save(model(0), path)
real_fdopen = os.fdopen

class HalfWriter:
    def __init__(self, f):
        self.f = f
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False
    def write(self, data):
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    def __getattr__(self, name):
        return getattr(self.f, name)

if when == "write":
    os.fdopen = lambda fd, mode: HalfWriter(real_fdopen(fd, mode))
else:  # killed after the new file is complete and synced, just before the rename
    os.replace = lambda a, b: os.kill(os.getpid(), signal.SIGKILL)
io.save(model(1), path)
"""


@pytest.mark.parametrize("when", ["write", "rename"])
def test_killed_save_never_yields_a_bad_model(tmp_path, when):
    path = tmp_path / "model.safetensors"
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_KILLER), str(path), when],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    # The target is still the first, complete model.
    first = nn.Sequential(nn.Linear(300, 400, rng=0), nn.ReLU(), nn.Linear(400, 10, rng=0))
    x = np.random.default_rng(0).standard_normal((4, 300)).astype(np.float32)
    np.testing.assert_array_equal(_predict(load(path).model, x), _predict(first, x))
    (leftover,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    if when == "write":
        # The half-written temporary file is refused, even under the model's own name.
        with pytest.raises(ModelFileError):
            load(leftover)
        os.replace(leftover, path)
        with pytest.raises(ModelFileError, match="truncated|header"):
            load(path)
    else:
        second = nn.Sequential(nn.Linear(300, 400, rng=1), nn.ReLU(), nn.Linear(400, 10, rng=1))
        np.testing.assert_array_equal(_predict(load(leftover).model, x), _predict(second, x))
