"""Data-parallel training on ``torch.distributed``: one process per rank, started by ``torchrun``.

Every rank holds the whole training set and draws the same shuffled order (same seed); the
global minibatch ``b`` (``batch_size`` samples) is split into ``world_size`` consecutive shares
and rank ``r`` trains on share ``r``.  Between backward and the update (the trainer's
``on_after_backward`` point) each rank scales its gradients by ``n_r / n`` (its share of the
global batch) and ``all_reduce`` sums them, so every rank applies the gradient of the mean loss
over the whole global batch: the same update as one process with batch ``batch_size``, up to
the order of floating-point additions.  NumPy gradients are handed to torch with
``torch.from_numpy`` (shared memory, no copy).  Rank 0 alone writes history, checkpoints and
model files; a checkpoint records the world size and a resume with another one is refused.
Dropout masks differ per rank (each rank's generators are re-seeded from the seed and the
rank, and again from the completed epochs when a run resumes: reproducible, though a resumed
run's masks are not those of an uninterrupted one).

Backend: gloo for NumPy/CPU tensors, NCCL for CUDA tensors.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import UsageError

__all__ = ["DataParallel", "device_kind", "torchrun_world"]

_TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def device_kind(x: Any) -> str:
    """"cuda" for an array on a CUDA device, else "cpu"."""
    from .. import backend

    return "cuda" if getattr(backend.device(x), "type", None) == "cuda" else "cpu"


def torchrun_world() -> tuple[int, int] | None:
    """``(rank, world_size)`` from the environment ``torchrun`` sets, or None outside it."""
    if not all(v in os.environ for v in _TORCHRUN_VARS):
        return None
    return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])


class DataParallel:
    """The ranks of one data-parallel run: sharding of global batches and gradient averaging.

    Joins the default process group (``torch.distributed.init_process_group`` from the
    environment ``torchrun`` sets) unless one is already initialized.

    Args:
        device_kind: "cpu" (gloo) or "cuda" (NCCL).

    Raises:
        UsageError: torch is missing, the process was not started by ``torchrun`` (and no
            process group exists), or the world holds a single process.
    """

    def __init__(self, device_kind: str = "cpu") -> None:
        try:
            import torch
            import torch.distributed as dist
        except ImportError:
            raise UsageError('distributed training needs PyTorch: pip install "warpnet[torch]"'
                             ) from None
        if not dist.is_available():
            raise UsageError("this PyTorch build has no torch.distributed")
        if not dist.is_initialized():
            if torchrun_world() is None:
                raise UsageError("distributed training runs under torchrun, e.g. 'torchrun "
                                 "--nproc-per-node 2 -m warpnet train --distributed ...'; this "
                                 "process was not started by torchrun")
            if device_kind == "cuda":  # one GPU per rank: the one torchrun's LOCAL_RANK names
                torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
            dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")
        self.torch, self.dist = torch, dist
        # NCCL reduces CUDA tensors only: the small bookkeeping sums go where the gradients are.
        self._scalars_device = "cuda" if device_kind == "cuda" else "cpu"
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        if self.world_size < 2:
            raise UsageError("distributed training needs at least 2 processes, the world holds 1: "
                             "start more with torchrun --nproc-per-node N, or leave --distributed "
                             "out")
        self._n_local = 0
        self._n_global = 0

    @property
    def is_writer(self) -> bool:
        """True on rank 0, the one process that writes files."""
        return self.rank == 0

    def check_batches(self, n_samples: int, batch_size: int) -> None:
        """Raise ValueError unless every global batch has a sample for every rank."""
        W = self.world_size
        last = n_samples - (-(-n_samples // batch_size) - 1) * batch_size
        if batch_size < W or last < W:
            raise ValueError(
                f"batch_size={batch_size} with {n_samples} samples leaves a global batch of "
                f"{min(batch_size, last)} samples, fewer than the {W} processes: choose a "
                "batch size whose batches (the last one too) hold at least one sample per process")

    def shard(self, order: np.ndarray, batch_size: int) -> tuple[np.ndarray, list[int], list[int]]:
        """This rank's part of the epoch ``order``.

        Returns:
            ``(local_order, local_sizes, global_sizes)``: the rank's samples batch after batch
            (its share of each global batch, consecutive in ``order``), and per batch the
            share's size and the global batch's size.
        """
        W, r = self.world_size, self.rank
        parts, local, glob = [], [], []
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            share = np.array_split(batch, W)[r]
            parts.append(share)
            local.append(len(share))
            glob.append(len(batch))
        return np.concatenate(parts), local, glob

    def set_batch(self, n_local: int, n_global: int) -> None:
        """The sizes of the running batch (the weight of this rank's gradient)."""
        self._n_local, self._n_global = n_local, n_global

    def on_after_backward(self, trainer: Any) -> None:
        """Average the gradients over the global batch: ``g = sum_r (n_r / n) g_r``."""
        weight = self._n_local / self._n_global
        for p in trainer._params:
            g = p.grad
            g *= weight
            self.dist.all_reduce(self._as_tensor(g), op=self.dist.ReduceOp.SUM)
            p.grad = g

    def sum(self, *values: float) -> list[float]:
        """Sum of each float over the ranks (float64)."""
        t = self.torch.tensor([float(v) for v in values], dtype=self.torch.float64,
                              device=self._scalars_device)
        self.dist.all_reduce(t, op=self.dist.ReduceOp.SUM)
        return [float(v) for v in t.tolist()]

    def max(self, value: float) -> float:
        """Largest ``value`` over the ranks."""
        t = self.torch.tensor([float(value)], dtype=self.torch.float64,
                              device=self._scalars_device)
        self.dist.all_reduce(t, op=self.dist.ReduceOp.MAX)
        return float(t.item())

    def reseed_dropout(self, layers: list[Any], seed: int, epoch: int) -> None:
        """Give every rank its own reproducible dropout masks: generators from
        ``(seed, epoch, rank, i)`` (``epoch``: completed epochs, for a resumed run)."""
        for i, layer in enumerate(layers):
            layer.rng = np.random.default_rng([seed, epoch, self.rank, i])

    def _as_tensor(self, g: Any) -> Any:
        if isinstance(g, np.ndarray):
            return self.torch.from_numpy(g)  # shares g's memory: all_reduce writes into g
        return g
