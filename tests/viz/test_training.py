import json

import numpy as np
import pytest

from warpnet.errors import DataError
from warpnet.train import History
from warpnet.viz.training import HISTORY_FILE, digits_history, load_history, plot_history


def _history(epochs=5):
    rng = np.random.default_rng(0)
    return History([{"epoch": e, "loss": float(2.0 / e), "train_accuracy": float(0.5 + e / 20),
                     "val_loss": float(2.2 / e), "val_accuracy": float(rng.uniform(0.4, 0.9)),
                     "lr": 0.1, "seconds": 0.01} for e in range(1, epochs + 1)])


def test_lines_are_the_history(assert_not_blank, artists):
    hist = _history()
    fig = plot_history(hist)
    assert_not_blank(fig)
    for key in ("loss", "val_loss", "train_accuracy", "val_accuracy"):
        (line,) = artists(fig, key)
        np.testing.assert_array_equal(line.get_xdata(), hist.epoch)
        np.testing.assert_array_equal(line.get_ydata(), getattr(hist, key))


def test_missing_values_are_left_out(artists):
    records = _history(3).records
    for r in records:
        r["val_loss"] = r["val_accuracy"] = None
    records[1]["loss"] = float("nan")
    fig = plot_history(History(records))
    assert artists(fig, "val_loss") == [] and artists(fig, "val_accuracy") == []
    (line,) = artists(fig, "loss")
    np.testing.assert_array_equal(line.get_xdata(), [1, 3])


def test_run_folder_and_file(tmp_path, artists):
    hist = _history()
    hist.save_json(tmp_path / HISTORY_FILE)
    for source in (tmp_path, tmp_path / HISTORY_FILE, str(tmp_path), hist.to_dict()):
        assert load_history(source).records == hist.records
    fig = plot_history(tmp_path)
    np.testing.assert_array_equal(artists(fig, "loss")[0].get_ydata(), hist.loss)


def test_bad_sources(tmp_path):
    with pytest.raises(DataError, match="holds no history.json"):
        plot_history(tmp_path)
    (tmp_path / HISTORY_FILE).write_text(json.dumps({"nope": 1}))
    with pytest.raises(DataError, match="not a warpnet history"):
        plot_history(tmp_path)
    with pytest.raises(DataError, match="no epochs"):
        plot_history(History())
    with pytest.raises(TypeError, match="History"):
        plot_history(42)


def test_digits_history_is_a_real_run():
    hist = digits_history(epochs=3, seed=0)
    assert hist.epoch == [1, 2, 3]
    assert hist.loss[-1] < hist.loss[0]
    assert hist.val_accuracy[-1] > 0.8
