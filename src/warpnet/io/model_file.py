"""Model files: one ``.safetensors`` file holding weights, architecture and preprocessing.

The file is plain safetensors (readable by the ``safetensors`` package and any other reader)::

    8 bytes     N, the header length (unsigned 64-bit little-endian)
    N bytes     JSON header: {"<tensor name>": {"dtype": "F32", "shape": [64, 100],
                                                "data_offsets": [begin, end]}, ...,
                              "__metadata__": {"<key>": "<string>", ...}}
                (padded with spaces to a multiple of 8 so the data that follows is aligned)
    the rest    the tensors' raw little-endian bytes, back to back, in header order

Tensors are the model's ``state_dict()`` ("0.weight", "0.bias", ...) plus every array found in
the preprocessing dict, stored under ``preprocessing.<path>``. The string metadata holds, as JSON:
the architecture (``model.get_config()``), the rest of the preprocessing, the class names, the
caller's metadata, a format name and version, and a SHA-256 over every tensor (name, dtype, shape,
bytes) and every other metadata entry.

Loading trusts nothing: the header length, JSON, offsets, dtypes, shapes and checksum are checked
before any value is used, and the model is rebuilt only through ``warpnet.nn.build`` (the registry
of known layer classes). Nothing on the load path unpickles, imports or evaluates anything the file
names. Every problem is one :class:`ModelFileError` naming the file. Files are written atomically,
so a writer killed mid-save leaves the previous file (or none), never a torn one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from array_api_compat import is_array_api_obj

from ..backend import to_numpy
from ..errors import DataError
from .atomic import atomic_write

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "ModelFileError", "SavedModel", "load", "save"]

FORMAT_NAME = "warpnet.model"
FORMAT_VERSION = 1

_PREFIX = "preprocessing."
_TENSOR_REF = "__tensor__"  # placeholder key in the preprocessing JSON for an array
_MAX_HEADER = 100 * 1024 * 1024  # the safetensors package's own limit
_MAX_CONFIG_DEPTH = 32
_ALIGN = 8

# safetensors dtype name <-> NumPy dtype (little-endian). Only these are read or written.
_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype("?"),
    "U8": np.dtype("u1"), "I8": np.dtype("i1"),
    "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "F16": np.dtype("<f2"),
    "U32": np.dtype("<u4"), "I32": np.dtype("<i4"), "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "F64": np.dtype("<f8"),
}
_DTYPE_NAMES = {(dt.kind, dt.itemsize): name for name, dt in _DTYPES.items()}

# Metadata keys, all JSON text except the format name and version.
_K_FORMAT, _K_VERSION, _K_SHA = "format", "format_version", "sha256"
_K_ARCH, _K_PRE, _K_CLASSES, _K_META = "architecture", "preprocessing", "class_names", "metadata"


class ModelFileError(DataError):
    """A model file that cannot be loaded: missing, truncated, corrupted, foreign, tampered with or
    written by a newer warpnet. The message names the file and what is wrong."""


@dataclass
class SavedModel:
    """What :func:`load` returns.

    Attributes:
        model: the rebuilt ``warpnet.nn`` module with the saved weights, in eval mode, on NumPy.
        preprocessing: the dict given to :func:`save`, with its arrays restored as NumPy arrays.
        class_names: the class names given to :func:`save`, or None.
        metadata: the metadata dict given to :func:`save` (empty if none).
        format_version: the file's format version.
    """

    model: Any
    preprocessing: dict[str, Any] = field(default_factory=dict)
    class_names: list[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION


# ---------------------------------------------------------------------------------------------
# saving


def save(
    model: Any,
    path: str | os.PathLike[str],
    *,
    preprocessing: Mapping[str, Any] | None = None,
    class_names: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write ``model`` and everything needed to use it to one ``.safetensors`` file, atomically.

    ``path`` is the file to write; its folder must exist.  An existing file is replaced only once
    the new one is complete.  The other arguments and the errors are those of ``dumps``; writing
    may also raise ``OSError`` (the previous file, if any, is left untouched).
    """
    atomic_write(path, dumps(model, preprocessing=preprocessing, class_names=class_names,
                             metadata=metadata))


