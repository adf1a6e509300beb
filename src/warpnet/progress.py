"""Training progress on the terminal: a live bar, plain lines in logs, or nothing.

``make_progress(verbose, epochs)`` picks one of three reporters with the same four methods:

- a tqdm bar per epoch (samples done, samples/s, ETA, and the running loss and accuracy) when the
  stream is a terminal or the code runs in a Jupyter notebook (``tqdm.auto``: a widget there when
  ipywidgets is installed, text otherwise);
- one plain line per epoch when the stream is not a terminal (a log file, CI);
- nothing at all with ``verbose=0``.

Everything goes to standard error, so standard output stays free for results.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress", "make_progress", "format_record"]

# The running loss shown on the bar is refreshed at most this often: reading it is a host sync.
_POSTFIX_INTERVAL_S = 0.5


class Progress:
    """Silent reporter (``verbose=0``) and the interface of the others."""

    def start_epoch(self, epoch: int, n_samples: int, done: int = 0) -> None:
        """An epoch (1-based) over ``n_samples`` begins; ``done`` samples are already behind it
        (a run resumed mid-epoch)."""

    def wants_postfix(self) -> bool:
        """Whether ``update`` would show a running loss now (callers skip computing it if not)."""
        return False

    def update(self, n: int, loss: float | None = None, accuracy: float | None = None) -> None:
        """``n`` more samples were trained on; optionally the running loss and accuracy."""

    def end_epoch(self, record: dict[str, Any]) -> None:
        """The epoch finished with this history record."""

    def close(self) -> None:
        """Release the terminal (also called when training stops with an error)."""


def format_record(record: dict[str, Any], epochs: int) -> str:
    """One line such as ``epoch 3/10  loss 0.4123  acc 0.8810  val_loss 0.5 ...  1.2s``."""
    parts = [f"epoch {record['epoch']}/{epochs}", f"loss {record['loss']:.4f}"]
    for key, label in (("train_accuracy", "acc"), ("val_loss", "val_loss"),
                       ("val_accuracy", "val_acc")):
        if record.get(key) is not None:
            parts.append(f"{label} {record[key]:.4f}")
    parts.append(f"lr {record['lr']:.3g}")
    parts.append(f"{record['seconds']:.2f}s")
    return "  ".join(parts)


class _Lines(Progress):
    """One line per epoch, for logs."""

    def __init__(self, epochs: int, stream: TextIO) -> None:
        self.epochs = epochs
        self.stream = stream

    def end_epoch(self, record: dict[str, Any]) -> None:
        rate = record.get("samples_per_second")
        tail = f"  {rate:.0f} samples/s" if rate else ""
        print(format_record(record, self.epochs) + tail, file=self.stream, flush=True)


class _Bar(Progress):
    """A tqdm bar per epoch; the finished bar stays on screen as that epoch's line."""

    def __init__(self, epochs: int, stream: TextIO, tqdm: Any) -> None:
        self.epochs = epochs
        self.stream = stream
        self._tqdm = tqdm
        self._bar: Any = None
        self._last_postfix = 0.0

    def start_epoch(self, epoch: int, n_samples: int, done: int = 0) -> None:
        self.close()
        self._bar = self._tqdm(total=n_samples, initial=done, desc=f"epoch {epoch}/{self.epochs}",
                               unit="sample", unit_scale=True, file=self.stream, leave=True,
                               dynamic_ncols=True)
        self._last_postfix = time.monotonic()

    def wants_postfix(self) -> bool:
        return time.monotonic() - self._last_postfix >= _POSTFIX_INTERVAL_S

    def update(self, n: int, loss: float | None = None, accuracy: float | None = None) -> None:
        if self._bar is None:
            return
        if loss is not None:
            postfix = {"loss": f"{loss:.4f}"}
            if accuracy is not None:
                postfix["acc"] = f"{accuracy:.3f}"
            self._bar.set_postfix(postfix, refresh=False)
            self._last_postfix = time.monotonic()
        self._bar.update(n)

    def end_epoch(self, record: dict[str, Any]) -> None:
        if self._bar is None:
            return
        postfix = {"loss": f"{record['loss']:.4f}"}
        for key, label in (("train_accuracy", "acc"), ("val_loss", "val_loss"),
                           ("val_accuracy", "val_acc")):
            if record.get(key) is not None:
                postfix[label] = f"{record[key]:.4f}"
        self._bar.set_postfix(postfix, refresh=False)
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def make_progress(verbose: int, epochs: int, stream: TextIO | None = None) -> Progress:
    """The reporter for ``verbose`` (0 silent, 1 bar on a terminal else lines, 2 always lines).

    Args:
        verbose: 0, 1 or 2.
        epochs: the total number of epochs (shown as ``epoch 3/10``).
        stream: where to write; standard error by default, where a Jupyter notebook also gets the
            bar (``tqdm.auto``).

    Raises:
        ValueError: ``verbose`` is not 0, 1 or 2.
    """
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    if verbose == 0:
        return Progress()
    # A notebook's standard error is no terminal, yet it shows a bar: a widget or a text line.
    bar_wanted = _is_terminal(stream) if stream is not None else (
        _is_terminal(sys.stderr) or _in_notebook())
    stream = sys.stderr if stream is None else stream
    if verbose == 1 and bar_wanted:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # tqdm is a dependency, but a trimmed environment may lack it
            return _Lines(epochs, stream)
        return _Bar(epochs, stream, tqdm)
    return _Lines(epochs, stream)


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython already imported, an ``IPKernelApp``)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:  # noqa: BLE001 - a stripped or odd IPython: no notebook then
        return False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
