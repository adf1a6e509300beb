"""Shared checks for the figure tests: a rendered figure is not blank."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image
from threadpoolctl import threadpool_limits

from warpnet.viz._common import png_bytes

# Measured on this package's figures: an empty pair of axes with a title reaches a gray-level
# variance of ~550 and 2 % non-white pixels; every real figure has > 1,100 and > 7 %.
MIN_VARIANCE = 500.0
MIN_INK = 0.05


def ink(png: bytes) -> tuple[float, float]:
    """(gray-level variance, fraction of non-white pixels) of a PNG."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)
    return float(rgb.mean(axis=2).var()), float((rgb.min(axis=2) < 250).mean())


@pytest.fixture(autouse=True, scope="module")
def _single_blas_thread():
    """Run the tiny training loops on one BLAS thread, as ``make_figures`` does: threads only
    add waiting at these sizes, a lot of it when the cores are shared."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def assert_not_blank() -> Callable[[Figure | bytes], None]:
    def check(fig_or_png: Figure | bytes) -> None:
        png = fig_or_png if isinstance(fig_or_png, bytes) else png_bytes(fig_or_png)
        variance, covered = ink(png)
        assert variance > MIN_VARIANCE, f"figure looks blank: gray variance {variance:.0f}"
        assert covered > MIN_INK, f"figure looks blank: {covered:.1%} of pixels drawn"

    return check


@pytest.fixture
def artists() -> Callable[[Figure, str], list]:
    """``artists(fig, gid)``: every artist of ``fig`` with that gid, in drawing order."""

    def find(fig: Figure, gid: str) -> list:
        return list(fig.findobj(lambda a: a.get_gid() == gid))

    return find
