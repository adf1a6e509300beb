"""``HOG``: histogram-of-oriented-gradients features as a scikit-learn transformer."""

from __future__ import annotations

import numpy as np

from ..checks import check_choice, check_images, check_int, check_pair
from . import _hog
from ._base import ImageTransformer
from ._parallel import check_n_jobs, effective_n_jobs


class HOG(ImageTransformer):
    """Histogram of oriented gradients of each image, equal to ``skimage.feature.hog``.

    For the same parameters the features equal ``skimage.feature.hog(image, ...)``
    (``channel_axis=-1`` for colour images) to float rounding, computed for a whole
    batch at once. With numba installed (``pip install warpnet[features]``) a
    compiled one-pass kernel computes them, several times faster than the NumPy
    path; the environment variable ``WARPNET_NUMBA=0`` turns it off.

    Feature length per image, with ``cells = (H // cell_rows, W // cell_cols)``::

        (cells_rows - block_rows + 1) * (cells_cols - block_cols + 1)
            * block_rows * block_cols * orientations

    e.g. a 320x240 image with 8x8 cells and 1x1 blocks gives 40 * 30 * 9 = 10,800
    values; a 32x32 image with 8x8 cells gives 4 * 4 * 9 = 144 (1x1 blocks) or
    2 * 2 * 3 * 3 * 9 = 324 (3x3 blocks).

    Args:
        orientations: number of orientation bins (>= 1).
        pixels_per_cell: cell size (rows, cols) or one int for square cells.
        cells_per_block: block size in cells (rows, cols) or one int.
        block_norm: "L1", "L1-sqrt", "L2" or "L2-Hys" (L2, clip at 0.2, L2 again).
        transform_sqrt: take the square root of every pixel first (needs pixels >= 0).
        signed: bin angles over 360 degrees instead of 180 (not in scikit-image).
        color: how (N, H, W, C) images are reduced: "max" uses, at each pixel, the
            channel with the largest gradient (scikit-image's ``channel_axis=-1``);
            "gray" converts to luma 0.299 R + 0.587 G + 0.114 B first.
        image_shape: (H, W) or (H, W, C) to accept flattened (N, D) input.
        n_jobs: threads for ``transform``; the features are the same for any
            value. None (default): every CPU this process may run on, except
            for colour images with ``color="max"`` on the NumPy path (without
            numba), which run on one thread (their many short NumPy steps
            measured slower on two threads than on one); -1: every CPU; -2:
            all but one; k: exactly k.

    Input: (N, H, W) or (N, H, W, C) images, uint8 or float on any scale (HOG of
    ``img`` and of ``img.astype(float)`` are the same). Output: (N, D) float32,
    float64 for float64 input.

    Raises:
        ValueError: orientations < 1, cell or block sizes < 1 or not int pairs,
            an unknown ``block_norm``/``color``, images smaller than one block,
            negative pixels with ``transform_sqrt``, ``n_jobs`` of 0 or not an
            int, and every image problem
            listed in ``ImageTransformer.fit``.
    """

    # Outer chunks bound memory (and share one normalization pass); the kernel
    # splits each into cache-sized pieces.
    _chunk_pixels = 1 << 20

    _learns_from_pixels = False  # fit checks pixels only: a Dask fit loads one image

    def __init__(
        self,
        orientations: int = 9,
        pixels_per_cell: int | tuple[int, int] = (8, 8),
        cells_per_block: int | tuple[int, int] = (1, 1),
        block_norm: str = "L2-Hys",
        transform_sqrt: bool = False,
        signed: bool = False,
        color: str = "max",
        image_shape: tuple[int, ...] | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.block_norm = block_norm
        self.transform_sqrt = transform_sqrt
        self.signed = signed
        self.color = color
        self.image_shape = image_shape
        self.n_jobs = n_jobs

    def _config(self) -> _hog.HogConfig:
        check_choice(self.block_norm, "block_norm", _hog.BLOCK_NORMS)
        check_choice(self.color, "color", _hog.COLOR_MODES)
        check_choice(self.transform_sqrt, "transform_sqrt", (False, True))
        check_choice(self.signed, "signed", (False, True))
        return _hog.HogConfig(
            orientations=check_int(self.orientations, "orientations", 1),
            cell=check_pair(self.pixels_per_cell, "pixels_per_cell"),
            block=check_pair(self.cells_per_block, "cells_per_block"),
            block_norm=self.block_norm,
            transform_sqrt=bool(self.transform_sqrt),
            signed=bool(self.signed),
            color=self.color,
        )

    def _check_params(self) -> None:
        self._config()
        check_n_jobs(self.n_jobs)

    def _n_threads(self) -> int:
        colour_max = len(self.image_shape_) == 3 and self.color == "max"
        if self.n_jobs is None and colour_max and _hog.backend() == "NumPy":
            return 1
        return effective_n_jobs(self.n_jobs)

    def _check_image_shape(self, shape: tuple[int, ...]) -> None:
        cfg = self._config()
        _, _, nbr, nbc = _hog.grid_shape((shape[0], shape[1]), cfg)
        if nbr < 1 or nbc < 1:
            need = (cfg.block[0] * cfg.cell[0], cfg.block[1] * cfg.cell[1])
            raise ValueError(
                f"images of {shape[0]}x{shape[1]} pixels are smaller than one block: "
                f"pixels_per_cell={cfg.cell} and cells_per_block={cfg.block} need at "
                f"least {need[0]}x{need[1]} pixels"
            )

    def _n_outputs(self, shape: tuple[int, ...]) -> int:
        return _hog.feature_length((shape[0], shape[1]), self._config())

    def _check_sign(self, images: np.ndarray) -> None:
        if self.transform_sqrt and images.dtype != np.uint8 and images.min() < 0:
            raise ValueError(
                "transform_sqrt=True needs pixels >= 0 (it takes their square root), "
                f"got a minimum of {images.min()}"
            )

    def _fit_images(self, images: np.ndarray) -> None:
        self._check_sign(images)

    def _transform_chunk(self, images: np.ndarray, out: np.ndarray) -> None:
        self._check_sign(images)
        _hog.hog_features(images, self._config(), out)

    def visualize(self, image: object) -> np.ndarray:
        """Star-glyph picture (H, W) float64 of one image's unnormalized cell histograms.

        Args:
            image: one (H, W) or (H, W, C) image, uint8 or float.

        Returns:
            The same picture as ``skimage.feature.hog(..., visualize=True)``.

        Raises:
            ValueError: not a single image, or the checks of ``transform``.
        """
        arr = np.asarray(image)
        if arr.ndim not in (2, 3):
            raise ValueError(
                f"image must be one (H, W) or (H, W, C) image, got shape {arr.shape}"
            )
        cfg = self._config()
        images, _ = check_images(arr[None], name="image")
        self._check_image_shape(images.shape[1:])
        self._check_sign(images)
        hist = _hog.cell_histograms(images, cfg)[0]
        return _hog.hog_image(hist, cfg.cell, images.shape[1:3])