def dumps(
    model: Any,
    *,
    preprocessing: Mapping[str, Any] | None = None,
    class_names: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> bytes:
    """The bytes of the model file ``save`` writes (for a download, say, with no file in between).

    Args:
        model: a ``warpnet.nn.Module`` (anything with ``get_config()`` and ``state_dict()``);
            parameters may live in any array library or device, they are copied to NumPy.
        preprocessing: a JSON-like dict (str keys; values: str, int, float, bool, None, lists,
            dicts) that may also hold arrays anywhere (e.g. ``{"mean": arr, "std": arr}``); arrays
            are stored as tensors, the rest as JSON (tuples come back as lists).
        class_names: the name of each output class.
        metadata: any other JSON-able facts (training settings, accuracy, ...).

    Raises:
        TypeError: ``model`` lacks ``get_config``/``state_dict``, or a value cannot be stored
            (the message gives its place, e.g. ``preprocessing['bow']['codebook']``).
        ValueError: NaN/inf in the JSON parts, an unsupported array dtype, or clashing names.
    """
    if not callable(getattr(model, "get_config", None)) or not callable(
        getattr(model, "state_dict", None)
    ):
        raise TypeError(f"model must be a warpnet.nn.Module, got {type(model).__name__}")
    tensors: dict[str, np.ndarray] = {}
    for name, value in model.state_dict().items():
        tensors[name] = _host_array(value, f"parameter {name!r}")
    clash = sorted(n for n in tensors if n.startswith(_PREFIX))
    if clash:
        raise ValueError(f"parameter names may not start with {_PREFIX!r}: {clash}")
    if preprocessing is not None and not isinstance(preprocessing, Mapping):
        raise TypeError(f"preprocessing must be a dict, got {type(preprocessing).__name__}")
    pre_json = _encode_preprocessing(dict(preprocessing or {}), tensors)
    if class_names is not None:
        if isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names):
            raise TypeError("class_names must be a sequence of strings")
        class_names = list(class_names)
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    meta = {
        _K_FORMAT: FORMAT_NAME,
        _K_VERSION: str(FORMAT_VERSION),
        _K_ARCH: _dumps(model.get_config(), "model.get_config()"),
        _K_PRE: _dumps(pre_json, "preprocessing"),
        _K_CLASSES: _dumps(class_names, "class_names"),
        _K_META: _dumps(dict(metadata or {}), "metadata"),
    }
    meta[_K_SHA] = _checksum(tensors, meta)
    return _serialize(tensors, meta)


def _host_array(value: Any, where: str) -> np.ndarray:
    """Any array-API array as a C-contiguous NumPy array (copied off its device if needed),
    checked to have a storable dtype."""
    array = np.ascontiguousarray(to_numpy(value))
    if (array.dtype.kind, array.dtype.itemsize) not in _DTYPE_NAMES:
        raise ValueError(f"{where}: dtype {array.dtype} cannot be stored "
                         f"(supported: {', '.join(_DTYPES)})")
    return array


def _encode_preprocessing(tree: Any, tensors: dict[str, np.ndarray],
                          parts: tuple[str, ...] = ()) -> Any:
    """Copy ``tree`` replacing each array by ``{"__tensor__": name}`` and adding the array to
    ``tensors`` under ``name = "preprocessing." + ".".join(path)``."""
    where = "preprocessing" + "".join(f"[{p!r}]" for p in parts)
    if isinstance(tree, np.generic):  # NumPy scalars count as arrays for array-api-compat
        return tree.item()
    if is_array_api_obj(tree):
        name = _PREFIX + ".".join(parts)
        if not parts or name in tensors:
            raise ValueError(f"{where}: arrays need a unique key path, {name!r} is taken")
        tensors[name] = _host_array(tree, where)
        return {_TENSOR_REF: name}
    if isinstance(tree, Mapping):
        out = {}
        for key, value in tree.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys must be strings, got {key!r}")
            if key == _TENSOR_REF:
                raise ValueError(f"{where}: the key {_TENSOR_REF!r} is reserved")
            out[key] = _encode_preprocessing(value, tensors, (*parts, key))
        return out
    if isinstance(tree, list | tuple):
        return [_encode_preprocessing(v, tensors, (*parts, str(i))) for i, v in enumerate(tree)]
    if tree is None or isinstance(tree, str | bool | int | float):
        return tree
    raise TypeError(f"{where}: cannot store a {type(tree).__name__} (use arrays, numbers, "
                    "strings, lists and dicts)")


