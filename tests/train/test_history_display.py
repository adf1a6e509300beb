"""History's summary in a console (repr) and in a notebook (_repr_html_)."""

from __future__ import annotations

from warpnet.train import History


def record(epoch: int, **change) -> dict:
    base = {"epoch": epoch, "loss": 1.0 / epoch, "train_accuracy": 0.5 + epoch / 100,
            "val_loss": 0.3, "val_accuracy": 0.9 + (epoch % 7) / 100, "lr": 0.05, "seconds": 0.25}
    return {**base, **change}


def test_repr_is_a_table_with_the_best_epoch():
    history = History([record(e) for e in range(1, 4)])
    lines = repr(history).splitlines()
    assert lines[0] == "History(3 epochs, best val_accuracy 0.9300 at epoch 3)"
    assert lines[1].split() == ["epoch", "loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
                                "seconds"]
    assert lines[2].split() == ["1", "1.0000", "0.5100", "0.3000", "0.9100", "0.05", "0.25"]
    assert len(lines) == 5


def test_long_histories_show_head_and_tail():
    history = History([record(e) for e in range(1, 31)])
    lines = repr(history).splitlines()
    epochs = [line.split()[0] for line in lines[2:]]
    assert epochs == ["1", "2", "3", "4", "5", "...", "26", "27", "28", "29", "30"]
    # ties keep the first epoch that reached the best value (epochs 6, 13, 20, 27 reach 0.96)
    assert lines[0] == "History(30 epochs, best val_accuracy 0.9600 at epoch 6)"


def test_columns_never_filled_are_left_out_and_missing_values_shown_as_dash():
    history = History([record(1, val_loss=None, val_accuracy=None),
                       record(2, val_loss=0.4, val_accuracy=None)])
    lines = repr(history).splitlines()
    assert lines[0] == "History(2 epochs)"
    assert "val_accuracy" not in lines[1] and "val_loss" in lines[1]
    assert lines[2].split()[3] == "-"


def test_empty_and_single():
    assert repr(History()) == "History(0 epochs)"
    assert repr(History([record(1)])).startswith("History(1 epoch,")


def test_html_table():
    history = History([record(e) for e in range(1, 51)])
    text = history._repr_html_()
    assert text.count("<tr>") == 1 + 20 + 20 + 1  # header, head, tail, the "..." row
    assert "<th>val_accuracy</th>" in text and "<td>0.9100</td>" in text
    assert "History(50 epochs" in text
    assert History()._repr_html_() == "<div><p><b>History(0 epochs)</b></p></div>"
