"""Progress reporters: silent, plain lines, and a tqdm bar on a terminal."""

from __future__ import annotations

import io

import pytest

from warpnet.progress import format_record, make_progress

RECORD = {"epoch": 2, "loss": 0.5, "train_accuracy": 0.75, "val_loss": None, "val_accuracy": None,
          "lr": 0.01, "seconds": 1.5, "samples_per_second": 1000.0}


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(progress):
    progress.start_epoch(2, 100)
    progress.update(50, 0.6, 0.7)
    progress.update(50)
    progress.end_epoch(RECORD)
    progress.close()


def test_silent():
    stream = Terminal()
    run(make_progress(0, 5, stream))
    assert stream.getvalue() == ""


def test_plain_line_off_a_terminal():
    stream = io.StringIO()
    run(make_progress(1, 5, stream))
    assert stream.getvalue() == "epoch 2/5  loss 0.5000  acc 0.7500  lr 0.01  1.50s  1000 samples/s\n"


def test_verbose_2_prints_lines_even_on_a_terminal():
    stream = Terminal()
    run(make_progress(2, 5, stream))
    assert stream.getvalue().startswith("epoch 2/5  loss 0.5000")


def test_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    stream = Terminal()
    run(make_progress(1, 5, stream))
    text = stream.getvalue()
    assert "epoch 2/5" in text and "100/100" in text and "loss=0.5000" in text


def test_format_record_with_validation():
    line = format_record({**RECORD, "val_loss": 0.25, "val_accuracy": 0.9}, 5)
    assert "val_loss 0.2500" in line and "val_acc 0.9000" in line


@pytest.mark.parametrize("verbose", [-1, 3, True, "1"])
def test_bad_verbose(verbose):
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2"):
        make_progress(verbose, 5)
