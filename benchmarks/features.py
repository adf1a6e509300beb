"""Time warpnet.features against per-image scikit-image and OpenCV loops; print ratios.

    python benchmarks/features.py [--quick]

Every ratio in the table is measured in this one run (best of a few repeats), so
machine load affects both sides alike. Real CIFAR-10 images from
../shared/data/cifar10 (or $WARPNET_CIFAR10) are used when present, random images
otherwise; the 320x240 images are crops of scikit-image's sample photographs.
Slow per-image baselines run on a subset and are scaled to images per second.

warpnet runs with its default ``n_jobs=None`` (one thread per available CPU;
the table says how many); the peers run as they are normally used: scikit-image
one image at a time on one thread, OpenCV one image at a time with its own
default thread pool.
"""

from __future__ import annotations

import argparse
import glob
import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from warpnet.features import HOG, BagOfWords, ColorHistogram, _hog
from warpnet.features._parallel import effective_n_jobs

ROOT = Path(__file__).resolve().parents[1]
CIFAR = Path(os.environ.get("WARPNET_CIFAR10", ROOT.parent / "shared" / "data" / "cifar10"))


def best_time(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def load_rgb(n: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    files = sorted(glob.glob(str(CIFAR / "train_*.npz")))
    if files:
        parts, total = [], 0
        for f in files:
            with np.load(f) as z:
                parts.append(z["x"])
            total += len(parts[-1])
            if total >= n:
                break
        x = np.concatenate(parts)
        if len(x) >= n:
            return np.ascontiguousarray(x[:n]), "CIFAR-10"
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), "random"


def gray_of(rgb: np.ndarray) -> np.ndarray:
    return np.rint(rgb @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)


def large_gray(n: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    try:
        from skimage import data
    except ImportError:
        return rng.integers(0, 256, (n, 240, 320), dtype=np.uint8), "random"
    photos = [data.camera(), gray_of(data.astronaut()), gray_of(data.coffee()),
              gray_of(data.chelsea()), gray_of(data.rocket())]
    out = np.empty((n, 240, 320), dtype=np.uint8)
    for i in range(n):
        p = photos[i % len(photos)]
        r = rng.integers(0, p.shape[0] - 240 + 1)
        c = rng.integers(0, p.shape[1] - 320 + 1)
        out[i] = p[r : r + 240, c : c + 320]
    return out, "photo crops"


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, task: str, n: int, ours: float, peers: dict[str, float | None],
            threads: int | str = "BLAS") -> None:
        cells = [task, f"{n:,}", str(threads), f"{n / ours:,.0f}"]
        for name in ("skimage", "OpenCV", "loop"):
            t = peers.get(name)
            cells += ["-", "-"] if t is None else [f"{n / t:,.0f}", f"{t / ours:.1f}x"]
        self.rows.append(tuple(cells))

    def show(self) -> None:
        head = ("task", "images", "threads", "warpnet img/s", "skimage img/s", "vs skimage",
                "OpenCV img/s", "vs OpenCV", "loop img/s", "vs loop")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(len(head))]
        for r in [head, tuple("-" * w for w in widths), *self.rows]:
            cells = zip(r, widths, strict=True)
            print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells)))


def bench_hog(table: Table, images: np.ndarray, label: str, sk_subset: int, repeats: int) -> None:
    import cv2
    from skimage.feature import hog

    n, H, W = images.shape[:3]
    axis = -1 if images.ndim == 4 else None  # colour: strongest-gradient channel, both sides
    sub = images[:sk_subset]
    for b in (1, 3):
        est = HOG(orientations=9, pixels_per_cell=8, cells_per_block=b).fit(images[:1])
        ours = best_time(lambda est=est: est.transform(images), repeats)
        sk = best_time(
            lambda b=b: [hog(im, 9, (8, 8), (b, b), "L2-Hys", channel_axis=axis) for im in sub],
            1,
        ) * n / len(sub)
        desc = cv2.HOGDescriptor((W, H), (8 * b, 8 * b), (8, 8), (8, 8), 9)
        cv = best_time(lambda desc=desc: [desc.compute(im) for im in images], repeats)
        table.add(f"HOG {W}x{H} blocks {b}x{b} ({label})", n, ours, {"skimage": sk, "OpenCV": cv},
                  est._n_threads())


