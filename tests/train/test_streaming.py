"""Training from a source that is not in memory: block shuffle, bounded reads, exact resume."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from warpnet import nn, optim
from warpnet.train import Trainer, TrainingInterrupted
from warpnet.train.streaming import ChunkedRows, is_out_of_core

KEYS_BUT_TIME = ("epoch", "loss", "train_accuracy", "val_loss", "val_accuracy", "lr")


class Counting:
    """An array-like over a NumPy array that records the rows of every read (a store stand-in)."""

    def __init__(self, a: np.ndarray, chunks: int | None = None) -> None:
        self.a, self.shape, self.dtype = a, a.shape, a.dtype
        if chunks is not None:
            self.chunks = (chunks, a.shape[1])
        self.reads: list[tuple[int, int]] = []

    def __getitem__(self, key):
        assert isinstance(key, slice), f"a read asked for {key!r}, not a row slice"
        start, stop, _ = key.indices(len(self.a))
        self.reads.append((start, stop))
        return self.a[key].copy()

    def largest_read_bytes(self) -> int:
        return max(b - a for a, b in self.reads) * self.a.shape[1] * self.a.itemsize


def tagged(n=1000, d=6, seed=0):
    """Rows whose first value is their own index, so a minibatch tells which rows it holds."""
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    x[:, 0] = np.arange(n)
    return x


def epoch_rows(rows: ChunkedRows, seed: int, batch_size: int) -> list[np.ndarray]:
    plan = rows.plan_epoch(np.random.default_rng(seed))
    y = np.zeros(len(rows), dtype=np.int64)
    out = []
    with rows.minibatches(plan, y, None, plan.order, batch_size) as batches:
        for b in range(-(-len(rows) // batch_size)):
            xb, yb, wb = batches.get(b)
            assert wb is None and len(yb) == len(xb)
            out.append(xb[:, 0].astype(np.int64).copy())
    return out


@pytest.mark.parametrize("chunks", [40, 37, None])
@pytest.mark.parametrize("batch_size", [32, 300])  # 300: a batch spans several blocks
def test_every_row_once_per_epoch_and_no_read_larger_than_the_block(chunks, batch_size):
    x = tagged()
    store = Counting(x, chunks)
    block_bytes = 100 * 6 * 4  # 100 rows: the store holds 10 blocks
    rows = ChunkedRows(store, block_bytes=block_bytes)
    batches = epoch_rows(rows, 0, batch_size)
    seen = np.concatenate(batches)
    np.testing.assert_array_equal(np.sort(seen), np.arange(len(x)))
    assert [len(b) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)
    assert store.largest_read_bytes() <= block_bytes
    assert sum(b - a for a, b in store.reads) == len(x)  # each row read once in the epoch
    # a minibatch inside one block comes from at most one block's units: k chunks, not the set
    if chunks == 40 and batch_size == 32:
        assert rows.units_per_block == 2
        spans = [len(np.unique(b // 40)) for b in batches]
        assert max(spans) <= 4  # two blocks at a boundary, two units each


def test_a_split_reads_only_units_holding_its_rows_and_sees_each_once():
    x = tagged(600)
    store = Counting(x, 50)
    keep = np.flatnonzero(np.arange(600) % 7 != 3)
    keep = keep[(keep < 100) | (keep >= 200)]  # rows 100-199: a chunk range that is never read
    rows = ChunkedRows(store, block_bytes=120 * 6 * 4).take(keep[::-1])
    assert len(rows) == len(keep)
    seen = np.concatenate(epoch_rows(rows, 3, 64))
    np.testing.assert_array_equal(np.sort(seen), keep)
    assert not any(a < 200 and b > 100 for a, b in store.reads)


def test_same_seed_same_batches_other_seed_other_order():
    rows = ChunkedRows(Counting(tagged(), 40), block_bytes=100 * 6 * 4)
    a, b = epoch_rows(rows, 7, 50), epoch_rows(rows, 7, 50)
    c = epoch_rows(rows, 8, 50)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(np.concatenate(a), np.concatenate(c))


def test_slices_read_unit_by_unit_and_match_the_array():
    x = tagged(500)
    store = Counting(x, 30)
    rows = ChunkedRows(store, block_bytes=64 * 6 * 4)
    got = np.concatenate([rows[s:s + 45] for s in range(0, 500, 45)])
    np.testing.assert_array_equal(got, x)
    assert len(store.reads) == -(-500 // 30)  # consecutive slices read each unit once
    np.testing.assert_array_equal(rows[10:12], x[10:12])


def test_mean_std_in_one_pass_matches_numpy():
    x = (np.random.default_rng(2).standard_normal((777, 5)) * [1, 1e3, 1e-3, 5, 0] + 1e4)
    store = Counting(x, 64)
    rows = ChunkedRows(store, np.arange(3, 700), block_bytes=100 * 5 * 8)
    mean, std = rows.mean_std()
    np.testing.assert_allclose(mean, x[3:700].mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(std, x[3:700].std(axis=0), rtol=1e-9, atol=1e-12)
    assert sum(b - a for a, b in store.reads) <= 777  # one pass
    assert store.largest_read_bytes() <= 100 * 5 * 8


def make_trainer(epochs, folder=None, **extra):
    model = nn.mlp([12, 16, 3], rng=3, dropout=0.1)
    opt = optim.Adam(model.parameters(), lr=0.01)
    return Trainer(model, "softmax", opt, reg=1e-3, batch_size=32, epochs=epochs, seed=5,
                   checkpoint_dir=folder, verbose=0, **extra)


def same_run(a: Trainer, b: Trainer) -> bool:
    return all(np.array_equal(p.value, q.value)
               for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True)) and \
        [[r[k] for k in KEYS_BUT_TIME] for r in a.history.records] == \
        [[r[k] for k in KEYS_BUT_TIME] for r in b.history.records]


def test_trainer_reads_blocks_of_the_budget_and_evaluates_like_memory(blobs):
    X, y, Xv, yv = blobs
    budget = 50 * 12 * 4  # 50 of 240 rows
    store, val_store = Counting(X, 20), Counting(Xv, 20)
    trainer = make_trainer(3)
    trainer.fit(ChunkedRows(store, block_bytes=budget), y,
                validation=(ChunkedRows(val_store, block_bytes=budget), yv))
    assert store.largest_read_bytes() <= budget and val_store.largest_read_bytes() <= budget
    # each epoch reads every training row once (the counting wrapper sees whole chunks)
    assert sum(b - a for a, b in store.reads) == 3 * len(X)
    assert sum(b - a for a, b in val_store.reads) == 3 * len(Xv)
    # the validation numbers are the in-memory evaluation of the same weights
    memory = trainer.evaluate(Xv, yv)
    record = trainer.history.records[-1]
    assert record["val_loss"] == pytest.approx(memory["loss"], rel=1e-6)
    assert record["val_accuracy"] == memory["accuracy"]
    np.testing.assert_array_equal(trainer.predict_scores(Counting(Xv, 7)), trainer.predict_scores(Xv))
    # reproducible: the same seed gives the same run
    again = make_trainer(3)
    again.fit(Counting(X, 20), y, validation=(Counting(Xv, 20), yv))
    other = make_trainer(3)
    other.fit(ChunkedRows(Counting(X, 20), block_bytes=budget), y,
              validation=(ChunkedRows(Counting(Xv, 20), block_bytes=budget), yv))
    assert same_run(trainer, other)
    assert trainer.history.records[-1]["val_accuracy"] > 0.8


class SignalAt:
    def __init__(self, step: int) -> None:
        self.step, self.seen = step, 0

    def on_after_backward(self, trainer):
        self.seen += 1
        if self.seen == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def test_resume_mid_epoch_is_bit_identical(blobs, tmp_path):
    X, y, Xv, yv = blobs
    budget = 50 * 12 * 4

    def source(a):
        return ChunkedRows(Counting(a, 20), block_bytes=budget)

    straight = make_trainer(3, tmp_path / "a")
    straight.fit(source(X), y, validation=(source(Xv), yv))
    interrupted = make_trainer(3, tmp_path / "b", callbacks=[SignalAt(12)])  # epoch 2, batch 4
    with pytest.raises(TrainingInterrupted, match="during epoch 2"):
        interrupted.fit(source(X), y, validation=(source(Xv), yv))
    resumed = make_trainer(3, tmp_path / "b")
    resumed.fit(source(X), y, validation=(source(Xv), yv), resume=True)
    assert same_run(straight, resumed)


def test_sample_weight_and_torch_parameters_follow_the_numpy_run(blobs):
    pytest.importorskip("torch")
    from warpnet.train.device import to_device

    X, y, _, _ = blobs
    w = np.linspace(0.5, 2.0, len(X))

    def run(move):
        model = nn.mlp([12, 16, 3], rng=3, dtype="float64")
        move(model)
        trainer = Trainer(model, "softmax", "sgd", lr=0.1, batch_size=32, epochs=2, seed=1, verbose=0)
        trainer.fit(ChunkedRows(Counting(X, 20), block_bytes=50 * 12 * 8), y, sample_weight=w)
        return [np.asarray(p.value if isinstance(p.value, np.ndarray) else p.value.cpu())
                for p in model.parameters()]

    on_numpy = run(lambda m: None)
    on_torch = run(lambda m: to_device(m, "cpu"))
    for a, b in zip(on_numpy, on_torch, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_zarr_and_dask_arrays_are_read_block_by_block(blobs, tmp_path):
    zarr = pytest.importorskip("zarr")
    da = pytest.importorskip("dask.array")
    X, y, _, _ = blobs
    z = zarr.open_array(str(tmp_path / "x.zarr"), mode="w", shape=X.shape, chunks=(16, 12),
                        dtype="float32")
    z[:] = X
    assert is_out_of_core(z) and is_out_of_core(da.from_array(X, chunks=16))
    runs = []
    for source in (z, da.from_array(X, chunks=16), X):
        trainer = make_trainer(2)
        trainer.fit(source, y)
        runs.append(trainer)
    assert same_run(runs[0], runs[1])  # the same chunks give the same block shuffle
    assert runs[0].history.records[-1]["train_accuracy"] > 0.8
    assert runs[2].history.records[-1]["train_accuracy"] > 0.8


def test_in_memory_arrays_are_not_out_of_core():
    assert not is_out_of_core(np.zeros((3, 2)))
    assert not is_out_of_core([[1.0, 2.0]])
    torch = pytest.importorskip("torch")
    assert not is_out_of_core(torch.zeros(3, 2))


def test_bad_sources_are_named(blobs, small_mlp):
    X, y, _, _ = blobs
    bad = X.copy()
    bad[133, 4] = np.nan
    trainer = Trainer(small_mlp(), batch_size=32, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"X holds NaN or infinite values \(store row 133\)"):
        trainer.fit(Counting(bad, 20), y)
    with pytest.raises(ValueError, match="X_val has 5 features, but the model expects 12"):
        trainer.fit(Counting(X, 20), y, validation=(Counting(X[:, :5]), y))
    with pytest.raises(ValueError, match=r"y has 10 labels|10|240"):
        trainer.fit(Counting(X, 20), y[:10])
    with pytest.raises(ValueError, match="must be 2-D"):
        ChunkedRows(Counting(X, 20).a.reshape(240, 3, 4))
    with pytest.raises(ValueError, match="block_bytes must be a positive int"):
        ChunkedRows(Counting(X), block_bytes=0)
    with pytest.raises(ValueError, match="more than once"):
        ChunkedRows(Counting(X), rows=[1, 1])
    with pytest.raises(ValueError, match=r"rows must lie in \[0, 240\)"):
        ChunkedRows(Counting(X), rows=[240])
    with pytest.raises(TypeError, match="must hold real numbers"):
        ChunkedRows(Counting(X.astype(bool)))
    with pytest.raises(TypeError, match="row slices"):
        ChunkedRows(Counting(X))[[1, 2]]


# One rank of a data-parallel run on a streamed source; rank 0 saves the weights.
WORKER = """
import sys
import numpy as np
from warpnet import nn
from warpnet.train import Trainer
from warpnet.train.streaming import ChunkedRows

