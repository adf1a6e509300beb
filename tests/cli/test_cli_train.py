"""``warpnet train`` end to end on small data, and the files ``eval``/``predict`` read back."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from warpnet.cli import main
from warpnet.cli._data import load_source


def run_ok(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    return out


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A short default run on digits (5 epochs)."""
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--epochs", "5", "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_train_writes_every_file(digits_run):
    names = {p.name for p in digits_run.iterdir()}
    assert {"config.json", "history.json", "history.csv", "model.safetensors",
            "training-curve.png", "checkpoints"} <= names
    config = json.loads((digits_run / "config.json").read_text())
    assert config["config"]["hidden"] == [100] and config["config"]["data"] == "digits"
    assert config["samples"] == {"train": 1293, "validation": 144, "test": 360}
    history = json.loads((digits_run / "history.json").read_text())
    records = history["records"] if isinstance(history, dict) else history
    assert [r["epoch"] for r in records] == [1, 2, 3, 4, 5]
    with open(digits_run / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5 and "val_accuracy" in rows[0]
    assert (digits_run / "training-curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any((digits_run / "checkpoints").iterdir())
    assert config["accuracy"]["test"] > 0.9


def test_final_line_and_eval_agree(capsys, digits_run, tmp_path):
    out = run_ok(capsys, "train", "--epochs", "5", "--out", str(tmp_path), "--quiet")
    lines = out.strip().splitlines()
    assert len(lines) == 1
    test_acc = float(re.search(r"test (\d\.\d+)", lines[0]).group(1))
    saved = json.loads((digits_run / "config.json").read_text())["accuracy"]["test"]
    assert test_acc == pytest.approx(saved, abs=1e-4)  # same seed, same run

    report = run_ok(capsys, "eval", str(digits_run / "model.safetensors"), "--data", "digits")
    assert f"test accuracy {saved:.4f}" in report
    # The confusion matrix: one row per class, counts summing to the 360 test images.
    rows = [line.split() for line in report.splitlines()[3:]]
    assert len(rows) == 10
    assert sum(int(c) for row in rows for c in row[1:]) == 360


def test_predict_on_png_files(capsys, digits_run, tmp_path):
    from PIL import Image

    from warpnet.cli._model_file import load_model

    source = load_source("digits")
    files = []
    for i in range(4):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(np.round(source.x_test[i] * (255 / 16)).astype(np.uint8)).save(path)
        files.append(str(path))
    big = tmp_path / "big.png"  # another size: resized to the model's 8x8
    Image.fromarray(np.kron(source.x_test[0] * 15, np.ones((4, 4))).astype(np.uint8)).save(big)

    out = run_ok(capsys, "predict", str(digits_run / "model.safetensors"), *files, str(big),
                 "--top-k", "2")
    lines = out.strip().splitlines()
    assert len(lines) == 5
    expected = load_model(digits_run / "model.safetensors").scores(source.x_test[:4]).argmax(1)
    for line, cls in zip(lines, expected, strict=False):
        name, ranked = line.split(": ")
        top = ranked.split(", ")
        assert len(top) == 2
        assert top[0].split()[0] == str(cls)
        p1, p2 = (float(t.split()[1]) for t in top)
        assert 1 >= p1 >= p2 >= 0


def test_predict_rejects_a_non_image(capsys, digits_run, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    assert main(["predict", str(digits_run / "model.safetensors"), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "notes.png" in err and len(err.strip().splitlines()) == 1


def test_eval_rejects_data_the_model_cannot_take(capsys, digits_run, tmp_path):
    model = str(digits_run / "model.safetensors")
    assert main(["eval", model, "--data", "toy:spiral"]) == 1
    assert "3 classes, but the model knows 10" in capsys.readouterr().err
    np.savez(tmp_path / "v.npz", x=np.ones((50, 5)), y=np.arange(50) % 10)
    assert main(["eval", model, "--data", f"npz:{tmp_path / 'v.npz'}"]) == 1
    err = capsys.readouterr().err
    assert "shape (5,), but the model expects (8, 8)" in err and len(err.strip().splitlines()) == 1


def test_a_model_file_with_nan_weights_is_refused_not_scored(capsys, digits_run, tmp_path):
    from PIL import Image

    from warpnet import io

    saved = io.load(digits_run / "model.safetensors")
    saved.model.parameters()[0].value[0, 0] = np.nan  # a damaged or diverged file, still loadable
    damaged = tmp_path / "nan.safetensors"
    io.save(saved.model, damaged, preprocessing=saved.preprocessing,
            class_names=saved.class_names, metadata=saved.metadata)
    assert main(["eval", str(damaged)]) == 1
    err = capsys.readouterr().err
    assert "NaN or inf scores" in err and len(err.strip().splitlines()) == 1
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "x.png")
    assert main(["predict", str(damaged), str(tmp_path / "x.png")]) == 1
    assert "NaN or inf scores" in capsys.readouterr().err


def test_failed_run_leaves_the_previous_one_intact(capsys, digits_run, tmp_path):
    before = {p.name: p.read_bytes() for p in digits_run.iterdir() if p.is_file()}
    missing = tmp_path / "missing.npz"
    assert main(["train", "--data", f"npz:{missing}", "--out", str(digits_run)]) == 1
    capsys.readouterr()
    assert {p.name: p.read_bytes() for p in digits_run.iterdir() if p.is_file()} == before


def test_linear_model_on_npz_vectors(capsys, tmp_path):
    source = load_source("digits")
    x = np.concatenate([source.x, source.x_test]).reshape(-1, 64).astype(np.float32)
    y = np.concatenate([source.y, source.y_test])
    np.savez(tmp_path / "digits.npz", x=x, y=y)
    out = run_ok(capsys, "train", "--data", f"npz:{tmp_path / 'digits.npz'}", "--model", "linear",
                 "--epochs", "5", "--out", str(tmp_path / "run"), "--quiet")
    assert float(re.search(r"test (\d\.\d+)", out).group(1)) > 0.85
    # A model of vectors cannot take image files.
    assert main(["predict", str(tmp_path / "run" / "model.safetensors"), "x.png"]) == 1
    assert "not images" in capsys.readouterr().err


def test_npz_images_train_and_predict(capsys, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    # Two classes of 6x6 RGB images: dark and bright.
    y = np.arange(80) % 2
    x = (rng.integers(0, 100, (80, 6, 6, 3)) + 150 * y[:, None, None, None]).astype(np.uint8)
    np.savez(tmp_path / "img.npz", x=x, y=y, class_names=np.array(["dark", "bright"]))
    run_ok(capsys, "train", "--data", f"npz:{tmp_path / 'img.npz'}", "--epochs", "10",
           "--out", str(tmp_path / "run"), "--quiet")
    Image.new("RGB", (12, 12), (240, 240, 240)).save(tmp_path / "white.png")
    out = run_ok(capsys, "predict", str(tmp_path / "run" / "model.safetensors"),
                 str(tmp_path / "white.png"))
    assert out.split(": ")[1].startswith("bright")


def test_toy_data(capsys, tmp_path):
    out = run_ok(capsys, "train", "--data", "toy:gauss", "--hidden", "16", "--epochs", "10",
                 "--out", str(tmp_path), "--quiet")
    assert float(re.search(r"test (\d\.\d+)", out).group(1)) > 0.9


@pytest.mark.parametrize("activation", ["gelu", "silu"])
def test_every_registered_activation_is_offered(capsys, tmp_path, activation):
    run_ok(capsys, "train", "--data", "toy:gauss", "--hidden", "8", "--epochs", "2",
           "--activation", activation, "--optimizer", "adam", "--out", str(tmp_path), "--quiet")
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["config"]["activation"] == activation and config["config"]["lr"] == 1e-3


@pytest.mark.slow
def test_resume_continues_to_the_same_weights(capsys, tmp_path):
    from warpnet import io

    common = ["--epochs", "4", "--quiet", "--lr", "0.05"]
    run_ok(capsys, "train", *common, "--out", str(tmp_path / "straight"))
    run_ok(capsys, "train", "--epochs", "2", "--quiet", "--lr", "0.05", "--out", str(tmp_path / "split"))
    run_ok(capsys, "train", "--resume", "--epochs", "4", "--out", str(tmp_path / "split"))
    a = io.load(tmp_path / "straight" / "model.safetensors").model.state_dict()
    b = io.load(tmp_path / "split" / "model.safetensors").model.state_dict()
    for name in a:
        np.testing.assert_array_equal(np.asarray(a[name]), np.asarray(b[name]))
    history = json.loads((tmp_path / "split" / "history.json").read_text())
    records = history["records"] if isinstance(history, dict) else history
    assert len(records) == 4


def test_resume_refuses_changed_settings(capsys, digits_run):
    assert main(["train", "--resume", "--lr", "0.5", "--out", str(digits_run)]) == 2
    assert "--lr" in capsys.readouterr().err


def test_resume_without_a_run(capsys, tmp_path):
    assert main(["train", "--resume", "--out", str(tmp_path)]) == 1
    assert "nothing to resume" in capsys.readouterr().err


def test_features_file_round_trip(capsys, tmp_path):
    """Features computed once and trained on from the file give the same run as --features."""
    from PIL import Image

    feats = tmp_path / "hog.npz"
    out = run_ok(capsys, "features", "--data", "digits", "--features", "hog", "--out", str(feats))
    assert "for 1797 samples" in out
    with np.load(feats) as f:
        assert f["x"].shape == (1797, 9) and f["x"].dtype == np.float32
        assert str(f["features"]) == "hog"
    from_file = run_ok(capsys, "train", "--data", f"npz:{feats}", "--epochs", "3", "--quiet",
                       "--out", str(tmp_path / "a"))
    direct = run_ok(capsys, "train", "--features", "hog", "--epochs", "3", "--quiet",
                    "--out", str(tmp_path / "b"))
    pattern = r"train accuracy (\S+)  validation (\S+)  test (\S+)"
    assert re.search(pattern, from_file).groups() == re.search(pattern, direct).groups()
    # The model file carries the fitted features: predict works on a raw image file.
    source = load_source("digits")
    Image.fromarray(np.round(source.x_test[0] * (255 / 16)).astype(np.uint8)).save(tmp_path / "d.png")
    assert run_ok(capsys, "predict", str(tmp_path / "b" / "model.safetensors"), str(tmp_path / "d.png"))


def test_features_with_its_own_test_split(capsys, tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("test", 20)):
        np.savez(tmp_path / f"{split}_00.npz", x=rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8),
                 y=np.arange(n) % 2)
    feats = tmp_path / "f.npz"
    run_ok(capsys, "features", "--data", f"npz:{tmp_path}", "--features", "hog+color", "--out", str(feats))
    with np.load(feats) as f:
        assert f["x"].shape[0] == 40 and f["x_test"].shape[0] == 20
    out = run_ok(capsys, "train", "--data", f"npz:{feats}", "--epochs", "2", "--quiet",
                 "--out", str(tmp_path / "run"))
    assert "test" in out
    report = run_ok(capsys, "eval", str(tmp_path / "run" / "model.safetensors"), "--data", f"npz:{feats}")
    assert "(" in report and "/20)" in report


def test_unknown_feature_is_a_usage_error(capsys, tmp_path):
    assert main(["train", "--features", "sift", "--out", str(tmp_path)]) == 2
    assert "sift" in capsys.readouterr().err
    assert main(["features", "--features", "sift", "--out", str(tmp_path / "f.npz")]) == 2


@pytest.mark.slow
def test_sigint_saves_exits_130_and_resume_finishes(tmp_path):
    import signal
    import subprocess
    import sys

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "warpnet", "train", "--epochs", "150", "--out", str(out)]
    proc = subprocess.Popen([*cmd, "--verbose"], stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("epoch 2/"):
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 130
    assert "Traceback" not in rest
    last = rest.strip().splitlines()[-1]
    assert last.startswith("warpnet: error: training interrupted") and "--resume" in last
    assert (out / "checkpoints").is_dir() and any((out / "checkpoints").iterdir())
    assert not (out / "model.safetensors").exists()

    done = subprocess.run([*cmd, "--resume", "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    records = json.loads((out / "history.json").read_text())
    records = records["records"] if isinstance(records, dict) else records
    assert [r["epoch"] for r in records] == list(range(1, 151))


@pytest.mark.parametrize("flags, target", [([], 0.97), (["--model", "linear"], 0.95)])
def test_default_settings_reach_the_digits_targets(capsys, tmp_path, flags, target):
    """The defaults: two-layer ReLU net >= 97 %, linear softmax >= 95 % on the fixed test split."""
    out = run_ok(capsys, "train", *flags, "--quiet", "--out", str(tmp_path))
    assert float(re.search(r"test (\d\.\d+)", out).group(1)) >= target