def _dumps(value: Any, where: str) -> str:
    try:
        return json.dumps(value, allow_nan=False, sort_keys=True, separators=(",", ":"))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc} (NaN and inf cannot be stored as JSON)") from None
    except TypeError as exc:
        raise TypeError(f"{where} must be JSON-able: {exc}") from None


def _checksum(tensors: Mapping[str, np.ndarray], meta: Mapping[str, str]) -> str:
    """SHA-256 over every tensor (name, dtype, shape, bytes) and every other metadata entry, in
    name order; lengths are framed so that no two different contents hash the same stream."""
    h = hashlib.sha256()

    def chunk(data: bytes) -> None:
        h.update(struct.pack("<Q", len(data)))
        h.update(data)

    for name in sorted(tensors):
        array = tensors[name]
        chunk(name.encode("utf-8"))
        chunk(_DTYPE_NAMES[(array.dtype.kind, array.dtype.itemsize)].encode("ascii"))
        chunk(json.dumps(list(array.shape)).encode("ascii"))
        chunk(_le_bytes(array))
    for key in sorted(k for k in meta if k != _K_SHA):
        chunk(key.encode("utf-8"))
        chunk(meta[key].encode("utf-8"))
    return h.hexdigest()


def _le_bytes(array: np.ndarray) -> bytes:
    """The array's bytes in C order and little-endian, whatever the machine's byte order."""
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def _serialize(tensors: Mapping[str, np.ndarray], meta: Mapping[str, str]) -> bytes:
    """Lay out a safetensors file: header length, padded JSON header, tensor bytes."""
    header: dict[str, Any] = {"__metadata__": dict(meta)}
    blobs, offset = [], 0
    for name in sorted(tensors):
        array = tensors[name]
        data = _le_bytes(array)
        header[name] = {
            "dtype": _DTYPE_NAMES[(array.dtype.kind, array.dtype.itemsize)],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % _ALIGN)  # align the data section for zero-copy readers
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


# ---------------------------------------------------------------------------------------------
# loading


