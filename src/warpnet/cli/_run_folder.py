"""The run folder ``warpnet train --out DIR`` fills: checked for writability before any work, and
written file by file atomically so an interrupted run never leaves a broken file behind."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..io.atomic import atomic_write

CONFIG = "config.json"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
MODEL = "model.safetensors"
CURVE = "training-curve.png"
CHECKPOINTS = "checkpoints"


def prepare(folder: Path) -> None:
    """Create ``folder`` (and parents) and prove a file can be written there.

    Raises:
        DataError: the path is a file, or the folder cannot be created or written to.
    """
    if folder.exists() and not folder.is_dir():
        raise DataError(f"output folder {str(folder)!r} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CHECKPOINTS).mkdir(exist_ok=True)
        # Write and remove a probe file: permission bits alone miss read-only mounts and ACLs.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as exc:
        raise DataError(f"cannot write to output folder {str(folder)!r}: "
                        f"{exc.strerror or exc}") from None


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented JSON, atomically."""
    atomic_write(path, (json.dumps(value, indent=2) + "\n").encode("utf-8"))


def read_config(folder: Path) -> dict[str, Any]:
    """The ``config.json`` of an earlier run in ``folder``.

    Raises:
        DataError: missing or unreadable.
    """
    path = folder / CONFIG
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"nothing to resume: {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {str(path)!r}: {exc}") from None
    if not isinstance(value, dict):
        raise DataError(f"{str(path)!r} does not hold a run configuration")
    return value

