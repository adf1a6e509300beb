"""In a Jupyter kernel the progress bar is drawn by tqdm.auto, though stderr is no terminal."""

from __future__ import annotations

import io
import sys
import types

import pytest

from warpnet import progress


def fake_ipython(config: dict) -> types.ModuleType:
    module = types.ModuleType("IPython")
    shell = types.SimpleNamespace(config=config)
    module.get_ipython = lambda: shell
    return module


def test_notebook_gets_the_auto_bar(monkeypatch):
    tqdm_auto = pytest.importorskip("tqdm.auto")
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython({"IPKernelApp": {}}))
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a kernel's stderr is no terminal
    reporter = progress.make_progress(1, 3)
    assert isinstance(reporter, progress._Bar)
    assert reporter._tqdm is tqdm_auto.tqdm
    reporter.start_epoch(1, 10)
    reporter.update(10, 0.5)
    reporter.end_epoch({"loss": 0.5, "train_accuracy": 0.9, "val_loss": None, "val_accuracy": None})
    assert "epoch 1/3" in sys.stderr.getvalue()


@pytest.mark.parametrize("module", [None, fake_ipython({}), types.ModuleType("IPython")])
def test_console_ipython_or_none_prints_lines(monkeypatch, module):
    if module is None:
        monkeypatch.delitem(sys.modules, "IPython", raising=False)
    else:
        monkeypatch.setitem(sys.modules, "IPython", module)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert type(progress.make_progress(1, 3)) is progress._Lines


def test_an_explicit_stream_is_respected_in_a_notebook(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython({"IPKernelApp": {}}))
    assert type(progress.make_progress(1, 3, io.StringIO())) is progress._Lines
