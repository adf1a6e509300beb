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
import html
import io
import json
import math
import os
from typing import Any

from ..errors import DataError
from ..io.atomic import atomic_write

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
        """A table of the epochs (the first and last few when there are many), e.g.::

            History(30 epochs, best val_accuracy 0.9833 at epoch 27)
            epoch    loss  train_accuracy  val_loss  val_accuracy     lr  seconds
                1  0.9123          0.7410    0.3012        0.9222   0.05     0.09
            ...
        """
        rows = _shown_rows(len(self.records))
        columns = [key for key in RECORD_KEYS if any(r[key] is not None for r in self.records)]
        cells = [[_format_cell(key, self.records[i][key]) if i is not None else "..."
                  for key in columns] for i in rows]
        widths = [max([len(key)] + [len(row[j]) for row in cells]) for j, key in enumerate(columns)]
        lines = [self._title()]
        if self.records:
            lines.append("  ".join(key.rjust(w) for key, w in zip(columns, widths, strict=True)))
            lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The same table as HTML, for Jupyter (every epoch when 40 or fewer)."""
        rows = _shown_rows(len(self.records), head=20, tail=20)
        columns = [key for key in RECORD_KEYS if any(r[key] is not None for r in self.records)]
        header = "".join(f"<th>{key}</th>" for key in columns)
        body = []
        for i in rows:
            if i is None:
                body.append(f"<tr><td colspan='{len(columns)}'>...</td></tr>")
            else:
                body.append("<tr>" + "".join(
                    f"<td>{_format_cell(key, self.records[i][key])}</td>" for key in columns) + "</tr>")
        table = (f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
                 if self.records else "")
        return f"<div><p><b>{html.escape(self._title())}</b></p>{table}</div>"

    def _title(self) -> str:
        title = f"History({len(self.records)} epoch{'' if len(self.records) == 1 else 's'}"
        scored = [(r["val_accuracy"], r["epoch"]) for r in self.records
                  if isinstance(r["val_accuracy"], int | float) and math.isfinite(r["val_accuracy"])]
        if scored:
            best, epoch = max(scored, key=lambda pair: (pair[0], -pair[1]))
            title += f", best val_accuracy {best:.4f} at epoch {epoch}"
        return title + ")"

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


def _shown_rows(n: int, head: int = 5, tail: int = 5) -> list[int | None]:
    """Row indices to show of ``n``: all of them, or the first and last few with None between."""
    if n <= head + tail + 2:
        return list(range(n))
    return [*range(head), None, *range(n - tail, n)]


def _format_cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "epoch":
        return str(value)
    if key in ("lr", "seconds"):
        return f"{value:.3g}"
    return f"{value:.4f}"


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
