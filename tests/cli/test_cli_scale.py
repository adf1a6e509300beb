"""``warpnet train --distributed`` and ``--device``: torchrun runs and one-line refusals."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from warpnet.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def test_distributed_outside_torchrun_is_a_usage_error(tmp_path, capsys, monkeypatch):
    for var in TORCHRUN_VARS:
        monkeypatch.delenv(var, raising=False)
    assert main(["train", "--distributed", "--out", str(tmp_path / "run"), "-q"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "torchrun" in err
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_distributed_with_a_world_of_one_is_a_usage_error(tmp_path, capsys, monkeypatch):
    for var, value in zip(TORCHRUN_VARS, ("0", "1", "0", "127.0.0.1", "29999"), strict=True):
        monkeypatch.setenv(var, value)
    assert main(["train", "--distributed", "--out", str(tmp_path / "run"), "-q"]) == 2
    assert "at least 2 processes" in capsys.readouterr().err


def test_device_cuda_without_a_gpu_is_one_line(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["train", "--device", "cuda", "--out", str(tmp_path / "run"), "-q"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "CUDA GPU" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_torchrun_two_processes_write_one_run_folder(tmp_path):
    pytest.importorskip("torch.distributed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-addr", "127.0.0.1", "--master-port", str(port), "-m", "warpnet", "train",
           "--distributed", "--out", str(out), "--epochs", "2", "-q"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("train accuracy") == 1  # rank 0 alone reports and writes
    assert (out / "model.safetensors").exists() and (out / "history.json").exists()
    again = subprocess.run([sys.executable, "-m", "warpnet", "train", "--resume", "--out", str(out),
                            "--epochs", "3", "-q"], env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 2 and "written by 2 process(es)" in again.stderr
