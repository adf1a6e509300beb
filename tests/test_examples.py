"""The examples a newcomer runs first keep working."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_twenty_lines_numpy_and_warpnet_give_the_same_losses():
    example = load("twenty_lines")
    plain, ours = example.numpy_losses(200, seed=3), example.warpnet_losses(200, seed=3)
    assert len(plain) == len(ours) == 200
    assert plain[-1] < plain[0]  # it learns
    for a, b in zip(plain, ours, strict=True):
        assert abs(a - b) <= 1e-6 * abs(a)


@pytest.mark.slow  # a cluster of worker processes takes seconds to start
def test_dask_sweep_runs_on_a_local_cluster():
    pytest.importorskip("distributed")
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    search = load("dask_sweep").sweep(X[:150] / 16.0, y[:150], hidden=[(8,)], alphas=[1e-4, 1.0],
                                      max_iter=3, workers=1)
    assert len(search.cv_results_["params"]) == 2 and 0 <= search.best_score_ <= 1
