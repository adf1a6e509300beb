"""``History``: one record per epoch, saved as JSON or CSV.

Each record holds ``epoch`` (1-based), ``loss`` (training objective: mean data loss over the
epoch's minibatches plus the weight penalty), ``train_accuracy`` (from the minibatch scores seen
during the epoch, so no extra pass), ``val_loss`` (mean data loss on the validation set, no
penalty), ``val_accuracy``, ``lr`` (the learning rate used in the epoch) and ``seconds``
(wall-clock time of the epoch including validation).  Values that do not apply (accuracy of a
regression, validation without a validation set) are ``None``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any

from ..errors import DataError
from ..io_atomic import atomic_write

__all__ = ["History", "RECORD_KEYS"]

RECORD_KEYS = ("epoch", "loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds")
_FORMAT = "warpnet-history"
_VERSION = 1


class History:
    """Per-epoch records of a training run.

    ``history.records`` is the list of dicts; ``history.loss`` (or any other key) is that column
    as a list, e.g. ``history.val_accuracy -> [0.91, 0.93, None, ...]``.
    """

    def __init__(self, records: list[dict[str, Any]] | None = None) -> None:
        self.records: list[dict[str, Any]] = []
        for record in records or []:
            self.append(record)

    def append(self, record: dict[str, Any]) -> None:
        """Add one epoch's record (must hold exactly the keys in ``RECORD_KEYS``)."""
        if not isinstance(record, dict) or set(record) != set(RECORD_KEYS):
            got = sorted(record) if isinstance(record, dict) else type(record).__name__
            raise ValueError(f"a history record needs the keys {list(RECORD_KEYS)}, got {got}")
        self.records.append({key: record[key] for key in RECORD_KEYS})

    def __getattr__(self, name: str) -> list[Any]:
        if name in RECORD_KEYS:
            return [record[name] for record in self.records]
        raise AttributeError(f"History has no attribute {name!r}; columns are {list(RECORD_KEYS)}")

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"History({len(self.records)} epochs)"

    # -- files ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"format": "warpnet-history", "version": 1, "records": [...]}`` (the JSON file)."""
        return {"format": _FORMAT, "version": _VERSION, "records": [dict(r) for r in self.records]}

    @classmethod
    def from_dict(cls, data: Any) -> History:
        """Inverse of ``to_dict``; raises ``DataError`` for anything else."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise DataError("not a warpnet history (expected a JSON object with "
                            f"\"format\": \"{_FORMAT}\")")
        if data.get("version") != _VERSION:
            raise DataError(f"history version {data.get('version')!r} is not supported "
                            f"(this warpnet reads version {_VERSION})")
        records = data.get("records")
        if not isinstance(records, list):
            raise DataError("history has no list of 'records'")
        try:
            return cls(records)
        except ValueError as err:
            raise DataError(f"bad history record: {err}") from None

    def save_json(self, path: str | os.PathLike[str]) -> None:
        """Write ``to_dict()`` as JSON, atomically (non-finite numbers are written as null)."""
        data = self.to_dict()
        data["records"] = [{k: _finite_or_none(v) for k, v in r.items()} for r in data["records"]]
        atomic_write(path, (json.dumps(data, indent=1, allow_nan=False) + "\n").encode())

    @classmethod
    def load_json(cls, path: str | os.PathLike[str]) -> History:
        """Read a file written by ``save_json``.

        Raises:
            DataError: the file is missing, not JSON, or not a warpnet history.
        """
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise DataError(f"history file {str(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise DataError(f"cannot read history file {str(path)!r}: {err}") from None
        return cls.from_dict(data)

    def save_csv(self, path: str | os.PathLike[str]) -> None:
        """Write one row per epoch with a header of ``RECORD_KEYS``, atomically (None -> empty)."""
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=RECORD_KEYS, lineterminator="\n")
        writer.writeheader()
        for record in self.records:
            writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
        atomic_write(path, text.getvalue().encode())


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
