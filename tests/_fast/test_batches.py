"""Minibatch gathering: the right rows, in order, however they are gathered (one batch at a time,
several at once over threads, or one ahead on a thread)."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet._fast import batches as batches_module
from warpnet._fast import blas
from warpnet._fast.batches import Batches
from warpnet.train import Trainer

MODES = {"plain": {}, "parallel": {"parallel": True}, "prefetch": {"prefetch": True}}


def data(n=23, d=5):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, 4, n),
            rng.random(n).astype(np.float32), rng.permutation(n))


@pytest.fixture
def lent_threads(monkeypatch):
    """BLAS with 3 threads that lends them all to every loop, and chunks of 15 rows of ``data``
    (2 batches of 5 rows with weights, 3 without)."""
    monkeypatch.setattr(blas, "num_threads", lambda: 3)
    monkeypatch.setattr(batches_module._threads, "usable_cores", lambda: 3)
    lent = []
    monkeypatch.setattr(blas, "loop_threads", lambda wanted: lent.append(min(wanted, 3))
                        or min(wanted, 3))
    monkeypatch.setattr(batches_module, "CHUNK_BYTES", 15 * (5 * 4 + 8))
    return lent


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("with_weights", [False, True])
def test_batches_hold_the_rows_of_the_order(mode, with_weights, lent_threads):
    X, y, w, order = data()
    w = w if with_weights else None
    with Batches(X, y, w, order, 5, min_threaded_bytes=0, **MODES[mode]) as batches:
        assert batches.n_batches == 5
        for b in range(batches.n_batches):
            xb, yb, wb = batches.get(b)
            rows = order[b * 5:(b + 1) * 5]
            assert np.array_equal(xb, X[rows]) and np.array_equal(yb, y[rows])
            assert (wb is None) if w is None else np.array_equal(wb, w[rows])
    assert xb.shape == (3, 5)  # the last batch holds the remainder
    if mode == "parallel":  # chunks of 2 or 3 batches, each gathered over 3 threads
        assert lent_threads == ([3, 3, 3] if with_weights else [3, 3])


def test_parallel_gathering_splits_the_rows_over_the_threads(lent_threads, monkeypatch):
    X, y, _, order = data()
    parts = []
    real_run = batches_module._threads.run
    monkeypatch.setattr(batches_module._threads, "run",
                        lambda fn, ps: parts.append(ps) or real_run(fn, ps))
    with Batches(X, y, None, order, 5, parallel=True, min_threaded_bytes=0) as batches:
        batches.get(0)
        batches.get(1)  # already there
    assert parts == [[slice(0, 5), slice(5, 10), slice(10, 15)]]
    parts.clear()
    with Batches(X, y, None, order, 16, parallel=True, min_threaded_bytes=0) as batches:
        for b in range(2):  # a batch larger than a chunk: each one split on its own
            assert np.array_equal(batches.get(b)[0], X[order[b * 16:(b + 1) * 16]])
    assert parts == [[slice(0, 5), slice(5, 10), slice(10, 16)], [slice(0, 2), slice(2, 4),
                                                                   slice(4, 7)]]


def test_parallel_gathering_takes_one_batch_where_no_threads_are_lent(lent_threads, monkeypatch):
    monkeypatch.setattr(blas, "loop_threads", lambda wanted: 1)
    X, y, _, order = data()
    with Batches(X, y, None, order, 5, parallel=True, min_threaded_bytes=0) as batches:
        for b in range(batches.n_batches):
            assert np.array_equal(batches.get(b)[0], X[order[b * 5:(b + 1) * 5]])
            assert batches._chunk == (b, b + 1)


@pytest.mark.parametrize("mode", ["parallel", "prefetch"])
def test_starting_mid_epoch_and_closing_twice(mode, lent_threads):
    X, y, _, order = data()
    batches = Batches(X, y, None, order, 4, min_threaded_bytes=0, **MODES[mode])
    xb, _, _ = batches.get(3)  # a resumed epoch starts at its next batch
    assert np.array_equal(xb, X[order[12:16]])
    xb, _, _ = batches.get(5)  # skipping ahead
    assert np.array_equal(xb, X[order[20:24]])
    batches.close()
    batches.close()


def test_small_batches_are_gathered_without_threads(lent_threads):
    X, y, _, order = data()
    with Batches(X, y, None, order, 5, prefetch=True) as batches:
        assert batches._pool is None
        assert np.array_equal(batches.get(1)[0], X[order[5:10]])
    with Batches(X, y, None, order, 5, parallel=True) as batches:
        assert batches.get(1)[0].base.shape == (5, 5)  # one batch's buffer
    assert lent_threads == []


def test_parallel_and_prefetch_exclude_each_other():
    X, y, _, order = data()
    with pytest.raises(ValueError, match="parallel or prefetch"):
        Batches(X, y, None, order, 5, parallel=True, prefetch=True)


def test_torch_batches_match():
    torch = pytest.importorskip("torch")
    X, y, _, order = data()
    for mode in MODES.values():
        with Batches(torch.asarray(X), torch.asarray(y), None, order, 5, **mode) as batches:
            xb, yb, _ = batches.get(2)
        assert np.array_equal(xb.numpy(), X[order[10:15]])
        assert np.array_equal(yb.numpy(), y[order[10:15]])


def test_how_batches_are_gathered_changes_nothing_in_training(blobs, small_mlp, monkeypatch):
    X, y, _, _ = blobs
    monkeypatch.setattr(batches_module, "THREADED_MIN_BYTES", 0)
    monkeypatch.setattr(batches_module, "CHUNK_BYTES", 3 * 32 * (X[:1].nbytes + 8))
    monkeypatch.setattr(blas, "num_threads", lambda: 2)
    monkeypatch.setattr(blas, "loop_threads", lambda wanted: 2)
    runs = []
    for prefetch in (False, True):  # the Trainer gathers in parallel where it does not prefetch
        trainer = Trainer(small_mlp(dropout=0.2), batch_size=32, epochs=3, verbose=0)
        trainer._prefetch = prefetch
        trainer.fit(X, y)
        runs.append([p.value for p in trainer.model.parameters()])
    assert all(np.array_equal(a, b) for a, b in zip(*runs, strict=True))


@pytest.mark.parametrize("mode", MODES)
def test_epochs_share_buffers_through_a_pool(mode, lent_threads):
    X, y, w, order = data()
    pool = {}
    seen = []
    for epoch in range(2):
        with Batches(X, y, w, order[::-1] if epoch else order, 5, min_threaded_bytes=0,
                     buffers=pool, **MODES[mode]) as batches:
            xb, yb, wb = batches.get(1)
            rows = (order[::-1] if epoch else order)[5:10]
            assert np.array_equal(xb, X[rows]) and np.array_equal(wb, w[rows])
            seen.append({id(a) for a in pool.values()})
    assert seen[0] == seen[1] and len(seen[0]) == (6 if mode == "prefetch" else 3)


def test_the_trainer_keeps_batch_buffers_over_its_epochs_and_then_lets_them_go(blobs, small_mlp):
    X, y, _, _ = blobs
    seen = []

    class Watch:
        def on_epoch_end(self, trainer, record):
            seen.append({id(a) for a in trainer._batch_buffers.values()})

    trainer = Trainer(small_mlp(), batch_size=32, epochs=3, verbose=0, callbacks=[Watch()])
    trainer.fit(X, y)
    assert seen[0] and seen[0] == seen[1] == seen[2]
    assert trainer._batch_buffers == {}
