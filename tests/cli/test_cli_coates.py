"""``warpnet train`` with one-vs-all SVMs and the k-means triangle features of Coates & Ng."""

from __future__ import annotations

import re

import pytest

from warpnet.cli import main


def run_ok(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_one_vs_all_svm_on_digits(capsys, tmp_path):
    out = run_ok(capsys, "train", "--model", "linear", "--loss", "svm_ovr", "--epochs", "5",
                 "--out", str(tmp_path / "run"), "--quiet")
    assert float(re.search(r"test (\d\.\d+)", out).group(1)) > 0.9
    out = run_ok(capsys, "eval", str(tmp_path / "run" / "model.safetensors"))
    assert "accuracy" in out


def test_unknown_loss_is_a_usage_error(capsys, tmp_path):
    assert main(["train", "--loss", "svm_ova", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "svm_ovr" in err and "Traceback" not in err


@pytest.mark.slow
def test_kmeans_triangle_features_train_and_eval(capsys, tmp_path):
    run = tmp_path / "run"
    out = run_ok(capsys, "train", "--features", "kmeans-triangle", "--model", "linear", "--loss",
                 "svm", "--epochs", "3", "--out", str(run), "--quiet")
    assert float(re.search(r"test (\d\.\d+)", out).group(1)) > 0.9
    out = run_ok(capsys, "eval", str(run / "model.safetensors"))
    assert "accuracy" in out
