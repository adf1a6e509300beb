"""``warpnet train --data zarr:PATH`` (the store read block by block) against the in-memory path
(the same features in an ``.npz``, loaded whole): peak RSS and seconds per epoch.

Both sides run as fresh ``python -m warpnet train`` processes, alternating, on the same rows
(a Gaussian mixture of 10 classes in D dimensions, float32, written once as a warpnet feature
store and as an ``.npz``).  Peak RSS is the child's ``VmHWM`` (Linux; ``ru_maxrss`` would carry
the parent's size over the fork); epoch seconds come from the run's ``history.json``.

    PYTHONPATH=src python benchmarks/zarr_train.py --rows 200000 --dim 512 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SRC = str(Path(__file__).resolve().parents[1] / "src")


def make_data(n: int, d: int, seed: int = 0, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """A mixture of 10 Gaussians (one centre per class, unit noise): (n, d) float32, (n,)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((10, d)).astype(np.float32) * 0.15
    y = rng.integers(0, 10, n)
    x = np.empty((n, d), np.float32)
    for s in range(0, n, 65536):
        x[s:s + 65536] = centres[y[s:s + 65536]] + rng.standard_normal((min(65536, n - s), d),
                                                                        dtype=np.float32)
    return x, y


def write_store(path: Path, x: np.ndarray, y: np.ndarray, rows: int) -> None:
    """A complete warpnet feature store (the layout ``warpnet features --out`` writes)."""
    import zarr

    from warpnet.cli._feature_store import STORE_FORMAT

    group = zarr.open_group(str(path), mode="w", attributes={
        "format": STORE_FORMAT, "complete": True, "features": "synthetic", "seed": 0,
        "class_names": [str(c) for c in range(10)]})
    arr = group.create_array("x", shape=x.shape, chunks=(rows, x.shape[1]), dtype="float32",
                             fill_value=np.nan)
    for s in range(0, len(x), 16 * rows):
        arr[s:s + 16 * rows] = x[s:s + 16 * rows]
    group.create_array("y", shape=y.shape, dtype="int64")[...] = y


def run(data: str, out: Path, epochs: int, hidden: int) -> dict:
    """One training run in a fresh process: its peak RSS (MiB) and epoch seconds."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    argv = [sys.executable, "-c",
            "import sys; from warpnet.cli import main; code = main(sys.argv[1:]); "
            "print('maxrss_kib', open('/proc/self/status').read().split('VmHWM:')[1].split()[0]); "
            "sys.exit(code)",
            "train", "--data", data, "--out", str(out), "--epochs", str(epochs), "--hidden",
            str(hidden), "--batch-size", "200", "-q"]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{data}: exit {done.returncode}: {done.stderr.strip()}")
    rss = int(done.stdout.split("maxrss_kib")[-1].split()[0]) / 1024
    history = json.loads((out / "history.json").read_text())
    records = history["records"] if isinstance(history, dict) else history
    return {"rss": rss, "epochs": [r["seconds"] for r in records], "wall": wall,
            "line": done.stdout.strip().splitlines()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--chunk", type=int, default=1024, help="rows per Zarr chunk")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        x, y = make_data(args.rows, args.dim)
        write_store(folder / "f.zarr", x, y, args.chunk)
        np.savez(folder / "f.npz", x=x, y=y, class_names=np.array([str(c) for c in range(10)]))
        print(f"{args.rows} x {args.dim} float32 = {x.nbytes / 2**20:.0f} MiB; chunks of "
              f"{args.chunk} rows; load average {os.getloadavg()}")
        del x, y
        sides = {"zarr (block by block)": f"zarr:{folder / 'f.zarr'}",
                 "npz (in memory)": f"npz:{folder / 'f.npz'}"}
        results: dict[str, list[dict]] = {k: [] for k in sides}
        for r in range(args.rounds):
            for name, data in sides.items():
                res = run(data, folder / f"run-{r}-{name[:4]}", args.epochs, args.hidden)
                results[name].append(res)
                print(f"round {r + 1} {name:22s} peak RSS {res['rss']:7.0f} MiB  epochs "
                      + " ".join(f"{s:.2f}s" for s in res["epochs"])
                      + f"  wall {res['wall']:.1f}s  | {res['line']}", flush=True)
        zarr_rss = statistics.median(r["rss"] for r in results["zarr (block by block)"])
        mem_rss = statistics.median(r["rss"] for r in results["npz (in memory)"])
        zarr_ep = statistics.median(s for r in results["zarr (block by block)"] for s in r["epochs"])
        mem_ep = statistics.median(s for r in results["npz (in memory)"] for s in r["epochs"])
        print(f"median peak RSS: zarr {zarr_rss:.0f} MiB, in memory {mem_rss:.0f} MiB "
              f"(ratio {zarr_rss / mem_rss:.2f})")
        print(f"median epoch: zarr {zarr_ep:.2f}s, in memory {mem_ep:.2f}s "
              f"(ratio {zarr_ep / mem_ep:.2f}); load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
