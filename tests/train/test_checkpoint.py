"""Checkpoints: exact resume, interruption by signals (in this process and in a killed child),
and refusal of corrupt or mismatched files."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from warpnet import nn, optim
from warpnet.errors import DataError, UsageError
from warpnet.train import CHECKPOINT_NAME, Trainer, TrainingInterrupted, read_checkpoint

KEYS_BUT_TIME = ("epoch", "loss", "train_accuracy", "val_loss", "val_accuracy", "lr")


def make_trainer(model_factory, epochs, folder, kind="sgd", **extra):
    model = model_factory(dropout=0.2 if kind == "adam" else 0.0)
    if kind == "adam":
        opt = optim.Adam(model.parameters(), lr=0.01)
        extra.setdefault("schedule", optim.CosineLR(opt, t_max=4))
        extra.setdefault("early_stopping", 10)
    else:
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return Trainer(model, "softmax", opt, reg=1e-3, batch_size=32, epochs=epochs, seed=5,
                   checkpoint_dir=folder, verbose=0, **extra)


def assert_same_run(a: Trainer, b: Trainer) -> None:
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert np.array_equal(p.value, q.value)
    assert [[r[k] for k in KEYS_BUT_TIME] for r in a.history.records] == \
           [[r[k] for k in KEYS_BUT_TIME] for r in b.history.records]


@pytest.mark.parametrize("kind", ["sgd", "adam"], ids=["sgd-momentum", "adam-dropout-cosine-early"])
def test_two_plus_two_epochs_equal_four(blobs, small_mlp, tmp_path, kind):
    X, y, Xv, yv = blobs
    straight = make_trainer(small_mlp, 4, tmp_path / "a", kind)
    straight.fit(X, y, validation=(Xv, yv))
    make_trainer(small_mlp, 2, tmp_path / "b", kind).fit(X, y, validation=(Xv, yv))
    resumed = make_trainer(small_mlp, 4, tmp_path / "b", kind)
    resumed.fit(X, y, validation=(Xv, yv), resume=True)
    assert_same_run(straight, resumed)


class SignalAt:
    """Sends ``signum`` to this process after ``step`` optimizer steps (between backward and step)."""

    def __init__(self, signum: int, step: int) -> None:
        self.signum, self.step, self.seen = signum, step, 0

    def on_after_backward(self, trainer):
        self.seen += 1
        if self.seen == self.step:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_finishes_the_step_saves_and_resume_is_exact(blobs, small_mlp, tmp_path, signum,
                                                            monkeypatch):
    monkeypatch.setattr("warpnet._fast.batches.THREADED_MIN_BYTES", 0)  # a batch in flight too
    X, y, Xv, yv = blobs
    straight = make_trainer(small_mlp, 3, tmp_path / "a", "adam")
    straight.fit(X, y, validation=(Xv, yv))

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    interrupted = make_trainer(small_mlp, 3, tmp_path / "b", "adam", callbacks=[SignalAt(signum, 11)])
    with pytest.raises(TrainingInterrupted, match=r"during epoch 2; checkpoint saved") as info:
        interrupted.fit(X, y, validation=(Xv, yv))
    assert isinstance(info.value, KeyboardInterrupt) and info.value.signum == signum
    assert {s: signal.getsignal(s) for s in before} == before
    # The step in flight was finished: 11 steps = 8 of epoch 1 and 3 of epoch 2.
    assert interrupted.optimizer.steps == 11
    _, meta = read_checkpoint(tmp_path / "b" / CHECKPOINT_NAME)
    assert (meta["epoch"], meta["position"]["batch"]) == (1, 3)

    resumed = make_trainer(small_mlp, 3, tmp_path / "b", "adam")
    resumed.fit(X, y, validation=(Xv, yv), resume=True)
    assert_same_run(straight, resumed)


def test_signal_without_checkpoint_folder_still_stops(blobs, small_mlp):
    X, y, _, _ = blobs
    trainer = Trainer(small_mlp(), batch_size=32, epochs=3, verbose=0,
                      callbacks=[SignalAt(signal.SIGINT, 2)])
    with pytest.raises(TrainingInterrupted, match="no checkpoint folder was given"):
        trainer.fit(X, y)
    assert trainer.optimizer.steps == 2


def test_resume_without_a_checkpoint_starts_from_the_beginning(blobs, small_mlp, tmp_path):
    X, y, _, _ = blobs
    a = make_trainer(small_mlp, 2, None)
    a.fit(X, y)
    b = make_trainer(small_mlp, 2, tmp_path / "new")
    b.fit(X, y, resume=True)
    assert_same_run(a, b)


def test_resume_after_early_stop_does_not_train_further(blobs, small_mlp, tmp_path):
    X, y, Xv, yv = blobs
    first = make_trainer(small_mlp, 30, tmp_path, "adam", early_stopping=2)
    first.fit(X, y, validation=(Xv, (yv + 1) % 3))
    assert len(first.history) < 30
    again = make_trainer(small_mlp, 30, tmp_path, "adam", early_stopping=2)
    again.fit(X, y, validation=(Xv, (yv + 1) % 3), resume=True)
    assert_same_run(first, again)


def test_checkpoint_is_one_npz_without_pickles(blobs, small_mlp, tmp_path):
    X, y, _, _ = blobs
    make_trainer(small_mlp, 1, tmp_path, "adam").fit(X, y)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_NAME]
    with np.load(tmp_path / CHECKPOINT_NAME, allow_pickle=False) as npz:
        dtypes = {name: npz[name].dtype for name in npz.files}
    assert not any(dt.hasobject for dt in dtypes.values())
    assert {"model:0.weight", "optim:0:exp_avg", "best:0.weight", "__meta__"} <= set(dtypes)
    arrays, meta = read_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert meta["epoch"] == 1 and len(meta["history"]) == 1 and len(meta["dropout"]) == 2
    assert meta["position"]["rng_state"]["bit_generator"] == "PCG64"


@pytest.mark.parametrize(("change", "match"), [
    ({"batch_size": 16}, "batch_size=32, but this run has batch_size=16"),
    ({"seed": 6}, "seed=5, but this run has seed=6"),
    ({"reg": 0.0}, "reg=0.001, but this run has reg=0.0"),
])
def test_resume_with_other_settings_is_refused(blobs, small_mlp, tmp_path, change, match):
    X, y, _, _ = blobs
    make_trainer(small_mlp, 1, tmp_path).fit(X, y)
    model = small_mlp()
    settings = {"batch_size": 32, "seed": 5, "reg": 1e-3, **change}
    trainer = Trainer(model, "softmax", optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                      epochs=2, checkpoint_dir=tmp_path, verbose=0, **settings)
    with pytest.raises(UsageError, match=match):
        trainer.fit(X, y, resume=True)


def test_resume_with_other_data_or_model_is_refused(blobs, small_mlp, tmp_path):
    X, y, _, _ = blobs
    make_trainer(small_mlp, 1, tmp_path).fit(X, y)
    with pytest.raises(UsageError, match=r"240 samples of 12 features, but X has shape \(200, 12\)"):
        make_trainer(small_mlp, 2, tmp_path).fit(X[:200], y[:200], resume=True)
    with pytest.raises(UsageError, match="written with optimizer SGD, this run uses Adam"):
        Trainer(small_mlp(), "softmax", "adam", reg=1e-3, batch_size=32, seed=5, epochs=2,
                checkpoint_dir=tmp_path, verbose=0).fit(X, y, resume=True)
    wider = nn.mlp([12, 20, 3], rng=0)
    trainer = Trainer(wider, "softmax", "sgd", reg=1e-3, batch_size=32, seed=5, epochs=2,
                      checkpoint_dir=tmp_path, verbose=0)
    with pytest.raises(UsageError, match="different model architecture"):
        trainer.fit(X, y, resume=True)


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "bit-flip":
        member = data.index(b"model:0.weight.npy")  # flip a byte inside the weights' data
        flipped = bytearray(data)
        flipped[member + 400] ^= 0x10
        path.write_bytes(bytes(flipped))
    elif how == "foreign-npz":
        buffer = io.BytesIO()
        np.savez(buffer, x=np.zeros(3))
        path.write_bytes(buffer.getvalue())
    elif how == "pickle":
        buffer = io.BytesIO()
        np.savez(buffer, __meta__=np.array([{"format": "warpnet-checkpoint"}], dtype=object))
        path.write_bytes(buffer.getvalue())
    elif how == "newer":
        buffer = io.BytesIO()
        blob = b'{"format": "warpnet-checkpoint", "version": 99}'
        np.savez(buffer, __meta__=np.frombuffer(blob, dtype=np.uint8))
        path.write_bytes(buffer.getvalue())
    elif how == "text":
        path.write_text("hello")
    elif how == "schedule-not-object":  # signed by nothing: any JSON part can be anything
        with np.load(path, allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in stored.files}
        meta = json.loads(arrays["__meta__"].tobytes())
        meta["schedule"] = "cosine"
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize(("how", "match"), [
    ("truncated", "corrupt or not an npz"),
    ("bit-flip", "corrupt"),
    ("foreign-npz", "not a warpnet checkpoint"),
    ("pickle", "corrupt or not an npz"),
    ("newer", "format version 99"),
    ("text", "corrupt or not an npz"),
    ("schedule-not-object", "incomplete or malformed"),
])
def test_corrupt_checkpoints_are_refused(blobs, small_mlp, tmp_path, how, match):
    X, y, _, _ = blobs
    make_trainer(small_mlp, 1, tmp_path).fit(X, y)
    _corrupt(tmp_path / CHECKPOINT_NAME, how)
    with pytest.raises(DataError, match=match):
        make_trainer(small_mlp, 2, tmp_path).fit(X, y, resume=True)


def test_checkpoint_folder_that_is_a_file(blobs, small_mlp, tmp_path):
    X, y, _, _ = blobs
    (tmp_path / "file").write_text("")
    with pytest.raises(DataError, match="cannot create checkpoint folder"):
        make_trainer(small_mlp, 1, tmp_path / "file").fit(X, y)


# -- a real process, killed -----------------------------------------------------------------------
CHILD = textwrap.dedent('''
    import os, sys, time
    from pathlib import Path
    import numpy as np
    from warpnet import nn
    from warpnet.train import Trainer
    import warpnet.train.checkpoint as checkpoint

    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    writes = 0
    real_write = checkpoint.atomic_write

    def slow_second_write(path, data):
        # Write half of the second checkpoint, announce it, and hang there until killed.
        global writes
        writes += 1
        if writes != 2:
            return real_write(path, data)
        from warpnet.io.atomic import atomic_writer
        with atomic_writer(path) as f:
            f.write(bytes(data[: len(data) // 2]))
            f.flush()
            (folder / "writing").touch()
            time.sleep(60)
            f.write(bytes(data[len(data) // 2:]))

    if os.environ.get("SLOW_SECOND_WRITE"):
        checkpoint.atomic_write = slow_second_write

    class Slow:  # a few ms per step, so that a kill at a random time lands mid-run
        def on_after_backward(self, trainer):
            time.sleep(0.004)

    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 32)).astype(np.float32)
    y = rng.integers(0, 4, 400)
    model = nn.mlp([32, 64, 4], dropout=0.1, rng=1)
    trainer = Trainer(model, "softmax", "sgd", lr=0.05, momentum=0.9, reg=1e-3, batch_size=16,
                      epochs=8, seed=2, schedule="cosine", checkpoint_dir=folder, verbose=0,
                      callbacks=[Slow()])
    (folder / "started").touch()
    try:
        trainer.fit(X, y, validation=(X[:50], y[:50]), resume=True)
    except KeyboardInterrupt:
        sys.exit(130)
    np.savez(out, *[p.value for p in model.parameters()])
''')


def _start(script: Path, folder: Path, out: Path, **env: str) -> subprocess.Popen:
    folder.mkdir(exist_ok=True)
    for marker in ("started", "writing"):
        (folder / marker).unlink(missing_ok=True)
    return subprocess.Popen([sys.executable, str(script), str(folder), str(out)],
                            env={**os.environ, **env})


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"child exited with {proc.returncode} before {path.name}"
        assert time.monotonic() < deadline, f"timed out waiting for {path.name}"
        time.sleep(0.01)


def _weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as npz:
        return [npz[f"arr_{i}"] for i in range(len(npz.files))]


@pytest.fixture(scope="module")
def child_script(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """The child training script and the final weights of one uninterrupted run of it."""
    root = tmp_path_factory.mktemp("child")
    script = root / "child.py"
    script.write_text(CHILD)
    proc = _start(script, root / "straight", root / "straight.npz")
    assert proc.wait(timeout=300) == 0
    return script, _weights(root / "straight.npz")


@pytest.mark.slow
def test_sigkill_during_a_write_and_at_random_times_then_resume(child_script, tmp_path):
    script, expected = child_script
    folder, out = tmp_path / "run", tmp_path / "out.npz"

    # 1. Killed while the second checkpoint is half written: the first one stays valid.
    proc = _start(script, folder, out, SLOW_SECOND_WRITE="1")
    _wait_for(folder / "writing", proc)
    proc.kill()
    proc.wait()
    _, meta = read_checkpoint(folder / CHECKPOINT_NAME)
    assert meta["epoch"] == 1
    assert any(p.name.endswith(".tmp") for p in folder.iterdir())  # the torn write, never renamed

    # 2. Killed at random moments of the run.
    rng = np.random.default_rng(0)
    for delay in rng.uniform(0.05, 0.8, size=3):
        proc = _start(script, folder, out)
        _wait_for(folder / "started", proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    # 3. Runs to the end.
    proc = _start(script, folder, out)
    assert proc.wait(timeout=300) == 0
    got = _weights(out)
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))


@pytest.mark.slow
def test_sigterm_saves_exits_130_and_resume_matches(child_script, tmp_path):
    script, expected = child_script
    folder, out = tmp_path / "run", tmp_path / "out.npz"
    proc = _start(script, folder, out)
    _wait_for(folder / "started", proc)
    time.sleep(0.4)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    _, meta = read_checkpoint(folder / CHECKPOINT_NAME)
    assert meta["epoch"] < 8
    proc = _start(script, folder, out)
    assert proc.wait(timeout=300) == 0
    assert all(np.array_equal(a, b) for a, b in zip(_weights(out), expected, strict=True))
