"""Feature transformers on Dask arrays: lazy ``map_blocks`` over chunks of images.

Every fitted transformer is a pure function of a chunk of images, so a
``dask.array`` of images chunked along the image axis maps to a lazy
``dask.array`` of features block by block, equal bit for bit to the NumPy result
(each image's features depend on that image alone). Each block runs on the one
thread the Dask worker gave its task: BLAS/OpenMP pools are limited to one
thread (threadpoolctl), numba too, and the transformer's own chunk threads are
turned off, so a cluster of ``w`` workers with ``t`` threads runs ``w * t``
threads, not ``w * t * cores``.

``fit`` on a Dask array loads only what the transformer needs: one image for
features that learn nothing from pixels (HOG, colour histograms, the dense
descriptors: the shape is all they need); for features whose fit draws images
(bag of words: the images of its random patches; Fisher vectors: the images it
describes) exactly the images the NumPy fit would draw, through ``LazyImages``,
so the fit equals NumPy's bit for bit whatever the array's size.  Any other
learning transformer gets a random sample of at most ``dask_fit_images`` images
(all of them when the array is smaller, so the fit then equals NumPy's).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ._base import ImageTransformer

#: Images a learning transformer's ``fit`` draws from a Dask array at most.
DASK_FIT_IMAGES = 20_000


def is_dask_array(X: object) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(X).__module__.startswith("dask.array") and hasattr(X, "map_blocks")


def _single_threaded(est: ImageTransformer) -> ImageTransformer:
    """A shallow copy of ``est`` whose own chunk threads are off (``n_jobs=1``)."""
    est = copy.copy(est)
    if "n_jobs" in est.get_params(deep=False):
        est.n_jobs = 1
    return est


def _transform_block(block: np.ndarray, est: ImageTransformer) -> np.ndarray:
    """Features of one block of images on the calling thread alone."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1), _numba_threads(1):
        return est.transform(block)


class _numba_threads:
    """Context manager: numba's thread count for this thread (a no-op without numba)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.old: int | None = None

    def __enter__(self) -> None:
        try:
            import numba
        except ImportError:
            return
        self.old = numba.get_num_threads()
        # numba.config sets its attributes at import time, from the environment
        numba.set_num_threads(min(self.n, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        if self.old is not None:
            import numba

            numba.set_num_threads(self.old)


def transform_dask(est: ImageTransformer, X: Any, out_dtype: type[np.floating]) -> Any:
    """Lazy features of a Dask image array: ``(N, D)`` chunked like ``X`` along images.

    Args:
        est: a fitted transformer.
        X: dask array (N, H, W[, C]) or (N, D) with ``image_shape``; chunks along
            the other axes are merged (one block holds whole images).
        out_dtype: dtype of the features (what ``transform`` gives for ``X.dtype``).

    Returns:
        dask array (N, n_features_out) of ``out_dtype``, chunks ``(X.chunks[0], (D,))``.
    """
    X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
    D = est._n_features_out
    worker_est = _single_threaded(est)
    return X.map_blocks(
        _transform_block,
        worker_est,
        chunks=(X.chunks[0], (D,)),
        drop_axis=list(range(2, X.ndim)) if X.ndim > 2 else None,
        dtype=out_dtype,
        meta=np.empty((0, D), dtype=out_dtype),
        token=f"warpnet-{type(est).__name__.lower()}",  # a key prefix; the name hashes the inputs
    )


def fit_sample(est: ImageTransformer, X: Any) -> np.ndarray:
    """The images ``fit`` learns from, loaded from the Dask array ``X`` as NumPy.

    Features that learn nothing from pixels (``_learns_from_pixels`` False) get
    the first image only (their shape). Others get every image when ``X`` holds at
    most ``est.dask_fit_images`` (``DASK_FIT_IMAGES`` by default), else that many
    distinct images drawn with the transformer's ``random_state``, in index order.

    Raises:
        ValueError: an empty array.
    """
    n = int(X.shape[0])
    if n == 0:
        raise ValueError(f"X has 0 images (shape={tuple(X.shape)}): fit needs at least one")
    if not est._learns_from_pixels:
        return np.asarray(X[:1].compute())
    limit = int(getattr(est, "dask_fit_images", DASK_FIT_IMAGES))
    if n <= limit:
        return np.asarray(X.compute())
    seed = getattr(est, "random_state", None)
    rng = np.random.default_rng(seed if not isinstance(seed, np.random.Generator) else seed.integers(2**63))
    idx = np.sort(rng.choice(n, size=limit, replace=False))
    return np.asarray(X[idx].compute())


class LazyImages:
    """The images of a Dask array as a fit sees them, computed only when indexed.

    ``len``, ``shape``, ``ndim`` and ``dtype`` are those of the validated images
    (``check_images``: (N, H, W[, C]), flattened rows reshaped with ``image_shape``)
    and cost nothing; ``images[key]`` (a slice or a 1-D integer array) computes
    those images alone and validates them as ``check_images`` would the whole
    array, so a fit that reads its images only this way sees the same pixels as
    on NumPy.  ``loaded`` counts the images computed so far.

    Raises:
        ValueError: an empty array or images of the wrong rank or shape (at
            construction); NaN/inf or bad pixels (when indexed).
        TypeError: a non-numeric dtype; an index other than a slice or int array.
    """

    def __init__(self, X: Any, image_shape: Any = None,
                 allow_channels: tuple[int, ...] | None = None) -> None:
        from ..checks import check_images

        if int(X.shape[0]) == 0:
            raise ValueError(f"X has 0 images (shape={tuple(X.shape)}): fit needs at least one")
        self._check = lambda a: check_images(a, image_shape=image_shape,
                                             allow_channels=allow_channels)[0]
        probe = self._check(np.zeros((1, *X.shape[1:]), dtype=X.dtype))
        self._X = X
        self.shape = (int(X.shape[0]), *probe.shape[1:])
        self.ndim, self.dtype = len(self.shape), probe.dtype
        self.loaded = 0

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, slice):
            key = np.asarray(key)
            if key.ndim != 1 or key.dtype.kind not in "iu":
                raise TypeError(f"LazyImages takes a slice or a 1-D integer array, got {key!r}")
        images = self._check(np.asarray(self._X[key].compute()))
        self.loaded += len(images)
        return images
