"""Everything that leaves the process: model files, atomic writes, and the bridge to PyTorch.

One module per concept:

- ``model_file``: ``save``/``load``/``dumps`` of a network with its preprocessing and class names
  in one ``.safetensors`` file, checked byte by byte on the way back in (``ModelFileError``).
- ``atomic``: ``atomic_write``/``atomic_writer``, the write-temp-fsync-rename recipe every file
  warpnet writes goes through, so a killed writer never leaves a torn file.
- ``torch_export``: ``to_torch``/``from_torch``, a trained network as a ``torch.nn.Sequential`` and
  back.  They are looked up on first use, so ``import warpnet.io`` loads neither PyTorch nor the
  engine (``warpnet.nn``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .atomic import atomic_write, atomic_writer
from .model_file import FORMAT_NAME, FORMAT_VERSION, ModelFileError, SavedModel, dumps, load, save

if TYPE_CHECKING:  # for type checkers and the API reference; at run time see __getattr__
    from .torch_export import from_torch, to_torch

_LAZY = {"to_torch": "warpnet.io.torch_export", "from_torch": "warpnet.io.torch_export"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'warpnet.io' has no attribute {name!r}")


__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "ModelFileError", "SavedModel", "atomic_write",
           "atomic_writer", "dumps", "from_torch", "load", "save", "to_torch"]
