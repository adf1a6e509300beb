"""History: columns, JSON and CSV files, bad files."""

from __future__ import annotations

import csv
import json
import math

import pytest

from warpnet.errors import DataError
from warpnet.train import RECORD_KEYS, History


def record(epoch: int, **change) -> dict:
    base = {"epoch": epoch, "loss": 1.0 / epoch, "train_accuracy": 0.5 + epoch / 10,
            "val_loss": None, "val_accuracy": None, "lr": 0.1, "seconds": 0.25}
    return {**base, **change}


def test_columns_by_attribute():
    history = History([record(1), record(2)])
    assert history.epoch == [1, 2] and history.loss == [1.0, 0.5] and history.val_loss == [None, None]
    assert len(history) == 2
    with pytest.raises(AttributeError, match="columns are"):
        history.accuracy  # noqa: B018


def test_json_round_trip(tmp_path):
    history = History([record(1), record(2, val_loss=0.7, val_accuracy=0.8)])
    history.save_json(tmp_path / "h.json")
    again = History.load_json(tmp_path / "h.json")
    assert again.records == history.records
    data = json.loads((tmp_path / "h.json").read_text())
    assert data["format"] == "warpnet-history" and data["version"] == 1
    assert list(data["records"][0]) == list(RECORD_KEYS)


def test_non_finite_values_become_null(tmp_path):
    History([record(1, loss=math.inf)]).save_json(tmp_path / "h.json")
    assert History.load_json(tmp_path / "h.json").loss == [None]


def test_csv_has_a_header_and_one_row_per_epoch(tmp_path):
    History([record(1), record(2, val_loss=0.7)]).save_csv(tmp_path / "h.csv")
    with open(tmp_path / "h.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(RECORD_KEYS)
    assert [float(r["loss"]) for r in rows] == [1.0, 0.5]
    assert rows[0]["val_loss"] == "" and float(rows[1]["val_loss"]) == 0.7


@pytest.mark.parametrize(("content", "match"), [
    ("not json", "cannot read history file"),
    ('{"format": "other"}', "not a warpnet history"),
    ('{"format": "warpnet-history", "version": 7, "records": []}', "version 7 is not supported"),
    ('{"format": "warpnet-history", "version": 1, "records": [{"epoch": 1}]}', "bad history record"),
])
def test_bad_history_files(tmp_path, content, match):
    (tmp_path / "h.json").write_text(content)
    with pytest.raises(DataError, match=match):
        History.load_json(tmp_path / "h.json")


def test_missing_history_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        History.load_json(tmp_path / "none.json")


def test_records_need_every_key():
    with pytest.raises(ValueError, match="a history record needs the keys"):
        History().append({"epoch": 1, "loss": 0.5})
