"""``BagOfWords``: histograms of visual words learned by k-means on image patches."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits

from . import _hog
from ._base import ImageTransformer
from ._validation import check_choice, check_int

DESCRIPTORS = ("pixels", "hog")
ASSIGNMENTS = ("hard", "soft")
# Contrast normalization of pixel patches, (p - mean) / sqrt(var + c), with c for the
# 0..255 scale as in Coates & Ng (2011): flat patches stay near zero instead of
# having their noise blown up.
_CONTRAST_EPS = 10.0
# HOG of a patch: 2x2 cells of half the patch, 9 orientations, one L2-Hys block (36 values).
_PATCH_HOG_ORIENTATIONS = 9
# Descriptor matrices with fewer values than this are clustered on one thread.
_SMALL_KMEANS = 4_000_000


class BagOfWords(ImageTransformer):
    """Bag of visual words: k-means codebook of patch descriptors, word histograms per image.

    ``fit`` draws ``n_patches`` patches of ``patch_size`` x ``patch_size`` pixels at
    random positions of random training images, describes each (``descriptor``),
    and clusters them with scikit-learn's ``MiniBatchKMeans`` into ``n_words``
    words (``codebook_``). ``transform`` describes every patch on a dense grid with
    step ``stride``, assigns it to words and returns, per image, ``pooling**2``
    histograms (one per cell of a ``pooling`` x ``pooling`` grid of image regions,
    by patch centre), each normalized to sum to 1 (all zeros if a region has no
    patch).

    Descriptors: ``"pixels"``: the patch's pixels (all channels), each patch minus
    its mean and divided by ``sqrt(variance + 10)`` (brightness and contrast
    normalization); ``"hog"``: the HOG of the patch (cells of ``patch_size // 2``,
    one 2x2 block, 9 orientations, L2-Hys; 36 values).

    Assignment: ``"hard"``: one vote for the nearest word; ``"soft"``: the
    "triangle" code of Coates & Ng, ``max(0, mean_k(d_k) - d_j)`` for distance
    ``d_j`` to word ``j``, a parameter-free soft vote for the nearer-than-average
    words. Nearest words come from ``|x|^2 - 2 x.c + |c|^2`` as one matrix product
    per chunk.

    Args:
        n_words: codebook size (>= 1, <= n_patches).
        patch_size: patch side in pixels (>= 2 for "hog").
        n_patches: patches drawn for k-means.
        stride: grid step of the dense patches in ``transform``.
        descriptor: "pixels" or "hog".
        assignment: "hard" or "soft".
        pooling: regions per side (1: one histogram per image, 2: quadrants).
        random_state: None, an int seed or a ``numpy.random.Generator``.
        image_shape: (H, W) or (H, W, C) to accept flattened (N, D) input.

    Output: (N, pooling**2 * n_words) float32 (float64 for float64 input).

    Raises:
        ValueError: bad parameters, patches larger than the images, and the checks
            of ``ImageTransformer.fit``; ``transform`` before ``fit`` raises
            ``NotFittedError`` (a ValueError).
    """

    _chunk_pixels = 1 << 18  # bounds the (patches, n_words) distance matrix of a chunk

    def __init__(
        self,
        n_words: int = 256,
        patch_size: int = 8,
        n_patches: int = 100_000,
        stride: int = 4,
        descriptor: str = "pixels",
        assignment: str = "hard",
        pooling: int = 1,
        random_state: int | np.random.Generator | None = None,
        image_shape: tuple[int, ...] | None = None,
    ) -> None:
        self.n_words = n_words
        self.patch_size = patch_size
        self.n_patches = n_patches
        self.stride = stride
        self.descriptor = descriptor
        self.assignment = assignment
        self.pooling = pooling
        self.random_state = random_state
        self.image_shape = image_shape

    # -- parameters --------------------------------------------------------------
    def _check_params(self) -> None:
        check_int(self.n_words, "n_words", 1)
        check_int(self.patch_size, "patch_size", 2 if self.descriptor == "hog" else 1)
        check_int(self.n_patches, "n_patches", 1)
        check_int(self.stride, "stride", 1)
        check_int(self.pooling, "pooling", 1)
        check_choice(self.descriptor, "descriptor", DESCRIPTORS)
        check_choice(self.assignment, "assignment", ASSIGNMENTS)
        if self.n_patches < self.n_words:
            raise ValueError(
                f"n_patches ({self.n_patches}) must be >= n_words ({self.n_words}): "
                "k-means needs at least one patch per word"
            )
        if self.random_state is not None and not isinstance(
            self.random_state, (int, np.integer, np.random.Generator)
        ):
            raise ValueError(
                "random_state must be None, an int or a numpy.random.Generator, "
                f"got {self.random_state!r}"
            )

    def _check_image_shape(self, shape: tuple[int, ...]) -> None:
        if min(shape[:2]) < self.patch_size:
            raise ValueError(
                f"patch_size={self.patch_size} is larger than the images "
                f"({shape[0]}x{shape[1]} pixels)"
            )

    def _n_outputs(self, shape: tuple[int, ...]) -> int:
        return self.pooling**2 * self.n_words

    # -- fit ---------------------------------------------------------------------
    def _fit_images(self, images: np.ndarray) -> None:
        from sklearn.cluster import MiniBatchKMeans  # the only use of sklearn.cluster

        rng = np.random.default_rng(self.random_state)
        N, H, W = images.shape[:3]
        p = self.patch_size
        idx = rng.integers(0, N, self.n_patches)
        rows = rng.integers(0, H - p + 1, self.n_patches)
        cols = rng.integers(0, W - p + 1, self.n_patches)
        offs = np.arange(p)
        # (n, p, p[, C]): fancy indexing gathers all sampled patches in one step.
        patches = images[
            idx[:, None, None], rows[:, None, None] + offs[None, :, None], cols[:, None, None] + offs
        ]
        X = self._describe(patches)
        # MiniBatchKMeans: on 100,000 CIFAR-10 patches (192 values) and 256 words it
        # reached within 1% of full KMeans' inertia (10 Lloyd iterations) at a
        # twentieth of the time. Small problems run on one OpenMP thread, where
        # thread barriers would cost more than the work.
        kmeans = MiniBatchKMeans(
            n_clusters=self.n_words,
            batch_size=1024,
            n_init=3,
            max_iter=10,  # passes over the patches; early stopping usually ends sooner
            random_state=int(rng.integers(2**31 - 1)),
        )
        with threadpool_limits(1 if X.size < _SMALL_KMEANS else None, user_api="openmp"):
            kmeans.fit(X)
        self.codebook_ = kmeans.cluster_centers_.astype(np.float32)

    # -- transform -----------------------------------------------------------------
    def _transform_chunk(self, images: np.ndarray, out: np.ndarray) -> None:
        B, H, W = images.shape[:3]
        p, s = self.patch_size, self.stride
        windows = sliding_window_view(images, (p, p), axis=(1, 2))[:, ::s, ::s]
        gr, gc = windows.shape[1:3]
        if images.ndim == 4:  # (B, gr, gc, C, p, p) -> (B, gr, gc, p, p, C)
            windows = np.moveaxis(windows, 3, -1)
        patches = windows.reshape(B * gr * gc, *windows.shape[3:])
        X = self._describe(patches)  # (B * P, D), P = gr * gc patches per image
        K, R, P = self.n_words, self.pooling**2, gr * gc
        regions = self._region_index(H, W, gr, gc)  # (P,) pooling region of each patch
        if self.assignment == "hard":
            # one vote per patch: count (image, region, word) triples with one bincount
            words = self._nearest(X).reshape(B, P)
            key = (np.arange(B)[:, None] * R + regions[None, :]) * K + words
            hist = np.bincount(key.ravel(), minlength=B * R * K).reshape(B, R, K).astype(np.float64)
        else:
            codes = self._triangle(X).reshape(B, P, K)
            one_hot = np.eye(R, dtype=codes.dtype)[regions]  # (P, R)
            hist = np.einsum("bpk,pr->brk", codes, one_hot, dtype=np.float64)
        total = hist.sum(axis=2, keepdims=True)
        np.divide(hist, total, out=hist, where=total > 0)
        out[...] = hist.reshape(B, R * K)

    def _region_index(self, H: int, W: int, gr: int, gc: int) -> np.ndarray:
        """Pooling region of each grid patch, by the position of its centre."""
        k, half = self.pooling, self.patch_size / 2
        row = np.minimum(((np.arange(gr) * self.stride + half) * k // H).astype(int), k - 1)
        col = np.minimum(((np.arange(gc) * self.stride + half) * k // W).astype(int), k - 1)
        return (row[:, None] * k + col[None, :]).ravel()

    def _describe(self, patches: np.ndarray) -> np.ndarray:
        """Descriptors (n, D) float32 of patches (n, p, p[, C])."""
        n = patches.shape[0]
        if self.descriptor == "hog":
            half = self.patch_size // 2
            cfg = _hog.HogConfig(
                _PATCH_HOG_ORIENTATIONS, (half, half), (2, 2), "L2-Hys", False, False, "max"
            )
            out = np.empty((n, _hog.feature_length(patches.shape[1:3], cfg)), dtype=np.float32)
            _hog.hog_features(patches, cfg, out)
            return out
        X = patches.reshape(n, -1).astype(np.float32)
        X -= X.mean(axis=1, keepdims=True)
        X /= np.sqrt((X * X).mean(axis=1, keepdims=True) + _CONTRAST_EPS)
        return X

    def _half_distances(self, X: np.ndarray) -> np.ndarray:
        """|c|^2 - 2 x.c for every descriptor and word (n, K): |x - c|^2 minus |x|^2."""
        C = self.codebook_
        d2 = X @ (-2.0 * C.T)  # one matrix product per chunk
        d2 += np.einsum("ij,ij->i", C, C)[None, :]
        return d2

    def _nearest(self, X: np.ndarray) -> np.ndarray:
        """Index of the nearest word of each descriptor (|x|^2 does not change it)."""
        return self._half_distances(X).argmin(axis=1)

    def _triangle(self, X: np.ndarray) -> np.ndarray:
        """Triangle code (n, K): max(0, mean_k(d_k) - d_j) with Euclidean distances d."""
        d2 = self._half_distances(X)
        d2 += np.einsum("ij,ij->i", X, X)[:, None]
        z = np.sqrt(np.maximum(d2, 0.0, out=d2), out=d2)
        return np.maximum(z.mean(axis=1, keepdims=True) - z, 0.0)
