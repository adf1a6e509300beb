"""Checkpoint files: one ``.npz`` holding named arrays plus a JSON part, never a pickle.

A checkpoint is built in memory (``np.savez`` into a ``BytesIO``) and written with
``atomic_write``, so the file on disk is always either the previous complete checkpoint or the new
complete one, even when the process is killed mid-write.  Everything that is not an array (epoch,
history, random-generator states, hyper-parameters) is stored as UTF-8 JSON in a uint8 array named
``__meta__``.  Reading uses ``allow_pickle=False`` and checks the format marker and version; zip
members carry CRC-32 checksums, so a bit flip is detected on read.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..io.atomic import atomic_write

__all__ = ["CHECKPOINT_NAME", "write_checkpoint", "read_checkpoint"]

CHECKPOINT_NAME = "checkpoint.npz"
_META = "__meta__"
_FORMAT = "warpnet-checkpoint"
_VERSION = 1


def write_checkpoint(path: str | os.PathLike[str], arrays: dict[str, np.ndarray],
                     meta: dict[str, Any]) -> None:
    """Write ``arrays`` (name -> NumPy array) and the JSON-able ``meta`` atomically to ``path``.

    Raises:
        ValueError: an array name is reserved, or ``meta`` is not JSON-able.
        OSError: the file cannot be written (an existing checkpoint is left untouched).
    """
    if _META in arrays:
        raise ValueError(f"array name {_META!r} is reserved for the JSON part")
    header = {"format": _FORMAT, "version": _VERSION, **meta}
    blob = json.dumps(header, allow_nan=True).encode("utf-8")
    buffer = io.BytesIO()
    # Any: numpy's stub would match an array of ``**payload`` against savez's allow_pickle flag.
    payload: dict[str, Any] = {_META: np.frombuffer(blob, dtype=np.uint8), **arrays}
    np.savez(buffer, **payload)
    atomic_write(path, buffer.getbuffer())


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by ``write_checkpoint``: ``(arrays, meta)``.

    Raises:
        DataError: the file is missing, truncated, corrupt, holds pickled objects, is not a warpnet
            checkpoint, or was written by a newer format version.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"checkpoint {str(path)!r} does not exist") from None
    except OSError as err:
        raise DataError(f"cannot read checkpoint {str(path)!r}: {err}") from None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        raise DataError(f"checkpoint {str(path)!r} is corrupt or not an npz file: {err}") from None
    meta_bytes = arrays.pop(_META, None)
    if meta_bytes is None or meta_bytes.dtype != np.uint8 or meta_bytes.ndim != 1:
        raise DataError(f"{str(path)!r} is not a warpnet checkpoint (no JSON part)")
    try:
        meta = json.loads(meta_bytes.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"checkpoint {str(path)!r} has a corrupt JSON part: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise DataError(f"{str(path)!r} is not a warpnet checkpoint")
    if meta.get("version") != _VERSION:
        raise DataError(f"checkpoint {str(path)!r} has format version {meta.get('version')!r}; "
                        f"this warpnet reads version {_VERSION}")
    return arrays, meta
