"""``warpnet train --recipe`` and the flags of normalisation, augmentation and modern training."""

from __future__ import annotations

import json

import pytest

from warpnet import io, nn
from warpnet.cli import main


def test_recipe_with_overrides_and_resume(capsys, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--recipe", "mlp-best", "--hidden", "32", "--epochs", "2", "--augment",
            "shift=1", "--ema", "0.5", "--clip-norm", "5", "--out", str(out), "--quiet"]
    assert main(args) == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["hidden"] == [32] and config["norm"] == "batch" and config["optimizer"] == "adamw"
    assert config["augment"] == "shift=1" and config["label_smoothing"] == 0.1
    model = io.load(out / "model.safetensors").model
    assert any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    resumed = ["train", "--resume", "--epochs", "3", "--out", str(out), "--quiet"]
    assert main(resumed) == 0, capsys.readouterr().err
    assert len(json.loads((out / "history.json").read_text())["records"]) == 3


@pytest.mark.parametrize("argv, words", [
    (["--data", "toy:moons", "--augment", "flip"], "image inputs"),
    (["--features", "hog", "--augment", "flip"], "--features"),
    (["--augment", "rotate"], "augment item"),
    (["--label-smoothing", "1"], "label-smoothing"),
    (["--loss", "svm", "--label-smoothing", "0.1"], "label-smoothing"),
    (["--warmup", "2"], "--warmup"),
    (["--recipe", "best"], "recipe"),
    (["--norm", "group"], "norm"),
    (["--whiten", "pca"], "--whiten"),
    (["--whiten-eps", "0.1"], "--whiten-eps goes with --whiten zca"),
    (["--whiten", "zca", "--whiten-eps", "0"], "--whiten-eps"),
    (["--whiten", "zca", "--features", "hog"], "--whiten applies to raw values"),
])
def test_bad_flags_one_line_exit_2(capsys, tmp_path, argv, words):
    code = main(["train", *argv, "--epochs", "1", "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_whitened_run_stores_the_whitening_for_eval(capsys, tmp_path):
    from warpnet.cli._model_file import load_model

    out = tmp_path / "run"
    args = ["train", "--whiten", "zca", "--whiten-eps", "0.5", "--epochs", "3", "--out", str(out),
            "--quiet"]
    assert main(args) == 0, capsys.readouterr().err
    saved = json.loads((out / "config.json").read_text())
    assert saved["config"]["whiten"] == "zca" and saved["config"]["whiten_eps"] == 0.5
    pre = load_model(out / "model.safetensors").preprocessing
    assert pre.whiten == "zca" and pre.whitener_.matrix_.shape == (64, 64)
    capsys.readouterr()
    # eval on the raw digits applies the stored whitening: the accuracy train reported.
    assert main(["eval", str(out / "model.safetensors"), "--data", "digits"]) == 0
    assert f"test accuracy {saved['accuracy']['test']:.4f}" in capsys.readouterr().out
