"""Time warpnet.features against per-image scikit-image and OpenCV loops; print ratios.

    python benchmarks/features.py [--quick] [--only fisher] [--before SRC]

``--before SRC`` times the Fisher encoding of an earlier warpnet source tree beside
this one (e.g. ``git archive main src | tar -x -C /tmp/main`` and ``--before
/tmp/main/src``).

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
from threadpoolctl import threadpool_limits

from warpnet.features import (
    HOG,
    BagOfWords,
    ColorFisherVector,
    ColorHistogram,
    ColorStats,
    DenseSIFT,
    FisherVector,
    ProductQuantizer,
    _dense,
    _hog,
)
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


# -- Fisher vectors (the 2011 ImageNet system) ------------------------------------------
def large_rgb(n: int, side: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` side x side RGB crops of scikit-image's colour photographs (random when absent)."""
    try:
        from skimage import data
    except ImportError:
        return rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    out = np.empty((n, side, side, 3), dtype=np.uint8)
    for i in range(n):
        p = photos[i % len(photos)]
        r = rng.integers(0, p.shape[0] - side + 1)
        c = rng.integers(0, p.shape[1] - side + 1)
        out[i] = p[r : r + side, c : c + side]
    return out


def bench_dense_sift(table: Table, grey: np.ndarray, label: str, patch: int, repeats: int) -> None:
    """Dense SIFT against OpenCV's SIFT.compute on the same keypoint grid, image by image."""
    import cv2

    n = len(grey)
    est = DenseSIFT(patch_size=patch, step=4).fit(grey[:1])
    est.transform(grey[:2])  # loads the compiled kernel once
    ours = best_time(lambda: est.transform(grey), repeats)
    # OpenCV's spatial bin is 1.5 x the keypoint size: size = patch side / 6
    kps = [cv2.KeyPoint(float(c[1]), float(c[0]), patch / 6, 0) for c in est.centres()]
    sift = cv2.SIFT_create()
    cv = best_time(lambda: [sift.compute(im, kps) for im in grey], repeats)
    H, W = grey.shape[1:3]
    table.add(f"dense SIFT {W}x{H}, {len(kps)} patches of {patch} ({label})", n, ours,
              {"OpenCV": cv}, est._n_threads())


def memory_bandwidth(mib: int = 256) -> float:
    """Bytes per second a plain copy moves (read + write), best of 3: the machine's stream rate."""
    src = np.ones(mib << 18, dtype=np.float32)
    dst = np.empty_like(src)
    return 2 * src.nbytes / best_time(lambda: np.copyto(dst, src), 3)


