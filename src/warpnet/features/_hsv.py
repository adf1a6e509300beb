"""Exact HSV histogram bins: the float64 reference and uint8 lookup tables.

The reference is the classic CIFAR-10 pipeline: ``matplotlib.colors.rgb_to_hsv(rgb
/ 255) * 255`` in float64, binned like ``np.histogram`` with edges
``np.linspace(0, 255, bins + 1)``. Integer pixels put many values exactly on bin
edges, where float32 arithmetic would land on the wrong side, so uint8 images are
binned exactly: hue by integer arithmetic (falling back to the float64 reference
for values exactly on an edge), saturation and value by tables built once with
the reference arithmetic itself. For large batches the hue bin of every one of
the 2**24 colours is tabulated once (16 MiB per ``bins``), after which a pixel's
bin is one table lookup keyed by its three bytes.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from ._parallel import run_chunks

HSV_CHANNELS = ("h", "s", "v")
RGB_CHANNELS = ("r", "g", "b")


def hsv_reference(rgb01: np.ndarray) -> np.ndarray:
    """HSV of float64 RGB in [0, 1], shape (..., 3): ``matplotlib.colors.rgb_to_hsv``'s arithmetic.

    Hue is computed per dominant channel, later channels overriding earlier ones on
    ties (red, then green, then blue), divided by 6 and wrapped into [0, 1).
    """
    out = np.zeros_like(rgb01)
    arr_max = rgb01.max(-1)
    delta = arr_max - rgb01.min(-1)  # np.ptp
    s = np.zeros_like(delta)
    ipos = arr_max > 0
    s[ipos] = delta[ipos] / arr_max[ipos]
    ipos = delta > 0
    r, g, b = rgb01[..., 0], rgb01[..., 1], rgb01[..., 2]
    idx = (r == arr_max) & ipos
    out[idx, 0] = (g[idx] - b[idx]) / delta[idx]
    idx = (g == arr_max) & ipos
    out[idx, 0] = 2.0 + (b[idx] - r[idx]) / delta[idx]
    idx = (b == arr_max) & ipos
    out[idx, 0] = 4.0 + (r[idx] - g[idx]) / delta[idx]
    out[..., 0] = (out[..., 0] / 6.0) % 1.0
    out[..., 1] = s
    out[..., 2] = arr_max
    return out


def bin_edges(bins: int) -> np.ndarray:
    """The reference edges ``np.linspace(0, 255, bins + 1)``."""
    return np.linspace(0, 255, bins + 1)


def bin_index(values: np.ndarray, bins: int) -> np.ndarray:
    """``np.histogram`` bin of each value in [0, 255] (last bin closed), as intp."""
    edges = bin_edges(bins)
    idx = np.searchsorted(edges, values, side="right") - 1
    np.minimum(idx, bins - 1, out=idx)  # a value equal to the last edge counts in the last bin
    return idx


_HIT = np.uint8(255)  # hue table entry: the exact hue lies on a bin edge


def hue_bins_uint8(rgb: np.ndarray, bins: int) -> np.ndarray:
    """Reference hue bin of each uint8 colour, rgb shape (P, 3) -> (P,) uint8 (bins <= 256).

    The exact hue is the rational ``num / (6 * delta)`` with integer ``num`` (the
    dominant channel's sector offset plus the difference of the other two) and
    ``delta = max - min``, so its bin is ``floor(bins * num / (6 * delta))``: a
    table indexed by (delta, num). Where that value is a whole number the hue sits
    exactly on a bin edge and float64 rounding decides the side; those few pixels
    are binned with the float64 reference itself.
    """
    planes = np.ascontiguousarray(rgb.T)  # (3, P): contiguous channels vectorize well
    r, g, b = planes
    mx = np.maximum(np.maximum(r, g), b)
    is_g = g == mx
    is_b = b == mx
    delta = (mx - np.minimum(np.minimum(r, g), b)).astype(np.int16)
    r, g, b = planes.astype(np.int16)
    # Sector offsets 0 (red max), 2 (green), 4 (blue), times delta; later channels win
    # ties, as in the reference. Selection by multiplying with the masks: no branches.
    num = g - b
    num += is_g * (2 * delta + b - r - num)
    num += is_b * (4 * delta + r - g - num)
    num += (num < 0) * (6 * delta)  # wrap into [0, 6 * delta): hue modulo 1
    key = delta.astype(np.int32)
    key *= _NUM_SPAN
    key += num
    out = np.take(hue_rational_table(bins), key)  # uint8: cheap to scan for hits
    hits = np.flatnonzero(out == _HIT)
    if hits.size:
        sector = np.where(is_b[hits], 2, np.where(is_g[hits], 1, 0))
        out[hits] = bin_index(_sector_hue(rgb[hits] / 255, sector) * 255, bins)
    return out


def _sector_hue(rgb01: np.ndarray, sector: np.ndarray) -> np.ndarray:
    """The reference hue of colours (n, 3) whose dominant channel ``sector`` is known.

    The same float64 operations as ``hsv_reference`` for those colours, without its
    masked passes: ``(offset + (first - second) / delta) / 6 % 1``. Works on the
    three channel columns (no reductions over the short colour axis, which are slow).
    """
    r, g, b = rgb01[:, 0], rgb01[:, 1], rgb01[:, 2]
    delta = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
    first = np.choose(sector, (g, b, r))
    second = np.choose(sector, (b, r, g))
    h = (first - second) / delta
    h += 2.0 * sector  # red: 0 + x, exact; green/blue: 2.0 + x, 4.0 + x as the reference
    return (h / 6.0) % 1.0


_NUM_SPAN = 6 * 255 + 1  # num lies in [0, 6 * delta) <= 1530


@lru_cache(maxsize=4)
def hue_rational_table(bins: int) -> np.ndarray:
    """uint8 table (256 * 1531,) of floor(bins * num / (6 * delta)); 255 marks edge hits."""
    delta, num = np.meshgrid(np.arange(256), np.arange(_NUM_SPAN), indexing="ij")
    den = np.maximum(6 * delta, 1)  # delta == 0: grey, hue 0, num is 0 too
    scaled = bins * num
    table = (scaled // den).astype(np.uint8)
    table[(scaled % den == 0) & (num > 0)] = _HIT
    table = table.reshape(-1)
    table.flags.writeable = False
    return table


@lru_cache(maxsize=4)
def saturation_table(bins: int) -> np.ndarray:
    """Saturation bin indexed by ``(max << 8) | min`` of a uint8 colour (min <= max)."""
    hi, lo = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    rgb = np.stack([hi, lo, lo], axis=-1).reshape(-1, 3)  # only max and min matter
    table = bin_index(hsv_reference(rgb / 255)[:, 1] * 255, bins).astype(np.uint16)
    table.flags.writeable = False
    return table


@lru_cache(maxsize=4)
def value_table(bins: int) -> np.ndarray:
    """Value bin indexed by the uint8 maximum of a colour."""
    v = np.arange(256)
    rgb = np.stack([v, v, v], axis=-1)
    table = bin_index(hsv_reference(rgb / 255)[:, 2] * 255, bins).astype(np.uint16)
    table.flags.writeable = False
    return table


@lru_cache(maxsize=4)
def channel_table(bins: int) -> np.ndarray:
    """RGB channel bin of each uint8 value."""
    table = bin_index(np.arange(256, dtype=np.float64), bins).astype(np.uint16)
    table.flags.writeable = False
    return table


# -- the full colour table --------------------------------------------------------
_COLOURS = 1 << 24
_BLUE_BLOCK = 16  # blue values per build step: 16 * 65536 colours of temporaries
_colour_tables: dict[int, np.ndarray] = {}
_colour_lock = threading.Lock()


def hue_colour_table(bins: int, n_threads: int = 1) -> np.ndarray:
    """uint8 table (2**24,) of the reference hue bin of colour ``r | g << 8 | b << 16``.

    Built on first use with ``hue_bins_uint8`` (exact) on ``n_threads`` threads,
    then kept for the process: about 0.2 s and 16 MiB per ``bins`` value.
    """
    with _colour_lock:  # concurrent first calls build the table once
        table = _colour_tables.get(bins)
        if table is None:
            table = _build_hue_colour_table(bins, n_threads)
            _colour_tables[bins] = table
    return table


def cached_hue_colour_table(bins: int) -> np.ndarray | None:
    """The colour table of ``bins`` if it was built already, else None (never builds)."""
    return _colour_tables.get(bins)


def _build_hue_colour_table(bins: int, n_threads: int) -> np.ndarray:
    table = np.empty(_COLOURS, dtype=np.uint8)
    v = np.arange(256, dtype=np.uint8)
    red_green = np.empty((1 << 16, 3), dtype=np.uint8)
    red_green[:, 0] = np.tile(v, 256)  # red varies fastest, as in the key
    red_green[:, 1] = np.repeat(v, 256)

    def build(blue: int) -> None:
        block = np.empty((_BLUE_BLOCK, 1 << 16, 3), dtype=np.uint8)
        block[...] = red_green
        block[..., 2] = np.arange(blue, blue + _BLUE_BLOCK, dtype=np.uint8)[:, None]
        table[blue << 16 : (blue + _BLUE_BLOCK) << 16] = hue_bins_uint8(block.reshape(-1, 3), bins)

    for _ in run_chunks(build, range(0, 256, _BLUE_BLOCK), n_threads):
        pass
    table.flags.writeable = False
    return table


def colour_keys(rgb: np.ndarray) -> np.ndarray:
    """``r | g << 8 | b << 16`` of each uint8 colour, rgb C-contiguous (P, 3) -> (P,) intp.

    Little-endian 4-byte reads at every third byte hold a colour in their low 3
    bytes (the 4th is the next pixel's red, masked off): one pass, no channel
    split. The last colour, whose 4th byte would lie past the array, is done apart.
    """
    P = rgb.shape[0]
    keys = np.empty(P, dtype=np.intp)
    if P > 1:
        words = np.ndarray((P - 1,), dtype="<u4", buffer=rgb, strides=(3,))
        np.bitwise_and(words, 0xFFFFFF, out=keys[:-1])
    r, g, b = (int(c) for c in rgb[-1])
    keys[-1] = r | g << 8 | b << 16
    return keys
