"""The plain install, as a user makes it: build the wheel and the sdist with ``python -m build``,
install each into a fresh virtual environment without extras (dependencies from the package
index), and run the command: ``warpnet --version``, ``warpnet train --epochs 2 --out DIR`` (exit 0,
a model file, the PNG, the compiled loops in use), and an optional part asking for its extra."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import warpnet

pytest.importorskip("build")

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

# Runs inside the fresh environment, after `warpnet train` there: which numba kernels of the
# installed warpnet were compiled and called during one more (in-process) training run.
PROBE = r"""
import json, sys
from warpnet.cli import main
code = main(["train", "--epochs", "1", "--out", sys.argv[1]])
import numba.core.dispatcher as dispatcher
used = sorted(f"{name}.{attr}" for name, module in list(sys.modules.items())
              if name.startswith("warpnet") and module is not None
              for attr, value in vars(module).items()
              if isinstance(value, dispatcher.Dispatcher) and value.signatures)
import warpnet, warpnet.io
model = warpnet.io.load(sys.argv[2]).model
print(json.dumps({"code": code, "compiled": used, "file": warpnet.__file__,
                  "model": type(model).__name__}))
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The wheel and the sdist, built from a copy of the sources (the tree stays clean)."""
    tmp = tmp_path_factory.mktemp("build")
    source = tmp / "source"
    source.mkdir()
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "CHANGELOG.md"):
        shutil.copy2(ROOT / name, source / name)
    out = tmp / "dist"
    run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], timeout=600)
    return out


def run(argv: list[str], timeout: int = 600, check: bool = True,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MPLBACKEND"] = "agg"
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def fresh_env(path: Path, package: Path) -> Path:
    """A new virtual environment (no system packages) with ``package`` installed, no extras."""
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    bin_dir = path / ("Scripts" if os.name == "nt" else "bin")
    run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(package)], timeout=900)
    return bin_dir


def test_wheel_installs_plain_and_trains_at_full_speed(dist, tmp_path):
    wheel = next(dist.glob("warpnet-*.whl"))
    bin_dir = fresh_env(tmp_path / "venv", wheel)
    warpnet_cmd = str(bin_dir / "warpnet")

    # The version comes from one place: warpnet.__version__, read by the build.
    assert wheel.name.startswith(f"warpnet-{warpnet.__version__}-")
    version = run([warpnet_cmd, "--version"], cwd=tmp_path)
    assert version.stdout.strip() == f"warpnet {warpnet.__version__}"

    # Nothing optional came along: torch, dask and the playground's server stay extras.
    listed = run([str(bin_dir / "python"), "-m", "pip", "list", "--format", "json"]).stdout
    installed = {p["name"].lower() for p in json.loads(listed)}
    assert {"numpy", "scikit-learn", "numba", "matplotlib", "tqdm"} <= installed
    assert not installed & {"torch", "dask", "starlette", "uvicorn"}

    out = tmp_path / "run"
    train = run([warpnet_cmd, "train", "--epochs", "2", "--out", str(out)], cwd=tmp_path)
    assert train.returncode == 0
    assert "Traceback" not in train.stderr
    assert (out / "model.safetensors").stat().st_size > 0
    assert (out / "training-curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    history = json.loads((out / "history.json").read_text())
    assert len(history["records"]) == 2

    probe = run([str(bin_dir / "python"), "-c", PROBE, str(tmp_path / "run2"),
                 str(out / "model.safetensors")], cwd=tmp_path)
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    assert Path(report["file"]).resolve().is_relative_to((tmp_path / "venv").resolve())
    assert report["model"] == "Sequential"
    assert report["compiled"], "no compiled kernel ran during training"

    # An optional part that is not installed: one line naming the extra, exit 2, nothing served.
    playground = run([warpnet_cmd, "playground", "--port", "0"], check=False, timeout=60, cwd=tmp_path)
    assert playground.returncode == 2
    assert playground.stderr == ('warpnet: error: warpnet playground needs starlette, uvicorn, '
                                 'websockets, which are not installed: pip install "warpnet[playground]"\n')


def test_sdist_installs_and_runs(dist, tmp_path):
    sdist = next(dist.glob("warpnet-*.tar.gz"))
    bin_dir = fresh_env(tmp_path / "venv", sdist)
    version = run([str(bin_dir / "warpnet"), "--version"], cwd=tmp_path)
    assert version.stdout.strip() == f"warpnet {warpnet.__version__}"
    out = tmp_path / "run"
    run([str(bin_dir / "warpnet"), "train", "--epochs", "1", "--out", str(out)], cwd=tmp_path)
    assert (out / "model.safetensors").is_file() and (out / "training-curve.png").is_file()
