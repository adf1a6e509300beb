"""``DenseSIFT`` and ``ColorStats``: local descriptors on a dense grid of patches.

Both describe every patch of a regular grid (side ``patch_size``, every ``step``
pixels, at one or several ``scales``) and give per image an array (P, D) of
descriptors plus the patch centres, through ``describe``; as scikit-learn
transformers, ``transform`` returns the same numbers flattened to (N, P * D).
They are the local descriptors of the 2011 Fisher-vector system (see
``FisherVector``).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ..checks import check_choice, check_int
from . import _dense
from ._base import ImageTransformer
from ._parallel import check_n_jobs, chunk_starts, effective_n_jobs, run_chunks


class DenseDescriptor(ImageTransformer):
    """Shared grid, validation and chunked ``describe`` of the dense descriptors."""

    #: descriptor length per patch
    length: int = 0
    _chunk_pixels = 1 << 16  # bounds the (chunk, maps, H, W) per-pixel maps
    _learns_from_pixels = False  # fit checks pixels only: a Dask fit loads one image

    def __init__(
        self,
        patch_size: int = 16,
        step: int = 4,
        scales: tuple[int, ...] | None = None,
        image_shape: tuple[int, ...] | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.patch_size = patch_size
        self.step = step
        self.scales = scales
        self.image_shape = image_shape
        self.n_jobs = n_jobs

    # -- parameters --------------------------------------------------------------
    def _scales(self) -> tuple[int, ...]:
        if self.scales is None:
            return (int(self.patch_size),)
        try:
            scales = tuple(self.scales)
        except TypeError:
            scales = ()
        if not scales or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 4 for s in scales
        ):
            raise ValueError(
                f"scales must be None or a non-empty tuple of patch sides (ints >= 4), "
                f"got {self.scales!r}"
            )
        if len(set(scales)) != len(scales):
            raise ValueError(f"scales must not repeat a patch side, got {self.scales!r}")
        return tuple(int(s) for s in scales)

    def _check_params(self) -> None:
        check_int(self.patch_size, "patch_size", 4)
        check_int(self.step, "step", 1)
        self._scales()
        check_n_jobs(self.n_jobs)

    def _check_image_shape(self, shape: tuple[int, ...]) -> None:
        if min(shape[:2]) < self.patch_size:
            raise ValueError(
                f"images of {shape[0]}x{shape[1]} pixels are smaller than one patch: "
                f"patch_size={self.patch_size} needs at least {self.patch_size}x"
                f"{self.patch_size} pixels"
            )

    def _n_patches(self, shape: tuple[int, ...]) -> int:
        cy, cx = _dense.grid_centres((shape[0], shape[1]), self.patch_size, self.step)
        return len(cy) * len(cx) * len(self._scales())

    def _n_outputs(self, shape: tuple[int, ...]) -> int:
        return self._n_patches(shape) * self.length

    def _n_threads(self) -> int:
        return effective_n_jobs(self.n_jobs)

    # -- descriptors ---------------------------------------------------------------
    def centres(self) -> np.ndarray:
        """(P, 2) float64 (row, column) centres of the patches, in ``describe``'s order.

        Scale-major: the grid of centres (row-major) repeats once per scale.
        """
        check_is_fitted(self)
        return self._centres_for(self.image_shape_)

    def _centres_for(self, shape: tuple[int, ...]) -> np.ndarray:
        return _dense.all_centres((shape[0], shape[1]), self.patch_size, self.step, len(self._scales()))

    def describe(self, X: object) -> tuple[np.ndarray, np.ndarray]:
        """Descriptors of every patch of every image, and the patch centres.

        Args:
            X: (N, H, W[, C]) images like those given to ``fit``.

        Returns:
            ``(descriptors, centres)``: (N, P, D) float32 (float64 for float64
            input) and (P, 2) float64 (row, column), P = grid points x scales.

        Raises:
            sklearn.exceptions.NotFittedError: before ``fit``.
            ValueError: the image checks of ``transform``.
        """
        flat = self.transform(X)
        return flat.reshape(len(flat), -1, self.length), self.centres()

    def _describe(self, images: np.ndarray, dtype: type[np.floating]) -> np.ndarray:
        """(B, P, D) descriptors of a validated chunk."""
        raise NotImplementedError

    def _transform_chunk(self, images: np.ndarray, out: np.ndarray) -> None:
        out[...] = self._describe(images, out.dtype.type).reshape(len(images), -1)

    def _run_chunks(self, images: np.ndarray, out_dtype: type[np.floating]) -> np.ndarray:
        # The pooling products are small (a few dozen columns): one BLAS thread each,
        # with the chunks on n_jobs threads, measured several times faster than
        # BLAS's own threads on them, which spin against each other on a busy machine.
        with threadpool_limits(1, user_api="blas"):
            return super()._run_chunks(images, out_dtype)

    def _describe_all(self, images: np.ndarray, dtype: type[np.floating], threads: int = 1) -> np.ndarray:
        """(N, P, D) descriptors of validated images, chunk by chunk (for ``FisherVector``)."""
        n = len(images)
        out = np.empty((n, self._n_patches(images.shape[1:]), self.length), dtype=dtype)
        starts, step = chunk_starts(n, math.prod(images.shape[1:3]), self._chunk_pixels, threads)

        def work(start: int) -> None:
            out[start : start + step] = self._describe(images[start : start + step], dtype)

        with threadpool_limits(1, user_api="blas"):
            for _ in run_chunks(work, starts, threads):
                pass
        return out

    def _grid(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        return _dense.grid_centres((shape[0], shape[1]), self.patch_size, self.step)


class DenseSIFT(DenseDescriptor):
    """SIFT descriptors at fixed orientation on a dense grid of patches.

    Each patch of side ``s`` (one of ``scales``) is split into 4 x 4 spatial bins
    of ``s / 4`` pixels; the gradient magnitude of every pixel goes, by trilinear
    interpolation, into the two nearest spatial bins along each axis and the two
    nearest of 8 orientations (bin ``o`` centred at ``o * 45`` degrees,
    counter-clockwise with the y axis pointing up), weighted by a Gaussian window
    of sigma ``s / 2`` around the patch centre. The 128 values (bin row, bin
    column, orientation) are L2-normalized, clipped at 0.2 and L2-normalized again
    (Lowe 2004); a patch without gradient gives zeros. Colour images are described
    through their grey level 0.299 R + 0.587 G + 0.114 B. Pixels outside the image
    (patches of a scale larger than ``patch_size`` near the border) count as
    having no gradient.

    The grid: centres of the ``patch_size`` x ``patch_size`` patches whose first
    pixel is a multiple of ``step`` and that fit in the image; every scale is
    described at these same centres.

    Differences from OpenCV's ``SIFT.compute`` at the same centres with
    ``KeyPoint(x, y, size=s / 6, angle=0)`` (OpenCV's spatial bin is 1.5 x
    ``size``): OpenCV rounds the centre to a whole pixel, smooths the image with
    a Gaussian of sigma 1.52 first (``smoothing`` here, 1.0 by default), leaves out
    the image's outer pixels as here, and saturates its output as ``uint8`` values
    (x 512). On CIFAR-10 and photographs the descriptors correlate at 0.93-0.95
    on average with the default smoothing, 0.97-0.99 with ``smoothing=1.52``.
    kornia's ``DenseSIFTDescriptor(rootsift=False, padding=0)``: its orientation
    bins turn clockwise (bin ``a`` here is its bin ``-a mod 8``), its 128 values
    are orientation-major, it has a flat window and no smoothing, its output
    pixel ``(i, j)`` is the patch starting at ``(i - 2, j - 2)`` for 16-pixel
    patches, and it pools each spatial bin with a triangle one bin (4 pixels) wide,
    where Lowe's trilinear interpolation (here) is a triangle two bins wide; with
    ``gaussian_window=False, smoothing=0`` the descriptors correlate at about 0.88
    on a photograph.  The pooling is the whole difference: kornia's module with its
    pooling kernel 8 pixels wide (``get_sift_pooling_kernel(8)``) gives 0.999 on the
    same photograph (the other conventions, checked one by one: orientation order
    ``-a``: 0.878, ``a``: 0.18, ``1 - a`` or ``-1 - a``: 0.30-0.31; patch offset 2:
    0.878, offsets 1 or 3: 0.78-0.84; smoothing 0.5 or 1.0: 0.86 or 0.79).

    Args:
        patch_size: side in pixels of the patches that define the grid (>= 4).
        step: grid step in pixels (>= 1).
        scales: patch sides (ints >= 4) described at every centre; None: (patch_size,).
        smoothing: sigma in pixels of a Gaussian blur before the gradients (0: none;
            the border is extended by its edge pixels).
        gaussian_window: weight pixels by the Gaussian window (Lowe); False: a flat
            window (VLFeat's ``vl_dsift`` default, kornia's ``DenseSIFTDescriptor``).
        image_shape: (H, W) or (H, W, C) to accept flattened (N, D) input.
        n_jobs: threads for ``transform`` (None: every CPU); the result is the same.

    Input: (N, H, W) or (N, H, W, C) images, uint8 or float.
    Output: ``transform``: (N, P * 128) float32 (float64 for float64 input);
    ``describe``: (N, P, 128) and the (P, 2) centres.

    Raises:
        ValueError: ``patch_size`` < 4, ``step`` < 1, bad ``scales``, negative
            ``smoothing``, images smaller than ``patch_size``, and the checks of
            ``ImageTransformer.fit``.
    """

    length = _dense.SIFT_LENGTH

    def __init__(
        self,
        patch_size: int = 16,
        step: int = 4,
        scales: tuple[int, ...] | None = None,
        smoothing: float = 1.0,
        gaussian_window: bool = True,
        image_shape: tuple[int, ...] | None = None,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(patch_size, step, scales, image_shape, n_jobs)
        self.smoothing = smoothing
        self.gaussian_window = gaussian_window

    def _check_params(self) -> None:
        super()._check_params()
        if isinstance(self.smoothing, bool) or not isinstance(self.smoothing, (int, float)) or not (
            0 <= self.smoothing < math.inf
        ):
            raise ValueError(f"smoothing must be a finite float >= 0, got {self.smoothing!r}")
        check_choice(self.gaussian_window, "gaussian_window", (True, False))

    def _describe(self, images: np.ndarray, dtype: type[np.floating]) -> np.ndarray:
        return _dense.sift(images, self._grid(images.shape[1:]), self._scales(),
                           float(self.smoothing), dtype, bool(self.gaussian_window))


class ColorStats(DenseDescriptor):
    """Colour descriptor of the 2011 Fisher-vector system: mean and std of R, G, B per sub-region.

    Each patch (same grid and ``scales`` as ``DenseSIFT``) is split into 4 x 4
    sub-regions; for each, the mean and the standard deviation of the R, G and B
    values (on the images' own scale, e.g. 0..255) give 4 * 4 * 2 * 3 = 96 values,
    laid out as (sub-region row, sub-region column, statistic (mean, std),
    channel). Pixels outside the image (scales larger than ``patch_size``) are
    left out of the statistics.

    Args:
        patch_size: side in pixels of the patches that define the grid (>= 4).
        step: grid step in pixels (>= 1).
        scales: patch sides (ints >= 4) described at every centre; None: (patch_size,).
        image_shape: (H, W, 3) to accept flattened (N, D) input.
        n_jobs: threads for ``transform`` (None: every CPU); the result is the same.

    Input: (N, H, W, 3) RGB images, uint8 or float.
    Output: ``transform``: (N, P * 96) float32 (float64 for float64 input);
    ``describe``: (N, P, 96) and the (P, 2) centres.

    Raises:
        ValueError: images that are not (N, H, W, 3), and the checks of ``DenseSIFT``.
    """

    length = _dense.COLOR_LENGTH
    _allow_channels = (3,)

    def _check_image_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 3:
            raise ValueError(
                f"ColorStats needs RGB images (N, H, W, 3), got grey images of shape {shape}"
            )
        super()._check_image_shape(shape)

    def _describe(self, images: np.ndarray, dtype: type[np.floating]) -> np.ndarray:
        return _dense.color_stats(images, self._grid(images.shape[1:]), self._scales(), dtype)
