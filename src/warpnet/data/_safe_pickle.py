"""A pickle reader for the CIFAR-10 python batches that cannot run code.

A pickle is a small program: its GLOBAL/STACK_GLOBAL opcodes name any importable callable and
REDUCE calls it, so ``pickle.load`` on a hostile file can run ``os.system``. Every name a pickle
asks for goes through ``Unpickler.find_class``; this one answers only the handful of numpy
callables that rebuild a plain array (and ``_codecs.encode``, which Python 3 uses to store bytes
at protocol 2), each wrapped so that it can only do that. Everything else — dicts, lists, bytes,
ints — is built by opcodes that call no named code.
"""

from __future__ import annotations

import codecs
import io
import pickle
from typing import Any, Literal

import numpy as np

from ..errors import DataError

__all__ = ["safe_unpickle"]


class _NdarrayToken:
    """Stands in for ``numpy.ndarray`` inside a pickle: ``_reconstruct`` accepts it, but calling it
    directly (which would let a file allocate an array of any size) is refused."""

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise pickle.UnpicklingError("numpy.ndarray may only be rebuilt through _reconstruct")


_NDARRAY = _NdarrayToken()


def _reconstruct(subtype: object, shape: object, dtype_code: object) -> np.ndarray:
    # numpy's own _reconstruct builds an empty array of `subtype` that BUILD then fills through
    # ndarray.__setstate__ (which checks that the data length matches shape and dtype).
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError("_reconstruct may only rebuild numpy.ndarray")
    return np.ndarray.__new__(np.ndarray, (0,), dtype=np.uint8)


def _dtype(spec: object, align: object = False, copy: object = False) -> np.dtype:
    if isinstance(spec, bytes):
        spec = spec.decode("ascii")
    if not isinstance(spec, str):
        raise pickle.UnpicklingError(f"dtype spec must be a string, got {type(spec).__name__}")
    # copy=True always: BUILD then calls __setstate__ on the result, which must never be numpy's
    # shared builtin dtype object.
    dtype = np.dtype(spec, align=bool(align), copy=True)
    if dtype.hasobject:
        raise pickle.UnpicklingError("object dtypes are not allowed")
    return dtype


def _frombuffer(buf: object, dtype: object, shape: object, order: object) -> np.ndarray:
    # Protocol 5 stores arrays as (raw bytes, dtype, shape, order).
    if not isinstance(buf, bytes | bytearray | pickle.PickleBuffer) or not isinstance(
        dtype, np.dtype
    ):
        raise pickle.UnpicklingError("malformed array in pickle")
    if dtype.hasobject:
        raise pickle.UnpicklingError("object dtypes are not allowed")
    if not isinstance(shape, tuple) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
    ):
        raise pickle.UnpicklingError(f"bad array shape {shape!r}")
    if order == "C":
        layout: Literal["C", "F"] = "C"
    elif order == "F":
        layout = "F"
    else:
        raise pickle.UnpicklingError(f"bad array order {order!r}")
    flat = np.frombuffer(memoryview(buf), dtype=dtype)
    return flat.reshape(shape, order=layout).copy(order=layout)


def _encode(text: object, encoding: object = "utf-8") -> bytes:
    # Python 3 pickles `bytes` at protocol 2 as _codecs.encode(latin-1 text, "latin1").
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed with latin1 text")
    return codecs.encode(text, "latin1")


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _dtype,
    # numpy < 2 writes numpy.core.*, numpy >= 2 writes numpy._core.*; the official batches say
    # numpy.core.multiarray.
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only plain numpy arrays are allowed"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def safe_unpickle(data: bytes, source: str) -> Any:
    """Unpickle ``data`` admitting only builtin containers, bytes, numbers and numpy arrays.

    Strings written by Python 2 come back as ``bytes`` (``encoding="bytes"``, as the CIFAR-10
    page prescribes).

    Raises:
        DataError: naming ``source``, for any pickle that asks for anything else or is malformed.
    """
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError) as exc:
        raise DataError(f"{source}: not a valid CIFAR-10 python batch ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - a hostile pickle can trigger almost any error type
        raise DataError(
            f"{source}: not a valid CIFAR-10 python batch ({type(exc).__name__}: {exc})"
        ) from None
