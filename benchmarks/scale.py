"""Scale benchmark: Dask features, Zarr writes, torch.distributed training, and the GPU where one is.

1. Feature throughput (HOG + hue histogram, the classic CIFAR-10 pipeline) on real CIFAR-10
   images: one NumPy process on one thread, then Dask ``LocalCluster`` s of 1 and 2 worker
   processes (one thread each); scaling efficiency = rate(2 workers) / (2 * rate(1 worker)).
2. Zarr write rate: the features of the same images stored chunk by chunk through Dask
   (``warpnet features --out X.zarr``'s writer), MB/s and rows/s.
3. Data-parallel training samples/s (3072-512-10 MLP, float32, global batch 256, CIFAR-10
   pixels): one process with one BLAS thread, one process with two threads, two gloo processes
   (torch.distributed, one thread each), each in fresh processes, alternating rounds.
4. With a CUDA GPU only: ``benchmarks/gpu.py``'s step comparison (run it on the GPU machine).

Usage: python benchmarks/scale.py [--images 5000] [--rounds 2]
Timings on a shared machine are noisy: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CIFAR = ROOT.parent / "shared" / "data" / "cifar10"
SRC = str(ROOT / "src")


def cifar(n: int) -> tuple[np.ndarray, np.ndarray]:
    path = CIFAR / "train_00.npz"
    if path.exists():
        with np.load(path) as f:
            return f["x"][:n], f["y"][:n].astype(np.int64)
    print(f"(no CIFAR-10 at {CIFAR}: random images instead)")
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


def features_section(images: np.ndarray, rounds: int) -> None:
    import dask.array as da
    from distributed import Client, LocalCluster
    from threadpoolctl import threadpool_limits

    from warpnet.features import classic_features

    union = classic_features().fit(images[:100])
    for _, part in union.transformer_list:
        part.set_params(n_jobs=1)
    n = len(images)
    rates: dict[str, list[float]] = {"numpy, 1 thread": [], "dask, 1 worker": [],
                                     "dask, 2 workers": []}
    lazy_in = da.from_array(images, chunks=(500, 32, 32, 3))
    clusters = {}
    for workers in (1, 2):
        clusters[workers] = LocalCluster(n_workers=workers, threads_per_worker=1,
                                         dashboard_address=None, processes=True)
    try:
        for _ in range(rounds):
            with threadpool_limits(1):
                t = time.perf_counter()
                expected = union.transform(images)
                rates["numpy, 1 thread"].append(n / (time.perf_counter() - t))
            for workers in (1, 2):
                with Client(clusters[workers]) as client:
                    scattered = client.persist(lazy_in)  # images on the workers before timing
                    client.wait_for_workers(workers)
                    union.transform(scattered[: 250 * workers]).compute()  # warm-up: numba JIT
                    t = time.perf_counter()
                    got = union.transform(scattered).compute()
                    rates[f"dask, {workers} worker{'s' * (workers > 1)}"].append(
                        n / (time.perf_counter() - t))
                    assert np.array_equal(got, expected)
    finally:
        for c in clusters.values():
            c.close()
    print(f"\n1. features (HOG + hue histogram), {n} CIFAR-10 images; images/s by round")
    for name, values in rates.items():
        print(f"   {name:<18} {np.median(values):9.0f}   rounds: "
              + ", ".join(f"{v:.0f}" for v in values))
    eff = np.median(rates["dask, 2 workers"]) / (2 * np.median(rates["dask, 1 worker"]))
    print(f"   scaling efficiency 2 workers / (2 x 1 worker): {eff:.2f}")


def zarr_section(images: np.ndarray) -> None:
    import dask.array as da
    import zarr
    from distributed import Client, LocalCluster

    from warpnet.cli import _feature_store as fs
    from warpnet.features import classic_features

    union = classic_features().fit(images[:100])
    feats = union.transform(images).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp, \
            LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                         dashboard_address=None) as cluster, Client(cluster):
        path = Path(tmp) / "f.zarr"
        layout = {"x": (feats.shape, 500)}
        group = fs.open_store(path, layout, {"features": "hog+color"}, False)
        t = time.perf_counter()
        fs.write_features(group, "x", da.from_array(feats, chunks=(500, -1)))
        store_s = time.perf_counter() - t
        path2 = Path(tmp) / "g.zarr"
        group2 = fs.open_store(path2, layout, {"features": "hog+color"}, False)
        t = time.perf_counter()
        fs.write_features(group2, "x", union.transform(da.from_array(images, chunks=(500, 32, 32, 3))))
        pipe_s = time.perf_counter() - t
        assert np.array_equal(zarr.open_group(str(path2))["x"][...], feats)
    mb = feats.nbytes / 1e6
    print(f"\n2. Zarr store of {feats.shape} float32 ({mb:.1f} MB) in chunks of 500 rows")
    print(f"   store precomputed features: {mb / store_s:7.1f} MB/s  ({len(feats) / store_s:9.0f} rows/s)")
    print(f"   images -> features -> store: {len(feats) / pipe_s:7.0f} rows/s")


WORKER = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from warpnet import nn
    from warpnet.train import Trainer
    x = np.load(sys.argv[1]); y = np.load(sys.argv[2]); distributed = sys.argv[3] == "1"
    model = nn.mlp([x.shape[1], 512, 10], rng=0)
    trainer = Trainer(model, "softmax", "sgd", lr=0.01, momentum=0.9, batch_size=256, epochs=3,
                      seed=0, verbose=0, distributed=distributed)
    history = trainer.fit(x, y)
    if trainer.writes_files:
        print(json.dumps([r["seconds"] for r in history.records]))
    if distributed:
        import torch.distributed
        torch.distributed.destroy_process_group()
""")