def bench_hue(table: Table, rgb: np.ndarray, label: str, repeats: int) -> str:
    import cv2
    from skimage.color import rgb2hsv

    n = len(rgb)
    est = ColorHistogram(bins=10).fit(rgb[:1])
    first = best_time(lambda: est.transform(rgb), 1)  # may build the colour table
    ours = best_time(lambda: est.transform(rgb), repeats)
    edges = np.linspace(0, 255, 11)
    sub = rgb[: max(1, n // 10)]

    def skimage_loop() -> None:
        for im in sub:
            np.histogram(rgb2hsv(im)[..., 0] * 255, bins=edges, density=True)

    sk = best_time(skimage_loop, 1) * n / len(sub)

    def opencv_loop() -> None:
        for im in rgb:
            hsv = cv2.cvtColor(im, cv2.COLOR_RGB2HSV)  # uint8 hue is 0..179
            cv2.calcHist([hsv], [0], None, [10], [0, 180])

    cv = best_time(opencv_loop, repeats)
    table.add(f"hue histogram 32x32 ({label})", n, ours, {"skimage": sk, "OpenCV": cv},
              est._n_threads())
    return (f"hue histogram, first call of the process (includes the one-off colour table): "
            f"{n / first:,.0f} img/s")


def bench_bow(table: Table, rgb: np.ndarray, label: str, n_patches: int) -> str:
    from numpy.lib.stride_tricks import sliding_window_view

    n = len(rgb)
    start = time.perf_counter()
    bow = BagOfWords(n_words=256, n_patches=n_patches, random_state=0).fit(rgb)
    fit_s = time.perf_counter() - start
    ours = best_time(lambda: bow.transform(rgb), 2)
    C = bow.codebook_.astype(np.float64)
    sub = rgb[: max(1, n // 10)]

    def per_image_loop() -> None:  # the direct version: one image, broadcast distances
        for im in sub:
            w = sliding_window_view(im, (8, 8), axis=(0, 1))[::4, ::4]
            x = np.moveaxis(w, 2, -1).reshape(-1, 192).astype(np.float64)
            x = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 10)
            words = np.linalg.norm(x[:, None] - C[None], axis=2).argmin(1)
            np.bincount(words, minlength=256) / len(words)

    loop = best_time(per_image_loop, 1) * n / len(sub)
    table.add(f"BoW encode 256 words ({label})", n, ours, {"loop": loop})
    return f"BoW codebook: {n_patches:,} patches, 256 words, MiniBatchKMeans: {fit_s:.1f} s"


def peak_memory(rgb: np.ndarray) -> str:
    hog = HOG(cells_per_block=3).fit(rgb[:1])
    hue = ColorHistogram().fit(rgb[:1])
    lines = []
    for name, est in (("HOG 3x3 blocks (RGB)", hog), ("hue histogram", hue)):
        tracemalloc.start()
        out = est.transform(rgb)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        lines.append(
            f"peak memory, {name} on {len(rgb):,} images: {peak / 2**20:.1f} MiB allocated "
            f"(output {out.nbytes / 2**20:.1f} MiB; input {rgb.nbytes / 2**20:.1f} MiB not counted)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and repeats")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    scale = 5 if args.quick else 1
    repeats = 2 if args.quick else 3
    rgb, label = load_rgb(25_000, rng)
    small = gray_of(rgb[: 5000 // scale])
    big, big_label = large_gray(200 // scale, rng)
    table = Table()
    bench_hog(table, small, f"{label} gray", 500 // scale, repeats)
    bench_hog(table, rgb[: 5000 // scale], f"{label} RGB", 500 // scale, repeats)
    bench_hog(table, big, big_label, 10 // scale, repeats)
    hue_note = bench_hue(table, rgb[: 10_000 // scale], label, repeats)
    bow_note = bench_bow(table, rgb[: 5000 // scale], label, 100_000 // scale)
    import cv2

    print(f"warpnet.features benchmark ({os.cpu_count()} CPUs, shared with other work; "
          "best of repeats)")
    print(f"threads: warpnet as the 'threads' column (default n_jobs=None; "
          f"{effective_n_jobs(None)} CPUs available), BoW: BLAS's; scikit-image 1; "
          f"OpenCV {cv2.getNumThreads()} (its default)")
    print(f"HOG path: {_hog.backend()} (WARPNET_NUMBA=0 forces NumPy)\n")
    table.show()
    print()
    print(hue_note)
    print(bow_note)
    print(peak_memory(rgb))


if __name__ == "__main__":
    main()
