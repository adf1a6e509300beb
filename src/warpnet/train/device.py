"""Devices for the engine: "cpu" (NumPy) or "cuda" (PyTorch CUDA tensors, same formulas).

The engine is written against the array API, so a model moved to PyTorch tensors on a GPU
trains with the same layers, losses and optimizers; the trainer moves the data to the model's
device once per ``fit``.  Checkpoints and model files hold NumPy arrays either way.
"""

from __future__ import annotations

from typing import Any

from ..errors import DataError, UsageError

__all__ = ["DEVICES", "check_device", "to_device"]

DEVICES = ("cpu", "cuda")


def check_device(device: str) -> None:
    """Raise unless ``device`` can run here.

    Raises:
        UsageError: ``device`` is not one of ``DEVICES``.
        DataError: "cuda" without PyTorch, or without a visible CUDA GPU.
    """
    if device not in DEVICES:
        raise UsageError(f"device must be one of {list(DEVICES)}, got {device!r}")
    if device == "cpu":
        return
    try:
        import torch
    except ImportError:
        raise DataError('device "cuda" runs the engine on PyTorch tensors, but PyTorch is not '
                        'installed: pip install "warpnet[torch]" (a CUDA build)') from None
    if not torch.cuda.is_available():
        raise DataError('device "cuda" needs a CUDA GPU, but torch.cuda.is_available() is False '
                        f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}): run on a "
                        "machine with an NVIDIA GPU and a CUDA build of PyTorch, or use the cpu")


def to_device(model: Any, device: str) -> Any:
    """Move ``model``'s parameters to ``device`` in place ("cpu": NumPy arrays); returns it.

    Raises:
        UsageError / DataError: as ``check_device``.
    """
    check_device(device)
    if device == "cpu":
        import array_api_compat.numpy as numpy_xp

        return model.to(numpy_xp, "cpu")
    import os

    import array_api_compat.torch as xp

    # under torchrun each process takes the GPU of its LOCAL_RANK
    local_rank = os.environ.get("LOCAL_RANK")
    return model.to(xp, f"cuda:{int(local_rank)}" if local_rank is not None else "cuda")
