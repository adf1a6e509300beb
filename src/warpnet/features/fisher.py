"""``FisherVector``: improved Fisher vectors of dense descriptors with a spatial layout."""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ..checks import check_choice, check_int, check_state_arrays
from . import _fisher
from ._base import ImageTransformer
from ._parallel import check_n_jobs, chunk_starts, effective_n_jobs, run_chunks
from .dense import ColorStats, DenseDescriptor, DenseSIFT

#: Fitted arrays (stored in model files): PCA, then the diagonal mixture.
STATE_ARRAYS = ("pca_mean_", "pca_components_", "weights_", "means_", "variances_")
# Posteriors per chunk: at most this many (descriptor, component) pairs, unless one
# image alone has more; 1 MiB of float32 keeps the softmax passes near the cache
# (on CIFAR-10, K=256: 1.0-1.2x the speed of 8 MiB chunks, in noisy runs).
_CHUNK_POSTERIORS = 1 << 18
# Variances a float32 encoding can take: it scales squared distances by 1 / variance, so a
# variance must keep that factor (and its square root) far from float32's 3.4e38 and 1.2e-38.
# Fitted mixtures have variances >= 1e-12 (the floor added in ``fit``).
_VARIANCE_RANGE = (1e-30, 1e30)
# How far the mixture weights may sum from 1 (float32 rounding of K weights is ~K * 6e-8).
_WEIGHTS_SUM_TOL = 1e-3


