"""Atomic file writes: a reader sees the old file or the complete new one, never a torn one.

The recipe: write to a temporary file in the *same* folder (so the final rename stays on one file
system), flush and fsync it, ``os.replace`` it over the target (atomic on POSIX and Windows), then
fsync the folder so the rename itself survives a power cut. A writer killed at any point leaves at
most a stray ``.<name>.*.tmp`` file behind, never a half-written target.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "atomic_writer"]

# Read once at import (single-threaded); os.umask can only be read by setting it, which would race
# with other threads if done on every write.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _fsync_dir(folder: Path) -> None:
    """Persist a rename in ``folder``; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        # Some file systems refuse fsync on folders; the rename has still happened.
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a binary file that replaces ``path`` only when the ``with`` block ends without error.

    Use it to stream large content (a download) without holding it in memory::

        with atomic_writer("model.bin") as f:
            f.write(chunk)

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist.
        IsADirectoryError: ``path`` is an existing folder.
        OSError: writing, syncing or renaming failed; the temporary file is removed and an
            existing ``path`` is left untouched.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {str(target)!r}: it is a folder")
    if not folder.is_dir():
        raise FileNotFoundError(
            f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist"
        )
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:  # name the file asked for, not the temporary one beside it
        raise type(exc)(exc.errno, exc.strerror, str(target)) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600 files; keep the mode of the file we replace, else the one a
        # plain open() would give.
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_UMASK
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        # BaseException too: a KeyboardInterrupt mid-write must not leave the temp file behind.
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)


def atomic_write(path: str | os.PathLike[str], data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, ``os.replace``, fsync folder).

    Args:
        path: the file to create or replace; its folder must exist.
        data: the complete new content (``bytes``, ``bytearray`` or ``memoryview``).

    Raises:
        TypeError: ``data`` is not bytes-like.
        FileNotFoundError / IsADirectoryError / OSError: as for :func:`atomic_writer`.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
    with atomic_writer(path) as f:
        f.write(data)