def fresh_write_time(n_bytes: int, repeats: int) -> float:
    """Seconds to fill ``n_bytes`` of newly allocated memory once: what returning a new array costs.

    The OS hands out zeroed pages on first touch, so the output's bytes are written
    twice (zeros, then values) plus the faults: more than ``n_bytes`` at the copy rate.
    """
    return best_time(lambda: np.empty(n_bytes // 4, dtype=np.float32).fill(1.0), repeats)


def dense_floor(P: int, K: int, D: int, L: int, threads: int, repeats: int) -> tuple[float, float]:
    """Seconds per image of the encoding's dense steps, on one thread and on ``threads``.

    The steps no sparse trick removes, at the shapes and in the blocks (1,024
    descriptors) the encoding uses: the PCA product (L -> D), the posteriors' product
    ``[x^2, x] @ A`` (2D -> K) and ``exp`` of all P x K log-posteriors (their sum
    normalizes every posterior, so none can be skipped exactly). On ``threads``
    threads each runs its own blocks with BLAS on one thread, as the chunks do.
    """
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(0)
    rows = 1024
    d = rng.standard_normal((rows, L)).astype(np.float32)
    pca = rng.standard_normal((L, D)).astype(np.float32)
    both = rng.standard_normal((rows, 2 * D)).astype(np.float32)
    A = rng.standard_normal((2 * D, K)).astype(np.float32)
    logp = -rng.random((rows, K)).astype(np.float32) * 30
    blocks = 8

    def work(_: int = 0) -> None:
        out = np.empty((rows, K), dtype=np.float32)
        for _ in range(blocks):
            d @ pca
            np.matmul(both, A, out=out)
            np.exp(logp, out=out)

    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        one = best_time(work, repeats)
        many = best_time(lambda: list(pool.map(work, range(threads))), repeats)
    per_row = one / (blocks * rows)
    return P * per_row, P * many / (threads * blocks * rows)


# Times the encoding of an earlier warpnet (its source tree first on PYTHONPATH) in a
# fresh process: argv = npz of descriptors and mixture, comma-separated n_jobs, repeats.
_BEFORE_SCRIPT = r"""
import json, sys, time
import numpy as np
from warpnet.features import DenseSIFT, FisherVector
z = np.load(sys.argv[1])
shape = tuple(int(s) for s in z["shape"])
fv = FisherVector(n_components=len(z["w"]), pca_components=z["m"].shape[1], regions=((1, 1),),
                  descriptor=DenseSIFT(patch_size=int(z["patch"]), step=4))
fv.weights_, fv.means_, fv.variances_, fv.pca_mean_, fv.pca_components_ = (
    z[k] for k in ("w", "m", "v", "pm", "pc"))
fv.image_shape_ = shape
fv._restore_state("before")
fv.n_features_in_ = int(np.prod(shape))
fv._n_features_out = fv._n_outputs(shape)
desc = z["desc"]
fv.encode(desc[:1])
times = {}
for jobs in sys.argv[2].split(","):
    fv.set_params(n_jobs=int(jobs))
    best = float("inf")
    for _ in range(int(sys.argv[3])):
        start = time.perf_counter()
        fv.encode(desc)
        best = min(best, time.perf_counter() - start)
    times[jobs] = best
print(json.dumps(times))
"""


def bench_fisher_encoding(table: Table, rgb: np.ndarray, label: str, repeats: int,
                          patch: int = 16, sk_share: int = 20, rounds: int = 3,
                          before: Path | None = None) -> str:
    """Fisher encoding of the same descriptors with the same mixture: batched vs per image.

    Both sides get the same PCA-64 dense-SIFT descriptors and the same K=256 mixture.
    scikit-image runs as it is normally used (``fisher_vector`` per image, BLAS with its own
    threads); ours with one thread and with the threads the machine lends, "after" (this
    tree) and "before": the encoding of the warpnet source tree ``before`` (its ``src``
    folder, e.g. ``git archive main src`` unpacked) timed in a fresh process, or, without
    it, this tree's plain NumPy formula (compiled kernels off). Alternating rounds; the
    ratios are per round (min-max) and of the best times. The notes give the floors: memory
    (the output written once, the descriptors read once, at the rate of a plain copy) and
    the dense steps (``dense_floor``), both measured in this run, against the 50x target.
    """
    import contextlib
    import json
    import subprocess
    import sys
    import tempfile

    from skimage.feature import fisher_vector
    from sklearn.mixture import GaussianMixture

    from warpnet import _numba
    from warpnet.features import _fisher
    from warpnet.features.fisher import _CHUNK_POSTERIORS

    n = len(rgb)
    start = time.perf_counter()
    fv = FisherVector(n_components=256, pca_components=64, regions=((1, 1),), max_iter=10,
                      descriptor=DenseSIFT(patch_size=patch, step=4),
                      n_descriptors=50_000, random_state=0).fit(rgb)
    fit_s = time.perf_counter() - start
    desc, _ = fv.descriptor_.describe(rgb)  # (n, P, 128): both sides encode these
    fv.encode(desc[:1])  # loads the compiled kernels once
    projected = fv._project(desc.astype(np.float64))  # scikit-image gets them projected
    gmm = GaussianMixture(256, covariance_type="diag")
    gmm.weights_ = fv.weights_.astype(np.float64)
    gmm.means_ = fv.means_.astype(np.float64)
    gmm.covariances_ = fv.variances_.astype(np.float64)
    gmm.precisions_cholesky_ = 1 / np.sqrt(gmm.covariances_)
    sub = projected[: max(1, n // sk_share)]
    threads = fv._n_threads()
    jobs = (1, threads) if threads > 1 else (1,)
    tmp = tempfile.TemporaryDirectory()
    saved = Path(tmp.name) / "fisher.npz"
    np.savez(saved, desc=desc, w=fv.weights_, m=fv.means_, v=fv.variances_, pm=fv.pca_mean_,
             pc=fv.pca_components_, shape=np.array(fv.image_shape_), patch=np.array(patch))
    before_name = "before" if before is not None else "NumPy "

    def ours(plain: bool) -> dict[int, float]:
        result = {}
        with _numba.numpy_path(_fisher._COMPILED) if plain else contextlib.nullcontext():
            for j in jobs:
                fv.set_params(n_jobs=j)
                result[j] = best_time(lambda: fv.encode(desc), repeats)
        fv.set_params(n_jobs=None)
        return result

    def theirs() -> dict[int, float]:
        env = dict(os.environ, PYTHONPATH=str(before))
        run = subprocess.run([sys.executable, "-c", _BEFORE_SCRIPT, str(saved),
                              ",".join(map(str, jobs)), str(repeats)],
                             env=env, capture_output=True, text=True, check=True)
        return {int(j): t for j, t in json.loads(run.stdout.splitlines()[-1]).items()}

    times: dict[tuple[str, int] | str, list[float]] = {"sk": []}
    for _ in range(rounds):  # alternating rounds: load changes hit every side alike
        times["sk"].append(best_time(lambda: [fisher_vector(d, gmm) for d in sub], 1) * n / len(sub))
        for side, result in (("after ", ours(False)),
                             (before_name, theirs() if before is not None else ours(True))):
            for j, t in result.items():
                times.setdefault((side, j), []).append(t)
    tmp.cleanup()
    sk = min(times["sk"])
    sk_post = best_time(lambda: [gmm.predict_proba(d) for d in sub], 1) * n / len(sub)
    P = desc.shape[1]
    x32 = fv._project(desc.astype(np.float32)).reshape(-1, 64)
    mixture = [a.astype(np.float32) for a in (fv.weights_, fv.means_, fv.variances_)]
    nb = _numba.kernels(_fisher._COMPILED)
    if nb is not None:  # the sparse posteriors the encoding uses (not scattered into (n, K))
        terms = _fisher._mixture_terms(*mixture)
        with threadpool_limits(1, user_api="blas"):
            rows = P * max(1, _CHUNK_POSTERIORS // (P * 256))  # a chunk of the encoding
            post = best_time(lambda: [_fisher._sparse_posteriors(nb, x32[i : i + rows], *terms)
                                      for i in range(0, len(x32), rows)], repeats)
    else:
        with threadpool_limits(1, user_api="blas"):
            post = best_time(lambda: _fisher.posteriors(x32, *mixture), repeats)
    kept = float((_fisher.posteriors(x32[: 100 * P], *mixture) > 0).mean())
    H, W = rgb.shape[1:3]
    table.add(f"Fisher encoding K=256 D=64, {P} descriptors/img ({W}x{H} {label})", n,
              min(times[("after ", threads)]), {"skimage": sk}, threads)
    bw = memory_bandwidth()
    out_bytes = fv._n_features_out * 4
    floor_out = 1e3 * out_bytes / bw  # ms per image
    floor_all = 1e3 * (out_bytes + desc[0].nbytes) / bw
    floor_fresh = 1e3 * fresh_write_time(n * out_bytes, repeats) / n + floor_all - floor_out
    target = 1e3 * sk / n / 50
    lines = [f"Fisher encoding, {P} descriptors per {W}x{H} image (fit: describe, PCA 128->64, "
             f"GaussianMixture K=256 on 50,000 descriptors, 10 EM steps: {fit_s:.1f} s); "
             f"scikit-image {1e3 * sk / n:.2f} ms/img, of which predict_proba {1e3 * sk_post / n:.2f} ms; "
             f"before = {before if before is not None else 'the plain NumPy formula'}"]
    for side in ("after ", before_name):
        for j in jobs:
            t = times[(side, j)]
            per_round = [a / b for a, b in zip(times["sk"], t, strict=True)]
            lines.append(f"  ours {side} {j} thread{'s' * (j > 1)}: {1e3 * min(t) / n:.3f} ms/img = "
                         f"{sk / min(t):.1f}x scikit-image (rounds {min(per_round):.1f}-"
                         f"{max(per_round):.1f}x)")
    lines.append(f"  of which the posteriors (after, one thread): {1e3 * post / n:.3f} ms/img; "
                 f"{100 * kept:.1f}% of them are kept (>= the floor {_fisher.POSTERIOR_FLOOR:g})")
    lines.append(f"  50x target {target:.3f} ms/img; memory floor at {bw / 1e9:.1f} GB/s (copy): "
                 f"output {out_bytes / 1024:.0f} KiB/img written once {floor_out:.3f} ms, with the "
                 f"descriptors read once {floor_all:.3f} ms = {sk / n / (floor_all / 1e3):.0f}x; "
                 f"into a new array (zeroed pages first, as the encoding's output) {floor_fresh:.3f} ms "
                 f"= {sk / n / (floor_fresh / 1e3):.0f}x: "
                 + ("50x is below the floor" if target < floor_fresh else "50x is above the floor"))
    one, many = dense_floor(P, 256, 64, 128, threads, repeats)
    mflop = 2 * P * (128 * 64 + 2 * 64 * 256) / 1e6
    lines.append(
        f"  compute floor (the dense steps: PCA and posterior products, {mflop:.0f} MFLOP/img, and exp "
        f"of {P * 256:,} log-posteriors/img; the statistics read only the kept posteriors, "
        f"{P * kept * 256:.0f}/img x 3 x 64 multiply-adds, so they are left out): {1e3 * one:.3f} ms "
        f"on one thread = {sk / n / one:.0f}x, {1e3 * many:.3f} ms on {threads} = {sk / n / many:.0f}x "
        f"scikit-image: " + ("50x is below this floor" if target < 1e3 * many else "50x is above it"))
    return "\n".join(lines)


def bench_imagenet_configuration(n: int, pq_rows: int) -> str:
    """The 2011 ImageNet configuration on 256x256 images: images/s, bytes stored, peak memory.

    N = 1,024 Gaussians, 64 dimensions after PCA, R = 4 regions, SIFT and colour
    (patches of 16, 24 and 32 pixels every 4 pixels: 11,163 per image), product
    quantization with 8 values per sub-vector at 1 bit per value (one Lloyd step: the
    codebooks' quality does not change the speed either). The mixtures are
    fitted on a small sample (their quality does not change the speed); the product
    quantizers are fitted on Fisher vectors of ``pq_rows`` 64x64 crops (the vector's
    length does not depend on the image size).
    """
    rng = np.random.default_rng(1)
    images = large_rgb(n, 256, rng)
    small = large_rgb(pq_rows, 64, rng)
    scales = (16, 24, 32)
    lines, stored, timing = [], 0, 0.0
    systems = ((FisherVector, DenseSIFT(16, 4, scales)), (ColorFisherVector, ColorStats(16, 4, scales)))
    for cls, desc in systems:
        kw = dict(n_components=1024, pca_components=64, regions=((1, 1), (1, 3)), descriptor=desc,
                  n_descriptors=20_000, max_iter=5, random_state=0)
        fv = cls(**kw).fit(images[:4])
        fv_small = cls(**kw)  # the same fitted pieces, for 64x64 images (as a model file sets them)
        for attr in ("pca_mean_", "pca_components_", "weights_", "means_", "variances_"):
            setattr(fv_small, attr, getattr(fv, attr))
        fv_small.image_shape_ = small.shape[1:]
        fv_small._restore_state("small")
        fv_small._n_features_out = fv._n_features_out
        start = time.perf_counter()
        pq = ProductQuantizer(sub_dim=8, bits_per_value=1, n_samples=pq_rows, max_iter=1,
                              random_state=0).fit(fv_small.transform(small))
        pq_fit = time.perf_counter() - start
        fv.transform(images[:1])
        tracemalloc.start()
        start = time.perf_counter()
        store = pq.compress(fv.transform(images[i : i + 2]) for i in range(0, n, 2))
        timing += time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        stored += store.nbytes
        P = fv.descriptor_._n_patches(fv.image_shape_)
        lines.append(
            f"  {type(desc).__name__}: {P:,} patches/img, Fisher vector of {store.shape[1]:,} values "
            f"({store.shape[1] * 4 / 2**20:.1f} MiB float32) -> {store.nbytes // n:,} bytes; "
            f"peak memory while encoding and compressing {peak / 2**20:.0f} MiB; product "
            f"quantizer: {pq.codebooks_.nbytes / 2**20:.0f} MiB of codebooks, fitted in {pq_fit:.0f} s"
        )
    return "\n".join([
        f"ImageNet configuration (K=1024, D=64, R=4, SIFT + colour, 1 bit/value) on {n} "
        f"256x256 photo crops: {n / timing:.2f} images/s (both descriptors, encoding and "
        f"compression; {effective_n_jobs(None)} threads), {stored / n / 1024:.0f} KiB stored "
        f"per image",
        *lines,
    ])


def fisher_rows(table: Table, rgb: np.ndarray, label: str, scale: int, repeats: int,
                before: Path | None = None) -> list[str]:
    """The rows of the 2011 system: dense SIFT vs OpenCV, Fisher encoding vs scikit-image."""
    rng = np.random.default_rng(2)
    bench_dense_sift(table, gray_of(rgb[: 5000 // scale]), label, 16, repeats)
    photos = gray_of(large_rgb(40 // scale, 256, rng))
    bench_dense_sift(table, photos, "photo crops", 16, repeats)
    notes = [bench_fisher_encoding(table, rgb[: 5000 // scale], label, repeats, before=before)]
    # the realistic case: 256x256 photos, 3,721 descriptors per image
    notes.append(bench_fisher_encoding(table, large_rgb(40 // scale, 256, rng), "photo crops",
                                       repeats, sk_share=4, before=before))
    notes.append(bench_imagenet_configuration(16 // scale, 256))
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and repeats")
    parser.add_argument("--only", choices=("all", "fisher"), default="all",
                        help="run every row (default) or only the Fisher-vector system's")
    parser.add_argument("--before", type=Path, default=None, metavar="SRC",
                        help="the src folder of an earlier warpnet: its Fisher encoding is timed "
                             "beside this one (default: this tree's plain NumPy path)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    scale = 5 if args.quick else 1
    repeats = 2 if args.quick else 3
    rgb, label = load_rgb(25_000, rng)
    small = gray_of(rgb[: 5000 // scale])
    big, big_label = large_gray(200 // scale, rng)
    table = Table()
    notes = []
    load = os.getloadavg()
    if args.only == "all":
        bench_hog(table, small, f"{label} gray", 500 // scale, repeats)
        bench_hog(table, rgb[: 5000 // scale], f"{label} RGB", 500 // scale, repeats)
        bench_hog(table, big, big_label, 10 // scale, repeats)
        notes.append(bench_hue(table, rgb[: 10_000 // scale], label, repeats))
        notes.append(bench_bow(table, rgb[: 5000 // scale], label, 100_000 // scale))
    notes += fisher_rows(table, rgb, label, scale, repeats, args.before)
    import cv2

    print(f"warpnet.features benchmark ({os.cpu_count()} CPUs, shared with other work; "
          "best of repeats)")
    print("load average (1, 5, 15 min) at the start: " + ", ".join(f"{v:.2f}" for v in load)
          + "; at the end: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    print(f"threads: warpnet as the 'threads' column (default n_jobs=None; "
          f"{effective_n_jobs(None)} CPUs available), BoW: BLAS's; scikit-image 1; "
          f"OpenCV {cv2.getNumThreads()} (its default)")
    print(f"HOG path: {_hog.backend()}, dense SIFT orientations: {_dense.backend()} "
          "(WARPNET_NUMBA=0 forces NumPy)\n")
    table.show()
    print()
    print("\n".join(notes))
    if args.only == "all":
        print(peak_memory(rgb))


if __name__ == "__main__":
    main()
