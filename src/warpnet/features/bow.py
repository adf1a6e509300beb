"""``BagOfWords``: histograms of visual words learned by k-means on image patches."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits

from .. import _numba
from ..checks import check_choice, check_int
from . import _hog
from ._base import ImageTransformer

DESCRIPTORS = ("pixels", "hog")
ENCODINGS = ("hard", "triangle")
#: Named pooling grids: "quadrants" is the 2x2 grid of Coates & Ng.
POOLINGS = {"none": 1, "quadrants": 2}
# Contrast normalization of pixel patches, (p - mean) / sqrt(var + c), with c for the
# 0..255 scale as in Coates & Ng (2011): flat patches stay near zero instead of
# having their noise blown up.
_CONTRAST_EPS = 10.0
# ZCA whitening P = V diag(1 / sqrt(lambda + eps)) V^T of contrast-normalized patches: eps = 0.1
# (Coates & Ng) keeps the noisiest, near-zero-variance directions from being amplified.
_ZCA_EPS = 0.1
# HOG of a patch: 2x2 cells of half the patch, 9 orientations, one L2-Hys block (36 values).
_PATCH_HOG_ORIENTATIONS = 9
# Descriptor matrices with fewer values than this are clustered on one thread.
_SMALL_KMEANS = 4_000_000
# k-means++ seeding costs grow with the square of the codebook: on 100,000 whitened 6x6 RGB
# patches, MiniBatchKMeans with 1,600 words spent 52 s seeding with k-means++ and 4.5 s in all
# with seeds drawn at random among the patches (Coates & Ng seed at random too). Larger
# codebooks than this are seeded at random.
_KMEANS_PP_MAX_WORDS = 256

# The compiled kernel of triangle codes, used where ``_numba.kernels`` finds it.
_COMPILED = "warpnet.features._bow_numba"


class BagOfWords(ImageTransformer):
    """Bag of visual words: k-means codebook of patch descriptors, word counts per image region.

    ``fit`` draws ``n_patches`` patches of ``patch_size`` x ``patch_size`` pixels at
    random positions of random training images, describes each (``descriptor``),
    optionally ZCA-whitens them (``whiten``) and clusters them with scikit-learn's
    ``MiniBatchKMeans`` into ``n_words`` words (``codebook_``). ``transform``
    describes every patch on a dense grid with step ``stride``, encodes it against
    the words (``encoding``) and sums the codes over each cell of a ``k`` x ``k``
    grid of image regions (``pooling``; a patch belongs to the region of its
    centre). With ``normalize=True`` each region's sum is divided by its total
    (a histogram summing to 1; all zeros if a region has no patch), otherwise the
    sums are returned as they are (sum pooling).

    Descriptors: ``"pixels"``: the patch's pixels (all channels), each patch minus
    its mean and divided by ``sqrt(variance + 10)`` (brightness and contrast
    normalization); ``"hog"``: the HOG of the patch (cells of ``patch_size // 2``,
    one 2x2 block, 9 orientations, L2-Hys; 36 values).

    Whitening: ``x -> (x - m) P`` with the descriptors' mean ``m`` and
    ``P = V diag(1 / sqrt(lambda + 0.1)) V^T`` from the eigendecomposition of their
    covariance (ZCA), learned on the sampled patches; the codebook lives in the
    whitened space.

    Encoding: ``"hard"``: one vote for the nearest word; ``"triangle"``: the code of
    Coates & Ng, ``max(0, mean_k(z_k) - z_j)`` for the Euclidean distance ``z_j`` to
    word ``j``, a parameter-free soft vote for the nearer-than-average words.
    Distances come from ``|x|^2 - 2 x.c + |c|^2`` as one float32 matrix product per
    chunk of images.

    ``BagOfWords(patch_size=6, stride=1, whiten=True, encoding="triangle",
    pooling="quadrants", normalize=False, n_words=1600)`` is the single-layer k-means
    network of Coates, Lee & Ng (2011) (``KMeansTriangle`` has these defaults).

    Args:
        n_words: codebook size (>= 1, <= n_patches).
        patch_size: patch side in pixels (>= 2 for "hog").
        n_patches: patches drawn for k-means.
        stride: grid step of the dense patches in ``transform``.
        descriptor: "pixels" or "hog".
        encoding: "hard" or "triangle".
        pooling: regions per side, an int >= 1, or "none" (1) or "quadrants" (2).
        whiten: ZCA-whiten the descriptors before k-means and encoding.
        normalize: divide each region's pooled codes by their sum.
        random_state: None, an int seed or a ``numpy.random.Generator``.
        image_shape: (H, W) or (H, W, C) to accept flattened (N, D) input.

    Fitted attributes: ``codebook_`` (n_words, D) float32; ``zca_mean_`` (D,) and
    ``zca_matrix_`` (D, D) float32 with ``whiten=True`` (shapes (0,) and (0, 0) without).

    Output: (N, k**2 * n_words) float32 (float64 for float64 input).

    Raises:
        ValueError: bad parameters, patches larger than the images, and the checks
            of ``ImageTransformer.fit``; ``transform`` before ``fit`` raises
            ``NotFittedError`` (a ValueError).
    """

    # Bounds the (patches, n_words) distance matrix of a chunk: 2**16 pixels are 64 images of
    # 32x32, i.e. 46,656 patches of 6x6 at stride 1 (300 MB of float32 distances at 1,600 words).
    _chunk_pixels = 1 << 16
    _fit_indexes_images = True  # a Dask fit loads only the images of the drawn patches

    def __init__(
        self,
        n_words: int = 256,
        patch_size: int = 8,
        n_patches: int = 100_000,
        stride: int = 4,
        descriptor: str = "pixels",
        encoding: str = "hard",
        pooling: int | str = 1,
        whiten: bool = False,
        normalize: bool = True,
        random_state: int | np.random.Generator | None = None,
        image_shape: tuple[int, ...] | None = None,
    ) -> None:
        self.n_words = n_words
        self.patch_size = patch_size
        self.n_patches = n_patches
        self.stride = stride
        self.descriptor = descriptor
        self.encoding = encoding
        self.pooling = pooling
        self.whiten = whiten
        self.normalize = normalize
        self.random_state = random_state
        self.image_shape = image_shape

    # -- parameters --------------------------------------------------------------
    def _check_params(self) -> None:
        check_int(self.n_words, "n_words", 1)
        check_int(self.patch_size, "patch_size", 2 if self.descriptor == "hog" else 1)
        check_int(self.n_patches, "n_patches", 1)
        check_int(self.stride, "stride", 1)
        if isinstance(self.pooling, str):
            check_choice(self.pooling, "pooling", tuple(POOLINGS))
        else:
            check_int(self.pooling, "pooling", 1)
        check_choice(self.descriptor, "descriptor", DESCRIPTORS)
        check_choice(self.encoding, "encoding", ENCODINGS)
        for name in ("whiten", "normalize"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
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

    def _grid(self) -> int:
        """Regions per side of the pooling grid."""
        return POOLINGS[self.pooling] if isinstance(self.pooling, str) else int(self.pooling)

    def _check_image_shape(self, shape: tuple[int, ...]) -> None:
        if min(shape[:2]) < self.patch_size:
            raise ValueError(
                f"patch_size={self.patch_size} is larger than the images "
                f"({shape[0]}x{shape[1]} pixels)"
            )

    def _n_outputs(self, shape: tuple[int, ...]) -> int:
        return self._grid() ** 2 * self.n_words

    def _descriptor_length(self, shape: tuple[int, ...]) -> int:
        """Values per descriptor (D) for images of ``shape`` (H, W[, C])."""
        if self.descriptor == "hog":
            return 4 * _PATCH_HOG_ORIENTATIONS
        return self.patch_size**2 * (shape[2] if len(shape) == 3 else 1)

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
        source = images
        if not isinstance(images, np.ndarray):  # a Dask array's LazyImages: load the drawn ones
            used, idx = np.unique(idx, return_inverse=True)
            source = images[used]
        # (n, p, p[, C]): fancy indexing gathers all sampled patches in one step.
        patches = source[
            idx[:, None, None], rows[:, None, None] + offs[None, :, None], cols[:, None, None] + offs
        ]
        X = self._describe(patches)
        D = X.shape[1]
        if self.whiten:
            self.zca_mean_, self.zca_matrix_ = _zca(X)
            X = (X - self.zca_mean_) @ self.zca_matrix_
        else:
            self.zca_mean_ = np.zeros(0, dtype=np.float32)
            self.zca_matrix_ = np.zeros((0, 0), dtype=np.float32)
        # MiniBatchKMeans: on 100,000 CIFAR-10 patches (192 values) and 256 words it
        # reached within 1% of full KMeans' inertia (10 Lloyd iterations) at a
        # twentieth of the time. Small problems run on one OpenMP thread, where
        # thread barriers would cost more than the work.
        kmeans = MiniBatchKMeans(
            n_clusters=self.n_words,
            batch_size=max(1024, 2 * self.n_words),
            n_init=3,
            init="k-means++" if self.n_words <= _KMEANS_PP_MAX_WORDS else "random",
            max_iter=10,  # passes over the patches; early stopping usually ends sooner
            random_state=int(rng.integers(2**31 - 1)),
        )
        with threadpool_limits(1 if X.size < _SMALL_KMEANS else None, user_api="openmp"):
            kmeans.fit(X)
        self.codebook_ = kmeans.cluster_centers_.astype(np.float32).reshape(self.n_words, D)

    # -- transform -----------------------------------------------------------------
    def _transform_chunk(self, images: np.ndarray, out: np.ndarray) -> None:
        B, H, W = images.shape[:3]
        p, s = self.patch_size, self.stride
        windows = sliding_window_view(images, (p, p), axis=(1, 2))[:, ::s, ::s]
        gr, gc = windows.shape[1:3]
        if images.ndim == 4:  # (B, gr, gc, C, p, p) -> (B, gr, gc, p, p, C)
            windows = np.moveaxis(windows, 3, -1)
        patches = windows.reshape(B * gr * gc, *windows.shape[3:])
        X = self._encode_input(patches)  # (B * P, D), P = gr * gc patches per image
        K, k = self.n_words, self._grid()
        kernels = _numba.kernels(_COMPILED)
        if self.encoding == "triangle" and kernels is not None and not self.normalize \
                and out.dtype == np.float32:
            # compiled path: triangle codes summed per region in one pass (same numbers up to
            # float32 rounding of the sums)
            C = self.codebook_
            rows, cols = self._region_ids(H, gr), self._region_ids(W, gc)
            region = (rows[:, None] * k + cols[None, :]).ravel().astype(np.int64)
            half_d2 = X @ (-2.0 * C.T)
            pooled = np.zeros((B, k * k, K), dtype=np.float32)
            kernels.triangle_pool(half_d2, np.einsum("ij,ij->i", X, X), np.einsum("ij,ij->i", C, C),
                                  region, pooled)
            out[...] = pooled.reshape(B, k * k * K)
            return
        if self.encoding == "hard":
            codes = np.zeros((B * gr * gc, K), dtype=np.float32)
            codes[np.arange(len(X)), self._nearest(X)] = 1.0
        else:
            codes = self._triangle(X)
        # Sum the codes of each region: regions are runs of consecutive grid rows and
        # columns, so two reduceat calls add them up without a (patch, region) matrix.
        row_starts, col_starts = self._region_starts(H, gr), self._region_starts(W, gc)
        pooled = np.add.reduceat(codes.reshape(B, gr, gc, K), row_starts, axis=1)
        pooled = np.add.reduceat(pooled, col_starts, axis=2)  # (B, k_rows, k_cols, K)
        hist = np.zeros((B, k, k, K), dtype=np.float64)
        hist[:, self._region_ids(H, gr)[row_starts][:, None],
             self._region_ids(W, gc)[col_starts][None, :]] = pooled
        if self.normalize:
            total = hist.sum(axis=3, keepdims=True)
            np.divide(hist, total, out=hist, where=total > 0)
        out[...] = hist.reshape(B, k * k * K)

    def _region_ids(self, size: int, n: int) -> np.ndarray:
        """Pooling region (along one axis) of each of ``n`` grid positions, by patch centre."""
        k = self._grid()
        centres = np.arange(n) * self.stride + self.patch_size / 2
        return np.minimum((centres * k // size).astype(int), k - 1)

    def _region_starts(self, size: int, n: int) -> np.ndarray:
        """Grid positions where a new pooling region begins (regions with no patch are skipped)."""
        ids = self._region_ids(size, n)
        return np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])

    def _encode_input(self, patches: np.ndarray) -> np.ndarray:
        """Descriptors (n, D) float32 of patches (n, p, p[, C]), whitened when ``whiten``."""
        X = self._describe(patches)
        if self.whiten:
            X -= self.zca_mean_
            X = X @ self.zca_matrix_
        return X

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
        """Triangle code (n, K): max(0, mean_k(z_k) - z_j) with Euclidean distances z."""
        z = self._half_distances(X)
        z += np.einsum("ij,ij->i", X, X)[:, None]
        np.maximum(z, 0.0, out=z)  # rounding can make |x - c|^2 slightly negative
        np.sqrt(z, out=z)
        mean = z.mean(axis=1, keepdims=True)
        np.subtract(mean, z, out=z)
        return np.maximum(z, 0.0, out=z)


class KMeansTriangle(BagOfWords):
    """The single-layer k-means features of Coates, Lee & Ng (2011): ``BagOfWords`` with their
    settings as defaults.

    6x6 pixel patches at stride 1, per-patch contrast normalization, ZCA whitening, 1,600
    words, triangle encoding ``max(0, mean_k(z_k) - z_j)`` and sum pooling over the four image
    quadrants: 4 * 1,600 = 6,400 values per image. Same parameters, attributes, output and
    errors as ``BagOfWords``; the feature name is ``kmeans-triangle``.
    """

    def __init__(
        self,
        n_words: int = 1600,
        patch_size: int = 6,
        n_patches: int = 400_000,
        stride: int = 1,
        descriptor: str = "pixels",
        encoding: str = "triangle",
        pooling: int | str = "quadrants",
        whiten: bool = True,
        normalize: bool = False,
        random_state: int | np.random.Generator | None = None,
        image_shape: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__(
            n_words=n_words, patch_size=patch_size, n_patches=n_patches, stride=stride,
            descriptor=descriptor, encoding=encoding, pooling=pooling, whiten=whiten,
            normalize=normalize, random_state=random_state, image_shape=image_shape,
        )


def _zca(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ZCA whitening of descriptors X (n, D): mean (D,) and symmetric matrix P (D, D), float32.

    ``(X - mean) @ P`` has covariance ``V diag(lambda / (lambda + eps)) V^T``: close to the
    identity in the directions of high variance, shrunk in the nearly empty ones.
    """
    X64 = X.astype(np.float64)
    mean = X64.mean(axis=0)
    cov = np.cov(X64 - mean, rowvar=False).reshape(X.shape[1], X.shape[1])
    lam, V = np.linalg.eigh(cov)
    P = (V / np.sqrt(np.maximum(lam, 0.0) + _ZCA_EPS)) @ V.T
    return mean.astype(np.float32), P.astype(np.float32)
