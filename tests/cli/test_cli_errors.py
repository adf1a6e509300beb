"""Bad input to the command line: one line on stderr, the right exit status, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from warpnet.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("warpnet: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("argv, needle", [
    ([], "choose a command"),
    (["nonsense"], "invalid choice"),
    (["train", "--no-such-flag"], "--no-such-flag"),
    (["train", "--lr", "0"], "--lr"),
    (["train", "--lr", "nan"], "--lr"),
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--val-fraction", "1.5"], "--val-fraction"),
    (["train", "--reg", "-1"], "--reg"),
    (["train", "--hidden", "100,abc"], "--hidden"),
    (["train", "--activation", "swish"], "--activation"),
    (["train", "--optimizer", "lbfgs"], "--optimizer"),
    (["train", "--loss", "mse"], "--loss"),
    (["train", "--data", "mnist"], "mnist"),
    (["train", "--data", "toy:banana"], "banana"),
    (["train", "--optimizer", "adam", "--momentum", "0.5"], "--momentum"),
    (["train", "--model", "linear", "--hidden", "10"], "--hidden"),
    (["predict", "model.safetensors", "a.png", "--top-k", "0"], "--top-k"),
    (["playground", "--port", "70000"], "--port"),
    (["features", "--features", "hog", "--out", "x.txt"], ".npz"),
])
def test_usage_errors_exit_2(capsys, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert_one_error_line(err, needle)
    assert not (tmp_path / "runs").exists()  # nothing was started


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    assert "--val-fraction" in capsys.readouterr().out


def test_missing_data_path_exit_1(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--data", f"npz:{tmp_path}/nope.npz", "--out",
                           str(tmp_path / "run"))
    assert code == 1
    assert_one_error_line(err, "nope.npz")


def test_folder_without_images_exit_1(capsys, tmp_path):
    (tmp_path / "data" / "cats").mkdir(parents=True)
    (tmp_path / "data" / "cats" / "notes.txt").write_text("no images here")
    code, _, err = run_cli(capsys, "train", "--data", f"folder:{tmp_path / 'data'}", "--out",
                           str(tmp_path / "run"))
    assert code == 1
    assert_one_error_line(err, "cats")


def test_corrupt_image_is_named_exit_1(capsys, tmp_path):
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
        Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "data" / name / "ok.png")
    (tmp_path / "data" / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    code, _, err = run_cli(capsys, "train", "--data", f"folder:{tmp_path / 'data'}", "--out",
                           str(tmp_path / "run"))
    assert code == 1
    assert_one_error_line(err, "broken.png")


def _npz(path, x, y, **extra):
    np.savez(path, x=x, y=y, **extra)
    return f"npz:{path}"


def test_nan_in_data_exit_1(capsys, tmp_path):
    x = np.ones((20, 3))
    x[4, 1] = np.nan
    spec = _npz(tmp_path / "d.npz", x, np.arange(20) % 2)
    code, _, err = run_cli(capsys, "train", "--data", spec, "--out", str(tmp_path / "run"))
    assert code == 1
    assert_one_error_line(err, "NaN")


def test_label_outside_class_list_exit_1(capsys, tmp_path):
    spec = _npz(tmp_path / "d.npz", np.ones((20, 3)), np.arange(20) % 3,
                class_names=np.array(["a", "b"]))
    code, _, err = run_cli(capsys, "train", "--data", spec, "--out", str(tmp_path / "run"))
    assert code == 1
    assert_one_error_line(err, "label 2")


def test_unwritable_output_folder_is_checked_before_loading(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    # The data does not exist either: the folder check must come first.
    code, _, err = run_cli(capsys, "train", "--data", "npz:/does/not/exist.npz",
                           "--out", str(blocker / "run"))
    assert code == 1
    assert_one_error_line(err, "output folder")


def test_missing_and_corrupt_model_files_exit_1(capsys, tmp_path):
    code, _, err = run_cli(capsys, "eval", str(tmp_path / "none.safetensors"))
    assert code == 1
    assert_one_error_line(err, "none.safetensors")
    code, _, err = run_cli(capsys, "eval", str(tmp_path))
    assert code == 1
    assert_one_error_line(err, "is a folder, not a file")
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x80\x04 not a model at all")
    code, _, err = run_cli(capsys, "predict", str(bad), str(tmp_path / "x.png"))
    assert code == 1
    assert_one_error_line(err)


def test_playground_on_a_taken_port_exit_1(capsys):
    import socket

    pytest.importorskip("uvicorn")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code, out, err = run_cli(capsys, "playground", "--port", str(port))
    assert code == 1
    assert_one_error_line(err, f"cannot listen on 127.0.0.1:{port}")


def test_unexpected_errors_are_one_line_too(capsys, monkeypatch):
    from warpnet.cli import _bench

    def boom(args):
        raise RuntimeError("something odd\nwith two lines")

    monkeypatch.setattr(_bench, "run", boom)
    code, _, err = run_cli(capsys, "bench")
    assert code == 1
    assert_one_error_line(err, "RuntimeError", "something odd with two lines")


def test_interrupt_exits_130(capsys, monkeypatch):
    from warpnet.cli import _bench

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(_bench, "run", interrupted)
    code, _, err = run_cli(capsys, "bench")
    assert code == 130
    assert_one_error_line(err, "interrupted")


def test_debug_variable_reraises(monkeypatch):
    monkeypatch.setenv("WARPNET_DEBUG", "1")
    with pytest.raises(ValueError):
        main(["train", "--data", "toy:banana"])


@pytest.mark.parametrize("argv, code", [(["train", "--epochs", "0"], 2),
                                        (["eval", "missing.safetensors"], 1)])
def test_python_dash_m_in_a_subprocess(tmp_path, argv, code):
    proc = subprocess.run([sys.executable, "-m", "warpnet", *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == code
    assert_one_error_line(proc.stderr)


def test_duplicate_cifar_class_names_exit_1(capsys, tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    record = np.zeros(3073, np.uint8).tobytes()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / f"{name}.bin").write_bytes(record)
    (folder / "batches.meta.txt").write_text("cat\ncat\n")
    code, _, err = run_cli(capsys, "train", "--data", f"cifar10:{folder}", "--out",
                           str(tmp_path / "run"))
    assert code == 1
    assert_one_error_line(err, "batches.meta.txt", "'cat'")
