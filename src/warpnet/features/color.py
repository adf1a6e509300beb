"""``ColorHistogram``: HSV channel histograms or a joint RGB histogram per image."""

from __future__ import annotations

import numpy as np

from ..checks import check_int
from . import _hsv
from ._base import ImageTransformer
from ._parallel import check_n_jobs, effective_n_jobs

_SPACES = {"hsv": _hsv.HSV_CHANNELS, "rgb": _hsv.RGB_CHANNELS}
# uint8 batches of at least this many pixels (the 50,000 CIFAR-10 training images)
# build the 16 MiB hue table of all colours: its one-off 0.2-0.3 s is then already
# repaid within that call (7 ns saved per pixel), and later calls reuse it.
_COLOUR_TABLE_MIN_PIXELS = 1 << 25


class ColorHistogram(ImageTransformer):
    """Colour histogram of each RGB image, normalized to sum to 1.

    ``space="hsv"`` (default): for each listed channel of ``("h", "s", "v")`` a
    histogram of ``bins`` equal bins over [0, 255] of the channel scaled to 0..255,
    concatenated in the listed order. With the defaults this is the classic
    CIFAR-10 hue feature, and equals bit for bit::

        hsv = matplotlib.colors.rgb_to_hsv(image / 255) * 255
        hist, edges = np.histogram(hsv[..., 0], bins=np.linspace(0, 255, 11), density=True)
        hist * np.diff(edges)

    (the density times the bin width: the fraction of pixels per bin). uint8 images
    are binned with exact integer arithmetic, so pixels whose hue lies exactly on
    a bin edge land where the float64 reference puts them. The first uint8 batch
    of 32 M pixels or more (e.g. 50,000 32x32 images) tabulates the hue bin of all
    2**24 colours (16 MiB kept per ``bins`` value, a one-off fraction of a
    second); from then on each pixel's hue bin is a single lookup.

    ``space="rgb"``: one joint histogram over the listed channels of
    ``("r", "g", "b")`` with ``bins`` bins per channel (``bins ** len(channels)``
    values, first channel slowest), the fraction of pixels in each cell.

    Args:
        bins: bins per channel, 1..256.
        space: "hsv" or "rgb".
        channels: channel names of ``space`` (e.g. ``("h", "s", "v")`` or
            ``("r", "g", "b")``), no repeats.
        image_shape: (H, W, 3) to accept flattened (N, D) input.
        n_jobs: threads for ``transform``: None (default) or -1 uses every CPU
            this process may run on, -2 all but one, k exactly k. Chunks of the
            batch run concurrently; the features are the same for any value.

    Input: (N, H, W, 3) RGB images, uint8 or float on the 0..255 scale.
    Output: (N, D) float32, float64 for float64 input.

    Raises:
        ValueError: bad ``bins``/``space``/``channels``/``n_jobs``, images that are not
            (N, H, W, 3), pixels outside [0, 255], and the checks of
            ``ImageTransformer.fit``.
    """

    _allow_channels = (3,)
    _chunk_pixels = 1 << 18  # uint8/int16 temporaries of a chunk stay in L2

    _learns_from_pixels = False  # fit checks pixels only: a Dask fit loads one image

    def __init__(
        self,
        bins: int = 10,
        space: str = "hsv",
        channels: tuple[str, ...] = ("h",),
        image_shape: tuple[int, ...] | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.bins = bins
        self.space = space
        self.channels = channels
        self.image_shape = image_shape
        self.n_jobs = n_jobs

    def _channel_list(self) -> tuple[str, ...]:
        if self.space not in _SPACES:
            raise ValueError(f"space must be one of {tuple(_SPACES)}, got {self.space!r}")
        names = _SPACES[self.space]
        try:
            chosen = tuple(self.channels)
        except TypeError:
            chosen = ()
        if not chosen or len(set(chosen)) != len(chosen) or not set(chosen) <= set(names):
            raise ValueError(
                f"channels must be distinct names from {names} for space={self.space!r}, "
                f"got {self.channels!r}"
            )
        return chosen

    def _check_params(self) -> None:
        check_int(self.bins, "bins", 1)
        if self.bins > 256:
            raise ValueError(f"bins must be <= 256, got {self.bins}")
        self._channel_list()
        check_n_jobs(self.n_jobs)

    def _n_threads(self) -> int:
        return effective_n_jobs(self.n_jobs)

    def _check_image_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 3:
            raise ValueError(
                f"ColorHistogram needs RGB images (N, H, W, 3), got images of shape {shape}"
            )

    def _n_outputs(self, shape: tuple[int, ...]) -> int:
        k = len(self._channel_list())
        return self.bins * k if self.space == "hsv" else self.bins**k

    def _check_range(self, images: np.ndarray) -> None:
        if images.dtype != np.uint8 and (images.min() < 0 or images.max() > 255):
            # "Negative values in data passed to" is scikit-learn's phrase for this case.
            raise ValueError(
                "Negative values in data passed to ColorHistogram, or values above 255: "
                f"it expects pixels on the 0..255 scale, got [{images.min()}, {images.max()}]"
            )

    def __sklearn_tags__(self):  # noqa: D105 - scikit-learn protocol
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags

    def _fit_images(self, images: np.ndarray) -> None:
        self._check_range(images)

    def _run_chunks(self, images: np.ndarray, out_dtype: type[np.floating]) -> np.ndarray:
        # Build the colour table before the chunk threads start, once per process.
        wants_table = (
            images.dtype == np.uint8
            and self.space == "hsv"
            and "h" in self._channel_list()
            and images.size // 3 >= _COLOUR_TABLE_MIN_PIXELS
        )
        if wants_table:
            _hsv.hue_colour_table(self.bins, self._n_threads())
        return super()._run_chunks(images, out_dtype)

    def _transform_chunk(self, images: np.ndarray, out: np.ndarray) -> None:
        self._check_range(images)
        B = images.shape[0]
        pixels = np.ascontiguousarray(images).reshape(-1, 3)
        bins = self.bins
        if self.space == "hsv":
            hsv = (
                None
                if pixels.dtype == np.uint8
                else _hsv.hsv_reference(pixels.astype(np.float64) / 255) * 255
            )
            for k, name in enumerate(self._channel_list()):
                idx = _hsv_bins(pixels, hsv, name, bins)
                out[:, k * bins : (k + 1) * bins] = _fractions(idx.reshape(B, -1), bins, density=True)
        else:
            idx = np.zeros(pixels.shape[0], dtype=np.intp)
            for name in self._channel_list():
                c = pixels[:, _hsv.RGB_CHANNELS.index(name)]
                cbin = _hsv.channel_table(bins)[c] if c.dtype == np.uint8 else _hsv.bin_index(c, bins)
                idx = idx * bins + cbin
            out[...] = _fractions(idx.reshape(B, -1), out.shape[1], density=False)


def _hsv_bins(pixels: np.ndarray, hsv: np.ndarray | None, name: str, bins: int) -> np.ndarray:
    """Bin of each pixel in one HSV channel: exact tables for uint8, reference for floats."""
    if hsv is not None:
        return _hsv.bin_index(hsv[:, _hsv.HSV_CHANNELS.index(name)], bins)
    if name == "h":
        table = _hsv.cached_hue_colour_table(bins)
        if table is not None:
            return np.take(table, _hsv.colour_keys(pixels))
        return _hsv.hue_bins_uint8(pixels, bins)
    mx = pixels.max(axis=1)
    if name == "v":
        return _hsv.value_table(bins)[mx]
    key = (mx.astype(np.intp) << 8) | pixels.min(axis=1)
    return _hsv.saturation_table(bins)[key]


# Up to this many bins, uint8 bin indices are counted one bin at a time (compare,
# then sum bytes in uint16: ~0.1 ns per pixel and bin), which beats bincount's
# int64 keys; uint16 sums need fewer than 2**16 pixels per image.
_PER_BIN_MAX_BINS = 16


def _fractions(idx: np.ndarray, n_bins: int, density: bool) -> np.ndarray:
    """Per-row fraction of pixels in each bin, from bin indices (B, P).

    With ``density`` the float64 operations are the hue reference's own,
    ``counts / width / total * width`` (``np.histogram(density=True)`` times the
    bin width), so the result matches it bit for bit; otherwise ``counts / total``.
    """
    counts = _counts(idx, n_bins)
    total = counts.sum(axis=1, keepdims=True)
    if not density:
        return counts / total
    width = np.diff(_hsv.bin_edges(n_bins))
    return counts / width / total * width


def _counts(idx: np.ndarray, n_bins: int) -> np.ndarray:
    """Per-row counts (B, n_bins) int64 of the bin indices ``idx`` (B, P)."""
    B, P = idx.shape
    if idx.dtype == np.uint8 and n_bins <= _PER_BIN_MAX_BINS and P < 1 << 16:
        counts = np.empty((B, n_bins), dtype=np.int64)
        hit = np.empty(idx.shape, dtype=np.bool_)
        for b in range(n_bins):
            np.equal(idx, b, out=hit)
            counts[:, b] = hit.view(np.uint8).sum(axis=1, dtype=np.uint16)
        return counts
    offsets = (np.arange(B) * n_bins)[:, None]
    keys = np.add(idx, offsets, dtype=np.intp)  # one pass, whatever small int dtype idx has
    return np.bincount(keys.ravel(), minlength=B * n_bins).reshape(B, n_bins)