rng = np.random.default_rng(0)
X = rng.normal(size=(203, 12))
y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
model = nn.mlp([12, 16, 3], rng=1, dtype="float64")
distributed = sys.argv[2] == "1"
trainer = Trainer(model, "softmax", "sgd", lr=0.1, momentum=0.9, batch_size=33, epochs=3, seed=5,
                  verbose=0, distributed=distributed)
trainer.fit(ChunkedRows(X, block_bytes=40 * 12 * 8), y)
if trainer.writes_files:
    np.savez(sys.argv[1], **{k: np.asarray(v) for k, v in model.state_dict().items()})
if distributed:
    import torch.distributed
    torch.distributed.destroy_process_group()
"""


@pytest.mark.slow
def test_two_gloo_processes_stream_like_one_process(tmp_path):
    pytest.importorskip("torch.distributed")
    import socket
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    src = str(Path(__file__).resolve().parents[2] / "src")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "two.npz"), "1"], stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": src, "RANK": str(r), "WORLD_SIZE": "2",
                        "LOCAL_RANK": str(r), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                        "OMP_NUM_THREADS": "1"}) for r in range(2)]
    results = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _ in results), [err[-1500:] for _, err in results]
    one = subprocess.run([sys.executable, str(script), str(tmp_path / "one.npz"), "0"],
                         env={**os.environ, "PYTHONPATH": src}, capture_output=True, text=True)
    assert one.returncode == 0, one.stderr[-1500:]
    two, single = np.load(tmp_path / "two.npz"), np.load(tmp_path / "one.npz")
    for name in single.files:
        np.testing.assert_allclose(two[name], single[name], rtol=0, atol=1e-10, err_msg=name)
