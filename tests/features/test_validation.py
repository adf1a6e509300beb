"""Bad input: every public entry point raises ValueError naming what was expected."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from warpnet.features import HOG, BagOfWords, ColorHistogram

GOOD = np.zeros((2, 16, 16), dtype=np.uint8)


@pytest.mark.parametrize(
    "X,match",
    [
        (np.zeros(5), "dimensions"),
        (np.zeros((1, 2, 16, 16, 3)), "dimensions"),
        (np.zeros((0, 16, 16)), "empty"),
        (np.zeros((2, 0, 16)), "empty"),
        (np.full((2, 16, 16), np.nan), "NaN"),
        (np.full((2, 16, 16), np.inf), "NaN or infinite"),
        (np.zeros((2, 256)), "image_shape"),
        (np.array(["a", "b"]), "dtype"),
    ],
)
def test_bad_images(X, match):
    with pytest.raises((ValueError, TypeError), match=match):
        HOG(pixels_per_cell=4).fit(X)


@pytest.mark.parametrize(
    "params,match",
    [
        ({"orientations": 0}, "orientations"),
        ({"orientations": 2.5}, "orientations"),
        ({"pixels_per_cell": 0}, "pixels_per_cell"),
        ({"pixels_per_cell": (8, -1)}, "pixels_per_cell"),
        ({"pixels_per_cell": (8, 8, 8)}, "pixels_per_cell"),
        ({"cells_per_block": (0, 1)}, "cells_per_block"),
        ({"block_norm": "L3"}, "block_norm"),
        ({"color": "lab"}, "color"),
        ({"pixels_per_cell": 32}, "pixels_per_cell"),  # cells larger than the image
        ({"pixels_per_cell": 8, "cells_per_block": 3}, "cells_per_block"),
    ],
)
def test_bad_hog_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        HOG(**params).fit(GOOD)


def test_negative_pixels_with_transform_sqrt():
    X = np.full((2, 16, 16), -1.0)
    with pytest.raises(ValueError, match="transform_sqrt"):
        HOG(transform_sqrt=True).fit(X)
    hog = HOG(transform_sqrt=True).fit(np.ones((2, 16, 16)))
    with pytest.raises(ValueError, match="transform_sqrt"):
        hog.transform(X)
    assert np.isfinite(HOG().fit_transform(X)).all()  # fine without the square root


@pytest.mark.parametrize("est", [HOG(), ColorHistogram(), BagOfWords()])
def test_transform_before_fit(est):
    with pytest.raises(NotFittedError):  # a ValueError subclass
        est.transform(np.zeros((2, 16, 16, 3), np.uint8))
    assert issubclass(NotFittedError, ValueError)


def test_transform_checks_image_shape_and_flattened_input():
    hog = HOG(pixels_per_cell=4).fit(GOOD)
    with pytest.raises(ValueError, match="shape"):
        hog.transform(np.zeros((2, 20, 16), np.uint8))
    flat = HOG(pixels_per_cell=4, image_shape=(16, 16)).fit(GOOD.reshape(2, -1))
    np.testing.assert_array_equal(flat.transform(GOOD.reshape(2, -1)), hog.transform(GOOD))
    with pytest.raises(ValueError, match="features"):
        flat.transform(np.zeros((2, 100)))
    with pytest.raises(ValueError, match="image_shape"):
        HOG(image_shape=(16, 0)).fit(GOOD.reshape(2, -1))


def test_integer_and_float16_inputs():
    X = np.random.default_rng(0).integers(0, 256, (2, 16, 16))
    hog = HOG(pixels_per_cell=4).fit(X)
    ref = hog.transform(X.astype(np.uint8))
    np.testing.assert_allclose(hog.transform(X.astype(np.int16)), ref, atol=1e-6)
    assert hog.transform(X.astype(np.float16)).dtype == np.float32


def test_visualize_rejects_batches():
    with pytest.raises(ValueError, match="one"):
        HOG().visualize(np.zeros((2, 16, 16, 3, 1)))


def test_progress_bar_only_for_long_jobs_on_a_terminal(monkeypatch):
    from warpnet.features import _base

    big = np.empty((100, 1000, 1000), dtype=np.uint8)  # 100 M pixels, never touched
    chunks = range(0, 100, 10)
    monkeypatch.setattr(_base.sys.stderr, "isatty", lambda: False)
    assert _base._progress(chunks, big, "HOG") is chunks
    monkeypatch.setattr(_base.sys.stderr, "isatty", lambda: True)
    assert _base._progress(chunks, big[:1], "HOG") is chunks  # short job: no bar
    bar = _base._progress(chunks, big, "HOG")
    assert bar is not chunks and list(bar) == list(chunks)


@pytest.mark.parametrize("dtype, out", [("<f8", np.float64), (">f8", np.float64), (">f4", np.float32),
                                        ("int32", np.float32), ("uint8", np.float32)])
def test_output_dtype_follows_the_float_width_in_either_byte_order(dtype, out):
    images = (np.arange(2 * 16 * 16) % 200).reshape(2, 16, 16).astype(dtype)
    assert HOG().fit_transform(images).dtype == out