def load(path: str | os.PathLike[str]) -> SavedModel:
    """Read a model file written by :func:`save` (or by any safetensors writer with the same
    metadata) and rebuild the model through the layer registry.

    Returns:
        :class:`SavedModel` with the model in eval mode.

    Raises:
        ModelFileError: (a ``DataError``/``ValueError``) the file is missing or unreadable, is not
            a safetensors file, is truncated or corrupted (checksum), was written by a newer
            warpnet, or describes an architecture the registry cannot build or that does not fit
            its tensors. The message names the file.
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {str(file)!r}: {exc.strerror or exc}") from None
    try:
        return _load_bytes(raw)
    except ModelFileError as exc:
        raise ModelFileError(f"{str(file)!r} is not a valid warpnet model file: {exc}") from None


def _read_safetensors(raw: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse and validate a safetensors file's bytes.

    Returns:
        ``(tensors, metadata)``: NumPy arrays (native byte order, owning their memory) by name,
        and the ``__metadata__`` strings.

    Raises:
        ModelFileError: a bad header length, invalid or duplicate-key JSON, unknown dtypes,
            shapes that disagree with byte counts, or offsets that overlap, leave gaps or run past
            the end of the file.
    """
    if len(raw) < 8:
        raise ModelFileError(f"only {len(raw)} bytes; a safetensors file starts with an 8-byte "
                             "header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n < 2 or n > _MAX_HEADER or n > len(raw) - 8:
        raise ModelFileError(f"header length {n} does not fit a file of {len(raw)} bytes "
                             "(truncated, or not a safetensors file)")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"), object_pairs_hook=_unique_keys,
                            parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ModelFileError("header is not a JSON object")
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
    ):
        raise ModelFileError("__metadata__ must map strings to strings")
    data = memoryview(raw)[8 + n:]
    entries = []
    for name, info in header.items():
        entries.append((name, *_tensor_entry(name, info)))
    entries.sort(key=lambda e: e[3][0])
    expected = 0
    tensors: dict[str, np.ndarray] = {}
    for name, dtype, shape, (begin, end) in entries:
        if begin != expected:
            raise ModelFileError(f"tensor {name!r} starts at byte {begin}, expected {expected} "
                                 "(overlapping or gapped offsets)")
        if end > len(data):
            raise ModelFileError(f"tensor {name!r} ends at byte {end} but the data section has "
                                 f"only {len(data)} bytes (truncated file)")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape) \
            .astype(dtype.newbyteorder("="))
        expected = end
    if expected != len(data):
        raise ModelFileError(f"{len(data) - expected} bytes after the last tensor")
    return tensors, meta


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tensor_entry(name: str, info: Any) -> tuple[np.dtype, tuple[int, ...], tuple[int, int]]:
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"tensor {name!r}: expected keys dtype, shape, data_offsets")
    dtype = _DTYPES.get(info["dtype"]) if isinstance(info["dtype"], str) else None
    if dtype is None:
        raise ModelFileError(f"tensor {name!r}: dtype {info['dtype']!r} is not one of "
                             f"{', '.join(_DTYPES)}")
    shape, offsets = info["shape"], info["data_offsets"]
    if not isinstance(shape, list) or len(shape) > 8 or not all(_int(s) for s in shape):
        raise ModelFileError(f"tensor {name!r}: bad shape {shape!r}")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_int(o) for o in offsets) \
            or offsets[0] > offsets[1]:
        raise ModelFileError(f"tensor {name!r}: bad data_offsets {offsets!r}")
    count = 1
    for s in shape:
        count *= s
    if count * dtype.itemsize != offsets[1] - offsets[0]:
        raise ModelFileError(f"tensor {name!r}: shape {shape} of {info['dtype']} needs "
                             f"{count * dtype.itemsize} bytes, offsets give "
                             f"{offsets[1] - offsets[0]}")
    return dtype, tuple(shape), (offsets[0], offsets[1])


def _load_bytes(raw: bytes) -> SavedModel:
    tensors, meta = _read_safetensors(raw)
    if meta.get(_K_FORMAT) != FORMAT_NAME:
        raise ModelFileError(f"a safetensors file, but not a warpnet model "
                             f"(metadata 'format' is {meta.get(_K_FORMAT)!r})")
    version_text = meta.get(_K_VERSION, "")
    if not re.fullmatch(r"[0-9]{1,6}", version_text):
        raise ModelFileError(f"bad format version {version_text!r}")
    version = int(version_text)
    if version > FORMAT_VERSION:
        raise ModelFileError(f"written by a newer warpnet (format version {version}; this "
                             f"warpnet reads up to {FORMAT_VERSION}); upgrade warpnet to load it")
    if version < 1:
        raise ModelFileError(f"bad format version {version}")
    missing = {_K_SHA, _K_ARCH, _K_PRE, _K_CLASSES, _K_META} - set(meta)
    if missing:
        raise ModelFileError(f"metadata lacks {sorted(missing)}")
    if _checksum(tensors, meta) != meta[_K_SHA]:
        raise ModelFileError("checksum mismatch: the file is corrupted or was modified")

    config = _loads(meta[_K_ARCH], _K_ARCH)
    preprocessing = _loads(meta[_K_PRE], _K_PRE)
    class_names = _loads(meta[_K_CLASSES], _K_CLASSES)
    user_meta = _loads(meta[_K_META], _K_META)
    if not isinstance(preprocessing, dict) or not isinstance(user_meta, dict):
        raise ModelFileError("preprocessing and metadata must be JSON objects")
    if class_names is not None and (
        not isinstance(class_names, list) or not all(isinstance(c, str) for c in class_names)
    ):
        raise ModelFileError("class_names must be a list of strings")

    pre_tensors = {k: v for k, v in tensors.items() if k.startswith(_PREFIX)}
    used: set[str] = set()
    preprocessing = _decode_preprocessing(preprocessing, pre_tensors, used)
    if used != set(pre_tensors):
        raise ModelFileError(f"unreferenced preprocessing tensors {sorted(set(pre_tensors) - used)}")
    state = {k: v for k, v in tensors.items() if not k.startswith(_PREFIX)}
    model = _build_model(config, state)
    return SavedModel(model=model, preprocessing=preprocessing, class_names=class_names,
                      metadata=user_meta, format_version=version)


