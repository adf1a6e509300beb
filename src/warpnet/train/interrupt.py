"""Turning SIGINT/SIGTERM into a clean stop: finish the step, save, then raise.

While training, ``catch_signals()`` replaces the handlers of SIGINT (Ctrl-C) and SIGTERM with one
that only records the signal; the trainer checks the flag after each optimizer step, writes a
checkpoint and raises ``TrainingInterrupted``.  A second signal while the first is being handled
raises ``KeyboardInterrupt`` at once (a user who presses Ctrl-C twice means it; the checkpoint
write is atomic, so nothing on disk breaks).  The previous handlers come back when the block
ends.  Handlers can only be installed in the main thread; elsewhere the block does nothing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["TrainingInterrupted", "InterruptFlag", "catch_signals"]

_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None))
                 if s is not None)


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on SIGINT/SIGTERM after saving a checkpoint (if a folder was given).

    A ``KeyboardInterrupt``, so programs that already handle Ctrl-C (the command line exits 130)
    keep working.  Attributes: ``signum``, ``epoch`` (1-based, the epoch that was running),
    ``checkpoint`` (path of the saved file, or None).
    """

    def __init__(self, signum: int, epoch: int, checkpoint: str | None) -> None:
        name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else signum
        where = f"checkpoint saved to {checkpoint}" if checkpoint else "no checkpoint folder was given"
        super().__init__(f"training interrupted by {name} during epoch {epoch}; {where}")
        self.signum = signum
        self.epoch = epoch
        self.checkpoint = checkpoint


class InterruptFlag:
    """The signal received so far (``signum``), or None."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt(f"second signal {signum}: stopping without saving")
        self.signum = signum


@contextlib.contextmanager
def catch_signals() -> Iterator[InterruptFlag]:
    """Record SIGINT/SIGTERM in the yielded flag instead of stopping (main thread only)."""
    flag = InterruptFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    try:
        for sig in _SIGNALS:
            signal.signal(sig, flag._handle)
        yield flag
    finally:
        for sig, handler in previous.items():
            # getsignal returns None for handlers not installed from Python; leave those alone.
            if handler is not None:
                signal.signal(sig, handler)
