"""``warpnet features --features fisher-sift|fisher-color``: parameters by --set, errors in one line."""

from __future__ import annotations

import numpy as np
import pytest

from warpnet.cli import main

SMALL = ["--set", "fisher-sift.descriptor__patch_size=4", "--set", "fisher-sift.descriptor__step=2",
         "--set", "fisher-sift.n_components=3", "--set", "fisher-sift.pca_components=8",
         "--set", "fisher-sift.n_descriptors=500"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_fisher_sift_features_file(capsys, tmp_path):
    out = tmp_path / "fv.npz"
    code, stdout, err = run_cli(capsys, "features", "--data", "digits", "--features", "fisher-sift",
                                *SMALL, "--out", str(out))
    assert code == 0, err
    with np.load(out) as z:
        x, y = z["x"], z["y"]
        assert str(z["features"]) == "fisher-sift"
    # 8x8 digits, 4x4 patches every 2 pixels: 3x3 centres; 4 regions x 2 x 3 x 8 values
    assert x.shape == (1797, 4 * 2 * 3 * 8) and x.dtype == np.float32 and len(y) == 1797
    np.testing.assert_allclose(np.linalg.norm(x.reshape(1797, 4, -1), axis=2), 1, rtol=1e-4)
    assert "192 features for 1797 samples" in stdout


@pytest.mark.parametrize("argv, code, needle", [
    (["--features", "fisher-sift"], 1, "smaller than one patch"),
    (["--features", "fisher-color"], 1, "RGB images"),
    (["--features", "fisher-sift", "--set", "fisher-sift.pca_components=300"], 2,
     "pca_components=300 is larger than the descriptor"),
    (["--features", "fisher-sift", "--set", "fisher-sift.n_components"], 2, "FEATURE.PARAM=VALUE"),
    (["--features", "fisher-sift", "--set", "fisher-sift.colour=1"], 2, "Invalid parameter"),
    (["--features", "fisher-sift", *SMALL, "--set", "fisher-sift.regions=[[1,1],[1,9]]"], 1,
     "without patches"),
    (["--features", "fisher-sift", *SMALL, "--set", "fisher-sift.n_descriptors=2"], 2,
     "n_descriptors (2) must be >= n_components (3)"),
])
def test_errors_are_one_line(capsys, tmp_path, argv, code, needle):
    got, _, err = run_cli(capsys, "features", "--data", "digits", *argv,
                          "--out", str(tmp_path / "x.npz"))
    lines = err.strip().splitlines()
    assert got == code and len(lines) == 1 and lines[0].startswith("warpnet: error: "), err
    assert needle in lines[0] and "Traceback" not in err
    assert not (tmp_path / "x.npz").exists()


def test_output_larger_than_memory_is_refused_before_transforming():
    from warpnet.cli._features import _check_output_size
    from warpnet.errors import DataError

    _check_output_size(1000, 1000)  # 4 MB: fine
    with pytest.raises(DataError, match=r"need \d+\.\d GiB, more than half of this machine's memory"):
        _check_output_size(35_000, 4 * 2 * 256 * 64 * 1000)