def _loads(text: str, key: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"metadata {key!r} is not valid JSON ({exc})") from None


def _decode_preprocessing(tree: Any, tensors: Mapping[str, np.ndarray], used: set[str]) -> Any:
    if isinstance(tree, dict):
        if _TENSOR_REF in tree:
            name = tree[_TENSOR_REF]
            if len(tree) != 1 or not isinstance(name, str) or name not in tensors:
                raise ModelFileError(f"preprocessing refers to a missing tensor {name!r}")
            used.add(name)
            return tensors[name]
        return {k: _decode_preprocessing(v, tensors, used) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_decode_preprocessing(v, tensors, used) for v in tree]
    return tree


def _config_bounds(config: Any, limit: int, depth: int = 0) -> None:
    """Refuse configs that would make the rebuild itself costly before any layer is built: deep
    nesting, and layers whose integer settings multiply to more numbers than the file stores (for
    ``Linear`` the product in*out is exactly its weight size, so honest files always pass)."""
    if depth > _MAX_CONFIG_DEPTH:
        raise ModelFileError(f"architecture nested deeper than {_MAX_CONFIG_DEPTH} levels")
    if isinstance(config, dict):
        product = 1
        for value in config.values():
            if isinstance(value, int) and not isinstance(value, bool):
                product *= max(abs(value), 1)
            else:
                _config_bounds(value, limit, depth + 1)
        if product > limit:
            raise ModelFileError(f"layer {config.get('type')!r} asks for {product} numbers, more "
                                 f"than the {limit} the file could fill")
    elif isinstance(config, list):
        for value in config:
            _config_bounds(value, limit, depth + 1)


def _build_model(config: Any, state: dict[str, np.ndarray]) -> Any:
    from .. import nn  # the registry; imported here so reading tensors needs no engine

    stored = sum(int(v.size) for v in state.values())
    _config_bounds(config, limit=max(16 * stored, 1 << 16))
    if not isinstance(config, dict):
        raise ModelFileError("architecture must be a JSON object")
    try:
        model = nn.build(config)
    except Exception as exc:  # noqa: BLE001 - any failure to build from file content is the file's
        # An exception without a message (a StopIteration, say) still names its kind.
        raise ModelFileError(f"cannot rebuild the architecture: {str(exc) or type(exc).__name__}") \
            from None
    own = model.state_dict()
    if set(own) != set(state):
        raise ModelFileError(f"the architecture's parameters {sorted(own)} do not match the "
                             f"file's tensors {sorted(state)}")
    for name, value in own.items():
        host = np.asarray(value)
        if host.shape != state[name].shape or host.dtype != state[name].dtype:
            raise ModelFileError(f"tensor {name!r} is {state[name].dtype} {state[name].shape}, "
                                 f"the architecture expects {host.dtype} {host.shape}")
    try:
        model.load_state_dict(state)
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"cannot load the weights: {exc}") from None
    model.eval()
    return model
