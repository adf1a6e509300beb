"""Data-parallel training on torch.distributed: two gloo processes on 127.0.0.1 against one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch.distributed")

from warpnet import nn  # noqa: E402
from warpnet.errors import UsageError  # noqa: E402
from warpnet.train import Trainer  # noqa: E402
from warpnet.train.distributed import DataParallel  # noqa: E402

SRC = str(Path(__file__).resolve().parents[2] / "src")

# One rank's run: the same data, model and seed on every rank; rank 0 saves the weights.
WORKER = textwrap.dedent("""
    import json, os, signal, sys
    import numpy as np
    from warpnet import nn
    from warpnet.train import Trainer

    out, epochs, batch, ckpt, resume, dropout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \\
        sys.argv[4], sys.argv[5] == "1", float(sys.argv[6])
    stop_at = int(sys.argv[7]) if len(sys.argv) > 7 else -1

    class SignalRankOne:  # SIGINT to rank 1 alone after `stop_at` steps
        steps = 0

        def on_after_backward(self, trainer):
            self.steps += 1
            if self.steps == stop_at and trainer._dist.rank == 1:
                os.kill(os.getpid(), signal.SIGINT)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(203, 12))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
    model = nn.mlp([12, 16, 3], dropout=dropout, rng=1, dtype="float64")
    trainer = Trainer(model, "softmax", "sgd", lr=0.1, momentum=0.9, reg=1e-3, batch_size=batch,
                      epochs=epochs, seed=5, verbose=0, distributed=True,
                      checkpoint_dir=ckpt if ckpt != "-" else None, callbacks=[SignalRankOne()])
    try:
        history = trainer.fit(X, y, resume=resume)
    except KeyboardInterrupt:
        import torch.distributed
        torch.distributed.destroy_process_group()
        sys.exit(3)
    if dropout:  # masks of the first forward in training mode, per rank
        np.save(out + f".mask{trainer._dist.rank}.npy", trainer._dropouts[0].rng.random(4))
    if trainer.writes_files:
        np.savez(out, **{k: np.asarray(v) for k, v in model.state_dict().items()})
        json.dump(history.records, open(out + ".json", "w"))
    import torch.distributed
    torch.distributed.destroy_process_group()
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(tmp_path, world, *args, expect_ok=True):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = free_port()
    procs = []
    for rank in range(world):
        env = {**os.environ, "PYTHONPATH": SRC, "RANK": str(rank), "WORLD_SIZE": str(world),
               "LOCAL_RANK": str(rank), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
               "OMP_NUM_THREADS": "1"}
        procs.append(subprocess.Popen([sys.executable, str(script), *map(str, args)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
    if expect_ok:
        assert all(code == 0 for code, _ in results), [e[-1500:] for _, e in results]
    return results


def single_process(epochs, batch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(203, 12))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
    model = nn.mlp([12, 16, 3], rng=1, dtype="float64")
    trainer = Trainer(model, "softmax", "sgd", lr=0.1, momentum=0.9, reg=1e-3, batch_size=batch,
                      epochs=epochs, seed=5, verbose=0)
    history = trainer.fit(X, y)
    return model.state_dict(), history.records


@pytest.mark.slow
@pytest.mark.parametrize("batch", [32, 33])  # 33: shares of 17 and 16, a last batch of 5
def test_two_gloo_processes_equal_one_process_in_float64(tmp_path, batch):
    out = tmp_path / "w.npz"
    run_ranks(tmp_path, 2, out, 4, batch, "-", 0, 0.0)
    got = np.load(out)
    expected, records = single_process(4, batch)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-10, err_msg=name)
    dist_records = json.loads((tmp_path / "w.npz.json").read_text())
    for a, b in zip(dist_records, records, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-10)
        assert a["train_accuracy"] == pytest.approx(b["train_accuracy"], abs=1e-12)


@pytest.mark.slow
def test_rank_zero_alone_writes_and_resume_needs_the_same_world_size(tmp_path):
    ckpt = tmp_path / "ckpt"
    run_ranks(tmp_path, 2, tmp_path / "a.npz", 2, 32, ckpt, 0, 0.3)
    assert (ckpt / "checkpoint.npz").exists() and (tmp_path / "a.npz").exists()
    masks = [np.load(tmp_path / f"a.npz.mask{r}.npy") for r in range(2)]
    assert not np.array_equal(masks[0], masks[1])  # dropout masks differ per rank
    run_ranks(tmp_path, 2, tmp_path / "b.npz", 3, 32, ckpt, 1, 0.3)  # the same world size resumes
    assert len(json.loads((tmp_path / "b.npz.json").read_text())) == 3
    results = run_ranks(tmp_path, 3, tmp_path / "c.npz", 4, 32, ckpt, 1, 0.3, expect_ok=False)
    assert all(code != 0 for code, _ in results)
    assert any("written by 2 process(es), but this run has 3" in err for _, err in results)


def test_outside_torchrun_is_a_clear_usage_error(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(UsageError, match="torchrun"):
        Trainer(nn.mlp([4, 3]), distributed=True)


def test_a_world_of_one_process_is_refused(monkeypatch):
    import torch.distributed as dist

    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        with pytest.raises(UsageError, match="at least 2 processes"):
            DataParallel()
    finally:
        dist.destroy_process_group()


def test_shards_are_disjoint_and_cover_every_global_batch():
    class Fake(DataParallel):
        def __init__(self, rank, world):
            self.rank, self.world_size = rank, world

    order = np.random.default_rng(0).permutation(23)
    shards = [Fake(r, 3).shard(order, 7) for r in range(3)]
    for b, start in enumerate(range(0, 23, 7)):
        parts = [s[0][sum(s[1][:b]):sum(s[1][:b + 1])] for s in shards]
        np.testing.assert_array_equal(np.concatenate(parts), order[start:start + 7])
        assert all(s[2][b] == len(order[start:start + 7]) for s in shards)
    with pytest.raises(ValueError, match="fewer than the 3 processes"):
        Fake(0, 3).check_batches(22, 7)  # the last global batch holds 1 sample


@pytest.mark.slow
def test_a_signal_to_one_rank_stops_all_and_resume_ends_like_one_process(tmp_path):
    ckpt = tmp_path / "ckpt"
    results = run_ranks(tmp_path, 2, tmp_path / "a.npz", 3, 32, ckpt, 0, 0.0, 10, expect_ok=False)
    assert [code for code, _ in results] == [3, 3], [e[-800:] for _, e in results]
    run_ranks(tmp_path, 2, tmp_path / "b.npz", 3, 32, ckpt, 1, 0.0)
    got = np.load(tmp_path / "b.npz")
    expected, records = single_process(3, 32)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-10, err_msg=name)
    dist_records = json.loads((tmp_path / "b.npz.json").read_text())
    for a, b in zip(dist_records, records, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-10)
        assert a["train_accuracy"] == pytest.approx(b["train_accuracy"], abs=1e-12)
