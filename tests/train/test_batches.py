"""Minibatch gathering: the right rows, in order, with or without the prefetch thread."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet.train import Trainer
from warpnet.train.batches import Batches


def data(n=23, d=5):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, 4, n),
            rng.random(n).astype(np.float32), rng.permutation(n))


@pytest.mark.parametrize("prefetch", [False, True])
@pytest.mark.parametrize("with_weights", [False, True])
def test_batches_hold_the_rows_of_the_order(prefetch, with_weights):
    X, y, w, order = data()
    w = w if with_weights else None
    with Batches(X, y, w, order, 5, prefetch=prefetch, min_prefetch_bytes=0) as batches:
        assert batches.n_batches == 5
        for b in range(batches.n_batches):
            xb, yb, wb = batches.get(b)
            rows = order[b * 5:(b + 1) * 5]
            assert np.array_equal(xb, X[rows]) and np.array_equal(yb, y[rows])
            assert (wb is None) if w is None else np.array_equal(wb, w[rows])
    assert xb.shape == (3, 5)  # the last batch holds the remainder


def test_starting_mid_epoch_and_closing_twice():
    X, y, _, order = data()
    batches = Batches(X, y, None, order, 4, prefetch=True, min_prefetch_bytes=0)
    assert batches._pool is not None
    xb, _, _ = batches.get(3)  # a resumed epoch starts at its next batch
    assert np.array_equal(xb, X[order[12:16]])
    xb, _, _ = batches.get(5)  # skipping ahead discards the prefetched batch
    assert np.array_equal(xb, X[order[20:24]])
    batches.close()
    batches.close()


def test_small_batches_are_gathered_without_a_thread():
    X, y, _, order = data()
    with Batches(X, y, None, order, 5, prefetch=True) as batches:
        assert batches._pool is None
        assert np.array_equal(batches.get(1)[0], X[order[5:10]])


def test_torch_batches_match():
    torch = pytest.importorskip("torch")
    X, y, _, order = data()
    with Batches(torch.asarray(X), torch.asarray(y), None, order, 5, prefetch=True) as batches:
        xb, yb, _ = batches.get(2)
    assert np.array_equal(xb.numpy(), X[order[10:15]]) and np.array_equal(yb.numpy(), y[order[10:15]])


def test_prefetch_changes_nothing_in_training(blobs, small_mlp, monkeypatch):
    X, y, _, _ = blobs
    monkeypatch.setattr("warpnet.train.batches.PREFETCH_MIN_BYTES", 0)
    runs = []
    for prefetch in (False, True):
        trainer = Trainer(small_mlp(dropout=0.2), batch_size=32, epochs=3, verbose=0)
        trainer._prefetch = prefetch
        trainer.fit(X, y)
        runs.append([p.value for p in trainer.model.parameters()])
    assert all(np.array_equal(a, b) for a, b in zip(*runs, strict=True))