def train_section(images: np.ndarray, labels: np.ndarray, rounds: int) -> None:
    x = (images.reshape(len(images), -1).astype(np.float32) - 128.0) / 64.0
    runs = {"1 process, 1 thread": (1, 1), "1 process, 2 threads": (1, 2),
            "2 processes x 1 thread (gloo)": (2, 1)}
    rates: dict[str, list[float]] = {k: [] for k in runs}
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "x.npy", x)
        np.save(Path(tmp) / "y.npy", labels)
        (Path(tmp) / "w.py").write_text(WORKER)
        for _ in range(rounds):
            for name, (procs, threads) in runs.items():
                rates[name].append(len(x) / _train_once(Path(tmp), procs, threads))
    print(f"\n3. training 3072-512-10 float32, global batch 256, {len(x)} CIFAR-10 images; "
          "samples/s (best of epochs 2-3) by round")
    for name, values in rates.items():
        print(f"   {name:<30} {np.median(values):8.0f}   rounds: "
              + ", ".join(f"{v:.0f}" for v in values))
    base = np.median(rates["1 process, 2 threads"])
    print(f"   2 gloo processes / 1 process with 2 threads: "
          f"{np.median(rates['2 processes x 1 thread (gloo)']) / base:.2f}")


def _train_once(tmp: Path, procs: int, threads: int) -> float:
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "NUMBA_NUM_THREADS": str(threads)}
    args = [sys.executable, str(tmp / "w.py"), str(tmp / "x.npy"), str(tmp / "y.npy"),
            "1" if procs > 1 else "0"]
    if procs == 1:
        out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        ps = [subprocess.Popen(args, env={**env, "RANK": str(r), "WORLD_SIZE": str(procs),
                                          "LOCAL_RANK": str(r), "MASTER_ADDR": "127.0.0.1",
                                          "MASTER_PORT": str(port)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for r in range(procs)]
        outs = [p.communicate()[0] for p in ps]
        if any(p.returncode for p in ps):
            raise RuntimeError(f"a rank failed: {[p.returncode for p in ps]}")
        out = outs[0]
    return min(json.loads(out.strip().splitlines()[-1])[1:])


def gpu_section() -> None:
    try:
        import torch
    except ImportError:
        print("\n4. GPU: PyTorch not installed; GPU rows skipped")
        return
    if not torch.cuda.is_available():
        print("\n4. GPU: no CUDA GPU on this machine; GPU rows skipped")
        return
    print("\n4. GPU: benchmarks/gpu.py")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py")], check=False,
                   env={**os.environ, "PYTHONPATH": SRC})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sections", default="features,zarr,train,gpu")
    args = parser.parse_args()
    images, labels = cifar(args.images)
    print(f"load average: {os.getloadavg()}  cpus: {os.cpu_count()}")
    sections = args.sections.split(",")
    if "features" in sections:
        features_section(images, args.rounds)
    if "zarr" in sections:
        zarr_section(images)
    if "train" in sections:
        train_section(images, labels, args.rounds)
    if "gpu" in sections:
        gpu_section()


if __name__ == "__main__":
    main()
