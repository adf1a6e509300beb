"""``examples/autograd_two_layer.py``: the autograd gradients equal the explicit engine's at every
step, and the net learns."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "autograd_two_layer.py"


def test_autograd_training_matches_the_explicit_backward_at_every_step():
    spec = importlib.util.spec_from_file_location("autograd_two_layer", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    lines = []
    history = example.train(steps=20, log=lines.append)
    assert len(history) == len(lines) == 20
    assert all(diff < 1e-12 for _, diff in history)
    assert history[-1][0] < 0.5 * history[0][0]
