"""``warpnet features --out X.zarr``: chunked Dask writes, resume after SIGKILL, refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")

from warpnet.cli import main  # noqa: E402

SRC = str(Path(__file__).resolve().parents[2] / "src")
ARGS = ["features", "--features", "hog", "--chunk-size", "8"]
FAST = ["features", "--features", "hog", "--chunk-size", "600"]  # 3 chunks: quick runs


def command(out):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return [sys.executable, "-m", "warpnet", *ARGS, "--out", str(out)], env


def arrays(path):
    group = zarr.open_group(str(path), mode="r")
    return {k: group[k][...] for k in ("x", "y")}, dict(group.attrs)


def chunk_files(path):
    return [p for p in (path / "x").rglob("*") if p.is_file() and p.name != "zarr.json"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "feats.zarr"
    assert main([*ARGS, "--out", str(out)]) == 0
    return out


def test_store_holds_the_npz_features(reference, tmp_path):
    assert main(["features", "--features", "hog", "--out", str(tmp_path / "f.npz")]) == 0
    npz = np.load(tmp_path / "f.npz")
    got, attrs = arrays(reference)
    np.testing.assert_array_equal(got["x"], npz["x"])
    np.testing.assert_array_equal(got["y"], npz["y"])
    assert attrs["complete"] is True and attrs["features"] == "hog"
    assert zarr.open_group(str(reference), mode="r")["x"].chunks == (8, got["x"].shape[1])


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_gives_the_same_store(reference, tmp_path):
    out = tmp_path / "feats.zarr"
    argv, env = command(out)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(chunk_files(out)) < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    n_before = len(chunk_files(out))
    total = len(arrays(reference)[0]["x"]) // 8 + 1
    assert 0 < n_before < total
    assert arrays(out)[1]["complete"] is False
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"({n_before} already there)" in done.stdout or "already there" in done.stdout
    written = int(done.stdout.split("; ")[1].split(" of ")[0])
    assert written <= total - n_before + 1  # at most the chunk being written at the kill is redone
    got, attrs = arrays(out)
    ref, _ = arrays(reference)
    np.testing.assert_array_equal(got["x"], ref["x"])
    np.testing.assert_array_equal(got["y"], ref["y"])
    assert attrs["complete"] is True


def test_rerun_of_a_complete_store_computes_nothing(reference, capsys):
    assert main([*ARGS, "--out", str(reference)]) == 0
    assert "0 of 225 chunks computed (225 already there)" in capsys.readouterr().out


@pytest.mark.parametrize("extra, needle", [
    (["--seed", "3"], "seed=0, not 3"),
    (["--chunk-size", "500"], "chunks of 600 rows"),
])
def test_another_store_is_refused_unless_overwrite(reference, tmp_path, capsys, extra, needle):
    out = tmp_path / "feats.zarr"
    assert main([*FAST, "--out", str(out)]) == 0
    before = arrays(out)[0]["x"]
    assert main([*FAST, "--out", str(out), *extra]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err and "--overwrite" in err
    np.testing.assert_array_equal(arrays(out)[0]["x"], before)  # nothing written is lost
    assert main([*FAST, "--out", str(out), *extra, "--overwrite"]) == 0


def test_a_folder_that_is_not_a_store_is_refused(tmp_path, capsys):
    out = tmp_path / "feats.zarr"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main([*FAST, "--out", str(out)]) == 1
    assert "not a" in capsys.readouterr().err and (out / "keep.txt").exists()


def test_unreachable_scheduler_is_one_line_within_ten_seconds(tmp_path):
    argv, env = command(tmp_path / "f.zarr")
    started = time.monotonic()
    done = subprocess.run([*argv, "--scheduler", "tcp://127.0.0.1:1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 10
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "cannot reach the Dask scheduler" in done.stderr


@pytest.mark.parametrize("argv, code, needle", [
    (["--scheduler", "localhost:8786"], 2, "tcp://"),
    (["--scheduler", "tcp://127.0.0.1:99999"], 1, "cannot reach the Dask scheduler"),
])
def test_bad_scheduler_flag(tmp_path, capsys, argv, code, needle):
    assert main([*ARGS, "--out", str(tmp_path / "f.zarr"), *argv]) == code
    assert needle in capsys.readouterr().err


def test_scheduler_and_overwrite_need_a_zarr_out(tmp_path, capsys):
    assert main([*ARGS, "--out", str(tmp_path / "f.npz"), "--overwrite"]) == 2
    assert ".zarr" in capsys.readouterr().err


@pytest.mark.slow
def test_features_through_a_tcp_scheduler(reference, tmp_path):
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", dashboard_address=None) as cluster:
        out = tmp_path / "f.zarr"
        assert main([*ARGS, "--out", str(out), "--scheduler", cluster.scheduler_address]) == 0
    np.testing.assert_array_equal(arrays(out)[0]["x"], arrays(reference)[0]["x"])


def test_train_reads_the_store_block_by_block(reference, tmp_path, capsys, monkeypatch):
    import json

    from warpnet.cli._model_file import load_model
    from warpnet.train import streaming

    D = arrays(reference)[0]["x"].shape[1]
    budget = 20 * D * 4  # 20 rows of float32: two chunks of 8 rows a block
    monkeypatch.setattr(streaming, "DEFAULT_BLOCK_BYTES", budget)
    reads = []
    original = streaming.ChunkedRows.read_unit

    def counting(self, u):
        reads.append(int(self._starts[u + 1] - self._starts[u]))
        return original(self, u)

    monkeypatch.setattr(streaming.ChunkedRows, "read_unit", counting)
    assert main(["features", "--features", "hog", "--out", str(tmp_path / "f.npz")]) == 0
    flags = ["--epochs", "2", "-q", "--hidden", "16"]
    for run in ("a", "b"):
        assert main(["train", "--data", f"zarr:{reference}", "--out", str(tmp_path / run), *flags]) == 0
    assert reads and max(reads) * D * 4 <= budget
    assert main(["train", "--data", f"npz:{tmp_path / 'f.npz'}", "--out", str(tmp_path / "c"),
                 *flags]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-3].split("(")[0] == lines[-2].split("(")[0]  # the same seed, the same run
    a, c = (json.loads((tmp_path / r / "config.json").read_text()) for r in ("a", "c"))
    assert a["samples"] == c["samples"]  # the same test and validation splits as in memory
    assert abs(a["accuracy"]["test"] - c["accuracy"]["test"]) < 0.1  # another shuffle, no worse
    # the standardization statistics of one streaming pass are those of the loaded rows
    streamed, loaded = (load_model(tmp_path / r / "model.safetensors").preprocessing.standardizer_
                        for r in ("a", "c"))
    np.testing.assert_allclose(streamed.mean_, loaded.mean_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(streamed.std_, loaded.std_, rtol=1e-6, atol=1e-7)
    assert main(["eval", str(tmp_path / "a" / "model.safetensors"), "--data", f"zarr:{reference}"]) == 0
    assert f"test accuracy {a['accuracy']['test']:.4f}" in capsys.readouterr().out


def test_train_from_a_store_refuses_image_features(reference, tmp_path, capsys):
    assert main(["train", "--data", f"zarr:{reference}", "--features", "hog", "--out",
                 str(tmp_path / "run"), "-q"]) == 1
    assert "need images" in capsys.readouterr().err


def test_train_refuses_an_unfinished_store(tmp_path, capsys):
    out = tmp_path / "f.zarr"
    assert main([*FAST, "--out", str(out)]) == 0
    zarr.open_group(str(out), mode="r+").attrs["complete"] = False
    assert main(["train", "--data", f"zarr:{out}", "--out", str(tmp_path / "run"), "-q"]) == 1
    assert "unfinished" in capsys.readouterr().err


def test_train_refuses_a_store_without_class_names(tmp_path, capsys):
    out = tmp_path / "f.zarr"
    assert main([*FAST, "--out", str(out)]) == 0
    del zarr.open_group(str(out), mode="r+").attrs["class_names"]
    assert main(["train", "--data", f"zarr:{out}", "--out", str(tmp_path / "run"), "-q"]) == 1
    assert "no list of class names" in capsys.readouterr().err


def test_runs_killed_before_the_first_chunk_are_completed(tmp_path, capsys):
    empty = tmp_path / "empty.zarr"
    empty.mkdir()  # killed right after the folder was made
    assert main([*FAST, "--out", str(empty)]) == 0
    ref = arrays(empty)[0]["x"]
    bare = tmp_path / "bare.zarr"  # killed after the group, before its arrays
    attrs = dict(zarr.open_group(str(empty), mode="r").attrs) | {"complete": False}
    zarr.open_group(str(bare), mode="w", attributes=attrs)
    assert main([*FAST, "--out", str(bare)]) == 0
    np.testing.assert_array_equal(arrays(bare)[0]["x"], ref)
