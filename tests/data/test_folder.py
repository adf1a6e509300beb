import numpy as np
import pytest
from PIL import Image

from warpnet.data import load_image, load_image_folder


def _save(path, array, fmt):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


@pytest.fixture
def image_folder(tmp_path):
    """cat/: a red PNG and a gray PNG; dog/: a blue JPEG (.JPG) and a green .jpeg; plus noise."""
    red = np.zeros((10, 12, 3), np.uint8)
    red[..., 0] = 255
    gray = np.full((10, 12), 128, np.uint8)  # single channel: must come back as RGB
    blue = np.zeros((20, 20, 3), np.uint8)
    blue[..., 2] = 255
    green = np.zeros((8, 8, 3), np.uint8)
    green[..., 1] = 200
    _save(tmp_path / "cat" / "a.png", red, "PNG")
    _save(tmp_path / "cat" / "b.png", gray, "PNG")
    _save(tmp_path / "dog" / "c.JPG", blue, "JPEG")
    _save(tmp_path / "dog" / "d.jpeg", green, "JPEG")
    (tmp_path / "dog" / "notes.txt").write_text("not an image, skipped")
    (tmp_path / ".hidden").mkdir()
    return tmp_path


def test_loads_classes_sorted_and_resized(image_folder):
    ds = load_image_folder(image_folder, 6)
    assert ds.class_names == ["cat", "dog"]
    assert ds.x.shape == (4, 6, 6, 3) and ds.x.dtype == np.uint8
    np.testing.assert_array_equal(ds.y, [0, 0, 1, 1])
    # Uniform images stay uniform through resizing; JPEG may shift colours slightly.
    np.testing.assert_array_equal(ds.x[0], np.broadcast_to([255, 0, 0], (6, 6, 3)))
    np.testing.assert_array_equal(ds.x[1], np.full((6, 6, 3), 128))
    assert np.abs(ds.x[2].astype(int) - [0, 0, 255]).max() <= 3
    assert np.abs(ds.x[3].astype(int) - [0, 200, 0]).max() <= 3


def test_height_width_size_matches_pillow(image_folder):
    ds = load_image_folder(image_folder, (5, 9))
    assert ds.x.shape == (4, 5, 9, 3)
    expected = np.asarray(Image.open(image_folder / "dog" / "c.JPG").convert("RGB")
                          .resize((9, 5), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(ds.x[2], expected)


def test_corrupt_image_is_named(image_folder):
    (image_folder / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match=r"broken\.png"):
        load_image_folder(image_folder, 8)


def test_truncated_jpeg_is_named(image_folder):
    raw = (image_folder / "dog" / "c.JPG").read_bytes()
    (image_folder / "dog" / "c.JPG").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"c\.JPG"):
        load_image_folder(image_folder, 8)


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(ValueError, match="no class sub-folders"):
        load_image_folder(tmp_path, 8)
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="cat.*has no images"):
        load_image_folder(tmp_path, 8)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_folder(tmp_path / "nope", 8)


@pytest.mark.parametrize("size, error", [(0, ValueError), ((4, -1), ValueError),
                                         ("8", TypeError), ((4, 4, 4), TypeError),
                                         (True, TypeError), (2.5, TypeError),
                                         (100_000, ValueError), ((10, 10**8), ValueError)])
def test_bad_size(image_folder, size, error):
    with pytest.raises(error, match="size"):
        load_image_folder(image_folder, size)


def test_load_image(image_folder):
    img = load_image(image_folder / "cat" / "a.png", (3, 4))
    assert img.shape == (3, 4, 3) and img.dtype == np.uint8
    with pytest.raises(FileNotFoundError):
        load_image(image_folder / "cat" / "zzz.png", 4)
    with pytest.raises(FileNotFoundError, match="is a folder, not a file"):
        load_image(image_folder / "cat", 4)


def test_class_folders_that_normalise_alike_are_refused(tmp_path):
    # "café" written precomposed (NFC) and decomposed (NFD): two folders, one visible name
    for name in ("caf\u00e9", "cafe\u0301"):
        _save(tmp_path / name / "a.png", np.zeros((4, 4, 3), np.uint8), "PNG")
    with pytest.raises(ValueError, match="'café'.*more than once"):
        load_image_folder(tmp_path, 4)
