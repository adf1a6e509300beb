"""``warpnet train --model fisher-2011``: the whole 2011 system from the command line, its model file
read back by ``eval`` and ``predict``, settings by image size and ``--set``, errors in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from warpnet import io
from warpnet.cli import _fisher2011 as f2011
from warpnet.cli import main
from warpnet.errors import DataError, UsageError

SMALL = ["--set", "n_components=4", "--set", "pca_components=8", "--set", "sub_dim=4",
         "--set", "n_descriptors=2000", "--set", "fisher-color.n_components=3", "--epochs", "5"]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warpnet: error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]


def toy(n: int, seed: int, grey: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Three classes: stripes of one colour in three directions, over noise (32x32 RGB)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.integers(0, 60, (n, 32, 32, 3)).astype(np.float64)
    yy, xx = np.mgrid[:32, :32]
    stripes = [(xx // 4) % 2, (yy // 4) % 2, ((xx + yy) // 4) % 2]
    for i, c in enumerate(y):
        x[i, ..., c] += 150 * stripes[c]
    x = np.clip(x, 0, 255).astype(np.uint8)
    return (x.mean(axis=3, keepdims=True).astype(np.uint8) if grey else x), y


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fisher2011") / "toy.npz"
    (x, y), (xt, yt) = toy(400, 0), toy(150, 1)
    np.savez(path, x=x, y=y, x_test=xt, y_test=yt, class_names=np.array(["v", "h", "d"]))
    return path


@pytest.fixture(scope="module")
def trained(toy_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--data", f"npz:{toy_file}", "--model", "fisher-2011", *SMALL,
                 "--out", str(out), "-q"])
    assert code == 0
    return out


def test_train_writes_the_whole_pipeline_and_eval_and_predict_read_it(trained, toy_file, capsys,
                                                                      tmp_path):
    config = json.loads((trained / "config.json").read_text())
    acc = config["accuracy"]
    assert acc["test"] > 0.9 and set(acc["systems"]) == {"fisher-sift", "fisher-color"}
    assert config["settings"]["fisher-color"]["n_components"] == 3
    assert config["settings"]["fisher-sift"]["n_components"] == 4
    assert config["settings"]["fisher-sift"]["patch_size"] == 8  # chosen for 32x32 images
    weights = config["fusion_weights"]
    assert abs(sum(weights.values()) - 1) < 1e-9

    saved = io.load(trained / "model.safetensors")
    pieces = saved.preprocessing["fisher_2011"]
    assert [s["name"] for s in pieces["systems"]] == ["fisher-sift", "fisher-color"]
    assert pieces["systems"][0]["codebooks"].shape == (4 * 2 * 4 * 8 // 4, 16, 4)
    code, out, err = run_cli(capsys, "eval", str(trained / "model.safetensors"), "--data",
                             f"npz:{toy_file}")
    assert code == 0, err
    assert f"test accuracy {acc['test']:.4f}" in out  # the file computes what training measured

    from PIL import Image

    x, y = toy(3, 5)
    files = []
    for i, img in enumerate(x):
        files.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(img).save(files[-1])
    code, out, err = run_cli(capsys, "predict", str(trained / "model.safetensors"), *files)
    assert code == 0, err
    names = np.array(["v", "h", "d"])
    predicted = [line.split(": ")[1].split(" ")[0] for line in out.strip().splitlines()]
    assert predicted == list(names[y])


def test_the_network_is_the_late_fusion_of_the_systems(trained, toy_file):
    from warpnet.cli._model_file import load_model

    loaded = load_model(trained / "model.safetensors")
    saved = io.load(trained / "model.safetensors")
    with np.load(toy_file) as z:
        x = z["x_test"][:20]
    fused = loaded.scores(x)
    parts = loaded.preprocessing.feature_transform_.transformer_list
    expected = 0
    for (name, fv), system in zip(parts, saved.preprocessing["fisher_2011"]["systems"], strict=True):
        assert name == system["name"]
        expected = expected + system["weight"] * (fv.transform(x) @ system["coef"]
                                                  + system["intercept"])
    np.testing.assert_allclose(fused, expected, rtol=1e-4, atol=1e-5)


def test_model_file_whose_pieces_do_not_fit_is_refused(trained, toy_file, capsys, tmp_path):
    saved = io.load(trained / "model.safetensors")
    cases = {
        "weights": lambda p: p["fisher_2011"]["systems"][0].update(weight=0.9),
        "classifier": lambda p: p["fisher_2011"]["systems"][1].update(
            coef=p["fisher_2011"]["systems"][1]["coef"][:-1]),
        "codebooks": lambda p: p["fisher_2011"]["systems"][0].update(
            codebooks=p["fisher_2011"]["systems"][0]["codebooks"][:-1]),
        "systems": lambda p: p["fisher_2011"]["systems"].reverse(),
        "format": lambda p: p["fisher_2011"].update(format="other/9"),
    }
    for what, spoil in cases.items():
        import copy

        state = copy.deepcopy(saved.preprocessing)
        spoil(state)
        path = tmp_path / f"{what}.safetensors"
        io.save(saved.model, path, preprocessing=state, class_names=saved.class_names)
        code, _, err = run_cli(capsys, "eval", str(path), "--data", f"npz:{toy_file}")
        assert code == 1, (what, err)
        one_line(err, "pieces do not fit together")


def test_grey_images_train_the_sift_system_alone(tmp_path, capsys):
    (x, y), (xt, yt) = toy(300, 0, grey=True), toy(60, 1, grey=True)
    np.savez(tmp_path / "g.npz", x=x, y=y, x_test=xt, y_test=yt)
    code, out, err = run_cli(capsys, "train", "--data", f"npz:{tmp_path / 'g.npz'}", "--model",
                             "fisher-2011", *SMALL, "--out", str(tmp_path / "run"))
    assert code == 0, err
    assert "SIFT system alone" in out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert list(config["fusion_weights"]) == ["fisher-sift"]


@pytest.mark.parametrize("argv,code,needle", [
    (["--set", "colour=1"], 2, "unknown setting 'colour'"),
    (["--set", "n_components"], 2, "KEY=VALUE"),
    (["--set", "fisher-hog.step=2"], 2, "unknown system 'fisher-hog'"),
    (["--set", "fisher-sift.sub_dim=4"], 2, "shared by both systems"),
    (["--set", "n_components=2.5"], 2, "takes a int"),
    (["--set", "pca_components=500"], 2, "pca_components=500 is larger than the descriptor"),
    (["--hidden", "10"], 2, "--hidden do(es) not apply"),
    (["--set", "sub_dim=7"], 1, "sub_dim=7 does not divide"),
])
def test_bad_settings_are_one_line(argv, code, needle, toy_file, capsys, tmp_path):
    got, _, err = run_cli(capsys, "train", "--data", f"npz:{toy_file}", "--model", "fisher-2011",
                          "--set", "n_components=2", "--set", "pca_components=4",
                          "--set", "n_descriptors=500", *argv, "--out", str(tmp_path / "r"), "-q")
    assert got == code, err
    one_line(err, needle)


def test_set_belongs_to_fisher_2011_and_small_images_are_refused(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--set", "n_components=2", "--out", str(tmp_path / "a"))
    assert code == 2
    one_line(err, "--set applies to --model fisher-2011")
    # digits are 8x8: one 8x8 patch, so the 3 stripes of the regions hold none
    code, _, err = run_cli(capsys, "train", "--model", "fisher-2011", "--out", str(tmp_path / "b"))
    assert code == 1
    one_line(err, "region(s) without patches")


def test_settings_follow_the_image_size_and_parse_sets():
    assert f2011.settings_for((32, 32, 3)).patch_size == 8
    big = f2011.settings_for((256, 256, 3))
    assert big.patch_size == 16 and big.n_components == 256 and big.pca_components == 64
    assert f2011.settings_for((96, 96)).n_components == 128
    sets = f2011.parse_sets(["step=2", "fisher-color.scales=[8]", "alpha=1"], f2011.Settings(),
                            f2011.SYSTEMS)
    assert sets["fisher-sift"].step == sets["fisher-color"].step == 2
    assert sets["fisher-color"].scales == (8,) and sets["fisher-sift"].scales == (8, 12)
    assert sets["fisher-sift"].alpha == 1.0 and isinstance(sets["fisher-sift"].alpha, float)
    with pytest.raises(UsageError, match="scales takes a tuple"):
        f2011.parse_sets(["scales=8"], f2011.Settings(), f2011.SYSTEMS)


def test_memory_check_counts_the_codes_not_the_floats():
    settings = {name: f2011.Settings() for name in f2011.SYSTEMS}
    line = f2011.check_memory(25_000, (32, 32, 3), settings)
    # 2 x 16,384 values: 3.05 GiB as float32, 32 times less as 1-bit codes
    assert "3.05 GiB as float32" in line and "97.7 MiB compressed" in line
    with pytest.raises(DataError, match="compressed features of"):
        f2011.check_memory(10**11, (32, 32, 3), settings)
