"""The scikit-learn plumbing every image feature transformer shares.

Subclasses implement three hooks: ``_check_params`` (validate constructor
arguments), ``_fit_images`` (learn from a validated batch; most features learn
nothing) and ``_transform_chunk`` (features of a validated chunk). This class
turns them into ``fit``/``transform`` that accept (N, H, W[, C]) images or, with
``image_shape``, flattened (N, D) rows, process large inputs in bounded chunks and
show a progress bar only for long jobs on a terminal. Subclasses whose kernels
release the GIL return a thread count from ``_n_threads`` and their chunks run on
that many threads.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..checks import check_images
from ._dask import LazyImages, fit_sample, is_dask_array, transform_dask
from ._parallel import chunk_starts, run_chunks

# A progress bar pays off only when extraction takes seconds: this many pixels or more.
_PROGRESS_MIN_PIXELS = 50_000_000


class ImageTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base class: validated, chunked ``fit``/``transform`` over image batches."""

    #: Channel counts accepted on the last axis of 4-D input (None: any).
    _allow_channels: tuple[int, ...] | None = None
    #: Pixels per chunk: small enough that a chunk's temporaries stay in cache.
    _chunk_pixels: int = 1 << 17
    #: False when ``fit`` learns nothing from pixel values (a Dask ``fit`` then loads one image).
    _learns_from_pixels: bool = True
    #: True when ``_fit_images`` reads its images only through ``len``, ``shape`` and row
    #: indexing (``images[idx]``, ``images[a:b]``): a Dask ``fit`` then hands it a
    #: ``LazyImages`` and loads exactly the images it draws.
    _fit_indexes_images: bool = False

    # -- hooks ---------------------------------------------------------------
    def _check_params(self) -> None:
        """Validate constructor arguments; raise ValueError naming the bad one."""

    def _check_image_shape(self, shape: tuple[int, ...]) -> None:
        """Validate parameters that depend on the image size (e.g. cells vs image)."""

    def _fit_images(self, images: np.ndarray) -> None:
        """Learn from a validated batch (stateless features learn nothing)."""

    def _n_outputs(self, shape: tuple[int, ...]) -> int:
        """Number of features one image of ``shape`` yields."""
        raise NotImplementedError

    def _transform_chunk(self, images: np.ndarray, out: np.ndarray) -> None:
        """Write the features of ``images`` (B, H, W[, C]) into ``out`` (B, D)."""
        raise NotImplementedError

    def _n_threads(self) -> int:
        """Threads ``transform`` may use (chunks run concurrently; 1: none)."""
        return 1

    # -- scikit-learn API ----------------------------------------------------
    def fit(self, X: Any, y: object = None) -> ImageTransformer:
        """Validate parameters and images, learn what the feature needs; return ``self``.

        Args:
            X: (N, H, W) or (N, H, W, C) images, uint8 or float on the 0..255 scale; or
                (N, D) rows when ``image_shape`` is set; or a ``dask.array`` of either,
                of which only a sample is loaded (see ``warpnet.features._dask``).
            y: ignored.

        Raises:
            ValueError: bad parameters, or images that are empty, non-finite, of the
                wrong rank or too small for the parameters.
        """
        self._check_params()
        images: Any  # an ndarray; for a Dask array, LazyImages (indexed like one) or a sample
        if is_dask_array(X) and self._learns_from_pixels and self._fit_indexes_images:
            images = LazyImages(X, self.image_shape, self._allow_channels)
        else:
            if is_dask_array(X):
                X = fit_sample(self, X)
            images, _ = check_images(
                X, image_shape=self.image_shape, allow_channels=self._allow_channels
            )
        shape = tuple(images.shape[1:])
        self._check_image_shape(shape)
        self._fit_images(images)
        self.image_shape_ = shape
        self.n_features_in_ = math.prod(shape)
        self._n_features_out = self._n_outputs(shape)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Features of each image: array (N, D), float64 for float64 input, else float32.

        A ``dask.array`` chunked along the images gives a lazy ``dask.array`` (N, D)
        with the same chunks along the images, equal bit for bit to the NumPy result.

        Raises:
            sklearn.exceptions.NotFittedError: (a ValueError) before ``fit``.
            ValueError: images invalid or of another shape than those seen in ``fit``
                (for a Dask array, pixel values are checked when a block is computed).
        """
        check_is_fitted(self)
        if is_dask_array(X):
            # validate shape and dtype on one blank image; pixels are checked per block
            probe = np.zeros((1, *X.shape[1:]), dtype=X.dtype)
            images, out_dtype = check_images(
                probe, image_shape=self.image_shape, allow_channels=self._allow_channels
            )
            self._check_fitted_shape(tuple(images.shape[1:]))
            return transform_dask(self, X, out_dtype)
        images, out_dtype = check_images(
            X, image_shape=self.image_shape, allow_channels=self._allow_channels
        )
        self._check_fitted_shape(tuple(images.shape[1:]))
        return self._run_chunks(images, out_dtype)

    def _check_fitted_shape(self, shape: tuple[int, ...]) -> None:
        if shape != self.image_shape_:
            raise ValueError(
                f"X has {math.prod(shape)} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input (images of shape {shape}, "
                f"fitted on {self.image_shape_})"
            )

    def _run_chunks(self, images: np.ndarray, out_dtype: type[np.floating]) -> np.ndarray:
        """Transform ``images`` chunk by chunk into a preallocated (N, D) array.

        Chunks write disjoint rows of the output, so threads need no locking.
        """
        n = images.shape[0]
        out = np.empty((n, self._n_features_out), dtype=out_dtype)
        threads = self._n_threads()
        starts, step = chunk_starts(
            n, math.prod(images.shape[1:3]), self._chunk_pixels, threads
        )

        def work(start: int) -> None:
            self._transform_chunk(images[start : start + step], out[start : start + step])

        done = run_chunks(work, starts, threads)
        for _ in _progress(done, images, type(self).__name__, total=len(starts)):
            pass
        return out

    def __sklearn_tags__(self):  # noqa: D105 - scikit-learn protocol
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _progress(
    chunks: Iterable[int], images: np.ndarray, label: str, total: int | None = None
) -> Iterable[int]:
    """Wrap ``chunks`` in a tqdm bar for long jobs on a terminal.

    ``total`` is the number of chunks when ``chunks`` has no ``len`` (a generator).
    """
    total = len(chunks) if total is None else total  # type: ignore[arg-type]
    if images.size < _PROGRESS_MIN_PIXELS or total < 2 or not sys.stderr.isatty():
        return chunks
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional: extraction works the same without a bar
        return chunks
    return tqdm(chunks, total=total, desc=label, unit="chunk", leave=False)