class FisherVector(ImageTransformer):
    """Improved Fisher vectors of dense SIFT (or colour) descriptors, per image region.

    The encoding of the 2011 ImageNet system (Perronnin, Sanchez et al.):

    1. ``descriptor`` (a ``DenseSIFT`` or ``ColorStats``; None: ``DenseSIFT()``)
       describes every patch of a dense grid.
    2. ``fit`` describes a random subset of the training images, samples
       ``n_descriptors`` of their descriptors, fits a PCA to ``pca_components``
       dimensions (scikit-learn's ``PCA``; None: no PCA) and a diagonal Gaussian
       mixture of ``n_components`` components (scikit-learn's ``GaussianMixture``,
       ``max_iter`` EM steps, variances floored at 1e-4 of the mean variance).
    3. ``transform`` encodes each region of each image: the gradients of the
       log-likelihood with respect to the means and the variances, 2 * K * D values
       per region in VLFeat's layout ``[u_1 .. u_K, v_1 .. v_K]`` (see
       ``_fisher``), computed for a whole chunk of images as matrix products;
       ``improved``: signed square root of every value, then each region's block
       L2-normalized to length 1. Posteriors below 1e-6 count as zero (VLFeat's
       rule), which lets the compiled path (numba) sum over the few components
       each descriptor touches.

    Regions: each level ``(nx, ny)`` of ``regions`` cuts the image into ``nx``
    columns and ``ny`` rows; a patch belongs to the cell holding its centre. The
    default ``((1, 1), (1, 3))`` is the whole image and three horizontal stripes
    (R = 4 regions), levels in order and cells row-major. The mean and variance
    parts equal ``skimage.feature.fisher_vector``'s for the same mixture, except
    that scikit-image's variance part has the opposite sign; scikit-image also
    returns the weights' part, which is left out here.

    Args:
        n_components: mixture components K (>= 1).
        pca_components: dimensions D after PCA (>= 1, at most the descriptor's
            length); None keeps the descriptors as they are.
        regions: non-empty tuple of ``(nx, ny)`` pairs of ints >= 1.
        improved: signed square root and L2 normalization per region.
        descriptor: the patch descriptor (unfitted; cloned in ``fit``).
        n_descriptors: descriptors sampled for PCA and mixture (>= n_components).
        max_iter: EM iterations of the mixture (>= 1).
        random_state: None, an int or a ``numpy.random.Generator``.
        image_shape: (H, W) or (H, W, C) to accept flattened (N, D) input.
        n_jobs: threads for ``transform`` (None: every CPU); the result is the same.

    Input: (N, H, W[, C]) images, uint8 or float (RGB for ``ColorStats``).
    Output: (N, R * 2 * K * D) float32 (float64 for float64 input). Fitted:
    ``descriptor_``, ``pca_mean_`` (L,), ``pca_components_`` (D, L), ``weights_``
    (K,), ``means_`` (K, D), ``variances_`` (K, D), all float32.

    Raises:
        ValueError: bad parameters, images smaller than a patch, regions without
            patches, ``pca_components`` larger than the descriptor, fewer
            descriptors than ``n_components``, and the checks of
            ``ImageTransformer.fit``; ``transform`` before ``fit`` raises
            ``NotFittedError`` (a ValueError); ``transform`` and ``encode`` refuse a
            fitted state (restored or set by hand) that is not a mixture float32 can
            encode, and vectors too large for the output dtype (never NaN or inf).
    """

    _default_descriptor: type[DenseDescriptor] = DenseSIFT

    _fit_indexes_images = True  # a Dask fit loads only the images it describes

    def __init__(
        self,
        n_components: int = 256,
        pca_components: int | None = 64,
        regions: tuple[tuple[int, int], ...] = ((1, 1), (1, 3)),
        improved: bool = True,
        descriptor: DenseDescriptor | None = None,
        n_descriptors: int = 100_000,
        max_iter: int = 30,
        random_state: int | np.random.Generator | None = None,
        image_shape: tuple[int, ...] | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.pca_components = pca_components
        self.regions = regions
        self.improved = improved
        self.descriptor = descriptor
        self.n_descriptors = n_descriptors
        self.max_iter = max_iter
        self.random_state = random_state
        self.image_shape = image_shape
        self.n_jobs = n_jobs

    # -- parameters --------------------------------------------------------------
    def _descriptor(self) -> DenseDescriptor:
        if self.descriptor is None:
            return self._default_descriptor()
        if not isinstance(self.descriptor, DenseDescriptor):
            raise ValueError(
                "descriptor must be None, a DenseSIFT or a ColorStats, "
                f"got {type(self.descriptor).__name__}"
            )
        return clone(self.descriptor)

    def _regions(self) -> tuple[tuple[int, int], ...]:
        try:
            levels = tuple(tuple(level) for level in self.regions)
        except TypeError:
            levels = ()
        ok = bool(levels) and all(
            len(lv) == 2 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 and v >= 1 for v in lv)
            for lv in levels
        )
        if not ok:
            raise ValueError(
                f"regions must be a non-empty tuple of (columns, rows) pairs of ints >= 1, "
                f"e.g. ((1, 1), (1, 3)), got {self.regions!r}"
            )
        return tuple((int(a), int(b)) for a, b in levels)

    def _check_params(self) -> None:
        check_int(self.n_components, "n_components", 1)
        if self.pca_components is not None:
            check_int(self.pca_components, "pca_components", 1)
        self._regions()
        check_choice(self.improved, "improved", (False, True))
        desc = self._descriptor()
        desc._check_params()
        check_int(self.n_descriptors, "n_descriptors", 1)
        if self.n_descriptors < self.n_components:
            raise ValueError(
                f"n_descriptors ({self.n_descriptors}) must be >= n_components "
                f"({self.n_components}): the mixture needs at least one descriptor per component"
            )
        if self.pca_components is not None and self.pca_components > desc.length:
            raise ValueError(
                f"pca_components={self.pca_components} is larger than the descriptor: "
                f"{type(desc).__name__} gives {desc.length} values per patch"
            )
        check_int(self.max_iter, "max_iter", 1)
        check_n_jobs(self.n_jobs)
        if self.random_state is not None and not isinstance(
            self.random_state, (int, np.integer, np.random.Generator)
        ):
            raise ValueError(
                "random_state must be None, an int or a numpy.random.Generator, "
                f"got {self.random_state!r}"
            )

    @property
    def _allow_channels(self) -> tuple[int, ...] | None:  # type: ignore[override]
        desc = self.descriptor if isinstance(self.descriptor, DenseDescriptor) else None
        return (desc or self._default_descriptor)._allow_channels

    def _check_image_shape(self, shape: tuple[int, ...]) -> None:
        desc = self._descriptor()
        desc._check_image_shape(shape)
        centres = desc._centres_for(shape)
        lay = _fisher.layout(centres, (shape[0], shape[1]), self._regions())
        if (lay.counts == 0).any():
            raise ValueError(
                f"regions={self.regions!r} leaves {int((lay.counts == 0).sum())} region(s) "
                f"without patches on {shape[0]}x{shape[1]} images "
                f"({len(centres)} patch centres): use fewer regions or a smaller step"
            )

    def _dim(self) -> int:
        return self.pca_components or self._descriptor().length

    def _n_outputs(self, shape: tuple[int, ...]) -> int:
        n_regions = sum(nx * ny for nx, ny in self._regions())
        return n_regions * 2 * self.n_components * self._dim()

    def _n_threads(self) -> int:
        return effective_n_jobs(self.n_jobs)

    @property
    def _chunk_pixels(self) -> int:  # type: ignore[override]
        """Pixels per chunk such that a chunk's posteriors stay near ``_CHUNK_POSTERIORS``."""
        shape = getattr(self, "image_shape_", None)
        if shape is None:
            return 1 << 17
        per_image = self.descriptor_._n_patches(shape) * self.n_components
        return math.prod(shape[:2]) * max(1, _CHUNK_POSTERIORS // per_image)

    # -- fit -----------------------------------------------------------------------
    def _fit_images(self, images: np.ndarray) -> None:
        from sklearn.decomposition import PCA
        from sklearn.mixture import GaussianMixture

        rng = np.random.default_rng(self.random_state)
        desc = self._descriptor().fit(images[:1])
        N = len(images)
        P = desc._n_patches(images.shape[1:])
        n_sample = min(self.n_descriptors, N * P)
        if n_sample < self.n_components:
            raise ValueError(
                f"n_components={self.n_components} needs at least as many descriptors, but "
                f"the {N} image(s) give only {N * P} ({P} patches each)"
            )
        if self.pca_components is not None and n_sample < self.pca_components:
            raise ValueError(
                f"pca_components={self.pca_components} needs at least as many descriptors, but "
                f"only {n_sample} are sampled (n_descriptors={self.n_descriptors}; the {N} "
                f"image(s) give {N * P}, {P} patches each)"
            )
        # describe a random subset of images: about 4 times the descriptors sampled
        n_images = min(N, max(1, math.ceil(4 * n_sample / P)))
        chosen = np.sort(rng.choice(N, n_images, replace=False))
        found = desc._describe_all(images[chosen], np.float32, self._n_threads())
        found = found.reshape(-1, desc.length)
        sample = found[rng.choice(len(found), n_sample, replace=False)].astype(np.float64)
        if self.pca_components is None:
            self.pca_mean_ = np.zeros(desc.length, dtype=np.float32)
            self.pca_components_ = np.eye(desc.length, dtype=np.float32)
        else:
            pca = PCA(self.pca_components, random_state=int(rng.integers(2**31 - 1))).fit(sample)
            self.pca_mean_ = pca.mean_.astype(np.float32)
            self.pca_components_ = pca.components_.astype(np.float32)
            sample = (sample - pca.mean_) @ pca.components_.T
        floor = 1e-4 * float(sample.var(axis=0).mean()) + 1e-12
        gmm = GaussianMixture(
            self.n_components, covariance_type="diag", reg_covar=floor, max_iter=self.max_iter,
            init_params="k-means++", random_state=int(rng.integers(2**31 - 1)),
        )
        with warnings.catch_warnings():
            # max_iter is a time budget: EM stopped by it is what was asked for
            warnings.simplefilter("ignore", ConvergenceWarning)
            gmm.fit(sample)
        self.weights_ = gmm.weights_.astype(np.float32)
        self.means_ = gmm.means_.astype(np.float32)
        self.variances_ = gmm.covariances_.astype(np.float32)
        self.descriptor_ = desc

    def _restore_state(self, name: str) -> None:
        """After a model file set ``image_shape_`` and the arrays: rebuild ``descriptor_``, check fit.

        Raises:
            ValueError: arrays whose shapes or values do not fit the parameters.
        """
        shape = self.image_shape_
        desc = self._descriptor()
        desc._check_image_shape(shape)
        desc.image_shape_ = shape
        desc.n_features_in_ = math.prod(shape)
        desc._n_features_out = desc._n_outputs(shape)
        L, D, K = desc.length, self._dim(), self.n_components
        want = {"pca_mean_": (L,), "pca_components_": (D, L), "weights_": (K,),
                "means_": (K, D), "variances_": (K, D)}
        check_state_arrays(self, want, name, f" for n_components={K}, pca_components="
                           f"{self.pca_components} and a {L}-value {type(desc).__name__}")
        self._check_mixture(name)
        self.descriptor_ = desc

    def _check_mixture(self, name: str) -> None:
        """Raise ValueError unless the fitted arrays are a mixture float32 can encode.

        Every array must be finite once stored as float32 (the dtype of fitted state), the
        weights > 0 summing to 1 (within ``_WEIGHTS_SUM_TOL``), the variances > 0 and within
        ``_VARIANCE_RANGE``. Cheap (K * D values): run by model-file loading and by every
        ``transform``/``encode``, so state set by hand is checked too.
        """
        for attr in STATE_ARRAYS:
            value = np.asarray(getattr(self, attr))
            with np.errstate(over="ignore"):
                stored = value.astype(np.float32)
            if value.dtype.kind not in "fiu" or not np.isfinite(stored).all():
                raise ValueError(f"{name}.{attr} must be finite in float32 (|values| <= 3.4e38), "
                                 f"got {value.dtype} values up to {np.abs(value).max():.3g}")
        for attr in ("weights_", "variances_"):
            low = float(np.min(getattr(self, attr)).astype(np.float32))
            if low <= 0:
                raise ValueError(f"{name}.{attr} must be > 0 (a mixture's weights and variances "
                                 f"are positive), got a value of {low:.3g} once stored as float32")
        lo, hi = _VARIANCE_RANGE
        v = np.asarray(self.variances_).astype(np.float32)
        if v.min() < np.float32(lo) or v.max() > np.float32(hi):
            raise ValueError(f"{name}.variances_ must lie in [{lo:g}, {hi:g}] for a float32 "
                             f"encoding, got values from {v.min():.3g} to {v.max():.3g}")
        total = float(np.sum(self.weights_, dtype=np.float64))
        if abs(total - 1) > _WEIGHTS_SUM_TOL:
            raise ValueError(f"{name}.weights_ must sum to 1 (within {_WEIGHTS_SUM_TOL:g}), got "
                             f"{total:.6g}")

    # -- transform -----------------------------------------------------------------
    def _layout(self) -> _fisher.Layout:
        shape = self.image_shape_
        return _fisher.layout(self.descriptor_._centres_for(shape), shape[:2], self._regions())

    def _project(self, desc: np.ndarray) -> np.ndarray:
        """PCA of descriptors (B, P, L) -> (B, P, D) in their dtype."""
        if self.pca_components is None:
            return desc
        dt = desc.dtype
        return (desc - self.pca_mean_.astype(dt)) @ self.pca_components_.T.astype(dt)

    def _encode(self, desc: np.ndarray, out: np.ndarray, lay: _fisher.Layout,
                finite: bool | None = None) -> None:
        """Fisher vectors of descriptors ``desc`` (B, P, L) into ``out`` (B, R * 2 * K * D).

        Where float32 overflows (descriptors far beyond the fitted ones, e.g. pixels of 1e18,
        or a mixture near the ends of ``_VARIANCE_RANGE``), the chunk is computed again in
        float64 and rounded to ``out``'s dtype. ``finite``: whether every descriptor is
        known to be finite (None: looked at here).

        Raises:
            ValueError: descriptors or vectors not finite even in float64, or vectors that do
                not fit ``out``'s dtype.
        """
        # overflow is looked for in the result, so numpy's warnings about it are not wanted
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if finite is None:
                # a finite sum means every value is finite (NaN and inf make any sum non-finite);
                # an overflowing sum of finite values is taken as overflow: the float64 path
                finite = bool(np.isfinite(desc.sum()))
            done = False
            if finite and desc.dtype == out.dtype:
                _fisher.encode(self._project(desc), self.weights_, self.means_, self.variances_,
                               lay, self.improved, out)
                done = bool(np.isfinite(out.sum()))
            described = done or bool(np.isfinite(desc).all())
            if not done and described and (out.dtype != np.float64 or desc.dtype != np.float64
                                           or not finite):
                wide = out if out.dtype == np.float64 else np.empty(out.shape, np.float64)
                _fisher.encode(self._project(desc.astype(np.float64)), self.weights_,
                               self.means_, self.variances_, lay, self.improved, wide)
                out[...] = wide
                done = bool(np.isfinite(out).all())
        if not described:
            raise ValueError(f"{type(self).__name__}: the descriptors of these images are not "
                             f"finite even in {desc.dtype} (pixels far beyond 0..255); pass images "
                             "on the 0..255 scale")
        if not done:
            big = np.abs(desc).max()
            raise ValueError(
                f"{type(self).__name__}: the Fisher vectors of these images overflow "
                f"{out.dtype} (descriptor values up to {big:.3g}, far from the fitted mixture); "
                "pass images on the 0..255 scale, as float64 for values this large"
                + ("" if self.improved else ", or use improved=True (unit-length blocks)")
            )

    def _transform_chunk(self, images: np.ndarray, out: np.ndarray) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is looked for below
            desc = self.descriptor_._describe(images, out.dtype.type)
            finite: bool | None = bool(np.isfinite(desc.sum()))
        if desc.dtype != np.float64 and not finite:
            # float32 describing overflowed (pixels far beyond 0..255): describe in float64
            with np.errstate(over="ignore", invalid="ignore"):
                desc = self.descriptor_._describe(images, np.float64)
            finite = None
        self._encode(desc, out, self._layout(), finite)

    def _run_chunks(self, images: np.ndarray, out_dtype: type[np.floating]) -> np.ndarray:
        self._check_mixture(type(self).__name__)
        # one BLAS thread per chunk, chunks on n_jobs threads (see DenseDescriptor._run_chunks)
        with threadpool_limits(1, user_api="blas"):
            return super()._run_chunks(images, out_dtype)

    def encode(self, descriptors: object) -> np.ndarray:
        """Fisher vectors of descriptors already computed on the fitted grid.

        Args:
            descriptors: (N, P, L) descriptors of N images, P patches each in the
                order of ``descriptor_.describe`` on images of the fitted shape.

        Returns:
            (N, R * 2 * K * D) float64 for float64 input, else float32.

        Raises:
            sklearn.exceptions.NotFittedError: before ``fit``.
            ValueError: not (N, P, L) with the fitted P and L, or NaN/inf values.
        """
        check_is_fitted(self)
        self._check_mixture(type(self).__name__)
        x = np.asarray(descriptors)
        P = self.descriptor_._n_patches(self.image_shape_)
        L = self.descriptor_.length
        if x.ndim != 3 or x.shape[1:] != (P, L) or x.dtype.kind not in "fiu":
            raise ValueError(
                f"descriptors must be a numeric array (N, {P}, {L}) for this grid, "
                f"got shape {x.shape} and dtype {x.dtype}"
            )
        if not np.isfinite(x).all():
            raise ValueError("descriptors contain NaN or infinite values")
        dt = np.float64 if x.dtype == np.float64 else np.float32
        x = x.astype(dt, copy=False)
        out = np.empty((len(x), self._n_features_out), dtype=dt)
        lay = self._layout()
        threads = self._n_threads()
        starts, step = chunk_starts(len(x), P * self.n_components, _CHUNK_POSTERIORS, threads)

        def work(start: int) -> None:
            self._encode(x[start : start + step], out[start : start + step], lay)

        with threadpool_limits(1, user_api="blas"):
            for _ in run_chunks(work, starts, threads):
                pass
        return out


class ColorFisherVector(FisherVector):
    """``FisherVector`` whose default descriptor is ``ColorStats()`` (the ``fisher-color`` feature).

    Same parameters, output and errors as ``FisherVector``; needs RGB images.
    """

    _default_descriptor = ColorStats
